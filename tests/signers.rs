//! The mDoc chain of trust end to end, over real HTTP on the deployed shape (each route its own
//! function behind the topology's API Gateway and CDN, the publisher and the scheduled re-signer
//! as processes, LocalStack's DynamoDB, KMS and S3): status list signers issued under a managed
//! IACA, and under an unmanaged one through a CSR that OpenSSL signs with the issuer's own CA;
//! every mDoc token carrying its signer certificate in `x5chain` and verifying, through it, against
//! the tenant's IACA alone; OpenSSL's view of the chain; the re-signer rotating a managed signer.

use std::path::{Path, PathBuf};

use integration_tests::*;
use serde_json::{Value, json};
use shared::domain::iaca;
use shared::domain::tenant::Role;
use shared::domain::token::cwt;
use shared::{Expectations, Status};

fn signer_path(id: &str) -> String {
    format!("{SIGNERS}/{id}")
}

fn status_path(credential_id: &str) -> String {
    format!("/v2/credentials/mobile/{credential_id}/status")
}

/// A scratch directory for OpenSSL's files.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("signers-{}", &jti()[..12]));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `openssl` in `dir`; its stdout. Fails the test if it fails.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// OpenSSL, as the issuer's CA `ca` (`<ca>.pem`, `<ca>.key`), signs `signer.csr` for 30 days
/// with the extensions of `leaf.ext`, into `out`.
fn sign_csr(dir: &Path, ca: &str, out: &str) {
    let (cert, key) = (format!("{ca}.pem"), format!("{ca}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "signer.csr",
            "-CA",
            &cert,
            "-CAkey",
            &key,
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            "leaf.ext",
            "-out",
            out,
        ],
    );
}

/// OpenSSL's check that `leaf_pem` chains to `iaca_pem` (strict X.509 rules); the leaf as text.
fn openssl_chains(iaca_pem: &str, leaf_pem: &str) -> String {
    let dir = scratch();
    std::fs::write(dir.join("iaca.pem"), iaca_pem).unwrap();
    std::fs::write(dir.join("leaf.pem"), leaf_pem).unwrap();
    let verdict = openssl(&dir, &["verify", "-x509_strict", "-CAfile", "iaca.pem", "leaf.pem"]);
    assert!(verdict.contains("leaf.pem: OK"), "{verdict}");
    openssl(&dir, &["x509", "-noout", "-text", "-in", "leaf.pem"])
}

/// The PEM of a certificate's DER.
fn pem(der: &[u8]) -> String {
    iaca::pem_of(der).unwrap()
}

/// Fetches the public CWT of `uri` through the CDN until `check` holds for it, verifying it as a
/// relying party does: only against `iaca`, through the certificate in its `x5chain`.
async fn chained_cwt(
    uri: &str,
    iaca: &iaca::IacaCertificate,
    check: impl Fn(&shared::VerifiedToken) -> bool,
) -> (shared::VerifiedToken, Vec<u8>) {
    let http = reqwest::Client::new();
    let path = uri.strip_prefix(cdn_url().as_str()).unwrap().to_string();
    eventually(PUBLISH_WAIT, &format!("{uri}: the expected token"), || async {
        let got = call(&http, "GET", &path, None, None, None).await;
        if got.status != 200 {
            return None;
        }
        let verified = cwt::verify_chained(&got.bytes, iaca, &Expectations::new(Some(uri), now())).unwrap();
        check(&verified).then_some((verified, got.bytes))
    })
    .await
}

/// The single certificate of a CWT's `x5chain`.
fn x5chain_leaf(cwt_bytes: &[u8]) -> Vec<u8> {
    let decoded = cwt::decode_unverified(cwt_bytes).unwrap();
    assert_eq!(decoded.x5chain.len(), 1, "{:?}", decoded.header);
    decoded.x5chain[0].clone()
}

/// Registers an mDoc of `doc_type`, sets it INVALID (201); its registration.
async fn invalidated_mdoc(t: &Tenant, doc_type: &str) -> Value {
    let r = t.register(doc_type).await;
    let set = t
        .call(
            "POST",
            &status_path(r["credentialId"].as_str().unwrap()),
            Some(json!({"status": "invalid"})),
        )
        .await;
    assert_eq!(set.status, 201, "{set:?}");
    r
}

#[tokio::test]
async fn a_managed_iaca_issues_its_signer_and_every_token_chains_to_the_iaca() {
    ensure_pipeline();
    let t = Tenant::new(Role::Issuer).await;
    let iaca_id = t.trust().await;
    let iaca_cert = t.iaca_certificate().await;
    // Activation issued the signer: managed, active, certified by the IACA.
    let page = t.call("GET", SIGNERS, None).await;
    assert_eq!(page.status, 200, "{page:?}");
    let signers = page.json["data"].as_array().unwrap();
    assert_eq!(signers.len(), 1, "{page:?}");
    let signer = &signers[0];
    assert_eq!(
        (&signer["iacaId"], &signer["isManaged"], &signer["active"]),
        (&json!(iaca_id), &json!(true), &json!(true))
    );
    let leaf_pem = signer["certificatePem"].as_str().unwrap();
    let text = openssl_chains(&iaca_cert.pem, leaf_pem);
    for expected in [
        "CA:FALSE",
        "Digital Signature",
        "Authority Key Identifier",
        "Issuer Alternative Name",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    let one = t.call("GET", &signer_path(signer["id"].as_str().unwrap()), None).await;
    assert_eq!((one.status, &one.json), (200, signer));
    // A managed IACA's signers are the service's: none are created or deleted by hand.
    let refused = t.call("POST", SIGNERS, Some(json!({"iacaId": iaca_id}))).await;
    assert_mattr(&refused, 400, "BadRequest", "Validation Error");
    assert!(
        refused.json["details"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("managed IACA")
    );
    let refused = t
        .call("DELETE", &signer_path(signer["id"].as_str().unwrap()), None)
        .await;
    assert_mattr(&refused, 400, "BadRequest", "managed by the service");

    // An invalidated mDoc: its public CWT carries the signer's certificate, verifies against the
    // IACA alone, and reads INVALID at the mDoc's index.
    let dt = format!("org.example.chain.{}", &jti()[..8]);
    t.configuration(&dt, 1).await;
    let r = invalidated_mdoc(&t, &dt).await;
    let idx = r["idx"].as_u64().unwrap();
    let (verified, bytes) = chained_cwt(r["uri"].as_str().unwrap(), &iaca_cert, |v| {
        v.token.list.get(idx).unwrap() == Status::INVALID
    })
    .await;
    let leaf = x5chain_leaf(&bytes);
    assert_eq!(pem(&leaf).trim(), leaf_pem.trim());
    let window = shared::domain::signer::read_certificate(
        leaf_pem,
        &iaca_cert,
        &shared::domain::signer::certified_key(&leaf).unwrap(),
    )
    .unwrap();
    assert!(verified.token.exp.unwrap() <= window.not_after);
    // The status list view names the IACA.
    let list_id = r["statusListId"].as_str().unwrap();
    let view = t.call("GET", &format!("{STATUS_LISTS}/{list_id}"), None).await;
    assert_eq!(view.json["iacaId"], json!(iaca_id), "{view:?}");
    // Another tenant sees none of it.
    let other = Tenant::new(Role::Admin).await;
    let hidden = other
        .call("GET", &signer_path(signer["id"].as_str().unwrap()), None)
        .await;
    assert_mattr(&hidden, 404, "NotFound", "Status list signer not found");
    assert_eq!(other.call("GET", SIGNERS, None).await.json["data"], json!([]));
    // Registering needs a signer: a tenant with a configuration but no active IACA is refused.
    let dt = format!("org.example.none.{}", &jti()[..8]);
    let body = json!({"docType": dt, "timeToLiveDuration": {"minutes": 5}, "expiryDuration": {"hours": 1}});
    assert_eq!(other.call("POST", CONFIGURATIONS, Some(body)).await.status, 201);
    let refused = other.call("POST", MDOC_REGISTER, Some(json!({"docType": dt}))).await;
    assert_mattr(&refused, 400, "BadRequest", "no active IACA");
}

/// An issuer that keeps its IACA key: OpenSSL makes its CA, signs the signer's CSR, and the
/// uploaded certificate is what the tokens carry.
#[tokio::test]
async fn an_unmanaged_iaca_signs_through_a_signer_whose_csr_the_issuer_signed() {
    ensure_pipeline();
    let t = Tenant::new(Role::Admin).await;
    let dir = scratch();
    openssl(
        &dir,
        &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"],
    );
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-sha256",
            "-days",
            "365",
            "-subj",
            "/C=NZ/CN=Issuer-held IACA",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
            "-out",
            "ca.pem",
        ],
    );
    let ca_pem = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    let created = t.call("POST", IACAS, Some(json!({"certificatePem": ca_pem}))).await;
    assert_eq!(created.status, 201, "{created:?}");
    let iaca_id = created.json["id"].as_str().unwrap().to_string();
    let activated = t
        .call("PUT", &format!("{IACAS}/{iaca_id}"), Some(json!({"active": true})))
        .await;
    assert_eq!(activated.status, 200, "{activated:?}");
    // No signer yet: mDocs cannot be registered, and the tenant is told what to do.
    let dt = format!("org.example.unmanaged.{}", &jti()[..8]);
    let body =
        json!({"docType": dt, "timeToLiveDuration": {"minutes": 5}, "expiryDuration": {"hours": 1}, "statusBits": 1});
    assert_eq!(t.call("POST", CONFIGURATIONS, Some(body)).await.status, 201);
    let refused = t.call("POST", MDOC_REGISTER, Some(json!({"docType": dt}))).await;
    assert_mattr(
        &refused,
        400,
        "BadRequest",
        "no status list signer with a valid certificate",
    );

    // A signer: a key in KMS and its CSR, which verifies (OpenSSL) and names the IACA's country.
    let made = t.call("POST", SIGNERS, Some(json!({"iacaId": iaca_id}))).await;
    assert_eq!(made.status, 201, "{made:?}");
    assert_eq!(
        (&made.json["active"], &made.json["isManaged"]),
        (&json!(false), &json!(false))
    );
    let signer_id = made.json["id"].as_str().unwrap().to_string();
    std::fs::write(dir.join("signer.csr"), made.json["csrPem"].as_str().unwrap()).unwrap();
    let csr = openssl(&dir, &["req", "-verify", "-noout", "-text", "-in", "signer.csr"]);
    assert!(
        csr.contains("C = NZ, CN = Issuer-held IACA Status List Signer"),
        "{csr}"
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n",
    )
    .unwrap();
    sign_csr(&dir, "ca", "leaf.pem");
    let leaf_pem = std::fs::read_to_string(dir.join("leaf.pem")).unwrap();

    // Uploads that are not this signer's certificate from this IACA are refused.
    let detail = |a: &Answer| a.json["details"][0]["msg"].as_str().unwrap_or("").to_string();
    let upload = |pem: &str| Some(json!({ "certificatePem": pem }));
    let refused = t.call("PUT", &signer_path(&signer_id), upload(&ca_pem)).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        detail(&refused).contains("must certify this signer's key"),
        "{refused:?}"
    );
    openssl(
        &dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "other.key",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "other.key",
            "-sha256",
            "-days",
            "365",
            "-subj",
            "/C=NZ/CN=Other CA",
            "-out",
            "other.pem",
        ],
    );
    sign_csr(&dir, "other", "stranger.pem");
    let stranger = std::fs::read_to_string(dir.join("stranger.pem")).unwrap();
    let refused = t.call("PUT", &signer_path(&signer_id), upload(&stranger)).await;
    assert!(detail(&refused).contains("must be issued by the IACA"), "{refused:?}");
    let refused = t
        .call("PUT", &signer_path(&signer_id), upload("not a certificate"))
        .await;
    assert_eq!(refused.json["details"][0]["param"], "certificatePem", "{refused:?}");

    // The real one: the signer becomes the active one.
    let uploaded = t.call("PUT", &signer_path(&signer_id), upload(&leaf_pem)).await;
    assert_eq!(uploaded.status, 200, "{uploaded:?}");
    assert_eq!(uploaded.json["active"], true);
    assert!(uploaded.json.get("csrPem").is_some());

    // Tokens now chain to the issuer's CA through that certificate.
    let r = invalidated_mdoc(&t, &dt).await;
    let idx = r["idx"].as_u64().unwrap();
    let ca = iaca::read_certificate(&ca_pem).unwrap();
    let (verified, bytes) = chained_cwt(r["uri"].as_str().unwrap(), &ca, |v| {
        v.token.list.get(idx).unwrap() == Status::INVALID
    })
    .await;
    let leaf = x5chain_leaf(&bytes);
    assert_eq!(pem(&leaf).trim(), leaf_pem.trim());
    openssl_chains(&ca_pem, &pem(&leaf));
    assert_eq!(verified.token.ttl, Some(300));

    // At most three of the tenant's own signers; deleting one makes room.
    for _ in 0..2 {
        let more = t.call("POST", SIGNERS, Some(json!({"iacaId": iaca_id}))).await;
        assert_eq!(more.status, 201, "{more:?}");
    }
    let refused = t.call("POST", SIGNERS, Some(json!({"iacaId": iaca_id}))).await;
    assert_mattr(&refused, 400, "BadRequest", "at most 3 status list signers");
    let spare = t.call("GET", SIGNERS, None).await.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["active"] == false)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(t.call("DELETE", &signer_path(&spare), None).await.status, 204);
    assert_eq!(t.call("GET", &signer_path(&spare), None).await.status, 404);
    let again = t.call("POST", SIGNERS, Some(json!({"iacaId": iaca_id}))).await;
    assert_eq!(again.status, 201, "{again:?}");
    // Bad requests name the field.
    let bad = t.call("POST", SIGNERS, Some(json!({"iacaId": "nope", "x": 1}))).await;
    let params: Vec<_> = bad.json["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["param"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(params, ["x", "iacaId"], "{bad:?}");
    let malformed = t.call("GET", &signer_path("not-a-uuid"), None).await;
    assert_eq!(malformed.json["details"][0]["msg"], "Invalid id parameter format");
}

/// The scheduled re-signer issues a managed IACA's next signer when the current one's certificate
/// ends (here: its record says it ended), and retires the ended one with its key.
#[tokio::test]
async fn the_re_signer_rotates_a_managed_signer_whose_certificate_ended() {
    let t = Tenant::new(Role::Admin).await;
    t.trust().await;
    let first = t.call("GET", SIGNERS, None).await.json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sdk = localstack().await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .update_item()
        .table_name(tables().configurations)
        .key("tenantId", aws_sdk_dynamodb::types::AttributeValue::S(t.id.clone()))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("signer#{first}")),
        )
        .update_expression("SET certNotAfter = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N((now() - 1).to_string()),
        )
        .send()
        .await
        .unwrap();
    // The re-signer passes every 20 s here.
    let signers = eventually(
        std::time::Duration::from_secs(90),
        "a new signer, and the ended one retired",
        || async {
            let page = t.call("GET", SIGNERS, None).await.json;
            let data = page["data"].as_array().unwrap().clone();
            (data.len() == 1 && data[0]["id"] != json!(first)).then_some(data)
        },
    )
    .await;
    assert_eq!(
        (&signers[0]["active"], &signers[0]["isManaged"]),
        (&json!(true), &json!(true))
    );
    openssl_chains(
        &t.iaca_certificate().await.pem,
        signers[0]["certificatePem"].as_str().unwrap(),
    );
}
