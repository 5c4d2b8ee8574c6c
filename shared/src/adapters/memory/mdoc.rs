//! [`MdocStore`] in memory, on [`MemLists`]: the mDoc API's configurations and mDoc records kept
//! beside the lists and entries they share with the issuer API, so that `place_mdoc` writes the
//! entry and the record at once, and a list's creation counts it on its configuration, as the
//! DynamoDB adapter's transactions do ([`crate::adapters::dynamo_mdoc`]):
//! - one configuration per docType per tenant (its claim is written with it, released with it);
//! - a configuration counts its lists, and one with a list is never deleted (`InUse`);
//! - listings are in id order after `after`, with `next_after` only when an item is left over;
//! - an mDoc record is deleted only by its own tenant; its entry stays (indices are never reused).
//!
//! Locks are taken in one order: lists, then the issuer records, then the mDoc records, then
//! the configurations' lifetimes.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use super::{MemLists, tenant_page};
use crate::domain::duration::Duration;
use crate::ports::{
    Configuration, ConfigurationDelete, Entry, ListOwner, ListRecord, Mdoc, MdocStore, Page, Placement, StoreError,
};

/// The mDoc API's own records (the DynamoDB adapter's configurations and mDocs tables).
#[derive(Default)]
pub(super) struct MdocRecords {
    /// (tenant, id) -> configuration: the `cfg#<id>` items, in id order.
    configurations: BTreeMap<(String, String), Configuration>,
    /// (tenant, id) -> lists created for it (`listCount`).
    list_counts: HashMap<(String, String), u64>,
    /// (tenant, docType) -> configuration id: the `doc#<sha256(docType)>` claims.
    doc_types: HashMap<(String, String), String>,
    /// credentialId -> mDoc.
    mdocs: HashMap<String, Mdoc>,
}

fn key(tenant_id: &str, id: &str) -> (String, String) {
    (tenant_id.to_string(), id.to_string())
}

impl MemLists {
    /// Counts a new list of `owner` on its configuration, which must exist: what the DynamoDB
    /// adapter's `create_list` transaction conditions the list on. Called with the lists locked.
    pub(super) fn count_list_of(&self, owner: &ListOwner, list_id: &str) -> Result<(), StoreError> {
        let mut records = self.mdoc.lock().unwrap();
        let k = key(&owner.tenant_id, &owner.configuration_id);
        if !records.configurations.contains_key(&k) {
            return Err(StoreError::Other(format!(
                "the configuration of list {list_id} no longer exists"
            )));
        }
        *records.list_counts.entry(k).or_default() += 1;
        Ok(())
    }

    /// The mDoc records (credential ids) of `tenant_id`.
    pub fn mdoc_ids(&self, tenant_id: &str) -> Vec<String> {
        let records = self.mdoc.lock().unwrap();
        let mut ids: Vec<_> = records
            .mdocs
            .values()
            .filter(|m| m.tenant_id == tenant_id)
            .map(|m| m.credential_id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// How many entries are placed (every API's).
    pub fn entry_count(&self) -> usize {
        self.issuer.lock().unwrap().entries.len()
    }
}

#[async_trait]
impl MdocStore for MemLists {
    async fn create_configuration(&self, c: &Configuration) -> Result<bool, StoreError> {
        let mut records = self.mdoc.lock().unwrap();
        let k = key(&c.tenant_id, &c.id);
        let claim = key(&c.tenant_id, &c.doc_type);
        if records.configurations.contains_key(&k) {
            // The first item of the transaction failed: not a docType clash.
            return Err(StoreError::Other(format!(
                "configuration not created: configuration {} exists",
                c.id
            )));
        }
        if records.doc_types.contains_key(&claim) {
            return Ok(false);
        }
        records.configurations.insert(k, c.clone());
        records.doc_types.insert(claim, c.id.clone());
        self.configurations.lock().unwrap().insert(c.id.clone(), c.lifetime());
        Ok(true)
    }

    async fn configuration(&self, tenant_id: &str, id: &str) -> Result<Option<Configuration>, StoreError> {
        Ok(self
            .mdoc
            .lock()
            .unwrap()
            .configurations
            .get(&key(tenant_id, id))
            .cloned())
    }

    async fn configuration_for_doc_type(
        &self,
        tenant_id: &str,
        doc_type: &str,
    ) -> Result<Option<Configuration>, StoreError> {
        let records = self.mdoc.lock().unwrap();
        Ok(records
            .doc_types
            .get(&key(tenant_id, doc_type))
            .and_then(|id| records.configurations.get(&key(tenant_id, id)))
            .cloned())
    }

    async fn configurations(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Configuration>, StoreError> {
        Ok(tenant_page(
            &self.mdoc.lock().unwrap().configurations,
            tenant_id,
            after,
            limit,
        ))
    }

    async fn update_configuration(
        &self,
        tenant_id: &str,
        id: &str,
        time_to_live: &Duration,
        expiry: &Duration,
    ) -> Result<Option<Configuration>, StoreError> {
        let mut records = self.mdoc.lock().unwrap();
        let Some(c) = records.configurations.get_mut(&key(tenant_id, id)) else {
            return Ok(None);
        };
        c.time_to_live = *time_to_live;
        c.expiry = *expiry;
        let updated = c.clone();
        self.configurations
            .lock()
            .unwrap()
            .insert(updated.id.clone(), updated.lifetime());
        Ok(Some(updated))
    }

    async fn delete_configuration(&self, tenant_id: &str, id: &str) -> Result<ConfigurationDelete, StoreError> {
        let mut records = self.mdoc.lock().unwrap();
        let k = key(tenant_id, id);
        let Some(c) = records.configurations.get(&k) else {
            return Ok(ConfigurationDelete::NotFound);
        };
        if records.list_counts.get(&k).is_some_and(|n| *n > 0) {
            return Ok(ConfigurationDelete::InUse);
        }
        let claim = key(tenant_id, &c.doc_type);
        records.configurations.remove(&k);
        records.list_counts.remove(&k);
        records.doc_types.remove(&claim);
        self.configurations.lock().unwrap().remove(id);
        Ok(ConfigurationDelete::Deleted)
    }

    async fn place_mdoc(&self, entry: &Entry, mdoc: &Mdoc) -> Result<Placement, StoreError> {
        let lists = self.lists.lock().unwrap();
        let mut issuer = self.issuer.lock().unwrap();
        let mut records = self.mdoc.lock().unwrap();
        let slot = (entry.list_id.clone(), entry.idx);
        // The transaction's items, in order: the entry (its failure is a taken index, whatever
        // else failed), the record, the list.
        if issuer.entries.contains_key(&slot) {
            return Ok(Placement::IndexTaken);
        }
        let mut failed = Vec::new();
        if records.mdocs.contains_key(&mdoc.credential_id) {
            failed.push("the mDoc record exists");
        }
        if !lists.contains_key(&entry.list_id) {
            failed.push("the list does not exist");
        }
        if !failed.is_empty() {
            return Err(StoreError::Other(format!("mDoc not registered: {failed:?}")));
        }
        issuer.entries.insert(slot, entry.clone());
        records.mdocs.insert(mdoc.credential_id.clone(), mdoc.clone());
        Ok(Placement::Placed)
    }

    async fn mdoc(&self, credential_id: &str) -> Result<Option<Mdoc>, StoreError> {
        Ok(self.mdoc.lock().unwrap().mdocs.get(credential_id).cloned())
    }

    async fn delete_mdoc(&self, tenant_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        let mut records = self.mdoc.lock().unwrap();
        if records
            .mdocs
            .get(credential_id)
            .is_some_and(|m| m.tenant_id == tenant_id)
        {
            records.mdocs.remove(credential_id);
            return Ok(true);
        }
        Ok(false)
    }

    async fn tenant_lists(
        &self,
        tenant_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ListRecord>, StoreError> {
        let lists = self.lists.lock().unwrap();
        let mut own = lists
            .values()
            .filter(|s| s.list.owner.as_ref().is_some_and(|o| o.tenant_id == tenant_id))
            .filter(|s| after.is_none_or(|a| s.list.list_id.as_str() > a));
        // `lists` is ordered by id, as the adapter sorts its Scan.
        let items: Vec<ListRecord> = own.by_ref().take(limit).map(|s| s.list.clone()).collect();
        let next_after = match own.next() {
            Some(_) => items.last().map(|l| l.list_id.clone()),
            None => None,
        };
        Ok(Page { items, next_after })
    }

    async fn list(&self, list_id: &str) -> Result<Option<ListRecord>, StoreError> {
        Ok(self.lists.lock().unwrap().get(list_id).map(|s| s.list.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{IssuerStore, ListSource};

    fn configuration(tenant_id: &str, id: &str, doc_type: &str) -> Configuration {
        Configuration {
            id: id.into(),
            tenant_id: tenant_id.into(),
            doc_type: doc_type.into(),
            time_to_live: Duration {
                hours: Some(1),
                ..Duration::default()
            },
            expiry: Duration {
                days: Some(1),
                ..Duration::default()
            },
            bits: 2,
            created_at: 0,
        }
    }

    fn list(list_id: &str, tenant_id: &str, configuration_id: &str) -> ListRecord {
        ListRecord {
            list_id: list_id.into(),
            pool: format!("mdoc/{configuration_id}"),
            bits: 2,
            size: 16,
            open: true,
            created_at: 0,
            lifetime: None,
            owner: Some(ListOwner {
                tenant_id: tenant_id.into(),
                configuration_id: configuration_id.into(),
            }),
            published_iaca_id: None,
            status_horizon: None,
        }
    }

    /// One configuration per docType per tenant; pages in id order with a cursor only while more
    /// are left; a configuration with a list is in use; a deleted one frees its docType.
    #[tokio::test]
    async fn configurations_are_unique_per_doc_type_and_in_use_once_listed() {
        let store = MemLists::default();
        assert!(
            store
                .create_configuration(&configuration("a", "1", "d1"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .create_configuration(&configuration("a", "2", "d1"))
                .await
                .unwrap()
        );
        assert!(
            store
                .create_configuration(&configuration("b", "2", "d1"))
                .await
                .unwrap(),
            "another tenant's"
        );
        assert!(
            store
                .create_configuration(&configuration("a", "3", "d3"))
                .await
                .unwrap()
        );
        assert!(
            store
                .create_configuration(&configuration("a", "1", "d4"))
                .await
                .is_err(),
            "an id taken"
        );

        let page = store.configurations("a", None, 1).await.unwrap();
        assert_eq!(
            (page.items[0].id.as_str(), page.next_after.as_deref()),
            ("1", Some("1"))
        );
        let page = store.configurations("a", Some("1"), 1).await.unwrap();
        assert_eq!(
            (page.items[0].id.as_str(), page.next_after),
            ("3", None),
            "nothing after: no cursor"
        );
        assert_eq!(store.configurations("a", None, 2).await.unwrap().next_after, None);
        assert_eq!(
            store.configuration_for_doc_type("b", "d1").await.unwrap().unwrap().id,
            "2"
        );
        assert!(store.configuration("b", "1").await.unwrap().is_none(), "tenant-scoped");

        // A list needs its configuration, and keeps it from being deleted.
        assert!(store.create_list(&list("L9", "a", "9")).await.is_err());
        assert!(store.create_list(&list("L1", "a", "1")).await.unwrap());
        assert_eq!(
            store.delete_configuration("a", "1").await.unwrap(),
            ConfigurationDelete::InUse
        );
        assert_eq!(
            store.delete_configuration("b", "3").await.unwrap(),
            ConfigurationDelete::NotFound
        );
        assert_eq!(
            store.delete_configuration("a", "3").await.unwrap(),
            ConfigurationDelete::Deleted
        );
        assert!(
            store
                .create_configuration(&configuration("a", "4", "d3"))
                .await
                .unwrap(),
            "d3 is free"
        );
        assert!(store.configuration_lifetimes().await.unwrap().contains_key("4"));
        assert!(!store.configuration_lifetimes().await.unwrap().contains_key("3"));

        let updated = store
            .update_configuration("a", "4", &Duration::default(), &Duration::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.doc_type, "d3");
        assert!(
            store
                .update_configuration("b", "4", &Duration::default(), &Duration::default())
                .await
                .unwrap()
                .is_none()
        );
    }

    /// An mDoc's entry and record are written together or not at all; the record is deleted only
    /// by its tenant, and its entry stays; a tenant's lists page in id order.
    #[tokio::test]
    async fn an_mdoc_is_placed_with_its_entry_and_deleted_without_it() {
        let store = MemLists::default();
        store.create_configuration(&configuration("a", "1", "d")).await.unwrap();
        for id in ["L2", "L1", "L3"] {
            store.create_list(&list(id, "a", "1")).await.unwrap();
        }
        store.add_list("GOVUK0000000");
        let entry = |list_id: &str, idx| Entry {
            list_id: list_id.into(),
            idx,
            client_id: "mdoc:a".into(),
            issued_at: 0,
            status_expiry: 0,
            status: 0,
            revoked_at: None,
        };
        let mdoc = |id: &str, list_id: &str, idx| Mdoc {
            credential_id: id.into(),
            tenant_id: "a".into(),
            configuration_id: "1".into(),
            doc_type: "d".into(),
            list_id: list_id.into(),
            idx,
            created_at: 0,
        };
        assert_eq!(
            store.place_mdoc(&entry("L1", 5), &mdoc("m1", "L1", 5)).await.unwrap(),
            Placement::Placed
        );
        assert_eq!(
            store.place_mdoc(&entry("L1", 5), &mdoc("m2", "L1", 5)).await.unwrap(),
            Placement::IndexTaken
        );
        // A record that exists, or a list that does not: nothing is written.
        assert!(store.place_mdoc(&entry("L1", 6), &mdoc("m1", "L1", 6)).await.is_err());
        assert!(
            store
                .place_mdoc(&entry("NOPE", 6), &mdoc("m3", "NOPE", 6))
                .await
                .is_err()
        );
        assert_eq!(store.entry_count(), 1);
        assert!(store.mdoc("m3").await.unwrap().is_none());

        assert!(!store.delete_mdoc("b", "m1").await.unwrap(), "another tenant's");
        assert!(store.delete_mdoc("a", "m1").await.unwrap());
        assert!(!store.delete_mdoc("a", "m1").await.unwrap());
        assert!(store.entry("L1", 5).await.unwrap().is_some(), "the index stays taken");

        let page = store.tenant_lists("a", None, 2).await.unwrap();
        let ids: Vec<_> = page.items.iter().map(|l| l.list_id.as_str()).collect();
        assert_eq!((ids, page.next_after.as_deref()), (vec!["L1", "L2"], Some("L2")));
        let page = store.tenant_lists("a", Some("L2"), 2).await.unwrap();
        assert_eq!((page.items.len(), page.next_after), (1, None));
        assert!(store.tenant_lists("b", None, 10).await.unwrap().items.is_empty());
        // What the publisher recorded shows in the list's view.
        let token = crate::ports::PublishedToken {
            seq: 0,
            iat: 1,
            exp: 2,
            max_age: 1,
            iaca_id: Some("iaca".into()),
        };
        store.record_published("L1", &token).await.unwrap();
        assert_eq!(
            store.list("L1").await.unwrap().unwrap().published_iaca_id.as_deref(),
            Some("iaca")
        );
    }
}
