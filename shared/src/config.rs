//! Configuration from the environment, read once per process (Lambda cold start or local
//! server start). Names match the template's `Environment` blocks.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    /// KMS key (id, ARN or alias) that signs status list tokens.
    pub signing_key_id: String,
    /// Base URL under which tokens are served, e.g. `https://d111.cloudfront.net`; a list's
    /// URI is `<base>/t/<id>`.
    pub public_base_url: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long the public key set may be cached by clients.
    pub jwks_max_age: Duration,
    pub tables: Tables,
    /// Allow `http://` issuer JWKS URIs on loopback hosts: local runs only.
    pub allow_http_loopback_jwks: bool,
    /// How long fetched issuer keys are trusted before refetching.
    pub issuer_jwks_ttl: Duration,
    /// How long past that the keys last fetched stay in use while the issuer's JWKS endpoint is
    /// unreachable (an outage only: a JWKS that answers is believed at once).
    pub issuer_jwks_grace: Duration,
    /// Timeout for fetching an issuer's JWKS.
    pub issuer_jwks_timeout: Duration,
    /// Which pool of lists /issue allocates from (separate deployments or tests may use their own).
    pub list_pool: String,
    /// The bucket tokens are published to.
    pub tokens_bucket: String,
    /// Token `ttl` (seconds) and lifetime (`exp - iat`).
    pub token_ttl: u64,
    pub token_validity: i64,
    /// The re-signing cadence tokens are published and checked against: seconds between two
    /// scheduled passes (the template's schedule) and how late a pass may reach a list.
    pub freshness: crate::domain::lifetime::Freshness,
    /// KMS keys that signed tokens before a rotation: their public keys stay in the JWKS until
    /// every token they signed has expired (see the README's key rotation procedure).
    pub retired_signing_key_ids: Vec<String>,
    /// The FIFO queue of publish jobs (the forwarder writes it; others need not know it).
    pub publish_queue_url: Option<String>,
    /// How long replaced token versions are kept (the bucket's lifecycle rule), and so their
    /// history entries (`HISTORY_RETENTION_DAYS`, default 90).
    pub history_retention_days: i64,
    /// The standard queue of re-signing jobs (the re-signer writes it, the publisher reads it).
    pub resign_queue_url: Option<String>,
    /// KMS `Sign` calls a second a re-signing pass's jobs may make (`RESIGN_SIGN_RATE`, default
    /// 50; the account's ECC `Sign` quota is shared by every publish).
    pub resign_sign_rate: u64,
    /// The EventBridge bus the mDoc API's analytic events go to; unset writes them to the log.
    pub analytics_bus: Option<String>,
    /// Entries per mDoc status list.
    pub mdoc_list_size: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn var(name: &str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError(format!("{name} is not set")))
}

fn var_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name}={v:?} is not valid"))),
        _ => Ok(default),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let public_base_url = var("PUBLIC_BASE_URL")?.trim_end_matches('/').to_string();
        let ttl: u64 = var_or("TOKEN_TTL_SECONDS", crate::domain::lifetime::DEFAULT_TTL)?;
        let validity: i64 = var_or("TOKEN_VALIDITY_SECONDS", crate::domain::lifetime::DEFAULT_VALIDITY)?;
        if ttl == 0 || validity <= 0 || ttl as i64 > validity {
            return Err(ConfigError(
                "TOKEN_TTL_SECONDS must be positive and at most TOKEN_VALIDITY_SECONDS".into(),
            ));
        }
        // The template sets minutes (its schedule's unit); local runs, with faster schedules, seconds.
        let resign_interval: i64 = match std::env::var("RESIGN_INTERVAL_SECONDS") {
            Ok(v) if !v.trim().is_empty() => var_or("RESIGN_INTERVAL_SECONDS", 0)?,
            _ => var_or::<i64>("RESIGN_INTERVAL_MINUTES", 60)?.saturating_mul(60),
        };
        let resign_slack: i64 = var_or("RESIGN_SLACK_SECONDS", crate::domain::lifetime::RESIGN_SLACK)?;
        if resign_interval <= 0 || resign_slack < 0 {
            return Err(ConfigError(
                "RESIGN_INTERVAL_SECONDS (or _MINUTES) must be positive and RESIGN_SLACK_SECONDS not negative".into(),
            ));
        }
        let freshness = crate::domain::lifetime::Freshness {
            interval: resign_interval,
            slack: resign_slack,
        };
        if let Err(e) = freshness.check(validity) {
            return Err(ConfigError(format!("TOKEN_VALIDITY_SECONDS={validity} {e}")));
        }
        if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://")) {
            return Err(ConfigError(format!(
                "PUBLIC_BASE_URL {public_base_url:?} must be an http(s) URL"
            )));
        }
        Ok(Config {
            signing_key_id: var("SIGNING_KEY_ID")?,
            public_base_url,
            max_body_bytes: var_or("MAX_BODY_BYTES", 16 * 1024)?,
            jwks_max_age: Duration::from_secs(var_or("JWKS_MAX_AGE_SECONDS", 3600)?),
            tables: Tables {
                clients: var("CLIENTS_TABLE")?,
                lists: var("LISTS_TABLE")?,
                entries: var("ENTRIES_TABLE")?,
                idempotency: var("IDEMPOTENCY_TABLE")?,
                statuses: var("STATUSES_TABLE")?,
                tenants: var("TENANTS_TABLE")?,
                configurations: var("CONFIGURATIONS_TABLE")?,
                mdocs: var("MDOCS_TABLE")?,
                history: var("HISTORY_TABLE")?,
            },
            allow_http_loopback_jwks: var_or("ALLOW_HTTP_LOOPBACK_JWKS", false)?,
            issuer_jwks_ttl: Duration::from_secs(var_or("ISSUER_JWKS_TTL_SECONDS", 300)?),
            issuer_jwks_grace: Duration::from_secs(var_or("ISSUER_JWKS_GRACE_SECONDS", 3600)?),
            issuer_jwks_timeout: Duration::from_millis(var_or("ISSUER_JWKS_TIMEOUT_MS", 3000)?),
            list_pool: var_or("LIST_POOL", crate::domain::list::GOVUK_POOL.to_string())?,
            tokens_bucket: var("TOKENS_BUCKET")?,
            token_ttl: ttl,
            token_validity: validity,
            freshness,
            publish_queue_url: var("PUBLISH_QUEUE_URL").ok(),
            resign_queue_url: var("RESIGN_QUEUE_URL").ok(),
            history_retention_days: match var_or::<i64>("HISTORY_RETENTION_DAYS", 90)? {
                days if days >= 1 => days,
                days => return Err(ConfigError(format!("HISTORY_RETENTION_DAYS={days} must be at least 1"))),
            },
            resign_sign_rate: match var_or::<u64>("RESIGN_SIGN_RATE", 50)? {
                0 => {
                    return Err(ConfigError(
                        "RESIGN_SIGN_RATE must be at least 1 (Sign calls a second)".into(),
                    ));
                }
                rate => rate,
            },
            analytics_bus: var("ANALYTICS_BUS_NAME").ok(),
            mdoc_list_size: var_or("MDOC_LIST_SIZE", crate::domain::list::LIST_SIZE)?,
            retired_signing_key_ids: std::env::var("RETIRED_SIGNING_KEY_IDS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// The DynamoDB tables, by name.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub clients: String,
    pub lists: String,
    pub entries: String,
    pub idempotency: String,
    /// Entries whose status is not VALID (streamed to the publisher).
    pub statuses: String,
    /// Management-API credentials (mDoc API tenants), keyed on the token's SHA-256.
    pub tenants: String,
    /// mDoc status list configurations, and their docType claims, keyed (tenantId, sk).
    pub configurations: String,
    /// Registered mDocs, keyed on credentialId.
    pub mdocs: String,
    /// Published token versions, keyed (objectKey, iat): what `?time=` reads.
    pub history: String,
}
