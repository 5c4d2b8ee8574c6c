//! Issuer keys cached in memory per JWKS URI.
//!
//! - Keys are trusted for `ttl`, then refetched. An unknown `kid` triggers one refetch (key
//!   rotation), at most once per `refetch_interval` per URI, so unknown kids cannot make us hammer
//!   an issuer's endpoint.
//! - One fetch at a time per URI: concurrent requests that need a fetch wait for the one in
//!   flight and use its result.
//! - When a refetch fails because the issuer's endpoint is unreachable, the keys last fetched
//!   keep being used for `grace` past their `ttl` (logged on each use), so an issuer's outage
//!   does not stop its requests. A JWKS that answers without a key, or answers something invalid,
//!   is believed at once: the grace covers outages only.
//! - Only keys meant for this use count: a JWK whose `use` is not `sig`, or whose `alg` is not
//!   ES256, is ignored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use tokio::sync::Mutex;

use crate::ports::{JwksError, JwksSource};

pub struct JwksCache {
    source: Arc<dyn JwksSource>,
    ttl: Duration,
    refetch_interval: Duration,
    grace: Duration,
    uris: std::sync::Mutex<HashMap<String, Arc<Entry>>>,
}

/// One URI: its last fetched set, and the lock a fetch holds.
#[derive(Default)]
struct Entry {
    fetched: std::sync::Mutex<Option<(Instant, Arc<JwkSet>)>>,
    fetching: Mutex<()>,
}

impl Entry {
    fn snapshot(&self) -> Option<(Instant, Arc<JwkSet>)> {
        self.fetched.lock().expect("not poisoned").clone()
    }
}

/// The key with this `kid` that may verify an ES256 issuer JWT.
fn find(set: &JwkSet, kid: &str) -> Option<Jwk> {
    set.keys
        .iter()
        .find(|k| {
            k.common.key_id.as_deref() == Some(kid)
                && matches!(k.common.public_key_use, None | Some(PublicKeyUse::Signature))
                && matches!(k.common.key_algorithm, None | Some(KeyAlgorithm::ES256))
        })
        .cloned()
}

impl JwksCache {
    pub fn new(source: Arc<dyn JwksSource>, ttl: Duration, refetch_interval: Duration, grace: Duration) -> Self {
        JwksCache {
            source,
            ttl,
            refetch_interval,
            grace,
            uris: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, uri: &str) -> Arc<Entry> {
        // Bounded by the registered clients: URIs come from registrations, never from requests.
        self.uris
            .lock()
            .expect("not poisoned")
            .entry(uri.to_string())
            .or_default()
            .clone()
    }

    /// A set fetched after `after`: the one another request fetched while this one waited, or
    /// a new fetch. On an outage, the last set while it is within its grace.
    async fn refresh(&self, uri: &str, entry: &Entry, after: Option<Instant>) -> Result<Arc<JwkSet>, JwksError> {
        let _one_at_a_time = entry.fetching.lock().await;
        let last = entry.snapshot();
        if let Some((at, set)) = &last
            && after.is_none_or(|after| *at > after)
        {
            return Ok(set.clone());
        }
        match self.source.fetch(uri).await {
            Ok(set) => {
                let set = Arc::new(set);
                *entry.fetched.lock().expect("not poisoned") = Some((Instant::now(), set.clone()));
                Ok(set)
            }
            Err(JwksError::Unreachable(detail)) => match last {
                Some((at, set)) if at.elapsed() < self.ttl + self.grace => {
                    tracing::warn!(
                        uri,
                        %detail,
                        age_seconds = at.elapsed().as_secs(),
                        "issuer JWKS unreachable; using the keys last fetched (within the grace period)"
                    );
                    Ok(set)
                }
                _ => Err(JwksError::Unreachable(detail)),
            },
            Err(e) => Err(e),
        }
    }

    /// The key `kid` from the JWKS at `uri`; `Ok(None)` if the issuer does not publish it.
    pub async fn key(&self, uri: &str, kid: &str) -> Result<Option<Jwk>, JwksError> {
        let entry = self.entry(uri);
        let (fetched_at, set) = match entry.snapshot() {
            Some((at, set)) if at.elapsed() < self.ttl => (at, set),
            stale => {
                let started = Instant::now();
                let set = self.refresh(uri, &entry, stale.map(|(at, _)| at)).await?;
                (started, set)
            }
        };
        if let Some(k) = find(&set, kid) {
            return Ok(Some(k));
        }
        if fetched_at.elapsed() < self.refetch_interval {
            return Ok(None);
        }
        Ok(find(&*self.refresh(uri, &entry, Some(fetched_at)).await?, kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An issuer's JWKS endpoint in memory: serves `set` until told to fail, counts fetches,
    /// and takes `delay` per fetch.
    struct Endpoint {
        set: std::sync::Mutex<Result<JwkSet, JwksError>>,
        fetches: AtomicUsize,
        delay: Duration,
    }

    impl Endpoint {
        fn new(keys: serde_json::Value, delay: Duration) -> Arc<Self> {
            Arc::new(Endpoint {
                set: std::sync::Mutex::new(Ok(serde_json::from_value(keys).unwrap())),
                fetches: AtomicUsize::new(0),
                delay,
            })
        }
        fn answer(&self, answer: Result<JwkSet, JwksError>) {
            *self.set.lock().unwrap() = answer;
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl JwksSource for Endpoint {
        async fn fetch(&self, _uri: &str) -> Result<JwkSet, JwksError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.set.lock().unwrap().clone()
        }
    }

    fn jwk(kid: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut k = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": kid,
            "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
            "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
        });
        k.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        k
    }

    const URI: &str = "https://issuer.example/.well-known/jwks.json";

    #[tokio::test]
    async fn keys_not_meant_for_es256_signatures_are_ignored() {
        let endpoint = Endpoint::new(
            serde_json::json!({"keys": [
                jwk("enc", serde_json::json!({"use": "enc"})),
                jwk("rsa-alg", serde_json::json!({"alg": "RS256"})),
                jwk("sig", serde_json::json!({"use": "sig", "alg": "ES256"})),
                jwk("bare", serde_json::json!({})),
                jwk("twice", serde_json::json!({"use": "enc"})),
                jwk("twice", serde_json::json!({"use": "sig"})),
            ]}),
            Duration::ZERO,
        );
        let cache = JwksCache::new(
            endpoint,
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::ZERO,
        );
        for (kid, usable) in [("enc", false), ("rsa-alg", false), ("sig", true), ("bare", true)] {
            assert_eq!(cache.key(URI, kid).await.unwrap().is_some(), usable, "{kid}");
        }
        let twice = cache.key(URI, "twice").await.unwrap().unwrap();
        assert_eq!(twice.common.public_key_use, Some(PublicKeyUse::Signature));
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_fetch() {
        let endpoint = Endpoint::new(
            serde_json::json!({"keys": [jwk("k1", serde_json::json!({}))]}),
            Duration::from_millis(100),
        );
        let cache = Arc::new(JwksCache::new(
            endpoint.clone(),
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::ZERO,
        ));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.key(URI, "k1").await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().is_some());
        }
        assert_eq!(endpoint.fetches(), 1, "one fetch for 32 concurrent cold requests");

        // Unknown kids: one refetch at a time, then none until the refetch interval has passed.
        let cache = Arc::new(JwksCache::new(
            endpoint.clone(),
            Duration::from_secs(60),
            Duration::ZERO,
            Duration::ZERO,
        ));
        cache.key(URI, "k1").await.unwrap();
        let before = endpoint.fetches();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.key(URI, "unknown").await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().is_none());
        }
        assert!(
            endpoint.fetches() - before <= 2,
            "concurrent unknown kids share refetches: {} fetches",
            endpoint.fetches() - before
        );
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_bridged_by_the_last_keys_for_the_grace_period_only() {
        let endpoint = Endpoint::new(
            serde_json::json!({"keys": [jwk("k1", serde_json::json!({}))]}),
            Duration::ZERO,
        );
        let ttl = Duration::from_millis(50);
        let grace = Duration::from_millis(300);
        let cache = JwksCache::new(endpoint.clone(), ttl, Duration::from_secs(60), grace);
        assert!(cache.key(URI, "k1").await.unwrap().is_some());

        endpoint.answer(Err(JwksError::Unreachable("connection refused".into())));
        tokio::time::sleep(ttl * 2).await;
        assert!(
            cache.key(URI, "k1").await.unwrap().is_some(),
            "past the ttl, within the grace: the last keys"
        );
        assert!(endpoint.fetches() >= 2, "the refetch was tried");

        tokio::time::sleep(grace).await;
        assert!(
            matches!(cache.key(URI, "k1").await, Err(JwksError::Unreachable(_))),
            "past the grace: the outage shows"
        );

        // An endpoint that answers is believed at once: an invalid answer is not bridged.
        let cache = JwksCache::new(endpoint.clone(), ttl, Duration::from_secs(60), Duration::from_secs(60));
        endpoint.answer(Ok(serde_json::from_value(
            serde_json::json!({"keys": [jwk("k1", serde_json::json!({}))]}),
        )
        .unwrap()));
        assert!(cache.key(URI, "k1").await.unwrap().is_some());
        endpoint.answer(Err(JwksError::Invalid("not JSON".into())));
        tokio::time::sleep(ttl * 2).await;
        assert!(matches!(cache.key(URI, "k1").await, Err(JwksError::Invalid(_))));
        // ...and a key the issuer withdrew is gone at once.
        endpoint.answer(Ok(serde_json::from_value(
            serde_json::json!({"keys": [jwk("k2", serde_json::json!({}))]}),
        )
        .unwrap()));
        tokio::time::sleep(ttl * 2).await;
        assert!(cache.key(URI, "k1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn without_keys_yet_an_outage_is_unreachable() {
        let endpoint = Endpoint::new(serde_json::json!({"keys": []}), Duration::ZERO);
        endpoint.answer(Err(JwksError::Unreachable("timeout".into())));
        let cache = JwksCache::new(
            endpoint,
            Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        );
        assert!(matches!(cache.key(URI, "k1").await, Err(JwksError::Unreachable(_))));
    }
}
