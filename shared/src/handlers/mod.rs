//! One module per endpoint: `async fn(State<Arc<App>>, ...) -> Result<Response, ApiError>`.

pub mod jwks;
