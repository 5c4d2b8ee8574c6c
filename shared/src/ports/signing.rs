//! Signing: the signer of one P-256 key, the tenants' mDoc signing keys, and the vault that
//! creates and retires keys.

use async_trait::async_trait;
use p256::PublicKey;

use super::StoreError;

/// A raw ES256 signature: `r || s`, 32 bytes each, big-endian (RFC 7518 §3.4), as JWS and
/// COSE both carry it, plus the `kid` of the key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub raw: [u8; 64],
    pub kid: String,
}

impl Signature {
    /// As a P-256 ECDSA signature (what a certificate or a CSR is assembled with).
    pub fn ecdsa(&self) -> Result<p256::ecdsa::Signature, SignerError> {
        p256::ecdsa::Signature::from_slice(&self.raw)
            .map_err(|e| SignerError::Key(format!("unreadable signature: {e}")))
    }
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

/// Who a signing key is: its `kid` (the RFC 7638 thumbprint unless configured otherwise) and its
/// public half, as JWT and CWT headers and our JWKS name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIdentity {
    pub kid: String,
    pub public_key: PublicKey,
}

impl KeyIdentity {
    /// The identity of `public_key` under its RFC 7638 thumbprint.
    pub fn of(public_key: PublicKey) -> Self {
        KeyIdentity {
            kid: crate::domain::keys::thumbprint(&public_key),
            public_key,
        }
    }
}

/// Signs with one P-256 key. The `kid` is needed before signing, because the JWT header that
/// carries it is itself part of what is signed.
#[async_trait]
pub trait Signer: Send + Sync {
    /// The key's identity. An adapter may fetch it on first use (KMS: GetPublicKey) and cache it,
    /// so building a signer never touches the network; a failed fetch is retried on the next
    /// call.
    async fn identity(&self) -> Result<&KeyIdentity, SignerError>;
    /// ECDSA P-256 over SHA-256 of `message`.
    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError>;
}

/// What signs a tenant's mDoc status lists now: the signer's key, its certificate (for the
/// tokens' `x5chain`), the IACA that issued it, and when the first of the two ends (no token may
/// outlive it).
#[derive(Clone)]
pub struct TenantSigning {
    pub signer: std::sync::Arc<dyn Signer>,
    pub certificate_der: Vec<u8>,
    pub iaca_id: String,
    pub not_after: i64,
}

/// The keys tenants sign their mDoc status lists with.
#[async_trait]
pub trait TenantKeys: Send + Sync {
    /// The tenant's signing key at `now`; `None` if it has none (no active IACA, or no signer with
    /// a valid certificate under it).
    async fn signing_key(&self, tenant_id: &str, now: i64) -> Result<Option<TenantSigning>, StoreError>;
}

/// What a key of the [`KeyVault`] is for: its tag, which IAM policies require, so a function
/// that signs status lists cannot sign certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    Iaca,
    StatusListSigner,
}

impl KeyPurpose {
    /// The value of the key's `purpose` tag.
    pub fn tag(self) -> &'static str {
        match self {
            KeyPurpose::Iaca => "statuslist-iaca",
            KeyPurpose::StatusListSigner => "statuslist-signer",
        }
    }
}

/// Creates and retires the signing keys of managed IACAs and of status list signers, held by the
/// signing service.
#[async_trait]
pub trait KeyVault: Send + Sync {
    /// A new ECDSA P-256 signing key for `purpose`; its id.
    async fn create_key(&self, description: &str, purpose: KeyPurpose) -> Result<String, SignerError>;
    /// The signer of key `key_id` (no call until it is used).
    fn signer(&self, key_id: &str) -> std::sync::Arc<dyn Signer>;
    /// Schedules the key's deletion (KMS: after its shortest waiting period, cancellable).
    async fn retire_key(&self, key_id: &str) -> Result<(), SignerError>;
}
