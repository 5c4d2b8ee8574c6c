//! Storage of the mDoc API: configurations and mDoc records.

use async_trait::async_trait;

use super::StoreError;
use super::issuer::Placement;
use crate::domain::configuration::Configuration;
use crate::domain::list::{Entry, ListRecord};
use crate::domain::mdoc::Mdoc;
use crate::domain::page::Page;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigurationDelete {
    Deleted,
    NotFound,
    /// At least one status list was created for it.
    InUse,
}

/// Storage for the mDoc API. Lists and entries are the issuer store's (one allocator for both
/// APIs); this adds configurations (unique per docType per tenant) and mDoc records.
#[async_trait]
pub trait MdocStore: Send + Sync {
    /// Creates a configuration; `false` (nothing written) if the tenant has one for its docType.
    async fn create_configuration(&self, c: &Configuration) -> Result<bool, StoreError>;
    async fn configuration(&self, tenant_id: &str, id: &str) -> Result<Option<Configuration>, StoreError>;
    async fn configuration_for_doc_type(
        &self,
        tenant_id: &str,
        doc_type: &str,
    ) -> Result<Option<Configuration>, StoreError>;
    /// Configurations in creation order (ids are time-ordered), after the id `after`.
    async fn configurations(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Configuration>, StoreError>;
    /// Sets the lifetimes; `None` if there is no such configuration.
    async fn update_configuration(
        &self,
        tenant_id: &str,
        id: &str,
        time_to_live: &crate::domain::duration::Duration,
        expiry: &crate::domain::duration::Duration,
    ) -> Result<Option<Configuration>, StoreError>;
    /// Deletes a configuration no list uses, with its docType claim, atomically.
    async fn delete_configuration(&self, tenant_id: &str, id: &str) -> Result<ConfigurationDelete, StoreError>;

    /// Writes the entry (only if its index is free) and the mDoc record, atomically.
    async fn place_mdoc(&self, entry: &Entry, mdoc: &Mdoc) -> Result<Placement, StoreError>;
    async fn mdoc(&self, credential_id: &str) -> Result<Option<Mdoc>, StoreError>;
    /// Deletes an mDoc record of `tenant_id`; `false` if there was none.
    async fn delete_mdoc(&self, tenant_id: &str, credential_id: &str) -> Result<bool, StoreError>;

    /// The tenant's lists in id order, after the id `after`.
    async fn tenant_lists(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ListRecord>, StoreError>;
    async fn list(&self, list_id: &str) -> Result<Option<ListRecord>, StoreError>;
}
