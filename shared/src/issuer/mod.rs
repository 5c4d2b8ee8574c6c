//! The GOV.UK issuer API as a service over ports: authenticate the request JWT, then issue
//! (idempotent on (iss, jti), random index) or revoke (one-way, idempotent by state).

pub mod allocator;
pub mod auth;
pub mod jwks_cache;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::domain::issuer_request::{self as rules, IDEMPOTENCY_RETENTION, IssuerError};
use crate::domain::list::Entry;
use crate::ports::{AuditEvent, Claim, EventSink, IdempotencyState, IssuerStore, Placement, Revocation, StoreError};
use allocator::{Allocator, MAX_ATTEMPTS};
use jwks_cache::JwksCache;

/// How long an IN_PROGRESS claim blocks retries before it counts as abandoned (a crashed
/// invocation). Above the Lambda timeout, so a live invocation never loses its claim.
pub const IN_PROGRESS_TIMEOUT: i64 = 30;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueResponse {
    pub idx: u64,
    pub uri: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevokeResponse {
    pub message: &'static str,
    #[serde(rename = "revokedAt")]
    pub revoked_at: i64,
}

/// Why an issuer request failed: a refusal with its contract text, a transient outage (503),
/// or an internal fault (500, with the contract's description).
#[derive(Debug)]
pub enum IssuerFailure {
    Refused(IssuerError),
    Unavailable(String),
    Internal { description: &'static str, detail: String },
}

impl From<IssuerError> for IssuerFailure {
    fn from(e: IssuerError) -> Self {
        IssuerFailure::Refused(e)
    }
}

impl From<StoreError> for IssuerFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(d) => IssuerFailure::Unavailable(d),
            StoreError::Other(d) => IssuerFailure::Internal {
                description: "Unable to successfully issue a status",
                detail: d,
            },
        }
    }
}

/// Counters for the load benchmark: issuances, index draws, and time spent in our own code
/// (parsing, checks, signature verification, serialisation), excluding AWS calls.
#[derive(Default)]
pub struct Metrics {
    pub issued: AtomicU64,
    pub draws: AtomicU64,
    pub local_nanos: AtomicU64,
}

impl Metrics {
    pub(crate) fn add_local(&self, since: Instant) {
        self.local_nanos
            .fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

pub struct IssuerService {
    pub store: Arc<dyn IssuerStore>,
    pub jwks: JwksCache,
    pub allocator: Allocator,
    pub events: Arc<dyn EventSink>,
    /// Tokens are served at `<base_url>/t/<listId>`.
    pub base_url: String,
    pub metrics: Metrics,
    /// Client registry lookups, cached (see `auth::CLIENT_TTL`).
    pub clients:
        tokio::sync::Mutex<std::collections::HashMap<String, (Instant, Option<crate::domain::client::Client>)>>,
}

fn event(name: &'static str, now: i64) -> AuditEvent {
    AuditEvent {
        event: name,
        client_id: None,
        kid: None,
        idx: None,
        uri: None,
        reason: None,
        timestamp: now,
    }
}

impl IssuerService {
    /// The service for `config` on these ports (the allocator queues each new list's first
    /// publish on `queue`; the JWKS cache follows the configured ttl and grace).
    pub fn wire(
        config: &crate::config::Config,
        store: Arc<dyn IssuerStore>,
        jwks: Arc<dyn crate::ports::JwksSource>,
        events: Arc<dyn EventSink>,
        queue: Option<Arc<dyn crate::ports::PublishQueue>>,
    ) -> IssuerService {
        IssuerService {
            jwks: JwksCache::new(
                jwks,
                config.issuer_jwks_ttl,
                std::time::Duration::from_secs(10),
                config.issuer_jwks_grace,
            ),
            allocator: Allocator::new(
                store.clone(),
                config.list_pool.clone(),
                Some(crate::publisher::default_lifetime(config)),
                queue,
            ),
            store,
            events,
            base_url: config.public_base_url.clone(),
            metrics: Metrics::default(),
            clients: Default::default(),
        }
    }

    pub fn list_uri(&self, list_id: &str) -> String {
        allocator::list_uri(&self.base_url, list_id)
    }

    /// The list id of one of our list URIs, or `None` for anything else.
    pub fn list_id_of<'a>(&self, uri: &'a str) -> Option<&'a str> {
        let id = uri.strip_prefix(&self.base_url)?.strip_prefix("/t/")?;
        allocator::is_list_id(id).then_some(id)
    }

    fn fail(&self, name: &'static str, now: i64, client_id: Option<&str>, kid: Option<&str>, f: &IssuerFailure) {
        let reason = match f {
            IssuerFailure::Refused(e) => e.to_string(),
            IssuerFailure::Unavailable(d) => format!("unavailable: {d}"),
            IssuerFailure::Internal { detail, .. } => format!("internal: {detail}"),
        };
        self.events.emit(AuditEvent {
            client_id: client_id.map(str::to_owned),
            kid: kid.map(str::to_owned),
            reason: Some(reason),
            ..event(name, now)
        });
    }

    /// `POST /issue`.
    pub async fn issue(&self, token: &str, now: i64) -> Result<IssueResponse, IssuerFailure> {
        let auth = match self.authenticate(token).await {
            Ok(a) => a,
            Err(f) => {
                self.fail("ISSUANCE_FAILED", now, None, None, &f);
                return Err(f);
            }
        };
        let result = self.issue_authenticated(&auth, now).await;
        match &result {
            Ok(r) => self.events.emit(AuditEvent {
                client_id: Some(auth.client.client_id.clone()),
                kid: Some(auth.kid.clone()),
                idx: Some(r.idx),
                uri: Some(r.uri.clone()),
                ..event("INDEX_ISSUED", now)
            }),
            Err(f) => self.fail("ISSUANCE_FAILED", now, Some(&auth.client.client_id), Some(&auth.kid), f),
        }
        result
    }

    async fn issue_authenticated(&self, auth: &auth::Authenticated, now: i64) -> Result<IssueResponse, IssuerFailure> {
        let start = Instant::now();
        let req = rules::issue_request(&auth.payload, now)?;
        if req.iss != auth.client.client_id {
            return Err(IssuerError::UnknownClient.into());
        }
        let key = format!("{}#{}", req.iss, req.jti);
        let hash = rules::claims_hash(&auth.payload);
        self.metrics.add_local(start);

        // Unique to this request: a claim written for it is ours even when the write's answer was
        // lost, so it can be completed or released whatever the store told us.
        let owner = uuid::Uuid::new_v4().to_string();
        let claimed = self
            .store
            .claim_idempotency(
                &key,
                &owner,
                &hash,
                now,
                now + IN_PROGRESS_TIMEOUT,
                now + IDEMPOTENCY_RETENTION,
            )
            .await;
        let claimed = match claimed {
            Ok(c) => c,
            Err(e) => {
                // The claim may have been written all the same (its answer lost): free it, or
                // the client's retry would meet it as "in progress" until it lapses.
                self.release_claim(&key, &owner).await;
                return Err(e.into());
            }
        };
        match claimed {
            Claim::Acquired => {}
            Claim::Existing(IdempotencyState::Completed { claims_hash, response }) if claims_hash == hash => {
                return serde_json::from_str(&response).map_err(|e| IssuerFailure::Internal {
                    description: "Unable to successfully issue a status",
                    detail: format!("stored response unreadable: {e}"),
                });
            }
            Claim::Existing(IdempotencyState::InProgress { claims_hash, .. }) if claims_hash == hash => {
                return Err(IssuerError::InFlight.into());
            }
            Claim::Existing(_) => return Err(IssuerError::IdempotencyMismatch.into()),
        }

        match self.allocate(&req, &key, &owner, now).await {
            Ok(r) => Ok(r),
            Err(failure) => {
                self.release_claim(&key, &owner).await;
                Err(failure)
            }
        }
    }

    /// Frees our IN_PROGRESS claim for the client's retry (a conditional delete: nothing if it
    /// is not ours or not there). Tried three times, as a failed request usually met a failing
    /// store; if it still fails, the claim lapses after IN_PROGRESS_TIMEOUT seconds and a retry
    /// meets 409 until then.
    async fn release_claim(&self, key: &str, owner: &str) {
        let mut pause = std::time::Duration::from_millis(50);
        for attempt in 1..=3 {
            match self.store.release_idempotency(key, owner).await {
                Ok(()) => return,
                Err(e) if attempt == 3 => {
                    tracing::warn!(error = %e, "idempotency claim not released; it will lapse");
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 4;
                }
            }
        }
    }

    async fn allocate(
        &self,
        req: &rules::IssueRequest,
        key: &str,
        owner: &str,
        now: i64,
    ) -> Result<IssueResponse, IssuerFailure> {
        let placed = self
            .allocator
            .allocate(now, |list, idx| async move {
                self.metrics.draws.fetch_add(1, Ordering::Relaxed);
                let response = IssueResponse {
                    idx,
                    uri: self.list_uri(&list.list_id),
                };
                let body = serde_json::to_string(&response).expect("serialisable");
                // The list's horizon first: it is never behind an entry placed in it, so the
                // re-signer keeps the list fresh until this credential's status expires.
                if let Some(horizon) = crate::domain::resign::horizon_for(req.status_expiry)
                    && list.status_horizon.is_none_or(|at| at < horizon)
                {
                    self.store.extend_horizon(&list.list_id, horizon).await?;
                    self.allocator.note_horizon(&list.list_id, horizon).await;
                }
                let entry = Entry {
                    list_id: list.list_id,
                    idx,
                    client_id: req.iss.clone(),
                    issued_at: now,
                    status_expiry: req.status_expiry,
                    status: 0,
                    revoked_at: None,
                };
                match self.store.place_entry(&entry, key, owner, &body).await? {
                    Placement::Placed => Ok::<_, IssuerFailure>(Some(response)),
                    Placement::IndexTaken => Ok(None),
                    Placement::ClaimLost => Err(IssuerError::InFlight.into()),
                }
            })
            .await?;
        match placed {
            Some((_, _, response)) => {
                self.metrics.issued.fetch_add(1, Ordering::Relaxed);
                Ok(response)
            }
            None => Err(IssuerFailure::Internal {
                description: "Unable to successfully issue a status",
                detail: format!("no free index after {MAX_ATTEMPTS} draws"),
            }),
        }
    }

    /// `POST /revoke`.
    pub async fn revoke(&self, token: &str, now: i64) -> Result<RevokeResponse, IssuerFailure> {
        let auth = match self.authenticate(token).await {
            Ok(a) => a,
            Err(f) => {
                self.fail("INDEX_REVOCATION_FAILED", now, None, None, &f);
                return Err(f);
            }
        };
        let result = self.revoke_authenticated(&auth, now).await;
        match &result {
            Ok((r, idx, uri)) => self.events.emit(AuditEvent {
                client_id: Some(auth.client.client_id.clone()),
                kid: Some(auth.kid.clone()),
                idx: Some(*idx),
                uri: Some(uri.clone()),
                reason: Some(r.message.to_string()),
                ..event("INDEX_REVOKED", now)
            }),
            Err(f) => self.fail(
                "INDEX_REVOCATION_FAILED",
                now,
                Some(&auth.client.client_id),
                Some(&auth.kid),
                f,
            ),
        }
        result.map(|(r, _, _)| r)
    }

    async fn revoke_authenticated(
        &self,
        auth: &auth::Authenticated,
        now: i64,
    ) -> Result<(RevokeResponse, u64, String), IssuerFailure> {
        let req = rules::revoke_request(&auth.payload, now)?;
        if req.iss != auth.client.client_id {
            return Err(IssuerError::UnknownClient.into());
        }
        let list_id = self.list_id_of(&req.uri).ok_or(IssuerError::InvalidUri)?;
        let outcome = self
            .store
            .revoke(list_id, req.idx, &req.iss, now)
            .await
            .map_err(|e| match e {
                StoreError::Unavailable(d) => IssuerFailure::Unavailable(d),
                StoreError::Other(d) => IssuerFailure::Internal {
                    description: "Error updating revokedAt field",
                    detail: d,
                },
            })?;
        let response = match outcome {
            // The change reaches the published tokens through the pipeline (the statuses table's stream).
            Revocation::Revoked { revoked_at } => RevokeResponse {
                message: "Request processed for revocation",
                revoked_at,
            },
            Revocation::AlreadyRevoked { revoked_at } => RevokeResponse {
                message: "Credential already revoked",
                revoked_at,
            },
            Revocation::NotFound => return Err(IssuerError::EntryNotFound.into()),
            Revocation::WrongClient => return Err(IssuerError::WrongClient.into()),
        };
        Ok((response, req.idx, req.uri))
    }
}
