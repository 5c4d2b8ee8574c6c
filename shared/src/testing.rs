//! Test helpers over the in-memory adapters ([`crate::adapters::memory`]): publishers signing
//! with a local key, a tenant's chain of trust, and a re-signing pass with its jobs delivered.

use std::sync::Arc;

pub use crate::adapters::memory::*;
use crate::ports::Delivery;
use crate::publisher::{Publisher, ResignReport};

/// What a re-signing pass and the delivery of its jobs came to.
#[derive(Debug)]
pub struct Resigned {
    pub pass: ResignReport,
    /// Lists whose job signed a token.
    pub published: usize,
    /// Jobs that failed (handed back to the queue).
    pub failed: usize,
    /// Jobs of mDoc lists whose tenant has no signer.
    pub unsigned: usize,
    /// Each job's list and delay (seconds), in queue order.
    pub jobs: Vec<(String, u64)>,
}

/// A re-signing pass at `now`, at a signing rate that puts every job at delay 0 in small tests,
/// then the delivery of each job at its own time (`now` + its delay), as the publisher handles
/// one.
pub async fn resign(p: &Publisher, now: i64) -> Resigned {
    resign_at_rate(p, now, 10_000).await
}

/// [`resign`] at `sign_rate` KMS `Sign` calls a second.
pub async fn resign_at_rate(p: &Publisher, now: i64, sign_rate: u64) -> Resigned {
    let queue = MemResignQueue::default();
    let pass = p
        .resign_due(now, &queue, sign_rate)
        .await
        .expect("the pass reads the lists");
    let mut resigned = Resigned {
        pass,
        published: 0,
        failed: 0,
        unsigned: 0,
        jobs: Vec::new(),
    };
    let handback = MemQueue::default();
    let far = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    for (i, (job, delay)) in queue.take().into_iter().enumerate() {
        let delivery = Delivery {
            message_id: format!("resign-{i}"),
            receipt: format!("r-resign-{i}"),
            body: serde_json::to_string(&job).unwrap(),
            receive_count: 1,
        };
        let at = now + delay.as_secs() as i64;
        let report = crate::pipeline::run_jobs(p, &handback, &[delivery], || at, far).await;
        resigned.published += report.published;
        resigned.failed += report.failed.len();
        resigned.unsigned += report.unsigned;
        resigned.jobs.push((job.list_id, delay.as_secs()));
    }
    resigned
}

/// A publisher over in-memory lists and objects, signing with a fresh local key.
pub fn publisher(lists: Arc<MemLists>, objects: Arc<MemObjects>) -> Publisher {
    Publisher {
        lists,
        objects,
        history: Arc::new(MemHistory::default()),
        history_retention: 90 * 86_400,
        signer: Arc::new(crate::adapters::local_signer::LocalSigner::generate()),
        base_url: "https://status.example".into(),
        ttl: 600,
        validity: 3600,
        freshness: crate::domain::lifetime::Freshness { interval: 60, slack: 0 },
        tenant_keys: None,
    }
}

/// The signer service of tenant `tenant` (the owner of [`MemLists::add_mdoc_list`]'s lists),
/// whose managed IACA was created and activated at `now`, which issued its status list signer:
/// the real services over the in-memory store and vault.
pub async fn tenant_trust(now: i64) -> Arc<crate::mdoc::signers::SignerService> {
    let store = Arc::new(MemIacas::default());
    let vault = Arc::new(crate::adapters::local_signer::LocalVault::default());
    let base = "https://status.example".to_string();
    let iacas = crate::mdoc::iaca::IacaService::new(store.clone(), vault.clone(), base.clone());
    let p = crate::mdoc::Principal {
        tenant_id: "tenant".into(),
        role: crate::domain::tenant::Role::Admin,
    };
    let body = serde_json::json!({"commonName": "Test IACA", "country": "AU"});
    let request = crate::domain::iaca::parse_request(&body, now).expect("a managed IACA's request");
    let created = iacas.create(&p, request, now).await.expect("IACA created");
    iacas.update(&p, created.iaca, true, now).await.expect("IACA activated");
    Arc::new(crate::mdoc::signers::SignerService::new(store, vault, base))
}

/// [`publisher`] that signs tenant `tenant`'s mDoc lists with its signer from [`tenant_trust`].
pub async fn mdoc_publisher(lists: Arc<MemLists>, objects: Arc<MemObjects>, now: i64) -> Publisher {
    publisher(lists, objects).with_tenant_keys(tenant_trust(now).await)
}
