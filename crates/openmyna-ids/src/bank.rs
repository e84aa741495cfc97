//! Japanese bank account identifiers, as used for the 公金受取口座 (public-money account).
//! Zengin codes: 4-digit financial institution code, 3-digit branch, 7-digit account number.

use std::fmt;

use rand::{Rng, RngExt};

use crate::{IdError, IdKind, digits, random_digits, string_serde, to_string};

macro_rules! fixed_digits {
    ($(#[$m:meta])* $name:ident, $kind:expr, $len:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, IdError> {
                Ok($name(to_string(&digits($kind, input, &[$len])?)))
            }

            pub fn generate(rng: &mut (impl Rng + ?Sized)) -> Self {
                $name(to_string(&random_digits(rng, $len)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        string_serde!($name);
    };
}

fixed_digits!(
    /// 金融機関コード: 4 digits (e.g. 0001 みずほ, 9900 ゆうちょ).
    BankCode,
    IdKind::BankCode,
    4
);
fixed_digits!(
    /// 店番 (branch code): 3 digits.
    BranchCode,
    IdKind::BranchCode,
    3
);
fixed_digits!(
    /// 口座番号: 7 digits (zero-padded on the left by the holder if shorter).
    AccountNumber,
    IdKind::AccountNumber,
    7
);

/// 預金種目: the kinds of account the 公金受取口座 accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// 普通預金 (code 1)
    Ordinary,
    /// 当座預金 (code 2)
    Current,
    /// 貯蓄預金 (code 4)
    Savings,
    /// 通常貯金 (ゆうちょ銀行)
    PostalOrdinary,
}

impl AccountType {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        match input.trim() {
            "1" | "ordinary" | "普通" | "普通預金" => Ok(AccountType::Ordinary),
            "2" | "current" | "当座" | "当座預金" => Ok(AccountType::Current),
            "4" | "savings" | "貯蓄" | "貯蓄預金" => Ok(AccountType::Savings),
            "postal_ordinary" | "通常" | "通常貯金" => Ok(AccountType::PostalOrdinary),
            other => Err(IdError::Rule {
                kind: IdKind::AccountType,
                rule: "unknown",
                message: format!(
                    "{other:?} is not an account type; use ordinary (1), current (2), savings (4) or postal_ordinary"
                ),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Ordinary => "ordinary",
            AccountType::Current => "current",
            AccountType::Savings => "savings",
            AccountType::PostalOrdinary => "postal_ordinary",
        }
    }

    pub fn generate(rng: &mut (impl Rng + ?Sized)) -> Self {
        if rng.random_bool(0.9) {
            AccountType::Ordinary
        } else {
            AccountType::Savings
        }
    }
}

impl fmt::Display for AccountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_enforced() {
        assert_eq!(BankCode::parse("0001").unwrap().as_str(), "0001");
        assert_eq!(
            BankCode::parse("001").unwrap_err().code(),
            "bank_code.length"
        );
        assert_eq!(
            BranchCode::parse("12a").unwrap_err().code(),
            "branch_code.digits"
        );
        assert_eq!(
            AccountNumber::parse("123456").unwrap_err().to_string(),
            "account number (口座番号) must be 7 digits, got 6"
        );
        assert_eq!(AccountType::parse("普通").unwrap(), AccountType::Ordinary);
        assert_eq!(
            AccountType::parse("9").unwrap_err().code(),
            "account_type.unknown"
        );
    }
}
