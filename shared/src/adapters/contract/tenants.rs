//! [`TenantStore`]: a credential stored once under its token's hash, read back as stored, and
//! withdrawn once.

use std::sync::Arc;

use super::{Ids, now};
use crate::domain::tenant::Credential;
use crate::domain::tenant::Role;
use crate::ports::TenantStore;

/// Every case of this module, one test each, on the store `make().await` gives (an
/// `Arc<impl TenantStore>`).
#[macro_export]
macro_rules! tenant_store_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            tenants,
            $make,
            [a_credential_is_stored_once, a_credential_is_withdrawn_once]
        );
    };
}

fn credential(tenant_id: &str, role: Role, label: &str) -> Credential {
    Credential {
        tenant_id: tenant_id.to_string(),
        role,
        created_at: now(),
        label: label.to_string(),
    }
}

pub async fn a_credential_is_stored_once<S: TenantStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (hash, tenant) = (ids.id("hash"), ids.id("tenant"));
    assert_eq!(store.credential(&hash).await.unwrap(), None);
    let stored = credential(&tenant, Role::Issuer, "ci pipeline");
    store.put_credential(&hash, &stored).await.unwrap();
    assert_eq!(
        store.credential(&hash).await.unwrap(),
        Some(stored.clone()),
        "as stored"
    );
    let intruder = credential("intruder", Role::Admin, "");
    assert!(
        store.put_credential(&hash, &intruder).await.is_err(),
        "a stored hash is never overwritten"
    );
    assert_eq!(store.credential(&hash).await.unwrap(), Some(stored));
    let admin = credential(&tenant, Role::Admin, "");
    let other = ids.id("hash");
    store.put_credential(&other, &admin).await.unwrap();
    assert_eq!(
        store.credential(&other).await.unwrap(),
        Some(admin),
        "a tenant may hold several"
    );
}

pub async fn a_credential_is_withdrawn_once<S: TenantStore + ?Sized>(store: Arc<S>, ids: Ids) {
    let (hash, kept) = (ids.id("hash"), ids.id("hash"));
    let c = credential(&ids.id("tenant"), Role::Admin, "operator");
    store.put_credential(&hash, &c).await.unwrap();
    store.put_credential(&kept, &c).await.unwrap();
    assert!(store.delete_credential(&hash).await.unwrap());
    assert_eq!(store.credential(&hash).await.unwrap(), None);
    assert!(
        !store.delete_credential(&hash).await.unwrap(),
        "nothing left to withdraw"
    );
    assert!(!store.delete_credential(&ids.id("hash")).await.unwrap());
    assert_eq!(
        store.credential(&kept).await.unwrap(),
        Some(c.clone()),
        "the other one stays"
    );
    store
        .put_credential(&hash, &c)
        .await
        .expect("a withdrawn hash is free again");
}
