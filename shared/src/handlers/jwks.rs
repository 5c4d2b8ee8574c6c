//! `GET /.well-known/jwks.json`: the public keys that verify our status list tokens. The `kid`
//! is the RFC 7638 thumbprint of the key, the same in JWT and CWT headers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::domain::keys;

pub async fn get(State(app): State<Arc<App>>) -> Response {
    let jwk = keys::public_jwk(app.signer.public_key(), app.signer.kid());
    let cache = format!("public, max-age={}", app.config.jwks_max_age.as_secs());
    (
        [(header::CACHE_CONTROL, cache)],
        Json(serde_json::json!({ "keys": [jwk] })),
    )
        .into_response()
}
