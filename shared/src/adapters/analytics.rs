//! [`Analytics`] adapters: EventBridge (the deployed stack) and structured log lines (local runs).
//! Events are emitted in order; a delivery failure is logged with the whole event, so nothing is
//! lost silently, and never fails the operation. In a Lambda function the events of an invocation
//! are held ([`DeferredAnalytics`]) and sent after its response is out, in one call, by an
//! internal extension (see `crate::lambda`), so no response waits on EventBridge.

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

impl EventBridgeAnalytics {
    /// Sends `events` in order, ten to a PutEvents call (EventBridge's most).
    pub async fn send(&self, events: &[AnalyticEvent]) {
        for chunk in events.chunks(10) {
            let details: Vec<String> = chunk
                .iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default())
                .collect();
            let entries = chunk
                .iter()
                .zip(&details)
                .map(|(event, detail)| {
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(&event.kind)
                        .detail(detail)
                        .build()
                })
                .collect();
            let failed: Vec<(usize, String)> = match self.client.put_events().set_entries(Some(entries)).send().await {
                Ok(out) if out.failed_entry_count() == 0 => Vec::new(),
                Ok(out) => out
                    .entries()
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.error_code().is_some())
                    .map(|(i, r)| (i, format!("{:?}: {:?}", r.error_code(), r.error_message())))
                    .collect(),
                Err(e) => (0..chunk.len()).map(|i| (i, format!("{e:?}"))).collect(),
            };
            for (i, error) in failed {
                let event = details.get(i).map(String::as_str).unwrap_or_default();
                tracing::error!(target: "analytics", %event, %error, "analytic event not delivered");
            }
        }
    }
}

#[async_trait]
impl Analytics for EventBridgeAnalytics {
    async fn emit(&self, event: &AnalyticEvent) {
        self.send(std::slice::from_ref(event)).await;
    }
}

/// Holds an invocation's events until [`DeferredAnalytics::flush`], which the Lambda entry point
/// calls once the response is out (its internal extension keeps the environment from freezing
/// until the events are sent).
pub struct DeferredAnalytics {
    pending: std::sync::Mutex<Vec<AnalyticEvent>>,
    sink: EventBridgeAnalytics,
}

impl DeferredAnalytics {
    pub fn new(sink: EventBridgeAnalytics) -> Self {
        DeferredAnalytics {
            pending: std::sync::Mutex::new(Vec::new()),
            sink,
        }
    }

    /// Sends every held event, in the order emitted.
    pub async fn flush(&self) {
        let events = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !events.is_empty() {
            self.sink.send(&events).await;
        }
    }

    /// How many events are held.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[async_trait]
impl Analytics for DeferredAnalytics {
    async fn emit(&self, event: &AnalyticEvent) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// The events of a Lambda function that sends them after each response: installed while the
/// function's state is built, read by [`crate::lambda::serve_router`].
static AFTER_RESPONSE: std::sync::OnceLock<std::sync::Arc<DeferredAnalytics>> = std::sync::OnceLock::new();

impl DeferredAnalytics {
    /// The analytic events of a Lambda function: held until its response is out, then sent by
    /// [`crate::lambda::serve_router`]'s extension. One holder per process.
    pub fn install(sink: EventBridgeAnalytics) -> std::sync::Arc<DeferredAnalytics> {
        AFTER_RESPONSE
            .get_or_init(|| std::sync::Arc::new(DeferredAnalytics::new(sink)))
            .clone()
    }

    /// The holder [`Self::install`] made, if any.
    pub fn installed() -> Option<std::sync::Arc<DeferredAnalytics>> {
        AFTER_RESPONSE.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str) -> AnalyticEvent {
        AnalyticEvent {
            id: "e".into(),
            kind: kind.into(),
            category: "c".into(),
            tenant_id: String::new(),
            request_id: "r".into(),
            timestamp: 1,
            version: "1".into(),
            data: serde_json::json!({}),
        }
    }

    #[tokio::test]
    async fn deferred_events_are_held_until_the_flush_then_sent_once() {
        // EventBridge unreachable (a closed loopback port): the flush logs what it could not send
        // and holds nothing back for a later invocation to send twice.
        let sdk = crate::adapters::aws::test_config("http://127.0.0.1:1").await;
        let deferred = DeferredAnalytics::new(EventBridgeAnalytics::new(&sdk, "bus"));
        deferred.emit(&event("X_START")).await;
        deferred.emit(&event("X_SUCCESS")).await;
        assert_eq!(deferred.pending(), 2);
        deferred.flush().await;
        assert_eq!(deferred.pending(), 0);
        deferred.flush().await; // nothing held: no call
        assert_eq!(deferred.pending(), 0);
    }
}
