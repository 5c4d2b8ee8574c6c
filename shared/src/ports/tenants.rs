//! Management-API credentials of the tenants.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::tenant::Credential;

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Stores a new credential; never overwrites one.
    async fn put_credential(&self, token_hash: &str, credential: &Credential) -> Result<(), StoreError>;
    async fn credential(&self, token_hash: &str) -> Result<Option<Credential>, StoreError>;
    /// Withdraws a credential; `false` if there was none.
    async fn delete_credential(&self, token_hash: &str) -> Result<bool, StoreError>;
}
