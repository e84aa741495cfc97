//! Employers' use cases shared by the HTTP layer and the background scheduler.

use openmyna_campaigns::intake;
use openmyna_campaigns::org::OrgKind;
use openmyna_store::Store;
use openmyna_store::campaigns::Profile;

use crate::{Result, Services};

/// Retention after leaving when the organisation has not set one.
pub const DEFAULT_RETENTION_YEARS: i64 = 7;

/// The organisation's profile, or a company's defaults when none is set.
pub async fn profile_of(store: &Store, org_id: i64) -> Result<Profile> {
    Ok(store.employer_profile(org_id).await?.unwrap_or(Profile {
        org_id,
        kind: OrgKind::Company.as_str().to_owned(),
        parent_org_id: None,
        industry: None,
        retention_years: DEFAULT_RETENTION_YEARS,
        insurer_number: None,
        insurer_name: None,
        insurer_symbol: None,
    }))
}

/// Deletes the numbers whose retention period after leaving has ended, for one
/// organisation; returns the employee numbers.
pub async fn purge_org(
    store: &Store,
    org_id: i64,
    actor: &str,
    today: chrono::NaiveDate,
    now: &openmyna_core::Timestamp,
) -> Result<Vec<String>> {
    let p = profile_of(store, org_id).await?;
    let years = u32::try_from(p.retention_years).unwrap_or(7);
    let mut out = Vec::new();
    for row in store.intakes(org_id).await? {
        if !row.has_form {
            continue;
        }
        let Some(emp) = store.employee(row.employee_id).await? else {
            continue;
        };
        if intake::due_for_deletion(emp.left_on, years, today) {
            let reason = format!(
                "retention ended: {years} years after leaving on {}",
                emp.left_on.map(|d| d.to_string()).unwrap_or_default()
            );
            if store.delete_intake(emp.id, actor, &reason, now).await? {
                out.push(emp.employee_no);
            }
        }
    }
    Ok(out)
}

/// The daily sweep: deletes, for every organisation, the numbers whose retention period has
/// ended; returns how many.
pub async fn sweep_retention(s: &Services) -> Result<usize> {
    let mut n = 0;
    for org in s.store.orgs_with_leavers_holding_numbers().await? {
        n += purge_org(
            &s.store,
            org,
            "retention sweep (openmyna)",
            s.clock.today(),
            &s.clock.now(),
        )
        .await?
        .len();
    }
    Ok(n)
}
