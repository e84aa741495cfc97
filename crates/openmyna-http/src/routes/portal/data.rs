//! The citizen's own data: the basic four information, insurance and 利用登録, medical history, and
//! the medical-expense notices.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use openmyna_eligibility::medical::MedicalData;
use openmyna_eligibility::{RecordView, Registration};
use openmyna_services::portal::{self};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;

use super::Citizen;

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    /// 1 男, 2 女, 9 適用不能.
    pub sex: u8,
    pub address: String,
    pub postal_code: Option<String>,
    /// The My Number with all but the last four digits hidden.
    pub my_number: String,
}

/// The citizen's basic four information.
#[utoipa::path(get, path = "/api/v1/portal/me", tag = "portal",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, c: Citizen) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(Me::of(&portal::me(&s, &c).await?)))
}

impl Me {
    pub(crate) fn of(r: &openmyna_registry::Resident) -> Me {
        let n = r.my_number.expose();
        Me {
            name: r.basic4.name.name.clone(),
            name_kana: r.basic4.name.name_kana.clone(),
            birth_date: r.basic4.birth_date.to_string(),
            sex: r.basic4.sex.code(),
            address: r.basic4.address.text.clone(),
            postal_code: r
                .basic4
                .address
                .postal_code
                .as_ref()
                .map(|p| p.as_str().to_owned()),
            my_number: format!(
                "********{}",
                n.get(n.len().saturating_sub(4)..).unwrap_or("")
            ),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Insurance {
    /// 利用登録 of the card, if made.
    pub registration: Option<Registration>,
    /// The records valid today (held ones excluded until the insurer corrects them).
    pub records: Vec<RecordView>,
}

/// The citizen's health-insurance eligibility today and the card's 利用登録.
#[utoipa::path(get, path = "/api/v1/portal/insurance", tag = "portal",
    responses((status = 200, body = Insurance), (status = 401, body = ErrorBody)))]
pub async fn insurance(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Insurance>, ApiError> {
    let i = portal::insurance(&s, &c).await?;
    Ok(axum::Json(Insurance {
        registration: i.registration,
        records: i.records,
    }))
}

/// 利用登録 from the portal: the card that opened this session becomes usable as a
/// health-insurance card (an earlier registration is kept).
#[utoipa::path(post, path = "/api/v1/portal/insurance/registration", tag = "portal",
    responses((status = 200, body = Registration), (status = 401, body = ErrorBody)))]
pub async fn register_insurance(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Registration>, ApiError> {
    Ok(axum::Json(portal::register_insurance(&s, &c).await?))
}

/// The citizen's own medication, treatment or check-up history (5 years), surgery included.
#[utoipa::path(get, path = "/api/v1/portal/medical/{kind}", tag = "portal",
    params(("kind" = openmyna_eligibility::MedicalKind, Path, description = "medication, treatment, checkup or expense")),
    responses((status = 200, body = Vec<MedicalData>), (status = 401, body = ErrorBody)))]
pub async fn medical(
    State(s): State<AppState>,
    c: Citizen,
    ApiPath(kind): ApiPath<String>,
) -> Result<axum::Json<Vec<MedicalData>>, ApiError> {
    Ok(axum::Json(portal::medical(&s, &c, &kind).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpenseFormat {
    /// json (default), xml or csv.
    #[param(value_type = Option<ExpenseFileFormat>)]
    pub format: Option<String>,
}

/// The forms of the medical-expense notices.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpenseFileFormat {
    Json,
    Xml,
    Csv,
}

#[derive(Serialize, ToSchema)]
pub struct ExpenseNotices {
    pub header: openmyna_portal::expenses::NoticeHeader,
    pub lines: Vec<openmyna_portal::expenses::NoticeLine>,
}

/// 医療費通知情報 for one calendar year, for the tax return's medical-expense deduction: as
/// JSON, as XML (`?format=xml`, layout in docs/portal.md) or as CSV (`?format=csv`).
#[utoipa::path(get, path = "/api/v1/portal/medical-expenses/{year}", tag = "portal",
    params(("year" = i32, Path), ExpenseFormat),
    responses((status = 200, body = ExpenseNotices), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn medical_expenses(
    State(s): State<AppState>,
    c: Citizen,
    ApiPath(year): ApiPath<i32>,
    ApiQuery(q): ApiQuery<ExpenseFormat>,
) -> Result<Response, ApiError> {
    use openmyna_portal::expenses::{to_csv, to_xml};
    let (header, lines) = portal::medical_expenses(&s, &c, year).await?;
    let format = q.format.as_deref().unwrap_or("json");
    let file = format!("iryohi-tsuchi-{year}.{format}");
    Ok(match format {
        "json" => axum::Json(ExpenseNotices { header, lines }).into_response(),
        "xml" => download(
            to_xml(&header, &lines),
            "application/xml; charset=utf-8",
            &file,
        ),
        "csv" => download(to_csv(&header, &lines), "text/csv; charset=utf-8", &file),
        _ => {
            return Err(ApiError::bad_request(
                "format.unknown",
                "format is json, xml or csv",
            ));
        }
    })
}

/// A file to download, never cached.
fn download(body: String, ctype: &'static str, file: &str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
