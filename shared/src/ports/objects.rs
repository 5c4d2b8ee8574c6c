//! The object store the tokens are published to: versioned, with compare-and-swap writes.

use async_trait::async_trait;

/// A published object's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub etag: String,
    /// The change sequence the object was rendered from.
    pub seq: u64,
    /// The token's `iat` and `exp` (seconds).
    pub iat: i64,
    pub exp: i64,
    /// The object's version, where the store keeps versions.
    pub version_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedObject {
    pub body: Vec<u8>,
    pub content_type: String,
    pub cache_control: Option<String>,
    pub meta: ObjectMeta,
}

/// What is written with an object besides its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectWrite<'a> {
    pub content_type: &'a str,
    pub cache_control: &'a str,
    pub seq: u64,
    pub iat: i64,
    pub exp: i64,
}

/// One stored version of an object (the bucket keeps every version: historical resolution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVersion {
    pub version_id: String,
    /// When the version was written (seconds).
    pub written_at: i64,
}

/// Writes are compare-and-swap on the object's ETag, so a render that started earlier can never
/// replace a newer one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Only if no object exists.
    Absent,
    /// Only if the current object has this ETag.
    Matches(String),
    /// Unconditionally (an object with a single writer).
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// In place, as this version of the object (`None` where the store keeps no versions).
    Written { version_id: Option<String> },
    /// Someone else wrote first: re-read and decide again.
    Conflict,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    #[error("object store error: {0}")]
    Other(String),
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError>;
    async fn get(&self, key: &str) -> Result<Option<PublishedObject>, ObjectError>;
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        write: &ObjectWrite<'_>,
        precondition: Precondition,
    ) -> Result<PutOutcome, ObjectError>;
    /// Every version of `key`, newest first.
    async fn versions(&self, key: &str) -> Result<Vec<ObjectVersion>, ObjectError>;
    /// The metadata, or the whole object, of one version.
    async fn head_version(&self, key: &str, version_id: &str) -> Result<Option<ObjectMeta>, ObjectError>;
    async fn get_version(&self, key: &str, version_id: &str) -> Result<Option<PublishedObject>, ObjectError>;
}
