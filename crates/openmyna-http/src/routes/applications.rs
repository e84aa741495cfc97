//! Card applications (`/api/v1/card-applications…`): the resident applies through a channel
//! with the 申請書ID of the 交付申請書 (or municipal staff take the application on site), the
//! municipality reviews, manufactures, and hands the card over at the window — the resident
//! setting the PINs — or mails it when identity was verified at intake.

use axum::extract::State;
use base64::Engine;
use openmyna_core::Role;
use openmyna_services::applications;
use openmyna_services::issuance::Pins;
use openmyna_store::card_applications::{ApplicationCount, ApplicationRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::json::{ApiPath, ApiQuery};
use crate::state::AppState;

const MUNICIPALITIES: &[Role] = &[Role::Municipality];
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An application as the resident and the municipality see it (never the photo or PINs).
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: i64,
    /// The 申請書ID: shown to the applicant, never in the municipality's lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_id: Option<String>,
    /// The one-time code printed in the envelope of a mailed card; returned once, to the
    /// municipality, when the card is mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_code: Option<String>,
    pub channel: String,
    /// submitted, rejected, accepted, manufactured, mailed, delivered.
    pub status: String,
    pub municipality_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_serial: Option<String>,
    /// The 交付通知書 once the card is made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<serde_json::Value>,
    pub photo: PhotoView,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhotoView {
    pub mime: String,
    pub width: i64,
    pub height: i64,
}

pub(crate) fn view(a: ApplicationRecord) -> ApplicationView {
    ApplicationView {
        id: a.id,
        form_id: Some(a.form_id),
        delivery_code: None,
        channel: a.channel.as_str().to_owned(),
        status: a.status.as_str().to_owned(),
        municipality_code: a.municipality_code,
        reason: a.reason,
        card_serial: a.card_serial,
        notice: a.notice.and_then(|n| serde_json::from_str(&n).ok()),
        photo: PhotoView {
            mime: a.photo_mime,
            width: a.photo_width,
            height: a.photo_height,
        },
        created_at: a.created_at.to_rfc3339(),
        updated_at: a.updated_at.to_rfc3339(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueForm {
    pub resident_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FormView {
    /// The 申請書ID printed and QR-coded on the 交付申請書.
    pub form_id: String,
    pub resident_id: i64,
}

/// Issue a 交付申請書 to a resident (mailed; its QR code carries the 申請書ID).
#[utoipa::path(post, path = "/api/v1/card-application-forms", tag = "applications",
    request_body = IssueForm,
    responses((status = 201, body = FormView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue_form(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<IssueForm>,
) -> Result<Created<axum::Json<FormView>>, ApiError> {
    caller.require(MUNICIPALITIES)?;
    let form = applications::issue_form(&s, req.resident_id).await?;
    Ok(Created(axum::Json(FormView {
        form_id: form.as_str().to_owned(),
        resident_id: req.resident_id,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    /// The 申請書ID from the 交付申請書 (23 digits; the QR code carries it).
    pub form_id: String,
    /// smartphone, pc, photo_booth or mail.
    pub channel: String,
    /// For notices (smartphone and PC applications).
    pub email: Option<String>,
    /// The face photo, base64 of a JPEG or PNG.
    pub photo: String,
}

/// Apply for a card (the resident, or a photo booth, or the mail-processing centre for paper
/// forms). A rejected application is submitted again the same way.
#[utoipa::path(post, path = "/api/v1/card-applications", tag = "applications",
    request_body = Apply,
    responses((status = 201, body = ApplicationView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn apply(
    State(s): State<AppState>,
    client: crate::rate::ClientIp,
    ApiJson(req): ApiJson<Apply>,
) -> Result<Created<axum::Json<ApplicationView>>, ApiError> {
    s.public_rate.admit(client.0, s.clock.now())?;
    let application = applications::apply(
        &s,
        &applications::Application {
            form_id: &req.form_id,
            channel: &req.channel,
            email: req.email.as_deref(),
            photo_base64: &req.photo,
        },
    )
    .await?;
    Ok(Created(axum::Json(view(application))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnSite {
    pub resident_id: i64,
    /// The document staff checked: one of the accepted identity documents.
    pub identity_document: String,
    pub photo: String,
    /// The PINs the applicant chose (kept sealed until the card is made, then forgotten).
    pub auth_pin: String,
    pub sign_password: Option<String>,
    pub assist_pin: Option<String>,
    /// 住民基本台帳用 PIN (default: the authentication PIN).
    pub juki_pin: Option<String>,
}

/// 出張申請受付: staff take an application on site and verify identity; the card will be
/// mailed (本人限定受取郵便) with the PINs chosen here.
#[utoipa::path(post, path = "/api/v1/card-applications/on-site", tag = "applications",
    request_body = OnSite,
    responses((status = 201, body = ApplicationView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn on_site(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<OnSite>,
) -> Result<Created<axum::Json<ApplicationView>>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let application = applications::take_on_site(&s, actor, &req.as_intake(), None).await?;
    Ok(Created(axum::Json(view(application))))
}

impl OnSite {
    /// The intake as the use case takes it.
    pub(crate) fn as_intake(&self) -> applications::OnSite<'_> {
        applications::OnSite {
            resident_id: self.resident_id,
            identity_document: &self.identity_document,
            photo_base64: &self.photo,
            pins: Pins {
                auth: &self.auth_pin,
                sign: self.sign_password.as_deref(),
                assist: self.assist_pin.as_deref(),
                juki: self.juki_pin.as_deref(),
            },
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormQuery {
    /// The 申請書ID, which proves the asker holds the form.
    pub form_id: String,
}

/// The status of an application, for the applicant (who shows the 申請書ID).
#[utoipa::path(get, path = "/api/v1/card-applications/{id}", tag = "applications",
    params(("id" = i64, Path), FormQuery),
    responses((status = 200, body = ApplicationView), (status = 404, body = ErrorBody)))]
pub async fn status(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FormQuery>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    Ok(axum::Json(view(
        applications::for_applicant(&s, id, &q.form_id).await?,
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the applications with this status.
    #[param(value_type = Option<openmyna_applications::Status>)]
    pub status: Option<String>,
}

/// The municipality's applications (its own municipality code), optionally by status.
#[utoipa::path(get, path = "/api/v1/card-applications", tag = "applications", params(ListQuery),
    responses((status = 200, body = [ApplicationView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Vec<ApplicationView>>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let list = applications::list(&s, actor.org_id, q.status.as_deref()).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|a| ApplicationView {
                form_id: None,
                ..view(a)
            })
            .collect(),
    ))
}

/// Counts per municipality, channel and status (for the statistics and campaign pages).
#[utoipa::path(get, path = "/api/v1/card-applications/stats", tag = "applications",
    responses((status = 200, body = [ApplicationCountView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<ApplicationCountView>>, ApiError> {
    caller.require(&[Role::Municipality, Role::Operator, Role::Employer])?;
    Ok(axum::Json(
        applications::stats(&s)
            .await?
            .into_iter()
            .map(|c: ApplicationCount| ApplicationCountView {
                municipality_code: c.municipality_code,
                channel: c.channel,
                status: c.status,
                count: c.count,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationCountView {
    pub municipality_code: String,
    pub channel: String,
    pub status: String,
    pub count: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// accept or reject.
    pub decision: String,
    /// Why it is rejected (shown to the applicant), e.g. "写真の背景に影があります".
    pub reason: Option<String>,
}

/// Review an application: accept, or reject with a reason the applicant sees.
#[utoipa::path(post, path = "/api/v1/card-applications/{id}/review", tag = "applications",
    params(("id" = i64, Path)), request_body = Review,
    responses((status = 200, body = ApplicationView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Review>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let decision = applications::Decision::parse(&req.decision, req.reason.as_deref())?;
    Ok(axum::Json(view(
        applications::review(&s, actor, id, decision).await?,
    )))
}

/// Manufacture the card of an accepted application: keys generated on the card and its data
/// written. Then a 交付通知書 goes to the applicant — or, when identity was verified at intake,
/// the card is activated with the PINs chosen there and mailed.
#[utoipa::path(post, path = "/api/v1/card-applications/{id}/manufacture", tag = "applications",
    params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationView), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn manufacture(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let made = applications::manufacture(&s, actor, id).await?;
    Ok(axum::Json(ApplicationView {
        delivery_code: made.delivery_code,
        ..view(made.application)
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOver {
    /// The document staff checked at the window.
    pub identity_document: String,
    /// The four PINs the resident sets now (assist and juki default to the auth PIN).
    pub auth_pin: String,
    pub sign_password: Option<String>,
    pub assist_pin: Option<String>,
    pub juki_pin: Option<String>,
}

/// The card handed over (a card file: the chip), never kept by the server afterwards.
#[derive(Serialize, ToSchema)]
pub struct Delivered {
    pub application: ApplicationView,
    /// The card file, base64.
    pub card: String,
}

/// Hand the card over at the window: identity checked, the resident sets the PINs, both
/// certificates are issued onto the card. Earlier cards of the resident are replaced.
#[utoipa::path(post, path = "/api/v1/card-applications/{id}/handover", tag = "applications",
    params(("id" = i64, Path)), request_body = HandOver,
    responses((status = 200, body = Delivered), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn handover(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<HandOver>,
) -> Result<axum::Json<Delivered>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let pins = Pins {
        auth: &req.auth_pin,
        sign: req.sign_password.as_deref(),
        assist: req.assist_pin.as_deref(),
        juki: req.juki_pin.as_deref(),
    };
    let delivery = applications::handover(&s, actor, id, &req.identity_document, &pins).await?;
    Ok(axum::Json(delivered(delivery)))
}

fn delivered(d: applications::Delivery) -> Delivered {
    Delivered {
        application: view(d.application),
        card: B64.encode(d.card),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receive {
    /// The 申請書ID given at intake (the addressee proves it is theirs).
    pub form_id: String,
    /// The one-time code printed in the envelope.
    pub delivery_code: String,
}

/// The mailed card is received by the applicant (本人限定受取郵便).
#[utoipa::path(post, path = "/api/v1/card-applications/{id}/receive", tag = "applications",
    params(("id" = i64, Path)), request_body = Receive,
    responses((status = 200, body = Delivered), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn receive(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Receive>,
) -> Result<axum::Json<Delivered>, ApiError> {
    let delivery = applications::receive(&s, id, &req.form_id, &req.delivery_code).await?;
    Ok(axum::Json(delivered(delivery)))
}
