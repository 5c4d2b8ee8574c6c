//! Ports: the traits the domain and handlers depend on. Adapters (KMS, local key, and later
//! DynamoDB and S3) implement them; nothing here names an AWS type.

use async_trait::async_trait;
use p256::PublicKey;

/// A raw ES256 signature: `r || s`, 32 bytes each, big-endian (RFC 7518 §3.4), as JWS and
/// COSE both carry it, plus the `kid` of the key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub raw: [u8; 64],
    pub kid: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The signing service could not be reached or refused for a reason that may pass
    /// (throttling, network). Callers retry or answer 503.
    #[error("signing service unavailable: {0}")]
    Unavailable(String),
    /// The key is unusable: wrong type, disabled, not found, or an unreadable answer.
    #[error("signing key unusable: {0}")]
    Key(String),
}

/// Signs with one P-256 key. The `kid` and public key are known before signing, because the
/// JWT header that carries the `kid` is itself part of what is signed.
#[async_trait]
pub trait Signer: Send + Sync {
    fn kid(&self) -> &str;
    fn public_key(&self) -> &PublicKey;
    /// ECDSA P-256 over SHA-256 of `message`.
    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError>;
}
