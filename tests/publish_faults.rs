//! Publishing failures on the deployed shape: KMS refusing the publisher function (injected
//! between its process and LocalStack) leaves the last good token in place, the job goes back to
//! the FIFO queue with a backoff, and a later delivery publishes. An unreadable job fails.
//! Its own test binary, so no other test's publishes use up the injected faults.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use integration_tests::*;
use shared::domain::keys::KeySet;
use shared::domain::token::{self, TokenFormat};
use shared::{Expectations, Status};

async fn faults_injected() -> u64 {
    topology_stats().await["faults_injected"].as_u64().unwrap()
}

#[tokio::test]
async fn a_kms_outage_keeps_the_last_good_token_and_a_retry_publishes() {
    ensure_pipeline();
    let h = Harness::new().await;
    let (idx, uri) = h.issue_one().await;
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap().to_string();
    let good = eventually(PUBLISH_WAIT, "the new list's first token", || async {
        let (status, _, body) = h.get(&path, None).await;
        (status == StatusCode::OK).then_some(body)
    })
    .await;

    // KMS refuses the publisher's next 6 signatures (a disabled key: not retried by the SDK).
    // Each delivery makes 3 attempts in-process, so two deliveries fail and the third publishes.
    let before = faults_injected().await;
    inject_fault("PublisherFunction", "kms:Sign", 6, 400, "DisabledException").await;
    h.revoke_one(idx, &uri).await;
    eventually(PUBLISH_WAIT, "the publisher meets the refusals", || async {
        (faults_injected().await >= before + 3).then_some(())
    })
    .await;
    let first_refusal = Instant::now();
    let (status, _, served) = h.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, good, "the last good token is still served");

    // KMS signs again: a redelivered job publishes the revocation.
    let (_, _, body) = h.get("/.well-known/jwks.json", None).await;
    let keys = KeySet::from_jwks(&serde_json::from_slice(&body).unwrap());
    eventually(
        Duration::from_secs(60),
        "the revocation published after the outage",
        || async {
            let (_, _, body) = h.get(&path, None).await;
            let v = token::verify(&body, &keys, &Expectations::new(Some(&uri), now())).ok()?;
            assert_eq!(v.format, TokenFormat::Jwt);
            (v.token.list.get(idx).ok()? == Status::INVALID).then_some(())
        },
    )
    .await;
    assert_eq!(
        faults_injected().await,
        before + 6,
        "two deliveries failed before one published"
    );
    // The queue hid the failed job for its backoff (2 s, then 4 s) before redelivering it.
    assert!(
        first_refusal.elapsed() >= Duration::from_secs(2),
        "{:?}",
        first_refusal.elapsed()
    );
}

#[tokio::test]
async fn an_unreadable_job_fails_and_is_left_for_the_dead_letter_queue() {
    let sdk = localstack().await;
    let h = Harness::new().await;
    let queue = shared::adapters::sqs_queue::SqsQueue::new(&sdk, stack_env("PUBLISH_QUEUE_URL"));
    let delivery = shared::ports::Delivery {
        message_id: "m-1".into(),
        receipt: "not-a-receipt".into(),
        body: "{\"listId\": 7}".into(),
        receive_count: 1,
    };
    let report = shared::pipeline::run_jobs(
        &h.app.publisher,
        &queue,
        &[delivery],
        now,
        shared::pipeline::batch_deadline(std::time::Duration::from_secs(60)),
    )
    .await;
    assert_eq!(report.failed, vec!["m-1".to_string()]);
    assert_eq!(report.published + report.already_published, 0);
}
