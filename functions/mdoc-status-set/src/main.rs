#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::MDOC_STATUS_SET, shared::wiring::mdoc_api).await
}
