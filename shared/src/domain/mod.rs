//! The domain core: pure code with no AWS types. Status values and lists, keys, and the
//! JWT/CWT Status List Tokens built from them.

pub mod client;
pub mod configuration;
pub mod deflate;
pub mod duration;
pub mod iaca;
pub mod issuer_request;
pub mod keys;
pub mod lifetime;
pub mod list;
pub mod mdoc;
pub mod mdoc_status;
pub mod page;
pub mod resign;
pub mod signer;
pub mod status;
pub mod status_list;
pub mod tenant;
pub mod token;
