//! `POST /issue` through the real HTTP entry point (the router the Lambdas and the local server
//! run), against DynamoDB and KMS on LocalStack: every row of the contract's error table,
//! adversarial tokens, idempotency, faults, audit events, and a race.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use integration_tests::*;
use serde_json::{Value, json};
use shared::ports::IssuerStore;

const BAD: &str = "BAD_REQUEST";
const UNAUTH: &str = "UNAUTHORIZED";

#[tokio::test]
async fn issues_a_random_index_and_stores_the_entry() {
    let h = Harness::in_process().await;
    let claims = h.issue_claims();
    let got = h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
    let idx = got.1["idx"].as_u64().expect("idx");
    let uri = got.1["uri"].as_str().expect("uri");
    assert!(idx < 100_000);
    let list_id = uri
        .strip_prefix(&format!("{}/t/", cdn_url()))
        .expect("uri under the token base");
    assert_eq!(list_id.len(), 12);
    let entry = h.store.entry(list_id, idx).await.unwrap().expect("entry stored");
    assert_eq!(entry.client_id, h.client_id);
    assert_eq!(entry.status_expiry, claims["statusExpiry"].as_i64().unwrap());
    assert_eq!(entry.status, 0);
    // The list's status horizon covers the entry (rounded up to the day), raised before it was
    // placed: the re-signer keeps the list fresh until then.
    let expiry = claims["statusExpiry"].as_i64().unwrap();
    let horizon = shared::domain::resign::horizon_for(expiry).unwrap();
    let lists = h.store.open_lists(test_pool()).await.unwrap();
    let list = lists.iter().find(|l| l.list_id == list_id).expect("the list is open");
    assert!(list.status_horizon.is_some_and(|h| h >= horizon), "{list:?}");
    // A later horizon is kept; an earlier one never replaces it; an unknown list is no error.
    h.store.extend_horizon(list_id, horizon + 86_400).await.unwrap();
    h.store.extend_horizon(list_id, horizon - 86_400).await.unwrap();
    h.store.extend_horizon("NOSUCHLIST00", horizon).await.unwrap();
    let lists = h.store.open_lists(test_pool()).await.unwrap();
    let list = lists.iter().find(|l| l.list_id == list_id).unwrap();
    assert_eq!(list.status_horizon, Some(horizon + 86_400));
    let summaries = h.app.publisher.lists.published_lists().await.unwrap();
    let summary = summaries.iter().find(|l| l.list_id == list_id).unwrap();
    assert_eq!((summary.open, summary.status_horizon), (true, Some(horizon + 86_400)));

    // The audit event carries who, which key, where; never the request JWT.
    let events = h.events.0.lock().unwrap().clone();
    let issued = events.iter().find(|e| e.event == "INDEX_ISSUED").expect("issued event");
    assert_eq!(issued.client_id.as_deref(), Some(h.client_id.as_str()));
    assert_eq!(issued.kid.as_deref(), Some(h.issuer.kid.as_str()));
    assert_eq!((issued.idx, issued.uri.as_deref()), (Some(idx), Some(uri)));
    assert!(!format!("{events:?}").contains("eyJ"), "no JWT in events");
}

#[tokio::test]
async fn accepts_the_legacy_expires_claim() {
    let h = Harness::new().await;
    let claims = json!({"iss": h.client_id, "iat": now(), "jti": jti(), "expires": now() + 3600});
    let got = h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
}

#[tokio::test]
async fn idempotent_replay_and_changed_claims() {
    let h = Harness::new().await;
    let claims = h.issue_claims();
    let first = h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await;
    assert_eq!(first.0, StatusCode::OK);
    // The same request again, and the same claims re-signed: the identical answer.
    for _ in 0..2 {
        let again = h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await;
        assert_eq!(again, first);
    }
    let mut changed = claims.clone();
    changed["statusExpiry"] = json!(claims["statusExpiry"].as_i64().unwrap() + 1);
    assert_error(
        &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &changed)).await,
        400,
        BAD,
        "Detected invalid changes between idempotent requests, unable to proceed. Please generate a new request.",
    );
    // The same jti from another client is another key.
    let other = Harness::new().await;
    let mut theirs = claims.clone();
    theirs["iss"] = json!(other.client_id);
    let got = other
        .post_jwt("/issue", other.issuer.sign(&other.issuer.header(), &theirs))
        .await;
    assert_eq!(got.0, StatusCode::OK);
    assert_ne!(got.1, first.1);
}

#[tokio::test]
async fn in_flight_duplicate_is_409_and_a_crashed_claim_lapses() {
    let h = Harness::new().await;
    let claims = h.issue_claims();
    let key = format!("{}#{}", h.client_id, claims["jti"].as_str().unwrap());
    let hash = shared::domain::issuer_request::claims_hash(claims.as_object().unwrap());
    // Another invocation holds the key right now.
    h.store
        .claim_idempotency(&key, "another-invocation", &hash, now(), now() + 30, now() + 3600)
        .await
        .unwrap();
    assert_error(
        &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await,
        409,
        "CONFLICT",
        "Multiple concurrent idempotent requests in progress. Please retry after a short delay.",
    );
    // A claim whose holder crashed (its in-progress window is over) does not block the retry.
    let claims = h.issue_claims();
    let key = format!("{}#{}", h.client_id, claims["jti"].as_str().unwrap());
    let hash = shared::domain::issuer_request::claims_hash(claims.as_object().unwrap());
    h.store
        .claim_idempotency(
            &key,
            "a-crashed-invocation",
            &hash,
            now() - 60,
            now() - 30,
            now() + 3600,
        )
        .await
        .unwrap();
    let got = h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
}

#[tokio::test]
async fn contract_400_rows() {
    let h = Harness::new().await;
    let token = h.issue_token();
    for ct in [None, Some("application/json"), Some("text/plain")] {
        assert_error(
            &h.post("/issue", ct, token.clone()).await,
            400,
            BAD,
            "Content-Type header must be application/jwt",
        );
    }
    // Parameters on the media type are fine.
    assert_eq!(
        h.post("/issue", Some("application/jwt; charset=utf-8"), token).await.0,
        StatusCode::OK
    );
    for garbage in [
        "",
        "abc",
        "a.b",
        "e30.e30",
        "!!.??.**",
        "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln",
    ] {
        assert_error(
            &h.post_jwt("/issue", garbage.into()).await,
            400,
            BAD,
            "Error decoding JWT or converting to JSON",
        );
    }
    let rows: Vec<(Value, &str)> = vec![
        (
            json!({"iss": h.client_id, "jti": jti(), "statusExpiry": now() + 60}),
            "No iat in Payload",
        ),
        (
            json!({"iss": h.client_id, "iat": now(), "statusExpiry": now() + 60}),
            "No jti in Payload",
        ),
        (
            json!({"iss": h.client_id, "iat": now(), "jti": jti()}),
            "No Status Expiry in Payload",
        ),
        (
            json!({"iss": h.client_id, "iat": "yesterday", "jti": jti(), "statusExpiry": now() + 60}),
            "Invalid iat in Payload",
        ),
        (
            json!({"iss": h.client_id, "iat": now() + 7200, "jti": jti(), "statusExpiry": now() + 60}),
            "Invalid iat in Payload",
        ),
        (
            json!({"iss": h.client_id, "iat": now(), "jti": "not-a-uuid", "statusExpiry": now() + 60}),
            "Invalid jti in Payload",
        ),
        (
            json!({"iss": h.client_id, "iat": now(), "jti": jti().to_uppercase(), "statusExpiry": now() + 60}),
            "Invalid jti in Payload",
        ),
    ];
    for (claims, description) in rows {
        assert_error(
            &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await,
            400,
            BAD,
            description,
        );
    }
    let expiry_text = "Status Expiry in Payload must be a non negative number and represent a future expiry date no more than 1 year from now";
    for expiry in [
        json!(now() - 10),
        json!(-1),
        json!(now() + 367 * 86400),
        json!("2030-01-01"),
    ] {
        let claims = json!({"iss": h.client_id, "iat": now(), "jti": jti(), "statusExpiry": expiry});
        assert_error(
            &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await,
            400,
            BAD,
            expiry_text,
        );
    }
}

#[tokio::test]
async fn contract_401_rows_and_adversarial_tokens() {
    let h = Harness::new().await;
    let claims = h.issue_claims();
    let with_header = |header: Value| h.issuer.sign(&header, &claims);
    let kid = h.issuer.kid.clone();
    let rows: Vec<(String, &str)> = vec![
        (
            with_header(json!({"alg": "ES256", "typ": "JWT"})),
            "No Key ID in Header",
        ),
        (
            with_header(json!({"alg": "ES256", "typ": "JWT", "kid": "not-published"})),
            "Invalid Key ID in Header",
        ),
        (with_header(json!({"alg": "ES256", "kid": kid})), "No Type in Header"),
        (
            with_header(json!({"alg": "ES256", "typ": "statuslist+jwt", "kid": kid})),
            "Invalid Type in Header",
        ),
        (with_header(json!({"typ": "JWT", "kid": kid})), "No Algorithm in Header"),
        (
            with_header(json!({"alg": "ES512", "typ": "JWT", "kid": kid})),
            "Invalid Algorithm in Header",
        ),
        (
            with_header(json!({"alg": "ES256", "typ": "JWT", "kid": kid, "crit": ["exp"], "exp": 1})),
            "Unsupported critical Header parameters",
        ),
    ];
    for (token, description) in rows {
        assert_error(&h.post_jwt("/issue", token).await, 401, UNAUTH, description);
    }
    // alg none, unsigned.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_error(
        &h.post_jwt("/issue", none).await,
        401,
        UNAUTH,
        "Invalid Algorithm in Header",
    );
    // HS256 "signed" with the issuer's public key as the HMAC secret (key confusion).
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT", "kid": kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let secret = h.issuer.jwk().to_string();
    let mac = hmac_sha256(secret.as_bytes(), input.as_bytes());
    let hs = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac));
    assert_error(
        &h.post_jwt("/issue", hs).await,
        401,
        UNAUTH,
        "Invalid Algorithm in Header",
    );
    // No iss, an unregistered iss.
    let no_iss = json!({"iat": now(), "jti": jti(), "statusExpiry": now() + 60});
    assert_error(
        &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &no_iss)).await,
        401,
        UNAUTH,
        "No Issuer in Payload",
    );
    // An iss longer than any client id: refused before any lookup (no DynamoDB key-size error).
    let long_iss = json!({"iss": "c".repeat(4096), "iat": now(), "jti": jti(), "statusExpiry": now() + 60});
    assert_error(
        &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &long_iss)).await,
        401,
        UNAUTH,
        "JWT has non-matching Client ID",
    );
    let stranger = json!({"iss": "nobody-registered-this", "iat": now(), "jti": jti(), "statusExpiry": now() + 60});
    assert_error(
        &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &stranger)).await,
        401,
        UNAUTH,
        "JWT has non-matching Client ID",
    );
    // Signed by another key under the registered kid; and a tampered payload.
    let imposter = Issuer::generate(&kid);
    assert_error(
        &h.post_jwt("/issue", imposter.sign(&imposter.header(), &claims)).await,
        401,
        UNAUTH,
        "JWT has non-verified signature",
    );
    let good = h.issuer.sign(&h.issuer.header(), &claims);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut forged = claims.clone();
    forged["statusExpiry"] = json!(now() + 100);
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert_error(
        &h.post_jwt("/issue", parts.join(".")).await,
        401,
        UNAUTH,
        "JWT has non-verified signature",
    );
    // Another registered client's key cannot sign for this client.
    let other = Harness::new().await;
    let mut theirs = h.issue_claims();
    theirs["iss"] = json!(h.client_id);
    let mut header = other.issuer.header();
    header["kid"] = json!(other.issuer.kid);
    assert_error(
        &h.post_jwt("/issue", other.issuer.sign(&header, &theirs)).await,
        401,
        UNAUTH,
        "Invalid Key ID in Header",
    );
    // None of these wrote anything: every failure was refused before allocation.
    assert!(h.events.0.lock().unwrap().iter().all(|e| e.event != "INDEX_ISSUED"));
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).chain(message.iter().copied()).collect();
    let inner = Sha256::digest(inner);
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner.iter().copied()).collect();
    Sha256::digest(outer).to_vec()
}

#[tokio::test]
async fn jwks_outages_oversize_and_rotation() {
    let h = Harness::new().await;
    // Oversized JWKS (over 64 KiB): refused, the key is not found.
    let huge = json!({"keys": [h.issuer.jwk()], "padding": "x".repeat(70 * 1024)}).to_string();
    h.jwks.set(200, huge);
    assert_error(
        &h.post_jwt("/issue", h.issue_token()).await,
        401,
        UNAUTH,
        "Invalid Key ID in Header",
    );
    // JWKS endpoint down: we cannot verify now; the client may retry.
    let h = Harness::new().await;
    h.jwks.set(500, "down".into());
    assert_error(
        &h.post_jwt("/issue", h.issue_token()).await,
        503,
        "TEMPORARILY_UNAVAILABLE",
        "Service is temporarily unavailable",
    );
    // Rotation: the issuer publishes a new key; an unknown kid triggers one refetch.
    let h = Harness::new().await;
    assert_eq!(h.post_jwt("/issue", h.issue_token()).await.0, StatusCode::OK);
    let rotated = Issuer::generate("rotated-key");
    h.jwks
        .set(200, json!({"keys": [h.issuer.jwk(), rotated.jwk()]}).to_string());
    tokio::time::sleep(std::time::Duration::from_secs(11)).await; // past the refetch interval
    let got = h
        .post_jwt("/issue", rotated.sign(&rotated.header(), &h.issue_claims()))
        .await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
}

#[tokio::test]
async fn jwks_must_be_https_unless_loopback_is_allowed() {
    use shared::ports::JwksSource;
    let strict = shared::adapters::jwks_http::HttpJwks::new(std::time::Duration::from_secs(1), false);
    let server = JwksServer::start("{\"keys\":[]}".into()).await;
    assert!(matches!(
        strict.fetch(&server.url).await,
        Err(shared::ports::JwksError::NotAllowed(_))
    ));
    let lax = shared::adapters::jwks_http::HttpJwks::new(std::time::Duration::from_secs(1), true);
    assert!(lax.fetch(&server.url).await.is_ok());
    // Even when allowed locally, plain HTTP to a non-loopback host is refused.
    assert!(matches!(
        lax.fetch("http://example.com/jwks.json").await,
        Err(shared::ports::JwksError::NotAllowed(_))
    ));
    assert!(matches!(
        lax.fetch("file:///etc/passwd").await,
        Err(shared::ports::JwksError::NotAllowed(_))
    ));
}

#[tokio::test]
async fn body_over_the_limit_is_refused() {
    let h = Harness::new().await;
    let big = "a".repeat(17 * 1024);
    let got = h.post("/issue", Some("application/jwt"), big).await;
    assert_eq!(got.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(got.1["error"], BAD);
}

#[tokio::test]
async fn dynamodb_unreachable_is_503_and_writes_nothing() {
    let dead = unreachable().await;
    let h = Harness::with_sdk(dead).await;
    let claims = h.issue_claims();
    let got = h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await;
    assert_error(
        &got,
        503,
        "TEMPORARILY_UNAVAILABLE",
        "Service is temporarily unavailable",
    );
    // With DynamoDB back, the same request succeeds at once: no IN_PROGRESS record blocks it.
    let live = Harness::new().await;
    let mut claims = claims;
    claims["iss"] = json!(live.client_id);
    let got = live
        .post_jwt("/issue", live.issuer.sign(&live.issuer.header(), &claims))
        .await;
    assert_eq!(got.0, StatusCode::OK);
}

#[tokio::test]
async fn unreadable_stored_response_is_500() {
    // A completed record whose stored response is corrupt cannot be replayed.
    let h = Harness::new().await;
    let claims = h.issue_claims();
    let key = format!("{}#{}", h.client_id, claims["jti"].as_str().unwrap());
    let hash = shared::domain::issuer_request::claims_hash(claims.as_object().unwrap());
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    ddb.put_item()
        .table_name(stack_env("IDEMPOTENCY_TABLE"))
        .item("key", Av::S(key))
        .item("status", Av::S("COMPLETED".into()))
        .item("owner", Av::S("x".into()))
        .item("claimsHash", Av::S(hash))
        .item("response", Av::S("{corrupt".into()))
        .item("expiresAt", Av::N((now() + 3600).to_string()))
        .send()
        .await
        .unwrap();
    assert_error(
        &h.post_jwt("/issue", h.issuer.sign(&h.issuer.header(), &claims)).await,
        500,
        "INTERNAL_SERVER_ERROR",
        "Unable to successfully issue a status",
    );
}

/// 1,000 /issue calls, 64 in flight; 10 % reuse a jti with identical claims (racing their
/// originals; a 409 is retried as the contract asks), 2 % retry a jti with changed claims after
/// their original. Replays are identical, changed claims are 400, and no (uri, idx) is handed
/// out twice, in the answers or in the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn race_1000_issues_64_in_flight() {
    let h = Arc::new(Harness::new().await);
    let originals: Vec<Value> = (0..880).map(|_| h.issue_claims()).collect();
    // (index, claims, follow-up with changed claims?)
    let mut jobs: Vec<(usize, Value, bool)> = Vec::new();
    for (i, c) in originals.iter().enumerate() {
        jobs.push((i, c.clone(), (100..120).contains(&i)));
    }
    for (i, c) in originals.iter().enumerate().take(100) {
        jobs.push((i, c.clone(), false)); // identical replay, racing the original
    }
    assert_eq!(
        jobs.len() + 20,
        1000,
        "880 originals + 100 replays + 20 changed retries"
    );
    use rand::seq::SliceRandom;
    jobs.shuffle(&mut rand::thread_rng());

    async fn call(h: &Harness, claims: &Value) -> (StatusCode, Value) {
        let token = h.issuer.sign(&h.issuer.header(), claims);
        let mut got = h.post_jwt("/issue", token.clone()).await;
        for _ in 0..100 {
            if got.0 != StatusCode::CONFLICT {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            got = h.post_jwt("/issue", token.clone()).await;
        }
        got
    }

    let semaphore = Arc::new(tokio::sync::Semaphore::new(64));
    let mut handles = Vec::new();
    for (i, claims, then_change) in jobs {
        let h = h.clone();
        let semaphore = semaphore.clone();
        handles.push(tokio::spawn(async move {
            let permit = semaphore.clone().acquire_owned().await.unwrap();
            let got = call(&h, &claims).await;
            drop(permit);
            let changed = if then_change {
                let mut c = claims.clone();
                c["statusExpiry"] = json!(c["statusExpiry"].as_i64().unwrap() - 1000);
                let permit = semaphore.acquire_owned().await.unwrap();
                let r = call(&h, &c).await;
                drop(permit);
                Some(r)
            } else {
                None
            };
            (i, got, changed)
        }));
    }
    let mut answers: HashMap<usize, Vec<Value>> = HashMap::new();
    let mut changed_results = 0;
    for handle in handles {
        let (i, (status, body), changed) = handle.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body:?}");
        answers.entry(i).or_default().push(body);
        if let Some(got) = changed {
            assert_error(
                &got,
                400,
                BAD,
                "Detected invalid changes between idempotent requests, unable to proceed. Please generate a new request.",
            );
            changed_results += 1;
        }
    }
    assert_eq!(changed_results, 20);
    // Every replay got the identical answer.
    for (i, bodies) in &answers {
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "replays of {i} differ: {bodies:?}"
        );
    }
    assert_eq!(answers.values().map(Vec::len).sum::<usize>(), 980);
    // No duplicate (uri, idx) across the 880 distinct requests.
    let mut seen = HashSet::new();
    for bodies in answers.values() {
        assert!(seen.insert((
            bodies[0]["uri"].as_str().unwrap().to_string(),
            bodies[0]["idx"].as_u64().unwrap()
        )));
    }
    assert_eq!(seen.len(), 880);
    // The table holds exactly those entries for this client, once each.
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let mut stored = HashSet::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(stack_env("ENTRIES_TABLE"))
            .filter_expression("clientId = :c")
            .expression_attribute_values(":c", aws_sdk_dynamodb::types::AttributeValue::S(h.client_id.clone()))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let list = item["listId"].as_s().unwrap().clone();
            let idx: u64 = item["idx"].as_n().unwrap().parse().unwrap();
            assert!(
                stored.insert((format!("{}/t/{list}", cdn_url()), idx)),
                "duplicate in table"
            );
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    assert_eq!(stored, seen, "table entries equal the answers");
}
