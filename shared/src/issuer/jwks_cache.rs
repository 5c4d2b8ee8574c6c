//! Issuer keys cached in memory per JWKS URI with a TTL. An unknown `kid` triggers one refetch
//! (key rotation), at most once per `refetch_interval` per URI so unknown kids cannot make us
//! hammer an issuer's endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use tokio::sync::Mutex;

use crate::ports::{JwksError, JwksSource};

pub struct JwksCache {
    source: Arc<dyn JwksSource>,
    ttl: Duration,
    refetch_interval: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<JwkSet>)>>,
}

impl JwksCache {
    pub fn new(source: Arc<dyn JwksSource>, ttl: Duration, refetch_interval: Duration) -> Self {
        JwksCache {
            source,
            ttl,
            refetch_interval,
            entries: Mutex::new(HashMap::new()),
        }
    }

    async fn load(&self, uri: &str) -> Result<Arc<JwkSet>, JwksError> {
        let set = Arc::new(self.source.fetch(uri).await?);
        self.entries
            .lock()
            .await
            .insert(uri.to_string(), (Instant::now(), set.clone()));
        Ok(set)
    }

    /// The key `kid` from the JWKS at `uri`; `Ok(None)` if the issuer does not publish it.
    pub async fn key(&self, uri: &str, kid: &str) -> Result<Option<Jwk>, JwksError> {
        let cached = self.entries.lock().await.get(uri).cloned();
        let (fetched_at, set) = match cached {
            Some((at, set)) if at.elapsed() < self.ttl => (at, set),
            _ => (Instant::now(), self.load(uri).await?),
        };
        if let Some(k) = set.find(kid) {
            return Ok(Some(k.clone()));
        }
        if fetched_at.elapsed() < self.refetch_interval {
            return Ok(None);
        }
        Ok(self.load(uri).await?.find(kid).cloned())
    }
}
