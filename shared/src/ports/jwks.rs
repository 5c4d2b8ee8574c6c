//! Issuers' JWKS, fetched from their registered URIs.

use async_trait::async_trait;

#[derive(Clone, Debug, thiserror::Error)]
pub enum JwksError {
    #[error("JWKS URI not allowed: {0}")]
    NotAllowed(String),
    #[error("JWKS unreachable: {0}")]
    Unreachable(String),
    #[error("JWKS invalid: {0}")]
    Invalid(String),
}

/// Fetches an issuer's JWKS from its registered URI.
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self, uri: &str) -> Result<jsonwebtoken::jwk::JwkSet, JwksError>;
}
