//! Storage of the verification platform's checks (`platform_checks`): each check and, when
//! it has a holder, the holder's access-log entry, in one transaction.

use openmyna_core::{Actor, Timestamp};
use openmyna_platform::{
    ACCESS_CATEGORY, Check, NewCheck, PlatformError, PlatformStore, StoredCheck,
};

use crate::access_log::{NewAccess, append, is_fork};
use crate::{Store, StoreError, to_micros};

fn storage(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Storage(e.to_string())
}

fn verdict(json: &str) -> Result<Check, PlatformError> {
    serde_json::from_str(json).map_err(|e| storage(format!("a stored check is unreadable: {e}")))
}

impl Store {
    async fn insert_check_once(&self, c: &NewCheck, actor: &Actor) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO platform_checks (rp_org_id, resident_id, cert_serial, result, \
             checked_at, keep_until, recheck_of, certificate, verdict) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(c.check.relying_party)
        .bind(c.resident_id)
        .bind(&c.check.certificate.serial)
        .bind(if c.check.error.is_none() {
            "verified"
        } else {
            "refused"
        })
        .bind(to_micros(&c.check.checked_at))
        .bind(to_micros(&c.check.keep_until))
        .bind(c.check.recheck_of)
        .bind(&c.certificate_der)
        .bind("")
        .fetch_one(&mut *tx)
        .await?;
        // The verdict is stored with its id, as answered.
        let mut stored = c.check.clone();
        stored.id = id;
        let json =
            serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE platform_checks SET verdict = $1 WHERE id = $2")
            .bind(json)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(resident_id) = c.resident_id {
            append(
                &mut tx,
                self.backend(),
                &[NewAccess {
                    resident_id,
                    actor,
                    at: &c.check.checked_at,
                    category: ACCESS_CATEGORY,
                    purpose: &c.check.purpose,
                    detail: &format!("{} (確認記録 {id})", c.access_detail),
                }],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }
}

impl PlatformStore for Store {
    async fn insert_check(&self, c: &NewCheck, actor: &Actor) -> Result<i64, PlatformError> {
        let mut attempt = 0;
        loop {
            match self.insert_check_once(c, actor).await {
                Err(e) if is_fork(&e) && attempt < 5 => attempt += 1,
                other => return other.map_err(storage),
            }
        }
    }

    async fn check(&self, id: i64) -> Result<Option<StoredCheck>, PlatformError> {
        let row: Option<(Option<i64>, Vec<u8>, String)> = sqlx::query_as(
            "SELECT resident_id, certificate, verdict FROM platform_checks WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(storage)?;
        row.map(|(resident_id, certificate_der, json)| {
            Ok(StoredCheck {
                check: verdict(&json)?,
                resident_id,
                certificate_der,
            })
        })
        .transpose()
    }

    async fn checks_of(&self, relying_party: i64, limit: i64) -> Result<Vec<Check>, PlatformError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT verdict FROM platform_checks WHERE rp_org_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(relying_party)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(storage)?;
        rows.iter().map(|(j,)| verdict(j)).collect()
    }

    async fn sweep_checks(&self, now: &Timestamp) -> Result<u64, PlatformError> {
        let r = sqlx::query("DELETE FROM platform_checks WHERE keep_until < $1")
            .bind(to_micros(now))
            .execute(self.pool())
            .await
            .map_err(storage)?;
        Ok(r.rows_affected())
    }
}
