#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::http::endpoints::REVOKE, shared::wiring::issuer_api).await
}
