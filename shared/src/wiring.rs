//! What each function holds, and how it is built: one state per family of endpoints, each with
//! only the ports its handlers use, wired from the configuration and the AWS SDK's settings.
//!
//! A function's `main` names its endpoint ([`crate::routes::endpoints`]) and one constructor here,
//! so its binary links only that handler and those adapters: `/issue` carries no KMS, S3 or
//! EventBridge client, the token endpoints no signing key. The constructors make no AWS call
//! (clients connect on first use and signing keys are read lazily), so a cold start asks for its
//! first event without a network round trip.
//!
//! The local server and the tests build every state from one [`App`](crate::app::App) instead.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use crate::adapters::{
    analytics::{EventBridgeAnalytics, LogAnalytics},
    dynamo::DynamoStore,
    jwks_http::HttpJwks,
    kms_signer::KmsSigner,
    log_events::LogEvents,
    s3_objects::S3Objects,
    sqs_queue::SqsQueue,
};
use crate::config::Config;
use crate::issuer::IssuerService;
use crate::mdoc::{ListViews, MdocService};
use crate::pipeline::Forwarder;
use crate::ports::{Analytics, ObjectStore, PublishQueue, Signer, TenantStore};
use crate::publisher::{PublishedTokens, Publisher};

/// `POST /issue` and `POST /revoke`.
#[derive(Clone)]
pub struct IssuerApi {
    pub issuer: Arc<IssuerService>,
    pub max_body_bytes: usize,
}

/// `GET /.well-known/jwks.json`: the signing key and the keys retired by a rotation.
#[derive(Clone)]
pub struct KeysApi {
    pub signer: Arc<dyn Signer>,
    /// Only their [`Signer::identity`] is used (never to sign).
    pub retired_keys: Vec<Arc<dyn Signer>>,
    pub max_age: Duration,
}

/// The issuer API's public reads: `GET /t/{id}` and `GET /status-lists`.
#[derive(Clone)]
pub struct TokensApi {
    pub tokens: PublishedTokens,
}

/// The mDoc API's public reads (the CWT and the distribution), with their analytic events.
#[derive(Clone)]
pub struct MdocPublicApi {
    pub tokens: PublishedTokens,
    pub analytics: Arc<dyn Analytics>,
}

/// The mDoc management API's tenant endpoints.
#[derive(Clone)]
pub struct MdocApi {
    pub mdoc: Arc<MdocService>,
    /// Where the bearer check looks tenants up when no API Gateway authorizer ran (locally).
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
    pub max_body_bytes: usize,
}

/// The IACA endpoints (`/v2/credentials/mobile/iacas`): the service, the tenants (for the bearer
/// check) and the analytic events.
#[derive(Clone)]
pub struct IacaApi {
    pub iacas: Arc<crate::mdoc::iaca::IacaService>,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
    pub max_body_bytes: usize,
}

/// The status list signer endpoints (`/v2/credentials/mobile/status-list-signers`): the
/// service, the tenants (for the bearer check) and the analytic events.
#[derive(Clone)]
pub struct SignerApi {
    pub signers: Arc<crate::mdoc::signers::SignerService>,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
    pub max_body_bytes: usize,
}

/// The mDoc API's status list views (`GET /status-lists`, `GET /status-lists/{id}`): the
/// service, plus the published CWTs they show.
#[derive(Clone)]
pub struct MdocListsApi {
    pub mdoc: Arc<MdocService>,
    pub views: ListViews,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
}

/// The states whose endpoints may need a tenant's bearer token.
pub trait EndpointState: Clone + Send + Sync + 'static {
    /// Where the bearer check looks tenants up; `None` for states with no tenant endpoint.
    fn tenants(&self) -> Option<Arc<dyn TenantStore>> {
        None
    }
}

impl EndpointState for IssuerApi {}
impl EndpointState for KeysApi {}
impl EndpointState for TokensApi {}
impl EndpointState for MdocPublicApi {}
impl EndpointState for MdocApi {
    fn tenants(&self) -> Option<Arc<dyn TenantStore>> {
        Some(self.tenants.clone())
    }
}
impl EndpointState for IacaApi {
    fn tenants(&self) -> Option<Arc<dyn TenantStore>> {
        Some(self.tenants.clone())
    }
}
impl EndpointState for SignerApi {
    fn tenants(&self) -> Option<Arc<dyn TenantStore>> {
        Some(self.tenants.clone())
    }
}
impl EndpointState for MdocListsApi {
    fn tenants(&self) -> Option<Arc<dyn TenantStore>> {
        Some(self.tenants.clone())
    }
}

// ---------------------------------------------------------------- the adapters, one at a time

/// The DynamoDB tables (every store port but objects).
pub fn dynamo(config: &Config, sdk: &SdkConfig) -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.tables.clone(),
    ))
}

/// The signing key and the retired keys, each read from KMS on first use.
pub fn kms_keys(config: &Config, sdk: &SdkConfig) -> (Arc<dyn Signer>, Vec<Arc<dyn Signer>>) {
    let kms = aws_sdk_kms::Client::new(sdk);
    let retired = config
        .retired_signing_key_ids
        .iter()
        .map(|key_id| Arc::new(KmsSigner::lazy(kms.clone(), key_id.clone())) as Arc<dyn Signer>)
        .collect();
    (Arc::new(KmsSigner::lazy(kms, config.signing_key_id.clone())), retired)
}

/// The tokens bucket.
pub fn s3_objects(config: &Config, sdk: &SdkConfig) -> Arc<dyn ObjectStore> {
    Arc::new(S3Objects::new(sdk, config.tokens_bucket.clone()))
}

/// The publish-job queue, where the function is given one.
pub fn sqs_queue(config: &Config, sdk: &SdkConfig) -> Option<Arc<dyn PublishQueue>> {
    config
        .publish_queue_url
        .as_ref()
        .map(|url| Arc::new(SqsQueue::new(sdk, url)) as Arc<dyn PublishQueue>)
}

/// The analytic events: the EventBridge bus if configured, else the log.
pub fn analytics(config: &Config, sdk: &SdkConfig) -> Arc<dyn Analytics> {
    match &config.analytics_bus {
        Some(bus) => Arc::new(EventBridgeAnalytics::new(sdk, bus)),
        None => Arc::new(LogAnalytics),
    }
}

/// The analytic events of a Lambda function: held until its response is out and sent by its
/// internal extension (see [`crate::lambda::serve_router`]) when a bus is configured; else the
/// log.
pub fn lambda_analytics(config: &Config, sdk: &SdkConfig) -> Arc<dyn Analytics> {
    match &config.analytics_bus {
        Some(bus) => crate::adapters::analytics::DeferredAnalytics::install(EventBridgeAnalytics::new(sdk, bus)),
        None => Arc::new(LogAnalytics),
    }
}

/// Issuers' JWKS over HTTPS.
pub fn http_jwks(config: &Config) -> Arc<HttpJwks> {
    Arc::new(HttpJwks::new(
        config.issuer_jwks_timeout,
        config.allow_http_loopback_jwks,
    ))
}

// ---------------------------------------------------------------- one constructor per state

pub fn issuer_api(config: &Config, sdk: &SdkConfig) -> IssuerApi {
    let store = dynamo(config, sdk);
    IssuerApi {
        issuer: Arc::new(IssuerService::wire(
            config,
            store,
            http_jwks(config),
            Arc::new(LogEvents),
            sqs_queue(config, sdk),
        )),
        max_body_bytes: config.max_body_bytes,
    }
}

pub fn keys_api(config: &Config, sdk: &SdkConfig) -> KeysApi {
    let (signer, retired_keys) = kms_keys(config, sdk);
    KeysApi {
        signer,
        retired_keys,
        max_age: config.jwks_max_age,
    }
}

fn published_tokens(config: &Config, sdk: &SdkConfig) -> PublishedTokens {
    PublishedTokens {
        objects: s3_objects(config, sdk),
        history: token_history(config, sdk),
    }
}

/// The index of published token versions, in DynamoDB.
pub fn token_history(config: &Config, sdk: &SdkConfig) -> Arc<dyn crate::ports::TokenHistory> {
    Arc::new(crate::adapters::dynamo::history::DynamoHistory::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.tables.history.clone(),
    ))
}

pub fn tokens_api(config: &Config, sdk: &SdkConfig) -> TokensApi {
    TokensApi {
        tokens: published_tokens(config, sdk),
    }
}

pub fn mdoc_public_api(config: &Config, sdk: &SdkConfig) -> MdocPublicApi {
    MdocPublicApi {
        tokens: published_tokens(config, sdk),
        analytics: lambda_analytics(config, sdk),
    }
}

/// The tenants' status list signers: records in DynamoDB, keys in KMS.
pub fn signer_service(config: &Config, sdk: &SdkConfig) -> Arc<crate::mdoc::signers::SignerService> {
    Arc::new(crate::mdoc::signers::SignerService::new(
        dynamo(config, sdk),
        kms_vault(sdk),
        config.public_base_url.clone(),
    ))
}

/// The publisher: renders from DynamoDB, signs with KMS (the service key for the issuer API's
/// lists, the tenants' signer keys for mDoc lists), writes to S3.
pub fn publisher(config: &Config, sdk: &SdkConfig) -> Arc<Publisher> {
    publisher_with(config, sdk, signer_service(config, sdk))
}

fn publisher_with(
    config: &Config,
    sdk: &SdkConfig,
    signers: Arc<crate::mdoc::signers::SignerService>,
) -> Arc<Publisher> {
    let (signer, _) = kms_keys(config, sdk);
    Arc::new(
        Publisher::new(
            config,
            dynamo(config, sdk),
            s3_objects(config, sdk),
            token_history(config, sdk),
            signer,
        )
        .with_tenant_keys(signers),
    )
}

/// The re-signer: the lists (through the publisher, which also writes the distribution
/// documents), the signer service whose managed signers it rotates, and the queue its jobs go to.
pub fn resigner(config: &Config, sdk: &SdkConfig) -> Result<crate::pipeline::Resigner, &'static str> {
    let signers = signer_service(config, sdk);
    Ok(crate::pipeline::Resigner {
        publisher: publisher_with(config, sdk, signers.clone()),
        signers,
        queue: resign_queue(config, sdk).ok_or("RESIGN_QUEUE_URL is not set")?,
        sign_rate: config.resign_sign_rate,
    })
}

/// The standard queue of re-signing jobs, if configured.
pub fn resign_queue(config: &Config, sdk: &SdkConfig) -> Option<Arc<SqsQueue>> {
    config
        .resign_queue_url
        .as_ref()
        .map(|url| Arc::new(SqsQueue::new(sdk, url)))
}

/// The status list signer endpoints: records in DynamoDB, keys in KMS.
pub fn signer_api(config: &Config, sdk: &SdkConfig) -> SignerApi {
    SignerApi {
        signers: signer_service(config, sdk),
        tenants: dynamo(config, sdk),
        analytics: lambda_analytics(config, sdk),
        max_body_bytes: config.max_body_bytes,
    }
}

fn mdoc_service(config: &Config, sdk: &SdkConfig, store: Arc<DynamoStore>) -> Arc<MdocService> {
    Arc::new(MdocService::new(
        store.clone(),
        store.clone(),
        store,
        sqs_queue(config, sdk),
        config.public_base_url.clone(),
        config.mdoc_list_size,
        config.freshness,
    ))
}

/// The keys of managed IACAs, in KMS.
pub fn kms_vault(sdk: &SdkConfig) -> Arc<dyn crate::ports::KeyVault> {
    Arc::new(crate::adapters::kms_vault::KmsVault::new(aws_sdk_kms::Client::new(sdk)))
}

/// The IACA endpoints: the tenant's IACAs in DynamoDB, managed keys in KMS.
pub fn iaca_api(config: &Config, sdk: &SdkConfig) -> IacaApi {
    let store = dynamo(config, sdk);
    IacaApi {
        iacas: Arc::new(crate::mdoc::iaca::IacaService::new(
            store.clone(),
            kms_vault(sdk),
            config.public_base_url.clone(),
        )),
        tenants: store,
        analytics: lambda_analytics(config, sdk),
        max_body_bytes: config.max_body_bytes,
    }
}

pub fn mdoc_api(config: &Config, sdk: &SdkConfig) -> MdocApi {
    let store = dynamo(config, sdk);
    MdocApi {
        mdoc: mdoc_service(config, sdk, store.clone()),
        tenants: store,
        analytics: lambda_analytics(config, sdk),
        max_body_bytes: config.max_body_bytes,
    }
}

pub fn mdoc_lists_api(config: &Config, sdk: &SdkConfig) -> MdocListsApi {
    let store = dynamo(config, sdk);
    MdocListsApi {
        mdoc: mdoc_service(config, sdk, store.clone()),
        views: ListViews {
            objects: s3_objects(config, sdk),
        },
        tenants: store,
        analytics: lambda_analytics(config, sdk),
    }
}

/// The change forwarder (stream to queue). It needs the queue.
pub fn forwarder(config: &Config, sdk: &SdkConfig) -> Result<Forwarder, crate::config::ConfigError> {
    Ok(Forwarder {
        lists: dynamo(config, sdk),
        queue: sqs_queue(config, sdk)
            .ok_or_else(|| crate::config::ConfigError("PUBLISH_QUEUE_URL is not set".into()))?,
    })
}
