//! The status list service's shared crate. A map for newcomers:
//!
//! - [`domain`]: status values, the packed Status List, keys, JWT and CWT Status List Tokens
//!   (IETF draft-ietf-oauth-status-list-20). Pure; no AWS types.
//! - [`ports`]: the traits the domain and handlers depend on (signing now; storage, publishing
//!   and events as the API grows).
//! - [`adapters`]: implementations of the ports: AWS KMS, and a local PEM key for tests and
//!   local runs.
//! - [`http`]: request plumbing written once: the route table, router, error mapping.
//! - [`issuer`]: the GOV.UK issuer API (authentication, idempotent issue, revoke, allocation).
//! - [`handlers`]: one module per endpoint.
//! - [`app`] and [`config`]: the ports wired from the environment, once per process.
//! - [`lambda`]: what each `functions/<name>/src/main.rs` calls.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod issuer;
pub mod lambda;
pub mod local;
pub mod mdoc;
pub mod pipeline;
pub mod ports;
pub mod publisher;
#[cfg(test)]
mod testing;
pub mod wiring;

pub use domain::keys::KeySet;
pub use domain::status::{Bits, Status, StatusError};
pub use domain::status_list::StatusList;
pub use domain::token::{Expectations, StatusListToken, TokenError, TokenFormat, VerifiedToken};
pub use ports::{KeyIdentity, Signature, Signer, SignerError};
