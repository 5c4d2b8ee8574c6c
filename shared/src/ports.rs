//! Ports: the traits the domain and handlers depend on. Adapters (KMS, local key, and later
//! DynamoDB and S3) implement them; nothing here names an AWS type.

use std::collections::HashMap;

use async_trait::async_trait;
use p256::PublicKey;

/// A raw ES256 signature: `r || s`, 32 bytes each, big-endian (RFC 7518 §3.4), as JWS and
/// COSE both carry it, plus the `kid` of the key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub raw: [u8; 64],
    pub kid: String,
}

impl Signature {
    /// As a P-256 ECDSA signature (what a certificate or a CSR is assembled with).
    pub fn ecdsa(&self) -> Result<p256::ecdsa::Signature, SignerError> {
        p256::ecdsa::Signature::from_slice(&self.raw)
            .map_err(|e| SignerError::Key(format!("unreadable signature: {e}")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The signing service could not be reached or refused for a reason that may pass
    /// (throttling, network). Callers retry or answer 503.
    #[error("signing service unavailable: {0}")]
    Unavailable(String),
    /// The key is unusable: wrong type, disabled, not found, or an unreadable answer.
    #[error("signing key unusable: {0}")]
    Key(String),
}

/// Who a signing key is: its `kid` (the RFC 7638 thumbprint unless configured otherwise) and its
/// public half, as JWT and CWT headers and our JWKS name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIdentity {
    pub kid: String,
    pub public_key: PublicKey,
}

impl KeyIdentity {
    /// The identity of `public_key` under its RFC 7638 thumbprint.
    pub fn of(public_key: PublicKey) -> Self {
        KeyIdentity {
            kid: crate::domain::keys::thumbprint(&public_key),
            public_key,
        }
    }
}

/// Signs with one P-256 key. The `kid` is needed before signing, because the JWT header that
/// carries it is itself part of what is signed.
#[async_trait]
pub trait Signer: Send + Sync {
    /// The key's identity. An adapter may fetch it on first use (KMS: GetPublicKey) and cache it,
    /// so building a signer never touches the network; a failed fetch is retried on the next
    /// call.
    async fn identity(&self) -> Result<&KeyIdentity, SignerError>;
    /// ECDSA P-256 over SHA-256 of `message`.
    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError>;
}

// ------------------------------------------------------------------ issuer API

/// A registered issuer (GOV.UK clientId).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Client {
    pub client_id: String,
    /// Where the issuer publishes the keys that sign its requests (HTTPS).
    pub jwks_uri: String,
    /// `statuslist+jwt` or `statuslist+cwt`: the list format the issuer's relying parties use.
    pub format: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable: the caller answers 503 and the client may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a misconfiguration.
    #[error("storage error: {0}")]
    Other(String),
}

/// The stored idempotency record of an /issue request, keyed on (iss, jti).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyState {
    /// Claimed by an invocation that has not finished (until `until`, seconds).
    InProgress { claims_hash: String, until: i64 },
    /// Finished: the response to replay.
    Completed { claims_hash: String, response: String },
}

/// What claiming an idempotency key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours to complete (as the owner we claimed it for).
    Acquired,
    /// Someone claimed it before.
    Existing(IdempotencyState),
}

/// A status list: fixed size, `bits` per entry, served at `<base>/t/<list_id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRecord {
    pub list_id: String,
    /// Which allocation pool the list belongs to (`govuk` for the issuer API).
    pub pool: String,
    pub bits: u8,
    pub size: u64,
    pub open: bool,
    pub created_at: i64,
    /// Token lifetimes fixed when the list was created; `None` uses the publisher's defaults.
    /// An mDoc list takes its configuration's lifetimes at every publish instead.
    pub lifetime: Option<Lifetime>,
    /// The tenant and configuration of an mDoc list; `None` for the issuer API's lists.
    pub owner: Option<ListOwner>,
    /// The IACA under which its token in place was signed (mDoc lists, once published).
    pub published_iaca_id: Option<String>,
    /// No entry's `statusExpiry` is later than this (see [`crate::domain::resign`]); `None`
    /// while unknown (no entry with an expiry yet, mDoc lists).
    pub status_horizon: Option<i64>,
}

/// Who an mDoc status list belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOwner {
    pub tenant_id: String,
    pub configuration_id: String,
}

impl ListRecord {
    /// Where the list's token is served: the mDoc API's token endpoint for mDoc lists, `/t/<id>`
    /// for the issuer API's.
    pub fn uri(&self, base_url: &str) -> String {
        list_uri(base_url, &self.list_id, self.owner.is_some())
    }
}

/// A list's URI (the `sub` of its tokens).
pub fn list_uri(base_url: &str, list_id: &str, mdoc: bool) -> String {
    if mdoc {
        format!("{base_url}/v2/credentials/mobile/status-lists/{list_id}/token")
    } else {
        format!("{base_url}/t/{list_id}")
    }
}

pub use crate::domain::lifetime::Lifetime;

/// One allocated index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub list_id: String,
    pub idx: u64,
    pub client_id: String,
    pub issued_at: i64,
    pub status_expiry: i64,
    /// The stored status value (0 VALID, 1 INVALID, 2 SUSPENDED).
    pub status: u8,
    pub revoked_at: Option<i64>,
}

/// Result of trying to place a new entry at one index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Placed,
    /// The index is taken: try another.
    IndexTaken,
    /// Our idempotency claim was lost (expired and re-claimed): nothing was written.
    ClaimLost,
}

/// Result of a revoke attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    Revoked { revoked_at: i64 },
    AlreadyRevoked { revoked_at: i64 },
    NotFound,
    WrongClient,
}

/// Storage for the issuer API: client registry, idempotency, lists and entries.
#[async_trait]
pub trait IssuerStore: Send + Sync {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
    async fn clients(&self) -> Result<Vec<Client>, StoreError>;

    /// Claims `key` for `owner` (unique per request) unless a live record exists. Expired
    /// records (crashed invocations past `in_progress_until`, or completed ones past their
    /// retention) are taken over; a record `owner` already holds (a retried write whose answer
    /// was lost) is `Acquired`.
    async fn claim_idempotency(
        &self,
        key: &str,
        owner: &str,
        claims_hash: &str,
        now: i64,
        in_progress_until: i64,
        retain_until: i64,
    ) -> Result<Claim, StoreError>;
    /// Drops our IN_PROGRESS claim after a failure, so a retry is not blocked.
    async fn release_idempotency(&self, key: &str, owner: &str) -> Result<(), StoreError>;

    /// Atomically writes the entry (only if the index is free) and completes our idempotency
    /// claim with `response` (only if we still own it).
    async fn place_entry(&self, entry: &Entry, key: &str, owner: &str, response: &str)
    -> Result<Placement, StoreError>;
    /// Adds one to a list's allocation count and returns the new count.
    async fn count_allocation(&self, list_id: &str) -> Result<u64, StoreError>;
    /// Raises a list's status horizon to `horizon` unless it is that or later already. Called
    /// before an entry is placed, so the horizon never falls behind an entry.
    async fn extend_horizon(&self, list_id: &str, horizon: i64) -> Result<(), StoreError>;

    async fn open_lists(&self, pool: &str) -> Result<Vec<ListRecord>, StoreError>;
    /// Creates a list; false if the id exists already.
    async fn create_list(&self, list: &ListRecord) -> Result<bool, StoreError>;
    /// Retires a list from allocation (it stays published).
    async fn close_list(&self, list_id: &str) -> Result<(), StoreError>;

    async fn entry(&self, list_id: &str, idx: u64) -> Result<Option<Entry>, StoreError>;
    /// One-way revocation by the issuing client; idempotent by state.
    async fn revoke(&self, list_id: &str, idx: u64, client_id: &str, now: i64) -> Result<Revocation, StoreError>;
    /// Sets an entry's status (VALID, SUSPENDED or INVALID, as the list's bits allow; the caller
    /// checks). INVALID is final: any change after it is refused.
    async fn set_status(&self, list_id: &str, idx: u64, status: u8, now: i64) -> Result<StatusUpdate, StoreError>;
}

/// Result of [`IssuerStore::set_status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusUpdate {
    /// Written (also when it already had that status).
    Set,
    NotFound,
    /// The entry is INVALID, which is final.
    Final,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum JwksError {
    #[error("JWKS URI not allowed: {0}")]
    NotAllowed(String),
    #[error("JWKS unreachable: {0}")]
    Unreachable(String),
    #[error("JWKS invalid: {0}")]
    Invalid(String),
}

/// Fetches an issuer's JWKS from its registered URI.
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self, uri: &str) -> Result<jsonwebtoken::jwk::JwkSet, JwksError>;
}

/// A structured audit event (never the full request JWT).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub event: &'static str,
    pub client_id: Option<String>,
    pub kid: Option<String>,
    pub idx: Option<u64>,
    pub uri: Option<String>,
    pub reason: Option<String>,
    pub timestamp: i64,
}

pub trait EventSink: Send + Sync {
    fn emit(&self, event: AuditEvent);
}

// ------------------------------------------------------------------ publishing

/// A list's publishing state: its change sequence (bumped after every status change) and the
/// sequence of the newest published token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListState {
    pub list: ListRecord,
    pub change_seq: u64,
}

/// Reads a list for rendering.
#[async_trait]
pub trait ListSource: Send + Sync {
    async fn list_state(&self, list_id: &str) -> Result<Option<ListState>, StoreError>;
    /// Every entry of the list whose status is not VALID, as (idx, status), read consistently.
    async fn non_valid_entries(&self, list_id: &str) -> Result<Vec<(u64, u8)>, StoreError>;
    /// Records a status change in the list; returns the new change sequence, or `None` when no
    /// such list exists (a status item of an unknown list: nothing to publish).
    async fn bump_change_seq(&self, list_id: &str) -> Result<Option<u64>, StoreError>;
    /// Records the token whose write landed. Ordered as the tokens are (change sequence, then
    /// `iat`): a record from an older token never replaces a newer one's, whatever their `exp`.
    async fn record_published(&self, list_id: &str, token: &PublishedToken) -> Result<(), StoreError>;
    /// Every list, open or retired (all stay published), with its publishing summary.
    async fn published_lists(&self) -> Result<Vec<ListSummary>, StoreError>;
    /// The current lifetime of every mDoc status list configuration, by configuration id.
    async fn configuration_lifetimes(&self) -> Result<HashMap<String, Lifetime>, StoreError>;
}

/// What a landed publish put in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedToken {
    pub seq: u64,
    pub iat: i64,
    pub exp: i64,
    /// The `Cache-Control: max-age` it was written with.
    pub max_age: u64,
    /// The IACA whose signer signed it (mDoc lists).
    pub iaca_id: Option<String>,
}

/// A list as the re-signer and the distribution document see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSummary {
    pub list_id: String,
    /// `exp` of the newest published token; 0 if none was recorded.
    pub published_exp: i64,
    /// The `max-age` the token in place was written with; `None` if not recorded (a token
    /// published before it was, whose max-age was its ttl).
    pub published_max_age: Option<u64>,
    /// The lifetime stored with the list (issuer-API lists); an mDoc list's is its configuration's.
    pub lifetime: Option<Lifetime>,
    /// The owning tenant of an mDoc list.
    pub tenant_id: Option<String>,
    /// The configuration of an mDoc list.
    pub configuration_id: Option<String>,
    /// Whether the list still takes new entries.
    pub open: bool,
    /// See [`ListRecord::status_horizon`].
    pub status_horizon: Option<i64>,
}

/// A published object's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub etag: String,
    /// The change sequence the object was rendered from.
    pub seq: u64,
    /// The token's `iat` and `exp` (seconds).
    pub iat: i64,
    pub exp: i64,
    /// The object's version, where the store keeps versions.
    pub version_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedObject {
    pub body: Vec<u8>,
    pub content_type: String,
    pub cache_control: Option<String>,
    pub meta: ObjectMeta,
}

/// What is written with an object besides its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectWrite<'a> {
    pub content_type: &'a str,
    pub cache_control: &'a str,
    pub seq: u64,
    pub iat: i64,
    pub exp: i64,
}

/// One stored version of an object (the bucket keeps every version: historical resolution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVersion {
    pub version_id: String,
    /// When the version was written (seconds).
    pub written_at: i64,
}

/// Writes are compare-and-swap on the object's ETag, so a render that started earlier can never
/// replace a newer one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Only if no object exists.
    Absent,
    /// Only if the current object has this ETag.
    Matches(String),
    /// Unconditionally (an object with a single writer).
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// In place, as this version of the object (`None` where the store keeps no versions).
    Written { version_id: Option<String> },
    /// Someone else wrote first: re-read and decide again.
    Conflict,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    #[error("object store error: {0}")]
    Other(String),
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError>;
    async fn get(&self, key: &str) -> Result<Option<PublishedObject>, ObjectError>;
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        write: &ObjectWrite<'_>,
        precondition: Precondition,
    ) -> Result<PutOutcome, ObjectError>;
    /// Every version of `key`, newest first.
    async fn versions(&self, key: &str) -> Result<Vec<ObjectVersion>, ObjectError>;
    /// The metadata, or the whole object, of one version.
    async fn head_version(&self, key: &str, version_id: &str) -> Result<Option<ObjectMeta>, ObjectError>;
    async fn get_version(&self, key: &str, version_id: &str) -> Result<Option<PublishedObject>, ObjectError>;
}

/// One published version of a token: what `?time=` resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenVersion {
    pub iat: i64,
    pub exp: i64,
    /// The object store's version id.
    pub version_id: String,
}

/// The index of published token versions, written at publish, so that a token valid at a past
/// time is one lookup and one read, however many versions a list has.
#[async_trait]
pub trait TokenHistory: Send + Sync {
    /// Records that `version` of the object at `key` was put in place; kept until `retain_until`.
    async fn record(&self, key: &str, version: &TokenVersion, retain_until: i64) -> Result<(), StoreError>;
    /// The version of `key` issued last at or before `time`, if any.
    async fn issued_by(&self, key: &str, time: i64) -> Result<Option<TokenVersion>, StoreError>;
}

// ------------------------------------------------------------------ change pipeline

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("queue error: {0}")]
    Other(String),
}

/// The FIFO queue of publish jobs, grouped by list id (see [`crate::pipeline`]).
#[async_trait]
pub trait PublishQueue: Send + Sync {
    async fn enqueue(&self, job: &crate::pipeline::PublishJob) -> Result<(), QueueError>;
    /// Hides a delivered message for `delay` before it is delivered again (retry backoff).
    async fn retry_later(&self, receipt: &str, delay: std::time::Duration) -> Result<(), QueueError>;
}

/// The queue of re-signing jobs: each job is delivered after its own delay (a standard queue; a
/// FIFO queue has no per-message delay).
#[async_trait]
pub trait ResignQueue: Send + Sync {
    /// Queues `jobs`, each (job, delay). All or an error: on an error some may have been queued
    /// (a job delivered twice re-signs once, see [`crate::pipeline`]).
    async fn enqueue_delayed(
        &self,
        jobs: &[(crate::pipeline::PublishJob, std::time::Duration)],
    ) -> Result<(), QueueError>;
}

// ------------------------------------------------------------------ tenants (mDoc API)

/// A management-API credential, stored under the SHA-256 of its bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub tenant_id: String,
    pub role: crate::domain::tenant::Role,
    pub created_at: i64,
    /// Who or what it was issued for (operator's note).
    pub label: String,
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Stores a new credential; never overwrites one.
    async fn put_credential(&self, token_hash: &str, credential: &Credential) -> Result<(), StoreError>;
    async fn credential(&self, token_hash: &str) -> Result<Option<Credential>, StoreError>;
    /// Withdraws a credential; `false` if there was none.
    async fn delete_credential(&self, token_hash: &str) -> Result<bool, StoreError>;
}

// ------------------------------------------------------------------ mDoc API

/// A status list configuration: how the lists of one docType of one tenant are published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration {
    pub id: String,
    pub tenant_id: String,
    pub doc_type: String,
    pub time_to_live: crate::domain::duration::Duration,
    pub expiry: crate::domain::duration::Duration,
    /// Bits per entry of its lists: 1 (valid/invalid) or 2 (also suspended).
    pub bits: u8,
    pub created_at: i64,
}

impl Configuration {
    pub fn lifetime(&self) -> Lifetime {
        Lifetime {
            ttl: self.time_to_live.as_seconds(),
            validity: self.expiry.as_seconds() as i64,
        }
    }
}

/// A registered mDoc: its index in one of its configuration's lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mdoc {
    pub credential_id: String,
    pub tenant_id: String,
    pub configuration_id: String,
    pub doc_type: String,
    pub list_id: String,
    pub idx: u64,
    pub created_at: i64,
}

/// One page of a listing, with the key to continue after (if there may be more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

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

/// An analytic event of the mDoc API (MATTR's envelope).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnalyticEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub category: String,
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub version: String,
    pub data: serde_json::Value,
}

/// Where analytic events go: structured logs locally, EventBridge in AWS. Delivery failures are
/// logged by the adapter, never failing the operation.
#[async_trait]
pub trait Analytics: Send + Sync {
    async fn emit(&self, event: &AnalyticEvent);
}

// ------------------------------------------------------------------ mDoc chain of trust

/// A tenant's IACA (ISO/IEC 18013-5 Issuing Authority CA) as stored. Whether it is the active one
/// is the tenant's separate record ([`IacaStore::active_iaca_id`]), so exactly one can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iaca {
    pub id: String,
    pub tenant_id: String,
    /// The signing-service key of a managed IACA; `None` for an unmanaged one (the issuer keeps it).
    pub key_id: Option<String>,
    pub certificate_pem: String,
    pub certificate_data: crate::domain::iaca::CertificateData,
    pub fingerprint: String,
    pub not_before: i64,
    pub not_after: i64,
    pub created_at: i64,
}

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

/// A status list signer: a key in the signing service whose certificate, issued by one of the
/// tenant's IACAs, goes in the `x5chain` of the tenant's mDoc status list tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListSigner {
    pub id: String,
    pub tenant_id: String,
    pub iaca_id: String,
    pub key_id: String,
    /// Issued by the service under a managed IACA (and not counted); otherwise the tenant signs
    /// [`Self::csr_pem`] with its IACA and uploads the certificate.
    pub managed: bool,
    pub csr_pem: Option<String>,
    pub certificate: Option<SignerCertificateRecord>,
    pub created_at: i64,
}

impl StatusListSigner {
    /// Its certificate's validity, once it has one.
    pub fn window(&self) -> Option<(i64, i64)> {
        self.certificate.as_ref().map(|c| (c.not_before, c.not_after))
    }
}

/// What signs a tenant's mDoc status lists now: the signer's key, its certificate (for the
/// tokens' `x5chain`), the IACA that issued it, and when the first of the two ends (no token may
/// outlive it).
#[derive(Clone)]
pub struct TenantSigning {
    pub signer: std::sync::Arc<dyn Signer>,
    pub certificate_der: Vec<u8>,
    pub iaca_id: String,
    pub not_after: i64,
}

/// The keys tenants sign their mDoc status lists with.
#[async_trait]
pub trait TenantKeys: Send + Sync {
    /// The tenant's signing key at `now`; `None` if it has none (no active IACA, or no signer with
    /// a valid certificate under it).
    async fn signing_key(&self, tenant_id: &str, now: i64) -> Result<Option<TenantSigning>, StoreError>;
}

/// A signer's certificate as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerCertificateRecord {
    pub pem: String,
    pub not_before: i64,
    pub not_after: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerCreate {
    Created,
    /// The tenant already has its maximum.
    LimitReached,
    /// The IACA was deleted meanwhile.
    NoIaca,
}

/// What a key of the [`KeyVault`] is for: its tag, which IAM policies require, so a function
/// that signs status lists cannot sign certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    Iaca,
    StatusListSigner,
}

impl KeyPurpose {
    /// The value of the key's `purpose` tag.
    pub fn tag(self) -> &'static str {
        match self {
            KeyPurpose::Iaca => "statuslist-iaca",
            KeyPurpose::StatusListSigner => "statuslist-signer",
        }
    }
}

/// Creates and retires the signing keys of managed IACAs and of status list signers, held by the
/// signing service.
#[async_trait]
pub trait KeyVault: Send + Sync {
    /// A new ECDSA P-256 signing key for `purpose`; its id.
    async fn create_key(&self, description: &str, purpose: KeyPurpose) -> Result<String, SignerError>;
    /// The signer of key `key_id` (no call until it is used).
    fn signer(&self, key_id: &str) -> std::sync::Arc<dyn Signer>;
    /// Schedules the key's deletion (KMS: after its shortest waiting period, cancellable).
    async fn retire_key(&self, key_id: &str) -> Result<(), SignerError>;
}
