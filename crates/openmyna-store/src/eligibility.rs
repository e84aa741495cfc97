//! Storage of online eligibility verification: insurers' records and their history,
//! 利用登録, terminals, verifications, consents, medical records and 資格確認書.

use chrono::NaiveDate;
use openmyna_core::{Actor, Organisation, Timestamp};
use openmyna_eligibility::record::{Enrollment, InsuredKey};
use openmyna_eligibility::{
    AuthMethod, ConsentCategory, Disclosure, EligibilityError, EligibilityStore, MatchStatus,
    MedicalKind, QualificationCertificate, RecordChange, RecordWrite, Registration,
    RegistrationChannel, StoredRecord, Terminal, Validity, Verification, WriteOutcome,
    medical::MedicalData,
};

use crate::crypto::sha256_hex;
use crate::{Store, StoreError, from_micros, to_micros};

fn storage(e: impl std::fmt::Display) -> EligibilityError {
    EligibilityError::Storage(e.to_string())
}

impl From<StoreError> for EligibilityError {
    fn from(e: StoreError) -> Self {
        storage(e)
    }
}

fn corrupt(what: &str) -> EligibilityError {
    EligibilityError::Storage(format!("stored {what} is not valid"))
}

fn date(s: &str) -> Result<NaiveDate, EligibilityError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| corrupt("date"))
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    insurer_org_id: i64,
    resident_id: i64,
    match_status: String,
    mismatches: String,
    record_json: String,
    version: i64,
    updated_at: i64,
}

const RECORD_COLUMNS: &str =
    "id, insurer_org_id, resident_id, match_status, mismatches, record_json, version, updated_at";

impl TryFrom<RecordRow> for StoredRecord {
    type Error = EligibilityError;
    fn try_from(r: RecordRow) -> Result<Self, EligibilityError> {
        Ok(StoredRecord {
            id: r.id,
            insurer_org_id: r.insurer_org_id,
            resident_id: r.resident_id,
            status: MatchStatus::parse(&r.match_status).ok_or_else(|| corrupt("match status"))?,
            mismatches: split(&r.mismatches),
            enrollment: serde_json::from_str::<Enrollment>(&r.record_json)
                .map_err(|_| corrupt("record"))?,
            version: r.version,
            updated_at: from_micros(r.updated_at)?,
        })
    }
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(sqlx::FromRow)]
struct VerificationRow {
    id: String,
    org_id: i64,
    terminal_id: Option<i64>,
    resident_id: i64,
    at: i64,
    date_of_service: String,
    method: Option<String>,
    validity: String,
}

#[derive(sqlx::FromRow)]
struct TerminalRow {
    id: i64,
    org_id: i64,
    name: String,
    token_id: i64,
    created_at: i64,
}

impl TryFrom<TerminalRow> for Terminal {
    type Error = EligibilityError;
    fn try_from(r: TerminalRow) -> Result<Self, EligibilityError> {
        Ok(Terminal {
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            token_id: r.token_id,
            created_at: from_micros(r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    id: i64,
    record_id: i64,
    valid_from: String,
    valid_until: String,
    issued_at: i64,
}

impl TryFrom<CertificateRow> for QualificationCertificate {
    type Error = EligibilityError;
    fn try_from(r: CertificateRow) -> Result<Self, EligibilityError> {
        Ok(QualificationCertificate {
            id: r.id,
            record_id: r.record_id,
            valid_from: date(&r.valid_from)?,
            valid_until: date(&r.valid_until)?,
            issued_at: from_micros(r.issued_at)?,
        })
    }
}

impl Store {
    async fn records_where(
        &self,
        clause: &str,
        id: i64,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, EligibilityError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM insurance_records WHERE {clause} ORDER BY id LIMIT $2"
        );
        let rows: Vec<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(storage)?;
        rows.into_iter().map(StoredRecord::try_from).collect()
    }
}

impl EligibilityStore for Store {
    async fn use_challenge(
        &self,
        id: &str,
        expires_at: &openmyna_core::Timestamp,
    ) -> Result<bool, EligibilityError> {
        // SQLite serves one server (several servers share a PostgreSQL database): the server's
        // memory already took the challenge, and a durable write here would cost an fsync
        // per check.
        if self.backend() == crate::Backend::Sqlite {
            return Ok(true);
        }
        // Several servers: the first insert wins. The mark need not survive a crash (a
        // challenge lives two minutes), so the commit does not wait for the WAL flush.
        let mut tx = self.pool().begin().await.map_err(storage)?;
        sqlx::query("SET LOCAL synchronous_commit TO OFF")
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        let done = sqlx::query(
            "INSERT INTO used_challenges (id, expires_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.to_owned())
        .bind(crate::to_micros(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(done.rows_affected() == 1)
    }

    async fn organisation(&self, org_id: i64) -> Result<Option<Organisation>, EligibilityError> {
        Ok(self.auth().organisation(org_id).await?)
    }

    async fn presence_key(&self, auth_serial: &str) -> Result<Option<Vec<u8>>, EligibilityError> {
        Ok(self.cards().presence_key(auth_serial).await?)
    }

    async fn write_record(
        &self,
        w: &RecordWrite<'_>,
    ) -> Result<(i64, WriteOutcome), EligibilityError> {
        let key = &w.enrollment.key;
        let json = serde_json::to_string(w.enrollment).map_err(storage)?;
        let mismatches = w.mismatches.join(",");
        let mut tx = self.begin_write().await.map_err(storage)?;
        let current: Option<(i64, i64, String, i64, String, i64)> = sqlx::query_as(
            "SELECT id, insurer_org_id, content_sha256, version, record_json, resident_id \
             FROM insurance_records \
             WHERE insurer_number = $1 AND symbol = $2 AND number = $3 AND branch = $4",
        )
        .bind(key.insurer_number.as_str())
        .bind(key.symbol.as_str())
        .bind(key.number.as_str())
        .bind(key.branch.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage)?;
        let at = to_micros(&w.at);
        let mut moved_from = None;
        let (id, version, before, outcome) = match current {
            Some((id, org, _, _, _, _)) if org != w.insurer_org_id => {
                let _ = id;
                return Err(EligibilityError::refused(
                    "record.other_insurer",
                    "this 記号・番号・枝番 belongs to another insurer's record",
                ));
            }
            Some((id, _, hash, _, _, _)) if hash == w.content_sha256 => {
                return Ok((id, WriteOutcome::Unchanged));
            }
            Some((id, _, _, version, before, old_resident)) => {
                moved_from = (old_resident != w.resident_id).then_some(old_resident);
                sqlx::query(
                    "UPDATE insurance_records SET resident_id = $1, match_status = $2, \
                     mismatches = $3, record_json = $4, content_sha256 = $5, version = $6, \
                     updated_at = $7 WHERE id = $8",
                )
                .bind(w.resident_id)
                .bind(w.status.as_str())
                .bind(&mismatches)
                .bind(&json)
                .bind(&w.content_sha256)
                .bind(version + 1)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
                (id, version + 1, Some(before), WriteOutcome::Updated)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO insurance_records (insurer_org_id, insurer_number, symbol, number, \
                     branch, resident_id, match_status, mismatches, record_json, content_sha256, \
                     version, created_at, updated_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,1,$11,$11) RETURNING id",
                )
                .bind(w.insurer_org_id)
                .bind(key.insurer_number.as_str())
                .bind(key.symbol.as_str())
                .bind(key.number.as_str())
                .bind(key.branch.as_str())
                .bind(w.resident_id)
                .bind(w.status.as_str())
                .bind(&mismatches)
                .bind(&json)
                .bind(&w.content_sha256)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        EligibilityError::refused(
                            "record.conflict",
                            "this record was being submitted at the same time; submit it again",
                        )
                    }
                    other => storage(other),
                })?;
                (id, 1, None, WriteOutcome::Created)
            }
        };
        sqlx::query(
            "INSERT INTO insurance_record_history (record_id, version, recorded_at, recorded_by, \
             match_status, mismatches, before_json, after_json) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(id)
        .bind(version)
        .bind(at)
        .bind(&w.recorded_by)
        .bind(w.status.as_str())
        .bind(&mismatches)
        .bind(before)
        .bind(&json)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        self.cache.bump();
        self.cache.records.remove(&w.resident_id);
        if let Some(old) = moved_from {
            self.cache.records.remove(&old);
        }
        Ok((id, outcome))
    }

    async fn record_by_key(
        &self,
        key: &InsuredKey,
    ) -> Result<Option<StoredRecord>, EligibilityError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM insurance_records \
             WHERE insurer_number = $1 AND symbol = $2 AND number = $3 AND branch = $4"
        );
        let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(key.insurer_number.as_str())
            .bind(key.symbol.as_str())
            .bind(key.number.as_str())
            .bind(key.branch.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(storage)?;
        row.map(StoredRecord::try_from).transpose()
    }

    async fn records_of_resident(
        &self,
        resident_id: i64,
    ) -> Result<Vec<StoredRecord>, EligibilityError> {
        // Records change only through this store (write_record, bulk loads), which drop the
        // resident's entry.
        if let Some(r) = self.cache.records.get(&resident_id) {
            return Ok(r.as_ref().clone());
        }
        let epoch = self.cache.epoch();
        let r = self
            .records_where("resident_id = $1", resident_id, 1000)
            .await?;
        self.cache.records.put_if(
            &self.cache.epoch,
            epoch,
            resident_id,
            std::sync::Arc::new(r.clone()),
        );
        Ok(r)
    }

    async fn records_of_insurer(
        &self,
        org_id: i64,
        status: Option<MatchStatus>,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, EligibilityError> {
        match status {
            None => {
                self.records_where("insurer_org_id = $1", org_id, limit)
                    .await
            }
            Some(MatchStatus::Held) => {
                self.records_where(
                    "insurer_org_id = $1 AND match_status = 'held'",
                    org_id,
                    limit,
                )
                .await
            }
            Some(MatchStatus::Matched) => {
                self.records_where(
                    "insurer_org_id = $1 AND match_status = 'matched'",
                    org_id,
                    limit,
                )
                .await
            }
        }
    }

    async fn record_history(&self, record_id: i64) -> Result<Vec<RecordChange>, EligibilityError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            version: i64,
            recorded_at: i64,
            recorded_by: String,
            match_status: String,
            mismatches: String,
            before_json: Option<String>,
            after_json: String,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT version, recorded_at, recorded_by, match_status, mismatches, before_json, \
                 after_json FROM insurance_record_history WHERE record_id = $1 ORDER BY id",
        )
        .bind(record_id)
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|r| {
                Ok(RecordChange {
                    version: r.version,
                    recorded_at: from_micros(r.recorded_at)?,
                    recorded_by: r.recorded_by,
                    status: MatchStatus::parse(&r.match_status)
                        .ok_or_else(|| corrupt("match status"))?,
                    mismatches: split(&r.mismatches),
                    before: r
                        .before_json
                        .map(|b| serde_json::from_str(&b))
                        .transpose()
                        .map_err(|_| corrupt("history"))?,
                    after: serde_json::from_str(&r.after_json).map_err(|_| corrupt("history"))?,
                })
            })
            .collect()
    }

    async fn set_registration(&self, r: &Registration) -> Result<(), EligibilityError> {
        sqlx::query(
            "INSERT INTO insurance_registrations (resident_id, channel, registered_at, auth_serial) \
             VALUES ($1,$2,$3,$4) ON CONFLICT (resident_id) DO NOTHING",
        )
        .bind(r.resident_id)
        .bind(r.channel.code())
        .bind(to_micros(&r.registered_at))
        .bind(&r.auth_serial)
        .execute(self.pool())
        .await
        .map_err(storage)?;
        Ok(())
    }

    async fn registration(
        &self,
        resident_id: i64,
    ) -> Result<Option<Registration>, EligibilityError> {
        // A registration is never withdrawn, so a found one is cached.
        if let Some(r) = self.cache.registrations.get(&resident_id) {
            return Ok(Some(r));
        }
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT channel, registered_at, auth_serial FROM insurance_registrations \
             WHERE resident_id = $1",
        )
        .bind(resident_id)
        .fetch_optional(self.pool())
        .await
        .map_err(storage)?;
        let r = row
            .map(|(channel, at, serial)| {
                Ok::<_, EligibilityError>(Registration {
                    resident_id,
                    channel: RegistrationChannel::parse(&channel)
                        .map_err(|_| corrupt("channel"))?,
                    registered_at: from_micros(at)?,
                    auth_serial: serial,
                })
            })
            .transpose()?;
        if let Some(r) = &r {
            self.cache.registrations.put(resident_id, r.clone());
        }
        Ok(r)
    }

    async fn create_terminal(
        &self,
        org_id: i64,
        name: &str,
        at: &Timestamp,
    ) -> Result<(Terminal, String), EligibilityError> {
        let token = self
            .auth()
            .create_token(org_id, &format!("terminal: {name}"), at, None)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO oqs_terminals (org_id, name, token_id, created_at) VALUES ($1,$2,$3,$4) \
             RETURNING id",
        )
        .bind(org_id)
        .bind(name.to_owned())
        .bind(token.id)
        .bind(to_micros(at))
        .fetch_one(self.pool())
        .await
        .map_err(storage)?;
        Ok((
            Terminal {
                id,
                org_id,
                name: name.to_owned(),
                token_id: token.id,
                created_at: *at,
            },
            token.token,
        ))
    }

    async fn terminal_by_token(&self, token_id: i64) -> Result<Option<Terminal>, EligibilityError> {
        // Terminals do not change once registered.
        if let Some(t) = self.cache.terminals.get(&token_id) {
            return Ok(Some(t));
        }
        let row: Option<TerminalRow> = sqlx::query_as(
            "SELECT id, org_id, name, token_id, created_at FROM oqs_terminals WHERE token_id = $1",
        )
        .bind(token_id)
        .fetch_optional(self.pool())
        .await
        .map_err(storage)?;
        let t = row.map(Terminal::try_from).transpose()?;
        if let Some(t) = &t {
            self.cache.terminals.put(token_id, t.clone());
        }
        Ok(t)
    }

    async fn terminals(&self, org_id: i64) -> Result<Vec<Terminal>, EligibilityError> {
        let rows: Vec<TerminalRow> = sqlx::query_as(
            "SELECT id, org_id, name, token_id, created_at FROM oqs_terminals WHERE org_id = $1 \
             ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter().map(Terminal::try_from).collect()
    }

    async fn insert_verification(
        &self,
        v: &Verification,
        actor: &Actor,
        d: &Disclosure,
    ) -> Result<(), EligibilityError> {
        self.write_verification(v, actor, d).await.map_err(storage)
    }

    async fn verification(&self, id: &str) -> Result<Option<Verification>, EligibilityError> {
        let row: Option<VerificationRow> = sqlx::query_as(
            "SELECT id, org_id, terminal_id, resident_id, at, date_of_service, method, validity \
             FROM oqs_verifications WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(storage)?;
        row.map(|r| {
            Ok(Verification {
                id: r.id,
                org_id: r.org_id,
                terminal_id: r.terminal_id,
                resident_id: r.resident_id,
                at: from_micros(r.at)?,
                date_of_service: date(&r.date_of_service)?,
                method: r
                    .method
                    .map(|m| AuthMethod::parse(&m))
                    .transpose()
                    .map_err(|_| corrupt("method"))?,
                validity: Validity::parse(&r.validity).map_err(|_| corrupt("validity"))?,
            })
        })
        .transpose()
    }

    async fn insert_consents(
        &self,
        org_id: i64,
        resident_id: i64,
        categories: &[ConsentCategory],
        at: &Timestamp,
        expires_at: &Timestamp,
        verification_id: &str,
    ) -> Result<(), EligibilityError> {
        let mut tx = self.pool().begin().await.map_err(storage)?;
        for c in categories {
            sqlx::query(
                "INSERT INTO oqs_consents (org_id, resident_id, category, given_at, expires_at, \
                 verification_id) VALUES ($1,$2,$3,$4,$5,$6)",
            )
            .bind(org_id)
            .bind(resident_id)
            .bind(c.code())
            .bind(to_micros(at))
            .bind(to_micros(expires_at))
            .bind(verification_id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        self.cache.bump();
        self.cache.consents.remove(&(org_id, resident_id));
        Ok(())
    }

    async fn live_consents(
        &self,
        org_id: i64,
        resident_id: i64,
        now: &Timestamp,
    ) -> Result<Vec<(ConsentCategory, Timestamp)>, EligibilityError> {
        // The consents of a facility for a person, as (category, given, expires) in µs;
        // cached until this store records another.
        let key = (org_id, resident_id);
        let rows = match self.cache.consents.get(&key) {
            Some(r) => r,
            None => {
                let epoch = self.cache.epoch();
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT category, given_at, expires_at FROM oqs_consents \
                     WHERE org_id = $1 AND resident_id = $2 AND expires_at > $3",
                )
                .bind(org_id)
                .bind(resident_id)
                .bind(to_micros(now))
                .fetch_all(self.pool())
                .await
                .map_err(storage)?;
                let rows = std::sync::Arc::new(rows);
                self.cache
                    .consents
                    .put_if(&self.cache.epoch, epoch, key, rows.clone());
                rows
            }
        };
        let now = to_micros(now);
        let mut live: std::collections::BTreeMap<ConsentCategory, i64> = Default::default();
        for (c, given, until) in rows.iter() {
            if *given <= now && *until > now {
                let c = ConsentCategory::parse(c).map_err(|_| corrupt("consent category"))?;
                let e = live.entry(c).or_insert(*until);
                *e = (*e).max(*until);
            }
        }
        live.into_iter()
            .map(|(c, until)| Ok((c, from_micros(until)?)))
            .collect()
    }

    async fn insert_medical(
        &self,
        resident_id: i64,
        source_org_id: i64,
        data: &MedicalData,
        at: &Timestamp,
    ) -> Result<bool, EligibilityError> {
        let payload = serde_json::to_string(data).map_err(storage)?;
        let r = sqlx::query(
            "INSERT INTO medical_records (resident_id, kind, occurred_on, payload, content_sha256, \
             source_org_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) \
             ON CONFLICT (resident_id, content_sha256) DO NOTHING",
        )
        .bind(resident_id)
        .bind(data.kind().code())
        .bind(data.date().to_string())
        .bind(&payload)
        .bind(sha256_hex(payload.as_bytes()))
        .bind(source_org_id)
        .bind(to_micros(at))
        .execute(self.pool())
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() == 1)
    }

    async fn medical(
        &self,
        resident_id: i64,
        kind: MedicalKind,
        since: NaiveDate,
    ) -> Result<Vec<MedicalData>, EligibilityError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT payload FROM medical_records WHERE resident_id = $1 AND kind = $2 \
             AND occurred_on >= $3 ORDER BY occurred_on DESC, id DESC LIMIT 5000",
        )
        .bind(resident_id)
        .bind(kind.code())
        .bind(since.to_string())
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(|(p,)| serde_json::from_str(&p).map_err(|_| corrupt("medical record")))
            .collect()
    }

    async fn insert_certificate(
        &self,
        record_id: i64,
        valid_from: NaiveDate,
        valid_until: NaiveDate,
        at: &Timestamp,
    ) -> Result<QualificationCertificate, EligibilityError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO qualification_certificates (record_id, valid_from, valid_until, issued_at) \
             VALUES ($1,$2,$3,$4) RETURNING id",
        )
        .bind(record_id)
        .bind(valid_from.to_string())
        .bind(valid_until.to_string())
        .bind(to_micros(at))
        .fetch_one(self.pool())
        .await
        .map_err(storage)?;
        Ok(QualificationCertificate {
            id,
            record_id,
            valid_from,
            valid_until,
            issued_at: *at,
        })
    }

    async fn certificates_of_record(
        &self,
        record_id: i64,
    ) -> Result<Vec<QualificationCertificate>, EligibilityError> {
        let rows: Vec<CertificateRow> = sqlx::query_as(
            "SELECT id, record_id, valid_from, valid_until, issued_at FROM \
             qualification_certificates WHERE record_id = $1 ORDER BY id",
        )
        .bind(record_id)
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.into_iter()
            .map(QualificationCertificate::try_from)
            .collect()
    }

    async fn record_disclosure(
        &self,
        resident_id: i64,
        actor: &Actor,
        at: &Timestamp,
        d: &Disclosure,
    ) -> Result<(), EligibilityError> {
        self.access()
            .record_access(resident_id, actor, at, &d.category, &d.purpose, &d.detail)
            .await
            .map_err(storage)
    }
}

/// A record for [`Store::insert_enrollments_bulk`].
pub struct BulkEnrollment {
    pub resident_id: i64,
    pub insurer_org_id: i64,
    pub enrollment: Enrollment,
}

impl crate::Eligibility<'_> {
    /// Inserts many matched records at once (demo population, benchmarks, migrations from an
    /// insurer's system), each with its first history row; keys already present are skipped.
    /// Returns how many were inserted.
    pub async fn insert_enrollments_bulk(
        self,
        rows: &[BulkEnrollment],
        at: &Timestamp,
        recorded_by: &str,
    ) -> Result<u64, StoreError> {
        let at = to_micros(at);
        let mut inserted = 0u64;
        let mut tx = self.pool().begin().await?;
        for chunk in rows.chunks(500) {
            let mut jsons = Vec::with_capacity(chunk.len());
            for r in chunk {
                jsons.push(
                    serde_json::to_string(&r.enrollment)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
            }
            let sql = format!(
                "INSERT INTO insurance_records (insurer_org_id, insurer_number, symbol, number, \
                 branch, resident_id, match_status, mismatches, record_json, content_sha256, \
                 version, created_at, updated_at) VALUES {} \
                 ON CONFLICT (insurer_number, symbol, number, branch) DO NOTHING RETURNING id",
                crate::registry::values_placeholders(self.backend(), chunk.len(), 13)
            );
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
            for (r, json) in chunk.iter().zip(&jsons) {
                let k = &r.enrollment.key;
                q = q
                    .bind(r.insurer_org_id)
                    .bind(k.insurer_number.as_str().to_owned())
                    .bind(k.symbol.as_str().to_owned())
                    .bind(k.number.as_str().to_owned())
                    .bind(k.branch.as_str().to_owned())
                    .bind(r.resident_id)
                    .bind("matched")
                    .bind("")
                    .bind(json.clone())
                    .bind(
                        openmyna_eligibility::content_sha256(
                            &r.enrollment,
                            MatchStatus::Matched,
                            r.resident_id,
                        )
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )
                    .bind(1i64)
                    .bind(at)
                    .bind(at);
            }
            let ids = q.fetch_all(&mut *tx).await?;
            inserted += ids.len() as u64;
            if ids.is_empty() {
                continue;
            }
            let sql = format!(
                "INSERT INTO insurance_record_history (record_id, version, recorded_at, \
                 recorded_by, match_status, mismatches, after_json) \
                 SELECT id, 1, $1, $2, 'matched', '', record_json FROM insurance_records \
                 WHERE id IN ({})",
                (0..ids.len())
                    .map(|i| format!("${}", i + 3))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(at)
                .bind(recorded_by.to_owned());
            for id in ids {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.cache.bump();
        self.cache.records.clear();
        Ok(inserted)
    }

    /// Inserts many medical records at once (duplicates by content are skipped).
    pub async fn insert_medical_bulk(
        self,
        rows: &[(i64, i64, MedicalData)],
        at: &Timestamp,
    ) -> Result<(), StoreError> {
        let at = to_micros(at);
        let mut tx = self.pool().begin().await?;
        for chunk in rows.chunks(1000) {
            let sql = format!(
                "INSERT INTO medical_records (resident_id, kind, occurred_on, payload, \
                 content_sha256, source_org_id, created_at) VALUES {} \
                 ON CONFLICT (resident_id, content_sha256) DO NOTHING",
                crate::registry::values_placeholders(self.backend(), chunk.len(), 7)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (resident, org, data) in chunk {
                let payload =
                    serde_json::to_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let sha = sha256_hex(payload.as_bytes());
                q = q
                    .bind(*resident)
                    .bind(data.kind().code())
                    .bind(data.date().to_string())
                    .bind(payload)
                    .bind(sha)
                    .bind(*org)
                    .bind(at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A facility's consent as the resident sees it in the portal.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FacilityConsent {
    pub org_id: i64,
    pub facility: String,
    pub category: String,
    pub given_at: Timestamp,
    pub expires_at: Timestamp,
}

impl crate::Eligibility<'_> {
    /// The consents a resident gave facilities that are still open at `now`.
    pub async fn facility_consents_of_resident(
        self,
        resident_id: i64,
        now: &Timestamp,
    ) -> Result<Vec<FacilityConsent>, StoreError> {
        let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT c.org_id, o.name, c.category, c.given_at, c.expires_at FROM oqs_consents c \
             JOIN organisations o ON o.id = c.org_id \
             WHERE c.resident_id = $1 AND c.expires_at > $2 ORDER BY c.given_at DESC",
        )
        .bind(resident_id)
        .bind(to_micros(now))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(org_id, facility, category, given, expires)| {
                Ok(FacilityConsent {
                    org_id,
                    facility,
                    category,
                    given_at: from_micros(given)?,
                    expires_at: from_micros(expires)?,
                })
            })
            .collect()
    }

    /// Ends, at `now`, the resident's open consents to one facility. Returns how many.
    pub async fn withdraw_facility_consents(
        self,
        resident_id: i64,
        org_id: i64,
        now: &Timestamp,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE oqs_consents SET expires_at = $1 WHERE resident_id = $2 AND org_id = $3 \
             AND expires_at > $1",
        )
        .bind(to_micros(now))
        .bind(resident_id)
        .bind(org_id)
        .execute(self.pool())
        .await?;
        self.cache.bump();
        self.cache.consents.remove(&(org_id, resident_id));
        Ok(r.rows_affected())
    }
}
