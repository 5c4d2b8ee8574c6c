//! The issuer service's behaviour, in process: the real service over the in-memory store and
//! JWKS endpoints, with requests signed by issuers' own P-256 keys. No AWS, no network.
//!
//! Faults come from [`FaultyStore`], a store that passes every call to [`MemLists`] unless told
//! to refuse it (nothing written) or to lose its answer (written, then reported unavailable, as
//! a timed-out DynamoDB call whose write landed).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};

use super::allocator::{ListSpec, OPEN_LISTS};
use super::*;
use crate::adapters::memory::{MemJwks, MemLists, MemQueue};
use crate::domain::client::Client;
use crate::domain::list::ListRecord;
use crate::domain::list::{GOVUK_POOL, LIST_SIZE};
use crate::ports::StatusUpdate;

const NOW: i64 = 1_800_000_000;
const BASE: &str = "https://status.example";
const DAY: i64 = 86_400;

// ------------------------------------------------------------------ the world under test

/// A store call [`FaultyStore`] can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Client,
    Claim,
    Release,
    Place,
    OpenLists,
    Revoke,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Unavailable, nothing written.
    Refuse,
    /// Written, then answered as unavailable.
    LoseAnswer,
}

/// [`MemLists`] behind a switchboard of faults; optionally yielding to the scheduler before
/// every call, so concurrent requests interleave at each store call as they do over a network.
struct FaultyStore {
    inner: Arc<MemLists>,
    faults: Mutex<HashMap<Op, Fault>>,
    yields: AtomicBool,
}

impl FaultyStore {
    fn fail(&self, op: Op, fault: Fault) {
        self.faults.lock().unwrap().insert(op, fault);
    }

    fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }

    async fn before(&self, op: Op) -> Result<(), StoreError> {
        if self.yields.load(Ordering::Relaxed) {
            tokio::task::yield_now().await;
        }
        match self.faults.lock().unwrap().get(&op) {
            Some(Fault::Refuse) => Err(StoreError::Unavailable(format!("{op:?} refused (injected)"))),
            _ => Ok(()),
        }
    }

    fn after<T>(&self, op: Op, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match self.faults.lock().unwrap().get(&op) {
            Some(Fault::LoseAnswer) => {
                result?;
                Err(StoreError::Unavailable(format!("{op:?} answer lost (injected)")))
            }
            _ => result,
        }
    }
}

#[async_trait]
impl IssuerStore for FaultyStore {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        self.before(Op::Client).await?;
        self.after(Op::Client, self.inner.client(client_id).await)
    }
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.inner.put_client(client).await
    }
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.inner.delete_client(client_id).await
    }
    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.inner.clients().await
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
        self.before(Op::Claim).await?;
        let claimed = self
            .inner
            .claim_idempotency(key, owner, claims_hash, now, in_progress_until, retain_until)
            .await;
        self.after(Op::Claim, claimed)
    }
    async fn release_idempotency(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        self.before(Op::Release).await?;
        self.after(Op::Release, self.inner.release_idempotency(key, owner).await)
    }
    async fn place_entry(
        &self,
        entry: &Entry,
        key: &str,
        owner: &str,
        response: &str,
    ) -> Result<Placement, StoreError> {
        self.before(Op::Place).await?;
        self.after(Op::Place, self.inner.place_entry(entry, key, owner, response).await)
    }
    async fn count_allocation(&self, list_id: &str) -> Result<u64, StoreError> {
        self.inner.count_allocation(list_id).await
    }
    async fn extend_horizon(&self, list_id: &str, horizon: i64) -> Result<(), StoreError> {
        self.inner.extend_horizon(list_id, horizon).await
    }
    async fn open_lists(&self, pool: &str) -> Result<Vec<ListRecord>, StoreError> {
        self.before(Op::OpenLists).await?;
        self.after(Op::OpenLists, self.inner.open_lists(pool).await)
    }
    async fn create_list(&self, list: &ListRecord) -> Result<bool, StoreError> {
        self.inner.create_list(list).await
    }
    async fn close_list(&self, list_id: &str) -> Result<(), StoreError> {
        self.inner.close_list(list_id).await
    }
    async fn entry(&self, list_id: &str, idx: u64) -> Result<Option<Entry>, StoreError> {
        self.inner.entry(list_id, idx).await
    }
    async fn revoke(&self, list_id: &str, idx: u64, client_id: &str, now: i64) -> Result<Revocation, StoreError> {
        self.before(Op::Revoke).await?;
        self.after(Op::Revoke, self.inner.revoke(list_id, idx, client_id, now).await)
    }
    async fn set_status(&self, list_id: &str, idx: u64, status: u8, now: i64) -> Result<StatusUpdate, StoreError> {
        IssuerStore::set_status(&*self.inner, list_id, idx, status, now).await
    }
}

/// The audit events emitted, in order.
#[derive(Default)]
struct Recorded(Mutex<Vec<AuditEvent>>);

impl EventSink for Recorded {
    fn emit(&self, event: AuditEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorded {
    fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A registered issuer: its client id, and the P-256 key it publishes under `kid`.
struct Issuer {
    client_id: String,
    kid: String,
    key: SigningKey,
}

impl Issuer {
    fn new(client_id: &str) -> Self {
        Issuer {
            client_id: client_id.to_string(),
            kid: format!("{client_id}-key-1"),
            key: SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    fn jwks_uri(&self) -> String {
        format!("https://{}.example/.well-known/jwks.json", self.client_id)
    }

    fn jwks(&self) -> JwkSet {
        let public = p256::PublicKey::from(self.key.verifying_key());
        JwkSet {
            keys: vec![crate::domain::keys::public_jwk(&public, &self.kid)],
        }
    }

    fn header(&self) -> Value {
        json!({"alg": "ES256", "typ": "JWT", "kid": self.kid})
    }

    /// A request JWT with these claims, signed as this issuer signs.
    fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.header(), claims)
    }

    fn sign_with(&self, header: &Value, claims: &Value) -> String {
        crate::domain::keys::sign_compact_es256(&self.key, header, claims)
    }

    /// /issue claims at `now` with a fresh jti, the status expiring in 30 days.
    fn issue_claims(&self, now: i64) -> Value {
        json!({
            "iss": self.client_id,
            "iat": now,
            "jti": uuid::Uuid::new_v4().to_string(),
            "statusExpiry": now + 30 * DAY,
        })
    }

    fn issue(&self, now: i64) -> String {
        self.sign(&self.issue_claims(now))
    }

    fn revoke(&self, at: &IssueResponse, now: i64) -> String {
        self.revoke_at(&at.uri, at.idx, now)
    }

    fn revoke_at(&self, uri: &str, idx: u64, now: i64) -> String {
        self.sign(&json!({
            "iss": self.client_id,
            "iat": now,
            "jti": uuid::Uuid::new_v4().to_string(),
            "idx": idx,
            "uri": uri,
        }))
    }
}

struct World {
    lists: Arc<MemLists>,
    store: Arc<FaultyStore>,
    jwks: Arc<MemJwks>,
    events: Arc<Recorded>,
    queue: Arc<MemQueue>,
    service: Arc<IssuerService>,
    /// Two registered issuers.
    a: Issuer,
    b: Issuer,
}

/// The issuer API's pool as deployed: 4 open lists of 100,000 entries.
fn govuk_pool() -> ListSpec {
    pool(LIST_SIZE, OPEN_LISTS)
}

fn pool(size: u64, concurrent: usize) -> ListSpec {
    ListSpec {
        pool: GOVUK_POOL.into(),
        bits: 2,
        size,
        owner: None,
        lifetime: None,
        concurrent,
    }
}

/// The service as `IssuerService::wire` builds it (JWKS ttl 300 s, refetch 10 s, grace 1 h),
/// allocating from `spec`, with issuers a and b registered and their keys published.
async fn world(spec: ListSpec) -> World {
    let lists = Arc::new(MemLists::default());
    let store = Arc::new(FaultyStore {
        inner: lists.clone(),
        faults: Mutex::default(),
        yields: AtomicBool::new(false),
    });
    let jwks = Arc::new(MemJwks::default());
    let events = Arc::new(Recorded::default());
    let queue = Arc::new(MemQueue::default());
    let (a, b) = (Issuer::new("client-a"), Issuer::new("client-b"));
    for issuer in [&a, &b] {
        lists
            .put_client(&Client {
                client_id: issuer.client_id.clone(),
                jwks_uri: issuer.jwks_uri(),
                format: "statuslist+jwt".into(),
                name: issuer.client_id.to_uppercase(),
            })
            .await
            .unwrap();
        jwks.publish(&issuer.jwks_uri(), issuer.jwks());
    }
    let service = IssuerService {
        store: store.clone(),
        jwks: jwks_cache::JwksCache::new(
            jwks.clone(),
            Duration::from_secs(300),
            Duration::from_secs(10),
            Duration::from_secs(3600),
        ),
        allocator: Allocator::for_spec(store.clone(), spec, Some(queue.clone())),
        events: events.clone(),
        base_url: BASE.into(),
        metrics: Metrics::default(),
        clients: Default::default(),
    };
    World {
        lists,
        store,
        jwks,
        events,
        queue,
        service: Arc::new(service),
        a,
        b,
    }
}

/// The refusal a request met; anything else fails the test.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, IssuerFailure>) -> IssuerError {
    match result {
        Err(IssuerFailure::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[track_caller]
fn unavailable<T: std::fmt::Debug>(result: Result<T, IssuerFailure>) -> String {
    match result {
        Err(IssuerFailure::Unavailable(detail)) => detail,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

/// The list id in one of our list URIs.
fn list_of(uri: &str) -> &str {
    uri.strip_prefix(BASE)
        .and_then(|p| p.strip_prefix("/t/"))
        .unwrap_or_else(|| panic!("not one of our list URIs: {uri}"))
}

// ------------------------------------------------------------------ issue

#[tokio::test]
async fn an_issue_answers_a_fresh_index_stored_as_the_issuers_with_its_expiry() {
    let w = world(govuk_pool()).await;
    let claims = w.a.issue_claims(NOW);
    let answer = w.service.issue(&w.a.sign(&claims), NOW).await.unwrap();

    let list_id = list_of(&answer.uri);
    assert!(allocator::is_list_id(list_id), "{list_id}");
    assert!(answer.idx < LIST_SIZE);
    let expiry = claims["statusExpiry"].as_i64().unwrap();
    assert_eq!(
        w.lists.entries(),
        vec![Entry {
            list_id: list_id.to_string(),
            idx: answer.idx,
            client_id: "client-a".into(),
            issued_at: NOW,
            status_expiry: expiry,
            status: 0,
            revoked_at: None,
        }]
    );
    // The list is kept fresh at least until the entry's status expires.
    assert!(w.lists.status_horizon(list_id).is_some_and(|h| h >= expiry));
    // The pool was opened: its lists, each queued for its first publish.
    let mut opened: Vec<_> = w.lists.open_lists(GOVUK_POOL).await.unwrap();
    opened.sort_by(|x, y| x.list_id.cmp(&y.list_id));
    assert_eq!(opened.len(), OPEN_LISTS);
    assert!(opened.iter().any(|l| l.list_id == list_id));
    let mut queued: Vec<_> = w
        .queue
        .jobs
        .lock()
        .unwrap()
        .iter()
        .map(|j| (j.list_id.clone(), j.seq))
        .collect();
    queued.sort();
    assert_eq!(
        queued,
        opened.iter().map(|l| (l.list_id.clone(), 0)).collect::<Vec<_>>()
    );

    let events = w.events.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "INDEX_ISSUED");
    assert_eq!(events[0].client_id.as_deref(), Some("client-a"));
    assert_eq!(events[0].kid.as_deref(), Some("client-a-key-1"));
    assert_eq!(
        (events[0].idx, events[0].uri.as_deref()),
        (Some(answer.idx), Some(answer.uri.as_str()))
    );
    assert_eq!(w.service.metrics.issued.load(Ordering::Relaxed), 1);

    // The legacy `expires` claim is read as the status expiry.
    let legacy = json!({"iss": "client-b", "iat": NOW, "jti": uuid::Uuid::new_v4().to_string(), "expires": NOW + DAY});
    let answer = w.service.issue(&w.b.sign(&legacy), NOW).await.unwrap();
    let stored = w.lists.entry(list_of(&answer.uri), answer.idx).await.unwrap().unwrap();
    assert_eq!(
        (stored.client_id.as_str(), stored.status_expiry),
        ("client-b", NOW + DAY)
    );
}

#[tokio::test]
async fn a_replayed_request_gets_the_first_answer_and_writes_nothing_new() {
    let w = world(govuk_pool()).await;
    let token = w.a.issue(NOW);
    let first = w.service.issue(&token, NOW).await.unwrap();
    let entries = w.lists.entries();
    let lists = w.lists.list_ids();

    for later in [NOW, NOW + 1, NOW + 600, NOW + 3_000] {
        assert_eq!(
            w.service.issue(&token, later).await.unwrap(),
            first,
            "replayed at {later}"
        );
    }
    assert_eq!(w.lists.entries(), entries, "no entry added or changed");
    assert_eq!(w.lists.list_ids(), lists, "no list added");
    assert_eq!(w.service.metrics.issued.load(Ordering::Relaxed), 1);
    // A replay is an answer like any other for the audit trail.
    let events = w.events.take();
    assert_eq!(events.len(), 5);
    assert!(
        events
            .iter()
            .all(|e| e.event == "INDEX_ISSUED" && e.idx == Some(first.idx))
    );
}

#[tokio::test]
async fn the_same_jti_with_other_claims_is_refused_and_keeps_the_first_answer() {
    let w = world(govuk_pool()).await;
    let claims = w.a.issue_claims(NOW);
    let first = w.service.issue(&w.a.sign(&claims), NOW).await.unwrap();

    let mut changed = claims.clone();
    changed["statusExpiry"] = json!(NOW + 60 * DAY);
    let e = refused(w.service.issue(&w.a.sign(&changed), NOW + 5).await);
    assert_eq!(e, IssuerError::IdempotencyMismatch);
    assert_eq!(e.status(), 400, "the contract's BAD_REQUEST for invalid changes");
    assert_eq!(
        e.to_string(),
        "Detected invalid changes between idempotent requests, unable to proceed. Please generate a new request."
    );
    let mut reissued = claims.clone();
    reissued["iat"] = json!(NOW + 5);
    assert_eq!(
        refused(w.service.issue(&w.a.sign(&reissued), NOW + 5).await),
        IssuerError::IdempotencyMismatch,
        "every claim counts, iat too"
    );
    assert_eq!(w.lists.entries().len(), 1);
    // The original request still replays its answer.
    assert_eq!(w.service.issue(&w.a.sign(&claims), NOW + 6).await.unwrap(), first);

    // A jti is the issuer's own: another issuer using the same one gets an entry of its own.
    let mut theirs = claims.clone();
    theirs["iss"] = json!("client-b");
    let other = w.service.issue(&w.b.sign(&theirs), NOW).await.unwrap();
    assert_ne!(other, first);
    assert_eq!(w.lists.entries().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_copies_of_one_request_place_one_entry_and_agree() {
    let w = world(govuk_pool()).await;
    w.store.yields.store(true, Ordering::Relaxed);
    let token = Arc::new(w.a.issue(NOW));
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (service, token, start) = (w.service.clone(), token.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                service.issue(&token, NOW).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    let mut in_flight = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(answer) => answers.push(answer),
            // The contract's answer to a copy that arrives while the first is being placed.
            Err(IssuerFailure::Refused(IssuerError::InFlight)) => in_flight += 1,
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    assert!(!answers.is_empty(), "one copy was placed");
    assert_eq!(answers.len() + in_flight, 50);
    assert!(answers.iter().all(|a| *a == answers[0]), "every answer the same");
    assert_eq!(IssuerError::InFlight.status(), 409);

    let entries = w.lists.entries();
    assert_eq!(entries.len(), 1, "exactly one entry");
    assert_eq!(
        (list_of(&answers[0].uri), answers[0].idx),
        (entries[0].list_id.as_str(), entries[0].idx)
    );
    assert_eq!(w.service.metrics.issued.load(Ordering::Relaxed), 1);
    // The copies told to retry get the same answer when they do.
    for _ in 0..in_flight {
        assert_eq!(w.service.issue(&token, NOW + 1).await.unwrap(), answers[0]);
    }
    assert_eq!(w.lists.entries().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_issues_get_distinct_indices() {
    // 4 lists of 200: a quarter full at the end, so draws collide and are drawn again.
    let w = world(pool(200, 4)).await;
    w.store.yields.store(true, Ordering::Relaxed);
    let service = w.service.clone();
    let tokens: Vec<String> = (0..200)
        .map(|i| if i % 2 == 0 { w.a.issue(NOW) } else { w.b.issue(NOW) })
        .collect();
    let start = Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (service, start) = (service.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                service.issue(&token, NOW).await
            })
        })
        .collect();
    let mut placed = HashSet::new();
    for task in tasks {
        let answer = task.await.unwrap().expect("every issue succeeds");
        assert!(answer.idx < 200);
        assert!(
            placed.insert((list_of(&answer.uri).to_string(), answer.idx)),
            "{answer:?} given twice"
        );
    }
    assert_eq!(placed.len(), 200);
    let stored: HashSet<_> = w.lists.entries().into_iter().map(|e| (e.list_id, e.idx)).collect();
    assert_eq!(stored, placed, "the entries are exactly the answers");
    assert_eq!(w.lists.list_ids().len(), 4, "no list created beyond the pool");
    assert_eq!(w.service.metrics.issued.load(Ordering::Relaxed), 200);
    assert!(w.service.metrics.draws.load(Ordering::Relaxed) >= 200);
}

#[tokio::test]
async fn a_full_list_is_retired_and_a_new_list_takes_the_next_entries() {
    // One open list of 2 entries: it retires when full (at FILL_THRESHOLD of 2).
    let w = world(pool(2, 1)).await;
    let mut answers = Vec::new();
    for i in 0..6 {
        answers.push(w.service.issue(&w.a.issue(NOW + i), NOW + i).await.unwrap());
    }
    let filled: Vec<&str> = answers.iter().map(|a| list_of(&a.uri)).collect();
    for pair in filled.chunks(2) {
        assert_eq!(pair[0], pair[1], "a list takes entries until it is full: {filled:?}");
    }
    let distinct: HashSet<&str> = filled.iter().copied().collect();
    assert_eq!(distinct.len(), 3, "each full list was followed by a new one");
    for list in &distinct {
        let mut idx: Vec<u64> = answers
            .iter()
            .filter(|a| list_of(&a.uri) == *list)
            .map(|a| a.idx)
            .collect();
        idx.sort();
        assert_eq!(idx, [0, 1], "{list} filled, each index once");
    }
    // The full lists are retired; their successor is open, and every list was queued for its
    // first publish.
    let open: Vec<String> = w
        .lists
        .open_lists(GOVUK_POOL)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.list_id)
        .collect();
    assert_eq!(open.len(), 1);
    assert!(!distinct.contains(open[0].as_str()));
    assert_eq!(w.lists.list_ids().len(), 4);
    let queued: HashSet<String> = w.queue.jobs.lock().unwrap().iter().map(|j| j.list_id.clone()).collect();
    assert_eq!(queued, w.lists.list_ids().into_iter().collect::<HashSet<_>>());
    assert_eq!(w.lists.entries().len(), 6);
}

// ------------------------------------------------------------------ revoke

#[tokio::test]
async fn the_owner_revokes_once_and_again_is_told_it_was_already_with_the_first_time() {
    let w = world(govuk_pool()).await;
    let issued = w.service.issue(&w.a.issue(NOW), NOW).await.unwrap();
    w.events.take();

    let revoked = w
        .service
        .revoke(&w.a.revoke(&issued, NOW + 10), NOW + 10)
        .await
        .unwrap();
    assert_eq!(revoked.message, "Request processed for revocation");
    assert_eq!(revoked.revoked_at, NOW + 10);
    let list_id = list_of(&issued.uri);
    let entry = w.lists.entry(list_id, issued.idx).await.unwrap().unwrap();
    assert_eq!((entry.status, entry.revoked_at), (1, Some(NOW + 10)));
    // What the publisher renders the list from.
    assert_eq!(
        crate::ports::ListSource::non_valid_entries(&*w.lists, list_id)
            .await
            .unwrap(),
        vec![(issued.idx, 1)]
    );

    let again = w
        .service
        .revoke(&w.a.revoke(&issued, NOW + 20), NOW + 20)
        .await
        .unwrap();
    assert_eq!(again.message, "Credential already revoked");
    assert_eq!(again.revoked_at, NOW + 10, "the original revokedAt");
    let entry = w.lists.entry(list_id, issued.idx).await.unwrap().unwrap();
    assert_eq!(entry.revoked_at, Some(NOW + 10));
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        json!({"message": "Credential already revoked", "revokedAt": NOW + 10})
    );

    let events = w.events.take();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.event == "INDEX_REVOKED"
        && e.client_id.as_deref() == Some("client-a")
        && e.idx == Some(issued.idx)
        && e.uri.as_deref() == Some(issued.uri.as_str())));
    assert_eq!(events[1].reason.as_deref(), Some("Credential already revoked"));
}

#[tokio::test]
async fn only_the_issuing_client_revokes_and_unknown_entries_are_not_found() {
    let w = world(govuk_pool()).await;
    let issued = w.service.issue(&w.a.issue(NOW), NOW).await.unwrap();
    w.events.take();

    let e = refused(w.service.revoke(&w.b.revoke(&issued, NOW), NOW).await);
    assert_eq!(e, IssuerError::WrongClient);
    assert_eq!(e.status(), 401);
    assert_eq!(
        e.to_string(),
        "The original clientId is different to the clientId in the request"
    );
    let entry = w.lists.entry(list_of(&issued.uri), issued.idx).await.unwrap().unwrap();
    assert_eq!((entry.status, entry.revoked_at), (0, None), "untouched");
    let failed = w.events.take();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].event, "INDEX_REVOCATION_FAILED");
    assert_eq!(failed[0].client_id.as_deref(), Some("client-b"));

    // An index never issued in the list, and a list of ours that does not exist.
    let free_idx = (issued.idx + 1) % LIST_SIZE;
    let unknown_list = format!("{BASE}/t/ZZZZZZZZZZZZ");
    for (uri, idx) in [(issued.uri.as_str(), free_idx), (unknown_list.as_str(), issued.idx)] {
        let e = refused(w.service.revoke(&w.a.revoke_at(uri, idx, NOW), NOW).await);
        assert_eq!(e, IssuerError::EntryNotFound, "{uri} {idx}");
        assert_eq!(e.status(), 404);
        assert_eq!(e.to_string(), "Entry not found in status list table");
    }
    // A URI that is not one of our lists never reaches storage.
    let list_id = list_of(&issued.uri);
    for uri in [
        format!("https://elsewhere.example/t/{list_id}"),
        format!("{BASE}/b/{list_id}"),
        format!("{BASE}/t/{}", list_id.to_lowercase()),
        format!("{BASE}/t/{list_id}/extra"),
    ] {
        let e = refused(w.service.revoke(&w.a.revoke_at(&uri, issued.idx, NOW), NOW).await);
        assert_eq!(e, IssuerError::InvalidUri, "{uri}");
        assert_eq!(e.status(), 400);
    }
    let entry = w.lists.entry(list_id, issued.idx).await.unwrap().unwrap();
    assert_eq!(entry.revoked_at, None);
}

// ------------------------------------------------------------------ request JWT checks

#[tokio::test]
async fn a_request_not_signed_with_es256_is_refused_before_any_lookup() {
    let w = world(govuk_pool()).await;
    let claims = w.a.issue_claims(NOW);
    let es256 = w.a.sign(&claims);
    let signature = es256.rsplit('.').next().unwrap();
    for alg in ["HS256", "RS256", "ES384", "EdDSA", "none", "es256"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": w.a.kid});
        // The issuer's own ES256 signature under a header naming another algorithm.
        let token = w.a.sign_with(&header, &claims);
        let e = refused(w.service.issue(&token, NOW).await);
        assert_eq!(e, IssuerError::InvalidAlgorithm, "{alg}");
        assert_eq!(
            (e.status(), e.to_string().as_str()),
            (401, "Invalid Algorithm in Header")
        );
        // A signature made for another header does not make it through either.
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[2] = signature;
        assert_eq!(
            refused(w.service.issue(&parts.join("."), NOW).await),
            IssuerError::InvalidAlgorithm
        );
        let revoke = w.a.sign_with(&header, &json!({"iss": "client-a", "iat": NOW, "jti": uuid::Uuid::new_v4().to_string(), "idx": 0, "uri": format!("{BASE}/t/AAAAAAAAAAAA")}));
        assert_eq!(
            refused(w.service.revoke(&revoke, NOW).await),
            IssuerError::InvalidAlgorithm
        );
    }
    let unsigned = w.a.sign_with(&json!({"typ": "JWT", "kid": w.a.kid}), &claims);
    assert_eq!(refused(w.service.issue(&unsigned, NOW).await), IssuerError::NoAlgorithm);
    assert_eq!(w.jwks.fetches(), 0, "refused before the issuer's keys were looked up");
    assert!(w.lists.entries().is_empty() && w.lists.list_ids().is_empty());
    let events = w.events.take();
    assert!(
        events
            .iter()
            .all(|e| e.event.ends_with("_FAILED") && e.client_id.is_none())
    );
    // The well-formed request still goes through.
    assert!(w.service.issue(&es256, NOW).await.is_ok());
}

#[tokio::test]
async fn a_kid_the_issuer_does_not_publish_is_refused() {
    let w = world(govuk_pool()).await;
    let claims = w.a.issue_claims(NOW);
    let unknown =
        w.a.sign_with(&json!({"alg": "ES256", "typ": "JWT", "kid": "no-such-key"}), &claims);
    let e = refused(w.service.issue(&unknown, NOW).await);
    assert_eq!(e, IssuerError::InvalidKeyId);
    assert_eq!((e.status(), e.to_string().as_str()), (401, "Invalid Key ID in Header"));

    // Another issuer's kid (and key) is not in this issuer's JWKS: one client cannot sign as
    // another.
    let mut as_a = w.b.issue_claims(NOW);
    as_a["iss"] = json!("client-a");
    assert_eq!(
        refused(w.service.issue(&w.b.sign(&as_a), NOW).await),
        IssuerError::InvalidKeyId
    );
    // A key under the kid that cannot verify ES256 (an encryption key) does not count.
    let w2 = world(govuk_pool()).await;
    w2.jwks.publish(&w2.a.jwks_uri(), {
        let mut set = w2.a.jwks();
        set.keys[0].common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Encryption);
        set
    });
    assert_eq!(
        refused(w2.service.issue(&w2.a.issue(NOW), NOW).await),
        IssuerError::InvalidKeyId
    );
    let e = refused(
        w.service
            .issue(&w.a.sign_with(&json!({"alg": "ES256", "typ": "JWT"}), &claims), NOW)
            .await,
    );
    assert_eq!(e, IssuerError::NoKeyId);
    assert!(w.lists.entries().is_empty() && w2.lists.entries().is_empty());
}

#[tokio::test]
async fn a_signature_that_does_not_verify_is_refused() {
    let w = world(govuk_pool()).await;
    let claims = w.a.issue_claims(NOW);
    // Signed by a key that is not the one published under the kid.
    let stranger = Issuer::new("client-a");
    let e = refused(w.service.issue(&stranger.sign(&claims), NOW).await);
    assert_eq!(e, IssuerError::BadSignature);
    assert_eq!(
        (e.status(), e.to_string().as_str()),
        (401, "JWT has non-verified signature")
    );

    // The issuer's own signature over other claims.
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let genuine = w.a.sign(&claims);
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut altered = claims.clone();
    altered["statusExpiry"] = json!(NOW + 300 * DAY);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(altered.to_string()),
        parts[2]
    );
    assert_eq!(refused(w.service.issue(&forged, NOW).await), IssuerError::BadSignature);
    // A signature that is not 64 bytes, or none at all.
    for signature in ["", "AAAA"] {
        let token = format!("{}.{}.{signature}", parts[0], parts[1]);
        assert_eq!(refused(w.service.issue(&token, NOW).await), IssuerError::BadSignature);
    }
    // Revocations are verified the same way.
    let issued = w.service.issue(&genuine, NOW).await.unwrap();
    assert_eq!(
        refused(w.service.revoke(&stranger.revoke(&issued, NOW), NOW).await),
        IssuerError::BadSignature
    );
    assert_eq!(w.lists.entries().len(), 1);
    assert_eq!(w.lists.entries()[0].revoked_at, None);
}

#[tokio::test]
async fn an_iat_outside_the_window_is_refused() {
    let w = world(govuk_pool()).await;
    let at = |iat: i64| {
        let mut claims = w.a.issue_claims(NOW);
        claims["iat"] = json!(iat);
        w.a.sign(&claims)
    };
    for iat in [
        NOW - rules::MAX_REQUEST_AGE - 1,
        NOW + rules::MAX_CLOCK_SKEW + 1,
        NOW - 10 * DAY,
    ] {
        let e = refused(w.service.issue(&at(iat), NOW).await);
        assert_eq!(e, IssuerError::InvalidIat, "iat {iat}");
        assert_eq!((e.status(), e.to_string().as_str()), (400, "Invalid iat in Payload"));
    }
    let mut no_iat = w.a.issue_claims(NOW);
    no_iat.as_object_mut().unwrap().remove("iat");
    assert_eq!(
        refused(w.service.issue(&w.a.sign(&no_iat), NOW).await),
        IssuerError::NoIat
    );
    assert!(w.lists.entries().is_empty(), "nothing stored");
    // The window's edges are inside it.
    for iat in [NOW - rules::MAX_REQUEST_AGE, NOW + rules::MAX_CLOCK_SKEW] {
        assert!(w.service.issue(&at(iat), NOW).await.is_ok(), "iat {iat}");
    }
    // Revocations too.
    let issued = w.service.issue(&at(NOW), NOW).await.unwrap();
    let stale = w.a.revoke(&issued, NOW - rules::MAX_REQUEST_AGE - 1);
    assert_eq!(refused(w.service.revoke(&stale, NOW).await), IssuerError::InvalidIat);
    assert_eq!(w.lists.entries().iter().filter(|e| e.revoked_at.is_some()).count(), 0);
}

#[tokio::test]
async fn an_unknown_issuer_is_refused() {
    let w = world(govuk_pool()).await;
    let stranger = Issuer::new("client-unregistered");
    w.jwks.publish(&stranger.jwks_uri(), stranger.jwks());
    let e = refused(w.service.issue(&stranger.issue(NOW), NOW).await);
    assert_eq!(e, IssuerError::UnknownClient);
    assert_eq!(
        (e.status(), e.to_string().as_str()),
        (401, "JWT has non-matching Client ID")
    );
    let mut no_iss = w.a.issue_claims(NOW);
    no_iss.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        refused(w.service.issue(&w.a.sign(&no_iss), NOW).await),
        IssuerError::NoIssuer
    );
    assert_eq!(w.jwks.fetches(), 0, "no key fetched for an issuer nobody registered");
    let events = w.events.take();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event, "ISSUANCE_FAILED");
    assert_eq!(events[0].reason.as_deref(), Some("JWT has non-matching Client ID"));

    // Once registered, the issuer's requests go through.
    w.store
        .put_client(&Client {
            client_id: stranger.client_id.clone(),
            jwks_uri: stranger.jwks_uri(),
            format: "statuslist+jwt".into(),
            name: "Newcomer".into(),
        })
        .await
        .unwrap();
    w.service.clients.lock().await.clear(); // as UNKNOWN_CLIENT_TTL passing does
    assert!(w.service.issue(&stranger.issue(NOW), NOW).await.is_ok());
}

// ------------------------------------------------------------------ faults

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable_and_nothing_is_written() {
    let w = world(govuk_pool()).await;
    w.jwks.set_unreachable(&w.a.jwks_uri(), true);
    let token = w.a.issue(NOW);
    let detail = unavailable(w.service.issue(&token, NOW).await);
    assert!(detail.contains("connection refused"), "{detail}");
    assert!(w.lists.entries().is_empty());
    assert!(w.lists.list_ids().is_empty(), "nothing allocated");
    let events = w.events.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "ISSUANCE_FAILED");
    assert!(events[0].reason.as_deref().unwrap().starts_with("unavailable:"));
    // Revocations wait for the keys too.
    let revoke = w.a.revoke_at(&format!("{BASE}/t/AAAAAAAAAAAA"), 0, NOW);
    unavailable(w.service.revoke(&revoke, NOW).await);

    // No claim was taken: once the endpoint answers, the same request is issued.
    w.jwks.set_unreachable(&w.a.jwks_uri(), false);
    let answer = w.service.issue(&token, NOW + 1).await.unwrap();
    assert_eq!(w.lists.entries().len(), 1);
    // Keys once fetched carry the issuer through a later outage (within ttl + grace).
    w.jwks.set_unreachable(&w.a.jwks_uri(), true);
    assert_eq!(w.service.issue(&token, NOW + 2).await.unwrap(), answer);
    assert!(w.service.issue(&w.a.issue(NOW + 2), NOW + 2).await.is_ok());
    // Another issuer's endpoint down does not touch this one's requests, nor theirs without keys.
    w.jwks.set_unreachable(&w.b.jwks_uri(), true);
    unavailable(w.service.issue(&w.b.issue(NOW), NOW).await);
    assert_eq!(w.lists.entries().len(), 2);
}

#[tokio::test]
async fn a_store_outage_at_placement_writes_nothing_and_frees_the_claim_for_the_retry() {
    let w = world(govuk_pool()).await;
    let token = w.a.issue(NOW);
    w.store.fail(Op::Place, Fault::Refuse);
    let detail = unavailable(w.service.issue(&token, NOW).await);
    assert!(detail.contains("refused"), "{detail}");
    assert!(w.lists.entries().is_empty(), "no entry");
    assert_eq!(w.service.metrics.issued.load(Ordering::Relaxed), 0);
    let events = w.events.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "ISSUANCE_FAILED");
    assert_eq!(events[0].client_id.as_deref(), Some("client-a"));

    // The retry, at once: the claim was released, so it is not met as "in progress".
    w.store.heal();
    let answer = w.service.issue(&token, NOW).await.unwrap();
    let entries = w.lists.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (list_of(&answer.uri), answer.idx),
        (entries[0].list_id.as_str(), entries[0].idx)
    );
    assert_eq!(w.service.issue(&token, NOW + 1).await.unwrap(), answer);

    // Outages before the claim: the client registry, the list pool.
    for op in [Op::Client, Op::OpenLists] {
        let token = w.b.issue(NOW);
        w.service.clients.lock().await.clear();
        w.service.allocator.invalidate().await;
        w.store.fail(op, Fault::Refuse);
        unavailable(w.service.issue(&token, NOW).await);
        w.store.heal();
        assert!(w.service.issue(&token, NOW).await.is_ok(), "{op:?}: the retry succeeds");
    }
    assert_eq!(w.lists.entries().len(), 3);
}

#[tokio::test]
async fn a_placement_whose_answer_was_lost_is_replayed_to_the_retry() {
    let w = world(govuk_pool()).await;
    let token = w.a.issue(NOW);
    w.store.fail(Op::Place, Fault::LoseAnswer);
    unavailable(w.service.issue(&token, NOW).await);
    // The entry and the completed claim were written together.
    let entries = w.lists.entries();
    assert_eq!(entries.len(), 1);
    w.store.heal();
    let answer = w.service.issue(&token, NOW + 1).await.unwrap();
    assert_eq!(
        (list_of(&answer.uri), answer.idx),
        (entries[0].list_id.as_str(), entries[0].idx)
    );
    assert_eq!(w.lists.entries(), entries, "the retry placed nothing more");
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_released_for_the_retry() {
    let w = world(govuk_pool()).await;
    let token = w.a.issue(NOW);
    w.store.fail(Op::Claim, Fault::LoseAnswer);
    unavailable(w.service.issue(&token, NOW).await);
    assert!(w.lists.entries().is_empty());
    w.store.heal();
    let answer = w.service.issue(&token, NOW).await.unwrap();
    assert_eq!(w.lists.entries().len(), 1);
    assert_eq!(w.service.issue(&token, NOW).await.unwrap(), answer);
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_claim_blocks_its_window_then_is_taken_over() {
    let w = world(govuk_pool()).await;
    let token = w.a.issue(NOW);
    // The placement fails and so does every release (the paused clock skips the backoff): the
    // claim stays IN_PROGRESS, as a crashed invocation leaves it.
    w.store.fail(Op::Place, Fault::Refuse);
    w.store.fail(Op::Release, Fault::Refuse);
    unavailable(w.service.issue(&token, NOW).await);
    w.store.heal();

    for at in [NOW, NOW + 1, NOW + IN_PROGRESS_TIMEOUT] {
        let e = refused(w.service.issue(&token, at).await);
        assert_eq!(e, IssuerError::InFlight, "at {at}");
        assert_eq!(
            (e.status(), e.to_string().as_str()),
            (
                409,
                "Multiple concurrent idempotent requests in progress. Please retry after a short delay."
            )
        );
    }
    // The same jti with other claims is a mismatch, in progress or not.
    let mut other = rules::decode(&token).unwrap().payload;
    other.insert("statusExpiry".into(), json!(NOW + 2 * DAY));
    assert_eq!(
        refused(w.service.issue(&w.a.sign(&Value::Object(other)), NOW + 1).await),
        IssuerError::IdempotencyMismatch
    );
    assert!(w.lists.entries().is_empty());

    let after = NOW + IN_PROGRESS_TIMEOUT + 1;
    let answer = w.service.issue(&token, after).await.unwrap();
    let entries = w.lists.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].issued_at, after);
    assert_eq!(w.service.issue(&token, after + 1).await.unwrap(), answer);
}

#[tokio::test]
async fn a_store_outage_on_revoke_is_unavailable_and_the_retry_revokes() {
    let w = world(govuk_pool()).await;
    let issued = w.service.issue(&w.a.issue(NOW), NOW).await.unwrap();
    let list_id = list_of(&issued.uri).to_string();
    let token = w.a.revoke(&issued, NOW + 5);

    w.store.fail(Op::Revoke, Fault::Refuse);
    unavailable(w.service.revoke(&token, NOW + 5).await);
    assert_eq!(
        w.lists.entry(&list_id, issued.idx).await.unwrap().unwrap().revoked_at,
        None
    );
    w.store.heal();
    let revoked = w.service.revoke(&token, NOW + 6).await.unwrap();
    assert_eq!(
        (revoked.message, revoked.revoked_at),
        ("Request processed for revocation", NOW + 6)
    );

    // A revocation whose answer was lost: the retry is told it was done, and when.
    let issued = w.service.issue(&w.a.issue(NOW), NOW).await.unwrap();
    w.store.fail(Op::Revoke, Fault::LoseAnswer);
    unavailable(w.service.revoke(&w.a.revoke(&issued, NOW + 7), NOW + 7).await);
    w.store.heal();
    let again = w.service.revoke(&w.a.revoke(&issued, NOW + 8), NOW + 8).await.unwrap();
    assert_eq!(
        (again.message, again.revoked_at),
        ("Credential already revoked", NOW + 7)
    );
}
