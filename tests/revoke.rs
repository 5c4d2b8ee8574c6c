//! `POST /revoke` through the HTTP entry point against LocalStack: one-way, idempotent by state,
//! only by the issuing client, index 0 valid, every contract error row, and a race.

use std::sync::Arc;

use axum::http::StatusCode;
use integration_tests::*;
use serde_json::{Value, json};

async fn revoke(h: &Harness, idx: Value, uri: Value) -> (StatusCode, Value) {
    h.post_jwt("/revoke", h.issuer.sign(&h.issuer.header(), &h.revoke_claims(idx, uri)))
        .await
}

#[tokio::test]
async fn revokes_once_and_reports_the_original_time() {
    let h = Harness::in_process().await;
    let (idx, uri) = h.issue_one().await;
    let first = revoke(&h, json!(idx), json!(uri)).await;
    assert_eq!(first.0, StatusCode::ACCEPTED);
    assert_eq!(first.1["message"], "Request processed for revocation");
    let revoked_at = first.1["revokedAt"].as_i64().unwrap();
    assert!((now() - revoked_at).abs() < 60);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = revoke(&h, json!(idx), json!(uri)).await;
    assert_eq!(second.0, StatusCode::ACCEPTED);
    assert_eq!(
        second.1,
        json!({"message": "Credential already revoked", "revokedAt": revoked_at})
    );
    let list_id = list_id_of(&uri);
    let entry = shared::ports::IssuerStore::entry(h.store.as_ref(), &list_id, idx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((entry.status, entry.revoked_at), (1, Some(revoked_at)));
    let events = h.events.0.lock().unwrap().clone();
    let revoked: Vec<_> = events.iter().filter(|e| e.event == "INDEX_REVOKED").collect();
    assert_eq!(revoked.len(), 2);
    assert_eq!(revoked[0].idx, Some(idx));
    assert_eq!(revoked[0].uri.as_deref(), Some(uri.as_str()));
}

#[tokio::test]
async fn index_zero_is_a_valid_index() {
    let h = Harness::new().await;
    // Place an entry at index 0 of a fresh list directly (allocation is random).
    let list_id = shared::issuer::allocator::new_list_id();
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    ddb.put_item()
        .table_name(stack_env("ENTRIES_TABLE"))
        .item("listId", Av::S(list_id.clone()))
        .item("idx", Av::N("0".into()))
        .item("clientId", Av::S(h.client_id.clone()))
        .item("issuedAt", Av::N(now().to_string()))
        .item("statusExpiry", Av::N((now() + 3600).to_string()))
        .item("status", Av::N("0".into()))
        .send()
        .await
        .unwrap();
    let got = revoke(&h, json!(0), json!(format!("{}/t/{list_id}", cdn_url()))).await;
    assert_eq!(got.0, StatusCode::ACCEPTED, "{:?}", got.1);
}

#[tokio::test]
async fn only_the_issuing_client_may_revoke() {
    let owner = Harness::new().await;
    let (idx, uri) = owner.issue_one().await;
    let other = Harness::new().await;
    assert_error(
        &revoke(&other, json!(idx), json!(uri)).await,
        401,
        "UNAUTHORIZED",
        "The original clientId is different to the clientId in the request",
    );
    let list_id = list_id_of(&uri);
    let entry = shared::ports::IssuerStore::entry(owner.store.as_ref(), &list_id, idx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.revoked_at, None, "nothing changed");
}

#[tokio::test]
async fn contract_error_rows() {
    let h = Harness::new().await;
    let (idx, uri) = h.issue_one().await;
    let unknown = format!("{}/t/ZZZZZZZZZZZZ", cdn_url());
    assert_error(
        &revoke(&h, json!(idx), json!(unknown)).await,
        404,
        "NOT_FOUND",
        "Entry not found in status list table",
    );
    assert_error(
        &revoke(&h, json!(99_999_999), json!(uri)).await,
        404,
        "NOT_FOUND",
        "Entry not found in status list table",
    );
    for bad_uri in [
        "https://elsewhere.example/t/3B0F3BD087A7",
        "not a uri",
        &format!("{}/b/3B0F3BD087A7", cdn_url()),
    ] {
        assert_error(
            &revoke(&h, json!(idx), json!(bad_uri)).await,
            400,
            "BAD_REQUEST",
            "Invalid URI format in payload",
        );
    }
    assert_error(
        &revoke(&h, Value::Null, json!(uri)).await,
        400,
        "BAD_REQUEST",
        "No Index in Payload",
    );
    for bad in [json!(-1), json!(1.5), json!("7")] {
        assert_error(
            &revoke(&h, bad, json!(uri)).await,
            400,
            "BAD_REQUEST",
            "Index must be a valid non-negative integer",
        );
    }
    let no_uri = json!({"iss": h.client_id, "iat": now(), "jti": jti(), "idx": idx});
    assert_error(
        &h.post_jwt("/revoke", h.issuer.sign(&h.issuer.header(), &no_uri)).await,
        400,
        "BAD_REQUEST",
        "No valid URI in Payload",
    );
    let bad_iat = json!({"iss": h.client_id, "iat": "now", "jti": jti(), "idx": idx, "uri": uri});
    assert_error(
        &h.post_jwt("/revoke", h.issuer.sign(&h.issuer.header(), &bad_iat)).await,
        400,
        "BAD_REQUEST",
        "Invalid iat in Payload",
    );
    let bad_jti = json!({"iss": h.client_id, "iat": now(), "jti": "123", "idx": idx, "uri": uri});
    assert_error(
        &h.post_jwt("/revoke", h.issuer.sign(&h.issuer.header(), &bad_jti)).await,
        400,
        "BAD_REQUEST",
        "Invalid jti in Payload",
    );
    assert_error(
        &h.post("/revoke", Some("application/json"), "{}").await,
        400,
        "BAD_REQUEST",
        "Content-Type header must be application/jwt",
    );
    let wrong_typ = json!({"alg": "ES256", "typ": "JOSE", "kid": h.issuer.kid});
    assert_error(
        &h.post_jwt(
            "/revoke",
            h.issuer.sign(&wrong_typ, &h.revoke_claims(json!(idx), json!(uri))),
        )
        .await,
        401,
        "UNAUTHORIZED",
        "Invalid Type in Header",
    );
}

#[tokio::test]
async fn dynamodb_unreachable_is_503() {
    let dead = unreachable().await;
    let h = Harness::with_sdk(dead).await;
    let got = revoke(&h, json!(1), json!(format!("{}/t/3B0F3BD087A7", cdn_url()))).await;
    assert_error(
        &got,
        503,
        "TEMPORARILY_UNAVAILABLE",
        "Service is temporarily unavailable",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revokes_both_succeed_and_revoke_once() {
    let h = Arc::new(Harness::new().await);
    for _ in 0..5 {
        let (idx, uri) = h.issue_one().await;
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (h, uri) = (h.clone(), uri.clone());
                tokio::spawn(async move { revoke(&h, json!(idx), json!(uri)).await })
            })
            .collect();
        let mut results = Vec::new();
        for c in calls {
            results.push(c.await.unwrap());
        }
        assert!(results.iter().all(|(s, _)| *s == StatusCode::ACCEPTED), "{results:?}");
        let fresh = results
            .iter()
            .filter(|(_, b)| b["message"] == "Request processed for revocation")
            .count();
        assert_eq!(fresh, 1, "exactly one revocation happened: {results:?}");
        let times: std::collections::HashSet<_> =
            results.iter().map(|(_, b)| b["revokedAt"].as_i64().unwrap()).collect();
        assert_eq!(times.len(), 1, "every answer reports the one revocation time");
    }
}
