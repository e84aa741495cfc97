//! Storage of card applications (`application_forms`, `card_applications`,
//! `card_application_events`).

use openmyna_applications::{Channel, Status};
use openmyna_core::Timestamp;
use serde::Serialize;

use crate::transition::{self, Key, StoredStatus};
use crate::{Result, Store, from_micros, to_micros};

/// An application as stored (the photo and sealed PINs are loaded only where needed).
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationRecord {
    pub id: i64,
    pub form_id: String,
    pub resident_id: i64,
    pub municipality_code: String,
    pub channel: Channel,
    pub status: Status,
    pub email: Option<String>,
    pub photo_mime: String,
    pub photo_width: i64,
    pub photo_height: i64,
    pub identity_document: Option<String>,
    pub reason: Option<String>,
    pub card_serial: Option<String>,
    pub notice: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new application.
pub struct NewApplication<'a> {
    pub form_id: &'a str,
    pub resident_id: i64,
    pub municipality_code: &'a str,
    pub channel: Channel,
    pub email: Option<&'a str>,
    pub photo: &'a [u8],
    pub photo_mime: &'a str,
    pub photo_width: i64,
    pub photo_height: i64,
    pub identity_document: Option<&'a str>,
    pub pins_sealed: Option<&'a [u8]>,
    pub at: Timestamp,
    pub actor: &'a str,
}

/// What a status change also writes.
#[derive(Default)]
pub struct StatusChange<'a> {
    pub reason: Option<&'a str>,
    pub card_serial: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub forget_pins: bool,
    /// SHA-256 (hex) of the delivery code printed in the mailed envelope.
    pub delivery_code_sha256: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    form_id: String,
    resident_id: i64,
    municipality_code: String,
    channel: String,
    status: String,
    email: Option<String>,
    photo_mime: String,
    photo_width: i64,
    photo_height: i64,
    identity_document: Option<String>,
    reason: Option<String>,
    card_serial: Option<String>,
    notice: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, form_id, resident_id, municipality_code, channel, status, email, \
    photo_mime, photo_width, photo_height, identity_document, reason, card_serial, notice, \
    created_at, updated_at";

impl Row {
    fn into_record(self) -> Result<ApplicationRecord> {
        Ok(ApplicationRecord {
            id: self.id,
            form_id: self.form_id,
            resident_id: self.resident_id,
            municipality_code: self.municipality_code,
            channel: Channel::load(&self.channel)?,
            status: Status::load(&self.status)?,
            email: self.email,
            photo_mime: self.photo_mime,
            photo_width: self.photo_width,
            photo_height: self.photo_height,
            identity_document: self.identity_document,
            reason: self.reason,
            card_serial: self.card_serial,
            notice: self.notice,
            created_at: from_micros(self.created_at)?,
            updated_at: from_micros(self.updated_at)?,
        })
    }
}

/// Counts per municipality, channel and status.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationCount {
    pub municipality_code: String,
    pub channel: String,
    pub status: String,
    pub count: i64,
}

impl Store {
    async fn application_where(
        &self,
        clause: &str,
        bind: &str,
    ) -> Result<Option<ApplicationRecord>> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM card_applications WHERE {clause}"
        )))
        .bind(bind.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.map(Row::into_record).transpose()
    }
}

impl crate::Applications<'_> {
    /// Records a 交付申請書 mailed to a resident.
    pub async fn insert_application_form(
        self,
        form_id: &str,
        resident_id: i64,
        at: &Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO application_forms (form_id, resident_id, issued_at) VALUES ($1, $2, $3)",
        )
        .bind(form_id)
        .bind(resident_id)
        .bind(to_micros(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The resident a form was issued to.
    pub async fn application_form(self, form_id: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT resident_id FROM application_forms WHERE form_id = $1")
                .bind(form_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn application(self, id: i64) -> Result<Option<ApplicationRecord>> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM card_applications WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(Row::into_record).transpose()
    }

    pub async fn application_by_form(self, form_id: &str) -> Result<Option<ApplicationRecord>> {
        self.application_where("form_id = $1", form_id).await
    }

    /// The SHA-256 (hex) of a mailed card's delivery code.
    pub async fn application_delivery_code(self, id: i64) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT delivery_code_sha256 FROM card_applications WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    /// The face photo of the resident's latest application, if any (what the card prints).
    pub async fn latest_application_photo(self, resident_id: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT photo FROM card_applications WHERE resident_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(resident_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// The PINs chosen at intake, sealed.
    pub async fn application_pins(self, id: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("SELECT pins_sealed FROM card_applications WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    /// Stores a new application (status submitted) with its first event.
    pub async fn insert_application(self, a: &NewApplication<'_>) -> Result<i64> {
        let mut tx = self.pool().begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO card_applications (form_id, resident_id, municipality_code, channel, \
             status, email, photo, photo_mime, photo_width, photo_height, identity_document, \
             pins_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(a.form_id)
        .bind(a.resident_id)
        .bind(a.municipality_code)
        .bind(a.channel.as_str())
        .bind(a.email)
        .bind(a.photo)
        .bind(a.photo_mime)
        .bind(a.photo_width)
        .bind(a.photo_height)
        .bind(a.identity_document)
        .bind(a.pins_sealed)
        .bind(to_micros(&a.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match crate::unique_violation(&e) {
            Some(_) => crate::StoreError::Conflict(
                "an application with this ID was submitted at the same moment".into(),
            ),
            None => e.into(),
        })?;
        event(
            &mut tx,
            id,
            &a.at,
            Status::Submitted,
            a.actor,
            &format!("channel {}", a.channel.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A rejected application submitted again through a channel, with a new photo.
    pub async fn resubmit_application(self, id: i64, a: &NewApplication<'_>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let (from, to) = (Status::Rejected, Status::Submitted);
        let key = Key::Id(id);
        if !transition::compare_and_set(&mut tx, &transition::APPLICATIONS, key, from, to, &a.at)
            .await?
        {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE card_applications SET channel = $1, email = $2, photo = $3, \
             photo_mime = $4, photo_width = $5, photo_height = $6, reason = NULL, \
             identity_document = NULL, pins_sealed = NULL WHERE id = $7",
        )
        .bind(a.channel.as_str())
        .bind(a.email)
        .bind(a.photo)
        .bind(a.photo_mime)
        .bind(a.photo_width)
        .bind(a.photo_height)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            id,
            &a.at,
            to,
            a.actor,
            &format!("resubmitted via {}", a.channel.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves an application from `from` to `to` ([`transition::compare_and_set`]) with what
    /// the step also writes and its event, in one transaction. False if it changed meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_application_status(
        self,
        id: i64,
        from: Status,
        to: Status,
        at: &Timestamp,
        actor: &str,
        detail: &str,
        change: &StatusChange<'_>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let key = Key::Id(id);
        if !transition::compare_and_set(&mut tx, &transition::APPLICATIONS, key, from, to, at)
            .await?
        {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE card_applications SET \
             reason = COALESCE($1, reason), card_serial = COALESCE($2, card_serial), \
             notice = COALESCE($3, notice), \
             pins_sealed = CASE WHEN $4 = 1 THEN NULL ELSE pins_sealed END, \
             delivery_code_sha256 = COALESCE($5, delivery_code_sha256) \
             WHERE id = $6",
        )
        .bind(change.reason)
        .bind(change.card_serial)
        .bind(change.notice)
        .bind(i64::from(change.forget_pins))
        .bind(change.delivery_code_sha256)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        event(&mut tx, id, at, to, actor, detail).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn list(
        self,
        municipality_code: Option<&str>,
        status: Option<Status>,
    ) -> Result<Vec<ApplicationRecord>> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM card_applications \
             WHERE ($1 = '' OR municipality_code = $1) AND ($2 = '' OR status = $2) ORDER BY id"
        )))
        .bind(municipality_code.unwrap_or("").to_owned())
        .bind(status.map(Status::as_str).unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(Row::into_record).collect()
    }

    pub async fn application_counts(self) -> Result<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT municipality_code, channel, status, COUNT(*) FROM card_applications \
             GROUP BY municipality_code, channel, status ORDER BY 1, 2, 3",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(m, c, s, n)| ApplicationCount {
                municipality_code: m,
                channel: c,
                status: s,
                count: n,
            })
            .collect())
    }
}

async fn event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    at: &Timestamp,
    status: Status,
    actor: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO card_application_events (application_id, at, status, actor, detail) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(to_micros(at))
    .bind(status.as_str())
    .bind(actor)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
