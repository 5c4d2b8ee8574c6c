//! The background work of the local stack, where AWS would run it from event sources: the
//! change pipeline (statuses stream poller → forwarder → FIFO queue → publish jobs) and the re-signer on a
//! timer. The same [`crate::pipeline`] and [`crate::publisher`] code the Lambdas run.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::dynamo::stream::{StartAt, StreamPoller};
use crate::adapters::sqs_queue::SqsQueue;
use crate::app::App;
use crate::pipeline::run_jobs;

/// How often the stream is read, and how long a queue receive waits.
const STREAM_POLL: Duration = Duration::from_millis(200);
const SHARD_DISCOVERY: Duration = Duration::from_secs(10);
const RECEIVE_WAIT: Duration = Duration::from_secs(1);
/// Queue consumers (publishers) running at once, for change jobs and for re-signing jobs.
const CONSUMERS: usize = 4;
const RESIGN_CONSUMERS: usize = 2;
/// Each consumer's time per batch: the template's publisher timeout.
const PUBLISHER_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts the pipeline: returns once the stream position is fixed, so every change committed
/// after this returns is published.
pub async fn spawn_pipeline(
    app: Arc<App>,
    sdk: &aws_config::SdkConfig,
    start: StartAt,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let url = app
        .config
        .publish_queue_url
        .clone()
        .ok_or("PUBLISH_QUEUE_URL is not set")?;
    // The consumers need the queue's receive and delete, which the port leaves to Lambda.
    let queue = Arc::new(SqsQueue::new(sdk, url));
    let forwarder = app.forwarder().ok_or("PUBLISH_QUEUE_URL is not set")?;
    let mut poller = StreamPoller::new(sdk, &app.config.tables.statuses, start).await?;
    let forward = tokio::spawn(async move {
        let mut last_discovery = tokio::time::Instant::now();
        loop {
            if last_discovery.elapsed() > SHARD_DISCOVERY {
                if let Err(e) = poller.discover().await {
                    tracing::warn!(error = %e, "stream shards not refreshed");
                }
                last_discovery = tokio::time::Instant::now();
            }
            match poller.poll().await {
                Ok(changes) if !changes.is_empty() => {
                    // Retried until it goes through, as the event source mapping would.
                    let mut delay = Duration::from_millis(200);
                    while let Err(e) = forwarder.forward(&changes).await {
                        tracing::warn!(error = %e, "changes not forwarded; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "stream not read"),
            }
            tokio::time::sleep(STREAM_POLL).await;
        }
    });
    // Several consumers, as Lambda scales out per message group: the FIFO queue still hands a
    // list's jobs to one of them at a time, in order.
    let mut handles = vec![forward];
    handles.extend(spawn_consumers(&app, queue, CONSUMERS));
    // The re-signing jobs, from their own queue (as the publisher's second event source).
    if let Some(url) = app.config.resign_queue_url.clone() {
        handles.extend(spawn_consumers(
            &app,
            Arc::new(SqsQueue::new(sdk, url)),
            RESIGN_CONSUMERS,
        ));
    }
    Ok(handles)
}

/// `count` consumers of `queue`, each running [`run_jobs`] on what it receives and deleting what
/// it handled, as the event source mapping does.
fn spawn_consumers(app: &Arc<App>, queue: Arc<SqsQueue>, count: usize) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|_| {
            let (app, queue) = (app.clone(), queue.clone());
            tokio::spawn(async move {
                loop {
                    let deliveries = match queue.receive(RECEIVE_WAIT).await {
                        Ok(d) => d,
                        Err(e) => {
                            tracing::warn!(error = %e, "publish queue not read");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    };
                    if deliveries.is_empty() {
                        continue;
                    }
                    let deadline = crate::pipeline::batch_deadline(PUBLISHER_TIMEOUT);
                    let report =
                        run_jobs(&app.publisher, queue.as_ref(), &deliveries, crate::clock::now, deadline).await;
                    if report.published > 0 || !report.failed.is_empty() {
                        tracing::info!(?report, "publish jobs");
                    }
                    let done: Vec<_> = deliveries
                        .iter()
                        .filter(|d| !report.failed.contains(&d.message_id))
                        .collect();
                    if let Err(e) = queue.delete(&done).await {
                        tracing::warn!(error = %e, "handled jobs not deleted; they will be seen again (harmless)");
                    }
                }
            })
        })
        .collect()
}

/// Runs the re-signer every `every`, as the schedule does in AWS: its jobs go to the re-signing
/// queue, which the consumers of [`spawn_pipeline`] read.
pub fn spawn_resigner(
    app: Arc<App>,
    sdk: &aws_config::SdkConfig,
    every: Duration,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let url = app
        .config
        .resign_queue_url
        .clone()
        .ok_or("RESIGN_QUEUE_URL is not set")?;
    let resigner = crate::pipeline::Resigner {
        publisher: app.publisher.clone(),
        signers: app.signers.clone(),
        queue: Arc::new(SqsQueue::new(sdk, url)),
        sign_rate: app.config.resign_sign_rate,
    };
    Ok(tokio::spawn(async move {
        loop {
            match resigner.pass(crate::clock::now()).await {
                Ok(r) if r.lists.enqueued > 0 || r.lists.failed > 0 || r.signers.issued > 0 => {
                    tracing::info!(?r, "re-signing pass")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "re-signing pass failed"),
            }
            tokio::time::sleep(every).await;
        }
    }))
}
