//! Adapters: the ports implemented against real services (AWS) and local stand-ins that are
//! real implementations too (a PEM key signs exactly as KMS does).

pub mod analytics;
pub mod aws;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
pub mod dynamo;
pub mod jwks_http;
pub mod kms_signer;
pub mod kms_vault;
pub mod lambda_events;
pub mod local_signer;
pub mod log_events;
pub mod memory;
pub mod metrics;
pub mod s3_objects;
pub mod sqs_queue;
