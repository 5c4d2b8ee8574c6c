//! [`crate::ports::ListSource`] on DynamoDB: what the publisher reads of a list and records of
//! what it published.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;

use super::DynamoStore;
use super::codec::*;
use crate::ports::StoreError;

#[async_trait]
impl crate::ports::ListSource for DynamoStore {
    async fn list_state(&self, list_id: &str) -> Result<Option<crate::domain::list::ListState>, StoreError> {
        let Some(item) = self.get(&self.t.lists, &[("listId", s(list_id))]).await? else {
            return Ok(None);
        };
        let mut list = list_from(&item)?;
        // An mDoc list is published with its configuration's current lifetimes, so an update of
        // the configuration applies at the next publish.
        if let Some(owner) = &list.owner {
            use crate::ports::MdocStore;
            let config = self
                .configuration(&owner.tenant_id, &owner.configuration_id)
                .await?
                .ok_or_else(|| bad("the configuration of an mDoc list"))?;
            list.lifetime = Some(config.lifetime());
        }
        Ok(Some(crate::domain::list::ListState {
            list,
            change_seq: get_n(&item, "changeSeq").unwrap_or(0),
        }))
    }

    async fn non_valid_entries(&self, list_id: &str) -> Result<Vec<(u64, u8)>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .ddb
                .query()
                .table_name(&self.t.statuses)
                .key_condition_expression("listId = :l")
                .filter_expression("#st <> :valid")
                .projection_expression("idx, #st")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":l", s(list_id))
                .expression_attribute_values(":valid", n(0))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in page.items() {
                out.push((
                    get_n(item, "idx").ok_or_else(|| bad("idx"))?,
                    get_n(item, "status").unwrap_or(0),
                ));
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn bump_change_seq(&self, list_id: &str) -> Result<Option<u64>, StoreError> {
        self.increment_list_counter(list_id, "changeSeq").await
    }

    async fn record_published(
        &self,
        list_id: &str,
        token: &crate::domain::list::PublishedToken,
    ) -> Result<(), StoreError> {
        // Ordered as the objects are: a newer change sequence, or the same one signed later. A
        // record from before this ordering (no publishedIat) is replaced.
        let mut update = self
            .ddb
            .update_item()
            .table_name(&self.t.lists)
            .key("listId", s(list_id));
        update = match &token.iaca_id {
            Some(iaca_id) => update
                .update_expression(
                    "SET publishedSeq = :s, publishedIat = :i, publishedExp = :e, publishedMaxAge = :m, \
                     publishedIacaId = :iaca",
                )
                .expression_attribute_values(":iaca", s(iaca_id)),
            None => update.update_expression(
                "SET publishedSeq = :s, publishedIat = :i, publishedExp = :e, publishedMaxAge = :m \
                 REMOVE publishedIacaId",
            ),
        };
        let result = update
            .condition_expression(
                "attribute_exists(listId) AND (attribute_not_exists(publishedIat) OR publishedSeq < :s \
                 OR (publishedSeq = :s AND publishedIat < :i))",
            )
            .expression_attribute_values(":s", n(token.seq))
            .expression_attribute_values(":i", n(token.iat))
            .expression_attribute_values(":e", n(token.exp))
            .expression_attribute_values(":m", n(token.max_age))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A newer token was recorded meanwhile.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn published_lists(&self) -> Result<Vec<crate::domain::list::ListSummary>, StoreError> {
        let items = self
            .scan_all(&self.t.lists, |q| {
                q.projection_expression(
                    "listId, publishedExp, publishedMaxAge, tokenTtl, tokenValidity, tenantId, configurationId, #st, statusHorizon",
                )
                .expression_attribute_names("#st", "state")
            })
            .await?;
        let mut out = items
            .iter()
            .map(|i| {
                Ok(crate::domain::list::ListSummary {
                    list_id: get_s(i, "listId").ok_or_else(|| bad("listId"))?,
                    published_exp: get_n(i, "publishedExp").unwrap_or(0),
                    published_max_age: get_n(i, "publishedMaxAge"),
                    lifetime: lifetime_from(i),
                    tenant_id: get_s(i, "tenantId"),
                    configuration_id: get_s(i, "configurationId"),
                    open: get_s(i, "state").as_deref() == Some("OPEN"),
                    status_horizon: get_n(i, "statusHorizon"),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| a.list_id.cmp(&b.list_id));
        Ok(out)
    }

    async fn configuration_lifetimes(&self) -> Result<HashMap<String, crate::domain::lifetime::Lifetime>, StoreError> {
        self.all_configuration_lifetimes().await
    }
}
