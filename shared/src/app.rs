//! The whole application in one process (the local server, tests, tools): every port and
//! service, built once and shared by all requests.

use std::sync::Arc;

use aws_config::SdkConfig;

use crate::adapters::{aws, log_events::LogEvents};
use crate::config::Config;
use crate::issuer::IssuerService;
use crate::mdoc::MdocService;
use crate::pipeline::Forwarder;
use crate::ports::{
    Analytics, EventSink, IssuerStore, JwksSource, ListSource, MdocStore, ObjectStore, PublishQueue, Signer,
    TenantStore,
};
use crate::publisher::Publisher;
use crate::wiring::{self, IacaApi, IssuerApi, KeysApi, MdocApi, MdocListsApi, MdocPublicApi, SignerApi, TokensApi};

/// The adapters an [`App`] is built from.
pub struct Adapters {
    pub signer: Arc<dyn Signer>,
    pub store: Arc<dyn IssuerStore>,
    pub lists: Arc<dyn ListSource>,
    pub objects: Arc<dyn ObjectStore>,
    /// The index of published token versions (`?time=`).
    pub history: Arc<dyn crate::ports::TokenHistory>,
    pub jwks: Arc<dyn JwksSource>,
    pub events: Arc<dyn EventSink>,
    /// The publish-job queue, where this process forwards changes to it.
    pub queue: Option<Arc<dyn PublishQueue>>,
    /// Keys that signed tokens before a rotation and stay in the JWKS until those expired. Only
    /// their [`Signer::identity`] is used (never to sign), read when the JWKS is first served.
    pub retired_keys: Vec<Arc<dyn Signer>>,
    /// The mDoc API's storage, its tenants' credentials and its analytic events.
    pub mdocs: Arc<dyn MdocStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
    /// The tenants' IACAs and the keys of the managed ones.
    pub iacas: Arc<dyn crate::ports::IacaStore>,
    pub vault: Arc<dyn crate::ports::KeyVault>,
}

/// Every port and service in one process: the local server, the tests and the tools. Deployed
/// functions build only their own part ([`crate::wiring`]).
pub struct App {
    pub config: Config,
    pub signer: Arc<dyn Signer>,
    pub issuer: Arc<IssuerService>,
    pub publisher: Arc<Publisher>,
    pub queue: Option<Arc<dyn PublishQueue>>,
    /// See [`Adapters::retired_keys`].
    pub retired_keys: Vec<Arc<dyn Signer>>,
    pub mdoc: Arc<MdocService>,
    pub iacas: Arc<crate::mdoc::iaca::IacaService>,
    pub signers: Arc<crate::mdoc::signers::SignerService>,
    pub tenants: Arc<dyn TenantStore>,
    pub analytics: Arc<dyn Analytics>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

impl App {
    /// Wires the AWS adapters from the environment.
    pub async fn from_env() -> Result<Arc<App>, StartupError> {
        Self::from_config(Config::from_env()?).await
    }

    /// Wires the AWS adapters for `config`, with the SDK configured from the environment.
    pub async fn from_config(config: Config) -> Result<Arc<App>, StartupError> {
        Ok(Self::from_sdk(config, &aws::load_config().await))
    }

    /// Wires the AWS adapters for `config` on `sdk`. Makes no AWS call (it is not even async):
    /// clients connect on their first request and the signing keys are read on first use, so a
    /// cold start pays no round trip and a function whose role may not read the key still starts
    /// and answers what does not need it.
    pub fn from_sdk(config: Config, sdk: &SdkConfig) -> Arc<App> {
        let (signer, retired_keys) = wiring::kms_keys(&config, sdk);
        let store = wiring::dynamo(&config, sdk);
        let adapters = Adapters {
            signer,
            store: store.clone(),
            lists: store.clone(),
            mdocs: store.clone(),
            iacas: store.clone(),
            tenants: store,
            vault: wiring::kms_vault(sdk),
            analytics: wiring::analytics(&config, sdk),
            objects: wiring::s3_objects(&config, sdk),
            history: wiring::token_history(&config, sdk),
            jwks: wiring::http_jwks(&config),
            events: Arc::new(LogEvents),
            queue: wiring::sqs_queue(&config, sdk),
            retired_keys,
        };
        Arc::new(App::new(config, adapters))
    }

    /// Wires the given adapters (tests use the same constructor with their own parts).
    pub fn new(config: Config, a: Adapters) -> App {
        let signers = Arc::new(crate::mdoc::signers::SignerService::new(
            a.iacas.clone(),
            a.vault.clone(),
            config.public_base_url.clone(),
        ));
        let publisher = Arc::new(
            Publisher::new(&config, a.lists, a.objects, a.history, a.signer.clone()).with_tenant_keys(signers.clone()),
        );
        // New lists are published through the queue (a job of sequence 0), never by the
        // allocating request: only the publisher and the re-signer sign.
        let mdoc = Arc::new(MdocService::new(
            a.mdocs,
            a.store.clone(),
            a.iacas.clone(),
            a.queue.clone(),
            config.public_base_url.clone(),
            config.mdoc_list_size,
            config.freshness,
        ));
        let issuer = Arc::new(IssuerService::wire(&config, a.store, a.jwks, a.events, a.queue.clone()));
        let iacas = Arc::new(crate::mdoc::iaca::IacaService::new(
            a.iacas,
            a.vault,
            config.public_base_url.clone(),
        ));
        App {
            config,
            signer: a.signer,
            issuer,
            publisher,
            queue: a.queue,
            retired_keys: a.retired_keys,
            mdoc,
            iacas,
            signers,
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

    pub fn issuer_api(&self) -> IssuerApi {
        IssuerApi {
            issuer: self.issuer.clone(),
            max_body_bytes: self.config.max_body_bytes,
        }
    }

    pub fn keys_api(&self) -> KeysApi {
        KeysApi {
            signer: self.signer.clone(),
            retired_keys: self.retired_keys.clone(),
            max_age: self.config.jwks_max_age,
        }
    }

    pub fn tokens_api(&self) -> TokensApi {
        TokensApi {
            tokens: self.publisher.tokens(),
        }
    }

    pub fn mdoc_public_api(&self) -> MdocPublicApi {
        MdocPublicApi {
            tokens: self.publisher.tokens(),
            analytics: self.analytics.clone(),
        }
    }

    pub fn mdoc_lists_api(&self) -> MdocListsApi {
        MdocListsApi {
            mdoc: self.mdoc.clone(),
            views: crate::mdoc::ListViews {
                objects: self.publisher.objects.clone(),
            },
            tenants: self.tenants.clone(),
            analytics: self.analytics.clone(),
        }
    }

    pub fn iaca_api(&self) -> IacaApi {
        IacaApi {
            iacas: self.iacas.clone(),
            tenants: self.tenants.clone(),
            analytics: self.analytics.clone(),
            max_body_bytes: self.config.max_body_bytes,
        }
    }

    pub fn signer_api(&self) -> SignerApi {
        SignerApi {
            signers: self.signers.clone(),
            tenants: self.tenants.clone(),
            analytics: self.analytics.clone(),
            max_body_bytes: self.config.max_body_bytes,
        }
    }

    pub fn mdoc_api(&self) -> MdocApi {
        MdocApi {
            mdoc: self.mdoc.clone(),
            tenants: self.tenants.clone(),
            analytics: self.analytics.clone(),
            max_body_bytes: self.config.max_body_bytes,
        }
    }
}

/// A function's state, as the local server and the tests take it from one [`App`].
pub trait FromApp {
    fn from_app(app: &App) -> Self;
}

impl FromApp for IssuerApi {
    fn from_app(app: &App) -> Self {
        app.issuer_api()
    }
}

impl FromApp for KeysApi {
    fn from_app(app: &App) -> Self {
        app.keys_api()
    }
}

impl FromApp for TokensApi {
    fn from_app(app: &App) -> Self {
        app.tokens_api()
    }
}

impl FromApp for MdocPublicApi {
    fn from_app(app: &App) -> Self {
        app.mdoc_public_api()
    }
}

impl FromApp for MdocListsApi {
    fn from_app(app: &App) -> Self {
        app.mdoc_lists_api()
    }
}

impl FromApp for IacaApi {
    fn from_app(app: &App) -> Self {
        app.iaca_api()
    }
}

impl FromApp for SignerApi {
    fn from_app(app: &App) -> Self {
        app.signer_api()
    }
}

impl FromApp for MdocApi {
    fn from_app(app: &App) -> Self {
        app.mdoc_api()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::{Value, json};
    use tower::Service;

    use std::time::Duration;

    use super::*;
    use crate::adapters::dynamo::Tables;
    use crate::ports::SignerError;

    /// A function's configuration, everything set (queue, analytics bus, a retired key).
    fn config() -> Config {
        let table = |name: &str| format!("statuslist-{name}");
        Config {
            signing_key_id: "alias/statuslist-signing".into(),
            public_base_url: "https://status.example".into(),
            max_body_bytes: 16 * 1024,
            jwks_max_age: Duration::from_secs(3600),
            tables: Tables {
                clients: table("clients"),
                lists: table("lists"),
                entries: table("entries"),
                idempotency: table("idempotency"),
                statuses: table("statuses"),
                tenants: table("tenants"),
                configurations: table("configurations"),
                mdocs: table("mdocs"),
                history: table("history"),
            },
            allow_http_loopback_jwks: false,
            issuer_jwks_ttl: Duration::from_secs(300),
            issuer_jwks_grace: Duration::from_secs(3600),
            issuer_jwks_timeout: Duration::from_millis(3000),
            list_pool: crate::domain::list::GOVUK_POOL.into(),
            tokens_bucket: "statuslist-tokens".into(),
            token_ttl: crate::domain::lifetime::DEFAULT_TTL,
            token_validity: crate::domain::lifetime::DEFAULT_VALIDITY,
            freshness: crate::domain::lifetime::Freshness {
                interval: 3600,
                slack: crate::domain::lifetime::RESIGN_SLACK,
            },
            retired_signing_key_ids: vec!["alias/statuslist-retired".into()],
            publish_queue_url: Some("http://127.0.0.1:1/000000000000/publish.fifo".into()),
            resign_queue_url: Some("http://127.0.0.1:1/000000000000/resign".into()),
            resign_sign_rate: 50,
            history_retention_days: 90,
            analytics_bus: Some("statuslist-analytics".into()),
            mdoc_list_size: 1024,
        }
    }

    async fn call(app: &Arc<App>, function: &str, request: Request<Body>) -> (StatusCode, Value) {
        call_router(app, Some(function), request).await
    }

    async fn call_router(app: &Arc<App>, only: Option<&str>, request: Request<Body>) -> (StatusCode, Value) {
        let mut router = crate::routes::router(app.clone(), only);
        let response = router.call(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Every route of the table is served by its function's router (a method it does not take
    /// is a 405 there, not the 404 of an unknown path), with no AWS call, and by the local router.
    #[tokio::test]
    async fn each_function_serves_its_route_of_the_table() {
        let sdk = aws::test_config(aws::UNREACHABLE).await;
        let app = App::from_sdk(config(), &sdk);
        for route in crate::routes::ROUTES.iter() {
            let path = route
                .path
                .replace("{id}", "x")
                .replace("{statusListId}", "x")
                .replace("{credentialId}", "x");
            for only in [Some(route.function), None] {
                let request = Request::builder()
                    .method("PATCH")
                    .uri(&path)
                    .body(Body::empty())
                    .unwrap();
                let (status, body) = call_router(&app, only, request).await;
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{route:?} ({only:?}): {body}");
            }
            // The handler answers the method the table declares (the route's `method` and the
            // handler's method router are written side by side; this keeps them in step).
            let request = Request::builder()
                .method(route.method)
                .uri(&path)
                .body(Body::empty())
                .unwrap();
            let response = crate::routes::router(app.clone(), Some(route.function))
                .call(request)
                .await
                .unwrap();
            assert_ne!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{route:?}");
        }
        let request = Request::get("/issue").body(Body::empty()).unwrap();
        let (status, _) = call_router(&app, Some("jwks"), request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the jwks function serves no other route");
    }

    /// Building the app makes no AWS call: with every service unreachable it still builds (it is
    /// not even async), the key is read only when needed, and that is when KMS being unreachable
    /// shows, as `Unavailable`.
    #[tokio::test]
    async fn a_function_starts_with_aws_unreachable_and_reads_the_key_on_first_use() {
        let sdk = aws::test_config(aws::UNREACHABLE).await;
        let app = App::from_sdk(config(), &sdk);

        assert!(matches!(app.signer.identity().await, Err(SignerError::Unavailable(_))));
        assert_eq!(app.retired_keys.len(), 1);
        assert!(matches!(
            app.retired_keys[0].identity().await,
            Err(SignerError::Unavailable(_))
        ));

        // A request that needs no key is answered (here refused before any storage call).
        let issue = Request::post("/issue")
            .header("content-type", "application/jwt")
            .body(Body::from("not-a-jwt"))
            .unwrap();
        let (status, body) = call(&app, "issue", issue).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // The JWKS needs the key: 503 in the GOV.UK body while KMS cannot be reached.
        let jwks = Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap();
        assert_eq!(
            call(&app, "jwks", jwks).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "TEMPORARILY_UNAVAILABLE", "error_description": "Service is temporarily unavailable"})
            )
        );
    }
}
