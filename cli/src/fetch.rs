//! Fetching tokens and JWKS over HTTP(S): content negotiation for both token types, a
//! timeout, bounded redirects and a body size cap.

use std::time::Duration;

use shared::domain::token::{CWT_MEDIA_TYPE, JWT_MEDIA_TYPE};

/// Largest body we accept: a token for 2^20 8-bit entries at 50 % fill is ~1.2 MB (spec §9);
/// 16 MiB leaves room for bigger lists without letting a server exhaust memory.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

pub async fn get(url: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("statuslist/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let accept = format!("{JWT_MEDIA_TYPE}, {CWT_MEDIA_TYPE};q=0.9, application/json;q=0.5");
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}").into());
    }
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(format!("GET {url}: body larger than {MAX_BODY} bytes").into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("GET {url}: body larger than {MAX_BODY} bytes").into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
