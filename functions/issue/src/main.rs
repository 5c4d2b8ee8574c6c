#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::ISSUE, shared::wiring::issuer_api).await
}
