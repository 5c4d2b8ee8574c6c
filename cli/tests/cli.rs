//! The `statuslist` binary end to end: encode, inspect and check, exit codes, one-line errors,
//! and the Accept header it sends, against a small HTTP server on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_statuslist");

/// A fixed scalar: a key for these tests only, protecting nothing.
fn test_key(fill: u8) -> p256::SecretKey {
    p256::SecretKey::from_slice(&[fill; 32]).unwrap()
}

fn key_pem() -> String {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    test_key(7).to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run statuslist")
}

fn key_file(dir: &std::path::Path) -> String {
    let path = dir.join("key.pem");
    std::fs::write(&path, key_pem()).unwrap();
    path.to_string_lossy().into_owned()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("statuslist-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Serves the body `make_body(url)` gives for every request, and records each request's Accept
/// header. The body is made once the URL (with its port) is known, so a token's `sub` can match.
fn serve(make_body: impl FnOnce(&str) -> Vec<u8>, status: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/t/1", listener.local_addr().unwrap());
    let body = make_body(&url);
    let accepts = Arc::new(Mutex::new(Vec::new()));
    let seen = accepts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("accept:") {
                    seen.lock().unwrap().push(v.trim().to_string());
                }
            }
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, accepts)
}

fn encode(dir: &std::path::Path, format: &str, sub: &str, extra: &[&str]) -> Vec<u8> {
    let key = key_file(dir);
    let mut args = vec![
        "encode", "--bits", "2", "--size", "1000", "--format", format, "--sub", sub, "--key", &key,
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn stderr_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("statuslist: error: "), "{err:?}");
    err
}

#[test]
fn inspect_json_reports_everything_set() {
    let dir = temp_dir("inspect");
    for format in ["jwt", "cwt"] {
        let token = encode(
            &dir,
            format,
            "https://s.example/t/1",
            &["--set", "3=INVALID", "--set", "999=suspended", "--ttl", "600"],
        );
        let path = dir.join(format!("token.{format}"));
        std::fs::write(&path, &token).unwrap();
        let out = run(&["inspect", "--json", path.to_str().unwrap()]);
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["format"], format);
        assert_eq!(v["bits"], 2);
        assert_eq!(v["size"], 1000);
        assert_eq!(v["statuses"], serde_json::json!({"3": 1, "999": 2}));
        assert_eq!(v["claims"]["sub"], "https://s.example/t/1");
        assert_eq!(v["claims"]["ttl"], 600);
        assert!(
            v["claims"].get("status_list").is_none_or(|sl| sl.get("lst").is_none()),
            "raw list left out"
        );
        let typ = if format == "jwt" {
            "statuslist+jwt"
        } else {
            "application/statuslist+cwt"
        };
        assert_eq!(v["header"]["typ"], typ);
    }
}

#[test]
fn inspect_fetches_urls_with_token_accept_header() {
    let dir = temp_dir("fetch");
    let token = encode(&dir, "cwt", "https://s.example/t/1", &["--set", "5=1"]);
    let (url, accepts) = serve(|_| token, "200 OK");
    let out = run(&["inspect", "--json", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let accept = accepts.lock().unwrap()[0].clone();
    assert!(
        accept.contains("application/statuslist+jwt") && accept.contains("application/statuslist+cwt"),
        "{accept}"
    );
}

#[test]
fn check_exit_codes_follow_the_status() {
    let dir = temp_dir("check");
    let key = key_file(&dir);
    for format in ["jwt", "cwt"] {
        let sets = ["--set", "1=INVALID", "--set", "2=SUSPENDED", "--set", "3=0x03"];
        let (url, _) = serve(|url| encode(&dir, format, url, &sets), "200 OK");
        for (idx, name, code) in [
            ("0", "VALID", 0),
            ("1", "INVALID", 1),
            ("2", "SUSPENDED", 1),
            ("3", "APPLICATION_SPECIFIC", 1),
        ] {
            let out = run(&["check", &url, idx, "--key", &key]);
            assert_eq!(out.status.code(), Some(code), "{format} idx {idx}");
            assert!(
                String::from_utf8_lossy(&out.stdout).starts_with(name),
                "{format} idx {idx}"
            );
        }
        // Out of range: no statement can be made (spec §8 step 6).
        let out = run(&["check", &url, "1000", "--key", &key]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr_line(&out).contains("out of range"));
        // Served at another URL than its sub (spec §8 step 4a).
        let (other, _) = serve(
            |_| encode(&dir, format, "https://elsewhere.example/t/1", &sets),
            "200 OK",
        );
        let out = run(&["check", &other, "0", "--key", &key]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr_line(&out).contains("does not equal"));
    }
}

#[test]
fn check_with_jwks_and_wrong_key() {
    let dir = temp_dir("jwks");
    let (url, _) = serve(
        |url| encode(&dir, "jwt", url, &["--kid", "k1", "--set", "7=1"]),
        "200 OK",
    );
    // The test key's public JWK under kid k1, served as a JWKS.
    let public = test_key(7).public_key();
    let jwks = serde_json::json!({"keys": [shared::domain::keys::public_jwk(&public, "k1")]}).to_string();
    let jwks_path = dir.join("jwks.json");
    std::fs::write(&jwks_path, &jwks).unwrap();
    let out = run(&["check", &url, "7", "--jwks", jwks_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let (jwks_url, _) = serve(|_| jwks.into_bytes(), "200 OK");
    let out = run(&["check", &url, "6", "--jwks", &jwks_url]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Another key: the signature does not verify.
    let other = dir.join("other.pem");
    let other_pem = {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        test_key(9).public_key().to_public_key_pem(LineEnding::LF).unwrap()
    };
    std::fs::write(&other, other_pem).unwrap();
    let out = run(&["check", &url, "6", "--key", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("signature"));
}

#[test]
fn errors_are_one_line_and_non_zero() {
    let dir = temp_dir("errors");
    let key = key_file(&dir);
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "encode", "--bits", "3", "--size", "8", "--format", "jwt", "--sub", "s", "--key", &key,
        ],
        vec![
            "encode",
            "--bits",
            "1",
            "--size",
            "8",
            "--set",
            "1=SUSPENDED",
            "--format",
            "jwt",
            "--sub",
            "s",
            "--key",
            &key,
        ],
        vec![
            "encode", "--bits", "1", "--size", "8", "--set", "8=1", "--format", "jwt", "--sub", "s", "--key", &key,
        ],
        vec![
            "encode", "--bits", "8", "--size", "8", "--set", "1=0x40", "--format", "jwt", "--sub", "s", "--key", &key,
        ],
        vec![
            "encode", "--bits", "1", "--size", "8", "--set", "x", "--format", "jwt", "--sub", "s", "--key", &key,
        ],
        vec![
            "encode",
            "--bits",
            "1",
            "--size",
            "8",
            "--format",
            "jwt",
            "--sub",
            "s",
            "--key",
            "/nonexistent.pem",
        ],
        vec!["inspect", "/nonexistent-token"],
        vec!["check", "http://127.0.0.1:1/t/1", "0", "--key", &key],
    ];
    for args in cases {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        stderr_line(&out);
    }
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, b"\x00\x01not a token").unwrap();
    let out = run(&["inspect", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    stderr_line(&out);
    let (url, _) = serve(|_| b"gone".to_vec(), "404 Not Found");
    let out = run(&["inspect", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("404"));
}

#[test]
fn set_file_assigns_from_a_file_and_from_stdin() {
    let dir = temp_dir("set-file");
    let file = dir.join("sets.txt");
    std::fs::write(
        &file,
        "# revoked on 2026-11-27\n3=INVALID\n\n 999 = suspended \n10=0x03\n",
    )
    .unwrap();
    let token = encode(
        &dir,
        "jwt",
        "https://s.example/t/1",
        &["--set", "4=1", "--set-file", file.to_str().unwrap()],
    );
    let path = dir.join("from-file.jwt");
    std::fs::write(&path, &token).unwrap();
    let out = run(&["inspect", "--json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["statuses"], serde_json::json!({"3": 1, "4": 1, "10": 3, "999": 2}));

    let key = key_file(&dir);
    let mut child = Command::new(BIN)
        .args([
            "encode",
            "--bits",
            "1",
            "--size",
            "16",
            "--format",
            "jwt",
            "--sub",
            "s",
            "--key",
            &key,
            "--set-file",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"0=1\n15=INVALID\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let path = dir.join("from-stdin.jwt");
    std::fs::write(&path, &out.stdout).unwrap();
    let out = run(&["inspect", "--json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["statuses"], serde_json::json!({"0": 1, "15": 1}));
}

#[test]
fn set_file_errors_name_the_line() {
    let dir = temp_dir("set-file-errors");
    let key = key_file(&dir);
    let encode_from = |source: &str| {
        run(&[
            "encode",
            "--bits",
            "1",
            "--size",
            "16",
            "--format",
            "jwt",
            "--sub",
            "s",
            "--key",
            &key,
            "--set-file",
            source,
        ])
    };
    for (content, expected) in [
        ("1=1\n2=SUSPENDED\n", ":2: \"2=SUSPENDED\""),
        ("1=1\n\n16=1\n", ":3: \"16=1\": index 16"),
        ("# header\nseven=1\n", ":2: \"seven=1\": \"seven\" is not an index"),
        ("3\n", ":1: \"3\": expected IDX=VALUE"),
    ] {
        let file = dir.join("bad.txt");
        std::fs::write(&file, content).unwrap();
        let out = encode_from(file.to_str().unwrap());
        assert_eq!(out.status.code(), Some(2), "{content:?}");
        let line = stderr_line(&out);
        assert!(line.contains(expected), "{line:?} lacks {expected:?}");
        assert!(out.stdout.is_empty(), "nothing written on an error");
    }
    let out = encode_from("/nonexistent-sets");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("--set-file /nonexistent-sets"));
}

/// An mDoc list's CWT, checked against an IACA: through the signer certificate in its x5chain.
#[test]
fn check_with_an_iaca_goes_through_the_x5chain() {
    use p256::ecdsa::{Signature, SigningKey, signature::Signer as _};
    use shared::domain::{iaca, signer};
    let dir = temp_dir("iaca");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // An IACA of test key 3, and a signer certificate it issued for test key 7.
    let make_iaca = |fill: u8| {
        let ca_key = SigningKey::from(test_key(fill));
        let request = iaca::ManagedRequest {
            common_name: "CLI IACA".into(),
            country: "AU".into(),
            state_or_province: None,
            not_before: now - 60,
            not_after: now + 86_400,
        };
        let tbs =
            iaca::managed_certificate(&request, &ca_key.verifying_key().into(), [1; 20], "https://i.example").unwrap();
        let sig: Signature = ca_key.sign(tbs.bytes());
        let pem = iaca::pem_of(&tbs.assemble(&sig).unwrap()).unwrap();
        (ca_key, iaca::read_certificate(&pem).unwrap())
    };
    let (ca_key, ca) = make_iaca(3);
    let tbs = signer::certificate(
        &ca,
        &test_key(7).public_key(),
        [2; 20],
        (now - 60, now + 3_600),
        "https://i.example",
    )
    .unwrap();
    let sig: Signature = ca_key.sign(tbs.bytes());
    let leaf = tbs.assemble(&sig).unwrap();
    let (url, _) = serve(
        |url| {
            let mut list = shared::domain::status_list::StatusList::new(shared::Bits::new(1).unwrap(), 1000).unwrap();
            list.set(5, shared::Status::INVALID).unwrap();
            let token = shared::domain::token::StatusListToken {
                sub: url.to_string(),
                iat: now,
                exp: Some(now + 600),
                ttl: Some(300),
                iss: None,
                aggregation_uri: None,
                list,
            };
            let key = shared::adapters::local_signer::LocalSigner::from_secret(test_key(7), None);
            let compressed = token.list.compress();
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(shared::signing::cwt_compressed(&token, &compressed, &key, &[leaf]))
                .unwrap()
        },
        "200 OK",
    );
    let iaca_path = dir.join("iaca.pem");
    std::fs::write(&iaca_path, &ca.pem).unwrap();
    let out = run(&["check", &url, "5", "--iaca", iaca_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "INVALID");
    let out = run(&["check", &url, "4", "--iaca", iaca_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    // Against another IACA: not trusted.
    let (_, other) = make_iaca(9);
    let other_path = dir.join("other-iaca.pem");
    std::fs::write(&other_path, &other.pem).unwrap();
    let out = run(&["check", &url, "5", "--iaca", other_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("not trusted"), "{:?}", out);
}
