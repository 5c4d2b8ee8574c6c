//! [`JwksSource`] over HTTPS: only the registered URI is fetched (redirects are not followed,
//! so a JWKS cannot be pulled from elsewhere), with a timeout and a size cap.
//!
//! The issuer's host must be public: a URI whose host is, or resolves to, a private, loopback,
//! link-local, shared (CGNAT), multicast or unspecified address is refused before any request, and
//! the HTTP client's own resolver drops such addresses too, so a name that changes its answer
//! between the check and the connection (DNS rebinding) still cannot reach inside the network.
//! Local runs allow loopback hosts, over plain HTTP too (`ALLOW_HTTP_LOOPBACK_JWKS`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;

use crate::ports::{JwksError, JwksSource};

pub const MAX_JWKS_BYTES: usize = 64 * 1024;

pub struct HttpJwks {
    client: reqwest::Client,
    allow_loopback: bool,
}

/// Whether an issuer's JWKS may be fetched from `ip`.
pub fn reachable_address(ip: IpAddr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => reachable_address(IpAddr::V4(v4), allow_loopback),
            None => {
                let first = v6.segments()[0];
                !(v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80) // link-local
            }
        },
    }
}

/// The client's resolver: the system's answer without the addresses a JWKS may not come from.
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| reachable_address(a.ip(), allow_loopback))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl HttpJwks {
    pub fn new(timeout: Duration, allow_loopback: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicOnly { allow_loopback }))
            .user_agent("statuslist-service")
            .build()
            .expect("HTTP client");
        HttpJwks { client, allow_loopback }
    }

    /// The URI, if its scheme and every address of its host are allowed.
    async fn check(&self, uri: &str) -> Result<reqwest::Url, JwksError> {
        let refused = |why: &str| JwksError::NotAllowed(format!("{uri}: {why}"));
        let url = reqwest::Url::parse(uri).map_err(|e| refused(&e.to_string()))?;
        // The scheme first, with no I/O: plain HTTP only to a loopback host, and only locally.
        let loopback_host = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback && loopback_host => {}
            _ => return Err(refused("must be https")),
        }
        let addresses: Vec<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(url::Host::Domain(d)) => tokio::net::lookup_host((d, 0))
                .await
                .map_err(|e| JwksError::Unreachable(format!("{uri}: {e}")))?
                .map(|a| a.ip())
                .collect(),
            None => return Err(refused("no host")),
        };
        if let Some(ip) = addresses
            .iter()
            .find(|ip| !reachable_address(**ip, self.allow_loopback))
        {
            return Err(refused(&format!(
                "the host resolves to {ip}, which is not a public address"
            )));
        }
        Ok(url)
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self, uri: &str) -> Result<JwkSet, JwksError> {
        let url = self.check(uri).await?;
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| JwksError::Unreachable(format!("{uri}: {e}")))?;
        if response.status().is_redirection() {
            return Err(JwksError::Invalid(format!(
                "{uri}: HTTP {} (redirects are not followed: register the JWKS's own URI)",
                response.status()
            )));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn only_public_addresses_are_reachable() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!reachable_address(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(reachable_address(ip.parse().unwrap(), false), "{ip}");
        }
        assert!(reachable_address("127.0.0.1".parse().unwrap(), true));
        assert!(reachable_address("::1".parse().unwrap(), true));
        assert!(
            !reachable_address("10.0.0.1".parse().unwrap(), true),
            "the local flag allows loopback only"
        );
    }

    #[tokio::test]
    async fn internal_hosts_are_refused_before_any_request() {
        let jwks = HttpJwks::new(Duration::from_secs(1), false);
        for uri in [
            "https://10.0.0.1/.well-known/jwks.json",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00::1]/jwks.json",
            "https://[::ffff:192.168.0.1]/jwks.json",
            "https://127.0.0.1/jwks.json",
            "https://localhost/jwks.json",
        ] {
            match jwks.fetch(uri).await {
                Err(JwksError::NotAllowed(why)) => assert!(why.contains("not a public address"), "{uri}: {why}"),
                other => panic!("{uri}: {other:?}"),
            }
        }
        match jwks.fetch("http://127.0.0.1:1/jwks.json").await {
            Err(JwksError::NotAllowed(why)) => assert!(why.contains("must be https"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Local runs: loopback over http, and still nothing private.
        let local = HttpJwks::new(Duration::from_secs(1), true);
        assert!(matches!(
            local.fetch("https://10.0.0.1/j").await,
            Err(JwksError::NotAllowed(_))
        ));
        assert!(matches!(
            local.fetch("http://127.0.0.1:1/j").await,
            Err(JwksError::Unreachable(_))
        ));
    }

    /// One HTTP answer on 127.0.0.1, for every connection.
    fn serve(answer: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        url
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_names_the_reason() {
        let url = serve(
            "HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/jwks.json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let jwks = HttpJwks::new(Duration::from_secs(2), true);
        match jwks.fetch(&url).await {
            Err(JwksError::Invalid(why)) => assert!(why.contains("redirects are not followed"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_loopback_jwks_is_fetched_in_local_runs() {
        let body = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}]}"#;
        let answer: &'static str = Box::leak(
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                .into_boxed_str(),
        );
        let url = serve(answer);
        let set = HttpJwks::new(Duration::from_secs(2), true).fetch(&url).await.unwrap();
        assert_eq!(set.keys[0].common.key_id.as_deref(), Some("k1"));
        assert!(matches!(
            HttpJwks::new(Duration::from_secs(2), false).fetch(&url).await,
            Err(JwksError::NotAllowed(_))
        ));
    }
}
