#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::DISTRIBUTION, shared::wiring::tokens_api).await
}
