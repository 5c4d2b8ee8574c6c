//! The status list service's shared crate. A map for newcomers, inner layers first (each uses
//! only those before it; `tests/architecture.rs` checks it):
//!
//! - [`domain`]: entities (lists and entries, clients, configurations, mDocs, credentials, IACAs,
//!   signers), list families and their URIs, status values, the packed Status List, keys, JWT and
//!   CWT Status List Tokens (IETF draft-ietf-oauth-status-list-20), lifetimes, the re-signing
//!   schedule, mDoc transitions, IACA and signer certificates. Pure; no AWS or HTTP types.
//! - [`ports`]: the traits the services depend on, one module per capability: storage, objects,
//!   token history, signing, queues, JWKS, events and analytics.
//! - [`issuer`], [`mdoc`], [`publisher`], [`pipeline`], [`signing`]: the services (issue and
//!   revoke, the mDoc API, render-sign-write, forwarder, publish jobs and re-signing, tokens signed
//!   through the signer port), returning typed results.
//! - [`adapters`]: implementations of the ports: DynamoDB, S3, KMS, SQS, EventBridge, HTTPS
//!   JWKS, a local PEM key; in-memory twins of every store, the objects, queues and JWKS; the
//!   stores' contract suite.
//! - [`http`]: request plumbing written once: body limits, the error type and its mappings, the
//!   mDoc API's plumbing. [`routes`]: the endpoint table and the routers built from it.
//! - [`handlers`]: one module per endpoint.
//! - [`app`], [`config`], [`wiring`]: the ports wired from the environment, once per process;
//!   [`clock`]: the time.
//! - [`lambda`]: what each `functions/<name>/src/main.rs` calls; [`local`]: the single-process
//!   server's loops.

pub mod adapters;
pub mod app;
pub mod clock;
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
pub mod routes;
pub mod signing;
#[cfg(test)]
mod testing;
pub mod wiring;

pub use domain::keys::KeySet;
pub use domain::status::{Bits, Status, StatusError};
pub use domain::status_list::StatusList;
pub use domain::token::{Expectations, StatusListToken, TokenError, TokenFormat, VerifiedToken};
pub use ports::{KeyIdentity, Signature, Signer, SignerError};
