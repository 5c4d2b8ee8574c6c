//! The Lambda event shapes of the change pipeline, turned into the pipeline's own types: DynamoDB
//! stream records into [`EntryChange`]s, SQS messages into [`Delivery`]s.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::Deserialize;

use crate::ports::{Delivery, EntryChange};

/// A DynamoDB stream event: only the fields the forwarder reads.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    pub dynamodb: StreamImages,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamImages {
    #[serde(default)]
    pub keys: HashMap<String, Attribute>,
    #[serde(default)]
    pub new_image: Option<HashMap<String, Attribute>>,
    #[serde(default)]
    pub old_image: Option<HashMap<String, Attribute>>,
}

/// A DynamoDB attribute value in its JSON form; only strings and numbers matter here.
#[derive(Debug, Deserialize)]
pub struct Attribute {
    #[serde(rename = "S")]
    pub s: Option<String>,
    #[serde(rename = "N")]
    pub n: Option<String>,
}

fn status(image: &Option<HashMap<String, Attribute>>) -> Option<u8> {
    let image = image.as_ref().filter(|i| !i.is_empty())?;
    Some(
        image
            .get("status")
            .and_then(|a| a.n.as_deref())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    )
}

impl StreamEvent {
    /// The entry changes in the event, in order. Records without a list id (not an entry) are
    /// skipped.
    pub fn changes(&self) -> Vec<EntryChange> {
        self.records
            .iter()
            .filter_map(|r| {
                let list_id = r.dynamodb.keys.get("listId")?.s.clone()?;
                Some(EntryChange {
                    list_id,
                    old_status: status(&r.dynamodb.old_image),
                    new_status: status(&r.dynamodb.new_image),
                })
            })
            .collect()
    }
}

/// The messages of an SQS event as deliveries (a message without an id cannot be acknowledged
/// and is left out).
pub fn deliveries(event: &SqsEvent) -> Vec<Delivery> {
    event
        .records
        .iter()
        .filter_map(|m| {
            Some(Delivery {
                message_id: m.message_id.clone()?,
                receipt: m.receipt_handle.clone().unwrap_or_default(),
                body: m.body.clone().unwrap_or_default(),
                receive_count: m
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
            })
        })
        .collect()
}

/// The name of the queue a batch came from (the last part of its records' `eventSourceARN`; an
/// event source mapping reads one queue).
pub fn source_queue(event: &SqsEvent) -> Option<&str> {
    event.records.first()?.event_source_arn.as_deref()?.rsplit(':').next()
}

/// Whether the queue at `url` is the one named `name` (a queue URL ends with its name).
pub fn url_names(url: &str, name: &str) -> bool {
    !name.is_empty() && url.trim_end_matches('/').rsplit('/').next() == Some(name)
}

/// The partial-batch answer: only the failed messages are retried.
pub fn batch_response(failed: &[String]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.clone();
            f
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_sample_stream_event_gives_its_changes() {
        let event: StreamEvent = serde_json::from_str(&sample("forwarder.json")).unwrap();
        let changes = event.changes();
        assert_eq!(
            changes,
            [
                EntryChange {
                    list_id: "K7Q2M9X4B1ZT".into(),
                    old_status: None,
                    new_status: Some(0)
                },
                EntryChange {
                    list_id: "K7Q2M9X4B1ZT".into(),
                    old_status: Some(0),
                    new_status: Some(1)
                },
            ]
        );
        assert!(!changes[0].changes_token());
        assert!(changes[1].changes_token());
    }

    #[test]
    fn the_sample_queue_event_gives_its_deliveries() {
        let event: SqsEvent = serde_json::from_str(&sample("publisher.json")).unwrap();
        let d = deliveries(&event);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].body, r#"{"listId":"K7Q2M9X4B1ZT","seq":3}"#);
        assert_eq!(d[1].receive_count, 2);
        let response = serde_json::to_value(batch_response(&[d[1].message_id.clone()])).unwrap();
        assert_eq!(
            response,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": d[1].message_id}]})
        );
    }

    #[test]
    fn a_batch_names_its_source_queue() {
        let event: SqsEvent = serde_json::from_str(&sample("publisher.json")).unwrap();
        let name = source_queue(&event).unwrap();
        assert_eq!(name, "statuslist-dev-publish.fifo");
        assert!(url_names(
            "https://sqs.eu-west-2.amazonaws.com/123456789012/statuslist-dev-publish.fifo",
            name
        ));
        assert!(url_names(
            "http://sqs.eu-west-2.localhost.localstack.cloud:4566/000000000000/statuslist-dev-publish.fifo/",
            name
        ));
        assert!(!url_names(
            "https://sqs.eu-west-2.amazonaws.com/123456789012/statuslist-dev-resign",
            name
        ));
        assert!(!url_names("https://sqs.eu-west-2.amazonaws.com/123456789012/x", ""));
        assert_eq!(source_queue(&SqsEvent::default()), None);
    }
}
