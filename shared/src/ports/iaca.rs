//! The tenants' IACAs and status list signers.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::iaca::Iaca;
use crate::domain::page::Page;
use crate::domain::signer::{SignerCertificateRecord, StatusListSigner};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IacaCreate {
    Created,
    /// The tenant already has its maximum.
    LimitReached,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IacaDelete {
    Deleted(Box<Iaca>),
    NotFound,
    /// The active IACA is not deleted: deactivate it first.
    Active,
}

/// A tenant's IACAs. Every write is conditional: the count per tenant never exceeds its maximum,
/// and the active IACA is never deleted, however requests interleave.
#[async_trait]
pub trait IacaStore: Send + Sync {
    /// Stores a new IACA unless the tenant already has `max`.
    async fn create_iaca(&self, iaca: &Iaca, max: usize) -> Result<IacaCreate, StoreError>;
    async fn iaca(&self, tenant_id: &str, id: &str) -> Result<Option<Iaca>, StoreError>;
    /// The tenant's IACAs in id order, after `after`.
    async fn iacas(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> Result<Page<Iaca>, StoreError>;
    /// The id of the tenant's active IACA, if any.
    async fn active_iaca_id(&self, tenant_id: &str) -> Result<Option<String>, StoreError>;
    /// Makes `id` the active IACA (the previous one, if any, is no longer) or, with `active`
    /// false, deactivates it if it is. `false` if the tenant has no such IACA.
    async fn set_active_iaca(&self, tenant_id: &str, id: &str, active: bool) -> Result<bool, StoreError>;
    async fn delete_iaca(&self, tenant_id: &str, id: &str) -> Result<IacaDelete, StoreError>;
    /// Every tenant's active IACA, as `(tenant_id, iaca_id)` (for the re-signer's rotation pass).
    async fn active_iacas(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Stores a new signer, if its IACA still exists and, with `max`, the tenant has fewer than
    /// `max` signers counted (those the tenant creates itself; managed ones are not counted).
    async fn create_signer(&self, signer: &StatusListSigner, max: Option<usize>) -> Result<SignerCreate, StoreError>;
    async fn signer(&self, tenant_id: &str, id: &str) -> Result<Option<StatusListSigner>, StoreError>;
    /// The tenant's signers in id order, after `after`.
    async fn signers(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<StatusListSigner>, StoreError>;
    /// Stores the certificate of an existing signer; `false` if there is no such signer.
    async fn set_signer_certificate(
        &self,
        tenant_id: &str,
        id: &str,
        certificate: &SignerCertificateRecord,
    ) -> Result<bool, StoreError>;
    /// Deletes a signer (and uncounts it); the deleted signer, `None` if there was none.
    async fn delete_signer(&self, tenant_id: &str, id: &str) -> Result<Option<StatusListSigner>, StoreError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerCreate {
    Created,
    /// The tenant already has its maximum.
    LimitReached,
    /// The IACA was deleted meanwhile.
    NoIaca,
}
