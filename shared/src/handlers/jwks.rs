//! `GET /.well-known/jwks.json`: the public keys that verify our status list tokens. The `kid`
//! is the RFC 7638 thumbprint of the key, the same in JWT and CWT headers. After a key rotation
//! the previous keys are listed too, until every token they signed has expired.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::domain::keys;

pub async fn get(State(app): State<Arc<App>>) -> Response {
    // The signing key first, then keys retired by a rotation (tokens they signed are still live).
    let mut jwks = vec![keys::public_jwk(app.signer.public_key(), app.signer.kid())];
    for retired in app.retired_keys.iter().filter(|k| k.kid != app.signer.kid()) {
        jwks.push(keys::public_jwk(&retired.public_key, &retired.kid));
    }
    let cache = format!("public, max-age={}", app.config.jwks_max_age.as_secs());
    (
        [(header::CACHE_CONTROL, cache)],
        Json(serde_json::json!({ "keys": jwks })),
    )
        .into_response()
}
