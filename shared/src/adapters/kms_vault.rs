//! [`KeyVault`] on AWS KMS: each managed IACA's key and each status list signer's key is its own
//! `ECC_NIST_P256` / `SIGN_VERIFY` key, tagged with its purpose (`purpose` = `statuslist-iaca` or
//! `statuslist-signer`, which the functions' IAM policies require), signed with through [`KmsSigner`] and retired by scheduling its
//! deletion (7 days, the shortest KMS allows; cancellable until then).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};

use super::kms_signer::{KmsSigner, classify};
use crate::ports::{KeyPurpose, KeyVault, Signer, SignerError};

/// The tag every key this vault creates carries, valued [`KeyPurpose::tag`].
pub const PURPOSE_TAG: &str = "purpose";

pub struct KmsVault {
    client: Client,
}

impl KmsVault {
    pub fn new(client: Client) -> Self {
        KmsVault { client }
    }
}

#[async_trait]
impl KeyVault for KmsVault {
    async fn create_key(&self, description: &str, purpose: KeyPurpose) -> Result<String, SignerError> {
        let tag = Tag::builder()
            .tag_key(PURPOSE_TAG)
            .tag_value(purpose.tag())
            .build()
            .map_err(|e| SignerError::Key(e.to_string()))?;
        let out = self
            .client
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .description(description)
            .tags(tag)
            .send()
            .await
            .map_err(classify)?;
        out.key_metadata()
            .map(|m| m.key_id().to_string())
            .ok_or_else(|| SignerError::Key("CreateKey returned no key".into()))
    }

    fn signer(&self, key_id: &str) -> Arc<dyn Signer> {
        Arc::new(KmsSigner::lazy(self.client.clone(), key_id))
    }

    async fn retire_key(&self, key_id: &str) -> Result<(), SignerError> {
        self.client
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(7)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
