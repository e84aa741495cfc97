//! 情報提供等記録: the record of every disclosure of a resident's personal data — which
//! organisation, in which role, saw which category of data, when and why. Residents read
//! their own log in the portal.

use openmyna_core::{Actor, Timestamp};
use serde::Serialize;

use crate::{Result, Store, from_micros, to_micros};

/// One disclosure, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    pub resident_id: i64,
    pub at: Timestamp,
    pub actor_org_id: i64,
    pub actor_name: String,
    pub actor_role: String,
    /// What was disclosed, e.g. `registry.basic4`, `registry.my_number`.
    pub category: String,
    /// Why, as stated by the requester.
    pub purpose: String,
    pub detail: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    resident_id: i64,
    at: i64,
    actor_org_id: i64,
    actor_name: String,
    actor_role: String,
    category: String,
    purpose: String,
    detail: String,
}

impl Store {
    /// Records a disclosure. Call it before the data is sent.
    pub async fn record_access(
        &self,
        resident_id: i64,
        actor: &Actor,
        at: &Timestamp,
        category: &str,
        purpose: &str,
        detail: &str,
    ) -> Result<()> {
        insert(
            self.pool(),
            resident_id,
            actor,
            at,
            category,
            purpose,
            detail,
        )
        .await
    }

    /// A resident's access log, newest first.
    pub async fn access_log(&self, resident_id: i64, limit: i64) -> Result<Vec<AccessEntry>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, resident_id, at, actor_org_id, actor_name, actor_role, category, \
             purpose, detail FROM access_log WHERE resident_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(resident_id)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AccessEntry {
                    id: r.id,
                    resident_id: r.resident_id,
                    at: from_micros(r.at)?,
                    actor_org_id: r.actor_org_id,
                    actor_name: r.actor_name,
                    actor_role: r.actor_role,
                    category: r.category,
                    purpose: r.purpose,
                    detail: r.detail,
                })
            })
            .collect()
    }
}

/// Writes one entry with any executor (the pool, or a transaction that also writes what the
/// entry is about).
pub(crate) async fn insert<'e, E>(
    exec: E,
    resident_id: i64,
    actor: &Actor,
    at: &Timestamp,
    category: &str,
    purpose: &str,
    detail: &str,
) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO access_log (resident_id, at, actor_org_id, actor_name, actor_role, \
         category, purpose, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(resident_id)
    .bind(to_micros(at))
    .bind(actor.org_id)
    .bind(actor.org_name.clone())
    .bind(actor.role.as_str())
    .bind(category.to_owned())
    .bind(purpose.to_owned())
    .bind(detail.to_owned())
    .execute(exec)
    .await?;
    Ok(())
}
