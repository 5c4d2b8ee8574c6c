//! The store ports' contract (`shared::adapters::contract`) on the AWS adapters, against
//! LocalStack and the deployed stack's tables, bucket and queues: the same cases the in-memory
//! twins pass in `cargo test -p shared --lib contract`.
//!
//! The suite runs on a stack of its own (`statuslist-contract`), which no topology serves: the
//! lists, tenants and objects its cases make are never published, re-signed or counted by the
//! functions, so the suite and the topology's tests never meet (a case's list taking a KMS
//! refusal meant for a publisher test, or an invalid list a case stored failing the publisher).
//! `tests/run-integration.sh` deploys it and names its outputs file in `CONTRACT_STACK_ENV`.
//!
//! The queue cases each get a queue of their own, made as the stack's queue is (its attributes
//! copied): the stack's queues have consumers when the topology runs.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use integration_tests::localstack;
use shared::adapters::contract::queues::{Delivered, PublishQueueUnderTest, QueueProbe, ResignQueueUnderTest};
use shared::adapters::dynamo::DynamoStore;
use shared::adapters::dynamo::Tables;
use shared::adapters::dynamo::history::DynamoHistory;
use shared::adapters::s3_objects::S3Objects;
use shared::adapters::sqs_queue::SqsQueue;
use shared::ports::PublishJob;

/// An output of the contract suite's own stack (see the module's header).
fn output(name: &str) -> String {
    let path = std::env::var("CONTRACT_STACK_ENV").unwrap_or_else(|_| {
        panic!(
            "CONTRACT_STACK_ENV is not set: run the LocalStack suites through `make test` \
             (tests/run-integration.sh deploys the contract suite's stack and sets it)"
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix('=')
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("{path} has no output {name}"))
}

fn tables() -> Tables {
    Tables {
        clients: output("ClientsTableName"),
        lists: output("ListsTableName"),
        entries: output("EntriesTableName"),
        idempotency: output("IdempotencyTableName"),
        statuses: output("StatusesTableName"),
        tenants: output("TenantsTableName"),
        configurations: output("ConfigurationsTableName"),
        mdocs: output("MdocsTableName"),
        history: output("TokenHistoryTableName"),
    }
}

async fn dynamo() -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&localstack().await),
        tables(),
    ))
}

mod issuer {
    shared::issuer_store_contract!(super::dynamo);
}

mod lists {
    shared::list_source_contract!(super::dynamo);
}

mod mdoc {
    shared::mdoc_store_contract!(super::dynamo);
}

mod tenants {
    shared::tenant_store_contract!(super::dynamo);
}

mod iacas {
    shared::iaca_store_contract!(super::dynamo);
}

mod objects {
    use super::*;
    shared::object_store_contract!(|| async {
        Arc::new(S3Objects::new(&localstack().await, output("TokensBucketName")))
    });
}

mod history {
    use super::*;
    shared::token_history_contract!(|| async {
        Arc::new(DynamoHistory::new(
            aws_sdk_dynamodb::Client::new(&localstack().await),
            output("TokenHistoryTableName"),
        ))
    });
}

mod queues {
    use super::*;
    shared::publish_queue_contract!(|| async {
        let sdk = localstack().await;
        let probe = SqsProbe::like(&sdk, &output("PublishQueueUrl")).await;
        PublishQueueUnderTest {
            queue: Arc::new(SqsQueue::new(&sdk, &probe.url)),
            probe: Arc::new(probe),
        }
    });
    shared::resign_queue_contract!(|| async {
        let sdk = localstack().await;
        let probe = SqsProbe::like(&sdk, &output("ResignQueueUrl")).await;
        ResignQueueUnderTest {
            queue: Arc::new(SqsQueue::new(&sdk, &probe.url)),
            probe: Arc::new(probe),
        }
    });
}

/// The receiving end of a queue of one case's own: receives with the SDK, deletes what it
/// received, and measures how long after it was sent each message came.
struct SqsProbe {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

/// The attributes copied from the stack's queue (what decides delivery; not its dead-letter
/// queue, which is the stack's).
const COPIED: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "DelaySeconds",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "MaximumMessageSize",
];

impl SqsProbe {
    /// A new queue made as the one at `stack_queue` is.
    async fn like(sdk: &aws_config::SdkConfig, stack_queue: &str) -> SqsProbe {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(stack_queue)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .expect("the stack's queue exists")
            .attributes
            .unwrap_or_default();
        let copied: std::collections::HashMap<_, _> = attributes
            .into_iter()
            .filter(|(name, _)| COPIED.contains(&name.as_str()))
            .collect();
        let fifo = copied.get(&QueueAttributeName::FifoQueue).is_some_and(|v| v == "true");
        let name = format!(
            "contract-{}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16],
            if fifo { ".fifo" } else { "" }
        );
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .set_attributes(Some(copied))
            .send()
            .await
            .expect("a queue for the case")
            .queue_url
            .expect("its URL");
        SqsProbe { sqs, url }
    }
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

#[async_trait]
impl QueueProbe for SqsProbe {
    async fn delivered(&self, expected: usize) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut out = Vec::new();
        while tokio::time::Instant::now() < deadline {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send()
                .await
                .expect("the queue answers");
            let at = epoch_ms();
            let messages = received.messages.unwrap_or_default();
            for m in &messages {
                let sent: u128 = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|v| v.parse().ok())
                    .expect("a SentTimestamp");
                let job: PublishJob =
                    serde_json::from_str(m.body().expect("a body")).expect("the body is a publish job");
                out.push(Delivered {
                    job,
                    after: Duration::from_millis(at.saturating_sub(sent) as u64),
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(m.receipt_handle().expect("a receipt"))
                    .send()
                    .await
                    .expect("the message is deleted");
            }
            // Once all came, one poll that brings nothing more (a duplicate would be visible by now).
            if out.len() >= expected && messages.is_empty() {
                break;
            }
        }
        out
    }
}
