//! [`TokenHistory`] on DynamoDB: the token history table, keyed (objectKey, iat), one item per
//! token version put in place (`exp`, `versionId`), removed by the table's TTL (`expiresAt`) when
//! the bucket's lifecycle rule has removed the version. `?time=` is one Query (the newest item
//! with `iat <= time`) and one GET of that version.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::codec::*;
use crate::ports::{StoreError, TokenHistory, TokenVersion};

pub struct DynamoHistory {
    ddb: Client,
    table: String,
}

impl DynamoHistory {
    pub fn new(ddb: Client, table: impl Into<String>) -> Self {
        DynamoHistory {
            ddb,
            table: table.into(),
        }
    }
}

#[async_trait]
impl TokenHistory for DynamoHistory {
    async fn record(&self, key: &str, version: &TokenVersion, retain_until: i64) -> Result<(), StoreError> {
        self.ddb
            .put_item()
            .table_name(&self.table)
            .item("objectKey", s(key))
            .item("iat", n(version.iat))
            .item("exp", n(version.exp))
            .item("versionId", s(&version.version_id))
            .item("expiresAt", n(retain_until))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn issued_by(&self, key: &str, time: i64) -> Result<Option<TokenVersion>, StoreError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .key_condition_expression("objectKey = :k AND iat <= :t")
            .expression_attribute_values(":k", s(key))
            .expression_attribute_values(":t", n(time))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(classify)?;
        out.items()
            .first()
            .map(|item| {
                Ok(TokenVersion {
                    iat: get_n(item, "iat").ok_or_else(|| bad("iat"))?,
                    exp: get_n(item, "exp").ok_or_else(|| bad("exp"))?,
                    version_id: get_s(item, "versionId").ok_or_else(|| bad("versionId"))?,
                })
            })
            .transpose()
    }
}
