#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::REVOKE, shared::wiring::issuer_api).await
}
