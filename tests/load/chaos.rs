//! The fault-injection suite (`make chaos`; a short form runs in `make test`): sustained issue,
//! revoke and mDoc status traffic against the local topology (every function its own process,
//! behind the API Gateway front, fed by the template's event sources, calling LocalStack through
//! the IAM proxy), while the topology injects faults between the function processes and AWS:
//! latency; throttling and 5xx errors from DynamoDB, KMS, S3 and SQS, each in its own service's
//! shape and codes; connection resets before a call reaches AWS and after (its effect happens,
//! its answer is lost); and `kill -9` of the forwarder and the publisher while they handle a batch.
//!
//! A refused request is retried as a client would (the same signed request: issue is idempotent
//! on its `jti`, revoke and status changes by state) until it is acknowledged. At the end, with
//! the faults lifted, it waits until the published tokens settle and checks:
//! - every acknowledged revocation is INVALID, and every acknowledged mDoc status the one in
//!   place, in both the JWT and the CWT of its list (verified: the service's JWKS for issuer
//!   lists, the tenant's IACA for mDoc lists); credentials never changed are still VALID;
//! - no (list, index) was handed to two credentials;
//! - every token fetched verified (signature, `sub`, not past `exp`), and none had an `iat` older
//!   than one already seen for that list;
//! - every refused request got the contract's 500 or 503 body; any other answer is counted;
//! - every fault kind was injected at least once.
//!
//! Its last line is `acknowledged N, visible N, lost 0, duplicates 0`; it exits non-zero on any
//! finding.
//!
//! chaos [CHANGES] [--short]   (the topology's API_URL, CDN_URL and TOPOLOGY_CONTROL_URL, and the
//! test stack's environment, as tests/run-integration.sh exports them)

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::*;
use rand::Rng;
use serde_json::{Value, json};
use shared::Expectations;
use shared::domain::iaca::IacaCertificate;
use shared::domain::keys::KeySet;
use shared::domain::tenant::Role;
use shared::domain::token::{self, TokenFormat, cwt, jwt};

/// One fault phase: rules the topology applies for the phase's length.
struct Phase {
    name: &'static str,
    rules: Vec<Value>,
}

fn rule(label: &str, action: &str, rate: f64, spec: Value) -> Value {
    let mut r = json!({"label": label, "principal": "*", "action": action, "rate": rate});
    r.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
    r
}

fn error(status: u16, code: &str) -> Value {
    json!({"kind": "error", "status": status, "code": code})
}

/// The fault kinds, in the order they are cycled through. Rates are high enough that the SDK's
/// own retries (3 attempts) sometimes run out, so requests are refused, not only slowed.
fn phases() -> Vec<Phase> {
    // SQS faults hit the functions' sends, not the event source pollers' receives and deletes
    // (Lambda's own service, outside the code under test).
    let sends = ["sqs:SendMessage", "sqs:SendMessageBatch"];
    let resets = |after: bool| {
        let label = if after {
            "reset after the call"
        } else {
            "reset before the call"
        };
        ["dynamodb:*", "kms:*", "s3:*", "sqs:SendMessage", "sqs:SendMessageBatch"]
            .iter()
            .map(|a| rule(label, a, 0.15, json!({"kind": "reset", "after": after})))
            .collect()
    };
    vec![
        Phase {
            name: "DynamoDB latency (400 ms on 40 % of calls)",
            rules: vec![rule(
                "dynamodb latency",
                "dynamodb:*",
                0.4,
                json!({"kind": "delay", "delay_ms": 400}),
            )],
        },
        Phase {
            name: "DynamoDB throttling (ProvisionedThroughputExceededException)",
            rules: vec![rule(
                "dynamodb throttling",
                "dynamodb:*",
                0.3,
                error(400, "ProvisionedThroughputExceededException"),
            )],
        },
        Phase {
            name: "DynamoDB 5xx (InternalServerError)",
            rules: vec![rule(
                "dynamodb 5xx",
                "dynamodb:*",
                0.3,
                error(500, "InternalServerError"),
            )],
        },
        Phase {
            name: "KMS throttling (ThrottlingException) and latency",
            rules: vec![
                rule("kms throttling", "kms:Sign", 0.5, error(400, "ThrottlingException")),
                rule("kms latency", "kms:*", 0.5, json!({"kind": "delay", "delay_ms": 300})),
            ],
        },
        Phase {
            name: "KMS 5xx (KMSInternalException)",
            rules: vec![rule("kms 5xx", "kms:*", 0.5, error(500, "KMSInternalException"))],
        },
        Phase {
            name: "S3 throttling (503 SlowDown), 5xx (InternalError) and latency",
            rules: vec![
                rule("s3 throttling", "s3:PutObject", 0.4, error(503, "SlowDown")),
                rule("s3 5xx", "s3:*", 0.3, error(500, "InternalError")),
                rule("s3 latency", "s3:*", 0.5, json!({"kind": "delay", "delay_ms": 300})),
            ],
        },
        Phase {
            name: "SQS throttling (RequestThrottled), 5xx (InternalError) and latency",
            rules: sends
                .iter()
                .flat_map(|a| {
                    [
                        rule("sqs throttling", a, 0.4, error(400, "RequestThrottled")),
                        rule("sqs 5xx", a, 0.3, error(500, "InternalError")),
                        rule("sqs latency", a, 0.5, json!({"kind": "delay", "delay_ms": 300})),
                    ]
                })
                .collect(),
        },
        Phase {
            name: "connection resets before the call reaches AWS",
            rules: resets(false),
        },
        Phase {
            name: "connection resets after the call (its answer lost)",
            rules: resets(true),
        },
    ]
}

/// The contract's refusals: GOV.UK `{error, error_description}`, MATTR `{code, message}`.
fn contract_refusal(family: Family, status: u16, body: &Value) -> bool {
    match (family, status) {
        (Family::GovUk, 503) => {
            body["error"] == "TEMPORARILY_UNAVAILABLE"
                && body["error_description"].as_str().is_some_and(|d| !d.is_empty())
        }
        (Family::GovUk, 500) => [
            "Unable to successfully issue a status",
            "Error querying database for status list entry",
            "Error updating revokedAt field",
        ]
        .iter()
        .any(|d| body["error"] == "INTERNAL_SERVER_ERROR" && body["error_description"] == *d),
        (Family::Mdoc, 503) => body["code"] == "ServiceUnavailable" && body["message"].is_string(),
        (Family::Mdoc, 500) => body["code"] == "InternalServerError" && body["message"].is_string(),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Family {
    GovUk,
    Mdoc,
}

/// What the traffic saw and did.
#[derive(Default)]
struct Ledger {
    /// GOV.UK credentials: (uri, idx) and whether a revocation was acknowledged (Some(true)),
    /// never asked (Some(false)) or left unacknowledged (None).
    govuk: Vec<(String, u64, Option<bool>)>,
    /// mDocs: (token uri, list id, idx, last acknowledged status or None if a change was left
    /// unacknowledged, acknowledged changes).
    mdocs: Vec<(String, String, u64, Option<&'static str>, usize)>,
    /// Answers by (operation, status, conforming).
    answers: BTreeMap<(&'static str, u16, bool), u64>,
    /// Non-conforming answers (first few kept whole).
    unexpected: Vec<String>,
    transport_errors: u64,
}

struct Traffic {
    http: reqwest::Client,
    api: String,
    ledger: Mutex<Ledger>,
    acknowledged: AtomicUsize,
    target: usize,
    /// Set by the fault schedule once every fault kind has hit a call (or it gave up waiting).
    faults_done: AtomicBool,
}

impl Traffic {
    /// An issuer API request: a signed JWT posted to `path`.
    fn post_jwt(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.api))
            .header("content-type", "application/jwt")
            .body(token.to_string())
    }

    /// An mDoc API request: `body` posted to `path` with the tenant's bearer token.
    fn post_json(&self, path: &str, bearer: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.api))
            .bearer_auth(bearer)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    fn target_reached(&self) -> bool {
        self.acknowledged.load(Ordering::Relaxed) >= self.target
    }

    /// Traffic goes on until the target is reached and every fault kind has met it.
    fn done(&self) -> bool {
        self.target_reached() && self.faults_done.load(Ordering::Relaxed)
    }

    /// Sends a request until it gets `want`, retrying refusals (backing off); `None` if it never
    /// did within the attempts.
    async fn until_acknowledged(
        &self,
        op: &'static str,
        family: Family,
        want: u16,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Option<Value> {
        let mut backoff = Duration::from_millis(100);
        for _ in 0..12 {
            match request().send().await {
                Err(e) => {
                    let mut l = self.ledger.lock().unwrap();
                    l.transport_errors += 1;
                    if l.unexpected.len() < 20 {
                        l.unexpected.push(format!("{op}: transport error {e}"));
                    }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let bytes = response.bytes().await.unwrap_or_default();
                    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    let conforming = status == want || contract_refusal(family, status, &body);
                    let mut l = self.ledger.lock().unwrap();
                    *l.answers.entry((op, status, conforming)).or_default() += 1;
                    if !conforming && l.unexpected.len() < 20 {
                        l.unexpected
                            .push(format!("{op}: {status} {}", String::from_utf8_lossy(&bytes)));
                    }
                    drop(l);
                    if status == want {
                        return Some(body);
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(3));
        }
        None
    }
}

/// GOV.UK traffic: issue, then revoke six in ten.
async fn govuk_worker(t: Arc<Traffic>, h: Arc<Harness>) {
    while !t.done() {
        let token = h.issue_token();
        let issued = t
            .until_acknowledged("issue", Family::GovUk, 200, || t.post_jwt("/issue", &token))
            .await;
        let Some(issued) = issued else { continue };
        let (idx, uri) = (
            issued["idx"].as_u64().unwrap(),
            issued["uri"].as_str().unwrap().to_string(),
        );
        let revoke = rand::thread_rng().gen_bool(0.6);
        let outcome = if revoke {
            let token = h
                .issuer
                .sign(&h.issuer.header(), &h.revoke_claims(json!(idx), json!(uri)));
            let acked = t
                .until_acknowledged("revoke", Family::GovUk, 202, || t.post_jwt("/revoke", &token))
                .await
                .is_some();
            if acked {
                t.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            acked.then_some(true)
        } else {
            Some(false)
        };
        t.ledger.lock().unwrap().govuk.push((uri, idx, outcome));
    }
}

/// mDoc traffic: register, then one to three status changes.
async fn mdoc_worker(t: Arc<Traffic>, tenant: Arc<Tenant>, doc_type: String) {
    const SEQUENCES: [&[&str]; 5] = [
        &["suspended"],
        &["invalid"],
        &["suspended", "valid"],
        &["suspended", "invalid"],
        &["suspended", "valid", "invalid"],
    ];
    while !t.done() {
        let registered = t
            .until_acknowledged("mdoc register", Family::Mdoc, 201, || {
                t.post_json(MDOC_REGISTER, &tenant.token, &json!({"docType": doc_type}))
            })
            .await;
        let Some(r) = registered else { continue };
        let path = format!("/v2/credentials/mobile/{}/status", r["credentialId"].as_str().unwrap());
        let (uri, list, idx) = (
            r["uri"].as_str().unwrap().to_string(),
            r["statusListId"].as_str().unwrap().to_string(),
            r["idx"].as_u64().unwrap(),
        );
        let sequence = SEQUENCES[rand::thread_rng().gen_range(0..SEQUENCES.len())];
        let mut last = Some("valid");
        let mut changes = 0;
        for to in sequence {
            let acked = t
                .until_acknowledged("mdoc status", Family::Mdoc, 201, || {
                    t.post_json(&path, &tenant.token, &json!({"status": to}))
                })
                .await
                .is_some();
            if !acked {
                last = None;
                break;
            }
            last = Some(*to);
            changes += 1;
            t.acknowledged.fetch_add(1, Ordering::Relaxed);
        }
        t.ledger.lock().unwrap().mdocs.push((uri, list, idx, last, changes));
    }
}

/// The lists in play and what a relying party sees of them.
struct Watcher {
    http: reqwest::Client,
    govuk_keys: KeySet,
    iaca: IacaCertificate,
    /// (list URL for the JWT, for the CWT, token uri (sub), mDoc?)
    lists: Mutex<BTreeMap<String, (String, String, String, bool)>>,
    /// Highest iat seen per (list, CWT?).
    newest: Mutex<HashMap<(String, bool), i64>>,
    fetched: AtomicUsize,
    regressions: Mutex<Vec<String>>,
    /// Tokens that did not verify: how many, and the first few.
    unverifiable: Mutex<(usize, Vec<String>)>,
}

impl Watcher {
    /// Every list a credential of `ledger` landed on (issuer lists: the JWT at the credential's
    /// `uri`, the CWT beside it; mDoc lists: the CWT at the registration's `uri`, the JWT at
    /// `/t/<list>`).
    fn watch_lists_of(&self, ledger: &Ledger) {
        let mut lists = self.lists.lock().unwrap();
        for (uri, _, _) in &ledger.govuk {
            lists
                .entry(list_id_of(uri))
                .or_insert_with(|| (uri.clone(), format!("{uri}.cwt"), uri.clone(), false));
        }
        for (uri, list_id, ..) in &ledger.mdocs {
            lists
                .entry(list_id.clone())
                .or_insert_with(|| (format!("{}/t/{list_id}", cdn_url()), uri.clone(), uri.clone(), true));
        }
    }

    /// Fetches and verifies one token; records its iat. `None` while there is none (404).
    async fn fetch(
        &self,
        list: &str,
        url: &str,
        sub: &str,
        mdoc: bool,
        format: TokenFormat,
    ) -> Option<shared::StatusList> {
        let response = self.http.get(url).send().await.ok()?;
        // Before a list's first token: the bucket, read through the distribution's origin access
        // control (no ListBucket), answers 403 for a missing object, as S3 does.
        if matches!(response.status().as_u16(), 403 | 404) {
            return None;
        }
        let status = response.status().as_u16();
        let bytes = response.bytes().await.ok()?.to_vec();
        self.fetched.fetch_add(1, Ordering::Relaxed);
        let at = now();
        let expect = Expectations::new(Some(sub), at);
        let verified = if status != 200 {
            Err(format!("{status}"))
        } else if !mdoc {
            token::verify(&bytes, &self.govuk_keys, &expect).map_err(|e| e.to_string())
        } else if format == TokenFormat::Cwt {
            cwt::verify_chained(&bytes, &self.iaca, &expect).map_err(|e| e.to_string())
        } else {
            verify_mdoc_jwt(&bytes, &self.iaca, &expect)
        };
        let verified = match verified {
            Ok(v) => v,
            Err(e) => {
                let mut u = self.unverifiable.lock().unwrap();
                u.0 += 1;
                if u.1.len() < 10 {
                    u.1.push(format!("{url}: {e}"));
                }
                return None;
            }
        };
        let mut newest = self.newest.lock().unwrap();
        let seen = newest
            .entry((list.to_string(), format == TokenFormat::Cwt))
            .or_insert(i64::MIN);
        if verified.token.iat < *seen {
            self.regressions
                .lock()
                .unwrap()
                .push(format!("{url}: iat {} after {}", verified.token.iat, *seen));
        }
        *seen = (*seen).max(verified.token.iat);
        Some(verified.token.list)
    }

    /// Both tokens of every list in play: list id -> (JWT list, CWT list).
    async fn snapshot(&self) -> HashMap<String, (Option<shared::StatusList>, Option<shared::StatusList>)> {
        let lists: Vec<_> = self.lists.lock().unwrap().clone().into_iter().collect();
        let fetches = lists.iter().map(|(id, (jwt_url, cwt_url, sub, mdoc))| async move {
            let (j, c) = tokio::join!(
                self.fetch(id, jwt_url, sub, *mdoc, TokenFormat::Jwt),
                self.fetch(id, cwt_url, sub, *mdoc, TokenFormat::Cwt)
            );
            (id.clone(), (j, c))
        });
        futures_util::future::join_all(fetches).await.into_iter().collect()
    }
}

/// An mDoc list's JWT, verified as its CWT is: the leaf of its `x5c` a signer certificate of
/// the tenant's IACA, then the signature under that certificate's key.
fn verify_mdoc_jwt(
    bytes: &[u8],
    iaca: &IacaCertificate,
    expect: &Expectations<'_>,
) -> Result<shared::VerifiedToken, String> {
    use base64::Engine;
    use shared::domain::{iaca as iacas, signer};
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let decoded = jwt::decode_unverified(text).map_err(|e| e.to_string())?;
    let leaf = decoded.header["x5c"][0].as_str().ok_or("no x5c")?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(leaf)
        .map_err(|e| e.to_string())?;
    let key = signer::certified_key(&der).map_err(|e| e.to_string())?;
    let pem = iacas::pem_of(&der).map_err(|e| e.to_string())?;
    signer::read_certificate(&pem, iaca, &key).map_err(|e| e.to_string())?;
    jwt::verify(text, &KeySet::single(p256::ecdsa::VerifyingKey::from(&key)), expect).map_err(|e| e.to_string())
}

/// Calls hit so far by each fault kind (the rules' labels), from the topology.
async fn injected_by_label() -> BTreeMap<String, u64> {
    let injected: Value = reqwest::get(format!("{}/faults", control_url()))
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let mut by_label = BTreeMap::new();
    for r in injected["rules"].as_array().unwrap() {
        if let Some(label) = r["label"].as_str() {
            *by_label.entry(label.to_string()).or_default() += r["injected"].as_u64().unwrap_or(0);
        }
    }
    by_label
}

async fn control(path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", control_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the topology's control endpoint answers");
    assert!(response.status().is_success(), "{path}: {:?}", response.text().await);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let short = args.iter().any(|a| a == "--short");
    let target: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(if short { 300 } else { 2_000 });
    let phase_len = Duration::from_secs(if short { 4 } else { 8 });
    ensure_pipeline();
    let started = Instant::now();

    // An issuer of the GOV.UK API, a tenant of the mDoc API with its IACA, signer and a 2-bit
    // configuration.
    let harness = Arc::new(Harness::new().await);
    let tenant = Arc::new(Tenant::new(Role::Issuer).await);
    let doc_type = format!("org.example.chaos.{}", &jti()[..8]);
    tenant.configuration(&doc_type, 2).await;
    let iaca = tenant.iaca_certificate().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(35))
        .build()
        .unwrap();
    let jwks: Value = http
        .get(format!("{}/.well-known/jwks.json", base_url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let watcher = Arc::new(Watcher {
        http: http.clone(),
        govuk_keys: KeySet::from_jwks(&serde_json::from_value(jwks).unwrap()),
        iaca,
        lists: Mutex::default(),
        newest: Mutex::default(),
        fetched: AtomicUsize::new(0),
        regressions: Mutex::default(),
        unverifiable: Mutex::default(),
    });
    let traffic = Arc::new(Traffic {
        http: http.clone(),
        api: base_url(),
        ledger: Mutex::default(),
        acknowledged: AtomicUsize::new(0),
        target,
        faults_done: AtomicBool::new(false),
    });
    println!("chaos: target {target} acknowledged changes; fault phases of {phase_len:?}");

    // Faults: each phase's rules for its length, cycling until the target is reached and every
    // fault kind has hit a call (a kind on rare calls, SQS sends, can miss a short phase; after
    // MAX_CYCLES the report names what never hit); the publisher killed mid-batch early (its
    // batch waits out the queue's visibility timeout), the forwarder three times.
    const MAX_CYCLES: usize = 6;
    let faults = {
        let traffic = traffic.clone();
        tokio::spawn(async move {
            let mut kills: Vec<(&str, bool)> = Vec::new();
            let all = phases();
            let mut i = 0;
            loop {
                let phase = &all[i % all.len()];
                for r in &phase.rules {
                    let mut r = r.clone();
                    r["seconds"] = json!(phase_len.as_secs_f64());
                    control("/faults", r).await;
                }
                println!("chaos: +{:>4.0} s  {}", started.elapsed().as_secs_f64(), phase.name);
                let kill = match i {
                    0 => Some("PublisherFunction"),
                    1 | 4 | 7 => Some("ForwarderFunction"),
                    _ => None,
                };
                if let Some(function) = kill {
                    let got = control(
                        "/kill",
                        json!({"function": function, "wait_s": phase_len.as_secs_f64()}),
                    )
                    .await;
                    let killed = got["killed"].as_bool().unwrap_or(false);
                    println!(
                        "chaos: +{:>4.0} s  kill -9 {function} mid-invocation: {}",
                        started.elapsed().as_secs_f64(),
                        if killed { "killed" } else { "not busy" }
                    );
                    kills.push((function, killed));
                }
                tokio::time::sleep(phase_len).await;
                i += 1;
                let every_kind_hit = i >= all.len() && injected_by_label().await.values().all(|&n| n > 0);
                if traffic.target_reached() && (every_kind_hit || i >= MAX_CYCLES * all.len()) {
                    traffic.faults_done.store(true, Ordering::Relaxed);
                    break;
                }
            }
            kills
        })
    };

    // The watcher: every list's tokens, every second, until told to stop.
    let watching = Arc::new(AtomicBool::new(true));
    let watch = {
        let (watcher, watching) = (watcher.clone(), watching.clone());
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                watcher.snapshot().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    // The traffic.
    let mut workers = Vec::new();
    for _ in 0..6 {
        workers.push(tokio::spawn(govuk_worker(traffic.clone(), harness.clone())));
    }
    for _ in 0..4 {
        workers.push(tokio::spawn(mdoc_worker(
            traffic.clone(),
            tenant.clone(),
            doc_type.clone(),
        )));
    }
    let progress = {
        let traffic = traffic.clone();
        let watcher = watcher.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                // New lists join the watch as credentials land on them.
                watcher.watch_lists_of(&traffic.ledger.lock().unwrap());
                if traffic.done() {
                    break;
                }
            }
        })
    };
    for w in workers {
        w.await.unwrap();
    }
    progress.await.unwrap();
    let traffic_secs = started.elapsed().as_secs_f64();
    let kills = faults.await.unwrap();
    control("/faults/clear", json!({})).await;
    let calm = Instant::now();
    watcher.watch_lists_of(&traffic.ledger.lock().unwrap());
    println!(
        "chaos: traffic done at +{traffic_secs:.0} s; faults lifted at +{:.0} s; waiting for the tokens to settle",
        started.elapsed().as_secs_f64()
    );

    // Settling: every acknowledged change visible in both tokens (a batch killed mid-flight waits
    // out the publish queue's 360 s visibility timeout), for at most 9 minutes.
    let ledger = std::mem::take(&mut *traffic.ledger.lock().unwrap());
    let acknowledged = traffic.acknowledged.load(Ordering::Relaxed);
    let mut lost_changes;
    let mut changed_wrongly;
    loop {
        let snapshot = watcher.snapshot().await;
        let status_in = |list: &str, idx: u64| -> [Option<u8>; 2] {
            let got = snapshot.get(list);
            let read = |l: &Option<shared::StatusList>| l.as_ref().and_then(|l| l.get(idx).ok()).map(|s| s.value());
            got.map_or([None, None], |(j, c)| [read(j), read(c)])
        };
        lost_changes = 0;
        changed_wrongly = 0;
        for (uri, idx, revoked) in &ledger.govuk {
            let seen = status_in(&list_id_of(uri), *idx);
            match revoked {
                Some(true) => lost_changes += usize::from(seen != [Some(1), Some(1)]),
                Some(false) => changed_wrongly += usize::from(seen.iter().any(|s| s.is_some_and(|v| v != 0))),
                None => {}
            }
        }
        for (_, list, idx, last, changes) in &ledger.mdocs {
            let seen = status_in(list, *idx);
            let want = match last {
                Some("valid") => 0,
                Some("invalid") => 1,
                Some("suspended") => 2,
                _ => continue,
            };
            if seen != [Some(want), Some(want)] {
                if *changes == 0 {
                    changed_wrongly += 1;
                } else {
                    lost_changes += changes;
                }
            }
        }
        if (lost_changes == 0 && changed_wrongly == 0) || calm.elapsed() > Duration::from_secs(540) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let settle_secs = calm.elapsed().as_secs_f64();
    watching.store(false, Ordering::Relaxed);
    watch.await.unwrap();

    // No (list, index) handed out twice.
    let mut handed = HashSet::new();
    let mut duplicates = 0;
    for (uri, idx, _) in &ledger.govuk {
        duplicates += usize::from(!handed.insert((list_id_of(uri), *idx)));
    }
    for (_, list, idx, ..) in &ledger.mdocs {
        duplicates += usize::from(!handed.insert((list.clone(), *idx)));
    }

    // The report.
    let by_label = injected_by_label().await;
    println!("chaos: faults injected (calls hit, by kind):");
    let mut kinds_missing = Vec::new();
    for (label, n) in &by_label {
        println!("  {label:<28} {n}");
        if *n == 0 {
            kinds_missing.push(label.clone());
        }
    }
    for function in ["ForwarderFunction", "PublisherFunction"] {
        let asked = kills.iter().filter(|(f, _)| *f == function).count();
        let done = kills.iter().filter(|(f, k)| *f == function && *k).count();
        println!("  kill -9 {function:<19} {done} of {asked} mid-invocation");
        if done == 0 {
            kinds_missing.push(format!("kill -9 {function}"));
        }
    }
    println!("chaos: answers (operation, status, contract's):");
    let mut nonconforming = 0;
    for ((op, status, ok), n) in &ledger.answers {
        println!("  {op:<14} {status} {:<5} {n}", if *ok { "yes" } else { "NO" });
        if !ok {
            nonconforming += n;
        }
    }
    nonconforming += ledger.transport_errors;
    for u in &ledger.unexpected {
        println!("  unexpected: {u}");
    }
    let unacknowledged =
        ledger.govuk.iter().filter(|c| c.2.is_none()).count() + ledger.mdocs.iter().filter(|m| m.3.is_none()).count();
    let regressions = watcher.regressions.lock().unwrap().clone();
    let (unverifiable, bad_tokens) = watcher.unverifiable.lock().unwrap().clone();
    println!(
        "chaos: {} GOV.UK credentials ({} revoked), {} mDocs; {unacknowledged} changes given up unacknowledged after 12 tries",
        ledger.govuk.len(),
        ledger.govuk.iter().filter(|c| c.2 == Some(true)).count(),
        ledger.mdocs.len()
    );
    println!(
        "chaos: tokens: {} fetched from the CDN across {} lists; iat older than one seen: {}; unverifiable or past exp: {}",
        watcher.fetched.load(Ordering::Relaxed),
        watcher.lists.lock().unwrap().len(),
        regressions.len(),
        unverifiable
    );
    for r in regressions.iter().take(5).chain(bad_tokens.iter()) {
        println!("  {r}");
    }
    println!(
        "chaos: traffic {traffic_secs:.0} s; every acknowledged change visible {settle_secs:.0} s after the faults were lifted{}; credentials changed without an acknowledged request: {changed_wrongly}",
        if lost_changes > 0 { " (NOT: timed out)" } else { "" }
    );
    let failed = lost_changes > 0
        || duplicates > 0
        || changed_wrongly > 0
        || nonconforming > 0
        || !regressions.is_empty()
        || unverifiable > 0
        || !kinds_missing.is_empty();
    if !kinds_missing.is_empty() {
        println!("chaos: fault kinds never injected: {kinds_missing:?}");
    }
    // Changes acknowledged on an mDoc whose next change was never acknowledged: its state is
    // either, so they are not counted as visible (nor as lost).
    let ambiguous: usize = ledger.mdocs.iter().filter(|m| m.3.is_none()).map(|m| m.4).sum();
    if ambiguous > 0 {
        println!("chaos: {ambiguous} acknowledged changes on mDocs left with an unacknowledged change: not checked");
    }
    println!(
        "acknowledged {acknowledged}, visible {}, lost {lost_changes}, duplicates {duplicates}",
        acknowledged - lost_changes - ambiguous
    );
    if failed {
        std::process::exit(1);
    }
}
