//! `/api/v1/registry`: the resident registry (住民基本台帳).
//!
//! Municipalities register residents and record changes, and see the My Number and resident
//! code. The operator may read residents for support and statistics but never sees those
//! numbers. Every read of a resident is recorded in the resident's access log.

use axum::extract::State;
use axum::http::HeaderMap;
use openmyna_core::{Actor, Role};
use openmyna_registry::{
    AddressInput, ChangeKind, HistoryEntry, NewResidentInput, Registry, Resident, ResidentId,
    ResidentStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::ApiJson;
use crate::json::ApiPath;
use crate::state::AppState;

/// Roles that may see a My Number and resident code from the registry.
const NUMBER_ENTITLED: &[Role] = &[Role::Municipality];
const READERS: &[Role] = &[Role::Municipality, Role::Operator];
const WRITERS: &[Role] = &[Role::Municipality];

#[derive(Serialize, ToSchema)]
pub struct AddressView {
    /// 全国地方公共団体コード (6 digits with check digit).
    #[schema(example = "131016")]
    pub municipality_code: String,
    #[schema(example = "100-0013")]
    pub postal_code: Option<String>,
    #[schema(example = "東京都千代田区霞が関一丁目1番1号")]
    pub text: String,
}

/// A resident as shown to an organisation. `my_number` and `resident_code` are present only
/// for roles entitled to them (municipality).
#[derive(Serialize, ToSchema)]
pub struct ResidentView {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "123456789018")]
    pub my_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resident_code: Option<String>,
    #[schema(example = "山田\u{3000}太郎")]
    pub name: String,
    #[schema(example = "ヤマダ\u{3000}タロウ")]
    pub name_kana: String,
    #[schema(example = "1990-05-01")]
    pub birth_date: String,
    /// JIS X 0303: 1 男, 2 女, 9 適用不能.
    #[schema(example = 1)]
    pub sex: u8,
    pub address: AddressView,
    pub status: ResidentStatus,
    pub status_date: Option<String>,
    pub registered_at: String,
    pub updated_at: String,
    pub version: i64,
}

fn view(r: &Resident, actor: &Actor) -> ResidentView {
    let entitled = NUMBER_ENTITLED.contains(&actor.role);
    let a = &r.basic4.address;
    ResidentView {
        id: r.id.0,
        my_number: entitled.then(|| r.my_number.expose().to_owned()),
        resident_code: entitled.then(|| r.resident_code.as_str().to_owned()),
        name: r.basic4.name.name.clone(),
        name_kana: r.basic4.name.name_kana.clone(),
        birth_date: r.basic4.birth_date.to_string(),
        sex: r.basic4.sex.code(),
        address: AddressView {
            municipality_code: a.municipality_code.as_str().to_owned(),
            postal_code: a.postal_code.as_ref().map(|p| p.as_str().to_owned()),
            text: a.text.clone(),
        },
        status: r.status,
        status_date: r.status_date.map(|d| d.to_string()),
        registered_at: r.registered_at.to_rfc3339(),
        updated_at: r.updated_at.to_rfc3339(),
        version: r.version,
    }
}

fn registry(s: &AppState) -> Registry<'_, openmyna_store::Store> {
    Registry::new(&s.store, s.clock.as_ref(), s.entropy.as_ref())
}

pub(crate) fn parse_id(id: &str) -> Result<ResidentId, ApiError> {
    Ok(ResidentId::parse(id)?)
}

/// The purpose of a read, from the `X-Purpose` header (recorded in the access log).
pub(crate) fn purpose(headers: &HeaderMap, default: &str) -> String {
    headers
        .get("x-purpose")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Lets subscribers act on the change before it is acknowledged (the JPKI revokes the
/// signing certificate, so OCSP already answers "revoked" when the caller sees the change).
async fn after_change(s: &AppState) -> Result<(), ApiError> {
    openmyna_services::registry_sync::sync_registry_to_jpki(s).await?;
    Ok(())
}

/// Records the disclosure of a resident's data to `actor`, before it is sent.
async fn disclose(
    s: &AppState,
    r: &Resident,
    actor: &Actor,
    purpose: &str,
) -> Result<(), ApiError> {
    let category = if NUMBER_ENTITLED.contains(&actor.role) {
        "registry.basic4+my_number"
    } else {
        "registry.basic4"
    };
    s.store
        .access()
        .record_access(
            r.id.0,
            actor,
            &s.clock.now(),
            category,
            purpose,
            "resident record read",
        )
        .await?;
    Ok(())
}

/// Register a resident (住民登録). A unique My Number is assigned unless `my_number` is given.
#[utoipa::path(post, path = "/api/v1/registry/residents", tag = "registry",
    request_body = NewResidentInput,
    responses(
        (status = 201, body = ResidentView, description = "registered"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "My Number already assigned"),
        (status = 422, body = ErrorBody, description = "a rule failed; `code` names it")),
    security(("bearer" = [])))]
pub async fn register(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewResidentInput>,
) -> Result<Created<axum::Json<ResidentView>>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s).register(&input, actor).await?;
    tracing::info!(resident = r.id.0, org = actor.org_id, "resident registered");
    Ok(Created(axum::Json(view(&r, actor))))
}

/// Read a resident. Recorded in the resident's access log (purpose from `X-Purpose`).
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}", tag = "registry",
    params(("id" = i64, Path, description = "resident id"),
           ("X-Purpose" = Option<String>, Header, description = "why the record is read; logged")),
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(READERS)?;
    let r = registry(&s).get(parse_id(&id)?).await?;
    disclose(&s, &r, actor, &purpose(&headers, "registry read")).await?;
    Ok(axum::Json(view(&r, actor)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The My Number to look up (sent in the body so that it never appears in a URL or log).
    pub my_number: String,
}

/// Find a resident by My Number (municipalities only).
#[utoipa::path(post, path = "/api/v1/registry/residents/search", tag = "registry",
    request_body = SearchRequest,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(NUMBER_ENTITLED)?;
    let r = registry(&s).find_by_my_number(&req.my_number).await?;
    disclose(&s, &r, actor, &purpose(&headers, "lookup by My Number")).await?;
    Ok(axum::Json(view(&r, actor)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressChange {
    pub address: AddressInput,
    /// Date the move took effect (default: today).
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Record a move (転居・転入). Publishes `address_changed`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/address", tag = "registry",
    params(("id" = i64, Path)), request_body = AddressChange,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_address(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AddressChange>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s)
        .change_address(
            parse_id(&id)?,
            &req.address,
            req.effective_date.as_deref(),
            req.reason,
            actor,
        )
        .await?;
    after_change(&s).await?;
    Ok(axum::Json(view(&r, actor)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameChange {
    pub name: String,
    pub name_kana: String,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Record a change of name (氏名変更). Publishes `name_changed`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/name", tag = "registry",
    params(("id" = i64, Path)), request_body = NameChange,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_name(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NameChange>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s)
        .change_name(
            parse_id(&id)?,
            &req.name,
            &req.name_kana,
            req.effective_date.as_deref(),
            req.reason,
            actor,
        )
        .await?;
    after_change(&s).await?;
    Ok(axum::Json(view(&r, actor)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub sex: Option<i64>,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Correct the birth date and/or sex (職権修正). Publishes `corrected`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/correction", tag = "registry",
    params(("id" = i64, Path)), request_body = Correction,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn correct(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Correction>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s)
        .correct(
            parse_id(&id)?,
            req.birth_date.as_deref(),
            req.sex,
            req.effective_date.as_deref(),
            req.reason,
            actor,
        )
        .await?;
    after_change(&s).await?;
    Ok(axum::Json(view(&r, actor)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// Date of death or removal.
    #[schema(example = "2026-04-01")]
    pub date: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Record a death (死亡). Publishes `died`; the record is closed.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/death", tag = "registry",
    params(("id" = i64, Path)), request_body = Closure,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn death(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Closure>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s)
        .record_death(parse_id(&id)?, &req.date, req.reason, actor)
        .await?;
    after_change(&s).await?;
    Ok(axum::Json(view(&r, actor)))
}

/// Record a removal from the registry (消除, e.g. emigration). Publishes `removed`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/removal", tag = "registry",
    params(("id" = i64, Path)), request_body = Closure,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn removal(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Closure>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s)
        .record_removal(parse_id(&id)?, &req.date, req.reason, actor)
        .await?;
    after_change(&s).await?;
    Ok(axum::Json(view(&r, actor)))
}

/// Record a return from abroad (国外からの転入) of a resident removed on emigration: the
/// record is active again at the new address. Publishes `returned`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/return", tag = "registry",
    params(("id" = i64, Path)), request_body = AddressChange,
    responses((status = 200, body = ResidentView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn return_from_abroad(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AddressChange>,
) -> Result<axum::Json<ResidentView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let r = registry(&s)
        .record_return(
            parse_id(&id)?,
            &req.address,
            req.effective_date.as_deref(),
            req.reason,
            actor,
        )
        .await?;
    after_change(&s).await?;
    Ok(axum::Json(view(&r, actor)))
}

#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    pub kind: ChangeKind,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub effective_date: String,
    pub recorded_at: String,
    pub recorded_by: String,
    pub reason: Option<String>,
}

impl From<HistoryEntry> for HistoryView {
    fn from(h: HistoryEntry) -> Self {
        HistoryView {
            kind: h.kind,
            before: h.before,
            after: h.after,
            effective_date: h.effective_date.to_string(),
            recorded_at: h.recorded_at.to_rfc3339(),
            recorded_by: h.recorded_by,
            reason: h.reason,
        }
    }
}

/// A resident's history, oldest first.
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}/history", tag = "registry",
    params(("id" = i64, Path)),
    responses((status = 200, body = [HistoryView]), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn history(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Vec<HistoryView>>, ApiError> {
    let actor = caller.require(READERS)?;
    let reg = registry(&s);
    let id = parse_id(&id)?;
    let r = reg.get(id).await?;
    let h = reg.history(id).await?;
    s.store
        .access()
        .record_access(
            r.id.0,
            actor,
            &s.clock.now(),
            "registry.history",
            &purpose(&headers, "registry history read"),
            "history of the resident record read",
        )
        .await?;
    Ok(axum::Json(h.into_iter().map(HistoryView::from).collect()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Return events with a sequence number greater than this (default 0).
    #[serde(default)]
    pub after: i64,
    /// At most this many (1–1000, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub kind: String,
    pub resident_id: i64,
    pub occurred_at: String,
    /// The event: kind, resident id, effective date and which of the four information changed.
    /// It carries no personal data.
    pub payload: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// Pass as `after` to read on.
    pub next_after: i64,
}

/// The registry's domain events, in commit order (a change feed for subscribers).
#[utoipa::path(get, path = "/api/v1/registry/events", tag = "registry",
    params(EventsQuery),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn events(
    State(s): State<AppState>,
    caller: Caller,
    query: Result<axum::extract::Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<EventPage>, ApiError> {
    caller.require(READERS)?;
    let axum::extract::Query(q) = query?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let evs = s
        .store
        .events()
        .events_after(Some("registry"), q.after.max(0), limit)
        .await?;
    let next_after = evs.last().map(|e| e.seq).unwrap_or(q.after.max(0));
    Ok(axum::Json(EventPage {
        events: evs
            .into_iter()
            .map(|e| EventView {
                seq: e.seq,
                kind: e.kind,
                resident_id: e.subject_id,
                occurred_at: e.occurred_at.to_rfc3339(),
                payload: e.payload,
            })
            .collect(),
        next_after,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RegistryStats {
    pub residents: i64,
    pub active_residents: i64,
    pub events: i64,
}

/// Registry counts.
#[utoipa::path(get, path = "/api/v1/registry/stats", tag = "registry",
    responses((status = 200, body = RegistryStats), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<RegistryStats>, ApiError> {
    caller.require(READERS)?;
    let c = s.store.counts().await?;
    Ok(axum::Json(RegistryStats {
        residents: c.residents,
        active_residents: c.active_residents,
        events: c.events,
    }))
}
