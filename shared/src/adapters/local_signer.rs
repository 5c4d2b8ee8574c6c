//! A [`Signer`] holding a P-256 private key in memory, read from PEM. For tests, local runs and
//! the `statuslist encode` command; production signs with KMS.

use async_trait::async_trait;
use p256::{
    SecretKey,
    ecdsa::{SigningKey, signature::Signer as _},
};

use crate::domain::keys;
use crate::ports::{KeyIdentity, Signature, Signer, SignerError};

pub struct LocalSigner {
    key: SigningKey,
    identity: KeyIdentity,
}

impl LocalSigner {
    /// Reads a PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`) P-256 key. The
    /// `kid` defaults to the key's RFC 7638 thumbprint.
    pub fn from_pem(pem: &str, kid: Option<String>) -> Result<Self, SignerError> {
        let secret = keys::secret_key_from_pem(pem).map_err(|e| SignerError::Key(e.to_string()))?;
        Ok(Self::from_secret(secret, kid))
    }

    pub fn from_secret(secret: SecretKey, kid: Option<String>) -> Self {
        let mut identity = KeyIdentity::of(secret.public_key());
        if let Some(kid) = kid {
            identity.kid = kid;
        }
        LocalSigner {
            key: SigningKey::from(secret),
            identity,
        }
    }

    /// A fresh random key: for tests.
    pub fn generate() -> Self {
        Self::from_secret(SecretKey::random(&mut rand::rngs::OsRng), None)
    }

    pub fn verifying_key(&self) -> p256::ecdsa::VerifyingKey {
        *self.key.verifying_key()
    }
}

#[async_trait]
impl Signer for LocalSigner {
    /// Known from the key itself: never fails.
    async fn identity(&self) -> Result<&KeyIdentity, SignerError> {
        Ok(&self.identity)
    }

    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError> {
        let sig: p256::ecdsa::Signature = self.key.sign(message);
        Ok(Signature {
            raw: sig.to_bytes().into(),
            kid: self.identity.kid.clone(),
        })
    }
}

/// A [`crate::ports::KeyVault`] of in-memory keys: the local twin of the KMS vault, for service
/// tests. Retired keys stop signing at once.
#[derive(Default)]
pub struct LocalVault {
    keys: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<LocalSigner>>>,
}

/// A retired or unknown key of a [`LocalVault`]: it never signs.
struct NoKey(String);

#[async_trait]
impl Signer for NoKey {
    async fn identity(&self) -> Result<&KeyIdentity, SignerError> {
        Err(SignerError::Key(format!("{} is not a key of this vault", self.0)))
    }
    async fn sign(&self, _: &[u8]) -> Result<Signature, SignerError> {
        Err(SignerError::Key(format!("{} is not a key of this vault", self.0)))
    }
}

impl LocalVault {
    /// How many keys are live.
    pub fn live_keys(&self) -> usize {
        self.keys.lock().unwrap().len()
    }
}

#[async_trait]
impl crate::ports::KeyVault for LocalVault {
    async fn create_key(&self, _description: &str, _purpose: crate::ports::KeyPurpose) -> Result<String, SignerError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.keys
            .lock()
            .unwrap()
            .insert(id.clone(), std::sync::Arc::new(LocalSigner::generate()));
        Ok(id)
    }

    fn signer(&self, key_id: &str) -> std::sync::Arc<dyn Signer> {
        match self.keys.lock().unwrap().get(key_id) {
            Some(key) => key.clone(),
            None => std::sync::Arc::new(NoKey(key_id.to_string())),
        }
    }

    async fn retire_key(&self, key_id: &str) -> Result<(), SignerError> {
        self.keys.lock().unwrap().remove(key_id);
        Ok(())
    }
}
