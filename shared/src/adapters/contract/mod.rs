//! The store ports' contract: one suite of cases that every implementation of a port passes, the
//! in-memory twins ([`crate::adapters::memory`]) and the AWS adapters alike. Where the two
//! disagree, the AWS adapter is the reference and the twin is fixed.
//!
//! Each case is a `pub async fn` of its port's module, taking what it tests and an [`Ids`] (names
//! unique to the run, so the cases repeat on one deployed stack and run side by side), and panics
//! on a broken rule. The `*_contract!` macros expand to one `#[tokio::test]` per case, so a
//! failure names its case and its implementation:
//!
//! - in-memory: `cargo test -p shared --lib contract` (the tests at the end of this module);
//! - AWS on LocalStack: `tests/contract.rs` (the `contract` feature of this crate), with the
//!   stack's environment exported (`infra/stack/env.sh`).
//!
//! The cases leave other writers on the same stack room: the lists whose publishing record a case
//! reads are retired ones (closed, past their horizon), which a re-signing pass leaves alone.

pub mod history;
pub mod iacas;
pub mod issuer;
pub mod lists;
pub mod mdoc;
pub mod objects;
pub mod queues;
pub mod tenants;

use std::sync::atomic::{AtomicU64, Ordering};

/// Names unique to one run of one case: `<what>-<run>-<n>`, where `run` is random and `n` counts
/// up, so the names a case makes sort in the order it made them.
pub struct Ids {
    run: String,
    next: AtomicU64,
}

impl Ids {
    pub fn new() -> Self {
        let run = uuid::Uuid::new_v4().simple().to_string();
        Ids {
            run: run[..12].to_string(),
            next: AtomicU64::new(0),
        }
    }

    /// A new name for a `what` (a list, a tenant, a key...).
    pub fn id(&self, what: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{what}-{}-{n:04}", self.run)
    }
}

impl Default for Ids {
    fn default() -> Self {
        Ids::new()
    }
}

/// Seconds since the epoch (a stored time near the real one, as the services write).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How many tasks a race case sets against each other.
pub const RACERS: usize = 12;

/// Retries a store call while it answers [`crate::ports::StoreError::Unavailable`], as callers do
/// (a 503 the client retries): DynamoDB cancels a transaction that meets another one on the same
/// item (`TransactionConflict`), which a race provokes on purpose.
pub async fn retrying<T, F, Fut>(mut call: F) -> Result<T, crate::ports::StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::ports::StoreError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(crate::ports::StoreError::Unavailable(_)) if attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// One `#[tokio::test]` per case: `make` is an async closure giving what the cases take; each
/// test calls `$crate::adapters::contract::<module>::<case>(make().await, Ids::new())`.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_cases {
    ($module:ident, $make:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let under_test = ($make)().await;
                $crate::adapters::contract::$module::$case(under_test, $crate::adapters::contract::Ids::new()).await;
            }
        )*
    };
}

#[cfg(test)]
mod memory {
    //! Every case on the in-memory twins.
    use std::sync::Arc;

    use crate::adapters::memory::*;

    mod issuer {
        use super::*;
        crate::issuer_store_contract!(|| async { Arc::new(MemLists::default()) });
    }

    mod lists {
        use super::*;
        crate::list_source_contract!(|| async { Arc::new(MemLists::default()) });
    }

    mod mdoc {
        use super::*;
        crate::mdoc_store_contract!(|| async { Arc::new(MemLists::default()) });
    }

    mod tenants {
        use super::*;
        crate::tenant_store_contract!(|| async { Arc::new(MemTenants::default()) });
    }

    mod iacas {
        use super::*;
        crate::iaca_store_contract!(|| async { Arc::new(MemIacas::default()) });
    }

    mod objects {
        use super::*;
        crate::object_store_contract!(|| async { Arc::new(MemObjects::default()) });
    }

    mod history {
        use super::*;
        crate::token_history_contract!(|| async { Arc::new(MemHistory::default()) });
    }

    mod queues {
        use super::*;
        use crate::adapters::contract::queues::{PublishQueueUnderTest, ResignQueueUnderTest};

        crate::publish_queue_contract!(|| async {
            let queue = Arc::new(MemQueue::default());
            PublishQueueUnderTest {
                queue: queue.clone(),
                probe: queue,
            }
        });
        crate::resign_queue_contract!(|| async {
            let queue = Arc::new(MemResignQueue::default());
            ResignQueueUnderTest {
                queue: queue.clone(),
                probe: queue,
            }
        });
    }
}
