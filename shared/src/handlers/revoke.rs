//! `POST /revoke` (GOV.UK contract): 202 `{message, revokedAt}`; one-way, idempotent by state.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::app::App;
use crate::http::{ApiError, body};
use crate::issuer::RevokeResponse;

pub async fn post(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    req: Body,
) -> Result<(StatusCode, Json<RevokeResponse>), ApiError> {
    let token = body::jwt(&headers, req, app.config.max_body_bytes).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(app.issuer.revoke(&token, super::now()).await?),
    ))
}
