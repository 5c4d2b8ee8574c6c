//! [`PublishQueue`] on an SQS FIFO queue: the list id is the message group (one consumer at a
//! time per list, in order) and `<listId>-<seq>` the deduplication id. [`ResignQueue`] on a
//! standard queue: each job with its own delivery delay, sent ten to a call. The receive and
//! delete calls serve the local consumer; in AWS the Lambda event source mapping does them.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, SendMessageBatchRequestEntry},
};

use crate::ports::{Delivery, PublishJob};
use crate::ports::{PublishQueue, QueueError, ResignQueue};

pub struct SqsQueue {
    sqs: Client,
    url: String,
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(err: SdkError<E>) -> QueueError {
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            QueueError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(e) if e.raw().status().is_server_error() => {
            QueueError::Unavailable(format!("{:?}: {:?}", e.err().code(), e.err().message()))
        }
        _ => QueueError::Other(format!("{err:?}")),
    }
}

impl SqsQueue {
    pub fn new(sdk: &aws_config::SdkConfig, url: impl Into<String>) -> Self {
        SqsQueue {
            sqs: Client::new(sdk),
            url: url.into(),
        }
    }

    /// Up to 10 messages, waiting up to `wait` for the first (long polling).
    pub async fn receive(&self, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            // Short, so jobs held by a consumer that died are soon seen again: locally no
            // publish takes near this long.
            .visibility_timeout(30)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Delivery {
                    message_id: m.message_id()?.to_string(),
                    receipt: m.receipt_handle()?.to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    receive_count: m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect())
    }

    /// Deletes handled messages.
    pub async fn delete(&self, deliveries: &[&Delivery]) -> Result<(), QueueError> {
        for chunk in deliveries.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&d.receipt)
                        .build()
                        .map_err(|e| QueueError::Other(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(classify)?;
            if !out.failed().is_empty() {
                return Err(QueueError::Other(format!("delete failed: {:?}", out.failed())));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl PublishQueue for SqsQueue {
    async fn enqueue(&self, job: &PublishJob) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).map_err(|e| QueueError::Other(e.to_string()))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_group_id(&job.list_id)
            .message_deduplication_id(job.dedup_id())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(delay.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// SQS's most messages in one `SendMessageBatch`.
const SEND_BATCH: usize = 10;

impl SqsQueue {
    /// One `SendMessageBatch` of up to ten delayed jobs.
    async fn send_delayed(&self, chunk: &[(PublishJob, Duration)]) -> Result<(), QueueError> {
        let mut batch = self.sqs.send_message_batch().queue_url(&self.url);
        for (i, (job, delay)) in chunk.iter().enumerate() {
            let body = serde_json::to_string(job).map_err(|e| QueueError::Other(e.to_string()))?;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .delay_seconds(delay.as_secs().min(crate::domain::resign::MAX_DELAY) as i32)
                .build()
                .map_err(|e| QueueError::Other(e.to_string()))?;
            batch = batch.entries(entry);
        }
        let out = batch.send().await.map_err(classify)?;
        let Some(f) = out.failed().first() else {
            return Ok(());
        };
        let what = format!(
            "{} of {} jobs not queued: {} {}",
            out.failed().len(),
            chunk.len(),
            f.code(),
            f.message().unwrap_or_default()
        );
        Err(if f.sender_fault() {
            QueueError::Other(what)
        } else {
            QueueError::Unavailable(what)
        })
    }
}

#[async_trait]
impl ResignQueue for SqsQueue {
    /// Ten jobs to a call, the calls of one request at once (the pass hands over a hundred at a
    /// time: ten calls).
    async fn enqueue_delayed(&self, jobs: &[(PublishJob, Duration)]) -> Result<(), QueueError> {
        futures_util::future::join_all(jobs.chunks(SEND_BATCH).map(|chunk| self.send_delayed(chunk)))
            .await
            .into_iter()
            .collect()
    }
}
