//! Health-insurance identifiers: 保険者番号, 記号・番号・枝番, 医療機関コード.

use std::fmt;

use rand::{Rng, RngExt};

use crate::{
    IdError, IdKind, digits, fixed_digits, length_error, mod10_weights_2_1, random_digits,
    string_serde, to_string,
};

/// 保険者番号: 8 digits (法別番号 2 + 都道府県番号 2 + 保険者別番号 3 + 検証番号 1), or 6 digits
/// for 国民健康保険 (都道府県番号 2 + 保険者別番号 3 + 検証番号 1). The check digit is modulus 10
/// with weights 2,1 from the rightmost base digit, two-digit products summed by digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsurerNumber(String);

impl InsurerNumber {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const LENS: &[usize] = &[6, 8];
        let ds = digits(IdKind::InsurerNumber, input, LENS)?;
        let bad_length = || length_error(IdKind::InsurerNumber, LENS, ds.len());
        let Some((&check, base)) = ds.split_last() else {
            return Err(bad_length());
        };
        // In the 8-digit form the prefecture follows the 2-digit 法別番号.
        let pref = match base {
            [_, _, p0, p1, _, _, _] | [p0, p1, _, _, _] => p0 * 10 + p1,
            _ => return Err(bad_length()),
        };
        if !(1..=47).contains(&pref) {
            return Err(IdError::Rule {
                kind: IdKind::InsurerNumber,
                rule: "prefecture",
                message: format!("prefecture part (都道府県番号) is {pref:02}, must be 01 to 47"),
            });
        }
        let expected = mod10_weights_2_1(base);
        if check != expected {
            return Err(IdError::CheckDigit {
                kind: IdKind::InsurerNumber,
                got: check,
                expected,
            });
        }
        Ok(InsurerNumber(to_string(&ds)))
    }

    /// A valid number: 8 digits with the given 法別番号 (e.g. 1 協会けんぽ, 6 組合, 39 後期), or
    /// a 6-digit 国保 number when `law` is `None`.
    pub fn generate(rng: &mut (impl Rng + ?Sized), law: Option<u8>, prefecture: u8) -> Self {
        let mut ds = Vec::with_capacity(8);
        if let Some(law) = law {
            ds.extend([law / 10 % 10, law % 10]);
        }
        let pref = prefecture.clamp(1, 47);
        ds.extend([pref / 10, pref % 10]);
        ds.extend(random_digits(rng, 3));
        ds.push(mod10_weights_2_1(&ds));
        InsurerNumber(to_string(&ds))
    }

    /// 国民健康保険 numbers have 6 digits.
    pub fn is_national_health_insurance(&self) -> bool {
        self.0.len() == 6
    }

    /// 法別番号 (first two digits of an 8-digit number).
    pub fn law_code(&self) -> Option<&str> {
        (self.0.len() == 8).then(|| &self.0[..2])
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_serde!(InsurerNumber);

fn insurance_text(kind: IdKind, input: &str, max: usize) -> Result<String, IdError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let count = s.chars().count();
    if count > max {
        return Err(IdError::Rule {
            kind,
            rule: "length",
            message: format!("at most {max} characters, got {count}"),
        });
    }
    if let Some((i, c)) = s
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || c.is_whitespace())
    {
        return Err(IdError::Rule {
            kind,
            rule: "characters",
            message: format!(
                "character {} is {c:?}; spaces and control characters are not allowed",
                i + 1
            ),
        });
    }
    Ok(s.to_owned())
}

/// 被保険者証等記号: up to 20 characters (digits, letters, kana or kanji as printed on the card).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsuredSymbol(String);

impl InsuredSymbol {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        insurance_text(IdKind::InsuredSymbol, input, 20).map(InsuredSymbol)
    }

    pub fn generate(rng: &mut (impl Rng + ?Sized)) -> Self {
        let n = rng.random_range(4..=8);
        InsuredSymbol(to_string(&random_digits(rng, n)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_serde!(InsuredSymbol);

/// 被保険者証等番号: up to 20 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsuredNumber(String);

impl InsuredNumber {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        insurance_text(IdKind::InsuredNumber, input, 20).map(InsuredNumber)
    }

    pub fn generate(rng: &mut (impl Rng + ?Sized)) -> Self {
        let n = rng.random_range(3..=8);
        InsuredNumber(to_string(&random_digits(rng, n)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_serde!(InsuredNumber);

/// 枝番: exactly 2 digits (individual numbering since 2021; 00 for the insured person).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchNumber(String);

impl BranchNumber {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        Ok(BranchNumber(to_string(&digits(
            IdKind::BranchNumber,
            input,
            &[2],
        )?)))
    }

    pub fn new(n: u8) -> Result<Self, IdError> {
        Self::parse(&format!("{n:02}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_serde!(BranchNumber);

/// 点数表番号: the third digit of a facility code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeeTable {
    /// 1 医科
    Medical,
    /// 3 歯科
    Dental,
    /// 4 調剤 (pharmacy)
    Pharmacy,
    /// 6 訪問看護
    HomeNursing,
}

impl FeeTable {
    fn from_digit(d: u8) -> Option<Self> {
        match d {
            1 => Some(FeeTable::Medical),
            3 => Some(FeeTable::Dental),
            4 => Some(FeeTable::Pharmacy),
            6 => Some(FeeTable::HomeNursing),
            _ => None,
        }
    }

    fn digit(self) -> u8 {
        match self {
            FeeTable::Medical => 1,
            FeeTable::Dental => 3,
            FeeTable::Pharmacy => 4,
            FeeTable::HomeNursing => 6,
        }
    }
}

impl fmt::Display for FeeTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeeTable::Medical => "medical",
            FeeTable::Dental => "dental",
            FeeTable::Pharmacy => "pharmacy",
            FeeTable::HomeNursing => "home_nursing",
        })
    }
}

/// 医療機関コード: 10 digits = 都道府県番号 2 + 点数表番号 1 + 郡市区番号 2 + 医療機関番号 4 +
/// 検証番号 1; the check digit is modulus 10 (weights 2,1, Luhn) over the first nine digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FacilityCode(String);

impl FacilityCode {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let ds: [u8; 10] = fixed_digits(IdKind::FacilityCode, input)?;
        let [base @ .., check] = ds;
        let [p0, p1, table, ..] = base;
        let pref = p0 * 10 + p1;
        if !(1..=47).contains(&pref) {
            return Err(IdError::Rule {
                kind: IdKind::FacilityCode,
                rule: "prefecture",
                message: format!("prefecture part (都道府県番号) is {pref:02}, must be 01 to 47"),
            });
        }
        if FeeTable::from_digit(table).is_none() {
            return Err(IdError::Rule {
                kind: IdKind::FacilityCode,
                rule: "fee_table",
                message: format!(
                    "fee-table digit (点数表番号) is {}, must be 1 (医科), 3 (歯科), 4 (調剤) or 6 (訪問看護)",
                    table
                ),
            });
        }
        let expected = mod10_weights_2_1(&base);
        if check != expected {
            return Err(IdError::CheckDigit {
                kind: IdKind::FacilityCode,
                got: check,
                expected,
            });
        }
        Ok(FacilityCode(to_string(&ds)))
    }

    pub fn generate(rng: &mut (impl Rng + ?Sized), prefecture: u8, table: FeeTable) -> Self {
        let pref = prefecture.clamp(1, 47);
        let mut ds = vec![pref / 10, pref % 10, table.digit()];
        ds.extend(random_digits(rng, 6));
        ds.push(mod10_weights_2_1(&ds));
        FacilityCode(to_string(&ds))
    }

    pub fn fee_table(&self) -> FeeTable {
        self.0
            .as_bytes()
            .get(2)
            .and_then(|b| FeeTable::from_digit(b - b'0'))
            .unwrap_or(FeeTable::Medical)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_serde!(FacilityCode);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn insurer_numbers() {
        // 千葉県警察共済組合 33120015 (保険者番号設定要領の例)
        assert!(InsurerNumber::parse("33120015").is_ok());
        // 国保 6 digits
        assert!(InsurerNumber::parse("138057").is_ok());
        assert_eq!(
            InsurerNumber::parse("33120016").unwrap_err().to_string(),
            "insurer number (保険者番号) check digit is 6, expected 5"
        );
        assert_eq!(
            InsurerNumber::parse("1234567").unwrap_err().code(),
            "insurer_number.length"
        );
        assert_eq!(
            InsurerNumber::parse("01990000").unwrap_err().code(),
            "insurer_number.prefecture"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let n = InsurerNumber::generate(&mut rng, Some(6), 13);
            assert_eq!(InsurerNumber::parse(n.as_str()).unwrap(), n);
            assert_eq!(n.law_code(), Some("06"));
            let k = InsurerNumber::generate(&mut rng, None, 27);
            assert!(
                InsurerNumber::parse(k.as_str())
                    .unwrap()
                    .is_national_health_insurance()
            );
        }
    }

    #[test]
    fn facility_codes() {
        assert!(FacilityCode::parse("0110113719").is_ok());
        assert_eq!(
            FacilityCode::parse("0110113718").unwrap_err().code(),
            "facility_code.check_digit"
        );
        assert_eq!(
            FacilityCode::parse("0120113719").unwrap_err().code(),
            "facility_code.fee_table"
        );
        assert_eq!(
            FacilityCode::parse("011011371").unwrap_err().code(),
            "facility_code.length"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let f = FacilityCode::generate(&mut rng, 13, FeeTable::Pharmacy);
        assert_eq!(
            FacilityCode::parse(f.as_str()).unwrap().fee_table(),
            FeeTable::Pharmacy
        );
    }

    #[test]
    fn symbols_and_branch_numbers() {
        assert_eq!(
            InsuredSymbol::parse("記号１２").unwrap().as_str(),
            "記号１２"
        );
        assert_eq!(
            InsuredSymbol::parse("").unwrap_err().code(),
            "insured_symbol.empty"
        );
        assert_eq!(
            InsuredNumber::parse("12 34").unwrap_err().code(),
            "insured_number.characters"
        );
        assert_eq!(
            InsuredNumber::parse(&"1".repeat(21)).unwrap_err().code(),
            "insured_number.length"
        );
        assert_eq!(BranchNumber::parse("01").unwrap().as_str(), "01");
        assert_eq!(
            BranchNumber::parse("1").unwrap_err().code(),
            "branch_number.length"
        );
        assert_eq!(BranchNumber::new(3).unwrap().as_str(), "03");
    }
}
