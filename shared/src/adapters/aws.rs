//! AWS SDK configuration shared by every adapter: one rustls+ring HTTP client (the SDK's
//! default would add aws-lc and hyper 0.14), region and endpoint from the usual environment
//! (`AWS_REGION`, `AWS_ENDPOINT_URL` for LocalStack).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};

pub async fn load_config() -> SdkConfig {
    let http = Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await
}
