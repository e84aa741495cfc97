//! Campaigns: a period, a target rate of card holders, and the measures taken (the good
//! practices of the ministries' notice: on-site application sessions, application-support
//! sessions, paid leave to collect the card, an in-house video, posters, newsletters, radio).

use chrono::NaiveDate;
use serde::Deserialize;

use crate::{CampaignError, named_enum, parse_date};

named_enum! {
    /// A measure taken in a campaign.
    MeasureKind, "measure" {
        /// 出張申請受付: the municipality takes applications at the workplace.
        OnSiteSession = "on_site_session", "出張申請受付";
        /// 申請サポート会: help with applying by smartphone or mail.
        SupportSession = "support_session", "申請サポート会";
        /// 有給での受取: paid time to collect the card at the office.
        PaidLeave = "paid_leave", "カード受取のための有給休暇";
        /// 社内動画.
        Video = "video", "社内動画";
        /// ポスター掲示.
        Poster = "poster", "ポスター掲示";
        /// 会報・社内報.
        Newsletter = "newsletter", "会報・社内報";
        /// ラジオ番組.
        Radio = "radio", "ラジオ番組";
    }
}

/// A campaign as submitted.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: String,
    /// YYYY-MM-DD.
    pub starts_on: String,
    /// YYYY-MM-DD, on or after `starts_on`.
    pub ends_on: String,
    /// The card-holding rate aimed at, in percent (1–100).
    pub target_rate: u32,
}

/// A campaign that passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target_rate: u32,
}

/// Campaigns last at most two years.
pub const MAX_DAYS: i64 = 731;

impl CampaignInput {
    pub fn validate(&self) -> Result<Campaign, CampaignError> {
        let name = crate::org::check_name("name", &self.name)?;
        let starts_on = parse_date("starts_on", &self.starts_on)?;
        let ends_on = parse_date("ends_on", &self.ends_on)?;
        if ends_on < starts_on {
            return Err(CampaignError::invalid(
                "ends_on.before_start",
                "ends_on",
                "a campaign ends on or after the day it starts",
            ));
        }
        if (ends_on - starts_on).num_days() > MAX_DAYS {
            return Err(CampaignError::invalid(
                "ends_on.too_long",
                "ends_on",
                "a campaign lasts at most two years",
            ));
        }
        if !(1..=100).contains(&self.target_rate) {
            return Err(CampaignError::invalid(
                "target_rate.range",
                "target_rate",
                "the target rate is a percentage from 1 to 100",
            ));
        }
        Ok(Campaign {
            name,
            starts_on,
            ends_on,
            target_rate: self.target_rate,
        })
    }
}

/// A measure as submitted.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeasureInput {
    /// on_site_session, support_session, paid_leave, video, poster, newsletter, radio.
    pub kind: String,
    /// The day it took place (or started), within the campaign.
    pub on: String,
    /// What was done, e.g. "4 days, 10:00–16:00, head office".
    #[serde(default)]
    pub note: String,
    /// People reached (participants, viewers, copies), if known.
    #[serde(default)]
    pub reached: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub kind: MeasureKind,
    pub on: NaiveDate,
    pub note: String,
    pub reached: Option<u32>,
}

impl MeasureInput {
    pub fn validate(&self, campaign: &Campaign) -> Result<Measure, CampaignError> {
        let kind = MeasureKind::parse(&self.kind)?;
        let on = parse_date("on", &self.on)?;
        if on < campaign.starts_on || on > campaign.ends_on {
            return Err(CampaignError::invalid(
                "on.outside_campaign",
                "on",
                format!(
                    "the measure's day must fall within the campaign ({} to {})",
                    campaign.starts_on, campaign.ends_on
                ),
            ));
        }
        let note = self.note.trim();
        if note.chars().count() > 500 || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CampaignError::invalid(
                "note.length",
                "note",
                "the note has at most 500 characters and no control characters",
            ));
        }
        Ok(Measure {
            kind,
            on,
            note: note.to_owned(),
            reached: self.reached,
        })
    }
}

/// Where a campaign stands on `today`.
pub fn phase(c: &Campaign, today: NaiveDate) -> &'static str {
    if today < c.starts_on {
        "planned"
    } else if today <= c.ends_on {
        "running"
    } else {
        "ended"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(start: &str, end: &str, target: u32) -> CampaignInput {
        CampaignInput {
            name: "マイナキャンペーン".into(),
            starts_on: start.into(),
            ends_on: end.into(),
            target_rate: target,
        }
    }

    #[test]
    fn campaign_rules() {
        let c = input("2026-04-01", "2026-06-30", 80).validate().unwrap();
        assert_eq!(
            phase(&c, NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()),
            "ended"
        );
        assert_eq!(
            input("2026-04-01", "2026-03-01", 80)
                .validate()
                .unwrap_err()
                .code(),
            "ends_on.before_start"
        );
        assert_eq!(
            input("2026-04-01", "2026-06-30", 0)
                .validate()
                .unwrap_err()
                .code(),
            "target_rate.range"
        );
        assert_eq!(
            input("2026-04-01", "2029-06-30", 50)
                .validate()
                .unwrap_err()
                .code(),
            "ends_on.too_long"
        );
    }

    #[test]
    fn measure_rules() {
        let c = input("2026-04-01", "2026-06-30", 80).validate().unwrap();
        let m = |kind: &str, on: &str| MeasureInput {
            kind: kind.into(),
            on: on.into(),
            note: String::new(),
            reached: None,
        };
        assert_eq!(
            m("radio", "2026-05-01").validate(&c).unwrap().kind,
            MeasureKind::Radio
        );
        assert_eq!(
            m("tv", "2026-05-01").validate(&c).unwrap_err().code(),
            "measure.unknown"
        );
        assert_eq!(
            m("poster", "2026-07-01").validate(&c).unwrap_err().code(),
            "on.outside_campaign"
        );
    }
}
