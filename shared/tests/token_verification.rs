//! Verification refuses every malformed or untrustworthy token with a typed error, and
//! accepts what we sign: round trips plus a property test over random lists.

mod common;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ciborium::Value;
use common::*;
use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use proptest::prelude::*;
use shared::adapters::local_signer::LocalSigner;
use shared::domain::status_list::ListDecodeError;
use shared::domain::token::{cwt, jwt};
use shared::{Bits, Expectations, KeySet, Signer, Status, StatusError, StatusList, StatusListToken, TokenError};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn expect() -> Expectations<'static> {
    Expectations::new(Some(EXAMPLE_SUB), NOW)
}

/// A JWS over arbitrary header and payload JSON, signed with the example key.
fn raw_jwt(header: serde_json::Value, payload: serde_json::Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig = block_on(example_signer().sign(input.as_bytes())).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.raw))
}

fn good_header() -> serde_json::Value {
    serde_json::json!({"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"})
}

fn good_claims() -> serde_json::Value {
    serde_json::json!({"sub": EXAMPLE_SUB, "iat": EXAMPLE_IAT, "exp": EXAMPLE_EXP, "ttl": 43200,
        "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}})
}

fn without(mut v: serde_json::Value, key: &str) -> serde_json::Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn jwt_err(token: &str) -> TokenError {
    jwt::verify(token, &example_keys(), &expect()).unwrap_err()
}

#[test]
fn crafted_jwt_baseline_verifies() {
    jwt::verify(&raw_jwt(good_header(), good_claims()), &example_keys(), &expect()).unwrap();
}

#[test]
fn jwt_bad_signature() {
    let token = raw_jwt(good_header(), good_claims());
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig[10] ^= 1;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
    assert!(matches!(jwt_err(&tampered), TokenError::BadSignature));
    // A valid signature by another key.
    let other = LocalSigner::generate();
    let mut keys = KeySet::default();
    keys.push(Some("12".into()), other.verifying_key());
    assert!(matches!(
        jwt::verify(&token, &keys, &expect()),
        Err(TokenError::BadSignature)
    ));
    // Claims swapped under a valid signature.
    let other_claims = URL_SAFE_NO_PAD.encode(without(good_claims(), "ttl").to_string());
    let (h, rest) = token.split_once('.').unwrap();
    let (_, s) = rest.split_once('.').unwrap();
    assert!(matches!(
        jwt_err(&format!("{h}.{other_claims}.{s}")),
        TokenError::BadSignature
    ));
}

#[test]
fn jwt_wrong_typ() {
    for typ in [
        serde_json::json!("JWT"),
        serde_json::json!("application/statuslist+jwt"),
        serde_json::Value::Null,
    ] {
        let mut h = good_header();
        h["typ"] = typ;
        assert!(matches!(
            jwt_err(&raw_jwt(h, good_claims())),
            TokenError::WrongType { .. }
        ));
    }
    assert!(matches!(
        jwt_err(&raw_jwt(without(good_header(), "typ"), good_claims())),
        TokenError::WrongType { .. }
    ));
}

#[test]
fn jwt_wrong_alg() {
    for alg in ["none", "HS256", "ES384", "RS256"] {
        let mut h = good_header();
        h["alg"] = serde_json::json!(alg);
        match jwt_err(&raw_jwt(h, good_claims())) {
            TokenError::WrongAlgorithm(a) => assert_eq!(a, alg),
            other => panic!("{alg}: {other:?}"),
        }
    }
    // alg "none" with an empty signature, the classic downgrade.
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"statuslist+jwt"}"#);
    let p = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    assert!(matches!(jwt_err(&format!("{h}.{p}.")), TokenError::WrongAlgorithm(_)));
}

#[test]
fn jwt_missing_claims() {
    for claim in ["sub", "iat", "status_list"] {
        match jwt_err(&raw_jwt(good_header(), without(good_claims(), claim))) {
            TokenError::MissingClaim(c) => assert_eq!(c, claim),
            other => panic!("{claim}: {other:?}"),
        }
    }
    let mut c = good_claims();
    c["status_list"] = serde_json::json!({"bits": 1});
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::MissingClaim("status_list.lst")
    ));
}

#[test]
fn jwt_invalid_claims() {
    let mut c = good_claims();
    c["ttl"] = serde_json::json!(0);
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::InvalidClaim { claim: "ttl", .. }
    ));
    let mut c = good_claims();
    c["status_list"]["bits"] = serde_json::json!(3);
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::Status(StatusError::InvalidBits(3))
    ));
    let mut c = good_claims();
    c["sub"] = serde_json::json!(1);
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::InvalidClaim { claim: "sub", .. }
    ));
}

#[test]
fn jwt_sub_mismatch_and_expiry() {
    let mut c = good_claims();
    c["sub"] = serde_json::json!("https://example.com/statuslists/2");
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::SubjectMismatch { .. }
    ));
    // Trailing slash or case differences are different URIs: plain string comparison.
    let mut c = good_claims();
    c["sub"] = serde_json::json!("https://example.com/statuslists/1/");
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::SubjectMismatch { .. }
    ));
    let mut c = good_claims();
    c["exp"] = serde_json::json!(NOW - 1);
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::Expired { .. }
    ));
    // No exp at all is allowed (RECOMMENDED, not REQUIRED).
    jwt::verify(
        &raw_jwt(good_header(), without(good_claims(), "exp")),
        &example_keys(),
        &expect(),
    )
    .unwrap();
}

#[test]
fn jwt_unknown_kid() {
    let mut h = good_header();
    h["kid"] = serde_json::json!("13");
    assert!(matches!(jwt_err(&raw_jwt(h, good_claims())), TokenError::UnknownKey(Some(k)) if k == "13"));
}

#[test]
fn jwt_malformed_bodies() {
    assert!(matches!(jwt_err("a.b"), TokenError::Malformed(..)));
    assert!(matches!(jwt_err("a.b.c.d"), TokenError::Malformed(..)));
    assert!(matches!(jwt_err("!!.e30.AA"), TokenError::Base64("header", _)));
    let h = URL_SAFE_NO_PAD.encode("not json");
    assert!(matches!(jwt_err(&format!("{h}.e30.AA")), TokenError::Json("header", _)));
    let mut c = good_claims();
    c["status_list"]["lst"] = serde_json::json!("***");
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::Base64("status_list.lst", _)
    ));
    let mut c = good_claims();
    c["status_list"]["lst"] = serde_json::json!(URL_SAFE_NO_PAD.encode(b"definitely not zlib"));
    assert!(matches!(
        jwt_err(&raw_jwt(good_header(), c)),
        TokenError::List(ListDecodeError::Zlib(_))
    ));
}

#[test]
fn jwt_zlib_bomb_is_refused() {
    let bomb = StatusList::new(Bits::EIGHT, 8 << 20).unwrap().compress(); // 8 MiB of zeros, ~8 KB
    let mut c = good_claims();
    c["status_list"] = serde_json::json!({"bits": 8, "lst": URL_SAFE_NO_PAD.encode(&bomb)});
    let token = raw_jwt(good_header(), c);
    let tight = Expectations {
        max_list_bytes: 1 << 20,
        ..expect()
    };
    assert!(matches!(
        jwt::verify(&token, &example_keys(), &tight),
        Err(TokenError::List(ListDecodeError::TooLarge { .. }))
    ));
}

// ---- CWT ----

fn cwt_claims(entries: Vec<(i64, Value)>) -> Vec<u8> {
    let map = Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Integer(k.into()), v))
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).unwrap();
    out
}

fn good_cwt_claims() -> Vec<(i64, Value)> {
    vec![
        (2, Value::Text(EXAMPLE_SUB.into())),
        (6, Value::Integer(EXAMPLE_IAT.into())),
        (4, Value::Integer(EXAMPLE_EXP.into())),
        (65534, Value::Integer(43200.into())),
        (
            65533,
            cwt::status_list_cbor(Bits::ONE, &hex::decode("78dadbb918000217015d").unwrap(), None),
        ),
    ]
}

fn raw_cwt(alg: iana::Algorithm, typ: Option<&str>, payload: Vec<u8>) -> Vec<u8> {
    let mut protected = HeaderBuilder::new().algorithm(alg);
    if let Some(t) = typ {
        protected = protected.value(16, Value::Text(t.into()));
    }
    let mut sign1 = CoseSign1Builder::new()
        .protected(protected.build())
        .unprotected(HeaderBuilder::new().key_id(b"12".to_vec()).build())
        .payload(payload)
        .build();
    sign1.signature = block_on(example_signer().sign(&sign1.tbs_data(b"")))
        .unwrap()
        .raw
        .to_vec();
    sign1.to_tagged_vec().unwrap()
}

fn good_cwt() -> Vec<u8> {
    raw_cwt(
        iana::Algorithm::ES256,
        Some("application/statuslist+cwt"),
        cwt_claims(good_cwt_claims()),
    )
}

fn cwt_err(bytes: &[u8]) -> TokenError {
    cwt::verify(bytes, &example_keys(), &expect()).unwrap_err()
}

#[test]
fn crafted_cwt_baseline_verifies() {
    cwt::verify(&good_cwt(), &example_keys(), &expect()).unwrap();
}

#[test]
fn cwt_bad_signature() {
    let mut bytes = good_cwt();
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    assert!(matches!(cwt_err(&bytes), TokenError::BadSignature));
}

#[test]
fn cwt_wrong_typ_and_alg() {
    for typ in [None, Some("statuslist+cwt"), Some("application/statuslist+jwt")] {
        let b = raw_cwt(iana::Algorithm::ES256, typ, cwt_claims(good_cwt_claims()));
        assert!(matches!(cwt_err(&b), TokenError::WrongType { .. }), "{typ:?}");
    }
    let b = raw_cwt(
        iana::Algorithm::ES384,
        Some("application/statuslist+cwt"),
        cwt_claims(good_cwt_claims()),
    );
    assert!(matches!(cwt_err(&b), TokenError::WrongAlgorithm(_)));
}

#[test]
fn cwt_missing_and_mismatched_claims() {
    for (key, name) in [(2, "sub"), (6, "iat"), (65533, "status_list")] {
        let claims = good_cwt_claims().into_iter().filter(|(k, _)| *k != key).collect();
        let b = raw_cwt(
            iana::Algorithm::ES256,
            Some("application/statuslist+cwt"),
            cwt_claims(claims),
        );
        match cwt_err(&b) {
            TokenError::MissingClaim(c) => assert_eq!(c, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let mut claims = good_cwt_claims();
    claims[0].1 = Value::Text("https://example.com/statuslists/9".into());
    let b = raw_cwt(
        iana::Algorithm::ES256,
        Some("application/statuslist+cwt"),
        cwt_claims(claims),
    );
    assert!(matches!(cwt_err(&b), TokenError::SubjectMismatch { .. }));
    let mut claims = good_cwt_claims();
    claims[2].1 = Value::Integer((NOW - 10).into());
    let b = raw_cwt(
        iana::Algorithm::ES256,
        Some("application/statuslist+cwt"),
        cwt_claims(claims),
    );
    assert!(matches!(cwt_err(&b), TokenError::Expired { .. }));
    let mut claims = good_cwt_claims();
    claims[3].1 = Value::Integer(0.into());
    let b = raw_cwt(
        iana::Algorithm::ES256,
        Some("application/statuslist+cwt"),
        cwt_claims(claims),
    );
    assert!(matches!(cwt_err(&b), TokenError::InvalidClaim { claim: "ttl", .. }));
}

#[test]
fn cwt_malformed_bodies() {
    assert!(matches!(cwt_err(b"\xff\x00garbage"), TokenError::Cbor(_)));
    assert!(matches!(cwt_err(&[]), TokenError::Malformed(..)));
    // Untagged, or wrapped in the CWT tag 61.
    let good = good_cwt();
    assert!(matches!(cwt_err(&good[1..]), TokenError::Malformed(..)));
    let mut wrapped = vec![0xD8, 61];
    wrapped.extend_from_slice(&good);
    assert!(matches!(cwt_err(&wrapped), TokenError::Malformed(..)));
    // A payload that is not CBOR.
    let b = raw_cwt(
        iana::Algorithm::ES256,
        Some("application/statuslist+cwt"),
        b"\xff\xff".to_vec(),
    );
    assert!(matches!(cwt_err(&b), TokenError::Cbor(_)));
    // A list that is not zlib.
    let mut claims = good_cwt_claims();
    claims[4].1 = cwt::status_list_cbor(Bits::ONE, b"not zlib at all", None);
    let b = raw_cwt(
        iana::Algorithm::ES256,
        Some("application/statuslist+cwt"),
        cwt_claims(claims),
    );
    assert!(matches!(cwt_err(&b), TokenError::List(ListDecodeError::Zlib(_))));
}

// ---- round trips ----

fn token_with(list: StatusList) -> StatusListToken {
    StatusListToken {
        sub: EXAMPLE_SUB.into(),
        iat: NOW - 60,
        exp: Some(NOW + 3600),
        ttl: Some(300),
        iss: Some("https://issuer.example".into()),
        aggregation_uri: Some("https://example.com/statuslists".into()),
        list,
    }
}

#[test]
fn ttl_zero_is_refused_when_signing() {
    let mut token = token_with(StatusList::new(Bits::ONE, 8).unwrap());
    token.ttl = Some(0);
    assert!(matches!(
        block_on(shared::signing::jwt(&token, &example_signer())),
        Err(shared::signing::SignError::Token(TokenError::InvalidClaim { .. }))
    ));
}

/// Equal up to the list size, which a decoder can only know in whole bytes (spec §2.1).
fn assert_same(decoded: &StatusListToken, token: &StatusListToken) {
    assert_eq!(decoded.list.bits(), token.list.bits());
    assert_eq!(decoded.list.as_bytes(), token.list.as_bytes());
    assert_eq!(
        decoded.list.size(),
        token.list.as_bytes().len() as u64 * token.list.bits().per_byte() as u64
    );
    let relisted = StatusListToken {
        list: token.list.clone(),
        ..decoded.clone()
    };
    assert_eq!(&relisted, token);
}

fn round_trip(list: StatusList) {
    let signer = LocalSigner::generate();
    let mut keys = KeySet::default();
    let kid = block_on(signer.identity()).unwrap().kid.clone();
    keys.push(Some(kid.clone()), signer.verifying_key());
    let token = token_with(list);
    let compact = block_on(shared::signing::jwt(&token, &signer)).unwrap();
    let v = jwt::verify(&compact, &keys, &expect()).unwrap();
    assert_same(&v.token, &token);
    assert_eq!(v.kid.as_deref(), Some(kid.as_str()));
    let bytes = block_on(shared::signing::cwt(&token, &signer)).unwrap();
    let v = cwt::verify(&bytes, &keys, &expect()).unwrap();
    assert_same(&v.token, &token);
}

#[test]
fn round_trip_every_width() {
    for bits in [1u8, 2, 4, 8] {
        let b = Bits::new(bits).unwrap();
        let mut list = StatusList::new(b, 100_000).unwrap();
        for i in (0..100_000).step_by(997) {
            list.set(i, Status::from_raw((i % 251) as u8 & b.max_value())).unwrap();
        }
        round_trip(list);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random widths, sizes and assignments: what is set is what is read back, after packing,
    /// compression, signing and verification in both forms.
    #[test]
    fn random_lists_round_trip(
        bits in prop::sample::select(vec![1u8, 2, 4, 8]),
        size in 1u64..5000,
        sets in prop::collection::vec((any::<u64>(), any::<u8>()), 0..200),
    ) {
        let b = Bits::new(bits).unwrap();
        let mut list = StatusList::new(b, size).unwrap();
        let mut expected = std::collections::BTreeMap::new();
        for (idx, value) in sets {
            let idx = idx % (size + 2); // sometimes out of range
            let status = Status::from_raw(value & b.max_value());
            match list.set(idx, status) {
                Ok(()) => { expected.insert(idx, status); }
                Err(StatusError::IndexOutOfRange { .. }) => prop_assert!(idx >= size),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
        for (idx, status) in &expected {
            prop_assert_eq!(list.get(*idx).unwrap(), *status);
        }
        let nonzero: Vec<_> = expected.iter().filter(|(_, s)| !s.is_valid()).map(|(i, s)| (*i, *s)).collect();
        prop_assert_eq!(list.non_valid().collect::<Vec<_>>(), nonzero);
        let decoded = StatusList::decompress(b, &list.compress(), 1 << 20).unwrap();
        prop_assert_eq!(decoded.as_bytes(), list.as_bytes());
        round_trip(list);
    }
}
