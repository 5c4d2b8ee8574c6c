//! Publishing: render a list from its stored entries, sign it as a JWT and a CWT, and write
//! both to the object store.
//!
//! Ordering guarantee: every status change bumps the list's change sequence *after* the entry is
//! written. A render reads the sequence first, then the entries (consistently), so it contains
//! every change up to that sequence. Objects carry the sequence they were rendered from, and each
//! write is a compare-and-swap on the object's ETag that only proceeds if the stored sequence is
//! older: a render that started earlier can never overwrite a newer token.

use std::sync::Arc;

use crate::domain::status::{Bits, Status};
use crate::domain::status_list::StatusList;
use crate::domain::token::{StatusListToken, TokenError, TokenFormat, cwt, jwt};
use crate::ports::{ListSource, ObjectError, ObjectStore, Precondition, PutOutcome, Signer, StoreError};

/// GOV.UK's token ttl (12 h): how long relying parties may cache.
pub const DEFAULT_TTL: u64 = 43_200;
/// Token lifetime: twice the ttl, so a cached token never outlives its `exp`.
pub const DEFAULT_VALIDITY: i64 = 86_400;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no list {0}")]
    UnknownList(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Objects(#[from] ObjectError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("list {0} is corrupt: {1}")]
    Corrupt(String, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// A token from the same or a newer sequence is already there.
    Superseded,
}

pub struct Publisher {
    pub lists: Arc<dyn ListSource>,
    pub objects: Arc<dyn ObjectStore>,
    pub signer: Arc<dyn Signer>,
    pub base_url: String,
    pub ttl: u64,
    pub validity: i64,
}

/// Object key of a list's token in a format.
pub fn object_key(list_id: &str, format: TokenFormat) -> String {
    match format {
        TokenFormat::Jwt => format!("t/{list_id}"),
        TokenFormat::Cwt => format!("t/{list_id}.cwt"),
    }
}

impl Publisher {
    pub fn uri(&self, list_id: &str) -> String {
        crate::issuer::allocator::list_uri(&self.base_url, list_id)
    }

    /// Renders and publishes `list_id` as it is now. Returns the sequence published.
    pub async fn publish(&self, list_id: &str, now: i64) -> Result<u64, PublishError> {
        let state = self
            .lists
            .list_state(list_id)
            .await?
            .ok_or_else(|| PublishError::UnknownList(list_id.into()))?;
        let seq = state.change_seq;
        let entries = self.lists.non_valid_entries(list_id).await?;
        let bits = Bits::new(state.list.bits).map_err(|e| PublishError::Corrupt(list_id.into(), e.to_string()))?;
        let mut list =
            StatusList::new(bits, state.list.size).map_err(|e| PublishError::Corrupt(list_id.into(), e.to_string()))?;
        for (idx, value) in entries {
            list.set(idx, Status::from_raw(value))
                .map_err(|e| PublishError::Corrupt(list_id.into(), e.to_string()))?;
        }
        let compressed = list.compress();
        let exp = now + self.validity;
        let token = StatusListToken {
            sub: self.uri(list_id),
            iat: now,
            exp: Some(exp),
            ttl: Some(self.ttl),
            iss: None,
            aggregation_uri: None,
            list,
        };
        let jwt = jwt::sign_compressed(&token, &compressed, self.signer.as_ref()).await?;
        let cwt = cwt::sign_compressed(&token, &compressed, self.signer.as_ref()).await?;
        let max_age = (self.ttl as i64).min(exp - now).max(0);
        let cache = format!("public, max-age={max_age}");
        self.write_if_newer(
            &object_key(list_id, TokenFormat::Jwt),
            jwt.into_bytes(),
            TokenFormat::Jwt,
            &cache,
            seq,
            exp,
        )
        .await?;
        self.write_if_newer(
            &object_key(list_id, TokenFormat::Cwt),
            cwt,
            TokenFormat::Cwt,
            &cache,
            seq,
            exp,
        )
        .await?;
        Ok(seq)
    }

    /// Compare-and-swap write: proceeds only while the stored token is from an older sequence
    /// (or the same sequence with an earlier `exp`: a re-signing of unchanged content).
    pub async fn write_if_newer(
        &self,
        key: &str,
        body: Vec<u8>,
        format: TokenFormat,
        cache_control: &str,
        seq: u64,
        exp: i64,
    ) -> Result<WriteOutcome, PublishError> {
        for _ in 0..8 {
            let precondition = match self.objects.head(key).await? {
                None => Precondition::Absent,
                Some(current) if current.seq > seq || (current.seq == seq && current.exp >= exp) => {
                    return Ok(WriteOutcome::Superseded);
                }
                Some(current) => Precondition::Matches(current.etag),
            };
            match self
                .objects
                .put(
                    key,
                    body.clone(),
                    format.media_type(),
                    cache_control,
                    seq,
                    exp,
                    precondition,
                )
                .await?
            {
                PutOutcome::Written => return Ok(WriteOutcome::Written),
                PutOutcome::Conflict => continue, // another writer won the race: look again
            }
        }
        Err(ObjectError::Other(format!("{key}: too many concurrent writers")).into())
    }
}

/// What one re-signing pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResignReport {
    pub checked: usize,
    pub republished: usize,
    pub failed: usize,
}

impl Publisher {
    /// Re-publishes every list whose token is missing or has less than `margin` seconds left,
    /// even if nothing changed, so relying parties never find an expired token. Run on a
    /// schedule more often than `validity - margin`.
    pub async fn resign_due(&self, now: i64, margin: i64) -> Result<ResignReport, PublishError> {
        let mut report = ResignReport::default();
        for list_id in self.lists.all_list_ids().await? {
            report.checked += 1;
            let due = match self.objects.head(&object_key(&list_id, TokenFormat::Jwt)).await {
                Ok(None) => true,
                Ok(Some(meta)) => meta.exp - now < margin,
                Err(e) => {
                    tracing::warn!(list_id, error = %e, "cannot read the published token");
                    report.failed += 1;
                    continue;
                }
            };
            if !due {
                continue;
            }
            match self.publish(&list_id, now).await {
                Ok(_) => report.republished += 1,
                Err(e) => {
                    // The old token stays in place; the next pass retries.
                    tracing::warn!(list_id, error = %e, "re-signing failed");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// The default margin: one `ttl`, so a token cached for its full ttl is still unexpired.
    pub fn resign_margin(&self) -> i64 {
        self.ttl as i64
    }
}
