//! 情報提供等記録: the record of every disclosure of a resident's personal data — which
//! organisation, in which role, saw which category of data, when and why. Residents read
//! their own log in the portal.
//!
//! Each resident's entries form a hash chain (the rule is the portal's:
//! `openmyna_portal::access_log`): entry `seq` stores the hash of entry `seq - 1` and its own
//! hash over both, so altering, inserting or removing an entry anywhere breaks every hash after
//! it ([`Store::verify_access_chain`]). A unique index on
//! `(resident_id, seq)` keeps two writers from forking a chain; the loser retries.

use std::collections::HashMap;

pub use openmyna_portal::access_log::{AccessEntry, ChainCheck, GENESIS, check_chain, entry_hash};

use openmyna_core::{Actor, Timestamp};

use crate::{Result, Store, StoreError, from_micros, to_micros};

/// A disclosure about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAccess<'a> {
    pub resident_id: i64,
    pub actor: &'a Actor,
    pub at: &'a Timestamp,
    pub category: &'a str,
    pub purpose: &'a str,
    pub detail: &'a str,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    resident_id: i64,
    seq: Option<i64>,
    at: i64,
    actor_org_id: i64,
    actor_name: String,
    actor_role: String,
    category: String,
    purpose: String,
    detail: String,
    prev_hash: Option<String>,
    entry_hash: Option<String>,
}

const COLUMNS: &str = "id, resident_id, seq, at, actor_org_id, actor_name, actor_role, \
    category, purpose, detail, prev_hash, entry_hash";

pub(crate) fn is_fork(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// Appends entries (several residents, several entries each, in order) inside `tx`: reads
/// each resident's chain head and writes the entries chained onto it.
pub(crate) async fn append(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::Backend,
    entries: &[NewAccess<'_>],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut residents: Vec<i64> = entries.iter().map(|e| e.resident_id).collect();
    residents.sort_unstable();
    residents.dedup();
    let mut heads: HashMap<i64, (i64, String)> = HashMap::new();
    for chunk in residents.chunks(500) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT a.resident_id, a.seq, a.entry_hash FROM access_log a JOIN \
             (SELECT resident_id, MAX(seq) AS m FROM access_log WHERE resident_id IN ({list}) \
              GROUP BY resident_id) h ON a.resident_id = h.resident_id AND a.seq = h.m"
        );
        let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q.bind(*r);
        }
        for (r, seq, hash) in q.fetch_all(&mut **tx).await? {
            heads.insert(r, (seq, hash));
        }
    }
    for chunk in entries.chunks(400) {
        let sql = format!(
            "INSERT INTO access_log (resident_id, at, actor_org_id, actor_name, actor_role, \
             category, purpose, detail, seq, prev_hash, entry_hash) VALUES {}",
            crate::registry::values_placeholders(backend, chunk.len(), 11)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            let (prev_seq, prev) = heads
                .get(&e.resident_id)
                .cloned()
                .unwrap_or_else(|| (0, GENESIS.to_owned()));
            let seq = prev_seq + 1;
            let at = to_micros(e.at);
            let hash = entry_hash(
                &prev,
                seq,
                e.resident_id,
                at,
                e.actor.org_id,
                &e.actor.org_name,
                e.actor.role.as_str(),
                e.category,
                e.purpose,
                e.detail,
            );
            q = q
                .bind(e.resident_id)
                .bind(at)
                .bind(e.actor.org_id)
                .bind(e.actor.org_name.clone())
                .bind(e.actor.role.as_str())
                .bind(e.category.to_owned())
                .bind(e.purpose.to_owned())
                .bind(e.detail.to_owned())
                .bind(seq)
                .bind(prev)
                .bind(hash.clone());
            heads.insert(e.resident_id, (seq, hash));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl TryFrom<Row> for AccessEntry {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        Ok(AccessEntry {
            id: r.id,
            resident_id: r.resident_id,
            seq: r.seq.unwrap_or(0),
            at: from_micros(r.at)?,
            actor_org_id: r.actor_org_id,
            actor_name: r.actor_name,
            actor_role: r.actor_role,
            category: r.category,
            purpose: r.purpose,
            detail: r.detail,
            prev_hash: r.prev_hash.unwrap_or_default(),
            entry_hash: r.entry_hash.unwrap_or_default(),
        })
    }
}

impl Store {
    /// Appends entries in one transaction, retrying when another writer extended one of the
    /// chains at the same moment.
    pub(crate) async fn append_access(&self, entries: &[NewAccess<'_>]) -> Result<()> {
        let mut attempt = 0;
        loop {
            let mut tx = self.begin_write().await?;
            let r = match append(&mut tx, self.backend(), entries).await {
                Ok(()) => tx.commit().await.map_err(StoreError::from),
                Err(e) => Err(e),
            };
            match r {
                Err(e) if is_fork(&e) && attempt < 5 => attempt += 1,
                other => return other,
            }
        }
    }

    /// Chains entries written before the chain existed (a database from an earlier version):
    /// each resident's unchained entries, in id order, after their chained ones.
    pub(crate) async fn chain_legacy_access(&self) -> Result<u64> {
        let residents: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT resident_id FROM access_log WHERE entry_hash IS NULL",
        )
        .fetch_all(self.pool())
        .await?;
        let mut done = 0;
        for r in residents {
            let mut tx = self.begin_write().await?;
            let head: Option<(i64, String)> = sqlx::query_as(
                "SELECT seq, entry_hash FROM access_log WHERE resident_id = $1 \
                 AND entry_hash IS NOT NULL ORDER BY seq DESC LIMIT 1",
            )
            .bind(r)
            .fetch_optional(&mut *tx)
            .await?;
            let (mut seq, mut prev) = head.unwrap_or_else(|| (0, GENESIS.to_owned()));
            let sql = format!(
                "SELECT {COLUMNS} FROM access_log WHERE resident_id = $1 AND entry_hash IS NULL \
                 ORDER BY id"
            );
            let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(r)
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                seq += 1;
                let hash = entry_hash(
                    &prev,
                    seq,
                    row.resident_id,
                    row.at,
                    row.actor_org_id,
                    &row.actor_name,
                    &row.actor_role,
                    &row.category,
                    &row.purpose,
                    &row.detail,
                );
                sqlx::query(
                    "UPDATE access_log SET seq = $1, prev_hash = $2, entry_hash = $3 WHERE id = $4",
                )
                .bind(seq)
                .bind(prev.clone())
                .bind(hash.clone())
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
                prev = hash;
                done += 1;
            }
            tx.commit().await?;
        }
        Ok(done)
    }
}

impl crate::AccessLog<'_> {
    /// Records a disclosure. Call it before the data is sent.
    pub async fn record_access(
        self,
        resident_id: i64,
        actor: &Actor,
        at: &Timestamp,
        category: &str,
        purpose: &str,
        detail: &str,
    ) -> Result<()> {
        let e = NewAccess {
            resident_id,
            actor,
            at,
            category,
            purpose,
            detail,
        };
        self.append_access(std::slice::from_ref(&e)).await
    }

    /// A resident's access log, newest first.
    pub async fn access_log(self, resident_id: i64, limit: i64) -> Result<Vec<AccessEntry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM access_log WHERE resident_id = $1 ORDER BY seq DESC LIMIT $2"
        );
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(resident_id)
            .bind(limit.clamp(1, 10_000))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(AccessEntry::try_from).collect()
    }

    /// A resident's whole chain, oldest first, and whether it is intact.
    pub async fn verify_access_chain(
        self,
        resident_id: i64,
    ) -> Result<(Vec<AccessEntry>, ChainCheck)> {
        let sql = format!("SELECT {COLUMNS} FROM access_log WHERE resident_id = $1 ORDER BY seq");
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(resident_id)
            .fetch_all(self.pool())
            .await?;
        let entries: Vec<AccessEntry> = rows
            .into_iter()
            .map(AccessEntry::try_from)
            .collect::<Result<_>>()?;
        let check = check_chain(&entries);
        Ok((entries, check))
    }
}
