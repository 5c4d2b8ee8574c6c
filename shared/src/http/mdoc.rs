//! Request plumbing of the mDoc API, written once: who is calling (the bearer check, or the API
//! Gateway authorizer's verdict, and the policy the authorizer answers), the request id, MATTR's
//! error body, and the analytic events around every operation (their envelope and `data`).

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiError;
use super::error::Family;
use crate::mdoc::Principal;
use crate::mdoc::events::{Operation, Phase};
use crate::ports::{AnalyticEvent, Analytics, TenantStore};

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
    let from_gateway = gateway_context(&parts).and_then(|c| from_authorizer_context(&c.authorizer.fields));
    let principal = match from_gateway {
        Some(p) => p,
        None => {
            let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            match crate::mdoc::auth::authorize(tenants.as_ref(), header).await {
                Ok(p) => p,
                Err(e) => return ApiError::from(e).in_family(Family::Mattr).into_response(),
            }
        }
    };
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

/// The authorizer's answer for an authorized request: allow every method of this API (API
/// Gateway caches the answer per token), with the tenant and role as context for the function.
pub fn allow_policy(principal: &Principal, method_arn: &str) -> Value {
    // arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../stage/*
    let parts: Vec<&str> = method_arn.splitn(3, '/').collect();
    let resource = match parts.as_slice() {
        [api, stage, _] => format!("{api}/{stage}/*"),
        _ => method_arn.to_string(),
    };
    json!({
        "principalId": principal.tenant_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{ "Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource }],
        },
        "context": { "tenantId": principal.tenant_id, "role": principal.role.as_str() },
    })
}

/// The principal an API Gateway authorizer put in the request context, if any.
pub fn from_authorizer_context(fields: &std::collections::HashMap<String, Value>) -> Option<Principal> {
    let tenant_id = fields.get("tenantId")?.as_str()?.to_string();
    let role = fields.get("role")?.as_str()?.parse().ok()?;
    Some(Principal { tenant_id, role })
}

/// One analytic event. `tenant_id` is empty for the public endpoints, which no tenant calls.
pub fn event(op: Operation, phase: Phase, tenant_id: &str, request_id: &str, data: Value) -> AnalyticEvent {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    AnalyticEvent {
        id: uuid::Uuid::new_v4().to_string(),
        kind: format!("{}_{}", op.name(), phase.suffix()),
        category: op.category().into(),
        tenant_id: tenant_id.into(),
        request_id: request_id.into(),
        timestamp: now,
        version: "1".into(),
        data,
    }
}

/// The `data` of a FAIL event: the error as the caller saw it.
pub fn failure_data(e: &ApiError) -> Value {
    json!({
        "status": e.status.as_u16(),
        "message": e.description,
        "details": e.details,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::Role;

    #[test]
    fn names_and_envelope() {
        let e = event(Operation::StatusSet, Phase::Start, "acme", "r1", json!({"a": 1}));
        assert_eq!(e.kind, "MOBILE_CREDENTIAL_STATUS_SET_START");
        let v = serde_json::to_value(&e).unwrap();
        for field in [
            "id",
            "type",
            "category",
            "tenantId",
            "requestId",
            "timestamp",
            "version",
            "data",
        ] {
            assert!(v.get(field).is_some(), "{field}");
        }
        assert_eq!(v["category"], "mobile-credential");
        let d = event(Operation::CredentialDelete, Phase::Fail, "acme", "r1", Value::Null);
        assert_eq!(d.kind, "USER_CREDENTIAL_DELETE_FAIL");
        assert_eq!(d.category, "user-credential");
    }

    #[test]
    fn the_policy_allows_the_whole_stage_and_carries_the_tenant() {
        let p = Principal {
            tenant_id: "acme".into(),
            role: Role::Issuer,
        };
        let v = allow_policy(
            &p,
            "arn:aws:execute-api:eu-west-2:123456789012:abc123/dev/GET/v2/credentials/mobile/x",
        );
        assert_eq!(
            v["policyDocument"]["Statement"][0]["Resource"],
            "arn:aws:execute-api:eu-west-2:123456789012:abc123/dev/*"
        );
        let fields = serde_json::from_value(v["context"].clone()).unwrap();
        assert_eq!(from_authorizer_context(&fields), Some(p));
    }
}
