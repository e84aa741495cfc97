//! Storage of card-uptake campaigns and employer My Number intake: employer profiles,
//! divisions, employees, member tokens (HR staff and employees), answers, campaigns and
//! measures, on-site sessions and their applicants, and the sealed intake forms with their
//! handling record (取扱記録).
//!
//! An intake form (the My Number with the enrollment-form items) is sealed with AES-256-GCM
//! under the data key, bound to the employee's id, so neither the database file nor a copied
//! row shows the number.

use chrono::NaiveDate;
use openmyna_applications::Status as ApplicationStatus;
use openmyna_campaigns::session::SessionStatus;
use openmyna_core::{Role, Timestamp};
use serde::Serialize;

use crate::transition::{self, Key, StoredStatus};

use crate::auth::{IssuedToken, TOKEN_PREFIX};
use crate::crypto::sha256_hex;
use crate::{Result, Store, from_micros, parse_date, to_micros};

const INTAKE_CONTEXT: &str = "my_number_intakes.form";

fn intake_context(employee_id: i64) -> String {
    format!("{INTAKE_CONTEXT}:{employee_id}")
}

/// An employer organisation's place among companies, associations and ministries.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Profile {
    pub org_id: i64,
    pub kind: String,
    pub parent_org_id: Option<i64>,
    pub industry: Option<String>,
    pub retention_years: i64,
    pub insurer_number: Option<String>,
    pub insurer_name: Option<String>,
    pub insurer_symbol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DivisionRow {
    pub id: i64,
    pub org_id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeRow {
    pub id: i64,
    pub org_id: i64,
    pub employee_no: String,
    pub name: String,
    pub division_id: Option<i64>,
    pub hired_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

type EmployeeTuple = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
);

fn employee_row(t: EmployeeTuple) -> Result<EmployeeRow> {
    Ok(EmployeeRow {
        id: t.0,
        org_id: t.1,
        employee_no: t.2,
        name: t.3,
        division_id: t.4,
        hired_on: parse_date(&t.5)?,
        left_on: t.6.as_deref().map(parse_date).transpose()?,
    })
}

const EMPLOYEE_COLUMNS: &str = "id, org_id, employee_no, name, division_id, hired_on, left_on";

/// An employee as HR enters them.
#[derive(Debug, Clone, Copy)]
pub struct NewEmployee<'a> {
    pub org_id: i64,
    pub employee_no: &'a str,
    pub name: &'a str,
    pub division_id: Option<i64>,
    pub hired_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

/// A person acting for an employer with their own token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Member {
    pub token_id: i64,
    pub org_id: i64,
    /// hr or employee.
    pub kind: String,
    pub employee_id: Option<i64>,
    pub name: String,
}

/// One stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub employee_id: i64,
    pub on: NaiveDate,
    pub holds_card: bool,
    pub insurance_registered: bool,
    pub source: String,
    pub at: Timestamp,
}

/// An answer about to be stored.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub org_id: i64,
    pub employee_id: i64,
    pub on: NaiveDate,
    pub holds_card: bool,
    pub insurance_registered: bool,
    pub source: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub target_rate: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureRow {
    pub id: i64,
    pub campaign_id: i64,
    pub kind: String,
    pub on: NaiveDate,
    pub note: String,
    pub reached: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
    pub id: i64,
    pub org_id: i64,
    pub municipality_code: String,
    pub campaign_id: Option<i64>,
    pub status: SessionStatus,
    pub preferred_dates: String,
    pub place: String,
    pub expected_applicants: i64,
    pub contact: String,
    pub dates: Option<String>,
    pub hours: Option<String>,
    pub staff: Option<String>,
    pub scheduled_place: Option<String>,
    pub scheduled_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A session as read: its status still text.
#[derive(sqlx::FromRow)]
struct SessionDbRow {
    id: i64,
    org_id: i64,
    municipality_code: String,
    campaign_id: Option<i64>,
    status: String,
    preferred_dates: String,
    place: String,
    expected_applicants: i64,
    contact: String,
    dates: Option<String>,
    hours: Option<String>,
    staff: Option<String>,
    scheduled_place: Option<String>,
    scheduled_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl SessionDbRow {
    fn typed(self) -> Result<SessionRow> {
        Ok(SessionRow {
            id: self.id,
            org_id: self.org_id,
            municipality_code: self.municipality_code,
            campaign_id: self.campaign_id,
            status: SessionStatus::load(&self.status)?,
            preferred_dates: self.preferred_dates,
            place: self.place,
            expected_applicants: self.expected_applicants,
            contact: self.contact,
            dates: self.dates,
            hours: self.hours,
            staff: self.staff,
            scheduled_place: self.scheduled_place,
            scheduled_by: self.scheduled_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const SESSION_COLUMNS: &str = "id, org_id, municipality_code, campaign_id, status, \
    preferred_dates, place, expected_applicants, contact, dates, hours, staff, \
    scheduled_place, scheduled_by, created_at, updated_at";

/// A session about to be stored.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub org_id: i64,
    pub municipality_code: &'a str,
    pub campaign_id: Option<i64>,
    pub preferred_dates: &'a str,
    pub place: &'a str,
    pub expected_applicants: i64,
    pub contact: &'a str,
}

/// A session's schedule.
#[derive(Debug, Clone)]
pub struct SessionPlan<'a> {
    pub dates: &'a str,
    pub hours: &'a str,
    pub staff: &'a str,
    pub place: &'a str,
    pub by: &'a str,
}

/// An applicant of a session with where their application stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionApplicant {
    pub application_id: i64,
    pub employee_id: Option<i64>,
    pub status: ApplicationStatus,
}

/// An intake as HR's list shows it (never the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeRow {
    pub employee_id: i64,
    pub org_id: i64,
    pub has_form: bool,
    pub resident_id: Option<i64>,
    pub submitted_at: Timestamp,
    pub number_check: Option<String>,
    pub identity_check: Option<String>,
    pub documents: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub deleted_reason: Option<String>,
}

type IntakeTuple = (
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

const INTAKE_COLUMNS: &str = "employee_id, org_id, CASE WHEN form_sealed IS NULL THEN 0 ELSE 1 \
    END AS has_form, resident_id, submitted_at, number_check, identity_check, documents, \
    checked_by, checked_at, deleted_at, deleted_reason";

fn intake_row(t: IntakeTuple) -> Result<IntakeRow> {
    Ok(IntakeRow {
        employee_id: t.0,
        org_id: t.1,
        has_form: t.2 != 0,
        resident_id: t.3,
        submitted_at: from_micros(t.4)?,
        number_check: t.5,
        identity_check: t.6,
        documents: t.7,
        checked_by: t.8,
        checked_at: t.9.map(from_micros).transpose()?,
        deleted_at: t.10.map(from_micros).transpose()?,
        deleted_reason: t.11,
    })
}

/// One entry of the handling record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handling {
    pub at: Timestamp,
    pub actor: String,
    /// submitted, checked, read, exported, deleted.
    pub action: String,
    pub purpose: String,
}

/// The identity check as stored.
#[derive(Debug, Clone)]
pub struct CheckRecord<'a> {
    pub number_check: &'a str,
    pub identity_check: &'a str,
    pub documents: &'a str,
    pub checked_by: &'a str,
}

async fn handle(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    employee_id: i64,
    at: &Timestamp,
    actor: &str,
    action: &str,
    purpose: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO my_number_handling (employee_id, at, actor, action, purpose) \
         VALUES ($1,$2,$3,$4,$5)",
    )
    .bind(employee_id)
    .bind(to_micros(at))
    .bind(actor.to_owned())
    .bind(action.to_owned())
    .bind(purpose.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The day (in Japan) of a stored timestamp.
pub fn date_of_micros(us: i64) -> Option<NaiveDate> {
    from_micros(us).ok().map(|t| t.date_naive())
}

fn dates_of(on: NaiveDate) -> String {
    on.format("%Y-%m-%d").to_string()
}

impl Store {
    async fn reports_where(&self, column: &str, id: i64) -> Result<Vec<ReportRow>> {
        let rows: Vec<(i64, String, i64, i64, String, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT employee_id, on_date, holds_card, insurance_registered, source, at \
                 FROM uptake_reports WHERE {column} = $1 ORDER BY id"
            )))
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.into_iter()
            .map(|(e, on, h, r, source, at)| {
                Ok(ReportRow {
                    employee_id: e,
                    on: parse_date(&on)?,
                    holds_card: h != 0,
                    insurance_registered: r != 0,
                    source,
                    at: from_micros(at)?,
                })
            })
            .collect()
    }
}

impl crate::Employers<'_> {
    // --- profiles -------------------------------------------------------------------

    pub async fn employer_profile(self, org_id: i64) -> Result<Option<Profile>> {
        Ok(sqlx::query_as(
            "SELECT org_id, kind, parent_org_id, industry, retention_years, insurer_number, \
             insurer_name, insurer_symbol FROM employer_profiles WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every employer profile (companies, associations, ministries).
    pub async fn employer_profiles(self) -> Result<Vec<Profile>> {
        Ok(sqlx::query_as(
            "SELECT org_id, kind, parent_org_id, industry, retention_years, insurer_number, \
             insurer_name, insurer_symbol FROM employer_profiles ORDER BY org_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn set_employer_profile(self, p: &Profile, at: &Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO employer_profiles (org_id, kind, parent_org_id, industry, \
             retention_years, insurer_number, insurer_name, insurer_symbol, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (org_id) DO UPDATE SET \
             kind = excluded.kind, parent_org_id = excluded.parent_org_id, \
             industry = excluded.industry, retention_years = excluded.retention_years, \
             insurer_number = excluded.insurer_number, insurer_name = excluded.insurer_name, \
             insurer_symbol = excluded.insurer_symbol, updated_at = excluded.updated_at",
        )
        .bind(p.org_id)
        .bind(p.kind.clone())
        .bind(p.parent_org_id)
        .bind(p.industry.clone())
        .bind(p.retention_years)
        .bind(p.insurer_number.clone())
        .bind(p.insurer_name.clone())
        .bind(p.insurer_symbol.clone())
        .bind(to_micros(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // --- divisions and employees ----------------------------------------------------

    pub async fn create_division(
        self,
        org_id: i64,
        parent_id: Option<i64>,
        name: &str,
        at: &Timestamp,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO divisions (org_id, parent_id, name, created_at) VALUES ($1,$2,$3,$4) \
             RETURNING id",
        )
        .bind(org_id)
        .bind(parent_id)
        .bind(name.to_owned())
        .bind(to_micros(at))
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn divisions(self, org_id: i64) -> Result<Vec<DivisionRow>> {
        Ok(sqlx::query_as(
            "SELECT id, org_id, parent_id, name FROM divisions WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Creates or updates an employee by employee number; returns the id and whether it was
    /// new.
    pub async fn upsert_employee(self, e: &NewEmployee<'_>, at: &Timestamp) -> Result<(i64, bool)> {
        let NewEmployee {
            org_id,
            employee_no,
            name,
            division_id,
            hired_on,
            left_on,
        } = *e;
        let mut tx = self.begin_write().await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM employees WHERE org_id = $1 AND employee_no = $2")
                .bind(org_id)
                .bind(employee_no.to_owned())
                .fetch_optional(&mut *tx)
                .await?;
        let out = match existing {
            Some(id) => {
                sqlx::query(
                    "UPDATE employees SET name = $1, division_id = $2, hired_on = $3, \
                     left_on = $4 WHERE id = $5",
                )
                .bind(name.to_owned())
                .bind(division_id)
                .bind(dates_of(hired_on))
                .bind(left_on.map(dates_of))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                (id, false)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO employees (org_id, employee_no, name, division_id, hired_on, \
                     left_on, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
                )
                .bind(org_id)
                .bind(employee_no.to_owned())
                .bind(name.to_owned())
                .bind(division_id)
                .bind(dates_of(hired_on))
                .bind(left_on.map(dates_of))
                .bind(to_micros(at))
                .fetch_one(&mut *tx)
                .await?;
                (id, true)
            }
        };
        tx.commit().await?;
        Ok(out)
    }

    pub async fn employees(self, org_id: i64) -> Result<Vec<EmployeeRow>> {
        let rows: Vec<EmployeeTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE org_id = $1 ORDER BY id"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(employee_row).collect()
    }

    pub async fn employee(self, id: i64) -> Result<Option<EmployeeRow>> {
        let row: Option<EmployeeTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(employee_row).transpose()
    }

    pub async fn employee_by_no(self, org_id: i64, no: &str) -> Result<Option<EmployeeRow>> {
        let row: Option<EmployeeTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE org_id = $1 AND employee_no = $2"
        )))
        .bind(org_id)
        .bind(no.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.map(employee_row).transpose()
    }

    // --- members ----------------------------------------------------------------------

    /// Creates a member's token and the member in one transaction (a token without its
    /// member row would act as the organisation itself).
    pub async fn create_member(
        self,
        org_id: i64,
        kind: &str,
        employee_id: Option<i64>,
        name: &str,
        at: &Timestamp,
    ) -> Result<IssuedToken> {
        let token = crate::auth::generate_secret()?;
        debug_assert!(token.starts_with(TOKEN_PREFIX));
        let label = format!("{kind}: {name}");
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (org_id, label, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, NULL) RETURNING id",
        )
        .bind(org_id)
        .bind(label.clone())
        .bind(sha256_hex(token.as_bytes()))
        .bind(to_micros(at))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO employer_members (token_id, org_id, kind, employee_id, name, \
             created_at) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(id)
        .bind(org_id)
        .bind(kind.to_owned())
        .bind(employee_id)
        .bind(name.to_owned())
        .bind(to_micros(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(IssuedToken {
            id,
            org_id,
            role: Role::Employer,
            label,
            token,
        })
    }

    pub async fn member(self, token_id: i64) -> Result<Option<Member>> {
        Ok(sqlx::query_as(
            "SELECT token_id, org_id, kind, employee_id, name FROM employer_members \
             WHERE token_id = $1",
        )
        .bind(token_id)
        .fetch_optional(self.pool())
        .await?)
    }

    // --- answers ----------------------------------------------------------------------

    pub async fn add_reports(self, reports: &[NewReport<'_>], at: &Timestamp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for r in reports {
            sqlx::query(
                "INSERT INTO uptake_reports (org_id, employee_id, on_date, holds_card, \
                 insurance_registered, source, at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            )
            .bind(r.org_id)
            .bind(r.employee_id)
            .bind(dates_of(r.on))
            .bind(i64::from(r.holds_card))
            .bind(i64::from(r.insurance_registered))
            .bind(r.source.to_owned())
            .bind(to_micros(at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every answer of an organisation's employees, in the order given.
    pub async fn reports_of_org(self, org_id: i64) -> Result<Vec<ReportRow>> {
        self.reports_where("org_id", org_id).await
    }

    /// One employee's answers, in the order given.
    pub async fn reports_of_employee(self, employee_id: i64) -> Result<Vec<ReportRow>> {
        self.reports_where("employee_id", employee_id).await
    }

    // --- campaigns --------------------------------------------------------------------

    pub async fn create_campaign(
        self,
        org_id: i64,
        name: &str,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        target_rate: i64,
        at: &Timestamp,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO campaigns (org_id, name, starts_on, ends_on, target_rate, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
        )
        .bind(org_id)
        .bind(name.to_owned())
        .bind(dates_of(starts_on))
        .bind(dates_of(ends_on))
        .bind(target_rate)
        .bind(to_micros(at))
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn campaigns(self, org_id: i64) -> Result<Vec<CampaignRow>> {
        let rows: Vec<(i64, i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, org_id, name, starts_on, ends_on, target_rate FROM campaigns \
             WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, org_id, name, s, e, t)| {
                Ok(CampaignRow {
                    id,
                    org_id,
                    name,
                    starts_on: parse_date(&s)?,
                    ends_on: parse_date(&e)?,
                    target_rate: t,
                })
            })
            .collect()
    }

    pub async fn add_measure(
        self,
        campaign_id: i64,
        kind: &str,
        on: NaiveDate,
        note: &str,
        reached: Option<i64>,
        at: &Timestamp,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO campaign_measures (campaign_id, kind, on_date, note, reached, \
             created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
        )
        .bind(campaign_id)
        .bind(kind.to_owned())
        .bind(dates_of(on))
        .bind(note.to_owned())
        .bind(reached)
        .bind(to_micros(at))
        .fetch_one(self.pool())
        .await?)
    }

    /// The measures of an organisation's campaigns.
    pub async fn measures_of_org(self, org_id: i64) -> Result<Vec<MeasureRow>> {
        let rows: Vec<(i64, i64, String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT m.id, m.campaign_id, m.kind, m.on_date, m.note, m.reached \
             FROM campaign_measures m JOIN campaigns c ON c.id = m.campaign_id \
             WHERE c.org_id = $1 ORDER BY m.on_date, m.id",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, campaign_id, kind, on, note, reached)| {
                Ok(MeasureRow {
                    id,
                    campaign_id,
                    kind,
                    on: parse_date(&on)?,
                    note,
                    reached,
                })
            })
            .collect()
    }

    // --- on-site sessions -------------------------------------------------------------

    pub async fn create_session(self, s: &NewSession<'_>, at: &Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO onsite_sessions (org_id, municipality_code, campaign_id, status, \
             preferred_dates, place, expected_applicants, contact, created_at, updated_at) \
             VALUES ($1,$2,$3,'requested',$4,$5,$6,$7,$8,$8) RETURNING id",
        )
        .bind(s.org_id)
        .bind(s.municipality_code.to_owned())
        .bind(s.campaign_id)
        .bind(s.preferred_dates.to_owned())
        .bind(s.place.to_owned())
        .bind(s.expected_applicants)
        .bind(s.contact.to_owned())
        .bind(to_micros(at))
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn session(self, id: i64) -> Result<Option<SessionRow>> {
        let row: Option<SessionDbRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM onsite_sessions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(SessionDbRow::typed).transpose()
    }

    /// Sessions of an organisation, or for a municipality (5-digit code).
    pub async fn sessions(
        self,
        org_id: Option<i64>,
        municipality: Option<&str>,
    ) -> Result<Vec<SessionRow>> {
        let rows: Vec<SessionDbRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM onsite_sessions WHERE ($1 IS NULL OR org_id = $1) \
             AND ($2 IS NULL OR municipality_code = $2) ORDER BY id"
        )))
        .bind(org_id)
        .bind(municipality.map(str::to_owned))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(SessionDbRow::typed).collect()
    }

    /// Schedules a session still in `from` ([`transition::compare_and_set`]) with its plan;
    /// false when it changed meanwhile.
    pub async fn schedule_session(
        self,
        id: i64,
        from: SessionStatus,
        plan: &SessionPlan<'_>,
        at: &Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let to = SessionStatus::Scheduled;
        let key = Key::Id(id);
        if !transition::compare_and_set(&mut tx, &transition::SESSIONS, key, from, to, at).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE onsite_sessions SET dates = $1, hours = $2, staff = $3, \
             scheduled_place = $4, scheduled_by = $5 WHERE id = $6",
        )
        .bind(plan.dates.to_owned())
        .bind(plan.hours.to_owned())
        .bind(plan.staff.to_owned())
        .bind(plan.place.to_owned())
        .bind(plan.by.to_owned())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves a session from `from` to `to` ([`transition::compare_and_set`]); false when it
    /// changed meanwhile.
    pub async fn set_session_status(
        self,
        id: i64,
        from: SessionStatus,
        to: SessionStatus,
        at: &Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let key = Key::Id(id);
        if !transition::compare_and_set(&mut tx, &transition::SESSIONS, key, from, to, at).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn add_session_applicant(
        self,
        application_id: i64,
        session_id: i64,
        employee_id: Option<i64>,
        verified_by: &str,
        at: &Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO onsite_applicants (application_id, session_id, employee_id, \
             verified_by, registered_at) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(application_id)
        .bind(session_id)
        .bind(employee_id)
        .bind(verified_by.to_owned())
        .bind(to_micros(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A session's applicants with their applications' status.
    pub async fn session_applicants(self, session_id: i64) -> Result<Vec<SessionApplicant>> {
        let rows: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT a.application_id, a.employee_id, c.status FROM onsite_applicants a \
             JOIN card_applications c ON c.id = a.application_id WHERE a.session_id = $1 \
             ORDER BY a.application_id",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(application_id, employee_id, status)| {
                Ok(SessionApplicant {
                    application_id,
                    employee_id,
                    status: ApplicationStatus::load(&status)?,
                })
            })
            .collect()
    }

    // --- My Number intake -------------------------------------------------------------

    /// Stores (or replaces) an employee's sealed form; a replaced form needs a new identity
    /// check. Recorded in the handling record in the same transaction.
    pub async fn put_intake(
        self,
        employee_id: i64,
        org_id: i64,
        form_json: &[u8],
        resident_id: Option<i64>,
        actor: &str,
        at: &Timestamp,
    ) -> Result<()> {
        let sealed = self.keys().seal(&intake_context(employee_id), form_json)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO my_number_intakes (employee_id, org_id, form_sealed, resident_id, \
             submitted_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (employee_id) DO UPDATE SET \
             form_sealed = excluded.form_sealed, resident_id = excluded.resident_id, \
             submitted_at = excluded.submitted_at, number_check = NULL, \
             identity_check = NULL, documents = NULL, checked_by = NULL, checked_at = NULL, \
             deleted_at = NULL, deleted_reason = NULL",
        )
        .bind(employee_id)
        .bind(org_id)
        .bind(sealed)
        .bind(resident_id)
        .bind(to_micros(at))
        .execute(&mut *tx)
        .await?;
        handle(&mut tx, employee_id, at, actor, "submitted", "").await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn intake(self, employee_id: i64) -> Result<Option<IntakeRow>> {
        let row: Option<IntakeTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INTAKE_COLUMNS} FROM my_number_intakes WHERE employee_id = $1"
        )))
        .bind(employee_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(intake_row).transpose()
    }

    pub async fn intakes(self, org_id: i64) -> Result<Vec<IntakeRow>> {
        let rows: Vec<IntakeTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INTAKE_COLUMNS} FROM my_number_intakes WHERE org_id = $1 \
             ORDER BY employee_id"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(intake_row).collect()
    }

    /// Records the identity check of a stored form.
    pub async fn check_intake(
        self,
        employee_id: i64,
        check: &CheckRecord<'_>,
        at: &Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE my_number_intakes SET number_check = $1, identity_check = $2, \
             documents = $3, checked_by = $4, checked_at = $5 WHERE employee_id = $6 AND \
             form_sealed IS NOT NULL",
        )
        .bind(check.number_check.to_owned())
        .bind(check.identity_check.to_owned())
        .bind(check.documents.to_owned())
        .bind(check.checked_by.to_owned())
        .bind(to_micros(at))
        .bind(employee_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        handle(&mut tx, employee_id, at, check.checked_by, "checked", "").await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Opens a stored form after writing the handling record (`read` or `exported`, with
    /// the purpose): the record is durable before anyone sees the number.
    pub async fn open_intake(
        self,
        employee_id: i64,
        actor: &str,
        action: &str,
        purpose: &str,
        at: &Timestamp,
    ) -> Result<Option<Vec<u8>>> {
        let mut tx = self.begin_write().await?;
        let sealed: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT form_sealed FROM my_number_intakes WHERE employee_id = $1")
                .bind(employee_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(Some(sealed)) = sealed else {
            return Ok(None);
        };
        handle(&mut tx, employee_id, at, actor, action, purpose).await?;
        tx.commit().await?;
        Ok(Some(
            self.keys().open(&intake_context(employee_id), &sealed)?,
        ))
    }

    /// Deletes a stored number (the row stays, with when and why, for the handling record).
    pub async fn delete_intake(
        self,
        employee_id: i64,
        actor: &str,
        reason: &str,
        at: &Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE my_number_intakes SET form_sealed = NULL, deleted_at = $1, \
             deleted_reason = $2 WHERE employee_id = $3 AND form_sealed IS NOT NULL",
        )
        .bind(to_micros(at))
        .bind(reason.to_owned())
        .bind(employee_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        handle(&mut tx, employee_id, at, actor, "deleted", reason).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An employee's handling record, oldest first.
    pub async fn handling(self, employee_id: i64) -> Result<Vec<Handling>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, purpose FROM my_number_handling WHERE employee_id = $1 \
             ORDER BY id",
        )
        .bind(employee_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(at, actor, action, purpose)| {
                Ok(Handling {
                    at: from_micros(at)?,
                    actor,
                    action,
                    purpose,
                })
            })
            .collect()
    }

    /// Employer organisations with stored numbers whose holders have left (for the daily
    /// retention sweep).
    pub async fn orgs_with_leavers_holding_numbers(self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT i.org_id FROM my_number_intakes i JOIN employees e \
             ON e.id = i.employee_id WHERE i.form_sealed IS NOT NULL AND e.left_on IS NOT NULL \
             ORDER BY i.org_id",
        )
        .fetch_all(self.pool())
        .await?)
    }
}
