//! [`Signer`] backed by an AWS KMS `ECC_NIST_P256` / `SIGN_VERIFY` key.
//!
//! KMS signs a message of at most 4,096 bytes with `MessageType=RAW`; a 2^20-entry list token
//! is larger, so we hash locally and send the 32-byte SHA-256 digest with
//! `MessageType=DIGEST` and `ECDSA_SHA_256`. KMS answers with a DER `ECDSA-Sig-Value`, which
//! the `p256`/`ecdsa` crates turn into the raw `r || s` that JWS and COSE carry.

use async_trait::async_trait;
use aws_sdk_kms::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    primitives::Blob,
    types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use p256::{
    PublicKey,
    ecdsa::{VerifyingKey, signature::hazmat::PrehashVerifier},
    pkcs8::DecodePublicKey,
};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::ports::{KeyIdentity, Signature, Signer, SignerError};

/// Signs with a KMS key. Building one makes no call: the public key is read (GetPublicKey) and
/// checked on first use, then kept for the life of the process, so a cold start pays no KMS
/// round trip and a function that never signs nor publishes keys never asks for it.
pub struct KmsSigner {
    client: Client,
    key_id: String,
    key: OnceCell<PublicHalf>,
}

/// The key's identity and the verifying key that checks every signature KMS returns.
struct PublicHalf {
    identity: KeyIdentity,
    verifying: VerifyingKey,
}

/// Throttling, timeouts and unreachable endpoints may pass; anything else is a key problem.
pub(crate) fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(err: SdkError<E>) -> SignerError {
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            SignerError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("Unknown");
            let message = e.err().message().unwrap_or("");
            if matches!(
                code,
                "ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException"
            ) || e.raw().status().is_server_error()
            {
                SignerError::Unavailable(format!("{code}: {message}"))
            } else {
                SignerError::Key(format!("{code}: {message}"))
            }
        }
        _ => SignerError::Unavailable(format!("{err:?}")),
    }
}

impl KmsSigner {
    /// A signer for `key_id` (key id, ARN or alias) that reads its public key on first use. No
    /// network call is made here.
    pub fn lazy(client: Client, key_id: impl Into<String>) -> Self {
        KmsSigner {
            client,
            key_id: key_id.into(),
            key: OnceCell::new(),
        }
    }

    /// [`KmsSigner::lazy`], then reads and checks the public key now: for callers that want a
    /// misconfigured key to fail at once (the CLI, tests).
    pub async fn new(client: Client, key_id: impl Into<String>) -> Result<Self, SignerError> {
        let signer = Self::lazy(client, key_id);
        signer.identity().await?;
        Ok(signer)
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public half, fetched once. Concurrent first callers wait for a single GetPublicKey; a
    /// failure is not kept, so the next call asks again.
    async fn public_half(&self) -> Result<&PublicHalf, SignerError> {
        self.key.get_or_try_init(|| self.fetch_public_half()).await
    }

    /// Reads the key's public half (GetPublicKey) and derives the `kid` from it, so the kid is
    /// stable for the key and identical in JWTs, CWTs and our JWKS.
    async fn fetch_public_half(&self) -> Result<PublicHalf, SignerError> {
        let key_id = &self.key_id;
        let out = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(classify)?;
        if out.key_spec() != Some(&KeySpec::EccNistP256) {
            return Err(SignerError::Key(format!(
                "{key_id} is {:?}, not ECC_NIST_P256",
                out.key_spec()
            )));
        }
        if out.key_usage() != Some(&KeyUsageType::SignVerify) {
            return Err(SignerError::Key(format!("{key_id} is not a SIGN_VERIFY key")));
        }
        let der = out
            .public_key()
            .ok_or_else(|| SignerError::Key("GetPublicKey returned no key".into()))?;
        let public = PublicKey::from_public_key_der(der.as_ref())
            .map_err(|e| SignerError::Key(format!("unreadable public key: {e}")))?;
        Ok(PublicHalf {
            verifying: VerifyingKey::from(&public),
            identity: KeyIdentity::of(public),
        })
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn identity(&self) -> Result<&KeyIdentity, SignerError> {
        Ok(&self.public_half().await?.identity)
    }

    async fn sign(&self, message: &[u8]) -> Result<Signature, SignerError> {
        // The verifying key is needed for the self-check below; a key we cannot read is not
        // signed with.
        let key = self.public_half().await?;
        let digest = Sha256::digest(message);
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(classify)?;
        let der = out
            .signature()
            .ok_or_else(|| SignerError::Key("Sign returned no signature".into()))?;
        let sig = p256::ecdsa::Signature::from_der(der.as_ref())
            .map_err(|e| SignerError::Key(format!("KMS signature is not DER ECDSA-Sig-Value: {e}")))?;
        // Low-S form: some verifiers insist on it, and it is equally valid for everyone else.
        let sig = sig.normalize_s().unwrap_or(sig);
        // A signature that does not verify must never be published; catching it here costs
        // ~100 µs and guards against a misbehaving endpoint (e.g. one that re-hashes digests).
        key.verifying
            .verify_prehash(&digest, &sig)
            .map_err(|_| SignerError::Key("KMS returned a signature that does not verify".into()))?;
        Ok(Signature {
            raw: sig.to_bytes().into(),
            kid: key.identity.kid.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use axum::http::{HeaderMap, StatusCode};
    use base64::{Engine, engine::general_purpose::STANDARD};
    use p256::ecdsa::{SigningKey, signature::hazmat::PrehashSigner};
    use p256::pkcs8::EncodePublicKey;
    use serde_json::{Value, json};

    use super::*;
    use crate::adapters::aws;
    use crate::domain::keys;

    async fn client(endpoint: &str) -> Client {
        Client::new(&aws::test_config(endpoint).await)
    }

    #[tokio::test]
    async fn building_makes_no_call_and_an_unreachable_kms_is_unavailable_on_use() {
        let signer = KmsSigner::lazy(client(aws::UNREACHABLE).await, "alias/signing");
        assert_eq!(signer.key_id(), "alias/signing");
        assert!(matches!(signer.identity().await, Err(SignerError::Unavailable(_))));
        assert!(matches!(
            signer.sign(b"message").await,
            Err(SignerError::Unavailable(_))
        ));
        // The eager constructor reads the key at once, and fails the same way.
        assert!(matches!(
            KmsSigner::new(client(aws::UNREACHABLE).await, "alias/signing").await,
            Err(SignerError::Unavailable(_))
        ));
    }

    /// A KMS stand-in holding one P-256 key: GetPublicKey (failing the first `fail_first` calls
    /// with KMSInternalException, slowly, so that callers overlap) and DIGEST Sign.
    struct FakeKms {
        key: SigningKey,
        key_spec: &'static str,
        fail_first: usize,
        get_public_key: AtomicUsize,
        sign: AtomicUsize,
    }

    impl FakeKms {
        fn new(key_spec: &'static str, fail_first: usize) -> Arc<Self> {
            Arc::new(FakeKms {
                key: SigningKey::random(&mut rand::rngs::OsRng),
                key_spec,
                fail_first,
                get_public_key: AtomicUsize::new(0),
                sign: AtomicUsize::new(0),
            })
        }

        fn public_key(&self) -> PublicKey {
            PublicKey::from(self.key.verifying_key())
        }

        async fn answer(&self, headers: HeaderMap, body: Value) -> (StatusCode, String) {
            let target = headers["x-amz-target"].to_str().unwrap();
            let (status, body) = match target {
                "TrentService.GetPublicKey" => {
                    let n = self.get_public_key.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if n < self.fail_first {
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            json!({"__type": "KMSInternalException", "message": "try again"}),
                        )
                    } else {
                        let der = self.public_key().to_public_key_der().unwrap();
                        (
                            StatusCode::OK,
                            json!({
                                "KeyId": body["KeyId"],
                                "KeySpec": self.key_spec,
                                "KeyUsage": "SIGN_VERIFY",
                                "PublicKey": STANDARD.encode(der.as_bytes()),
                                "SigningAlgorithms": ["ECDSA_SHA_256"],
                            }),
                        )
                    }
                }
                "TrentService.Sign" => {
                    self.sign.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(body["MessageType"], "DIGEST");
                    let digest = STANDARD.decode(body["Message"].as_str().unwrap()).unwrap();
                    let sig: p256::ecdsa::Signature = self.key.sign_prehash(&digest).unwrap();
                    (
                        StatusCode::OK,
                        json!({
                            "KeyId": body["KeyId"],
                            "Signature": STANDARD.encode(sig.to_der().as_bytes()),
                            "SigningAlgorithm": "ECDSA_SHA_256",
                        }),
                    )
                }
                other => panic!("unexpected KMS call {other}"),
            };
            (status, body.to_string())
        }

        /// Serves the stand-in on a loopback port; returns its endpoint.
        async fn serve(self: &Arc<Self>) -> String {
            let kms = self.clone();
            let app = axum::Router::new().route(
                "/",
                axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                    let kms = kms.clone();
                    async move {
                        let body: Value = serde_json::from_slice(&body).unwrap();
                        let (status, body) = kms.answer(headers, body).await;
                        (status, [("content-type", "application/x-amz-json-1.1")], body)
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("http://{addr}")
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_public_key_is_read_once_on_first_use_and_a_failure_is_retried() {
        let kms = FakeKms::new("ECC_NIST_P256", 1);
        let signer = Arc::new(KmsSigner::lazy(client(&kms.serve().await).await, "alias/signing"));
        assert_eq!(
            kms.get_public_key.load(Ordering::SeqCst),
            0,
            "nothing read at construction"
        );

        // The first read fails (KMS internal error): reported, and not kept.
        assert!(matches!(signer.identity().await, Err(SignerError::Unavailable(_))));
        assert_eq!(kms.get_public_key.load(Ordering::SeqCst), 1);

        // Concurrent first uses after it make one call between them.
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let signer = signer.clone();
                tokio::spawn(async move { signer.identity().await.cloned() })
            })
            .collect();
        for call in calls {
            let identity = call.await.unwrap().unwrap();
            assert_eq!(identity.public_key, kms.public_key());
            assert_eq!(identity.kid, keys::thumbprint(&kms.public_key()));
        }
        assert_eq!(kms.get_public_key.load(Ordering::SeqCst), 2);

        // Signing uses the cached key for its self-check and names its kid.
        let signature = signer.sign(b"a status list token").await.unwrap();
        assert_eq!(signature.kid, keys::thumbprint(&kms.public_key()));
        let sig = p256::ecdsa::Signature::from_slice(&signature.raw).unwrap();
        VerifyingKey::from(&kms.public_key())
            .verify_prehash(&Sha256::digest(b"a status list token"), &sig)
            .unwrap();
        assert_eq!(kms.get_public_key.load(Ordering::SeqCst), 2);
        assert_eq!(kms.sign.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn signing_reads_the_key_first_and_never_signs_with_an_unusable_one() {
        let kms = FakeKms::new("ECC_NIST_P256", 0);
        let signer = KmsSigner::lazy(client(&kms.serve().await).await, "alias/signing");
        // sign() as the first use: the key is read, then KMS signs.
        let signature = signer.sign(b"first").await.unwrap();
        assert_eq!(signature.kid, keys::thumbprint(&kms.public_key()));
        assert_eq!(
            (
                kms.get_public_key.load(Ordering::SeqCst),
                kms.sign.load(Ordering::SeqCst)
            ),
            (1, 1)
        );

        let kms = FakeKms::new("ECC_SECG_P256K1", 0);
        let signer = KmsSigner::lazy(client(&kms.serve().await).await, "alias/other");
        assert!(matches!(signer.identity().await, Err(SignerError::Key(_))));
        assert!(matches!(signer.sign(b"message").await, Err(SignerError::Key(_))));
        assert_eq!(kms.sign.load(Ordering::SeqCst), 0, "nothing signed with a wrong key");
    }
}
