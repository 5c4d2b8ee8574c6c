//! Helpers for the LocalStack integration suites: an SDK config pointed at LocalStack, and a
//! clear failure (never a silent skip) when LocalStack is not running.

pub use aws_config::SdkConfig;
use aws_sdk_kms::config::{Credentials, Region};

/// The LocalStack endpoint: `AWS_ENDPOINT_URL`, else the address `make localstack-up` uses.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".to_string())
}

/// SDK config for LocalStack. Panics with instructions if nothing listens at the endpoint.
pub async fn localstack() -> SdkConfig {
    let endpoint = endpoint();
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    if std::net::TcpStream::connect(&addr).is_err() {
        panic!("LocalStack is not reachable at {endpoint}: start it with `make localstack-up` (make test does this)");
    }
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "eu-west-2".to_string());
    shared::adapters::aws::config_loader()
        .endpoint_url(endpoint)
        .region(Region::new(region))
        .credentials_provider(Credentials::new("test", "test", None, None, "localstack"))
        .load()
        .await
}

/// SDK config whose endpoint refuses connections: DynamoDB (or anything) "unreachable".
pub async fn unreachable() -> SdkConfig {
    localstack()
        .await
        .into_builder()
        .endpoint_url("http://127.0.0.1:1")
        .build()
}

/// A value exported by `deploy_stack` (infra/stack/env.sh) for the stack under test.
pub fn stack_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the LocalStack suites through `make test` (tests/run-integration.sh), which deploys the stack")
    })
}

// ------------------------------------------------------------------ issuer API harness

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use p256::ecdsa::SigningKey;
use serde_json::{Value, json};
use shared::adapters::dynamo::{DynamoStore, Tables};
use shared::adapters::jwks_http::HttpJwks;
use shared::adapters::kms_signer::KmsSigner;
use shared::app::App;
use shared::config::Config;
use shared::domain::client::Client;
use shared::ports::{AuditEvent, EventSink, IssuerStore};
use tower::ServiceExt;

/// `GET path` through a router (no network): status, headers and body.
pub async fn get_via(
    router: &axum::Router,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(a) = accept {
        request = request.header("accept", a);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        axum::body::to_bytes(body, 16 << 20).await.unwrap().to_vec(),
    )
}

/// The list id at the end of a status list URI.
pub fn list_id_of(uri: &str) -> String {
    uri.rsplit('/').next().unwrap().to_string()
}

/// The `statuslist` CLI built beside this test binary (target/<profile>/statuslist).
pub fn statuslist_cli() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let cli = exe.parent().unwrap().parent().unwrap().join("statuslist");
    assert!(
        cli.exists(),
        "{} is not built: `cargo test --workspace` builds it",
        cli.display()
    );
    cli
}

/// A new P-256 signing key in LocalStack KMS (tests that disable or rotate keys use their own).
pub async fn new_kms_key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

/// The API as deployed: the API Gateway front of the local topology (infra/topology), where every
/// function runs as its own process with its role's IAM enforced. `tests/run-integration.sh`
/// starts it and exports its address.
pub fn base_url() -> String {
    stack_env("API_URL")
}

/// The CDN front of the topology: the public base URL of every token URI.
pub fn cdn_url() -> String {
    stack_env("CDN_URL")
}

/// The topology's control endpoint (IAM usage, figures, fault injection).
pub fn control_url() -> String {
    stack_env("TOPOLOGY_CONTROL_URL")
}

/// Makes the next `count` calls of the function `principal` (its logical id) to `action` fail
/// with AWS error `code` and HTTP `status`, between the function's process and LocalStack. (The
/// SDK retries some errors itself, 5xx and throttling among them: each such call uses up to 3.)
pub async fn inject_fault(principal: &str, action: &str, count: u32, status: u16, code: &str) {
    inject_fault_on(principal, action, "", count, status, code).await
}

/// As [`inject_fault`], for calls on a resource whose ARN contains `resource` only.
pub async fn inject_fault_on(principal: &str, action: &str, resource: &str, count: u32, status: u16, code: &str) {
    let got = reqwest::Client::new()
        .post(format!("{}/faults", control_url()))
        .header("content-type", "application/json")
        .body(
            json!({"principal": principal, "action": action, "resource": resource, "count": count,
                   "status": status, "code": code})
            .to_string(),
        )
        .send()
        .await
        .expect("the topology's control endpoint answers");
    assert!(got.status().is_success(), "{:?}", got.text().await);
}

/// Delays the next `count` calls of the function `principal` to `action` by `delay_ms`.
pub async fn inject_delay(principal: &str, action: &str, count: u32, delay_ms: u64) {
    let got = reqwest::Client::new()
        .post(format!("{}/faults", control_url()))
        .header("content-type", "application/json")
        .body(json!({"principal": principal, "action": action, "count": count, "delay_ms": delay_ms}).to_string())
        .send()
        .await
        .expect("the topology's control endpoint answers");
    assert!(got.status().is_success(), "{:?}", got.text().await);
}

/// Resets the connection of the next `count` calls of the function `principal` to `action` on a
/// resource containing `resource`: before the call reaches AWS, or `after` it went through (its
/// effect happens, its answer is lost).
pub async fn inject_reset(principal: &str, action: &str, resource: &str, count: u32, after: bool) {
    let got = reqwest::Client::new()
        .post(format!("{}/faults", control_url()))
        .header("content-type", "application/json")
        .body(
            json!({"principal": principal, "action": action, "resource": resource, "count": count,
                   "kind": "reset", "after": after})
            .to_string(),
        )
        .send()
        .await
        .expect("the topology's control endpoint answers");
    assert!(got.status().is_success(), "{:?}", got.text().await);
}

/// The topology's per-function figures and event source counters.
pub async fn topology_stats() -> Value {
    let body = reqwest::get(format!("{}/stats", control_url()))
        .await
        .expect("the topology's control endpoint answers")
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Records every audit event, so tests can assert what the service reported.
#[derive(Default)]
pub struct RecordedEvents(pub Mutex<Vec<AuditEvent>>);

impl EventSink for RecordedEvents {
    fn emit(&self, event: AuditEvent) {
        self.0.lock().unwrap().push(event);
    }
}

pub fn now() -> i64 {
    shared::clock::now()
}

pub fn tables() -> Tables {
    Tables {
        clients: stack_env("CLIENTS_TABLE"),
        lists: stack_env("LISTS_TABLE"),
        entries: stack_env("ENTRIES_TABLE"),
        idempotency: stack_env("IDEMPOTENCY_TABLE"),
        statuses: stack_env("STATUSES_TABLE"),
        tenants: stack_env("TENANTS_TABLE"),
        configurations: stack_env("CONFIGURATIONS_TABLE"),
        mdocs: stack_env("MDOCS_TABLE"),
        history: stack_env("HISTORY_TABLE"),
    }
}

/// A JWKS served on 127.0.0.1 whose body the test can change (rotation, oversize, outage).
pub struct JwksServer {
    pub url: String,
    pub body: Arc<Mutex<(u16, String)>>,
}

impl JwksServer {
    pub async fn start(body: String) -> Self {
        let state = Arc::new(Mutex::new((200u16, body)));
        let shared_state = state.clone();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let s = shared_state.clone();
                async move {
                    let (status, body) = s.lock().unwrap().clone();
                    (StatusCode::from_u16(status).unwrap(), body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        JwksServer { url, body: state }
    }

    pub fn set(&self, status: u16, body: String) {
        *self.body.lock().unwrap() = (status, body);
    }
}

/// An issuer: a P-256 key published under `kid` in its JWKS.
pub struct Issuer {
    pub key: SigningKey,
    pub kid: String,
}

impl Issuer {
    pub fn generate(kid: &str) -> Self {
        Issuer {
            key: SigningKey::random(&mut rand::rngs::OsRng),
            kid: kid.to_string(),
        }
    }

    pub fn jwk(&self) -> Value {
        serde_json::to_value(shared::domain::keys::public_jwk(
            &p256::PublicKey::from(self.key.verifying_key()),
            &self.kid,
        ))
        .unwrap()
    }

    /// A JWS with exactly this header and payload, ES256-signed with this issuer's key.
    pub fn sign(&self, header: &Value, payload: &Value) -> String {
        sign_with(&self.key, header, payload)
    }

    pub fn header(&self) -> Value {
        json!({"alg": "ES256", "typ": "JWT", "kid": self.kid})
    }
}

pub fn sign_with(key: &SigningKey, header: &Value, payload: &Value) -> String {
    shared::domain::keys::sign_compact_es256(key, header, payload)
}

pub fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A registered issuer (its JWKS served locally) calling the service. `Harness::new()` calls the
/// deployed shape over HTTP (the topology's API front); the other constructors call the service
/// in this process, wired to the stack's tables and key, for what the deployed functions cannot
/// be given: a dead DynamoDB endpoint, other lifetimes, a pool of lists of the test's own, or a
/// record of the audit events. Either way, publishing is the topology's (stream, forwarder,
/// queue, publisher).
pub struct Harness {
    /// The API front's URL when requests go through the topology.
    pub front: Option<String>,
    pub app: Arc<App>,
    pub router: axum::Router,
    pub store: Arc<DynamoStore>,
    pub events: Arc<RecordedEvents>,
    pub issuer: Issuer,
    pub client_id: String,
    pub jwks: JwksServer,
}

static POOL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// This test process's allocation pool: its lists carry this process's base URL in their tokens
/// (another process's lists would carry another's).
pub fn test_pool() -> &'static str {
    POOL.get_or_init(|| format!("test-{}", &jti()[..12]))
}

pub fn config() -> Config {
    Config {
        signing_key_id: stack_env("SIGNING_KEY_ID"),
        public_base_url: cdn_url(),
        max_body_bytes: 16 * 1024,
        jwks_max_age: Duration::from_secs(3600),
        tables: tables(),
        allow_http_loopback_jwks: true,
        issuer_jwks_ttl: Duration::from_secs(300),
        issuer_jwks_grace: Duration::from_secs(3600),
        issuer_jwks_timeout: Duration::from_millis(1500),
        list_pool: test_pool().to_string(),
        tokens_bucket: stack_env("TOKENS_BUCKET"),
        token_ttl: 600,
        token_validity: 3600,
        // The topology's schedule (tests/run-integration.sh).
        freshness: shared::domain::lifetime::Freshness {
            interval: 20,
            slack: shared::domain::lifetime::RESIGN_SLACK,
        },
        publish_queue_url: Some(stack_env("PUBLISH_QUEUE_URL")),
        resign_queue_url: Some(stack_env("RESIGN_QUEUE_URL")),
        resign_sign_rate: 50,
        history_retention_days: 90,
        retired_signing_key_ids: Vec::new(),
        analytics_bus: Some(stack_env("ANALYTICS_BUS_NAME")),
        mdoc_list_size: shared::domain::list::LIST_SIZE,
    }
}

impl Harness {
    /// Through the topology's API front.
    pub async fn new() -> Self {
        let mut h = Self::with_sdk(localstack().await).await;
        h.front = Some(base_url());
        h
    }

    /// In this process, with its audit events recorded.
    pub async fn in_process() -> Self {
        Self::with_sdk(localstack().await).await
    }

    /// With a given SDK config for DynamoDB (fault tests point it at a dead endpoint).
    pub async fn with_sdk(ddb_sdk: SdkConfig) -> Self {
        Self::assemble(config(), ddb_sdk).await
    }

    /// With a given configuration (publishing tests shorten token lifetimes).
    pub async fn with_config(config: Config) -> Self {
        Self::assemble(config, localstack().await).await
    }

    /// A new issuer (key, JWKS server, registration) and the service wired to the stack.
    async fn assemble(config: Config, ddb_sdk: SdkConfig) -> Self {
        let sdk = localstack().await;
        let signer = KmsSigner::new(aws_sdk_kms::Client::new(&sdk), stack_env("SIGNING_KEY_ID"))
            .await
            .unwrap();
        let issuer = Issuer::generate(&format!("key-{}", jti()));
        let jwks = JwksServer::start(json!({"keys": [issuer.jwk()]}).to_string()).await;
        let client_id = format!("client-{}", jti());
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables())
            .put_client(&Client {
                client_id: client_id.clone(),
                jwks_uri: jwks.url.clone(),
                format: "statuslist+jwt".into(),
                name: "Test issuer".into(),
            })
            .await
            .unwrap();
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&ddb_sdk), tables()));
        let events = Arc::new(RecordedEvents::default());
        let objects = Arc::new(shared::adapters::s3_objects::S3Objects::new(
            &sdk,
            stack_env("TOKENS_BUCKET"),
        ));
        let history = shared::wiring::token_history(&config, &sdk);
        let app = Arc::new(App::new(
            config,
            shared::app::Adapters {
                signer: Arc::new(signer),
                store: store.clone(),
                lists: store.clone(),
                objects,
                history,
                jwks: Arc::new(HttpJwks::new(Duration::from_millis(1500), true)),
                events: events.clone(),
                queue: Some(Arc::new(shared::adapters::sqs_queue::SqsQueue::new(
                    &sdk,
                    stack_env("PUBLISH_QUEUE_URL"),
                ))),
                retired_keys: Vec::new(),
                mdocs: store.clone(),
                iacas: store.clone(),
                vault: shared::wiring::kms_vault(&sdk),
                tenants: store.clone(),
                analytics: Arc::new(shared::adapters::analytics::EventBridgeAnalytics::new(
                    &sdk,
                    stack_env("ANALYTICS_BUS_NAME"),
                )),
            },
        ));
        let router = shared::routes::router(app.clone(), None);
        Harness {
            front: None,
            app,
            router,
            store,
            events,
            issuer,
            client_id,
            jwks,
        }
    }

    pub fn issue_claims(&self) -> Value {
        json!({"iss": self.client_id, "iat": now(), "jti": jti(), "statusExpiry": now() + 86400 * 30})
    }

    pub fn issue_token(&self) -> String {
        self.issuer.sign(&self.issuer.header(), &self.issue_claims())
    }

    /// A successful `POST /issue`: (idx, uri).
    pub async fn issue_one(&self) -> (u64, String) {
        let got = self.post_jwt("/issue", self.issue_token()).await;
        assert_eq!(got.0, StatusCode::OK, "{:?}", got.1);
        (
            got.1["idx"].as_u64().unwrap(),
            got.1["uri"].as_str().unwrap().to_string(),
        )
    }

    /// Revoke request claims of this issuer (any JSON for idx and uri: error rows use bad ones).
    pub fn revoke_claims(&self, idx: Value, uri: Value) -> Value {
        json!({"iss": self.client_id, "iat": now(), "jti": jti(), "idx": idx, "uri": uri})
    }

    /// A successful `POST /revoke` of `idx` in `uri`.
    pub async fn revoke_one(&self, idx: u64, uri: &str) {
        let claims = self.revoke_claims(json!(idx), json!(uri));
        let got = self
            .post_jwt("/revoke", self.issuer.sign(&self.issuer.header(), &claims))
            .await;
        assert_eq!(got.0, StatusCode::ACCEPTED, "{:?}", got.1);
    }

    pub async fn get(&self, path: &str, accept: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let Some(front) = &self.front else {
            return get_via(&self.router, path, accept).await;
        };
        let mut request = reqwest::Client::new().get(format!("{front}{path}"));
        if let Some(a) = accept {
            request = request.header("accept", a);
        }
        let response = request.send().await.expect("the API front answers");
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    pub async fn post(&self, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        if let Some(front) = &self.front {
            let body = axum::body::to_bytes(body.into(), 16 << 20).await.unwrap();
            let mut request = reqwest::Client::new().post(format!("{front}{path}")).body(body);
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let response = request.send().await.expect("the API front answers");
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            let bytes = response.bytes().await.unwrap();
            return (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null));
        }
        let mut request = Request::post(path);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn post_jwt(&self, path: &str, token: String) -> (StatusCode, Value) {
        self.post(path, Some("application/jwt"), token).await
    }
}

/// Asserts a GOV.UK error body.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, error: &str, description: &str) {
    assert_eq!(got.0.as_u16(), status, "status for {:?}", got.1);
    assert_eq!(got.1["error"], error, "{:?}", got.1);
    assert_eq!(got.1["error_description"], description, "{:?}", got.1);
}

// ------------------------------------------------------------------ publishing pipeline

/// The publishing pipeline is the topology's: the statuses stream feeds the forwarder function,
/// whose jobs the publisher function consumes from the FIFO queue, as the template's event
/// sources wire them. Checks that the topology is up.
pub fn ensure_pipeline() {
    let url = control_url();
    let addr = url.trim_start_matches("http://").to_string();
    assert!(
        std::net::TcpStream::connect(&addr).is_ok(),
        "the local topology is not running at {url}: run the suites through `make test`"
    );
}

/// Polls `check` until it returns `Some`, for at most `limit`; panics with `what` otherwise.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > limit {
            panic!("{what}: not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long a change may take to reach the published tokens in these tests.
pub const PUBLISH_WAIT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ mDoc management API

/// A tenant of the mDoc API with a fresh bearer token, calling the test server over HTTP.
pub struct Tenant {
    pub id: String,
    pub token: String,
    http: reqwest::Client,
    /// Its active managed IACA, once [`Tenant::trust`] made one.
    iaca: tokio::sync::OnceCell<String>,
}

/// One HTTP answer: status, headers, body bytes, and the body as JSON (`Null` if it is not).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.json)
    }
}

/// `method path` against the test server, with optional bearer token, JSON body and request id.
pub async fn call(
    http: &reqwest::Client,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    request_id: Option<&str>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http.request(method, format!("{}{path}", base_url()));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request
            .header("content-type", "application/json")
            .body(serde_json::to_vec(b).unwrap());
    }
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.expect("the test server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap().to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        bytes,
        json,
    }
}

impl Tenant {
    /// A new tenant (unique id) with a credential of `role`.
    pub async fn new(role: shared::domain::tenant::Role) -> Tenant {
        use shared::domain::tenant::Credential;
        use shared::ports::TenantStore;
        let id = format!("t-{}", &jti()[..12]);
        let token = shared::domain::tenant::new_token();
        let sdk = localstack().await;
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), tables())
            .put_credential(
                &shared::domain::tenant::token_hash(&token),
                &Credential {
                    tenant_id: id.clone(),
                    role,
                    created_at: now(),
                    label: "integration test".into(),
                },
            )
            .await
            .unwrap();
        Tenant {
            id,
            token,
            http: reqwest::Client::new(),
            iaca: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        call(&self.http, method, path, Some(&self.token), body.as_ref(), None).await
    }

    /// A call sending `x-request-id: request_id`. Behind API Gateway the operation's request id
    /// is the gateway's (its `x-amzn-RequestId` answer header); [`sent_request_id`] maps it back.
    pub async fn call_as(&self, request_id: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        let answer = call(
            &self.http,
            method,
            path,
            Some(&self.token),
            body.as_ref(),
            Some(request_id),
        )
        .await;
        if let Some(gateway_id) = answer.headers.get("x-amzn-requestid").and_then(|v| v.to_str().ok()) {
            REQUEST_IDS
                .lock()
                .unwrap()
                .insert(gateway_id.to_string(), request_id.to_string());
        }
        answer
    }

    /// The tenant's active managed IACA (created and activated on first use, which issues its
    /// status list signer, so its mDocs can be registered); its id.
    pub async fn trust(&self) -> String {
        self.iaca
            .get_or_init(|| async {
                let body = json!({"commonName": format!("{} IACA", self.id), "country": "AU"});
                let created = self.call("POST", IACAS, Some(body)).await;
                assert_eq!(created.status, 201, "{created:?}");
                let id = created.json["id"].as_str().unwrap().to_string();
                let path = format!("{IACAS}/{id}");
                let activated = self.call("PUT", &path, Some(json!({"active": true}))).await;
                assert_eq!(activated.status, 200, "{activated:?}");
                id
            })
            .await
            .clone()
    }

    /// The certificate of the tenant's IACA ([`Tenant::trust`]), as a relying party gets it.
    pub async fn iaca_certificate(&self) -> shared::domain::iaca::IacaCertificate {
        let id = self.trust().await;
        let got = self.call("GET", &format!("{IACAS}/{id}"), None).await;
        assert_eq!(got.status, 200, "{got:?}");
        shared::domain::iaca::read_certificate(got.json["certificatePem"].as_str().unwrap()).unwrap()
    }

    /// Creates a configuration for `doc_type` with `bits` per entry; returns its id. The tenant
    /// gets its IACA first ([`Tenant::trust`]).
    pub async fn configuration(&self, doc_type: &str, bits: u8) -> String {
        self.trust().await;
        let body = json!({
            "docType": doc_type,
            "timeToLiveDuration": {"minutes": 5},
            "expiryDuration": {"hours": 1},
            "statusBits": bits,
        });
        let got = self.call("POST", CONFIGURATIONS, Some(body)).await;
        assert_eq!(got.status, 201, "{got:?}");
        got.json["id"].as_str().unwrap().to_string()
    }

    /// Registers an mDoc of `doc_type`; returns the registration.
    pub async fn register(&self, doc_type: &str) -> Value {
        let got = self
            .call("POST", MDOC_REGISTER, Some(json!({"docType": doc_type})))
            .await;
        assert_eq!(got.status, 201, "{got:?}");
        got.json
    }
}

static REQUEST_IDS: Mutex<std::collections::BTreeMap<String, String>> = Mutex::new(std::collections::BTreeMap::new());

/// The `x-request-id` a [`Tenant::call_as`] sent, for the request id API Gateway gave that call
/// (the id the operation's analytic events carry); any other id is returned as it is.
pub fn sent_request_id(id: &str) -> String {
    REQUEST_IDS
        .lock()
        .unwrap()
        .get(id)
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

pub const CONFIGURATIONS: &str = "/v2/credentials/mobile/status-lists/configurations";
pub const STATUS_LISTS: &str = "/v2/credentials/mobile/status-lists";
pub const IACAS: &str = "/v2/credentials/mobile/iacas";
pub const SIGNERS: &str = "/v2/credentials/mobile/status-list-signers";
pub const MDOC_REGISTER: &str = "/v2/credentials/mobile/credentials";

/// Asserts a MATTR error body: status, `code`, and that `message` contains `message_part`.
#[track_caller]
pub fn assert_mattr(got: &Answer, status: u16, code: &str, message_part: &str) {
    assert_eq!(got.status, status, "{got:?}");
    assert_eq!(got.json["code"], code, "{got:?}");
    let message = got.json["message"].as_str().unwrap_or_default();
    assert!(message.contains(message_part), "{message:?} lacks {message_part:?}");
    // MATTR's bodies list the invalid fields on validation errors, and only there.
    if message == "Validation Error" {
        assert!(!got.json["details"].as_array().unwrap().is_empty(), "{got:?}");
    } else {
        assert!(got.json.get("details").is_none(), "{got:?}");
    }
}
