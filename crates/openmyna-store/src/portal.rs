//! Storage of the citizen portal: sessions (`portal_sessions`, keyed by the hash of the
//! cookie value, never the value) and the public-money account with its history.

use openmyna_core::Timestamp;
use openmyna_ids::{AccountNumber, AccountType, BankCode, BranchCode};
use openmyna_portal::account::Account;
use openmyna_portal::session::Session;
use serde::Serialize;

use crate::{Result, Store, StoreError, from_micros, to_micros};

const SEAL_CONTEXT: &str = "public_money_account.number";

/// A change of the public-money account, as the resident sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountChange {
    pub at: Timestamp,
    /// registered or replaced.
    pub action: String,
    pub bank_code: String,
    pub branch_code: String,
    pub account_type: String,
    /// The last three digits of the account number.
    pub number_last3: String,
    /// portal, bank, e_tax, …
    pub channel: String,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} is not valid"))
}

impl Store {
    pub async fn create_portal_session(&self, token_hash: &str, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO portal_sessions (token_hash, resident_id, auth_serial, created_at, \
             last_seen) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(token_hash.to_owned())
        .bind(s.resident_id)
        .bind(s.auth_serial.clone())
        .bind(to_micros(&s.created_at))
        .bind(to_micros(&s.last_seen))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn portal_session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row: Option<(i64, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT resident_id, auth_serial, created_at, last_seen, ended_at FROM \
             portal_sessions WHERE token_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.map(|(resident_id, auth_serial, created, seen, ended)| {
            Ok(Session {
                resident_id,
                auth_serial,
                created_at: from_micros(created)?,
                last_seen: from_micros(seen)?,
                ended_at: ended.map(from_micros).transpose()?,
            })
        })
        .transpose()
    }

    pub async fn touch_portal_session(&self, token_hash: &str, now: &Timestamp) -> Result<()> {
        sqlx::query("UPDATE portal_sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(to_micros(now))
            .bind(token_hash.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn end_portal_session(&self, token_hash: &str, now: &Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE portal_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(token_hash.to_owned())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The resident's public-money account, if registered.
    pub async fn public_money_account(
        &self,
        resident_id: i64,
    ) -> Result<Option<(Account, Timestamp, String)>> {
        #[allow(clippy::type_complexity)]
        let row: Option<(String, String, String, Vec<u8>, String, i64, String)> = sqlx::query_as(
            "SELECT bank_code, branch_code, account_type, number_sealed, holder_kana, \
             registered_at, channel FROM public_money_accounts WHERE resident_id = $1",
        )
        .bind(resident_id)
        .fetch_optional(self.pool())
        .await?;
        let Some((bank, branch, kind, sealed, holder, at, channel)) = row else {
            return Ok(None);
        };
        let number = self.keys().open(SEAL_CONTEXT, &sealed)?;
        let number = String::from_utf8(number).map_err(|_| corrupt("account number"))?;
        Ok(Some((
            Account {
                bank_code: BankCode::parse(&bank).map_err(|_| corrupt("bank code"))?,
                branch_code: BranchCode::parse(&branch).map_err(|_| corrupt("branch code"))?,
                account_type: AccountType::parse(&kind).map_err(|_| corrupt("account type"))?,
                account_number: AccountNumber::parse(&number)
                    .map_err(|_| corrupt("account number"))?,
                holder_kana: holder,
            },
            from_micros(at)?,
            channel,
        )))
    }

    /// Registers the account, replacing any earlier one, and records the change — in one
    /// transaction. Returns whether an earlier account was replaced.
    pub async fn set_public_money_account(
        &self,
        resident_id: i64,
        a: &Account,
        channel: &str,
        at: &Timestamp,
    ) -> Result<bool> {
        let sealed = self
            .keys()
            .seal(SEAL_CONTEXT, a.account_number.as_str().as_bytes())?;
        let last3 = a.masked_number().trim_start_matches('*').to_owned();
        let mut tx = self.pool().begin().await?;
        let replaced = sqlx::query("DELETE FROM public_money_accounts WHERE resident_id = $1")
            .bind(resident_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        sqlx::query(
            "INSERT INTO public_money_accounts (resident_id, bank_code, branch_code, \
             account_type, number_sealed, number_last3, holder_kana, registered_at, channel) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(resident_id)
        .bind(a.bank_code.as_str().to_owned())
        .bind(a.branch_code.as_str().to_owned())
        .bind(a.account_type.as_str())
        .bind(sealed)
        .bind(last3.clone())
        .bind(a.holder_kana.clone())
        .bind(to_micros(at))
        .bind(channel.to_owned())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO public_money_account_history (resident_id, at, action, bank_code, \
             branch_code, account_type, number_last3, channel) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(resident_id)
        .bind(to_micros(at))
        .bind(if replaced { "replaced" } else { "registered" })
        .bind(a.bank_code.as_str().to_owned())
        .bind(a.branch_code.as_str().to_owned())
        .bind(a.account_type.as_str())
        .bind(last3)
        .bind(channel.to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    pub async fn public_money_account_history(
        &self,
        resident_id: i64,
    ) -> Result<Vec<AccountChange>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT at, action, bank_code, branch_code, account_type, number_last3, channel \
             FROM public_money_account_history WHERE resident_id = $1 ORDER BY id",
        )
        .bind(resident_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(
                |(at, action, bank_code, branch_code, account_type, number_last3, channel)| {
                    Ok(AccountChange {
                        at: from_micros(at)?,
                        action,
                        bank_code,
                        branch_code,
                        account_type,
                        number_last3,
                        channel,
                    })
                },
            )
            .collect()
    }
}
