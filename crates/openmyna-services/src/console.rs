//! The operator console's use cases: console sessions opened with an operator token (the
//! session's random secret, never the token, goes to the browser), the overview (roots, CRL
//! history, registry counts, monthly enrollments and 利用登録), and certificate search (by
//! serial, resident id, or name with birth date — logged to each resident found). The
//! console's actions on certificates are [`crate::jpki::change_status`].

use chrono::{Datelike, NaiveDate};
use openmyna_core::{Actor, Refusal, Role};
use openmyna_jpki::{CertRecord, CrlMeta};
use openmyna_store::{Counts, DatedSeries};

use crate::jpki::RootInfo;
use crate::{Result, Services};

/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 8;

/// The outcome of a page login (the console's, the campaign pages').
pub enum Login {
    /// A session opened: its secret, for the cookie.
    Opened(String),
    /// The token is valid but of another role than the page's.
    WrongRole(Role),
    /// The token is unknown, revoked or expired.
    Unknown,
}

/// Opens a console session with an operator token.
pub async fn login(s: &Services, token: &str) -> Result<Login> {
    login_as(s, token, Role::Operator).await
}

/// Opens a browser session for a page that is `role`'s (the operator's console, employers'
/// campaign pages): the session's random secret goes to the cookie, never the token. It ends
/// at logout, after [`SESSION_HOURS`], or when the token is revoked.
pub async fn login_as(s: &Services, token: &str, role: Role) -> Result<Login> {
    let now = s.clock.now();
    Ok(
        match s.store.auth().authenticate(token.trim(), &now).await? {
            Some(a) if a.role == role => {
                let until = now + chrono::Duration::hours(SESSION_HOURS);
                Login::Opened(
                    s.store
                        .auth()
                        .open_console_session(a.token_id, &now, &until)
                        .await?,
                )
            }
            Some(a) => Login::WrongRole(a.role),
            None => Login::Unknown,
        },
    )
}

/// The operator of a live console session (whose token is still valid), if any.
pub async fn operator(s: &Services, secret: &str) -> Result<Option<Actor>> {
    session_actor(s, secret, Role::Operator).await
}

/// The actor of a live page session opened for `role` (whose token is still valid), if any: a
/// session of another role's page opens nothing here.
pub async fn session_actor(s: &Services, secret: &str, role: Role) -> Result<Option<Actor>> {
    Ok(s.store
        .auth()
        .console_actor(secret, &s.clock.now())
        .await?
        .filter(|a| a.role == role))
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

/// What the operator searches certificates by: a serial, a resident id, or a name (kanji or
/// kana) with the birth date. Empty fields are not asked.
#[derive(Debug, Clone, Default)]
pub struct Search<'a> {
    pub serial: &'a str,
    pub resident: &'a str,
    pub name: &'a str,
    pub birth_date: &'a str,
}

impl Search<'_> {
    pub fn is_empty(&self) -> bool {
        self.serial.is_empty()
            && self.resident.is_empty()
            && self.name.is_empty()
            && self.birth_date.is_empty()
    }
}

/// The most residents a search by name lists.
pub const NAME_SEARCH_LIMIT: i64 = 20;

/// The access log's category of an operator's search by name.
pub const CONSOLE_SEARCH_CATEGORY: &str = "jpki.console_search";

/// Certificates by serial (hex), by resident id, or by name and birth date; nothing when
/// every field is empty. A search by name needs the birth date (a name alone matches too many
/// people), and each resident it finds has it recorded in their access log: the operator saw
/// that they exist and their certificates' states.
pub async fn search(s: &Services, actor: &Actor, q: &Search<'_>) -> Result<Vec<CertRecord>> {
    if !q.serial.is_empty() {
        return Ok(vec![s.jpki.certificate(q.serial).await?]);
    }
    if !q.resident.is_empty() {
        let id = q.resident.parse::<i64>().map_err(|_| {
            Refusal::invalid("resident.number", "a resident id is a number").with_field("resident")
        })?;
        return Ok(s.jpki.certificates_of_resident(id).await?);
    }
    if q.name.is_empty() && q.birth_date.is_empty() {
        return Ok(Vec::new());
    }
    if q.name.trim().is_empty() {
        return Err(Refusal::invalid(
            "search.name",
            "give the name (kanji or kana) with the birth date",
        )
        .with_field("name")
        .into());
    }
    let birth = NaiveDate::parse_from_str(q.birth_date.trim(), "%Y-%m-%d").map_err(|_| {
        Refusal::invalid(
            "search.birth_date",
            "a search by name needs the birth date, as YYYY-MM-DD",
        )
        .with_field("birth_date")
    })?;
    let found = s
        .store
        .residents()
        .find_by_name_and_birth(q.name, birth, NAME_SEARCH_LIMIT)
        .await?;
    let now = s.clock.now();
    let mut certificates = Vec::new();
    for id in found {
        s.store
            .access()
            .record_access(
                id.0,
                actor,
                &now,
                CONSOLE_SEARCH_CATEGORY,
                "運用者による電子証明書の検索 / operator's certificate search",
                "found by name and birth date; certificates listed",
            )
            .await?;
        certificates.extend(s.jpki.certificates_of_resident(id.0).await?);
    }
    Ok(certificates)
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
