//! [`ObjectStore`]: an object read back as written, writes compare-and-swap on its ETag (one
//! writer wins a race), and every version kept and listed newest first.

use std::sync::Arc;

use super::{Ids, RACERS, now};
use crate::ports::{ObjectStore, ObjectWrite, Precondition, PutOutcome};

/// Every case of this module, one test each, on the store `make().await` gives (an
/// `Arc<impl ObjectStore>`).
#[macro_export]
macro_rules! object_store_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            objects,
            $make,
            [
                an_object_reads_back_as_written,
                absent_admits_one_writer,
                a_stale_etag_is_a_conflict,
                an_etag_of_no_object_is_refused,
                concurrent_absent_writes_admit_one,
                versions_are_kept_newest_first,
            ]
        );
    };
}

fn write(seq: u64, iat: i64) -> ObjectWrite<'static> {
    ObjectWrite {
        content_type: "application/statuslist+jwt",
        cache_control: "public, max-age=300",
        seq,
        iat,
        exp: iat + 3_600,
    }
}

/// A key of this run (tokens live at `t/<listId>`; these beside them).
fn key(ids: &Ids) -> String {
    format!("contract/{}", ids.id("object"))
}

async fn put<S: ObjectStore + ?Sized>(store: &S, key: &str, body: &str, seq: u64, p: Precondition) -> PutOutcome {
    store
        .put(key, body.as_bytes().to_vec(), &write(seq, now()), p)
        .await
        .expect("the write is answered")
}

fn written(outcome: PutOutcome) -> Option<String> {
    match outcome {
        PutOutcome::Written { version_id } => version_id,
        PutOutcome::Conflict => panic!("a conflict where the write was expected to land"),
    }
}

pub async fn an_object_reads_back_as_written<S: ObjectStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let k = key(&ids);
    assert_eq!(store.head(&k).await.unwrap(), None);
    assert_eq!(store.get(&k).await.unwrap(), None);
    let t = now();
    let w = write(7, t);
    let outcome = store
        .put(&k, b"token one".to_vec(), &w, Precondition::None)
        .await
        .unwrap();
    let version = written(outcome).expect("the store keeps versions");
    let got = store.get(&k).await.unwrap().expect("in place");
    assert_eq!(got.body, b"token one");
    assert_eq!(got.content_type, w.content_type);
    assert_eq!(got.cache_control.as_deref(), Some(w.cache_control));
    assert_eq!((got.meta.seq, got.meta.iat, got.meta.exp), (7, t, t + 3_600));
    assert_eq!(got.meta.version_id.as_deref(), Some(version.as_str()));
    assert!(!got.meta.etag.is_empty());
    assert_eq!(
        store.head(&k).await.unwrap(),
        Some(got.meta.clone()),
        "HEAD says what GET does"
    );
    assert_eq!(
        store.get(&format!("{k}.cwt")).await.unwrap(),
        None,
        "a longer key is another object"
    );
}

pub async fn absent_admits_one_writer<S: ObjectStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let k = key(&ids);
    written(put(&*store, &k, "first", 1, Precondition::Absent).await);
    assert_eq!(
        put(&*store, &k, "second", 2, Precondition::Absent).await,
        PutOutcome::Conflict
    );
    let got = store.get(&k).await.unwrap().unwrap();
    assert_eq!(
        (got.body.as_slice(), got.meta.seq),
        (&b"first"[..], 1),
        "the first stays"
    );
    assert_eq!(
        store.versions(&k).await.unwrap().len(),
        1,
        "the refused write left no version"
    );
}

pub async fn a_stale_etag_is_a_conflict<S: ObjectStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let k = key(&ids);
    written(put(&*store, &k, "one", 1, Precondition::None).await);
    let first = store.head(&k).await.unwrap().unwrap().etag;
    written(put(&*store, &k, "two", 2, Precondition::Matches(first.clone())).await);
    let second = store.head(&k).await.unwrap().unwrap().etag;
    assert_ne!(first, second, "another body, another ETag");
    assert_eq!(
        put(&*store, &k, "stale", 3, Precondition::Matches(first)).await,
        PutOutcome::Conflict,
        "a render that read the first object does not replace the second"
    );
    assert_eq!(store.get(&k).await.unwrap().unwrap().body, b"two");
    written(put(&*store, &k, "three", 3, Precondition::Matches(second)).await);
    assert_eq!(store.get(&k).await.unwrap().unwrap().body, b"three");
    written(put(&*store, &k, "four", 4, Precondition::None).await);
    assert_eq!(
        store.get(&k).await.unwrap().unwrap().meta.seq,
        4,
        "unconditional: the single writer"
    );
}

pub async fn an_etag_of_no_object_is_refused<S: ObjectStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (k, other) = (key(&ids), key(&ids));
    written(put(&*store, &other, "elsewhere", 1, Precondition::None).await);
    let etag = store.head(&other).await.unwrap().unwrap().etag;
    // S3 answers `If-Match` on a key with no object 404 NoSuchKey, not 412 (objects are never
    // deleted here: a caller holding an ETag of a key that has none is a bug).
    assert!(
        store
            .put(&k, b"one".to_vec(), &write(1, now()), Precondition::Matches(etag))
            .await
            .is_err(),
        "there is no object to match"
    );
    assert_eq!(store.head(&k).await.unwrap(), None, "nothing written");
}

pub async fn concurrent_absent_writes_admit_one<S: ObjectStore + ?Sized + 'static>(store: Arc<S>, ids: Ids) {
    let k = key(&ids);
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, k) = (store.clone(), k.clone());
            tokio::spawn(async move {
                let body = format!("writer {i}");
                (
                    body.clone(),
                    put(&*store, &k, &body, i as u64, Precondition::Absent).await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let (body, PutOutcome::Written { .. }) = task.await.unwrap() {
            winners.push(body);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one first write: {winners:?}");
    assert_eq!(store.get(&k).await.unwrap().unwrap().body, winners[0].as_bytes());
}

pub async fn versions_are_kept_newest_first<S: ObjectStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let k = key(&ids);
    let t = now();
    let mut written_ids = Vec::new();
    for seq in 1..=3 {
        let body = format!("version {seq}");
        let outcome = store
            .put(
                &k,
                body.into_bytes(),
                &write(seq, t + seq as i64 - 3),
                Precondition::None,
            )
            .await
            .unwrap();
        written_ids.push(written(outcome).expect("the store keeps versions"));
    }
    // Another object whose key extends this one: not a version of it.
    written(put(&*store, &format!("{k}.cwt"), "cwt", 1, Precondition::None).await);
    let versions = store.versions(&k).await.unwrap();
    let listed: Vec<_> = versions.iter().map(|v| v.version_id.clone()).collect();
    written_ids.reverse();
    assert_eq!(listed, written_ids, "newest first, each once");
    let after = now();
    for v in &versions {
        assert!(
            (t - 5..=after + 5).contains(&v.written_at),
            "written at {} (between {} and {after})",
            v.written_at,
            t - 5
        );
    }
    let oldest = &written_ids[2];
    let meta = store.head_version(&k, oldest).await.unwrap().expect("kept");
    assert_eq!((meta.seq, meta.version_id.as_deref()), (1, Some(oldest.as_str())));
    let middle = store.get_version(&k, &written_ids[1]).await.unwrap().expect("kept");
    assert_eq!((middle.body.as_slice(), middle.meta.seq), (&b"version 2"[..], 2));
    assert_eq!(
        store.get(&k).await.unwrap().unwrap().body,
        b"version 3",
        "the newest in place"
    );
    assert_eq!(store.head_version(&k, "no-such-version").await.unwrap(), None);
    assert_eq!(store.get_version(&k, "no-such-version").await.unwrap(), None);
    assert_eq!(
        store.versions(&key(&ids)).await.unwrap(),
        vec![],
        "no object, no versions"
    );
}
