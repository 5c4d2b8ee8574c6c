//! The change pipeline: one writer per list, bursts coalesced.
//!
//! ```text
//! Statuses table ──stream──▶ Forwarder ──FIFO queue, group = list id──▶ publish jobs ──▶ S3
//! ```
//!
//! - The **forwarder** sees every committed status change (the statuses table holds one item per
//!   entry that is not VALID, written in the same transaction as the entry). For each list whose
//!   rendering changed it bumps the list's change sequence (after the write, so a render that
//!   reads that sequence contains the change) and enqueues one job `{listId, seq}`. A batch of
//!   stream records with many changes to one list makes one job.
//! - The **queue** is FIFO with the list id as message group: jobs of one list are handled one at a
//!   time, in order, by one consumer; different lists publish in parallel.
//! - **Jobs** coalesce again: a job whose sequence is already published (by an earlier job that
//!   rendered later state, by a re-delivery, or by the re-signer) costs one HEAD and no signing.
//!   A failed publish leaves the last good token in place; the job is retried with exponential
//!   backoff (in-process first, then by the queue's visibility timeout), and after the queue's
//!   `maxReceiveCount` it lands in the dead-letter queue, which raises an alarm.
//! - **New lists** enter the same way: the allocator queues a job of sequence 0 when it creates
//!   a list (so the request that allocated never signs). A list with no token has not published
//!   sequence 0, so that job renders the empty list; a batch that put out a list's first token
//!   then refreshes the distribution documents, once, so the list is named without waiting for
//!   the re-signer (which also publishes any list left without a token).
//!
//! Nothing here knows AWS: the stream records and queue messages arrive as [`EntryChange`] and
//! [`Delivery`] from the Lambda adapters (`lambda.rs`) or the local pollers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::ports::{Delivery, EntryChange, ListSource, PublishJob, PublishQueue, QueueError, StoreError};
use crate::publisher::{PublishError, Publisher};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

pub struct Forwarder {
    pub lists: Arc<dyn ListSource>,
    pub queue: Arc<dyn PublishQueue>,
}

impl Forwarder {
    /// Turns a batch of entry changes into one job per affected list. On error the whole batch
    /// is retried by the stream: bumping a sequence twice or queuing a job twice is harmless.
    pub async fn forward(&self, changes: &[EntryChange]) -> Result<Vec<PublishJob>, PipelineError> {
        let mut lists: Vec<&str> = Vec::new();
        for c in changes.iter().filter(|c| c.changes_token()) {
            if !lists.contains(&c.list_id.as_str()) {
                lists.push(&c.list_id);
            }
        }
        let mut jobs = Vec::with_capacity(lists.len());
        for list_id in lists {
            // A change to a list that does not exist has no token to publish. Skipping it matters:
            // the stream retries a failing batch until it succeeds, so an error here would block
            // every later change on the shard.
            let Some(seq) = self.lists.bump_change_seq(list_id).await? else {
                tracing::warn!(%list_id, "status change of an unknown list: nothing to publish");
                continue;
            };
            let job = PublishJob::change(list_id, seq);
            self.queue.enqueue(&job).await?;
            jobs.push(job);
        }
        Ok(jobs)
    }
}

/// What a batch of jobs came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobsReport {
    /// Lists still publishing when the batch's deadline came: their messages are failed, to be
    /// published by the next delivery (a cut publish is like a crash: the last good token stays).
    pub unfinished: Vec<String>,
    /// Lists rendered and written.
    pub published: usize,
    /// Lists whose token was already at the job's sequence: nothing to do.
    pub already_published: usize,
    /// Re-signing jobs of mDoc lists whose tenant has no signer now: not signed, not retried.
    pub unsigned: usize,
    /// Re-signing jobs of lists that no longer exist: dropped.
    pub gone: usize,
    /// Of the lists published, those that had no token before (new lists).
    pub first_tokens: usize,
    /// Whether the distribution documents were rewritten (after a first token).
    pub distribution_refreshed: bool,
    /// Messages that failed (to be retried, or dead-lettered once they run out of receives).
    pub failed: Vec<String>,
}

/// In-process retries of one publish before handing the job back to the queue.
pub const PUBLISH_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// How long the queue hides a failed message before its next delivery: doubling per receive
/// from 2 s, capped at 5 minutes.
pub fn requeue_delay(receive_count: u32) -> Duration {
    Duration::from_secs((2u64 << receive_count.saturating_sub(1).min(8)).min(300))
}

/// What a consumer keeps back from its invocation's deadline for handing unfinished jobs back to
/// the queue and answering.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// When a batch must stop publishing, for an invocation with `remaining` time left.
pub fn batch_deadline(remaining: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

/// Handles a batch of deliveries. Jobs are grouped by list: the highest sequence of each list is
/// published once, and the lists of a batch (up to 10 messages) publish concurrently. A message
/// that cannot be read is reported failed (it ends in the dead-letter queue); a list that fails
/// after [`PUBLISH_ATTEMPTS`] fails all its messages, so their order in the FIFO group is kept.
/// A list still publishing at `deadline` is abandoned, and its messages are failed with the
/// first retry delay, so one slow list (a throttled or hung AWS call) neither runs the
/// invocation out of time nor holds back the lists that finished. If the batch put out any
/// list's first token, the distribution documents are refreshed once at the end (if the deadline
/// allows); a failure there fails no message (the tokens are out, and the re-signer refreshes
/// the documents on its next pass).
pub async fn run_jobs(
    publisher: &Publisher,
    queue: &dyn PublishQueue,
    deliveries: &[Delivery],
    now: impl Fn() -> i64,
    deadline: tokio::time::Instant,
) -> JobsReport {
    use futures_util::StreamExt;

    let mut report = JobsReport::default();
    let mut by_list: BTreeMap<String, (Wanted, Vec<&Delivery>)> = BTreeMap::new();
    for d in deliveries {
        match serde_json::from_str::<PublishJob>(&d.body) {
            Ok(job) => {
                let e = by_list.entry(job.list_id).or_default();
                e.0.seq = e.0.seq.max(job.seq);
                e.0.resign_after = e.0.resign_after.max(job.resign_after);
                e.1.push(d);
            }
            Err(e) => {
                tracing::error!(message_id = %d.message_id, error = %e, "unreadable publish job");
                report.failed.push(d.message_id.clone());
            }
        }
    }
    let heads: Vec<(String, Wanted)> = by_list
        .iter()
        .map(|(list_id, (wanted, _))| (list_id.clone(), *wanted))
        .collect();
    let now = &now;
    let mut running: futures_util::stream::FuturesUnordered<_> = heads
        .into_iter()
        .map(|(list_id, wanted)| async move {
            let outcome = publish_with_retries(publisher, &list_id, wanted, now).await;
            (list_id, outcome)
        })
        .collect();
    let mut to_retry: Vec<(&Delivery, Duration)> = Vec::new();
    loop {
        let (list_id, outcome) = match tokio::time::timeout_at(deadline, running.next()).await {
            Ok(Some(done)) => done,
            Ok(None) | Err(_) => break,
        };
        let (wanted, messages) = by_list.remove(&list_id).expect("each list publishes once");
        let seq = wanted.seq;
        match outcome {
            Ok(Published::Rendered { first }) => {
                report.published += 1;
                report.first_tokens += usize::from(first);
            }
            Ok(Published::Already) => report.already_published += 1,
            // A re-signing job of an mDoc list whose tenant has no signer now: nothing to retry
            // (the token expires and leaves the distribution; the tenant is told when it
            // registers an mDoc). A change job of such a list still fails, to the DLQ's alarm.
            Err(e @ PublishError::NoTenantKey { .. }) if wanted.only_resigning() => {
                tracing::warn!(list_id, error = %e, "not re-signed: the tenant has no signer");
                report.unsigned += 1;
            }
            // A list removed since the pass: nothing to re-sign.
            Err(PublishError::UnknownList(_)) if wanted.only_resigning() => {
                tracing::warn!(list_id, "not re-signed: the list no longer exists");
                report.gone += 1;
            }
            Err(e) => {
                let receives = messages.iter().map(|d| d.receive_count).max().unwrap_or(1);
                tracing::warn!(list_id, seq, receives, error = %e, "publish failed; the last good token stays");
                to_retry.extend(messages.into_iter().map(|d| (d, requeue_delay(receives))));
            }
        }
    }
    // Whatever is still running is cut here, as a crash would cut it.
    drop(running);
    for (list_id, (Wanted { seq, .. }, messages)) in by_list {
        tracing::warn!(
            list_id,
            seq,
            "publish not finished by the batch's deadline; handed back to the queue"
        );
        to_retry.extend(messages.into_iter().map(|d| (d, requeue_delay(1))));
        report.unfinished.push(list_id);
    }
    futures_util::future::join_all(to_retry.iter().map(|(d, delay)| async move {
        if let Err(e) = queue.retry_later(&d.receipt, *delay).await {
            tracing::warn!(message_id = %d.message_id, error = %e, "backoff not set");
        }
    }))
    .await;
    report.failed.extend(to_retry.iter().map(|(d, _)| d.message_id.clone()));
    if report.first_tokens > 0 {
        let refreshed = match tokio::time::Instant::now() < deadline {
            true => tokio::time::timeout_at(deadline, refresh_distribution(publisher, now))
                .await
                .ok(),
            false => None,
        };
        if refreshed.is_none() {
            tracing::warn!("no time left to refresh the distribution documents; the re-signer will");
        }
        report.distribution_refreshed = refreshed.unwrap_or(false);
    }
    report
}

/// What publishing one list's jobs came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Published {
    /// Rendered and written; `first` if the list had no token before.
    Rendered { first: bool },
    /// The token was already at the job's sequence.
    Already,
}

/// Runs `attempt` up to [`PUBLISH_ATTEMPTS`] times, waiting 200 ms, then 800 ms, between tries.
/// An unknown list, a corrupt one, or one whose tenant has no signer is not retried: another try
/// would meet the same (the job comes back with the queue's backoff).
async fn with_retries<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, PublishError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, PublishError>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 1;
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(e @ (PublishError::UnknownList(_) | PublishError::Corrupt(..) | PublishError::NoTenantKey { .. })) => {
                return Err(e);
            }
            Err(e) if tries >= PUBLISH_ATTEMPTS => return Err(e),
            Err(e) => {
                tracing::info!(what, attempt = tries, error = %e, "failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 4;
                tries += 1;
            }
        }
    }
}

/// What a batch's jobs ask of one list: the highest sequence, and the latest re-signing pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Wanted {
    seq: u64,
    resign_after: Option<i64>,
}

impl Wanted {
    /// Whether only re-signing passes asked (no change job in the batch).
    fn only_resigning(&self) -> bool {
        self.seq == 0 && self.resign_after.is_some()
    }

    /// Whether the token in place (sequence, `iat`) already answers these jobs.
    fn met_by(&self, seq: u64, iat: i64) -> bool {
        seq >= self.seq && self.resign_after.is_none_or(|after| iat >= after)
    }
}

/// Publishes `list_id` unless the token in place answers `wanted` (a list with no token has not
/// published any sequence, 0 included).
async fn publish_with_retries(
    publisher: &Publisher,
    list_id: &str,
    wanted: Wanted,
    now: &impl Fn() -> i64,
) -> Result<Published, PublishError> {
    with_retries(list_id, || async {
        match publisher.published_head(list_id).await? {
            Some(head) if wanted.met_by(head.seq, head.iat) => Ok(Published::Already),
            current => publisher.publish(list_id, now()).await.map(|_| Published::Rendered {
                first: current.is_none(),
            }),
        }
    })
    .await
}

/// Rewrites the distribution documents, with the same in-process retries as a publish. `false`
/// if they could not be written.
async fn refresh_distribution(publisher: &Publisher, now: &impl Fn() -> i64) -> bool {
    match with_retries("distribution documents", || publisher.publish_aggregation(now())).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "distribution documents not refreshed; the re-signer will");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(old: Option<u8>, new: Option<u8>) -> EntryChange {
        EntryChange {
            list_id: "L".into(),
            old_status: old,
            new_status: new,
        }
    }

    #[test]
    fn only_status_changes_reach_the_token() {
        assert!(!change(None, Some(0)).changes_token()); // issued: VALID is the default fill
        assert!(!change(Some(0), Some(0)).changes_token()); // other fields updated
        assert!(change(Some(0), Some(1)).changes_token()); // revoked
        assert!(change(Some(2), Some(0)).changes_token()); // unsuspended
        assert!(change(None, Some(2)).changes_token()); // created suspended
        assert!(change(Some(1), None).changes_token()); // removed: renders VALID again
    }

    #[test]
    fn jobs_round_trip_and_refuse_strangers() {
        let job = PublishJob::change("ABC", 7);
        let body = serde_json::to_string(&job).unwrap();
        assert_eq!(body, r#"{"listId":"ABC","seq":7}"#);
        assert_eq!(serde_json::from_str::<PublishJob>(&body).unwrap(), job);
        assert!(serde_json::from_str::<PublishJob>(r#"{"listId":"ABC"}"#).is_err());
        assert!(serde_json::from_str::<PublishJob>(r#"{"listId":"A","seq":1,"x":1}"#).is_err());
        assert_eq!(job.dedup_id(), "ABC-7");
    }

    mod publishing {
        use std::sync::Arc;

        use super::super::*;
        use crate::publisher::{AGGREGATION_KEY, Aggregation, object_key};
        use crate::testing::{MemLists, MemObjects, MemQueue, publisher};

        const NOW: i64 = 1_000_000;

        fn job(list_id: &str, seq: u64) -> Delivery {
            Delivery {
                message_id: format!("{list_id}-{seq}"),
                receipt: format!("r-{list_id}-{seq}"),
                body: serde_json::to_string(&PublishJob::change(list_id, seq)).unwrap(),
                receive_count: 1,
            }
        }

        /// A deadline no test reaches.
        fn later() -> tokio::time::Instant {
            tokio::time::Instant::now() + Duration::from_secs(3600)
        }

        fn distribution(objects: &MemObjects) -> Vec<String> {
            let body = objects.body(AGGREGATION_KEY).expect("the distribution document");
            serde_json::from_slice::<Aggregation>(&body).unwrap().status_lists
        }

        fn resign_job(list_id: &str, pass_at: i64, n: usize) -> Delivery {
            Delivery {
                message_id: format!("resign-{list_id}-{n}"),
                receipt: format!("r-resign-{list_id}-{n}"),
                body: serde_json::to_string(&PublishJob::resign(list_id, pass_at)).unwrap(),
                receive_count: 1,
            }
        }

        #[tokio::test]
        async fn a_re_signing_job_signs_unchanged_content_once() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            lists.add_list("AAAAAAAAAAAA");
            lists.set_status("AAAAAAAAAAAA", 3, 1);
            let p = publisher(lists.clone(), objects.clone());
            let queue = MemQueue::default();
            p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
            // Sequence 1 is out already; the job asks for a token issued at the pass or later.
            let report = run_jobs(
                &p,
                &queue,
                &[resign_job("AAAAAAAAAAAA", NOW + 500, 0)],
                || NOW + 510,
                later(),
            )
            .await;
            assert_eq!((report.published, report.already_published), (1, 0));
            let head = p.published_head("AAAAAAAAAAAA").await.unwrap().unwrap();
            assert_eq!((head.seq, head.iat), (1, NOW + 510));
            // Delivered again (a standard queue may), or after a change job published since:
            // nothing to sign.
            let report = run_jobs(
                &p,
                &queue,
                &[resign_job("AAAAAAAAAAAA", NOW + 500, 1)],
                || NOW + 520,
                later(),
            )
            .await;
            assert_eq!((report.published, report.already_published), (0, 1));
            assert_eq!(p.published_head("AAAAAAAAAAAA").await.unwrap().unwrap().iat, NOW + 510);
            // With a change job in the same batch: one render covers both.
            lists.set_status("AAAAAAAAAAAA", 4, 2);
            let report = run_jobs(
                &p,
                &queue,
                &[job("AAAAAAAAAAAA", 2), resign_job("AAAAAAAAAAAA", NOW + 600, 2)],
                || NOW + 600,
                later(),
            )
            .await;
            assert_eq!((report.published, report.failed.len()), (1, 0));
            let head = p.published_head("AAAAAAAAAAAA").await.unwrap().unwrap();
            assert_eq!((head.seq, head.iat), (2, NOW + 600));
            // Old messages without the field still read as change jobs.
            let old: PublishJob = serde_json::from_str(r#"{"listId":"AAAAAAAAAAAA","seq":2}"#).unwrap();
            assert_eq!(old, PublishJob::change("AAAAAAAAAAAA", 2));
            assert_eq!(
                serde_json::to_string(&PublishJob::resign("AAAAAAAAAAAA", 7)).unwrap(),
                r#"{"listId":"AAAAAAAAAAAA","seq":0,"resignAfter":7}"#
            );
        }

        #[tokio::test]
        async fn re_signing_jobs_of_unsigned_or_removed_lists_are_dropped_change_jobs_are_not() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            lists.add_mdoc_list(
                "0b5f4b8e-0000-4000-8000-000000000001",
                "c",
                crate::domain::lifetime::Lifetime {
                    ttl: 600,
                    validity: 3_600,
                },
            );
            // No tenant keys at all: the tenant has no signer.
            let p = publisher(lists.clone(), objects.clone());
            let queue = MemQueue::default();
            let id = "0b5f4b8e-0000-4000-8000-000000000001";
            let report = run_jobs(&p, &queue, &[resign_job(id, NOW, 0)], || NOW, later()).await;
            assert_eq!((report.unsigned, report.failed.len()), (1, 0));
            let report = run_jobs(&p, &queue, &[job(id, 1)], || NOW, later()).await;
            assert_eq!((report.unsigned, report.failed.len()), (0, 1));
            // A list gone since the pass: the re-signing job is dropped, a change job fails.
            let report = run_jobs(&p, &queue, &[resign_job("NOSUCHLIST00", NOW, 0)], || NOW, later()).await;
            assert_eq!((report.gone, report.failed.len()), (1, 0));
            let report = run_jobs(&p, &queue, &[job("NOSUCHLIST00", 1)], || NOW, later()).await;
            assert_eq!((report.gone, report.failed.len()), (0, 1));
        }

        #[tokio::test]
        async fn a_change_to_an_unknown_list_is_skipped_not_failed() {
            // The stream retries a failed batch until it succeeds: one record of a list that does
            // not exist must not block every later change.
            let lists = Arc::new(MemLists::default());
            lists.add_list("AAAAAAAAAAAA");
            let queue = Arc::new(MemQueue::default());
            let forwarder = Forwarder {
                lists: lists.clone(),
                queue: queue.clone(),
            };
            let change = |list: &str| EntryChange {
                list_id: list.into(),
                old_status: Some(0),
                new_status: Some(1),
            };
            let jobs = forwarder
                .forward(&[change("NO-SUCH-LIST"), change("AAAAAAAAAAAA")])
                .await
                .unwrap();
            assert_eq!(jobs, vec![PublishJob::change("AAAAAAAAAAAA", 1)]);
            assert_eq!(*queue.jobs.lock().unwrap(), jobs);
        }

        #[tokio::test]
        async fn a_new_lists_first_job_publishes_it_and_the_distribution_names_it() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            lists.add_list("AAAAAAAAAAAA");
            lists.add_list("BBBBBBBBBBBB");
            let p = publisher(lists.clone(), objects.clone());
            let queue = MemQueue::default();
            // No token yet: sequence 0 is not published, so the job renders the empty list.
            assert!(!p.published_at_least("AAAAAAAAAAAA", 0).await.unwrap());
            let batch = [job("AAAAAAAAAAAA", 0), job("BBBBBBBBBBBB", 0)];
            let report = run_jobs(&p, &queue, &batch, || NOW, later()).await;
            assert_eq!((report.published, report.first_tokens), (2, 2), "{report:?}");
            assert!(report.distribution_refreshed && report.failed.is_empty(), "{report:?}");
            for id in ["AAAAAAAAAAAA", "BBBBBBBBBBBB"] {
                assert!(objects.body(&object_key(id, crate::TokenFormat::Jwt)).is_some());
                assert!(p.published_at_least(id, 0).await.unwrap());
                assert_eq!(lists.published_exp(id), NOW + 3600);
            }
            // Both named, in one write for the batch.
            assert_eq!(
                distribution(&objects),
                [
                    "https://status.example/t/AAAAAAAAAAAA",
                    "https://status.example/t/BBBBBBBBBBBB"
                ]
            );
            assert_eq!(objects.writes(AGGREGATION_KEY), 1);

            // Delivered again: nothing to render, nothing to refresh.
            let again = run_jobs(&p, &queue, &batch, || NOW, later()).await;
            assert_eq!(
                (again.published, again.already_published, again.first_tokens),
                (0, 2, 0)
            );
            assert!(!again.distribution_refreshed);
            assert_eq!(objects.writes(AGGREGATION_KEY), 1);
            assert_eq!(objects.writes(&object_key("AAAAAAAAAAAA", crate::TokenFormat::Cwt)), 1);
        }

        #[tokio::test]
        async fn lists_the_allocator_creates_are_published_by_their_queued_jobs() {
            use crate::issuer::allocator::{Allocator, OPEN_LISTS};
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            let queue = Arc::new(MemQueue::default());
            let allocator = Allocator::new(lists.clone(), "govuk", None, Some(queue.clone()));
            allocator.open_lists(NOW).await.unwrap();
            // Nothing is signed or written by the allocation itself.
            assert!(objects.body(AGGREGATION_KEY).is_none());
            let p = publisher(lists.clone(), objects.clone());
            let report = run_jobs(&p, queue.as_ref(), &queue.deliveries(), || NOW, later()).await;
            assert_eq!((report.published, report.first_tokens), (OPEN_LISTS, OPEN_LISTS));
            assert!(report.distribution_refreshed);
            assert_eq!(distribution(&objects).len(), OPEN_LISTS);
            assert_eq!(objects.writes(AGGREGATION_KEY), 1);
        }

        #[tokio::test]
        async fn a_change_to_a_published_list_leaves_the_distribution_alone() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            lists.add_list("AAAAAAAAAAAA");
            let p = publisher(lists.clone(), objects.clone());
            let queue = MemQueue::default();
            run_jobs(&p, &queue, &[job("AAAAAAAAAAAA", 0)], || NOW, later()).await;
            let seq = lists.set_status("AAAAAAAAAAAA", 7, 1);
            // The creation's job and the change's, in one batch (the creation's arrived late).
            let batch = [job("AAAAAAAAAAAA", 0), job("AAAAAAAAAAAA", seq)];
            let report = run_jobs(&p, &queue, &batch, || NOW + 1, later()).await;
            assert_eq!((report.published, report.first_tokens), (1, 0), "{report:?}");
            assert!(!report.distribution_refreshed);
            assert_eq!(objects.writes(AGGREGATION_KEY), 1);
            assert!(p.published_at_least("AAAAAAAAAAAA", seq).await.unwrap());
        }

        #[tokio::test]
        async fn a_change_queued_before_the_first_token_publishes_it_with_the_change() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            lists.add_list("AAAAAAAAAAAA");
            let p = publisher(lists.clone(), objects.clone());
            let seq = lists.set_status("AAAAAAAAAAAA", 7, 1);
            let batch = [job("AAAAAAAAAAAA", 0), job("AAAAAAAAAAAA", seq)];
            let report = run_jobs(&p, &MemQueue::default(), &batch, || NOW, later()).await;
            assert_eq!((report.published, report.first_tokens), (1, 1), "{report:?}");
            assert!(report.distribution_refreshed);
            assert_eq!(distribution(&objects), ["https://status.example/t/AAAAAAAAAAAA"]);
            assert!(p.published_at_least("AAAAAAAAAAAA", seq).await.unwrap());
        }

        const TEN: [&str; 10] = [
            "AAAAAAAAAAAA",
            "BBBBBBBBBBBB",
            "CCCCCCCCCCCC",
            "DDDDDDDDDDDD",
            "EEEEEEEEEEEE",
            "FFFFFFFFFFFF",
            "GGGGGGGGGGGG",
            "HHHHHHHHHHHH",
            "IIIIIIIIIIII",
            "JJJJJJJJJJJJ",
        ];

        // The clock is tokio's paused clock: time passes only in the store's sleeps, so the
        // figures below are exact, whatever the machine.
        #[tokio::test(start_paused = true)]
        async fn the_lists_of_a_batch_publish_concurrently() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            for id in TEN {
                lists.add_list(id);
            }
            let p = publisher(lists.clone(), objects.clone());
            // Each write takes a second: a publish writes the JWT and the CWT, and the batch then
            // writes the two distribution documents.
            objects.slow_down(Duration::from_secs(1));
            let batch: Vec<_> = TEN.iter().map(|id| job(id, 0)).collect();
            let started = tokio::time::Instant::now();
            let report = run_jobs(&p, &MemQueue::default(), &batch, || NOW, later()).await;
            assert_eq!((report.published, report.first_tokens), (10, 10), "{report:?}");
            assert!(report.distribution_refreshed && report.failed.is_empty(), "{report:?}");
            // One after another, the ten lists alone would take 20 s.
            assert_eq!(started.elapsed(), Duration::from_secs(4));
        }

        #[tokio::test(start_paused = true)]
        async fn a_list_unfinished_at_the_deadline_is_handed_back_and_the_others_land() {
            let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
            for id in ["AAAAAAAAAAAA", "BBBBBBBBBBBB", "CCCCCCCCCCCC"] {
                lists.add_list(id);
            }
            let p = publisher(lists.clone(), objects.clone());
            // B's first token is out; its next write hangs (a connection that never answers).
            run_jobs(&p, &MemQueue::default(), &[job("BBBBBBBBBBBB", 0)], || NOW, later()).await;
            let seq = lists.set_status("BBBBBBBBBBBB", 3, 1);
            objects.hang(&object_key("BBBBBBBBBBBB", crate::TokenFormat::Jwt));
            objects.hang(&object_key("BBBBBBBBBBBB", crate::TokenFormat::Cwt));
            let before = objects.body(&object_key("BBBBBBBBBBBB", crate::TokenFormat::Jwt));

            let queue = MemQueue::default();
            let batch = [job("AAAAAAAAAAAA", 0), job("BBBBBBBBBBBB", seq), job("CCCCCCCCCCCC", 0)];
            let started = tokio::time::Instant::now();
            let report = run_jobs(&p, &queue, &batch, || NOW, started + Duration::from_secs(30)).await;
            // The batch answers at its deadline, with the lists that finished published...
            assert_eq!(started.elapsed(), Duration::from_secs(30));
            assert_eq!((report.published, report.first_tokens), (2, 2), "{report:?}");
            for id in ["AAAAAAAAAAAA", "CCCCCCCCCCCC"] {
                assert!(p.published_at_least(id, 0).await.unwrap(), "{id}");
            }
            // ...and the unfinished one handed back to the queue, to come back in 2 s. Its last
            // good token is still served.
            assert_eq!(report.unfinished, ["BBBBBBBBBBBB"]);
            assert_eq!(report.failed, [format!("BBBBBBBBBBBB-{seq}")]);
            assert_eq!(
                *queue.retries.lock().unwrap(),
                [(format!("r-BBBBBBBBBBBB-{seq}"), Duration::from_secs(2))]
            );
            assert!(!p.published_at_least("BBBBBBBBBBBB", seq).await.unwrap());
            assert_eq!(
                objects.body(&object_key("BBBBBBBBBBBB", crate::TokenFormat::Jwt)),
                before
            );
            // No time was left to name the new lists in the distribution: the re-signer will.
            assert!(!report.distribution_refreshed);

            // Delivered again once the store answers: the change is published, nothing is lost.
            objects.heal();
            let again = run_jobs(&p, &queue, &batch, || NOW, later()).await;
            assert_eq!((again.published, again.already_published), (1, 2), "{again:?}");
            assert!(again.unfinished.is_empty() && again.failed.is_empty(), "{again:?}");
            assert!(p.published_at_least("BBBBBBBBBBBB", seq).await.unwrap());
        }
    }

    #[test]
    fn requeue_backoff_doubles_and_is_capped() {
        let secs: Vec<u64> = (1..=10).map(|n| requeue_delay(n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(requeue_delay(0).as_secs(), 2);
    }
}

/// What one pass of the re-signer did: managed signers rotated first, so the lists re-signed in
/// the same pass already carry the new certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResignPass {
    pub signers: crate::mdoc::signers::RotationReport,
    pub lists: crate::publisher::ResignReport,
}

/// The scheduled re-signer: rotates the managed signers, then queues the due lists' re-signing
/// jobs, which the publisher signs as they are delivered.
pub struct Resigner {
    pub publisher: Arc<Publisher>,
    pub signers: Arc<crate::mdoc::signers::SignerService>,
    pub queue: Arc<dyn crate::ports::ResignQueue>,
    /// KMS `Sign` calls a second a pass's jobs may make (see [`crate::domain::resign`]).
    pub sign_rate: u64,
}

impl Resigner {
    /// One pass at `now`: [`crate::mdoc::signers::SignerService::rotate`], then
    /// [`Publisher::resign_due`].
    pub async fn pass(&self, now: i64) -> Result<ResignPass, PublishError> {
        let signers = self.signers.rotate(now).await?;
        let lists = self
            .publisher
            .resign_due(now, self.queue.as_ref(), self.sign_rate)
            .await?;
        Ok(ResignPass { signers, lists })
    }
}

#[cfg(test)]
mod forwarding_tests {
    use std::sync::Arc;

    use super::*;
    use crate::publisher::object_key;
    use crate::testing::{MemLists, MemObjects, MemQueue, publisher};

    fn change(list_id: &str, old: Option<u8>, new: Option<u8>) -> EntryChange {
        EntryChange {
            list_id: list_id.into(),
            old_status: old,
            new_status: new,
        }
    }

    async fn seq(lists: &MemLists, list_id: &str) -> u64 {
        lists.list_state(list_id).await.unwrap().unwrap().change_seq
    }

    #[tokio::test]
    async fn a_batch_makes_one_job_per_list_whose_token_changes() {
        let lists = Arc::new(MemLists::default());
        for id in ["AAAAAAAAAAAA", "BBBBBBBBBBBB", "CCCCCCCCCCCC"] {
            lists.add_list(id);
        }
        let queue = Arc::new(MemQueue::default());
        let forwarder = Forwarder {
            lists: lists.clone(),
            queue: queue.clone(),
        };
        let jobs = forwarder
            .forward(&[
                change("AAAAAAAAAAAA", None, Some(1)),
                change("AAAAAAAAAAAA", Some(1), Some(2)),
                change("BBBBBBBBBBBB", Some(0), Some(1)),
                // A new VALID entry renders exactly as before.
                change("CCCCCCCCCCCC", None, Some(0)),
            ])
            .await
            .unwrap();
        assert_eq!(
            jobs,
            [
                PublishJob::change("AAAAAAAAAAAA", 1),
                PublishJob::change("BBBBBBBBBBBB", 1)
            ]
        );
        assert_eq!(*queue.jobs.lock().unwrap(), jobs, "queued as returned");
        assert_eq!(seq(&lists, "AAAAAAAAAAAA").await, 1, "two changes, one bump");
        assert_eq!(seq(&lists, "CCCCCCCCCCCC").await, 0, "no change to render");
    }

    #[tokio::test]
    async fn a_change_to_an_unknown_list_is_skipped_and_the_rest_are_queued() {
        let lists = Arc::new(MemLists::default());
        lists.add_list("AAAAAAAAAAAA");
        let queue = Arc::new(MemQueue::default());
        let forwarder = Forwarder {
            lists: lists.clone(),
            queue: queue.clone(),
        };
        let jobs = forwarder
            .forward(&[
                change("ZZZZZZZZZZZZ", None, Some(1)),
                change("AAAAAAAAAAAA", None, Some(1)),
            ])
            .await
            .expect("an unknown list never blocks the shard");
        assert_eq!(jobs, [PublishJob::change("AAAAAAAAAAAA", 1)]);
    }

    #[tokio::test]
    async fn a_refusing_queue_fails_the_batch_and_its_retry_queues_a_later_sequence() {
        let lists = Arc::new(MemLists::default());
        lists.add_list("AAAAAAAAAAAA");
        let refusing = Forwarder {
            lists: lists.clone(),
            queue: Arc::new(MemQueue {
                unavailable: true,
                ..MemQueue::default()
            }),
        };
        let batch = [change("AAAAAAAAAAAA", None, Some(1))];
        assert!(matches!(
            refusing.forward(&batch).await,
            Err(PipelineError::Queue(QueueError::Unavailable(_)))
        ));
        // The stream delivers the batch again: the sequence is bumped twice, which only means a
        // render that already contains the change is asked for once more.
        let queue = Arc::new(MemQueue::default());
        let working = Forwarder {
            lists: lists.clone(),
            queue: queue.clone(),
        };
        assert_eq!(
            working.forward(&batch).await.unwrap(),
            [PublishJob::change("AAAAAAAAAAAA", 2)]
        );
    }

    #[tokio::test]
    async fn jobs_of_one_list_in_a_batch_coalesce_into_one_publish_of_the_latest() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_list("AAAAAAAAAAAA");
        let queue = Arc::new(MemQueue::default());
        let forwarder = Forwarder {
            lists: lists.clone(),
            queue: queue.clone(),
        };
        lists.set_status("AAAAAAAAAAAA", 7, 1);
        forwarder
            .forward(&[change("AAAAAAAAAAAA", None, Some(1))])
            .await
            .unwrap();
        lists.set_status("AAAAAAAAAAAA", 8, 2);
        forwarder
            .forward(&[change("AAAAAAAAAAAA", None, Some(2))])
            .await
            .unwrap();
        let deliveries = queue.deliveries();
        assert_eq!(deliveries.len(), 2);
        let p = publisher(lists.clone(), objects.clone());
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        let report = run_jobs(&p, queue.as_ref(), &deliveries, || 1_000_000, far).await;
        assert_eq!(report.published, 1, "one render for both jobs");
        assert!(report.failed.is_empty());
        let head = p.published_head("AAAAAAAAAAAA").await.unwrap().unwrap();
        assert_eq!(head.seq, seq(&lists, "AAAAAAAAAAAA").await, "the latest sequence");
        assert_eq!(
            objects.writes(&object_key("AAAAAAAAAAAA", crate::domain::token::TokenFormat::Cwt)),
            1
        );
    }
}
