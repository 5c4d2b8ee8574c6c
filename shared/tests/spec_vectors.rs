//! Every test vector of draft-ietf-oauth-status-list-20 (digest §14): the short lists, the four
//! 2^20-entry appendix lists, and the example JWT and CWT verified with the kid-12 key.

mod common;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::domain::deflate::compress_level9;
use shared::domain::status_list::MAX_LIST_BYTES;
use shared::domain::token::{cwt, jwt};
use shared::{Bits, Expectations, Status, StatusList, TokenError, TokenFormat};

fn cbor_hex(value: &ciborium::Value) -> String {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    hex::encode(out)
}

/// The list our encoder compresses decodes to the same array and statuses.
fn assert_round_trips(list: &StatusList) {
    let back = StatusList::decompress(list.bits(), &list.compress(), MAX_LIST_BYTES).unwrap();
    assert_eq!(back.as_bytes(), list.as_bytes());
    assert!(back.non_valid().eq(list.non_valid()));
}

fn short(bits: u8, statuses: &[u8]) -> StatusList {
    let mut list = StatusList::new(Bits::new(bits).unwrap(), statuses.len() as u64).unwrap();
    for (i, s) in statuses.iter().enumerate() {
        list.set(i as u64, Status::from_raw(*s)).unwrap();
    }
    list
}

#[test]
fn short_one_bit_list() {
    let list = short(1, &[1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
    assert_eq!(list.as_bytes(), &[0xB9, 0xA3]);
    // Our encoder's stream decodes to the same entries; zlib level 9 gives the spec's bytes.
    assert_round_trips(&list);
    let z = compress_level9(list.as_bytes());
    assert_eq!(hex::encode(&z), "78dadbb918000217015d");
    assert_eq!(
        jwt::status_list_json(list.bits(), &z, None),
        serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    );
    assert_eq!(
        cbor_hex(&cwt::status_list_cbor(list.bits(), &z, None)),
        "a2646269747301636c73744a78dadbb918000217015d"
    );
}

#[test]
fn short_two_bit_list() {
    let list = short(2, &[1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
    assert_eq!(list.as_bytes(), &[0xC9, 0x44, 0xF9]);
    // Our encoder's stream decodes to the same entries; zlib level 9 gives the spec's bytes.
    assert_round_trips(&list);
    let z = compress_level9(list.as_bytes());
    assert_eq!(hex::encode(&z), "78da3be9f2130003df0207");
    assert_eq!(
        jwt::status_list_json(list.bits(), &z, None),
        serde_json::json!({"bits": 2, "lst": "eNo76fITAAPfAgc"})
    );
    assert_eq!(
        cbor_hex(&cwt::status_list_cbor(list.bits(), &z, None)),
        "a2646269747302636c73744b78da3be9f2130003df0207"
    );
}

#[derive(Deserialize)]
struct LongVector {
    bits: u8,
    size: u64,
    lst: String,
    cbor_hex: String,
    sha256_decompressed: String,
    statuses: Vec<(u64, u8)>,
}

fn long_vector(bits: u8) {
    let path = format!("{}/tests/vectors/long_{bits}bit.json", env!("CARGO_MANIFEST_DIR"));
    let v: LongVector = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let b = Bits::new(v.bits).unwrap();
    let compressed = URL_SAFE_NO_PAD.decode(&v.lst).unwrap();

    // Decode: the decompressed array and every listed status.
    let decoded = StatusList::decompress(b, &compressed, MAX_LIST_BYTES).unwrap();
    assert_eq!(decoded.size(), v.size);
    assert_eq!(hex::encode(Sha256::digest(decoded.as_bytes())), v.sha256_decompressed);
    for (idx, value) in &v.statuses {
        assert_eq!(decoded.get(*idx).unwrap().value(), *value, "index {idx}");
    }
    let non_zero = v.statuses.iter().filter(|(_, s)| *s != 0).count();
    assert_eq!(decoded.non_valid().count(), non_zero, "every index not listed is VALID");

    // Encode: the same array from the assignments; our encoder's stream decodes to every listed
    // status, and is no larger than the spec's (zlib level 9, which the reference reproduces).
    let mut built = StatusList::new(b, v.size).unwrap();
    for (idx, value) in &v.statuses {
        built.set(*idx, Status::from_raw(*value)).unwrap();
    }
    assert_eq!(built.as_bytes(), decoded.as_bytes());
    let ours = built.compress();
    let ours_decoded = StatusList::decompress(b, &ours, MAX_LIST_BYTES).unwrap();
    for (idx, value) in &v.statuses {
        assert_eq!(ours_decoded.get(*idx).unwrap().value(), *value, "index {idx}");
    }
    assert_eq!(ours_decoded.non_valid().count(), non_zero);
    assert!(
        ours.len() <= compressed.len(),
        "{} > {} bytes",
        ours.len(),
        compressed.len()
    );
    let z = compress_level9(built.as_bytes());
    assert_eq!(z, compressed, "zlib level 9 reproduces the spec's bytes");
    assert_eq!(jwt::status_list_json(b, &z, None)["lst"], v.lst.as_str());
    assert_eq!(cbor_hex(&cwt::status_list_cbor(b, &z, None)), v.cbor_hex);
}

#[test]
fn long_one_bit_list() {
    long_vector(1);
}

#[test]
fn long_two_bit_list() {
    long_vector(2);
}

#[test]
fn long_four_bit_list() {
    long_vector(4);
}

#[test]
fn long_eight_bit_list() {
    long_vector(8);
}

#[test]
fn example_jwt_verifies_with_kid_12() {
    let v = jwt::verify(EXAMPLE_JWT, &example_keys(), &Expectations::new(Some(EXAMPLE_SUB), NOW)).unwrap();
    assert_eq!(v.format, TokenFormat::Jwt);
    assert_eq!(v.kid.as_deref(), Some("12"));
    assert_eq!(v.token.sub, EXAMPLE_SUB);
    assert_eq!(v.token.iss.as_deref(), Some("https://example.com"));
    assert_eq!(
        (v.token.iat, v.token.exp, v.token.ttl),
        (EXAMPLE_IAT, Some(EXAMPLE_EXP), Some(43200))
    );
    assert_eq!(v.token.list.as_bytes(), &[0xB9, 0xA3]);
    assert_eq!(v.token.list.get(0).unwrap(), Status::INVALID);
    assert_eq!(v.token.list.get(1).unwrap(), Status::VALID);
    // Past its exp the same token is refused.
    let late = Expectations::new(Some(EXAMPLE_SUB), EXAMPLE_EXP);
    assert!(matches!(
        jwt::verify(EXAMPLE_JWT, &example_keys(), &late),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn example_cwt_verifies_with_kid_12() {
    let bytes = hex::decode(EXAMPLE_CWT_HEX).unwrap();
    assert_eq!(TokenFormat::detect(&bytes), TokenFormat::Cwt);
    let v = cwt::verify(&bytes, &example_keys(), &Expectations::new(Some(EXAMPLE_SUB), NOW)).unwrap();
    assert_eq!(v.kid.as_deref(), Some("12"));
    assert_eq!(v.token.sub, EXAMPLE_SUB);
    assert_eq!(
        (v.token.iat, v.token.exp, v.token.ttl),
        (EXAMPLE_IAT, Some(EXAMPLE_EXP), Some(43200))
    );
    assert_eq!(v.token.list.as_bytes(), &[0xB9, 0xA3]);
    // The generic entry point detects the form.
    let v = shared::domain::token::verify(&bytes, &example_keys(), &Expectations::new(Some(EXAMPLE_SUB), NOW)).unwrap();
    assert_eq!(v.format, TokenFormat::Cwt);
}

/// Rebuilding the spec's example token with the example key gives a token that decodes to the
/// same claims (ECDSA is randomised, so not the same bytes) and verifies.
#[tokio::test]
async fn re_signed_examples_match_the_decoded_spec_examples() {
    let signer = example_signer();
    let token = shared::StatusListToken {
        sub: EXAMPLE_SUB.into(),
        iat: EXAMPLE_IAT,
        exp: Some(EXAMPLE_EXP),
        ttl: Some(43200),
        iss: Some("https://example.com".into()),
        aggregation_uri: None,
        list: short(1, &[1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]),
    };
    let compact = shared::signing::jwt(&token, &signer).await.unwrap();
    let (signing_input, _) = compact.rsplit_once('.').unwrap();
    let (expected_input, _) = EXAMPLE_JWT.rsplit_once('.').unwrap();
    assert_eq!(
        signing_input, expected_input,
        "header and claims are byte-identical to the spec's"
    );
    jwt::verify(&compact, &example_keys(), &Expectations::new(Some(EXAMPLE_SUB), NOW)).unwrap();

    let token = shared::StatusListToken { iss: None, ..token };
    let bytes = shared::signing::cwt(&token, &signer).await.unwrap();
    let expected = hex::decode(EXAMPLE_CWT_HEX).unwrap();
    assert_eq!(bytes.len(), expected.len());
    assert_eq!(
        bytes[..bytes.len() - 64],
        expected[..expected.len() - 64],
        "all but the signature is identical"
    );
    cwt::verify(&bytes, &example_keys(), &Expectations::new(Some(EXAMPLE_SUB), NOW)).unwrap();
}
