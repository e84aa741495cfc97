//! 公金受取口座: the account public money (benefits, tax refunds) is paid into. One per person,
//! in the person's own name: the holder's name in kana must be the resident's after
//! normalisation (hiragana or katakana, full or half width, small kana, long-vowel marks and
//! spaces do not matter — banks' account names historically had no small kana). The latest
//! registration replaces the previous one.

use openmyna_core::{Refusal, kana};
use openmyna_ids::{AccountNumber, AccountType, BankCode, BranchCode, zengin};
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
    /// The institution's name from the directory (みずほ, ゆうちょ), if listed.
    pub fn bank_name(&self) -> Option<&'static str> {
        zengin::bank_name(&self.bank_code)
    }

    /// The branch's name from the directory, if listed.
    pub fn branch_name(&self) -> Option<&'static str> {
        zengin::branch_name(&self.bank_code, &self.branch_code)
    }

    /// The account number with all but the last 3 digits hidden, for lists and logs.
    pub fn masked_number(&self) -> String {
        let n = self.account_number.as_str();
        format!("****{}", &n[n.len().saturating_sub(3)..])
    }
}

impl AccountInput {
    /// Validates the account for the resident whose registered kana name is `resident_kana`;
    /// the first problem (in the form's order) if any.
    pub fn validate(&self, resident_kana: &str) -> Result<Account, PortalError> {
        self.check(resident_kana)
            .map_err(|all| match all.into_iter().next() {
                Some(first) => PortalError::Refusal(first),
                None => {
                    PortalError::invalid("account.invalid", "account", "the account is not valid")
                }
            })
    }

    /// Every problem of the input at once, one per field, in the form's order (each with its
    /// field, code and an English message; [`message_ja`] words it in Japanese).
    pub fn problems(&self, resident_kana: &str) -> Vec<Refusal> {
        self.check(resident_kana).err().unwrap_or_default()
    }

    /// The account, or every problem of the input at once (see [`Self::problems`]).
    pub fn check(&self, resident_kana: &str) -> Result<Account, Vec<Refusal>> {
        let mut problems = Vec::new();
        let bank_code = keep(
            &mut problems,
            BankCode::parse(&self.bank_code)
                .map_err(PortalError::from)
                .and_then(listed_bank),
        );
        let branch_code = keep(
            &mut problems,
            BranchCode::parse(&self.branch_code)
                .map_err(PortalError::from)
                .and_then(|b| listed_branch(bank_code.as_ref(), b)),
        );
        let account_type = keep(
            &mut problems,
            AccountType::parse(&self.account_type)
                .map_err(PortalError::from)
                .and_then(|t| {
                    if t == AccountType::Savings {
                        Err(PortalError::invalid(
                            "account_type.not_allowed",
                            "account_type",
                            "a savings account (貯蓄預金) cannot receive public money; use an ordinary (普通), current (当座) or postal ordinary (通常貯金) account",
                        ))
                    } else {
                        Ok(t)
                    }
                }),
        );
        let account_number = keep(
            &mut problems,
            AccountNumber::parse(&self.account_number).map_err(PortalError::from),
        );
        let holder = keep(&mut problems, holder(&self.holder_kana, resident_kana));
        match (bank_code, branch_code, account_type, account_number, holder) {
            (
                Some(bank_code),
                Some(branch_code),
                Some(account_type),
                Some(account_number),
                Some(holder_kana),
            ) if problems.is_empty() => Ok(Account {
                bank_code,
                branch_code,
                account_type,
                account_number,
                holder_kana,
            }),
            _ => Err(problems),
        }
    }
}

/// A bank code the directory of financial institutions lists.
fn listed_bank(bank: BankCode) -> Result<BankCode, PortalError> {
    match zengin::bank_name(&bank) {
        Some(_) => Ok(bank),
        None => Err(PortalError::invalid(
            "bank_code.unknown",
            "bank_code",
            format!(
                "no financial institution has the code {} (全銀協の金融機関コード; {})",
                bank.as_str(),
                zengin::source()
            ),
        )),
    }
}

/// A branch its institution lists (not checked when the bank code itself is wrong).
fn listed_branch(bank: Option<&BankCode>, branch: BranchCode) -> Result<BranchCode, PortalError> {
    match bank {
        Some(bank) if zengin::branch_name(bank, &branch).is_none() => Err(PortalError::invalid(
            "branch_code.unknown",
            "branch_code",
            format!(
                "{} has no branch {} (店番)",
                zengin::bank_name(bank).unwrap_or(bank.as_str()),
                branch.as_str()
            ),
        )),
        _ => Ok(branch),
    }
}

/// The value, or its problem noted.
fn keep<T>(problems: &mut Vec<Refusal>, r: Result<T, PortalError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(PortalError::Refusal(e)) => {
            problems.push(e);
            None
        }
    }
}

/// The holder's kana name, which must be the resident's own.
fn holder(input: &str, resident_kana: &str) -> Result<String, PortalError> {
    let holder = kana::to_katakana(input.trim());
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
    Ok(holder)
}

/// A problem of the account form in Japanese, for the portal page (by its code; the English
/// message stays in the API's answer).
pub fn message_ja(code: &str) -> &'static str {
    match code {
        "bank_code.empty" | "branch_code.empty" | "account_number.empty" => "入力してください。",
        "bank_code.length" | "bank_code.digits" => "金融機関コードは数字4桁です。",
        "branch_code.length" | "branch_code.digits" => "支店コード（店番）は数字3桁です。",
        "account_number.length" | "account_number.digits" => {
            "口座番号は数字7桁です（7桁に満たないときは前に0を付けてください）。"
        }
        "bank_code.unknown" => {
            "この金融機関コードの金融機関はありません。キャッシュカードや通帳で4桁のコードを確かめてください。"
        }
        "branch_code.unknown" => {
            "この金融機関にこの支店コード（店番）の支店はありません。通帳で3桁の店番を確かめてください。"
        }
        "account_type.unknown" => "預金種目を選んでください。",
        "account_type.not_allowed" => {
            "貯蓄預金は公金受取口座にできません。普通・当座・通常貯金のいずれかを選んでください。"
        }
        "holder_kana.empty" => "口座名義（カナ）を入力してください。",
        "holder_kana.katakana" => "口座名義は通帳のとおりカナで入力してください。",
        "holder_kana.mismatch" => {
            "公金受取口座はご本人名義の口座に限ります。口座名義が登録されている氏名（カナ）と異なります。"
        }
        _ => "入力内容を確認してください。",
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
        assert_eq!(
            (a.bank_name(), a.branch_name()),
            (Some("みずほ"), Some("東京営業部"))
        );
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
    fn every_problem_is_reported_at_once_in_form_order() {
        let mut i = input();
        i.bank_code = "01".into();
        i.account_type = "savings".into();
        i.account_number = "12a".into();
        i.holder_kana = "サトウ ハナコ".into();
        let p = i.problems("ヤマダ　タロウ");
        let fields: Vec<&str> = p.iter().filter_map(|r| r.field()).collect();
        assert_eq!(
            fields,
            ["bank_code", "account_type", "account_number", "holder_kana"]
        );
        for r in &p {
            assert_ne!(
                message_ja(r.code()),
                "入力内容を確認してください。",
                "{}",
                r.code()
            );
        }
        // The single-error form is the first of them.
        assert_eq!(
            i.validate("ヤマダ　タロウ").unwrap_err().code(),
            p[0].code()
        );
        assert!(input().problems("ヤマダ　タロウ").is_empty());
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
            (|i| i.bank_code = "0002".into(), "bank_code.unknown"),
            (|i| i.branch_code = "999".into(), "branch_code.unknown"),
        ];
        for (mutate, code) in cases {
            let mut i = input();
            mutate(&mut i);
            assert_eq!(i.validate("ヤマダ　タロウ").unwrap_err().code(), code);
        }
    }
}
