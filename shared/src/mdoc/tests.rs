//! The mDoc service's behaviour in process, on the in-memory adapters (lists, entries,
//! configurations and mDocs in [`MemLists`], IACAs and signers in [`MemIacas`](crate::testing::MemIacas), a local key
//! vault): no AWS anywhere. What the LocalStack suite (`tests/mdoc.rs`) checks end to end over
//! HTTP, here at the service's own interface, in milliseconds.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::iaca::IacaService;
use super::signers::{NewSigner, NotReady};
use super::*;
use crate::domain::duration::Duration;
use crate::domain::tenant::Role;
use crate::ports::ObjectStore as _;
use crate::testing::{MemLists, MemObjects, MemQueue, tenant_trust};

const NOW: i64 = 1_800_000_000;
/// The tenant [`tenant_trust`] gives an active IACA and a signer.
const TRUSTED: &str = "tenant";

fn principal(tenant_id: &str) -> Principal {
    Principal {
        tenant_id: tenant_id.into(),
        role: Role::Issuer,
    }
}

fn hours(n: u64) -> Duration {
    Duration {
        hours: Some(n),
        ..Duration::default()
    }
}

fn input(doc_type: &str, bits: Option<u8>) -> ConfigurationInput {
    ConfigurationInput {
        doc_type: doc_type.into(),
        time_to_live: hours(1),
        expiry: hours(24),
        bits,
    }
}

fn unavailable<T>(r: Result<T, MdocError>) -> bool {
    matches!(r, Err(MdocError::Unavailable(_)))
}

fn details(e: MdocError) -> Vec<FieldError> {
    match e {
        MdocError::Validation(details) => details,
        other => panic!("not a validation error: {other:?}"),
    }
}

/// The service over in-memory adapters, its tenant [`TRUSTED`] able to sign its lists.
struct World {
    mdoc: Arc<MdocService>,
    lists: Arc<MemLists>,
    queue: Arc<MemQueue>,
}

async fn world() -> World {
    world_on(Arc::new(MemLists::default()), None, 1024).await
}

/// The service on `lists`, its configurations and mDocs stored in `store` when given (a wrapper
/// of `lists`), with lists of `list_size` entries.
async fn world_on(lists: Arc<MemLists>, store: Option<Arc<dyn MdocStore>>, list_size: u64) -> World {
    let trust = tenant_trust(NOW).await;
    let queue = Arc::new(MemQueue::default());
    let mdoc = MdocService::new(
        store.unwrap_or_else(|| lists.clone()),
        lists.clone(),
        trust.store.clone(),
        Some(queue.clone()),
        "https://status.example".into(),
        list_size,
        Freshness {
            interval: 3600,
            slack: 300,
        },
    );
    World {
        mdoc: Arc::new(mdoc),
        lists,
        queue,
    }
}

impl World {
    async fn configuration(&self, doc_type: &str, bits: u8) -> Configuration {
        self.mdoc
            .create_configuration(&principal(TRUSTED), input(doc_type, Some(bits)), NOW)
            .await
            .unwrap()
    }

    async fn register(&self, doc_type: &str) -> Registration {
        self.mdoc.register(&principal(TRUSTED), doc_type, NOW).await.unwrap()
    }

    async fn set(&self, credential_id: &str, to: MdocStatus) -> Result<MdocStatus, MdocError> {
        self.mdoc.set_status(&principal(TRUSTED), credential_id, to, NOW).await
    }
}

#[tokio::test]
async fn a_configuration_is_created_with_one_bit_unless_it_asks_for_two() {
    let w = world().await;
    let p = principal(TRUSTED);
    let one = w.mdoc.create_configuration(&p, input("d1", None), NOW).await.unwrap();
    assert_eq!(
        (one.doc_type.as_str(), one.bits, one.tenant_id.as_str()),
        ("d1", 1, TRUSTED)
    );
    assert_eq!(
        (one.time_to_live, one.expiry, one.created_at),
        (hours(1), hours(24), NOW)
    );
    assert!(uuid::Uuid::try_parse(&one.id).is_ok());
    let two = w
        .mdoc
        .create_configuration(&p, input("d2", Some(2)), NOW)
        .await
        .unwrap();
    assert_eq!(two.bits, 2);
    assert_eq!(w.mdoc.get_configuration(&p, &one.id).await.unwrap(), one);
    // Its lifetime is what the publisher reads for its lists.
    let lifetimes = crate::ports::ListSource::configuration_lifetimes(w.lists.as_ref())
        .await
        .unwrap();
    assert_eq!(lifetimes[&one.id], one.lifetime());
}

#[tokio::test]
async fn a_second_configuration_of_a_doc_type_is_a_conflict() {
    let w = world().await;
    w.configuration("org.iso.18013.5.1.mDL", 1).await;
    let again = w
        .mdoc
        .create_configuration(&principal(TRUSTED), input("org.iso.18013.5.1.mDL", Some(2)), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        again,
        MdocError::Conflict("A status list configuration for docType \"org.iso.18013.5.1.mDL\" already exists".into())
    );
    // Another tenant may configure the same docType for itself.
    let other = w
        .mdoc
        .create_configuration(&principal("other"), input("org.iso.18013.5.1.mDL", None), NOW)
        .await
        .unwrap();
    assert_eq!(other.tenant_id, "other");
    let page = w.mdoc.list_configurations(&principal(TRUSTED), 10, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn an_update_sets_the_lifetimes_and_keeps_the_doc_type_and_the_bits() {
    let w = world().await;
    let p = principal(TRUSTED);
    let c = w.configuration("d", 2).await;
    let mut update = ConfigurationInput {
        doc_type: String::new(),
        time_to_live: hours(6),
        expiry: hours(48),
        bits: None,
    };
    let updated = w.mdoc.update_configuration(&p, &c.id, update.clone()).await.unwrap();
    assert_eq!((updated.time_to_live, updated.expiry), (hours(6), hours(48)));
    assert_eq!((updated.doc_type.as_str(), updated.bits), ("d", 2));
    assert_eq!(w.mdoc.get_configuration(&p, &c.id).await.unwrap(), updated);
    // Repeating the docType and the bits is fine; changing them is refused, both named at once.
    update.doc_type = "d".into();
    update.bits = Some(2);
    w.mdoc.update_configuration(&p, &c.id, update.clone()).await.unwrap();
    update.doc_type = "x".into();
    update.bits = Some(1);
    let refused = details(
        w.mdoc
            .update_configuration(&p, &c.id, update.clone())
            .await
            .unwrap_err(),
    );
    let params: Vec<_> = refused.iter().map(|d| d.param.as_str()).collect();
    assert_eq!(params, ["docType", "statusBits"]);
    assert_eq!(refused[0].value, "x");
    assert_eq!(refused[1].value, 1);
    assert_eq!(
        refused[0].msg,
        "cannot be changed: create a configuration for the new docType"
    );
    assert_eq!(refused[1].msg, "cannot be changed after creation");
    assert_eq!(w.mdoc.get_configuration(&p, &c.id).await.unwrap(), updated, "unchanged");
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        w.mdoc.update_configuration(&p, &unknown, update).await.unwrap_err(),
        MdocError::NotFound("Status list configuration")
    );
}

#[tokio::test]
async fn a_configuration_in_use_by_a_list_is_not_deleted() {
    let w = world().await;
    let p = principal(TRUSTED);
    let used = w.configuration("used", 1).await;
    w.register("used").await;
    assert_eq!(
        w.mdoc.delete_configuration(&p, &used.id).await.unwrap_err(),
        MdocError::BadRequest("Status list configuration is in use by at least one status list".into())
    );
    assert_eq!(w.mdoc.get_configuration(&p, &used.id).await.unwrap(), used);
    // One without a list goes, with its docType claim.
    let unused = w.configuration("unused", 1).await;
    w.mdoc.delete_configuration(&p, &unused.id).await.unwrap();
    let gone = MdocError::NotFound("Status list configuration");
    assert_eq!(w.mdoc.get_configuration(&p, &unused.id).await.unwrap_err(), gone);
    assert_eq!(w.mdoc.delete_configuration(&p, &unused.id).await.unwrap_err(), gone);
    w.configuration("unused", 2).await;
}

#[tokio::test]
async fn registration_needs_a_configuration_an_active_iaca_and_a_signer() {
    let w = world().await;
    // No configuration of the docType.
    let refused = details(w.mdoc.register(&principal(TRUSTED), "d", NOW).await.unwrap_err());
    assert_eq!(refused[0].param, "docType");
    assert_eq!(refused[0].msg, "has no status list configuration: create one first");
    // A tenant without an active IACA.
    let p = principal("untrusted");
    w.mdoc.create_configuration(&p, input("d", None), NOW).await.unwrap();
    assert_eq!(
        w.mdoc.register(&p, "d", NOW).await.unwrap_err(),
        MdocError::BadRequest(NotReady::NoActiveIaca.message())
    );
    // An active unmanaged IACA without a signer: still refused, saying what is missing.
    let vault = Arc::new(crate::adapters::local_signer::LocalVault::default());
    let iacas = IacaService::new(w.mdoc.trust.clone(), vault, "https://status.example".into());
    let ca_key = p256::ecdsa::SigningKey::random(&mut rand::thread_rng());
    let request = crate::domain::iaca::ManagedRequest {
        common_name: "Untrusted".into(),
        country: "AU".into(),
        state_or_province: None,
        not_before: NOW - 86_400,
        not_after: NOW + 365 * 86_400,
    };
    let tbs = crate::domain::iaca::managed_certificate(
        &request,
        &ca_key.verifying_key().into(),
        [1; 20],
        "https://x.example",
    )
    .unwrap();
    let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&ca_key, tbs.bytes());
    let certificate_pem = crate::domain::iaca::pem_of(&tbs.assemble(&signature).unwrap()).unwrap();
    let created = iacas
        .create(&p, crate::domain::iaca::IacaRequest::Unmanaged { certificate_pem }, NOW)
        .await
        .unwrap();
    let iaca_id = created.iaca.id.clone();
    iacas.update(&p, created.iaca, true, NOW).await.unwrap();
    let not_ready = NotReady::NoSigner {
        iaca_id: iaca_id.clone(),
        managed: false,
    };
    assert_eq!(
        w.mdoc.register(&p, "d", NOW).await.unwrap_err(),
        MdocError::BadRequest(not_ready.message())
    );
    // A signer whose certificate was never uploaded does not sign either.
    let signer = iacas
        .signers
        .create(
            &p,
            NewSigner {
                iaca_id: iaca_id.clone(),
                given: iaca_id,
            },
            NOW,
        )
        .await
        .unwrap();
    assert!(!signer.active);
    assert!(matches!(
        w.mdoc.register(&p, "d", NOW).await.unwrap_err(),
        MdocError::BadRequest(_)
    ));
    // Nothing was allocated for any of them.
    assert_eq!(w.lists.entry_count(), 0);
    assert!(w.lists.list_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_registrations_get_distinct_indices() {
    // A small list, so that random draws collide and are drawn again.
    let w = world_on(Arc::new(MemLists::default()), None, 128).await;
    w.configuration("d", 2).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let mdoc = w.mdoc.clone();
            tokio::spawn(async move { mdoc.register(&principal(TRUSTED), "d", NOW).await })
        })
        .collect();
    let mut credentials = HashSet::new();
    let mut indices = HashSet::new();
    for task in tasks {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.status, MdocStatus::Valid);
        assert_eq!(
            r.uri,
            format!(
                "https://status.example/v2/credentials/mobile/status-lists/{}/token",
                r.status_list_id
            )
        );
        assert!(r.idx < 128);
        assert!(credentials.insert(r.credential_id.clone()));
        assert!(
            indices.insert((r.status_list_id.clone(), r.idx)),
            "an index handed out twice"
        );
    }
    assert_eq!(indices.len(), 50);
    assert_eq!(w.lists.entry_count(), 50);
    assert_eq!(w.lists.mdoc_ids(TRUSTED).len(), 50);
    // One open list per docType; its first publish was queued once.
    assert_eq!(w.lists.list_ids().len(), 1);
    let jobs = w.queue.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].list_id, w.lists.list_ids()[0]);
}

#[tokio::test]
async fn the_state_machine_valid_suspended_valid_invalid_then_final() {
    let w = world().await;
    let p = principal(TRUSTED);
    w.configuration("d", 2).await;
    let r = w.register("d").await;
    let id = r.credential_id.as_str();
    assert_eq!(w.mdoc.status(&p, id).await.unwrap(), MdocStatus::Valid);
    use MdocStatus::*;
    for to in [Suspended, Valid, Suspended, Suspended, Invalid, Invalid] {
        assert_eq!(w.set(id, to).await.unwrap(), to, "-> {to:?}");
        assert_eq!(w.mdoc.status(&p, id).await.unwrap(), to);
        let entry = crate::ports::IssuerStore::entry(w.lists.as_ref(), &r.status_list_id, r.idx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(entry.status, to.status().value(), "stored as the list shows it");
    }
    for to in [Valid, Suspended] {
        let refused = details(w.set(id, to).await.unwrap_err());
        assert_eq!(refused[0].param, "status");
        assert_eq!(refused[0].value, to.name(), "the status asked for");
        assert!(refused[0].msg.contains("final"), "{}", refused[0].msg);
    }
    assert_eq!(w.mdoc.status(&p, id).await.unwrap(), Invalid);
}

#[tokio::test]
async fn a_one_bit_list_has_no_suspended() {
    let w = world().await;
    w.configuration("d", 1).await;
    let r = w.register("d").await;
    let refused = details(w.set(&r.credential_id, MdocStatus::Suspended).await.unwrap_err());
    assert!(refused[0].msg.contains("1 bit"), "{}", refused[0].msg);
    assert_eq!(
        w.mdoc.status(&principal(TRUSTED), &r.credential_id).await.unwrap(),
        MdocStatus::Valid
    );
    assert_eq!(
        w.set(&r.credential_id, MdocStatus::Invalid).await.unwrap(),
        MdocStatus::Invalid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_concurrent_invalidations_all_succeed() {
    let w = world().await;
    w.configuration("d", 2).await;
    let r = w.register("d").await;
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (mdoc, id) = (w.mdoc.clone(), r.credential_id.clone());
            tokio::spawn(async move {
                mdoc.set_status(&principal(TRUSTED), &id, MdocStatus::Invalid, NOW)
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Ok(MdocStatus::Invalid));
    }
    assert!(matches!(
        w.set(&r.credential_id, MdocStatus::Valid).await,
        Err(MdocError::Validation(_))
    ));
    let statuses = crate::ports::ListSource::non_valid_entries(w.lists.as_ref(), &r.status_list_id)
        .await
        .unwrap();
    assert_eq!(statuses, [(r.idx, 1)]);
}

#[tokio::test]
async fn another_tenants_ids_are_not_found() {
    let w = world().await;
    let (a, b) = (principal(TRUSTED), principal("b"));
    let c = w.configuration("d", 2).await;
    let r = w.register("d").await;
    let id = r.credential_id.as_str();
    let views = ListViews {
        objects: Arc::new(MemObjects::default()),
    };
    let configuration = MdocError::NotFound("Status list configuration");
    let mdoc = MdocError::NotFound("mDoc");
    assert_eq!(w.mdoc.get_configuration(&b, &c.id).await.unwrap_err(), configuration);
    assert_eq!(
        w.mdoc
            .update_configuration(&b, &c.id, input("", None))
            .await
            .unwrap_err(),
        configuration
    );
    assert_eq!(w.mdoc.delete_configuration(&b, &c.id).await.unwrap_err(), configuration);
    assert_eq!(w.mdoc.status(&b, id).await.unwrap_err(), mdoc);
    assert_eq!(
        w.mdoc.set_status(&b, id, MdocStatus::Invalid, NOW).await.unwrap_err(),
        mdoc
    );
    assert_eq!(w.mdoc.delete(&b, id).await.unwrap_err(), mdoc);
    assert_eq!(
        w.mdoc.get_status_list(&views, &b, &r.status_list_id).await.unwrap_err(),
        MdocError::NotFound("Status list")
    );
    assert!(
        w.mdoc
            .list_configurations(&b, 100, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        w.mdoc
            .list_status_lists(&views, &b, 100, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // B cannot register against A's docType.
    assert!(matches!(
        w.mdoc.register(&b, "d", NOW).await,
        Err(MdocError::Validation(_))
    ));
    // A's data is untouched.
    assert_eq!(w.mdoc.status(&a, id).await.unwrap(), MdocStatus::Valid);
    assert_eq!(w.mdoc.get_configuration(&a, &c.id).await.unwrap(), c);
    assert_eq!(
        w.mdoc
            .list_status_lists(&views, &a, 100, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn deleting_an_mdoc_keeps_its_entry_and_last_status() {
    let w = world().await;
    let p = principal(TRUSTED);
    w.configuration("d", 2).await;
    let r = w.register("d").await;
    let id = r.credential_id.as_str();
    w.set(id, MdocStatus::Suspended).await.unwrap();
    w.mdoc.delete(&p, id).await.unwrap();
    let gone = MdocError::NotFound("mDoc");
    assert_eq!(w.mdoc.status(&p, id).await.unwrap_err(), gone);
    assert_eq!(w.set(id, MdocStatus::Valid).await.unwrap_err(), gone);
    assert_eq!(w.mdoc.delete(&p, id).await.unwrap_err(), gone);
    // The index stays taken, with its last status, in the list the publisher renders.
    let entry = crate::ports::IssuerStore::entry(w.lists.as_ref(), &r.status_list_id, r.idx)
        .await
        .unwrap()
        .expect("the entry stays, so the index is never reused");
    assert_eq!(entry.status, 2);
    let statuses = crate::ports::ListSource::non_valid_entries(w.lists.as_ref(), &r.status_list_id)
        .await
        .unwrap();
    assert_eq!(statuses, [(r.idx, 2)]);
    assert!(w.lists.mdoc_ids(TRUSTED).is_empty());
}

#[tokio::test]
async fn configurations_page_in_creation_order() {
    let w = world().await;
    let p = principal(TRUSTED);
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(w.configuration(&format!("d{i}"), 1).await.id);
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = w.mdoc.list_configurations(&p, 3, after.as_deref()).await.unwrap();
        pages.push(page.items.len());
        seen.extend(page.items.iter().map(|c| c.id.clone()));
        match page.next_after {
            Some(next) => {
                assert_eq!(Some(&next), seen.last(), "the cursor is the last id seen");
                after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, [3, 3, 1]);
    assert_eq!(seen, created, "creation order, each once");
    // A page that ends exactly at the last item says there is no more.
    let six = w.mdoc.list_configurations(&p, 6, Some(&created[0])).await.unwrap();
    assert_eq!((six.items.len(), six.next_after), (6, None));
    let none = w.mdoc.list_configurations(&p, 3, Some(&created[6])).await.unwrap();
    assert_eq!((none.items.len(), none.next_after), (0, None));
}

#[tokio::test]
async fn a_status_list_is_shown_with_its_token_once_published() {
    let w = world().await;
    let p = principal(TRUSTED);
    let c = w.configuration("d", 1).await;
    let r = w.register("d").await;
    let objects = Arc::new(MemObjects::default());
    let views = ListViews {
        objects: objects.clone(),
    };
    let view = w.mdoc.get_status_list(&views, &p, &r.status_list_id).await.unwrap();
    assert_eq!(view.token, None, "no token before its first publish");
    assert_eq!(view.uri, r.uri);
    assert_eq!(view.list.owner.as_ref().unwrap().configuration_id, c.id);
    assert_eq!(view.list.size, 1024);
    let key = object_key(&r.status_list_id, TokenFormat::Cwt);
    let write = crate::ports::ObjectWrite {
        content_type: "application/statuslist+cwt",
        cache_control: "max-age=60",
        seq: 0,
        iat: NOW,
        exp: NOW + 3600,
    };
    objects
        .put(&key, b"cwt".to_vec(), &write, crate::ports::Precondition::Absent)
        .await
        .unwrap();
    let page = w.mdoc.list_status_lists(&views, &p, 100, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].token.as_deref(), Some(b"cwt".as_slice()));
    assert_eq!(page.next_after, None);
}

/// The mDoc store of [`MemLists`], whose named operations fail as storage that cannot be reached
/// does.
struct FailingStore {
    inner: Arc<MemLists>,
    failing: std::sync::Mutex<HashSet<&'static str>>,
}

impl FailingStore {
    fn check(&self, op: &'static str) -> Result<(), StoreError> {
        match self.failing.lock().unwrap().contains(op) {
            true => Err(StoreError::Unavailable(format!("{op}: throttled"))),
            false => Ok(()),
        }
    }

    fn fail(&self, ops: &[&'static str]) {
        *self.failing.lock().unwrap() = ops.iter().copied().collect();
    }
}

#[async_trait]
impl MdocStore for FailingStore {
    async fn create_configuration(&self, c: &Configuration) -> Result<bool, StoreError> {
        self.check("create_configuration")?;
        self.inner.create_configuration(c).await
    }
    async fn configuration(&self, tenant_id: &str, id: &str) -> Result<Option<Configuration>, StoreError> {
        self.check("configuration")?;
        self.inner.configuration(tenant_id, id).await
    }
    async fn configuration_for_doc_type(
        &self,
        tenant_id: &str,
        doc_type: &str,
    ) -> Result<Option<Configuration>, StoreError> {
        self.check("configuration_for_doc_type")?;
        self.inner.configuration_for_doc_type(tenant_id, doc_type).await
    }
    async fn configurations(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Configuration>, StoreError> {
        self.check("configurations")?;
        self.inner.configurations(tenant_id, after, limit).await
    }
    async fn update_configuration(
        &self,
        tenant_id: &str,
        id: &str,
        time_to_live: &Duration,
        expiry: &Duration,
    ) -> Result<Option<Configuration>, StoreError> {
        self.check("update_configuration")?;
        self.inner
            .update_configuration(tenant_id, id, time_to_live, expiry)
            .await
    }
    async fn delete_configuration(&self, tenant_id: &str, id: &str) -> Result<ConfigurationDelete, StoreError> {
        self.check("delete_configuration")?;
        self.inner.delete_configuration(tenant_id, id).await
    }
    async fn place_mdoc(&self, entry: &Entry, mdoc: &Mdoc) -> Result<Placement, StoreError> {
        self.check("place_mdoc")?;
        self.inner.place_mdoc(entry, mdoc).await
    }
    async fn mdoc(&self, credential_id: &str) -> Result<Option<Mdoc>, StoreError> {
        self.check("mdoc")?;
        self.inner.mdoc(credential_id).await
    }
    async fn delete_mdoc(&self, tenant_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        self.check("delete_mdoc")?;
        self.inner.delete_mdoc(tenant_id, credential_id).await
    }
    async fn tenant_lists(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ListRecord>, StoreError> {
        self.check("tenant_lists")?;
        self.inner.tenant_lists(tenant_id, after, limit).await
    }
    async fn list(&self, list_id: &str) -> Result<Option<ListRecord>, StoreError> {
        self.check("list")?;
        self.inner.list(list_id).await
    }
}

#[tokio::test]
async fn a_failing_store_is_unavailable_and_leaves_nothing_half_written() {
    let lists = Arc::new(MemLists::default());
    let store = Arc::new(FailingStore {
        inner: lists.clone(),
        failing: Default::default(),
    });
    let w = world_on(lists, Some(store.clone()), 1024).await;
    let p = principal(TRUSTED);

    store.fail(&["create_configuration"]);
    assert!(unavailable(
        w.mdoc.create_configuration(&p, input("d", Some(2)), NOW).await
    ));
    assert!(
        w.lists
            .configurations(TRUSTED, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    store.fail(&[]);
    let c = w.configuration("d", 2).await;
    // The entry and the mDoc record are one write: a failed one leaves neither.
    store.fail(&["place_mdoc"]);
    assert!(unavailable(w.mdoc.register(&p, "d", NOW).await));
    assert_eq!(w.lists.entry_count(), 0);
    assert!(w.lists.mdoc_ids(TRUSTED).is_empty());

    store.fail(&[]);
    let r = w.register("d").await;
    store.fail(&["mdoc"]);
    assert!(unavailable(w.set(&r.credential_id, MdocStatus::Invalid).await));
    assert!(unavailable(w.mdoc.status(&p, &r.credential_id).await));
    store.fail(&["delete_configuration", "configurations", "update_configuration"]);
    assert!(unavailable(w.mdoc.delete_configuration(&p, &c.id).await));
    assert!(unavailable(w.mdoc.list_configurations(&p, 10, None).await));
    assert!(unavailable(
        w.mdoc.update_configuration(&p, &c.id, input("", None)).await
    ));

    // Healed: everything is as it was before the failures.
    store.fail(&[]);
    assert_eq!(w.mdoc.status(&p, &r.credential_id).await.unwrap(), MdocStatus::Valid);
    assert_eq!(w.mdoc.get_configuration(&p, &c.id).await.unwrap(), c);
    assert_eq!(w.lists.entry_count(), 1);
}

/// Registration follows the tenant's chain of trust as the IACA service changes it: refused once
/// its IACA is deactivated, accepted again once it is active.
#[tokio::test]
async fn registration_follows_the_iaca_being_deactivated_and_activated() {
    let w = world().await;
    let p = principal(TRUSTED);
    w.configuration("d", 1).await;
    w.register("d").await;
    let vault = Arc::new(crate::adapters::local_signer::LocalVault::default());
    let iacas = IacaService::new(w.mdoc.trust.clone(), vault, "https://status.example".into());
    let page = iacas.list(&principal(TRUSTED), 10, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.items[0].active);
    let iaca = page.items[0].iaca.clone();
    // Another tenant sees no such IACA.
    assert_eq!(
        iacas.get(&principal("b"), &iaca.id).await.unwrap_err(),
        MdocError::NotFound("IACA")
    );
    let off = iacas.update(&p, iaca.clone(), false, NOW).await.unwrap();
    assert!(!off.active);
    assert_eq!(
        w.mdoc.register(&p, "d", NOW).await.unwrap_err(),
        MdocError::BadRequest(NotReady::NoActiveIaca.message())
    );
    // Outside its validity it cannot be activated.
    let refused = details(
        iacas
            .update(&p, iaca.clone(), true, iaca.not_after + 1)
            .await
            .unwrap_err(),
    );
    assert_eq!(refused[0].param, "active");
    iacas.update(&p, iaca, true, NOW).await.unwrap();
    w.register("d").await;
    assert_eq!(w.lists.entry_count(), 2);
}
