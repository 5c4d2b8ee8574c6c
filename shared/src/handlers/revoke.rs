//! `POST /revoke` (GOV.UK contract): 202 `{message, revokedAt}`; one-way, idempotent by state.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::http::{ApiError, body};
use crate::issuer::RevokeResponse;
use crate::wiring::IssuerApi;

pub async fn post(
    State(api): State<IssuerApi>,
    headers: HeaderMap,
    req: Body,
) -> Result<(StatusCode, Json<RevokeResponse>), ApiError> {
    let token = body::jwt(&headers, req, api.max_body_bytes).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(api.issuer.revoke(&token, crate::clock::now()).await?),
    ))
}
