//! The whole API on one local port, from the same handlers the Lambda functions run. Started by
//! `make run` with the environment pointing at LocalStack.

use std::net::SocketAddr;

use shared::adapters::dynamo::stream::StartAt;
use shared::app::App;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};
    tracing_subscriber::fmt()
        .finish()
        .with(shared::lambda::log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .init();
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let host = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1".into());
    let addr: SocketAddr = format!("{host}:{port}").parse()?;
    let app = App::from_env().await.map_err(|e| format!("cannot start: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "serving the status list API");
    // The background work: the change pipeline and the re-signer.
    let sdk = shared::adapters::aws::load_config().await;
    shared::local::spawn_pipeline(app.clone(), &sdk, StartAt::TrimHorizon)
        .await
        .map_err(|e| format!("cannot start the publishing pipeline: {e}"))?;
    // Every RESIGN_INTERVAL_SECONDS (or _MINUTES), as the configuration's margins assume.
    let every = app.config.freshness.interval.unsigned_abs();
    shared::local::spawn_resigner(app.clone(), &sdk, std::time::Duration::from_secs(every))
        .map_err(|e| format!("cannot start the re-signer: {e}"))?;
    if let Ok(path) = std::env::var("METRICS_FILE") {
        // Counters for the load driver, written once a second.
        let app = app.clone();
        tokio::spawn(async move {
            use std::sync::atomic::Ordering::Relaxed;
            loop {
                let m = &app.issuer.metrics;
                let json = serde_json::json!({
                    "issued": m.issued.load(Relaxed),
                    "draws": m.draws.load(Relaxed),
                    "local_nanos": m.local_nanos.load(Relaxed),
                });
                let _ = std::fs::write(&path, json.to_string());
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }
    axum::serve(listener, shared::routes::router(app, None))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
