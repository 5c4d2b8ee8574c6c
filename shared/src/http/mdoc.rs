//! Request plumbing of the mDoc API, written once: who is calling (the bearer check, or the API
//! Gateway authorizer's verdict), the request id, MATTR's error body, and the analytic events
//! around every operation.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ApiError;
use super::error::Family;
use crate::mdoc::Principal;
use crate::mdoc::events::{Operation, Phase, event, failure_data};
use crate::ports::{Analytics, TenantStore};

/// The API Gateway request context, when running as a Lambda behind API Gateway.
fn gateway_context(parts: &Parts) -> Option<&lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext> {
    match parts.extensions.get::<lambda_http::request::RequestContext>()? {
        lambda_http::request::RequestContext::ApiGatewayV1(ctx) => Some(ctx),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Middleware of the tenant routes: the principal from the API Gateway authorizer when one ran,
/// otherwise the same bearer check the authorizer makes. Refusals are 401 in MATTR's body.
pub async fn authenticate(State(tenants): State<Arc<dyn TenantStore>>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let from_gateway =
        gateway_context(&parts).and_then(|c| crate::mdoc::auth::from_authorizer_context(&c.authorizer.fields));
    let principal = match from_gateway {
        Some(p) => p,
        None => {
            let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            match crate::mdoc::auth::authorize(tenants.as_ref(), header).await {
                Ok(p) => p,
                Err(e) => return e.in_family(Family::Mattr).into_response(),
            }
        }
    };
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

/// The request id events carry: API Gateway's, else a valid `X-Request-Id`, else a new UUID.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(id) = gateway_context(parts).and_then(|c| c.request_id.clone()) {
            return Ok(RequestId(id));
        }
        let header = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()));
        Ok(RequestId(match header {
            Some(v) => v.to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        }))
    }
}

/// What an operation answered, and the `data` of its SUCCESS event.
pub enum Reply {
    Json(StatusCode, Value),
    /// No body (204).
    Empty {
        data: Value,
    },
    /// A ready response (the raw token), with its event data.
    Raw(Response, Value),
}

/// Runs one operation of the mDoc API between its START and its SUCCESS or FAIL event, and
/// writes errors in MATTR's body.
pub async fn observe(
    analytics: &dyn Analytics,
    op: Operation,
    tenant: Option<&Principal>,
    request_id: &RequestId,
    start: Value,
    work: impl Future<Output = Result<Reply, ApiError>>,
) -> Response {
    let tenant_id = tenant.map(|p| p.tenant_id.as_str()).unwrap_or("");
    let rid = request_id.0.as_str();
    analytics.emit(&event(op, Phase::Start, tenant_id, rid, start)).await;
    match work.await {
        Ok(reply) => {
            let (response, data) = match reply {
                Reply::Json(status, body) => ((status, Json(body.clone())).into_response(), body),
                Reply::Empty { data } => (StatusCode::NO_CONTENT.into_response(), data),
                Reply::Raw(response, data) => (response, data),
            };
            analytics.emit(&event(op, Phase::Success, tenant_id, rid, data)).await;
            response
        }
        Err(e) => {
            analytics
                .emit(&event(op, Phase::Fail, tenant_id, rid, failure_data(&e)))
                .await;
            e.in_family(Family::Mattr).into_response()
        }
    }
}
