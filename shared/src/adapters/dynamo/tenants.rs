//! [`crate::ports::TenantStore`] on DynamoDB: credentials keyed on their token's SHA-256.

use async_trait::async_trait;

use super::DynamoStore;
use super::codec::*;
use crate::ports::StoreError;

#[async_trait]
impl crate::ports::TenantStore for DynamoStore {
    async fn put_credential(&self, token_hash: &str, c: &crate::domain::tenant::Credential) -> Result<(), StoreError> {
        self.ddb
            .put_item()
            .table_name(&self.t.tenants)
            .item("tokenHash", s(token_hash))
            .item("tenantId", s(&c.tenant_id))
            .item("role", s(c.role.as_str()))
            .item("createdAt", n(c.created_at))
            .item("label", s(&c.label))
            .condition_expression("attribute_not_exists(tokenHash)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn credential(&self, token_hash: &str) -> Result<Option<crate::domain::tenant::Credential>, StoreError> {
        let Some(item) = self.get(&self.t.tenants, &[("tokenHash", s(token_hash))]).await? else {
            return Ok(None);
        };
        let item = &item;
        Ok(Some(crate::domain::tenant::Credential {
            tenant_id: get_s(item, "tenantId").ok_or_else(|| bad("tenantId"))?,
            role: get_s(item, "role")
                .and_then(|r| r.parse().ok())
                .ok_or_else(|| bad("role"))?,
            created_at: get_n(item, "createdAt").unwrap_or(0),
            label: get_s(item, "label").unwrap_or_default(),
        }))
    }

    async fn delete_credential(&self, token_hash: &str) -> Result<bool, StoreError> {
        let out = self
            .ddb
            .delete_item()
            .table_name(&self.t.tenants)
            .key("tokenHash", s(token_hash))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }
}
