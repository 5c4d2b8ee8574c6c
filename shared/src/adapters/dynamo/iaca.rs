//! [`IacaStore`] on DynamoDB, in the configurations table (a tenant's mDoc settings, keyed by
//! `tenantId` and `sk`): one item per IACA (`iaca#<id>`), the tenant's count (`iaca-count`,
//! bounded by a condition) and the active IACA's id (`iaca-active`). Creating an IACA and
//! counting it is one transaction, as is deleting one and checking it is not the active one;
//! activation is a conditional write of the active record, so two activations cannot both win.
//!
//! Status list signers live beside them (`signer#<id>`), with the count of those the tenant
//! created (`signer-count`); creating one is conditional on its IACA still existing.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::DynamoStore;
use super::codec::*;
use super::keys::{ACTIVE, COUNT, IACA, SIGNER, SIGNER_COUNT, iaca_key, signer_key};
use crate::domain::iaca::CertificateData;
use crate::domain::iaca::Iaca;
use crate::domain::page::Page;
use crate::domain::signer::{SignerCertificateRecord, StatusListSigner};
use crate::ports::{IacaCreate, IacaDelete, IacaStore, SignerCreate, StoreError};

fn signer_from(item: &Item) -> Result<StatusListSigner, StoreError> {
    let certificate = match (
        get_s(item, "certificatePem"),
        get_n(item, "certNotBefore"),
        get_n(item, "certNotAfter"),
    ) {
        (Some(pem), Some(not_before), Some(not_after)) => Some(SignerCertificateRecord {
            pem,
            not_before,
            not_after,
        }),
        (None, _, _) => None,
        _ => return Err(bad("signer certificate")),
    };
    Ok(StatusListSigner {
        id: get_s(item, "id").ok_or_else(|| bad("id"))?,
        tenant_id: get_s(item, "tenantId").ok_or_else(|| bad("tenantId"))?,
        iaca_id: get_s(item, "iacaId").ok_or_else(|| bad("iacaId"))?,
        key_id: get_s(item, "keyId").ok_or_else(|| bad("keyId"))?,
        managed: item
            .get("managed")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        csr_pem: get_s(item, "csrPem"),
        certificate,
        created_at: get_n(item, "createdAt").unwrap_or(0),
    })
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

impl DynamoStore {
    /// A tenant's counter item `sk` (attribute `attr`) changed by `delta`, for a transaction;
    /// with `max`, only while the count is below it.
    fn count_change(
        &self,
        tenant_id: &str,
        sk: &str,
        attr: &str,
        delta: i64,
        max: Option<usize>,
    ) -> Result<Update, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(sk))
            .update_expression(format!("ADD {attr} :delta"))
            .expression_attribute_values(":delta", n(delta));
        if let Some(max) = max {
            update = update
                .condition_expression(format!("attribute_not_exists({attr}) OR {attr} < :max"))
                .expression_attribute_values(":max", n(max));
        }
        update.build().map_err(build_err)
    }
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
        let count = self.count_change(&iaca.tenant_id, COUNT, "iacas", 1, Some(max))?;
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
        let count = self.count_change(tenant_id, COUNT, "iacas", -1, None)?;
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

    async fn active_iacas(&self) -> Result<Vec<(String, String)>, StoreError> {
        let items = self
            .scan_all(&self.t.configurations, |q| {
                q.filter_expression("sk = :active")
                    .expression_attribute_values(":active", s(ACTIVE))
            })
            .await?;
        items
            .iter()
            .map(|i| {
                Ok((
                    get_s(i, "tenantId").ok_or_else(|| bad("tenantId"))?,
                    get_s(i, "iacaId").ok_or_else(|| bad("iacaId"))?,
                ))
            })
            .collect()
    }

    async fn create_signer(&self, signer: &StatusListSigner, max: Option<usize>) -> Result<SignerCreate, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.t.configurations)
            .item("tenantId", s(&signer.tenant_id))
            .item("sk", s(&signer_key(&signer.id)))
            .item("id", s(&signer.id))
            .item("iacaId", s(&signer.iaca_id))
            .item("keyId", s(&signer.key_id))
            .item("managed", aws_sdk_dynamodb::types::AttributeValue::Bool(signer.managed))
            .item("createdAt", n(signer.created_at))
            .condition_expression("attribute_not_exists(sk)");
        if let Some(csr) = &signer.csr_pem {
            put = put.item("csrPem", s(csr));
        }
        if let Some(c) = &signer.certificate {
            put = put
                .item("certificatePem", s(&c.pem))
                .item("certNotBefore", n(c.not_before))
                .item("certNotAfter", n(c.not_after));
        }
        let iaca_exists = ConditionCheck::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(&signer.tenant_id))
            .key("sk", s(&iaca_key(&signer.iaca_id)))
            .condition_expression("attribute_exists(sk)")
            .build()
            .map_err(build_err)?;
        let mut items = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(build_err)?)
                .build(),
            TransactWriteItem::builder().condition_check(iaca_exists).build(),
        ];
        if let Some(max) = max {
            let count = self.count_change(&signer.tenant_id, SIGNER_COUNT, "signers", 1, Some(max))?;
            items.push(TransactWriteItem::builder().update(count).build());
        }
        let failed = |code: Option<&String>| code.is_some_and(|c| c == "ConditionalCheckFailed");
        match self.transact(items).await? {
            None => Ok(SignerCreate::Created),
            Some(codes) if failed(codes.get(1)) => Ok(SignerCreate::NoIaca),
            Some(codes) if failed(codes.get(2)) => Ok(SignerCreate::LimitReached),
            Some(codes) => Err(StoreError::Other(format!("signer not created: {codes:?}"))),
        }
    }

    async fn signer(&self, tenant_id: &str, id: &str) -> Result<Option<StatusListSigner>, StoreError> {
        let key = [("tenantId", s(tenant_id)), ("sk", s(&signer_key(id)))];
        let item = self.get(&self.t.configurations, &key).await?;
        item.as_ref().map(signer_from).transpose()
    }

    async fn signers(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<StatusListSigner>, StoreError> {
        self.tenant_page(tenant_id, SIGNER, after, limit, signer_from, |i| &i.id)
            .await
    }

    async fn set_signer_certificate(
        &self,
        tenant_id: &str,
        id: &str,
        certificate: &SignerCertificateRecord,
    ) -> Result<bool, StoreError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&signer_key(id)))
            .update_expression("SET certificatePem = :pem, certNotBefore = :nb, certNotAfter = :na")
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":pem", s(&certificate.pem))
            .expression_attribute_values(":nb", n(certificate.not_before))
            .expression_attribute_values(":na", n(certificate.not_after))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                Ok(false)
            }
            Err(e) => Err(super::codec::classify(e)),
        }
    }

    async fn delete_signer(&self, tenant_id: &str, id: &str) -> Result<Option<StatusListSigner>, StoreError> {
        let Some(signer) = self.signer(tenant_id, id).await? else {
            return Ok(None);
        };
        let delete = Delete::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&signer_key(id)))
            .condition_expression("attribute_exists(sk)")
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        if !signer.managed {
            let count = self.count_change(tenant_id, SIGNER_COUNT, "signers", -1, None)?;
            items.push(TransactWriteItem::builder().update(count).build());
        }
        match self.transact(items).await?.as_deref() {
            None => Ok(Some(signer)),
            Some([gone, ..]) if gone == "ConditionalCheckFailed" => Ok(None),
            Some(codes) => Err(StoreError::Other(format!("signer not deleted: {codes:?}"))),
        }
    }
}
