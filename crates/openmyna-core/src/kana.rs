//! Japanese kana normalisation.
//!
//! Names in kana arrive in many shapes: hiragana or katakana, full- or half-width, with or
//! without spaces, with small kana where a bank's system wrote large ones (banks' account-name
//! fields historically had no small kana), with or without the long-vowel mark. Two spellings
//! of the same name must compare equal; [`match_key`] produces the form they are compared in.

const HALF_WIDTH: &str = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";

fn half_width_to_full(c: char) -> Option<char> {
    match c {
        '\u{FF61}' => Some('。'),
        '\u{FF62}' => Some('「'),
        '\u{FF63}' => Some('」'),
        '\u{FF64}' => Some('、'),
        '\u{FF65}' => Some('・'),
        '\u{FF66}'..='\u{FF9D}' => HALF_WIDTH.chars().nth(c as usize - 0xFF66),
        _ => None,
    }
}

fn voiced(c: char) -> Option<char> {
    match c {
        'ウ' => Some('ヴ'),
        'カ' | 'キ' | 'ク' | 'ケ' | 'コ' | 'サ' | 'シ' | 'ス' | 'セ' | 'ソ' | 'タ' | 'チ'
        | 'ツ' | 'テ' | 'ト' | 'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => {
            char::from_u32(c as u32 + 1)
        }
        _ => None,
    }
}

fn semi_voiced(c: char) -> Option<char> {
    match c {
        'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => char::from_u32(c as u32 + 2),
        _ => None,
    }
}

/// Full-width katakana: hiragana become katakana, half-width katakana become full-width (with
/// their voiced marks combined), ASCII and full-width spaces become one full-width space.
pub fn to_katakana(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped = match c {
            '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            // Voiced and semi-voiced marks, half-width or combining, merge into the previous kana.
            '\u{FF9E}' | '\u{3099}' | '゛' => {
                if let Some(v) = out
                    .pop()
                    .and_then(|p| voiced(p).or(Some(p)).map(|x| (p, x)))
                {
                    out.push(v.1);
                    if v.0 == v.1 {
                        out.push('゛');
                    }
                }
                continue;
            }
            '\u{FF9F}' | '\u{309A}' | '゜' => {
                if let Some(v) = out
                    .pop()
                    .and_then(|p| semi_voiced(p).or(Some(p)).map(|x| (p, x)))
                {
                    out.push(v.1);
                    if v.0 == v.1 {
                        out.push('゜');
                    }
                }
                continue;
            }
            ' ' | '\u{3000}' => '\u{3000}',
            _ => half_width_to_full(c).unwrap_or(c),
        };
        out.push(mapped);
    }
    out
}

fn large(c: char) -> char {
    match c {
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        _ => c,
    }
}

fn is_ignored_in_match(c: char) -> bool {
    matches!(
        c,
        '\u{3000}' | 'ー' | '－' | '-' | '‐' | '―' | '─' | '・' | '.' | '．'
    )
}

/// The comparison form of a kana name: katakana, large kana only, without spaces, long-vowel
/// marks or middle dots.
pub fn match_key(s: &str) -> String {
    to_katakana(s)
        .chars()
        .filter(|&c| !is_ignored_in_match(c))
        .map(large)
        .collect()
}

/// Whether `s` (after [`to_katakana`]) is a name written in katakana: katakana, the long-vowel
/// mark, the middle dot and single full-width spaces between parts.
pub fn is_katakana_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | '・' | '\u{3000}'))
        && !s.starts_with('\u{3000}')
        && !s.ends_with('\u{3000}')
        && !s.contains("\u{3000}\u{3000}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_match() {
        let canonical = match_key("ヤマダ　タロウ");
        for v in ["やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞﾀﾛｳ", "ヤマダタロウ"]
        {
            assert_eq!(match_key(v), canonical.replace('ー', ""), "{v}");
        }
        assert_eq!(match_key("キョウコ"), match_key("キヨウコ"));
        assert_eq!(match_key("ﾊﾟﾝ"), "パン");
        assert_ne!(match_key("サトウ"), match_key("サイトウ"));
    }

    #[test]
    fn katakana_names() {
        assert_eq!(to_katakana("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ　タロウ");
        assert_eq!(to_katakana("やまだ"), "ヤマダ");
        assert!(is_katakana_name("ヤマダ　タロウ"));
        assert!(!is_katakana_name("山田　太郎"));
        assert!(!is_katakana_name("ヤマダ　　タロウ"));
        assert!(!is_katakana_name(""));
    }
}
