//! 出張申請受付: municipal staff come to the workplace, verify each applicant's identity and
//! take their card applications; the cards are then mailed by 本人限定受取郵便, with no visit to
//! the office. An organisation requests a session, the municipality schedules it (days,
//! staff, place), registers applicants on those days, and closes it.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::{CampaignError, named_enum, parse_date};

named_enum! {
    /// Where a session stands.
    SessionStatus, "status" {
        Requested = "requested", "申込済";
        Scheduled = "scheduled", "日程確定";
        Held = "held", "実施済";
        Cancelled = "cancelled", "中止";
    }
}

/// The steps of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStep {
    Schedule,
    Register,
    Close,
    Cancel,
}

/// The status after `step`, or why not.
pub fn session_transition(
    from: SessionStatus,
    step: SessionStep,
) -> Result<SessionStatus, CampaignError> {
    use SessionStatus::*;
    match (from, step) {
        (Requested | Scheduled, SessionStep::Schedule) => Ok(Scheduled),
        (Scheduled, SessionStep::Register) => Ok(Scheduled),
        (Scheduled, SessionStep::Close) => Ok(Held),
        (Requested | Scheduled, SessionStep::Cancel) => Ok(Cancelled),
        (Requested, SessionStep::Register | SessionStep::Close) => Err(CampaignError::refused(
            "session.not_scheduled",
            "the municipality has not scheduled this session yet",
        )),
        (from, step) => Err(CampaignError::refused(
            "session.status",
            format!("cannot {step:?} a session that is {}", from.as_str()),
        )),
    }
}

fn dates(field: &str, raw: &[String], today: NaiveDate) -> Result<Vec<NaiveDate>, CampaignError> {
    if raw.is_empty() || raw.len() > 10 {
        return Err(CampaignError::invalid(
            format!("{field}.count"),
            field,
            format!("{field} lists 1 to 10 days"),
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        let d = parse_date(field, s)?;
        if d < today {
            return Err(CampaignError::invalid(
                format!("{field}.past"),
                field,
                format!("{d} is in the past"),
            ));
        }
        out.push(d);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// An organisation's request.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The municipality of the workplace (5-digit 団体コード, or 6 with its check digit).
    pub municipality_code: String,
    /// Days the organisation proposes (YYYY-MM-DD, 1–10).
    pub preferred_dates: Vec<String>,
    /// Where (the workplace's address and room).
    pub place: String,
    /// Applicants expected.
    pub expected_applicants: u32,
    /// Who the municipality should contact (a department, not a private phone number).
    pub contact: String,
    /// The campaign this session belongs to, if any.
    #[serde(default)]
    pub campaign_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    pub municipality_code: String,
    pub preferred_dates: Vec<NaiveDate>,
    pub place: String,
    pub expected_applicants: u32,
    pub contact: String,
}

impl SessionRequest {
    pub fn validate(&self, today: NaiveDate) -> Result<ValidRequest, CampaignError> {
        let code = openmyna_ids::MunicipalityCode::parse(&self.municipality_code).map_err(|e| {
            CampaignError::invalid(
                format!("municipality_code.{}", e.rule()),
                "municipality_code",
                e.to_string(),
            )
        })?;
        if !(1..=10_000).contains(&self.expected_applicants) {
            return Err(CampaignError::invalid(
                "expected_applicants.range",
                "expected_applicants",
                "expected_applicants is 1 to 10000",
            ));
        }
        Ok(ValidRequest {
            municipality_code: code.as_str().chars().take(5).collect(),
            preferred_dates: dates("preferred_dates", &self.preferred_dates, today)?,
            place: crate::org::check_name("place", &self.place)?,
            expected_applicants: self.expected_applicants,
            contact: crate::org::check_name("contact", &self.contact)?,
        })
    }
}

/// The municipality's schedule.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionSchedule {
    /// Days of the session (YYYY-MM-DD, 1–10).
    pub dates: Vec<String>,
    /// Opening hours, e.g. "10:00-16:00".
    pub hours: String,
    /// The municipal staff who will verify identity (names or staff numbers, 1–50).
    pub staff: Vec<String>,
    pub place: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSchedule {
    pub dates: Vec<NaiveDate>,
    pub hours: String,
    pub staff: Vec<String>,
    pub place: String,
}

impl SessionSchedule {
    pub fn validate(&self, today: NaiveDate) -> Result<ValidSchedule, CampaignError> {
        if self.staff.is_empty() || self.staff.len() > 50 {
            return Err(CampaignError::invalid(
                "staff.count",
                "staff",
                "a session has 1 to 50 municipal staff",
            ));
        }
        let staff = self
            .staff
            .iter()
            .map(|s| crate::org::check_name("staff", s))
            .collect::<Result<Vec<_>, _>>()?;
        let hours = self.hours.trim();
        let ok_hours = hours.split_once('-').is_some_and(|(a, b)| {
            let t = |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
            matches!((t(a), t(b)), (Some(x), Some(y)) if x < y)
        });
        if !ok_hours {
            return Err(CampaignError::invalid(
                "hours.format",
                "hours",
                "hours are HH:MM-HH:MM, opening before closing",
            ));
        }
        Ok(ValidSchedule {
            dates: dates("dates", &self.dates, today)?,
            hours: hours.to_owned(),
            staff,
            place: crate::org::check_name("place", &self.place)?,
        })
    }
}

/// Applicants are registered on the session's days only.
pub fn check_session_day(days: &[NaiveDate], today: NaiveDate) -> Result<(), CampaignError> {
    if days.contains(&today) {
        Ok(())
    } else {
        Err(CampaignError::refused(
            "session.not_today",
            format!(
                "applicants are registered on the session's days ({}), not on {today}",
                days.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
    }

    #[test]
    fn lifecycle() {
        use SessionStatus::*;
        use SessionStep::*;
        assert_eq!(session_transition(Requested, Schedule).unwrap(), Scheduled);
        assert_eq!(
            session_transition(Requested, Register).unwrap_err().code(),
            "session.not_scheduled"
        );
        assert_eq!(session_transition(Scheduled, Close).unwrap(), Held);
        assert_eq!(
            session_transition(Held, Register).unwrap_err().code(),
            "session.status"
        );
        assert_eq!(
            session_transition(Cancelled, Schedule).unwrap_err().code(),
            "session.status"
        );
    }

    #[test]
    fn request_and_schedule_rules() {
        let r = SessionRequest {
            municipality_code: "131016".into(),
            preferred_dates: vec!["2026-04-10".into(), "2026-04-09".into()],
            place: "本社 3F 会議室".into(),
            expected_applicants: 120,
            contact: "人事部".into(),
            campaign_id: None,
        };
        let v = r.validate(today()).unwrap();
        assert_eq!(v.municipality_code, "13101");
        assert_eq!(v.preferred_dates[0].to_string(), "2026-04-09");
        let mut past = r.clone();
        past.preferred_dates = vec!["2026-03-01".into()];
        assert_eq!(
            past.validate(today()).unwrap_err().code(),
            "preferred_dates.past"
        );
        let mut bad = r.clone();
        bad.municipality_code = "131017".into();
        assert!(
            bad.validate(today())
                .unwrap_err()
                .code()
                .starts_with("municipality_code.")
        );
        let s = SessionSchedule {
            dates: vec!["2026-04-10".into()],
            hours: "10:00-16:00".into(),
            staff: vec!["千代田区 市民課 A".into()],
            place: "本社 3F".into(),
        };
        assert!(s.validate(today()).is_ok());
        let mut h = s.clone();
        h.hours = "16:00-10:00".into();
        assert_eq!(h.validate(today()).unwrap_err().code(), "hours.format");
        let v = s.validate(today()).unwrap();
        assert!(check_session_day(&v.dates, today()).is_err());
        assert!(check_session_day(&v.dates, NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()).is_ok());
    }
}
