#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_endpoint(&shared::http::endpoints::TOKEN, shared::wiring::tokens_api).await
}
