//! The one error type of the API, mapped to the wire here and nowhere else. Two bodies:
//! - the issuer API and the public endpoints use the GOV.UK body `{error, error_description}`;
//! - the mDoc management API uses MATTR's `{code, message}`, with `details: [{location, param, msg,
//!   value}]` on validation errors (the only ones that have details), chosen with
//!   [`ApiError::in_family`] where those routes answer.
//!
//! Each service's error family has its one mapping here: [`crate::issuer::IssuerFailure`] (the
//! issuer API) and [`crate::mdoc::MdocError`] (the mDoc API, which also carries the storage,
//! signing-service and object-store failures as that API sees them).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use crate::domain::configuration::FieldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable code, e.g. `BAD_REQUEST`.
    pub code: &'static str,
    /// Human-readable description; exact strings where a contract fixes them.
    pub description: String,
    /// The invalid fields (MATTR body only).
    pub details: Vec<FieldError>,
    pub family: Family,
}

/// Which API family's error body to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    GovUk,
    Mattr,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            description: description.into(),
            details: Vec::new(),
            family: Family::GovUk,
        }
    }
    /// A MATTR validation error: 400 "Validation Error" listing every invalid field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        ApiError {
            details,
            family: Family::Mattr,
            ..Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", "Validation Error")
        }
    }
    /// The same error, written as `family`'s body.
    pub fn in_family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }
    pub fn bad_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", d)
    }
    pub fn unauthorized(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", d)
    }
    pub fn conflict(d: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", d)
    }
    pub fn internal(d: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", d)
    }
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TEMPORARILY_UNAVAILABLE",
            "Service is temporarily unavailable",
        )
    }
}

/// MATTR's `code` for a status.
fn mattr_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        503 => "ServiceUnavailable",
        _ => "InternalServerError",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.family {
            Family::GovUk => serde_json::json!({ "error": self.code, "error_description": self.description }),
            Family::Mattr => {
                let mut body = serde_json::json!({ "code": mattr_code(self.status), "message": self.description });
                if !self.details.is_empty() {
                    body["details"] = serde_json::json!(self.details);
                }
                body
            }
        };
        (self.status, Json(body)).into_response()
    }
}

/// A published token could not be read: 503 while the object store is unavailable, else 500.
impl From<crate::ports::ObjectError> for ApiError {
    fn from(e: crate::ports::ObjectError) -> Self {
        tracing::warn!(error = %e, "token read failed");
        match e {
            crate::ports::ObjectError::Unavailable(_) => ApiError::unavailable(),
            crate::ports::ObjectError::Other(_) => ApiError::internal("Unable to read the status list"),
        }
    }
}

/// A signing key's identity could not be read: 503 while the signing service is unavailable, else
/// 500 (the key is unusable: a misconfiguration).
impl From<crate::ports::SignerError> for ApiError {
    fn from(e: crate::ports::SignerError) -> Self {
        match e {
            crate::ports::SignerError::Unavailable(detail) => {
                tracing::warn!(%detail, "signing service unavailable");
                ApiError::unavailable()
            }
            crate::ports::SignerError::Key(detail) => {
                tracing::error!(%detail, "signing key unusable");
                ApiError::internal("The signing key is unavailable")
            }
        }
    }
}

impl From<crate::issuer::IssuerFailure> for ApiError {
    fn from(f: crate::issuer::IssuerFailure) -> Self {
        use crate::issuer::IssuerFailure::*;
        match f {
            Refused(e) => {
                let status = StatusCode::from_u16(e.status()).expect("contract status");
                let code = match e.status() {
                    401 => "UNAUTHORIZED",
                    404 => "NOT_FOUND",
                    409 => "CONFLICT",
                    _ => "BAD_REQUEST",
                };
                ApiError::new(status, code, e.to_string())
            }
            Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                ApiError::unavailable()
            }
            Internal { description, detail } => {
                tracing::error!(%detail, "internal error");
                ApiError::internal(description)
            }
        }
    }
}

/// The mDoc API's errors, in MATTR's body. A dependency's detail is logged, never shown.
impl From<crate::mdoc::MdocError> for ApiError {
    fn from(e: crate::mdoc::MdocError) -> Self {
        use crate::mdoc::MdocError::*;
        let e = match e {
            Validation(details) => ApiError::validation(details),
            NotFound(what) => ApiError::not_found(format!("{what} not found")),
            Conflict(message) => ApiError::conflict(message),
            BadRequest(message) => ApiError::bad_request(message),
            Unauthorized(message) => ApiError::unauthorized(message),
            Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
                ApiError::unavailable()
            }
            Internal { description, detail } => {
                tracing::error!(%detail, "internal error");
                ApiError::internal(description)
            }
        };
        e.in_family(Family::Mattr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    async fn body(e: ApiError) -> (u16, Value) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn each_family_has_its_body() {
        let e = ApiError::not_found("Status List not found for endpoint uri");
        assert_eq!(
            body(e.clone()).await,
            (
                404,
                json!({"error": "NOT_FOUND", "error_description": "Status List not found for endpoint uri"})
            )
        );
        assert_eq!(
            body(e.in_family(Family::Mattr)).await,
            (
                404,
                json!({"code": "NotFound", "message": "Status List not found for endpoint uri"})
            )
        );
        let v = ApiError::validation(vec![FieldError::body("docType", "is required", Value::Null)]);
        assert_eq!(
            body(v).await,
            (
                400,
                json!({"code": "BadRequest", "message": "Validation Error",
                       "details": [{"location": "body", "param": "docType", "msg": "is required", "value": null}]})
            )
        );
        assert_eq!(
            body(ApiError::unavailable().in_family(Family::Mattr)).await.1["code"],
            "ServiceUnavailable"
        );
    }

    /// Each mDoc error as MATTR's body, the storage, signing and object failures as 503 while
    /// unavailable and 500 otherwise, their detail never shown.
    #[tokio::test]
    async fn mdoc_errors_in_mattrs_body() {
        use crate::mdoc::MdocError;
        use crate::ports::{ObjectError, SignerError, StoreError};
        let cases: Vec<(MdocError, u16, Value)> = vec![
            (
                MdocError::NotFound("mDoc"),
                404,
                json!({"code": "NotFound", "message": "mDoc not found"}),
            ),
            (
                MdocError::Conflict("taken".into()),
                409,
                json!({"code": "Conflict", "message": "taken"}),
            ),
            (
                MdocError::BadRequest("in use".into()),
                400,
                json!({"code": "BadRequest", "message": "in use"}),
            ),
            (
                MdocError::Unauthorized("no token".into()),
                401,
                json!({"code": "Unauthorized", "message": "no token"}),
            ),
            (
                MdocError::Validation(vec![FieldError::body("status", "must be one", Value::Null)]),
                400,
                json!({"code": "BadRequest", "message": "Validation Error",
                       "details": [{"location": "body", "param": "status", "msg": "must be one", "value": null}]}),
            ),
            (
                StoreError::Unavailable("throttled".into()).into(),
                503,
                json!({"code": "ServiceUnavailable", "message": "Service is temporarily unavailable"}),
            ),
            (
                StoreError::Other("ValidationException: secret".into()).into(),
                500,
                json!({"code": "InternalServerError", "message": "Unable to complete the request"}),
            ),
            (
                SignerError::Unavailable("connect refused".into()).into(),
                503,
                json!({"code": "ServiceUnavailable", "message": "Service is temporarily unavailable"}),
            ),
            (
                SignerError::Key("NotFoundException: secret".into()).into(),
                500,
                json!({"code": "InternalServerError", "message": "The signing key is unavailable"}),
            ),
            (
                ObjectError::Unavailable("slow down".into()).into(),
                503,
                json!({"code": "ServiceUnavailable", "message": "Service is temporarily unavailable"}),
            ),
            (
                ObjectError::Other("AccessDenied: secret".into()).into(),
                500,
                json!({"code": "InternalServerError", "message": "Unable to read the status list"}),
            ),
        ];
        for (e, status, expected) in cases {
            let shown = format!("{e:?}");
            assert_eq!(body(ApiError::from(e)).await, (status, expected), "{shown}");
        }
    }

    #[tokio::test]
    async fn an_unreadable_signing_key_is_503_while_kms_is_unavailable_else_500() {
        use crate::ports::SignerError;
        let (status, answer) = body(SignerError::Unavailable("connect refused".into()).into()).await;
        assert_eq!((status, &answer["error"]), (503, &json!("TEMPORARILY_UNAVAILABLE")));
        let (status, answer) = body(SignerError::Key("NotFoundException: no such key".into()).into()).await;
        assert_eq!((status, &answer["error"]), (500, &json!("INTERNAL_SERVER_ERROR")));
        assert!(
            !answer.to_string().contains("NotFoundException"),
            "no detail leaks: {answer}"
        );
    }
}
