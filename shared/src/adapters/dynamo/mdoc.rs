//! [`MdocStore`] on DynamoDB.
//!
//! Configurations table, keyed (tenantId, sk):
//! - `cfg#<id>`: the configuration. Ids are UUIDv7 (time-ordered), so a Query in key order lists
//!   them in creation order and a cursor (the last id seen) stays valid under concurrent inserts:
//!   new configurations sort after every existing one.
//! - `doc#<sha256(docType)>`: the tenant's claim on a docType, written in the same transaction
//!   as its configuration (`attribute_not_exists`), so two configurations never share one.
//!
//! `listCount` on a configuration counts its lists; it is raised in the transaction that creates
//! a list, and a delete is conditioned on it being absent, so a configuration in use can never be
//! deleted, whatever the interleaving.
//!
//! mDocs table, keyed credentialId: the mDoc's list and index. Its entry is written in the same
//! transaction (the entries table's `attribute_not_exists`, exactly as for the issuer API).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue as Av, ConditionCheck, Delete, Put, TransactWriteItem};

use super::DynamoStore;
use super::codec::*;
use crate::domain::configuration::Configuration;
use crate::domain::duration::Duration;
use crate::domain::list::{Entry, ListRecord};
use crate::domain::mdoc::Mdoc;
use crate::domain::page::Page;
use crate::ports::{ConfigurationDelete, MdocStore, Placement, StoreError};

use super::keys::{CFG, configuration_key, doc_type_key};

fn duration_from(item: &Item, k: &str) -> Result<Duration, StoreError> {
    let text = get_s(item, k).ok_or_else(|| bad(k))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad(k))?;
    Duration::from_json(&value).map_err(|_| bad(k))
}

fn duration_json(d: &Duration) -> Result<Av, StoreError> {
    serde_json::to_string(d)
        .map(Av::S)
        .map_err(|e| StoreError::Other(e.to_string()))
}

fn configuration_from(item: &Item) -> Result<Configuration, StoreError> {
    Ok(Configuration {
        id: get_s(item, "id").ok_or_else(|| bad("id"))?,
        tenant_id: get_s(item, "tenantId").ok_or_else(|| bad("tenantId"))?,
        doc_type: get_s(item, "docType").ok_or_else(|| bad("docType"))?,
        time_to_live: duration_from(item, "timeToLive")?,
        expiry: duration_from(item, "expiry")?,
        bits: get_n(item, "bits").ok_or_else(|| bad("bits"))?,
        created_at: get_n(item, "createdAt").unwrap_or(0),
    })
}

impl DynamoStore {
    /// Every configuration's current lifetime, by id: one Scan of the configurations (a few per
    /// tenant), for the re-signer's pass.
    pub(crate) async fn all_configuration_lifetimes(
        &self,
    ) -> Result<std::collections::HashMap<String, crate::domain::lifetime::Lifetime>, StoreError> {
        let items = self
            .scan_all(&self.t.configurations, |q| {
                q.filter_expression("begins_with(sk, :cfg)")
                    .expression_attribute_values(":cfg", s(CFG))
            })
            .await?;
        items
            .iter()
            .map(|i| configuration_from(i).map(|c| (c.id.clone(), c.lifetime())))
            .collect()
    }
}

fn mdoc_from(item: &Item) -> Result<Mdoc, StoreError> {
    Ok(Mdoc {
        credential_id: get_s(item, "credentialId").ok_or_else(|| bad("credentialId"))?,
        tenant_id: get_s(item, "tenantId").ok_or_else(|| bad("tenantId"))?,
        configuration_id: get_s(item, "configurationId").ok_or_else(|| bad("configurationId"))?,
        doc_type: get_s(item, "docType").ok_or_else(|| bad("docType"))?,
        list_id: get_s(item, "listId").ok_or_else(|| bad("listId"))?,
        idx: get_n(item, "idx").ok_or_else(|| bad("idx"))?,
        created_at: get_n(item, "createdAt").unwrap_or(0),
    })
}

#[async_trait]
impl MdocStore for DynamoStore {
    async fn create_configuration(&self, c: &Configuration) -> Result<bool, StoreError> {
        let config = Put::builder()
            .table_name(&self.t.configurations)
            .item("tenantId", s(&c.tenant_id))
            .item("sk", s(&configuration_key(&c.id)))
            .item("id", s(&c.id))
            .item("docType", s(&c.doc_type))
            .item("timeToLive", duration_json(&c.time_to_live)?)
            .item("expiry", duration_json(&c.expiry)?)
            .item("bits", n(c.bits))
            .item("createdAt", n(c.created_at))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(build_err)?;
        let claim = Put::builder()
            .table_name(&self.t.configurations)
            .item("tenantId", s(&c.tenant_id))
            .item("sk", s(&doc_type_key(&c.doc_type)))
            .item("configurationId", s(&c.id))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(build_err)?;
        let items = vec![
            TransactWriteItem::builder().put(config).build(),
            TransactWriteItem::builder().put(claim).build(),
        ];
        match self.transact(items).await?.as_deref() {
            None => Ok(true),
            Some([_, claim]) if claim == "ConditionalCheckFailed" => Ok(false),
            Some(codes) => Err(StoreError::Other(format!("configuration not created: {codes:?}"))),
        }
    }

    async fn configuration(&self, tenant_id: &str, id: &str) -> Result<Option<Configuration>, StoreError> {
        let key = [("tenantId", s(tenant_id)), ("sk", s(&configuration_key(id)))];
        let item = self.get(&self.t.configurations, &key).await?;
        item.as_ref().map(configuration_from).transpose()
    }

    async fn configuration_for_doc_type(
        &self,
        tenant_id: &str,
        doc_type: &str,
    ) -> Result<Option<Configuration>, StoreError> {
        let key = [("tenantId", s(tenant_id)), ("sk", s(&doc_type_key(doc_type)))];
        let claim = self.get(&self.t.configurations, &key).await?;
        let Some(id) = claim.and_then(|i| get_s(&i, "configurationId")) else {
            return Ok(None);
        };
        self.configuration(tenant_id, &id).await
    }

    async fn configurations(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Configuration>, StoreError> {
        self.tenant_page(tenant_id, CFG, after, limit, configuration_from, |c| &c.id)
            .await
    }

    async fn update_configuration(
        &self,
        tenant_id: &str,
        id: &str,
        time_to_live: &Duration,
        expiry: &Duration,
    ) -> Result<Option<Configuration>, StoreError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&configuration_key(id)))
            .update_expression("SET timeToLive = :ttl, expiry = :exp")
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":ttl", duration_json(time_to_live)?)
            .expression_attribute_values(":exp", duration_json(expiry)?)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes().map(configuration_from).transpose(),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn delete_configuration(&self, tenant_id: &str, id: &str) -> Result<ConfigurationDelete, StoreError> {
        let Some(config) = self.configuration(tenant_id, id).await? else {
            return Ok(ConfigurationDelete::NotFound);
        };
        let delete = Delete::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&configuration_key(id)))
            .condition_expression("attribute_exists(sk) AND (attribute_not_exists(listCount) OR listCount = :zero)")
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(build_err)?;
        let release = Delete::builder()
            .table_name(&self.t.configurations)
            .key("tenantId", s(tenant_id))
            .key("sk", s(&doc_type_key(&config.doc_type)))
            .build()
            .map_err(build_err)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().delete(release).build(),
        ];
        match self.transact(items).await? {
            None => Ok(ConfigurationDelete::Deleted),
            Some(_) => Ok(match self.configuration(tenant_id, id).await? {
                None => ConfigurationDelete::NotFound,
                Some(_) => ConfigurationDelete::InUse,
            }),
        }
    }

    async fn place_mdoc(&self, e: &Entry, m: &Mdoc) -> Result<Placement, StoreError> {
        let record = Put::builder()
            .table_name(&self.t.mdocs)
            .item("credentialId", s(&m.credential_id))
            .item("tenantId", s(&m.tenant_id))
            .item("configurationId", s(&m.configuration_id))
            .item("docType", s(&m.doc_type))
            .item("listId", s(&m.list_id))
            .item("idx", n(m.idx))
            .item("createdAt", n(m.created_at))
            .condition_expression("attribute_not_exists(credentialId)")
            .build()
            .map_err(build_err)?;
        // The list must still be there (it always is: lists are never deleted); checking it keeps
        // a corrupt list id from creating an orphan entry.
        let list = ConditionCheck::builder()
            .table_name(&self.t.lists)
            .key("listId", s(&e.list_id))
            .condition_expression("attribute_exists(listId)")
            .build()
            .map_err(build_err)?;
        let items = vec![
            self.entry_put(e)?,
            TransactWriteItem::builder().put(record).build(),
            TransactWriteItem::builder().condition_check(list).build(),
        ];
        match self.transact(items).await?.as_deref() {
            None => Ok(Placement::Placed),
            Some([first, ..]) if first == "ConditionalCheckFailed" => Ok(Placement::IndexTaken),
            Some(codes) => Err(StoreError::Other(format!("mDoc not registered: {codes:?}"))),
        }
    }

    async fn mdoc(&self, credential_id: &str) -> Result<Option<Mdoc>, StoreError> {
        let item = self.get(&self.t.mdocs, &[("credentialId", s(credential_id))]).await?;
        item.as_ref().map(mdoc_from).transpose()
    }

    async fn delete_mdoc(&self, tenant_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        let result = self
            .ddb
            .delete_item()
            .table_name(&self.t.mdocs)
            .key("credentialId", s(credential_id))
            .condition_expression("tenantId = :t")
            .expression_attribute_values(":t", s(tenant_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn tenant_lists(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ListRecord>, StoreError> {
        // Lists are few (100,000 entries each), so a filtered Scan is cheap.
        let items = self
            .scan_all(&self.t.lists, |q| {
                q.filter_expression("tenantId = :t")
                    .expression_attribute_values(":t", s(tenant_id))
                    .consistent_read(true)
            })
            .await?;
        let mut lists = items.iter().map(list_from).collect::<Result<Vec<_>, _>>()?;
        lists.sort_by(|a, b| a.list_id.cmp(&b.list_id));
        lists.retain(|l| after.is_none_or(|a| l.list_id.as_str() > a));
        let more = lists.len() > limit;
        lists.truncate(limit);
        let next_after = if more {
            lists.last().map(|l| l.list_id.clone())
        } else {
            None
        };
        Ok(Page {
            items: lists,
            next_after,
        })
    }

    async fn list(&self, list_id: &str) -> Result<Option<ListRecord>, StoreError> {
        let item = self.get(&self.t.lists, &[("listId", s(list_id))]).await?;
        item.as_ref().map(list_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_type_claims_are_fixed_length_and_distinct() {
        let a = doc_type_key("org.iso.18013.5.1.mDL");
        assert_eq!(a.len(), 4 + 64);
        assert_ne!(a, doc_type_key("org.iso.18013.5.1.mdl"));
        assert_eq!(a, doc_type_key("org.iso.18013.5.1.mDL"));
        assert!(!a.starts_with(CFG));
    }
}
