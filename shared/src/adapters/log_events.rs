//! [`EventSink`] writing each audit event as one structured log line (CloudWatch Logs in
//! Lambda, the terminal locally).

use crate::ports::{AuditEvent, EventSink};

pub struct LogEvents;

impl EventSink for LogEvents {
    fn emit(&self, e: AuditEvent) {
        tracing::info!(
            target: "audit",
            event = e.event,
            client_id = e.client_id.as_deref(),
            kid = e.kid.as_deref(),
            idx = e.idx,
            uri = e.uri.as_deref(),
            reason = e.reason.as_deref(),
            timestamp = e.timestamp,
        );
    }
}
