//! AWS SDK configuration shared by every adapter: one rustls+ring HTTP client (the SDK's
//! default would add aws-lc and hyper 0.14), region, credentials and endpoint from the usual
//! environment (`AWS_REGION`, `AWS_ENDPOINT_URL` for LocalStack).

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};

/// A config loader with our HTTP client; callers may override endpoint, region or credentials.
pub fn config_loader() -> ConfigLoader {
    let http = Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http)
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
