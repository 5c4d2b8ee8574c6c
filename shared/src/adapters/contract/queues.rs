//! [`PublishQueue`] and [`ResignQueue`]: what an enqueued job becomes, as the consumer receives
//! it. A [`QueueProbe`] is the consumer's side of the queue under test: the SQS one receives with
//! the SDK (and measures each message's delay), the in-memory one reads what was recorded.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Ids, now};
use crate::adapters::memory::{MemQueue, MemResignQueue};
use crate::ports::PublishJob;
use crate::ports::{PublishQueue, ResignQueue};

/// Every publish-queue case, one test each, on the [`PublishQueueUnderTest`] `make().await`
/// gives.
#[macro_export]
macro_rules! publish_queue_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            queues,
            $make,
            [
                a_job_is_delivered_as_it_was_queued,
                a_lists_jobs_are_delivered_in_order,
                a_change_is_queued_once,
            ]
        );
    };
}

/// Every re-signing-queue case, one test each, on the [`ResignQueueUnderTest`] `make().await`
/// gives.
#[macro_export]
macro_rules! resign_queue_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            queues,
            $make,
            [delayed_jobs_wait_their_delay, a_batch_of_any_size_is_queued_whole]
        );
    };
}

/// A job as the consumer got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub job: PublishJob,
    /// How long after it was queued it could first be received.
    pub after: Duration,
}

/// The consumer's side of a queue under test.
#[async_trait]
pub trait QueueProbe: Send + Sync {
    /// The jobs received from now on, each taken off the queue, in the order received; returns
    /// once `expected` have come and a short quiet spell brought no more, or at a deadline.
    async fn delivered(&self, expected: usize) -> Vec<Delivered>;
}

pub struct PublishQueueUnderTest {
    pub queue: Arc<dyn PublishQueue>,
    pub probe: Arc<dyn QueueProbe>,
}

pub struct ResignQueueUnderTest {
    pub queue: Arc<dyn ResignQueue>,
    pub probe: Arc<dyn QueueProbe>,
}

/// The in-memory queue hands its jobs over as queued, at once.
#[async_trait]
impl QueueProbe for MemQueue {
    async fn delivered(&self, _expected: usize) -> Vec<Delivered> {
        std::mem::take(&mut *self.jobs.lock().unwrap())
            .into_iter()
            .map(|job| Delivered {
                job,
                after: Duration::ZERO,
            })
            .collect()
    }
}

/// The in-memory re-signing queue hands its jobs over with the delay each was queued with.
#[async_trait]
impl QueueProbe for MemResignQueue {
    async fn delivered(&self, _expected: usize) -> Vec<Delivered> {
        self.take()
            .into_iter()
            .map(|(job, after)| Delivered { job, after })
            .collect()
    }
}

/// How much later than its delay a job may come (the receiver's polling, a busy LocalStack).
const LATENESS: Duration = Duration::from_millis(2_500);

fn jobs(delivered: &[Delivered]) -> Vec<PublishJob> {
    delivered.iter().map(|d| d.job.clone()).collect()
}

fn on_time(delivered: &[Delivered]) {
    for d in delivered {
        assert!(d.after < LATENESS, "{:?} came {:?} after it was queued", d.job, d.after);
    }
}

pub async fn a_job_is_delivered_as_it_was_queued(q: PublishQueueUnderTest, ids: Ids) {
    let list = ids.id("list");
    let queued = vec![PublishJob::change(&list, 3), PublishJob::resign(&list, now())];
    for job in &queued {
        q.queue.enqueue(job).await.unwrap();
    }
    let delivered = q.probe.delivered(queued.len()).await;
    assert_eq!(jobs(&delivered), queued);
    on_time(&delivered);
}

pub async fn a_lists_jobs_are_delivered_in_order(q: PublishQueueUnderTest, ids: Ids) {
    let list = ids.id("list");
    let queued: Vec<_> = (1..=6).map(|seq| PublishJob::change(&list, seq)).collect();
    for job in &queued {
        q.queue.enqueue(job).await.unwrap();
    }
    assert_eq!(
        jobs(&q.probe.delivered(queued.len()).await),
        queued,
        "in order, each once"
    );
}

pub async fn a_change_is_queued_once(q: PublishQueueUnderTest, ids: Ids) {
    let (list, other) = (ids.id("list"), ids.id("list"));
    for job in [
        PublishJob::change(&list, 1),
        PublishJob::change(&list, 1),
        PublishJob::change(&list, 2),
        PublishJob::change(&other, 1),
        PublishJob::change(&list, 1),
    ] {
        q.queue
            .enqueue(&job)
            .await
            .expect("a duplicate is accepted, and dropped");
    }
    assert_eq!(
        jobs(&q.probe.delivered(3).await),
        vec![
            PublishJob::change(&list, 1),
            PublishJob::change(&list, 2),
            PublishJob::change(&other, 1)
        ],
        "the same change (list and sequence) is delivered once"
    );
}

pub async fn delayed_jobs_wait_their_delay(q: ResignQueueUnderTest, ids: Ids) {
    let t = now();
    let queued: Vec<_> = [0, 3, 1]
        .into_iter()
        .map(|secs| (PublishJob::resign(ids.id("list"), t), Duration::from_secs(secs)))
        .collect();
    q.queue.enqueue_delayed(&queued).await.unwrap();
    let delivered = q.probe.delivered(queued.len()).await;
    assert_eq!(delivered.len(), queued.len(), "each once: {delivered:?}");
    for (job, delay) in &queued {
        let d = delivered
            .iter()
            .find(|d| d.job == *job)
            .unwrap_or_else(|| panic!("{job:?} delivered"));
        assert!(
            d.after + Duration::from_millis(200) >= *delay && d.after < *delay + LATENESS,
            "{job:?} queued with a delay of {delay:?} came after {:?}",
            d.after
        );
    }
}

pub async fn a_batch_of_any_size_is_queued_whole(q: ResignQueueUnderTest, ids: Ids) {
    let t = now();
    // More than one SendMessageBatch holds (ten).
    let queued: Vec<_> = (0..23)
        .map(|_| (PublishJob::resign(ids.id("list"), t), Duration::ZERO))
        .collect();
    q.queue.enqueue_delayed(&queued).await.unwrap();
    q.queue.enqueue_delayed(&[]).await.expect("nothing to queue is fine");
    let mut delivered = jobs(&q.probe.delivered(queued.len()).await);
    delivered.sort_by(|a, b| a.list_id.cmp(&b.list_id));
    let expected: Vec<_> = queued.into_iter().map(|(job, _)| job).collect();
    assert_eq!(delivered, expected, "each job once");
}
