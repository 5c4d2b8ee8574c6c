//! The re-signer at scale, against LocalStack (`make resign-scale LISTS=10000 RATE=100`): creates
//! LISTS lists whose tokens have just come within their re-signing margin, runs one re-signing
//! pass (the code the scheduled function runs: it queues one delayed job per due list on the
//! stack's re-signing queue), then consumes the queue as the publisher function's event source
//! does (two batches of up to ten at a time, the template's MaximumConcurrency) with the code
//! the publisher runs. It prints how long the pass and the re-signing took, the KMS Sign calls
//! per second (the highest one-second count and the mean, against RATE), and whether every list
//! was re-signed before its deadline: the old token's `exp` less its max-age, after which a
//! cache could hold it past `exp`.
//!
//! resign-scale LISTS RATE [CONSUMERS]   (the stack's environment: tables, bucket, key, re-signing
//! queue)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use integration_tests::{localstack, now, stack_env, tables};
use shared::adapters::{dynamo::DynamoStore, kms_signer::KmsSigner, s3_objects::S3Objects, sqs_queue::SqsQueue};
use shared::domain::lifetime::Freshness;
use shared::domain::lifetime::Lifetime;
use shared::domain::list::ListRecord;
use shared::ports::*;
use shared::publisher::Publisher;

/// Counts KMS Sign calls per second of the wall clock.
struct CountingSigner {
    inner: Arc<dyn Signer>,
    per_second: Arc<Mutex<BTreeMap<i64, u64>>>,
}

#[async_trait]
impl Signer for CountingSigner {
    async fn identity(&self) -> Result<&KeyIdentity, SignerError> {
        self.inner.identity().await
    }
    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError> {
        *self.per_second.lock().unwrap().entry(now()).or_default() += 1;
        self.inner.sign(message).await
    }
}

/// The lists' lifetime: GOV.UK's (12 h cache lifetime, a day's validity), the defaults.
const LIFETIME: Lifetime = Lifetime {
    ttl: shared::domain::lifetime::DEFAULT_TTL,
    validity: shared::domain::lifetime::DEFAULT_VALIDITY,
};
/// Batches in flight at once by default: the template's ScalingConfig.MaximumConcurrency.
const CONSUMERS: usize = 2;

/// Jobs not yet handled.
fn left(remaining: &Mutex<usize>) -> usize {
    *remaining.lock().unwrap()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let lists: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rate: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(100);
    let batches: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(CONSUMERS);
    let sdk = localstack().await;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables()));
    let per_second = Arc::new(Mutex::new(BTreeMap::new()));
    let kms = KmsSigner::new(aws_sdk_kms::Client::new(&sdk), stack_env("SIGNING_KEY_ID"))
        .await
        .expect("the stack's signing key");
    // The template's defaults: hourly passes, 5 minutes' slack (the window a pass spreads its
    // jobs over).
    let freshness = Freshness {
        interval: 3_600,
        slack: shared::domain::lifetime::RESIGN_SLACK,
    };
    let publisher = Arc::new(Publisher {
        lists: store.clone(),
        objects: Arc::new(S3Objects::new(&sdk, stack_env("TOKENS_BUCKET"))),
        history: Arc::new(shared::adapters::dynamo::history::DynamoHistory::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            tables().history,
        )),
        history_retention: 90 * 86_400,
        signer: Arc::new(CountingSigner {
            inner: Arc::new(kms),
            per_second: per_second.clone(),
        }),
        base_url: "https://status.example".into(),
        ttl: LIFETIME.ttl,
        validity: LIFETIME.validity,
        freshness,
        tenant_keys: None,
    });
    let queue = Arc::new(SqsQueue::new(&sdk, stack_env("RESIGN_QUEUE_URL")));
    let max_age = freshness.max_age(LIFETIME);
    let margin = freshness.margin(max_age);

    // The lists, each recorded with a token that has just come within its margin.
    let t0 = now();
    let token_exp = t0 + 60 + margin - 1;
    let created = Instant::now();
    let ids: Vec<String> = (0..lists).map(|_| shared::issuer::allocator::new_list_id()).collect();
    let next = Arc::new(Mutex::new(ids.clone().into_iter()));
    let mut writers = Vec::new();
    for _ in 0..16 {
        let (store, next, publisher) = (store.clone(), next.clone(), publisher.clone());
        writers.push(tokio::spawn(async move {
            loop {
                let item = next.lock().unwrap().next();
                let Some(list_id) = item else { break };
                let list = ListRecord {
                    list_id: list_id.clone(),
                    pool: "resign-scale".into(),
                    bits: 2,
                    size: 16_384,
                    open: false,
                    created_at: t0,
                    lifetime: Some(LIFETIME),
                    owner: None,
                    published_iaca_id: None,
                    status_horizon: Some(t0 + 30 * 86_400),
                };
                store.create_list(&list).await.expect("list created");
                // Its first token, as the publisher put it out a day ago (signed, in the bucket,
                // recorded): the pass finds it due, and its job is a re-signing, not a first
                // publish.
                publisher
                    .publish(&list_id, token_exp - LIFETIME.validity)
                    .await
                    .expect("first token published");
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    // The first tokens' signatures are set-up, not re-signing.
    per_second.lock().unwrap().clear();
    println!(
        "resign-scale: {lists} lists created in {:.1} s; tokens expire at +{} s, max-age {max_age} s, margin {margin} s",
        created.elapsed().as_secs_f64(),
        token_exp - t0
    );

    // Wait until they are due, then one pass.
    let pass_at = token_exp - margin + 1;
    while now() < pass_at {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The pass (the scheduled function also rotates the tenants' signers first: none here).
    let started = Instant::now();
    let pass_at_real = now();
    let pass = publisher
        .resign_due(now(), queue.as_ref(), rate)
        .await
        .expect("the pass reads the lists");
    let pass_secs = started.elapsed().as_secs_f64();
    println!(
        "resign-scale: pass at +{} s: {} lists checked, {} queued, {} deferred, {} not queued, in {pass_secs:.1} s",
        now() - t0,
        pass.checked,
        pass.enqueued,
        pass.deferred,
        pass.failed
    );

    // The publisher: batches of up to ten, CONSUMERS at once, until every queued list is signed.
    let remaining = Arc::new(Mutex::new(pass.enqueued));
    let mut consumers = Vec::new();
    for _ in 0..batches {
        let (publisher, queue, remaining) = (publisher.clone(), queue.clone(), remaining.clone());
        consumers.push(tokio::spawn(async move {
            let mut failed = 0usize;
            while left(&remaining) > 0 {
                let deliveries = match queue.receive(Duration::from_secs(1)).await {
                    Ok(d) => d,
                    Err(e) => {
                        eprintln!("resign-scale: queue not read: {e}");
                        continue;
                    }
                };
                if deliveries.is_empty() {
                    continue;
                }
                let deadline = shared::pipeline::batch_deadline(Duration::from_secs(60));
                let report = shared::pipeline::run_jobs(&publisher, queue.as_ref(), &deliveries, now, deadline).await;
                failed += report.failed.len();
                let done: Vec<_> = deliveries
                    .iter()
                    .filter(|d| !report.failed.contains(&d.message_id))
                    .collect();
                let handled = report.published + report.already_published;
                {
                    let mut left = remaining.lock().unwrap();
                    *left = left.saturating_sub(handled);
                }
                queue.delete(&done).await.expect("handled jobs deleted");
            }
            failed
        }));
    }
    let mut failed = 0;
    for c in consumers {
        failed += c.await.unwrap();
    }
    let signed_secs = started.elapsed().as_secs_f64();

    // Every token in place, each before its deadline.
    let deadline = token_exp - i64::try_from(max_age).unwrap();
    let objects = publisher.objects.clone();
    let mut latest = i64::MIN;
    let mut late = 0;
    let mut missing = 0;
    let mut distinct_iat = std::collections::HashSet::new();
    for chunk in ids.chunks(64) {
        let heads = futures_util::future::join_all(chunk.iter().map(|id| {
            let objects = objects.clone();
            async move {
                objects
                    .head(&shared::publisher::object_key(
                        id,
                        shared::domain::token::TokenFormat::Cwt,
                    ))
                    .await
                    .expect("head")
            }
        }))
        .await;
        for head in heads {
            match head {
                None => missing += 1,
                Some(h) => {
                    latest = latest.max(h.iat);
                    late += usize::from(h.iat > deadline);
                    distinct_iat.insert(h.iat);
                }
            }
        }
    }
    let per_second = per_second.lock().unwrap();
    let signs: u64 = per_second.values().sum();
    let busiest = per_second.values().copied().max().unwrap_or(0);
    let span = per_second
        .keys()
        .next_back()
        .zip(per_second.keys().next())
        .map_or(1, |(b, a)| b - a + 1);
    println!(
        "resign-scale: {} lists re-signed in {signed_secs:.1} s after the pass ({} job failures retried); {missing} without a token",
        lists - missing,
        failed
    );
    println!(
        "resign-scale: KMS Sign: {signs} calls over {span} s: mean {:.1}/s, busiest second {busiest}, configured rate {rate}/s; {} distinct iat values",
        signs as f64 / span as f64,
        distinct_iat.len()
    );
    println!(
        "resign-scale: last token signed {} s after the pass (its jobs spread over {} s); deadline (old exp - max-age) {} s after the pass: {late} late",
        latest - pass_at_real,
        pass.enqueued as u64 * shared::domain::resign::SIGNS_PER_LIST / rate,
        deadline - pass_at_real
    );
    let fresh = missing == 0 && late == 0 && pass.deferred == 0;
    println!(
        "resign-scale: {}",
        if fresh {
            "every list re-signed within its margin"
        } else {
            "NOT every list re-signed within its margin"
        }
    );
    if !fresh {
        std::process::exit(1);
    }
}
