//! The one place where outcomes become HTTP statuses: errors (refusals by kind, failures of
//! ours) and the few success statuses other than 200 ([`Created`], [`NoContent`], [`SeeOther`]).
//!
//! # Error policy
//!
//! - Every domain crate has one `thiserror` enum. Handlers return [`ApiError`], and every domain
//!   error converts into it here, so the mapping from failure to status code lives in this file
//!   only.
//! - Every error response has the same JSON shape:
//!   `{"error":{"code":"my_number.check_digit","message":"…","field":"my_number"}}`.
//!   `code` is stable and machine-readable (`<field or area>.<rule>`); `message` is for people
//!   and says what is wrong and, where it helps, what would be right; `field` names the input
//!   field when there is one.
//! - 4xx responses explain the caller's mistake. 5xx responses never carry internal details
//!   (SQL, file paths, key material): the details go to the log with a request-scoped event,
//!   and the caller gets a generic message.
//! - Nothing personal is ever in an error: no My Number, PIN or name is echoed back or logged.
//! - Bad input changes nothing: handlers validate completely before they write.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openmyna_core::{IntoRefusal, Refusal, RefusalKind};
use openmyna_registry::RegistryError;
use openmyna_services::ServiceError;
use openmyna_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
    /// Seconds to wait, for 429 (sent as `Retry-After`).
    retry_after: Option<u64>,
}

pub use openmyna_api::error::{ErrorBody, ErrorDetail};

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 429 `rate.limited`: too many requests from this client; try again in `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate.limited",
            format!("too many requests from your address; try again in {seconds} s"),
        );
        e.retry_after = Some(seconds);
        e
    }

    /// The seconds a 429 asks the client to wait.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "auth.unauthenticated", message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The request carries more than the endpoint takes (413).
    pub fn too_large(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// A dependency (the database) does not answer (503).
    pub fn unavailable(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The caller's mistake (4xx), as opposed to a failure of ours.
    pub fn is_client_error(&self) -> bool {
        self.status.is_client_error()
    }

    /// The kind of refusal this answer is, if it is one.
    pub fn kind(&self) -> Option<RefusalKind> {
        [
            RefusalKind::Invalid,
            RefusalKind::Refused,
            RefusalKind::Forbidden,
            RefusalKind::NotFound,
            RefusalKind::Unauthenticated,
        ]
        .into_iter()
        .find(|k| status_of(*k) == self.status)
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn into_message(self) -> String {
        self.message
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// A failure that is ours, not the caller's: logged in full, answered generically.
    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to complete the request; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"openmyna\""),
            );
        }
        resp
    }
}

/// The one mapping from a refusal's kind to a status.
pub fn status_of(kind: RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        RefusalKind::Refused => StatusCode::CONFLICT,
        RefusalKind::Forbidden => StatusCode::FORBIDDEN,
        RefusalKind::NotFound => StatusCode::NOT_FOUND,
        RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError {
            status: status_of(r.kind()),
            code: r.code().to_owned(),
            field: r.field().map(str::to_owned),
            message: r.message().to_owned(),
            retry_after: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as S;
        let e = match e.into_refusal() {
            Ok(r) => return r.into(),
            Err(e) => e,
        };
        match e {
            S::Refused(r) => r.into(),
            S::Registry(e) => e.into(),
            S::Store(e) => e.into(),
            S::Jpki(e) => e.into(),
            S::Card(e) => e.into(),
            S::CardIo(e) => e.into(),
            S::Application(e) => e.into(),
            S::Eligibility(e) => e.into(),
            S::FourInfo(e) => e.into(),
            S::Platform(e) => e.into(),
            S::Campaign(e) => e.into(),
            S::Portal(e) => e.into(),
            S::Internal { context, message } => ApiError::internal(context, &message),
        }
    }
}

impl From<openmyna_card::CardError> for ApiError {
    fn from(e: openmyna_card::CardError) -> Self {
        use openmyna_card::CardError as C;
        match e {
            C::PinRule(r) => Refusal::invalid("pin.rule", r.to_string()).into(),
            C::Invalid(m) => Refusal::invalid("card.invalid", m).into(),
            other => ApiError::internal("card", &other),
        }
    }
}

impl From<openmyna_cardio::CardIoError> for ApiError {
    fn from(e: openmyna_cardio::CardIoError) -> Self {
        ApiError::internal("card file", &e)
    }
}

/// A domain error: its refusal, or (a failure of ours) logged and answered generically.
fn domain<E: IntoRefusal + std::fmt::Display>(context: &str, e: E) -> ApiError {
    match e.into_refusal() {
        Ok(r) => r.into(),
        Err(e) => ApiError::internal(context, &e),
    }
}

macro_rules! domain_errors {
    ($($ty:ty => $context:literal),* $(,)?) => {
        $(
            impl From<$ty> for ApiError {
                fn from(e: $ty) -> Self {
                    domain($context, e)
                }
            }
        )*
    };
}

domain_errors! {
    RegistryError => "registry",
    openmyna_jpki::JpkiError => "jpki",
    openmyna_applications::ApplicationError => "applications",
    openmyna_fourinfo::FourInfoError => "fourinfo",
    openmyna_platform::PlatformError => "platform",
    openmyna_eligibility::EligibilityError => "eligibility",
    openmyna_campaigns::CampaignError => "campaigns",
    openmyna_portal::PortalError => "portal",
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::not_found("not_found", m),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => ApiError::internal("storage", &other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let (code, message) = match &r {
            // serde quotes the offending value between backticks; it may be personal (a My
            // Number sent as a number), so it is not echoed.
            JsonRejection::JsonDataError(_) => {
                ("request.json_data", without_values(&r.body_text()))
            }
            JsonRejection::JsonSyntaxError(_) => ("request.json_syntax", r.body_text()),
            JsonRejection::MissingJsonContentType(_) => (
                "request.content_type",
                "send the body as JSON with Content-Type: application/json".to_owned(),
            ),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => (
                "request.too_large",
                "the request body is larger than this endpoint accepts".to_owned(),
            ),
            _ => ("request.body", r.body_text()),
        };
        ApiError::new(status, code, message)
    }
}

/// `text` without the values serde quotes in "invalid type: …, expected" and "invalid
/// value: …, expected" (field names in "unknown field" and "missing field" stay).
fn without_values(text: &str) -> String {
    let mut out = text.to_owned();
    for marker in ["invalid type: ", "invalid value: "] {
        if let Some(i) = out.find(marker) {
            let from = i + marker.len();
            let to = out[from..]
                .find(", expected")
                .map(|j| from + j)
                .unwrap_or(out.len());
            out.replace_range(from..to, "(value not shown)");
        }
    }
    out
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request("request.path", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("request.query", r.body_text())
    }
}

/// The status of a page: 200, or the refusal's.
pub fn page_status(refusal: Option<RefusalKind>) -> StatusCode {
    refusal.map_or(StatusCode::OK, status_of)
}

/// 201 Created with the body.
pub struct Created<T>(pub T);

impl<T: IntoResponse> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, self.0).into_response()
    }
}

/// 201 Created when something new was made, else 200 OK, with the body.
pub struct CreatedOrOk<T>(pub bool, pub T);

impl<T: IntoResponse> IntoResponse for CreatedOrOk<T> {
    fn into_response(self) -> Response {
        let status = if self.0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        (status, self.1).into_response()
    }
}

/// 503 Service Unavailable with the body (readiness).
pub struct Unavailable<T>(pub T);

impl<T: IntoResponse> IntoResponse for Unavailable<T> {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, self.0).into_response()
    }
}

/// 204 No Content.
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// 303 See Other (the caller sets `Location`).
pub struct SeeOther;

impl IntoResponse for SeeOther {
    fn into_response(self) -> Response {
        StatusCode::SEE_OTHER.into_response()
    }
}

/// The answer for routes that do not exist: the JSON error body, or a page for a browser
/// that asks for HTML.
pub async fn not_found(headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("text/html") {
        return (StatusCode::NOT_FOUND, axum::response::Html(NOT_FOUND_PAGE)).into_response();
    }
    ApiError::not_found("route.not_found", "no such endpoint; see /docs").into_response()
}

const NOT_FOUND_PAGE: &str = "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>ページが見つかりません — openmyna</title></head><body>\
<h1>ページが見つかりません (404)</h1><p>お探しのページはありません。</p>\
<p><a href=\"/\">トップページへ</a> · <a href=\"/docs\">API reference</a></p></body></html>";

/// The answer for a method a route does not take (the route's `Allow` header is kept).
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "route.method_not_allowed",
        "this endpoint does not take that method; see /docs",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_not_echoed() {
        let t = "records[0].my_number: invalid type: integer `123456789018`, expected a string at line 1 column 30";
        let out = super::without_values(t);
        assert!(!out.contains("123456789018"), "{out}");
        assert!(out.contains("records[0].my_number"), "{out}");
        let t = "invalid value: string \"123456789018\", expected a date";
        assert!(!super::without_values(t).contains("1234"));
        let t = "unknown field `colour`, expected one of `name`";
        assert_eq!(super::without_values(t), t);
    }
}
