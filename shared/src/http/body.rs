//! Request bodies, read once with a size limit and the media type checked first.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};

use super::ApiError;
use crate::domain::issuer_request::IssuerError;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BAD_REQUEST",
        format!("Request body must be at most {limit} bytes"),
    )
}

/// The media type without parameters, lower-cased.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Reads at most `limit` bytes; larger bodies are refused without being buffered.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| too_large(limit))
}

/// An `application/jwt` body as text (the issuer API).
pub async fn jwt(headers: &HeaderMap, body: Body, limit: usize) -> Result<String, ApiError> {
    if media_type(headers).as_deref() != Some("application/jwt") {
        return Err(crate::issuer::IssuerFailure::Refused(IssuerError::ContentType).into());
    }
    let bytes = read_limited(headers, body, limit).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| crate::issuer::IssuerFailure::Refused(IssuerError::Decode).into())
}

/// An `application/json` body (the mDoc management API): 415 for another media type, 413 above
/// `limit`, 400 for anything that is not JSON.
pub async fn json(headers: &HeaderMap, body: Body, limit: usize) -> Result<serde_json::Value, ApiError> {
    if media_type(headers).as_deref() != Some("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type must be application/json",
        ));
    }
    let bytes = read_limited(headers, body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::validation(vec![super::error::FieldError::body(
            "body",
            format!("must be valid JSON: {e}"),
            serde_json::Value::Null,
        )])
    })
}
