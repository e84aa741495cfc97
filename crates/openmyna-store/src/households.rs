//! 世帯, 本籍, 旧氏 and the seal registry (openmyna_registry::household): memberships with
//! their 続柄, each resident's registered domicile and former surname, and seal registrations.
//! Every change is written with the resident's history entry and the registry event in one
//! transaction.

use chrono::NaiveDate;
use openmyna_core::Timestamp;
use openmyna_registry::household::{Domicile, FormerName, HEAD};
use openmyna_registry::{ChangeKind, HistoryEntry, RegistryEvent, ResidentId};
use serde_json::json;

use crate::{Result, Store, StoreError, to_micros};

/// A resident's place in a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub household_id: i64,
    /// 続柄 as printed (世帯主 for the head).
    pub relationship: String,
    pub since: NaiveDate,
}

/// One member of a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub resident_id: i64,
    pub relationship: String,
    pub since: NaiveDate,
}

/// Who recorded a change, when, with what effect date and why.
#[derive(Debug, Clone)]
pub struct Recorded<'a> {
    pub at: &'a Timestamp,
    pub effective: NaiveDate,
    pub by: &'a str,
    pub reason: Option<&'a str>,
}

/// Where a resident is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A new household, with the resident as its head.
    NewHousehold,
    /// An existing household, as a member with a 続柄.
    Join(i64),
}

/// The outcome of [`crate::Households::place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// In that household now.
    In(i64),
    /// The resident heads this household and cannot leave it while it has other members, nor
    /// become one of its members.
    IsHead(i64),
    /// No household has that id.
    NoSuchHousehold,
}

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("household date {s:?}")))
}

fn history(
    resident: i64,
    kind: ChangeKind,
    before: serde_json::Value,
    after: serde_json::Value,
    r: &Recorded<'_>,
) -> (HistoryEntry, RegistryEvent) {
    history_changing(resident, kind, before, after, r, Vec::new())
}

fn history_changing(
    resident: i64,
    kind: ChangeKind,
    before: serde_json::Value,
    after: serde_json::Value,
    r: &Recorded<'_>,
    changed: Vec<String>,
) -> (HistoryEntry, RegistryEvent) {
    (
        HistoryEntry {
            resident_id: ResidentId(resident),
            kind,
            before,
            after,
            effective_date: r.effective,
            recorded_at: *r.at,
            recorded_by: r.by.to_owned(),
            reason: r.reason.map(str::to_owned),
        },
        RegistryEvent {
            kind,
            resident_id: ResidentId(resident),
            occurred_at: *r.at,
            effective_date: r.effective,
            changed,
        },
    )
}

impl crate::Households<'_> {
    /// The resident's household and 続柄, if any.
    pub async fn membership(self, resident: i64) -> Result<Option<Membership>> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT household_id, relationship, since FROM household_members WHERE resident_id = $1",
        )
        .bind(resident)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(household_id, relationship, since)| {
            Ok(Membership {
                household_id,
                relationship,
                since: date(&since)?,
            })
        })
        .transpose()
    }

    /// A household's head and members (the head first, then by the date they joined), or
    /// `None` when there is no such household.
    pub async fn members(self, household: i64) -> Result<Option<(i64, Vec<Member>)>> {
        let head: Option<(i64,)> =
            sqlx::query_as("SELECT head_resident_id FROM households WHERE id = $1")
                .bind(household)
                .fetch_optional(self.pool())
                .await?;
        let Some((head,)) = head else {
            return Ok(None);
        };
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT resident_id, relationship, since FROM household_members \
             WHERE household_id = $1 ORDER BY since, resident_id",
        )
        .bind(household)
        .fetch_all(self.pool())
        .await?;
        let mut members = rows
            .into_iter()
            .map(|(resident_id, relationship, since)| {
                Ok(Member {
                    resident_id,
                    relationship,
                    since: date(&since)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        members.sort_by_key(|m| m.resident_id != head);
        Ok(Some((head, members)))
    }

    /// Places `resident` in a new household as its head, or in an existing one with
    /// `relationship`, leaving the household they were in (an emptied household is closed).
    /// A head whose household has other members stays where they are ([`Placed::IsHead`]).
    pub async fn place(
        self,
        resident: i64,
        target: Target,
        relationship: &str,
        r: &Recorded<'_>,
    ) -> Result<Placed> {
        let mut tx = self.begin_write().await?;
        self.lock_outbox(&mut tx).await?;
        let current: Option<(i64, String)> = sqlx::query_as(
            "SELECT household_id, relationship FROM household_members WHERE resident_id = $1",
        )
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
        if let Target::Join(h) = target {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM households WHERE id = $1")
                .bind(h)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Ok(Placed::NoSuchHousehold);
            }
        }
        if let Some((old, _)) = &current {
            let (others,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM household_members WHERE household_id = $1 AND resident_id <> $2",
            )
            .bind(*old)
            .bind(resident)
            .fetch_one(&mut *tx)
            .await?;
            let (head,): (i64,) =
                sqlx::query_as("SELECT head_resident_id FROM households WHERE id = $1")
                    .bind(*old)
                    .fetch_one(&mut *tx)
                    .await?;
            if head == resident && (others > 0 || target == Target::Join(*old)) {
                return Ok(Placed::IsHead(*old));
            }
            sqlx::query("DELETE FROM household_members WHERE resident_id = $1")
                .bind(resident)
                .execute(&mut *tx)
                .await?;
            if others == 0 {
                sqlx::query("DELETE FROM households WHERE id = $1")
                    .bind(*old)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let (household, relationship) = match target {
            Target::NewHousehold => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO households (head_resident_id, created_at) VALUES ($1, $2) \
                     RETURNING id",
                )
                .bind(resident)
                .bind(to_micros(r.at))
                .fetch_one(&mut *tx)
                .await?;
                (id, HEAD)
            }
            Target::Join(h) => (h, relationship),
        };
        sqlx::query(
            "INSERT INTO household_members (resident_id, household_id, relationship, since) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(resident)
        .bind(household)
        .bind(relationship)
        .bind(r.effective.to_string())
        .execute(&mut *tx)
        .await?;
        let before = match &current {
            Some((h, rel)) => json!({"household_id": h, "relationship": rel}),
            None => serde_json::Value::Null,
        };
        let after = json!({"household_id": household, "relationship": relationship});
        let (h, e) = history(resident, ChangeKind::HouseholdChanged, before, after, r);
        Store::insert_history(&mut tx, &h).await?;
        Store::insert_event(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(Placed::In(household))
    }

    /// 世帯主変更: `new_head` (a member) heads the household; every other member's 続柄 to
    /// the new head is restated in `relationships` (the old head's included). `false` when the
    /// household does not exist, `new_head` is not in it, or a member is missing from
    /// `relationships` (or one not in it is named).
    pub async fn change_head(
        self,
        household: i64,
        new_head: i64,
        relationships: &[(i64, String)],
        r: &Recorded<'_>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        self.lock_outbox(&mut tx).await?;
        let members: Vec<(i64, String)> = sqlx::query_as(
            "SELECT resident_id, relationship FROM household_members WHERE household_id = $1",
        )
        .bind(household)
        .fetch_all(&mut *tx)
        .await?;
        let others: Vec<i64> = members
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| *id != new_head)
            .collect();
        let mut named: Vec<i64> = relationships.iter().map(|(id, _)| *id).collect();
        named.sort_unstable();
        named.dedup();
        let mut expected = others.clone();
        expected.sort_unstable();
        if !members.iter().any(|(id, _)| *id == new_head) || named != expected {
            return Ok(false);
        }
        sqlx::query("UPDATE households SET head_resident_id = $1 WHERE id = $2")
            .bind(new_head)
            .bind(household)
            .execute(&mut *tx)
            .await?;
        let mut changes: Vec<(i64, &str)> = vec![(new_head, HEAD)];
        changes.extend(relationships.iter().map(|(id, rel)| (*id, rel.as_str())));
        for (resident, relationship) in changes {
            let before = members
                .iter()
                .find(|(id, _)| *id == resident)
                .map(|(_, rel)| rel.clone())
                .unwrap_or_default();
            sqlx::query("UPDATE household_members SET relationship = $1 WHERE resident_id = $2")
                .bind(relationship)
                .bind(resident)
                .execute(&mut *tx)
                .await?;
            let (h, e) = history(
                resident,
                ChangeKind::HouseholdChanged,
                json!({"household_id": household, "relationship": before}),
                json!({"household_id": household, "relationship": relationship}),
                r,
            );
            Store::insert_history(&mut tx, &h).await?;
            Store::insert_event(&mut tx, &e).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The resident's 本籍・筆頭者, if recorded.
    pub async fn domicile(self, resident: i64) -> Result<Option<Domicile>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT honseki, hittosha FROM resident_domiciles WHERE resident_id = $1",
        )
        .bind(resident)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(honseki, hittosha)| Domicile { honseki, hittosha }))
    }

    /// Records the resident's 本籍・筆頭者, with the history entry and the event.
    pub async fn set_domicile(self, resident: i64, d: &Domicile, r: &Recorded<'_>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_outbox(&mut tx).await?;
        let before: Option<(String, String)> = sqlx::query_as(
            "SELECT honseki, hittosha FROM resident_domiciles WHERE resident_id = $1",
        )
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO resident_domiciles (resident_id, honseki, hittosha, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (resident_id) DO UPDATE SET \
             honseki = excluded.honseki, hittosha = excluded.hittosha, updated_at = excluded.updated_at",
        )
        .bind(resident)
        .bind(&d.honseki)
        .bind(&d.hittosha)
        .bind(to_micros(r.at))
        .execute(&mut *tx)
        .await?;
        let before = match before {
            Some((honseki, hittosha)) => json!({"honseki": honseki, "hittosha": hittosha}),
            None => serde_json::Value::Null,
        };
        let after = json!({"honseki": d.honseki, "hittosha": d.hittosha});
        let (h, e) = history(resident, ChangeKind::DomicileChanged, before, after, r);
        Store::insert_history(&mut tx, &h).await?;
        Store::insert_event(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A seal registration (印鑑登録).
#[derive(Clone, PartialEq, Eq)]
pub struct InkanRecord {
    pub resident_id: i64,
    /// 印鑑登録番号, on the 印鑑登録証.
    pub number: String,
    pub image: Vec<u8>,
    pub media_type: String,
    pub registered_on: NaiveDate,
    pub abolished_on: Option<NaiveDate>,
}

impl std::fmt::Debug for InkanRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InkanRecord")
            .field("resident_id", &self.resident_id)
            .field("registered_on", &self.registered_on)
            .field("abolished_on", &self.abolished_on)
            .finish_non_exhaustive()
    }
}

impl crate::Households<'_> {
    /// The resident's 旧氏, if recorded.
    pub async fn former_name(self, resident: i64) -> Result<Option<FormerName>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT kyuushi, kyuushi_kana FROM resident_former_names WHERE resident_id = $1",
        )
        .bind(resident)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(kyuushi, kyuushi_kana)| FormerName {
            kyuushi,
            kyuushi_kana,
        }))
    }

    /// Records (or, with `None`, removes) the resident's 旧氏. The name as printed changes:
    /// the event names `name` (the signing certificate, which carries the name, is revoked).
    pub async fn set_former_name(
        self,
        resident: i64,
        f: Option<&FormerName>,
        r: &Recorded<'_>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_outbox(&mut tx).await?;
        let before: Option<(String, String)> = sqlx::query_as(
            "SELECT kyuushi, kyuushi_kana FROM resident_former_names WHERE resident_id = $1",
        )
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
        match f {
            Some(f) => {
                sqlx::query(
                    "INSERT INTO resident_former_names (resident_id, kyuushi, kyuushi_kana, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (resident_id) DO UPDATE SET \
                     kyuushi = excluded.kyuushi, kyuushi_kana = excluded.kyuushi_kana, \
                     updated_at = excluded.updated_at",
                )
                .bind(resident)
                .bind(&f.kyuushi)
                .bind(&f.kyuushi_kana)
                .bind(to_micros(r.at))
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM resident_former_names WHERE resident_id = $1")
                    .bind(resident)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let before = match before {
            Some((k, kana)) => json!({"kyuushi": k, "kyuushi_kana": kana}),
            None => serde_json::Value::Null,
        };
        let after = match f {
            Some(f) => json!({"kyuushi": f.kyuushi, "kyuushi_kana": f.kyuushi_kana}),
            None => serde_json::Value::Null,
        };
        let (h, e) = history_changing(
            resident,
            ChangeKind::FormerNameChanged,
            before,
            after,
            r,
            vec!["name".to_owned()],
        );
        Store::insert_history(&mut tx, &h).await?;
        Store::insert_event(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The resident's seal registration in force, if any.
    pub async fn inkan(self, resident: i64) -> Result<Option<InkanRecord>> {
        let row: Option<(String, Vec<u8>, String, String)> = sqlx::query_as(
            "SELECT number, image, media_type, registered_on FROM inkan_registrations \
             WHERE resident_id = $1 AND abolished_at IS NULL",
        )
        .bind(resident)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(number, image, media_type, registered_on)| {
            Ok(InkanRecord {
                resident_id: resident,
                number,
                image,
                media_type,
                registered_on: date(&registered_on)?,
                abolished_on: None,
            })
        })
        .transpose()
    }

    /// Registers a seal; `false` when the resident has one in force already.
    pub async fn register_inkan(
        self,
        resident: i64,
        number: &str,
        image: &[u8],
        media_type: &str,
        r: &Recorded<'_>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        self.lock_outbox(&mut tx).await?;
        let current: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM inkan_registrations WHERE resident_id = $1 AND abolished_at IS NULL",
        )
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
        if current.is_some() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO inkan_registrations (resident_id, number, image, media_type, \
             registered_on, registered_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(resident)
        .bind(number)
        .bind(image)
        .bind(media_type)
        .bind(r.effective.to_string())
        .bind(to_micros(r.at))
        .execute(&mut *tx)
        .await?;
        // The history keeps the number, not the impression.
        let (h, e) = history(
            resident,
            ChangeKind::InkanRegistered,
            serde_json::Value::Null,
            json!({"number": number}),
            r,
        );
        Store::insert_history(&mut tx, &h).await?;
        Store::insert_event(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Abolishes the resident's seal registration in force; `false` when there is none.
    pub async fn abolish_inkan(self, resident: i64, r: &Recorded<'_>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        self.lock_outbox(&mut tx).await?;
        let current: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, number FROM inkan_registrations \
             WHERE resident_id = $1 AND abolished_at IS NULL",
        )
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, number)) = current else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE inkan_registrations SET abolished_on = $1, abolished_at = $2, \
             abolition_reason = $3 WHERE id = $4",
        )
        .bind(r.effective.to_string())
        .bind(to_micros(r.at))
        .bind(r.reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let (h, e) = history(
            resident,
            ChangeKind::InkanAbolished,
            json!({"number": number}),
            serde_json::Value::Null,
            r,
        );
        Store::insert_history(&mut tx, &h).await?;
        Store::insert_event(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(true)
    }
}
