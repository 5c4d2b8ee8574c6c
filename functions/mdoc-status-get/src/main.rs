#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::MDOC_STATUS_GET, shared::wiring::mdoc_api).await
}
