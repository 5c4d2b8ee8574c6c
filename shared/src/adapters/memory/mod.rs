//! In-memory adapters of the store, object, history, queue and issuer-JWKS ports: a second
//! implementation beside the AWS ones, for service behaviour tested in process and for drivers
//! that measure the service's own code at its ceiling. They keep the AWS adapters' rules
//! (conditional writes, compare-and-swap on ETags, versions, INVALID final, idempotency claims
//! that lapse), held to the same contract suite as those (`adapters::contract`). A few knobs
//! inject faults (a slow or hung object store, a writer that gets in first, a queue that
//! refuses).

mod jwks;
mod mdoc;
mod tenants;

pub use jwks::MemJwks;
pub use tenants::MemTenants;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::client::Client;
use crate::domain::lifetime::Lifetime;
use crate::domain::list::{Entry, ListRecord, ListState, ListSummary, PublishedToken};
use crate::ports::{
    Claim, IdempotencyState, IssuerStore, ListSource, ObjectError, ObjectMeta, ObjectStore, ObjectVersion, ObjectWrite,
    Placement, Precondition, PublishQueue, PublishedObject, PutOutcome, QueueError, ResignQueue, Revocation,
    StatusUpdate, StoreError,
};
use crate::ports::{Delivery, PublishJob};

/// One stored list: its record, change sequence and the token recorded as in place.
#[derive(Clone, Debug)]
struct StoredList {
    list: ListRecord,
    change_seq: u64,
    published: Option<PublishedToken>,
    /// Indices handed out (what the allocator retires a full list by).
    allocated: u64,
}

/// Lists and entries: the [`ListSource`] the publisher reads, and the list part of the
/// [`IssuerStore`] the allocator uses.
#[derive(Default)]
pub struct MemLists {
    lists: Mutex<BTreeMap<String, StoredList>>,
    /// Non-VALID entries: (list, idx) -> status.
    statuses: Mutex<BTreeMap<(String, u64), u8>>,
    /// mDoc configurations' current lifetimes, by id.
    configurations: Mutex<HashMap<String, Lifetime>>,
    /// The issuer API's records: clients, idempotency claims, entries.
    issuer: Mutex<IssuerRecords>,
    /// The mDoc API's configurations and mDoc records (see [`mdoc`]).
    mdoc: Mutex<mdoc::MdocRecords>,
}

/// What the issuer API stores besides lists (the DynamoDB adapter's clients, idempotency and
/// entries tables).
#[derive(Default)]
struct IssuerRecords {
    clients: HashMap<String, Client>,
    idempotency: HashMap<String, IdempotencyRecord>,
    entries: HashMap<(String, u64), Entry>,
}

struct IdempotencyRecord {
    owner: String,
    claims_hash: String,
    /// Set while in progress.
    in_progress_until: Option<i64>,
    retain_until: i64,
    /// Set once completed.
    response: Option<String>,
}

impl MemLists {
    /// An open issuer-API list (default lifetimes), never published.
    pub fn add_list(&self, list_id: &str) {
        self.lists.lock().unwrap().insert(
            list_id.to_string(),
            StoredList {
                list: ListRecord {
                    list_id: list_id.to_string(),
                    pool: "govuk".into(),
                    bits: 2,
                    size: 1000,
                    open: true,
                    created_at: 0,
                    lifetime: None,
                    owner: None,
                    published_iaca_id: None,
                    status_horizon: None,
                },
                change_seq: 0,
                published: None,
                allocated: 0,
            },
        );
    }

    /// An mDoc list of `configuration_id`, whose lifetime is that configuration's.
    pub fn add_mdoc_list(&self, list_id: &str, configuration_id: &str, lifetime: Lifetime) {
        self.add_list(list_id);
        self.set_configuration(configuration_id, lifetime);
        let mut lists = self.lists.lock().unwrap();
        let stored = lists.get_mut(list_id).unwrap();
        stored.list.lifetime = Some(lifetime);
        stored.list.owner = Some(crate::domain::list::ListOwner {
            tenant_id: "tenant".into(),
            configuration_id: configuration_id.into(),
        });
    }

    /// Creates or updates a configuration's lifetime (what `PUT` of a configuration does).
    pub fn set_configuration(&self, configuration_id: &str, lifetime: Lifetime) {
        self.configurations
            .lock()
            .unwrap()
            .insert(configuration_id.into(), lifetime);
    }

    /// A status change, as the forwarder records it: the entry, then the sequence.
    pub fn set_status(&self, list_id: &str, idx: u64, status: u8) -> u64 {
        self.statuses.lock().unwrap().insert((list_id.to_string(), idx), status);
        let mut lists = self.lists.lock().unwrap();
        let stored = lists.get_mut(list_id).expect("a known list");
        stored.change_seq += 1;
        stored.change_seq
    }

    pub fn published_exp(&self, list_id: &str) -> i64 {
        self.published(list_id).map_or(0, |p| p.exp)
    }

    /// The token recorded as in place.
    pub fn published(&self, list_id: &str) -> Option<PublishedToken> {
        self.lists.lock().unwrap()[list_id].published.clone()
    }

    /// Closes a list for allocation (as the allocator does when it is full).
    pub fn close(&self, list_id: &str) {
        self.lists
            .lock()
            .unwrap()
            .get_mut(list_id)
            .expect("a known list")
            .list
            .open = false;
    }

    /// A list's status horizon.
    pub fn status_horizon(&self, list_id: &str) -> Option<i64> {
        self.lists.lock().unwrap()[list_id].list.status_horizon
    }

    pub fn list_ids(&self) -> Vec<String> {
        self.lists.lock().unwrap().keys().cloned().collect()
    }

    /// Every entry placed, in (list, idx) order.
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self.issuer.lock().unwrap().entries.values().cloned().collect();
        entries.sort_by(|a, b| (&a.list_id, a.idx).cmp(&(&b.list_id, b.idx)));
        entries
    }
}

#[async_trait]
impl ListSource for MemLists {
    async fn list_state(&self, list_id: &str) -> Result<Option<ListState>, StoreError> {
        let configurations = self.configurations.lock().unwrap().clone();
        Ok(self.lists.lock().unwrap().get(list_id).map(|s| {
            let mut list = s.list.clone();
            // As the DynamoDB adapter does: an mDoc list lives as its configuration says now.
            if let Some(owner) = &list.owner {
                list.lifetime = configurations.get(&owner.configuration_id).copied();
            }
            ListState {
                list,
                change_seq: s.change_seq,
            }
        }))
    }

    async fn non_valid_entries(&self, list_id: &str) -> Result<Vec<(u64, u8)>, StoreError> {
        Ok(self
            .statuses
            .lock()
            .unwrap()
            .iter()
            .filter(|((l, _), s)| l == list_id && **s != 0)
            .map(|((_, idx), s)| (*idx, *s))
            .collect())
    }

    async fn bump_change_seq(&self, list_id: &str) -> Result<Option<u64>, StoreError> {
        let mut lists = self.lists.lock().unwrap();
        let Some(stored) = lists.get_mut(list_id) else {
            return Ok(None);
        };
        stored.change_seq += 1;
        Ok(Some(stored.change_seq))
    }

    async fn record_published(&self, list_id: &str, token: &PublishedToken) -> Result<(), StoreError> {
        if let Some(stored) = self.lists.lock().unwrap().get_mut(list_id) {
            let newer = stored
                .published
                .as_ref()
                .is_none_or(|p| (p.seq, p.iat) < (token.seq, token.iat));
            if newer {
                stored.published = Some(token.clone());
                // The list record names the IACA under which its token in place was signed.
                stored.list.published_iaca_id = token.iaca_id.clone();
            }
        }
        Ok(())
    }

    async fn published_lists(&self) -> Result<Vec<ListSummary>, StoreError> {
        Ok(self
            .lists
            .lock()
            .unwrap()
            .values()
            .map(|s| ListSummary {
                list_id: s.list.list_id.clone(),
                published_exp: s.published.as_ref().map_or(0, |p| p.exp),
                published_max_age: s.published.as_ref().map(|p| p.max_age),
                lifetime: s.list.lifetime,
                tenant_id: s.list.owner.as_ref().map(|o| o.tenant_id.clone()),
                configuration_id: s.list.owner.as_ref().map(|o| o.configuration_id.clone()),
                open: s.list.open,
                status_horizon: s.list.status_horizon,
            })
            .collect())
    }

    async fn configuration_lifetimes(&self) -> Result<HashMap<String, Lifetime>, StoreError> {
        Ok(self.configurations.lock().unwrap().clone())
    }
}

#[async_trait]
impl IssuerStore for MemLists {
    async fn open_lists(&self, pool: &str) -> Result<Vec<ListRecord>, StoreError> {
        Ok(self
            .lists
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.list.pool == pool && s.list.open)
            .map(|s| s.list.clone())
            .collect())
    }

    async fn create_list(&self, list: &ListRecord) -> Result<bool, StoreError> {
        let mut lists = self.lists.lock().unwrap();
        if lists.contains_key(&list.list_id) {
            return Ok(false);
        }
        // An mDoc list is counted on its configuration, which must still exist.
        if let Some(owner) = &list.owner {
            self.count_list_of(owner, &list.list_id)?;
        }
        let stored = StoredList {
            list: list.clone(),
            change_seq: 0,
            published: None,
            allocated: 0,
        };
        lists.insert(list.list_id.clone(), stored);
        Ok(true)
    }

    async fn extend_horizon(&self, list_id: &str, horizon: i64) -> Result<(), StoreError> {
        if let Some(stored) = self.lists.lock().unwrap().get_mut(list_id) {
            stored.list.status_horizon = stored.list.status_horizon.max(Some(horizon));
        }
        Ok(())
    }

    async fn count_allocation(&self, list_id: &str) -> Result<u64, StoreError> {
        let mut lists = self.lists.lock().unwrap();
        let stored = lists
            .get_mut(list_id)
            .ok_or_else(|| StoreError::Other(format!("list {list_id} does not exist")))?;
        stored.allocated += 1;
        Ok(stored.allocated)
    }

    /// An unknown list is an error, as DynamoDB's failed `attribute_exists` condition is.
    async fn close_list(&self, list_id: &str) -> Result<(), StoreError> {
        let mut lists = self.lists.lock().unwrap();
        let stored = lists
            .get_mut(list_id)
            .ok_or_else(|| StoreError::Other(format!("list {list_id} does not exist")))?;
        stored.list.open = false;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.issuer.lock().unwrap().clients.get(client_id).cloned())
    }
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.issuer
            .lock()
            .unwrap()
            .clients
            .insert(client.client_id.clone(), client.clone());
        Ok(())
    }
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        Ok(self.issuer.lock().unwrap().clients.remove(client_id).is_some())
    }
    /// In client id order, as the DynamoDB adapter sorts its scan.
    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut clients: Vec<_> = self.issuer.lock().unwrap().clients.values().cloned().collect();
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(clients)
    }
    async fn claim_idempotency(
        &self,
        key: &str,
        owner: &str,
        claims_hash: &str,
        now: i64,
        in_progress_until: i64,
        retain_until: i64,
    ) -> Result<Claim, StoreError> {
        let mut issuer = self.issuer.lock().unwrap();
        // Free, or left behind by a crashed invocation, or past retention: (re)written, with a
        // new window, as DynamoDB's conditional put does (also when the owner is the same).
        let free = match issuer.idempotency.get(key) {
            None => true,
            Some(r) => r.retain_until < now || r.in_progress_until.is_some_and(|until| until < now),
        };
        if !free {
            let r = &issuer.idempotency[key];
            // The record names its owner: that owner's claim (a retried write whose answer was
            // lost) is its own, as DynamoDB answers from the record its condition failed on.
            if r.owner == owner {
                return Ok(Claim::Acquired);
            }
            return Ok(Claim::Existing(match (&r.response, r.in_progress_until) {
                (Some(response), _) => IdempotencyState::Completed {
                    claims_hash: r.claims_hash.clone(),
                    response: response.clone(),
                },
                (None, Some(until)) => IdempotencyState::InProgress {
                    claims_hash: r.claims_hash.clone(),
                    until,
                },
                (None, None) => return Err(StoreError::Other("an idempotency record in no state".into())),
            }));
        }
        issuer.idempotency.insert(
            key.to_string(),
            IdempotencyRecord {
                owner: owner.to_string(),
                claims_hash: claims_hash.to_string(),
                in_progress_until: Some(in_progress_until),
                retain_until,
                response: None,
            },
        );
        Ok(Claim::Acquired)
    }
    async fn release_idempotency(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let mut issuer = self.issuer.lock().unwrap();
        if issuer
            .idempotency
            .get(key)
            .is_some_and(|r| r.owner == owner && r.response.is_none())
        {
            issuer.idempotency.remove(key);
        }
        Ok(())
    }
    /// The entry (only if the index is free) and the claim's completion (only if still ours), at
    /// once, as the DynamoDB transaction does.
    async fn place_entry(
        &self,
        entry: &Entry,
        key: &str,
        owner: &str,
        response: &str,
    ) -> Result<Placement, StoreError> {
        let mut issuer = self.issuer.lock().unwrap();
        let slot = (entry.list_id.clone(), entry.idx);
        if issuer.entries.contains_key(&slot) {
            return Ok(Placement::IndexTaken);
        }
        match issuer.idempotency.get_mut(key) {
            Some(r) if r.owner == owner && r.response.is_none() => {
                r.response = Some(response.to_string());
                r.in_progress_until = None;
            }
            _ => return Ok(Placement::ClaimLost),
        }
        issuer.entries.insert(slot, entry.clone());
        Ok(Placement::Placed)
    }
    async fn entry(&self, list_id: &str, idx: u64) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .issuer
            .lock()
            .unwrap()
            .entries
            .get(&(list_id.to_string(), idx))
            .cloned())
    }
    async fn revoke(&self, list_id: &str, idx: u64, client_id: &str, now: i64) -> Result<Revocation, StoreError> {
        let mut issuer = self.issuer.lock().unwrap();
        let Some(entry) = issuer.entries.get_mut(&(list_id.to_string(), idx)) else {
            return Ok(Revocation::NotFound);
        };
        if entry.client_id != client_id {
            return Ok(Revocation::WrongClient);
        }
        if let Some(revoked_at) = entry.revoked_at {
            return Ok(Revocation::AlreadyRevoked { revoked_at });
        }
        entry.status = 1;
        entry.revoked_at = Some(now);
        drop(issuer);
        self.statuses.lock().unwrap().insert((list_id.to_string(), idx), 1);
        Ok(Revocation::Revoked { revoked_at: now })
    }
    async fn set_status(&self, list_id: &str, idx: u64, status: u8, _now: i64) -> Result<StatusUpdate, StoreError> {
        let mut issuer = self.issuer.lock().unwrap();
        let Some(entry) = issuer.entries.get_mut(&(list_id.to_string(), idx)) else {
            return Ok(StatusUpdate::NotFound);
        };
        if entry.status == 1 {
            return Ok(StatusUpdate::Final);
        }
        entry.status = status;
        drop(issuer);
        let mut statuses = self.statuses.lock().unwrap();
        match status {
            0 => statuses.remove(&(list_id.to_string(), idx)),
            s => statuses.insert((list_id.to_string(), idx), s),
        };
        Ok(StatusUpdate::Set)
    }
}

/// Objects with S3's conditional-write semantics (ETags change with every write).
#[derive(Default)]
pub struct MemObjects {
    objects: Mutex<HashMap<String, PublishedObject>>,
    etags: Mutex<u64>,
    /// Writes that went through, per key.
    writes: Mutex<HashMap<String, usize>>,
    /// Keys where another writer gets in first: just before the next conditional put of such a
    /// key, `body` is written unconditionally, so that put finds the object changed.
    interfere: Mutex<HashMap<String, Vec<u8>>>,
    /// How long every put takes (a slow store).
    latency: Mutex<std::time::Duration>,
    /// Keys whose puts never complete (a connection that hangs).
    hung: Mutex<std::collections::HashSet<String>>,
    /// Every version written, per key, oldest first: (version id, object).
    versions: Mutex<HashMap<String, Vec<(String, PublishedObject)>>>,
    /// Keys whose next put is written but answered as a conflict: what a client sees when the
    /// answer to its write is lost and its retry finds the precondition no longer met.
    lose_answer: Mutex<std::collections::HashSet<String>>,
    /// Held from a put's precondition check to its write, so conditional writes are atomic as
    /// S3's are (two `Absent` puts never both land).
    writing: Mutex<()>,
}

impl MemObjects {
    pub fn body(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().unwrap().get(key).map(|o| o.body.clone())
    }

    pub fn writes(&self, key: &str) -> usize {
        self.writes.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    pub fn interfere_once(&self, key: &str, body: &[u8]) {
        self.interfere.lock().unwrap().insert(key.to_string(), body.to_vec());
    }

    /// The next put of `key` is written, and its answer lost (the put's retry meets its own write).
    pub fn lose_answer_once(&self, key: &str) {
        self.lose_answer.lock().unwrap().insert(key.to_string());
    }

    /// Every put from now on takes `latency`.
    pub fn slow_down(&self, latency: std::time::Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    /// Puts of `key` from now on never complete.
    pub fn hang(&self, key: &str) {
        self.hung.lock().unwrap().insert(key.to_string());
    }

    /// Puts answer at once again.
    pub fn heal(&self) {
        self.hung.lock().unwrap().clear();
        *self.latency.lock().unwrap() = std::time::Duration::ZERO;
    }

    fn store(&self, key: &str, body: Vec<u8>, write: &ObjectWrite<'_>) -> String {
        let etag = {
            let mut n = self.etags.lock().unwrap();
            *n += 1;
            format!("\"{n}\"")
        };
        let version_id = format!("v{}", etag.trim_matches('"'));
        let object = PublishedObject {
            body,
            content_type: write.content_type.to_string(),
            cache_control: Some(write.cache_control.to_string()),
            meta: ObjectMeta {
                etag,
                seq: write.seq,
                iat: write.iat,
                exp: write.exp,
                version_id: Some(version_id.clone()),
            },
        };
        self.versions
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_default()
            .push((version_id.clone(), object.clone()));
        self.objects.lock().unwrap().insert(key.to_string(), object);
        *self.writes.lock().unwrap().entry(key.to_string()).or_default() += 1;
        version_id
    }

    /// Removes one version (as the lifecycle rule does once it is past the retention).
    pub fn expire_version(&self, key: &str, version_id: &str) {
        if let Some(versions) = self.versions.lock().unwrap().get_mut(key) {
            versions.retain(|(id, _)| id != version_id);
        }
    }
}

#[async_trait]
impl ObjectStore for MemObjects {
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        Ok(self.objects.lock().unwrap().get(key).map(|o| o.meta.clone()))
    }

    async fn get(&self, key: &str) -> Result<Option<PublishedObject>, ObjectError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        write: &ObjectWrite<'_>,
        precondition: Precondition,
    ) -> Result<PutOutcome, ObjectError> {
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if self.hung.lock().unwrap().contains(key) {
            std::future::pending::<()>().await;
        }
        let _writing = self.writing.lock().unwrap();
        if precondition != Precondition::None {
            let other = self.interfere.lock().unwrap().remove(key);
            if let Some(other) = other {
                let _ = self.store(key, other, write);
            }
        }
        let current = self.objects.lock().unwrap().get(key).map(|o| o.meta.etag.clone());
        let allowed = match (&precondition, &current) {
            (Precondition::None, _) => true,
            (Precondition::Absent, current) => current.is_none(),
            (Precondition::Matches(etag), Some(current)) => etag == current,
            // S3 answers an `If-Match` on no object with 404 NoSuchKey, not 412: an error.
            (Precondition::Matches(_), None) => {
                return Err(ObjectError::Other(format!("NoSuchKey: no object {key} to match")));
            }
        };
        if !allowed {
            return Ok(PutOutcome::Conflict);
        }
        let version_id = self.store(key, body, write);
        if self.lose_answer.lock().unwrap().remove(key) {
            return Ok(PutOutcome::Conflict);
        }
        Ok(PutOutcome::Written {
            version_id: Some(version_id),
        })
    }

    /// Newest first; `written_at` is the token's `iat` (what the publisher wrote just after
    /// signing).
    async fn versions(&self, key: &str) -> Result<Vec<ObjectVersion>, ObjectError> {
        let versions = self.versions.lock().unwrap();
        Ok(versions
            .get(key)
            .into_iter()
            .flatten()
            .rev()
            .map(|(id, o)| ObjectVersion {
                version_id: id.clone(),
                written_at: o.meta.iat,
            })
            .collect())
    }

    async fn head_version(&self, key: &str, version_id: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        Ok(self.get_version(key, version_id).await?.map(|o| o.meta))
    }

    async fn get_version(&self, key: &str, version_id: &str) -> Result<Option<PublishedObject>, ObjectError> {
        let versions = self.versions.lock().unwrap();
        Ok(versions
            .get(key)
            .and_then(|v| v.iter().find(|(id, _)| id == version_id))
            .map(|(_, o)| o.clone()))
    }
}

/// The token history index: (key, iat) -> version, with each entry's retention.
#[derive(Default)]
pub struct MemHistory {
    entries: Mutex<BTreeMap<(String, i64), (crate::ports::TokenVersion, i64)>>,
}

impl MemHistory {
    /// Each recorded (key, iat, retained until).
    pub fn entries(&self) -> Vec<(String, i64, i64)> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .map(|((k, iat), (_, until))| (k.clone(), *iat, *until))
            .collect()
    }
}

#[async_trait]
impl crate::ports::TokenHistory for MemHistory {
    async fn record(
        &self,
        key: &str,
        version: &crate::ports::TokenVersion,
        retain_until: i64,
    ) -> Result<(), StoreError> {
        self.entries
            .lock()
            .unwrap()
            .insert((key.to_string(), version.iat), (version.clone(), retain_until));
        Ok(())
    }

    async fn issued_by(&self, key: &str, time: i64) -> Result<Option<crate::ports::TokenVersion>, StoreError> {
        let entries = self.entries.lock().unwrap();
        Ok(entries
            .range((key.to_string(), i64::MIN)..=(key.to_string(), time))
            .next_back()
            .map(|(_, (v, _))| v.clone()))
    }
}

/// How long the FIFO queue drops a message whose deduplication id it has seen (SQS: 5 minutes).
pub const DEDUP_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);

/// The publish queue: records what was queued and which messages were handed back (receipt,
/// delay), or refuses everything. As the FIFO queue does, a job whose deduplication id was queued
/// within [`DEDUP_WINDOW`] is accepted and dropped.
#[derive(Default)]
pub struct MemQueue {
    pub jobs: Mutex<Vec<PublishJob>>,
    pub retries: Mutex<Vec<(String, std::time::Duration)>>,
    pub unavailable: bool,
    /// When each deduplication id was last queued.
    pub sent: Mutex<HashMap<String, tokio::time::Instant>>,
}

impl MemQueue {
    /// The queued jobs as the consumer receives them.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.jobs
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, job)| Delivery {
                message_id: format!("m-{i}"),
                receipt: format!("r-{i}"),
                body: serde_json::to_string(job).unwrap(),
                receive_count: 1,
            })
            .collect()
    }
}

#[async_trait]
impl PublishQueue for MemQueue {
    async fn enqueue(&self, job: &PublishJob) -> Result<(), QueueError> {
        if self.unavailable {
            return Err(QueueError::Unavailable("queue down".into()));
        }
        let now = tokio::time::Instant::now();
        let mut sent = self.sent.lock().unwrap();
        let id = job.dedup_id();
        if sent.get(&id).is_some_and(|at| now.duration_since(*at) < DEDUP_WINDOW) {
            return Ok(());
        }
        sent.insert(id, now);
        self.jobs.lock().unwrap().push(job.clone());
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: std::time::Duration) -> Result<(), QueueError> {
        self.retries.lock().unwrap().push((receipt.to_string(), delay));
        Ok(())
    }
}

/// The re-signing queue: records each job with its delay, or refuses everything. A delay is kept
/// as SQS keeps it: whole seconds, at most [`crate::domain::resign::MAX_DELAY`].
#[derive(Default)]
pub struct MemResignQueue {
    pub jobs: Mutex<Vec<(PublishJob, std::time::Duration)>>,
    pub unavailable: std::sync::atomic::AtomicBool,
}

impl MemResignQueue {
    /// The queued jobs, emptying the queue.
    pub fn take(&self) -> Vec<(PublishJob, std::time::Duration)> {
        std::mem::take(&mut *self.jobs.lock().unwrap())
    }
}

#[async_trait]
impl ResignQueue for MemResignQueue {
    async fn enqueue_delayed(&self, jobs: &[(PublishJob, std::time::Duration)]) -> Result<(), QueueError> {
        if self.unavailable.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(QueueError::Unavailable("queue down".into()));
        }
        let max = crate::domain::resign::MAX_DELAY;
        self.jobs.lock().unwrap().extend(
            jobs.iter()
                .map(|(job, delay)| (job.clone(), std::time::Duration::from_secs(delay.as_secs().min(max)))),
        );
        Ok(())
    }
}

/// One page of a tenant's items, kept by `(tenant, id)`, in id order after `after` (as the
/// DynamoDB adapter's `tenant_page` reads them).
fn tenant_page<T: Clone>(
    items: &BTreeMap<(String, String), T>,
    tenant_id: &str,
    after: Option<&str>,
    limit: usize,
) -> crate::domain::page::Page<T> {
    let mut ids = items
        .iter()
        .filter(|((t, id), _)| t == tenant_id && after.is_none_or(|a| id.as_str() > a));
    let page: Vec<_> = ids.by_ref().take(limit).collect();
    let next_after = match ids.next() {
        Some(_) => page.last().map(|((_, id), _)| id.clone()),
        None => None,
    };
    crate::domain::page::Page {
        items: page.into_iter().map(|(_, item)| item.clone()).collect(),
        next_after,
    }
}

/// A tenant's IACAs in memory, with the DynamoDB adapter's rules: the count per tenant bounded,
/// one active record, the active IACA never deleted. `fail_creates` makes the next creates fail
/// as storage would.
#[derive(Default)]
pub struct MemIacas {
    iacas: Mutex<BTreeMap<(String, String), crate::domain::iaca::Iaca>>,
    active: Mutex<HashMap<String, String>>,
    signers: Mutex<BTreeMap<(String, String), crate::domain::signer::StatusListSigner>>,
    pub fail_creates: Mutex<usize>,
}

#[async_trait]
impl crate::ports::IacaStore for MemIacas {
    async fn create_iaca(
        &self,
        iaca: &crate::domain::iaca::Iaca,
        max: usize,
    ) -> Result<crate::ports::IacaCreate, StoreError> {
        {
            let mut fail = self.fail_creates.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(StoreError::Unavailable("injected".into()));
            }
        }
        let mut iacas = self.iacas.lock().unwrap();
        let key = (iaca.tenant_id.clone(), iaca.id.clone());
        // An id in use fails the write, as DynamoDB's `attribute_not_exists` does.
        if iacas.contains_key(&key) {
            return Err(StoreError::Other(format!("IACA {} exists already", iaca.id)));
        }
        if iacas.keys().filter(|(t, _)| *t == iaca.tenant_id).count() >= max {
            return Ok(crate::ports::IacaCreate::LimitReached);
        }
        iacas.insert(key, iaca.clone());
        Ok(crate::ports::IacaCreate::Created)
    }

    async fn iaca(&self, tenant_id: &str, id: &str) -> Result<Option<crate::domain::iaca::Iaca>, StoreError> {
        Ok(self
            .iacas
            .lock()
            .unwrap()
            .get(&(tenant_id.to_string(), id.to_string()))
            .cloned())
    }

    async fn iacas(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<crate::domain::page::Page<crate::domain::iaca::Iaca>, StoreError> {
        Ok(tenant_page(&self.iacas.lock().unwrap(), tenant_id, after, limit))
    }

    async fn active_iaca_id(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.active.lock().unwrap().get(tenant_id).cloned())
    }

    async fn set_active_iaca(&self, tenant_id: &str, id: &str, active: bool) -> Result<bool, StoreError> {
        if self.iaca(tenant_id, id).await?.is_none() {
            return Ok(false);
        }
        let mut records = self.active.lock().unwrap();
        if active {
            records.insert(tenant_id.to_string(), id.to_string());
        } else if records.get(tenant_id).is_some_and(|a| a == id) {
            records.remove(tenant_id);
        }
        Ok(true)
    }

    async fn delete_iaca(&self, tenant_id: &str, id: &str) -> Result<crate::ports::IacaDelete, StoreError> {
        if self.active.lock().unwrap().get(tenant_id).is_some_and(|a| a == id) {
            return Ok(crate::ports::IacaDelete::Active);
        }
        Ok(
            match self
                .iacas
                .lock()
                .unwrap()
                .remove(&(tenant_id.to_string(), id.to_string()))
            {
                Some(iaca) => crate::ports::IacaDelete::Deleted(Box::new(iaca)),
                None => crate::ports::IacaDelete::NotFound,
            },
        )
    }

    async fn active_iacas(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .active
            .lock()
            .unwrap()
            .iter()
            .map(|(t, i)| (t.clone(), i.clone()))
            .collect())
    }

    async fn create_signer(
        &self,
        signer: &crate::domain::signer::StatusListSigner,
        max: Option<usize>,
    ) -> Result<crate::ports::SignerCreate, StoreError> {
        if self.iaca(&signer.tenant_id, &signer.iaca_id).await?.is_none() {
            return Ok(crate::ports::SignerCreate::NoIaca);
        }
        let mut signers = self.signers.lock().unwrap();
        if signers.contains_key(&(signer.tenant_id.clone(), signer.id.clone())) {
            return Err(StoreError::Other(format!("signer {} exists already", signer.id)));
        }
        let counted = signers
            .values()
            .filter(|s| s.tenant_id == signer.tenant_id && !s.managed)
            .count();
        if max.is_some_and(|max| counted >= max) {
            return Ok(crate::ports::SignerCreate::LimitReached);
        }
        signers.insert((signer.tenant_id.clone(), signer.id.clone()), signer.clone());
        Ok(crate::ports::SignerCreate::Created)
    }

    async fn signer(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<crate::domain::signer::StatusListSigner>, StoreError> {
        Ok(self
            .signers
            .lock()
            .unwrap()
            .get(&(tenant_id.to_string(), id.to_string()))
            .cloned())
    }

    async fn signers(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<crate::domain::page::Page<crate::domain::signer::StatusListSigner>, StoreError> {
        Ok(tenant_page(&self.signers.lock().unwrap(), tenant_id, after, limit))
    }

    async fn set_signer_certificate(
        &self,
        tenant_id: &str,
        id: &str,
        certificate: &crate::domain::signer::SignerCertificateRecord,
    ) -> Result<bool, StoreError> {
        Ok(
            match self
                .signers
                .lock()
                .unwrap()
                .get_mut(&(tenant_id.to_string(), id.to_string()))
            {
                Some(s) => {
                    s.certificate = Some(certificate.clone());
                    true
                }
                None => false,
            },
        )
    }

    async fn delete_signer(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<crate::domain::signer::StatusListSigner>, StoreError> {
        Ok(self
            .signers
            .lock()
            .unwrap()
            .remove(&(tenant_id.to_string(), id.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The idempotency claim as the DynamoDB adapter keeps it: one live owner; the owner's own
    /// claim taken again (a retried write whose answer was lost); released only by its owner;
    /// taken over once its in-progress window is over.
    #[tokio::test]
    async fn an_idempotency_claim_has_one_owner() {
        let store = MemLists::default();
        let claim = |owner: &'static str, now: i64| {
            let store = &store;
            async move {
                store
                    .claim_idempotency("k", owner, "h", now, now + 30, now + 3_600)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(claim("a", 100).await, Claim::Acquired);
        assert_eq!(claim("a", 101).await, Claim::Acquired, "its own, again");
        assert_eq!(
            claim("b", 102).await,
            Claim::Existing(IdempotencyState::InProgress {
                claims_hash: "h".into(),
                until: 130
            })
        );
        store.release_idempotency("k", "b").await.unwrap(); // not b's: kept
        assert!(matches!(claim("b", 103).await, Claim::Existing(_)));
        store.release_idempotency("k", "a").await.unwrap();
        assert_eq!(claim("b", 104).await, Claim::Acquired, "released by its owner");
        assert_eq!(claim("c", 135).await, Claim::Acquired, "b's window is over");
    }
}
