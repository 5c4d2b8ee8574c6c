//! A registered issuer of the GOV.UK API.

/// A registered issuer (GOV.UK clientId).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Client {
    pub client_id: String,
    /// Where the issuer publishes the keys that sign its requests (HTTPS).
    pub jwks_uri: String,
    /// `statuslist+jwt` or `statuslist+cwt`: the list format the issuer's relying parties use.
    pub format: String,
    pub name: String,
}
