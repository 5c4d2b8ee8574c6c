//! `GET /status-lists`: the issuer API's distribution (aggregation) document `{"status_lists": [uris]}`
//! (spec §9) that every token names in `aggregation_uri`. Lists whose token has expired (their
//! key was withdrawn, or re-signing keeps failing) are left out. It is the document the re-signer
//! (every pass) and the publisher (after a list's first token) write to the bucket for the CDN,
//! read back: a public request costs one small read, never a scan of the lists.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;
use crate::ports::ObjectError;
use crate::publisher::PublishedTokens;
use crate::publisher::{AGGREGATION_MAX_AGE, Aggregation, ListFamily, PublishError};
use crate::wiring::TokensApi;

/// The distribution document of one kind of list.
pub async fn document(tokens: &PublishedTokens, kind: ListFamily) -> Result<Aggregation, ApiError> {
    tokens.distribution(kind).await.map_err(|e| {
        tracing::warn!(error = %e, "distribution read failed");
        match e {
            PublishError::Objects(ObjectError::Unavailable(_)) => ApiError::unavailable(),
            _ => ApiError::internal("Unable to list the status lists"),
        }
    })
}

pub async fn get(State(api): State<TokensApi>) -> Result<Response, ApiError> {
    let doc = document(&api.tokens, ListFamily::GovUk).await?;
    let cache = format!("public, max-age={AGGREGATION_MAX_AGE}");
    Ok(([(header::CACHE_CONTROL, cache)], Json(doc)).into_response())
}
