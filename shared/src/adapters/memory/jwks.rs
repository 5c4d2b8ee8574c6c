//! Issuers' JWKS endpoints in memory: the [`JwksSource`] twin of the HTTPS adapter. Each URI
//! serves the key set last published at it; a URI nothing was published at answers as a missing
//! endpoint does over HTTPS (unreachable: HTTP 404), and a URI can be cut off to stand for an
//! issuer's outage.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;

use crate::ports::{JwksError, JwksSource};

#[derive(Default)]
pub struct MemJwks {
    sets: Mutex<HashMap<String, JwkSet>>,
    unreachable: Mutex<HashSet<String>>,
    fetches: AtomicUsize,
}

impl MemJwks {
    /// Serves `set` at `uri` from now on (replacing what was there: a key rotation).
    pub fn publish(&self, uri: &str, set: JwkSet) {
        self.sets.lock().unwrap().insert(uri.to_string(), set);
    }

    /// Cuts `uri` off (`true`: every fetch fails as a connection would) or restores it.
    pub fn set_unreachable(&self, uri: &str, unreachable: bool) {
        let mut cut = self.unreachable.lock().unwrap();
        if unreachable {
            cut.insert(uri.to_string());
        } else {
            cut.remove(uri);
        }
    }

    /// Fetches asked for so far, answered or not.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl JwksSource for MemJwks {
    async fn fetch(&self, uri: &str) -> Result<JwkSet, JwksError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.unreachable.lock().unwrap().contains(uri) {
            return Err(JwksError::Unreachable(format!("{uri}: connection refused")));
        }
        self.sets
            .lock()
            .unwrap()
            .get(uri)
            .cloned()
            .ok_or_else(|| JwksError::Unreachable(format!("{uri}: HTTP 404 Not Found")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_what_was_published_until_cut_off() {
        let jwks = MemJwks::default();
        let uri = "https://issuer.example/jwks.json";
        assert!(matches!(jwks.fetch(uri).await, Err(JwksError::Unreachable(_))));
        jwks.publish(uri, JwkSet { keys: vec![] });
        assert_eq!(jwks.fetch(uri).await.unwrap().keys.len(), 0);
        jwks.set_unreachable(uri, true);
        assert!(matches!(jwks.fetch(uri).await, Err(JwksError::Unreachable(_))));
        jwks.set_unreachable(uri, false);
        assert!(jwks.fetch(uri).await.is_ok());
        assert_eq!(jwks.fetches(), 4);
    }
}
