//! [`MdocStore`]: configurations unique per docType per tenant and never deleted while a list
//! uses them, an mDoc's entry and record written both or neither, and pages in id order. The
//! lists are the issuer store's ([`IssuerStore`]) and publish as their configuration says now
//! ([`ListSource`]).

use std::sync::Arc;

use super::issuer::entry;
use super::{Ids, RACERS, now, retrying};
use crate::domain::configuration::Configuration;
use crate::domain::duration::Duration;
use crate::domain::lifetime::Lifetime;
use crate::domain::list::{ListOwner, ListRecord};
use crate::domain::mdoc::Mdoc;
use crate::ports::{ConfigurationDelete, IssuerStore, ListSource, MdocStore, Placement};

/// Every case of this module, one test each, on what `make().await` gives (an
/// `Arc<impl MdocStore + IssuerStore + ListSource>`).
#[macro_export]
macro_rules! mdoc_store_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            mdoc,
            $make,
            [
                a_configuration_is_unique_per_doc_type,
                concurrent_creates_of_one_doc_type_create_one,
                configurations_page_in_creation_order,
                a_configuration_is_updated_in_place,
                a_configuration_in_use_is_not_deleted,
                a_list_needs_its_configuration,
                an_mdoc_list_publishes_as_its_configuration_says,
                an_mdoc_and_its_entry_are_written_both_or_neither,
                concurrent_registrations_at_one_index_place_once,
                an_mdoc_is_deleted_by_its_tenant_only,
                tenant_lists_page_in_id_order,
            ]
        );
    };
}

fn hours(n: u64) -> Duration {
    Duration {
        hours: Some(n),
        ..Duration::default()
    }
}

fn days(n: u64) -> Duration {
    Duration {
        days: Some(n),
        ..Duration::default()
    }
}

/// A configuration of `tenant_id` for `doc_type` (a token lives a day and caches an hour).
pub fn configuration(tenant_id: &str, id: &str, doc_type: &str) -> Configuration {
    Configuration {
        id: id.to_string(),
        tenant_id: tenant_id.to_string(),
        doc_type: doc_type.to_string(),
        time_to_live: hours(1),
        expiry: days(1),
        bits: 2,
        created_at: now(),
    }
}

/// A tenant with one configuration.
async fn configured<S: MdocStore + ?Sized>(store: &S, ids: &Ids) -> Configuration {
    let c = configuration(&ids.id("tenant"), &ids.id("cfg"), &ids.id("org.iso.18013.5.1.mDL"));
    assert!(store.create_configuration(&c).await.unwrap());
    c
}

/// A list of configuration `c`, as the mDoc API's allocator creates it (unretired: mDoc lists
/// have no horizon).
pub fn mdoc_list(list_id: &str, c: &Configuration) -> ListRecord {
    ListRecord {
        list_id: list_id.to_string(),
        pool: format!("mdoc-{}", c.id),
        bits: c.bits,
        size: 1000,
        open: true,
        created_at: now(),
        lifetime: None,
        owner: Some(ListOwner {
            tenant_id: c.tenant_id.clone(),
            configuration_id: c.id.clone(),
        }),
        published_iaca_id: None,
        status_horizon: None,
    }
}

async fn created_mdoc_list<S: IssuerStore + ?Sized>(store: &S, ids: &Ids, c: &Configuration) -> ListRecord {
    let l = mdoc_list(&ids.id("list"), c);
    assert!(store.create_list(&l).await.unwrap());
    l
}

fn mdoc(credential_id: &str, c: &Configuration, list: &ListRecord, idx: u64) -> Mdoc {
    Mdoc {
        credential_id: credential_id.to_string(),
        tenant_id: c.tenant_id.clone(),
        configuration_id: c.id.clone(),
        doc_type: c.doc_type.clone(),
        list_id: list.list_id.clone(),
        idx,
        created_at: now(),
    }
}

pub async fn a_configuration_is_unique_per_doc_type<S: MdocStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, other) = (ids.id("tenant"), ids.id("tenant"));
    let doc_type = ids.id("org.iso.18013.5.1.mDL");
    let first = configuration(&tenant, &ids.id("cfg"), &doc_type);
    assert!(store.create_configuration(&first).await.unwrap());
    let mut twin = configuration(&tenant, &ids.id("cfg"), &doc_type);
    twin.bits = 1;
    assert!(
        !store.create_configuration(&twin).await.unwrap(),
        "the docType is taken"
    );
    assert_eq!(
        store.configuration(&tenant, &twin.id).await.unwrap(),
        None,
        "nothing written"
    );
    assert_eq!(
        store.configuration_for_doc_type(&tenant, &doc_type).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.configuration(&tenant, &first.id).await.unwrap(),
        Some(first.clone())
    );
    let theirs = configuration(&other, &ids.id("cfg"), &doc_type);
    assert!(store.create_configuration(&theirs).await.unwrap(), "per tenant");
    let another = configuration(&tenant, &ids.id("cfg"), &ids.id("org.example.pid"));
    assert!(store.create_configuration(&another).await.unwrap());
    assert_eq!(
        store.configuration(&other, &first.id).await.unwrap(),
        None,
        "another tenant's"
    );
    assert_eq!(
        store
            .configuration_for_doc_type(&tenant, &ids.id("org.example.none"))
            .await
            .unwrap(),
        None
    );
}

pub async fn concurrent_creates_of_one_doc_type_create_one<S: MdocStore + ?Sized + 'static>(store: Arc<S>, ids: Ids) {
    let (tenant, doc_type) = (ids.id("tenant"), ids.id("org.iso.18013.5.1.mDL"));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, c) = (store.clone(), configuration(&tenant, &ids.id("cfg"), &doc_type));
            tokio::spawn(async move { (c.id.clone(), retrying(|| store.create_configuration(&c)).await.unwrap()) })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        if let (id, true) = task.await.unwrap() {
            created.push(id);
        }
    }
    assert_eq!(created.len(), 1, "one configuration per docType: {created:?}");
    assert_eq!(
        store
            .configuration_for_doc_type(&tenant, &doc_type)
            .await
            .unwrap()
            .map(|c| c.id),
        Some(created[0].clone())
    );
    assert_eq!(store.configurations(&tenant, None, 100).await.unwrap().items.len(), 1);
}

pub async fn configurations_page_in_creation_order<S: MdocStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, other) = (ids.id("tenant"), ids.id("tenant"));
    // Ids are time-ordered: the order they were made is the order of creation.
    let made: Vec<_> = (0..5)
        .map(|_| configuration(&tenant, &ids.id("cfg"), &ids.id("doc")))
        .collect();
    for c in &made {
        assert!(store.create_configuration(c).await.unwrap());
    }
    assert!(
        store
            .create_configuration(&configuration(&other, &ids.id("cfg"), &ids.id("doc")))
            .await
            .unwrap()
    );
    let expected: Vec<_> = made.iter().map(|c| c.id.clone()).collect();
    for limit in [1, 2, 5, 6] {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.configurations(&tenant, after.as_deref(), limit).await.unwrap();
            pages.push((
                page.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
                page.next_after.clone(),
            ));
            match page.next_after {
                Some(next) if pages.len() < 10 => after = Some(next),
                _ => break,
            }
        }
        assert_eq!(
            pages,
            super::iacas::expected_pages(&expected, limit),
            "pages of {limit}"
        );
    }
    assert_eq!(
        store.configurations(&tenant, None, 10).await.unwrap().items,
        made,
        "whole records"
    );
}

pub async fn a_configuration_is_updated_in_place<S: MdocStore + ListSource + ?Sized>(store: Arc<S>, ids: Ids) {
    let c = configured(&*store, &ids).await;
    let updated = store
        .update_configuration(&c.tenant_id, &c.id, &hours(2), &days(3))
        .await
        .unwrap()
        .expect("it exists");
    let expected = Configuration {
        time_to_live: hours(2),
        expiry: days(3),
        ..c.clone()
    };
    assert_eq!(updated, expected, "the lifetimes, nothing else");
    assert_eq!(
        store.configuration(&c.tenant_id, &c.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store
            .configuration_for_doc_type(&c.tenant_id, &c.doc_type)
            .await
            .unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.configuration_lifetimes().await.unwrap().get(&c.id),
        Some(&Lifetime {
            ttl: 2 * 3_600,
            validity: 3 * 86_400
        })
    );
    assert_eq!(
        store
            .update_configuration(&c.tenant_id, &ids.id("cfg"), &hours(2), &days(3))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .update_configuration(&ids.id("tenant"), &c.id, &hours(2), &days(3))
            .await
            .unwrap(),
        None,
        "another tenant's"
    );
    assert_eq!(
        store.configuration(&c.tenant_id, &ids.id("cfg")).await.unwrap(),
        None,
        "not created"
    );
}

pub async fn a_configuration_in_use_is_not_deleted<S: MdocStore + IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let used = configured(&*store, &ids).await;
    created_mdoc_list(&*store, &ids, &used).await;
    assert_eq!(
        store.delete_configuration(&used.tenant_id, &used.id).await.unwrap(),
        ConfigurationDelete::InUse
    );
    assert_eq!(
        store.configuration(&used.tenant_id, &used.id).await.unwrap(),
        Some(used.clone())
    );

    let unused = configured(&*store, &ids).await;
    assert_eq!(
        store.delete_configuration(&unused.tenant_id, &unused.id).await.unwrap(),
        ConfigurationDelete::Deleted
    );
    assert_eq!(store.configuration(&unused.tenant_id, &unused.id).await.unwrap(), None);
    assert_eq!(
        store
            .configuration_for_doc_type(&unused.tenant_id, &unused.doc_type)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.delete_configuration(&unused.tenant_id, &unused.id).await.unwrap(),
        ConfigurationDelete::NotFound
    );
    let again = configuration(&unused.tenant_id, &ids.id("cfg"), &unused.doc_type);
    assert!(
        store.create_configuration(&again).await.unwrap(),
        "its docType is free again"
    );
    assert_eq!(
        store.delete_configuration(&ids.id("tenant"), &used.id).await.unwrap(),
        ConfigurationDelete::NotFound,
        "another tenant's"
    );
}

pub async fn a_list_needs_its_configuration<S: MdocStore + IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let c = configuration(&ids.id("tenant"), &ids.id("cfg"), &ids.id("doc"));
    let l = mdoc_list(&ids.id("list"), &c);
    assert!(store.create_list(&l).await.is_err(), "no such configuration");
    assert_eq!(store.list(&l.list_id).await.unwrap(), None, "nothing written");
    assert!(store.create_configuration(&c).await.unwrap());
    assert!(store.create_list(&l).await.unwrap());
    assert_eq!(store.list(&l.list_id).await.unwrap(), Some(l.clone()));
    assert!(!store.create_list(&l).await.unwrap(), "the id is taken");
    assert_eq!(
        store.delete_configuration(&c.tenant_id, &c.id).await.unwrap(),
        ConfigurationDelete::InUse,
        "counted once, in use"
    );
}

pub async fn an_mdoc_list_publishes_as_its_configuration_says<S: MdocStore + IssuerStore + ListSource + ?Sized>(
    store: Arc<S>,
    ids: Ids,
) {
    let c = configured(&*store, &ids).await;
    let l = created_mdoc_list(&*store, &ids, &c).await;
    let lifetime = || async { store.list_state(&l.list_id).await.unwrap().unwrap().list.lifetime };
    assert_eq!(lifetime().await, Some(c.lifetime()));
    store
        .update_configuration(&c.tenant_id, &c.id, &hours(6), &days(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        lifetime().await,
        Some(Lifetime {
            ttl: 6 * 3_600,
            validity: 2 * 86_400
        }),
        "the configuration's lifetimes now"
    );
    let summary = store
        .published_lists()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.list_id == l.list_id)
        .expect("named");
    assert_eq!(
        (summary.tenant_id.as_deref(), summary.configuration_id.as_deref()),
        (Some(c.tenant_id.as_str()), Some(c.id.as_str()))
    );
}

pub async fn an_mdoc_and_its_entry_are_written_both_or_neither<S: MdocStore + IssuerStore + ?Sized>(
    store: Arc<S>,
    ids: Ids,
) {
    let c = configured(&*store, &ids).await;
    let l = created_mdoc_list(&*store, &ids, &c).await;
    let first = mdoc(&ids.id("credential"), &c, &l, 3);
    let e = entry(&l.list_id, 3, &c.tenant_id);
    assert_eq!(store.place_mdoc(&e, &first).await.unwrap(), Placement::Placed);
    assert_eq!(store.mdoc(&first.credential_id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.entry(&l.list_id, 3).await.unwrap(), Some(e.clone()));

    // The index is taken: no record either.
    let second = mdoc(&ids.id("credential"), &c, &l, 3);
    let taken = entry(&l.list_id, 3, "someone-else");
    assert_eq!(store.place_mdoc(&taken, &second).await.unwrap(), Placement::IndexTaken);
    assert_eq!(store.mdoc(&second.credential_id).await.unwrap(), None);
    assert_eq!(store.entry(&l.list_id, 3).await.unwrap(), Some(e), "untouched");

    // The credential is registered already (ids are new UUIDs: a bug): no entry either.
    let again = mdoc(&first.credential_id, &c, &l, 4);
    assert!(
        store
            .place_mdoc(&entry(&l.list_id, 4, &c.tenant_id), &again)
            .await
            .is_err()
    );
    assert_eq!(store.entry(&l.list_id, 4).await.unwrap(), None);
    assert_eq!(
        store.mdoc(&first.credential_id).await.unwrap(),
        Some(first),
        "the first record"
    );

    // No such list: neither.
    let ghost = ListRecord {
        list_id: ids.id("list"),
        ..l.clone()
    };
    let lost = mdoc(&ids.id("credential"), &c, &ghost, 0);
    assert!(
        store
            .place_mdoc(&entry(&ghost.list_id, 0, &c.tenant_id), &lost)
            .await
            .is_err()
    );
    assert_eq!(store.entry(&ghost.list_id, 0).await.unwrap(), None);
    assert_eq!(store.mdoc(&lost.credential_id).await.unwrap(), None);
}

pub async fn concurrent_registrations_at_one_index_place_once<S: MdocStore + IssuerStore + ?Sized + 'static>(
    store: Arc<S>,
    ids: Ids,
) {
    let c = configured(&*store, &ids).await;
    let l = created_mdoc_list(&*store, &ids, &c).await;
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let m = mdoc(&ids.id("credential"), &c, &l, 11);
            let (store, e) = (store.clone(), entry(&l.list_id, 11, &m.credential_id));
            tokio::spawn(async move {
                (
                    m.credential_id.clone(),
                    retrying(|| store.place_mdoc(&e, &m)).await.unwrap(),
                )
            })
        })
        .collect();
    let (mut placed, mut refused) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            (id, Placement::Placed) => placed.push(id),
            (id, Placement::IndexTaken) => refused.push(id),
            (id, other) => panic!("{id}: unexpected {other:?}"),
        }
    }
    assert_eq!(placed.len(), 1, "one mDoc at the index: {placed:?}");
    assert_eq!(
        store.entry(&l.list_id, 11).await.unwrap().map(|e| e.client_id),
        Some(placed[0].clone())
    );
    for id in refused {
        assert_eq!(
            store.mdoc(&id).await.unwrap(),
            None,
            "{id}: no record without its entry"
        );
    }
}

pub async fn an_mdoc_is_deleted_by_its_tenant_only<S: MdocStore + IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let c = configured(&*store, &ids).await;
    let l = created_mdoc_list(&*store, &ids, &c).await;
    let m = mdoc(&ids.id("credential"), &c, &l, 0);
    let e = entry(&l.list_id, 0, &c.tenant_id);
    assert_eq!(store.place_mdoc(&e, &m).await.unwrap(), Placement::Placed);
    assert!(
        !store.delete_mdoc(&ids.id("tenant"), &m.credential_id).await.unwrap(),
        "not theirs"
    );
    assert_eq!(store.mdoc(&m.credential_id).await.unwrap(), Some(m.clone()));
    assert!(store.delete_mdoc(&c.tenant_id, &m.credential_id).await.unwrap());
    assert_eq!(store.mdoc(&m.credential_id).await.unwrap(), None);
    assert!(
        !store.delete_mdoc(&c.tenant_id, &m.credential_id).await.unwrap(),
        "gone already"
    );
    assert_eq!(
        store.entry(&l.list_id, 0).await.unwrap(),
        Some(e),
        "its entry stays (indices are never reused)"
    );
}

pub async fn tenant_lists_page_in_id_order<S: MdocStore + IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let c = configured(&*store, &ids).await;
    let made: Vec<_> = (0..5).map(|_| mdoc_list(&ids.id("list"), &c)).collect();
    for l in made.iter().rev() {
        assert!(store.create_list(l).await.unwrap());
    }
    let theirs = configured(&*store, &ids).await;
    created_mdoc_list(&*store, &ids, &theirs).await;
    let expected: Vec<_> = made.iter().map(|l| l.list_id.clone()).collect();
    for limit in [1, 2, 5, 8] {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.tenant_lists(&c.tenant_id, after.as_deref(), limit).await.unwrap();
            pages.push((
                page.items.iter().map(|l| l.list_id.clone()).collect::<Vec<_>>(),
                page.next_after.clone(),
            ));
            match page.next_after {
                Some(next) if pages.len() < 10 => after = Some(next),
                _ => break,
            }
        }
        assert_eq!(
            pages,
            super::iacas::expected_pages(&expected, limit),
            "pages of {limit}"
        );
    }
    assert_eq!(
        store.tenant_lists(&c.tenant_id, None, 10).await.unwrap().items,
        made,
        "whole records"
    );
    assert_eq!(store.list(&made[2].list_id).await.unwrap(), Some(made[2].clone()));
    assert_eq!(store.list(&ids.id("list")).await.unwrap(), None);
    let empty = store.tenant_lists(&ids.id("tenant"), None, 3).await.unwrap();
    assert_eq!((empty.items.len(), empty.next_after), (0, None));
}
