//! Reading and writing DynamoDB items: attribute values, each entity's item decoder, and how
//! SDK errors map to [`StoreError`].

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue as Av;

use crate::domain::client::Client;
use crate::domain::list::{Entry, ListRecord};
use crate::ports::{IdempotencyState, StoreError};

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

pub(super) fn client_from(item: &Item) -> Result<Client, StoreError> {
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
            (Some(tenant_id), Some(configuration_id)) => Some(crate::domain::list::ListOwner {
                tenant_id,
                configuration_id,
            }),
            _ => None,
        },
        published_iaca_id: get_s(item, "publishedIacaId"),
        status_horizon: get_n(item, "statusHorizon"),
    })
}

pub(super) fn lifetime_from(item: &Item) -> Option<crate::domain::lifetime::Lifetime> {
    Some(crate::domain::lifetime::Lifetime {
        ttl: get_n(item, "tokenTtl")?,
        validity: get_n(item, "tokenValidity")?,
    })
}

pub(super) fn idempotency_from(item: &Item) -> Result<IdempotencyState, StoreError> {
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
