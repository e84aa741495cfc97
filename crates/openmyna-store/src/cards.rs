//! Cards issued and the audit trail of card operations (issuance, the municipality's PIN
//! resets), and the sealed key that signs card data.

use openmyna_applications::CardStatus;
use openmyna_core::Timestamp;
use serde::Serialize;

use crate::transition::{self, Key, StoredStatus};
use crate::{Result, from_micros, to_micros};

/// One card as recorded at issuance.
#[derive(Debug, Clone, Serialize)]
pub struct CardRecord {
    pub serial: String,
    pub resident_id: i64,
    pub issued_at: Timestamp,
    pub expiry: String,
    pub auth_serial: String,
    pub sign_serial: Option<String>,
    pub status: CardStatus,
    pub status_at: Option<Timestamp>,
    /// The 券面AP key's public half (SPKI DER), which proves the card's presence at a reader
    /// without a PIN; recorded at issuance, never sent to anyone.
    #[serde(skip)]
    pub presence_key: Option<Vec<u8>>,
}

/// One audited card operation.
#[derive(Debug, Clone, Serialize)]
pub struct CardEvent {
    pub id: i64,
    pub card_serial: String,
    pub resident_id: i64,
    pub at: Timestamp,
    pub action: String,
    pub actor: String,
    pub detail: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    card_serial: String,
    resident_id: i64,
    at: i64,
    action: String,
    actor: String,
    detail: String,
}

#[derive(sqlx::FromRow)]
struct CardRow {
    serial: String,
    resident_id: i64,
    issued_at: i64,
    expiry: String,
    auth_serial: String,
    sign_serial: Option<String>,
    status: String,
    status_at: Option<i64>,
}

impl CardRow {
    fn into_record(self) -> Result<CardRecord> {
        Ok(CardRecord {
            serial: self.serial,
            resident_id: self.resident_id,
            issued_at: from_micros(self.issued_at)?,
            expiry: self.expiry,
            auth_serial: self.auth_serial,
            sign_serial: self.sign_serial,
            status: CardStatus::load(&self.status)?,
            status_at: self.status_at.map(from_micros).transpose()?,
            presence_key: None,
        })
    }
}

const CARD_COLUMNS: &str =
    "serial, resident_id, issued_at, expiry, auth_serial, sign_serial, status, status_at";

const SIGNER_META: &str = "card.data_signer";
const SIGNER_CONTEXT: &str = "card-data-signer";

impl crate::Cards<'_> {
    /// Records an issued card and its `issued` event in one transaction.
    pub async fn insert_card(self, c: &CardRecord, actor: &str) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        // A retried activation of the same card records its new certificates.
        sqlx::query(
            "INSERT INTO cards (serial, resident_id, issued_at, expiry, auth_serial, sign_serial, \
             presence_key) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (serial) DO UPDATE SET auth_serial = excluded.auth_serial, \
             sign_serial = excluded.sign_serial, issued_at = excluded.issued_at, status = 'active', \
             presence_key = excluded.presence_key",
        )
        .bind(&c.serial)
        .bind(c.resident_id)
        .bind(to_micros(&c.issued_at))
        .bind(&c.expiry)
        .bind(&c.auth_serial)
        .bind(&c.sign_serial)
        .bind(&c.presence_key)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO card_events (card_serial, resident_id, at, action, actor, detail) \
             VALUES ($1, $2, $3, 'issued', $4, $5)",
        )
        .bind(&c.serial)
        .bind(c.resident_id)
        .bind(to_micros(&c.issued_at))
        .bind(actor)
        .bind(format!(
            "auth certificate {}, signing certificate {}",
            c.auth_serial,
            c.sign_serial.as_deref().unwrap_or("none")
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The presence key (SPKI DER) of the active card whose authentication certificate has
    /// this serial; `None` when no active card has it, or the card was issued before the key
    /// was recorded.
    pub async fn presence_key(self, auth_serial: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
            "SELECT presence_key FROM cards WHERE auth_serial = $1 AND status = 'active'",
        )
        .bind(auth_serial)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(k,)| k))
    }

    pub async fn card(self, serial: &str) -> Result<Option<CardRecord>> {
        let row: Option<CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CARD_COLUMNS} FROM cards WHERE serial = $1"
        )))
        .bind(serial)
        .fetch_optional(self.pool())
        .await?;
        row.map(CardRow::into_record).transpose()
    }

    /// How many PIN lock-outs (reported by readers) and PIN resets (at the municipality) the
    /// cards have had, for the metrics: counted through the index on `action`, so a scrape
    /// reads those rows only, not every card's issuance.
    pub async fn pin_event_totals(self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT action, COUNT(*) FROM card_events WHERE action IN ('pin_locked', 'pin_reset') \
             GROUP BY action ORDER BY action",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The last event of a card, if any.
    pub async fn last_card_event(self, card_serial: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT action FROM card_events WHERE card_serial = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(card_serial)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn cards_of_resident(self, resident_id: i64) -> Result<Vec<CardRecord>> {
        let rows: Vec<CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CARD_COLUMNS} FROM cards WHERE resident_id = $1 ORDER BY issued_at, serial"
        )))
        .bind(resident_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(CardRow::into_record).collect()
    }

    /// Changes a card's status if it is still `from` ([`transition::compare_and_set`]), with
    /// its audit event, in one transaction. False if the status had changed meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_card_status(
        self,
        serial: &str,
        from: CardStatus,
        to: CardStatus,
        at: &Timestamp,
        action: &str,
        actor: &str,
        detail: &str,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let key = Key::Text(serial);
        if !transition::compare_and_set(&mut tx, &transition::CARDS, key, from, to, at).await? {
            return Ok(false);
        }
        card_event(&mut tx, serial, at, action, actor, detail).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// New certificates on a card (renewal: both; re-issue of the signing certificate:
    /// `auth_serial` None), with the audit event.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_card_certificates(
        self,
        serial: &str,
        auth_serial: Option<&str>,
        sign_serial: Option<&str>,
        at: &Timestamp,
        action: &str,
        actor: &str,
        detail: &str,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE cards SET auth_serial = COALESCE($1, auth_serial), sign_serial = $2 \
             WHERE serial = $3",
        )
        .bind(auth_serial)
        .bind(sign_serial)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        card_event(&mut tx, serial, at, action, actor, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends an audited card operation.
    pub async fn record_card_event(
        self,
        card_serial: &str,
        resident_id: i64,
        at: &Timestamp,
        action: &str,
        actor: &str,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO card_events (card_serial, resident_id, at, action, actor, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(card_serial)
        .bind(resident_id)
        .bind(to_micros(at))
        .bind(action)
        .bind(actor)
        .bind(detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn card_events(self, card_serial: &str) -> Result<Vec<CardEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, card_serial, resident_id, at, action, actor, detail FROM card_events \
             WHERE card_serial = $1 ORDER BY id",
        )
        .bind(card_serial)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(CardEvent {
                    id: r.id,
                    card_serial: r.card_serial,
                    resident_id: r.resident_id,
                    at: from_micros(r.at)?,
                    action: r.action,
                    actor: r.actor,
                    detail: r.detail,
                })
            })
            .collect()
    }

    /// The card-data signing key (PKCS#8), sealed under the master key; `create` makes one
    /// when there is none. Two processes creating one at once end up with the same key.
    pub async fn card_data_signer(
        self,
        create: impl FnOnce() -> std::result::Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>> {
        self.cards()
            .sealed_secret(SIGNER_META, SIGNER_CONTEXT, create)
            .await
    }

    /// A secret kept sealed in `meta` under `meta_key`, made by `create` the first time (the
    /// first writer wins if two start at once).
    pub async fn sealed_secret(
        self,
        meta_key: &str,
        context: &str,
        create: impl FnOnce() -> std::result::Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>> {
        // Read (and unsealed) once per process: callers use it per request.
        if let Some(v) = self.cache.secrets.get(&meta_key.to_owned()) {
            return Ok(v);
        }
        if self.meta(meta_key).await?.is_none() {
            let secret = create().map_err(crate::StoreError::Crypto)?;
            let sealed = self.keys().seal(context, &secret)?;
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(meta_key.to_owned())
            .bind(hex(&sealed))
            .execute(self.pool())
            .await?;
        }
        let v = self
            .meta(meta_key)
            .await?
            .ok_or_else(|| crate::StoreError::Corrupt(format!("{meta_key} vanished")))?;
        let sealed = unhex(&v)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("{meta_key} is not hex")))?;
        let secret = self.keys().open(context, &sealed)?;
        self.cache.secrets.put(meta_key.to_owned(), secret.clone());
        Ok(secret)
    }
}

/// Appends a card's audit event inside a transaction.
async fn card_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    serial: &str,
    at: &Timestamp,
    action: &str,
    actor: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO card_events (card_serial, resident_id, at, action, actor, detail) \
         SELECT $1, resident_id, $2, $3, $4, $5 FROM cards WHERE serial = $1",
    )
    .bind(serial)
    .bind(to_micros(at))
    .bind(action)
    .bind(actor)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}
