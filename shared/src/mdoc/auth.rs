//! The management API's bearer check, in one place: the API Gateway Lambda authorizer calls it
//! in AWS, and the router's middleware calls it where no authorizer ran (the local server).

use serde_json::{Value, json};

use super::Principal;
use crate::domain::tenant::{bearer_token, token_hash};
use crate::http::ApiError;
use crate::ports::TenantStore;

/// The tenant and role of a request's `Authorization` header, or 401.
pub async fn authorize(tenants: &dyn TenantStore, header: Option<&str>) -> Result<Principal, ApiError> {
    let token = bearer_token(header).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    match tenants.credential(&token_hash(token)).await? {
        Some(c) => Ok(Principal {
            tenant_id: c.tenant_id,
            role: c.role,
        }),
        None => Err(ApiError::unauthorized("the bearer token is not valid")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tenant::Role;

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
