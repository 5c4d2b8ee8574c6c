//! [`IssuerStore`]: lists created once, entries placed only at free indices together with the
//! completion of their idempotency claim, claims with one live owner, revocation one-way and by
//! the issuing client, INVALID final. The store's [`ListSource`] side shows what status changes
//! leave for the publisher.

use std::sync::Arc;

use super::{Ids, RACERS, now, retrying};
use crate::domain::client::Client;
use crate::domain::list::{Entry, ListRecord};
use crate::ports::{Claim, IdempotencyState, IssuerStore, ListSource, Placement, Revocation, StatusUpdate};

/// Every case of this module, one test each, on the store `make().await` gives (an
/// `Arc<impl IssuerStore + ListSource>`).
#[macro_export]
macro_rules! issuer_store_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            issuer,
            $make,
            [
                a_list_is_created_once,
                open_lists_are_the_pools_open_ones_in_id_order,
                closing_an_unknown_list_is_an_error,
                allocations_are_counted_per_list,
                a_horizon_only_rises,
                clients_are_stored_listed_and_deleted,
                a_claim_has_one_live_owner,
                the_owner_reacquires_its_own_claim,
                an_abandoned_claim_is_taken_over,
                a_completed_claim_replays_its_response,
                a_claim_past_its_retention_is_taken_over,
                a_claim_is_released_only_by_its_owner,
                an_entry_is_placed_and_its_claim_completed_at_once,
                a_taken_index_is_refused_and_the_claim_kept,
                a_lost_claim_writes_nothing,
                revocation_is_one_way_and_by_the_issuing_client,
                invalid_is_final,
                concurrent_claims_of_one_key_acquire_once,
                concurrent_placements_at_one_index_place_once,
            ]
        );
    };
}

/// An open issuer-API list of `pool`, as the allocator creates them.
pub fn list(list_id: &str, pool: &str) -> ListRecord {
    ListRecord {
        list_id: list_id.to_string(),
        pool: pool.to_string(),
        bits: 2,
        size: 1000,
        open: true,
        created_at: now(),
        lifetime: Some(crate::domain::lifetime::Lifetime {
            ttl: 600,
            validity: 3600,
        }),
        owner: None,
        published_iaca_id: None,
        status_horizon: None,
    }
}

/// A new VALID entry of `client_id`.
pub fn entry(list_id: &str, idx: u64, client_id: &str) -> Entry {
    Entry {
        list_id: list_id.to_string(),
        idx,
        client_id: client_id.to_string(),
        issued_at: now(),
        status_expiry: now() + 86_400,
        status: 0,
        revoked_at: None,
    }
}

/// A claim of `key` for `owner` at `at`, in progress for 30 s and kept for an hour.
async fn claim<S: IssuerStore + ?Sized>(store: &S, key: &str, owner: &str, hash: &str, at: i64) -> Claim {
    store
        .claim_idempotency(key, owner, hash, at, at + 30, at + 3_600)
        .await
        .expect("the claim is answered")
}

/// A list created in the store (for the cases about what lives in it).
pub async fn created_list<S: IssuerStore + ?Sized>(store: &S, ids: &Ids) -> ListRecord {
    let list = list(&ids.id("list"), &ids.id("pool"));
    assert!(store.create_list(&list).await.unwrap(), "a new list id is free");
    list
}

/// An entry of `client_id` placed at `idx` under a claim of its own.
pub async fn placed_entry<S: IssuerStore + ?Sized>(
    store: &S,
    ids: &Ids,
    list_id: &str,
    idx: u64,
    client_id: &str,
) -> Entry {
    let (key, owner) = (ids.id("key"), ids.id("owner"));
    assert_eq!(claim(store, &key, &owner, "h", now()).await, Claim::Acquired);
    let e = entry(list_id, idx, client_id);
    assert_eq!(
        store.place_entry(&e, &key, &owner, "{}").await.unwrap(),
        Placement::Placed
    );
    e
}

pub async fn a_list_is_created_once<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let first = list(&ids.id("list"), &ids.id("pool"));
    assert!(store.create_list(&first).await.unwrap());
    let mut second = list(&first.list_id, &first.pool);
    second.bits = 1;
    second.size = 5;
    assert!(!store.create_list(&second).await.unwrap(), "the id is taken");
    assert_eq!(
        store.open_lists(&first.pool).await.unwrap(),
        vec![first],
        "the first list, as it was created"
    );
}

pub async fn open_lists_are_the_pools_open_ones_in_id_order<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (pool, other_pool) = (ids.id("pool"), ids.id("pool"));
    let lists: Vec<_> = (0..4).map(|_| list(&ids.id("list"), &pool)).collect();
    for l in lists.iter().rev() {
        assert!(store.create_list(l).await.unwrap());
    }
    assert!(store.create_list(&list(&ids.id("list"), &other_pool)).await.unwrap());
    let mut horizon = list(&ids.id("list"), &pool);
    horizon.status_horizon = Some(now() + 100);
    assert!(store.create_list(&horizon).await.unwrap());
    store.close_list(&lists[1].list_id).await.unwrap();
    store.close_list(&lists[1].list_id).await.unwrap(); // closing twice is closing
    assert_eq!(
        store.open_lists(&pool).await.unwrap(),
        vec![lists[0].clone(), lists[2].clone(), lists[3].clone(), horizon]
    );
}

pub async fn closing_an_unknown_list_is_an_error<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    assert!(
        store.close_list(&ids.id("list")).await.is_err(),
        "closing a list that was never created is a bug, not a no-op"
    );
}

pub async fn allocations_are_counted_per_list<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (a, b) = (created_list(&*store, &ids).await, created_list(&*store, &ids).await);
    for expected in 1..=3 {
        assert_eq!(store.count_allocation(&a.list_id).await.unwrap(), expected);
    }
    assert_eq!(
        store.count_allocation(&b.list_id).await.unwrap(),
        1,
        "each list counts its own"
    );
    assert!(
        store.count_allocation(&ids.id("list")).await.is_err(),
        "an unknown list has no count"
    );
}

pub async fn a_horizon_only_rises<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let horizon = || async { store.open_lists(&l.pool).await.unwrap()[0].status_horizon };
    assert_eq!(horizon().await, None);
    store.extend_horizon(&l.list_id, 1_000).await.unwrap();
    assert_eq!(horizon().await, Some(1_000));
    store.extend_horizon(&l.list_id, 500).await.unwrap();
    assert_eq!(horizon().await, Some(1_000), "never lowered");
    store.extend_horizon(&l.list_id, 2_000).await.unwrap();
    assert_eq!(horizon().await, Some(2_000));
    store
        .extend_horizon(&ids.id("list"), 1_000)
        .await
        .expect("an unknown list: placing the entry reports it");
}

pub async fn clients_are_stored_listed_and_deleted<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let client = |id: String, name: &str| Client {
        client_id: id,
        jwks_uri: "https://issuer.example/.well-known/jwks.json".into(),
        format: "statuslist+jwt".into(),
        name: name.into(),
    };
    let (a, b) = (client(ids.id("client"), "A"), client(ids.id("client"), "B"));
    store.put_client(&b).await.unwrap();
    store.put_client(&a).await.unwrap();
    assert_eq!(store.client(&a.client_id).await.unwrap(), Some(a.clone()));
    let renamed = client(a.client_id.clone(), "A renamed");
    store.put_client(&renamed).await.unwrap();
    assert_eq!(
        store.client(&a.client_id).await.unwrap(),
        Some(renamed.clone()),
        "a put replaces"
    );
    let ours: Vec<_> = store
        .clients()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.client_id == a.client_id || c.client_id == b.client_id)
        .collect();
    assert_eq!(ours, vec![renamed, b.clone()], "in client id order");
    assert!(store.delete_client(&a.client_id).await.unwrap());
    assert!(
        !store.delete_client(&a.client_id).await.unwrap(),
        "nothing left to delete"
    );
    assert_eq!(store.client(&a.client_id).await.unwrap(), None);
    assert_eq!(store.client(&b.client_id).await.unwrap(), Some(b));
}

pub async fn a_claim_has_one_live_owner<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "hash-a", t).await, Claim::Acquired);
    assert_eq!(
        claim(&*store, &key, "b", "hash-b", t + 1).await,
        Claim::Existing(IdempotencyState::InProgress {
            claims_hash: "hash-a".into(),
            until: t + 30
        }),
        "the first owner's claim, with its hash and window"
    );
}

pub async fn the_owner_reacquires_its_own_claim<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "h", t).await, Claim::Acquired);
    // A retried write whose answer was lost: still ours, its window as first claimed.
    assert_eq!(claim(&*store, &key, "a", "h", t + 1).await, Claim::Acquired);
    assert_eq!(
        claim(&*store, &key, "b", "h", t + 2).await,
        Claim::Existing(IdempotencyState::InProgress {
            claims_hash: "h".into(),
            until: t + 30
        })
    );
    // Past its window the owner claims it anew, with a new window.
    assert_eq!(claim(&*store, &key, "a", "h", t + 40).await, Claim::Acquired);
    assert_eq!(
        claim(&*store, &key, "b", "h", t + 41).await,
        Claim::Existing(IdempotencyState::InProgress {
            claims_hash: "h".into(),
            until: t + 70
        }),
        "the renewed window holds"
    );
}

pub async fn an_abandoned_claim_is_taken_over<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "hash-a", t).await, Claim::Acquired);
    assert!(matches!(
        claim(&*store, &key, "b", "hash-b", t + 30).await,
        Claim::Existing(_)
    ));
    assert_eq!(
        claim(&*store, &key, "b", "hash-b", t + 31).await,
        Claim::Acquired,
        "a's window is over"
    );
    assert_eq!(
        claim(&*store, &key, "c", "hash-c", t + 32).await,
        Claim::Existing(IdempotencyState::InProgress {
            claims_hash: "hash-b".into(),
            until: t + 61
        })
    );
    let e = entry(&l.list_id, 0, "client");
    assert_eq!(
        store.place_entry(&e, &key, "a", "{}").await.unwrap(),
        Placement::ClaimLost,
        "the crashed owner cannot complete"
    );
}

pub async fn a_completed_claim_replays_its_response<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "hash-a", t).await, Claim::Acquired);
    let e = entry(&l.list_id, 3, "client");
    let response = r#"{"idx":3}"#;
    assert_eq!(
        store.place_entry(&e, &key, "a", response).await.unwrap(),
        Placement::Placed
    );
    let completed = Claim::Existing(IdempotencyState::Completed {
        claims_hash: "hash-a".into(),
        response: response.into(),
    });
    assert_eq!(claim(&*store, &key, "b", "hash-b", t + 1).await, completed);
    assert_eq!(
        claim(&*store, &key, "b", "hash-b", t + 100).await,
        completed,
        "completed, it outlives the in-progress window"
    );
    // The record names its owner: a claim by that owner is answered as its own, as DynamoDB's
    // failed condition returns the record (owners are unique per request, so only a retried
    // write of that request could ask).
    assert_eq!(claim(&*store, &key, "a", "hash-a", t + 2).await, Claim::Acquired);
    assert_eq!(
        claim(&*store, &key, "b", "hash-b", t + 3).await,
        completed,
        "and stays completed"
    );
}

pub async fn a_claim_past_its_retention_is_taken_over<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "hash-a", t).await, Claim::Acquired);
    let e = entry(&l.list_id, 0, "client");
    assert_eq!(store.place_entry(&e, &key, "a", "{}").await.unwrap(), Placement::Placed);
    assert!(matches!(
        claim(&*store, &key, "b", "hash-b", t + 3_600).await,
        Claim::Existing(IdempotencyState::Completed { .. })
    ));
    assert_eq!(
        claim(&*store, &key, "b", "hash-b", t + 3_601).await,
        Claim::Acquired,
        "past its retention, as if deleted"
    );
}

pub async fn a_claim_is_released_only_by_its_owner<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "h", t).await, Claim::Acquired);
    store.release_idempotency(&key, "b").await.unwrap();
    assert!(
        matches!(claim(&*store, &key, "b", "h", t + 1).await, Claim::Existing(_)),
        "not b's to release"
    );
    store.release_idempotency(&key, "a").await.unwrap();
    assert_eq!(
        claim(&*store, &key, "b", "h", t + 2).await,
        Claim::Acquired,
        "released by a"
    );
    store
        .release_idempotency(&ids.id("key"), "a")
        .await
        .expect("releasing nothing is fine");

    // A completed claim is not released: its response is what retries replay.
    let l = created_list(&*store, &ids).await;
    let e = entry(&l.list_id, 0, "client");
    assert_eq!(
        store.place_entry(&e, &key, "b", "done").await.unwrap(),
        Placement::Placed
    );
    store.release_idempotency(&key, "b").await.unwrap();
    assert_eq!(
        claim(&*store, &key, "c", "h", t + 3).await,
        Claim::Existing(IdempotencyState::Completed {
            claims_hash: "h".into(),
            response: "done".into()
        })
    );
}

pub async fn an_entry_is_placed_and_its_claim_completed_at_once<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "h", t).await, Claim::Acquired);
    let e = entry(&l.list_id, 7, "client");
    assert_eq!(store.entry(&l.list_id, 7).await.unwrap(), None);
    assert_eq!(
        store.place_entry(&e, &key, "a", "resp").await.unwrap(),
        Placement::Placed
    );
    assert_eq!(store.entry(&l.list_id, 7).await.unwrap(), Some(e), "as placed");
    assert_eq!(store.entry(&l.list_id, 8).await.unwrap(), None);
    assert_eq!(
        claim(&*store, &key, "b", "h", t + 1).await,
        Claim::Existing(IdempotencyState::Completed {
            claims_hash: "h".into(),
            response: "resp".into()
        })
    );
}

pub async fn a_taken_index_is_refused_and_the_claim_kept<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let first = placed_entry(&*store, &ids, &l.list_id, 5, "first").await;
    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "b", "h", t).await, Claim::Acquired);
    let second = entry(&l.list_id, 5, "second");
    assert_eq!(
        store.place_entry(&second, &key, "b", "resp").await.unwrap(),
        Placement::IndexTaken
    );
    assert_eq!(store.entry(&l.list_id, 5).await.unwrap(), Some(first), "untouched");
    assert_eq!(
        claim(&*store, &key, "c", "h", t + 1).await,
        Claim::Existing(IdempotencyState::InProgress {
            claims_hash: "h".into(),
            until: t + 30
        }),
        "the claim is not completed"
    );
    let elsewhere = entry(&l.list_id, 6, "second");
    assert_eq!(
        store.place_entry(&elsewhere, &key, "b", "resp").await.unwrap(),
        Placement::Placed,
        "the claim still serves another index"
    );
}

pub async fn a_lost_claim_writes_nothing<S: IssuerStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let e = entry(&l.list_id, 9, "client");
    assert_eq!(
        store.place_entry(&e, &ids.id("key"), "a", "resp").await.unwrap(),
        Placement::ClaimLost,
        "no claim at all"
    );
    assert_eq!(store.entry(&l.list_id, 9).await.unwrap(), None);

    let (key, t) = (ids.id("key"), now());
    assert_eq!(claim(&*store, &key, "a", "h", t).await, Claim::Acquired);
    assert_eq!(claim(&*store, &key, "b", "h", t + 31).await, Claim::Acquired);
    assert_eq!(
        store.place_entry(&e, &key, "a", "resp").await.unwrap(),
        Placement::ClaimLost
    );
    assert_eq!(store.entry(&l.list_id, 9).await.unwrap(), None, "nothing written");
    assert_eq!(
        claim(&*store, &key, "c", "h", t + 32).await,
        Claim::Existing(IdempotencyState::InProgress {
            claims_hash: "h".into(),
            until: t + 61
        }),
        "b's claim, not completed by a"
    );
    // Both conditions failing: the index is reported (the caller tries another).
    placed_entry(&*store, &ids, &l.list_id, 10, "other").await;
    let taken = entry(&l.list_id, 10, "client");
    assert_eq!(
        store.place_entry(&taken, &key, "a", "resp").await.unwrap(),
        Placement::IndexTaken
    );
}

pub async fn revocation_is_one_way_and_by_the_issuing_client<S: IssuerStore + ListSource + ?Sized>(
    store: Arc<S>,
    ids: Ids,
) {
    let l = created_list(&*store, &ids).await;
    placed_entry(&*store, &ids, &l.list_id, 4, "issuer").await;
    let t = now();
    assert_eq!(
        store.revoke(&l.list_id, 4, "someone-else", t).await.unwrap(),
        Revocation::WrongClient
    );
    assert_eq!(store.entry(&l.list_id, 4).await.unwrap().unwrap().revoked_at, None);
    assert_eq!(
        store.revoke(&l.list_id, 4, "issuer", t).await.unwrap(),
        Revocation::Revoked { revoked_at: t }
    );
    assert_eq!(
        store.revoke(&l.list_id, 4, "issuer", t + 5).await.unwrap(),
        Revocation::AlreadyRevoked { revoked_at: t },
        "the first revocation's time"
    );
    assert_eq!(
        store.revoke(&l.list_id, 4, "someone-else", t + 6).await.unwrap(),
        Revocation::WrongClient,
        "whose entry it is comes first"
    );
    assert_eq!(
        store.revoke(&l.list_id, 5, "issuer", t).await.unwrap(),
        Revocation::NotFound
    );
    assert_eq!(
        store.revoke(&ids.id("list"), 4, "issuer", t).await.unwrap(),
        Revocation::NotFound
    );
    let revoked = store.entry(&l.list_id, 4).await.unwrap().unwrap();
    assert_eq!((revoked.status, revoked.revoked_at), (1, Some(t)));
    assert_eq!(
        store.non_valid_entries(&l.list_id).await.unwrap(),
        vec![(4, 1)],
        "left for the publisher"
    );
}

pub async fn invalid_is_final<S: IssuerStore + ListSource + ?Sized>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    placed_entry(&*store, &ids, &l.list_id, 2, "issuer").await;
    let t = now();
    let set = |status: u8| store.set_status(&l.list_id, 2, status, t);
    assert_eq!(set(2).await.unwrap(), StatusUpdate::Set);
    assert_eq!(store.entry(&l.list_id, 2).await.unwrap().unwrap().status, 2);
    assert_eq!(store.non_valid_entries(&l.list_id).await.unwrap(), vec![(2, 2)]);
    assert_eq!(set(2).await.unwrap(), StatusUpdate::Set, "the same status again");
    assert_eq!(set(0).await.unwrap(), StatusUpdate::Set);
    assert_eq!(
        store.non_valid_entries(&l.list_id).await.unwrap(),
        vec![],
        "VALID again: nothing to render"
    );
    assert_eq!(set(1).await.unwrap(), StatusUpdate::Set);
    for status in [0, 2, 1] {
        assert_eq!(
            set(status).await.unwrap(),
            StatusUpdate::Final,
            "INVALID, then {status}"
        );
    }
    assert_eq!(store.entry(&l.list_id, 2).await.unwrap().unwrap().status, 1);
    assert_eq!(store.non_valid_entries(&l.list_id).await.unwrap(), vec![(2, 1)]);
    assert_eq!(
        store.set_status(&l.list_id, 3, 2, t).await.unwrap(),
        StatusUpdate::NotFound
    );
}

pub async fn concurrent_claims_of_one_key_acquire_once<S: IssuerStore + ?Sized + 'static>(store: Arc<S>, ids: Ids) {
    let (key, t) = (ids.id("key"), now());
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move {
                let (owner, hash) = (format!("owner-{i}"), format!("hash-{i}"));
                let claim = retrying(|| store.claim_idempotency(&key, &owner, &hash, t, t + 30, t + 3_600)).await;
                (hash, claim.expect("the claim is answered"))
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut seen = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (hash, Claim::Acquired) => winners.push(hash),
            (_, Claim::Existing(IdempotencyState::InProgress { claims_hash, until })) => {
                assert_eq!(until, t + 30);
                seen.push(claims_hash);
            }
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one owner: {winners:?}");
    assert!(
        seen.iter().all(|h| *h == winners[0]),
        "every loser sees the winner's claim"
    );
}

pub async fn concurrent_placements_at_one_index_place_once<S: IssuerStore + ?Sized + 'static>(store: Arc<S>, ids: Ids) {
    let l = created_list(&*store, &ids).await;
    let t = now();
    let mut claimed = Vec::new();
    for i in 0..RACERS {
        let (key, owner) = (ids.id("key"), format!("owner-{i}"));
        assert_eq!(claim(&*store, &key, &owner, "h", t).await, Claim::Acquired);
        claimed.push((key, owner));
    }
    let tasks: Vec<_> = claimed
        .into_iter()
        .map(|(key, owner)| {
            let (store, e) = (store.clone(), entry(&l.list_id, 42, &owner));
            tokio::spawn(async move {
                let placed = retrying(|| store.place_entry(&e, &key, &owner, "resp")).await;
                (owner, placed.expect("the placement is answered"))
            })
        })
        .collect();
    let mut placed = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (owner, Placement::Placed) => placed.push(owner),
            (_, Placement::IndexTaken) => {}
            (owner, other) => panic!("{owner}: unexpected {other:?}"),
        }
    }
    assert_eq!(placed.len(), 1, "exactly one entry at the index: {placed:?}");
    assert_eq!(
        store.entry(&l.list_id, 42).await.unwrap().map(|e| e.client_id),
        Some(placed[0].clone()),
        "the winner's"
    );
}
