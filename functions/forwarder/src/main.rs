//! Statuses-table stream → one publish job per changed list on the FIFO queue.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve_forwarder().await
}
