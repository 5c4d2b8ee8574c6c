//! [`TokenHistory`]: the version of a token issued last at or before a time, per object key.

use std::sync::Arc;

use super::{Ids, now};
use crate::ports::{TokenHistory, TokenVersion};

/// Every case of this module, one test each, on the index `make().await` gives (an
/// `Arc<impl TokenHistory>`).
#[macro_export]
macro_rules! token_history_contract {
    ($make:expr) => {
        $crate::__contract_cases!(
            history,
            $make,
            [
                the_version_issued_by_a_time_is_found,
                a_version_recorded_again_is_replaced
            ]
        );
    };
}

fn version(iat: i64, id: &str) -> TokenVersion {
    TokenVersion {
        iat,
        exp: iat + 3_600,
        version_id: id.to_string(),
    }
}

pub async fn the_version_issued_by_a_time_is_found<S: TokenHistory + ?Sized>(history: Arc<S>, ids: Ids) {
    let (k, other) = (format!("t/{}", ids.id("list")), format!("t/{}", ids.id("list")));
    let t = now();
    let retain = t + 86_400;
    // Recorded out of order: the index orders them by iat.
    for (iat, id) in [(t + 200, "v2"), (t, "v0"), (t + 100, "v1")] {
        history.record(&k, &version(iat, id), retain).await.unwrap();
    }
    history.record(&other, &version(t + 150, "w"), retain).await.unwrap();
    history
        .record(&format!("{k}.cwt"), &version(t + 50, "c"), retain)
        .await
        .unwrap();
    let at = |time: i64| {
        let (history, k) = (history.clone(), k.clone());
        async move { history.issued_by(&k, time).await.unwrap().map(|v| v.version_id) }
    };
    assert_eq!(at(t - 1).await, None, "nothing issued yet");
    assert_eq!(at(t).await.as_deref(), Some("v0"), "issued at that second");
    assert_eq!(at(t + 99).await.as_deref(), Some("v0"));
    assert_eq!(
        at(t + 150).await.as_deref(),
        Some("v1"),
        "another key's versions do not count"
    );
    assert_eq!(at(t + 10_000).await.as_deref(), Some("v2"));
    assert_eq!(
        history.issued_by(&k, t + 100).await.unwrap(),
        Some(version(t + 100, "v1")),
        "the whole record"
    );
    assert_eq!(
        history
            .issued_by(&format!("t/{}", ids.id("list")), t + 10)
            .await
            .unwrap(),
        None
    );
}

pub async fn a_version_recorded_again_is_replaced<S: TokenHistory + ?Sized>(history: Arc<S>, ids: Ids) {
    let k = format!("t/{}", ids.id("list"));
    let t = now();
    history.record(&k, &version(t, "lost-answer"), t + 60).await.unwrap();
    // One token per iat: a retry that found its write in place records it once more.
    history.record(&k, &version(t, "in-place"), t + 90).await.unwrap();
    assert_eq!(history.issued_by(&k, t).await.unwrap(), Some(version(t, "in-place")));
}
