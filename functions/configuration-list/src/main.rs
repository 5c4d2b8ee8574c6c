#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::routes::endpoints::CONFIGURATION_LIST, shared::wiring::mdoc_api).await
}
