//! `POST /issue` (GOV.UK contract): an ES256 JWT from a registered issuer in, `{idx, uri}` out.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::http::{ApiError, body};
use crate::issuer::IssueResponse;
use crate::wiring::IssuerApi;

pub async fn post(
    State(api): State<IssuerApi>,
    headers: HeaderMap,
    req: Body,
) -> Result<Json<IssueResponse>, ApiError> {
    let token = body::jwt(&headers, req, api.max_body_bytes).await?;
    Ok(Json(api.issuer.issue(&token, crate::clock::now()).await?))
}
