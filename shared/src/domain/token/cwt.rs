//! CWT Status List Token (spec §4): COSE_Sign1 with tag 18 (never the CWT tag 61), protected
//! header `{1: -7, 16: "application/statuslist+cwt"}`, `kid` (label 4) in the unprotected header
//! as in the spec's example, and claims 2 sub, 1 iss, 6 iat, 4 exp, 65534 ttl,
//! 65533 status_list (a text-keyed map with `lst` as a raw bstr).
//!
//! An mDoc list's token also carries its signer's certificate in `x5chain` (label 33, RFC 9360),
//! in the unprotected header as ISO/IEC 18013-5 places it in an mDoc's issuer signature: one bstr
//! for a lone certificate, an array leaf first for a chain.
//!
//! coset's `ClaimsSet` refuses the not-yet-registered keys 65533/65534, so the claims map is
//! built and read as plain CBOR with ciborium; coset handles the COSE structure.

use ciborium::Value;
use coset::{
    CoseSign1, CoseSign1Builder, HeaderBuilder, Label, RegisteredLabelWithPrivate, TaggedCborSerializable, iana,
};

use super::{CWT_TYP, Expectations, StatusListToken, TokenError, TokenFormat, VerifiedToken};
use crate::domain::keys::KeySet;
use crate::domain::status::Bits;
use crate::domain::status_list::{MAX_LIST_BYTES, StatusList};

pub const CLAIM_ISS: i64 = 1;
pub const CLAIM_SUB: i64 = 2;
pub const CLAIM_EXP: i64 = 4;
pub const CLAIM_IAT: i64 = 6;
pub const CLAIM_STATUS_LIST: i64 = 65533;
pub const CLAIM_TTL: i64 = 65534;
const HEADER_TYP: i64 = 16;
pub const HEADER_X5CHAIN: i64 = 33;
const CWT_TAG: u64 = 61;
const FORM: &str = "CWT";

/// The CBOR Status List (§2.3): a text-keyed map, `lst` the raw zlib bytes.
pub fn status_list_cbor(bits: Bits, compressed: &[u8], aggregation_uri: Option<&str>) -> Value {
    let mut map = vec![
        (Value::Text("bits".into()), Value::Integer(bits.get().into())),
        (Value::Text("lst".into()), Value::Bytes(compressed.to_vec())),
    ];
    if let Some(agg) = aggregation_uri {
        map.push((Value::Text("aggregation_uri".into()), Value::Text(agg.to_owned())));
    }
    Value::Map(map)
}

fn claims_payload(token: &StatusListToken, compressed: &[u8]) -> Vec<u8> {
    let int = |k: i64| Value::Integer(k.into());
    let status_list = status_list_cbor(token.list.bits(), compressed, token.aggregation_uri.as_deref());
    let mut claims = vec![(int(CLAIM_SUB), Value::Text(token.sub.clone()))];
    if let Some(iss) = &token.iss {
        claims.push((int(CLAIM_ISS), Value::Text(iss.clone())));
    }
    claims.push((int(CLAIM_IAT), Value::Integer(token.iat.into())));
    if let Some(exp) = token.exp {
        claims.push((int(CLAIM_EXP), Value::Integer(exp.into())));
    }
    if let Some(ttl) = token.ttl {
        claims.push((int(CLAIM_TTL), Value::Integer(ttl.into())));
    }
    claims.push((int(CLAIM_STATUS_LIST), status_list));
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(claims), &mut out).expect("writing CBOR to a Vec cannot fail");
    out
}

/// A COSE_Sign1 of a token, all but its signature.
#[derive(Clone, Debug)]
pub struct UnsignedCwt(CoseSign1);

impl UnsignedCwt {
    /// What the signature covers (the `Sig_structure`, RFC 9052 §4.4).
    pub fn signing_input(&self) -> Vec<u8> {
        self.0.tbs_data(b"")
    }

    /// The tagged COSE_Sign1 (the raw bytes served over HTTP) with its raw ES256 signature.
    pub fn assemble(self, signature: &[u8; 64]) -> Result<Vec<u8>, TokenError> {
        let mut sign1 = self.0;
        sign1.signature = signature.to_vec();
        sign1.to_tagged_vec().map_err(|e| TokenError::Cbor(e.to_string()))
    }
}

/// `token` as a COSE_Sign1 to sign with the key `kid`; `compressed` is the zlib'd list, and
/// `x5chain` the signer's certificate chain (DER, leaf first; empty for none).
pub fn unsigned(
    token: &StatusListToken,
    compressed: &[u8],
    kid: &str,
    x5chain: &[Vec<u8>],
) -> Result<UnsignedCwt, TokenError> {
    super::check_ttl(token.ttl)?;
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .value(HEADER_TYP, Value::Text(CWT_TYP.into()))
        .build();
    let mut unprotected = HeaderBuilder::new().key_id(kid.as_bytes().to_vec());
    match x5chain {
        [] => {}
        [one] => unprotected = unprotected.value(HEADER_X5CHAIN, Value::Bytes(one.clone())),
        chain => {
            let certs = chain.iter().map(|c| Value::Bytes(c.clone())).collect();
            unprotected = unprotected.value(HEADER_X5CHAIN, Value::Array(certs));
        }
    }
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected.build())
        .payload(claims_payload(token, compressed))
        .build();
    Ok(UnsignedCwt(sign1))
}

/// A CWT decoded, nothing verified: headers and claims rendered as JSON for display.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: serde_json::Value,
    pub claims: serde_json::Value,
    pub token: StatusListToken,
    pub kid: Option<String>,
    /// The certificates of `x5chain` (DER, leaf first), from either header; empty if none.
    pub x5chain: Vec<Vec<u8>>,
}

/// The certificates of a COSE_Sign1's `x5chain` header (protected first, then unprotected).
fn x5chain_of(sign1: &CoseSign1) -> Vec<Vec<u8>> {
    let find = |rest: &[(Label, Value)]| {
        rest.iter()
            .find(|(label, _)| *label == Label::Int(HEADER_X5CHAIN))
            .map(|(_, v)| v.clone())
    };
    match find(&sign1.protected.header.rest).or_else(|| find(&sign1.unprotected.rest)) {
        Some(Value::Bytes(one)) => vec![one],
        Some(Value::Array(certs)) => certs
            .into_iter()
            .filter_map(|c| match c {
                Value::Bytes(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn parse(bytes: &[u8]) -> Result<CoseSign1, TokenError> {
    if bytes.is_empty() {
        return Err(TokenError::Malformed(FORM, "empty input".into()));
    }
    let value: Value = ciborium::from_reader(bytes).map_err(|e| TokenError::Cbor(e.to_string()))?;
    match &value {
        Value::Tag(CWT_TAG, _) => {
            return Err(TokenError::Malformed(
                FORM,
                "the CWT tag 61 must not wrap a Status List Token".into(),
            ));
        }
        Value::Tag(18, _) => {}
        Value::Tag(tag, _) => {
            return Err(TokenError::Malformed(
                FORM,
                format!("tag {tag}; expected COSE_Sign1_Tagged (18)"),
            ));
        }
        _ => {
            return Err(TokenError::Malformed(
                FORM,
                "expected COSE_Sign1_Tagged (tag 18)".into(),
            ));
        }
    }
    CoseSign1::from_tagged_slice(bytes).map_err(|e| TokenError::Cbor(e.to_string()))
}

fn kid_of(sign1: &CoseSign1) -> Option<String> {
    let kid = if sign1.protected.header.key_id.is_empty() {
        &sign1.unprotected.key_id
    } else {
        &sign1.protected.header.key_id
    };
    (!kid.is_empty()).then(|| String::from_utf8_lossy(kid).into_owned())
}

fn typ_of(sign1: &CoseSign1) -> Option<&Value> {
    sign1
        .protected
        .header
        .rest
        .iter()
        .find(|(label, _)| *label == Label::Int(HEADER_TYP))
        .map(|(_, v)| v)
}

/// Decodes a CWT Status List Token for display; the signature is not checked.
pub fn decode_unverified(bytes: &[u8]) -> Result<Decoded, TokenError> {
    let sign1 = parse(bytes)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(TokenError::Malformed(FORM, "detached payload".into()))?;
    let (token, claims) = parse_claims(payload, MAX_LIST_BYTES)?;
    let alg = match &sign1.protected.header.alg {
        Some(RegisteredLabelWithPrivate::Assigned(a)) => serde_json::json!(*a as i64),
        Some(RegisteredLabelWithPrivate::PrivateUse(a)) => serde_json::json!(a),
        Some(RegisteredLabelWithPrivate::Text(t)) => serde_json::json!(t),
        None => serde_json::Value::Null,
    };
    let kid = kid_of(&sign1);
    let x5chain = x5chain_of(&sign1);
    let mut header = serde_json::json!({
        "alg": alg,
        "typ": typ_of(&sign1).map(cbor_to_json),
        "kid": kid,
    });
    if !x5chain.is_empty() {
        use base64::Engine;
        header["x5chain"] = x5chain
            .iter()
            .map(|c| base64::engine::general_purpose::STANDARD.encode(c))
            .collect();
    }
    Ok(Decoded {
        header,
        claims,
        token,
        kid,
        x5chain,
    })
}

/// Verifies an mDoc list's CWT as an ISO/IEC 18013-5 relying party does, against the tenant's
/// IACA: the leaf of its `x5chain` must be a signer certificate `iaca` issued (see
/// [`crate::domain::signer::read_certificate`]) and valid at `expect.now`, the token must verify
/// with that certificate's key ([`verify`]), and it must not outlive the certificate.
pub fn verify_chained(
    bytes: &[u8],
    iaca: &crate::domain::iaca::IacaCertificate,
    expect: &Expectations<'_>,
) -> Result<VerifiedToken, TokenError> {
    use crate::domain::{iaca, signer};
    let untrusted = |e: &dyn std::fmt::Display| TokenError::Untrusted(e.to_string());
    let chain = x5chain_of(&parse(bytes)?);
    let leaf = chain.first().ok_or_else(|| untrusted(&"the token has no x5chain"))?;
    let key = signer::certified_key(leaf).map_err(|e| untrusted(&e))?;
    let pem = iaca::pem_of(leaf).map_err(|e| untrusted(&e))?;
    let certificate = signer::read_certificate(&pem, iaca, &key).map_err(|e| untrusted(&e))?;
    if expect.now < certificate.not_before || expect.now >= certificate.not_after {
        return Err(untrusted(&"the signer certificate is not valid now"));
    }
    let verified = verify(bytes, &KeySet::single(p256::ecdsa::VerifyingKey::from(&key)), expect)?;
    if verified.token.exp.is_none_or(|exp| exp > certificate.not_after) {
        return Err(untrusted(&"the token outlives its signer certificate"));
    }
    Ok(verified)
}

/// Verifies a CWT Status List Token: tag 18 and no tag 61, `alg` ES256, typ (16)
/// `application/statuslist+cwt`, the signature over the COSE Sig_structure, then the claims.
pub fn verify(bytes: &[u8], keys: &KeySet, expect: &Expectations<'_>) -> Result<VerifiedToken, TokenError> {
    let sign1 = parse(bytes)?;
    match &sign1.protected.header.alg {
        Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)) => {}
        other => return Err(TokenError::WrongAlgorithm(format!("{other:?}"))),
    }
    match typ_of(&sign1) {
        Some(Value::Text(t)) if t == CWT_TYP => {}
        other => {
            return Err(TokenError::WrongType {
                expected: CWT_TYP,
                found: other.map(|v| cbor_to_json(v).to_string()),
            });
        }
    }
    let kid = kid_of(&sign1);
    let key = keys
        .find(kid.as_deref())
        .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    sign1.verify_signature(b"", |sig, data| super::verify_es256(key, data, sig))?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(TokenError::Malformed(FORM, "detached payload".into()))?;
    let (token, _) = parse_claims(payload, expect.max_list_bytes)?;
    super::check_claims(&token, expect)?;
    Ok(VerifiedToken {
        format: TokenFormat::Cwt,
        kid,
        token,
    })
}

fn invalid(claim: &'static str, reason: &str) -> TokenError {
    TokenError::InvalidClaim {
        claim,
        reason: reason.into(),
    }
}

fn int_of(v: &Value, claim: &'static str) -> Result<i64, TokenError> {
    match v {
        Value::Integer(i) => i64::try_from(*i).map_err(|_| invalid(claim, "out of range")),
        Value::Float(f) if f.is_finite() && f.abs() < 1e15 => Ok(*f as i64),
        _ => Err(invalid(claim, "must be a number")),
    }
}

fn parse_claims(payload: &[u8], max_list_bytes: usize) -> Result<(StatusListToken, serde_json::Value), TokenError> {
    let value: Value = ciborium::from_reader(payload).map_err(|e| TokenError::Cbor(e.to_string()))?;
    let Value::Map(entries) = value else {
        return Err(TokenError::Malformed(FORM, "claims are not a CBOR map".into()));
    };
    let (mut sub, mut iss, mut iat, mut exp, mut ttl, mut status_list) = (None, None, None, None, None, None);
    let mut display = serde_json::Map::new();
    for (raw_key, value) in &entries {
        let key = match raw_key {
            Value::Integer(i) => i64::try_from(*i).ok(),
            _ => None,
        };
        let name = match key {
            Some(CLAIM_SUB) => {
                sub = Some(
                    value
                        .as_text()
                        .ok_or_else(|| invalid("sub", "must be a text string"))?
                        .to_owned(),
                );
                "sub".to_string()
            }
            Some(CLAIM_ISS) => {
                iss = Some(
                    value
                        .as_text()
                        .ok_or_else(|| invalid("iss", "must be a text string"))?
                        .to_owned(),
                );
                "iss".to_string()
            }
            Some(CLAIM_IAT) => {
                iat = Some(int_of(value, "iat")?);
                "iat".to_string()
            }
            Some(CLAIM_EXP) => {
                exp = Some(int_of(value, "exp")?);
                "exp".to_string()
            }
            Some(CLAIM_TTL) => {
                let t = match value {
                    Value::Integer(i) => u64::try_from(*i).ok().filter(|t| *t > 0),
                    _ => None,
                };
                ttl = Some(t.ok_or_else(|| invalid("ttl", "must be a positive unsigned integer"))?);
                "ttl".to_string()
            }
            Some(CLAIM_STATUS_LIST) => {
                status_list = Some(value);
                continue; // shown as bits/size/statuses, not as raw bytes
            }
            Some(other) => other.to_string(),
            None => match raw_key {
                Value::Text(t) => t.clone(),
                other => cbor_to_json(other).to_string(),
            },
        };
        display.insert(name, cbor_to_json(value));
    }
    let sub = sub.ok_or(TokenError::MissingClaim("sub"))?;
    let iat = iat.ok_or(TokenError::MissingClaim("iat"))?;
    let Some(Value::Map(list)) = status_list else {
        return Err(match status_list {
            None => TokenError::MissingClaim("status_list"),
            Some(_) => invalid("status_list", "must be a map"),
        });
    };
    let field = |name: &str| list.iter().find(|(k, _)| k.as_text() == Some(name)).map(|(_, v)| v);
    let bits = match field("bits") {
        Some(Value::Integer(i)) => Bits::from_u64(u64::try_from(*i).unwrap_or(0))?,
        Some(_) => return Err(invalid("status_list.bits", "must be 1, 2, 4 or 8")),
        None => return Err(TokenError::MissingClaim("status_list.bits")),
    };
    let lst = match field("lst") {
        Some(Value::Bytes(b)) => b,
        Some(_) => return Err(invalid("status_list.lst", "must be a byte string")),
        None => return Err(TokenError::MissingClaim("status_list.lst")),
    };
    let aggregation_uri = match field("aggregation_uri") {
        None => None,
        Some(Value::Text(t)) => Some(t.clone()),
        Some(_) => return Err(invalid("status_list.aggregation_uri", "must be a text string")),
    };
    if let Some(agg) = &aggregation_uri {
        display.insert("aggregation_uri".into(), serde_json::json!(agg));
    }
    let list = StatusList::decompress(bits, lst, max_list_bytes)?;
    let token = StatusListToken {
        sub,
        iat,
        exp,
        ttl,
        iss,
        aggregation_uri,
        list,
    };
    Ok((token, serde_json::Value::Object(display)))
}

/// CBOR rendered as JSON for display: byte strings become hex, maps keep stringified keys.
pub fn cbor_to_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Integer(i) => i64::try_from(*i)
            .map(|i| json!(i))
            .unwrap_or_else(|_| json!(i128::from(*i).to_string())),
        Value::Bytes(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Value::Float(f) => json!(f),
        Value::Text(t) => json!(t),
        Value::Bool(b) => json!(b),
        Value::Null => serde_json::Value::Null,
        Value::Tag(t, inner) => json!({ "tag": t, "value": cbor_to_json(inner) }),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(cbor_to_json).collect()),
        Value::Map(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(t) => t.clone(),
                        other => cbor_to_json(other).to_string(),
                    };
                    (key, cbor_to_json(v))
                })
                .collect(),
        ),
        _ => serde_json::Value::Null,
    }
}
