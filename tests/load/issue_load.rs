//! Load driver for `POST /issue` against a running `make run` stack: N requests from C
//! concurrent clients, each a fresh signed request from the demo issuer. Request JWTs are signed
//! up front so the client's signing cost is not measured. Prints throughput and latency, and
//! the server's own counters (index draws per issuance, local CPU per request) when the
//! server's metrics file is given.
//!
//! issue-load URL KEY.pem KID ISS [REQUESTS] [CONCURRENCY] [METRICS_FILE]

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::{jti, now, sign_with};
use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: issue-load URL KEY.pem KID ISS [REQUESTS] [CONCURRENCY] [METRICS_FILE]");
        std::process::exit(2);
    }
    let (url, key_path, kid, iss) = (args[1].clone(), &args[2], args[3].clone(), args[4].clone());
    let requests: usize = args.get(5).and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let concurrency: usize = args.get(6).and_then(|v| v.parse().ok()).unwrap_or(64);
    let metrics_file = args.get(7).cloned();
    let key = p256::ecdsa::SigningKey::from(
        shared::domain::keys::secret_key_from_pem(&std::fs::read_to_string(key_path).expect("key file"))
            .expect("P-256 key"),
    );
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let tokens: Vec<String> = (0..requests)
        .map(|_| {
            sign_with(
                &key,
                &header,
                &json!({"iss": iss, "iat": now(), "jti": jti(), "statusExpiry": now() + 86400}),
            )
        })
        .collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let read_metrics = || -> Option<Value> {
        let f = metrics_file.as_ref()?;
        serde_json::from_str(&std::fs::read_to_string(f).ok()?).ok()
    };
    let before = read_metrics();
    let queue = Arc::new(tokio::sync::Mutex::new(tokens.into_iter()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, client, url) = (queue.clone(), client.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            loop {
                let Some(token) = queue.lock().await.next() else { break };
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/jwt")
                    .body(token)
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status() == 200 => {
                        let _ = resp.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    Ok(resp) => failures.push(format!("{} {}", resp.status(), resp.text().await.unwrap_or_default())),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut failures = Vec::new();
    for w in workers {
        let (l, f) = w.await.unwrap();
        latencies.extend(l);
        failures.extend(f);
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await; // let the server flush its counters
    let after = read_metrics();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "issue-load: {requests} requests, {concurrency} concurrent clients, {:.1}s",
        elapsed.as_secs_f64()
    );
    println!("  succeeded          {}", latencies.len());
    println!("  failed             {}", failures.len());
    for f in failures.iter().take(5) {
        println!("    {f}");
    }
    println!(
        "  issuances/s        {:.0}",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!("  latency p50        {:.1} ms", pct(0.50).as_secs_f64() * 1e3);
    println!("  latency p99        {:.1} ms", pct(0.99).as_secs_f64() * 1e3);
    println!(
        "  latency max        {:.1} ms",
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    if let (Some(b), Some(a)) = (before, after) {
        let d = |k: &str| a[k].as_u64().unwrap_or(0) - b[k].as_u64().unwrap_or(0);
        let issued = d("issued").max(1);
        println!(
            "  draws/issuance     {:.4} (conditional-write retries/issuance {:.4})",
            d("draws") as f64 / issued as f64,
            (d("draws") - issued) as f64 / issued as f64
        );
        println!(
            "  local CPU/request  {:.0} µs (parsing, checks, ES256 verify, serialisation; excludes AWS calls)",
            d("local_nanos") as f64 / issued as f64 / 1e3
        );
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}
