//! The mDoc management API (MATTR-style) as a service over ports: status list configurations per
//! docType, mDoc registration through the same allocator as the issuer API, status changes that
//! reach the published tokens through the publishing pipeline, and the tenant's status lists.
//!
//! Every operation is scoped to the caller's tenant: another tenant's configuration, list or mDoc
//! is answered exactly like one that does not exist (404).

pub mod auth;
pub mod events;
pub mod iaca;
pub mod signers;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::domain::configuration::Configuration;
use crate::domain::configuration::{self, FieldError};
use crate::domain::lifetime::Freshness;
use crate::domain::list::{Entry, ListOwner, ListRecord};
use crate::domain::mdoc::Mdoc;
use crate::domain::mdoc_status::{MdocStatus, TransitionError};
use crate::domain::status::{Bits, Status};
use crate::domain::token::TokenFormat;
use crate::http::ApiError;
use crate::issuer::allocator::{Allocator, ListSpec};
use crate::ports::{
    ConfigurationDelete, IacaStore, IssuerStore, MdocStore, Placement, PublishQueue, StatusUpdate, StoreError,
};
use crate::publisher::object_key;

/// `limit` of the listing endpoints: default and bounds.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

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
    /// The re-signing cadence a configuration's expiry must fit.
    pub freshness: Freshness,
    /// One allocator per configuration (its pool of lists), created on first use.
    allocators: Mutex<HashMap<String, Arc<Allocator>>>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(d) => {
                tracing::warn!(error = %d, "storage unavailable");
                ApiError::unavailable()
            }
            StoreError::Other(d) => {
                tracing::error!(error = %d, "storage error");
                ApiError::internal("Unable to complete the request")
            }
        }
    }
}

/// A configuration as the API shows it.
pub fn configuration_json(c: &Configuration) -> Value {
    json!({
        "id": c.id,
        "docType": c.doc_type,
        "timeToLiveDuration": c.time_to_live,
        "expiryDuration": c.expiry,
        "statusBits": c.bits,
    })
}

/// A path id (a configuration's, a status list's or an mDoc's), lower-cased, if it is a
/// hyphenated UUID.
pub fn path_uuid(value: &str) -> Option<String> {
    match uuid::Uuid::try_parse(value) {
        Ok(id) if id.hyphenated().to_string() == value.to_ascii_lowercase() => Some(id.hyphenated().to_string()),
        _ => None,
    }
}

/// A path id that must be a UUID; anything else is MATTR's 400: "Invalid id parameter format" for
/// the path parameter `id`, whatever the route calls it.
pub fn uuid_param(value: &str) -> Result<String, ApiError> {
    path_uuid(value).ok_or_else(|| {
        ApiError::validation(vec![FieldError {
            location: "path",
            param: "id".into(),
            msg: "Invalid id parameter format".into(),
            value: Value::String(value.into()),
        }])
    })
}

/// Pagination of the listing endpoints: `limit` (1 to 1000, default 100) and the opaque `cursor`
/// of a previous page's `nextCursor`.
#[derive(Clone, Debug, Default)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// From the raw query string; `limit` or `cursor` given twice is a 400.
    pub fn from_raw(raw: Option<&str>) -> Result<PageQuery, ApiError> {
        let mut params =
            crate::http::query_params(raw, &["limit", "cursor"]).map_err(|e| ApiError::validation(vec![e]))?;
        Ok(PageQuery {
            limit: params.remove("limit"),
            cursor: params.remove("cursor"),
        })
    }

    /// The limit and the id to continue after.
    pub fn parse(&self) -> Result<(usize, Option<String>), ApiError> {
        use base64::Engine;
        let mut errors = Vec::new();
        let query = |param: &str, msg: &str, value: &str| FieldError {
            location: "query",
            param: param.into(),
            msg: msg.into(),
            value: Value::String(value.into()),
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.push(query("limit", "must be an integer from 1 to 1000", v));
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.strip_prefix("after:").map(str::to_owned))
                    .filter(|id| uuid::Uuid::try_parse(id).is_ok());
                if decoded.is_none() {
                    errors.push(query("cursor", "is not a cursor this API returned", c));
                }
                decoded
            }
        };
        if errors.is_empty() {
            Ok((limit, after))
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// The opaque cursor continuing after `id`.
pub fn cursor_after(id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{id}"))
}

pub(crate) fn page_json(data: Vec<Value>, next_after: Option<String>) -> Value {
    let mut page = json!({ "data": data });
    if let Some(after) = next_after {
        page["nextCursor"] = Value::String(cursor_after(&after));
    }
    page
}

pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError::not_found(format!("{what} not found"))
}

/// The body of a registration: `{"docType": "..."}`.
fn doc_type_of(body: &Value) -> Result<String, ApiError> {
    let (map, mut errors) = configuration::object_fields(body, &["docType"]).map_err(ApiError::validation)?;
    match configuration::doc_type(map.get("docType"), true) {
        Ok(Some(d)) if errors.is_empty() => Ok(d),
        Ok(_) => Err(ApiError::validation(errors)),
        Err(e) => {
            errors.push(e);
            Err(ApiError::validation(errors))
        }
    }
}

/// The body of a status change: `{"status": "valid" | "suspended" | "invalid"}`.
fn status_of(body: &Value) -> Result<MdocStatus, ApiError> {
    let (map, mut errors) = configuration::object_fields(body, &["status"]).map_err(ApiError::validation)?;
    let value = map.get("status").cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<MdocStatus>(value.clone()) {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(ApiError::validation(errors)),
        Err(_) => {
            errors.push(FieldError::body(
                "status",
                "must be one of valid, suspended, invalid",
                value,
            ));
            Err(ApiError::validation(errors))
        }
    }
}

/// A registered mDoc as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub credential_id: String,
    pub doc_type: String,
    pub status_list_configuration_id: String,
    pub status_list_id: String,
    pub idx: u64,
    pub uri: String,
    pub status: MdocStatus,
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

    // ------------------------------------------------------------ configurations

    pub async fn create_configuration(&self, p: &Principal, body: &Value, now: i64) -> Result<Value, ApiError> {
        let input = configuration::parse(body, true, &self.freshness).map_err(ApiError::validation)?;
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
            return Err(ApiError::conflict(format!(
                "A status list configuration for docType {:?} already exists",
                config.doc_type
            )));
        }
        Ok(configuration_json(&config))
    }

    pub async fn list_configurations(&self, p: &Principal, q: &PageQuery) -> Result<Value, ApiError> {
        let (limit, after) = q.parse()?;
        let page = self.store.configurations(&p.tenant_id, after.as_deref(), limit).await?;
        Ok(page_json(
            page.items.iter().map(configuration_json).collect(),
            page.next_after,
        ))
    }

    async fn own_configuration(&self, p: &Principal, id: &str) -> Result<Configuration, ApiError> {
        let id = uuid_param(id)?;
        self.store
            .configuration(&p.tenant_id, &id)
            .await?
            .ok_or_else(|| not_found("Status list configuration"))
    }

    pub async fn get_configuration(&self, p: &Principal, id: &str) -> Result<Value, ApiError> {
        Ok(configuration_json(&self.own_configuration(p, id).await?))
    }

    /// Sets the lifetimes; every list of the configuration is published with them from its next
    /// publish on (the publisher reads the configuration each time).
    pub async fn update_configuration(&self, p: &Principal, id: &str, body: &Value) -> Result<Value, ApiError> {
        let id = uuid_param(id)?;
        let input = configuration::parse(body, false, &self.freshness).map_err(ApiError::validation)?;
        let current = self
            .store
            .configuration(&p.tenant_id, &id)
            .await?
            .ok_or_else(|| not_found("Status list configuration"))?;
        let mut errors = Vec::new();
        if !input.doc_type.is_empty() && input.doc_type != current.doc_type {
            errors.push(FieldError::body(
                "docType",
                "cannot be changed: create a configuration for the new docType",
                Value::String(input.doc_type.clone()),
            ));
        }
        if input.bits.is_some_and(|b| b != current.bits) {
            errors.push(FieldError::body(
                "statusBits",
                "cannot be changed after creation",
                json!(input.bits),
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let updated = self
            .store
            .update_configuration(&p.tenant_id, &id, &input.time_to_live, &input.expiry)
            .await?
            .ok_or_else(|| not_found("Status list configuration"))?;
        Ok(configuration_json(&updated))
    }

    pub async fn delete_configuration(&self, p: &Principal, id: &str) -> Result<(), ApiError> {
        let id = uuid_param(id)?;
        match self.store.delete_configuration(&p.tenant_id, &id).await? {
            ConfigurationDelete::Deleted => {
                self.allocators.lock().await.remove(&id);
                Ok(())
            }
            ConfigurationDelete::NotFound => Err(not_found("Status list configuration")),
            ConfigurationDelete::InUse => Err(ApiError::bad_request(
                "Status list configuration is in use by at least one status list",
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

    /// Registers a new mDoc of a docType: a random free index in one of its configuration's lists.
    /// Refused (400) while the tenant's lists cannot be signed: no active IACA, or no status list
    /// signer with a valid certificate under it.
    pub async fn register(&self, p: &Principal, body: &Value, now: i64) -> Result<Registration, ApiError> {
        let doc_type = doc_type_of(body)?;
        let no_configuration = || {
            ApiError::validation(vec![FieldError::body(
                "docType",
                "has no status list configuration: create one first",
                Value::String(doc_type.clone()),
            )])
        };
        let config = self
            .store
            .configuration_for_doc_type(&p.tenant_id, &doc_type)
            .await?
            .ok_or_else(no_configuration)?;
        if let Err(not_ready) = signers::current_signer(self.trust.as_ref(), &p.tenant_id, now).await? {
            return Err(ApiError::bad_request(not_ready.message()));
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
                    doc_type: doc_type.clone(),
                    list_id: list.list_id,
                    idx,
                    created_at: now,
                };
                async move {
                    match self.store.place_mdoc(&entry, &mdoc).await? {
                        Placement::Placed => Ok::<_, ApiError>(Some(())),
                        Placement::IndexTaken | Placement::ClaimLost => Ok(None),
                    }
                }
            })
            .await;
        match placed {
            Ok(Some((list, idx, ()))) => Ok(Registration {
                credential_id,
                doc_type,
                status_list_configuration_id: config.id,
                status_list_id: list.list_id.clone(),
                idx,
                uri: list.uri(&self.base_url),
                status: MdocStatus::Valid,
            }),
            Ok(None) => Err(ApiError::internal("No free index in the docType's status lists")),
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

    async fn own_mdoc(&self, p: &Principal, credential_id: &str) -> Result<Mdoc, ApiError> {
        let id = uuid_param(credential_id)?;
        match self.store.mdoc(&id).await? {
            Some(m) if m.tenant_id == p.tenant_id => Ok(m),
            _ => Err(not_found("mDoc")),
        }
    }

    pub async fn status(&self, p: &Principal, credential_id: &str) -> Result<MdocStatus, ApiError> {
        let mdoc = self.own_mdoc(p, credential_id).await?;
        self.current_status(&mdoc).await
    }

    async fn current_status(&self, mdoc: &Mdoc) -> Result<MdocStatus, ApiError> {
        let entry = self
            .entries
            .entry(&mdoc.list_id, mdoc.idx)
            .await?
            .ok_or_else(|| ApiError::internal("The credential's status entry is missing"))?;
        Ok(MdocStatus::from_status(Status::from_raw(entry.status)))
    }

    /// Sets an mDoc's status. The change reaches the published token through the pipeline.
    pub async fn set_status(
        &self,
        p: &Principal,
        credential_id: &str,
        body: &Value,
        now: i64,
    ) -> Result<MdocStatus, ApiError> {
        let to = status_of(body)?;
        let mdoc = self.own_mdoc(p, credential_id).await?;
        // Only `suspended` depends on the list's width; the other changes skip reading it.
        let bits = if to == MdocStatus::Suspended {
            let list = self
                .store
                .list(&mdoc.list_id)
                .await?
                .ok_or_else(|| ApiError::internal("The credential's status list is missing"))?;
            Bits::new(list.bits).map_err(|e| ApiError::internal(e.to_string()))?
        } else {
            Bits::new(1).map_err(|e| ApiError::internal(e.to_string()))?
        };
        let current = self.current_status(&mdoc).await?;
        let refused =
            |e: TransitionError| ApiError::validation(vec![FieldError::body("status", e.to_string(), json!(to))]);
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
            StatusUpdate::NotFound => Err(ApiError::internal("The credential's status entry is missing")),
        }
    }

    /// Deletes an mDoc's stored data for good. Its index stays allocated (never reused) and keeps
    /// its last status in the published list.
    pub async fn delete(&self, p: &Principal, credential_id: &str) -> Result<(), ApiError> {
        let id = uuid_param(credential_id)?;
        if self.store.delete_mdoc(&p.tenant_id, &id).await? {
            Ok(())
        } else {
            Err(not_found("mDoc"))
        }
    }

    // ------------------------------------------------------------ status lists

    async fn list_json(&self, views: &ListViews, list: &ListRecord) -> Result<Value, ApiError> {
        let token = views.objects.get(&object_key(&list.list_id, TokenFormat::Cwt)).await?;
        use base64::Engine;
        Ok(json!({
            "id": list.list_id,
            // The IACA under which the token in place was signed (null before the first).
            "iacaId": list.published_iaca_id,
            "statusListConfigurationId": list.owner.as_ref().map(|o| o.configuration_id.clone()),
            "listSize": list.size,
            "uri": list.uri(&self.base_url),
            "list": token.map(|t| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t.body)),
        }))
    }

    pub async fn list_status_lists(&self, views: &ListViews, p: &Principal, q: &PageQuery) -> Result<Value, ApiError> {
        let (limit, after) = q.parse()?;
        let page = self.store.tenant_lists(&p.tenant_id, after.as_deref(), limit).await?;
        let mut data = Vec::with_capacity(page.items.len());
        for list in &page.items {
            data.push(self.list_json(views, list).await?);
        }
        Ok(page_json(data, page.next_after))
    }

    pub async fn get_status_list(&self, views: &ListViews, p: &Principal, id: &str) -> Result<Value, ApiError> {
        let id = uuid_param(id)?;
        match self.store.list(&id).await? {
            Some(list) if list.owner.as_ref().is_some_and(|o| o.tenant_id == p.tenant_id) => {
                self.list_json(views, &list).await
            }
            _ => Err(not_found("Status list")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(e: ApiError) -> Vec<(String, &'static str)> {
        e.details.into_iter().map(|d| (d.param, d.location)).collect()
    }

    #[test]
    fn pagination_queries() {
        let q = PageQuery::from_raw(None).unwrap().parse().unwrap();
        assert_eq!(q, (DEFAULT_LIMIT, None));
        let q = PageQuery::from_raw(Some("limit=1000&other=x"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(q, (1000, None));
        let id = uuid::Uuid::now_v7().to_string();
        let cursor = cursor_after(&id);
        assert!(!cursor.contains(&id), "opaque");
        let q = PageQuery::from_raw(Some(&format!("cursor={cursor}&limit=1")))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(q, (1, Some(id)));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=1.5",
            "limit=",
            "cursor=x",
            "cursor=YWZ0ZXI6eA",
        ] {
            let e = PageQuery::from_raw(Some(bad)).unwrap().parse().unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
            assert_eq!(params(e)[0].1, "query", "{bad}");
        }
        let e = PageQuery::from_raw(Some("limit=1&limit=2")).unwrap_err();
        assert_eq!(params(e), [("limit".to_string(), "query")]);
    }

    #[test]
    fn ids_are_canonical_uuids() {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(uuid_param(&id).unwrap(), id);
        for bad in [
            "",
            "x",
            "{00000000-0000-0000-0000-000000000000}",
            &id.to_uppercase(),
            &id.replace('-', ""),
        ] {
            if bad == id.to_uppercase() {
                // Upper case is the same UUID; it is accepted and read in canonical form.
                assert_eq!(uuid_param(bad).unwrap(), id);
                continue;
            }
            let e = uuid_param(bad).unwrap_err();
            assert_eq!(e.details[0].msg, "Invalid id parameter format", "{bad}");
            assert_eq!(params(e), [("id".to_string(), "path")], "{bad}");
        }
    }

    #[test]
    fn registration_and_status_bodies() {
        assert_eq!(doc_type_of(&json!({"docType": "d"})).unwrap(), "d");
        let e = doc_type_of(&json!({"docType": "", "x": 1})).unwrap_err();
        assert_eq!(params(e).len(), 2);
        assert!(doc_type_of(&json!({"docType": "x".repeat(1025)})).is_err());
        assert!(doc_type_of(&json!({"docType": 5})).is_err());
        assert!(doc_type_of(&json!("d")).is_err());
        assert_eq!(
            status_of(&json!({"status": "suspended"})).unwrap(),
            MdocStatus::Suspended
        );
        for bad in [
            json!({"status": "revoked"}),
            json!({}),
            json!({"status": "valid", "x": 1}),
            json!([1]),
        ] {
            assert_eq!(status_of(&bad).unwrap_err().status.as_u16(), 400, "{bad}");
        }
    }
}
