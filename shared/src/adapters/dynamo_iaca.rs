//! [`IacaStore`] on DynamoDB, in the configurations table (a tenant's mDoc settings, keyed by
//! `tenantId` and `sk`): one item per IACA (`iaca#<id>`), the tenant's count (`iaca-count`,
//! bounded by a condition) and the active IACA's id (`iaca-active`). Creating an IACA and
//! counting it is one transaction, as is deleting one and checking it is not the active one;
//! activation is a conditional write of the active record, so two activations cannot both win.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::dynamo::{DynamoStore, Item, bad, build_err, get_n, get_s, n, s};
use crate::domain::iaca::CertificateData;
use crate::ports::{Iaca, IacaCreate, IacaDelete, IacaStore, Page, StoreError};

const IACA: &str = "iaca#";
const COUNT: &str = "iaca-count";
const ACTIVE: &str = "iaca-active";

fn iaca_key(id: &str) -> String {
    format!("{IACA}{id}")
}

fn iaca_from(item: &Item) -> Result<Iaca, StoreError> {
    let data: CertificateData = get_s(item, "certificateData")
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| bad("certificateData"))?;
    Ok(Iaca {
        id: get_s(item, "id").ok_or_else(|| bad("id"))?,
        tenant_id: get_s(item, "tenantId").ok_or_else(|| bad("tenantId"))?,
        key_id: get_s(item, "keyId"),
        certificate_pem: get_s(item, "certificatePem").ok_or_else(|| bad("certificatePem"))?,
        certificate_data: data,
        fingerprint: get_s(item, "fingerprint").ok_or_else(|| bad("fingerprint"))?,
        not_before: get_n(item, "notBefore").ok_or_else(|| bad("notBefore"))?,
        not_after: get_n(item, "notAfter").ok_or_else(|| bad("notAfter"))?,
        created_at: get_n(item, "createdAt").unwrap_or(0),
    })
}

#[async_trait]
impl IacaStore for DynamoStore {
    async fn create_iaca(&self, iaca: &Iaca, max: usize) -> Result<IacaCreate, StoreError> {
        let data = serde_json::to_string(&iaca.certificate_data).map_err(|e| StoreError::Other(e.to_string()))?;
        let mut put = Put::builder()
            .table_name(&self.t.configurations)
            .item("tenantId", s(&iaca.tenant_id))
            .item("sk", s(&iaca_key(&iaca.id)))
            .item("id", s(&iaca.id))
            .item("certificatePem", s(&iaca.certificate_pem))
            .item("certificateData", s(&data))
            .item("fingerprint", s(&iaca.fingerprint))
            .item("notBefore", n(iaca.not_before))
            .item("notAfter", n(iaca.not_after))
            .item("createdAt", n(iaca.created_at))
            .condition_expression("attribute_not_exists(sk)");
        if let Some(key_id) = &iaca.key_id {
            put = put.item("keyId", s(key_id));
        }
        let count = Update::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(&iaca.tenant_id))
            .key("sk", s(COUNT))
            .update_expression("ADD iacas :one")
            .condition_expression("attribute_not_exists(iacas) OR iacas < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max))
            .build()
            .map_err(build_err)?;
        let items = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(build_err)?)
                .build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        match self.transact(items).await?.as_deref() {
            None => Ok(IacaCreate::Created),
            Some([_, count]) if count == "ConditionalCheckFailed" => Ok(IacaCreate::LimitReached),
            Some(codes) => Err(StoreError::Other(format!("IACA not created: {codes:?}"))),
        }
    }

    async fn iaca(&self, tenant_id: &str, id: &str) -> Result<Option<Iaca>, StoreError> {
        let key = [("tenantId", s(tenant_id)), ("sk", s(&iaca_key(id)))];
        let item = self.get(&self.t.configurations, &key).await?;
        item.as_ref().map(iaca_from).transpose()
    }

    async fn iacas(&self, tenant_id: &str, after: Option<&str>, limit: usize) -> Result<Page<Iaca>, StoreError> {
        self.tenant_page(tenant_id, IACA, after, limit, iaca_from, |i| &i.id)
            .await
    }

    async fn active_iaca_id(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
        let key = [("tenantId", s(tenant_id)), ("sk", s(ACTIVE))];
        Ok(self
            .get(&self.t.configurations, &key)
            .await?
            .and_then(|i| get_s(&i, "iacaId")))
    }

    async fn set_active_iaca(&self, tenant_id: &str, id: &str, active: bool) -> Result<bool, StoreError> {
        let exists = ConditionCheck::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&iaca_key(id)))
            .condition_expression("attribute_exists(sk)")
            .build()
            .map_err(build_err)?;
        let record = if active {
            // Whatever was active before: the IACA must still exist when it becomes active.
            let put = Put::builder()
                .table_name(&self.t.configurations)
                .item("tenantId", s(tenant_id))
                .item("sk", s(ACTIVE))
                .item("iacaId", s(id))
                .build()
                .map_err(build_err)?;
            TransactWriteItem::builder().put(put).build()
        } else {
            // Only if it is the active one; deactivating an inactive IACA changes nothing.
            let delete = Delete::builder()
                .table_name(&self.t.configurations)
                .key("tenantId", s(tenant_id))
                .key("sk", s(ACTIVE))
                .condition_expression("attribute_not_exists(iacaId) OR iacaId = :id")
                .expression_attribute_values(":id", s(id))
                .build()
                .map_err(build_err)?;
            TransactWriteItem::builder().delete(delete).build()
        };
        let items = vec![TransactWriteItem::builder().condition_check(exists).build(), record];
        match self.transact(items).await?.as_deref() {
            None => Ok(true),
            Some([exists, _]) if exists == "ConditionalCheckFailed" => Ok(false),
            // Another IACA is the active one: deactivating this one is already done.
            Some([_, record]) if record == "ConditionalCheckFailed" && !active => Ok(true),
            Some(codes) => Err(StoreError::Other(format!("IACA activation not changed: {codes:?}"))),
        }
    }

    async fn delete_iaca(&self, tenant_id: &str, id: &str) -> Result<IacaDelete, StoreError> {
        let Some(iaca) = self.iaca(tenant_id, id).await? else {
            return Ok(IacaDelete::NotFound);
        };
        let delete = Delete::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&iaca_key(id)))
            .condition_expression("attribute_exists(sk)")
            .build()
            .map_err(build_err)?;
        let not_active = ConditionCheck::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(ACTIVE))
            .condition_expression("attribute_not_exists(iacaId) OR iacaId <> :id")
            .expression_attribute_values(":id", s(id))
            .build()
            .map_err(build_err)?;
        let count = Update::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(COUNT))
            .update_expression("ADD iacas :minus")
            .expression_attribute_values(":minus", n(-1))
            .build()
            .map_err(build_err)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().condition_check(not_active).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        match self.transact(items).await?.as_deref() {
            None => Ok(IacaDelete::Deleted(Box::new(iaca))),
            Some([gone, _, _]) if gone == "ConditionalCheckFailed" => Ok(IacaDelete::NotFound),
            Some([_, active, _]) if active == "ConditionalCheckFailed" => Ok(IacaDelete::Active),
            Some(codes) => Err(StoreError::Other(format!("IACA not deleted: {codes:?}"))),
        }
    }
}
