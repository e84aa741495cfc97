//! 世帯 and 本籍 use cases: founding and joining households with a 続柄, reading a household
//! (each member's disclosure in their access log), and each resident's 本籍・筆頭者.

use chrono::NaiveDate;
use openmyna_core::{Actor, Refusal};
use openmyna_registry::household::{Domicile, HouseholdId, Relationship};
use openmyna_registry::{Resident, ResidentId};
use openmyna_store::households::{Member, Membership, Placed, Recorded, Target};

use crate::{Result, Services};

/// When and why a change is recorded, as the municipality states it.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Default: today; not in the future.
    pub effective_date: Option<NaiveDate>,
    pub reason: Option<String>,
}

/// A household member as the registry shows them.
#[derive(Debug, Clone)]
pub struct HouseholdMember {
    pub resident: Resident,
    pub relationship: String,
    pub since: NaiveDate,
}

fn recorded_by(actor: &Actor) -> String {
    format!("{} ({}, org {})", actor.org_name, actor.role, actor.org_id)
}

fn checked(s: &Services, c: &Change) -> Result<(NaiveDate, Option<String>)> {
    let today = s.clock.today();
    let effective = c.effective_date.unwrap_or(today);
    if effective > today {
        return Err(Refusal::invalid(
            "effective_date.future",
            "the effective date is in the future; record a change once it has happened",
        )
        .with_field("effective_date")
        .into());
    }
    let reason = c
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if let Some(r) = &reason
        && (r.chars().count() > 500 || r.chars().any(char::is_control))
    {
        return Err(Refusal::invalid(
            "reason.length",
            "the reason has at most 500 characters and no control characters",
        )
        .with_field("reason")
        .into());
    }
    Ok((effective, reason))
}

async fn place(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    target: Target,
    relationship: &str,
    change: &Change,
) -> Result<HouseholdId> {
    let (effective, reason) = checked(s, change)?;
    // The resident's record must be open.
    s.active_resident(resident.0).await?;
    let now = s.clock.now();
    let by = recorded_by(actor);
    let placed = s
        .store
        .households()
        .place(
            resident.0,
            target,
            relationship,
            &Recorded {
                at: &now,
                effective,
                by: &by,
                reason: reason.as_deref(),
            },
        )
        .await?;
    match placed {
        Placed::In(h) => Ok(HouseholdId(h)),
        Placed::IsHead(h) => Err(Refusal::refused(
            "household.head",
            format!(
                "the resident is the head (世帯主) of household {h}, which has other members: change its head first"
            ),
        )
        .into()),
        Placed::NoSuchHousehold => Err(Refusal::not_found(
            "household.not_found",
            "no household has that id",
        )
        .into()),
    }
}

/// A new household with `head` as its 世帯主 (世帯の新設, 世帯分離): the head leaves the
/// household they were in.
pub async fn found(
    s: &Services,
    actor: &Actor,
    head: ResidentId,
    change: &Change,
) -> Result<HouseholdId> {
    place(s, actor, head, Target::NewHousehold, "", change).await
}

/// `resident` joins `household` with `relationship` to its head (or takes a new 続柄 in it).
pub async fn join(
    s: &Services,
    actor: &Actor,
    household: HouseholdId,
    resident: ResidentId,
    relationship: &str,
    change: &Change,
) -> Result<HouseholdId> {
    let relationship = Relationship::parse(relationship)?;
    place(
        s,
        actor,
        resident,
        Target::Join(household.0),
        relationship.as_str(),
        change,
    )
    .await
}

/// The household's members, head first, each one's reading recorded in their access log.
pub async fn household(
    s: &Services,
    actor: &Actor,
    household: HouseholdId,
    purpose: &str,
) -> Result<Vec<HouseholdMember>> {
    let Some((_, members)) = s.store.households().members(household.0).await? else {
        return Err(Refusal::not_found("household.not_found", "no household has that id").into());
    };
    let mut out = Vec::with_capacity(members.len());
    for Member {
        resident_id,
        relationship,
        since,
    } in members
    {
        let resident = s.registry().get(ResidentId(resident_id)).await?;
        out.push(HouseholdMember {
            resident,
            relationship,
            since,
        });
    }
    let now = s.clock.now();
    for m in &out {
        s.store
            .access()
            .record_access(
                m.resident.id.0,
                actor,
                &now,
                "registry.household",
                purpose,
                &format!("household {} read", household.0),
            )
            .await?;
    }
    Ok(out)
}

/// The resident's household and 続柄 (recorded in their access log), if any.
pub async fn membership(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    purpose: &str,
) -> Result<Option<Membership>> {
    s.registry().get(resident).await?;
    let m = s.store.households().membership(resident.0).await?;
    if m.is_some() {
        s.store
            .access()
            .record_access(
                resident.0,
                actor,
                &s.clock.now(),
                "registry.household",
                purpose,
                "household membership read",
            )
            .await?;
    }
    Ok(m)
}

/// Records the resident's 本籍・筆頭者.
pub async fn set_domicile(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    honseki: &str,
    hittosha: &str,
    change: &Change,
) -> Result<Domicile> {
    let d = Domicile::parse(honseki, hittosha)?;
    let (effective, reason) = checked(s, change)?;
    s.active_resident(resident.0).await?;
    let now = s.clock.now();
    let by = recorded_by(actor);
    s.store
        .households()
        .set_domicile(
            resident.0,
            &d,
            &Recorded {
                at: &now,
                effective,
                by: &by,
                reason: reason.as_deref(),
            },
        )
        .await?;
    Ok(d)
}

/// The resident's 本籍・筆頭者 (recorded in their access log).
pub async fn domicile(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    purpose: &str,
) -> Result<Domicile> {
    s.registry().get(resident).await?;
    let Some(d) = s.store.households().domicile(resident.0).await? else {
        return Err(Refusal::not_found(
            "domicile.not_recorded",
            "no 本籍 is recorded for this resident",
        )
        .into());
    };
    s.store
        .access()
        .record_access(
            resident.0,
            actor,
            &s.clock.now(),
            "registry.domicile",
            purpose,
            "本籍・筆頭者 read",
        )
        .await?;
    Ok(d)
}
