//! Card applications (`/api/v1/card-applications…`): the resident applies through a channel
//! with the 申請書ID of the 交付申請書 (or municipal staff take the application on site), the
//! municipality reviews, manufactures, and hands the card over at the window — the resident
//! setting the PINs — or mails it when identity was verified at intake.

use axum::extract::{Path, Query, State};
use base64::Engine;
use openmyna_applications::{
    Channel, FormId, Status, Step, check_identity_document, check_photo, transition,
};
use openmyna_card::KeyId;
use openmyna_cardio::CardFile;
use openmyna_core::Refusal;
use openmyna_core::Role;
use openmyna_store::card_applications::{
    ApplicationCount, ApplicationRecord, NewApplication, StatusChange,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::state::AppState;
use openmyna_services::issuance::{self, Pins};

const MUNICIPALITIES: &[Role] = &[Role::Municipality];
const PIN_CONTEXT: &str = "card-application-pins";
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
        channel: a.channel,
        status: a.status,
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

/// The caller's municipality code (5 digits, without the check digit).
pub(crate) async fn own_municipality(s: &AppState, org_id: i64) -> Result<String, ApiError> {
    let code = s
        .store
        .organisation(org_id)
        .await?
        .and_then(|o| o.code)
        .ok_or_else(|| {
            ApiError::from(Refusal::forbidden(
                "organisation.no_code",
                "this municipality organisation has no municipality code",
            ))
        })?;
    Ok(code.chars().take(5).collect())
}

/// An application of the caller's municipality (another municipality's is "not found").
async fn load_own(s: &AppState, org_id: i64, id: i64) -> Result<ApplicationRecord, ApiError> {
    let own = own_municipality(s, org_id).await?;
    let a = load(s, id).await?;
    if !a.municipality_code.starts_with(&own) {
        return Err(ApiError::not_found(
            "application.not_found",
            format!("no application {id}"),
        ));
    }
    Ok(a)
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) async fn load(s: &AppState, id: i64) -> Result<ApplicationRecord, ApiError> {
    s.store
        .application(id)
        .await?
        .ok_or_else(|| ApiError::not_found("application.not_found", format!("no application {id}")))
}

fn status_of(a: &ApplicationRecord) -> Result<Status, ApiError> {
    Status::parse(&a.status)
        .ok_or_else(|| ApiError::internal("applications", &format!("unknown status {}", a.status)))
}

fn decode_photo(b64: &str) -> Result<Vec<u8>, ApiError> {
    B64.decode(b64.trim()).map_err(|_| {
        ApiError::from(Refusal::invalid(
            "photo.base64",
            "photo must be the base64 of a JPEG or PNG file",
        ))
        .with_field("photo")
    })
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
    issuance::active_resident(
        &s.store,
        s.clock.as_ref(),
        s.entropy.as_ref(),
        req.resident_id,
    )
    .await?;
    let form = new_form(&s, req.resident_id).await?;
    Ok(Created(axum::Json(FormView {
        form_id: form.as_str().to_owned(),
        resident_id: req.resident_id,
    })))
}

async fn new_form(s: &AppState, resident_id: i64) -> Result<FormId, ApiError> {
    let mut digits = [0u8; 22];
    s.entropy.fill(&mut digits);
    let form = FormId::from_body(&digits);
    s.store
        .insert_application_form(form.as_str(), resident_id, &s.clock.now())
        .await?;
    Ok(form)
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
              (status = 422, body = ErrorBody)))]
pub async fn apply(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<Apply>,
) -> Result<Created<axum::Json<ApplicationView>>, ApiError> {
    let channel = Channel::parse(&req.channel)
        .filter(|c| *c != Channel::OnSite)
        .ok_or_else(|| {
            ApiError::from(Refusal::invalid(
                "channel.unknown",
                "channel must be smartphone, pc, photo_booth or mail",
            ))
            .with_field("channel")
        })?;
    let form = FormId::parse(&req.form_id).map_err(|e| ApiError::from(e).with_field("form_id"))?;
    let resident_id = s
        .store
        .application_form(form.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::from(Refusal::invalid(
                "form_id.unknown",
                "no 交付申請書 was issued with this application ID",
            ))
            .with_field("form_id")
        })?;
    let email = match (channel.needs_email(), req.email.as_deref().map(str::trim)) {
        (true, Some(e))
            if e.contains('@') && e.len() <= 254 && !e.contains(char::is_whitespace) =>
        {
            Some(e)
        }
        (true, _) => {
            return Err(ApiError::from(Refusal::invalid(
                "email.invalid",
                "an e-mail address is required for online applications",
            ))
            .with_field("email"));
        }
        (false, _) => None,
    };
    let photo = decode_photo(&req.photo)?;
    let info = check_photo(&photo).map_err(|e| ApiError::from(e).with_field("photo"))?;
    let resident =
        issuance::active_resident(&s.store, s.clock.as_ref(), s.entropy.as_ref(), resident_id)
            .await?;
    let new = NewApplication {
        form_id: form.as_str(),
        resident_id,
        municipality_code: resident.basic4.address.municipality_code.as_str(),
        channel: channel.as_str(),
        email,
        photo: &photo,
        photo_mime: info.mime,
        photo_width: i64::from(info.width),
        photo_height: i64::from(info.height),
        identity_document: None,
        pins_sealed: None,
        at: s.clock.now(),
        actor: channel.as_str(),
    };
    let id = match s.store.application_by_form(form.as_str()).await? {
        None => s.store.insert_application(&new).await?,
        Some(a) => {
            transition(status_of(&a)?, Step::Resubmit).map_err(|_| {
                ApiError::from(Refusal::refused(
                    "application.exists",
                    format!("an application with this ID is already {}", a.status),
                ))
            })?;
            if !s.store.resubmit_application(a.id, &new).await? {
                return Err(ApiError::from(Refusal::refused(
                    "application.concurrent",
                    "the application changed meanwhile; try again",
                )));
            }
            a.id
        }
    };
    Ok(Created(axum::Json(view(load(&s, id).await?))))
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
    let id = take_on_site(&s, actor, &req, None).await?;
    Ok(Created(axum::Json(view(load(&s, id).await?))))
}

/// Takes an application on site (identity verified by the staff of `actor`'s municipality);
/// returns its id. Also used by the campaigns' on-site sessions, which take the residents of
/// `only_municipality` only.
pub(crate) async fn take_on_site(
    s: &AppState,
    actor: &openmyna_core::Actor,
    req: &OnSite,
    only_municipality: Option<&str>,
) -> Result<i64, ApiError> {
    check_identity_document(&req.identity_document)
        .map_err(|e| ApiError::from(e).with_field("identity_document"))?;
    let photo = decode_photo(&req.photo)?;
    let info = check_photo(&photo).map_err(|e| ApiError::from(e).with_field("photo"))?;
    let resident = issuance::active_resident(
        &s.store,
        s.clock.as_ref(),
        s.entropy.as_ref(),
        req.resident_id,
    )
    .await?;
    if let Some(m) = only_municipality
        && !resident
            .basic4
            .address
            .municipality_code
            .as_str()
            .starts_with(m)
    {
        return Err(ApiError::from(Refusal::refused(
            "session.other_municipality",
            "this resident lives in another municipality; they apply there",
        )));
    }
    let pins = issuance::check_pins(
        issuance::with_signing(&resident, s.clock.today()),
        &Pins {
            auth: &req.auth_pin,
            sign: req.sign_password.as_deref(),
            assist: req.assist_pin.as_deref(),
            juki: req.juki_pin.as_deref(),
        },
    )?;
    let sealed = s.store.keys().seal(
        PIN_CONTEXT,
        serde_json::json!({"auth": pins.auth, "sign": pins.sign, "assist": pins.assist, "juki": pins.juki})
            .to_string()
            .as_bytes(),
    )?;
    let form = new_form(s, req.resident_id).await?;
    let id = s
        .store
        .insert_application(&NewApplication {
            form_id: form.as_str(),
            resident_id: req.resident_id,
            municipality_code: resident.basic4.address.municipality_code.as_str(),
            channel: Channel::OnSite.as_str(),
            email: None,
            photo: &photo,
            photo_mime: info.mime,
            photo_width: i64::from(info.width),
            photo_height: i64::from(info.height),
            identity_document: Some(&req.identity_document),
            pins_sealed: Some(&sealed),
            at: s.clock.now(),
            actor: &actor.org_name,
        })
        .await?;
    Ok(id)
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
    Path(id): Path<i64>,
    Query(q): Query<FormQuery>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    let a = load(&s, id).await?;
    if !same_secret(&a.form_id, &q.form_id.replace(['-', ' '], "")) {
        return Err(ApiError::not_found(
            "application.not_found",
            format!("no application {id}"),
        ));
    }
    Ok(axum::Json(view(a)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<String>,
}

/// The municipality's applications (its own municipality code), optionally by status.
#[utoipa::path(get, path = "/api/v1/card-applications", tag = "applications", params(ListQuery),
    responses((status = 200, body = [ApplicationView]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Vec<ApplicationView>>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let own = own_municipality(&s, actor.org_id).await?;
    let list: Vec<ApplicationRecord> = s
        .store
        .applications(None, q.status.as_deref())
        .await?
        .into_iter()
        .filter(|a| a.municipality_code.starts_with(&own))
        .collect();
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
        s.store
            .application_counts()
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

async fn step(
    s: &AppState,
    a: &ApplicationRecord,
    step: Step,
    actor: &str,
    detail: &str,
    change: &StatusChange<'_>,
) -> Result<Status, ApiError> {
    let to = transition(status_of(a)?, step).map_err(ApiError::from)?;
    if !s
        .store
        .set_application_status(
            a.id,
            &a.status,
            to.as_str(),
            &s.clock.now(),
            actor,
            detail,
            change,
        )
        .await?
    {
        return Err(ApiError::from(Refusal::refused(
            "application.concurrent",
            "the application changed meanwhile; try again",
        )));
    }
    Ok(to)
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
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<Review>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let a = load_own(&s, actor.org_id, id).await?;
    match req.decision.as_str() {
        "accept" => {
            step(
                &s,
                &a,
                Step::Accept,
                &actor.org_name,
                "accepted",
                &StatusChange::default(),
            )
            .await?;
        }
        "reject" => {
            let reason = req
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty() && r.chars().count() <= 200)
                .ok_or_else(|| {
                    ApiError::from(Refusal::invalid(
                        "review.reason",
                        "a rejection needs a reason of 1-200 characters",
                    ))
                    .with_field("reason")
                })?;
            step(
                &s,
                &a,
                Step::Reject,
                &actor.org_name,
                reason,
                &StatusChange {
                    reason: Some(reason),
                    // PINs chosen at an on-site intake are not kept for a rejected application.
                    forget_pins: true,
                    ..Default::default()
                },
            )
            .await?;
        }
        _ => {
            return Err(ApiError::from(Refusal::invalid(
                "review.decision",
                "decision is accept or reject",
            ))
            .with_field("decision"));
        }
    }
    Ok(axum::Json(view(load(&s, id).await?)))
}

fn card_path(s: &AppState, id: i64) -> std::path::PathBuf {
    s.card_dir.join(format!("application-{id}.json"))
}

fn ensure_card_dir(s: &AppState) -> Result<(), ApiError> {
    use std::os::unix::fs::DirBuilderExt;
    use std::os::unix::fs::PermissionsExt;
    if !s.card_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&s.card_dir)
            .map_err(|e| ApiError::internal("applications", &e))?;
    }
    std::fs::set_permissions(&s.card_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| ApiError::internal("applications", &e))?;
    Ok(())
}

fn manufactured_from(state: openmyna_card::CardState) -> Result<issuance::Manufactured, ApiError> {
    let key = |k: KeyId| -> Result<Option<Vec<u8>>, ApiError> {
        state
            .keys
            .get(&k)
            .map(|p| p.public_spki())
            .transpose()
            .map_err(ApiError::from)
    };
    let auth_spki = key(KeyId::Auth)?
        .ok_or_else(|| ApiError::internal("applications", &"the card has no authentication key"))?;
    let sign_spki = key(KeyId::Sign)?;
    let expiry = chrono::NaiveDate::parse_from_str(&state.expiry, "%Y-%m-%d")
        .map_err(|e| ApiError::internal("applications", &e))?;
    Ok(issuance::Manufactured {
        serial: state.serial.clone(),
        state,
        expiry,
        auth_spki,
        sign_spki,
    })
}

/// Activates the card waiting for application `a`, writes it, records it; on failure the
/// certificates are revoked again.
async fn activate_pending(
    s: &AppState,
    a: &ApplicationRecord,
    pins: &issuance::CheckedPins,
    actor: &str,
) -> Result<issuance::Manufactured, ApiError> {
    let file =
        CardFile::open(card_path(s, a.id)).map_err(|e| ApiError::internal("applications", &e))?;
    let mut card = manufactured_from(
        file.load()
            .map_err(|e| ApiError::internal("applications", &e))?,
    )?;
    let resident = issuance::active_resident(
        &s.store,
        s.clock.as_ref(),
        s.entropy.as_ref(),
        a.resident_id,
    )
    .await?;
    let issued = issuance::activate(&s.jpki, &resident, &mut card, pins).await?;
    let saved = file
        .save(&card.state)
        .map_err(openmyna_services::ServiceError::from);
    let recorded = match saved {
        Ok(()) => {
            issuance::record(&s.store, &s.jpki, s.clock.as_ref(), &card, &issued, actor).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        issuance::revoke_unissued(&s.jpki, &issued).await;
        return Err(e.into());
    }
    Ok(card)
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
    Path(id): Path<i64>,
) -> Result<axum::Json<ApplicationView>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let a = load_own(&s, actor.org_id, id).await?;
    let verified = a.identity_document.is_some();
    transition(
        status_of(&a)?,
        Step::Manufacture {
            identity_verified_at_intake: verified,
        },
    )
    .map_err(ApiError::from)?;
    let resident = issuance::active_resident(
        &s.store,
        s.clock.as_ref(),
        s.entropy.as_ref(),
        a.resident_id,
    )
    .await?;
    let card = issuance::manufacture(
        &s.store,
        s.clock.as_ref(),
        s.entropy.as_ref(),
        &resident,
        None,
    )
    .await?;
    ensure_card_dir(&s)?;
    let path = card_path(&s, id);
    // A card left by an earlier attempt that failed before the status changed has no
    // certificates or PINs; it is replaced.
    if path.exists() {
        std::fs::remove_file(&path).map_err(|e| ApiError::internal("applications", &e))?;
    }
    CardFile::create(&path, &card.state).map_err(|e| ApiError::internal("applications", &e))?;
    let today = s.clock.today();
    let mut delivery_code = None;
    if verified {
        let sealed = s.store.application_pins(id).await?.ok_or_else(|| {
            ApiError::from(Refusal::refused(
                "application.pins",
                "the PINs chosen at intake are no longer held",
            ))
        })?;
        let pins: serde_json::Value =
            serde_json::from_slice(&s.store.keys().open(PIN_CONTEXT, &sealed)?)
                .map_err(|e| ApiError::internal("applications", &e))?;
        let text = |k: &str| pins.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        // Checked again against the card (the applicant may have turned 15 since the intake).
        let (auth, sign, assist, juki) = (text("auth"), text("sign"), text("assist"), text("juki"));
        let checked = match issuance::check_pins(
            card.sign_spki.is_some(),
            &Pins {
                auth: auth.as_deref().unwrap_or_default(),
                sign: sign.as_deref(),
                assist: assist.as_deref(),
                juki: juki.as_deref(),
            },
        ) {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e.into());
            }
        };
        let card = match activate_pending(&s, &a, &checked, &actor.org_name).await {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        let notice = serde_json::json!({"kind": "本人限定受取郵便", "card_serial": card.serial, "mailed_on": today.to_string()});
        let mut raw = [0u8; 10];
        s.entropy.fill(&mut raw);
        let code: String = raw.iter().map(|b| format!("{:02}", b % 100)).collect();
        let code_hash = openmyna_store::crypto::sha256_hex(code.as_bytes());
        step(
            &s,
            &a,
            Step::Manufacture {
                identity_verified_at_intake: true,
            },
            &actor.org_name,
            "manufactured, activated with the PINs chosen at intake, mailed",
            &StatusChange {
                card_serial: Some(&card.serial),
                notice: Some(&notice.to_string()),
                forget_pins: true,
                delivery_code_sha256: Some(&code_hash),
                ..Default::default()
            },
        )
        .await?;
        delivery_code = Some(code);
    } else {
        let deadline = today
            .checked_add_months(chrono::Months::new(3))
            .unwrap_or(today);
        let notice = serde_json::json!({
            "kind": "交付通知書",
            "card_serial": card.serial,
            "come_to": format!("the card window of municipality {}", a.municipality_code),
            "by": deadline.to_string(),
            "bring": ["this notice", "an identity document (driver_license, passport, residence_card, …)", "the notification card (通知カード) if you have one"],
        });
        step(
            &s,
            &a,
            Step::Manufacture {
                identity_verified_at_intake: false,
            },
            &actor.org_name,
            "manufactured; 交付通知書 sent",
            &StatusChange {
                card_serial: Some(&card.serial),
                notice: Some(&notice.to_string()),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(axum::Json(ApplicationView {
        delivery_code,
        ..view(load(&s, id).await?)
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

fn deliver(s: &AppState, id: i64) -> Result<String, ApiError> {
    let path = card_path(s, id);
    let bytes = std::fs::read(&path).map_err(|e| ApiError::internal("applications", &e))?;
    Ok(B64.encode(bytes))
}

fn forget_card(s: &AppState, id: i64) {
    let path = card_path(s, id);
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::error!(application = id, error = %e, "could not remove a delivered card file");
    }
    let _ = std::fs::File::open(&s.card_dir).and_then(|d| d.sync_all());
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
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<HandOver>,
) -> Result<axum::Json<Delivered>, ApiError> {
    let actor = caller.require(MUNICIPALITIES)?;
    let a = load_own(&s, actor.org_id, id).await?;
    transition(status_of(&a)?, Step::Claim).map_err(ApiError::from)?;
    check_identity_document(&req.identity_document)
        .map_err(|e| ApiError::from(e).with_field("identity_document"))?;
    let file =
        CardFile::open(card_path(&s, id)).map_err(|e| ApiError::internal("applications", &e))?;
    let with_signing = file
        .load()
        .map_err(|e| ApiError::internal("applications", &e))?
        .keys
        .contains_key(&KeyId::Sign);
    let pins = issuance::check_pins(
        with_signing,
        &Pins {
            auth: &req.auth_pin,
            sign: req.sign_password.as_deref(),
            assist: req.assist_pin.as_deref(),
            juki: req.juki_pin.as_deref(),
        },
    )?;
    // One handover at a time: claim the card before anything is issued.
    step(
        &s,
        &a,
        Step::Claim,
        &actor.org_name,
        "handover started",
        &StatusChange::default(),
    )
    .await?;
    let claimed = load(&s, id).await?;
    let handed = async {
        activate_pending(&s, &claimed, &pins, &actor.org_name).await?;
        let card = deliver(&s, id)?;
        step(
            &s,
            &claimed,
            Step::HandOver,
            &actor.org_name,
            &format!(
                "handed over at the window; identity checked with {}",
                req.identity_document
            ),
            &StatusChange::default(),
        )
        .await?;
        Ok::<String, ApiError>(card)
    }
    .await;
    let card = match handed {
        Ok(card) => card,
        Err(e) => {
            // The card waits again; a retry activates it anew.
            let _ = step(
                &s,
                &claimed,
                Step::Release,
                &actor.org_name,
                &format!("handover failed: {}", e.code()),
                &StatusChange::default(),
            )
            .await;
            return Err(e);
        }
    };
    forget_card(&s, id);
    Ok(axum::Json(Delivered {
        application: view(load(&s, id).await?),
        card,
    }))
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
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<Receive>,
) -> Result<axum::Json<Delivered>, ApiError> {
    let a = load(&s, id).await?;
    let stored = s
        .store
        .application_delivery_code(id)
        .await?
        .unwrap_or_default();
    if !same_secret(&a.form_id, &req.form_id.replace(['-', ' '], ""))
        || !same_secret(
            &stored,
            &openmyna_store::crypto::sha256_hex(req.delivery_code.trim().as_bytes()),
        )
    {
        return Err(ApiError::not_found(
            "application.not_found",
            format!("no application {id} with this ID and delivery code"),
        ));
    }
    transition(status_of(&a)?, Step::Receive).map_err(ApiError::from)?;
    let card = deliver(&s, id)?;
    step(
        &s,
        &a,
        Step::Receive,
        "本人限定受取郵便",
        "received by the applicant",
        &StatusChange::default(),
    )
    .await?;
    forget_card(&s, id);
    Ok(axum::Json(Delivered {
        application: view(load(&s, id).await?),
        card,
    }))
}
