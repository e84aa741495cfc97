//! The resident registry's storage.

use openmyna_core::Actor;
use openmyna_ids::{MunicipalityCode, MyNumber, ResidentCode};
use openmyna_registry::{
    Address, BasicFour, HistoryEntry, NewResident, PersonName, PostalCode, RegistryError,
    RegistryEvent, RegistryStore, Resident, ResidentChange, ResidentId, ResidentStatus, Sex,
    registration_records,
};
use sqlx::{Any, AssertSqlSafe, Transaction};

use crate::{Backend, Store, StoreError, from_micros, parse_date, to_micros, unique_violation};

const MY_NUMBER_CONTEXT: &str = "residents.my_number";

#[derive(sqlx::FromRow)]
struct ResidentRow {
    id: i64,
    my_number_sealed: Vec<u8>,
    resident_code: String,
    name: String,
    name_kana: String,
    birth_date: String,
    sex: i64,
    municipality_code: String,
    postal_code: Option<String>,
    address: String,
    status: String,
    status_date: Option<String>,
    registered_at: i64,
    updated_at: i64,
    version: i64,
}

const RESIDENT_COLUMNS: &str = "id, my_number_sealed, resident_code, name, name_kana, birth_date, \
     sex, municipality_code, postal_code, address, status, status_date, registered_at, \
     updated_at, version";

#[derive(sqlx::FromRow)]
struct HistoryRow {
    resident_id: i64,
    kind: String,
    before_json: String,
    after_json: String,
    effective_date: String,
    recorded_at: i64,
    recorded_by: String,
    reason: Option<String>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        RegistryError::Storage(e.to_string())
    }
}

fn db(e: sqlx::Error) -> RegistryError {
    match unique_violation(&e) {
        Some(m) if m.contains("my_number") => RegistryError::DuplicateMyNumber,
        Some(m) if m.contains("resident_code") => RegistryError::DuplicateResidentCode,
        Some(_) => RegistryError::Conflict,
        None => RegistryError::Storage(e.to_string()),
    }
}

/// The residents columns, in the order every insert binds them.
const RESIDENT_INSERT: &str = "INSERT INTO residents (id, my_number_index, my_number_sealed, \
     resident_code, name, name_kana, birth_date, sex, municipality_code, postal_code, address, \
     status, registered_at, updated_at, version) VALUES ";

/// Binds the 15 columns of [`RESIDENT_INSERT`] for one new resident (shared by the single and
/// the bulk insert; a macro because the two bind onto different query types).
macro_rules! bind_new_resident {
    ($q:expr, $store:expr, $n:expr) => {{
        let n: &NewResident = $n;
        let t = to_micros(&n.registered_at);
        let a = &n.basic4.address;
        $q.bind(n.id.0)
            .bind(
                $store
                    .keys()
                    .blind_index(MY_NUMBER_CONTEXT, n.my_number.expose()),
            )
            .bind(
                $store
                    .keys()
                    .seal(MY_NUMBER_CONTEXT, n.my_number.expose().as_bytes())?,
            )
            .bind(n.resident_code.as_str().to_owned())
            .bind(n.basic4.name.name.clone())
            .bind(n.basic4.name.name_kana.clone())
            .bind(n.basic4.birth_date.to_string())
            .bind(i64::from(n.basic4.sex.code()))
            .bind(a.municipality_code.as_str().to_owned())
            .bind(a.postal_code.as_ref().map(|p| p.as_str().to_owned()))
            .bind(a.text.clone())
            .bind("active")
            .bind(t)
            .bind(t)
            .bind(1i64)
    }};
}

/// `($1,$2,…),($n+1,…)` (PostgreSQL) or `(?,?,…),(?,…)` (SQLite) for `rows` rows of `cols`
/// columns. sqlx's `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL rejects;
/// and SQLite resolves numbered parameters by name, which costs quadratic time in a statement
/// with thousands of them, so each backend gets its own form.
pub(crate) fn values_placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// What a bulk import did.
#[derive(Debug, Clone, Copy, Default)]
pub struct BulkInsertOutcome {
    pub inserted: u64,
    /// Rows skipped because their My Number, resident code or id was already taken.
    pub skipped: u64,
}

impl Store {
    fn resident_from_row(&self, r: ResidentRow) -> Result<Resident, StoreError> {
        let mn = self.keys().open(MY_NUMBER_CONTEXT, &r.my_number_sealed)?;
        let mn = String::from_utf8(mn).map_err(|_| corrupt("my number"))?;
        Ok(Resident {
            id: ResidentId(r.id),
            my_number: MyNumber::parse(&mn).map_err(|_| corrupt("my number"))?,
            resident_code: ResidentCode::parse(&r.resident_code)
                .map_err(|_| corrupt("resident code"))?,
            basic4: BasicFour {
                name: PersonName {
                    name: r.name,
                    name_kana: r.name_kana,
                },
                address: Address {
                    municipality_code: MunicipalityCode::parse(&r.municipality_code)
                        .map_err(|_| corrupt("municipality code"))?,
                    postal_code: r
                        .postal_code
                        .as_deref()
                        .map(PostalCode::parse)
                        .transpose()
                        .map_err(|_| corrupt("postal code"))?,
                    text: r.address,
                },
                birth_date: parse_date(&r.birth_date)?,
                sex: Sex::from_code(r.sex).map_err(|_| corrupt("sex"))?,
            },
            status: ResidentStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
            status_date: r.status_date.as_deref().map(parse_date).transpose()?,
            registered_at: from_micros(r.registered_at)?,
            updated_at: from_micros(r.updated_at)?,
            version: r.version,
        })
    }

    /// Serialises writers of the event outbox so that sequence numbers commit in order
    /// (SQLite already has a single writer).
    pub(crate) async fn lock_outbox(
        &self,
        tx: &mut Transaction<'_, Any>,
    ) -> Result<(), sqlx::Error> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7265)")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn insert_history(
        tx: &mut Transaction<'_, Any>,
        h: &HistoryEntry,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO resident_history (resident_id, kind, before_json, after_json, \
             effective_date, recorded_at, recorded_by, reason) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(h.resident_id.0)
        .bind(h.kind.as_str())
        .bind(h.before.to_string())
        .bind(h.after.to_string())
        .bind(h.effective_date.to_string())
        .bind(to_micros(&h.recorded_at))
        .bind(h.recorded_by.clone())
        .bind(h.reason.clone())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn insert_event(
        tx: &mut Transaction<'_, Any>,
        e: &RegistryEvent,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO events (topic, kind, subject_id, occurred_at, payload) \
             VALUES ('registry', $1, $2, $3, $4)",
        )
        .bind(e.kind.as_str())
        .bind(e.resident_id.0)
        .bind(to_micros(&e.occurred_at))
        .bind(serde_json::to_string(e).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

impl crate::Residents<'_> {
    /// The residents with this birth date whose name or kana reading is `name`, spaces and
    /// kana forms ignored (the operator's search), oldest id first, at most `limit`.
    pub async fn find_by_name_and_birth(
        self,
        name: &str,
        birth_date: chrono::NaiveDate,
        limit: i64,
    ) -> Result<Vec<ResidentId>, StoreError> {
        let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let as_written = compact(name);
        let as_kana = compact(&openmyna_core::kana::to_katakana(name));
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM residents WHERE birth_date = $1 \
             AND (REPLACE(REPLACE(name, '　', ''), ' ', '') = $2 \
                  OR REPLACE(REPLACE(name_kana, '　', ''), ' ', '') = $3) \
             ORDER BY id LIMIT $4",
        )
        .bind(birth_date.to_string())
        .bind(as_written)
        .bind(as_kana)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(ids.into_iter().map(ResidentId).collect())
    }

    /// Inserts many residents at once (demo population, migrations from other registries),
    /// each with its `registered` history entry and event, in one transaction per call. Rows
    /// whose My Number, resident code or id is already taken are skipped and counted.
    pub async fn insert_residents_bulk(
        self,
        batch: &[NewResident],
        actor: &Actor,
    ) -> Result<BulkInsertOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(BulkInsertOutcome::default());
        }
        let mut tx = self.pool().begin().await?;
        self.lock_outbox(&mut tx).await?;
        let mut inserted_ids = std::collections::HashSet::with_capacity(batch.len());
        // 15 parameters a row; 1,000 rows stay under both backends' parameter limits.
        for chunk in batch.chunks(1000) {
            let sql = format!(
                "{RESIDENT_INSERT}{} ON CONFLICT DO NOTHING RETURNING id",
                values_placeholders(self.backend(), chunk.len(), 15)
            );
            let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            for n in chunk {
                q = bind_new_resident!(q, self, n);
            }
            inserted_ids.extend(q.fetch_all(&mut *tx).await?);
        }
        let inserted: Vec<&NewResident> = batch
            .iter()
            .filter(|n| inserted_ids.contains(&n.id.0))
            .collect();
        let records: Vec<(HistoryEntry, RegistryEvent)> = inserted
            .iter()
            .map(|n| registration_records(n, actor))
            .collect();
        for chunk in records.chunks(2000) {
            let sql = format!(
                "INSERT INTO resident_history (resident_id, kind, before_json, after_json, \
                 effective_date, recorded_at, recorded_by, reason) VALUES {}",
                values_placeholders(self.backend(), chunk.len(), 8)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (h, _) in chunk {
                q = q
                    .bind(h.resident_id.0)
                    .bind(h.kind.as_str())
                    .bind(h.before.to_string())
                    .bind(h.after.to_string())
                    .bind(h.effective_date.to_string())
                    .bind(to_micros(&h.recorded_at))
                    .bind(h.recorded_by.clone())
                    .bind(None::<String>);
            }
            q.execute(&mut *tx).await?;
            let sql = format!(
                "INSERT INTO events (topic, kind, subject_id, occurred_at, payload) VALUES {}",
                values_placeholders(self.backend(), chunk.len(), 5)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (_, e) in chunk {
                q = q
                    .bind("registry")
                    .bind(e.kind.as_str())
                    .bind(e.resident_id.0)
                    .bind(to_micros(&e.occurred_at))
                    .bind(serde_json::to_string(e).unwrap_or_default());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        let n = inserted.len() as u64;
        Ok(BulkInsertOutcome {
            inserted: n,
            skipped: batch.len() as u64 - n,
        })
    }
}

impl RegistryStore for Store {
    async fn insert_resident(
        &self,
        new: &NewResident,
        history: &HistoryEntry,
        event: &RegistryEvent,
    ) -> Result<(), RegistryError> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        self.lock_outbox(&mut tx).await.map_err(db)?;
        let sql = format!(
            "{RESIDENT_INSERT}{}",
            values_placeholders(self.backend(), 1, 15)
        );
        bind_new_resident!(sqlx::query(AssertSqlSafe(sql)), self, new)
            .execute(&mut *tx)
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(m) if m.contains("my_number_index") => RegistryError::DuplicateMyNumber,
                Some(m) if m.contains("resident_code") => RegistryError::DuplicateResidentCode,
                Some(_) => RegistryError::DuplicateResidentCode,
                None => RegistryError::Storage(e.to_string()),
            })?;
        Self::insert_history(&mut tx, history).await.map_err(db)?;
        Self::insert_event(&mut tx, event).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn resident(&self, id: ResidentId) -> Result<Option<Resident>, RegistryError> {
        let row: Option<ResidentRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        Ok(row.map(|r| self.resident_from_row(r)).transpose()?)
    }

    async fn resident_by_my_number(
        &self,
        my_number: &MyNumber,
    ) -> Result<Option<Resident>, RegistryError> {
        let row: Option<ResidentRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE my_number_index = $1"
        )))
        .bind(
            self.keys()
                .blind_index(MY_NUMBER_CONTEXT, my_number.expose()),
        )
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        Ok(row.map(|r| self.resident_from_row(r)).transpose()?)
    }

    async fn apply_change(&self, change: &ResidentChange) -> Result<(), RegistryError> {
        let r = &change.updated;
        let a = &r.basic4.address;
        let mut tx = self.pool().begin().await.map_err(db)?;
        self.lock_outbox(&mut tx).await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE residents SET name = $1, name_kana = $2, birth_date = $3, sex = $4, \
             municipality_code = $5, postal_code = $6, address = $7, status = $8, \
             status_date = $9, updated_at = $10, version = $11 \
             WHERE id = $12 AND version = $13",
        )
        .bind(r.basic4.name.name.clone())
        .bind(r.basic4.name.name_kana.clone())
        .bind(r.basic4.birth_date.to_string())
        .bind(i64::from(r.basic4.sex.code()))
        .bind(a.municipality_code.as_str().to_owned())
        .bind(a.postal_code.as_ref().map(|p| p.as_str().to_owned()))
        .bind(a.text.clone())
        .bind(r.status.as_str())
        .bind(r.status_date.map(|d| d.to_string()))
        .bind(to_micros(&r.updated_at))
        .bind(r.version)
        .bind(r.id.0)
        .bind(change.expected_version)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() != 1 {
            return Err(RegistryError::Conflict);
        }
        Self::insert_history(&mut tx, &change.history)
            .await
            .map_err(db)?;
        Self::insert_event(&mut tx, &change.event)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn history(&self, id: ResidentId) -> Result<Vec<HistoryEntry>, RegistryError> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT resident_id, kind, before_json, after_json, effective_date, recorded_at, \
             recorded_by, reason FROM resident_history WHERE resident_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|h| {
                Ok(HistoryEntry {
                    resident_id: ResidentId(h.resident_id),
                    kind: openmyna_registry::ChangeKind::parse(&h.kind)
                        .ok_or_else(|| corrupt("history kind"))?,
                    before: serde_json::from_str(&h.before_json).map_err(|_| corrupt("history"))?,
                    after: serde_json::from_str(&h.after_json).map_err(|_| corrupt("history"))?,
                    effective_date: parse_date(&h.effective_date)?,
                    recorded_at: from_micros(h.recorded_at)?,
                    recorded_by: h.recorded_by,
                    reason: h.reason,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map_err(RegistryError::from)
    }
}
