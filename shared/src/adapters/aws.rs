//! AWS SDK configuration shared by every adapter: one rustls+ring HTTP client (the SDK's
//! default would add aws-lc and hyper 0.14), region, credentials and endpoint from the usual
//! environment (`AWS_REGION`, `AWS_ENDPOINT_URL` for LocalStack).

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// A config loader with our HTTP client; callers may override endpoint, region or credentials.
pub fn config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(SharedHttpClient::new(HttpsOnFirstUse::default()))
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

pub async fn load_config() -> SdkConfig {
    config_loader().load().await
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
