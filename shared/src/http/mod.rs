//! HTTP plumbing written once: the route table (the single source for local routing and a
//! check against the SAM template), the router, body limits, CORS, and the error type that
//! maps to the wire formats.

pub mod body;
pub mod error;
pub mod mdoc;

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, post, put};
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
    /// Whether the route needs a tenant's bearer token (the mDoc management API). In AWS the
    /// API Gateway authorizer checks it; locally the router's middleware makes the same check.
    pub tenant: bool,
}

/// Every route of the API. `template.yaml` and `openapi.yaml` must declare exactly these (tests
/// check).
pub const ROUTES: &[Route] = &[
    Route {
        function: "jwks",
        method: "GET",
        path: "/.well-known/jwks.json",
        tenant: false,
    },
    Route {
        function: "issue",
        method: "POST",
        path: "/issue",
        tenant: false,
    },
    Route {
        function: "revoke",
        method: "POST",
        path: "/revoke",
        tenant: false,
    },
    Route {
        function: "token",
        method: "GET",
        path: "/t/{id}",
        tenant: false,
    },
    Route {
        function: "distribution",
        method: "GET",
        path: "/status-lists",
        tenant: false,
    },
    Route {
        function: "configuration-create",
        method: "POST",
        path: "/v2/credentials/mobile/status-lists/configurations",
        tenant: true,
    },
    Route {
        function: "configuration-list",
        method: "GET",
        path: "/v2/credentials/mobile/status-lists/configurations",
        tenant: true,
    },
    Route {
        function: "configuration-get",
        method: "GET",
        path: "/v2/credentials/mobile/status-lists/configurations/{id}",
        tenant: true,
    },
    Route {
        function: "configuration-update",
        method: "PUT",
        path: "/v2/credentials/mobile/status-lists/configurations/{id}",
        tenant: true,
    },
    Route {
        function: "configuration-delete",
        method: "DELETE",
        path: "/v2/credentials/mobile/status-lists/configurations/{id}",
        tenant: true,
    },
    Route {
        function: "status-list-list",
        method: "GET",
        path: "/v2/credentials/mobile/status-lists",
        tenant: true,
    },
    Route {
        function: "status-list-get",
        method: "GET",
        path: "/v2/credentials/mobile/status-lists/{statusListId}",
        tenant: true,
    },
    Route {
        function: "status-list-token",
        method: "GET",
        path: "/v2/credentials/mobile/status-lists/{statusListId}/token",
        tenant: false,
    },
    Route {
        function: "status-list-distribution",
        method: "GET",
        path: "/v2/credentials/mobile/status-lists/distribution",
        tenant: false,
    },
    Route {
        function: "mdoc-register",
        method: "POST",
        path: "/v2/credentials/mobile/credentials",
        tenant: true,
    },
    Route {
        function: "mdoc-status-get",
        method: "GET",
        path: "/v2/credentials/mobile/{credentialId}/status",
        tenant: true,
    },
    Route {
        function: "mdoc-status-set",
        method: "POST",
        path: "/v2/credentials/mobile/{credentialId}/status",
        tenant: true,
    },
    Route {
        function: "mdoc-delete",
        method: "DELETE",
        path: "/v2/credentials/mobile/{credentialId}",
        tenant: true,
    },
];

fn handler(route: &Route) -> MethodRouter<Arc<App>> {
    use handlers::mdoc;
    match route.function {
        "jwks" => get(handlers::jwks::get),
        "issue" => post(handlers::issue::post),
        "revoke" => post(handlers::revoke::post),
        "token" => get(handlers::token::get),
        "distribution" => get(handlers::distribution::get),
        "configuration-create" => post(mdoc::create_configuration),
        "configuration-list" => get(mdoc::list_configurations),
        "configuration-get" => get(mdoc::get_configuration),
        "configuration-update" => put(mdoc::update_configuration),
        "configuration-delete" => delete(mdoc::delete_configuration),
        "status-list-list" => get(mdoc::list_status_lists),
        "status-list-get" => get(mdoc::get_status_list),
        "status-list-token" => get(mdoc::status_list_token),
        "status-list-distribution" => get(mdoc::distribution),
        "mdoc-register" => post(mdoc::register),
        "mdoc-status-get" => get(mdoc::get_status),
        "mdoc-status-set" => post(mdoc::set_status),
        "mdoc-delete" => delete(mdoc::delete),
        other => unreachable!("route table names unknown function {other}"),
    }
}

/// The query parameters named in `known`, each at most once (others are ignored). A repeated one
/// is refused, naming it: which of the values was meant cannot be known.
pub fn query_params(
    raw: Option<&str>,
    known: &[&str],
) -> Result<std::collections::HashMap<String, String>, error::FieldError> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !known.contains(&k.as_ref()) {
            continue;
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(error::FieldError {
                location: "query",
                param: k.to_string(),
                msg: "must be given at most once".into(),
                value: serde_json::Value::String(v.to_string()),
            });
        }
    }
    Ok(out)
}

/// The error body family of a path: MATTR's under the mDoc API's prefix, GOV.UK's elsewhere.
pub fn family_of(path: &str) -> error::Family {
    if path.starts_with("/v2/") {
        error::Family::Mattr
    } else {
        error::Family::GovUk
    }
}

async fn no_such_endpoint(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("No such endpoint").in_family(family_of(uri.path()))
}

async fn method_not_allowed(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "This endpoint does not support the method",
    )
    .in_family(family_of(uri.path()))
}

/// The function behind API Gateway's catch-all routes (`/`, `/{proxy+}`, `/v2/{proxy+}`): paths no
/// route declares. It is not in [`ROUTES`]: it has no route of its own.
pub const CATCH_ALL_FUNCTION: &str = "not-found";

/// The catch-all router: every request is an unknown endpoint, answered in its path's family.
pub fn not_found_router() -> Router {
    Router::new().fallback(no_such_endpoint)
}

/// The router for one function (its Lambda) or, with `None`, for all (the local server).
pub fn router(app: Arc<App>, only: Option<&str>) -> Router {
    let mut router = Router::new();
    for route in ROUTES.iter().filter(|r| only.is_none_or(|f| f == r.function)) {
        let mut method_router = handler(route);
        if route.tenant {
            method_router =
                method_router.route_layer(axum::middleware::from_fn_with_state(app.clone(), mdoc::authenticate));
        }
        router = router.route(route.path, method_router);
    }
    // Body size limits are enforced where bodies are read (http::body), so refusals carry our
    // error body.
    router
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CorsLayer::new().allow_origin(Any).allow_methods(Any).allow_headers(Any))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_given_once() {
        let p = query_params(Some("time=5&x=1&x=2"), &["time"]).unwrap();
        assert_eq!(p.get("time").map(String::as_str), Some("5"));
        assert_eq!(p.len(), 1);
        let e = query_params(Some("time=5&time=6"), &["time"]).unwrap_err();
        assert_eq!((e.param.as_str(), e.location), ("time", "query"));
        assert!(query_params(None, &["time"]).unwrap().is_empty());
        let p = query_params(Some("cursor=a%2Bb"), &["cursor"]).unwrap();
        assert_eq!(p["cursor"], "a+b");
    }

    #[test]
    fn the_error_family_follows_the_path() {
        assert_eq!(family_of("/v2/credentials/mobile/x"), error::Family::Mattr);
        assert_eq!(family_of("/issue"), error::Family::GovUk);
        assert_eq!(family_of("/t/ABC"), error::Family::GovUk);
    }
}
