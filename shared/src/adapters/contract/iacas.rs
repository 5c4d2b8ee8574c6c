//! [`IacaStore`]: a tenant's IACAs bounded in number however creates interleave, one active IACA
//! that is never deleted, signers only under an existing IACA and counted when the tenant
//! creates them, and pages in id order.

use std::sync::Arc;

use super::{Ids, RACERS, now, retrying};
use crate::domain::iaca::CertificateData;
use crate::domain::iaca::Iaca;
use crate::domain::page::Page;
use crate::domain::signer::{SignerCertificateRecord, StatusListSigner};
use crate::ports::{IacaCreate, IacaDelete, IacaStore, SignerCreate};

/// Every case of this module, one test each, on the store `make().await` gives (an
/// `Arc<impl IacaStore>`).
#[macro_export]
macro_rules! iaca_store_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            iacas,
            $make,
            [
                an_iaca_is_stored_as_created,
                an_iaca_id_is_created_once,
                iacas_are_bounded_per_tenant,
                concurrent_creates_never_pass_the_max,
                iacas_page_in_id_order,
                one_iaca_is_active_and_it_is_not_deleted,
                active_iacas_name_each_tenants_one,
                a_signer_needs_its_iaca,
                signers_the_tenant_creates_are_bounded,
                a_signer_id_is_created_once,
                a_signer_gets_its_certificate,
                signers_page_in_id_order,
            ]
        );
    };
}

pub fn iaca(tenant_id: &str, id: &str, managed: bool) -> Iaca {
    let t = now();
    Iaca {
        id: id.to_string(),
        tenant_id: tenant_id.to_string(),
        key_id: managed.then(|| format!("key-of-{id}")),
        certificate_pem: format!("-----BEGIN CERTIFICATE-----\n{id}\n-----END CERTIFICATE-----\n"),
        certificate_data: CertificateData {
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2036-01-01T00:00:00Z".into(),
            country: "AU".into(),
            common_name: format!("IACA {id}"),
            state_or_province_name: managed.then(|| "NSW".into()),
        },
        fingerprint: format!("{t:064x}"),
        not_before: t,
        not_after: t + 10 * 365 * 86_400,
        created_at: t,
    }
}

pub fn signer(tenant_id: &str, iaca_id: &str, id: &str, managed: bool) -> StatusListSigner {
    StatusListSigner {
        id: id.to_string(),
        tenant_id: tenant_id.to_string(),
        iaca_id: iaca_id.to_string(),
        key_id: format!("key-of-{id}"),
        managed,
        csr_pem: (!managed).then(|| format!("-----BEGIN CERTIFICATE REQUEST-----\n{id}\n")),
        certificate: managed.then(|| SignerCertificateRecord {
            pem: format!("-----BEGIN CERTIFICATE-----\n{id}\n"),
            not_before: now(),
            not_after: now() + 365 * 86_400,
        }),
        created_at: now(),
    }
}

/// A tenant with one IACA.
async fn tenant_with_iaca<S: IacaStore + ?Sized>(store: &S, ids: &Ids) -> (String, Iaca) {
    let tenant = ids.id("tenant");
    let i = iaca(&tenant, &ids.id("iaca"), true);
    assert_eq!(store.create_iaca(&i, 10).await.unwrap(), IacaCreate::Created);
    (tenant, i)
}

/// Every page from the start: (ids per page, the `next_after` of each).
async fn all_pages<T, F, Fut>(page: F, id_of: fn(&T) -> String) -> Vec<(Vec<String>, Option<String>)>
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let p = page(after.clone()).await;
        out.push((p.items.iter().map(id_of).collect(), p.next_after.clone()));
        match p.next_after {
            Some(next) if out.len() < 20 => after = Some(next),
            _ => return out,
        }
    }
}

/// Pages of `limit` over `expected` ids, in order, each once, `next_after` naming the last of a
/// page that has a successor.
pub fn expected_pages(expected: &[String], limit: usize) -> Vec<(Vec<String>, Option<String>)> {
    let chunks: Vec<_> = expected.chunks(limit).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (c.to_vec(), (i + 1 < chunks.len()).then(|| c.last().unwrap().clone())))
        .collect()
}

pub async fn an_iaca_is_stored_as_created<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let tenant = ids.id("tenant");
    let (managed, unmanaged) = (
        iaca(&tenant, &ids.id("iaca"), true),
        iaca(&tenant, &ids.id("iaca"), false),
    );
    for i in [&managed, &unmanaged] {
        assert_eq!(store.create_iaca(i, 5).await.unwrap(), IacaCreate::Created);
        assert_eq!(store.iaca(&tenant, &i.id).await.unwrap().as_ref(), Some(i));
    }
    assert_eq!(
        store.iaca(&ids.id("tenant"), &managed.id).await.unwrap(),
        None,
        "another tenant's"
    );
    assert_eq!(store.iaca(&tenant, &ids.id("iaca")).await.unwrap(), None);
    assert_eq!(store.active_iaca_id(&tenant).await.unwrap(), None, "created inactive");
}

pub async fn an_iaca_id_is_created_once<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let tenant = ids.id("tenant");
    let first = iaca(&tenant, &ids.id("iaca"), true);
    assert_eq!(store.create_iaca(&first, 2).await.unwrap(), IacaCreate::Created);
    let mut again = iaca(&tenant, &first.id, false);
    again.fingerprint = "another".into();
    assert!(
        store.create_iaca(&again, 2).await.is_err(),
        "an id in use is a bug (ids are new UUIDs), not a new IACA"
    );
    assert_eq!(store.iaca(&tenant, &first.id).await.unwrap(), Some(first));
    let second = iaca(&tenant, &ids.id("iaca"), true);
    assert_eq!(
        store.create_iaca(&second, 2).await.unwrap(),
        IacaCreate::Created,
        "the refused one was not counted"
    );
}

pub async fn iacas_are_bounded_per_tenant<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, other) = (ids.id("tenant"), ids.id("tenant"));
    let created: Vec<_> = (0..2).map(|_| iaca(&tenant, &ids.id("iaca"), true)).collect();
    for i in &created {
        assert_eq!(store.create_iaca(i, 2).await.unwrap(), IacaCreate::Created);
    }
    let third = iaca(&tenant, &ids.id("iaca"), true);
    assert_eq!(store.create_iaca(&third, 2).await.unwrap(), IacaCreate::LimitReached);
    assert_eq!(store.iaca(&tenant, &third.id).await.unwrap(), None, "nothing stored");
    assert_eq!(
        store
            .create_iaca(&iaca(&other, &ids.id("iaca"), true), 2)
            .await
            .unwrap(),
        IacaCreate::Created,
        "each tenant has its own count"
    );
    assert!(matches!(
        store.delete_iaca(&tenant, &created[0].id).await.unwrap(),
        IacaDelete::Deleted(_)
    ));
    assert_eq!(
        store.create_iaca(&third, 2).await.unwrap(),
        IacaCreate::Created,
        "a deleted IACA is uncounted"
    );
    assert_eq!(
        store
            .create_iaca(&iaca(&tenant, &ids.id("iaca"), true), 3)
            .await
            .unwrap(),
        IacaCreate::Created
    );
}

pub async fn concurrent_creates_never_pass_the_max<S: IacaStore + ?Sized + 'static>(store: Arc<S>, ids: Ids) {
    const MAX: usize = 3;
    let tenant = ids.id("tenant");
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, i) = (store.clone(), iaca(&tenant, &ids.id("iaca"), true));
            tokio::spawn(async move { retrying(|| store.create_iaca(&i, MAX)).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == IacaCreate::Created {
            created += 1;
        }
    }
    assert_eq!(created, MAX, "exactly the maximum, never more");
    assert_eq!(store.iacas(&tenant, None, 100).await.unwrap().items.len(), MAX);
}

pub async fn iacas_page_in_id_order<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, other) = (ids.id("tenant"), ids.id("tenant"));
    let made: Vec<_> = (0..5).map(|_| iaca(&tenant, &ids.id("iaca"), false)).collect();
    for i in made.iter().rev() {
        assert_eq!(store.create_iaca(i, 10).await.unwrap(), IacaCreate::Created);
    }
    assert_eq!(
        store
            .create_iaca(&iaca(&other, &ids.id("iaca"), false), 10)
            .await
            .unwrap(),
        IacaCreate::Created
    );
    let expected: Vec<_> = made.iter().map(|i| i.id.clone()).collect();
    for limit in [1, 2, 5, 7] {
        let pages = all_pages(
            |after| {
                let (store, tenant) = (store.clone(), tenant.clone());
                async move { store.iacas(&tenant, after.as_deref(), limit).await.unwrap() }
            },
            |i: &Iaca| i.id.clone(),
        )
        .await;
        assert_eq!(pages, expected_pages(&expected, limit), "pages of {limit}");
    }
    let after_last = store.iacas(&tenant, Some(&made[4].id), 2).await.unwrap();
    assert_eq!((after_last.items.len(), after_last.next_after), (0, None));
    assert_eq!(
        store.iacas(&tenant, None, 1).await.unwrap().items,
        vec![made[0].clone()],
        "whole records"
    );
}

pub async fn one_iaca_is_active_and_it_is_not_deleted<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, a) = tenant_with_iaca(&*store, &ids).await;
    let b = iaca(&tenant, &ids.id("iaca"), true);
    assert_eq!(store.create_iaca(&b, 10).await.unwrap(), IacaCreate::Created);
    assert!(store.set_active_iaca(&tenant, &a.id, true).await.unwrap());
    assert_eq!(store.active_iaca_id(&tenant).await.unwrap(), Some(a.id.clone()));
    assert!(store.set_active_iaca(&tenant, &b.id, true).await.unwrap());
    assert_eq!(
        store.active_iaca_id(&tenant).await.unwrap(),
        Some(b.id.clone()),
        "a is no longer"
    );
    assert!(
        store.set_active_iaca(&tenant, &a.id, false).await.unwrap(),
        "deactivating an inactive IACA is done already"
    );
    assert_eq!(
        store.active_iaca_id(&tenant).await.unwrap(),
        Some(b.id.clone()),
        "b stays active"
    );
    assert_eq!(store.delete_iaca(&tenant, &b.id).await.unwrap(), IacaDelete::Active);
    assert_eq!(store.iaca(&tenant, &b.id).await.unwrap(), Some(b.clone()), "kept");
    assert_eq!(
        store.delete_iaca(&tenant, &a.id).await.unwrap(),
        IacaDelete::Deleted(Box::new(a.clone()))
    );
    assert_eq!(store.delete_iaca(&tenant, &a.id).await.unwrap(), IacaDelete::NotFound);
    assert!(!store.set_active_iaca(&tenant, &a.id, true).await.unwrap(), "a is gone");
    assert!(!store.set_active_iaca(&tenant, &a.id, false).await.unwrap());
    assert_eq!(store.active_iaca_id(&tenant).await.unwrap(), Some(b.id.clone()));
    assert!(store.set_active_iaca(&tenant, &b.id, false).await.unwrap());
    assert_eq!(store.active_iaca_id(&tenant).await.unwrap(), None);
    assert_eq!(
        store.delete_iaca(&tenant, &b.id).await.unwrap(),
        IacaDelete::Deleted(Box::new(b))
    );
    assert!(!store.set_active_iaca(&ids.id("tenant"), &a.id, true).await.unwrap());
}

pub async fn active_iacas_name_each_tenants_one<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (t1, a) = tenant_with_iaca(&*store, &ids).await;
    let (t2, b) = tenant_with_iaca(&*store, &ids).await;
    let (t3, _) = tenant_with_iaca(&*store, &ids).await;
    let c = iaca(&t1, &ids.id("iaca"), true);
    assert_eq!(store.create_iaca(&c, 10).await.unwrap(), IacaCreate::Created);
    assert!(store.set_active_iaca(&t1, &a.id, true).await.unwrap());
    assert!(store.set_active_iaca(&t1, &c.id, true).await.unwrap());
    assert!(store.set_active_iaca(&t2, &b.id, true).await.unwrap());
    let mut ours: Vec<_> = store
        .active_iacas()
        .await
        .unwrap()
        .into_iter()
        .filter(|(t, _)| [&t1, &t2, &t3].contains(&t))
        .collect();
    ours.sort();
    assert_eq!(ours, vec![(t1, c.id), (t2, b.id)], "one per tenant that has one");
}

pub async fn a_signer_needs_its_iaca<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, i) = tenant_with_iaca(&*store, &ids).await;
    let orphan = signer(&tenant, &ids.id("iaca"), &ids.id("signer"), true);
    assert_eq!(store.create_signer(&orphan, None).await.unwrap(), SignerCreate::NoIaca);
    assert_eq!(store.signer(&tenant, &orphan.id).await.unwrap(), None, "nothing stored");
    let elsewhere = signer(&ids.id("tenant"), &i.id, &ids.id("signer"), true);
    assert_eq!(
        store.create_signer(&elsewhere, None).await.unwrap(),
        SignerCreate::NoIaca,
        "the IACA of another tenant"
    );
    let s = signer(&tenant, &i.id, &ids.id("signer"), true);
    assert_eq!(store.create_signer(&s, None).await.unwrap(), SignerCreate::Created);
    assert_eq!(
        store.signer(&tenant, &s.id).await.unwrap(),
        Some(s.clone()),
        "as created"
    );
    assert_eq!(store.signer(&ids.id("tenant"), &s.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_iaca(&tenant, &i.id).await.unwrap(),
        IacaDelete::Deleted(_)
    ));
    let late = signer(&tenant, &i.id, &ids.id("signer"), false);
    assert_eq!(
        store.create_signer(&late, Some(3)).await.unwrap(),
        SignerCreate::NoIaca,
        "its IACA was deleted meanwhile"
    );
}

pub async fn signers_the_tenant_creates_are_bounded<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, i) = tenant_with_iaca(&*store, &ids).await;
    for _ in 0..2 {
        let managed = signer(&tenant, &i.id, &ids.id("signer"), true);
        assert_eq!(
            store.create_signer(&managed, None).await.unwrap(),
            SignerCreate::Created
        );
    }
    let own: Vec<_> = (0..3)
        .map(|_| signer(&tenant, &i.id, &ids.id("signer"), false))
        .collect();
    for s in &own[..2] {
        assert_eq!(
            store.create_signer(s, Some(2)).await.unwrap(),
            SignerCreate::Created,
            "managed signers are not counted"
        );
    }
    assert_eq!(
        store.create_signer(&own[2], Some(2)).await.unwrap(),
        SignerCreate::LimitReached
    );
    assert_eq!(store.signer(&tenant, &own[2].id).await.unwrap(), None);
    assert_eq!(
        store.delete_signer(&tenant, &own[0].id).await.unwrap(),
        Some(own[0].clone())
    );
    assert_eq!(store.delete_signer(&tenant, &own[0].id).await.unwrap(), None);
    assert_eq!(
        store.create_signer(&own[2], Some(2)).await.unwrap(),
        SignerCreate::Created,
        "a deleted signer is uncounted"
    );
    let other = ids.id("tenant");
    let theirs = iaca(&other, &ids.id("iaca"), false);
    assert_eq!(store.create_iaca(&theirs, 10).await.unwrap(), IacaCreate::Created);
    assert_eq!(
        store
            .create_signer(&signer(&other, &theirs.id, &ids.id("signer"), false), Some(2))
            .await
            .unwrap(),
        SignerCreate::Created,
        "each tenant has its own count"
    );
}

pub async fn a_signer_id_is_created_once<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, i) = tenant_with_iaca(&*store, &ids).await;
    let first = signer(&tenant, &i.id, &ids.id("signer"), false);
    assert_eq!(
        store.create_signer(&first, Some(5)).await.unwrap(),
        SignerCreate::Created
    );
    let mut again = first.clone();
    again.key_id = "another key".into();
    assert!(
        store.create_signer(&again, Some(5)).await.is_err(),
        "an id in use is a bug"
    );
    assert_eq!(store.signer(&tenant, &first.id).await.unwrap(), Some(first));
}

pub async fn a_signer_gets_its_certificate<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, i) = tenant_with_iaca(&*store, &ids).await;
    let s = signer(&tenant, &i.id, &ids.id("signer"), false);
    assert_eq!(store.create_signer(&s, Some(5)).await.unwrap(), SignerCreate::Created);
    assert_eq!(store.signer(&tenant, &s.id).await.unwrap().unwrap().certificate, None);
    let certificate = SignerCertificateRecord {
        pem: "-----BEGIN CERTIFICATE-----\nuploaded\n".into(),
        not_before: now(),
        not_after: now() + 86_400,
    };
    assert!(
        store
            .set_signer_certificate(&tenant, &s.id, &certificate)
            .await
            .unwrap()
    );
    let stored = store.signer(&tenant, &s.id).await.unwrap().unwrap();
    assert_eq!(stored.certificate, Some(certificate.clone()));
    assert_eq!(stored.window(), Some((certificate.not_before, certificate.not_after)));
    assert_eq!(
        StatusListSigner {
            certificate: None,
            ..stored
        },
        s,
        "the rest unchanged"
    );
    assert!(
        !store
            .set_signer_certificate(&tenant, &ids.id("signer"), &certificate)
            .await
            .unwrap()
    );
    assert_eq!(
        store.signer(&tenant, &ids.id("signer")).await.unwrap(),
        None,
        "not created by it"
    );
}

pub async fn signers_page_in_id_order<S: IacaStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (tenant, i) = tenant_with_iaca(&*store, &ids).await;
    let made: Vec<_> = (0..4)
        .map(|n| signer(&tenant, &i.id, &ids.id("signer"), n % 2 == 0))
        .collect();
    for s in made.iter().rev() {
        assert_eq!(store.create_signer(s, None).await.unwrap(), SignerCreate::Created);
    }
    let (other, theirs) = tenant_with_iaca(&*store, &ids).await;
    let foreign = signer(&other, &theirs.id, &ids.id("signer"), true);
    assert_eq!(
        store.create_signer(&foreign, None).await.unwrap(),
        SignerCreate::Created
    );
    let expected: Vec<_> = made.iter().map(|s| s.id.clone()).collect();
    for limit in [1, 3, 4] {
        let pages = all_pages(
            |after| {
                let (store, tenant) = (store.clone(), tenant.clone());
                async move { store.signers(&tenant, after.as_deref(), limit).await.unwrap() }
            },
            |s: &StatusListSigner| s.id.clone(),
        )
        .await;
        assert_eq!(pages, expected_pages(&expected, limit), "pages of {limit}");
    }
    assert_eq!(
        store.signers(&tenant, None, 10).await.unwrap().items,
        made,
        "whole records"
    );
}
