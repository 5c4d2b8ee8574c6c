//! One module per endpoint: an async fn taking the shared `App` state and the request parts,
//! returning a response or an [`ApiError`](crate::http::ApiError).

pub mod distribution;
pub mod issue;
pub mod jwks;
pub mod mdoc;
pub mod revoke;
pub mod token;
