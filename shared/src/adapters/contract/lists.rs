//! [`ListSource`]: what the publisher reads of a list (its record and change sequence, its
//! non-VALID entries) and the record of the token in place, ordered as tokens are. Lists are
//! created through the same store's [`IssuerStore`].

use std::sync::Arc;

use super::issuer::{created_list, list, placed_entry};
use super::{Ids, RACERS, now, retrying};
use crate::domain::list::{ListRecord, ListState, ListSummary, PublishedToken};
use crate::ports::{IssuerStore, ListSource};

/// Every case of this module, one test each, on the store `make().await` gives (an
/// `Arc<impl IssuerStore + ListSource>`).
#[macro_export]
macro_rules! list_source_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            lists,
            $make,
            [
                a_list_state_is_its_record_and_change_sequence,
                the_change_sequence_counts_up_from_zero,
                concurrent_bumps_count_each_once,
                non_valid_entries_are_the_changed_ones,
                a_published_record_is_ordered_by_seq_then_iat,
                published_lists_name_every_list_with_its_summary,
            ]
        );
    };
}

/// A list no re-signing pass publishes (closed, its horizon long past), so the publishing record
/// a case reads is the case's own even on a stack whose functions run.
async fn retired_list<S: IssuerStore + ?Sized>(store: &S, ids: &Ids) -> ListRecord {
    let mut l = list(&ids.id("list"), &ids.id("pool"));
    l.open = false;
    l.status_horizon = Some(1);
    assert!(store.create_list(&l).await.unwrap());
    l
}

fn token(seq: u64, iat: i64, exp: i64, iaca_id: Option<&str>) -> PublishedToken {
    PublishedToken {
        seq,
        iat,
        exp,
        max_age: (exp - iat) as u64 / 2,
        iaca_id: iaca_id.map(str::to_owned),
    }
}

async fn summary<S: ListSource + ?Sized>(store: &S, list_id: &str) -> ListSummary {
    let lists = store.published_lists().await.unwrap();
    lists
        .into_iter()
        .find(|s| s.list_id == list_id)
        .expect("every list is named")
}

pub async fn a_list_state_is_its_record_and_change_sequence<S: IssuerStore + ListSource + ?Sized>(
    store: Arc<S>,
    ids: Ids,
) {
    let l = created_list(&*store, &ids).await;
    assert_eq!(
        store.list_state(&l.list_id).await.unwrap(),
        Some(ListState {
            list: l.clone(),
            change_seq: 0
        })
    );
    let mut default_lifetime = list(&ids.id("list"), &l.pool);
    default_lifetime.lifetime = None;
    assert!(store.create_list(&default_lifetime).await.unwrap());
    assert_eq!(
        store
            .list_state(&default_lifetime.list_id)
            .await
            .unwrap()
            .map(|s| s.list),
        Some(default_lifetime),
        "no lifetime of its own: the publisher's defaults"
    );
    assert_eq!(store.list_state(&ids.id("list")).await.unwrap(), None);
}

pub async fn the_change_sequence_counts_up_from_zero<S: IssuerStore + ListSource + ?Sized>(store: Arc<S>, ids: Ids) {
    let (a, b) = (retired_list(&*store, &ids).await, retired_list(&*store, &ids).await);
    assert_eq!(store.bump_change_seq(&a.list_id).await.unwrap(), Some(1));
    assert_eq!(store.bump_change_seq(&a.list_id).await.unwrap(), Some(2));
    assert_eq!(store.bump_change_seq(&b.list_id).await.unwrap(), Some(1), "per list");
    assert_eq!(store.list_state(&a.list_id).await.unwrap().unwrap().change_seq, 2);
    assert_eq!(
        store.bump_change_seq(&ids.id("list")).await.unwrap(),
        None,
        "no such list: nothing to publish"
    );
    assert_eq!(store.list_state(&ids.id("list")).await.unwrap(), None);
}

pub async fn concurrent_bumps_count_each_once<S: IssuerStore + ListSource + ?Sized + 'static>(store: Arc<S>, ids: Ids) {
    let l = retired_list(&*store, &ids).await;
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, list_id) = (store.clone(), l.list_id.clone());
            tokio::spawn(async move { retrying(|| store.bump_change_seq(&list_id)).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap().expect("the list exists"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=RACERS as u64).collect::<Vec<_>>(),
        "each value handed out once"
    );
}

pub async fn non_valid_entries_are_the_changed_ones<S: IssuerStore + ListSource + ?Sized>(store: Arc<S>, ids: Ids) {
    let (l, other) = (created_list(&*store, &ids).await, created_list(&*store, &ids).await);
    for idx in 0..6 {
        placed_entry(&*store, &ids, &l.list_id, idx, "issuer").await;
    }
    placed_entry(&*store, &ids, &other.list_id, 1, "issuer").await;
    assert_eq!(store.non_valid_entries(&l.list_id).await.unwrap(), vec![], "all VALID");
    let t = now();
    store.revoke(&l.list_id, 4, "issuer", t).await.unwrap();
    store.set_status(&l.list_id, 1, 2, t).await.unwrap();
    store.set_status(&l.list_id, 3, 2, t).await.unwrap();
    store.set_status(&l.list_id, 3, 0, t).await.unwrap();
    store.set_status(&l.list_id, 5, 1, t).await.unwrap();
    store.set_status(&other.list_id, 1, 1, t).await.unwrap();
    let mut non_valid = store.non_valid_entries(&l.list_id).await.unwrap();
    non_valid.sort_unstable();
    assert_eq!(non_valid, vec![(1, 2), (4, 1), (5, 1)]);
    assert_eq!(store.non_valid_entries(&ids.id("list")).await.unwrap(), vec![]);
}

pub async fn a_published_record_is_ordered_by_seq_then_iat<S: IssuerStore + ListSource + ?Sized>(
    store: Arc<S>,
    ids: Ids,
) {
    let l = retired_list(&*store, &ids).await;
    let t = now();
    let in_place = || async { summary(&*store, &l.list_id).await };
    let iaca = || async {
        store
            .list_state(&l.list_id)
            .await
            .unwrap()
            .unwrap()
            .list
            .published_iaca_id
    };
    assert_eq!(
        (in_place().await.published_exp, in_place().await.published_max_age),
        (0, None)
    );

    let record = |p: PublishedToken| {
        let store = store.clone();
        let list_id = l.list_id.clone();
        async move { store.record_published(&list_id, &p).await.unwrap() }
    };
    let placed = |p: &PublishedToken| (p.exp, Some(p.max_age));
    let first = token(2, t, t + 1_000, Some("iaca-1"));
    record(first.clone()).await;
    let s = in_place().await;
    assert_eq!((s.published_exp, s.published_max_age), placed(&first));
    assert_eq!(iaca().await.as_deref(), Some("iaca-1"), "the IACA that signed it");

    // Older: a lower sequence, however late its exp; the same sequence signed earlier.
    record(token(1, t + 50, t + 9_000, None)).await;
    record(token(2, t - 10, t + 9_000, None)).await;
    record(first.clone()).await;
    let s = in_place().await;
    assert_eq!(
        (s.published_exp, s.published_max_age),
        placed(&first),
        "never replaced by an older token"
    );
    assert_eq!(iaca().await.as_deref(), Some("iaca-1"));

    // Newer: the same sequence signed later, even with an earlier exp; a higher sequence.
    let resigned = token(2, t + 10, t + 500, None);
    record(resigned.clone()).await;
    assert_eq!(placed(&resigned), {
        let s = in_place().await;
        (s.published_exp, s.published_max_age)
    });
    assert_eq!(iaca().await, None, "signed by no IACA");
    let next = token(3, t + 5, t + 2_000, Some("iaca-2"));
    record(next.clone()).await;
    let s = in_place().await;
    assert_eq!((s.published_exp, s.published_max_age), placed(&next));
    assert_eq!(iaca().await.as_deref(), Some("iaca-2"));

    let ghost = ids.id("list");
    store
        .record_published(&ghost, &next)
        .await
        .expect("a list that does not exist records nothing");
    assert_eq!(store.list_state(&ghost).await.unwrap(), None, "and is not created");
    assert!(
        store
            .published_lists()
            .await
            .unwrap()
            .iter()
            .all(|s| s.list_id != ghost)
    );
}

pub async fn published_lists_name_every_list_with_its_summary<S: IssuerStore + ListSource + ?Sized>(
    store: Arc<S>,
    ids: Ids,
) {
    let a = retired_list(&*store, &ids).await;
    let mut b = list(&ids.id("list"), &a.pool);
    b.open = false;
    b.status_horizon = Some(2);
    b.lifetime = None;
    assert!(store.create_list(&b).await.unwrap());
    let c = retired_list(&*store, &ids).await;
    let t = now();
    store
        .record_published(&c.list_id, &token(0, t, t + 600, None))
        .await
        .unwrap();
    let ours: Vec<_> = store
        .published_lists()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| [&a.list_id, &b.list_id, &c.list_id].contains(&&s.list_id))
        .collect();
    let summary_of = |l: &ListRecord, published_exp: i64, published_max_age: Option<u64>| ListSummary {
        list_id: l.list_id.clone(),
        published_exp,
        published_max_age,
        lifetime: l.lifetime,
        tenant_id: None,
        configuration_id: None,
        open: l.open,
        status_horizon: l.status_horizon,
    };
    assert_eq!(
        ours,
        vec![
            summary_of(&a, 0, None),
            summary_of(&b, 0, None),
            summary_of(&c, t + 600, Some(300)),
        ],
        "each once, in id order, unpublished ones too"
    );
}
