//! Authenticating an issuer request: header rules, the claimed client's registration, its key
//! from its registered JWKS, then the ES256 signature. Only after that are claims used.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{IssuerFailure, IssuerService};
use crate::domain::client::Client;
use crate::domain::issuer_request::{self as rules, Claims, IssuerError};
use crate::ports::JwksError;

pub struct Authenticated {
    pub client: Client,
    pub kid: String,
    pub payload: Claims,
}

impl IssuerService {
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, IssuerFailure> {
        let local = Instant::now();
        let raw = rules::decode(token)?;
        let kid = rules::check_header(&raw.header)?.to_string();
        let iss = rules::issuer(&raw.payload)?.to_string();
        self.metrics.add_local(local);
        let client = self.client(&iss).await?.ok_or(IssuerError::UnknownClient)?;
        let jwk = match self.jwks.key(&client.jwks_uri, &kid).await {
            Ok(Some(jwk)) => jwk,
            Ok(None) => return Err(IssuerError::InvalidKeyId.into()),
            Err(JwksError::Unreachable(e)) => {
                tracing::warn!(client_id = %client.client_id, error = %e, "issuer JWKS unreachable");
                return Err(IssuerFailure::Unavailable(e));
            }
            Err(e) => {
                tracing::warn!(client_id = %client.client_id, error = %e, "issuer JWKS unusable");
                return Err(IssuerError::InvalidKeyId.into());
            }
        };
        // Only P-256 keys can verify ES256; anything else in the JWKS under this kid is refused.
        crate::domain::keys::key_from_jwk(&jwk).map_err(|_| IssuerError::InvalidKeyId)?;
        let local = Instant::now();
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| IssuerError::InvalidKeyId)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let verified =
            jsonwebtoken::decode::<Claims>(token.trim(), &key, &validation).map_err(|_| IssuerError::BadSignature)?;
        self.metrics.add_local(local);
        Ok(Authenticated {
            client,
            kid,
            payload: verified.claims,
        })
    }
}

/// Registrations change rarely; a cached lookup saves a read per request. A removed or changed
/// client takes effect within `CLIENT_TTL`; unknown ids are cached briefly, so a new
/// registration is usable within `UNKNOWN_CLIENT_TTL`.
pub const CLIENT_TTL: Duration = Duration::from_secs(60);
pub const UNKNOWN_CLIENT_TTL: Duration = Duration::from_secs(5);

impl IssuerService {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, IssuerFailure> {
        if let Some((at, cached)) = self.clients.lock().await.get(client_id)
            && at.elapsed()
                < if cached.is_some() {
                    CLIENT_TTL
                } else {
                    UNKNOWN_CLIENT_TTL
                }
        {
            return Ok(cached.clone());
        }
        let found = self.store.client(client_id).await?;
        let mut cache = self.clients.lock().await;
        if cache.len() > 10_000 {
            cache.clear(); // bounded: ids come from unauthenticated input
        }
        cache.insert(client_id.to_string(), (Instant::now(), found.clone()));
        Ok(found)
    }
}
