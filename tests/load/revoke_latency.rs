//! Latency from `POST /revoke` to the revocation being visible in the token in S3, against a
//! running `make run` stack (its pipeline: stream poller, forwarder, FIFO queue, publisher).
//! Issues N credentials, then revokes them from C concurrent clients; after each 202 it waits
//! until the bucket's JWT for the list, verified with the service's JWKS, shows
//! INVALID at the index (one watcher per list: HEAD every 20 ms, GET and verify on change).
//! Prints p50/p99/max and the number of token versions written.
//!
//! revoke-latency BASE_URL KEY.pem KID ISS [REVOKES] [CONCURRENCY]   (TOKENS_BUCKET in the env)

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::{jti, localstack, now, sign_with};
use serde_json::json;
use shared::adapters::s3_objects::S3Objects;
use shared::domain::keys::KeySet;
use shared::domain::token::{self, TokenFormat};
use shared::ports::ObjectStore;
use shared::publisher::object_key;
use shared::{Expectations, Status};

/// Sends `request` and reads the whole response body.
async fn body_of(request: reqwest::RequestBuilder) -> Vec<u8> {
    request.send().await.unwrap().bytes().await.unwrap().to_vec()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: revoke-latency BASE_URL KEY.pem KID ISS [REVOKES] [CONCURRENCY]");
        std::process::exit(2);
    }
    let (base, key_path, kid, iss) = (args[1].clone(), &args[2], args[3].clone(), args[4].clone());
    let revokes: usize = args.get(5).and_then(|v| v.parse().ok()).unwrap_or(200);
    let concurrency: usize = args.get(6).and_then(|v| v.parse().ok()).unwrap_or(8);
    let bucket = std::env::var("TOKENS_BUCKET").expect("TOKENS_BUCKET (the stack's env file)");
    let objects = Arc::new(S3Objects::new(&localstack().await, bucket));
    let key = p256::ecdsa::SigningKey::from(
        shared::domain::keys::secret_key_from_pem(&std::fs::read_to_string(key_path).expect("key file"))
            .expect("P-256 key"),
    );
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let client = reqwest::Client::new();
    let body = body_of(client.get(format!("{base}/.well-known/jwks.json"))).await;
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&body).unwrap();
    let keys = Arc::new(KeySet::from_jwks(&jwks));

    let mut issued = Vec::new();
    for _ in 0..revokes {
        let claims = json!({"iss": iss, "iat": now(), "jti": jti(), "statusExpiry": now() + 86400});
        let issue = client
            .post(format!("{base}/issue"))
            .header("content-type", "application/jwt")
            .body(sign_with(&key, &header, &claims));
        let body = body_of(issue).await;
        let r: serde_json::Value = serde_json::from_slice(&body).unwrap();
        issued.push((r["idx"].as_u64().unwrap(), r["uri"].as_str().unwrap().to_string()));
    }
    let lists: HashSet<String> = issued.iter().map(|(_, u)| u.clone()).collect();
    let mut versions_before = 0;
    for uri in &lists {
        let id = uri.rsplit('/').next().unwrap();
        versions_before += objects.versions(&object_key(id, TokenFormat::Jwt)).await.unwrap().len();
    }

    // One watcher per list: HEAD every 20 ms, and GET + verify when the object's sequence moves,
    // so observing costs the local stack little (per-worker GET polling would load it more than
    // the service does).
    let mut watchers = std::collections::HashMap::new();
    for uri in &lists {
        let (tx, rx) = tokio::sync::watch::channel::<Option<Arc<shared::StatusList>>>(None);
        let (objects, keys, uri) = (objects.clone(), keys.clone(), uri.clone());
        watchers.insert(uri.clone(), rx);
        tokio::spawn(async move {
            let object = object_key(uri.rsplit('/').next().unwrap(), TokenFormat::Jwt);
            let mut seen: Option<(u64, i64)> = None;
            loop {
                if let Some(meta) = objects.head(&object).await.unwrap()
                    && seen != Some((meta.seq, meta.exp))
                    && let Some(o) = objects.get(&object).await.unwrap()
                {
                    let v = token::verify(&o.body, &keys, &Expectations::new(Some(&uri), now())).unwrap();
                    seen = Some((o.meta.seq, o.meta.exp));
                    if tx.send(Some(Arc::new(v.token.list))).is_err() {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    let watchers = Arc::new(watchers);
    let queue = Arc::new(tokio::sync::Mutex::new(issued.clone().into_iter()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, client, base, key, header, iss, watchers) = (
            queue.clone(),
            client.clone(),
            base.clone(),
            key.clone(),
            header.clone(),
            iss.clone(),
            watchers.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some((idx, uri)) = queue.lock().await.next() else {
                    break;
                };
                let claims = json!({"iss": iss, "iat": now(), "jti": jti(), "idx": idx, "uri": uri});
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/revoke"))
                    .header("content-type", "application/jwt")
                    .body(sign_with(&key, &header, &claims))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
                let mut rx = watchers[&uri].clone();
                let visible = rx.wait_for(|list| list.as_ref().is_some_and(|l| l.get(idx).unwrap() == Status::INVALID));
                tokio::time::timeout(Duration::from_secs(120), visible)
                    .await
                    .unwrap_or_else(|_| panic!("{uri} {idx}: not published within 120 s"))
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut versions_after = 0;
    for uri in &lists {
        let id = uri.rsplit('/').next().unwrap();
        versions_after += objects.versions(&object_key(id, TokenFormat::Jwt)).await.unwrap().len();
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "revoke-latency: {} revocations over {} lists, {concurrency} concurrent clients, {:.1}s",
        latencies.len(),
        lists.len(),
        elapsed.as_secs_f64()
    );
    println!("  revoke -> visible in S3 p50   {:.0} ms", ms(pct(0.50)));
    println!("  revoke -> visible in S3 p99   {:.0} ms", ms(pct(0.99)));
    println!(
        "  revoke -> visible in S3 max   {:.0} ms",
        ms(*latencies.last().unwrap())
    );
    println!(
        "  token versions written        {} ({:.2} per revocation)",
        versions_after - versions_before,
        (versions_after - versions_before) as f64 / latencies.len() as f64
    );
}
