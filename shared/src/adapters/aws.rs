//! AWS SDK configuration shared by every adapter: one rustls+ring HTTP client (the SDK's
//! default would add aws-lc and hyper 0.14), region, credentials and endpoint from the usual
//! environment (`AWS_REGION`, `AWS_ENDPOINT_URL` for LocalStack), and bounds on every call.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// How long one attempt of an AWS call may take (connect, send, and the whole response). The
/// SDK's defaults bound only the connect, so a connection that hangs after it would hold a
/// request until the function's own timeout (10 s for the API, 60 s for the publisher) and the
/// caller would get the gateway's error instead of the contract's 503.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an AWS call may take in all, retries and their backoff included: under the API
/// functions' 10 s, with time left to answer.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
/// How long opening a connection may take (the SDK's own default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The bounds on every call: [`ATTEMPT_TIMEOUT`] and [`OPERATION_TIMEOUT`], or
/// `SDK_ATTEMPT_TIMEOUT_MS` and `SDK_OPERATION_TIMEOUT_MS` when set (milliseconds, positive).
fn timeouts(var: &impl Fn(&str) -> Option<String>) -> Result<TimeoutConfig, LambdaEnvError> {
    let millis = |name: &'static str, default: Duration| match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(LambdaEnvError::Invalid(name, v)),
        },
    };
    Ok(TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(millis("SDK_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT)?)
        .operation_timeout(millis("SDK_OPERATION_TIMEOUT_MS", OPERATION_TIMEOUT)?)
        .build())
}

/// A config loader with our HTTP client and call bounds; callers may override endpoint, region
/// or credentials.
pub fn config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(SharedHttpClient::new(HttpsOnFirstUse::default()))
        .timeout_config(timeouts(&|_| None).expect("the defaults are valid"))
}

/// The SDK's HTTPS client (rustls with ring), built when the first request needs it. Building it
/// reads the platform's root certificates (here 292 files under /etc/ssl/certs), which a Lambda
/// function would otherwise pay during init, before asking for its first event.
#[derive(Debug, Default)]
struct HttpsOnFirstUse(OnceLock<SharedHttpClient>);

impl HttpClient for HttpsOnFirstUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0
            .get_or_init(|| {
                Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https()
            })
            .http_connector(settings, components)
    }
}

/// The full default chain (profiles, SSO, web identity, IMDS...): for the local server and the
/// CLI, which may run anywhere.
pub async fn load_config() -> SdkConfig {
    config_loader().load().await
}

/// Why a Lambda function's SDK settings could not be read from its environment.
#[derive(Debug, thiserror::Error)]
pub enum LambdaEnvError {
    #[error("{0} is not set (the Lambda runtime sets it)")]
    Missing(&'static str),
    #[error("{0}={1:?} is not a positive number of milliseconds")]
    Invalid(&'static str, String),
}

/// The SDK settings of a Lambda function, from the variables the Lambda runtime sets and nothing
/// else: `AWS_REGION`, the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` when set (the local
/// topology). The default chain would pick the same values in Lambda, but it links the profile
/// parser and the STS, SSO, ECS and IMDS providers into every function (about 0.6 MB each).
/// Retries are the SDK's standard mode (3 attempts); every call is bounded (see [`timeouts`]).
pub fn lambda_config() -> Result<SdkConfig, LambdaEnvError> {
    lambda_config_from(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn lambda_config_from(var: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, LambdaEnvError> {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_kms::config::SharedCredentialsProvider;

    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or(LambdaEnvError::Missing("AWS_REGION"))?;
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        var(name).ok_or(LambdaEnvError::Missing(name))?;
    }
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(SharedHttpClient::new(HttpsOnFirstUse::default()))
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(timeouts(&var)?)
        .time_source(aws_smithy_async::time::SharedTimeSource::default());
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    builder.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    Ok(builder.build())
}

/// An SDK config for unit tests: fixed region and credentials, no retries, every service at
/// `endpoint` (nothing read from the environment overrides them).
#[cfg(test)]
pub(crate) async fn test_config(endpoint: &str) -> SdkConfig {
    config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-2"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// An endpoint nothing listens on: every call fails to connect.
#[cfg(test)]
pub(crate) const UNREACHABLE: &str = "http://127.0.0.1:1";

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    const ROLE: [(&str, &str); 3] = [
        ("AWS_ACCESS_KEY_ID", "AKIA"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[test]
    fn lambda_config_reads_region_endpoint_and_role_from_the_environment() {
        let vars = [
            ROLE.as_slice(),
            &[
                ("AWS_REGION", "eu-west-2"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ],
        ]
        .concat();
        let sdk = lambda_config_from(env(&vars)).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-2"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert!(sdk.credentials_provider().is_some());
        assert!(sdk.sleep_impl().is_some());
        assert_eq!(sdk.retry_config().map(|r| r.max_attempts()), Some(3));
    }

    #[test]
    fn lambda_config_without_an_endpoint_uses_the_services_own() {
        let vars = [ROLE.as_slice(), &[("AWS_DEFAULT_REGION", "eu-west-1")]].concat();
        let sdk = lambda_config_from(env(&vars)).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), None);
    }

    #[test]
    fn every_call_is_bounded_by_default_or_as_configured() {
        let vars = [ROLE.as_slice(), &[("AWS_REGION", "eu-west-2")]].concat();
        let sdk = lambda_config_from(env(&vars)).unwrap();
        let t = sdk.timeout_config().unwrap();
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(t.connect_timeout(), Some(CONNECT_TIMEOUT));

        let vars = [
            vars.as_slice(),
            &[("SDK_ATTEMPT_TIMEOUT_MS", "250"), ("SDK_OPERATION_TIMEOUT_MS", " 900")],
        ]
        .concat();
        let t = lambda_config_from(env(&vars))
            .unwrap()
            .timeout_config()
            .cloned()
            .unwrap();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(250)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(900)));

        for bad in ["0", "-5", "2s", ""] {
            let vars = [
                ROLE.as_slice(),
                &[("AWS_REGION", "eu-west-2"), ("SDK_OPERATION_TIMEOUT_MS", bad)],
            ]
            .concat();
            let e = lambda_config_from(env(&vars)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("SDK_OPERATION_TIMEOUT_MS={bad:?} is not a positive number of milliseconds")
            );
        }
    }

    /// A service that accepts connections and never answers: the call ends at the operation
    /// timeout, as a timeout error (the adapters map it to their `Unavailable`), instead of
    /// waiting for the function's own timeout.
    #[tokio::test]
    async fn a_call_that_never_answers_ends_at_the_operation_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                held.push(connection);
            }
        });
        let vars = [
            ROLE.as_slice(),
            &[
                ("AWS_REGION", "eu-west-2"),
                ("AWS_ENDPOINT_URL", endpoint.as_str()),
                ("SDK_ATTEMPT_TIMEOUT_MS", "200"),
                ("SDK_OPERATION_TIMEOUT_MS", "500"),
            ],
        ]
        .concat();
        // The role's credentials come from the process environment, which a test leaves alone.
        let sdk = lambda_config_from(env(&vars))
            .unwrap()
            .into_builder()
            .credentials_provider(aws_sdk_kms::config::SharedCredentialsProvider::new(
                aws_sdk_kms::config::Credentials::new("test", "test", None, None, "test"),
            ))
            .build();
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let started = std::time::Instant::now();
        let e = client
            .get_item()
            .table_name("entries")
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
            .send()
            .await
            .unwrap_err();
        let waited = started.elapsed();
        assert!(matches!(e, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)), "{e:?}");
        assert!(matches!(
            crate::adapters::dynamo::classify(e),
            crate::ports::StoreError::Unavailable(_)
        ));
        // Bounded by the operation timeout (0.5 s), not by the 3 attempts' backoff or forever;
        // the upper bound leaves room for a loaded machine.
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        silent.abort();
    }

    #[test]
    fn lambda_config_names_what_is_missing() {
        let e = lambda_config_from(env(&ROLE)).unwrap_err();
        assert_eq!(e.to_string(), "AWS_REGION is not set (the Lambda runtime sets it)");
        let e = lambda_config_from(env(&[("AWS_REGION", "eu-west-2"), ROLE[0]])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AWS_SECRET_ACCESS_KEY is not set (the Lambda runtime sets it)"
        );
    }
}
