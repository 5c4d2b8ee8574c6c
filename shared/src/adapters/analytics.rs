//! [`Analytics`] adapters: EventBridge (the deployed stack) and structured log lines (local runs).
//! Events are emitted in order (each call completes before the next); a delivery failure is
//! logged with the whole event, so nothing is lost silently, and never fails the operation.

use async_trait::async_trait;

use crate::ports::{AnalyticEvent, Analytics};

/// EventBridge `source` of every analytic event.
pub const SOURCE: &str = "statuslist.mdoc";

/// One JSON log line per event (target `analytics`).
pub struct LogAnalytics;

#[async_trait]
impl Analytics for LogAnalytics {
    async fn emit(&self, event: &AnalyticEvent) {
        let json = serde_json::to_string(event).unwrap_or_default();
        tracing::info!(target: "analytics", event = %json, "analytic event");
    }
}

/// PutEvents to a bus: `source` [`SOURCE`], `detail-type` the event's type, `detail` the envelope.
pub struct EventBridgeAnalytics {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeAnalytics {
    pub fn new(sdk: &aws_config::SdkConfig, bus: impl Into<String>) -> Self {
        EventBridgeAnalytics {
            client: aws_sdk_eventbridge::Client::new(sdk),
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl Analytics for EventBridgeAnalytics {
    async fn emit(&self, event: &AnalyticEvent) {
        let detail = serde_json::to_string(event).unwrap_or_default();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(&event.kind)
            .detail(&detail)
            .build();
        let failed = match self.client.put_events().entries(entry).send().await {
            Ok(out) if out.failed_entry_count() == 0 => None,
            Ok(out) => Some(format!("{:?}", out.entries())),
            Err(e) => Some(format!("{e:?}")),
        };
        if let Some(error) = failed {
            tracing::error!(target: "analytics", event = %detail, %error, "analytic event not delivered");
        }
    }
}
