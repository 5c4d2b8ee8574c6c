//! API Gateway's catch-all routes: a path no route declares answers 404 in its family's body
//! (MATTR's under /v2/, GOV.UK's elsewhere). No AWS access, so no role rights.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_not_found().await
}
