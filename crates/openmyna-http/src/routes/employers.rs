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

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use openmyna_campaigns::intake::{IdentityCheckInput, IntakeForm, Purpose};
use openmyna_core::Role;
use openmyna_services::employers::{self as service, Employer};
use openmyna_store::campaigns::{EmployeeRow, Handling};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created as CreatedAnswer, CreatedOrOk, ErrorBody};
use crate::json::ApiJson;
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;

const EMPLOYERS: &[Role] = &[Role::Employer];

/// Resolves an employer caller (any other role is refused, naming the role needed).
pub(crate) async fn employer(s: &AppState, caller: &Caller) -> Result<Employer, ApiError> {
    Ok(Employer::of(s, caller.require(EMPLOYERS)?).await?)
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

fn profile_view(d: service::ProfileDetails) -> ProfileView {
    let p = d.profile;
    ProfileView {
        organisation: d.organisation,
        corporate_number: d.corporate_number,
        kind: p.kind,
        parent: d.parent,
        industry: d.industry.map(|i| i.as_str().to_owned()),
        industry_name: d.industry.map(|i| i.label_ja().to_owned()),
        retention_years: p.retention_years,
        insurer_number: p.insurer_number,
        insurer_name: p.insurer_name,
        insurer_symbol: p.insurer_symbol,
    }
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
    Ok(axum::Json(profile_view(service::profile(&s, &e).await?)))
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
    let input = service::ProfileInput {
        kind: &req.kind,
        parent_corporate_number: req.parent_corporate_number.as_deref(),
        industry: req.industry.as_deref(),
        retention_years: req.retention_years,
        insurer_number: req.insurer_number.as_deref(),
        insurer_name: req.insurer_name.as_deref(),
        insurer_symbol: req.insurer_symbol.as_deref(),
    };
    Ok(axum::Json(profile_view(
        service::set_profile(&s, &e, &input).await?,
    )))
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
    responses((status = 201, body = Created), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_division(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<DivisionInput>,
) -> Result<CreatedAnswer<axum::Json<Created>>, ApiError> {
    let e = employer(&s, &caller).await?;
    let id = service::create_division(&s, &e, &req.name, req.parent_id).await?;
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
        service::divisions(&s, &e)
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
    let input = service::EmployeeInput {
        employee_no: &req.employee_no,
        name: &req.name,
        division_id: req.division_id,
        hired_on: &req.hired_on,
        left_on: req.left_on.as_deref(),
    };
    let (row, created) = service::upsert_employee(&s, &e, &input).await?;
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
    let all = service::employees(&s, &e).await?;
    Ok(axum::Json(all.into_iter().map(employee_view).collect()))
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
    let (name, no) = (req.name.as_deref(), req.employee_no.as_deref());
    let m = service::create_member(&s, &e, &req.kind, name, no).await?;
    Ok(CreatedAnswer(axum::Json(MemberToken {
        token_id: m.token_id,
        kind: m.kind.to_owned(),
        name: m.name,
        employee_no: m.employee_no,
        token: m.token,
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
        employee_no: e.employee_no().map(str::to_owned),
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

fn intake_status(i: service::Intake) -> IntakeStatus {
    let emp = i.employee;
    let mut out = IntakeStatus {
        employee_no: emp.employee_no,
        name: emp.name,
        status: "none".into(),
        submitted_at: None,
        identity: None,
        deleted_at: None,
        deleted_reason: None,
    };
    let Some(r) = i.row else { return out };
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
    out
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
    let intake = service::submit_my_number(&s, &e, &form).await?;
    Ok(CreatedAnswer(axum::Json(Submitted {
        status: intake_status(intake),
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
    let (intake, handling) = service::own_intake(&s, &e).await?;
    Ok(axum::Json(OwnIntake {
        status: intake_status(intake),
        handling: handling.into_iter().map(handling_view).collect(),
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
    let all = service::intakes(&s, &e).await?;
    Ok(axum::Json(all.into_iter().map(intake_status).collect()))
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
    ApiPath(no): ApiPath<String>,
    ApiJson(req): ApiJson<IdentityCheckInput>,
) -> Result<axum::Json<IntakeStatus>, ApiError> {
    let e = employer(&s, &caller).await?;
    let intake = service::identity_check(&s, &e, &no, &req).await?;
    Ok(axum::Json(intake_status(intake)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeQuery {
    /// health_insurance, employment_insurance, tax_withholding or pension.
    #[param(value_type = Purpose)]
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

/// HR reads an employee's My Number for a stated purpose. Recorded in the handling record
/// and the resident's access log before the answer.
#[utoipa::path(get, path = "/api/v1/employers/intakes/{employee_no}/my-number", tag = "employers",
    params(("employee_no" = String, Path), PurposeQuery),
    responses((status = 200, body = NumberView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read_my_number(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(no): ApiPath<String>,
    ApiQuery(q): ApiQuery<PurposeQuery>,
) -> Result<axum::Json<NumberView>, ApiError> {
    let e = employer(&s, &caller).await?;
    let (emp, form, purpose) = service::read_my_number(&s, &e, &no, &q.purpose).await?;
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
    ApiPath(no): ApiPath<String>,
) -> Result<axum::Json<Vec<HandlingView>>, ApiError> {
    let e = employer(&s, &caller).await?;
    let all = service::handling(&s, &e, &no).await?;
    Ok(axum::Json(all.into_iter().map(handling_view).collect()))
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
    let export = service::export(&s, &e, req.employee_nos.as_deref()).await?;
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
    if let Ok(v) = HeaderValue::from_str(&export.skipped.join(", ")) {
        h.insert("x-openmyna-skipped", v);
    }
    Ok((h, export.csv).into_response())
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
    Ok(axum::Json(Purged {
        deleted: service::purge(&s, &e).await?,
    }))
}
