#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(
        &shared::routes::endpoints::STATUS_LIST_GET,
        shared::wiring::mdoc_lists_api,
    )
    .await
}
