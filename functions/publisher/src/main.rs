//! Publish jobs from the FIFO queue → signed JWT and CWT tokens in S3.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve_publisher().await
}
