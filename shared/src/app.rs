//! The application: every port the handlers use, built once per process and shared by all
//! requests (so warm Lambda invocations reuse clients and keys).

use std::sync::Arc;

use std::time::Duration;

use crate::adapters::{aws, dynamo::DynamoStore, jwks_http::HttpJwks, kms_signer::KmsSigner, log_events::LogEvents};
use crate::config::Config;
use crate::issuer::{GOVUK_POOL, IssuerService, Metrics, allocator::Allocator, jwks_cache::JwksCache};
use crate::ports::{EventSink, IssuerStore, JwksSource, Signer};

pub struct App {
    pub config: Config,
    pub signer: Arc<dyn Signer>,
    pub issuer: IssuerService,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("signing key: {0}")]
    Signer(#[from] crate::ports::SignerError),
}

impl App {
    /// Wires the AWS adapters from the environment.
    pub async fn from_env() -> Result<Arc<App>, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws::load_config().await;
        let signer = KmsSigner::new(aws_sdk_kms::Client::new(&sdk), config.signing_key_id.clone()).await?;
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.tables.clone(),
        ));
        let jwks = Arc::new(HttpJwks::new(
            config.issuer_jwks_timeout,
            config.allow_http_loopback_jwks,
        ));
        Ok(Arc::new(App::new(
            config,
            Arc::new(signer),
            store,
            jwks,
            Arc::new(LogEvents),
        )))
    }

    /// Wires the given adapters (tests use the same constructor with their own parts).
    pub fn new(
        config: Config,
        signer: Arc<dyn Signer>,
        store: Arc<dyn IssuerStore>,
        jwks: Arc<dyn JwksSource>,
        events: Arc<dyn EventSink>,
    ) -> App {
        let issuer = IssuerService {
            jwks: JwksCache::new(jwks, config.issuer_jwks_ttl, Duration::from_secs(10)),
            allocator: Allocator::new(store.clone(), GOVUK_POOL),
            store,
            events,
            base_url: config.public_base_url.clone(),
            metrics: Metrics::default(),
            clients: Default::default(),
        };
        App { config, signer, issuer }
    }
}
