//! 世帯, 本籍, 旧氏 and 印鑑登録 use cases: founding and joining households with a 続柄,
//! reading a household (each member's disclosure in their access log), each resident's
//! 本籍・筆頭者 and 旧氏, and the seal registry.

use chrono::NaiveDate;
use openmyna_core::{Actor, Refusal};
use openmyna_registry::household::{
    Domicile, FormerName, HouseholdId, InkanImage, Relationship, may_register_inkan,
};
use openmyna_registry::{Resident, ResidentId};
use openmyna_store::households::{InkanRecord, Member, Membership, Placed, Recorded, Target};

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

/// A change validated and stamped: when, by whom, with what effect date and why.
struct Stamp {
    at: openmyna_core::Timestamp,
    by: String,
    effective: NaiveDate,
    reason: Option<String>,
}

impl Stamp {
    fn new(s: &Services, actor: &Actor, change: &Change) -> Result<Stamp> {
        let (effective, reason) = checked(s, change)?;
        Ok(Stamp {
            at: s.clock.now(),
            by: openmyna_registry::recorded_by(actor),
            effective,
            reason,
        })
    }

    fn recorded(&self) -> Recorded<'_> {
        Recorded {
            at: &self.at,
            effective: self.effective,
            by: &self.by,
            reason: self.reason.as_deref(),
        }
    }
}

async fn place(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    target: Target,
    relationship: &str,
    change: &Change,
) -> Result<HouseholdId> {
    let stamp = Stamp::new(s, actor, change)?;
    // The resident's record must be open.
    s.active_resident(resident.0).await?;
    let placed = s
        .store
        .households()
        .place(resident.0, target, relationship, &stamp.recorded())
        .await?;
    match placed {
        Placed::In(h) => Ok(HouseholdId(h)),
        Placed::IsHead(h) => Err(Refusal::refused(
            "household.head",
            format!(
                "the resident is the head (世帯主) of household {h}, which has other members: change its head first (POST /api/v1/registry/households/{h}/head)"
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

/// 世帯主変更: a member becomes the head; every other member's 続柄 to the new head is
/// restated (the old head's included).
pub async fn change_head(
    s: &Services,
    actor: &Actor,
    household: HouseholdId,
    new_head: ResidentId,
    relationships: &[(ResidentId, String)],
    change: &Change,
) -> Result<()> {
    let mut parsed = Vec::with_capacity(relationships.len());
    for (id, rel) in relationships {
        parsed.push((id.0, Relationship::parse(rel)?.as_str().to_owned()));
    }
    if s.store.households().members(household.0).await?.is_none() {
        return Err(Refusal::not_found("household.not_found", "no household has that id").into());
    }
    s.active_resident(new_head.0).await?;
    let stamp = Stamp::new(s, actor, change)?;
    let done = s
        .store
        .households()
        .change_head(household.0, new_head.0, &parsed, &stamp.recorded())
        .await?;
    if !done {
        return Err(Refusal::invalid(
            "relationships.members",
            "the new head is a member of the household, and every other member (the old head included) is given a 続柄 to the new head, once",
        )
        .with_field("relationships")
        .into());
    }
    Ok(())
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
    let stamp = Stamp::new(s, actor, change)?;
    s.active_resident(resident.0).await?;
    s.store
        .households()
        .set_domicile(resident.0, &d, &stamp.recorded())
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

/// Records (or, with `None`, removes) the resident's 旧氏. The name as printed changes, so
/// the registry event names `name` and the signing certificate is revoked by the JPKI's
/// subscriber, as for a change of name.
pub async fn set_former_name(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    former: Option<(&str, &str)>,
    change: &Change,
) -> Result<Option<FormerName>> {
    let f = former
        .map(|(k, kana)| FormerName::parse(k, kana))
        .transpose()?;
    s.active_resident(resident.0).await?;
    let stamp = Stamp::new(s, actor, change)?;
    s.store
        .households()
        .set_former_name(resident.0, f.as_ref(), &stamp.recorded())
        .await?;
    Ok(f)
}

/// The resident's 旧氏 (recorded in their access log), if any.
pub async fn former_name(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    purpose: &str,
) -> Result<Option<FormerName>> {
    s.registry().get(resident).await?;
    let f = s.store.households().former_name(resident.0).await?;
    if f.is_some() {
        s.store
            .access()
            .record_access(
                resident.0,
                actor,
                &s.clock.now(),
                "registry.former_name",
                purpose,
                "旧氏 read",
            )
            .await?;
    }
    Ok(f)
}

/// 印鑑登録: the seal's impression registered for a resident of 15 or over who has none in
/// force; the 印鑑登録番号 of the new 印鑑登録証.
pub async fn register_inkan(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    image: Vec<u8>,
    change: &Change,
) -> Result<String> {
    let image = InkanImage::parse(image)?;
    // The impression must decode (it is printed on every 印鑑登録証明書) and be of a seal's
    // size in pixels.
    let grey = openmyna_cardface::photo::decode(&image.bytes).map_err(|e| {
        Refusal::invalid(
            "image.decode",
            format!("the impression cannot be read: {e}"),
        )
        .with_field("image")
    })?;
    if grey.width > 1000 || grey.height > 1000 {
        return Err(Refusal::invalid(
            "image.dimensions",
            format!(
                "the impression is {}×{} pixels; at most 1000×1000 are taken",
                grey.width, grey.height
            ),
        )
        .with_field("image")
        .into());
    }
    let r = s.active_resident(resident.0).await?;
    may_register_inkan(r.basic4.birth_date, s.clock.today())?;
    let mut n = [0u8; 8];
    s.entropy.fill(&mut n);
    let number = format!("{:010}", u64::from_be_bytes(n) % 10_000_000_000);
    let stamp = Stamp::new(s, actor, change)?;
    let done = s
        .store
        .households()
        .register_inkan(
            resident.0,
            &number,
            &image.bytes,
            image.media_type,
            &stamp.recorded(),
        )
        .await?;
    if !done {
        return Err(Refusal::refused(
            "inkan.registered",
            "the resident has a seal registered already: abolish it first",
        )
        .into());
    }
    Ok(number)
}

/// The resident's seal registration in force (its impression included; recorded in the
/// access log).
pub async fn inkan(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    purpose: &str,
) -> Result<InkanRecord> {
    s.registry().get(resident).await?;
    let Some(rec) = s.store.households().inkan(resident.0).await? else {
        return Err(Refusal::not_found("inkan.none", "the resident has no seal registered").into());
    };
    s.store
        .access()
        .record_access(
            resident.0,
            actor,
            &s.clock.now(),
            "registry.inkan",
            purpose,
            "印鑑登録 read",
        )
        .await?;
    Ok(rec)
}

/// 印鑑登録の廃止.
pub async fn abolish_inkan(
    s: &Services,
    actor: &Actor,
    resident: ResidentId,
    change: &Change,
) -> Result<()> {
    s.registry().get(resident).await?;
    let stamp = Stamp::new(s, actor, change)?;
    let done = s
        .store
        .households()
        .abolish_inkan(resident.0, &stamp.recorded())
        .await?;
    if !done {
        return Err(Refusal::refused("inkan.none", "the resident has no seal registered").into());
    }
    Ok(())
}
