//! The deployment test: the data plane deployed from template.yaml to LocalStack (by
//! tests/run-integration.sh) has the properties the template promises, and the service runs on
//! exactly those resources.

use aws_sdk_dynamodb::types::{KeyType, StreamViewType, TimeToLiveStatus};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use aws_sdk_s3::types::BucketVersioningStatus;
use integration_tests::{localstack, stack_env};

#[tokio::test]
async fn tables_are_keyed_streamed_and_expiring_as_declared() {
    let ddb = aws_sdk_dynamodb::Client::new(&localstack().await);
    let describe = |name: String| {
        let ddb = ddb.clone();
        async move {
            ddb.describe_table()
                .table_name(name)
                .send()
                .await
                .unwrap()
                .table
                .unwrap()
        }
    };
    let entries = describe(stack_env("ENTRIES_TABLE")).await;
    let keys: Vec<_> = entries
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("listId".to_string(), KeyType::Hash),
            ("idx".to_string(), KeyType::Range)
        ]
    );
    assert!(
        entries.stream_specification().is_none_or(|s| !s.stream_enabled()),
        "issuing streams nothing"
    );
    // The statuses table: keyed like the entries, and streamed with old and new images (the
    // forwarder compares statuses).
    let statuses = describe(stack_env("STATUSES_TABLE")).await;
    assert_eq!(statuses.key_schema().len(), 2);
    let stream = statuses.stream_specification().expect("statuses table has a stream");
    assert!(stream.stream_enabled());
    assert_eq!(stream.stream_view_type(), Some(&StreamViewType::NewAndOldImages));

    // Configurations: (tenantId, sk), so a tenant's configurations are one Query.
    assert_eq!(describe(stack_env("CONFIGURATIONS_TABLE")).await.key_schema().len(), 2);
    for table in [
        "CLIENTS_TABLE",
        "LISTS_TABLE",
        "IDEMPOTENCY_TABLE",
        "TENANTS_TABLE",
        "MDOCS_TABLE",
    ] {
        let t = describe(stack_env(table)).await;
        assert_eq!(t.key_schema().len(), 1, "{table}");
        assert_eq!(
            t.billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str()),
            Some("PAY_PER_REQUEST"),
            "{table}"
        );
    }
    let ttl = ddb
        .describe_time_to_live()
        .table_name(stack_env("IDEMPOTENCY_TABLE"))
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expiresAt"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn token_bucket_is_versioned_and_private() {
    let config = localstack().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = stack_env("TOKENS_BUCKET");
    let v = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let pab = s3.get_public_access_block().bucket(&bucket).send().await.unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.block_public_policy(),
            pab.ignore_public_acls(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
}

#[tokio::test]
async fn signing_key_is_p256_and_the_service_publishes_it() {
    let kms = aws_sdk_kms::Client::new(&localstack().await);
    let key = kms
        .describe_key()
        .key_id(stack_env("SIGNING_KEY_ID"))
        .send()
        .await
        .unwrap();
    let meta = key.key_metadata().unwrap();
    assert_eq!(meta.key_spec(), Some(&KeySpec::EccNistP256));
    assert_eq!(meta.key_usage(), Some(&KeyUsageType::SignVerify));
    let aliases = kms.list_aliases().key_id(meta.key_id()).send().await.unwrap();
    assert!(
        aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name().is_some_and(|n| n.starts_with("alias/statuslist-")))
    );

    // The service, wired from the same environment make run uses, serves that key.
    let app = shared::app::App::from_env()
        .await
        .expect("App::from_env on the deployed stack");
    let (status, headers, body) = integration_tests::get_via(
        &shared::routes::router(app.clone(), None),
        "/.well-known/jwks.json",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public, max-age=")
    );
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&body).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(
        jwks.keys[0].common.key_id.as_deref(),
        Some(app.signer.identity().await.unwrap().kid.as_str())
    );
    let published = shared::domain::keys::key_from_jwk(&jwks.keys[0]).unwrap();
    assert_eq!(
        p256::PublicKey::from(&published),
        app.signer.identity().await.unwrap().public_key
    );
}

#[tokio::test]
async fn the_publish_queue_is_fifo_with_a_dead_letter_queue() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws_sdk_sqs::Client::new(&localstack().await);
    let url = stack_env("PUBLISH_QUEUE_URL");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(attrs[&A::FifoQueue], "true");
    assert_eq!(attrs[&A::ContentBasedDeduplication], "false");
    let redrive: serde_json::Value = serde_json::from_str(&attrs[&A::RedrivePolicy]).unwrap();
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "8");
    let dlq_arn = redrive["deadLetterTargetArn"].as_str().unwrap();
    assert!(dlq_arn.ends_with("-publish-dlq.fifo"), "{dlq_arn}");
    let dlq_name = dlq_arn.rsplit(':').next().unwrap();
    let dlq_url = sqs.get_queue_url().queue_name(dlq_name).send().await.unwrap();
    let dlq = sqs
        .get_queue_attributes()
        .queue_url(dlq_url.queue_url().unwrap())
        .attribute_names(A::FifoQueue)
        .send()
        .await
        .unwrap();
    assert_eq!(dlq.attributes().unwrap()[&A::FifoQueue], "true");
    // The forwarder has no on-failure destination: it retries until the batch goes through
    // (a destination would receive only the batch's metadata, and the change would be lost).
    let stage_prefix = dlq_name.trim_end_matches("-publish-dlq.fifo");
    let gone = sqs
        .get_queue_url()
        .queue_name(format!("{stage_prefix}-forwarder-dlq"))
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the forwarder's dead-letter queue is gone from the template"
    );
}
