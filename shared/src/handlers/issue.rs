//! `POST /issue` (GOV.UK contract): an ES256 JWT from a registered issuer in, `{idx, uri}` out.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::app::App;
use crate::http::{ApiError, body};
use crate::issuer::IssueResponse;

pub async fn post(State(app): State<Arc<App>>, headers: HeaderMap, req: Body) -> Result<Json<IssueResponse>, ApiError> {
    let token = body::jwt(&headers, req, app.config.max_body_bytes).await?;
    Ok(Json(app.issuer.issue(&token, super::now()).await?))
}
