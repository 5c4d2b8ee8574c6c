#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(
        &shared::routes::endpoints::STATUS_LIST_TOKEN,
        shared::wiring::mdoc_public_api,
    )
    .await
}
