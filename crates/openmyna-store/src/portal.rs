//! Storage of the citizen portal: sessions (`portal_sessions`, keyed by the hash of the
//! cookie value, never the value), browser pairings (`portal_pairings`, by the hashes of the
//! browser's secret and of the code) and the public-money account with its history.

use openmyna_core::Timestamp;
use openmyna_ids::{AccountNumber, AccountType, BankCode, BranchCode};
use openmyna_portal::account::Account;
use openmyna_portal::pairing::Pairing;
use openmyna_portal::phone::PhoneState;
use openmyna_portal::session::Session;
use serde::Serialize;

use crate::transition::{self, Key, StoredStatus};
use crate::{Result, StoreError, from_micros, to_micros};

/// A registered public-money account (公金受取口座): the account, when, and through which
/// channel.
#[derive(Debug, Clone)]
pub struct RegisteredAccount {
    pub account: Account,
    pub registered_at: Timestamp,
    pub channel: String,
}

#[derive(sqlx::FromRow)]
struct PairingRow {
    browser: String,
    created_at: i64,
    resident_id: Option<i64>,
    auth_serial: Option<String>,
    redeemed_at: Option<i64>,
}

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

impl crate::Portal<'_> {
    pub async fn create_portal_session(self, token_hash: &str, s: &Session) -> Result<()> {
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

    /// Stores a new browser pairing. `false` if the code is taken by another live pairing
    /// (the caller draws another).
    pub async fn create_pairing(
        self,
        secret_hash: &str,
        code_hash: &str,
        p: &Pairing,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO portal_pairings (secret_hash, code_hash, browser, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(secret_hash.to_owned())
        .bind(code_hash.to_owned())
        .bind(p.browser.clone())
        .bind(to_micros(&p.created_at))
        .bind(to_micros(&p.expires_at()))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The pairing of a browser's secret.
    pub async fn pairing_by_secret(self, secret_hash: &str) -> Result<Option<Pairing>> {
        self.pairing_where("secret_hash", secret_hash).await
    }

    /// The pairing of a code.
    pub async fn pairing_by_code(self, code_hash: &str) -> Result<Option<Pairing>> {
        self.pairing_where("code_hash", code_hash).await
    }

    async fn pairing_where(self, column: &'static str, hash: &str) -> Result<Option<Pairing>> {
        let sql = match column {
            "code_hash" => {
                "SELECT browser, created_at, resident_id, auth_serial, redeemed_at \
                 FROM portal_pairings WHERE code_hash = $1"
            }
            _ => {
                "SELECT browser, created_at, resident_id, auth_serial, redeemed_at \
                 FROM portal_pairings WHERE secret_hash = $1"
            }
        };
        let row: Option<PairingRow> = sqlx::query_as(sql)
            .bind(hash.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(Pairing {
                browser: r.browser,
                created_at: from_micros(r.created_at)?,
                approved_by: r.resident_id.zip(r.auth_serial),
                redeemed_at: r.redeemed_at.map(from_micros).transpose()?,
            })
        })
        .transpose()
    }

    /// Approves a waiting, unexpired pairing for a resident. `false` if it was approved
    /// already or has expired (the first approval wins).
    pub async fn approve_pairing(
        self,
        code_hash: &str,
        resident_id: i64,
        auth_serial: &str,
        now: &Timestamp,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE portal_pairings SET resident_id = $1, auth_serial = $2, approved_at = $3 \
             WHERE code_hash = $4 AND approved_at IS NULL AND expires_at > $3",
        )
        .bind(resident_id)
        .bind(auth_serial.to_owned())
        .bind(to_micros(now))
        .bind(code_hash.to_owned())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks an approved, unexpired pairing used. `false` if another request took it first.
    pub async fn redeem_pairing(self, secret_hash: &str, now: &Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE portal_pairings SET redeemed_at = $1 WHERE secret_hash = $2 \
             AND approved_at IS NOT NULL AND redeemed_at IS NULL AND expires_at > $1",
        )
        .bind(to_micros(now))
        .bind(secret_hash.to_owned())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets pairings that expired before `before`.
    pub async fn purge_pairings(self, before: &Timestamp) -> Result<u64> {
        let r = sqlx::query("DELETE FROM portal_pairings WHERE expires_at < $1")
            .bind(to_micros(before))
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn portal_session(self, token_hash: &str) -> Result<Option<Session>> {
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

    pub async fn touch_portal_session(self, token_hash: &str, now: &Timestamp) -> Result<()> {
        sqlx::query("UPDATE portal_sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(to_micros(now))
            .bind(token_hash.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a session; false if it had ended already.
    pub async fn end_portal_session(self, token_hash: &str, now: &Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE portal_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(token_hash.to_owned())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The resident's public-money account, if registered.
    pub async fn public_money_account(self, resident_id: i64) -> Result<Option<RegisteredAccount>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            bank_code: String,
            branch_code: String,
            account_type: String,
            number_sealed: Vec<u8>,
            holder_kana: String,
            registered_at: i64,
            channel: String,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT bank_code, branch_code, account_type, number_sealed, holder_kana, \
             registered_at, channel FROM public_money_accounts WHERE resident_id = $1",
        )
        .bind(resident_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let number = self.keys().open(SEAL_CONTEXT, &r.number_sealed)?;
        let number = String::from_utf8(number).map_err(|_| corrupt("account number"))?;
        let account = Account {
            bank_code: BankCode::parse(&r.bank_code).map_err(|_| corrupt("bank code"))?,
            branch_code: BranchCode::parse(&r.branch_code).map_err(|_| corrupt("branch code"))?,
            account_type: AccountType::parse(&r.account_type)
                .map_err(|_| corrupt("account type"))?,
            account_number: AccountNumber::parse(&number).map_err(|_| corrupt("account number"))?,
            holder_kana: r.holder_kana,
        };
        Ok(Some(RegisteredAccount {
            account,
            registered_at: from_micros(r.registered_at)?,
            channel: r.channel,
        }))
    }

    /// Registers the account, replacing any earlier one, and records the change — in one
    /// transaction. Returns whether an earlier account was replaced.
    pub async fn set_public_money_account(
        self,
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
        self,
        resident_id: i64,
    ) -> Result<Vec<AccountChange>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            at: i64,
            action: String,
            bank_code: String,
            branch_code: String,
            account_type: String,
            number_last3: String,
            channel: String,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT at, action, bank_code, branch_code, account_type, number_last3, channel \
             FROM public_money_account_history WHERE resident_id = $1 ORDER BY id",
        )
        .bind(resident_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AccountChange {
                    at: from_micros(r.at)?,
                    action: r.action,
                    bank_code: r.bank_code,
                    branch_code: r.branch_code,
                    account_type: r.account_type,
                    number_last3: r.number_last3,
                    channel: r.channel,
                })
            })
            .collect()
    }
}

/// One entry of a phone's audit trail: what happened to its certificates (issued,
/// suspended, released, revoked), who did it, and why.
#[derive(Debug, Clone)]
pub struct PhoneEvent {
    pub at: Timestamp,
    pub action: String,
    pub actor: String,
    pub note: String,
}

/// A smartphone with certificates.
#[derive(Debug, Clone, Serialize)]
pub struct Phone {
    pub id: i64,
    #[serde(skip)]
    pub resident_id: i64,
    pub device_id: String,
    pub model: String,
    pub auth_serial: String,
    pub sign_serial: String,
    pub status: PhoneState,
    pub created_at: Timestamp,
    pub status_at: Option<Timestamp>,
    pub status_note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PhoneRow {
    id: i64,
    resident_id: i64,
    device_id: String,
    model: String,
    auth_serial: String,
    sign_serial: String,
    status: String,
    created_at: i64,
    status_at: Option<i64>,
    status_note: Option<String>,
}

const PHONE_COLUMNS: &str = "id, resident_id, device_id, model, auth_serial, sign_serial, \
    status, created_at, status_at, status_note";

impl TryFrom<PhoneRow> for Phone {
    type Error = StoreError;
    fn try_from(r: PhoneRow) -> Result<Self> {
        Ok(Phone {
            id: r.id,
            resident_id: r.resident_id,
            device_id: r.device_id,
            model: r.model,
            auth_serial: r.auth_serial,
            sign_serial: r.sign_serial,
            status: PhoneState::load(&r.status)?,
            created_at: from_micros(r.created_at)?,
            status_at: r.status_at.map(from_micros).transpose()?,
            status_note: r.status_note,
        })
    }
}

/// A new phone to record.
pub struct NewPhone<'a> {
    pub resident_id: i64,
    pub device_id: &'a str,
    pub model: &'a str,
    pub auth_serial: &'a str,
    pub sign_serial: &'a str,
    pub at: &'a Timestamp,
    pub actor: &'a str,
}

impl crate::Portal<'_> {
    /// Records a phone and its `issued` event. A device id already known is a conflict.
    pub async fn insert_phone(self, p: &NewPhone<'_>) -> Result<Phone> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO phones (resident_id, device_id, model, auth_serial, sign_serial, status, \
             created_at) VALUES ($1,$2,$3,$4,$5,'active',$6) RETURNING id",
        )
        .bind(p.resident_id)
        .bind(p.device_id.to_owned())
        .bind(p.model.to_owned())
        .bind(p.auth_serial.to_owned())
        .bind(p.sign_serial.to_owned())
        .bind(to_micros(p.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict("this device already has certificates".into())
            }
            other => StoreError::from(other),
        })?;
        phone_event(&mut tx, id, p.at, "issued", p.actor, "certificates issued").await?;
        tx.commit().await?;
        self.portal()
            .phone(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("phone vanished".into()))
    }

    pub async fn phone(self, id: i64) -> Result<Option<Phone>> {
        let sql = format!("SELECT {PHONE_COLUMNS} FROM phones WHERE id = $1");
        let row: Option<PhoneRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(Phone::try_from).transpose()
    }

    pub async fn phones_of_resident(self, resident_id: i64) -> Result<Vec<Phone>> {
        let sql = format!("SELECT {PHONE_COLUMNS} FROM phones WHERE resident_id = $1 ORDER BY id");
        let rows: Vec<PhoneRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(resident_id)
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(Phone::try_from).collect()
    }

    /// Moves a phone from `from` to `to` ([`transition::compare_and_set`]) with the note and
    /// its event; false if it changed meanwhile.
    pub async fn set_phone_status(
        self,
        id: i64,
        from: PhoneState,
        to: PhoneState,
        at: &Timestamp,
        actor: &str,
        note: &str,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let key = Key::Id(id);
        if !transition::compare_and_set(&mut tx, &transition::PHONES, key, from, to, at).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE phones SET status_note = $1 WHERE id = $2")
            .bind(note.to_owned())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let action = match to {
            PhoneState::Suspended => "suspended",
            PhoneState::Revoked => "revoked",
            PhoneState::Active => "released",
        };
        phone_event(&mut tx, id, at, action, actor, note).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A phone's audit trail, oldest first.
    pub async fn phone_events(self, id: i64) -> Result<Vec<PhoneEvent>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, action, actor, note FROM phone_events WHERE phone_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(at, action, actor, note)| {
                Ok(PhoneEvent {
                    at: from_micros(at)?,
                    action,
                    actor,
                    note,
                })
            })
            .collect()
    }
}

async fn phone_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    phone_id: i64,
    at: &Timestamp,
    action: &str,
    actor: &str,
    note: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO phone_events (phone_id, at, action, actor, note) VALUES ($1,$2,$3,$4,$5)",
    )
    .bind(phone_id)
    .bind(to_micros(at))
    .bind(action.to_owned())
    .bind(actor.to_owned())
    .bind(note.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
