//! A registered mDoc.

/// A registered mDoc: its index in one of its configuration's lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mdoc {
    pub credential_id: String,
    pub tenant_id: String,
    pub configuration_id: String,
    pub doc_type: String,
    pub list_id: String,
    pub idx: u64,
    pub created_at: i64,
}
