//! The directory of financial institutions and branches (全銀協の金融機関コード・店番): which
//! bank code and branch code exist, and their names. Built into the binary from
//! `data/zengin.txt` (the npm package zengin-code, MIT; `scripts/zengin.sh` regenerates it),
//! parsed on first use. The portal's account form names the bank and branch from it and
//! refuses codes it does not hold, as マイナポータル's form offers only listed ones.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::{BankCode, BranchCode};

const DATA: &str = include_str!("../data/zengin.txt");

/// The version of the list: the first line's comment.
pub fn source() -> &'static str {
    DATA.lines()
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .unwrap_or("")
}

struct Institution {
    name: &'static str,
    branches: HashMap<&'static str, &'static str>,
}

fn directory() -> &'static HashMap<&'static str, Institution> {
    static DIR: OnceLock<HashMap<&'static str, Institution>> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut dir: HashMap<&'static str, Institution> = HashMap::new();
        let mut current: Option<&'static str> = None;
        for line in DATA.lines().filter(|l| !l.starts_with('#')) {
            match line.strip_prefix('\t') {
                Some(branch) => {
                    if let (Some(bank), Some((code, name))) = (current, branch.split_once('\t'))
                        && let Some(i) = dir.get_mut(bank)
                    {
                        i.branches.insert(code, name);
                    }
                }
                None => {
                    if let Some((code, name)) = line.split_once('\t') {
                        current = Some(code);
                        dir.insert(
                            code,
                            Institution {
                                name,
                                branches: HashMap::new(),
                            },
                        );
                    }
                }
            }
        }
        dir
    })
}

/// The institution's name (as the list writes it: みずほ, 三菱ＵＦＪ, ゆうちょ), if the code is
/// listed.
pub fn bank_name(bank: &BankCode) -> Option<&'static str> {
    directory().get(bank.as_str()).map(|i| i.name)
}

/// The branch's name, if the institution lists the branch.
pub fn branch_name(bank: &BankCode, branch: &BranchCode) -> Option<&'static str> {
    directory()
        .get(bank.as_str())
        .and_then(|i| i.branches.get(branch.as_str()).copied())
}

/// How many institutions and branches the list holds.
pub fn size() -> (usize, usize) {
    let d = directory();
    (d.len(), d.values().map(|i| i.branches.len()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(c: &str) -> BankCode {
        BankCode::parse(c).unwrap()
    }

    #[test]
    fn names_listed_banks_and_branches() {
        assert_eq!(bank_name(&bank("0001")), Some("みずほ"));
        assert_eq!(bank_name(&bank("9900")), Some("ゆうちょ"));
        assert_eq!(
            branch_name(&bank("0001"), &BranchCode::parse("001").unwrap()),
            Some("東京営業部")
        );
        // Credit unions and agricultural cooperatives are listed too.
        assert_eq!(bank_name(&bank("1000")), Some("信金中央金庫"));
        let (banks, branches) = size();
        assert!(banks > 1000 && branches > 20_000, "{banks} {branches}");
        assert!(source().starts_with("zengin-code "));
    }

    #[test]
    fn unlisted_codes_have_no_name() {
        assert_eq!(bank_name(&bank("0002")), None);
        assert_eq!(
            branch_name(&bank("0001"), &BranchCode::parse("000").unwrap()),
            None
        );
        assert_eq!(
            branch_name(&bank("0002"), &BranchCode::parse("001").unwrap()),
            None
        );
    }
}
