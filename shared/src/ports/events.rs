//! Audit events of the issuer API and analytic events of the mDoc API.

use async_trait::async_trait;

/// A structured audit event (never the full request JWT).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub event: &'static str,
    pub client_id: Option<String>,
    pub kid: Option<String>,
    pub idx: Option<u64>,
    pub uri: Option<String>,
    pub reason: Option<String>,
    pub timestamp: i64,
}

pub trait EventSink: Send + Sync {
    fn emit(&self, event: AuditEvent);
}

/// An analytic event of the mDoc API (MATTR's envelope).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnalyticEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub category: String,
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub version: String,
    pub data: serde_json::Value,
}

/// Where analytic events go: structured logs locally, EventBridge in AWS. Delivery failures are
/// logged by the adapter, never failing the operation.
#[async_trait]
pub trait Analytics: Send + Sync {
    async fn emit(&self, event: &AnalyticEvent);
}
