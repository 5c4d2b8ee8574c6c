//! The application: every port the handlers use, built once per process and shared by all
//! requests (so warm Lambda invocations reuse clients and keys).

use std::sync::Arc;

use std::time::Duration;

use crate::adapters::{
    analytics::{EventBridgeAnalytics, LogAnalytics},
    aws,
    dynamo::DynamoStore,
    jwks_http::HttpJwks,
    kms_signer::KmsSigner,
    log_events::LogEvents,
    s3_objects::S3Objects,
    sqs_queue::SqsQueue,
};
use crate::config::Config;
use crate::issuer::{IssuerService, Metrics, allocator::Allocator, jwks_cache::JwksCache};
use crate::mdoc::MdocService;
use crate::pipeline::Forwarder;
use crate::ports::{
    Analytics, EventSink, IssuerStore, JwksSource, ListSource, MdocStore, ObjectStore, PublishQueue, Signer,
    TenantStore,
};
use crate::publisher::Publisher;

/// The adapters an [`App`] is built from.
pub struct Adapters {
    pub signer: Arc<dyn Signer>,
    pub store: Arc<dyn IssuerStore>,
    pub lists: Arc<dyn ListSource>,
    pub objects: Arc<dyn ObjectStore>,
    pub jwks: Arc<dyn JwksSource>,
    pub events: Arc<dyn EventSink>,
    /// The publish-job queue, where this process forwards changes to it.
    pub queue: Option<Arc<dyn PublishQueue>>,
    /// Keys that signed tokens before a rotation and stay in the JWKS until those expired.
    pub retired_keys: Vec<RetiredKey>,
    /// The mDoc API's storage, its tenants' credentials and its analytic events.
    pub mdocs: Arc<dyn MdocStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
}

/// A public key the service no longer signs with but still publishes.
#[derive(Clone, Debug)]
pub struct RetiredKey {
    pub kid: String,
    pub public_key: p256::PublicKey,
}

pub struct App {
    pub config: Config,
    pub signer: Arc<dyn Signer>,
    pub issuer: IssuerService,
    pub publisher: Arc<Publisher>,
    pub queue: Option<Arc<dyn PublishQueue>>,
    pub retired_keys: Vec<RetiredKey>,
    pub mdoc: MdocService,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
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
        Self::from_config(Config::from_env()?).await
    }

    /// Wires the AWS adapters for `config`.
    pub async fn from_config(config: Config) -> Result<Arc<App>, StartupError> {
        let sdk = aws::load_config().await;
        let kms = aws_sdk_kms::Client::new(&sdk);
        let signer = KmsSigner::new(kms.clone(), config.signing_key_id.clone()).await?;
        let mut retired_keys = Vec::new();
        for key_id in &config.retired_signing_key_ids {
            let retired = KmsSigner::new(kms.clone(), key_id.clone()).await?;
            retired_keys.push(RetiredKey {
                kid: retired.kid().to_string(),
                public_key: *retired.public_key(),
            });
        }
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.tables.clone(),
        ));
        let analytics: Arc<dyn Analytics> = match &config.analytics_bus {
            Some(bus) => Arc::new(EventBridgeAnalytics::new(&sdk, bus)),
            None => Arc::new(LogAnalytics),
        };
        let adapters = Adapters {
            signer: Arc::new(signer),
            store: store.clone(),
            lists: store.clone(),
            mdocs: store.clone(),
            tenants: store,
            analytics,
            objects: Arc::new(S3Objects::new(&sdk, config.tokens_bucket.clone())),
            jwks: Arc::new(HttpJwks::new(
                config.issuer_jwks_timeout,
                config.allow_http_loopback_jwks,
            )),
            events: Arc::new(LogEvents),
            queue: config
                .publish_queue_url
                .as_ref()
                .map(|url| Arc::new(SqsQueue::new(&sdk, url)) as Arc<dyn PublishQueue>),
            retired_keys,
        };
        Ok(Arc::new(App::new(config, adapters)))
    }

    /// Wires the given adapters (tests use the same constructor with their own parts).
    pub fn new(config: Config, a: Adapters) -> App {
        let publisher = Arc::new(Publisher {
            lists: a.lists,
            objects: a.objects,
            signer: a.signer.clone(),
            base_url: config.public_base_url.clone(),
            ttl: config.token_ttl,
            validity: config.token_validity,
        });
        let mdoc = MdocService::new(
            a.mdocs,
            a.store.clone(),
            publisher.clone(),
            config.public_base_url.clone(),
            config.mdoc_list_size,
        );
        let issuer = IssuerService {
            jwks: JwksCache::new(a.jwks, config.issuer_jwks_ttl, Duration::from_secs(10)),
            allocator: Allocator::new(a.store.clone(), config.list_pool.clone(), Some(publisher.clone())),
            store: a.store,
            events: a.events,
            base_url: config.public_base_url.clone(),
            metrics: Metrics::default(),
            clients: Default::default(),
        };
        App {
            config,
            signer: a.signer,
            issuer,
            publisher,
            queue: a.queue,
            retired_keys: a.retired_keys,
            mdoc,
            tenants: a.tenants,
            analytics: a.analytics,
        }
    }

    /// The change forwarder (stream to queue), if this process has the queue.
    pub fn forwarder(&self) -> Option<Forwarder> {
        Some(Forwarder {
            lists: self.publisher.lists.clone(),
            queue: self.queue.clone()?,
        })
    }
}
