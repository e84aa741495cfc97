//! Employers (`/api/v1/employers/…`): the organisation's place among companies, associations
//! and ministries, its divisions and employees, member tokens for HR staff (事務取扱担当者)
//! and employees, and the My Number intake for enrollment forms.
//!
//! Who may do what: the organisation's own token (the administrator) manages the structure
//! and campaigns; an **hr** member token is the only one that can read, check, export or
//! delete employees' My Numbers; an **employee** member token answers for its own person
//! only. Every reading of a number is written to the handling record (取扱記録) and, when the
//! number belongs to a resident of the registry, to that resident's access log — before the
//! number is sent.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use openmyna_campaigns::CampaignError;
use openmyna_campaigns::intake::{
    self, IdentityCheckInput, IdentityRecord, InsurerDetails, IntakeForm, Purpose,
};
use openmyna_campaigns::org::{self, Industry, OrgKind};
use openmyna_core::Refusal;
use openmyna_core::{Actor, Role};
use openmyna_ids::{CorporateNumber, InsuredSymbol, InsurerNumber, MyNumber};
use openmyna_registry::RegistryStore;
use openmyna_store::Store;
use openmyna_store::campaigns::{CheckRecord, EmployeeRow, Handling, Member, NewEmployee, Profile};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use openmyna_services::employers::{DEFAULT_RETENTION_YEARS, profile_of, purge_org};

use crate::auth::Caller;
use crate::error::{ApiError, Created as CreatedAnswer, CreatedOrOk, ErrorBody};
use crate::json::ApiJson;
use crate::state::AppState;

const EMPLOYERS: &[Role] = &[Role::Employer];

/// Who is calling for an employer.
pub(crate) enum Who {
    /// The organisation's own token.
    Admin,
    /// HR staff entitled to My Numbers (事務取扱担当者).
    Hr(Member),
    /// An employee, answering for themselves.
    Employee(Member, EmployeeRow),
}

pub(crate) struct EmployerCaller {
    pub actor: Actor,
    pub who: Who,
}

impl EmployerCaller {
    pub fn kind(&self) -> &'static str {
        match self.who {
            Who::Admin => "admin",
            Who::Hr(_) => "hr",
            Who::Employee(..) => "employee",
        }
    }

    /// The person acting, for records: a member's name, or the organisation itself.
    pub fn name(&self) -> String {
        match &self.who {
            Who::Admin => format!("{} (administrator)", self.actor.org_name),
            Who::Hr(m) | Who::Employee(m, _) => format!("{} ({})", m.name, self.actor.org_name),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.who {
            Who::Admin => Ok(()),
            _ => Err(ApiError::from(Refusal::forbidden(
                "employer.admin_only",
                "only the organisation's own token may do this (not a member token)",
            ))),
        }
    }

    pub fn require_staff(&self) -> Result<(), ApiError> {
        match self.who {
            Who::Admin | Who::Hr(_) => Ok(()),
            Who::Employee(..) => Err(ApiError::from(Refusal::forbidden(
                "employer.staff_only",
                "an employee token answers for its own person only",
            ))),
        }
    }

    pub fn require_hr(&self) -> Result<&Member, ApiError> {
        match &self.who {
            Who::Hr(m) => Ok(m),
            _ => Err(ApiError::from(Refusal::forbidden(
                "employer.hr_only",
                "only HR staff entitled to My Numbers (an hr member token) may do this",
            ))),
        }
    }

    pub fn require_employee(&self) -> Result<&EmployeeRow, ApiError> {
        match &self.who {
            Who::Employee(_, e) => Ok(e),
            _ => Err(ApiError::from(Refusal::forbidden(
                "employer.employee_only",
                "this is answered by the employee themselves, with their own token",
            ))),
        }
    }
}

/// Resolves an employer caller (any other role is refused, naming the role needed).
pub(crate) async fn employer(s: &AppState, caller: &Caller) -> Result<EmployerCaller, ApiError> {
    let actor = caller.require(EMPLOYERS)?.clone();
    let who = match s.store.member(actor.token_id).await? {
        None => Who::Admin,
        Some(m) if m.kind == "hr" => Who::Hr(m),
        Some(m) => {
            let e = match m.employee_id {
                Some(id) => s.store.employee(id).await?,
                None => None,
            }
            .ok_or_else(|| {
                ApiError::internal("employers", &"an employee token without its employee")
            })?;
            Who::Employee(m, e)
        }
    };
    Ok(EmployerCaller { actor, who })
}

pub(crate) async fn require_company(store: &Store, org_id: i64) -> Result<Profile, ApiError> {
    let p = profile_of(store, org_id).await?;
    if p.kind != OrgKind::Company.as_str() {
        return Err(ApiError::from(Refusal::refused(
            "employer.not_company",
            "divisions, employees and their answers belong to a company; this organisation is \
             an association or a ministry",
        )));
    }
    Ok(p)
}

// ------------------------------------------------------------------ profile

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    /// company, association or ministry.
    pub kind: String,
    /// The 法人番号 of the association or ministry above (it must be registered here).
    #[serde(default)]
    pub parent_corporate_number: Option<String>,
    /// 日本標準産業分類 major division, A–T.
    #[serde(default)]
    pub industry: Option<String>,
    /// Years a My Number is kept after the employee leaves (1–10, default 7).
    #[serde(default)]
    pub retention_years: Option<u32>,
    /// The insurer of the employees' health insurance, for the enrollment export.
    #[serde(default)]
    pub insurer_number: Option<String>,
    #[serde(default)]
    pub insurer_name: Option<String>,
    /// 事業所記号 given by the insurer.
    #[serde(default)]
    pub insurer_symbol: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub organisation: String,
    pub corporate_number: Option<String>,
    pub kind: String,
    pub parent: Option<String>,
    pub industry: Option<String>,
    pub industry_name: Option<String>,
    pub retention_years: i64,
    pub insurer_number: Option<String>,
    pub insurer_name: Option<String>,
    pub insurer_symbol: Option<String>,
}

async fn profile_view(s: &AppState, p: Profile) -> Result<ProfileView, ApiError> {
    let org = s.store.organisation(p.org_id).await?;
    let parent = match p.parent_org_id {
        Some(id) => s.store.organisation(id).await?.map(|o| o.name),
        None => None,
    };
    let industry = p.industry.as_deref().and_then(|i| Industry::parse(i).ok());
    Ok(ProfileView {
        organisation: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        corporate_number: org.and_then(|o| o.code),
        kind: p.kind,
        parent,
        industry: industry.map(|i| i.as_str().to_owned()),
        industry_name: industry.map(|i| i.label_ja().to_owned()),
        retention_years: p.retention_years,
        insurer_number: p.insurer_number,
        insurer_name: p.insurer_name,
        insurer_symbol: p.insurer_symbol,
    })
}

/// The organisation's profile.
#[utoipa::path(get, path = "/api/v1/employers/profile", tag = "employers",
    responses((status = 200, body = ProfileView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_profile(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<ProfileView>, ApiError> {
    let e = employer(&s, &caller).await?;
    let p = profile_of(&s.store, e.actor.org_id).await?;
    Ok(axum::Json(profile_view(&s, p).await?))
}

fn id_error(field: &str, e: openmyna_ids::IdError) -> ApiError {
    ApiError::from(Refusal::invalid(e.code(), e.to_string())).with_field(field)
}

/// Sets the organisation's kind, its parent (joining an association, or reporting to a
/// ministry), its industry, the retention period and the insurer details.
#[utoipa::path(put, path = "/api/v1/employers/profile", tag = "employers",
    request_body = ProfileInput,
    responses((status = 200, body = ProfileView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_profile(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ProfileInput>,
) -> Result<axum::Json<ProfileView>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_admin()?;
    let kind = OrgKind::parse(&req.kind)?;
    let all_profiles = s.store.employer_profiles().await?;
    if kind == OrgKind::Company
        && all_profiles
            .iter()
            .any(|p| p.parent_org_id == Some(e.actor.org_id))
    {
        return Err(ApiError::from(Refusal::invalid(
            "kind.has_members",
            "organisations sit under this one: it cannot become a company",
        ))
        .with_field("kind"));
    }
    let industry = req.industry.as_deref().map(Industry::parse).transpose()?;
    let retention = intake::check_retention(
        req.retention_years
            .unwrap_or(DEFAULT_RETENTION_YEARS as u32),
    )?;
    let parent_org_id = match req.parent_corporate_number.as_deref() {
        None => None,
        Some(n) => {
            let n =
                CorporateNumber::parse(n).map_err(|e| id_error("parent_corporate_number", e))?;
            let parent = s
                .store
                .organisations()
                .await?
                .into_iter()
                .find(|o| o.role == Role::Employer && o.code.as_deref() == Some(n.as_str()))
                .ok_or_else(|| {
                    ApiError::from(Refusal::invalid(
                        "parent.unknown",
                        "no employer organisation with that corporate number is registered",
                    ))
                    .with_field("parent_corporate_number")
                })?;
            if parent.id == e.actor.org_id {
                return Err(ApiError::from(Refusal::invalid(
                    "parent.self",
                    "an organisation cannot be its own parent",
                ))
                .with_field("parent_corporate_number"));
            }
            let pp = profile_of(&s.store, parent.id).await?;
            org::check_parent(kind, OrgKind::parse(&pp.kind)?)?;
            // No cycles: the parent's chain must not reach this organisation.
            let all = &all_profiles;
            let parent_of = |id: i64| {
                all.iter()
                    .find(|p| p.org_id == id)
                    .and_then(|p| p.parent_org_id)
            };
            if org::is_within(parent.id, e.actor.org_id, parent_of, all.len() + 1) {
                return Err(ApiError::from(Refusal::invalid(
                    "parent.cycle",
                    "that organisation is already below this one",
                ))
                .with_field("parent_corporate_number"));
            }
            Some(parent.id)
        }
    };
    let insurer_number = req
        .insurer_number
        .as_deref()
        .map(|n| InsurerNumber::parse(n).map_err(|e| id_error("insurer_number", e)))
        .transpose()?;
    let insurer_symbol = req
        .insurer_symbol
        .as_deref()
        .map(|n| InsuredSymbol::parse(n).map_err(|e| id_error("insurer_symbol", e)))
        .transpose()?;
    let insurer_name = req
        .insurer_name
        .as_deref()
        .map(|n| org::check_name("insurer_name", n))
        .transpose()?;
    let p = Profile {
        org_id: e.actor.org_id,
        kind: kind.as_str().to_owned(),
        parent_org_id,
        industry: industry.map(|i| i.as_str().to_owned()),
        retention_years: i64::from(retention),
        insurer_number: insurer_number.map(|n| n.as_str().to_owned()),
        insurer_name,
        insurer_symbol: insurer_symbol.map(|n| n.as_str().to_owned()),
    };
    s.store.set_employer_profile(&p, &s.clock.now()).await?;
    Ok(axum::Json(profile_view(&s, p).await?))
}

// ------------------------------------------------------------------ divisions and employees

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DivisionInput {
    pub name: String,
    /// The division above (none: a top-level division, 本部).
    #[serde(default)]
    pub parent_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DivisionView {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Adds a division (names are unique among siblings).
#[utoipa::path(post, path = "/api/v1/employers/divisions", tag = "employers",
    request_body = DivisionInput,
    responses((status = 201, body = Created), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_division(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<DivisionInput>,
) -> Result<CreatedAnswer<axum::Json<Created>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_admin()?;
    require_company(&s.store, e.actor.org_id).await?;
    let name = org::check_name("name", &req.name)?;
    let existing = s.store.divisions(e.actor.org_id).await?;
    if let Some(p) = req.parent_id
        && !existing.iter().any(|d| d.id == p)
    {
        return Err(ApiError::from(Refusal::invalid(
            "parent_id.unknown",
            format!("this organisation has no division {p}"),
        ))
        .with_field("parent_id"));
    }
    if existing
        .iter()
        .any(|d| d.parent_id == req.parent_id && d.name == name)
    {
        return Err(ApiError::from(Refusal::refused(
            "division.duplicate",
            "a division of that name already exists there",
        )));
    }
    let id = s
        .store
        .create_division(e.actor.org_id, req.parent_id, &name, &s.clock.now())
        .await?;
    Ok(CreatedAnswer(axum::Json(Created { id })))
}

/// The organisation's divisions.
#[utoipa::path(get, path = "/api/v1/employers/divisions", tag = "employers",
    responses((status = 200, body = [DivisionView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_divisions(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<DivisionView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    Ok(axum::Json(
        s.store
            .divisions(e.actor.org_id)
            .await?
            .into_iter()
            .map(|d| DivisionView {
                id: d.id,
                name: d.name,
                parent_id: d.parent_id,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeInput {
    pub employee_no: String,
    pub name: String,
    #[serde(default)]
    pub division_id: Option<i64>,
    /// YYYY-MM-DD.
    pub hired_on: String,
    /// YYYY-MM-DD, once the employee has left.
    #[serde(default)]
    pub left_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EmployeeView {
    pub id: i64,
    pub employee_no: String,
    pub name: String,
    pub division_id: Option<i64>,
    pub hired_on: String,
    pub left_on: Option<String>,
}

fn employee_view(e: EmployeeRow) -> EmployeeView {
    EmployeeView {
        id: e.id,
        employee_no: e.employee_no,
        name: e.name,
        division_id: e.division_id,
        hired_on: e.hired_on.to_string(),
        left_on: e.left_on.map(|d| d.to_string()),
    }
}

/// Adds or updates an employee (by employee number). Answers about the card are not part of
/// this record: employees give them themselves.
#[utoipa::path(post, path = "/api/v1/employers/employees", tag = "employers",
    request_body = EmployeeInput,
    responses((status = 201, body = EmployeeView), (status = 200, body = EmployeeView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upsert_employee(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<EmployeeInput>,
) -> Result<CreatedOrOk<axum::Json<EmployeeView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_staff()?;
    require_company(&s.store, e.actor.org_id).await?;
    let no = org::check_employee_no(&req.employee_no)?;
    let name = org::check_name("name", &req.name)?;
    let hired_on = openmyna_campaigns::parse_date("hired_on", &req.hired_on)?;
    let left_on = req
        .left_on
        .as_deref()
        .map(|d| openmyna_campaigns::parse_date("left_on", d))
        .transpose()?;
    if left_on.is_some_and(|l| l < hired_on) {
        return Err(CampaignError::invalid(
            "left_on.before_hired",
            "left_on",
            "an employee leaves on or after the day they were hired",
        )
        .into());
    }
    if let Some(d) = req.division_id
        && !s
            .store
            .divisions(e.actor.org_id)
            .await?
            .iter()
            .any(|x| x.id == d)
    {
        return Err(ApiError::from(Refusal::invalid(
            "division_id.unknown",
            format!("this organisation has no division {d}"),
        ))
        .with_field("division_id"));
    }
    let (id, created) = s
        .store
        .upsert_employee(
            &NewEmployee {
                org_id: e.actor.org_id,
                employee_no: &no,
                name: &name,
                division_id: req.division_id,
                hired_on,
                left_on,
            },
            &s.clock.now(),
        )
        .await?;
    let row = s
        .store
        .employee(id)
        .await?
        .ok_or_else(|| ApiError::internal("employers", &"employee vanished"))?;
    Ok(CreatedOrOk(created, axum::Json(employee_view(row))))
}

/// The organisation's employees (without any answer about the card).
#[utoipa::path(get, path = "/api/v1/employers/employees", tag = "employers",
    responses((status = 200, body = [EmployeeView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_employees(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<EmployeeView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_staff()?;
    Ok(axum::Json(
        s.store
            .employees(e.actor.org_id)
            .await?
            .into_iter()
            .map(employee_view)
            .collect(),
    ))
}

// ------------------------------------------------------------------ members

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// hr (事務取扱担当者: may handle My Numbers) or employee (answers for themselves).
    pub kind: String,
    /// The HR staff member's name (for an employee: their employee record's name).
    #[serde(default)]
    pub name: Option<String>,
    /// For an employee token: whose.
    #[serde(default)]
    pub employee_no: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberToken {
    pub token_id: i64,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_no: Option<String>,
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// Issues a member token: for an HR staff member entitled to My Numbers, or for one
/// employee.
#[utoipa::path(post, path = "/api/v1/employers/members", tag = "employers",
    request_body = MemberInput,
    responses((status = 201, body = MemberToken), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_member(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MemberInput>,
) -> Result<CreatedAnswer<axum::Json<MemberToken>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_admin()?;
    let now = s.clock.now();
    let (kind, name, employee) = match req.kind.as_str() {
        "hr" => {
            let name = org::check_name("name", req.name.as_deref().unwrap_or(""))?;
            ("hr", name, None)
        }
        "employee" => {
            let no = org::check_employee_no(req.employee_no.as_deref().unwrap_or(""))?;
            let emp = s
                .store
                .employee_by_no(e.actor.org_id, &no)
                .await?
                .ok_or_else(|| {
                    ApiError::from(Refusal::invalid(
                        "employee_no.unknown",
                        "no employee with that number",
                    ))
                    .with_field("employee_no")
                })?;
            ("employee", emp.name.clone(), Some(emp))
        }
        _ => {
            return Err(
                ApiError::from(Refusal::invalid("kind.unknown", "kind is hr or employee"))
                    .with_field("kind"),
            );
        }
    };
    let t = s
        .store
        .create_member(
            e.actor.org_id,
            kind,
            employee.as_ref().map(|x| x.id),
            &name,
            &now,
        )
        .await?;
    Ok(CreatedAnswer(axum::Json(MemberToken {
        token_id: t.id,
        kind: kind.to_owned(),
        name,
        employee_no: employee.map(|x| x.employee_no),
        token: t.token,
    })))
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    pub organisation: String,
    /// admin, hr or employee.
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_no: Option<String>,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/employers/me", tag = "employers",
    responses((status = 200, body = MeView), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(State(s): State<AppState>, caller: Caller) -> Result<axum::Json<MeView>, ApiError> {
    let e = employer(&s, &caller).await?;
    Ok(axum::Json(MeView {
        organisation: e.actor.org_name.clone(),
        kind: e.kind().to_owned(),
        name: e.name(),
        employee_no: match &e.who {
            Who::Employee(_, x) => Some(x.employee_no.clone()),
            _ => None,
        },
    }))
}

// ------------------------------------------------------------------ My Number intake

#[derive(Serialize, ToSchema)]
pub struct IntakeStatus {
    pub employee_no: String,
    pub name: String,
    /// none, submitted (awaiting the identity check), checked, deleted.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityRecordView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityRecordView {
    /// 番号確認.
    pub number_check: String,
    /// 身元確認.
    pub identity_check: String,
    pub documents: Vec<String>,
    pub checked_by: String,
    pub checked_at: String,
}

async fn intake_status(s: &AppState, emp: &EmployeeRow) -> Result<IntakeStatus, ApiError> {
    let row = s.store.intake(emp.id).await?;
    let mut out = IntakeStatus {
        employee_no: emp.employee_no.clone(),
        name: emp.name.clone(),
        status: "none".into(),
        submitted_at: None,
        identity: None,
        deleted_at: None,
        deleted_reason: None,
    };
    let Some(r) = row else { return Ok(out) };
    out.submitted_at = Some(r.submitted_at.to_rfc3339());
    out.status = if r.deleted_at.is_some() {
        "deleted"
    } else if r.checked_at.is_some() {
        "checked"
    } else {
        "submitted"
    }
    .into();
    if let (Some(n), Some(i), Some(by), Some(at)) =
        (r.number_check, r.identity_check, r.checked_by, r.checked_at)
    {
        out.identity = Some(IdentityRecordView {
            number_check: n,
            identity_check: i,
            documents: r
                .documents
                .map(|d| {
                    d.split(',')
                        .filter(|x| !x.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            checked_by: by,
            checked_at: at.to_rfc3339(),
        });
    }
    out.deleted_at = r.deleted_at.map(|d| d.to_rfc3339());
    out.deleted_reason = r.deleted_reason;
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct Submitted {
    pub status: IntakeStatus,
    /// What the number will be used for (利用目的), as stated to the employee.
    pub purposes: Vec<String>,
}

/// The employee submits their My Number with the enrollment-form items. The check digit is
/// checked first; the form is stored sealed and waits for HR's identity check. The number is
/// never sent back.
#[utoipa::path(put, path = "/api/v1/employers/me/my-number", tag = "employers",
    request_body = IntakeForm,
    responses((status = 201, body = Submitted), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit_my_number(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(form): ApiJson<IntakeForm>,
) -> Result<CreatedAnswer<axum::Json<Submitted>>, ApiError> {
    let e = employer(&s, &caller).await?;
    let emp = e.require_employee()?.clone();
    let number: MyNumber = form.validate(s.clock.today())?;
    let resident = s
        .store
        .resident_by_my_number(&number)
        .await?
        .map(|r| r.id.0);
    let json = serde_json::to_vec(&form).map_err(|err| ApiError::internal("employers", &err))?;
    s.store
        .put_intake(
            emp.id,
            e.actor.org_id,
            &json,
            resident,
            &e.name(),
            &s.clock.now(),
        )
        .await?;
    Ok(CreatedAnswer(axum::Json(Submitted {
        status: intake_status(&s, &emp).await?,
        purposes: Purpose::ALL
            .iter()
            .map(|p| p.label_ja().to_owned())
            .collect(),
    })))
}

#[derive(Serialize, ToSchema)]
pub struct OwnIntake {
    pub status: IntakeStatus,
    /// Every handling of the number (取扱記録): submitted, checked, read, exported, deleted.
    pub handling: Vec<HandlingView>,
}

#[derive(Serialize, ToSchema)]
pub struct HandlingView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub purpose: String,
}

fn handling_view(h: Handling) -> HandlingView {
    HandlingView {
        at: h.at.to_rfc3339(),
        actor: h.actor,
        action: h.action,
        purpose: h.purpose,
    }
}

/// The employee's own intake: its status and who handled the number when (not the number).
#[utoipa::path(get, path = "/api/v1/employers/me/my-number", tag = "employers",
    responses((status = 200, body = OwnIntake), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn own_my_number(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<OwnIntake>, ApiError> {
    let e = employer(&s, &caller).await?;
    let emp = e.require_employee()?.clone();
    Ok(axum::Json(OwnIntake {
        status: intake_status(&s, &emp).await?,
        handling: s
            .store
            .handling(emp.id)
            .await?
            .into_iter()
            .map(handling_view)
            .collect(),
    }))
}

/// The intakes of the organisation (HR only): who has submitted, who is checked (never the
/// numbers).
#[utoipa::path(get, path = "/api/v1/employers/intakes", tag = "employers",
    responses((status = 200, body = [IntakeStatus]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_intakes(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<IntakeStatus>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_hr()?;
    let mut out = Vec::new();
    for emp in s.store.employees(e.actor.org_id).await? {
        out.push(intake_status(&s, &emp).await?);
    }
    Ok(axum::Json(out))
}

async fn own_employee(s: &AppState, org_id: i64, no: &str) -> Result<EmployeeRow, ApiError> {
    s.store
        .employee_by_no(org_id, no)
        .await?
        .ok_or_else(|| ApiError::not_found("employee.not_found", "no employee with that number"))
}

/// HR records the identity check (番号確認 + 身元確認) of a submitted number.
#[utoipa::path(post, path = "/api/v1/employers/intakes/{employee_no}/identity-check", tag = "employers",
    params(("employee_no" = String, Path)),
    request_body = IdentityCheckInput,
    responses((status = 200, body = IntakeStatus), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn identity_check(
    State(s): State<AppState>,
    caller: Caller,
    Path(no): Path<String>,
    ApiJson(req): ApiJson<IdentityCheckInput>,
) -> Result<axum::Json<IntakeStatus>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_hr()?;
    let rec: IdentityRecord = req.validate()?;
    let emp = own_employee(&s, e.actor.org_id, &no).await?;
    let docs: Vec<&str> = rec.documents.iter().map(|d| d.as_str()).collect();
    let ok = s
        .store
        .check_intake(
            emp.id,
            &CheckRecord {
                number_check: rec.number_check.as_str(),
                identity_check: rec.identity_check.as_str(),
                documents: &docs.join(","),
                checked_by: &e.name(),
            },
            &s.clock.now(),
        )
        .await?;
    if !ok {
        return Err(ApiError::from(Refusal::refused(
            "intake.none",
            "this employee has no submitted number to check",
        )));
    }
    Ok(axum::Json(intake_status(&s, &emp).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeQuery {
    /// health_insurance, employment_insurance, tax_withholding or pension.
    pub purpose: String,
}

#[derive(Serialize, ToSchema)]
pub struct NumberView {
    pub employee_no: String,
    pub my_number: String,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub sex: String,
    pub address: String,
    pub purpose: String,
}

/// Opens an employee's form for a stated purpose, after recording the handling and the
/// resident's access-log entry; refused until the identity check is recorded.
async fn open_form(
    s: &AppState,
    e: &EmployerCaller,
    emp: &EmployeeRow,
    action: &str,
    purpose: Purpose,
) -> Result<IntakeForm, ApiError> {
    let row = s
        .store
        .intake(emp.id)
        .await?
        .filter(|r| r.has_form)
        .ok_or_else(|| {
            ApiError::not_found("intake.none", "no number is stored for this employee")
        })?;
    if row.checked_at.is_none() {
        return Err(ApiError::from(Refusal::refused(
            "intake.unchecked",
            "the identity check (番号確認 + 身元確認) is not recorded yet",
        )));
    }
    let now = s.clock.now();
    if let Some(resident) = row.resident_id {
        s.store
            .record_access(
                resident,
                &e.actor,
                &now,
                "employer.my_number",
                purpose.label_ja(),
                &format!("{action} by {}", e.name()),
            )
            .await?;
    }
    let plain = s
        .store
        .open_intake(emp.id, &e.name(), action, purpose.as_str(), &now)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("intake.none", "no number is stored for this employee")
        })?;
    serde_json::from_slice(&plain).map_err(|err| ApiError::internal("employers", &err))
}

/// HR reads an employee's My Number for a stated purpose. Recorded in the handling record
/// and the resident's access log before the answer.
#[utoipa::path(get, path = "/api/v1/employers/intakes/{employee_no}/my-number", tag = "employers",
    params(("employee_no" = String, Path), PurposeQuery),
    responses((status = 200, body = NumberView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read_my_number(
    State(s): State<AppState>,
    caller: Caller,
    Path(no): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<axum::Json<NumberView>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_hr()?;
    let purpose = Purpose::parse(&q.purpose)?;
    let emp = own_employee(&s, e.actor.org_id, &no).await?;
    let form = open_form(&s, &e, &emp, "read", purpose).await?;
    Ok(axum::Json(NumberView {
        employee_no: emp.employee_no,
        my_number: form.my_number.trim().to_owned(),
        name: form.name,
        name_kana: form.name_kana,
        birth_date: form.birth_date,
        sex: form.sex,
        address: form.address,
        purpose: purpose.as_str().to_owned(),
    }))
}

/// The handling record of one employee's number (HR only).
#[utoipa::path(get, path = "/api/v1/employers/intakes/{employee_no}/handling", tag = "employers",
    params(("employee_no" = String, Path)),
    responses((status = 200, body = [HandlingView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn handling(
    State(s): State<AppState>,
    caller: Caller,
    Path(no): Path<String>,
) -> Result<axum::Json<Vec<HandlingView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_hr()?;
    let emp = own_employee(&s, e.actor.org_id, &no).await?;
    Ok(axum::Json(
        s.store
            .handling(emp.id)
            .await?
            .into_iter()
            .map(handling_view)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The employees to export (default: every checked intake of a current employee).
    #[serde(default)]
    pub employee_nos: Option<Vec<String>>,
}

/// The enrollment export (資格取得届): a CSV in the insurers' upload layout (`POST
/// /api/v1/insurance/records/csv`) for employees whose identity check is recorded. Employees
/// left out are named in the `x-openmyna-skipped` header with the reason. Each number
/// exported is recorded like a reading.
#[utoipa::path(post, path = "/api/v1/employers/intakes/export", tag = "employers",
    request_body = ExportRequest,
    responses((status = 200, content_type = "text/csv", body = String), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ExportRequest>,
) -> Result<Response, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_hr()?;
    let p = profile_of(&s.store, e.actor.org_id).await?;
    let (Some(number), Some(name), Some(symbol)) = (
        p.insurer_number.clone(),
        p.insurer_name.clone(),
        p.insurer_symbol.clone(),
    ) else {
        return Err(ApiError::from(Refusal::refused(
            "profile.insurer_missing",
            "set insurer_number, insurer_name and insurer_symbol in the profile first",
        )));
    };
    let insurer = InsurerDetails {
        insurer_number: number,
        insurer_name: name,
        symbol,
    };
    let today = s.clock.today();
    let employees = s.store.employees(e.actor.org_id).await?;
    let chosen: Vec<&EmployeeRow> = match &req.employee_nos {
        Some(nos) => {
            let mut v = Vec::new();
            for n in nos {
                v.push(
                    employees
                        .iter()
                        .find(|x| &x.employee_no == n)
                        .ok_or_else(|| {
                            ApiError::from(Refusal::invalid(
                                "employee_no.unknown",
                                format!("no employee {n}"),
                            ))
                            .with_field("employee_nos")
                        })?,
                );
            }
            v
        }
        None => employees.iter().filter(|x| x.left_on.is_none()).collect(),
    };
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for emp in chosen {
        let row = s.store.intake(emp.id).await?;
        let reason = match &row {
            None => Some("intake.none"),
            Some(r) if !r.has_form => Some("intake.deleted"),
            Some(r) if r.checked_at.is_none() => Some("intake.unchecked"),
            _ => None,
        };
        if let Some(reason) = reason {
            skipped.push(format!("{} ({reason})", emp.employee_no));
            continue;
        }
        let form = open_form(&s, &e, emp, "exported", Purpose::HealthInsurance).await?;
        match intake::enrollment_record(&form, &insurer, &emp.employee_no, emp.hired_on, today) {
            Ok(r) => records.push(r),
            Err(err) => skipped.push(format!("{} ({})", emp.employee_no, err.code())),
        }
    }
    let csv = intake::enrollment_csv(&records)?;
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"shikaku-shutoku.csv\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&skipped.join(", ")) {
        h.insert("x-openmyna-skipped", v);
    }
    Ok((h, csv).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Purged {
    /// The employees whose numbers were deleted now.
    pub deleted: Vec<String>,
}

/// Deletes now the numbers whose retention period has ended (the server also does this
/// daily).
#[utoipa::path(post, path = "/api/v1/employers/intakes/purge", tag = "employers",
    responses((status = 200, body = Purged), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn purge(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Purged>, ApiError> {
    let e = employer(&s, &caller).await?;
    e.require_hr()?;
    let deleted = purge_org(
        &s.store,
        e.actor.org_id,
        &e.name(),
        s.clock.today(),
        &s.clock.now(),
    )
    .await?;
    Ok(axum::Json(Purged { deleted }))
}
