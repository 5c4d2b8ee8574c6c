//! Helpers for the LocalStack integration suites: an SDK config pointed at LocalStack, and a
//! clear failure (never a silent skip) when LocalStack is not running.

use aws_config::SdkConfig;
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

/// A value exported by `deploy_stack` (infra/stack/env.sh) for the stack under test.
pub fn stack_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the LocalStack suites through `make test` (tests/run-integration.sh), which deploys the stack")
    })
}
