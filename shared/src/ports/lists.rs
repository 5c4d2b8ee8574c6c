//! What the publisher reads of a list, and records of what it published.

use std::collections::HashMap;

use async_trait::async_trait;

use super::StoreError;
use crate::domain::lifetime::Lifetime;
use crate::domain::list::{ListState, ListSummary, PublishedToken};

/// Reads a list for rendering.
#[async_trait]
pub trait ListSource: Send + Sync {
    async fn list_state(&self, list_id: &str) -> Result<Option<ListState>, StoreError>;
    /// Every entry of the list whose status is not VALID, as (idx, status), read consistently.
    async fn non_valid_entries(&self, list_id: &str) -> Result<Vec<(u64, u8)>, StoreError>;
    /// Records a status change in the list; returns the new change sequence, or `None` when no
    /// such list exists (a status item of an unknown list: nothing to publish).
    async fn bump_change_seq(&self, list_id: &str) -> Result<Option<u64>, StoreError>;
    /// Records the token whose write landed. Ordered as the tokens are (change sequence, then
    /// `iat`): a record from an older token never replaces a newer one's, whatever their `exp`.
    async fn record_published(&self, list_id: &str, token: &PublishedToken) -> Result<(), StoreError>;
    /// Every list, open or retired (all stay published), with its publishing summary.
    async fn published_lists(&self) -> Result<Vec<ListSummary>, StoreError>;
    /// The current lifetime of every mDoc status list configuration, by configuration id.
    async fn configuration_lifetimes(&self) -> Result<HashMap<String, Lifetime>, StoreError>;
}
