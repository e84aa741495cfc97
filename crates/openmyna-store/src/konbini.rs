//! コンビニ交付: the municipalities taking part and their fees, their document-signing keys
//! (sealed), the certificates issued (code and PDF hash only) and the residents under
//! 支援措置.

use chrono::NaiveDate;
use openmyna_core::Timestamp;

use crate::{Result, StoreError, from_micros, to_micros};

const KEY_CONTEXT: &str = "document-signer";

/// A municipality taking part, with its fees (yen per copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KonbiniMunicipality {
    pub municipality_code: String,
    pub name: String,
    pub fee_juminhyo: i64,
    pub fee_kisai_jiko: i64,
    pub fee_inkan: i64,
    /// The municipality's own hours, minutes after midnight (Japan time), within 06:30–23:00.
    pub opens_minute: i64,
    pub closes_minute: i64,
}

#[derive(sqlx::FromRow)]
struct MunicipalityRow {
    municipality_code: String,
    name: String,
    fee_juminhyo: i64,
    fee_kisai_jiko: i64,
    fee_inkan: i64,
    opens_minute: i64,
    closes_minute: i64,
}

/// A certificate issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedRecord {
    /// The verification code printed on it.
    pub code: String,
    /// juminhyo, kisai_jiko or inkan.
    pub kind: String,
    pub resident_id: i64,
    pub municipality_code: String,
    /// SHA-256 of the PDF, hex.
    pub pdf_sha256: String,
    pub fee_yen: i64,
    pub issued_at: Timestamp,
    /// konbini (the multi-copy machine).
    pub channel: String,
}

#[derive(sqlx::FromRow)]
struct IssuedRow {
    code: String,
    kind: String,
    resident_id: i64,
    municipality_code: String,
    pdf_sha256: String,
    fee_yen: i64,
    issued_at: i64,
    channel: String,
}

impl crate::Konbini<'_> {
    pub async fn municipality(self, code: &str) -> Result<Option<KonbiniMunicipality>> {
        let row: Option<MunicipalityRow> = sqlx::query_as(
            "SELECT municipality_code, name, fee_juminhyo, fee_kisai_jiko, fee_inkan, \
             opens_minute, closes_minute FROM konbini_municipalities WHERE municipality_code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| KonbiniMunicipality {
            municipality_code: r.municipality_code,
            name: r.name,
            fee_juminhyo: r.fee_juminhyo,
            fee_kisai_jiko: r.fee_kisai_jiko,
            fee_inkan: r.fee_inkan,
            opens_minute: r.opens_minute,
            closes_minute: r.closes_minute,
        }))
    }

    /// Takes a municipality in (or changes its fees).
    pub async fn set_municipality(self, m: &KonbiniMunicipality, at: &Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO konbini_municipalities (municipality_code, name, fee_juminhyo, \
             fee_kisai_jiko, fee_inkan, updated_at, opens_minute, closes_minute) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (municipality_code) DO UPDATE SET name = excluded.name, \
             fee_juminhyo = excluded.fee_juminhyo, fee_kisai_jiko = excluded.fee_kisai_jiko, \
             fee_inkan = excluded.fee_inkan, updated_at = excluded.updated_at, \
             opens_minute = excluded.opens_minute, closes_minute = excluded.closes_minute",
        )
        .bind(&m.municipality_code)
        .bind(&m.name)
        .bind(m.fee_juminhyo)
        .bind(m.fee_kisai_jiko)
        .bind(m.fee_inkan)
        .bind(to_micros(at))
        .bind(m.opens_minute)
        .bind(m.closes_minute)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The municipality leaves the service; `false` when it was not in it.
    pub async fn remove_municipality(self, code: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM konbini_municipalities WHERE municipality_code = $1")
            .bind(code)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The municipality's document-signing key (PKCS#8) and certificate.
    pub async fn signer(self, code: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT private_key, cert_der FROM document_signers WHERE municipality_code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(sealed, cert)| Ok((self.keys().open(KEY_CONTEXT, &sealed)?, cert)))
            .transpose()
    }

    /// Stores a new signer unless one exists (two servers racing keep the first); returns the
    /// one stored.
    pub async fn insert_signer(
        self,
        code: &str,
        pkcs8: &[u8],
        cert_der: &[u8],
        at: &Timestamp,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let sealed = self.keys().seal(KEY_CONTEXT, pkcs8)?;
        sqlx::query(
            "INSERT INTO document_signers (municipality_code, private_key, cert_der, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (municipality_code) DO NOTHING",
        )
        .bind(code)
        .bind(sealed)
        .bind(cert_der)
        .bind(to_micros(at))
        .execute(self.pool())
        .await?;
        self.signer(code)
            .await?
            .ok_or_else(|| StoreError::Corrupt("document signer vanished".into()))
    }

    pub async fn insert_issued(self, r: &IssuedRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO issued_certificates (code, kind, resident_id, municipality_code, \
             pdf_sha256, fee_yen, issued_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.code)
        .bind(&r.kind)
        .bind(r.resident_id)
        .bind(&r.municipality_code)
        .bind(&r.pdf_sha256)
        .bind(r.fee_yen)
        .bind(to_micros(&r.issued_at))
        .bind(&r.channel)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn issued(self, code: &str) -> Result<Option<IssuedRecord>> {
        let row: Option<IssuedRow> = sqlx::query_as(
            "SELECT code, kind, resident_id, municipality_code, pdf_sha256, fee_yen, \
             issued_at, channel FROM issued_certificates WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(IssuedRecord {
                code: r.code,
                kind: r.kind,
                resident_id: r.resident_id,
                municipality_code: r.municipality_code,
                pdf_sha256: r.pdf_sha256,
                fee_yen: r.fee_yen,
                issued_at: from_micros(r.issued_at)?,
                channel: r.channel,
            })
        })
        .transpose()
    }

    /// How many certificates were issued to the resident (for tests and statistics).
    pub async fn issued_count(self, resident: i64) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM issued_certificates WHERE resident_id = $1")
                .bind(resident)
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }

    /// Whether the resident is under 支援措置.
    pub async fn support_measure(self, resident: i64) -> Result<Option<NaiveDate>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT since FROM resident_support_measures WHERE resident_id = $1")
                .bind(resident)
                .fetch_optional(self.pool())
                .await?;
        row.map(|(s,)| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt(format!("support measure date {s:?}")))
        })
        .transpose()
    }

    /// Places the resident under 支援措置 from `since` (or, with `None`, lifts it).
    pub async fn set_support_measure(
        self,
        resident: i64,
        since: Option<NaiveDate>,
        at: &Timestamp,
    ) -> Result<()> {
        match since {
            Some(d) => {
                sqlx::query(
                    "INSERT INTO resident_support_measures (resident_id, since, recorded_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (resident_id) DO UPDATE SET \
                     since = excluded.since, recorded_at = excluded.recorded_at",
                )
                .bind(resident)
                .bind(d.to_string())
                .bind(to_micros(at))
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM resident_support_measures WHERE resident_id = $1")
                    .bind(resident)
                    .execute(self.pool())
                    .await?;
            }
        }
        Ok(())
    }
}
