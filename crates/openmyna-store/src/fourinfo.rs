//! Storage of the 4-information service (`relying_parties`, `fourinfo_consents`).

use std::collections::BTreeSet;

use openmyna_core::{Actor, Organisation, Timestamp};
use openmyna_fourinfo::{Consent, FourInfoError, FourInfoStore, Item, NewConsent, RelyingParty};

use crate::{Store, StoreError, from_micros, to_micros};

fn storage(e: impl std::fmt::Display) -> FourInfoError {
    FourInfoError::Storage(e.to_string())
}

impl From<StoreError> for FourInfoError {
    fn from(e: StoreError) -> Self {
        storage(e)
    }
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    id: i64,
    rp_org_id: i64,
    resident_id: i64,
    customer_ref: String,
    items: String,
    purpose: String,
    sign_serial: String,
    consent_serial: String,
    created_at: i64,
    withdrawn_at: Option<i64>,
    withdrawn_reason: Option<String>,
}

// The signed documents stay in the table for audit; lists never load them.
const CONSENT_COLUMNS: &str = "id, rp_org_id, resident_id, customer_ref, items, purpose, \
    sign_serial, consent_serial, created_at, withdrawn_at, withdrawn_reason";

impl TryFrom<ConsentRow> for Consent {
    type Error = FourInfoError;
    fn try_from(r: ConsentRow) -> Result<Self, FourInfoError> {
        Ok(Consent {
            id: r.id,
            rp_org_id: r.rp_org_id,
            resident_id: r.resident_id,
            customer_ref: r.customer_ref,
            items: Item::split(&r.items)?,
            purpose: r.purpose,
            sign_serial: r.sign_serial,
            consent_serial: r.consent_serial,
            created_at: from_micros(r.created_at)?,
            withdrawn_at: r.withdrawn_at.map(from_micros).transpose()?,
            withdrawn_reason: r.withdrawn_reason,
        })
    }
}

impl Store {
    async fn consents_where(&self, clause: &str, id: i64) -> Result<Vec<Consent>, FourInfoError> {
        let sql =
            format!("SELECT {CONSENT_COLUMNS} FROM fourinfo_consents WHERE {clause} ORDER BY id");
        let rows: Vec<ConsentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(self.pool())
            .await
            .map_err(storage)?;
        rows.into_iter().map(Consent::try_from).collect()
    }
}

impl FourInfoStore for Store {
    async fn organisation(&self, org_id: i64) -> Result<Option<Organisation>, FourInfoError> {
        Ok(self.auth().organisation(org_id).await?)
    }

    async fn relying_party(&self, org_id: i64) -> Result<Option<RelyingParty>, FourInfoError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT o.name, r.items FROM relying_parties r JOIN organisations o ON o.id = r.org_id \
             WHERE r.org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(self.pool())
        .await
        .map_err(storage)?;
        row.map(|(name, items)| {
            Ok(RelyingParty {
                org_id,
                name,
                items: Item::split(&items)?,
            })
        })
        .transpose()
    }

    async fn set_relying_party(
        &self,
        org_id: i64,
        items: &BTreeSet<Item>,
        at: &Timestamp,
    ) -> Result<(), FourInfoError> {
        sqlx::query(
            "INSERT INTO relying_parties (org_id, items, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (org_id) DO UPDATE SET items = excluded.items, updated_at = excluded.updated_at",
        )
        .bind(org_id)
        .bind(Item::join(items))
        .bind(to_micros(at))
        .execute(self.pool())
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn insert_consent(&self, c: &NewConsent) -> Result<Consent, FourInfoError> {
        let mut tx = self.pool().begin().await.map_err(storage)?;
        sqlx::query(
            "UPDATE fourinfo_consents SET withdrawn_at = $1, withdrawn_reason = 'replaced by a new consent' \
             WHERE rp_org_id = $2 AND customer_ref = $3 AND withdrawn_at IS NULL",
        )
        .bind(to_micros(&c.created_at))
        .bind(c.rp_org_id)
        .bind(&c.customer_ref)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO fourinfo_consents (rp_org_id, resident_id, customer_ref, items, purpose, \
             sign_serial, consent_serial, created_at, document, document_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING id",
        )
        .bind(c.rp_org_id)
        .bind(c.resident_id)
        .bind(&c.customer_ref)
        .bind(Item::join(&c.items))
        .bind(&c.purpose)
        .bind(&c.sign_serial)
        .bind(to_micros(&c.created_at))
        .bind(&c.document)
        .bind(&c.document_sha256)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match crate::unique_violation(&e) {
            Some(m) if m.contains("document_sha256") => FourInfoError::refused(
                "consent.reused",
                "this signed document was already submitted; a new consent needs a new signature",
            ),
            Some(_) => FourInfoError::refused(
                "consent.concurrent",
                "another consent for this customer was stored at the same moment; retry",
            ),
            None => storage(e),
        })?;
        tx.commit().await.map_err(storage)?;
        FourInfoStore::consent(self, id)
            .await?
            .ok_or_else(|| storage("the consent just stored is missing"))
    }

    async fn consent(&self, id: i64) -> Result<Option<Consent>, FourInfoError> {
        Ok(self.consents_where("id = $1", id).await?.pop())
    }

    async fn consents_of_rp(
        &self,
        rp_org_id: i64,
        live_only: bool,
    ) -> Result<Vec<Consent>, FourInfoError> {
        let clause = if live_only {
            "rp_org_id = $1 AND withdrawn_at IS NULL"
        } else {
            "rp_org_id = $1"
        };
        self.consents_where(clause, rp_org_id).await
    }

    async fn consents_of_resident(&self, resident_id: i64) -> Result<Vec<Consent>, FourInfoError> {
        self.consents_where("resident_id = $1", resident_id).await
    }

    async fn withdraw_consent(
        &self,
        id: i64,
        at: &Timestamp,
        reason: &str,
    ) -> Result<bool, FourInfoError> {
        let r = sqlx::query(
            "UPDATE fourinfo_consents SET withdrawn_at = $1, withdrawn_reason = $2 \
             WHERE id = $3 AND withdrawn_at IS NULL",
        )
        .bind(to_micros(at))
        .bind(reason)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn follow_serial(&self, id: i64, serial: &str) -> Result<(), FourInfoError> {
        sqlx::query("UPDATE fourinfo_consents SET sign_serial = $1 WHERE id = $2")
            .bind(serial)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn record_disclosure(
        &self,
        resident_id: i64,
        actor: &Actor,
        at: &Timestamp,
        category: &str,
        purpose: &str,
        detail: &str,
    ) -> Result<(), FourInfoError> {
        Ok(self
            .access()
            .record_access(resident_id, actor, at, category, purpose, detail)
            .await?)
    }
}
