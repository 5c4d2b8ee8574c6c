//! Entry points for the Lambda binaries: tracing, the function's own state built once (only the
//! ports it uses, see [`crate::wiring`]), then the runtime loop.

use aws_config::SdkConfig;

use crate::config::Config;
use crate::http::Endpoint;
use crate::wiring::{self, EndpointState};

/// The configuration and the AWS SDK's settings, from the environment (no AWS call).
async fn environment() -> Result<(Config, SdkConfig), crate::config::ConfigError> {
    Ok((Config::from_env()?, crate::adapters::aws::load_config().await))
}

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

/// Runs the HTTP function that serves `endpoint`, on the state `wire` builds for it.
pub async fn serve_endpoint<S: EndpointState>(
    endpoint: &Endpoint<S>,
    wire: fn(&Config, &SdkConfig) -> S,
) -> Result<(), lambda_http::Error> {
    init_tracing();
    let (config, sdk) = environment().await?;
    lambda_http::run(endpoint.router(wire(&config, &sdk))).await
}

/// Runs the catch-all function: no configuration and no AWS client, just the family's 404.
pub async fn serve_not_found() -> Result<(), lambda_http::Error> {
    init_tracing();
    lambda_http::run(crate::http::not_found_router()).await
}

/// Runs the scheduled re-signer under the Lambda runtime (the EventBridge event is ignored: every
/// invocation is a full pass).
pub async fn serve_resigner() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (config, sdk) = environment().await?;
    let publisher = wiring::publisher(&config, &sdk);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let publisher = publisher.clone();
            async move {
                let now = crate::handlers::now();
                let report = publisher.resign_due(now).await?;
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

/// Runs the stream-triggered forwarder: entry changes in, one publish job per changed list out.
/// An error fails the batch, which the event source mapping retries (bisecting) and finally
/// sends to the forwarder's dead-letter queue.
pub async fn serve_forwarder() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (config, sdk) = environment().await?;
    let forwarder = std::sync::Arc::new(wiring::forwarder(&config, &sdk)?);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<crate::adapters::lambda_events::StreamEvent>| {
            let forwarder = forwarder.clone();
            async move {
                let changes = event.payload.changes();
                let jobs = forwarder.forward(&changes).await?;
                tracing::info!(records = changes.len(), jobs = jobs.len(), "forwarded changes");
                Ok::<_, lambda_runtime::Error>(serde_json::json!({ "jobs": jobs.len() }))
            }
        },
    ))
    .await
}

/// Runs the queue-triggered publisher; failed messages are reported individually (partial batch
/// response) after their visibility is set to the retry backoff.
pub async fn serve_publisher() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (config, sdk) = environment().await?;
    let queue = wiring::sqs_queue(&config, &sdk).ok_or("PUBLISH_QUEUE_URL is not set")?;
    let publisher = wiring::publisher(&config, &sdk);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
            let (publisher, queue) = (publisher.clone(), queue.clone());
            async move {
                let deliveries = crate::adapters::lambda_events::deliveries(&event.payload);
                let report =
                    crate::pipeline::run_jobs(&publisher, queue.as_ref(), &deliveries, crate::handlers::now).await;
                tracing::info!(?report, "publish jobs");
                Ok::<_, lambda_runtime::Error>(crate::adapters::lambda_events::batch_response(&report.failed))
            }
        },
    ))
    .await
}

/// Why the authorizer did not allow a request.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerRefusal {
    /// API Gateway answers 401 for exactly this error message.
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    Failed(String),
}

/// The authorizer's answer to a REQUEST authorizer event: an Allow policy carrying the tenant and
/// role, or a refusal. The check is [`crate::mdoc::auth::authorize`], the one the local server's
/// middleware also uses.
pub async fn authorizer_answer(
    tenants: &dyn crate::ports::TenantStore,
    request: &serde_json::Value,
) -> Result<serde_json::Value, AuthorizerRefusal> {
    let header = request["headers"]
        .as_object()
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")))
        .and_then(|(_, v)| v.as_str());
    let method_arn = request["methodArn"].as_str().unwrap_or_default();
    match crate::mdoc::auth::authorize(tenants, header).await {
        Ok(principal) => Ok(crate::mdoc::auth::allow_policy(&principal, method_arn)),
        Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => Err(AuthorizerRefusal::Unauthorized),
        Err(e) => Err(AuthorizerRefusal::Failed(e.description)),
    }
}

/// Runs the API Gateway Lambda authorizer of the mDoc management API (REQUEST type).
pub async fn serve_authorizer() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (config, sdk) = environment().await?;
    let store = wiring::dynamo(&config, &sdk);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let store = store.clone();
            async move { Ok::<_, lambda_runtime::Error>(authorizer_answer(store.as_ref(), &event.payload).await?) }
        },
    ))
    .await
}
