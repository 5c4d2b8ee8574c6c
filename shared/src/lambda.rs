//! Entry points for the Lambda binaries: tracing, the app built once, then the runtime loop.

use crate::app::App;

/// Structured JSON logs (CloudWatch) with the level from `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .without_time()
        .try_init();
}

/// Runs the HTTP function `function` (its routes only) under the Lambda runtime.
pub async fn serve_http(function: &'static str) -> Result<(), lambda_http::Error> {
    init_tracing();
    let app = App::from_env().await?;
    lambda_http::run(crate::http::router(app, Some(function))).await
}
