//! One module per endpoint: an async fn taking the shared `App` state and the request parts,
//! returning a response or an [`ApiError`](crate::http::ApiError).

pub mod distribution;
pub mod issue;
pub mod jwks;
pub mod mdoc;
pub mod revoke;
pub mod token;

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
