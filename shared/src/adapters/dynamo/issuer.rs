//! [`IssuerStore`] on DynamoDB (see the module's header for the conditions it rests on).

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::DynamoStore;
use super::codec::*;
use crate::domain::client::Client;
use crate::domain::list::{Entry, ListRecord};
use crate::ports::{Claim, IssuerStore, Placement, Revocation, StoreError};

#[async_trait]
impl IssuerStore for DynamoStore {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let item = self.get(&self.t.clients, &[("clientId", s(client_id))]).await?;
        item.as_ref().map(client_from).transpose()
    }

    async fn put_client(&self, c: &Client) -> Result<(), StoreError> {
        self.ddb
            .put_item()
            .table_name(&self.t.clients)
            .item("clientId", s(&c.client_id))
            .item("jwksUri", s(&c.jwks_uri))
            .item("format", s(&c.format))
            .item("name", s(&c.name))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let out = self
            .ddb
            .delete_item()
            .table_name(&self.t.clients)
            .key("clientId", s(client_id))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.attributes().is_some())
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut out = self
            .scan_all(&self.t.clients, |q| q)
            .await?
            .iter()
            .map(client_from)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(out)
    }

    async fn claim_idempotency(
        &self,
        key: &str,
        owner: &str,
        claims_hash: &str,
        now: i64,
        in_progress_until: i64,
        retain_until: i64,
    ) -> Result<Claim, StoreError> {
        let result = self
            .ddb
            .put_item()
            .table_name(&self.t.idempotency)
            .item("key", s(key))
            .item("status", s("IN_PROGRESS"))
            .item("owner", s(owner))
            .item("claimsHash", s(claims_hash))
            .item("inProgressUntil", n(in_progress_until))
            .item("expiresAt", n(retain_until))
            // Free, or left behind by a crashed invocation, or past retention (TTL deletion lags).
            .condition_expression(
                "attribute_not_exists(#k) OR (#s = :inprog AND inProgressUntil < :now) OR expiresAt < :now",
            )
            .expression_attribute_names("#k", "key")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":inprog", s("IN_PROGRESS"))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                use aws_sdk_dynamodb::operation::put_item::PutItemError;
                let PutItemError::ConditionalCheckFailedException(c) = e.err() else {
                    unreachable!()
                };
                let item = c.item().ok_or_else(|| bad("condition failure without the old item"))?;
                // Our own claim: the SDK retried a put whose answer was lost.
                if get_s(item, "owner").as_deref() == Some(owner) {
                    return Ok(Claim::Acquired);
                }
                Ok(Claim::Existing(idempotency_from(item)?))
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn release_idempotency(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let result = self
            .ddb
            .delete_item()
            .table_name(&self.t.idempotency)
            .key("key", s(key))
            .condition_expression("#s = :inprog AND #o = :me")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":inprog", s("IN_PROGRESS"))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn place_entry(&self, e: &Entry, key: &str, owner: &str, response: &str) -> Result<Placement, StoreError> {
        let complete = Update::builder()
            .table_name(&self.t.idempotency)
            .key("key", s(key))
            .update_expression("SET #s = :done, #r = :resp REMOVE inProgressUntil")
            .condition_expression("#s = :inprog AND #o = :me")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#r", "response")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":done", s("COMPLETED"))
            .expression_attribute_values(":inprog", s("IN_PROGRESS"))
            .expression_attribute_values(":resp", s(response))
            .expression_attribute_values(":me", s(owner))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let items = vec![
            self.entry_put(e)?,
            TransactWriteItem::builder().update(complete).build(),
        ];
        match self.transact(items).await?.as_deref() {
            None => Ok(Placement::Placed),
            Some([first, _]) if first == "ConditionalCheckFailed" => Ok(Placement::IndexTaken),
            Some([_, second]) if second == "ConditionalCheckFailed" => Ok(Placement::ClaimLost),
            Some(codes) => Err(StoreError::Other(format!("transaction cancelled: {codes:?}"))),
        }
    }

    async fn count_allocation(&self, list_id: &str) -> Result<u64, StoreError> {
        self.increment_list_counter(list_id, "allocated")
            .await?
            .ok_or_else(|| StoreError::Other(format!("list {list_id} does not exist")))
    }

    async fn extend_horizon(&self, list_id: &str, horizon: i64) -> Result<(), StoreError> {
        let raised = self
            .ddb
            .update_item()
            .table_name(&self.t.lists)
            .key("listId", s(list_id))
            .update_expression("SET statusHorizon = :h")
            .condition_expression(
                "attribute_exists(listId) AND (attribute_not_exists(statusHorizon) OR statusHorizon < :h)",
            )
            .expression_attribute_values(":h", n(horizon))
            .send()
            .await;
        match raised {
            Ok(_) => Ok(()),
            // Already that late or later (another issuance raised it first), or no such list
            // (placing the entry reports that).
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn open_lists(&self, pool: &str) -> Result<Vec<ListRecord>, StoreError> {
        let items = self
            .scan_all(&self.t.lists, |q| {
                q.filter_expression("#p = :pool AND #st = :open")
                    .expression_attribute_names("#p", "pool")
                    .expression_attribute_names("#st", "state")
                    .expression_attribute_values(":pool", s(pool))
                    .expression_attribute_values(":open", s("OPEN"))
                    .consistent_read(true)
            })
            .await?;
        let mut out = items.iter().map(list_from).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.list_id.cmp(&b.list_id));
        Ok(out)
    }

    async fn create_list(&self, l: &ListRecord) -> Result<bool, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Other(e.to_string());
        let mut put = Put::builder()
            .table_name(&self.t.lists)
            .item("listId", s(&l.list_id))
            .item("pool", s(&l.pool))
            .item("bits", n(l.bits))
            .item("size", n(l.size))
            .item("state", s(if l.open { "OPEN" } else { "CLOSED" }))
            .item("createdAt", n(l.created_at))
            .item("allocated", n(0))
            .condition_expression("attribute_not_exists(listId)");
        if let Some(lifetime) = l.lifetime {
            put = put
                .item("tokenTtl", n(lifetime.ttl))
                .item("tokenValidity", n(lifetime.validity));
        }
        if let Some(horizon) = l.status_horizon {
            put = put.item("statusHorizon", n(horizon));
        }
        let mut items = Vec::new();
        if let Some(owner) = &l.owner {
            put = put
                .item("tenantId", s(&owner.tenant_id))
                .item("configurationId", s(&owner.configuration_id));
            // The configuration counts its lists (a configuration in use cannot be deleted), and
            // must still exist.
            let count = Update::builder()
                .table_name(&self.t.configurations)
                .key("tenantId", s(&owner.tenant_id))
                .key("sk", s(&super::keys::configuration_key(&owner.configuration_id)))
                .update_expression("ADD listCount :one")
                .condition_expression("attribute_exists(sk)")
                .expression_attribute_values(":one", n(1))
                .build()
                .map_err(build)?;
            items.push(TransactWriteItem::builder().update(count).build());
        }
        items.insert(0, TransactWriteItem::builder().put(put.build().map_err(build)?).build());
        match self.transact(items).await?.as_deref() {
            None => Ok(true),
            Some([first, ..]) if first == "ConditionalCheckFailed" => Ok(false),
            Some(_) => Err(StoreError::Other(format!(
                "the configuration of list {} no longer exists",
                l.list_id
            ))),
        }
    }

    async fn close_list(&self, list_id: &str) -> Result<(), StoreError> {
        self.ddb
            .update_item()
            .table_name(&self.t.lists)
            .key("listId", s(list_id))
            .update_expression("SET #st = :closed")
            .condition_expression("attribute_exists(listId)")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":closed", s("CLOSED"))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn entry(&self, list_id: &str, idx: u64) -> Result<Option<Entry>, StoreError> {
        let item = self
            .get(&self.t.entries, &[("listId", s(list_id)), ("idx", n(idx))])
            .await?;
        item.as_ref().map(entry_from).transpose()
    }

    async fn set_status(
        &self,
        list_id: &str,
        idx: u64,
        status: u8,
        now: i64,
    ) -> Result<crate::ports::StatusUpdate, StoreError> {
        use crate::ports::StatusUpdate;
        let update = Update::builder()
            .table_name(&self.t.entries)
            .key("listId", s(list_id))
            .key("idx", n(idx))
            .update_expression("SET #st = :s, statusChangedAt = :now")
            .condition_expression("attribute_exists(listId) AND (attribute_not_exists(#st) OR #st <> :invalid)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":s", n(status))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":invalid", n(1))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        // The status item exists exactly while the entry is not VALID.
        let item = self.status_item(list_id, idx, status, now)?;
        let items = vec![TransactWriteItem::builder().update(update).build(), item];
        match self.transact(items).await?.as_deref() {
            None => Ok(StatusUpdate::Set),
            Some([first, ..]) if first == "ConditionalCheckFailed" => {
                // INVALID is final and entries are never deleted: the read cannot disagree.
                match self.entry(list_id, idx).await? {
                    None => Ok(StatusUpdate::NotFound),
                    Some(e) if e.status == 1 => Ok(StatusUpdate::Final),
                    Some(_) => Err(StoreError::Other(
                        "status condition failed on a changeable entry".into(),
                    )),
                }
            }
            Some(codes) => Err(StoreError::Other(format!("status change cancelled: {codes:?}"))),
        }
    }

    async fn revoke(&self, list_id: &str, idx: u64, client_id: &str, now: i64) -> Result<Revocation, StoreError> {
        let update = Update::builder()
            .table_name(&self.t.entries)
            .key("listId", s(list_id))
            .key("idx", n(idx))
            .update_expression("SET #st = :invalid, revokedAt = :now")
            .condition_expression("attribute_exists(listId) AND clientId = :c AND attribute_not_exists(revokedAt)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":invalid", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":c", s(client_id))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.status_item(list_id, idx, 1, now)?,
        ];
        match self.transact(items).await?.as_deref() {
            None => Ok(Revocation::Revoked { revoked_at: now }),
            Some([first, ..]) if first == "ConditionalCheckFailed" => {
                // Why the condition failed, from the entry as it is: a revocation is final and an
                // entry's client never changes, so this read cannot disagree with the write.
                let Some(old) = self.entry(list_id, idx).await? else {
                    return Ok(Revocation::NotFound);
                };
                if old.client_id != client_id {
                    Ok(Revocation::WrongClient)
                } else if let Some(revoked_at) = old.revoked_at {
                    Ok(Revocation::AlreadyRevoked { revoked_at })
                } else {
                    Err(StoreError::Other(
                        "revoke condition failed on an unrevoked entry of this client".into(),
                    ))
                }
            }
            Some(codes) => Err(StoreError::Other(format!("revocation cancelled: {codes:?}"))),
        }
    }
}
