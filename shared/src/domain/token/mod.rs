//! Status List Tokens (spec §3 JWT, §4 CWT): one domain value, [`StatusListToken`], signed
//! outside the domain (see [`crate::signing`]) and verified against a [`KeySet`].

pub mod cwt;
pub mod jwt;

use crate::domain::keys::KeySet;
use crate::domain::status::StatusError;
use crate::domain::status_list::{ListDecodeError, MAX_LIST_BYTES, StatusList};

pub const JWT_TYP: &str = "statuslist+jwt";
pub const CWT_TYP: &str = "application/statuslist+cwt";
pub const JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";
pub const CWT_MEDIA_TYPE: &str = CWT_TYP;

/// What a Status List Token says, independent of its JWT or CWT form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListToken {
    /// The token's own URI; equals the `uri` in every Referenced Token that points here.
    pub sub: String,
    pub iat: i64,
    pub exp: Option<i64>,
    /// Seconds a consumer may cache the token; positive.
    pub ttl: Option<u64>,
    pub iss: Option<String>,
    pub aggregation_uri: Option<String>,
    pub list: StatusList,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFormat {
    Jwt,
    Cwt,
}

impl TokenFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            TokenFormat::Jwt => JWT_MEDIA_TYPE,
            TokenFormat::Cwt => CWT_MEDIA_TYPE,
        }
    }

    /// JWTs are ASCII text starting with a base64url header (`eyJ` for `{"`); CWTs are binary
    /// CBOR starting with tag 18 (0xD2) or another CBOR item.
    pub fn detect(bytes: &[u8]) -> TokenFormat {
        let text = bytes.trim_ascii();
        let looks_like_jws = !text.is_empty()
            && text
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
            && text.iter().filter(|b| **b == b'.').count() == 2;
        if looks_like_jws {
            TokenFormat::Jwt
        } else {
            TokenFormat::Cwt
        }
    }
}

/// What a verifier expects of a token beyond a good signature.
#[derive(Clone, Debug)]
pub struct Expectations<'a> {
    /// The Referenced Token's `uri`; `sub` must equal it exactly (spec §8 step 4a).
    pub sub: Option<&'a str>,
    /// Current time (seconds since the epoch) for the `exp` check.
    pub now: i64,
    /// Cap on the decompressed list.
    pub max_list_bytes: usize,
}

impl<'a> Expectations<'a> {
    pub fn new(sub: Option<&'a str>, now: i64) -> Self {
        Expectations {
            sub,
            now,
            max_list_bytes: MAX_LIST_BYTES,
        }
    }
}

/// A token whose signature and claims checked out.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub format: TokenFormat,
    pub kid: Option<String>,
    pub token: StatusListToken,
}

/// Every way a Status List Token can fail to build or verify.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("not a {0} Status List Token: {1}")]
    Malformed(&'static str, String),
    #[error("bad base64url in {0}: {1}")]
    Base64(&'static str, String),
    #[error("bad JSON in {0}: {1}")]
    Json(&'static str, String),
    #[error("bad CBOR: {0}")]
    Cbor(String),
    #[error("algorithm {0} is not accepted; only ES256")]
    WrongAlgorithm(String),
    #[error("wrong token type {found:?}; expected {expected:?}")]
    WrongType {
        expected: &'static str,
        found: Option<String>,
    },
    #[error("no trusted key for kid {0:?}")]
    UnknownKey(Option<String>),
    #[error("signature does not verify")]
    BadSignature,
    #[error("the signer certificate is not trusted: {0}")]
    Untrusted(String),
    #[error("required claim {0} is missing")]
    MissingClaim(&'static str),
    #[error("claim {claim} is invalid: {reason}")]
    InvalidClaim { claim: &'static str, reason: String },
    #[error("sub {found:?} does not equal the expected URI {expected:?}")]
    SubjectMismatch { expected: String, found: String },
    #[error("token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error(transparent)]
    List(#[from] ListDecodeError),
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// Checks shared by both forms once the signature is good: `sub` and `exp`.
fn check_claims(token: &StatusListToken, expect: &Expectations<'_>) -> Result<(), TokenError> {
    if let Some(expected) = expect.sub
        && token.sub != expected
    {
        return Err(TokenError::SubjectMismatch {
            expected: expected.into(),
            found: token.sub.clone(),
        });
    }
    if let Some(exp) = token.exp
        && exp <= expect.now
    {
        return Err(TokenError::Expired { exp, now: expect.now });
    }
    Ok(())
}

fn check_ttl(ttl: Option<u64>) -> Result<(), TokenError> {
    if ttl == Some(0) {
        return Err(TokenError::InvalidClaim {
            claim: "ttl",
            reason: "must be positive".into(),
        });
    }
    Ok(())
}

/// Verifies a token of either form, detected from its bytes.
pub fn verify(bytes: &[u8], keys: &KeySet, expect: &Expectations<'_>) -> Result<VerifiedToken, TokenError> {
    match TokenFormat::detect(bytes) {
        TokenFormat::Jwt => {
            let text = std::str::from_utf8(bytes.trim_ascii()).expect("detect checked ASCII");
            jwt::verify(text, keys, expect)
        }
        TokenFormat::Cwt => cwt::verify(bytes, keys, expect),
    }
}

/// Verifies an ES256 raw signature; `raw` must be exactly 64 bytes.
fn verify_es256(key: &p256::ecdsa::VerifyingKey, message: &[u8], raw: &[u8]) -> Result<(), TokenError> {
    use p256::ecdsa::signature::Verifier;
    let sig = p256::ecdsa::Signature::from_slice(raw).map_err(|_| TokenError::BadSignature)?;
    key.verify(message, &sig).map_err(|_| TokenError::BadSignature)
}
