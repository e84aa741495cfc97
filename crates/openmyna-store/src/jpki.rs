//! Storage of the JPKI CA: roots (keys sealed with the master key), certificates, the
//! revoked-entries table, the status log and published CRLs.

use openmyna_jpki::service::{
    CertRecord, CertState, CrlMeta, LogEntry, RevokedPage, RevokedTotals, StatusChange, StoredRoot,
};
use openmyna_jpki::{JpkiError, JpkiStore, KeyKind, Reason, RootKind};

use crate::{Store, StoreError, from_micros, to_micros};
use openmyna_core::Timestamp;

const ROOT_KEY_CONTEXT: &str = "jpki_roots.key";
const RESPONDER_KEY_CONTEXT: &str = "jpki_roots.responder_key";

fn storage(e: impl std::fmt::Display) -> JpkiError {
    JpkiError::Storage(e.to_string())
}

impl From<StoreError> for JpkiError {
    fn from(e: StoreError) -> Self {
        storage(e)
    }
}

fn root_kind(s: &str) -> Result<RootKind, JpkiError> {
    RootKind::parse(s).ok_or_else(|| storage(format!("unknown root {s:?} in the database")))
}

#[derive(sqlx::FromRow)]
struct RootRow {
    root: String,
    key_kind: String,
    key_sealed: Vec<u8>,
    cert_der: Vec<u8>,
    responder_key_sealed: Vec<u8>,
    responder_cert_der: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct CertRow {
    serial: String,
    root: String,
    resident_id: i64,
    card_ref: Option<String>,
    partition: i64,
    not_before: i64,
    not_after: i64,
    status: String,
    status_at: Option<i64>,
    reason: Option<i64>,
    issued_at: i64,
    der: Vec<u8>,
}

const CERT_COLUMNS: &str = "serial, root, resident_id, card_ref, partition, not_before, \
    not_after, status, status_at, reason, issued_at, der";

impl CertRow {
    fn into_record(self) -> Result<CertRecord, JpkiError> {
        Ok(CertRecord {
            root: root_kind(&self.root)?,
            serial: self.serial,
            resident_id: self.resident_id,
            card_ref: self.card_ref,
            partition: self.partition,
            not_before: from_micros(self.not_before)?,
            not_after: from_micros(self.not_after)?,
            status: CertState::parse(&self.status)
                .ok_or_else(|| storage("unknown certificate status"))?,
            status_at: self.status_at.map(from_micros).transpose()?,
            reason: self.reason.and_then(Reason::from_code),
            issued_at: from_micros(self.issued_at)?,
            der: self.der,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CrlRow {
    root: String,
    number: i64,
    scope: String,
    partition: Option<i64>,
    base_number: Option<i64>,
    snapshot_seq: i64,
    this_update: i64,
    next_update: i64,
    entries: i64,
    bytes: i64,
    file: String,
}

const CRL_COLUMNS: &str = "root, number, scope, partition, base_number, snapshot_seq, \
    this_update, next_update, entries, bytes, file";

impl CrlRow {
    fn into_meta(self) -> Result<CrlMeta, JpkiError> {
        Ok(CrlMeta {
            root: root_kind(&self.root)?,
            number: self.number,
            scope: self.scope,
            partition: self.partition,
            base_number: self.base_number,
            snapshot_seq: self.snapshot_seq,
            this_update: from_micros(self.this_update)?,
            next_update: from_micros(self.next_update)?,
            entries: self.entries,
            bytes: self.bytes,
            file: self.file,
        })
    }
}

impl Store {
    async fn bump(&self, root: RootKind, column: &'static str) -> Result<i64, JpkiError> {
        let sql = match column {
            "issued_count" => {
                "UPDATE jpki_roots SET issued_count = issued_count + 1 WHERE root = $1 \
                 RETURNING issued_count"
            }
            _ => {
                "UPDATE jpki_roots SET crl_number = crl_number + 1 WHERE root = $1 \
                 RETURNING crl_number"
            }
        };
        sqlx::query_scalar::<_, i64>(sql)
            .bind(root.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(storage)?
            .ok_or_else(|| storage(format!("root {} is not initialised", root.as_str())))
    }
}

impl JpkiStore for Store {
    async fn public_url(&self) -> Result<Option<String>, JpkiError> {
        sqlx::query_scalar::<_, String>("SELECT url FROM jpki_public_url ORDER BY seq DESC LIMIT 1")
            .fetch_optional(self.pool())
            .await
            .map_err(storage)
    }

    async fn record_public_url(
        &self,
        url: &str,
        at: &Timestamp,
        actor: &str,
        reason: &str,
    ) -> Result<(), JpkiError> {
        sqlx::query("INSERT INTO jpki_public_url (url, at, actor, reason) VALUES ($1, $2, $3, $4)")
            .bind(url.to_owned())
            .bind(to_micros(at))
            .bind(actor.to_owned())
            .bind(reason.to_owned())
            .execute(self.pool())
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn load_roots(&self) -> Result<Vec<StoredRoot>, JpkiError> {
        let rows: Vec<RootRow> = sqlx::query_as(
            "SELECT root, key_kind, key_sealed, cert_der, responder_key_sealed, \
             responder_cert_der FROM jpki_roots",
        )
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredRoot {
                    kind: root_kind(&r.root)?,
                    key_kind: KeyKind::parse(&r.key_kind)
                        .ok_or_else(|| storage("unknown key kind"))?,
                    key_pkcs8: self.keys().open(ROOT_KEY_CONTEXT, &r.key_sealed)?,
                    cert_der: r.cert_der,
                    responder_pkcs8: self
                        .keys()
                        .open(RESPONDER_KEY_CONTEXT, &r.responder_key_sealed)?,
                    responder_cert_der: r.responder_cert_der,
                })
            })
            .collect()
    }

    async fn save_root(&self, root: &StoredRoot) -> Result<(), JpkiError> {
        // An audit column of the row only (no rule reads it).
        #[allow(clippy::disallowed_methods)]
        let now = chrono::Utc::now().timestamp_micros();
        sqlx::query(
            "INSERT INTO jpki_roots (root, key_kind, key_sealed, cert_der, \
             responder_key_sealed, responder_cert_der, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (root) DO UPDATE SET key_kind = excluded.key_kind, \
             key_sealed = excluded.key_sealed, cert_der = excluded.cert_der, \
             responder_key_sealed = excluded.responder_key_sealed, \
             responder_cert_der = excluded.responder_cert_der, updated_at = excluded.updated_at",
        )
        .bind(root.kind.as_str())
        .bind(root.key_kind.as_str())
        .bind(self.keys().seal(ROOT_KEY_CONTEXT, &root.key_pkcs8)?)
        .bind(root.cert_der.clone())
        .bind(
            self.keys()
                .seal(RESPONDER_KEY_CONTEXT, &root.responder_pkcs8)?,
        )
        .bind(root.responder_cert_der.clone())
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn next_issuance(&self, root: RootKind) -> Result<i64, JpkiError> {
        self.bump(root, "issued_count").await
    }

    async fn next_crl_number(&self, root: RootKind) -> Result<i64, JpkiError> {
        self.bump(root, "crl_number").await
    }

    async fn issued_count(&self, root: RootKind) -> Result<i64, JpkiError> {
        sqlx::query_scalar::<_, i64>("SELECT issued_count FROM jpki_roots WHERE root = $1")
            .bind(root.as_str())
            .fetch_one(self.pool())
            .await
            .map_err(storage)
    }

    async fn insert_certificates(&self, records: &[CertRecord]) -> Result<(), JpkiError> {
        let mut tx = self.pool().begin().await.map_err(storage)?;
        for r in records {
            sqlx::query(
                "INSERT INTO jpki_certificates (serial, root, resident_id, card_ref, partition, \
                 not_before, not_after, status, status_at, reason, issued_at, der) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, $10)",
            )
            .bind(r.serial.clone())
            .bind(r.root.as_str())
            .bind(r.resident_id)
            .bind(r.card_ref.clone())
            .bind(r.partition)
            .bind(to_micros(&r.not_before))
            .bind(to_micros(&r.not_after))
            .bind(r.status.as_str())
            .bind(to_micros(&r.issued_at))
            .bind(r.der.clone())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        Ok(())
    }

    async fn certificate(&self, serial: &str) -> Result<Option<CertRecord>, JpkiError> {
        let row: Option<CertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CERT_COLUMNS} FROM jpki_certificates WHERE serial = $1"
        )))
        .bind(serial.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(storage)?;
        row.map(CertRow::into_record).transpose()
    }

    async fn certificates_of_resident(
        &self,
        resident_id: i64,
    ) -> Result<Vec<CertRecord>, JpkiError> {
        let rows: Vec<CertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CERT_COLUMNS} FROM jpki_certificates WHERE resident_id = $1 \
             ORDER BY issued_at, root"
        )))
        .bind(resident_id)
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter().map(CertRow::into_record).collect()
    }

    async fn apply_status(&self, c: &StatusChange) -> Result<bool, JpkiError> {
        let mut tx = self.pool().begin().await.map_err(storage)?;
        self.lock_outbox(&mut tx).await.map_err(storage)?;
        let (status_at, reason) = match c.to {
            CertState::Good => (None, None),
            _ => (Some(to_micros(&c.at)), c.reason.map(Reason::code)),
        };
        let done = sqlx::query(
            "UPDATE jpki_certificates SET status = $1, status_at = $2, reason = $3 \
             WHERE serial = $4 AND status = $5",
        )
        .bind(c.to.as_str())
        .bind(status_at)
        .bind(reason)
        .bind(c.serial.clone())
        .bind(c.from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO jpki_status_log (root, serial, partition, status, at, reason, \
             recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        )
        .bind(c.root.as_str())
        .bind(c.serial.clone())
        .bind(c.partition)
        .bind(c.to.as_str())
        .bind(to_micros(&c.at))
        .bind(c.reason.map(Reason::code))
        .bind(to_micros(&c.recorded_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(storage)?;
        match &c.entry_der {
            Some(entry) => {
                sqlx::query(
                    "INSERT INTO jpki_revoked (serial, root, partition, seq, entry_der) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (serial) DO UPDATE SET \
                     seq = excluded.seq, entry_der = excluded.entry_der",
                )
                .bind(c.serial.clone())
                .bind(c.root.as_str())
                .bind(c.partition)
                .bind(seq)
                .bind(entry.clone())
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
            }
            None => {
                sqlx::query("DELETE FROM jpki_revoked WHERE serial = $1")
                    .bind(c.serial.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(storage)?;
            }
        }
        if self.backend() == crate::Backend::Postgres {
            // Every server on this database hears of the change when it commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::CHANGES_CHANNEL)
                .bind(c.root.as_str())
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        Ok(true)
    }

    async fn revoked_totals(
        &self,
        root: RootKind,
        partition: Option<i64>,
    ) -> Result<RevokedTotals, JpkiError> {
        #[derive(sqlx::FromRow)]
        struct Totals {
            n: i64,
            bytes: i64,
            snapshot: i64,
        }
        // The totals are kept by triggers on jpki_revoked (migration 0012): no scan.
        let sql = match partition {
            Some(_) => {
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, \
                 CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes, \
                 (SELECT COALESCE(MAX(seq), 0) FROM jpki_status_log WHERE root = $1) AS snapshot \
                 FROM jpki_revoked_totals WHERE root = $1 AND partition = $2"
            }
            None => {
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, \
                 CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes, \
                 (SELECT COALESCE(MAX(seq), 0) FROM jpki_status_log WHERE root = $1) AS snapshot \
                 FROM jpki_revoked_totals WHERE root = $1 AND $2 = $2"
            }
        };
        let t: Totals = sqlx::query_as(sql)
            .bind(root.as_str())
            .bind(partition.unwrap_or(0))
            .fetch_one(self.pool())
            .await
            .map_err(storage)?;
        Ok(RevokedTotals {
            entries: t.n,
            bytes: t.bytes,
            snapshot_seq: t.snapshot,
        })
    }

    async fn revoked_page(
        &self,
        root: RootKind,
        partition: Option<i64>,
        after: i64,
        limit: i64,
    ) -> Result<Option<RevokedPage>, JpkiError> {
        // One row per page: the entries concatenated by the database, so that a
        // million-entry CRL costs twenty rows, not a million. The order of entries within a
        // page does not matter to a CRL, so the aggregate is not ordered (an ordered
        // aggregate makes SQLite sort every page again).
        let filter = match partition {
            Some(_) => "root = $1 AND partition = $2",
            None => "root = $1 AND $2 = $2",
        };
        let agg = match self.backend() {
            crate::Backend::Sqlite => "CAST(group_concat(entry_der, x'') AS BLOB)",
            crate::Backend::Postgres => "string_agg(entry_der, ''::bytea)",
        };
        let sql = format!(
            "SELECT MAX(seq), COUNT(*), {agg} FROM (SELECT seq, entry_der FROM jpki_revoked \
             WHERE {filter} AND seq > $3 ORDER BY seq LIMIT $4) page"
        );
        let mut conn = self.pool().acquire().await.map_err(storage)?;
        // A sequential scan gains nothing from SQLite's page cache: the pages of a CRL are
        // read through a small one, which is set back before the connection returns to the
        // pool, so that publishing a large CRL does not fill every connection's cache.
        let sqlite = self.backend() == crate::Backend::Sqlite;
        if sqlite {
            sqlx::query("PRAGMA cache_size = -1024")
                .execute(&mut *conn)
                .await
                .map_err(storage)?;
        }
        /// (last seq, entries, their DER concatenated).
        type PageRow = (Option<i64>, i64, Option<Vec<u8>>);
        let row: Result<PageRow, sqlx::Error> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(root.as_str())
            .bind(partition.unwrap_or(0))
            .bind(after)
            .bind(limit)
            .fetch_one(&mut *conn)
            .await;
        if sqlite {
            let restore = sqlx::query(sqlx::AssertSqlSafe(self.sqlite_cache_pragma()))
                .execute(&mut *conn)
                .await;
            if restore.is_err() {
                // Never hand a connection with the small cache back to the pool.
                drop(conn.detach());
            }
        }
        let row = row.map_err(storage)?;
        Ok(match row {
            (Some(last), n, Some(der)) if n > 0 => Some(RevokedPage {
                last,
                entries: n.unsigned_abs(),
                der,
            }),
            _ => None,
        })
    }

    async fn status_log_after(
        &self,
        root: RootKind,
        after_seq: i64,
        partition: Option<i64>,
    ) -> Result<Vec<LogEntry>, JpkiError> {
        let sql = match partition {
            Some(_) => {
                "SELECT seq, serial, status, at, reason FROM jpki_status_log \
                 WHERE root = $1 AND seq > $2 AND partition = $3 ORDER BY seq"
            }
            None => {
                "SELECT seq, serial, status, at, reason FROM jpki_status_log \
                 WHERE root = $1 AND seq > $2 AND $3 = $3 ORDER BY seq"
            }
        };
        let rows: Vec<(i64, String, String, i64, Option<i64>)> = sqlx::query_as(sql)
            .bind(root.as_str())
            .bind(after_seq)
            .bind(partition.unwrap_or(0))
            .fetch_all(self.pool())
            .await
            .map_err(storage)?;
        rows.into_iter()
            .map(|(seq, serial, status, at, reason)| {
                Ok(LogEntry {
                    seq,
                    serial,
                    state: CertState::parse(&status)
                        .ok_or_else(|| storage("unknown status in log"))?,
                    at: from_micros(at)?,
                    reason: reason.and_then(Reason::from_code),
                })
            })
            .collect()
    }

    async fn record_crl(&self, m: &CrlMeta) -> Result<(), JpkiError> {
        sqlx::query(
            "INSERT INTO jpki_crls (root, number, scope, partition, base_number, snapshot_seq, \
             this_update, next_update, entries, bytes, file) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(m.root.as_str())
        .bind(m.number)
        .bind(m.scope.clone())
        .bind(m.partition)
        .bind(m.base_number)
        .bind(m.snapshot_seq)
        .bind(to_micros(&m.this_update))
        .bind(to_micros(&m.next_update))
        .bind(m.entries)
        .bind(m.bytes)
        .bind(m.file.clone())
        .execute(self.pool())
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn latest_crls(&self) -> Result<Vec<CrlMeta>, JpkiError> {
        let rows: Vec<CrlRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CRL_COLUMNS} FROM jpki_crls c WHERE number = (SELECT MAX(d.number) \
             FROM jpki_crls d WHERE d.root = c.root AND d.scope = c.scope \
             AND COALESCE(d.partition, -1) = COALESCE(c.partition, -1)) \
             ORDER BY root, scope, partition"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter().map(CrlRow::into_meta).collect()
    }

    async fn latest_crl(
        &self,
        root: RootKind,
        scope: &str,
        partition: Option<i64>,
    ) -> Result<Option<CrlMeta>, JpkiError> {
        let sql = match partition {
            Some(_) => format!(
                "SELECT {CRL_COLUMNS} FROM jpki_crls WHERE root = $1 AND scope = $2 \
                 AND partition = $3 ORDER BY number DESC LIMIT 1"
            ),
            None => format!(
                "SELECT {CRL_COLUMNS} FROM jpki_crls WHERE root = $1 AND scope = $2 \
                 AND partition IS NULL AND $3 = $3 ORDER BY number DESC LIMIT 1"
            ),
        };
        let row: Option<CrlRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(root.as_str())
            .bind(scope.to_owned())
            .bind(partition.unwrap_or(0))
            .fetch_optional(self.pool())
            .await
            .map_err(storage)?;
        row.map(CrlRow::into_meta).transpose()
    }

    async fn crl_history(&self, limit: i64) -> Result<Vec<CrlMeta>, JpkiError> {
        let rows: Vec<CrlRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CRL_COLUMNS} FROM jpki_crls ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter().map(CrlRow::into_meta).collect()
    }
}

impl crate::Ca<'_> {
    /// Loads revoked entries directly (benchmarks and migrations from another CA): each is
    /// (serial hex, partition, status-log position, CRL entry DER). Existing serials are kept.
    pub async fn load_revoked_entries(
        self,
        root: RootKind,
        entries: &[(String, i64, i64, Vec<u8>)],
    ) -> Result<(), JpkiError> {
        let mut tx = self.pool().begin().await.map_err(storage)?;
        for chunk in entries.chunks(1000) {
            let sql = format!(
                "INSERT INTO jpki_revoked (serial, root, partition, seq, entry_der) VALUES {} \
                 ON CONFLICT DO NOTHING",
                crate::registry::values_placeholders(self.backend(), chunk.len(), 5)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (serial, partition, seq, der) in chunk {
                q = q
                    .bind(serial.clone())
                    .bind(root.as_str())
                    .bind(*partition)
                    .bind(*seq)
                    .bind(der.clone());
            }
            q.execute(&mut *tx).await.map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        Ok(())
    }
}
