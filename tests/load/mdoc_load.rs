//! Load driver for the mDoc management API against a running `make run` stack: registers
//! REQUESTS mDocs of a fresh docType from CONCURRENCY clients, then sets a tenth of them to
//! invalid, and waits until every one of those shows INVALID in the public CWT. Prints
//! throughput and latency of both phases and the time from the last change to visible.
//!
//! mdoc-load BASE_URL BEARER [REQUESTS] [CONCURRENCY]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Phase {
    latencies: Vec<Duration>,
    failures: Vec<String>,
    elapsed: Duration,
}

impl Phase {
    fn report(&mut self, name: &str, unit: &str) {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies
                .get(((self.latencies.len() as f64 * p) as usize).min(self.latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3
        };
        println!(
            "  {name:<12} {} ok, {} failed, {:.0} {unit}/s, p50 {:.1} ms, p99 {:.1} ms",
            self.latencies.len(),
            self.failures.len(),
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99)
        );
        for f in self.failures.iter().take(5) {
            println!("    {f}");
        }
    }
}

/// Runs `bodies` as POSTs to their paths from `concurrency` clients; returns the answers in order.
async fn run(
    client: &reqwest::Client,
    bearer: &str,
    requests: Vec<(String, Value)>,
    concurrency: usize,
) -> (Phase, Vec<Option<Value>>) {
    let n = requests.len();
    let queue = Arc::new(tokio::sync::Mutex::new(requests.into_iter().enumerate()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, client, bearer) = (queue.clone(), client.clone(), bearer.to_string());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let Some((i, (url, body))) = queue.lock().await.next() else {
                    break;
                };
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&bearer)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await;
                let answer = match r {
                    Ok(resp) if resp.status().is_success() => {
                        let bytes = resp.bytes().await.unwrap_or_default();
                        Ok((t.elapsed(), serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
                    }
                    Ok(resp) => Err(format!("{} {}", resp.status(), resp.text().await.unwrap_or_default())),
                    Err(e) => Err(e.to_string()),
                };
                out.push((i, answer));
            }
            out
        }));
    }
    let mut phase = Phase {
        latencies: Vec::new(),
        failures: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let mut answers = vec![None; n];
    for w in workers {
        for (i, a) in w.await.unwrap() {
            match a {
                Ok((latency, body)) => {
                    phase.latencies.push(latency);
                    answers[i] = Some(body);
                }
                Err(e) => phase.failures.push(e),
            }
        }
    }
    phase.elapsed = started.elapsed();
    (phase, answers)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: mdoc-load BASE_URL BEARER [REQUESTS] [CONCURRENCY]");
        std::process::exit(2);
    }
    let (base, bearer) = (args[1].trim_end_matches('/').to_string(), args[2].clone());
    let requests: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(32);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let api = format!("{base}/v2/credentials/mobile");
    // The tenant signs its lists under an active IACA: one is created and activated if it has
    // none active (its status list signer is issued on activation).
    ensure_active_iaca(&client, &bearer, &api).await;
    let doc_type = format!("org.example.load.{}", uuid::Uuid::new_v4());
    let config = json!({"docType": doc_type, "timeToLiveDuration": {"minutes": 5}, "expiryDuration": {"hours": 1}});
    let (_, created) = run(
        &client,
        &bearer,
        vec![(format!("{api}/status-lists/configurations"), config)],
        1,
    )
    .await;
    assert!(created[0].is_some(), "configuration not created (is the token valid?)");
    println!("mdoc-load: {requests} registrations, {concurrency} concurrent clients, 1-bit lists");

    let register = (0..requests)
        .map(|_| (format!("{api}/credentials"), json!({"docType": doc_type})))
        .collect();
    let (mut phase, registered) = run(&client, &bearer, register, concurrency).await;
    phase.report("register", "registrations");
    let registered: Vec<Value> = registered.into_iter().flatten().collect();

    let targets: Vec<&Value> = registered.iter().step_by(10).collect();
    let set = targets
        .iter()
        .map(|r| {
            (
                format!("{api}/{}/status", r["credentialId"].as_str().unwrap()),
                json!({"status": "invalid"}),
            )
        })
        .collect();
    let (mut phase, _) = run(&client, &bearer, set, concurrency).await;
    let last_change = Instant::now();
    phase.report("set invalid", "changes");

    // Until every invalidated index reads INVALID in the public token of its list.
    let mut pending: Vec<(String, u64)> = targets
        .iter()
        .map(|r| (r["uri"].as_str().unwrap().to_string(), r["idx"].as_u64().unwrap()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !pending.is_empty() && Instant::now() < deadline {
        let mut uris: Vec<String> = pending.iter().map(|(u, _)| u.clone()).collect();
        uris.dedup();
        for uri in uris {
            let Ok(resp) = client.get(&uri).send().await else {
                continue;
            };
            let bytes = resp.bytes().await.unwrap_or_default();
            let Ok(decoded) = shared::domain::token::cwt::decode_unverified(&bytes) else {
                continue;
            };
            pending.retain(|(u, idx)| u != &uri || decoded.token.list.get(*idx).ok() != Some(shared::Status::INVALID));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if pending.is_empty() {
        println!(
            "  visible      every change in the public CWT {:.0} ms after the last one was accepted",
            last_change.elapsed().as_secs_f64() * 1e3
        );
    } else {
        println!("  visible      {} changes not published within 120 s", pending.len());
        std::process::exit(1);
    }
}

/// Creates and activates a managed IACA unless the tenant has an active one.
async fn ensure_active_iaca(client: &reqwest::Client, bearer: &str, api: &str) {
    let send = |method: reqwest::Method, url: String, body: Option<Value>| async move {
        let mut request = client.request(method, url).bearer_auth(bearer);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).unwrap());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    };
    let iacas = send(reqwest::Method::GET, format!("{api}/iacas"), None).await;
    if iacas["data"]
        .as_array()
        .is_some_and(|d| d.iter().any(|i| i["active"] == true))
    {
        return;
    }
    let body = json!({"commonName": "Load test IACA", "country": "AU"});
    let created = send(reqwest::Method::POST, format!("{api}/iacas"), Some(body)).await;
    let id = created["id"].as_str().expect("an IACA id");
    let activate = Some(json!({"active": true}));
    send(reqwest::Method::PUT, format!("{api}/iacas/{id}"), activate).await;
}
