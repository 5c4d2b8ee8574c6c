//! The one error type of the API, mapped to the wire here and nowhere else. The issuer API and
//! the public endpoints use the GOV.UK body `{error, error_description}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable code, e.g. `BAD_REQUEST`.
    pub code: &'static str,
    /// Human-readable description; exact strings where a contract fixes them.
    pub description: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            description: description.into(),
        }
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        (self.status, Json(body)).into_response()
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
