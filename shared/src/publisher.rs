//! Publishing: render a list from its stored entries, sign it as a JWT and a CWT, and write
//! both to the object store.
//!
//! Ordering guarantee: every status change bumps the list's change sequence *after* the entry is
//! written. A render reads the sequence first, then the entries (consistently), so it contains
//! every change up to that sequence. Objects carry the sequence they were rendered from, and each
//! write is a compare-and-swap on the object's ETag that only proceeds if the stored sequence is
//! older: a render that started earlier can never overwrite a newer token.

use std::sync::Arc;

use crate::domain::lifetime::Freshness;
use crate::domain::lifetime::Lifetime;
pub use crate::domain::list::ListFamily;
use crate::domain::list::PublishedToken;
use crate::domain::resign;
use crate::domain::status::{Bits, Status};
use crate::domain::status_list::StatusList;
use crate::domain::token::{StatusListToken, TokenError, TokenFormat};
use crate::ports::PublishJob;
use crate::ports::{
    ListSource, ObjectError, ObjectStore, ObjectWrite, Precondition, PutOutcome, ResignQueue, Signer, StoreError,
    TenantKeys, TokenHistory, TokenVersion,
};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no list {0}")]
    UnknownList(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Objects(#[from] ObjectError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Signer(#[from] crate::ports::SignerError),
    #[error("list {0} is corrupt: {1}")]
    Corrupt(String, String),
    /// An mDoc list whose tenant has no signer now (no active IACA, or no signer certificate
    /// valid under it): not signed, so its token expires and leaves the distribution.
    #[error("list {list_id}: tenant {tenant_id} has no status list signer now")]
    NoTenantKey { list_id: String, tenant_id: String },
}

impl From<crate::signing::SignError> for PublishError {
    fn from(e: crate::signing::SignError) -> Self {
        match e {
            crate::signing::SignError::Token(e) => PublishError::Token(e),
            crate::signing::SignError::Signer(e) => PublishError::Signer(e),
        }
    }
}

/// What [`PublishedTokens::current`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CurrentToken {
    Live(crate::ports::PublishedObject),
    /// Its `exp` has passed: relying parties must not use it.
    Expired,
    /// No token was published.
    Missing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// A token from the same or a newer sequence is already there.
    Superseded,
}

pub struct Publisher {
    pub lists: Arc<dyn ListSource>,
    pub objects: Arc<dyn ObjectStore>,
    /// Where each token version put in place is indexed, for `?time=`.
    pub history: Arc<dyn TokenHistory>,
    /// How long replaced versions are kept (the bucket's lifecycle rule): their index entries
    /// live as long.
    pub history_retention: i64,
    pub signer: Arc<dyn Signer>,
    pub base_url: String,
    pub ttl: u64,
    pub validity: i64,
    /// The re-signing cadence: sets each token's `max-age` and when it is re-signed.
    pub freshness: Freshness,
    /// The keys of the tenants' mDoc lists (their status list signers); `None` where no mDoc
    /// list is published, and then one is refused.
    pub tenant_keys: Option<Arc<dyn TenantKeys>>,
}

/// Object key of a list's token in a format.
pub fn object_key(list_id: &str, format: TokenFormat) -> String {
    match format {
        TokenFormat::Jwt => format!("t/{list_id}"),
        TokenFormat::Cwt => format!("t/{list_id}.cwt"),
    }
}

/// Object key of the issuer API's distribution (aggregation) document.
pub const AGGREGATION_KEY: &str = "status-lists";
/// Object key of the mDoc API's distribution document (the CDN maps
/// `/v2/credentials/mobile/status-lists/distribution` to it).
pub const MDOC_AGGREGATION_KEY: &str = "status-lists-mdoc";

/// Object key of a kind of list's distribution document.
pub fn aggregation_key(kind: ListFamily) -> &'static str {
    match kind {
        ListFamily::GovUk => AGGREGATION_KEY,
        ListFamily::Mdoc => MDOC_AGGREGATION_KEY,
    }
}

/// The distribution document: every list a relying party may pre-fetch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Aggregation {
    pub status_lists: Vec<String>,
}

/// Lifetimes for lists created without their own, from the configuration.
pub fn default_lifetime(config: &crate::config::Config) -> Lifetime {
    Lifetime {
        ttl: config.token_ttl,
        validity: config.token_validity,
    }
}

impl Publisher {
    /// The publisher for `config` on these ports.
    pub fn new(
        config: &crate::config::Config,
        lists: Arc<dyn ListSource>,
        objects: Arc<dyn ObjectStore>,
        history: Arc<dyn TokenHistory>,
        signer: Arc<dyn Signer>,
    ) -> Publisher {
        Publisher {
            lists,
            objects,
            history,
            history_retention: config.history_retention_days.saturating_mul(86_400),
            signer,
            base_url: config.public_base_url.clone(),
            ttl: config.token_ttl,
            validity: config.token_validity,
            freshness: config.freshness,
            tenant_keys: None,
        }
    }

    /// Signs the tenants' mDoc lists with `keys`.
    pub fn with_tenant_keys(mut self, keys: Arc<dyn TenantKeys>) -> Publisher {
        self.tenant_keys = Some(keys);
        self
    }

    /// Where the distribution document of `kind` is served (`aggregation_uri` in its tokens).
    pub fn aggregation_uri(&self, kind: ListFamily) -> String {
        kind.distribution_uri(&self.base_url)
    }

    /// Lifetimes for lists created without their own.
    pub fn default_lifetime(&self) -> Lifetime {
        Lifetime {
            ttl: self.ttl,
            validity: self.validity,
        }
    }

    /// Renders and publishes `list_id` as it is now. Returns the sequence published.
    pub async fn publish(&self, list_id: &str, now: i64) -> Result<u64, PublishError> {
        let state = self
            .lists
            .list_state(list_id)
            .await?
            .ok_or_else(|| PublishError::UnknownList(list_id.into()))?;
        let seq = state.change_seq;
        let entries = self.lists.non_valid_entries(list_id).await?;
        let corrupt = |e: &dyn std::fmt::Display| PublishError::Corrupt(list_id.into(), e.to_string());
        let bits = Bits::new(state.list.bits).map_err(|e| corrupt(&e))?;
        let mut list = StatusList::new(bits, state.list.size).map_err(|e| corrupt(&e))?;
        for (idx, value) in entries {
            list.set(idx, Status::from_raw(value)).map_err(|e| corrupt(&e))?;
        }
        let compressed = list.compress();
        let mut lifetime = state.list.lifetime.unwrap_or(self.default_lifetime());
        // An mDoc list is signed by its tenant's status list signer, whose certificate goes in
        // the token; the issuer API's by the service key.
        let tenant_key = match &state.list.owner {
            Some(owner) => {
                let key = match &self.tenant_keys {
                    Some(keys) => keys.signing_key(&owner.tenant_id, now).await?,
                    None => None,
                };
                let key = key.ok_or_else(|| PublishError::NoTenantKey {
                    list_id: list_id.into(),
                    tenant_id: owner.tenant_id.clone(),
                })?;
                // No token outlives its signer's certificate or its IACA.
                let left = u64::try_from(key.not_after - now).unwrap_or(0);
                lifetime = Lifetime {
                    ttl: lifetime.ttl.min(left),
                    validity: lifetime.validity.min(key.not_after - now),
                };
                Some(key)
            }
            None => None,
        };
        let exp = now + lifetime.validity;
        let kind = state.list.family();
        let token = StatusListToken {
            sub: state.list.uri(&self.base_url),
            iat: now,
            exp: Some(exp),
            ttl: Some(lifetime.ttl),
            iss: None,
            aggregation_uri: Some(self.aggregation_uri(kind)),
            list,
        };
        let (signer, chain) = match &tenant_key {
            Some(key) => (key.signer.as_ref(), vec![key.certificate_der.clone()]),
            None => (self.signer.as_ref(), Vec::new()),
        };
        let jwt = crate::signing::jwt_compressed(&token, &compressed, signer, &chain).await?;
        let cwt = crate::signing::cwt_compressed(&token, &compressed, signer, &chain).await?;
        // Never cached past what the re-signer keeps fresh (see `domain::lifetime`).
        let max_age = self.freshness.max_age(lifetime);
        let cache = if max_age == 0 {
            tracing::warn!(
                list_id,
                ?lifetime,
                "lifetime too short to keep fresh: published uncached"
            );
            "no-cache".to_string()
        } else {
            format!("public, max-age={max_age}")
        };
        let write = |format: TokenFormat| ObjectWrite {
            content_type: format.media_type(),
            cache_control: &cache,
            seq,
            iat: now,
            exp,
        };
        // The CWT last: a re-delivered job checks it to see whether the publish completed.
        let key = object_key(list_id, TokenFormat::Jwt);
        self.write_if_newer(&key, jwt.into_bytes(), &write(TokenFormat::Jwt))
            .await?;
        let key = object_key(list_id, TokenFormat::Cwt);
        let landed = self.write_if_newer(&key, cwt, &write(TokenFormat::Cwt)).await?;
        // Only the write that landed is recorded: a superseded one's newer rival records its own.
        if landed == WriteOutcome::Written {
            let token = PublishedToken {
                seq,
                iat: now,
                exp,
                max_age,
                iaca_id: tenant_key.map(|k| k.iaca_id),
            };
            self.lists.record_published(list_id, &token).await?;
        }
        Ok(seq)
    }

    /// The sequence of the token of `list_id` in place (both formats: the CWT is written last);
    /// `None` if the list has no token yet.
    pub async fn published_seq(&self, list_id: &str) -> Result<Option<u64>, PublishError> {
        Ok(self.published_head(list_id).await?.map(|meta| meta.seq))
    }

    /// The metadata (sequence, `iat`, `exp`) of the token of `list_id` in place, from its CWT
    /// (written last); `None` if the list has no token yet.
    pub async fn published_head(&self, list_id: &str) -> Result<Option<crate::ports::ObjectMeta>, PublishError> {
        Ok(self.objects.head(&object_key(list_id, TokenFormat::Cwt)).await?)
    }

    /// Whether the token of `list_id` published from sequence `seq` or later is in place. A list
    /// with no token has published nothing, not even sequence 0.
    pub async fn published_at_least(&self, list_id: &str, seq: u64) -> Result<bool, PublishError> {
        Ok(self.published_seq(list_id).await?.is_some_and(|at| at >= seq))
    }

    /// Compare-and-swap write: proceeds only while the stored token is from an older sequence
    /// (or the same sequence signed earlier: a re-signing of unchanged content, whose `exp` may be
    /// earlier than the old one's when the lifetime was shortened).
    pub async fn write_if_newer(
        &self,
        key: &str,
        body: Vec<u8>,
        write: &ObjectWrite<'_>,
    ) -> Result<WriteOutcome, PublishError> {
        for _ in 0..8 {
            let precondition = match self.objects.head(key).await? {
                None => Precondition::Absent,
                // This very token (its sequence, signed the same second) is in place: ours, when
                // the answer to our write was lost (the retry then fails its precondition), or an
                // identical one of another writer's. Indexed for `?time=` (the same entry again
                // if it was indexed already).
                Some(current) if current.seq == write.seq && current.iat == write.iat => {
                    self.index_version(key, current.version_id, write).await?;
                    return Ok(WriteOutcome::Superseded);
                }
                Some(current) if current.seq > write.seq || (current.seq == write.seq && current.iat > write.iat) => {
                    return Ok(WriteOutcome::Superseded);
                }
                Some(current) => Precondition::Matches(current.etag),
            };
            match self.objects.put(key, body.clone(), write, precondition).await? {
                PutOutcome::Written { version_id } => {
                    self.index_version(key, version_id, write).await?;
                    return Ok(WriteOutcome::Written);
                }
                PutOutcome::Conflict => continue, // another writer won the race: look again
            }
        }
        Err(ObjectError::Other(format!("{key}: too many concurrent writers")).into())
    }

    /// Indexes a token version put in place, for `?time=`. A failure fails the publish, which is
    /// retried: the retry signs again and indexes its own version, so the index has no gap longer
    /// than a retry (and a `?time=` in that gap gets the previous version, valid then too).
    async fn index_version(
        &self,
        key: &str,
        version_id: Option<String>,
        write: &ObjectWrite<'_>,
    ) -> Result<(), PublishError> {
        let Some(version_id) = version_id else {
            return Ok(()); // a store without versions: nothing to find later
        };
        let version = TokenVersion {
            iat: write.iat,
            exp: write.exp,
            version_id,
        };
        // A replaced version is removed by the lifecycle rule `retention` after it was replaced,
        // which is before its exp plus the retention for every token the re-signer replaces.
        let retain_until = write.exp.max(write.iat).saturating_add(self.history_retention);
        self.history.record(key, &version, retain_until).await?;
        Ok(())
    }

    /// Writes both distribution documents to the object store, for the CDN. Returns how many
    /// lists they name.
    ///
    /// Several writers refresh them at once (the re-signer, and publishers that have just put out
    /// a new list's first token), so each write is a compare-and-swap: the document's ETag is read
    /// before the lists, and the write goes through only if the document is still that one.
    /// Hence the last write was computed from lists read after every earlier write, and a slower
    /// writer's older read never drops a list a faster one added.
    pub async fn publish_aggregation(&self, now: i64) -> Result<usize, PublishError> {
        let cache = format!("public, max-age={AGGREGATION_MAX_AGE}");
        let write = ObjectWrite {
            content_type: "application/json",
            cache_control: &cache,
            seq: 0,
            iat: now,
            exp: 0,
        };
        let mut pending = vec![
            (ListFamily::GovUk, aggregation_key(ListFamily::GovUk)),
            (ListFamily::Mdoc, aggregation_key(ListFamily::Mdoc)),
        ];
        let mut named = 0;
        for _ in 0..8 {
            let mut preconditions = Vec::with_capacity(pending.len());
            for (_, key) in &pending {
                preconditions.push(match self.objects.head(key).await? {
                    None => Precondition::Absent,
                    Some(current) => Precondition::Matches(current.etag),
                });
            }
            // One read of the lists serves both documents.
            let lists = self.lists.published_lists().await?;
            let mut conflicts = Vec::new();
            for ((kind, key), precondition) in pending.into_iter().zip(preconditions) {
                let doc = aggregation_of(&self.base_url, &lists, now, kind);
                let body = serde_json::to_vec(&doc).map_err(|e| PublishError::Corrupt(key.into(), e.to_string()))?;
                match self.objects.put(key, body, &write, precondition).await? {
                    PutOutcome::Written { .. } => named += doc.status_lists.len(),
                    PutOutcome::Conflict => conflicts.push((kind, key)), // another writer won: read again
                }
            }
            if conflicts.is_empty() {
                return Ok(named);
            }
            pending = conflicts;
        }
        Err(ObjectError::Other("distribution documents: too many concurrent writers".into()).into())
    }

    /// The read side of what this publisher writes.
    pub fn tokens(&self) -> PublishedTokens {
        PublishedTokens {
            objects: self.objects.clone(),
            history: self.history.clone(),
        }
    }
}

/// The read side of publishing: the published tokens and the distribution documents, for the
/// functions that serve them. It reads the bucket only: no signing key, so those functions never
/// link KMS, and no table.
#[derive(Clone)]
pub struct PublishedTokens {
    pub objects: Arc<dyn ObjectStore>,
    /// The index of token versions (`?time=`).
    pub history: Arc<dyn TokenHistory>,
}

impl PublishedTokens {
    /// The distribution document as last written (by every re-signing pass, and by a publisher
    /// that has put out a list's first token; see [`Publisher::publish_aggregation`]): one read
    /// of a small object per request, however many lists there are, instead of a scan of the
    /// lists table. It names the lists whose token was unexpired at that write; a token that
    /// expires between two passes (re-signing failing past its margin) leaves it at the next
    /// pass. Empty until the first write.
    pub async fn distribution(&self, kind: ListFamily) -> Result<Aggregation, PublishError> {
        let key = aggregation_key(kind);
        match self.objects.get(key).await? {
            None => Ok(Aggregation {
                status_lists: Vec::new(),
            }),
            Some(object) => {
                serde_json::from_slice(&object.body).map_err(|e| PublishError::Corrupt(key.into(), e.to_string()))
            }
        }
    }

    /// The current token of `list_id` in `format` at `now`: live, expired (its `exp` is `now` or
    /// earlier), or missing (none was published).
    pub async fn current(&self, list_id: &str, format: TokenFormat, now: i64) -> Result<CurrentToken, ObjectError> {
        Ok(match self.objects.get(&object_key(list_id, format)).await? {
            None => CurrentToken::Missing,
            Some(object) if object.meta.exp <= now => CurrentToken::Expired,
            Some(object) => CurrentToken::Live(object),
        })
    }

    /// The token of `list_id` in `format` that was valid at `time` (`iat <= time <= exp`): the
    /// one issued last at or before `time`, from the history index (one lookup) and that version
    /// of the object (one read). `None` if there is none, if it had expired by `time`, or if its
    /// version is gone (past the retention).
    pub async fn token_at(
        &self,
        list_id: &str,
        format: TokenFormat,
        time: i64,
    ) -> Result<Option<crate::ports::PublishedObject>, PublishError> {
        let key = object_key(list_id, format);
        let Some(version) = self.history.issued_by(&key, time).await? else {
            return Ok(None);
        };
        if time > version.exp {
            return Ok(None);
        }
        Ok(self.objects.get_version(&key, &version.version_id).await?)
    }
}

/// The distribution document of `kind` among `lists`.
fn aggregation_of(
    base_url: &str,
    lists: &[crate::domain::list::ListSummary],
    now: i64,
    kind: ListFamily,
) -> Aggregation {
    let mut uris: Vec<_> = lists
        .iter()
        .filter(|l| l.published_exp > now && l.family() == kind)
        .map(|l| kind.token_uri(base_url, &l.list_id))
        .collect();
    uris.sort();
    Aggregation { status_lists: uris }
}

/// How long the distribution document may be cached.
pub const AGGREGATION_MAX_AGE: u64 = 300;

/// What one re-signing pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResignReport {
    pub checked: usize,
    /// Due lists queued for re-signing (each job signs at its own time, see
    /// [`crate::domain::resign`]).
    pub enqueued: usize,
    /// Due lists that could not be queued (the queue failed): the next pass tries again.
    pub failed: usize,
    /// Due lists beyond what the pass's window holds at the configured signing rate: left for
    /// the next pass.
    pub deferred: usize,
    /// Closed lists whose every entry has passed its `statusExpiry`: no longer re-signed.
    pub retired: usize,
    /// Token freshness: the shortest validity left (`exp - now`, seconds) among the tokens the
    /// pass left in place (those not yet due, those it deferred or failed to queue) and those
    /// still due from the previous pass (their job has not landed: failing, or its tenant has no
    /// signer). 0 for a list without a token that it could not queue. `None` when there is none
    /// of those. Healthy passes keep it above the re-signing margin; it falls towards 0 while
    /// re-signing fails (the alarm's metric).
    pub oldest_validity: Option<i64>,
}

impl ResignReport {
    /// Counts a token left in place that expires at `published_exp` (0: the list has none).
    fn left_in_place(&mut self, published_exp: i64, now: i64) {
        let left = (published_exp - now).max(0);
        self.oldest_validity = Some(self.oldest_validity.map_or(left, |v| v.min(left)));
    }
}

/// How many jobs a pass hands the queue at once.
const ENQUEUE_CHUNK: usize = 100;

impl Publisher {
    /// Queues a re-signing job for every list whose token is missing or within its re-signing
    /// margin ([`Freshness::due`]: the token's max-age, from the token in place and from the
    /// list's current lifetime, plus one interval and the slack), even if nothing changed, so no
    /// cache ever holds a token past its `exp`. A list never published (its first publish job
    /// was lost or has not run) has no `publishedExp` and is queued too. A retired list (closed,
    /// every entry past its `statusExpiry`) is skipped. The jobs are spaced over the slack at no
    /// more than `sign_rate` KMS `Sign` calls a second ([`resign::schedule`]); the publisher signs
    /// each when it is delivered. Runs every `freshness.interval` seconds. Ends by refreshing the
    /// distribution documents.
    pub async fn resign_due(
        &self,
        now: i64,
        queue: &dyn ResignQueue,
        sign_rate: u64,
    ) -> Result<ResignReport, PublishError> {
        let mut report = ResignReport::default();
        let configurations = self.lists.configuration_lifetimes().await?;
        let mut due = Vec::new();
        for list in self.lists.published_lists().await? {
            report.checked += 1;
            if resign::retired(list.open, list.status_horizon, now) {
                report.retired += 1;
                continue;
            }
            let current = match &list.configuration_id {
                Some(id) => configurations.get(id).copied(),
                None => list.lifetime,
            }
            .unwrap_or(self.default_lifetime());
            // A token recorded without its max-age was written with max-age = its ttl.
            let in_place_max_age = list.published_max_age.unwrap_or(current.ttl);
            if !self.freshness.due(list.published_exp, in_place_max_age, current, now) {
                report.left_in_place(list.published_exp, now);
                continue;
            }
            // Due a pass ago already: the job queued then has not landed.
            let overdue = list.published_exp > 0
                && self.freshness.due(
                    list.published_exp,
                    in_place_max_age,
                    current,
                    now - self.freshness.interval,
                );
            if overdue {
                report.left_in_place(list.published_exp, now);
            }
            due.push(resign::Due {
                list_id: list.list_id,
                published_exp: list.published_exp,
            });
        }
        let window = u64::try_from(self.freshness.slack).unwrap_or(0);
        let schedule = resign::schedule(due, sign_rate, window);
        for deferred in &schedule.deferred {
            report.deferred += 1;
            report.left_in_place(deferred.published_exp, now);
        }
        if !schedule.deferred.is_empty() {
            tracing::warn!(
                deferred = schedule.deferred.len(),
                sign_rate,
                window,
                "more lists due than the signing rate allows in one pass; the rest wait for the next"
            );
        }
        for chunk in schedule.jobs.chunks(ENQUEUE_CHUNK) {
            let jobs: Vec<_> = chunk
                .iter()
                .map(|(due, delay)| {
                    (
                        PublishJob::resign(&due.list_id, now),
                        std::time::Duration::from_secs(*delay),
                    )
                })
                .collect();
            match queue.enqueue_delayed(&jobs).await {
                Ok(()) => report.enqueued += jobs.len(),
                Err(e) => {
                    // The old tokens stay in place; the next pass queues them again.
                    tracing::warn!(lists = jobs.len(), error = %e, "re-signing jobs not queued");
                    report.failed += jobs.len();
                    for (due, _) in chunk {
                        report.left_in_place(due.published_exp, now);
                    }
                }
            }
        }
        if let Err(e) = self.publish_aggregation(now).await {
            tracing::warn!(error = %e, "distribution document not refreshed");
            report.failed += 1;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::token::{cwt, jwt};
    use crate::ports::{IssuerStore, ObjectStore};
    use crate::testing::{MemLists, MemObjects, mdoc_publisher, publisher, resign, tenant_trust};

    const NOW: i64 = 1_000_000;

    fn named(objects: &MemObjects, key: &str) -> Vec<String> {
        serde_json::from_slice::<Aggregation>(&objects.body(key).expect("a document"))
            .unwrap()
            .status_lists
    }

    #[tokio::test]
    async fn the_distribution_views_read_the_written_document_not_the_lists() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_list("AAAAAAAAAAAA");
        let p = publisher(lists.clone(), objects.clone());
        let tokens = p.tokens();
        // Nothing written yet: empty, though a list exists.
        for kind in [ListFamily::GovUk, ListFamily::Mdoc] {
            assert_eq!(
                tokens.distribution(kind).await.unwrap().status_lists,
                Vec::<String>::new()
            );
        }
        resign(&p, NOW).await;
        assert_eq!(
            tokens.distribution(ListFamily::GovUk).await.unwrap().status_lists,
            ["https://status.example/t/AAAAAAAAAAAA"]
        );
        assert_eq!(
            tokens.distribution(ListFamily::GovUk).await.unwrap().status_lists,
            named(&objects, AGGREGATION_KEY)
        );
        assert!(
            tokens
                .distribution(ListFamily::Mdoc)
                .await
                .unwrap()
                .status_lists
                .is_empty()
        );
        // A list published since is named from the next write on, not before.
        lists.add_list("BBBBBBBBBBBB");
        p.publish("BBBBBBBBBBBB", NOW).await.unwrap();
        assert_eq!(
            tokens.distribution(ListFamily::GovUk).await.unwrap().status_lists.len(),
            1
        );
        p.publish_aggregation(NOW).await.unwrap();
        assert_eq!(
            tokens.distribution(ListFamily::GovUk).await.unwrap().status_lists.len(),
            2
        );
        // A document that is not one is an error, not an empty list.
        let write = ObjectWrite {
            content_type: "application/json",
            cache_control: "no-store",
            seq: 0,
            iat: NOW,
            exp: 0,
        };
        objects
            .put(MDOC_AGGREGATION_KEY, b"<html>".to_vec(), &write, Precondition::None)
            .await
            .unwrap();
        assert!(matches!(
            tokens.distribution(ListFamily::Mdoc).await,
            Err(PublishError::Corrupt(key, _)) if key == MDOC_AGGREGATION_KEY
        ));
    }

    #[tokio::test]
    async fn the_re_signer_publishes_a_list_that_was_never_published() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_list("AAAAAAAAAAAA"); // its first publish job was lost
        let p = publisher(lists.clone(), objects.clone());
        let report = resign(&p, NOW).await;
        assert_eq!(
            (report.pass.checked, report.pass.enqueued, report.pass.failed),
            (1, 1, 0)
        );
        assert_eq!(report.published, 1);
        assert!(p.published_at_least("AAAAAAAAAAAA", 0).await.unwrap());
        assert_eq!(lists.published_exp("AAAAAAAAAAAA"), NOW + 3600);
        assert_eq!(
            named(&objects, AGGREGATION_KEY),
            ["https://status.example/t/AAAAAAAAAAAA"]
        );
        assert_eq!(named(&objects, MDOC_AGGREGATION_KEY), Vec::<String>::new());
        // Fresh now: the next pass leaves it alone.
        let report = resign(&p, NOW + 1).await;
        assert_eq!((report.pass.checked, report.pass.enqueued, report.published), (1, 0, 0));
    }

    #[tokio::test]
    async fn closed_lists_past_their_horizon_are_retired_open_and_mdoc_lists_never() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        for id in ["CLOSEDPASSED", "CLOSEDFUTURE", "OPENPASSEDXX", "CLOSEDNOHZNX"] {
            lists.add_list(id);
        }
        let horizon = NOW - crate::domain::resign::HORIZON_GRACE - 1;
        for (id, h) in [
            ("CLOSEDPASSED", horizon),
            ("CLOSEDFUTURE", NOW + 1_000),
            ("OPENPASSEDXX", horizon),
        ] {
            lists.extend_horizon(id, h).await.unwrap();
        }
        // A lower horizon never replaces a higher one.
        lists.extend_horizon("CLOSEDFUTURE", NOW).await.unwrap();
        assert_eq!(lists.status_horizon("CLOSEDFUTURE"), Some(NOW + 1_000));
        for id in ["CLOSEDPASSED", "CLOSEDFUTURE", "CLOSEDNOHZNX"] {
            lists.close(id);
        }
        let p = publisher(lists.clone(), objects.clone());
        let report = resign(&p, NOW).await;
        assert_eq!(
            (report.pass.checked, report.pass.retired, report.pass.enqueued),
            (4, 1, 3)
        );
        let mut signed: Vec<_> = report.jobs.iter().map(|(id, _)| id.as_str()).collect();
        signed.sort();
        assert_eq!(signed, ["CLOSEDFUTURE", "CLOSEDNOHZNX", "OPENPASSEDXX"]);
        assert!(!p.published_at_least("CLOSEDPASSED", 0).await.unwrap());
        // The retired list is not named in the distribution either (it has no live token).
        assert!(
            !named(&objects, AGGREGATION_KEY)
                .iter()
                .any(|u| u.ends_with("CLOSEDPASSED"))
        );
    }

    #[tokio::test]
    async fn a_pass_spaces_its_jobs_to_the_signing_rate_and_each_token_has_its_own_iat() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        let ids: Vec<String> = (0..12).map(|i| format!("LIST{i:08}")).collect();
        for id in &ids {
            lists.add_list(id);
        }
        let mut p = publisher(lists.clone(), objects.clone());
        p.freshness.slack = 300;
        // 4 Sign calls a second: two lists a second, six seconds for twelve.
        let report = crate::testing::resign_at_rate(&p, NOW, 4).await;
        assert_eq!((report.pass.enqueued, report.published, report.failed), (12, 12, 0));
        let delays: Vec<u64> = report.jobs.iter().map(|(_, d)| *d).collect();
        assert_eq!(delays, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        let mut per_second = std::collections::BTreeMap::new();
        for id in &ids {
            let (_, iat, exp, _) = in_place(&objects, id).await;
            assert_eq!(exp - iat, 3_600);
            *per_second.entry(iat).or_insert(0) += 1;
        }
        // Signed at the time of their delivery, not the pass's: no lockstep expiry.
        assert_eq!(
            per_second.keys().copied().collect::<Vec<_>>(),
            (NOW..NOW + 6).collect::<Vec<_>>()
        );
        assert!(
            per_second
                .values()
                .all(|n| n * crate::domain::resign::SIGNS_PER_LIST <= 4)
        );
        // A window too small for the rate: what does not fit waits, and is reported.
        let mut tight = publisher(lists.clone(), objects.clone());
        tight.freshness.slack = 2;
        let due_later = NOW + 3_600;
        let report = crate::testing::resign_at_rate(&tight, due_later, 4).await;
        assert_eq!((report.pass.enqueued, report.pass.deferred), (4, 8));
        assert_eq!(report.pass.oldest_validity, Some(0));
    }

    /// The answer to a token's write lost (a reset connection): the retry finds that token in
    /// place, and indexes it for `?time=` all the same.
    #[tokio::test]
    async fn a_write_whose_answer_was_lost_is_still_indexed() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_list("AAAAAAAAAAAA");
        let history = Arc::new(crate::testing::MemHistory::default());
        let mut p = publisher(lists.clone(), objects.clone());
        p.history = history.clone();
        objects.lose_answer_once("t/AAAAAAAAAAAA");
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        assert_eq!(objects.writes("t/AAAAAAAAAAAA"), 1, "written once");
        let entries = history.entries();
        assert!(
            entries.iter().any(|(k, iat, _)| k == "t/AAAAAAAAAAAA" && *iat == NOW),
            "{entries:?}"
        );
        let at = p
            .tokens()
            .token_at("AAAAAAAAAAAA", TokenFormat::Jwt, NOW + 1)
            .await
            .unwrap();
        assert_eq!(at.map(|o| (o.meta.seq, o.meta.iat)), Some((0, NOW)));
    }

    #[tokio::test]
    async fn a_past_time_resolves_from_the_history_index_to_the_token_then_valid() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_list("AAAAAAAAAAAA");
        let history = Arc::new(crate::testing::MemHistory::default());
        let mut p = publisher(lists.clone(), objects.clone());
        p.history = history.clone();
        let tokens = p.tokens();
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        lists.set_status("AAAAAAAAAAAA", 5, 1);
        p.publish("AAAAAAAAAAAA", NOW + 100).await.unwrap();
        // Both formats of both versions are indexed, each kept its exp plus the retention.
        let entries = history.entries();
        assert_eq!(entries.len(), 4);
        assert!(entries.contains(&("t/AAAAAAAAAAAA".into(), NOW + 100, NOW + 100 + 3_600 + 90 * 86_400)));
        let at = |time: i64, format: TokenFormat| {
            let tokens = tokens.clone();
            async move {
                tokens
                    .token_at("AAAAAAAAAAAA", format, time)
                    .await
                    .unwrap()
                    .map(|o| o.meta)
            }
        };
        // Before the first token: none. Between the two: the first. After: the second, until its exp.
        assert_eq!(at(NOW - 1, TokenFormat::Jwt).await, None);
        assert_eq!(
            at(NOW + 99, TokenFormat::Jwt).await.map(|m| (m.seq, m.iat)),
            Some((0, NOW))
        );
        assert_eq!(
            at(NOW + 100, TokenFormat::Cwt).await.map(|m| (m.seq, m.iat)),
            Some((1, NOW + 100))
        );
        assert_eq!(at(NOW + 100 + 3_600, TokenFormat::Jwt).await.map(|m| m.seq), Some(1));
        assert_eq!(at(NOW + 100 + 3_601, TokenFormat::Jwt).await, None, "expired by then");
        // The version itself, byte for byte.
        let first = tokens
            .token_at("AAAAAAAAAAAA", TokenFormat::Cwt, NOW + 50)
            .await
            .unwrap()
            .unwrap();
        let versions = objects.versions("t/AAAAAAAAAAAA.cwt").await.unwrap();
        let oldest = &versions.last().unwrap().version_id;
        assert_eq!(
            objects
                .get_version("t/AAAAAAAAAAAA.cwt", oldest)
                .await
                .unwrap()
                .unwrap()
                .body,
            first.body
        );
        // A version removed by the lifecycle rule: none, not an error.
        objects.expire_version("t/AAAAAAAAAAAA.cwt", oldest);
        assert_eq!(at(NOW + 50, TokenFormat::Cwt).await, None);
    }

    /// KMS unreachable: every signature fails.
    struct KmsDown;

    #[async_trait::async_trait]
    impl crate::ports::Signer for KmsDown {
        async fn identity(&self) -> Result<&crate::ports::KeyIdentity, crate::ports::SignerError> {
            Err(crate::ports::SignerError::Unavailable("KMS down".into()))
        }
        async fn sign(&self, _: &[u8]) -> Result<crate::ports::Signature, crate::ports::SignerError> {
            Err(crate::ports::SignerError::Unavailable("KMS down".into()))
        }
    }

    #[tokio::test]
    async fn a_pass_reports_the_oldest_validity_it_left_in_place() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        for id in ["AAAAAAAAAAAA", "BBBBBBBBBBBB"] {
            lists.add_list(id);
        }
        let mut p = publisher(lists.clone(), objects.clone());
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        p.publish("BBBBBBBBBBBB", NOW + 100).await.unwrap();
        // Nothing due: the older token is A's.
        let report = resign(&p, NOW + 10).await;
        assert_eq!((report.published, report.pass.oldest_validity), (0, Some(3_600 - 10)));
        // Both due and queued, and both re-signed. A has been due for longer than an interval
        // (the passes between are skipped here), so its validity at the pass is reported.
        let due = NOW + 3_600 - p.freshness.margin(600) + 200;
        let report = resign(&p, due).await;
        assert_eq!(
            (report.pass.enqueued, report.published, report.pass.oldest_validity),
            (2, 2, Some(NOW + 3_600 - due))
        );
        // The next pass: both fresh, nothing due.
        let report = resign(&p, due + 1).await;
        assert_eq!((report.pass.enqueued, report.pass.oldest_validity), (0, Some(3_599)));
        // KMS down past the margin: the jobs fail and the tokens stay. The first pass that finds
        // them due queues them and counts them as in hand; a pass an interval later finds them
        // still due (their jobs did not land) and reports their validity, which falls to 0; a
        // list that never had a token is not counted (its first job may simply not have run).
        p.signer = Arc::new(KmsDown);
        let first = due + 3_600 - p.freshness.margin(600) + 1;
        let report = resign(&p, first).await;
        assert_eq!(
            (report.pass.enqueued, report.failed, report.pass.oldest_validity),
            (2, 2, None)
        );
        let later = first + p.freshness.interval;
        let report = resign(&p, later).await;
        assert_eq!(
            (report.failed, report.pass.oldest_validity),
            (2, Some(due + 3_600 - later))
        );
        assert_eq!(resign(&p, due + 4_000).await.pass.oldest_validity, Some(0));
        lists.add_list("CCCCCCCCCCCC");
        let report = resign(&p, later).await;
        assert_eq!(
            (report.pass.enqueued, report.failed, report.pass.oldest_validity),
            (3, 3, Some(due + 3_600 - later))
        );
        // The queue down: the pass counts what it could not queue, and those tokens' validity.
        let queue = crate::testing::MemResignQueue::default();
        queue.unavailable.store(true, std::sync::atomic::Ordering::Relaxed);
        let report = p.resign_due(later, &queue, 50).await.unwrap();
        assert_eq!(
            (report.enqueued, report.failed, report.oldest_validity),
            (0, 3, Some(0))
        );
    }

    const DAY: i64 = 86_400;

    fn lifetime(ttl: u64, validity: i64) -> Lifetime {
        Lifetime { ttl, validity }
    }

    /// What is in place for `list_id`: (seq, iat, exp, max-age from Cache-Control).
    async fn in_place(objects: &MemObjects, list_id: &str) -> (u64, i64, i64, u64) {
        let object = objects
            .get(&object_key(list_id, TokenFormat::Cwt))
            .await
            .unwrap()
            .expect("a token");
        let cache = object.cache_control.unwrap();
        let max_age = cache.strip_prefix("public, max-age=").unwrap().parse().unwrap();
        (object.meta.seq, object.meta.iat, object.meta.exp, max_age)
    }

    #[tokio::test]
    async fn an_mdoc_token_carries_its_signer_certificate_and_never_outlives_it() {
        use crate::domain::{iaca, signer};
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_mdoc_list("AAAAAAAAAAAA", "c", lifetime(3_600, 7_200));
        // Without the tenant's keys an mDoc list is not signed at all (not with the service key).
        let p = publisher(lists.clone(), objects.clone());
        assert!(matches!(
            p.publish("AAAAAAAAAAAA", NOW).await,
            Err(PublishError::NoTenantKey { .. })
        ));
        let trust = tenant_trust(NOW).await;
        let p = publisher(lists.clone(), objects.clone()).with_tenant_keys(trust.clone());
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        let cwt = objects.get("t/AAAAAAAAAAAA.cwt").await.unwrap().unwrap();
        let decoded = cwt::decode_unverified(&cwt.body).unwrap();
        let [leaf] = decoded.x5chain.as_slice() else {
            panic!("one certificate in x5chain: {:?}", decoded.header)
        };
        // The certificate is the tenant's current signer's, issued by its active IACA, and its
        // key verifies the token.
        let (iaca, current) = crate::mdoc::signers::current_signer(trust.store.as_ref(), "tenant", NOW)
            .await
            .unwrap()
            .unwrap();
        let ca = iaca::read_certificate(&iaca.certificate_pem).unwrap();
        let key = signer::certified_key(leaf).unwrap();
        let pem = iaca::pem_of(leaf).unwrap();
        signer::read_certificate(&pem, &ca, &key).unwrap();
        assert_eq!(current.certificate.unwrap().pem, pem);
        let expect = crate::domain::token::Expectations::new(None, NOW);
        cwt::verify_chained(&cwt.body, &ca, &expect).unwrap();
        // Against another IACA it is not trusted.
        let other = tenant_trust(NOW).await;
        let (other_iaca, _) = crate::mdoc::signers::current_signer(other.store.as_ref(), "tenant", NOW)
            .await
            .unwrap()
            .unwrap();
        let other_ca = iaca::read_certificate(&other_iaca.certificate_pem).unwrap();
        assert!(matches!(
            cwt::verify_chained(&cwt.body, &other_ca, &expect),
            Err(crate::domain::token::TokenError::Untrusted(_))
        ));
        let jwt = objects.get("t/AAAAAAAAAAAA").await.unwrap().unwrap();
        let header = jwt::decode_unverified(std::str::from_utf8(&jwt.body).unwrap())
            .unwrap()
            .header;
        assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1));
        assert_eq!(lists.published("AAAAAAAAAAAA").unwrap().iaca_id, Some(iaca.id.clone()));
        // Late in the signer's life (and with no newer one), the token ends with its certificate.
        let (_, end) = signer::managed_validity(&ca, NOW).unwrap();
        let late = end - 1_000;
        p.publish("AAAAAAAAAAAA", late).await.unwrap();
        let (_, iat, exp, max_age) = in_place(&objects, "AAAAAAAAAAAA").await;
        assert_eq!((iat, exp), (late, end));
        assert!(max_age <= 1_000, "{max_age}");
        // Distributed while its token is valid; left out once the token (and so its signer
        // certificate, or its IACA) has ended.
        p.publish_aggregation(late).await.unwrap();
        assert_eq!(named(&objects, MDOC_AGGREGATION_KEY).len(), 1);
        p.publish_aggregation(end).await.unwrap();
        assert!(named(&objects, MDOC_AGGREGATION_KEY).is_empty());
        // Once it has ended, nothing is signed.
        assert!(matches!(
            p.publish("AAAAAAAAAAAA", end).await,
            Err(PublishError::NoTenantKey { .. })
        ));
    }

    #[tokio::test]
    async fn the_cache_lifetime_leaves_room_for_the_re_signer() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        // ttl equal to expiry: max-age is cut to expiry - 2 intervals - slack (60 s passes here).
        lists.add_mdoc_list("AAAAAAAAAAAA", "c", lifetime(7_200, 7_200));
        let p = mdoc_publisher(lists.clone(), objects.clone(), NOW).await;
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        assert_eq!(in_place(&objects, "AAAAAAAAAAAA").await, (0, NOW, NOW + 7_200, 7_080));
        let recorded = lists.published("AAAAAAAAAAAA").unwrap();
        assert!(recorded.iaca_id.is_some(), "signed under the tenant's IACA");
        assert_eq!(
            recorded,
            PublishedToken {
                seq: 0,
                iat: NOW,
                exp: NOW + 7_200,
                max_age: 7_080,
                iaca_id: recorded.iaca_id.clone(),
            }
        );
    }

    #[tokio::test]
    async fn shortening_a_configuration_takes_effect_and_the_re_signer_follows_it() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_mdoc_list("AAAAAAAAAAAA", "c", lifetime(DAY as u64, 2 * DAY));
        let p = mdoc_publisher(lists.clone(), objects.clone(), NOW).await;
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        // Shortened to 1 h / 3 h; a status change is published with it: the record follows the
        // token that landed, though its exp is earlier than the old one's.
        lists.set_configuration("c", lifetime(3_600, 10_800));
        lists.set_status("AAAAAAAAAAAA", 3, 1);
        p.publish("AAAAAAAAAAAA", NOW + 10).await.unwrap();
        assert_eq!(
            in_place(&objects, "AAAAAAAAAAAA").await,
            (1, NOW + 10, NOW + 10 + 10_800, 3_600)
        );
        assert_eq!(lists.published_exp("AAAAAAAAAAAA"), NOW + 10 + 10_800);
        // Re-signed within its margin (max-age 1 h + interval 60 s), not the old day's.
        let margin = p.freshness.margin(3_600);
        let due_at = NOW + 10 + 10_800 - margin + 1;
        assert_eq!(resign(&p, due_at - 1).await.published, 0);
        assert_eq!(resign(&p, due_at).await.published, 1);
        assert_eq!(
            in_place(&objects, "AAAAAAAAAAAA").await,
            (1, due_at, due_at + 10_800, 3_600)
        );
    }

    #[tokio::test]
    async fn re_signing_unchanged_content_replaces_a_token_with_a_later_exp() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_mdoc_list("AAAAAAAAAAAA", "c", lifetime(DAY as u64, 2 * DAY));
        let p = mdoc_publisher(lists.clone(), objects.clone(), NOW).await;
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        lists.set_configuration("c", lifetime(3_600, 10_800));
        // The same content signed later wins, though it expires 45 h earlier.
        p.publish("AAAAAAAAAAAA", NOW + 1).await.unwrap();
        assert_eq!(
            in_place(&objects, "AAAAAAAAAAAA").await,
            (0, NOW + 1, NOW + 1 + 10_800, 3_600)
        );
        assert_eq!(lists.published_exp("AAAAAAAAAAAA"), NOW + 1 + 10_800);
        // A slower publisher that signed earlier neither replaces the token nor its record.
        lists.set_configuration("c", lifetime(DAY as u64, 2 * DAY));
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        assert_eq!(in_place(&objects, "AAAAAAAAAAAA").await.1, NOW + 1);
        assert_eq!(lists.published("AAAAAAAAAAAA").unwrap().iat, NOW + 1);
    }

    #[tokio::test]
    async fn lengthening_a_configuration_is_applied_at_the_next_pass() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_mdoc_list("AAAAAAAAAAAA", "c", lifetime(3_600, 10_800));
        let p = mdoc_publisher(lists.clone(), objects.clone(), NOW).await;
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        assert_eq!(resign(&p, NOW + 60).await.published, 0);
        // Now a day's caching is wanted: the token in place (3 h) is inside that margin.
        lists.set_configuration("c", lifetime(DAY as u64, 2 * DAY));
        assert_eq!(resign(&p, NOW + 120).await.published, 1);
        assert_eq!(
            in_place(&objects, "AAAAAAAAAAAA").await,
            (0, NOW + 120, NOW + 120 + 2 * DAY, DAY as u64)
        );
    }

    /// Two weeks of passes every 60 s, with the configuration shortened and lengthened and
    /// status changes between passes: at every second the token in place has at least its
    /// max-age of validity left, so no cache (CDN or relying party) serves it past `exp`.
    #[tokio::test]
    async fn no_token_in_place_is_ever_cacheable_past_its_exp() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        let configs = [
            lifetime(DAY as u64, 2 * DAY),
            lifetime(3_600, 3_600),
            lifetime(600, 7 * DAY),
            lifetime(43_200, 43_200),
        ];
        lists.add_mdoc_list("AAAAAAAAAAAA", "c", configs[0]);
        let p = mdoc_publisher(lists.clone(), objects.clone(), NOW).await;
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        let interval = p.freshness.interval;
        let mut resigned = 0;
        let mut t = NOW;
        while t < NOW + 14 * DAY {
            t += interval;
            if (t - NOW) % (DAY / 3) == 0 {
                lists.set_configuration("c", configs[((t - NOW) / (DAY / 3)) as usize % configs.len()]);
            }
            if (t - NOW) % 5_000 == 0 {
                lists.set_status("AAAAAAAAAAAA", ((t - NOW) / 5_000) as u64 % 1000, 1);
                p.publish("AAAAAAAAAAAA", t).await.unwrap();
            }
            resigned += resign(&p, t).await.published;
            let (_, _, exp, max_age) = in_place(&objects, "AAAAAAAAAAAA").await;
            // Until the next pass, one interval later.
            assert!(
                exp - (t + interval) >= max_age as i64,
                "at {t}: exp {exp}, max-age {max_age}"
            );
        }
        assert!(resigned > 20, "{resigned}");
    }

    #[tokio::test]
    async fn a_distribution_writer_that_lost_a_race_reads_the_lists_again() {
        let (lists, objects) = (Arc::new(MemLists::default()), Arc::new(MemObjects::default()));
        lists.add_list("AAAAAAAAAAAA");
        let p = publisher(lists.clone(), objects.clone());
        p.publish("AAAAAAAAAAAA", NOW).await.unwrap();
        p.publish_aggregation(NOW).await.unwrap();
        // Another writer replaces the document between this writer's read and its write.
        objects.interfere_once(AGGREGATION_KEY, br#"{"status_lists":[]}"#);
        lists.add_list("BBBBBBBBBBBB");
        p.publish("BBBBBBBBBBBB", NOW).await.unwrap();
        assert_eq!(p.publish_aggregation(NOW).await.unwrap(), 2);
        assert_eq!(
            named(&objects, AGGREGATION_KEY),
            [
                "https://status.example/t/AAAAAAAAAAAA",
                "https://status.example/t/BBBBBBBBBBBB"
            ]
        );
        // First write, the interfering one, and the retry.
        assert_eq!(objects.writes(AGGREGATION_KEY), 3);
        assert_eq!(objects.writes(MDOC_AGGREGATION_KEY), 2);
    }
}
