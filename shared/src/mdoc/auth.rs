//! The management API's bearer check, in one place: the API Gateway Lambda authorizer calls it
//! in AWS, and the router's middleware calls it where no authorizer ran (the local server).

use super::{MdocError, Principal};
use crate::domain::tenant::{bearer_token, token_hash};
use crate::ports::TenantStore;

/// The tenant and role of a request's `Authorization` header value, or
/// [`MdocError::Unauthorized`].
pub async fn authorize(tenants: &dyn TenantStore, header: Option<&str>) -> Result<Principal, MdocError> {
    let token = bearer_token(header).map_err(|e| MdocError::Unauthorized(e.to_string()))?;
    match tenants.credential(&token_hash(token)).await? {
        Some(c) => Ok(Principal {
            tenant_id: c.tenant_id,
            role: c.role,
        }),
        None => Err(MdocError::Unauthorized("the bearer token is not valid".into())),
    }
}
