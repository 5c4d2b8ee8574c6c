//! Analytic events of the mDoc API: every operation emits `<NAME>_START`, then `<NAME>_SUCCESS`
//! or `<NAME>_FAIL`, in MATTR's envelope (`id`, `type`, `category`, `tenantId`, `requestId`,
//! `timestamp`, `version`, `data`).

use serde_json::{Value, json};

use crate::http::ApiError;
use crate::ports::AnalyticEvent;

/// The operations of the mDoc API; each is one route and one event name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    ConfigurationCreate,
    ConfigurationRetrieveList,
    ConfigurationRetrieve,
    ConfigurationUpdate,
    ConfigurationDelete,
    StatusListRetrieveList,
    StatusListRetrieve,
    StatusListTokenRetrieve,
    StatusListDistribution,
    StatusCreate,
    StatusRetrieve,
    StatusSet,
    CredentialDelete,
    IacaCreate,
    IacaRetrieveList,
    IacaRetrieve,
    IacaUpdate,
    IacaDelete,
    SignerCreate,
    SignerRetrieveList,
    SignerRetrieve,
    SignerUpdate,
    SignerDelete,
}

impl Operation {
    /// The event name without its `_START` / `_SUCCESS` / `_FAIL` suffix (MATTR's names; the
    /// registration, configuration delete and retrieve names follow the same pattern).
    pub fn name(self) -> &'static str {
        use Operation::*;
        match self {
            ConfigurationCreate => "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_CREATE",
            ConfigurationRetrieveList => "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_RETRIEVE_LIST",
            ConfigurationRetrieve => "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_RETRIEVE",
            ConfigurationUpdate => "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_UPDATE",
            ConfigurationDelete => "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_DELETE",
            StatusListRetrieveList => "MOBILE_CREDENTIAL_STATUS_LIST_RETRIEVE_LIST",
            StatusListRetrieve => "MOBILE_CREDENTIAL_STATUS_LIST_RETRIEVE",
            StatusListTokenRetrieve => "MOBILE_CREDENTIAL_STATUS_LIST_TOKEN_RETRIEVE",
            StatusListDistribution => "MOBILE_CREDENTIAL_STATUS_LIST_DISTRIBUTION",
            StatusCreate => "MOBILE_CREDENTIAL_STATUS_CREATE",
            StatusRetrieve => "MOBILE_CREDENTIAL_STATUS_RETRIEVE",
            StatusSet => "MOBILE_CREDENTIAL_STATUS_SET",
            CredentialDelete => "USER_CREDENTIAL_DELETE",
            IacaCreate => "MOBILE_CREDENTIAL_IACA_CREATE",
            IacaRetrieveList => "MOBILE_CREDENTIAL_IACA_RETRIEVE_LIST",
            IacaRetrieve => "MOBILE_CREDENTIAL_IACA_RETRIEVE",
            IacaUpdate => "MOBILE_CREDENTIAL_IACA_UPDATE",
            IacaDelete => "MOBILE_CREDENTIAL_IACA_DELETE",
            SignerCreate => "MOBILE_CREDENTIAL_STATUS_LIST_SIGNER_CREATE",
            SignerRetrieveList => "MOBILE_CREDENTIAL_STATUS_LIST_SIGNER_RETRIEVE_LIST",
            SignerRetrieve => "MOBILE_CREDENTIAL_STATUS_LIST_SIGNER_RETRIEVE",
            SignerUpdate => "MOBILE_CREDENTIAL_STATUS_LIST_SIGNER_UPDATE",
            SignerDelete => "MOBILE_CREDENTIAL_STATUS_LIST_SIGNER_DELETE",
        }
    }

    pub fn category(self) -> &'static str {
        match self {
            Operation::CredentialDelete => "user-credential",
            _ => "mobile-credential",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Start,
    Success,
    Fail,
}

impl Phase {
    fn suffix(self) -> &'static str {
        match self {
            Phase::Start => "START",
            Phase::Success => "SUCCESS",
            Phase::Fail => "FAIL",
        }
    }
}

/// One event. `tenant_id` is empty for the public endpoints, which no tenant calls.
pub fn event(op: Operation, phase: Phase, tenant_id: &str, request_id: &str, data: Value) -> AnalyticEvent {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    AnalyticEvent {
        id: uuid::Uuid::new_v4().to_string(),
        kind: format!("{}_{}", op.name(), phase.suffix()),
        category: op.category().into(),
        tenant_id: tenant_id.into(),
        request_id: request_id.into(),
        timestamp: now,
        version: "1".into(),
        data,
    }
}

/// The `data` of a FAIL event: the error as the caller saw it.
pub fn failure_data(e: &ApiError) -> Value {
    json!({
        "status": e.status.as_u16(),
        "message": e.description,
        "details": e.details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_envelope() {
        let e = event(Operation::StatusSet, Phase::Start, "acme", "r1", json!({"a": 1}));
        assert_eq!(e.kind, "MOBILE_CREDENTIAL_STATUS_SET_START");
        let v = serde_json::to_value(&e).unwrap();
        for field in [
            "id",
            "type",
            "category",
            "tenantId",
            "requestId",
            "timestamp",
            "version",
            "data",
        ] {
            assert!(v.get(field).is_some(), "{field}");
        }
        assert_eq!(v["category"], "mobile-credential");
        let d = event(Operation::CredentialDelete, Phase::Fail, "acme", "r1", Value::Null);
        assert_eq!(d.kind, "USER_CREDENTIAL_DELETE_FAIL");
        assert_eq!(d.category, "user-credential");
    }
}
