//! Tenants of the mDoc management API and their bearer tokens.
//!
//! A token is 32 random bytes, base64url, behind the prefix `slt_` (so a leaked one is easy to
//! recognise and to scan for). Only its SHA-256 is stored: the credential table cannot be replayed
//! if it leaks, and the lookup is one GetItem on the hash. Each credential carries one tenant and
//! one role.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "slt_";
const TOKEN_BYTES: usize = 32;

/// What a credential may do on the management API. Both may use every management endpoint
/// today; the role is recorded so that finer rules need no migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Issuer,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "issuer" => Ok(Role::Issuer),
            other => Err(format!("role {other:?}: must be admin or issuer")),
        }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Issuer => "issuer",
        }
    }
}

/// Tenant ids: 1 to 64 of `a-z 0-9 -`, starting with a letter or digit (they appear in keys and
/// logs).
pub fn valid_tenant_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// A new random bearer token.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex_lower(&Sha256::digest(token.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    #[error("Authorization header is missing")]
    Missing,
    #[error("Authorization must be a Bearer token")]
    NotBearer,
    #[error("the bearer token is not one of ours")]
    Malformed,
}

/// The token of an `Authorization: Bearer <token>` header, checked for shape only (the store
/// decides whether it is known).
pub fn bearer_token(header: Option<&str>) -> Result<&str, BearerError> {
    let header = header.ok_or(BearerError::Missing)?.trim();
    let (scheme, token) = header.split_once(' ').ok_or(BearerError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::NotBearer);
    }
    let token = token.trim();
    let body = token.strip_prefix(TOKEN_PREFIX).ok_or(BearerError::Malformed)?;
    match URL_SAFE_NO_PAD.decode(body) {
        Ok(bytes) if bytes.len() == TOKEN_BYTES => Ok(token),
        _ => Err(BearerError::Malformed),
    }
}

/// A management-API credential, stored under the SHA-256 of its bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub tenant_id: String,
    pub role: crate::domain::tenant::Role,
    pub created_at: i64,
    /// Who or what it was issued for (operator's note).
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_headers() {
        let t = new_token();
        assert_eq!(bearer_token(Some(&format!("Bearer {t}"))), Ok(t.as_str()));
        assert_eq!(bearer_token(Some(&format!("bearer  {t} "))), Ok(t.as_str()));
        assert_eq!(bearer_token(None), Err(BearerError::Missing));
        assert_eq!(bearer_token(Some(&t)), Err(BearerError::NotBearer));
        assert_eq!(bearer_token(Some(&format!("Basic {t}"))), Err(BearerError::NotBearer));
        assert_eq!(bearer_token(Some("Bearer abc")), Err(BearerError::Malformed));
        assert_eq!(bearer_token(Some("Bearer slt_abc")), Err(BearerError::Malformed));
        let long = format!("{t}AA");
        assert_eq!(
            bearer_token(Some(&format!("Bearer {long}"))),
            Err(BearerError::Malformed)
        );
    }

    #[test]
    fn tenant_ids_and_roles() {
        for ok in ["acme", "gov-uk", "t1", &"a".repeat(64)] {
            assert!(valid_tenant_id(ok), "{ok}");
        }
        for bad in ["", "-x", "Acme", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(!valid_tenant_id(bad), "{bad}");
        }
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("issuer".parse::<Role>(), Ok(Role::Issuer));
        assert!("root".parse::<Role>().is_err());
        assert_eq!(serde_json::to_string(&Role::Issuer).unwrap(), "\"issuer\"");
    }
}
