//! The service's own code at its ceiling on this machine's cores (`make capacity`): the issuer
//! service and the publisher on the in-memory adapters (no AWS, no network), driven by as many
//! concurrent tasks as it takes to keep every core busy. It prints operations a second, and per
//! CPU-second of the process (user + system, from /proc), which is what the README's capacity
//! model scales by: the Lambda compute one operation costs, apart from its AWS calls.
//!
//! - issue: `POST /issue`'s service call: the issuer's ES256 JWT verified against its JWKS (cached),
//!   the idempotency claim, a random free index, the entry placed with the claim's completion.
//! - revoke: `POST /revoke`'s: the JWT verified, the entry revoked (INVALID, its status item).
//! - publish: one list of 100,000 2-bit entries with 1 % INVALID rendered, compressed, signed as a
//!   JWT and a CWT (a local P-256 key in place of KMS) and written.
//!
//! cargo run --release -p shared --example capacity -- [ISSUES] [PUBLISHES]   (`make capacity`)

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use shared::adapters::memory::{MemHistory, MemLists, MemObjects, MemQueue};
use shared::config::Config;
use shared::domain::client::Client;
use shared::domain::list::ListRecord;
use shared::issuer::IssuerService;
use shared::ports::*;
use shared::publisher::Publisher;

/// An issuer's P-256 key: its JWK, and ES256 JWTs signed with it.
struct Issuer {
    key: jsonwebtoken::EncodingKey,
    jwk: serde_json::Value,
    kid: String,
}

impl Issuer {
    fn generate(kid: &str) -> Issuer {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let der = secret.to_pkcs8_der().expect("a PKCS#8 key");
        let mut jwk: serde_json::Value = serde_json::from_str(&secret.public_key().to_jwk_string()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        Issuer {
            key: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            jwk,
            kid: kid.into(),
        }
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("signed")
    }
}

fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The issuer's JWKS, served from memory (the service caches it as it would an HTTPS fetch).
struct StaticJwks(jsonwebtoken::jwk::JwkSet);

#[async_trait]
impl JwksSource for StaticJwks {
    async fn fetch(&self, _uri: &str) -> Result<jsonwebtoken::jwk::JwkSet, JwksError> {
        Ok(self.0.clone())
    }
}

/// Audit events counted, not written anywhere.
#[derive(Default)]
struct CountedEvents(std::sync::atomic::AtomicU64);

impl EventSink for CountedEvents {
    fn emit(&self, _event: AuditEvent) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// User + system CPU time of this process so far (Linux /proc/self/stat, clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn config() -> Config {
    let table = |name: &str| format!("capacity-{name}");
    Config {
        signing_key_id: "local".into(),
        public_base_url: "https://status.example".into(),
        max_body_bytes: 16 * 1024,
        jwks_max_age: Duration::from_secs(3600),
        tables: shared::adapters::dynamo::Tables {
            clients: table("clients"),
            lists: table("lists"),
            entries: table("entries"),
            idempotency: table("idempotency"),
            statuses: table("statuses"),
            tenants: table("tenants"),
            configurations: table("configurations"),
            mdocs: table("mdocs"),
            history: table("history"),
        },
        allow_http_loopback_jwks: false,
        issuer_jwks_ttl: Duration::from_secs(300),
        issuer_jwks_grace: Duration::from_secs(3600),
        issuer_jwks_timeout: Duration::from_millis(3000),
        list_pool: shared::domain::list::GOVUK_POOL.into(),
        tokens_bucket: "capacity-tokens".into(),
        token_ttl: shared::domain::lifetime::DEFAULT_TTL,
        token_validity: shared::domain::lifetime::DEFAULT_VALIDITY,
        freshness: shared::domain::lifetime::Freshness {
            interval: 3600,
            slack: shared::domain::lifetime::RESIGN_SLACK,
        },
        retired_signing_key_ids: Vec::new(),
        publish_queue_url: None,
        resign_queue_url: None,
        resign_sign_rate: 50,
        history_retention_days: 90,
        analytics_bus: None,
        mdoc_list_size: shared::domain::list::LIST_SIZE,
    }
}

/// Runs `ops` operations, `in_flight` at a time, and prints the rate.
async fn measure<F, Fut>(what: &str, ops: usize, in_flight: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use futures_util::StreamExt;
    let op = Arc::new(op);
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    futures_util::stream::iter(0..ops)
        .map(|i| {
            let op = op.clone();
            tokio::spawn(async move { op(i).await })
        })
        .buffer_unordered(in_flight)
        .for_each(|r| async move { r.expect("the operation ran") })
        .await;
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_cpu_second = ops as f64 / cpu.max(0.01);
    println!(
        "capacity: {what:<8} {ops:>6} ops in {wall:6.2} s: {:>8.0}/s on {cores} cores, {:>8.0} per CPU-second ({:.0} µs of CPU each)",
        ops as f64 / wall,
        per_cpu_second,
        1e6 / per_cpu_second
    );
    per_cpu_second
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let issues: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let publishes: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(400);
    let config = config();
    let now = shared::clock::now();

    // The issuer and its registration.
    let issuer = Arc::new(Issuer::generate("capacity-key"));
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(json!({"keys": [issuer.jwk]})).unwrap();
    let lists = Arc::new(MemLists::default());
    let client_id = "capacity-client".to_string();
    lists
        .put_client(&Client {
            client_id: client_id.clone(),
            jwks_uri: "https://issuer.example/.well-known/jwks.json".into(),
            format: "statuslist+jwt".into(),
            name: "Capacity driver".into(),
        })
        .await
        .unwrap();
    let queue = Arc::new(MemQueue::default());
    let service = Arc::new(IssuerService::wire(
        &config,
        lists.clone(),
        Arc::new(StaticJwks(jwks)),
        Arc::new(CountedEvents::default()),
        Some(queue.clone()),
    ));

    // Requests signed beforehand: the issuer's signing is not the service's work.
    let issue_jwts: Arc<Vec<String>> = Arc::new(
        (0..issues)
            .map(|_| {
                let claims = json!({"iss": client_id, "iat": now, "jti": jti(), "statusExpiry": now + 30 * 86_400});
                issuer.sign(&claims)
            })
            .collect(),
    );
    println!(
        "capacity: the service's code on the in-memory adapters ({} cores; no AWS calls)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let issued = Arc::new(std::sync::Mutex::new(Vec::with_capacity(issues)));
    let (s, jwts, out) = (service.clone(), issue_jwts.clone(), issued.clone());
    measure("issue", issues, 64, move |i| {
        let (s, jwts, out) = (s.clone(), jwts.clone(), out.clone());
        async move {
            let r = s.issue(&jwts[i], now).await.expect("issued");
            out.lock().unwrap().push((r.idx, r.uri));
        }
    })
    .await;
    let issued = issued.lock().unwrap().clone();
    let distinct: std::collections::HashSet<_> = issued.iter().collect();
    assert_eq!(distinct.len(), issued.len(), "an index handed out twice");

    let revoke_jwts: Arc<Vec<String>> = Arc::new(
        issued
            .iter()
            .map(|(idx, uri)| {
                let claims = json!({"iss": client_id, "iat": now, "jti": jti(), "idx": idx, "uri": uri});
                issuer.sign(&claims)
            })
            .collect(),
    );
    let (s, jwts) = (service.clone(), revoke_jwts.clone());
    measure("revoke", revoke_jwts.len(), 64, move |i| {
        let (s, jwts) = (s.clone(), jwts.clone());
        async move {
            s.revoke(&jwts[i], now).await.expect("revoked");
        }
    })
    .await;

    // Publishing: a 100,000-entry list with 1 % INVALID, rendered and signed from scratch each time.
    let objects = Arc::new(MemObjects::default());
    let publisher = Arc::new(Publisher::new(
        &config,
        lists.clone(),
        objects,
        Arc::new(MemHistory::default()),
        Arc::new(shared::adapters::local_signer::LocalSigner::generate()),
    ));
    let list_id = shared::issuer::allocator::new_list_id();
    lists
        .create_list(&ListRecord {
            list_id: list_id.clone(),
            pool: "capacity".into(),
            bits: 2,
            size: 100_000,
            open: false,
            created_at: now,
            lifetime: None,
            owner: None,
            published_iaca_id: None,
            status_horizon: None,
        })
        .await
        .unwrap();
    for idx in (0..100_000u64).step_by(100) {
        lists.set_status(&list_id, idx, 1);
    }
    let (p, id) = (publisher.clone(), list_id.clone());
    measure("publish", publishes, 2, move |i| {
        let (p, id) = (p.clone(), id.clone());
        async move {
            // A later iat each time: every publish renders, signs and writes.
            p.publish(&id, now + i as i64 + 1).await.expect("published");
        }
    })
    .await;
}
