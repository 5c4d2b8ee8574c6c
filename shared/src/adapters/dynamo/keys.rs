//! The sort keys of the configurations table's items: configurations and docType claims, IACAs,
//! signers and the tenants' counters.

use sha2::{Digest, Sha256};

pub(super) const CFG: &str = "cfg#";

pub fn configuration_key(id: &str) -> String {
    format!("{CFG}{id}")
}

pub(super) fn doc_type_key(doc_type: &str) -> String {
    let digest = Sha256::digest(doc_type.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("doc#{hex}")
}

pub(super) const IACA: &str = "iaca#";
pub(super) const COUNT: &str = "iaca-count";
pub(super) const ACTIVE: &str = "iaca-active";
pub(super) const SIGNER: &str = "signer#";
pub(super) const SIGNER_COUNT: &str = "signer-count";

pub(super) fn iaca_key(id: &str) -> String {
    format!("{IACA}{id}")
}

pub(super) fn signer_key(id: &str) -> String {
    format!("{SIGNER}{id}")
}
