//! [`JwksSource`] over HTTPS: only the registered URI is fetched (redirects are not followed,
//! so a JWKS cannot be pulled from elsewhere), with a timeout and a size cap. Plain HTTP is
//! accepted only for loopback hosts, and only when explicitly allowed (local runs).

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;

use crate::ports::{JwksError, JwksSource};

pub const MAX_JWKS_BYTES: usize = 64 * 1024;

pub struct HttpJwks {
    client: reqwest::Client,
    allow_loopback_http: bool,
}

impl HttpJwks {
    pub fn new(timeout: Duration, allow_loopback_http: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("statuslist-service")
            .build()
            .expect("HTTP client");
        HttpJwks {
            client,
            allow_loopback_http,
        }
    }

    fn check(&self, uri: &str) -> Result<reqwest::Url, JwksError> {
        let url = reqwest::Url::parse(uri).map_err(|e| JwksError::NotAllowed(format!("{uri}: {e}")))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_loopback_http && is_loopback(&url) => Ok(url),
            _ => Err(JwksError::NotAllowed(format!("{uri}: must be https"))),
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self, uri: &str) -> Result<JwkSet, JwksError> {
        let url = self.check(uri)?;
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| JwksError::Unreachable(format!("{uri}: {e}")))?;
        if !response.status().is_success() {
            return Err(JwksError::Unreachable(format!("{uri}: HTTP {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
            return Err(JwksError::Invalid(format!("{uri}: larger than {MAX_JWKS_BYTES} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| JwksError::Unreachable(format!("{uri}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::Invalid(format!("{uri}: larger than {MAX_JWKS_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| JwksError::Invalid(format!("{uri}: {e}")))
    }
}
