//! Storage of the issuer API: clients, idempotency, lists and entries.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::client::Client;
use crate::domain::list::{Entry, ListRecord};

/// The stored idempotency record of an /issue request, keyed on (iss, jti).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyState {
    /// Claimed by an invocation that has not finished (until `until`, seconds).
    InProgress { claims_hash: String, until: i64 },
    /// Finished: the response to replay.
    Completed { claims_hash: String, response: String },
}

/// What claiming an idempotency key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours to complete (as the owner we claimed it for).
    Acquired,
    /// Someone claimed it before.
    Existing(IdempotencyState),
}

/// Result of trying to place a new entry at one index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Placed,
    /// The index is taken: try another.
    IndexTaken,
    /// Our idempotency claim was lost (expired and re-claimed): nothing was written.
    ClaimLost,
}

/// Result of a revoke attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    Revoked { revoked_at: i64 },
    AlreadyRevoked { revoked_at: i64 },
    NotFound,
    WrongClient,
}

/// Storage for the issuer API: client registry, idempotency, lists and entries.
#[async_trait]
pub trait IssuerStore: Send + Sync {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
    async fn clients(&self) -> Result<Vec<Client>, StoreError>;

    /// Claims `key` for `owner` (unique per request) unless a live record exists. Expired
    /// records (crashed invocations past `in_progress_until`, or completed ones past their
    /// retention) are taken over; a record `owner` already holds (a retried write whose answer
    /// was lost) is `Acquired`.
    async fn claim_idempotency(
        &self,
        key: &str,
        owner: &str,
        claims_hash: &str,
        now: i64,
        in_progress_until: i64,
        retain_until: i64,
    ) -> Result<Claim, StoreError>;
    /// Drops our IN_PROGRESS claim after a failure, so a retry is not blocked.
    async fn release_idempotency(&self, key: &str, owner: &str) -> Result<(), StoreError>;

    /// Atomically writes the entry (only if the index is free) and completes our idempotency
    /// claim with `response` (only if we still own it).
    async fn place_entry(&self, entry: &Entry, key: &str, owner: &str, response: &str)
    -> Result<Placement, StoreError>;
    /// Adds one to a list's allocation count and returns the new count.
    async fn count_allocation(&self, list_id: &str) -> Result<u64, StoreError>;
    /// Raises a list's status horizon to `horizon` unless it is that or later already. Called
    /// before an entry is placed, so the horizon never falls behind an entry.
    async fn extend_horizon(&self, list_id: &str, horizon: i64) -> Result<(), StoreError>;

    async fn open_lists(&self, pool: &str) -> Result<Vec<ListRecord>, StoreError>;
    /// Creates a list; false if the id exists already.
    async fn create_list(&self, list: &ListRecord) -> Result<bool, StoreError>;
    /// Retires a list from allocation (it stays published).
    async fn close_list(&self, list_id: &str) -> Result<(), StoreError>;

    async fn entry(&self, list_id: &str, idx: u64) -> Result<Option<Entry>, StoreError>;
    /// One-way revocation by the issuing client; idempotent by state.
    async fn revoke(&self, list_id: &str, idx: u64, client_id: &str, now: i64) -> Result<Revocation, StoreError>;
    /// Sets an entry's status (VALID, SUSPENDED or INVALID, as the list's bits allow; the caller
    /// checks). INVALID is final: any change after it is refused.
    async fn set_status(&self, list_id: &str, idx: u64, status: u8, now: i64) -> Result<StatusUpdate, StoreError>;
}

/// Result of [`IssuerStore::set_status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusUpdate {
    /// Written (also when it already had that status).
    Set,
    NotFound,
    /// The entry is INVALID, which is final.
    Final,
}
