#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::IACA_LIST, shared::wiring::iaca_api).await
}
