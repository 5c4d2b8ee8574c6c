//! HTTP plumbing written once: the route table (the single source for local routing and a
//! check against the SAM template), the router, body limits, CORS, and the error type that
//! maps to the wire formats.

pub mod body;
pub mod error;

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use tower_http::cors::{Any, CorsLayer};

use crate::app::App;
use crate::handlers;
pub use error::ApiError;

/// One API route, served by the Lambda function `functions/<function>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub function: &'static str,
    pub method: &'static str,
    pub path: &'static str,
}

/// Every route of the API. `template.yaml` must declare exactly these (a test checks).
pub const ROUTES: &[Route] = &[
    Route {
        function: "jwks",
        method: "GET",
        path: "/.well-known/jwks.json",
    },
    Route {
        function: "issue",
        method: "POST",
        path: "/issue",
    },
    Route {
        function: "revoke",
        method: "POST",
        path: "/revoke",
    },
    Route {
        function: "token",
        method: "GET",
        path: "/t/{id}",
    },
    Route {
        function: "distribution",
        method: "GET",
        path: "/status-lists",
    },
];

fn handler(route: &Route) -> MethodRouter<Arc<App>> {
    match route.function {
        "jwks" => get(handlers::jwks::get),
        "issue" => post(handlers::issue::post),
        "revoke" => post(handlers::revoke::post),
        "token" => get(handlers::token::get),
        "distribution" => get(handlers::distribution::get),
        other => unreachable!("route table names unknown function {other}"),
    }
}

/// The router for one function (its Lambda) or, with `None`, for all (the local server).
pub fn router(app: Arc<App>, only: Option<&str>) -> Router {
    let mut router = Router::new();
    for route in ROUTES.iter().filter(|r| only.is_none_or(|f| f == r.function)) {
        router = router.route(route.path, handler(route));
    }
    // Body size limits are enforced where bodies are read (http::body), so refusals carry our
    // error body.
    router
        .fallback(|| async { ApiError::not_found("No such endpoint") })
        .layer(CorsLayer::new().allow_origin(Any).allow_methods(Any).allow_headers(Any))
        .with_state(app)
}
