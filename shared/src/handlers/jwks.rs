//! `GET /.well-known/jwks.json`: the public keys that verify our status list tokens. The `kid`
//! is the RFC 7638 thumbprint of the key, the same in JWT and CWT headers. After a key rotation
//! the previous keys are listed too, until every token they signed has expired.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::domain::keys;
use crate::http::ApiError;
use crate::wiring::KeysApi;

/// The keys are read on first use (KMS GetPublicKey), so this may be the request that reads them:
/// 503 (GOV.UK body) while KMS is unavailable, 500 if a key is unusable.
pub async fn get(State(api): State<KeysApi>) -> Result<Response, ApiError> {
    // The signing key first, then keys retired by a rotation (tokens they signed are still live).
    let signing = api.signer.identity().await?;
    let mut jwks = vec![keys::public_jwk(&signing.public_key, &signing.kid)];
    for retired in &api.retired_keys {
        let retired = retired.identity().await?;
        if retired.kid != signing.kid {
            jwks.push(keys::public_jwk(&retired.public_key, &retired.kid));
        }
    }
    let cache = format!("public, max-age={}", api.max_age.as_secs());
    Ok((
        [(header::CACHE_CONTROL, cache)],
        Json(serde_json::json!({ "keys": jwks })),
    )
        .into_response())
}
