#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_http("configuration-update").await
}
