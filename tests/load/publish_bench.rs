//! Publisher cost per list against LocalStack: for lists of 100,000 and 1,048,576 two-bit
//! entries with 1 % of them INVALID, times `Publisher::publish` (read the list and its non-VALID
//! entries from DynamoDB, render, compress, sign a JWT and a CWT with KMS, write both to S3 with
//! their compare-and-swap) and counts the calls made to each service per publish.
//!
//! publish-bench [RUNS]   (the stack's environment: tables, bucket, key)

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use integration_tests::{localstack, now, stack_env, tables};
use rand::SeedableRng;
use shared::adapters::{dynamo::DynamoStore, kms_signer::KmsSigner, s3_objects::S3Objects};
use shared::domain::lifetime::Lifetime;
use shared::domain::list::{ListRecord, ListState, ListSummary, PublishedToken};
use shared::ports::*;
use shared::publisher::Publisher;

/// Counts the calls that pass through to a real adapter.
#[derive(Default)]
struct Calls {
    kms_sign: AtomicUsize,
    s3_head: AtomicUsize,
    s3_get: AtomicUsize,
    s3_put: AtomicUsize,
    ddb: AtomicUsize,
}

struct CountingSigner(Arc<dyn Signer>, Arc<Calls>);
#[async_trait]
impl Signer for CountingSigner {
    async fn identity(&self) -> Result<&KeyIdentity, SignerError> {
        self.0.identity().await
    }
    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError> {
        self.1.kms_sign.fetch_add(1, Relaxed);
        self.0.sign(message).await
    }
}

struct CountingObjects(Arc<dyn ObjectStore>, Arc<Calls>);
#[async_trait]
impl ObjectStore for CountingObjects {
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        self.1.s3_head.fetch_add(1, Relaxed);
        self.0.head(key).await
    }
    async fn get(&self, key: &str) -> Result<Option<PublishedObject>, ObjectError> {
        self.1.s3_get.fetch_add(1, Relaxed);
        self.0.get(key).await
    }
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        w: &ObjectWrite<'_>,
        p: Precondition,
    ) -> Result<PutOutcome, ObjectError> {
        self.1.s3_put.fetch_add(1, Relaxed);
        self.0.put(key, body, w, p).await
    }
    async fn versions(&self, key: &str) -> Result<Vec<ObjectVersion>, ObjectError> {
        self.1.s3_get.fetch_add(1, Relaxed);
        self.0.versions(key).await
    }
    async fn head_version(&self, key: &str, v: &str) -> Result<Option<ObjectMeta>, ObjectError> {
        self.1.s3_head.fetch_add(1, Relaxed);
        self.0.head_version(key, v).await
    }
    async fn get_version(&self, key: &str, v: &str) -> Result<Option<PublishedObject>, ObjectError> {
        self.1.s3_get.fetch_add(1, Relaxed);
        self.0.get_version(key, v).await
    }
}

struct CountingHistory(Arc<dyn TokenHistory>, Arc<Calls>);
#[async_trait]
impl TokenHistory for CountingHistory {
    async fn record(&self, key: &str, version: &TokenVersion, retain_until: i64) -> Result<(), StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.record(key, version, retain_until).await
    }
    async fn issued_by(&self, key: &str, time: i64) -> Result<Option<TokenVersion>, StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.issued_by(key, time).await
    }
}

struct CountingLists(Arc<DynamoStore>, Arc<Calls>);
#[async_trait]
impl ListSource for CountingLists {
    async fn list_state(&self, id: &str) -> Result<Option<ListState>, StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.list_state(id).await
    }
    async fn non_valid_entries(&self, id: &str) -> Result<Vec<(u64, u8)>, StoreError> {
        self.1.ddb.fetch_add(1, Relaxed); // one Query call per 1 MB page: counted as one
        self.0.non_valid_entries(id).await
    }
    async fn bump_change_seq(&self, id: &str) -> Result<Option<u64>, StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.bump_change_seq(id).await
    }
    async fn record_published(&self, id: &str, token: &PublishedToken) -> Result<(), StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.record_published(id, token).await
    }
    async fn published_lists(&self) -> Result<Vec<ListSummary>, StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.published_lists().await
    }
    async fn configuration_lifetimes(&self) -> Result<HashMap<String, Lifetime>, StoreError> {
        self.1.ddb.fetch_add(1, Relaxed);
        self.0.configuration_lifetimes().await
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(5);
    let sdk = localstack().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    // The bench stack's own table: its stream is switched off, since LocalStack feeds every
    // streamed write through kinesis-local (about 150 writes/s, and a backlog there delays every
    // other stream); publishing never reads the stream.
    let described = ddb.describe_table().table_name(tables().statuses).send().await.unwrap();
    if described
        .table()
        .and_then(|t| t.stream_specification())
        .is_some_and(|s| s.stream_enabled())
    {
        ddb.update_table()
            .table_name(tables().statuses)
            .stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(false)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let store = Arc::new(DynamoStore::new(ddb.clone(), tables()));
    let calls = Arc::new(Calls::default());
    let signer = KmsSigner::new(aws_sdk_kms::Client::new(&sdk), stack_env("SIGNING_KEY_ID"))
        .await
        .unwrap();
    let publisher = Publisher {
        lists: Arc::new(CountingLists(store.clone(), calls.clone())),
        objects: Arc::new(CountingObjects(
            Arc::new(S3Objects::new(&sdk, stack_env("TOKENS_BUCKET"))),
            calls.clone(),
        )),
        history: Arc::new(CountingHistory(
            Arc::new(shared::adapters::dynamo::history::DynamoHistory::new(
                ddb.clone(),
                tables().history,
            )),
            calls.clone(),
        )),
        history_retention: 90 * 86_400,
        signer: Arc::new(CountingSigner(Arc::new(signer), calls.clone())),
        base_url: "https://status.example".into(),
        ttl: 43_200,
        validity: 86_400,
        freshness: shared::domain::lifetime::Freshness {
            interval: 3_600,
            slack: shared::domain::lifetime::RESIGN_SLACK,
        },
        tenant_keys: None,
    };
    println!("publish-bench: 2-bit lists, 1 % INVALID, {runs} publishes each (LocalStack DynamoDB, KMS, S3)");
    for size in [100_000u64, 1_048_576] {
        let list_id = shared::issuer::allocator::new_list_id();
        store
            .create_list(&ListRecord {
                list_id: list_id.clone(),
                pool: "bench".into(),
                bits: 2,
                size,
                open: false,
                created_at: now(),
                lifetime: None,
                owner: None,
                published_iaca_id: None,
                status_horizon: None,
            })
            .await
            .unwrap();
        // A publish reads the list's status items (one per entry that is not VALID), so only
        // those are written: 1 % of the list INVALID, at random indices. How full the list is
        // does not matter.
        let invalid = size / 100;
        let stored = invalid;
        let mut rng = rand::rngs::StdRng::seed_from_u64(size);
        let mut indices: Vec<u64> = rand::seq::index::sample(&mut rng, size as usize, invalid as usize)
            .into_iter()
            .map(|i| i as u64)
            .collect();
        indices.sort();
        let items: Vec<WriteRequest> = indices
            .iter()
            .map(|i| {
                let put = PutRequest::builder()
                    .item("listId", AttributeValue::S(list_id.clone()))
                    .item("idx", AttributeValue::N(i.to_string()))
                    .item("status", AttributeValue::N("1".into()))
                    .item("changedAt", AttributeValue::N(now().to_string()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let fill = Instant::now();
        let chunks: Vec<Vec<WriteRequest>> = items.chunks(25).map(|c| c.to_vec()).collect();
        let chunks = Arc::new(std::sync::Mutex::new(chunks.into_iter()));
        let mut writers = Vec::new();
        for _ in 0..16 {
            let (ddb, chunks) = (ddb.clone(), chunks.clone());
            writers.push(tokio::spawn(async move {
                loop {
                    let Some(chunk) = chunks.lock().unwrap().next() else {
                        break;
                    };
                    let mut pending = Some(chunk);
                    while let Some(batch) = pending.take() {
                        let out = ddb
                            .batch_write_item()
                            .request_items(tables().statuses, batch)
                            .send()
                            .await
                            .unwrap();
                        pending = out
                            .unprocessed_items()
                            .and_then(|u| u.get(&tables().statuses).cloned())
                            .filter(|v| !v.is_empty());
                    }
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        eprintln!("  ({stored} entries written in {:.1}s)", fill.elapsed().as_secs_f64());
        let mut times = Vec::new();
        let mut read = Vec::new();
        for run in 0..runs {
            store.bump_change_seq(&list_id).await.unwrap(); // a change: the publish must write
            let before = snapshot(&calls);
            let t = Instant::now();
            let _ = publisher.lists.list_state(&list_id).await.unwrap();
            let entries = publisher.lists.non_valid_entries(&list_id).await.unwrap();
            read.push(t.elapsed());
            assert_eq!(entries.len() as u64, invalid);
            let before_publish = snapshot(&calls);
            let t = Instant::now();
            publisher.publish(&list_id, now() + run as i64).await.unwrap();
            times.push(t.elapsed());
            if run == 0 {
                let after = snapshot(&calls);
                let d: Vec<usize> = after.iter().zip(&before_publish).map(|(a, b)| a - b).collect();
                println!(
                    "  {size:>9} entries: calls per publish: KMS Sign {}, S3 HEAD {}, S3 PUT {}, S3 GET {}, DynamoDB {} (GetItem, Query, UpdateItem)",
                    d[0], d[1], d[3], d[2], d[4]
                );
                let _ = before;
            }
        }
        times.sort();
        read.sort();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let object = publisher.objects.get(&format!("t/{list_id}")).await.unwrap().unwrap();
        println!(
            "  {size:>9} entries: publish median {:.0} ms (min {:.0}, max {:.0}); reading its {stored} status items median {:.0} ms; JWT {} bytes",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(*times.last().unwrap()),
            ms(read[read.len() / 2]),
            object.body.len()
        );
    }
}

fn snapshot(c: &Calls) -> [usize; 5] {
    [
        c.kms_sign.load(Relaxed),
        c.s3_head.load(Relaxed),
        c.s3_get.load(Relaxed),
        c.s3_put.load(Relaxed),
        c.ddb.load(Relaxed),
    ]
}
