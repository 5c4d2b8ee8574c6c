#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(
        &shared::routes::endpoints::STATUS_LIST_SIGNER_LIST,
        shared::wiring::signer_api,
    )
    .await
}
