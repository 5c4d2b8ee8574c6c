//! Publishing failures against LocalStack: a KMS key that stops signing leaves the last good token
//! in place, the job goes back to the FIFO queue with a backoff, and a later delivery publishes.
//! Its own test binary, so no pipeline of another test consumes this test's queue or stream.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use integration_tests::*;
use serde_json::json;
use shared::adapters::kms_signer::KmsSigner;
use shared::adapters::sqs_queue::SqsQueue;
use shared::domain::keys::KeySet;
use shared::domain::token::{self, TokenFormat};
use shared::pipeline::{EntryChange, Forwarder, run_jobs};
use shared::ports::Signer;
use shared::publisher::Publisher;
use shared::{Expectations, Status};

#[tokio::test]
async fn a_kms_outage_keeps_the_last_good_token_and_a_retry_publishes() {
    let sdk = localstack().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // A key and a FIFO queue of this test's own: disabling the key touches nobody else.
    let key_id = new_kms_key(&kms).await;
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("faults-{}.fifo", &jti()[..12]))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue = Arc::new(SqsQueue::new(&sdk, &queue_url));

    let mut config = config();
    config.list_pool = format!("faults-{}", jti());
    let h = Harness::with_config(config).await;
    let signer = Arc::new(KmsSigner::new(kms.clone(), key_id.clone()).await.unwrap());
    let publisher = Publisher {
        lists: h.app.publisher.lists.clone(),
        objects: h.app.publisher.objects.clone(),
        signer: signer.clone(),
        base_url: base_url().into(),
        ttl: 600,
        validity: 3600,
    };
    let forwarder = Forwarder {
        lists: h.app.publisher.lists.clone(),
        queue: queue.clone(),
    };

    // Issue (the new list's empty token is published), then revoke.
    let (idx, uri) = h.issue_one().await;
    let list_id = list_id_of(&uri);
    let path = uri.strip_prefix(base_url()).unwrap().to_string();
    let (_, _, good) = h.get(&path, None).await;
    let claims = json!({"iss": h.client_id, "iat": now(), "jti": jti(), "idx": idx, "uri": uri});
    assert_eq!(
        h.post_jwt("/revoke", h.issuer.sign(&h.issuer.header(), &claims))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    // What the stream would deliver for that revocation.
    let change = EntryChange {
        list_id: list_id.clone(),
        old_status: Some(0),
        new_status: Some(1),
    };
    let jobs = forwarder.forward(&[change]).await.unwrap();
    assert_eq!(jobs.len(), 1);

    // KMS refuses: nothing is written, the job fails and is hidden for its backoff.
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let deliveries = queue.receive(Duration::from_secs(2)).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    let report = run_jobs(&publisher, queue.as_ref(), &deliveries, now).await;
    assert_eq!(report.failed, vec![deliveries[0].message_id.clone()]);
    assert_eq!(report.published, 0);
    let (status, _, served) = h.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, good, "the last good token is still served");
    assert!(
        queue.receive(Duration::from_secs(1)).await.unwrap().is_empty(),
        "backing off, not redelivered at once"
    );

    // KMS is back: the redelivered job publishes, signed by the new key.
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    let redelivered = eventually(Duration::from_secs(20), "the job is redelivered", || async {
        let d = queue.receive(Duration::from_secs(1)).await.unwrap();
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(redelivered[0].receive_count, 2);
    let report = run_jobs(&publisher, queue.as_ref(), &redelivered, now).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.published, 1);
    queue.delete(&redelivered.iter().collect::<Vec<_>>()).await.unwrap();
    // Re-delivery of a job already done is harmless: nothing is rendered.
    let again = run_jobs(&publisher, queue.as_ref(), &redelivered, now).await;
    assert_eq!((again.published, again.already_published), (0, 1));

    let (status, _, body) = h.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    let keys = KeySet::single(p256::ecdsa::VerifyingKey::from(*signer.public_key()));
    let v = token::verify(&body, &keys, &Expectations::new(Some(&uri), now())).unwrap();
    assert_eq!(v.format, TokenFormat::Jwt);
    assert_eq!(v.token.list.get(idx).unwrap(), Status::INVALID);
    sqs.delete_queue().queue_url(&queue_url).send().await.unwrap();
}

#[tokio::test]
async fn an_unreadable_job_fails_and_is_left_for_the_dead_letter_queue() {
    let sdk = localstack().await;
    let h = Harness::new().await;
    let queue = SqsQueue::new(&sdk, stack_env("PUBLISH_QUEUE_URL"));
    let delivery = shared::pipeline::Delivery {
        message_id: "m-1".into(),
        receipt: "not-a-receipt".into(),
        body: "{\"listId\": 7}".into(),
        receive_count: 1,
    };
    let report = run_jobs(&h.app.publisher, &queue, &[delivery], now).await;
    assert_eq!(report.failed, vec!["m-1".to_string()]);
    assert_eq!(report.published + report.already_published, 0);
}
