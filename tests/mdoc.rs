//! The mDoc management API over real HTTP against LocalStack (DynamoDB, its stream, SQS FIFO,
//! KMS, S3, EventBridge): configurations, registration, the status state machine, deletion,
//! status lists, the public token and distribution, tenant isolation, races, and the analytic
//! events (read back from EventBridge through an SQS queue).

use std::collections::{HashMap, HashSet};

use integration_tests::*;
use serde_json::{Value, json};
use shared::Status;
use shared::domain::tenant::Role;
use shared::domain::token::TokenFormat;

fn doc_type() -> String {
    format!("org.example.{}.mDL", &jti()[..8])
}

fn config_path(id: &str) -> String {
    format!("{CONFIGURATIONS}/{id}")
}

fn status_path(credential_id: &str) -> String {
    format!("/v2/credentials/mobile/{credential_id}/status")
}

const UNKNOWN: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

#[tokio::test]
async fn configurations_are_created_read_updated_and_deleted() {
    let t = Tenant::new(Role::Admin).await;
    let dt = doc_type();
    let body = json!({"docType": dt, "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 2}});
    let created = t.call("POST", CONFIGURATIONS, Some(body.clone())).await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.json,
        json!({"id": id, "docType": dt, "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 2}, "statusBits": 1})
    );
    // One configuration per docType and tenant.
    let again = t.call("POST", CONFIGURATIONS, Some(body)).await;
    assert_mattr(&again, 409, "Conflict", "already exists");

    let got = t.call("GET", &config_path(&id), None).await;
    assert_eq!((got.status, &got.json), (200, &created.json));

    // Update: lifetimes only.
    let update = json!({"timeToLiveDuration": {"hours": 6}, "expiryDuration": {"weeks": 1, "days": 1}});
    let updated = t.call("PUT", &config_path(&id), Some(update)).await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(updated.json["timeToLiveDuration"], json!({"hours": 6}));
    assert_eq!(updated.json["expiryDuration"], json!({"weeks": 1, "days": 1}));
    assert_eq!(updated.json["docType"], dt);
    let same_doc_type = json!({"docType": dt, "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}});
    assert_eq!(t.call("PUT", &config_path(&id), Some(same_doc_type)).await.status, 200);
    let other_doc_type = json!({"docType": "x", "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}});
    let refused = t.call("PUT", &config_path(&id), Some(other_doc_type)).await;
    assert_mattr(&refused, 400, "BadRequest", "Validation Error");
    assert_eq!(refused.json["details"][0]["param"], "docType");
    let bits = json!({"statusBits": 2, "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}});
    assert_eq!(t.call("PUT", &config_path(&id), Some(bits)).await.status, 400);
    let ttl_too_long = json!({"timeToLiveDuration": {"days": 3}, "expiryDuration": {"days": 1}});
    assert_eq!(t.call("PUT", &config_path(&id), Some(ttl_too_long)).await.status, 400);
    let unknown = t
        .call(
            "PUT",
            &config_path(UNKNOWN),
            Some(json!({"timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}})),
        )
        .await;
    assert_mattr(&unknown, 404, "NotFound", "not found");

    // Delete; then it is gone, and the docType is free again.
    let deleted = t.call("DELETE", &config_path(&id), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert!(deleted.bytes.is_empty());
    assert_mattr(&t.call("GET", &config_path(&id), None).await, 404, "NotFound", "");
    assert_mattr(&t.call("DELETE", &config_path(&id), None).await, 404, "NotFound", "");
    t.configuration(&dt, 1).await;
}

#[tokio::test]
async fn invalid_configuration_requests_are_400_with_every_problem_listed() {
    let t = Tenant::new(Role::Issuer).await;
    let got = t
        .call(
            "POST",
            CONFIGURATIONS,
            Some(json!({"docType": "", "timeToLiveDuration": "abc", "colour": "blue"})),
        )
        .await;
    assert_mattr(&got, 400, "BadRequest", "Validation Error");
    let params: Vec<_> = got.json["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["param"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(params, ["colour", "docType", "timeToLiveDuration", "expiryDuration"]);
    let ttl = &got.json["details"][2];
    assert_eq!(ttl["location"], "body");
    assert_eq!(ttl["value"], "abc");
    assert!(ttl["msg"].as_str().unwrap().starts_with("must be a Duration"));

    for (body, param) in [
        (
            json!({"docType": "d", "timeToLiveDuration": {"days": 3}, "expiryDuration": {"days": 2}}),
            "timeToLiveDuration",
        ),
        (
            json!({"docType": "d", "timeToLiveDuration": {"days": -1}, "expiryDuration": {"days": 2}}),
            "timeToLiveDuration",
        ),
        (
            json!({"docType": "d", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"years": 11}}),
            "expiryDuration",
        ),
        (
            json!({"docType": "x".repeat(1025), "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}}),
            "docType",
        ),
        (
            json!({"docType": "d", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}, "statusBits": 8}),
            "statusBits",
        ),
    ] {
        let got = t.call("POST", CONFIGURATIONS, Some(body)).await;
        assert_eq!(got.status, 400, "{got:?}");
        assert_eq!(got.json["details"][0]["param"], param, "{got:?}");
    }
    // A docType of exactly 1024 characters is fine.
    let max = json!({"docType": "y".repeat(1024) + &jti()[..0], "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}});
    assert_eq!(t.call("POST", CONFIGURATIONS, Some(max)).await.status, 201);

    // Not JSON, not an object, wrong media type, too large.
    let http = reqwest::Client::new();
    let raw = |ct: &'static str, body: Vec<u8>| {
        http.post(format!("{}{CONFIGURATIONS}", base_url()))
            .bearer_auth(&t.token)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw("application/json", b"{not json".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = raw("text/plain", b"{}".to_vec()).await.unwrap();
    assert_eq!(r.status(), 415);
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "UnsupportedMediaType");
    let r = raw("application/json", vec![b' '; 20_000]).await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(t.call("POST", CONFIGURATIONS, Some(json!([1]))).await.status, 400);
    // Unsupported methods and unknown paths of the API answer in its body too.
    let got = t.call("PATCH", CONFIGURATIONS, Some(json!({}))).await;
    assert_mattr(&got, 405, "MethodNotAllowed", "");
    let got = t
        .call("GET", "/v2/credentials/mobile/status-lists/configurations/x/y", None)
        .await;
    assert_mattr(&got, 404, "NotFound", "No such endpoint");
    // Malformed ids are 400, unknown ones 404.
    let got = t.call("GET", &config_path("not-a-uuid"), None).await;
    assert_mattr(&got, 400, "BadRequest", "Validation Error");
    assert_eq!(got.json["details"][0]["location"], "path");
    assert_eq!(t.call("GET", &config_path(UNKNOWN), None).await.status, 404);
}

#[tokio::test]
async fn the_management_api_needs_a_valid_bearer_token() {
    let http = reqwest::Client::new();
    let withdrawn = Tenant::new(Role::Admin).await;
    {
        use shared::ports::TenantStore;
        let sdk = localstack().await;
        let store = shared::adapters::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables());
        assert!(
            store
                .delete_credential(&shared::domain::tenant::token_hash(&withdrawn.token))
                .await
                .unwrap()
        );
    }
    let forged = shared::domain::tenant::new_token();
    for path in [CONFIGURATIONS, STATUS_LISTS, &status_path(UNKNOWN)] {
        for token in [
            None,
            Some("not-a-token"),
            Some(forged.as_str()),
            Some(withdrawn.token.as_str()),
        ] {
            let got = call(&http, "GET", path, token, None, None).await;
            assert_mattr(&got, 401, "Unauthorized", "");
        }
    }
    let got = call(&http, "POST", MDOC_REGISTER, None, Some(&json!({"docType": "d"})), None).await;
    assert_eq!(got.status, 401);
    // The public endpoints need none.
    let got = call(&http, "GET", &format!("{STATUS_LISTS}/distribution"), None, None, None).await;
    assert_eq!(got.status, 200, "{got:?}");
}

/// 260 configurations listed 100 at a time while others are created: each of the 260 is seen
/// exactly once, in creation order, and the cursor is opaque.
#[tokio::test]
async fn pagination_sees_every_configuration_exactly_once_under_concurrent_inserts() {
    let t = std::sync::Arc::new(Tenant::new(Role::Admin).await);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..13 {
        let t = t.clone();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for i in 0..20 {
                ids.push(t.configuration(&format!("doc-{chunk}-{i}"), 1).await);
            }
            ids
        });
    }
    let mut before = HashSet::new();
    while let Some(ids) = tasks.join_next().await {
        before.extend(ids.unwrap());
    }
    assert_eq!(before.len(), 260);

    // Inserts race the listing.
    let inserter = {
        let t = t.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                t.configuration(&format!("late-{i}"), 1).await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{CONFIGURATIONS}?cursor={c}"),
            None => CONFIGURATIONS.to_string(),
        };
        let page = t.call("GET", &path, None).await;
        assert_eq!(page.status, 200, "{page:?}");
        let data = page.json["data"].as_array().unwrap();
        assert!(data.len() <= 100);
        seen.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        pages += 1;
        match page.json["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(data.len(), 100, "only a full page has a next one");
                assert!(!c.contains('-'), "the cursor is opaque, not an id: {c}");
                cursor = Some(c.to_string());
            }
            None => break,
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    inserter.await.unwrap();
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an item was seen twice");
    assert!(before.is_subset(&unique), "an item was missed");
    assert!(pages >= 3);
    // Creation order (ids are time-ordered).
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen);

    // limit bounds and bad cursors.
    let got = t.call("GET", &format!("{CONFIGURATIONS}?limit=1000"), None).await;
    assert_eq!(got.json["data"].as_array().unwrap().len(), 290);
    assert!(got.json.get("nextCursor").is_none());
    let got = t.call("GET", &format!("{CONFIGURATIONS}?limit=7"), None).await;
    assert_eq!(got.json["data"].as_array().unwrap().len(), 7);
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "limit=-1",
        "limit=5&limit=6",
        "cursor=garbage",
        "cursor=YWZ0ZXI6eA",
    ] {
        let got = t.call("GET", &format!("{CONFIGURATIONS}?{bad}"), None).await;
        assert_mattr(&got, 400, "BadRequest", "Validation Error");
        assert_eq!(got.json["details"][0]["location"], "query", "{bad}");
    }
}

#[tokio::test]
async fn the_status_state_machine() {
    let t = Tenant::new(Role::Issuer).await;
    let dt = doc_type();
    let config_id = t.configuration(&dt, 2).await;
    let r = t.register(&dt).await;
    assert_eq!(r["docType"], dt);
    assert_eq!(r["statusListConfigurationId"], config_id);
    assert_eq!(r["status"], "valid");
    let uri = r["uri"].as_str().unwrap();
    let list_id = r["statusListId"].as_str().unwrap();
    assert_eq!(uri, format!("{}{STATUS_LISTS}/{list_id}/token", cdn_url()));
    let path = status_path(r["credentialId"].as_str().unwrap());

    let get = t.call("GET", &path, None).await;
    assert_eq!((get.status, &get.json), (200, &json!({"status": "valid"})));
    for to in ["suspended", "valid", "suspended", "suspended", "invalid", "invalid"] {
        let set = t.call("POST", &path, Some(json!({"status": to}))).await;
        assert_eq!((set.status, &set.json), (201, &json!({"status": to})), "-> {to}");
        let get = t.call("GET", &path, None).await;
        assert_eq!(get.json, json!({"status": to}));
    }
    for to in ["valid", "suspended"] {
        let refused = t.call("POST", &path, Some(json!({"status": to}))).await;
        assert_mattr(&refused, 400, "BadRequest", "Validation Error");
        assert!(refused.json["details"][0]["msg"].as_str().unwrap().contains("final"));
    }
    assert_eq!(t.call("GET", &path, None).await.json, json!({"status": "invalid"}));

    // Bad bodies, unknown and malformed ids.
    for body in [
        json!({"status": "revoked"}),
        json!({}),
        json!({"status": 1}),
        json!({"status": "valid", "x": 1}),
    ] {
        assert_eq!(t.call("POST", &path, Some(body)).await.status, 400);
    }
    for (method, path) in [
        ("GET", status_path(UNKNOWN)),
        ("DELETE", format!("/v2/credentials/mobile/{UNKNOWN}")),
    ] {
        let unknown = t.call(method, &path, None).await;
        assert_eq!(
            (unknown.status, &unknown.json),
            (404, &json!({"code": "NotFound", "message": "mDoc not found"})),
            "{method} {path}"
        );
    }
    let malformed = t
        .call("POST", &status_path("123"), Some(json!({"status": "valid"})))
        .await;
    assert_mattr(&malformed, 400, "BadRequest", "Validation Error");
    assert_eq!(
        malformed.json["details"],
        json!([{"location": "path", "param": "id", "msg": "Invalid id parameter format", "value": "123"}])
    );

    // A 1-bit configuration has no suspended.
    let one_bit = doc_type();
    t.configuration(&one_bit, 1).await;
    let r = t.register(&one_bit).await;
    let path = status_path(r["credentialId"].as_str().unwrap());
    let refused = t.call("POST", &path, Some(json!({"status": "suspended"}))).await;
    assert_eq!(refused.status, 400);
    assert!(refused.json["details"][0]["msg"].as_str().unwrap().contains("1 bit"));
    assert_eq!(t.call("GET", &path, None).await.json, json!({"status": "valid"}));

    // Registration needs a configured docType.
    let got = t.call("POST", MDOC_REGISTER, Some(json!({"docType": "nothing"}))).await;
    assert_mattr(&got, 400, "BadRequest", "Validation Error");
    assert!(
        got.json["details"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("no status list configuration")
    );
    assert_eq!(t.call("POST", MDOC_REGISTER, Some(json!({}))).await.status, 400);
}

/// `invalid` is final, and asking for it is idempotent: concurrent requests setting one mDoc
/// invalid all succeed (the ones that lose the race find it INVALID already, as asked), and a
/// later change to anything else is refused.
#[tokio::test]
async fn concurrent_invalidations_of_one_mdoc_all_succeed() {
    let t = std::sync::Arc::new(Tenant::new(Role::Issuer).await);
    let dt = doc_type();
    t.configuration(&dt, 2).await;
    let r = t.register(&dt).await;
    let path = status_path(r["credentialId"].as_str().unwrap());
    let sets = (0..12).map(|_| {
        let (t, path) = (t.clone(), path.clone());
        tokio::spawn(async move { t.call("POST", &path, Some(json!({"status": "invalid"}))).await })
    });
    for set in futures_util::future::join_all(sets).await {
        let set = set.unwrap();
        assert_eq!((set.status, &set.json), (201, &json!({"status": "invalid"})), "{set:?}");
    }
    let refused = t.call("POST", &path, Some(json!({"status": "valid"}))).await;
    assert_mattr(&refused, 400, "BadRequest", "Validation Error");
    assert_eq!(t.call("GET", &path, None).await.json, json!({"status": "invalid"}));
}

/// Fetches the public CWT at `uri` and verifies it as a relying party does, against the tenant's
/// IACA (its x5chain leads there); `None` while the new list has no token yet (the pipeline
/// publishes it shortly after the list is created).
async fn verified_cwt(t: &Tenant, uri: &str) -> Option<(shared::VerifiedToken, Vec<u8>)> {
    let http = reqwest::Client::new();
    let iaca = t.iaca_certificate().await;
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap();
    let got = call(&http, "GET", path, None, None, None).await;
    if got.status == 404 {
        return None;
    }
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.headers["content-type"], TokenFormat::Cwt.media_type());
    let expect = shared::Expectations::new(Some(uri), now());
    let verified = shared::domain::token::cwt::verify_chained(&got.bytes, &iaca, &expect).unwrap();
    Some((verified, got.bytes))
}

/// Waits until the public token at `path` exists (any answer but 404).
async fn first_token(path: &str) {
    let http = reqwest::Client::new();
    eventually(PUBLISH_WAIT, &format!("{path}: the new list's first token"), || async {
        (call(&http, "GET", path, None, None, None).await.status != 404).then_some(())
    })
    .await;
}

/// Create a configuration, register an mDoc, set it INVALID: the public CWT shows INVALID at its
/// index (our verifier here; pycose and python-cwt in tests/interop/test_published.py).
#[tokio::test]
async fn an_invalidated_mdoc_shows_invalid_in_the_public_cwt() {
    ensure_pipeline();
    let t = Tenant::new(Role::Issuer).await;
    let dt = doc_type();
    let config_id = t.configuration(&dt, 1).await;
    let mdocs: Vec<Value> = register_many(&t, &dt, 3).await;
    let target = &mdocs[0];
    let uri = target["uri"].as_str().unwrap().to_string();
    let idx = target["idx"].as_u64().unwrap();
    let set = t
        .call(
            "POST",
            &status_path(target["credentialId"].as_str().unwrap()),
            Some(json!({"status": "invalid"})),
        )
        .await;
    assert_eq!(set.status, 201);
    let (verified, cwt) = eventually(PUBLISH_WAIT, "INVALID in the published CWT", || async {
        let (v, bytes) = verified_cwt(&t, &uri).await?;
        (v.token.list.get(idx).unwrap() == Status::INVALID).then_some((v, bytes))
    })
    .await;
    assert_eq!(verified.format, TokenFormat::Cwt);
    assert_eq!(verified.token.list.bits().get(), 1);
    assert_eq!(verified.token.list.size(), 100_000);
    // Configuration lifetimes: ttl 5 minutes, expiry 1 hour.
    assert_eq!(verified.token.ttl, Some(300));
    assert_eq!(verified.token.exp.unwrap() - verified.token.iat, 3600);
    assert_eq!(
        verified.token.aggregation_uri.as_deref(),
        Some(format!("{}{STATUS_LISTS}/distribution", cdn_url()).as_str())
    );
    let mut expected = HashMap::from([(idx.to_string(), 1u8)]);
    for other in &mdocs[1..] {
        if other["uri"] == target["uri"] {
            let i = other["idx"].as_u64().unwrap();
            assert_eq!(verified.token.list.get(i).unwrap(), Status::VALID);
            expected.insert(i.to_string(), 0);
        }
    }

    // A configuration update applies at the list's next publish.
    let update = json!({"timeToLiveDuration": {"minutes": 10}, "expiryDuration": {"hours": 2}});
    assert_eq!(t.call("PUT", &config_path(&config_id), Some(update)).await.status, 200);
    let second = &mdocs[1];
    let path = status_path(second["credentialId"].as_str().unwrap());
    assert_eq!(
        t.call("POST", &path, Some(json!({"status": "invalid"}))).await.status,
        201
    );
    let second_idx = second["idx"].as_u64().unwrap();
    let second_uri = second["uri"].as_str().unwrap().to_string();
    let republished = eventually(PUBLISH_WAIT, "the second change published", || async {
        let (v, _) = verified_cwt(&t, &second_uri).await?;
        (v.token.list.get(second_idx).unwrap() == Status::INVALID).then_some(v)
    })
    .await;
    assert_eq!(republished.token.ttl, Some(600));
    assert_eq!(republished.token.exp.unwrap() - republished.token.iat, 7200);

    if let Ok(dir) = std::env::var("PUBLISHED_TOKENS_DIR") {
        // What a relying party trusts: the tenant's IACA, as the API shows it.
        let iaca = t.call("GET", &format!("{IACAS}/{}", t.trust().await), None).await;
        std::fs::create_dir_all(&dir).unwrap();
        let fixture = json!({
            "iaca_pem": iaca.json["certificatePem"],
            "uri": uri,
            "cwt_hex": hex::encode(&cwt),
            "statuses": expected,
            "aggregation_uri": format!("{}{STATUS_LISTS}/distribution", cdn_url()),
        });
        std::fs::write(format!("{dir}/mdoc.json"), serde_json::to_vec_pretty(&fixture).unwrap()).unwrap();
    }
}

/// Registers `n` mDocs of `doc_type` concurrently.
async fn register_many(t: &Tenant, doc_type: &str, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let calls: Vec<_> = (0..n).map(|_| t.register(doc_type)).collect();
    for c in calls {
        out.push(c.await);
    }
    out
}

#[tokio::test]
async fn deleting_an_mdoc_keeps_its_index_retired_with_its_last_status() {
    ensure_pipeline();
    let t = Tenant::new(Role::Admin).await;
    let dt = doc_type();
    let config_id = t.configuration(&dt, 2).await;
    let r = t.register(&dt).await;
    let id = r["credentialId"].as_str().unwrap();
    let (uri, idx) = (r["uri"].as_str().unwrap(), r["idx"].as_u64().unwrap());
    assert_eq!(
        t.call("POST", &status_path(id), Some(json!({"status": "suspended"})))
            .await
            .status,
        201
    );
    let deleted = t.call("DELETE", &format!("/v2/credentials/mobile/{id}"), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_mattr(&t.call("GET", &status_path(id), None).await, 404, "NotFound", "");
    assert_eq!(
        t.call("POST", &status_path(id), Some(json!({"status": "valid"})))
            .await
            .status,
        404
    );
    assert_mattr(
        &t.call("DELETE", &format!("/v2/credentials/mobile/{id}"), None).await,
        404,
        "NotFound",
        "",
    );
    assert_eq!(t.call("DELETE", "/v2/credentials/mobile/nope", None).await.status, 400);
    // The index keeps its last status in the published list, and is never handed out again.
    eventually(PUBLISH_WAIT, "SUSPENDED published", || async {
        let (v, _) = verified_cwt(&t, uri).await?;
        (v.token.list.get(idx).unwrap() == Status::SUSPENDED).then_some(())
    })
    .await;
    let sdk = localstack().await;
    let store = shared::adapters::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables());
    let entry = shared::ports::IssuerStore::entry(&store, &list_id_of_mdoc(uri), idx)
        .await
        .unwrap()
        .expect("the entry stays, so the index is never reused");
    assert_eq!(entry.status, 2);

    // Its configuration is in use by a list: it cannot be deleted.
    let refused = t.call("DELETE", &config_path(&config_id), None).await;
    assert_eq!(
        (refused.status, &refused.json),
        (
            400,
            &json!({"code": "BadRequest", "message": "Status list configuration is in use by at least one status list"})
        )
    );
    assert_eq!(t.call("GET", &config_path(&config_id), None).await.status, 200);
}

fn list_id_of_mdoc(uri: &str) -> String {
    uri.rsplit('/').nth(1).unwrap().to_string()
}

#[tokio::test]
async fn status_lists_are_listed_and_read_with_their_token() {
    ensure_pipeline(); // it publishes the new list's first token
    let t = Tenant::new(Role::Issuer).await;
    let dt = doc_type();
    let config_id = t.configuration(&dt, 1).await;
    let r = t.register(&dt).await;
    let list_id = r["statusListId"].as_str().unwrap();
    first_token(&format!("{STATUS_LISTS}/{list_id}/token")).await;
    // The publisher records the token on the list (its IACA) just after writing it.
    let page = eventually(
        std::time::Duration::from_secs(10),
        "the token recorded on the list",
        || async {
            let page = t.call("GET", STATUS_LISTS, None).await;
            (page.status != 200 || !page.json["data"][0]["iacaId"].is_null()).then_some(page)
        },
    )
    .await;
    assert_eq!(page.status, 200, "{page:?}");
    let data = page.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "one open list per docType");
    let list = &data[0];
    assert_eq!(list["id"], list_id);
    assert_eq!(list["statusListConfigurationId"], config_id);
    assert_eq!(list["listSize"], 100_000);
    // Signed under the tenant's IACA, whose id the view names.
    assert_eq!(list["iacaId"], json!(t.trust().await));
    let cwt = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        list["list"].as_str().unwrap(),
    )
    .unwrap();
    let decoded = shared::domain::token::cwt::decode_unverified(&cwt).unwrap();
    assert_eq!(decoded.token.sub, r["uri"].as_str().unwrap());
    let one = t.call("GET", &format!("{STATUS_LISTS}/{list_id}"), None).await;
    assert_eq!((one.status, &one.json), (200, list));
    assert_eq!(
        t.call("GET", &format!("{STATUS_LISTS}/{UNKNOWN}"), None).await.status,
        404
    );
    assert_eq!(t.call("GET", &format!("{STATUS_LISTS}/xyz"), None).await.status, 400);
    assert_eq!(
        t.call("GET", &format!("{STATUS_LISTS}?limit=0"), None).await.status,
        400
    );

    // Public: the token and the distribution document.
    let http = reqwest::Client::new();
    // Named once its first token is recorded (just after the token is written).
    let uris = eventually(PUBLISH_WAIT, "the new list in the distribution document", || async {
        let dist = call(&http, "GET", &format!("{STATUS_LISTS}/distribution"), None, None, None).await;
        assert_eq!(dist.status, 200);
        let uris = dist.json["status_lists"].as_array().unwrap().to_vec();
        uris.contains(&r["uri"]).then_some(uris)
    })
    .await;
    assert!(
        uris.iter().all(|u| u.as_str().unwrap().ends_with("/token")),
        "only mDoc lists"
    );
    let token = call(
        &http,
        "GET",
        &format!("{STATUS_LISTS}/{list_id}/token"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(token.status, 200);
    assert_eq!(token.bytes, cwt);
    let unknown = call(
        &http,
        "GET",
        &format!("{STATUS_LISTS}/{UNKNOWN}/token"),
        None,
        None,
        None,
    )
    .await;
    assert_mattr(&unknown, 404, "NotFound", "");
    let malformed = call(&http, "GET", &format!("{STATUS_LISTS}/abc/token"), None, None, None).await;
    assert_mattr(&malformed, 404, "NotFound", "Status List not found");
    // The spec's media type by default, MATTR's when asked for.
    for (accept, label) in [
        (None, "application/statuslist+cwt"),
        (Some("application/cwt"), "application/cwt"),
        (Some("application/statuslist+cwt"), "application/statuslist+cwt"),
        (Some("application/json"), "application/statuslist+cwt"),
    ] {
        let mut request = http.get(format!("{}{STATUS_LISTS}/{list_id}/token", base_url()));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let got = request.send().await.unwrap();
        assert_eq!(got.status(), 200, "{accept:?}");
        assert_eq!(got.headers()["content-type"], label, "{accept:?}");
        assert_eq!(got.bytes().await.unwrap().to_vec(), cwt, "{accept:?}");
    }
}

/// A configuration whose tokens the re-signer could not keep fresh is refused; a token that
/// expired anyway (re-signing failed until past its `exp`) answers 410 at its public endpoint.
#[tokio::test]
async fn an_expired_token_is_gone() {
    use shared::ports::{ObjectWrite, Precondition, PutOutcome};
    ensure_pipeline(); // it publishes the new list's first token
    let t = Tenant::new(Role::Admin).await;
    let dt = doc_type();
    let body = json!({"docType": dt, "timeToLiveDuration": {"seconds": 1}, "expiryDuration": {"seconds": 1}});
    let refused = t.call("POST", CONFIGURATIONS, Some(body)).await;
    assert_mattr(&refused, 400, "BadRequest", "Validation Error");
    assert_eq!(refused.json["details"][0]["param"], "expiryDuration", "{refused:?}");
    // 2 passes of 20 s (tests/run-integration.sh), the 300 s slack and a minute of caching.
    let msg = refused.json["details"][0]["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("must be at least 400 seconds: tokens are re-signed every 20 seconds"),
        "{msg}"
    );
    t.configuration(&dt, 1).await;
    let r = t.register(&dt).await;
    let list_id = r["statusListId"].as_str().unwrap();
    let path = format!("{STATUS_LISTS}/{list_id}/token");
    first_token(&path).await;
    // The stored token outlived its exp: what a KMS outage longer than the margin leaves.
    let h = Harness::in_process().await;
    let objects = &h.app.publisher.objects;
    let key = shared::publisher::object_key(list_id, TokenFormat::Cwt);
    let current = objects.get(&key).await.unwrap().unwrap();
    let expired = ObjectWrite {
        content_type: &current.content_type,
        cache_control: "no-cache",
        seq: current.meta.seq,
        iat: now() - 7_200,
        exp: now() - 1,
    };
    let put = objects
        .put(
            &key,
            current.body.clone(),
            &expired,
            Precondition::Matches(current.meta.etag.clone()),
        )
        .await
        .unwrap();
    assert!(matches!(put, PutOutcome::Written { version_id: Some(_) }), "{put:?}");
    let http = reqwest::Client::new();
    let got = call(&http, "GET", &path, None, None, None).await;
    assert_mattr(&got, 410, "Gone", "expired");
}

#[tokio::test]
async fn tenants_see_only_their_own_configurations_lists_and_mdocs() {
    let (a, b) = (Tenant::new(Role::Admin).await, Tenant::new(Role::Admin).await);
    let dt = doc_type();
    let config_id = a.configuration(&dt, 2).await;
    let r = a.register(&dt).await;
    let credential = r["credentialId"].as_str().unwrap();
    let list_id = r["statusListId"].as_str().unwrap();

    let update = json!({"timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}});
    for (method, path, body) in [
        ("GET", config_path(&config_id), None),
        ("PUT", config_path(&config_id), Some(update)),
        ("DELETE", config_path(&config_id), None),
        ("GET", status_path(credential), None),
        ("POST", status_path(credential), Some(json!({"status": "invalid"}))),
        ("DELETE", format!("/v2/credentials/mobile/{credential}"), None),
        ("GET", format!("{STATUS_LISTS}/{list_id}"), None),
    ] {
        let got = b.call(method, &path, body).await;
        assert_mattr(&got, 404, "NotFound", "not found");
    }
    assert_eq!(b.call("GET", CONFIGURATIONS, None).await.json["data"], json!([]));
    assert_eq!(b.call("GET", STATUS_LISTS, None).await.json["data"], json!([]));
    // B cannot register against A's docType, but may configure the same docType for itself.
    assert_eq!(
        b.call("POST", MDOC_REGISTER, Some(json!({"docType": dt}))).await.status,
        400
    );
    b.configuration(&dt, 1).await;
    // A's data is untouched.
    assert_eq!(
        a.call("GET", &status_path(credential), None).await.json,
        json!({"status": "valid"})
    );
    assert_eq!(a.call("GET", &config_path(&config_id), None).await.status, 200);
    assert_eq!(
        a.call("GET", CONFIGURATIONS, None).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn races_never_duplicate_or_corrupt() {
    let t = std::sync::Arc::new(Tenant::new(Role::Admin).await);
    t.trust().await; // its IACA, so its mDocs register
    // Twelve creates of one docType: exactly one wins.
    let dt = doc_type();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (t, dt) = (t.clone(), dt.clone());
        tasks.spawn(async move {
            let body = json!({"docType": dt, "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}});
            t.call("POST", CONFIGURATIONS, Some(body)).await.status
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = tasks.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [[201].as_slice(), &[409; 11]].concat());

    // 60 concurrent registrations: distinct credentials and distinct (list, idx).
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let (t, dt) = (t.clone(), dt.clone());
        tasks.spawn(async move {
            let r = t.register(&dt).await;
            (
                r["credentialId"].as_str().unwrap().to_string(),
                r["uri"].to_string(),
                r["idx"].as_u64().unwrap(),
            )
        });
    }
    let mut credentials = HashSet::new();
    let mut indices = HashSet::new();
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        assert!(credentials.insert(r.0));
        assert!(indices.insert((r.1, r.2)), "an index was handed out twice");
    }
    assert_eq!(indices.len(), 60);

    // A configuration deleted while its first mDoc registers: either the delete wins (and the
    // registration is refused cleanly) or the registration wins (and the delete is refused).
    for _ in 0..4 {
        let dt = doc_type();
        let id = t.configuration(&dt, 1).await;
        let path = config_path(&id);
        let (reg, del) = tokio::join!(
            t.call("POST", MDOC_REGISTER, Some(json!({"docType": dt}))),
            t.call("DELETE", &path, None)
        );
        match (reg.status, del.status) {
            (201, 400) => assert_eq!(t.call("GET", &config_path(&id), None).await.status, 200),
            (400, 204) => assert_eq!(t.call("GET", &config_path(&id), None).await.status, 404),
            other => panic!("inconsistent outcome {other:?}: {reg:?} {del:?}"),
        }
    }
}

/// Every operation emits exactly one START, then one SUCCESS or FAIL, with the envelope, on the
/// stack's EventBridge bus (read back through a rule to an SQS queue).
#[tokio::test]
async fn every_operation_emits_start_then_success_or_fail() {
    ensure_pipeline(); // it publishes the new list's first token, which "token" reads
    let sdk = localstack().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let run = &jti()[..12];
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("analytics-{run}"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let bus = stack_env("ANALYTICS_BUS_NAME");
    let rule = format!("analytics-{run}");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(json!({"source": ["statuslist.mdoc"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let t = Tenant::new(Role::Issuer).await;
    t.trust().await; // its IACA, so its mDocs register
    let dt = doc_type();
    let rid = |n: &str| format!("{run}-{n}");
    let create = json!({"docType": dt, "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 2}});
    let created = t
        .call_as(&rid("create"), "POST", CONFIGURATIONS, Some(create.clone()))
        .await;
    let config_id = created.json["id"].as_str().unwrap().to_string();
    t.call_as(&rid("create-dup"), "POST", CONFIGURATIONS, Some(create))
        .await;
    t.call_as(&rid("list"), "GET", CONFIGURATIONS, None).await;
    t.call_as(&rid("get"), "GET", &config_path(&config_id), None).await;
    let update = json!({"timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 3}});
    t.call_as(&rid("update"), "PUT", &config_path(&config_id), Some(update))
        .await;
    let reg = t
        .call_as(&rid("register"), "POST", MDOC_REGISTER, Some(json!({"docType": dt})))
        .await;
    let credential = reg.json["credentialId"].as_str().unwrap().to_string();
    let list_id = reg.json["statusListId"].as_str().unwrap().to_string();
    t.call_as(&rid("status-get"), "GET", &status_path(&credential), None)
        .await;
    t.call_as(
        &rid("status-set"),
        "POST",
        &status_path(&credential),
        Some(json!({"status": "invalid"})),
    )
    .await;
    t.call_as(
        &rid("status-set-fail"),
        "POST",
        &status_path(&credential),
        Some(json!({"status": "valid"})),
    )
    .await;
    t.call_as(&rid("lists"), "GET", STATUS_LISTS, None).await;
    t.call_as(&rid("list-get"), "GET", &format!("{STATUS_LISTS}/{list_id}"), None)
        .await;
    first_token(&format!("{STATUS_LISTS}/{list_id}/token")).await; // its calls carry no run id
    t.call_as(&rid("token"), "GET", &format!("{STATUS_LISTS}/{list_id}/token"), None)
        .await;
    t.call_as(
        &rid("distribution"),
        "GET",
        &format!("{STATUS_LISTS}/distribution"),
        None,
    )
    .await;
    t.call_as(
        &rid("mdoc-delete"),
        "DELETE",
        &format!("/v2/credentials/mobile/{credential}"),
        None,
    )
    .await;
    t.call_as(&rid("config-delete"), "DELETE", &config_path(&config_id), None)
        .await;

    let expected: Vec<(&str, &str, &str)> = vec![
        (
            "create",
            "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_CREATE",
            "SUCCESS",
        ),
        (
            "create-dup",
            "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_CREATE",
            "FAIL",
        ),
        (
            "list",
            "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_RETRIEVE_LIST",
            "SUCCESS",
        ),
        ("get", "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_RETRIEVE", "SUCCESS"),
        (
            "update",
            "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_UPDATE",
            "SUCCESS",
        ),
        ("register", "MOBILE_CREDENTIAL_STATUS_CREATE", "SUCCESS"),
        ("status-get", "MOBILE_CREDENTIAL_STATUS_RETRIEVE", "SUCCESS"),
        ("status-set", "MOBILE_CREDENTIAL_STATUS_SET", "SUCCESS"),
        ("status-set-fail", "MOBILE_CREDENTIAL_STATUS_SET", "FAIL"),
        ("lists", "MOBILE_CREDENTIAL_STATUS_LIST_RETRIEVE_LIST", "SUCCESS"),
        ("list-get", "MOBILE_CREDENTIAL_STATUS_LIST_RETRIEVE", "SUCCESS"),
        ("token", "MOBILE_CREDENTIAL_STATUS_LIST_TOKEN_RETRIEVE", "SUCCESS"),
        ("distribution", "MOBILE_CREDENTIAL_STATUS_LIST_DISTRIBUTION", "SUCCESS"),
        ("mdoc-delete", "USER_CREDENTIAL_DELETE", "SUCCESS"),
        (
            "config-delete",
            "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_DELETE",
            "FAIL",
        ),
    ];
    let mut by_request: HashMap<String, Vec<Value>> = HashMap::new();
    let want = expected.len() * 2;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while by_request.values().map(Vec::len).sum::<usize>() < want && std::time::Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let detail = envelope["detail"].clone();
            assert_eq!(envelope["detail-type"], detail["type"]);
            let request_id = sent_request_id(detail["requestId"].as_str().unwrap());
            if request_id.starts_with(run) {
                by_request.entry(request_id).or_default().push(detail);
            }
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(by_request.len(), expected.len(), "{:?}", by_request.keys());
    for (name, event, outcome) in expected {
        let got = by_request
            .get_mut(&rid(name))
            .unwrap_or_else(|| panic!("no events for {name}"));
        got.sort_by_key(|e| {
            (
                e["timestamp"].as_i64().unwrap(),
                !e["type"].as_str().unwrap().ends_with("_START"),
            )
        });
        let types: Vec<_> = got.iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
        assert_eq!(
            types,
            [format!("{event}_START"), format!("{event}_{outcome}")],
            "{name}"
        );
        assert!(got[0]["timestamp"].as_i64() <= got[1]["timestamp"].as_i64());
        for e in got.iter() {
            for field in ["id", "type", "tenantId", "requestId", "timestamp", "data"] {
                assert!(e.get(field).is_some(), "{name}: {field} in {e}");
            }
            let public = matches!(name, "token" | "distribution");
            assert_eq!(e["tenantId"], if public { "" } else { t.id.as_str() }, "{name}");
        }
    }
    events
        .remove_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .ids("queue")
        .send()
        .await
        .unwrap();
    events
        .delete_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    sqs.delete_queue().queue_url(&queue_url).send().await.unwrap();
}

/// The Lambda path: the authorizer answers API Gateway's REQUEST event from the tenants table, and
/// a management function trusts the tenant API Gateway passes on from the authorizer (the sample
/// events of `events/`, with this test's tenant).
#[tokio::test]
async fn the_lambda_authorizer_and_a_function_behind_it() {
    use shared::lambda::{AuthorizerRefusal, authorizer_answer};
    use tower::ServiceExt;
    let t = Tenant::new(Role::Issuer).await;
    let sdk = localstack().await;
    let store = shared::adapters::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables());
    let sample: Value = serde_json::from_str(include_str!("../events/authorizer.json")).unwrap();
    let mut event = sample.clone();
    event["headers"]["Authorization"] = json!(format!("Bearer {}", t.token));
    let allow = authorizer_answer(&store, &event).await.unwrap();
    assert_eq!(allow["principalId"], t.id);
    assert_eq!(allow["context"], json!({"tenantId": t.id, "role": "issuer"}));
    let statement = &allow["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "execute-api:Invoke");
    assert_eq!(
        statement["Resource"],
        "arn:aws:execute-api:eu-west-2:123456789012:abc123/dev/*"
    );
    // The sample's token is well-formed but unknown; no header; another scheme.
    assert!(matches!(
        authorizer_answer(&store, &sample).await,
        Err(AuthorizerRefusal::Unauthorized)
    ));
    event["headers"] = json!({"authorization": format!("Basic {}", t.token)});
    assert!(matches!(
        authorizer_answer(&store, &event).await,
        Err(AuthorizerRefusal::Unauthorized)
    ));
    event["headers"] = json!({});
    assert!(matches!(
        authorizer_answer(&store, &event).await,
        Err(AuthorizerRefusal::Unauthorized)
    ));

    // The function: the request context names the tenant; the sample's (unknown) bearer token is
    // not checked again.
    let dt = doc_type();
    t.configuration(&dt, 1).await;
    let r = t.register(&dt).await;
    let id = r["credentialId"].as_str().unwrap();
    let app = shared::app::App::from_config(config()).await.unwrap();
    let router = shared::routes::router(app, Some("mdoc-status-get"));
    let call = |tenant: &str| {
        let mut e: Value = serde_json::from_str(include_str!("../events/mdoc-status-get.json")).unwrap();
        e["path"] = json!(format!("/v2/credentials/mobile/{id}/status"));
        e["pathParameters"] = json!({"credentialId": id});
        e["requestContext"]["stage"] = Value::Null; // the functions ignore the stage in paths
        e["requestContext"]["authorizer"]["tenantId"] = json!(tenant);
        let request = lambda_http::request::from_str(&e.to_string()).unwrap();
        let request = request.map(|b| axum::body::Body::from(b.to_vec()));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    assert_eq!(call(&t.id).await, (200, json!({"status": "valid"})));
    // Another tenant in the context: the mDoc is not theirs.
    assert_eq!(call("someone-else").await.0, 404);
}
