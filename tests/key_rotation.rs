//! Key rotation against LocalStack KMS: the service pointed at a new key signs new tokens with
//! it, and its JWKS keeps the retired key, so tokens signed before the rotation still verify.

use axum::http::StatusCode;
use integration_tests::*;
use shared::app::App;
use shared::domain::keys::KeySet;
use shared::domain::token::{self, TokenFormat};
use shared::publisher::object_key;
use shared::{Expectations, Status};

async fn jwks(app: &std::sync::Arc<App>) -> jsonwebtoken::jwk::JwkSet {
    let (status, _, body) = get_via(
        &shared::routes::router(app.clone(), None),
        "/.well-known/jwks.json",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_and_the_old_one_stays_published() {
    ensure_pipeline(); // it publishes the new list's first token, with the stack's key
    let sdk = localstack().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let new_key = new_kms_key(&kms).await;
    let old_key = stack_env("SIGNING_KEY_ID");

    // Before: a list published with the stack's key.
    let mut before_config = config();
    before_config.list_pool = format!("rotation-{}", jti());
    let h = Harness::with_config(before_config.clone()).await;
    let (idx, uri) = h.issue_one().await;
    let list_id = list_id_of(&uri);
    let old_token = eventually(PUBLISH_WAIT, "the new list's first token", || async {
        let key = object_key(&list_id, TokenFormat::Cwt);
        h.app.publisher.objects.get(&key).await.unwrap().map(|o| o.body)
    })
    .await;
    let old_kid = h.app.signer.identity().await.unwrap().kid.clone();

    // The rotation: the new key signs, the old one is retired.
    let mut rotated = before_config;
    rotated.signing_key_id = new_key;
    rotated.retired_signing_key_ids = vec![old_key];
    let app = App::from_config(rotated).await.unwrap();
    let new_kid = app.signer.identity().await.unwrap().kid.clone();
    assert_ne!(new_kid, old_kid);
    let set = jwks(&app).await;
    let kids: Vec<_> = set.keys.iter().map(|k| k.common.key_id.clone().unwrap()).collect();
    assert_eq!(kids, vec![new_kid.clone(), old_kid.clone()], "the signing key first");
    let keys = KeySet::from_jwks(&set);

    // A token from before the rotation still verifies against the published set.
    let v = token::verify(&old_token, &keys, &Expectations::new(Some(&uri), now())).unwrap();
    assert_eq!(v.kid.as_deref(), Some(old_kid.as_str()));
    // A new publish is signed with the new key, in both formats.
    app.publisher.publish(&list_id, now() + 1).await.unwrap();
    for format in [TokenFormat::Jwt, TokenFormat::Cwt] {
        let body = app
            .publisher
            .objects
            .get(&object_key(&list_id, format))
            .await
            .unwrap()
            .unwrap()
            .body;
        let v = token::verify(&body, &keys, &Expectations::new(Some(&uri), now())).unwrap();
        assert_eq!(v.kid.as_deref(), Some(new_kid.as_str()), "{format:?}");
        assert_eq!(v.token.list.get(idx).unwrap(), Status::VALID);
        // ...and not by a verifier that only knows the old key.
        let old_only = KeySet::from_jwks(&jsonwebtoken::jwk::JwkSet {
            keys: set.keys[1..].to_vec(),
        });
        assert!(token::verify(&body, &old_only, &Expectations::new(Some(&uri), now())).is_err());
    }
}
