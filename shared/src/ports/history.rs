//! The index of published token versions (`?time=`).

use async_trait::async_trait;

use super::StoreError;

/// One published version of a token: what `?time=` resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenVersion {
    pub iat: i64,
    pub exp: i64,
    /// The object store's version id.
    pub version_id: String,
}

/// The index of published token versions, written at publish, so that a token valid at a past
/// time is one lookup and one read, however many versions a list has.
#[async_trait]
pub trait TokenHistory: Send + Sync {
    /// Records that `version` of the object at `key` was put in place; kept until `retain_until`.
    async fn record(&self, key: &str, version: &TokenVersion, retain_until: i64) -> Result<(), StoreError>;
    /// The version of `key` issued last at or before `time`, if any.
    async fn issued_by(&self, key: &str, time: i64) -> Result<Option<TokenVersion>, StoreError>;
}
