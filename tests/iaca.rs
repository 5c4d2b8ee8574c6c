//! The tenants' IACAs (`/v2/credentials/mobile/iacas`) over real HTTP, each route its own function
//! behind the topology's API Gateway, against LocalStack (DynamoDB, KMS): managed IACAs (a KMS key
//! and an ISO 18013-5 IACA certificate, checked by OpenSSL), unmanaged ones registered from a
//! certificate, activation (one at a time), deletion, the per-tenant limit under racing creates,
//! validation, and tenant isolation.

use integration_tests::*;
use p256::ecdsa::{SigningKey, signature::Signer};
use serde_json::{Value, json};
use shared::domain::iaca::{self, ManagedRequest};
use shared::domain::tenant::Role;

fn iaca_path(id: &str) -> String {
    format!("{IACAS}/{id}")
}

fn id_of(answer: &Answer) -> String {
    answer.json["id"].as_str().expect("an id").to_string()
}

/// An IACA certificate of our own key, as an issuer that keeps its key would bring it.
fn own_certificate(not_before: i64, not_after: i64) -> String {
    let key = SigningKey::random(&mut rand::thread_rng());
    let request = ManagedRequest {
        common_name: "Issuer-held IACA".into(),
        country: "NZ".into(),
        state_or_province: None,
        not_before,
        not_after,
    };
    let tbs = iaca::managed_certificate(
        &request,
        &key.verifying_key().into(),
        rand::random(),
        "https://issuer.example",
    )
    .unwrap();
    let signature: p256::ecdsa::Signature = key.sign(tbs.bytes());
    iaca::pem_of(&tbs.assemble(&signature).unwrap()).unwrap()
}

/// OpenSSL's view: a self-signed certificate that verifies as its own trust anchor, strictly.
fn openssl_verifies(pem: &str) -> String {
    let dir = std::env::temp_dir().join(format!("iaca-{}", &jti()[..8]));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("iaca.pem");
    std::fs::write(&file, pem).unwrap();
    let verify = std::process::Command::new("openssl")
        .args(["verify", "-x509_strict", "-check_ss_sig", "-CAfile"])
        .arg(&file)
        .arg(&file)
        .output()
        .expect("openssl runs");
    assert!(
        verify.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&text.stdout).into_owned()
}

#[tokio::test]
async fn a_managed_iaca_is_created_inactive_with_a_certificate_to_the_iaca_profile() {
    let t = Tenant::new(Role::Admin).await;
    let body = json!({"commonName": "Example IACA", "country": "AU", "stateOrProvinceName": "AU-NSW"});
    let created = t.call("POST", IACAS, Some(body)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let c = &created.json;
    assert_eq!(
        (c["active"].clone(), c["isManaged"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(c["certificateData"]["country"], "AU");
    assert_eq!(c["certificateData"]["commonName"], "Example IACA");
    assert_eq!(c["certificateData"]["stateOrProvinceName"], "AU-NSW");
    let pem = c["certificatePem"].as_str().unwrap();
    // The fingerprint is the SHA-256 of the DER.
    let parsed = iaca::read_certificate(pem).unwrap();
    assert_eq!(c["certificateFingerprint"], json!(parsed.fingerprint));
    assert_eq!(parsed.not_after, iaca::add_years(parsed.not_before, 10));
    // OpenSSL (not our code) checks the signature and reads the profile.
    let text = openssl_verifies(pem);
    for expected in [
        "Basic Constraints: critical",
        "CA:TRUE, pathlen:0",
        "Key Usage: critical",
        "Certificate Sign, CRL Sign",
        "Subject Key Identifier",
        "Issuer Alternative Name",
        "ecdsa-with-SHA256",
        "NIST CURVE: P-256",
        "C = AU, ST = AU-NSW, CN = Example IACA",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    let got = t.call("GET", &iaca_path(&id_of(&created)), None).await;
    assert_eq!((got.status, &got.json), (200, c));
}

#[tokio::test]
async fn one_iaca_is_active_at_a_time_and_the_active_one_is_not_deleted() {
    let t = Tenant::new(Role::Issuer).await;
    let a = id_of(
        &t.call("POST", IACAS, Some(json!({"commonName": "A", "country": "AU"})))
            .await,
    );
    let b = id_of(
        &t.call("POST", IACAS, Some(json!({"commonName": "B", "country": "AU"})))
            .await,
    );
    let activate = |on: bool| Some(json!({ "active": on }));
    let got = t.call("PUT", &iaca_path(&a), activate(true)).await;
    assert_eq!((got.status, got.json["active"].clone()), (200, json!(true)), "{got:?}");
    // Activating B deactivates A.
    assert_eq!(t.call("PUT", &iaca_path(&b), activate(true)).await.json["active"], true);
    let active: Vec<_> = t.call("GET", IACAS, None).await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(active, vec![(a.clone(), false), (b.clone(), true)]);
    // Deactivating A (inactive) changes nothing; B stays active.
    assert_eq!(
        t.call("PUT", &iaca_path(&a), activate(false)).await.json["active"],
        false
    );
    assert_eq!(t.call("GET", &iaca_path(&b), None).await.json["active"], true);
    // The active IACA is kept.
    let refused = t.call("DELETE", &iaca_path(&b), None).await;
    assert_mattr(&refused, 400, "BadRequest", "deactivate it first");
    assert_eq!(
        t.call("PUT", &iaca_path(&b), activate(false)).await.json["active"],
        false
    );
    assert_eq!(t.call("DELETE", &iaca_path(&b), None).await.status, 204);
    assert_mattr(
        &t.call("GET", &iaca_path(&b), None).await,
        404,
        "NotFound",
        "IACA not found",
    );
    assert_mattr(
        &t.call("DELETE", &iaca_path(&b), None).await,
        404,
        "NotFound",
        "IACA not found",
    );
    // Racing activations of two IACAs leave exactly one active.
    let c = id_of(
        &t.call("POST", IACAS, Some(json!({"commonName": "C", "country": "AU"})))
            .await,
    );
    let calls = (0..8)
        .map(|i| {
            (
                "PUT",
                iaca_path(if i % 2 == 0 { &a } else { &c }),
                json!({"active": true}),
            )
        })
        .collect();
    let statuses = concurrently(&t, calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let page = t.call("GET", IACAS, None).await.json;
    let actives = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["active"] == true)
        .count();
    assert_eq!(actives, 1, "{page}");
}

/// Every call at once (one task each); their statuses in the order given.
async fn concurrently(t: &Tenant, calls: Vec<(&'static str, String, Value)>) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (method, path, body)) in calls.into_iter().enumerate() {
        let token = t.token.clone();
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            (
                i,
                call(&http, method, &path, Some(&token), Some(&body), None).await.status,
            )
        });
    }
    let mut out = tasks.join_all().await;
    out.sort();
    out.into_iter().map(|(_, s)| s).collect()
}

#[tokio::test]
async fn a_tenant_has_at_most_three_iacas_however_creates_race() {
    let t = Tenant::new(Role::Admin).await;
    let pem = own_certificate(now() - 60, now() + 86_400 * 365);
    let calls = (0..6)
        .map(|_| ("POST", IACAS.to_string(), json!({ "certificatePem": pem })))
        .collect();
    let mut statuses = concurrently(&t, calls).await;
    statuses.sort();
    assert_eq!(statuses, [201, 201, 201, 400, 400, 400]);
    let page = t.call("GET", IACAS, None).await.json;
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let refused = t
        .call("POST", IACAS, Some(json!({"commonName": "D", "country": "AU"})))
        .await;
    assert_mattr(&refused, 400, "BadRequest", "at most 3 IACAs");
    // Pages of one.
    let first = t.call("GET", &format!("{IACAS}?limit=1"), None).await.json;
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = t
        .call("GET", &format!("{IACAS}?limit=1&cursor={cursor}"), None)
        .await
        .json;
    assert_ne!(second["data"][0]["id"], first["data"][0]["id"]);
}

#[tokio::test]
async fn an_unmanaged_iaca_is_registered_from_a_valid_ca_certificate() {
    let t = Tenant::new(Role::Admin).await;
    let pem = own_certificate(now() - 60, now() + 86_400 * 365);
    let got = t.call("POST", IACAS, Some(json!({ "certificatePem": pem }))).await;
    assert_eq!(got.status, 201, "{got:?}");
    assert_eq!(
        (got.json["isManaged"].clone(), got.json["active"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(got.json["certificateData"]["country"], "NZ");
    assert_eq!(got.json["certificatePem"].as_str().unwrap().trim(), pem.trim());
    let detail = |answer: &Answer| -> (String, String) {
        let d = &answer.json["details"][0];
        (
            d["param"].as_str().unwrap_or("").into(),
            d["msg"].as_str().unwrap_or("").into(),
        )
    };
    let expired = own_certificate(now() - 86_400 * 10, now() - 86_400);
    let refused = t.call("POST", IACAS, Some(json!({ "certificatePem": expired }))).await;
    assert_mattr(&refused, 400, "BadRequest", "Validation Error");
    assert_eq!(detail(&refused).0, "certificatePem");
    assert!(detail(&refused).1.starts_with("is not valid now"), "{refused:?}");
    let garbage = t
        .call(
            "POST",
            IACAS,
            Some(json!({ "certificatePem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" })),
        )
        .await;
    assert_eq!(detail(&garbage).0, "certificatePem", "{garbage:?}");
    // A certificate whose signature does not verify under its own key.
    let mut tampered = iaca::read_certificate(&pem).unwrap().der;
    let at = tampered.len() - 10;
    tampered[at] ^= 0x55;
    // Only bytes of the signature changed: it still reads as a certificate.
    let bad = iaca::pem_of(&tampered).expect("a certificate with another signature");
    let refused = t.call("POST", IACAS, Some(json!({ "certificatePem": bad }))).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(detail(&refused).0, "certificatePem");
    // An IACA not yet valid cannot be activated.
    let later = own_certificate(now() + 86_400, now() + 86_400 * 365);
    let refused = t.call("POST", IACAS, Some(json!({ "certificatePem": later }))).await;
    assert!(detail(&refused).1.starts_with("is not valid now"), "{refused:?}");
    let future = t
        .call("POST", IACAS, Some(json!({"commonName": "Next", "country": "AU", "notBefore": "2099-01-01T00:00:00Z", "notAfter": "2110-01-01T00:00:00Z"})))
        .await;
    assert_eq!(future.status, 201, "{future:?}");
    assert_eq!(future.json["certificateData"]["notBefore"], "2099-01-01T00:00:00Z");
    let refused = t
        .call("PUT", &iaca_path(&id_of(&future)), Some(json!({"active": true})))
        .await;
    assert_mattr(&refused, 400, "BadRequest", "Validation Error");
    assert!(
        detail(&refused)
            .1
            .starts_with("an IACA can only be activated within its validity")
    );
}

#[tokio::test]
async fn invalid_iaca_requests_are_400_with_every_problem_listed() {
    let t = Tenant::new(Role::Admin).await;
    let params = |answer: &Answer| -> Vec<String> {
        answer.json["details"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|d| d["param"].as_str().unwrap().to_string())
            .collect()
    };
    let bad = t
        .call(
            "POST",
            IACAS,
            Some(json!({"country": "au", "stateOrProvinceName": "NZ-AUK", "notBefore": "2020-01-01T00:00:00Z", "notAfter": "soon", "colour": 1})),
        )
        .await;
    assert_mattr(&bad, 400, "BadRequest", "Validation Error");
    assert_eq!(
        params(&bad),
        [
            "colour",
            "commonName",
            "country",
            "stateOrProvinceName",
            "notAfter",
            "notBefore"
        ]
    );
    let mixed = t
        .call("POST", IACAS, Some(json!({"certificatePem": "x", "country": "AU"})))
        .await;
    assert_eq!(params(&mixed), ["country"]);
    let too_long = t
        .call(
            "POST",
            IACAS,
            Some(json!({"commonName": "x", "country": "AU", "notAfter": "2070-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(params(&too_long), ["notAfter"]);
    let id = id_of(
        &t.call("POST", IACAS, Some(json!({"commonName": "x", "country": "AU"})))
            .await,
    );
    let not_bool = t.call("PUT", &iaca_path(&id), Some(json!({"active": "yes"}))).await;
    assert_eq!(params(&not_bool), ["active"]);
    let empty = t.call("PUT", &iaca_path(&id), Some(json!({}))).await;
    assert_eq!(params(&empty), ["active"]);
    let malformed = t.call("GET", &iaca_path("not-a-uuid"), None).await;
    assert_mattr(&malformed, 400, "BadRequest", "Validation Error");
    assert_eq!(malformed.json["details"][0]["msg"], "Invalid id parameter format");
}

#[tokio::test]
async fn tenants_see_only_their_own_iacas() {
    let (a, b) = (Tenant::new(Role::Admin).await, Tenant::new(Role::Admin).await);
    let id = id_of(
        &a.call("POST", IACAS, Some(json!({"commonName": "A", "country": "AU"})))
            .await,
    );
    for (method, body) in [("GET", None), ("PUT", Some(json!({"active": true}))), ("DELETE", None)] {
        let got = b.call(method, &iaca_path(&id), body).await;
        assert_mattr(&got, 404, "NotFound", "IACA not found");
    }
    assert_eq!(b.call("GET", IACAS, None).await.json["data"], json!([]));
    assert_eq!(
        a.call("GET", &iaca_path(&id), None).await.json["active"],
        Value::Bool(false)
    );
    // Without a bearer token: the gateway's authorizer refuses.
    let http = reqwest::Client::new();
    assert_eq!(call(&http, "GET", IACAS, None, None, None).await.status, 401);
}
