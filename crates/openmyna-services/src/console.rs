//! The operator console's use cases: console sessions opened with an operator token (the
//! session's random secret, never the token, goes to the browser), the overview (roots, CRL
//! history, registry counts, monthly enrollments and 利用登録), and certificate search. The
//! console's actions on certificates are [`crate::jpki::change_status`].

use chrono::{Datelike, NaiveDate};
use openmyna_core::{Actor, Refusal, Role};
use openmyna_jpki::{CertRecord, CrlMeta};
use openmyna_store::{Counts, DatedSeries};

use crate::jpki::RootInfo;
use crate::{Result, Services};

/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 8;

/// The outcome of a console login.
pub enum Login {
    /// A session opened: its secret, for the cookie.
    Opened(String),
    /// The token is valid but not the operator's.
    NotOperator(Role),
    /// The token is unknown, revoked or expired.
    Unknown,
}

/// Opens a console session with an operator token.
pub async fn login(s: &Services, token: &str) -> Result<Login> {
    let now = s.clock.now();
    Ok(
        match s.store.auth().authenticate(token.trim(), &now).await? {
            Some(a) if a.role == Role::Operator => {
                let until = now + chrono::Duration::hours(SESSION_HOURS);
                Login::Opened(
                    s.store
                        .auth()
                        .open_console_session(a.token_id, &now, &until)
                        .await?,
                )
            }
            Some(a) => Login::NotOperator(a.role),
            None => Login::Unknown,
        },
    )
}

/// The operator of a live console session (whose token is still valid), if any.
pub async fn operator(s: &Services, secret: &str) -> Result<Option<Actor>> {
    Ok(s.store
        .auth()
        .console_actor(secret, &s.clock.now())
        .await?
        .filter(|a| a.role == Role::Operator))
}

/// Ends a console session.
pub async fn logout(s: &Services, secret: &str) -> Result<()> {
    s.store
        .auth()
        .end_console_session(secret, &s.clock.now())
        .await?;
    Ok(())
}

/// What the console shows at the top: the roots, the latest CRLs, the registry's counts and
/// the last twelve months of enrollments and 利用登録.
pub struct Overview {
    pub roots: Vec<RootInfo>,
    pub crls: Vec<CrlMeta>,
    pub counts: Counts,
    /// The first day of each of the last twelve months, oldest first.
    pub months: Vec<NaiveDate>,
    pub enrollments: Vec<u64>,
    pub registrations: Vec<u64>,
}

pub async fn overview(s: &Services) -> Result<Overview> {
    let today = s.clock.today();
    let months: Vec<NaiveDate> = (0..12).rev().map(|b| month_start(today, b)).collect();
    Ok(Overview {
        roots: crate::jpki::roots(s)?,
        crls: s.jpki.crl_history(20).await?,
        counts: s.store.counts().await?,
        enrollments: monthly(s, DatedSeries::Enrollments, &months).await?,
        registrations: monthly(s, DatedSeries::InsuranceRegistrations, &months).await?,
        months,
    })
}

/// Certificates by serial (hex) or by resident id; nothing when both are empty.
pub async fn search(s: &Services, serial: &str, resident: &str) -> Result<Vec<CertRecord>> {
    if !serial.is_empty() {
        return Ok(vec![s.jpki.certificate(serial).await?]);
    }
    if resident.is_empty() {
        return Ok(Vec::new());
    }
    let id = resident.parse::<i64>().map_err(|_| {
        Refusal::invalid("resident.number", "a resident id is a number").with_field("resident")
    })?;
    Ok(s.jpki.certificates_of_resident(id).await?)
}

/// The first day of the month `back` months before `d`'s month.
fn month_start(d: NaiveDate, back: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
    first
        .checked_sub_months(chrono::Months::new(back))
        .unwrap_or(first)
}

/// Counts of a dated series per month (Japan time) from the first of `months`.
async fn monthly(s: &Services, series: DatedSeries, months: &[NaiveDate]) -> Result<Vec<u64>> {
    let Some(first) = months.first() else {
        return Ok(Vec::new());
    };
    let since = first
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(openmyna_core::jst()).single())
        .map(|t| t.timestamp_micros())
        .unwrap_or(0);
    let mut counts = vec![0u64; months.len()];
    for t in s.store.series_times(series, since).await? {
        let Some(day) = chrono::DateTime::from_timestamp_micros(t)
            .map(|u| u.with_timezone(&openmyna_core::jst()).date_naive())
        else {
            continue;
        };
        if let Some(c) = months
            .iter()
            .rposition(|m| *m <= day)
            .and_then(|i| counts.get_mut(i))
        {
            *c += 1;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::month_start;
    use chrono::NaiveDate;

    #[test]
    fn months_back_across_a_year() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 17).unwrap();
        assert_eq!(
            month_start(d, 0),
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 2),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 11),
            NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
        );
    }
}
