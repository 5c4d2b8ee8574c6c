//! [`TenantStore`] in memory: management-API credentials by the SHA-256 of their bearer token,
//! with the DynamoDB adapter's rule that a stored credential is never overwritten.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::tenant::Credential;
use crate::ports::{StoreError, TenantStore};

#[derive(Default)]
pub struct MemTenants {
    credentials: Mutex<HashMap<String, Credential>>,
}

#[async_trait]
impl TenantStore for MemTenants {
    /// A hash already stored is refused with an error, as DynamoDB's failed
    /// `attribute_not_exists` condition is (a collision of 256-bit hashes, or a bug).
    async fn put_credential(&self, token_hash: &str, credential: &Credential) -> Result<(), StoreError> {
        let mut credentials = self.credentials.lock().unwrap();
        if credentials.contains_key(token_hash) {
            return Err(StoreError::Other(format!(
                "a credential is stored under {token_hash} already"
            )));
        }
        credentials.insert(token_hash.to_string(), credential.clone());
        Ok(())
    }

    async fn credential(&self, token_hash: &str) -> Result<Option<Credential>, StoreError> {
        Ok(self.credentials.lock().unwrap().get(token_hash).cloned())
    }

    async fn delete_credential(&self, token_hash: &str) -> Result<bool, StoreError> {
        Ok(self.credentials.lock().unwrap().remove(token_hash).is_some())
    }
}
