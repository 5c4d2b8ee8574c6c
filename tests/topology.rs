//! The deployed shape (infra/topology): what API Gateway, CloudFront, the event sources and the
//! Lambda runtime do between a client and the functions, each against today's template.

use std::time::Duration;

use axum::http::StatusCode;
use integration_tests::*;
use serde_json::Value;
use shared::domain::keys::KeySet;
use shared::domain::token;
use shared::{Expectations, Status};

/// The service's keys, from its JWKS endpoint through the API front.
async fn our_keys() -> KeySet {
    let (status, _, body) = fetch(&format!("{}/.well-known/jwks.json", base_url()), None).await;
    assert_eq!(status, 200);
    KeySet::from_jwks(&serde_json::from_slice(&body).unwrap())
}

/// The status at `idx` in a token fetched for the list `uri`.
async fn status_in(body: &[u8], uri: &str, idx: u64) -> Option<Status> {
    let verified = token::verify(body, &our_keys().await, &Expectations::new(Some(uri), now())).ok()?;
    verified.token.list.get(idx).ok()
}

async fn fetch(url: &str, accept: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        request = request.header("accept", a);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// The tests here inject faults into functions every test uses: one at a time, so none meets
/// another's fault.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until the CDN serves `url`'s token (a new list's first token comes through the pipeline).
async fn served(url: &str) -> Vec<u8> {
    eventually(PUBLISH_WAIT, &format!("{url} served by the CDN"), || async {
        let (status, _, body) = fetch(url, None).await;
        (status == 200).then_some(body)
    })
    .await
}

#[tokio::test]
async fn the_issued_uri_is_served_by_the_cdn_and_cwts_arrive_as_bytes() {
    let _serial = SERIAL.lock().await;
    let h = Harness::new().await;
    let (idx, uri) = h.issue_one().await;
    assert!(uri.starts_with(&format!("{}/t/", cdn_url())), "{uri}");
    // The CDN: the JWT at the URI, the CWT beside it, each with the object's Cache-Control.
    let jwt = served(&uri).await;
    assert!(jwt.starts_with(b"eyJ"), "a compact JWS");
    let (status, headers, cwt) = fetch(&format!("{uri}.cwt"), None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/statuslist+cwt");
    assert_eq!(headers["cache-control"], "public, max-age=600");
    assert_eq!(cwt[0], 0xd2, "COSE_Sign1, tag 18");
    // CloudFront forwards no query string, so ?time= on a token URI is refused (spec §8.4's 501),
    // never answered with the current token; other query strings are ignored.
    let (status, headers, refused) = fetch(&format!("{uri}?time=1"), None).await;
    assert_eq!(status, 501);
    assert_eq!(headers["content-type"], "application/json");
    let refused: serde_json::Value = serde_json::from_slice(&refused).unwrap();
    assert_eq!(refused["error"], "NOT_IMPLEMENTED");
    let (status, _, with_query) = fetch(&format!("{uri}?v=2"), None).await;
    assert_eq!((status, with_query), (200, jwt));
    // The API through API Gateway: raw COSE bytes for a CWT, as BinaryMediaTypes allow.
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap();
    let (status, _, body) = h.get(path, Some("application/statuslist+cwt")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body[0],
        0xd2,
        "raw bytes, not base64 text: {:?}",
        String::from_utf8_lossy(&body[..8])
    );
    assert_eq!(status_in(&body, &uri, idx).await, Some(Status::VALID));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_api_bodies() {
    let _serial = SERIAL.lock().await;
    let http = reqwest::Client::new();
    let got = http.get(format!("{}/no/such/thing", base_url())).send().await.unwrap();
    assert_eq!(got.status(), 404);
    let body: Value = serde_json::from_slice(&got.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "NOT_FOUND", "GOV.UK's body: {body}");
    assert!(body["error_description"].is_string());
    let got = http
        .get(format!("{}/v2/credentials/mobile/no/such", base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 404);
    let body: Value = serde_json::from_slice(&got.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "NotFound", "MATTR's body: {body}");
    assert!(
        body.get("details").is_none(),
        "details only on validation errors: {body}"
    );
    // A known path with another method: API Gateway's own answer, reshaped to carry both families.
    let got = http.put(format!("{}/issue", base_url())).send().await.unwrap();
    assert_eq!(got.status(), 405);
    let body: Value = serde_json::from_slice(&got.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (body["error"].as_str(), body["code"].as_str()),
        (Some("METHOD_NOT_ALLOWED"), Some("MethodNotAllowed"))
    );
}

#[tokio::test]
async fn mdoc_token_uris_are_served_by_the_cdn() {
    let _serial = SERIAL.lock().await;
    let tenant = Tenant::new(shared::domain::tenant::Role::Admin).await;
    let doc_type = format!("org.example.cdn.{}", &jti()[..8]);
    tenant.configuration(&doc_type, 2).await;
    let r = tenant.register(&doc_type).await;
    let uri = r["uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("{}{STATUS_LISTS}/", cdn_url())), "{uri}");
    let cwt = served(uri).await;
    assert_eq!(
        cwt[0], 0xd2,
        "the CloudFront function maps the token path to the CWT object"
    );
    let (status, _, _) = fetch(&format!("{}{STATUS_LISTS}/distribution", cdn_url()), None).await;
    assert_eq!(status, 200);
}

/// A revocation survives the forwarder failing more often than the retry limit the template had
/// (20): the mapping retries until the batch goes through, and the change reaches the token.
#[tokio::test]
async fn a_forwarder_failing_past_the_old_retry_limit_loses_no_revocation() {
    let _serial = SERIAL.lock().await;
    let h = Harness::new().await;
    let (idx, uri) = h.issue_one().await;
    served(&uri).await;
    let before = topology_stats().await;
    // Refused (not retried by the SDK): each refusal fails one invocation of the forwarder.
    inject_fault("ForwarderFunction", "sqs:SendMessage", 21, 403, "AccessDenied").await;
    h.revoke_one(idx, &uri).await;
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap().to_string();
    eventually(
        Duration::from_secs(120),
        "the revocation in the published token",
        || async {
            let (_, _, body) = fetch(&format!("{}{path}.cwt", cdn_url()), None).await;
            (status_in(&body, &uri, idx).await? == Status::INVALID).then_some(())
        },
    )
    .await;
    let after = topology_stats().await;
    let failures = |s: &Value| {
        s["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["kind"] == "stream")
            .and_then(|x| x["failures"].as_u64())
            .unwrap()
    };
    assert!(
        failures(&after) - failures(&before) >= 21,
        "the forwarder failed 21 times and was retried"
    );
}

/// A hung AWS call is cut at the SDK's bounds (`shared::adapters::aws`), inside the function's
/// timeout, so the caller gets an answer instead of the gateway's timeout. The authorizer (10 s)
/// makes one DynamoDB call per request: when one attempt hangs (12 s), the attempt timeout (5 s)
/// cuts it and the retry answers; when the retry hangs too, the operation timeout (8 s) ends the
/// call and API Gateway answers the authorizer's failure (500) before the function's timeout.
#[tokio::test]
async fn a_hung_aws_call_ends_at_its_bounds_not_at_the_functions_timeout() {
    let _serial = SERIAL.lock().await;
    let tenant = Tenant::new(shared::domain::tenant::Role::Admin).await;
    inject_delay("AuthorizerFunction", "dynamodb:GetItem", 1, 12_000).await;
    let started = std::time::Instant::now();
    let got = tenant.call("GET", CONFIGURATIONS, None).await;
    let took = started.elapsed();
    assert_eq!(got.status, 200, "{got:?}");
    assert!(
        took >= shared::adapters::aws::ATTEMPT_TIMEOUT && took < Duration::from_secs(10),
        "{took:?}"
    );

    // Another tenant: the gateway has cached the first one's authorization.
    let tenant = Tenant::new(shared::domain::tenant::Role::Admin).await;
    inject_delay("AuthorizerFunction", "dynamodb:GetItem", 2, 30_000).await;
    let started = std::time::Instant::now();
    let got = tenant.call("GET", CONFIGURATIONS, None).await;
    let took = started.elapsed();
    assert_eq!(got.status, 500, "{got:?}");
    assert_eq!(got.json["code"], "InternalServerError", "{got:?}");
    assert!(
        took >= shared::adapters::aws::OPERATION_TIMEOUT && took < Duration::from_secs(10),
        "{took:?}"
    );
    // The instance answers the next call.
    let got = tenant.call("GET", CONFIGURATIONS, None).await;
    assert_eq!(got.status, 200, "{got:?}");
}

/// An /issue whose final write fails releases its idempotency claim at once: the issuer's retry
/// with the same jti goes through instead of meeting a 409 for 30 s.
#[tokio::test]
async fn a_failed_issue_releases_its_claim() {
    let _serial = SERIAL.lock().await;
    let h = Harness::new().await;
    let token = h.issue_token();
    // The entry's transaction is refused once (not retried by the SDK).
    inject_fault_on(
        "IssueFunction",
        "dynamodb:PutItem",
        "-entries",
        1,
        400,
        "ValidationException",
    )
    .await;
    let got = h.post_jwt("/issue", token.clone()).await;
    assert_eq!(got.0.as_u16(), 500, "{:?}", got.1);
    assert_eq!(got.1["error"], "INTERNAL_SERVER_ERROR");
    let again = h.post_jwt("/issue", token).await;
    assert_eq!(again.0, StatusCode::OK, "{:?}", again.1);
}

/// An idempotency claim whose write went through but whose answer was lost (the connection reset
/// after the call) is still the request's: the SDK's retry finds its own claim and the issue
/// completes, instead of answering 409 for the request's own claim. When every attempt's answer
/// is lost the request is refused (500/503) and frees the claim, so the client's retry is issued.
/// Transactions (an issue's entry, an mDoc's status change) whose answer was lost are answered
/// on their retry as the first time (their ClientRequestToken).
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_the_requests() {
    let _serial = SERIAL.lock().await;
    let h = Harness::new().await;
    let table = stack_env("IDEMPOTENCY_TABLE");
    inject_reset("IssueFunction", "dynamodb:PutItem", &table, 1, true).await;
    let token = h.issue_token();
    let got = h.post_jwt("/issue", token.clone()).await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
    assert_eq!(h.post_jwt("/issue", token).await.1, got.1, "replayed");

    inject_reset("IssueFunction", "dynamodb:PutItem", &table, 3, true).await;
    let token = h.issue_token();
    let got = h.post_jwt("/issue", token.clone()).await;
    assert!(matches!(got.0.as_u16(), 500 | 503), "{:?}", got.1);
    let again = h.post_jwt("/issue", token).await;
    assert_eq!(again.0, StatusCode::OK, "{:?}", again.1);

    // The entry's transaction applied, its answer lost: the SDK's retry of it is answered as
    // the first (the transaction's ClientRequestToken), not refused by its own conditions.
    inject_reset("IssueFunction", "dynamodb:PutItem", "-entries", 1, true).await;
    let token = h.issue_token();
    let got = h.post_jwt("/issue", token.clone()).await;
    assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
    assert_eq!(
        h.post_jwt("/issue", token).await.1,
        got.1,
        "the stored answer is the one given"
    );

    // An mDoc's status change applied, its answer lost: the retry is answered as the first, not
    // refused as a change to an INVALID (final) status.
    let tenant = Tenant::new(shared::domain::tenant::Role::Issuer).await;
    let doc_type = format!("org.example.lost.{}", &jti()[..8]);
    tenant.configuration(&doc_type, 2).await;
    let mdoc = tenant.register(&doc_type).await;
    let path = format!(
        "/v2/credentials/mobile/{}/status",
        mdoc["credentialId"].as_str().unwrap()
    );
    inject_reset("MdocStatusSetFunction", "dynamodb:UpdateItem", "-entries", 1, true).await;
    let set = tenant
        .call("POST", &path, Some(serde_json::json!({"status": "invalid"})))
        .await;
    assert_eq!(set.status, 201, "{set:?}");
}

/// Analytic events never hold a response: each mDoc function sends an invocation's events from
/// its internal extension after the response is out (the environment is kept, and takes no other
/// invocation, until they are sent). With the distribution function's PutEvents delayed 4 s, its
/// answer comes at once, and the delayed call is made after it.
#[tokio::test]
async fn analytic_events_are_sent_after_the_response_not_before() {
    let _serial = SERIAL.lock().await;
    let url = format!("{}/v2/credentials/mobile/status-lists/distribution", base_url());
    let http = reqwest::Client::new();
    // Warm: a cold start is not what is measured.
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let injected = || async { topology_stats().await["faults_injected"].as_u64().unwrap() };
    // Its events from the warm-up are out before the delay is armed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = injected().await;
    inject_delay("StatusListDistributionFunction", "events:PutEvents", 1, 4_000).await;
    let started = std::time::Instant::now();
    let got = http.get(&url).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(got.status(), 200);
    assert!(
        took < Duration::from_millis(2_000),
        "the answer waited on the events: {took:?}"
    );
    // The events' call is made (and delayed) after the answer.
    eventually(Duration::from_secs(10), "the delayed PutEvents", || async {
        (injected().await > before).then_some(())
    })
    .await;
}
