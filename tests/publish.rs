//! Publishing through the HTTP entry point against LocalStack (DynamoDB, KMS, S3): revocations
//! reach the signed JWT and CWT at `GET /t/{id}`, a stale render never replaces a newer token,
//! and the endpoint's 404/406/410 answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use integration_tests::*;
use serde_json::json;
use shared::domain::keys::KeySet;
use shared::domain::token::{self, TokenFormat};
use shared::publisher::{WriteOutcome, object_key};
use shared::{Expectations, Status};

async fn our_keys(h: &Harness) -> KeySet {
    let (status, _, body) = h.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, StatusCode::OK);
    KeySet::from_jwks(&serde_json::from_slice(&body).unwrap())
}

async fn issue(h: &Harness) -> (u64, String) {
    let got = h.post_jwt("/issue", h.issue_token()).await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
    (
        got.1["idx"].as_u64().unwrap(),
        got.1["uri"].as_str().unwrap().to_string(),
    )
}

async fn revoke(h: &Harness, idx: u64, uri: &str) {
    let claims = json!({"iss": h.client_id, "iat": now(), "jti": jti(), "idx": idx, "uri": uri});
    let got = h.post_jwt("/revoke", h.issuer.sign(&h.issuer.header(), &claims)).await;
    assert_eq!(got.0, StatusCode::ACCEPTED, "{:?}", got.1);
}

/// Fetches and verifies the token for `uri` in `format`; returns the statuses at `indices`.
async fn statuses(h: &Harness, uri: &str, format: TokenFormat, indices: &[u64]) -> Vec<Status> {
    let path = uri.strip_prefix(BASE_URL).unwrap();
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
    assert_eq!(verified.kid.as_deref(), Some(h.app.signer.kid()));
    assert!(
        max_age <= verified.token.ttl.unwrap() as i64,
        "Cache-Control no longer than the ttl"
    );
    assert_eq!(verified.token.list.bits().get(), 2);
    indices.iter().map(|i| verified.token.list.get(*i).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocations_reach_both_published_tokens() {
    let h = Arc::new(Harness::new().await);
    let mut issued = Vec::new();
    for _ in 0..12 {
        issued.push(issue(&h).await);
    }
    // Revoke every other one, concurrently (several land in the same list at once).
    let revoked: Vec<(u64, String)> = issued.iter().step_by(2).cloned().collect();
    let calls: Vec<_> = revoked
        .iter()
        .cloned()
        .map(|(idx, uri)| {
            let h = h.clone();
            tokio::spawn(async move { revoke(&h, idx, &uri).await })
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
    for (uri, indices) in &by_list {
        for format in [TokenFormat::Jwt, TokenFormat::Cwt] {
            let got = statuses(&h, uri, format, indices).await;
            for (idx, status) in indices.iter().zip(got) {
                let expected = if revoked_set.contains(&(*idx, uri.clone())) {
                    Status::INVALID
                } else {
                    Status::VALID
                };
                assert_eq!(status, expected, "{uri} idx {idx} ({format:?})");
            }
        }
    }
}

#[tokio::test]
async fn a_stale_render_never_replaces_a_newer_token() {
    let h = Harness::new().await;
    let (idx, uri) = issue(&h).await;
    let list_id = uri.rsplit('/').next().unwrap().to_string();
    revoke(&h, idx, &uri).await; // bumps the sequence and publishes
    let key = object_key(&list_id, TokenFormat::Jwt);
    let before = h.app.publisher.objects.get(&key).await.unwrap().unwrap();
    assert!(before.meta.seq >= 1);
    // A render that read an older sequence arrives late: refused, the object is unchanged.
    let outcome = h
        .app
        .publisher
        .write_if_newer(
            &key,
            b"stale".to_vec(),
            TokenFormat::Jwt,
            "public, max-age=1",
            before.meta.seq - 1,
            i64::MAX,
        )
        .await
        .unwrap();
    assert_eq!(outcome, WriteOutcome::Superseded);
    let after = h.app.publisher.objects.get(&key).await.unwrap().unwrap();
    assert_eq!(after.body, before.body);
    // The same sequence re-signed later (a re-sign) does replace it; an equal one does not.
    let same = h
        .app
        .publisher
        .write_if_newer(
            &key,
            before.body.clone(),
            TokenFormat::Jwt,
            "public, max-age=1",
            before.meta.seq,
            before.meta.exp,
        )
        .await
        .unwrap();
    assert_eq!(same, WriteOutcome::Superseded);
    assert_eq!(
        statuses(&h, &uri, TokenFormat::Jwt, &[idx]).await,
        vec![Status::INVALID]
    );
}

#[tokio::test]
async fn unknown_list_bad_accept_and_malformed_ids() {
    let h = Harness::new().await;
    let (_, uri) = issue(&h).await;
    let path = uri.strip_prefix(BASE_URL).unwrap();
    let (status, _, body) = h.get("/t/ZZZZZZZZZZZZ", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        json!({"error": "NOT_FOUND", "error_description": "Status List not found for endpoint uri"})
    );
    assert_eq!(h.get("/t/not-a-list", None).await.0, StatusCode::NOT_FOUND);
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
    an_expired_token_is_410().await;
    tokens_near_expiry_are_re_signed_without_changes().await;
}

async fn an_expired_token_is_410() {
    let mut config = config();
    config.token_ttl = 1;
    config.token_validity = 1;
    config.list_pool = format!("expiry-test-{}", jti()); // its own lists: nobody else republishes them
    let h = Harness::with_config(config).await;
    let (idx, uri) = issue(&h).await;
    revoke(&h, idx, &uri).await; // publishes a token valid for one second
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let path = uri.strip_prefix(BASE_URL).unwrap();
    let (status, _, body) = h.get(path, None).await;
    assert_eq!(status, StatusCode::GONE, "{}", String::from_utf8_lossy(&body));
}

async fn tokens_near_expiry_are_re_signed_without_changes() {
    let mut config = config();
    config.token_ttl = 2;
    config.token_validity = 4;
    config.list_pool = format!("resign-test-{}", jti());
    let h = Harness::with_config(config).await;
    let (_, uri) = issue(&h).await; // creating the pool's lists published their empty tokens
    let list_id = uri.rsplit('/').next().unwrap().to_string();
    let key = object_key(&list_id, TokenFormat::Jwt);
    let first = h
        .app
        .publisher
        .objects
        .head(&key)
        .await
        .unwrap()
        .expect("published at creation");
    // Fresh: nothing to do for this list.
    let report = h
        .app
        .publisher
        .resign_due(now(), h.app.publisher.resign_margin())
        .await
        .unwrap();
    assert!(report.checked >= 4);
    assert_eq!(
        h.app.publisher.objects.head(&key).await.unwrap().unwrap().exp,
        first.exp
    );
    // Within one ttl of expiry: re-signed, same content sequence, later exp.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    h.app
        .publisher
        .resign_due(now(), h.app.publisher.resign_margin())
        .await
        .unwrap();
    let second = h.app.publisher.objects.head(&key).await.unwrap().unwrap();
    assert_eq!(second.seq, first.seq);
    assert!(second.exp > first.exp, "{second:?} vs {first:?}");
    let path = uri.strip_prefix(BASE_URL).unwrap();
    assert_eq!(h.get(path, None).await.0, StatusCode::OK);
}
