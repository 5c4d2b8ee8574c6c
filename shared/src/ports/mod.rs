//! Ports: the traits the services depend on, one module per capability. Each names only domain
//! types (and its own request and result types); adapters (DynamoDB, S3, KMS, SQS, EventBridge,
//! HTTPS, in memory) implement them.

pub mod events;
pub mod history;
pub mod iaca;
pub mod issuer;
pub mod jwks;
pub mod lists;
pub mod mdoc;
pub mod objects;
pub mod queue;
pub mod signing;
pub mod tenants;

pub use events::*;
pub use history::*;
pub use iaca::*;
pub use issuer::*;
pub use jwks::*;
pub use lists::*;
pub use mdoc::*;
pub use objects::*;
pub use queue::*;
pub use signing::*;
pub use tenants::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable: the caller answers 503 and the client may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a misconfiguration.
    #[error("storage error: {0}")]
    Other(String),
}
