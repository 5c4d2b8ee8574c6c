//! The change feed and the queues of publish jobs.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("queue error: {0}")]
    Other(String),
}

/// The FIFO queue of publish jobs, grouped by list id (see [`crate::pipeline`]).
#[async_trait]
pub trait PublishQueue: Send + Sync {
    async fn enqueue(&self, job: &PublishJob) -> Result<(), QueueError>;
    /// Hides a delivered message for `delay` before it is delivered again (retry backoff).
    async fn retry_later(&self, receipt: &str, delay: std::time::Duration) -> Result<(), QueueError>;
}

/// The queue of re-signing jobs: each job is delivered after its own delay (a standard queue; a
/// FIFO queue has no per-message delay).
#[async_trait]
pub trait ResignQueue: Send + Sync {
    /// Queues `jobs`, each (job, delay). All or an error: on an error some may have been queued
    /// (a job delivered twice re-signs once, see [`crate::pipeline`]).
    async fn enqueue_delayed(&self, jobs: &[(PublishJob, std::time::Duration)]) -> Result<(), QueueError>;
}

/// One committed change to an entry, as the table's stream reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryChange {
    pub list_id: String,
    /// The stored status before and after (`None`: the item did not exist).
    pub old_status: Option<u8>,
    pub new_status: Option<u8>,
}

impl EntryChange {
    /// Whether the published token changes: a new VALID entry, or an update of other fields,
    /// renders exactly as before.
    pub fn changes_token(&self) -> bool {
        self.old_status.unwrap_or(0) != self.new_status.unwrap_or(0)
    }
}

/// A request to publish a list at (at least) a change sequence; a re-signing job also asks for
/// a token issued at or after `resign_after`, whatever its sequence.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishJob {
    pub list_id: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resign_after: Option<i64>,
}

impl PublishJob {
    /// The job of a change: publish `list_id` at sequence `seq` or later.
    pub fn change(list_id: impl Into<String>, seq: u64) -> PublishJob {
        PublishJob {
            list_id: list_id.into(),
            seq,
            resign_after: None,
        }
    }

    /// The job of a re-signing pass at `pass_at`: a token issued at or after it, even if nothing
    /// changed. A job delivered after another publish (or twice) finds such a token and signs
    /// nothing.
    pub fn resign(list_id: impl Into<String>, pass_at: i64) -> PublishJob {
        PublishJob {
            list_id: list_id.into(),
            seq: 0,
            resign_after: Some(pass_at),
        }
    }

    /// The FIFO deduplication id: the same change is never queued twice within the window.
    pub fn dedup_id(&self) -> String {
        format!("{}-{}", self.list_id, self.seq)
    }
}

/// One queued message as delivered to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// What the queue needs to change the message's visibility.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}
