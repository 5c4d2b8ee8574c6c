//! [`IssuerStore`] on DynamoDB. Correctness rests on conditional writes:
//! - an entry is written only if `(listId, idx)` does not exist (`attribute_not_exists`), and
//!   entries are never deleted, so no index is handed out twice, even after expiry;
//! - the entry and the completion of the idempotency record are one TransactWriteItems, so a
//!   crash leaves either both or neither;
//! - revocation is one TransactWriteItems: the entry's update, conditioned on the issuing client
//!   and on not being revoked, and the list's status item (below).
//!
//! Statuses: the `statuses` table holds one item per entry whose status is not VALID, keyed like
//! the entries. A publish reads only those (its cost follows the revocations, not the list's
//! fill), and its stream carries exactly the status changes to the publishing pipeline.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    Client as Ddb,
    error::{ProvideErrorMetadata, SdkError},
    types::{AttributeValue as Av, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update},
};

use crate::ports::{
    Claim, Client, Entry, IdempotencyState, IssuerStore, ListRecord, Placement, Revocation, StoreError,
};

#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub clients: String,
    pub lists: String,
    pub entries: String,
    pub idempotency: String,
    /// Entries whose status is not VALID (streamed to the publisher).
    pub statuses: String,
    /// Management-API credentials (mDoc API tenants), keyed on the token's SHA-256.
    pub tenants: String,
    /// mDoc status list configurations, and their docType claims, keyed (tenantId, sk).
    pub configurations: String,
    /// Registered mDocs, keyed on credentialId.
    pub mdocs: String,
    /// Published token versions, keyed (objectKey, iat): what `?time=` reads.
    pub history: String,
}

pub struct DynamoStore {
    pub(crate) ddb: Ddb,
    pub(crate) t: Tables,
}

impl DynamoStore {
    /// The transaction item that keeps the list's status item in step with an entry's status:
    /// a Put while it is not VALID, a Delete once it is VALID again.
    fn status_item(&self, list_id: &str, idx: u64, status: u8, now: i64) -> Result<TransactWriteItem, StoreError> {
        Ok(if status == 0 {
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.t.statuses)
                .key("listId", s(list_id))
                .key("idx", n(idx))
                .build()
                .map_err(build_err)?;
            TransactWriteItem::builder().delete(delete).build()
        } else {
            let put = Put::builder()
                .table_name(&self.t.statuses)
                .item("listId", s(list_id))
                .item("idx", n(idx))
                .item("status", n(status))
                .item("changedAt", n(now))
                .build()
                .map_err(build_err)?;
            TransactWriteItem::builder().put(put).build()
        })
    }

    /// Runs a transaction. `Ok(None)` when committed; `Ok(Some(codes))` when a condition
    /// cancelled it (one code per item, "None" for items that passed); transient cancellations
    /// (conflicts, throttling) are `Unavailable`.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Option<Vec<String>>, StoreError> {
        // The token makes the SDK's own retries idempotent: a retry of a transaction that was
        // applied but whose answer was lost (a reset connection) succeeds again instead of failing
        // its own conditions (DynamoDB keeps the token 10 minutes).
        let result = self
            .ddb
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(err)) if err.err().is_transaction_canceled_exception() => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
                let TransactWriteItemsError::TransactionCanceledException(c) = err.err() else {
                    unreachable!()
                };
                let codes: Vec<String> = c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect();
                if codes.iter().any(|c| {
                    matches!(
                        c.as_str(),
                        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                    )
                }) {
                    return Err(StoreError::Unavailable(format!("transaction cancelled: {codes:?}")));
                }
                Ok(Some(codes))
            }
            Err(e) => Err(classify(e)),
        }
    }
    pub fn new(ddb: Ddb, tables: Tables) -> Self {
        DynamoStore { ddb, t: tables }
    }

    /// One item by its key, read consistently.
    pub(crate) async fn get(&self, table: &str, key: &[(&str, Av)]) -> Result<Option<Item>, StoreError> {
        let mut get = self.ddb.get_item().table_name(table).consistent_read(true);
        for (name, value) in key {
            get = get.key(*name, value.clone());
        }
        Ok(get.send().await.map_err(classify)?.item)
    }

    /// The conditional Put of a new entry: only if its index is free. Issuing and mDoc
    /// registration both place entries with it, each in its own transaction.
    pub(crate) fn entry_put(&self, e: &Entry) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.t.entries)
            .item("listId", s(&e.list_id))
            .item("idx", n(e.idx))
            .item("clientId", s(&e.client_id))
            .item("issuedAt", n(e.issued_at))
            .item("statusExpiry", n(e.status_expiry))
            .item("status", n(e.status))
            .condition_expression("attribute_not_exists(listId)")
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Atomically adds one to a counter attribute of an existing list; returns the new value, or
    /// `None` when no such list exists.
    async fn increment_list_counter(&self, list_id: &str, counter: &str) -> Result<Option<u64>, StoreError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.t.lists)
            .key("listId", s(list_id))
            .update_expression("ADD #c :one")
            .condition_expression("attribute_exists(listId)")
            .expression_attribute_names("#c", counter)
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(out.attributes().and_then(|a| get_n(a, counter)).unwrap_or(0))),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// One page of a tenant's items of one kind in the configurations table: those whose sort
    /// key is `prefix` + id, in id order, after the item of id `after`. Reads one item more than
    /// `limit` to tell whether another page exists.
    pub(crate) async fn tenant_page<T>(
        &self,
        tenant_id: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        decode: fn(&Item) -> Result<T, StoreError>,
        id_of: fn(&T) -> &str,
    ) -> Result<crate::ports::Page<T>, StoreError> {
        let mut items = Vec::new();
        let mut start = after.map(|id| {
            Item::from([
                ("tenantId".to_string(), s(tenant_id)),
                ("sk".to_string(), s(&format!("{prefix}{id}"))),
            ])
        });
        while items.len() <= limit {
            let page = self
                .ddb
                .query()
                .table_name(&self.t.configurations)
                .key_condition_expression("tenantId = :t AND begins_with(sk, :prefix)")
                .expression_attribute_values(":t", s(tenant_id))
                .expression_attribute_values(":prefix", s(prefix))
                .limit((limit + 1 - items.len()) as i32)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in page.items() {
                items.push(decode(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next_after = if more {
            items.last().map(|i| id_of(i).to_string())
        } else {
            None
        };
        Ok(crate::ports::Page { items, next_after })
    }

    /// Every item a Scan of `table` returns, across pages; `shape` adds filters and projections.
    pub(crate) async fn scan_all(
        &self,
        table: &str,
        shape: impl Fn(
            aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
        ) -> aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = shape(self.ddb.scan().table_name(table))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

const TRANSIENT: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

pub(crate) fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(err: SdkError<E>) -> StoreError {
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("Unknown");
            let msg = format!("{code}: {}", e.err().message().unwrap_or(""));
            if TRANSIENT.contains(&code) || e.raw().status().is_server_error() {
                StoreError::Unavailable(msg)
            } else {
                StoreError::Other(msg)
            }
        }
        _ => StoreError::Other(format!("{err:?}")),
    }
}

pub(crate) fn s(v: &str) -> Av {
    Av::S(v.to_string())
}
pub(crate) fn n(v: impl ToString) -> Av {
    Av::N(v.to_string())
}
pub(crate) type Item = HashMap<String, Av>;

pub(crate) fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> Option<T> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}
pub(crate) fn bad(what: &str) -> StoreError {
    StoreError::Other(format!("malformed stored item: {what}"))
}

/// A request builder refused its input (a required field missing): a bug, not a stored item.
pub(crate) fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(e.to_string())
}

fn client_from(item: &Item) -> Result<Client, StoreError> {
    Ok(Client {
        client_id: get_s(item, "clientId").ok_or_else(|| bad("clientId"))?,
        jwks_uri: get_s(item, "jwksUri").ok_or_else(|| bad("jwksUri"))?,
        format: get_s(item, "format").ok_or_else(|| bad("format"))?,
        name: get_s(item, "name").unwrap_or_default(),
    })
}

pub(crate) fn entry_from(item: &Item) -> Result<Entry, StoreError> {
    Ok(Entry {
        list_id: get_s(item, "listId").ok_or_else(|| bad("listId"))?,
        idx: get_n(item, "idx").ok_or_else(|| bad("idx"))?,
        client_id: get_s(item, "clientId").unwrap_or_default(),
        issued_at: get_n(item, "issuedAt").unwrap_or(0),
        status_expiry: get_n(item, "statusExpiry").unwrap_or(0),
        status: get_n(item, "status").unwrap_or(0),
        revoked_at: get_n(item, "revokedAt"),
    })
}

pub(crate) fn list_from(item: &Item) -> Result<ListRecord, StoreError> {
    Ok(ListRecord {
        list_id: get_s(item, "listId").ok_or_else(|| bad("listId"))?,
        pool: get_s(item, "pool").ok_or_else(|| bad("pool"))?,
        bits: get_n(item, "bits").ok_or_else(|| bad("bits"))?,
        size: get_n(item, "size").ok_or_else(|| bad("size"))?,
        open: get_s(item, "state").as_deref() == Some("OPEN"),
        created_at: get_n(item, "createdAt").unwrap_or(0),
        lifetime: lifetime_from(item),
        owner: match (get_s(item, "tenantId"), get_s(item, "configurationId")) {
            (Some(tenant_id), Some(configuration_id)) => Some(crate::ports::ListOwner {
                tenant_id,
                configuration_id,
            }),
            _ => None,
        },
        published_iaca_id: get_s(item, "publishedIacaId"),
        status_horizon: get_n(item, "statusHorizon"),
    })
}

fn lifetime_from(item: &Item) -> Option<crate::ports::Lifetime> {
    Some(crate::ports::Lifetime {
        ttl: get_n(item, "tokenTtl")?,
        validity: get_n(item, "tokenValidity")?,
    })
}

fn idempotency_from(item: &Item) -> Result<IdempotencyState, StoreError> {
    let claims_hash = get_s(item, "claimsHash").ok_or_else(|| bad("claimsHash"))?;
    match get_s(item, "status").as_deref() {
        Some("COMPLETED") => Ok(IdempotencyState::Completed {
            claims_hash,
            response: get_s(item, "response").ok_or_else(|| bad("response"))?,
        }),
        Some("IN_PROGRESS") => Ok(IdempotencyState::InProgress {
            claims_hash,
            until: get_n(item, "inProgressUntil").unwrap_or(0),
        }),
        _ => Err(bad("idempotency status")),
    }
}

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
                .key(
                    "sk",
                    s(&crate::adapters::dynamo_mdoc::configuration_key(
                        &owner.configuration_id,
                    )),
                )
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

#[async_trait]
impl crate::ports::ListSource for DynamoStore {
    async fn list_state(&self, list_id: &str) -> Result<Option<crate::ports::ListState>, StoreError> {
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
        Ok(Some(crate::ports::ListState {
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

    async fn record_published(&self, list_id: &str, token: &crate::ports::PublishedToken) -> Result<(), StoreError> {
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

    async fn published_lists(&self) -> Result<Vec<crate::ports::ListSummary>, StoreError> {
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
                Ok(crate::ports::ListSummary {
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

    async fn configuration_lifetimes(&self) -> Result<HashMap<String, crate::ports::Lifetime>, StoreError> {
        self.all_configuration_lifetimes().await
    }
}

#[async_trait]
impl crate::ports::TenantStore for DynamoStore {
    async fn put_credential(&self, token_hash: &str, c: &crate::ports::Credential) -> Result<(), StoreError> {
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

    async fn credential(&self, token_hash: &str) -> Result<Option<crate::ports::Credential>, StoreError> {
        let Some(item) = self.get(&self.t.tenants, &[("tokenHash", s(token_hash))]).await? else {
            return Ok(None);
        };
        let item = &item;
        Ok(Some(crate::ports::Credential {
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
