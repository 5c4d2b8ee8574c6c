//! Analytic events of the mDoc API: every operation emits `<NAME>_START`, then `<NAME>_SUCCESS`
//! or `<NAME>_FAIL`, in MATTR's envelope (`id`, `type`, `category`, `tenantId`, `requestId`,
//! `timestamp`, `version`, `data`). Here are the operations and their names; the envelope and
//! its `data` are written where the requests are answered (`http::mdoc::event`).

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
    pub fn suffix(self) -> &'static str {
        match self {
            Phase::Start => "START",
            Phase::Success => "SUCCESS",
            Phase::Fail => "FAIL",
        }
    }
}
