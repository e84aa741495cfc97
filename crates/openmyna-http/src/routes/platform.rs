//! The verification platform (`/api/v1/platform/…`): relying parties submit a document signed
//! with the card (or a signature over a hash and its certificate) and get every step of the
//! check; they re-check later and list their 確認記録. See docs/platform.md.

use axum::extract::State;
use base64::Engine;
use openmyna_core::{Refusal, Role};
use openmyna_platform::{Check, Expect, RevocationMethod, Submission};
use openmyna_services::platform::{self as service, VerifyRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Created, ErrorBody};
use crate::json::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

const RELYING_PARTIES: &[Role] = &[Role::RelyingParty];

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// Why the check is made (recorded in the 確認記録 and the holder's access log).
    pub purpose: String,
    /// A CMS SignedData (DER, base64) with the content encapsulated and the signer's
    /// certificate included. Either this, or `certificate` + `signature` + a digest.
    #[serde(default)]
    pub document: Option<String>,
    /// The certificate the signature was made with (DER, base64).
    #[serde(default)]
    pub certificate: Option<String>,
    /// The signature (base64): RSA PKCS#1 v1.5 or ECDSA over SHA-256.
    #[serde(default)]
    pub signature: Option<String>,
    /// The SHA-256 of what was signed (base64 or hex), when the data itself is not sent.
    #[serde(default)]
    pub digest: Option<String>,
    /// What was signed (base64), when its digest is not sent.
    #[serde(default)]
    pub data: Option<String>,
    /// The certificate the purpose requires (default `signing`: an identity check).
    #[serde(default)]
    pub expect: Expect,
    /// How to learn the certificate's status (default `ocsp`).
    #[serde(default)]
    pub revocation: RevocationMethod,
}

fn b64(field: &'static str, v: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|_| {
            ApiError::from(Refusal::invalid(
                "platform.base64",
                format!("{field} must be base64"),
            ))
            .with_field(field)
        })
}

fn digest_of(v: &str) -> Result<[u8; 32], ApiError> {
    let v = v.trim();
    let bytes = if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(v.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .unwrap_or_default()
    } else {
        b64("digest", v)?
    };
    bytes.try_into().map_err(|_| {
        ApiError::from(Refusal::invalid(
            "platform.digest",
            "digest must be a SHA-256 digest: 32 bytes, in base64 or 64 hex digits",
        ))
        .with_field("digest")
    })
}

fn submission(b: &VerifyBody) -> Result<Submission, ApiError> {
    let raw = b.certificate.is_some() || b.signature.is_some();
    match (&b.document, raw) {
        (Some(d), false) => Ok(Submission::Document(b64("document", d)?)),
        (None, true) => {
            let missing = |f: &'static str| {
                ApiError::from(Refusal::invalid(
                    "platform.missing",
                    format!("{f} is required with a signature"),
                ))
                .with_field(f)
            };
            let certificate = b64(
                "certificate",
                b.certificate
                    .as_deref()
                    .ok_or_else(|| missing("certificate"))?,
            )?;
            let signature = b64(
                "signature",
                b.signature.as_deref().ok_or_else(|| missing("signature"))?,
            )?;
            let digest = match (&b.digest, &b.data) {
                (Some(d), None) => digest_of(d)?,
                (None, Some(data)) => openmyna_jpki::key::sha256(&b64("data", data)?),
                _ => {
                    return Err(ApiError::from(Refusal::invalid(
                        "platform.digest",
                        "give either digest (the SHA-256 of what was signed) or data (what was signed)",
                    ))
                    .with_field("digest"));
                }
            };
            Ok(Submission::Signature {
                certificate,
                signature,
                digest,
            })
        }
        _ => Err(ApiError::from(Refusal::invalid(
            "platform.submission",
            "give either document (a CMS SignedData) or certificate and signature",
        ))
        .with_field("document")),
    }
}

/// Check a signed document or a signature (relying party). Each step — certificate type,
/// issuer, validity, signature, revocation (by OCSP or CRL) — is reported in order; the first
/// failed step's code is the check's `error`. The check is recorded (確認記録, kept 7 years)
/// and entered in the holder's access log before the answer. A verified check of a signing
/// certificate carries the basic four information it certifies.
#[utoipa::path(post, path = "/api/v1/platform/verifications", tag = "platform",
    request_body = VerifyBody,
    responses((status = 201, body = Check), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Created<axum::Json<Check>>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    let req = VerifyRequest {
        submission: submission(&body)?,
        purpose: &body.purpose,
        expect: body.expect,
        revocation: body.revocation,
    };
    Ok(Created(axum::Json(service::verify(&s, actor, &req).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many, newest first (1–1000, default 100).
    pub limit: Option<i64>,
}

/// This relying party's checks (確認記録), newest first.
#[utoipa::path(get, path = "/api/v1/platform/verifications", tag = "platform", params(ListQuery),
    responses((status = 200, body = [Check])),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Vec<Check>>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    Ok(axum::Json(
        service::checks(&s, actor, q.limit.unwrap_or(100)).await?,
    ))
}

/// One of this relying party's checks.
#[utoipa::path(get, path = "/api/v1/platform/verifications/{id}", tag = "platform",
    params(("id" = i64, Path, description = "The check")),
    responses((status = 200, body = Check), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<Check>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    Ok(axum::Json(service::check(&s, actor, id).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RecheckBody {
    /// How to learn the certificate's status (default `ocsp`).
    #[serde(default)]
    pub revocation: RevocationMethod,
}

/// Check an earlier check's certificate again now (monitoring): type, issuer, validity and
/// revocation are checked anew, the signature is as the first check found it. Recorded as a
/// new check whose `recheck_of` names the earlier one.
#[utoipa::path(post, path = "/api/v1/platform/verifications/{id}/recheck", tag = "platform",
    params(("id" = i64, Path, description = "The check to repeat")),
    request_body = RecheckBody,
    responses((status = 201, body = Check), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn recheck(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RecheckBody>,
) -> Result<Created<axum::Json<Check>>, ApiError> {
    let actor = caller.require(RELYING_PARTIES)?;
    Ok(Created(axum::Json(
        service::recheck(&s, actor, id, body.revocation).await?,
    )))
}
