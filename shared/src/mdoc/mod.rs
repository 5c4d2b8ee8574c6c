//! The mDoc management API (MATTR-style) as a service over ports: status list configurations per
//! docType, mDoc registration through the same allocator as the issuer API, status changes that
//! reach the published tokens through the publishing pipeline, and the tenant's status lists.
//!
//! Every operation is scoped to the caller's tenant: another tenant's configuration, list or mDoc
//! is answered exactly like one that does not exist ([`MdocError::NotFound`]).
//!
//! The services take typed inputs (a parsed configuration, a docType, an [`MdocStatus`],
//! canonical ids) and answer domain types or an [`MdocError`]; request bodies, path ids, cursors
//! and the JSON of the answers are the HTTP side's (`http::mdoc_json`), as is the one mapping of
//! [`MdocError`] to the wire (`http::error`).

pub mod auth;
pub mod events;
pub mod iaca;
pub mod signers;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::domain::configuration::Configuration;
use crate::domain::configuration::{ConfigurationInput, FieldError};
use crate::domain::lifetime::Freshness;
use crate::domain::list::{Entry, ListOwner, ListRecord};
use crate::domain::mdoc::Mdoc;
use crate::domain::mdoc_status::{MdocStatus, TransitionError};
use crate::domain::page::Page;
use crate::domain::status::{Bits, Status};
use crate::domain::token::TokenFormat;
use crate::issuer::allocator::{Allocator, ListSpec};
use crate::ports::{
    ConfigurationDelete, IacaStore, IssuerStore, MdocStore, ObjectError, Placement, PublishQueue, SignerError,
    StatusUpdate, StoreError,
};
use crate::publisher::object_key;

/// Why an operation of the mDoc API (configurations, mDocs, status lists, IACAs, signers, the
/// bearer check) did not happen. Mapped to the wire in one place, `http::error`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MdocError {
    /// The request is invalid: every problem, field by field.
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    /// No such item of the caller's tenant: what was looked for (`"mDoc"`, `"IACA"`, ...).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Refused as the request stands (a limit, a state that does not allow it).
    #[error("{0}")]
    BadRequest(String),
    /// No valid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// Storage, the signing service or the object store could not be reached, or throttled: the
    /// caller may retry. The detail is logged, never shown.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A fault the caller cannot mend: what it is told, and the detail that is logged.
    #[error("{description}: {detail}")]
    Internal { description: String, detail: String },
}

impl MdocError {
    /// A fault whose description says all there is to log.
    pub fn internal(description: impl Into<String>) -> Self {
        let description = description.into();
        MdocError::Internal {
            detail: description.clone(),
            description,
        }
    }
}

impl From<StoreError> for MdocError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => MdocError::Unavailable(e.to_string()),
            StoreError::Other(detail) => MdocError::Internal {
                description: "Unable to complete the request".into(),
                detail: format!("storage error: {detail}"),
            },
        }
    }
}

/// A key in the signing service could not be made or used.
impl From<SignerError> for MdocError {
    fn from(e: SignerError) -> Self {
        match e {
            SignerError::Unavailable(_) => MdocError::Unavailable(e.to_string()),
            SignerError::Key(detail) => MdocError::Internal {
                description: "The signing key is unavailable".into(),
                detail: format!("signing key unusable: {detail}"),
            },
        }
    }
}

/// A published token could not be read.
impl From<ObjectError> for MdocError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::Unavailable(_) => MdocError::Unavailable(e.to_string()),
            ObjectError::Other(detail) => MdocError::Internal {
                description: "Unable to read the status list".into(),
                detail: format!("token read failed: {detail}"),
            },
        }
    }
}

/// Who is calling: a tenant, with a role allowed on the management API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub role: crate::domain::tenant::Role,
}

/// What the status list views read besides the service's own store: each list's published CWT.
/// Only the two status list endpoints hold it (and so S3).
#[derive(Clone)]
pub struct ListViews {
    pub objects: Arc<dyn crate::ports::ObjectStore>,
}

/// A tenant's status list as its views show it: the list, where its token is served, and the
/// token in place (`None` before its first publish).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListView {
    pub list: ListRecord,
    pub uri: String,
    pub token: Option<Vec<u8>>,
}

/// A registered mDoc: where its status lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub credential_id: String,
    pub doc_type: String,
    pub status_list_configuration_id: String,
    pub status_list_id: String,
    pub idx: u64,
    pub uri: String,
    pub status: MdocStatus,
}

pub struct MdocService {
    pub store: Arc<dyn MdocStore>,
    pub entries: Arc<dyn IssuerStore>,
    /// The tenants' IACAs and signers: an mDoc is registered only while its tenant's lists can
    /// be signed.
    pub trust: Arc<dyn IacaStore>,
    /// Where a new list's first publish is queued (see [`crate::issuer::allocator`]).
    pub queue: Option<Arc<dyn PublishQueue>>,
    pub base_url: String,
    pub list_size: u64,
    /// The re-signing cadence a configuration's expiry must fit (what a configuration body is
    /// read with: [`crate::domain::configuration::parse`]).
    pub freshness: Freshness,
    /// One allocator per configuration (its pool of lists), created on first use.
    allocators: Mutex<HashMap<String, Arc<Allocator>>>,
}

fn configuration_not_found() -> MdocError {
    MdocError::NotFound("Status list configuration")
}

impl MdocService {
    pub fn new(
        store: Arc<dyn MdocStore>,
        entries: Arc<dyn IssuerStore>,
        trust: Arc<dyn IacaStore>,
        queue: Option<Arc<dyn PublishQueue>>,
        base_url: String,
        list_size: u64,
        freshness: Freshness,
    ) -> Self {
        MdocService {
            store,
            entries,
            trust,
            queue,
            base_url,
            list_size,
            freshness,
            allocators: Mutex::new(HashMap::new()),
        }
    }

    /// The re-signing cadence a configuration's expiry must fit (what a configuration body is
    /// validated against).
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    // ------------------------------------------------------------ configurations

    /// Creates the tenant's configuration of `input`'s docType (1 bit per entry unless it says
    /// 2); a conflict if the tenant has one for that docType.
    pub async fn create_configuration(
        &self,
        p: &Principal,
        input: ConfigurationInput,
        now: i64,
    ) -> Result<Configuration, MdocError> {
        let config = Configuration {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: p.tenant_id.clone(),
            doc_type: input.doc_type,
            time_to_live: input.time_to_live,
            expiry: input.expiry,
            bits: input.bits.unwrap_or(1),
            created_at: now,
        };
        if !self.store.create_configuration(&config).await? {
            return Err(MdocError::Conflict(format!(
                "A status list configuration for docType {:?} already exists",
                config.doc_type
            )));
        }
        Ok(config)
    }

    /// The tenant's configurations in creation order, after the id `after`.
    pub async fn list_configurations(
        &self,
        p: &Principal,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<Configuration>, MdocError> {
        Ok(self.store.configurations(&p.tenant_id, after, limit).await?)
    }

    /// The tenant's configuration `id` (a canonical UUID).
    pub async fn get_configuration(&self, p: &Principal, id: &str) -> Result<Configuration, MdocError> {
        self.store
            .configuration(&p.tenant_id, id)
            .await?
            .ok_or_else(configuration_not_found)
    }

    /// Sets the lifetimes; every list of the configuration is published with them from its next
    /// publish on (the publisher reads the configuration each time). The docType and the bits
    /// are fixed: `input` may repeat them, not change them.
    pub async fn update_configuration(
        &self,
        p: &Principal,
        id: &str,
        input: ConfigurationInput,
    ) -> Result<Configuration, MdocError> {
        let current = self.get_configuration(p, id).await?;
        let mut errors = Vec::new();
        if !input.doc_type.is_empty() && input.doc_type != current.doc_type {
            errors.push(FieldError::body(
                "docType",
                "cannot be changed: create a configuration for the new docType",
                input.doc_type.clone().into(),
            ));
        }
        if let Some(bits) = input.bits.filter(|b| *b != current.bits) {
            errors.push(FieldError::body(
                "statusBits",
                "cannot be changed after creation",
                bits.into(),
            ));
        }
        if !errors.is_empty() {
            return Err(MdocError::Validation(errors));
        }
        self.store
            .update_configuration(&p.tenant_id, id, &input.time_to_live, &input.expiry)
            .await?
            .ok_or_else(configuration_not_found)
    }

    /// Deletes a configuration no status list was created for.
    pub async fn delete_configuration(&self, p: &Principal, id: &str) -> Result<(), MdocError> {
        match self.store.delete_configuration(&p.tenant_id, id).await? {
            ConfigurationDelete::Deleted => {
                self.allocators.lock().await.remove(id);
                Ok(())
            }
            ConfigurationDelete::NotFound => Err(configuration_not_found()),
            ConfigurationDelete::InUse => Err(MdocError::BadRequest(
                "Status list configuration is in use by at least one status list".into(),
            )),
        }
    }

    // ------------------------------------------------------------ mDocs

    async fn allocator(&self, config: &Configuration) -> Arc<Allocator> {
        let mut allocators = self.allocators.lock().await;
        allocators
            .entry(config.id.clone())
            .or_insert_with(|| {
                let spec = ListSpec {
                    pool: format!("mdoc/{}", config.id),
                    bits: config.bits,
                    size: self.list_size,
                    owner: Some(ListOwner {
                        tenant_id: config.tenant_id.clone(),
                        configuration_id: config.id.clone(),
                    }),
                    lifetime: Some(config.lifetime()),
                    // One open list per docType, as MATTR assigns them.
                    concurrent: 1,
                };
                Arc::new(Allocator::for_spec(self.entries.clone(), spec, self.queue.clone()))
            })
            .clone()
    }

    /// Registers a new mDoc of `doc_type`: a random free index in one of its configuration's
    /// lists. Refused while the tenant's lists cannot be signed: no active IACA, or no status list
    /// signer with a valid certificate under it.
    pub async fn register(&self, p: &Principal, doc_type: &str, now: i64) -> Result<Registration, MdocError> {
        let no_configuration = || {
            MdocError::Validation(vec![FieldError::body(
                "docType",
                "has no status list configuration: create one first",
                doc_type.into(),
            )])
        };
        let config = self
            .store
            .configuration_for_doc_type(&p.tenant_id, doc_type)
            .await?
            .ok_or_else(no_configuration)?;
        if let Err(not_ready) = signers::current_signer(self.trust.as_ref(), &p.tenant_id, now).await? {
            return Err(MdocError::BadRequest(not_ready.message()));
        }
        let allocator = self.allocator(&config).await;
        let credential_id = uuid::Uuid::new_v4().to_string();
        let placed = allocator
            .allocate(now, |list, idx| {
                let entry = Entry {
                    list_id: list.list_id.clone(),
                    idx,
                    client_id: format!("mdoc:{}", p.tenant_id),
                    issued_at: now,
                    status_expiry: 0,
                    status: 0,
                    revoked_at: None,
                };
                let mdoc = Mdoc {
                    credential_id: credential_id.clone(),
                    tenant_id: p.tenant_id.clone(),
                    configuration_id: config.id.clone(),
                    doc_type: doc_type.to_string(),
                    list_id: list.list_id,
                    idx,
                    created_at: now,
                };
                async move {
                    match self.store.place_mdoc(&entry, &mdoc).await? {
                        Placement::Placed => Ok::<_, MdocError>(Some(())),
                        Placement::IndexTaken | Placement::ClaimLost => Ok(None),
                    }
                }
            })
            .await;
        match placed {
            Ok(Some((list, idx, ()))) => Ok(Registration {
                credential_id,
                doc_type: doc_type.to_string(),
                status_list_configuration_id: config.id,
                status_list_id: list.list_id.clone(),
                idx,
                uri: list.uri(&self.base_url),
                status: MdocStatus::Valid,
            }),
            Ok(None) => Err(MdocError::internal("No free index in the docType's status lists")),
            // Its first list is created with the configuration as a condition: a configuration
            // deleted meanwhile is the caller's error, not ours.
            Err(e) => {
                if self.store.configuration(&p.tenant_id, &config.id).await?.is_none() {
                    self.allocators.lock().await.remove(&config.id);
                    return Err(no_configuration());
                }
                Err(e)
            }
        }
    }

    async fn own_mdoc(&self, p: &Principal, credential_id: &str) -> Result<Mdoc, MdocError> {
        match self.store.mdoc(credential_id).await? {
            Some(m) if m.tenant_id == p.tenant_id => Ok(m),
            _ => Err(MdocError::NotFound("mDoc")),
        }
    }

    /// The status of the tenant's mDoc `credential_id` (a canonical UUID).
    pub async fn status(&self, p: &Principal, credential_id: &str) -> Result<MdocStatus, MdocError> {
        let mdoc = self.own_mdoc(p, credential_id).await?;
        self.current_status(&mdoc).await
    }

    async fn current_status(&self, mdoc: &Mdoc) -> Result<MdocStatus, MdocError> {
        let entry = self
            .entries
            .entry(&mdoc.list_id, mdoc.idx)
            .await?
            .ok_or_else(|| MdocError::internal("The credential's status entry is missing"))?;
        Ok(MdocStatus::from_status(Status::from_raw(entry.status)))
    }

    /// Sets an mDoc's status. The change reaches the published token through the pipeline.
    pub async fn set_status(
        &self,
        p: &Principal,
        credential_id: &str,
        to: MdocStatus,
        now: i64,
    ) -> Result<MdocStatus, MdocError> {
        let mdoc = self.own_mdoc(p, credential_id).await?;
        let bits = |b: u8| Bits::new(b).map_err(|e| MdocError::internal(e.to_string()));
        // Only `suspended` depends on the list's width; the other changes skip reading it.
        let bits = if to == MdocStatus::Suspended {
            let list = self
                .store
                .list(&mdoc.list_id)
                .await?
                .ok_or_else(|| MdocError::internal("The credential's status list is missing"))?;
            bits(list.bits)?
        } else {
            bits(1)?
        };
        let current = self.current_status(&mdoc).await?;
        let refused = |e: TransitionError| {
            MdocError::Validation(vec![FieldError::body("status", e.to_string(), to.name().into())])
        };
        current.check_transition(to, bits).map_err(refused)?;
        if current == to {
            // Idempotent: nothing to write (and nothing to publish).
            return Ok(to);
        }
        // The store refuses any change of an INVALID entry atomically, whatever raced us.
        match self
            .entries
            .set_status(&mdoc.list_id, mdoc.idx, to.status().value(), now)
            .await?
        {
            StatusUpdate::Set => Ok(to),
            // INVALID already, as asked (a concurrent request, or a retry of ours whose answer was
            // lost): the request is done.
            StatusUpdate::Final if to == MdocStatus::Invalid => Ok(to),
            StatusUpdate::Final => Err(refused(TransitionError::Final)),
            StatusUpdate::NotFound => Err(MdocError::internal("The credential's status entry is missing")),
        }
    }

    /// Deletes an mDoc's stored data for good. Its index stays allocated (never reused) and keeps
    /// its last status in the published list.
    pub async fn delete(&self, p: &Principal, credential_id: &str) -> Result<(), MdocError> {
        if self.store.delete_mdoc(&p.tenant_id, credential_id).await? {
            Ok(())
        } else {
            Err(MdocError::NotFound("mDoc"))
        }
    }

    // ------------------------------------------------------------ status lists

    async fn view(&self, views: &ListViews, list: ListRecord) -> Result<StatusListView, MdocError> {
        let token = views.objects.get(&object_key(&list.list_id, TokenFormat::Cwt)).await?;
        Ok(StatusListView {
            uri: list.uri(&self.base_url),
            list,
            token: token.map(|t| t.body),
        })
    }

    /// The tenant's status lists in id order, after the id `after`, each with its token.
    pub async fn list_status_lists(
        &self,
        views: &ListViews,
        p: &Principal,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<StatusListView>, MdocError> {
        let page = self.store.tenant_lists(&p.tenant_id, after, limit).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for list in page.items {
            items.push(self.view(views, list).await?);
        }
        Ok(Page {
            items,
            next_after: page.next_after,
        })
    }

    /// The tenant's status list `id` (a canonical UUID), with its token.
    pub async fn get_status_list(
        &self,
        views: &ListViews,
        p: &Principal,
        id: &str,
    ) -> Result<StatusListView, MdocError> {
        match self.store.list(id).await? {
            Some(list) if list.owner.as_ref().is_some_and(|o| o.tenant_id == p.tenant_id) => {
                self.view(views, list).await
            }
            _ => Err(MdocError::NotFound("Status list")),
        }
    }
}
