//! コンビニ交付: `/api/v1/konbini` for the 証明書交付センター (the multi-copy machines' back end,
//! operator tokens) and the municipalities taking part, and `/api/v1/certificates/{code}`,
//! where anyone checks a printed certificate's verification code. Use cases:
//! `openmyna_services::certificates`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use openmyna_core::{Refusal, Role};
use openmyna_eligibility::{CardProof, SignedBy};
use openmyna_services::certificates::{self, CertificateKind, Options};
use openmyna_store::konbini::KonbiniMunicipality;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath};
use crate::routes::eligibility::b64;
use crate::routes::registry::parse_id;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KonbiniSettings {
    /// The municipality's name as printed (e.g. 千代田区).
    #[schema(example = "千代田区")]
    pub name: String,
    /// Fees per copy, yen.
    #[schema(example = 200)]
    pub fee_juminhyo: i64,
    #[schema(example = 200)]
    pub fee_kisai_jiko: i64,
    #[schema(example = 200)]
    pub fee_inkan: i64,
    /// The municipality's own hours, `HH:MM` Japan time, within 06:30–23:00 (default: those).
    #[schema(example = "06:30")]
    #[serde(default)]
    pub opens: Option<String>,
    #[schema(example = "23:00")]
    #[serde(default)]
    pub closes: Option<String>,
}

/// `HH:MM` → minutes after midnight.
fn minute(field: &'static str, v: Option<&str>, default: i64) -> Result<i64, ApiError> {
    let Some(v) = v else {
        return Ok(default);
    };
    let bad = || {
        ApiError::from(
            Refusal::invalid(
                format!("{field}.format"),
                format!("{v:?} is not a time HH:MM"),
            )
            .with_field(field),
        )
    };
    let (h, m) = v.split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || v.len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// A municipality takes part in コンビニ交付 (by agreement with J-LIS), or changes its fees.
/// Operator (the centre) or municipality tokens.
#[utoipa::path(put, path = "/api/v1/konbini/municipalities/{code}", tag = "konbini",
    params(("code" = String, Path, description = "全国地方公共団体コード (6 digits)")),
    request_body = KonbiniSettings,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_municipality(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<KonbiniSettings>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Operator, Role::Municipality])?;
    certificates::set_municipality(
        &s,
        &KonbiniMunicipality {
            municipality_code: code,
            name: req.name.trim().to_owned(),
            fee_juminhyo: req.fee_juminhyo,
            fee_kisai_jiko: req.fee_kisai_jiko,
            fee_inkan: req.fee_inkan,
            opens_minute: minute("opens", req.opens.as_deref(), certificates::OPENS)?,
            closes_minute: minute("closes", req.closes.as_deref(), certificates::CLOSES)?,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The municipality leaves コンビニ交付 (404 `konbini.not_participating` when it was not in it).
#[utoipa::path(delete, path = "/api/v1/konbini/municipalities/{code}", tag = "konbini",
    params(("code" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_municipality(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Operator, Role::Municipality])?;
    if !s.store.konbini().remove_municipality(&code).await? {
        return Err(Refusal::not_found(
            "konbini.not_participating",
            "that municipality does not take part",
        )
        .into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MachineRequest {
    /// From `POST /api/v1/portal/challenge`.
    pub challenge_id: String,
    /// The card's authentication certificate (DER, base64).
    pub certificate: String,
    /// The card's signature over the challenge (the authentication key, after the PIN).
    pub signature: String,
    /// juminhyo (住民票の写し), kisai_jiko (住民票記載事項証明書) or inkan (印鑑登録証明書).
    pub kind: String,
    /// 住民票の写し: the whole household (世帯全員) instead of the applicant alone.
    #[serde(default)]
    pub household: bool,
    /// 住民票の写し: print 続柄 and 世帯主.
    #[serde(default)]
    pub relationship: bool,
    /// 住民票の写し: print 本籍・筆頭者.
    #[serde(default)]
    pub honseki: bool,
    /// 住民票の写し: print the My Number (for the resident's own use only).
    #[serde(default)]
    pub my_number: bool,
}

/// The multi-copy machine's request: answers 201 with the certificate as a signed PDF
/// (`application/pdf`), its verification code in `X-Verification-Code` and the fee in
/// `X-Fee-Yen`. Refusals: 409 `konbini.closed`, `konbini.not_participating`, `konbini.age`,
/// `konbini.support_measure`, `inkan.none`, `certificate.revoked`, `certificate.suspended`,
/// `signature.invalid`, `challenge.used`. Operator tokens (the centre).
#[utoipa::path(post, path = "/api/v1/konbini/certificates", tag = "konbini",
    request_body = MachineRequest,
    responses((status = 201, content_type = "application/pdf", body = Vec<u8>,
               headers(("X-Verification-Code" = String), ("X-Fee-Yen" = i64))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MachineRequest>,
) -> Result<Response, ApiError> {
    let actor = caller.require(&[Role::Operator])?;
    let kind = CertificateKind::parse(&req.kind)?;
    let cert = b64("certificate", &req.certificate)?;
    let sig = b64("signature", &req.signature)?;
    let proof = CardProof {
        challenge_id: &req.challenge_id,
        certificate: &cert,
        signature: &sig,
        signed_by: SignedBy::Auth,
    };
    let options = Options {
        household: req.household,
        relationship: req.relationship,
        honseki: req.honseki,
        my_number: req.my_number,
    };
    let doc = certificates::issue_at_machine(&s, actor, &proof, kind, options).await?;
    let mut r = (StatusCode::CREATED, doc.pdf).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&doc.code) {
        h.insert("x-verification-code", v);
    }
    h.insert("x-fee-yen", HeaderValue::from(doc.fee_yen));
    Ok(r)
}

#[derive(Serialize, ToSchema)]
pub struct VerifiedCertificate {
    pub code: String,
    /// juminhyo, kisai_jiko or inkan.
    pub kind: String,
    #[schema(example = "住民票の写し")]
    pub kind_label: String,
    #[schema(example = "千代田区")]
    pub municipality: String,
    pub issued_at: String,
    /// SHA-256 of the PDF issued (hex): compare with the file's.
    pub pdf_sha256: String,
}

/// Check a printed certificate's verification code (public; nothing personal in the answer).
/// 404 `certificate.unknown` for a code never issued — an altered one included.
#[utoipa::path(get, path = "/api/v1/certificates/{code}", tag = "konbini",
    params(("code" = String, Path, description = "the 照合番号 printed on the certificate")),
    responses((status = 200, body = VerifiedCertificate), (status = 404, body = ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    client: crate::rate::ClientIp,
    ApiPath(code): ApiPath<String>,
) -> Result<axum::Json<VerifiedCertificate>, ApiError> {
    s.public_rate.admit(client.0, s.clock.now())?;
    let (r, municipality) = certificates::verify_code(&s, &code).await?;
    let kind = CertificateKind::parse(&r.kind)?;
    Ok(axum::Json(VerifiedCertificate {
        code: r.code,
        kind: r.kind,
        kind_label: kind.label().to_owned(),
        municipality,
        issued_at: r.issued_at.to_rfc3339(),
        pdf_sha256: r.pdf_sha256,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportMeasure {
    /// Since when (default today).
    #[serde(default)]
    pub since: Option<String>,
}

/// Place a resident under 支援措置 (DV support measures): the machine issues no certificate
/// with them on it. Municipalities only.
#[utoipa::path(put, path = "/api/v1/registry/residents/{id}/support-measure", tag = "registry",
    params(("id" = i64, Path)), request_body = SupportMeasure,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_support_measure(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SupportMeasure>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Municipality])?;
    let id = parse_id(&id)?;
    let since = match req.since.as_deref() {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            Refusal::invalid("since.format", format!("{d:?} is not a date YYYY-MM-DD"))
                .with_field("since")
        })?,
        None => s.clock.today(),
    };
    s.registry().get(id).await?;
    s.store
        .konbini()
        .set_support_measure(id.0, Some(since), &s.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a resident's 支援措置. Municipalities only.
#[utoipa::path(delete, path = "/api/v1/registry/residents/{id}/support-measure", tag = "registry",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn lift_support_measure(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Municipality])?;
    let id = parse_id(&id)?;
    s.registry().get(id).await?;
    s.store
        .konbini()
        .set_support_measure(id.0, None, &s.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the verification page shows.
pub struct FoundView {
    pub kind: &'static str,
    pub municipality: String,
    pub issued_at: String,
    pub sha256: String,
}

#[derive(askama::Template)]
#[template(path = "certificate_verify.html")]
struct VerifyPage {
    code: String,
    searched: bool,
    found: Option<FoundView>,
}

#[derive(Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    code: Option<String>,
}

/// `/certificates/verify?code=…`: the page printed on every certificate, where anyone checks
/// its verification code (rate-limited per client address like the other public endpoints).
pub async fn verify_page(
    State(s): State<AppState>,
    client: crate::rate::ClientIp,
    axum::extract::Query(q): axum::extract::Query<VerifyQuery>,
) -> Result<Response, ApiError> {
    let code = q.code.unwrap_or_default();
    let code = code.trim().chars().take(40).collect::<String>();
    let mut page = VerifyPage {
        code: code.clone(),
        searched: !code.is_empty(),
        found: None,
    };
    if page.searched {
        s.public_rate.admit(client.0, s.clock.now())?;
        match certificates::verify_code(&s, &code).await {
            Ok((r, municipality)) => {
                let kind = CertificateKind::parse(&r.kind)?;
                page.found = Some(FoundView {
                    kind: kind.label(),
                    municipality,
                    issued_at: r
                        .issued_at
                        .with_timezone(&openmyna_core::jst())
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    sha256: r.pdf_sha256,
                });
            }
            Err(e) => {
                use openmyna_core::IntoRefusal as _;
                match e.into_refusal() {
                    Ok(_) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    crate::pages::render(&page, StatusCode::OK)
}
