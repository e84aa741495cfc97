//! `/api/v1/registry/households` and a resident's household and 本籍: 世帯, 続柄, 本籍・筆頭者.
//!
//! Municipalities found households and place residents in them, and record 本籍・筆頭者; the
//! operator may read households (never 本籍). Every read is recorded in each member's access
//! log. Use cases: `openmyna_services::households`.

use axum::extract::State;
use axum::http::HeaderMap;
use chrono::NaiveDate;
use openmyna_core::{Refusal, Role};
use openmyna_registry::household::{Domicile, HouseholdId};
use openmyna_services::households::{self, Change};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::{ApiJson, ApiPath};
use crate::routes::registry::{parse_id, purpose};
use crate::state::AppState;

const READERS: &[Role] = &[Role::Municipality, Role::Operator];
const WRITERS: &[Role] = &[Role::Municipality];

fn change(effective_date: Option<&str>, reason: Option<String>) -> Result<Change, ApiError> {
    let effective_date = effective_date
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                Refusal::invalid(
                    "effective_date.format",
                    format!("{d:?} is not a date YYYY-MM-DD"),
                )
                .with_field("effective_date")
            })
        })
        .transpose()?;
    Ok(Change {
        effective_date,
        reason,
    })
}

fn household_id(id: &str) -> Result<HouseholdId, ApiError> {
    Ok(HouseholdId::parse(id)?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    /// The resident who heads the new household (世帯主); they leave the household they were
    /// in (世帯分離), which must not be one they head with other members.
    pub head_resident_id: i64,
    /// Default: today.
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdRef {
    pub household_id: i64,
}

/// Found a household (世帯の新設・世帯分離) with its head. Publishes `household_changed`.
#[utoipa::path(post, path = "/api/v1/registry/households", tag = "registry",
    request_body = NewHousehold,
    responses((status = 201, body = HouseholdRef), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the resident heads a household with members, or is not active"),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn found(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewHousehold>,
) -> Result<Created<axum::Json<HouseholdRef>>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let head = parse_id(&req.head_resident_id.to_string())?;
    let c = change(req.effective_date.as_deref(), req.reason)?;
    let h = households::found(&s, actor, head, &c).await?;
    Ok(Created(axum::Json(HouseholdRef { household_id: h.0 })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinHousehold {
    pub resident_id: i64,
    /// 続柄 to the head as the 住民票 prints it: 妻, 夫, 子, 父, 母, 孫, 同居人, … (not 世帯主).
    #[schema(example = "子")]
    pub relationship: String,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Place a resident in a household with a 続柄 (転入, 世帯合併, or a new 続柄 in the same
/// household); they leave the household they were in. Publishes `household_changed`.
#[utoipa::path(post, path = "/api/v1/registry/households/{id}/members", tag = "registry",
    params(("id" = i64, Path)), request_body = JoinHousehold,
    responses((status = 200, body = HouseholdRef), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn join(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<JoinHousehold>,
) -> Result<axum::Json<HouseholdRef>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let household = household_id(&id)?;
    let resident = parse_id(&req.resident_id.to_string())?;
    let c = change(req.effective_date.as_deref(), req.reason)?;
    let h = households::join(&s, actor, household, resident, &req.relationship, &c).await?;
    Ok(axum::Json(HouseholdRef { household_id: h.0 }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRelationship {
    pub resident_id: i64,
    #[schema(example = "夫")]
    pub relationship: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadChange {
    /// The member who becomes 世帯主.
    pub resident_id: i64,
    /// Every other member's 続柄 to the new head (the old head's included).
    pub relationships: Vec<MemberRelationship>,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// 世帯主変更: a member becomes the head; the others' 続柄 are restated. Publishes
/// `household_changed` for each member.
#[utoipa::path(post, path = "/api/v1/registry/households/{id}/head", tag = "registry",
    params(("id" = i64, Path)), request_body = HeadChange,
    responses((status = 200, body = HouseholdRef), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_head(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<HeadChange>,
) -> Result<axum::Json<HouseholdRef>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let household = household_id(&id)?;
    let head = parse_id(&req.resident_id.to_string())?;
    let mut relationships = Vec::with_capacity(req.relationships.len());
    for m in req.relationships {
        relationships.push((parse_id(&m.resident_id.to_string())?, m.relationship));
    }
    let c = change(req.effective_date.as_deref(), req.reason)?;
    households::change_head(&s, actor, household, head, &relationships, &c).await?;
    Ok(axum::Json(HouseholdRef {
        household_id: household.0,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub resident_id: i64,
    #[schema(example = "山田　太郎")]
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    /// 1 male, 2 female, 9 not applicable (JIS X 0303).
    pub sex: u8,
    /// 続柄: 世帯主 for the head.
    pub relationship: String,
    /// Since when (the effective date of joining).
    pub since: String,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdView {
    pub household_id: i64,
    /// The head first.
    pub members: Vec<MemberView>,
}

/// A household: its members with their 続柄, the head first. Recorded in each member's access
/// log.
#[utoipa::path(get, path = "/api/v1/registry/households/{id}", tag = "registry",
    params(("id" = i64, Path),
           ("X-Purpose" = Option<String>, Header, description = "why the household is read; logged")),
    responses((status = 200, body = HouseholdView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn household(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<HouseholdView>, ApiError> {
    let actor = caller.require(READERS)?;
    let h = household_id(&id)?;
    let members = households::household(&s, actor, h, &purpose(&headers, "household read")).await?;
    Ok(axum::Json(HouseholdView {
        household_id: h.0,
        members: members
            .into_iter()
            .map(|m| MemberView {
                resident_id: m.resident.id.0,
                name: m.resident.basic4.name.name,
                name_kana: m.resident.basic4.name.name_kana,
                birth_date: m.resident.basic4.birth_date.to_string(),
                sex: m.resident.basic4.sex.code(),
                relationship: m.relationship,
                since: m.since.to_string(),
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct MembershipView {
    pub household_id: i64,
    pub relationship: String,
    pub since: String,
}

/// The resident's household and 続柄 (404 `household.none` when in none).
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}/household", tag = "registry",
    params(("id" = i64, Path),
           ("X-Purpose" = Option<String>, Header, description = "why it is read; logged")),
    responses((status = 200, body = MembershipView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn membership(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<MembershipView>, ApiError> {
    let actor = caller.require(READERS)?;
    let m = households::membership(
        &s,
        actor,
        parse_id(&id)?,
        &purpose(&headers, "household read"),
    )
    .await?
    .ok_or_else(|| Refusal::not_found("household.none", "the resident is in no household"))?;
    Ok(axum::Json(MembershipView {
        household_id: m.household_id,
        relationship: m.relationship,
        since: m.since.to_string(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomicileChange {
    /// 本籍.
    #[schema(example = "東京都千代田区千代田一番")]
    pub honseki: String,
    /// 筆頭者.
    #[schema(example = "山田　太郎")]
    pub hittosha: String,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Record the resident's 本籍・筆頭者. Publishes `domicile_changed`.
#[utoipa::path(put, path = "/api/v1/registry/residents/{id}/domicile", tag = "registry",
    params(("id" = i64, Path)), request_body = DomicileChange,
    responses((status = 200, body = Domicile), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_domicile(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<DomicileChange>,
) -> Result<axum::Json<Domicile>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let resident = parse_id(&id)?;
    let c = change(req.effective_date.as_deref(), req.reason)?;
    Ok(axum::Json(
        households::set_domicile(&s, actor, resident, &req.honseki, &req.hittosha, &c).await?,
    ))
}

/// The resident's 本籍・筆頭者 (municipalities only; recorded in the access log).
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}/domicile", tag = "registry",
    params(("id" = i64, Path),
           ("X-Purpose" = Option<String>, Header, description = "why it is read; logged")),
    responses((status = 200, body = Domicile), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn domicile(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Domicile>, ApiError> {
    let actor = caller.require(WRITERS)?;
    Ok(axum::Json(
        households::domicile(&s, actor, parse_id(&id)?, &purpose(&headers, "本籍 read")).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormerNameChange {
    /// 旧氏; absent or null with `kyuushi_kana` absent: remove the 旧氏.
    #[schema(example = "佐藤")]
    #[serde(default)]
    pub kyuushi: Option<String>,
    #[schema(example = "サトウ")]
    #[serde(default)]
    pub kyuushi_kana: Option<String>,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FormerNameView {
    /// The 旧氏 now recorded (null: none).
    pub former_name: Option<openmyna_registry::household::FormerName>,
}

/// Record or remove the resident's 旧氏. Publishes `former_name_changed` with `changed:
/// ["name"]`: the name as printed changes, so the signing certificate is revoked.
#[utoipa::path(put, path = "/api/v1/registry/residents/{id}/former-name", tag = "registry",
    params(("id" = i64, Path)), request_body = FormerNameChange,
    responses((status = 200, body = FormerNameView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_former_name(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<FormerNameChange>,
) -> Result<axum::Json<FormerNameView>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let resident = parse_id(&id)?;
    let c = change(req.effective_date.as_deref(), req.reason)?;
    let former = match (req.kyuushi.as_deref(), req.kyuushi_kana.as_deref()) {
        (Some(k), Some(kana)) => Some((k, kana)),
        (None, None) => None,
        _ => {
            return Err(Refusal::invalid(
                "kyuushi_kana.required",
                "give the 旧氏 with its reading, or neither to remove it",
            )
            .with_field("kyuushi_kana")
            .into());
        }
    };
    let f = households::set_former_name(&s, actor, resident, former, &c).await?;
    openmyna_services::registry_sync::sync_registry_to_jpki(&s).await?;
    Ok(axum::Json(FormerNameView { former_name: f }))
}

/// The resident's 旧氏 (null when none; recorded in the access log when there is one).
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}/former-name", tag = "registry",
    params(("id" = i64, Path),
           ("X-Purpose" = Option<String>, Header, description = "why it is read; logged")),
    responses((status = 200, body = FormerNameView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn former_name(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<FormerNameView>, ApiError> {
    let actor = caller.require(READERS)?;
    let f =
        households::former_name(&s, actor, parse_id(&id)?, &purpose(&headers, "旧氏 read")).await?;
    Ok(axum::Json(FormerNameView { former_name: f }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InkanRegistration {
    /// The seal's impression (印影), PNG or JPEG, base64; at most 256 KiB.
    pub image: String,
    #[serde(default)]
    pub effective_date: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InkanView {
    /// 印鑑登録番号 (on the 印鑑登録証).
    pub number: String,
    pub registered_on: String,
    /// The impression, base64 (in the answer to a read only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// 印鑑登録: register a seal for a resident of 15 or over (422 `inkan.age`) who has none in
/// force (409 `inkan.registered`). Publishes `inkan_registered`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/inkan", tag = "registry",
    params(("id" = i64, Path)), request_body = InkanRegistration,
    responses((status = 201, body = InkanView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_inkan(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<InkanRegistration>,
) -> Result<Created<axum::Json<InkanView>>, ApiError> {
    let actor = caller.require(WRITERS)?;
    let resident = parse_id(&id)?;
    let image = crate::routes::eligibility::b64("image", &req.image)?;
    let c = change(req.effective_date.as_deref(), req.reason)?;
    let registered_on = c.effective_date.unwrap_or_else(|| s.clock.today());
    let number = households::register_inkan(&s, actor, resident, image, &c).await?;
    Ok(Created(axum::Json(InkanView {
        number,
        registered_on: registered_on.to_string(),
        image: None,
        media_type: None,
    })))
}

/// The resident's seal registration in force, with the impression (municipalities only;
/// recorded in the access log).
#[utoipa::path(get, path = "/api/v1/registry/residents/{id}/inkan", tag = "registry",
    params(("id" = i64, Path),
           ("X-Purpose" = Option<String>, Header, description = "why it is read; logged")),
    responses((status = 200, body = InkanView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn inkan(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<InkanView>, ApiError> {
    use base64::Engine as _;
    let actor = caller.require(WRITERS)?;
    let r = households::inkan(
        &s,
        actor,
        parse_id(&id)?,
        &purpose(&headers, "印鑑登録 read"),
    )
    .await?;
    Ok(axum::Json(InkanView {
        number: r.number,
        registered_on: r.registered_on.to_string(),
        image: Some(base64::engine::general_purpose::STANDARD.encode(&r.image)),
        media_type: Some(r.media_type),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InkanAbolition {
    #[serde(default)]
    pub effective_date: Option<String>,
    /// Why (lost 印鑑登録証, a new seal, the resident's request …).
    #[serde(default)]
    pub reason: Option<String>,
}

/// 印鑑登録の廃止 (409 `inkan.none` when none is in force). Publishes `inkan_abolished`.
#[utoipa::path(post, path = "/api/v1/registry/residents/{id}/inkan/abolition", tag = "registry",
    params(("id" = i64, Path)), request_body = InkanAbolition,
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn abolish_inkan(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<InkanAbolition>,
) -> Result<axum::http::StatusCode, ApiError> {
    let actor = caller.require(WRITERS)?;
    let c = change(req.effective_date.as_deref(), req.reason)?;
    households::abolish_inkan(&s, actor, parse_id(&id)?, &c).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
