//! Index allocation (spec §10.4): random indices, never reused, spread over several open lists.
//!
//! Why a duplicate (uri, idx) is impossible: an index is claimed only by a conditional put of
//! its entry item `(listId, idx)` with `attribute_not_exists`, which DynamoDB evaluates
//! atomically per item; entries are never deleted (revocation and mDoc deletion keep the item),
//! so a taken index stays taken forever; and list ids are created by conditional put too, so two
//! lists never share an id. Collisions are retried with a new random draw.
//!
//! A new list is published by the publishing pipeline, not here: its creation queues a publish
//! job of sequence 0, and the publisher signs and writes its empty token (and adds it to the
//! distribution documents). So allocating never signs, and needs neither KMS Sign nor S3 writes.
//! Until that job has run (the pipeline's latency) the list's URI answers 404; should the job not
//! be queued, the re-signer's next pass publishes every list that has no token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Mutex;

use crate::domain::lifetime::Lifetime;
use crate::domain::list::{ListOwner, ListRecord};
use crate::ports::PublishJob;
use crate::ports::{IssuerStore, PublishQueue, StoreError};

/// What the lists of one allocation pool look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSpec {
    pub pool: String,
    pub bits: u8,
    pub size: u64,
    /// The tenant and configuration of an mDoc pool.
    pub owner: Option<ListOwner>,
    pub lifetime: Option<Lifetime>,
    /// Lists open for allocation at once.
    pub concurrent: usize,
}

use crate::domain::list::LIST_SIZE;
pub const LIST_BITS: u8 = 2;
/// Lists open for allocation at once, so no single list (partition) is hot.
pub const OPEN_LISTS: usize = 4;
/// A list stops taking new entries at this fill; random probing stays cheap below it
/// (expected attempts 1 / (1 - fill) <= 10).
pub const FILL_THRESHOLD: f64 = 0.9;
/// Draws per request before giving up (each over a randomly chosen open list).
pub const MAX_ATTEMPTS: usize = 24;

pub struct Allocator {
    store: Arc<dyn IssuerStore>,
    /// Where each new list's first publish is requested (a job of sequence 0). `None`: the
    /// re-signer's next pass publishes new lists.
    queue: Option<Arc<dyn PublishQueue>>,
    spec: ListSpec,
    cache: Mutex<Option<(Instant, Vec<ListRecord>)>>,
    cache_ttl: Duration,
}

/// 12 upper-case alphanumerics, like GOV.UK's list ids, from the OS RNG.
pub fn new_list_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rngs::OsRng;
    (0..12)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Whether `id` has the shape of our list ids (so malformed ids never reach storage).
pub fn is_list_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A list's URI: where its token is served, and the `sub` of that token.
pub fn list_uri(base_url: &str, list_id: &str) -> String {
    crate::domain::list::ListFamily::GovUk.token_uri(base_url, list_id)
}

impl Allocator {
    /// The issuer API's pool: [`LIST_SIZE`] entries of [`LIST_BITS`] bits, its lists created with
    /// `lifetime` (`None`: the publisher's defaults at each publish).
    pub fn new(
        store: Arc<dyn IssuerStore>,
        pool: impl Into<String>,
        lifetime: Option<Lifetime>,
        queue: Option<Arc<dyn PublishQueue>>,
    ) -> Self {
        let spec = ListSpec {
            pool: pool.into(),
            bits: LIST_BITS,
            size: LIST_SIZE,
            owner: None,
            lifetime,
            concurrent: OPEN_LISTS,
        };
        Self::for_spec(store, spec, queue)
    }

    pub fn for_spec(store: Arc<dyn IssuerStore>, spec: ListSpec, queue: Option<Arc<dyn PublishQueue>>) -> Self {
        Allocator {
            store,
            queue,
            spec,
            cache: Mutex::new(None),
            cache_ttl: Duration::from_secs(30),
        }
    }

    /// Open lists, topped up to the spec's number; cached briefly so a request costs no read.
    pub async fn open_lists(&self, now: i64) -> Result<Vec<ListRecord>, StoreError> {
        let mut cache = self.cache.lock().await;
        if let Some((at, lists)) = cache.as_ref()
            && at.elapsed() < self.cache_ttl
            && !lists.is_empty()
        {
            return Ok(lists.clone());
        }
        let mut lists = self.store.open_lists(&self.spec.pool).await?;
        while lists.len() < self.spec.concurrent {
            let list = ListRecord {
                // mDoc lists are addressed by UUID, as the mDoc API's paths are.
                list_id: match self.spec.owner {
                    Some(_) => uuid::Uuid::new_v4().to_string(),
                    None => new_list_id(),
                },
                pool: self.spec.pool.clone(),
                bits: self.spec.bits,
                size: self.spec.size,
                open: true,
                created_at: now,
                lifetime: self.spec.lifetime,
                owner: self.spec.owner.clone(),
                published_iaca_id: None,
                status_horizon: None,
            };
            if self.store.create_list(&list).await? {
                tracing::info!(list_id = %list.list_id, pool = %self.spec.pool, "created status list");
                self.request_first_publish(&list.list_id).await;
                lists.push(list);
            }
        }
        *cache = Some((Instant::now(), lists.clone()));
        Ok(lists)
    }

    /// Queues the publish of a new list's empty token (sequence 0: done once any token of the
    /// list is out). A failure is logged, not returned: the list takes entries meanwhile, and
    /// the re-signer publishes lists that have no token.
    async fn request_first_publish(&self, list_id: &str) {
        let Some(queue) = &self.queue else { return };
        let job = PublishJob::change(list_id, 0);
        if let Err(e) = queue.enqueue(&job).await {
            tracing::warn!(list_id, error = %e, "first publish not queued; the re-signer will publish the list");
        }
    }

    /// Notes in the cached set that `list_id`'s status horizon is now `horizon`, so the next
    /// issuances into it do not raise it again.
    pub async fn note_horizon(&self, list_id: &str, horizon: i64) {
        if let Some((_, lists)) = self.cache.lock().await.as_mut() {
            for list in lists.iter_mut().filter(|l| l.list_id == list_id) {
                list.status_horizon = list.status_horizon.max(Some(horizon));
            }
        }
    }

    /// Forget the cached set (after a list was retired).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    /// Places one new entry at a random free index: draws (list, index) among the open lists and
    /// lets `place` write it conditionally, `Ok(Some(_))` when the index was free and `Ok(None)`
    /// when it was taken (then it draws again, up to [`MAX_ATTEMPTS`] times). Records the
    /// allocation. `Ok(None)` when every draw collided: the open lists are fuller than their counts
    /// say, so the cached set is dropped.
    pub async fn allocate<T, E, F, Fut>(&self, now: i64, mut place: F) -> Result<Option<(ListRecord, u64, T)>, E>
    where
        E: From<StoreError>,
        F: FnMut(ListRecord, u64) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, E>>,
    {
        let lists = self.open_lists(now).await?;
        for _ in 0..MAX_ATTEMPTS {
            let (list, idx) = Self::draw(&lists);
            if let Some(placed) = place(list.clone(), idx).await? {
                self.record(&list, now).await;
                return Ok(Some((list, idx, placed)));
            }
        }
        self.invalidate().await;
        Ok(None)
    }

    /// A random (list, index) among the open lists.
    pub fn draw(lists: &[ListRecord]) -> (ListRecord, u64) {
        let mut rng = rand::rngs::OsRng;
        let list = lists[rng.gen_range(0..lists.len())].clone();
        let idx = rng.gen_range(0..list.size);
        (list, idx)
    }

    /// Records one allocation in `list`; retires it at the fill threshold and opens its
    /// replacement, so the remaining open lists carry the load meanwhile.
    pub async fn record(&self, list: &ListRecord, now: i64) {
        match self.store.count_allocation(&list.list_id).await {
            Ok(count) if count as f64 >= list.size as f64 * FILL_THRESHOLD => {
                if let Err(e) = self.store.close_list(&list.list_id).await {
                    tracing::warn!(list_id = %list.list_id, error = %e, "could not retire a full list");
                    return;
                }
                tracing::info!(list_id = %list.list_id, count, "retired full status list");
                self.invalidate().await;
                if let Err(e) = self.open_lists(now).await {
                    tracing::warn!(error = %e, "could not open a replacement list");
                }
            }
            Ok(_) => {}
            // The entry is committed; a lost count only delays retirement.
            Err(e) => tracing::warn!(list_id = %list.list_id, error = %e, "allocation count not recorded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemLists, MemQueue};

    #[tokio::test]
    async fn a_new_list_is_queued_for_its_first_publish() {
        let (store, queue) = (Arc::new(MemLists::default()), Arc::new(MemQueue::default()));
        let allocator = Allocator::new(store.clone(), "govuk", None, Some(queue.clone()));
        let lists = allocator.open_lists(1_000).await.unwrap();
        assert_eq!(lists.len(), OPEN_LISTS);
        let mut queued: Vec<_> = queue.jobs.lock().unwrap().clone();
        queued.sort_by(|a, b| a.list_id.cmp(&b.list_id));
        let expected: Vec<_> = store
            .list_ids()
            .into_iter()
            .map(|list_id| PublishJob::change(list_id, 0))
            .collect();
        assert_eq!(queued, expected);
        // Open lists already exist: nothing more is queued.
        allocator.invalidate().await;
        allocator.open_lists(1_001).await.unwrap();
        assert_eq!(queue.jobs.lock().unwrap().len(), OPEN_LISTS);
    }

    #[tokio::test]
    async fn a_queue_outage_does_not_stop_allocation() {
        let store = Arc::new(MemLists::default());
        let queue = Arc::new(MemQueue {
            unavailable: true,
            ..Default::default()
        });
        let allocator = Allocator::new(store.clone(), "govuk", None, Some(queue));
        let placed = allocator
            .allocate(1_000, |list, idx| async move {
                Ok::<_, StoreError>(Some((list.list_id, idx)))
            })
            .await
            .unwrap();
        assert!(placed.is_some());
        assert_eq!(store.list_ids().len(), OPEN_LISTS);
    }
}
