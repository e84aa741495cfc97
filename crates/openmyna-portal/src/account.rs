//! 公金受取口座: the account public money (benefits, tax refunds) is paid into. One per person,
//! in the person's own name: the holder's name in kana must be the resident's after
//! normalisation (hiragana or katakana, full or half width, small kana, long-vowel marks and
//! spaces do not matter — banks' account names historically had no small kana). The latest
//! registration replaces the previous one.

use openmyna_core::kana;
use openmyna_ids::{AccountNumber, AccountType, BankCode, BranchCode};
use serde::{Deserialize, Serialize};

use crate::PortalError;

/// An account as submitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// 金融機関コード: 4 digits.
    pub bank_code: String,
    /// 支店コード: 3 digits.
    pub branch_code: String,
    /// ordinary (普通), current (当座) or postal_ordinary (通常貯金).
    pub account_type: String,
    /// 口座番号: 7 digits.
    pub account_number: String,
    /// 口座名義 in kana, as the bank holds it.
    pub holder_kana: String,
}

/// A validated account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub bank_code: BankCode,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub branch_code: BranchCode,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub account_type: AccountType,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub account_number: AccountNumber,
    /// The holder's name as given, in full-width katakana.
    pub holder_kana: String,
}

impl Account {
    /// The account number with all but the last 3 digits hidden, for lists and logs.
    pub fn masked_number(&self) -> String {
        let n = self.account_number.as_str();
        format!("****{}", &n[n.len().saturating_sub(3)..])
    }
}

impl AccountInput {
    /// Validates the account for the resident whose registered kana name is `resident_kana`.
    pub fn validate(&self, resident_kana: &str) -> Result<Account, PortalError> {
        let bank_code = BankCode::parse(&self.bank_code)?;
        let branch_code = BranchCode::parse(&self.branch_code)?;
        let account_type = AccountType::parse(&self.account_type)?;
        if account_type == AccountType::Savings {
            return Err(PortalError::invalid(
                "account_type.not_allowed",
                "account_type",
                "a savings account (貯蓄預金) cannot receive public money; use an ordinary (普通), current (当座) or postal ordinary (通常貯金) account",
            ));
        }
        let account_number = AccountNumber::parse(&self.account_number)?;
        let holder = kana::to_katakana(self.holder_kana.trim());
        if holder.is_empty() {
            return Err(PortalError::invalid(
                "holder_kana.empty",
                "holder_kana",
                "the account holder's name in kana is required",
            ));
        }
        if !kana::is_katakana_name(&holder) {
            return Err(PortalError::invalid(
                "holder_kana.katakana",
                "holder_kana",
                "the account holder's name must be written in kana (as on the bank book)",
            ));
        }
        if kana::match_key(&holder) != kana::match_key(resident_kana) {
            return Err(PortalError::invalid(
                "holder_kana.mismatch",
                "holder_kana",
                "the account must be in your own name: its holder's kana name differs from your registered kana name (differences of width, small kana, long-vowel marks and spaces are already allowed for)",
            ));
        }
        Ok(Account {
            bank_code,
            branch_code,
            account_type,
            account_number,
            holder_kana: holder,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AccountInput {
        AccountInput {
            bank_code: "0001".into(),
            branch_code: "001".into(),
            account_type: "ordinary".into(),
            account_number: "1234567".into(),
            holder_kana: "ﾔﾏﾀﾞ ﾀﾛｳ".into(),
        }
    }

    #[test]
    fn the_holder_must_be_the_resident() {
        let a = input().validate("ヤマダ　タロウ").unwrap();
        assert_eq!(a.holder_kana, "ヤマダ\u{3000}タロウ");
        assert_eq!(a.masked_number(), "****567");
        // Small kana and long-vowel marks do not matter (banks write large kana).
        let mut i = input();
        i.holder_kana = "キヨウコ".into();
        assert!(i.validate("キョウコ").is_ok());
        i.holder_kana = "サトウ　ハナコ".into();
        assert_eq!(
            i.validate("ヤマダ　タロウ").unwrap_err().code(),
            "holder_kana.mismatch"
        );
        i.holder_kana = "山田太郎".into();
        assert_eq!(
            i.validate("ヤマダ　タロウ").unwrap_err().code(),
            "holder_kana.katakana"
        );
    }

    #[test]
    fn each_number_names_its_rule() {
        type Case = (fn(&mut AccountInput), &'static str);
        let cases: Vec<Case> = vec![
            (|i| i.bank_code = "001".into(), "bank_code.length"),
            (|i| i.branch_code = "01a".into(), "branch_code.digits"),
            (
                |i| i.account_number = "123456".into(),
                "account_number.length",
            ),
            (
                |i| i.account_type = "savings".into(),
                "account_type.not_allowed",
            ),
            (|i| i.account_type = "fixed".into(), "account_type.unknown"),
        ];
        for (mutate, code) in cases {
            let mut i = input();
            mutate(&mut i);
            assert_eq!(i.validate("ヤマダ　タロウ").unwrap_err().code(), code);
        }
    }
}
