//! [`Signer`] backed by an AWS KMS `ECC_NIST_P256` / `SIGN_VERIFY` key.
//!
//! KMS signs a message of at most 4,096 bytes with `MessageType=RAW`; a 2^20-entry list token
//! is larger, so we hash locally and send the 32-byte SHA-256 digest with
//! `MessageType=DIGEST` and `ECDSA_SHA_256`. KMS answers with a DER `ECDSA-Sig-Value`, which
//! the `p256`/`ecdsa` crates turn into the raw `r || s` that JWS and COSE carry.

use async_trait::async_trait;
use aws_sdk_kms::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    primitives::Blob,
    types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use p256::{
    PublicKey,
    ecdsa::{VerifyingKey, signature::hazmat::PrehashVerifier},
    pkcs8::DecodePublicKey,
};
use sha2::{Digest, Sha256};

use crate::domain::keys;
use crate::ports::{Signature, Signer, SignerError};

pub struct KmsSigner {
    client: Client,
    key_id: String,
    public: PublicKey,
    verifying: VerifyingKey,
    kid: String,
}

/// Throttling, timeouts and unreachable endpoints may pass; anything else is a key problem.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(err: SdkError<E>) -> SignerError {
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            SignerError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("Unknown");
            let message = e.err().message().unwrap_or("");
            if matches!(
                code,
                "ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException"
            ) || e.raw().status().is_server_error()
            {
                SignerError::Unavailable(format!("{code}: {message}"))
            } else {
                SignerError::Key(format!("{code}: {message}"))
            }
        }
        _ => SignerError::Unavailable(format!("{err:?}")),
    }
}

impl KmsSigner {
    /// Reads the key's public half once (GetPublicKey) and derives the `kid` from it, so the
    /// kid is stable for the key and identical in JWTs, CWTs and our JWKS.
    pub async fn new(client: Client, key_id: impl Into<String>) -> Result<Self, SignerError> {
        let key_id = key_id.into();
        let out = client.get_public_key().key_id(&key_id).send().await.map_err(classify)?;
        if out.key_spec() != Some(&KeySpec::EccNistP256) {
            return Err(SignerError::Key(format!(
                "{key_id} is {:?}, not ECC_NIST_P256",
                out.key_spec()
            )));
        }
        if out.key_usage() != Some(&KeyUsageType::SignVerify) {
            return Err(SignerError::Key(format!("{key_id} is not a SIGN_VERIFY key")));
        }
        let der = out
            .public_key()
            .ok_or_else(|| SignerError::Key("GetPublicKey returned no key".into()))?;
        let public = PublicKey::from_public_key_der(der.as_ref())
            .map_err(|e| SignerError::Key(format!("unreadable public key: {e}")))?;
        let kid = keys::thumbprint(&public);
        Ok(KmsSigner {
            client,
            key_id,
            verifying: VerifyingKey::from(&public),
            public,
            kid,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

#[async_trait]
impl Signer for KmsSigner {
    fn kid(&self) -> &str {
        &self.kid
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError> {
        let digest = Sha256::digest(message);
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(classify)?;
        let der = out
            .signature()
            .ok_or_else(|| SignerError::Key("Sign returned no signature".into()))?;
        let sig = p256::ecdsa::Signature::from_der(der.as_ref())
            .map_err(|e| SignerError::Key(format!("KMS signature is not DER ECDSA-Sig-Value: {e}")))?;
        // Low-S form: some verifiers insist on it, and it is equally valid for everyone else.
        let sig = sig.normalize_s().unwrap_or(sig);
        // A signature that does not verify must never be published; catching it here costs
        // ~100 µs and guards against a misbehaving endpoint (e.g. one that re-hashes digests).
        self.verifying
            .verify_prehash(&digest, &sig)
            .map_err(|_| SignerError::Key("KMS returned a signature that does not verify".into()))?;
        Ok(Signature {
            raw: sig.to_bytes().into(),
            kid: self.kid.clone(),
        })
    }
}
