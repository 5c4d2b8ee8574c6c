//! The function <-> route <-> handler table (the single source for local routing and a check
//! against the SAM template and openapi.yaml), and the routers built from it: one function's, or
//! every endpoint's for the local server and the tests.

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, delete, get, post, put};
use tower_http::cors::{Any, CorsLayer};

use crate::app::{App, FromApp};
use crate::domain::list::ListFamily;
use crate::http::{ApiError, family_of, mdoc};
use crate::wiring::{
    EndpointState, IacaApi, IssuerApi, KeysApi, MdocApi, MdocListsApi, MdocPublicApi, SignerApi, TokensApi,
};

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

/// A route with its handler, on the state `S` its function is wired with
/// ([`crate::wiring`]).
pub struct Endpoint<S> {
    pub route: Route,
    handler: fn() -> MethodRouter<S>,
}

impl<S: EndpointState> Endpoint<S> {
    /// This endpoint alone, on `state` (tenant routes behind the bearer check), without the
    /// fallbacks [`finish`] adds.
    pub fn routes(&self, state: S) -> Router {
        let mut method_router = (self.handler)();
        if self.route.tenant {
            let tenants = state
                .tenants()
                .expect("a tenant route is served on a state that holds the tenants");
            method_router =
                method_router.route_layer(axum::middleware::from_fn_with_state(tenants, mdoc::authenticate));
        }
        Router::new().route(self.route.path, method_router).with_state(state)
    }

    /// The router of the function that serves only this endpoint.
    pub fn router(&self, state: S) -> Router {
        finish(self.routes(state))
    }
}

/// The function <-> route <-> handler table: one endpoint per function, named after it
/// (`functions/mdoc-status-set` serves [`endpoints::MDOC_STATUS_SET`]), each on the state its
/// handler takes. `template.yaml` and `openapi.yaml` must declare exactly these routes (tests
/// check), and each function's `main` names its endpoint and the state's constructor.
pub mod endpoints {
    use super::*;
    use crate::handlers::{self, mdoc};

    pub const JWKS: Endpoint<KeysApi> = Endpoint {
        route: Route {
            function: "jwks",
            method: "GET",
            path: "/.well-known/jwks.json",
            tenant: false,
        },
        handler: || get(handlers::jwks::get),
    };

    pub const ISSUE: Endpoint<IssuerApi> = Endpoint {
        route: Route {
            function: "issue",
            method: "POST",
            path: "/issue",
            tenant: false,
        },
        handler: || post(handlers::issue::post),
    };

    pub const REVOKE: Endpoint<IssuerApi> = Endpoint {
        route: Route {
            function: "revoke",
            method: "POST",
            path: "/revoke",
            tenant: false,
        },
        handler: || post(handlers::revoke::post),
    };

    pub const TOKEN: Endpoint<TokensApi> = Endpoint {
        route: Route {
            function: "token",
            method: "GET",
            path: ListFamily::GovUk.token_route(),
            tenant: false,
        },
        handler: || get(handlers::token::get),
    };

    pub const DISTRIBUTION: Endpoint<TokensApi> = Endpoint {
        route: Route {
            function: "distribution",
            method: "GET",
            path: ListFamily::GovUk.distribution_path(),
            tenant: false,
        },
        handler: || get(handlers::distribution::get),
    };

    pub const CONFIGURATION_CREATE: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "configuration-create",
            method: "POST",
            path: "/v2/credentials/mobile/status-lists/configurations",
            tenant: true,
        },
        handler: || post(mdoc::create_configuration),
    };

    pub const CONFIGURATION_LIST: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "configuration-list",
            method: "GET",
            path: "/v2/credentials/mobile/status-lists/configurations",
            tenant: true,
        },
        handler: || get(mdoc::list_configurations),
    };

    pub const CONFIGURATION_GET: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "configuration-get",
            method: "GET",
            path: "/v2/credentials/mobile/status-lists/configurations/{id}",
            tenant: true,
        },
        handler: || get(mdoc::get_configuration),
    };

    pub const CONFIGURATION_UPDATE: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "configuration-update",
            method: "PUT",
            path: "/v2/credentials/mobile/status-lists/configurations/{id}",
            tenant: true,
        },
        handler: || put(mdoc::update_configuration),
    };

    pub const CONFIGURATION_DELETE: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "configuration-delete",
            method: "DELETE",
            path: "/v2/credentials/mobile/status-lists/configurations/{id}",
            tenant: true,
        },
        handler: || delete(mdoc::delete_configuration),
    };

    pub const STATUS_LIST_LIST: Endpoint<MdocListsApi> = Endpoint {
        route: Route {
            function: "status-list-list",
            method: "GET",
            path: "/v2/credentials/mobile/status-lists",
            tenant: true,
        },
        handler: || get(mdoc::list_status_lists),
    };

    pub const STATUS_LIST_GET: Endpoint<MdocListsApi> = Endpoint {
        route: Route {
            function: "status-list-get",
            method: "GET",
            path: "/v2/credentials/mobile/status-lists/{statusListId}",
            tenant: true,
        },
        handler: || get(mdoc::get_status_list),
    };

    pub const STATUS_LIST_TOKEN: Endpoint<MdocPublicApi> = Endpoint {
        route: Route {
            function: "status-list-token",
            method: "GET",
            path: ListFamily::Mdoc.token_route(),
            tenant: false,
        },
        handler: || get(mdoc::status_list_token),
    };

    pub const STATUS_LIST_DISTRIBUTION: Endpoint<MdocPublicApi> = Endpoint {
        route: Route {
            function: "status-list-distribution",
            method: "GET",
            path: ListFamily::Mdoc.distribution_path(),
            tenant: false,
        },
        handler: || get(mdoc::distribution),
    };

    pub const MDOC_REGISTER: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "mdoc-register",
            method: "POST",
            path: "/v2/credentials/mobile/credentials",
            tenant: true,
        },
        handler: || post(mdoc::register),
    };

    pub const MDOC_STATUS_GET: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "mdoc-status-get",
            method: "GET",
            path: "/v2/credentials/mobile/{credentialId}/status",
            tenant: true,
        },
        handler: || get(mdoc::get_status),
    };

    pub const MDOC_STATUS_SET: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "mdoc-status-set",
            method: "POST",
            path: "/v2/credentials/mobile/{credentialId}/status",
            tenant: true,
        },
        handler: || post(mdoc::set_status),
    };

    pub const MDOC_DELETE: Endpoint<MdocApi> = Endpoint {
        route: Route {
            function: "mdoc-delete",
            method: "DELETE",
            path: "/v2/credentials/mobile/{credentialId}",
            tenant: true,
        },
        handler: || delete(mdoc::delete),
    };

    pub const IACA_CREATE: Endpoint<IacaApi> = Endpoint {
        route: Route {
            function: "iaca-create",
            method: "POST",
            path: "/v2/credentials/mobile/iacas",
            tenant: true,
        },
        handler: || post(mdoc::create_iaca),
    };

    pub const IACA_LIST: Endpoint<IacaApi> = Endpoint {
        route: Route {
            function: "iaca-list",
            method: "GET",
            path: "/v2/credentials/mobile/iacas",
            tenant: true,
        },
        handler: || get(mdoc::list_iacas),
    };

    pub const IACA_GET: Endpoint<IacaApi> = Endpoint {
        route: Route {
            function: "iaca-get",
            method: "GET",
            path: "/v2/credentials/mobile/iacas/{id}",
            tenant: true,
        },
        handler: || get(mdoc::get_iaca),
    };

    pub const IACA_UPDATE: Endpoint<IacaApi> = Endpoint {
        route: Route {
            function: "iaca-update",
            method: "PUT",
            path: "/v2/credentials/mobile/iacas/{id}",
            tenant: true,
        },
        handler: || put(mdoc::update_iaca),
    };

    pub const IACA_DELETE: Endpoint<IacaApi> = Endpoint {
        route: Route {
            function: "iaca-delete",
            method: "DELETE",
            path: "/v2/credentials/mobile/iacas/{id}",
            tenant: true,
        },
        handler: || delete(mdoc::delete_iaca),
    };

    pub const STATUS_LIST_SIGNER_CREATE: Endpoint<SignerApi> = Endpoint {
        route: Route {
            function: "status-list-signer-create",
            method: "POST",
            path: "/v2/credentials/mobile/status-list-signers",
            tenant: true,
        },
        handler: || post(mdoc::create_signer),
    };

    pub const STATUS_LIST_SIGNER_LIST: Endpoint<SignerApi> = Endpoint {
        route: Route {
            function: "status-list-signer-list",
            method: "GET",
            path: "/v2/credentials/mobile/status-list-signers",
            tenant: true,
        },
        handler: || get(mdoc::list_signers),
    };

    pub const STATUS_LIST_SIGNER_GET: Endpoint<SignerApi> = Endpoint {
        route: Route {
            function: "status-list-signer-get",
            method: "GET",
            path: "/v2/credentials/mobile/status-list-signers/{id}",
            tenant: true,
        },
        handler: || get(mdoc::get_signer),
    };

    pub const STATUS_LIST_SIGNER_UPDATE: Endpoint<SignerApi> = Endpoint {
        route: Route {
            function: "status-list-signer-update",
            method: "PUT",
            path: "/v2/credentials/mobile/status-list-signers/{id}",
            tenant: true,
        },
        handler: || put(mdoc::update_signer),
    };

    pub const STATUS_LIST_SIGNER_DELETE: Endpoint<SignerApi> = Endpoint {
        route: Route {
            function: "status-list-signer-delete",
            method: "DELETE",
            path: "/v2/credentials/mobile/status-list-signers/{id}",
            tenant: true,
        },
        handler: || delete(mdoc::delete_signer),
    };
}

/// Every endpoint of the API, in the table's order: what the routers are built from.
pub const ENDPOINTS: &[&dyn Served] = &[
    &endpoints::JWKS,
    &endpoints::ISSUE,
    &endpoints::REVOKE,
    &endpoints::TOKEN,
    &endpoints::DISTRIBUTION,
    &endpoints::CONFIGURATION_CREATE,
    &endpoints::CONFIGURATION_LIST,
    &endpoints::CONFIGURATION_GET,
    &endpoints::CONFIGURATION_UPDATE,
    &endpoints::CONFIGURATION_DELETE,
    &endpoints::STATUS_LIST_LIST,
    &endpoints::STATUS_LIST_GET,
    &endpoints::STATUS_LIST_TOKEN,
    &endpoints::STATUS_LIST_DISTRIBUTION,
    &endpoints::MDOC_REGISTER,
    &endpoints::MDOC_STATUS_GET,
    &endpoints::MDOC_STATUS_SET,
    &endpoints::MDOC_DELETE,
    &endpoints::IACA_CREATE,
    &endpoints::IACA_LIST,
    &endpoints::IACA_GET,
    &endpoints::IACA_UPDATE,
    &endpoints::IACA_DELETE,
    &endpoints::STATUS_LIST_SIGNER_CREATE,
    &endpoints::STATUS_LIST_SIGNER_LIST,
    &endpoints::STATUS_LIST_SIGNER_GET,
    &endpoints::STATUS_LIST_SIGNER_UPDATE,
    &endpoints::STATUS_LIST_SIGNER_DELETE,
];

/// Every route of the API, in the table's order.
pub static ROUTES: std::sync::LazyLock<Vec<Route>> =
    std::sync::LazyLock::new(|| ENDPOINTS.iter().map(|e| e.route()).collect());

/// An endpoint of the table, whatever the state its handler takes.
pub trait Served: Sync {
    fn route(&self) -> Route;
    /// The endpoint alone, on its state taken from `app`.
    fn routes_on(&self, app: &App) -> Router;
}

impl<S: EndpointState + FromApp> Served for Endpoint<S> {
    fn route(&self) -> Route {
        self.route
    }

    fn routes_on(&self, app: &App) -> Router {
        self.routes(S::from_app(app))
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

/// The router of one function's endpoint or, with `None`, of every endpoint (the local server
/// and the tests), on the states of one [`App`].
pub fn router(app: Arc<App>, only: Option<&str>) -> Router {
    let router = ENDPOINTS
        .iter()
        .filter(|e| only.is_none_or(|f| f == e.route().function))
        .fold(Router::new(), |router, e| router.merge(e.routes_on(&app)));
    finish(router)
}

/// What every function's router ends with: the family's 404 and 405, and CORS. Body size limits
/// are enforced where bodies are read ([`crate::http::body`]), so refusals carry our error body.
pub fn finish(router: Router) -> Router {
    router
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CorsLayer::new().allow_origin(Any).allow_methods(Any).allow_headers(Any))
}
