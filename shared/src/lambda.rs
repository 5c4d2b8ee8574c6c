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

/// Runs the scheduled re-signer under the Lambda runtime (the EventBridge event is ignored: every
/// invocation is a full pass).
pub async fn serve_resigner() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let app = App::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let app = app.clone();
            async move {
                let now = crate::handlers::now();
                let report = app.publisher.resign_due(now, app.publisher.resign_margin()).await?;
                tracing::info!(?report, "re-signing pass");
                if report.failed > 0 {
                    return Err(format!("{} lists could not be re-signed", report.failed).into());
                }
                Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
            }
        },
    ))
    .await
}
