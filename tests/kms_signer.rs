//! The KMS signer against a real KMS API (LocalStack): DIGEST signing of tokens far above the
//! 4,096-byte RAW limit, verified with the key from GetPublicKey and by KMS's own Verify.

use aws_sdk_kms::{
    Client,
    primitives::Blob,
    types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use base64::Engine;
use integration_tests::localstack;
use p256::pkcs8::DecodePublicKey;
use rand::Rng;
use sha2::{Digest, Sha256};
use shared::adapters::kms_signer::KmsSigner;
use shared::domain::keys::{self, KeySet};
use shared::domain::token::{cwt, jwt};
use shared::{Bits, Expectations, Signer, SignerError, Status, StatusList, StatusListToken};

async fn client() -> Client {
    Client::new(&localstack().await)
}

async fn create_key(kms: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
    let out = kms
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .expect("CreateKey");
    out.key_metadata().unwrap().key_id().to_string()
}

/// The public key as KMS reports it, parsed independently of the signer.
async fn kms_public_key(kms: &Client, key_id: &str) -> p256::PublicKey {
    let out = kms.get_public_key().key_id(key_id).send().await.unwrap();
    p256::PublicKey::from_public_key_der(out.public_key().unwrap().as_ref()).unwrap()
}

fn big_token(sub: &str) -> StatusListToken {
    // 2^20 two-bit entries, 1 % INVALID at random positions: ~40 KB compressed.
    let mut list = StatusList::new(Bits::TWO, 1 << 20).unwrap();
    let mut rng = rand::thread_rng();
    for _ in 0..(1 << 20) / 100 {
        list.set(rng.gen_range(0..1 << 20), Status::INVALID).unwrap();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    StatusListToken {
        sub: sub.into(),
        iat: now,
        exp: Some(now + 3600),
        ttl: Some(600),
        iss: None,
        aggregation_uri: None,
        list,
    }
}

#[tokio::test]
async fn signs_large_tokens_by_digest() {
    let kms = client().await;
    let key_id = create_key(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let signer = KmsSigner::new(kms.clone(), &key_id).await.unwrap();
    let public = kms_public_key(&kms, &key_id).await;
    assert_eq!(&signer.identity().await.unwrap().public_key, &public);
    assert_eq!(
        signer.identity().await.unwrap().kid,
        keys::thumbprint(&public),
        "kid is the key's RFC 7638 thumbprint"
    );

    let sub = "https://status.example/t/kms";
    let token = big_token(sub);
    let mut trusted = KeySet::default();
    trusted.push(
        Some(keys::thumbprint(&public)),
        p256::ecdsa::VerifyingKey::from(&public),
    );
    let expect = Expectations::new(Some(sub), token.iat);

    let compact = shared::signing::jwt(&token, &signer).await.unwrap();
    assert!(
        compact.len() > 4096,
        "JWT is {} bytes: above the KMS RAW limit",
        compact.len()
    );
    let verified = jwt::verify(&compact, &trusted, &expect).unwrap();
    assert_eq!(verified.token.list, token.list);

    // KMS itself agrees: Verify over the same digest with the DER form of our raw signature.
    let (input, sig) = compact.rsplit_once('.').unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
    let der = p256::ecdsa::Signature::from_slice(&raw).unwrap().to_der();
    let out = kms
        .verify()
        .key_id(&key_id)
        .message(Blob::new(Sha256::digest(input.as_bytes()).to_vec()))
        .message_type(MessageType::Digest)
        .signature(Blob::new(der.as_bytes().to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(out.signature_valid());

    let bytes = shared::signing::cwt(&token, &signer).await.unwrap();
    assert!(bytes.len() > 4096, "CWT is {} bytes", bytes.len());
    let verified = cwt::verify(&bytes, &trusted, &expect).unwrap();
    assert_eq!(
        verified.kid.as_deref(),
        Some(signer.identity().await.unwrap().kid.as_str())
    );
    assert_eq!(verified.token.list, token.list);
}

#[tokio::test]
async fn refuses_keys_that_cannot_sign_es256() {
    let kms = client().await;
    for (spec, usage) in [
        (KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt),
        (KeySpec::Rsa2048, KeyUsageType::SignVerify),
        (KeySpec::EccNistP384, KeyUsageType::SignVerify),
    ] {
        let key_id = create_key(&kms, spec.clone(), usage).await;
        match KmsSigner::new(kms.clone(), &key_id).await {
            Err(SignerError::Key(_)) => {}
            Err(other) => panic!("{spec:?}: {other}"),
            Ok(_) => panic!("{spec:?} accepted"),
        }
    }
    match KmsSigner::new(kms.clone(), "alias/does-not-exist").await {
        Err(SignerError::Key(msg)) => assert!(msg.contains("NotFound"), "{msg}"),
        other => panic!("{:?}", other.err()),
    }
}

#[tokio::test]
async fn unreachable_kms_is_unavailable_not_a_key_error() {
    let config = integration_tests::unreachable().await;
    let kms = Client::new(&config);
    match KmsSigner::new(kms, "any").await {
        Err(SignerError::Unavailable(_)) => {}
        other => panic!("{:?}", other.err()),
    }
}
