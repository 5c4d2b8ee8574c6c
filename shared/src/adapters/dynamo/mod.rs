//! The DynamoDB adapters, one file per port ([`issuer`], [`lists`], [`tenants`], [`mdoc`], [`iaca`],
//! [`history`], [`stream`]) over one item codec and one set of sort keys.
//!
//! [`crate::ports::IssuerStore`] on DynamoDB. Correctness rests on conditional writes:
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

use aws_sdk_dynamodb::{
    Client as Ddb,
    error::SdkError,
    types::{AttributeValue as Av, Put, TransactWriteItem},
};

use crate::domain::list::Entry;
use crate::ports::StoreError;

mod codec;
pub mod history;
mod iaca;
mod issuer;
mod keys;
mod lists;
mod mdoc;
pub mod stream;
mod tenants;

pub use crate::config::Tables;
pub(crate) use codec::classify;
use codec::*;

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
    ) -> Result<crate::domain::page::Page<T>, StoreError> {
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
        Ok(crate::domain::page::Page { items, next_after })
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
