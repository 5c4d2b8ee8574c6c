//! Reads the statuses table's stream as [`EntryChange`]s: what the Lambda event source mapping
//! does in AWS, for the local stack (LocalStack runs no Lambda without Docker). Shards are
//! discovered as they appear; each is read from where the poller last stopped.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::{
    Client,
    types::{AttributeValue, ShardIteratorType},
};

use crate::ports::EntryChange;

/// Where a poller starts in the shards that exist when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// Every retained record (a fresh local stack: nothing is missed).
    TrimHorizon,
    /// Only changes from now on (tests sharing a long-lived stack).
    Latest,
}

#[derive(Default)]
struct Shard {
    iterator: Option<String>,
    last_sequence: Option<String>,
    closed: bool,
}

pub struct StreamPoller {
    streams: Client,
    arn: String,
    shards: HashMap<String, Shard>,
    started: bool,
    start: StartAt,
}

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn status(image: Option<&HashMap<String, AttributeValue>>) -> Option<u8> {
    let image = image?;
    if image.is_empty() {
        return None;
    }
    Some(
        image
            .get("status")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    )
}

impl StreamPoller {
    /// The poller for `table`'s current stream.
    pub async fn new(sdk: &aws_config::SdkConfig, table: &str, start: StartAt) -> Result<Self, String> {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let described = ddb.describe_table().table_name(table).send().await.map_err(err)?;
        let arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| format!("table {table} has no stream"))?
            .to_string();
        let mut poller = StreamPoller {
            streams: Client::new(sdk),
            arn,
            shards: HashMap::new(),
            started: false,
            start,
        };
        poller.discover().await?;
        Ok(poller)
    }

    /// Picks up shards that appeared since the last call.
    pub async fn discover(&mut self) -> Result<(), String> {
        let mut start_after: Option<String> = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(start_after.take())
                .send()
                .await
                .map_err(err)?;
            let Some(desc) = out.stream_description() else { break };
            for shard in desc.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if self.shards.contains_key(id) {
                    continue;
                }
                let ended = shard
                    .sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_some();
                let kind = match (self.started, self.start) {
                    // Shards that appear later are read from their beginning.
                    (true, _) | (false, StartAt::TrimHorizon) => ShardIteratorType::TrimHorizon,
                    (false, StartAt::Latest) if ended => {
                        self.shards.insert(
                            id.to_string(),
                            Shard {
                                closed: true,
                                ..Default::default()
                            },
                        );
                        continue;
                    }
                    (false, StartAt::Latest) => ShardIteratorType::Latest,
                };
                let it = self.iterator(id, kind, None).await?;
                self.shards.insert(
                    id.to_string(),
                    Shard {
                        iterator: it,
                        ..Default::default()
                    },
                );
            }
            match desc.last_evaluated_shard_id() {
                Some(last) => start_after = Some(last.to_string()),
                None => break,
            }
        }
        self.started = true;
        Ok(())
    }

    async fn iterator(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        after: Option<&str>,
    ) -> Result<Option<String>, String> {
        let out = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(after.map(str::to_owned))
            .send()
            .await
            .map_err(err)?;
        Ok(out.shard_iterator().map(str::to_owned))
    }

    /// Every record written since the last call, in order per shard.
    pub async fn poll(&mut self) -> Result<Vec<EntryChange>, String> {
        let mut changes = Vec::new();
        let ids: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, s)| !s.closed)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some(it) = self.shards[&id].iterator.clone() else {
                self.shards.get_mut(&id).unwrap().closed = true;
                continue;
            };
            let out = match self.streams.get_records().shard_iterator(it).limit(1000).send().await {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|e| e.is_expired_iterator_exception()) => {
                    // Resume after the last record read (or from the start of the shard).
                    let last = self.shards[&id].last_sequence.clone();
                    let kind = match last {
                        Some(_) => ShardIteratorType::AfterSequenceNumber,
                        None => ShardIteratorType::TrimHorizon,
                    };
                    let fresh = self.iterator(&id, kind, last.as_deref()).await?;
                    self.shards.get_mut(&id).unwrap().iterator = fresh;
                    continue;
                }
                Err(e) => return Err(err(e)),
            };
            let shard = self.shards.get_mut(&id).unwrap();
            for r in out.records() {
                let Some(d) = r.dynamodb() else { continue };
                if let Some(seq) = d.sequence_number() {
                    shard.last_sequence = Some(seq.to_string());
                }
                let Some(list_id) = d.keys().and_then(|k| k.get("listId")).and_then(|v| v.as_s().ok()) else {
                    continue;
                };
                changes.push(EntryChange {
                    list_id: list_id.clone(),
                    old_status: status(d.old_image()),
                    new_status: status(d.new_image()),
                });
            }
            shard.iterator = out.next_shard_iterator().map(str::to_owned);
            if shard.iterator.is_none() {
                shard.closed = true;
            }
        }
        Ok(changes)
    }
}
