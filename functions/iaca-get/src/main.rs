#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::IACA_GET, shared::wiring::iaca_api).await
}
