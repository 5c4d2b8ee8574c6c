//! Publishing through the HTTP entry point against LocalStack (DynamoDB and its stream, SQS FIFO,
//! KMS, S3): revocations reach the signed JWT and CWT at `GET /t/{id}` through the pipeline,
//! bursts coalesce, a stale render never replaces a newer token, `?time=` resolves from S3
//! versions, the distribution document, and the endpoint's 400/404/406/410 answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use integration_tests::*;
use serde_json::json;
use shared::domain::keys::KeySet;
use shared::domain::token::{self, TokenFormat};
use shared::ports::ObjectWrite;
use shared::publisher::{WriteOutcome, object_key};
use shared::{Expectations, Status};

async fn our_keys(h: &Harness) -> KeySet {
    let (status, _, body) = h.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, StatusCode::OK);
    KeySet::from_jwks(&serde_json::from_slice(&body).unwrap())
}

/// Fetches and verifies the token for `uri` in `format`; returns the statuses at `indices`.
async fn statuses(h: &Harness, uri: &str, format: TokenFormat, indices: &[u64]) -> Vec<Status> {
    statuses_and_token(h, uri, format, indices).await.0
}

async fn statuses_and_token(
    h: &Harness,
    uri: &str,
    format: TokenFormat,
    indices: &[u64],
) -> (Vec<Status>, shared::VerifiedToken, Vec<u8>) {
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap();
    let (status, headers, body) = h.get(path, Some(format.media_type())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], format.media_type());
    let max_age: i64 = headers["cache-control"]
        .to_str()
        .unwrap()
        .trim_start_matches("public, max-age=")
        .parse()
        .unwrap();
    let verified = token::verify(&body, &our_keys(h).await, &Expectations::new(Some(uri), now())).unwrap();
    assert_eq!(verified.format, format);
    assert_eq!(
        verified.kid.as_deref(),
        Some(h.app.signer.identity().await.unwrap().kid.as_str())
    );
    assert!(
        max_age <= verified.token.ttl.unwrap() as i64,
        "Cache-Control no longer than the ttl"
    );
    assert_eq!(verified.token.list.bits().get(), 2);
    assert_eq!(
        verified.token.aggregation_uri.as_deref(),
        Some(format!("{}/status-lists", cdn_url()).as_str())
    );
    let got = indices.iter().map(|i| verified.token.list.get(*i).unwrap()).collect();
    (got, verified, body)
}

/// Waits until the list at `uri` has its first token in both formats: a new list is published by
/// the pipeline (a job queued when the list was created), shortly after the request that made it.
async fn first_token(h: &Harness, uri: &str) {
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap().to_string();
    for format in [TokenFormat::Jwt, TokenFormat::Cwt] {
        eventually(PUBLISH_WAIT, &format!("{uri}: a first {format:?} token"), || async {
            (h.get(&path, Some(format.media_type())).await.0 != StatusCode::NOT_FOUND).then_some(())
        })
        .await;
    }
}

/// Waits until both published tokens of `uri` show `expected` at `indices`.
async fn published(h: &Harness, uri: &str, indices: &[u64], expected: &[Status]) {
    first_token(h, uri).await;
    for format in [TokenFormat::Jwt, TokenFormat::Cwt] {
        eventually(
            PUBLISH_WAIT,
            &format!("{uri} {format:?} shows {expected:?}"),
            || async { (statuses(h, uri, format, indices).await == expected).then_some(()) },
        )
        .await;
    }
}

/// Runs `statuslist check URI IDX --jwks <our JWKS URL>`: (exit code, stdout).
async fn statuslist_check(uri: &str, idx: u64) -> (i32, String) {
    let cli = statuslist_cli();
    let jwks = format!("{}/.well-known/jwks.json", base_url());
    let args = [
        "check".to_string(),
        uri.to_string(),
        idx.to_string(),
        "--jwks".into(),
        jwks,
    ];
    let out = tokio::task::spawn_blocking(move || std::process::Command::new(&cli).args(args).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

/// A harness allocating from lists of its own (nobody else's changes publish them).
async fn own_pool() -> Harness {
    let mut config = config();
    config.list_pool = format!("own-{}", jti());
    Harness::with_config(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocations_reach_both_published_tokens() {
    ensure_pipeline();
    let h = Arc::new(own_pool().await); // its lists hold only these credentials
    let mut issued = Vec::new();
    for _ in 0..12 {
        issued.push(h.issue_one().await);
    }
    // Revoke every other one, concurrently (several land in the same list at once).
    let revoked: Vec<(u64, String)> = issued.iter().step_by(2).cloned().collect();
    let calls: Vec<_> = revoked
        .iter()
        .cloned()
        .map(|(idx, uri)| {
            let h = h.clone();
            tokio::spawn(async move { h.revoke_one(idx, &uri).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    let revoked_set: HashSet<_> = revoked.iter().cloned().collect();
    let mut by_list: HashMap<String, Vec<u64>> = HashMap::new();
    for (idx, uri) in &issued {
        by_list.entry(uri.clone()).or_default().push(*idx);
    }
    let mut fixtures = Vec::new();
    for (uri, indices) in &by_list {
        let expected: Vec<Status> = indices
            .iter()
            .map(|idx| match revoked_set.contains(&(*idx, uri.clone())) {
                true => Status::INVALID,
                false => Status::VALID,
            })
            .collect();
        published(&h, uri, indices, &expected).await;
        // Our own relying-party tool, over HTTP, gives the same answers.
        for (idx, status) in indices.iter().zip(&expected) {
            let (code, out) = statuslist_check(uri, *idx).await;
            assert_eq!(out.trim(), status.to_string(), "statuslist check {uri} {idx}");
            assert_eq!(code, if *status == Status::VALID { 0 } else { 1 });
        }
        statuses_and_token(&h, uri, TokenFormat::Jwt, indices).await;
        statuses_and_token(&h, uri, TokenFormat::Cwt, indices).await;
        // The independent verifiers get the tokens as relying parties do: from the CDN.
        let from_cdn = |url: String| async move {
            let got = reqwest::get(&url).await.unwrap();
            assert_eq!(got.status(), 200, "{url}");
            got.bytes().await.unwrap().to_vec()
        };
        let jwt = from_cdn(uri.clone()).await;
        let cwt = from_cdn(format!("{uri}.cwt")).await;
        let expect: HashMap<String, u8> = indices
            .iter()
            .zip(&expected)
            .map(|(i, s)| (i.to_string(), s.value()))
            .collect();
        fixtures.push(json!({
            "uri": uri,
            "jwt": String::from_utf8(jwt).unwrap(),
            "cwt_hex": hex::encode(cwt),
            "statuses": expect,
        }));
    }
    // For the independent verifiers (tests/interop/test_published.py), when asked.
    if let Ok(dir) = std::env::var("PUBLISHED_TOKENS_DIR") {
        let (_, _, jwks) = h.get("/.well-known/jwks.json", None).await;
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/jwks.json"), jwks).unwrap();
        std::fs::write(
            format!("{dir}/tokens.json"),
            serde_json::to_vec_pretty(&fixtures).unwrap(),
        )
        .unwrap();
    }
}

/// Suspension (two-bit lists allow it) and reinstatement through the store's status change, as
/// the mDoc API uses it, reach both tokens; INVALID is final.
#[tokio::test]
async fn suspensions_and_reinstatements_reach_the_tokens() {
    use shared::ports::{IssuerStore, StatusUpdate};
    ensure_pipeline();
    let h = own_pool().await;
    let mut by_list: HashMap<String, Vec<u64>> = HashMap::new();
    while by_list.values().all(|v| v.len() < 4) {
        let (idx, uri) = h.issue_one().await;
        by_list.entry(uri).or_default().push(idx);
    }
    let (uri, indices) = by_list.into_iter().find(|(_, v)| v.len() >= 4).unwrap();
    let list = list_id_of(&uri);
    let [revoked, suspended, reinstated, untouched] = [indices[0], indices[1], indices[2], indices[3]];
    h.revoke_one(revoked, &uri).await;
    let set = |idx: u64, status: u8| {
        let (store, list) = (h.store.clone(), list.clone());
        async move { store.set_status(&list, idx, status, now()).await.unwrap() }
    };
    assert_eq!(set(suspended, 2).await, StatusUpdate::Set);
    assert_eq!(set(reinstated, 2).await, StatusUpdate::Set);
    assert_eq!(set(reinstated, 0).await, StatusUpdate::Set);
    published(
        &h,
        &uri,
        &[revoked, suspended, reinstated, untouched],
        &[Status::INVALID, Status::SUSPENDED, Status::VALID, Status::VALID],
    )
    .await;
    // INVALID is final; an index never allocated is not found.
    assert_eq!(set(revoked, 0).await, StatusUpdate::Final);
    assert_eq!(set(suspended, 1).await, StatusUpdate::Set);
    assert_eq!(set(suspended, 0).await, StatusUpdate::Final);
    let unallocated = (0..100_000).find(|i| !indices.contains(i)).unwrap();
    let taken = h.store.entry(&list, unallocated).await.unwrap().is_some();
    if !taken {
        assert_eq!(set(unallocated, 2).await, StatusUpdate::NotFound);
    }
    published(&h, &uri, &[suspended], &[Status::INVALID]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_changes_to_one_list_makes_few_publishes() {
    ensure_pipeline();
    let h = Arc::new(own_pool().await);
    let mut by_list: HashMap<String, Vec<u64>> = HashMap::new();
    for _ in 0..80 {
        let (idx, uri) = h.issue_one().await;
        by_list.entry(uri).or_default().push(idx);
    }
    let (uri, indices) = by_list.into_iter().max_by_key(|(_, v)| v.len()).unwrap();
    first_token(&h, &uri).await; // so the new list's own publish is not counted below
    let key = object_key(&list_id_of(&uri), TokenFormat::Jwt);
    let before = h.app.publisher.objects.versions(&key).await.unwrap().len();
    let calls: Vec<_> = indices
        .iter()
        .map(|idx| {
            let (h, uri, idx) = (h.clone(), uri.clone(), *idx);
            tokio::spawn(async move { h.revoke_one(idx, &uri).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
    published(&h, &uri, &indices, &vec![Status::INVALID; indices.len()]).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await; // anything still queued lands
    let publishes = h.app.publisher.objects.versions(&key).await.unwrap().len() - before;
    println!("{} revocations in one list: {publishes} publishes", indices.len());
    assert!(
        indices.len() >= 15,
        "the draw put {} in the fullest list",
        indices.len()
    );
    assert!(
        publishes * 3 <= indices.len(),
        "{publishes} publishes for {} changes",
        indices.len()
    );
}

#[tokio::test]
async fn a_stale_render_never_replaces_a_newer_token() {
    ensure_pipeline();
    let h = Harness::new().await;
    let (idx, uri) = h.issue_one().await;
    h.revoke_one(idx, &uri).await;
    published(&h, &uri, &[idx], &[Status::INVALID]).await;
    let key = object_key(&list_id_of(&uri), TokenFormat::Jwt);
    // The new list's first job (sequence 0) may have rendered the revocation already; the token
    // this test needs is the revocation's own job's (sequence 1), which follows it.
    let before = eventually(PUBLISH_WAIT, "the revocation's sequence published", || async {
        let object = h.app.publisher.objects.get(&key).await.unwrap().unwrap();
        (object.meta.seq >= 1).then_some(object)
    })
    .await;
    // A render that read an older sequence arrives late: refused, the object is unchanged.
    let stale = ObjectWrite {
        content_type: TokenFormat::Jwt.media_type(),
        cache_control: "public, max-age=1",
        seq: before.meta.seq - 1,
        iat: now(),
        exp: i64::MAX,
    };
    let outcome = h
        .app
        .publisher
        .write_if_newer(&key, b"stale".to_vec(), &stale)
        .await
        .unwrap();
    assert_eq!(outcome, WriteOutcome::Superseded);
    let after = h.app.publisher.objects.get(&key).await.unwrap().unwrap();
    assert_eq!(after.body, before.body);
    // The same sequence signed at the same time is not written again either, whatever its exp.
    let same = ObjectWrite {
        seq: before.meta.seq,
        iat: before.meta.iat,
        ..stale
    };
    let outcome = h
        .app
        .publisher
        .write_if_newer(&key, before.body.clone(), &same)
        .await
        .unwrap();
    assert_eq!(outcome, WriteOutcome::Superseded);
    assert_eq!(
        statuses(&h, &uri, TokenFormat::Jwt, &[idx]).await,
        vec![Status::INVALID]
    );
}

/// Replaced tokens (the bucket's noncurrent versions, which `?time=` reads) are kept for the
/// template's `HistoryRetentionDays`, not forever: the deployed bucket carries the rule.
#[tokio::test]
async fn replaced_tokens_are_kept_for_the_retention_then_expire() {
    let s3 = aws_sdk_s3::Client::new(&localstack().await);
    let rules = s3
        .get_bucket_lifecycle_configuration()
        .bucket(stack_env("TOKENS_BUCKET"))
        .send()
        .await
        .expect("the tokens bucket has a lifecycle configuration")
        .rules
        .unwrap_or_default();
    let rule = rules
        .iter()
        .find(|r| r.id.as_deref() == Some("token-history-retention"))
        .expect("the history retention rule");
    assert_eq!(rule.status, aws_sdk_s3::types::ExpirationStatus::Enabled);
    assert_eq!(
        rule.noncurrent_version_expiration
            .as_ref()
            .and_then(|e| e.noncurrent_days),
        Some(90),
        "the template's default HistoryRetentionDays"
    );
    // Current tokens never expire by age: the rule touches replaced versions only.
    assert!(rule.expiration.is_none(), "{rule:?}");
}

#[tokio::test]
async fn historical_tokens_by_time() {
    ensure_pipeline();
    let h = own_pool().await;
    let (idx, uri) = h.issue_one().await; // the list is created and its empty token queued
    first_token(&h, &uri).await;
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap().to_string();
    let (_, first, first_body) = statuses_and_token(&h, &uri, TokenFormat::Jwt, &[idx]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // a later iat
    h.revoke_one(idx, &uri).await;
    published(&h, &uri, &[idx], &[Status::INVALID]).await;
    let (_, second, _) = statuses_and_token(&h, &uri, TokenFormat::Jwt, &[idx]).await;
    let (iat1, iat2) = (first.token.iat, second.token.iat);
    assert!(iat2 > iat1);
    let at = |time: String, accept: Option<&'static str>| {
        let p = format!("{path}?time={time}");
        let h = &h;
        async move { h.get(&p, accept).await }
    };
    // At the first token's iat: the first token, byte for byte, VALID at idx.
    let (status, headers, body) = at(iat1.to_string(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    assert_eq!(body, first_body);
    // Between the two: still the first; from the second's iat: the second, INVALID at idx.
    assert_eq!(at((iat2 - 1).to_string(), None).await.2, first_body);
    let keys = our_keys(&h).await;
    for format in [TokenFormat::Jwt, TokenFormat::Cwt] {
        let (status, _, body) = at(iat2.to_string(), Some(format.media_type())).await;
        assert_eq!(status, StatusCode::OK);
        let v = token::verify(&body, &keys, &Expectations::new(Some(&uri), iat2)).unwrap();
        assert_eq!(v.format, format);
        assert_eq!(v.token.iat, iat2);
        assert_eq!(v.token.list.get(idx).unwrap(), Status::INVALID);
    }
    // Before the list existed, or after every token's exp: none was valid.
    assert_eq!(at((iat1 - 60).to_string(), None).await.0, StatusCode::NOT_FOUND);
    let exp2 = second.token.exp.unwrap();
    // What answered: the index entry issued by then, which names that version of the object.
    let key = object_key(&list_id_of(&uri), TokenFormat::Jwt);
    let indexed = h.app.publisher.history.issued_by(&key, iat2).await.unwrap().unwrap();
    assert_eq!((indexed.iat, indexed.exp), (iat2, exp2));
    let versions = h.app.publisher.objects.versions(&key).await.unwrap();
    assert!(versions.iter().any(|v| v.version_id == indexed.version_id));
    assert_eq!(h.app.publisher.history.issued_by(&key, iat1 - 60).await.unwrap(), None);
    assert_eq!(at((exp2 + 60).to_string(), None).await.0, StatusCode::NOT_FOUND);
    for bad in ["abc", "-1", "1.5", ""] {
        let (status, _, body) = at(bad.to_string(), None).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "time={bad}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(h.get("/t/ZZZZZZZZZZZZ?time=1", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_distribution_document_lists_published_lists() {
    ensure_pipeline();
    let h = Harness::new().await;
    let (_, uri) = h.issue_one().await;
    // Named once the pipeline has published the new list's first token.
    let (headers, body) = eventually(PUBLISH_WAIT, "the new list in the distribution document", || async {
        let (status, headers, body) = h.get("/status-lists", None).await;
        assert_eq!(status, StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        doc["status_lists"]
            .as_array()
            .unwrap()
            .contains(&json!(uri))
            .then_some((headers, body))
    })
    .await;
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public, max-age=")
    );
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let lists: Vec<String> = serde_json::from_value(doc["status_lists"].clone()).unwrap();
    assert!(lists.contains(&uri), "{uri} in {lists:?}");
    assert_eq!(doc.as_object().unwrap().len(), 1);
    // The same document, as the CDN serves it from the bucket.
    h.app.publisher.publish_aggregation(now()).await.unwrap();
    let object = h.app.publisher.objects.get("status-lists").await.unwrap().unwrap();
    assert_eq!(object.content_type, "application/json");
    let stored: serde_json::Value = serde_json::from_slice(&object.body).unwrap();
    assert!(stored["status_lists"].as_array().unwrap().contains(&json!(uri)));
}

#[tokio::test]
async fn unknown_list_bad_accept_and_malformed_ids() {
    ensure_pipeline();
    let h = Harness::new().await;
    let (_, uri) = h.issue_one().await;
    first_token(&h, &uri).await;
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap();
    let (status, _, body) = h.get("/t/ZZZZZZZZZZZZ", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        json!({"error": "NOT_FOUND", "error_description": "Status List not found for endpoint uri"})
    );
    assert_eq!(h.get("/t/not-a-list", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        h.get(&format!("{path}?time=soon"), None).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _, body) = h.get(&format!("{path}?time=1&time=2"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["error_description"],
        "time must be given at most once"
    );
    assert_eq!(h.get(path, Some("text/html")).await.0, StatusCode::NOT_ACCEPTABLE);
    let (status, headers, _) = h.get(path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"], "application/statuslist+jwt",
        "JWT when there is no Accept"
    );
    let (_, headers, _) = h.get(path, Some("*/*")).await;
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
}

/// Expiry and re-signing run in one test: a re-signing pass covers every list, and would
/// otherwise refresh the token the expiry check waits to see expire.
#[tokio::test]
async fn expiry_then_re_signing() {
    ensure_pipeline(); // it publishes the new lists' first tokens
    an_expired_token_is_410().await;
    tokens_near_expiry_are_re_signed_without_changes().await;
}

async fn an_expired_token_is_410() {
    let mut config = config();
    config.token_ttl = 1;
    config.token_validity = 1;
    config.list_pool = format!("expiry-test-{}", jti()); // its own lists: nobody else republishes them
    let h = Harness::with_config(config).await;
    let (_, uri) = h.issue_one().await; // creates lists whose tokens live one second
    first_token(&h, &uri).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap();
    let (status, _, body) = h.get(path, None).await;
    assert_eq!(status, StatusCode::GONE, "{}", String::from_utf8_lossy(&body));
}

async fn tokens_near_expiry_are_re_signed_without_changes() {
    let mut config = config();
    config.token_ttl = 4;
    config.token_validity = 10; // a pass over every list of the stack takes seconds
    // Passes every second, on time: re-signed within max-age 4 + 1 s of expiry.
    config.freshness = shared::domain::lifetime::Freshness { interval: 1, slack: 0 };
    config.list_pool = format!("resign-test-{}", jti());
    let h = Harness::with_config(config).await;
    // The pass queues its jobs on the stack's re-signing queue; the topology's publisher signs
    // them. A rate that puts every due list of the stack in this pass's one-second window.
    let queue = shared::adapters::sqs_queue::SqsQueue::new(&localstack().await, stack_env("RESIGN_QUEUE_URL"));
    let pass = |at: i64| {
        let (h, queue) = (&h, &queue);
        async move { h.app.publisher.resign_due(at, queue, 100_000).await.unwrap() }
    };
    let (_, uri) = h.issue_one().await; // creating the pool's lists queued their first publish
    let list_id = list_id_of(&uri);
    let key = object_key(&list_id, TokenFormat::Jwt);
    // Out, and recorded on the list (what the re-signer reads).
    let first = eventually(PUBLISH_WAIT, "the new list's first token", || async {
        let lists = h.app.publisher.lists.published_lists().await.unwrap();
        lists
            .iter()
            .any(|l| l.list_id == list_id && l.published_exp > 0)
            .then_some(())?;
        h.app.publisher.objects.head(&key).await.unwrap()
    })
    .await;
    // Fresh: nothing to do for this list.
    let report = pass(now()).await;
    assert!(report.checked >= 4);
    assert_eq!(report.failed, 0);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        h.app.publisher.objects.head(&key).await.unwrap().unwrap().exp,
        first.exp
    );
    // Within its margin of expiry: queued, then re-signed by the publisher, same content
    // sequence, later exp.
    tokio::time::sleep(std::time::Duration::from_millis(6500)).await;
    let report = pass(now()).await;
    assert!(report.enqueued >= 1, "{report:?}");
    let second = eventually(PUBLISH_WAIT, "the re-signed token", || async {
        let head = h.app.publisher.objects.head(&key).await.unwrap()?;
        (head.exp > first.exp).then_some(head)
    })
    .await;
    assert_eq!(second.seq, first.seq);
    assert!(second.exp > first.exp, "{second:?} vs {first:?}");
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap();
    assert_eq!(h.get(path, None).await.0, StatusCode::OK);
}

/// The deployed path of re-signing: the scheduled re-signer function (every 20 s here) queues a
/// job per due list on the re-signing queue, and the publisher function signs each as it is
/// delivered. Lists created straight in the table (their first publish job lost) are due at
/// once. A list the publisher cannot render fails its job (handed back to the queue) and holds
/// up no other; a closed list past its status horizon is retired and never signed; a job of a
/// list removed since is dropped.
#[tokio::test]
async fn the_scheduled_re_signer_queues_jobs_that_the_publisher_signs() {
    use shared::domain::list::ListRecord;
    use shared::ports::IssuerStore;
    ensure_pipeline();
    let h = Harness::in_process().await;
    let pool = format!("resign-jobs-{}", jti());
    let day = shared::domain::resign::HORIZON_STEP;
    let list = |bits: u8, open: bool, status_horizon: Option<i64>| ListRecord {
        list_id: shared::issuer::allocator::new_list_id(),
        pool: pool.clone(),
        bits,
        size: 1024,
        open,
        created_at: now(),
        lifetime: Some(shared::domain::lifetime::Lifetime {
            ttl: 600,
            validity: 3600,
        }),
        owner: None,
        published_iaca_id: None,
        status_horizon,
    };
    let good = list(2, true, None);
    let closed_live = list(2, false, Some(now() + 30 * day));
    let unrenderable = list(3, false, None); // 3 bits per entry: not a Status List
    let retired = list(2, false, Some(now() - 2 * day - 60));
    for l in [&good, &closed_live, &unrenderable, &retired] {
        assert!(h.store.create_list(l).await.unwrap());
    }
    for l in [&good, &closed_live] {
        let key = object_key(&l.list_id, TokenFormat::Cwt);
        let head = eventually(
            std::time::Duration::from_secs(90),
            "a re-signing pass's job signed",
            || async { h.app.publisher.objects.head(&key).await.unwrap() },
        )
        .await;
        assert_eq!((head.seq, head.exp - head.iat), (0, 3600));
        // Recorded on the list (just after the write), as the next pass reads it: no longer due.
        eventually(
            std::time::Duration::from_secs(10),
            "the token recorded on the list",
            || async {
                let summaries = h.app.publisher.lists.published_lists().await.unwrap();
                summaries
                    .iter()
                    .any(|s| s.list_id == l.list_id && s.published_exp == head.exp)
                    .then_some(())
            },
        )
        .await;
    }
    // A pass later, the failing and the retired lists still have no token.
    tokio::time::sleep(std::time::Duration::from_secs(25)).await;
    for l in [&unrenderable, &retired] {
        let key = object_key(&l.list_id, TokenFormat::Cwt);
        assert_eq!(h.app.publisher.objects.head(&key).await.unwrap(), None, "{l:?}");
    }
    // Remove the unrenderable list (a job already queued for it is dropped when delivered).
    let sdk = localstack().await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_item()
        .table_name(stack_env("LISTS_TABLE"))
        .key(
            "listId",
            aws_sdk_dynamodb::types::AttributeValue::S(unrenderable.list_id.clone()),
        )
        .send()
        .await
        .unwrap();
}
