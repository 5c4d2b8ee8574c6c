//! Entry points for the Lambda binaries: tracing, the function's own state built once (only the
//! ports it uses, see [`crate::wiring`]), then the runtime loop.

use aws_config::SdkConfig;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Config;
use crate::routes::Endpoint;
use crate::wiring::{self, EndpointState};

/// The configuration and the AWS SDK's settings, from the environment (no AWS call).
fn environment() -> Result<(Config, SdkConfig), lambda_runtime::Error> {
    Ok((Config::from_env()?, crate::adapters::aws::lambda_config()?))
}

/// Structured JSON logs (CloudWatch) filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .without_time()
        .finish()
        .with(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
}

/// The log filter a `RUST_LOG` value asks for: a default level and per-target levels
/// (`warn,shared=debug`), as [`tracing_subscriber::filter::Targets`] parses them. Span and field
/// filters are not supported (they would link a regex engine into every function); a value that
/// does not parse is reported on stderr and `info` is used.
pub fn log_filter(rust_log: Option<&str>) -> Targets {
    let info = Targets::new().with_default(tracing::Level::INFO);
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => info,
        Some(value) => value.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={value:?} is not a list of target=level directives ({e}); logging at info");
            info
        }),
    }
}

/// Runs the HTTP function that serves `endpoint`, on the state `wire` builds for it.
pub async fn serve_endpoint<S: EndpointState>(
    endpoint: &Endpoint<S>,
    wire: fn(&Config, &SdkConfig) -> S,
) -> Result<(), lambda_http::Error> {
    init_tracing();
    let (config, sdk) = environment()?;
    serve_router(endpoint.router(wire(&config, &sdk))).await
}

/// The Lambda runtime loop for a router. Not generic, so it is compiled once, here, rather than
/// in each function's crate (a one-line change in `shared` then relinks the functions instead of
/// recompiling the runtime 23 times).
///
/// A function whose state holds analytic events for after the response
/// ([`crate::adapters::analytics::DeferredAnalytics::install`]) also runs an internal extension: each request signals when its
/// response is ready, and on that invocation's `INVOKE` event the extension waits for the signal
/// and sends the events. Lambda sends the response as soon as the runtime posts it, and freezes
/// the environment only once the extension asks for its next event, so the events are sent, and
/// no response waits on them.
#[inline(never)]
pub async fn serve_router(router: axum::Router) -> Result<(), lambda_http::Error> {
    let Some(deferred) = crate::adapters::analytics::DeferredAnalytics::installed() else {
        return lambda_http::run(router).await;
    };
    let (done, responses) = tokio::sync::mpsc::unbounded_channel::<()>();
    let router = router.layer(axum::middleware::from_fn(
        move |request, next: axum::middleware::Next| {
            let signal = ResponseReady(done.clone());
            async move {
                let response = next.run(request).await;
                drop(signal);
                response
            }
        },
    ));
    let extension = flush_extension(deferred, responses).await?;
    tokio::try_join!(lambda_http::run(router), extension.run()).map(|_| ())
}

/// Signals, when dropped, that a request's response is ready (also when the request fails or
/// its future is dropped, so the extension never waits on a request that has ended).
struct ResponseReady(tokio::sync::mpsc::UnboundedSender<()>);

impl Drop for ResponseReady {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// The longest the extension waits for a response signal past the invocation's deadline margin:
/// an invocation that never reached the router (an event the runtime could not read) sends none.
const FLUSH_WAIT_MARGIN_MS: u64 = 500;

/// Registers the internal extension that sends the held events after each response.
async fn flush_extension(
    deferred: std::sync::Arc<crate::adapters::analytics::DeferredAnalytics>,
    responses: tokio::sync::mpsc::UnboundedReceiver<()>,
) -> Result<
    lambda_extension::RegisteredExtension<
        impl lambda_extension::Service<
            lambda_extension::LambdaEvent,
            Response = (),
            Error = lambda_extension::Error,
            Future = impl std::future::Future<Output = Result<(), lambda_extension::Error>>,
        >,
    >,
    lambda_http::Error,
> {
    let responses = std::sync::Arc::new(tokio::sync::Mutex::new(responses));
    let processor = lambda_extension::service_fn(move |event: lambda_extension::LambdaEvent| {
        let (deferred, responses) = (deferred.clone(), responses.clone());
        async move {
            if let lambda_extension::NextEvent::Invoke(invoke) = event.next {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let wait = invoke.deadline_ms.saturating_sub(now_ms + FLUSH_WAIT_MARGIN_MS);
                let mut responses = responses.lock().await;
                if tokio::time::timeout(std::time::Duration::from_millis(wait), responses.recv())
                    .await
                    .is_err()
                {
                    tracing::warn!(request_id = %invoke.request_id, "no response signal before the deadline; sending the events held");
                }
                deferred.flush().await;
            }
            Ok::<(), lambda_extension::Error>(())
        }
    });
    lambda_extension::Extension::new()
        .with_events(&["INVOKE"])
        .with_events_processor(processor)
        .with_extension_name("analytics-flush")
        .register()
        .await
}

/// Runs the catch-all function: no configuration and no AWS client, just the family's 404.
pub async fn serve_not_found() -> Result<(), lambda_http::Error> {
    init_tracing();
    serve_router(crate::routes::not_found_router()).await
}

/// Runs the scheduled re-signer under the Lambda runtime (the EventBridge event is ignored: every
/// invocation is a full pass).
pub async fn serve_resigner() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (config, sdk) = environment()?;
    let resigner = std::sync::Arc::new(wiring::resigner(&config, &sdk)?);
    let namespace = crate::adapters::metrics::namespace();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let (resigner, namespace) = (resigner.clone(), namespace.clone());
            async move {
                let now = crate::clock::now();
                let report = resigner.pass(now).await?;
                tracing::info!(?report, "re-signing pass");
                println!(
                    "{}",
                    crate::adapters::metrics::resign_pass_line(&namespace, now, &report)
                );
                if report.lists.failed > 0 || report.signers.failed > 0 {
                    return Err(format!(
                        "{} lists could not be queued for re-signing, {} tenants' signers not rotated",
                        report.lists.failed, report.signers.failed
                    )
                    .into());
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
    let (config, sdk) = environment()?;
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
    let (config, sdk) = environment()?;
    let publish = wiring::sqs_queue(&config, &sdk).ok_or("PUBLISH_QUEUE_URL is not set")?;
    // Re-signing jobs arrive from their own (standard) queue, whose failed messages are handed
    // back to it.
    let resign = match (&config.resign_queue_url, wiring::resign_queue(&config, &sdk)) {
        (Some(url), Some(queue)) => Some((url.clone(), queue as std::sync::Arc<dyn crate::ports::PublishQueue>)),
        _ => None,
    };
    let publisher = wiring::publisher(&config, &sdk);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
            let source = crate::adapters::lambda_events::source_queue(&event.payload);
            let queue = match &resign {
                Some((url, queue))
                    if source.is_some_and(|name| crate::adapters::lambda_events::url_names(url, name)) =>
                {
                    queue.clone()
                }
                _ => publish.clone(),
            };
            let publisher = publisher.clone();
            async move {
                let deliveries = crate::adapters::lambda_events::deliveries(&event.payload);
                let deadline = crate::pipeline::batch_deadline(remaining(event.context.deadline));
                let report =
                    crate::pipeline::run_jobs(&publisher, queue.as_ref(), &deliveries, crate::clock::now, deadline)
                        .await;
                tracing::info!(?report, "publish jobs");
                Ok::<_, lambda_runtime::Error>(crate::adapters::lambda_events::batch_response(&report.failed))
            }
        },
    ))
    .await
}

/// The time left before an invocation's deadline (milliseconds since the epoch, as the Runtime
/// API gives it).
fn remaining(deadline_ms: u64) -> std::time::Duration {
    let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms);
    deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
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
/// role ([`crate::http::mdoc::allow_policy`]), or a refusal. The check is
/// [`crate::mdoc::auth::authorize`], the one the local server's middleware also uses.
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
        Ok(principal) => Ok(crate::http::mdoc::allow_policy(&principal, method_arn)),
        Err(crate::mdoc::MdocError::Unauthorized(_)) => Err(AuthorizerRefusal::Unauthorized),
        Err(e) => Err(AuthorizerRefusal::Failed(crate::http::ApiError::from(e).description)),
    }
}

/// Runs the API Gateway Lambda authorizer of the mDoc management API (REQUEST type).
pub async fn serve_authorizer() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let (config, sdk) = environment()?;
    let store = wiring::dynamo(&config, &sdk);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let store = store.clone();
            async move { Ok::<_, lambda_runtime::Error>(authorizer_answer(store.as_ref(), &event.payload).await?) }
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::{log_filter, remaining};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use tracing::Level;

    #[test]
    fn the_time_left_is_counted_to_the_runtimes_deadline() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = remaining(now_ms + 60_000);
        assert!(
            left > Duration::from_secs(59) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        assert_eq!(remaining(now_ms - 1_000), Duration::ZERO);
        assert_eq!(remaining(0), Duration::ZERO);
    }

    #[test]
    fn log_filter_defaults_to_info_and_takes_per_target_levels() {
        let filter = log_filter(None);
        assert!(filter.would_enable("shared", &Level::INFO));
        assert!(!filter.would_enable("shared", &Level::DEBUG));

        let filter = log_filter(Some("warn,shared::publisher=debug"));
        assert!(filter.would_enable("shared::publisher", &Level::DEBUG));
        assert!(!filter.would_enable("shared::issuer", &Level::INFO));
        assert!(filter.would_enable("shared::issuer", &Level::WARN));

        assert!(log_filter(Some("debug")).would_enable("aws_smithy_runtime", &Level::DEBUG));
    }

    #[test]
    fn log_filter_falls_back_to_info_on_a_value_it_cannot_parse() {
        let filter = log_filter(Some("shared[span{field=1}]=debug"));
        assert!(filter.would_enable("shared", &Level::INFO));
        assert!(!filter.would_enable("shared", &Level::DEBUG));
    }
}
