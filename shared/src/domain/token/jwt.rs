//! JWT Status List Token (spec §3): compact JWS, header `{alg: ES256, kid, typ: statuslist+jwt}`,
//! claims `sub`, `iat`, `exp`, `ttl`, `iss`, `status_list {bits, lst, aggregation_uri}`.
//! Built by hand rather than with `jsonwebtoken::encode` because the key lives in KMS: the
//! signing input is signed outside the domain (see [`crate::signing`]) and assembled here.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Expectations, JWT_TYP, StatusListToken, TokenError, TokenFormat, VerifiedToken};
use crate::domain::keys::KeySet;
use crate::domain::status::Bits;
use crate::domain::status_list::{MAX_LIST_BYTES, StatusList};

const FORM: &str = "JWT";

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'static str,
    /// The signer's certificate chain (RFC 7515 §4.1.6: standard base64 DER, leaf first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    x5c: Vec<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    status_list: JsonStatusList<'a>,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
}

#[derive(Serialize)]
struct JsonStatusList<'a> {
    bits: u8,
    lst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregation_uri: Option<&'a str>,
}

/// The JSON Status List (§2.2): `lst` is the zlib bytes, base64url without padding.
pub fn status_list_json(bits: Bits, compressed: &[u8], aggregation_uri: Option<&str>) -> Value {
    serde_json::to_value(JsonStatusList {
        bits: bits.get(),
        lst: URL_SAFE_NO_PAD.encode(compressed),
        aggregation_uri,
    })
    .expect("serialisable")
}

/// The unsigned `header.payload` for a token; `compressed` is the zlib'd list (so callers that
/// publish both forms compress once); `x5c` the signer's certificate chain (DER, leaf first),
/// empty for none.
pub fn signing_input(token: &StatusListToken, kid: &str, x5c: &[Vec<u8>], compressed: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    let header = Header {
        alg: "ES256",
        kid,
        typ: JWT_TYP,
        x5c: x5c.iter().map(|c| STANDARD.encode(c)).collect(),
    };
    let claims = Claims {
        exp: token.exp,
        iat: token.iat,
        iss: token.iss.as_deref(),
        status_list: JsonStatusList {
            bits: token.list.bits().get(),
            lst: URL_SAFE_NO_PAD.encode(compressed),
            aggregation_uri: token.aggregation_uri.as_deref(),
        },
        sub: &token.sub,
        ttl: token.ttl,
    };
    let header = serde_json::to_vec(&header).expect("header serialises");
    let claims = serde_json::to_vec(&claims).expect("claims serialise");
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims))
}

/// The signing input of `token` once its ttl is checked: [`signing_input`] for callers that
/// sign (see [`crate::signing`]) and then [`assemble`] the compact JWS.
pub fn unsigned(token: &StatusListToken, kid: &str, x5c: &[Vec<u8>], compressed: &[u8]) -> Result<String, TokenError> {
    super::check_ttl(token.ttl)?;
    Ok(signing_input(token, kid, x5c, compressed))
}

/// The compact JWS of a signing input and its raw ES256 signature (`r || s`).
pub fn assemble(input: &str, signature: &[u8; 64]) -> String {
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A JWT split and decoded, nothing verified.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: Value,
    /// Claims with `status_list.lst` left out (it is in `token.list`).
    pub claims: Value,
    pub token: StatusListToken,
}

fn b64(part: &'static str, text: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| TokenError::Base64(part, e.to_string()))
}

fn json_object(part: &'static str, bytes: &[u8]) -> Result<Map<String, Value>, TokenError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(TokenError::Json(part, "not a JSON object".into())),
        Err(e) => Err(TokenError::Json(part, e.to_string())),
    }
}

struct Parts {
    header: Map<String, Value>,
    payload: Vec<u8>,
    signing_input_len: usize,
    signature: Vec<u8>,
}

fn split(text: &str) -> Result<Parts, TokenError> {
    let text = text.trim();
    let mut it = text.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed(
            FORM,
            "a compact JWS has exactly three dot-separated parts".into(),
        ));
    };
    Ok(Parts {
        header: json_object("header", &b64("header", h)?)?,
        payload: b64("payload", p)?,
        signing_input_len: h.len() + 1 + p.len(),
        signature: b64("signature", s)?,
    })
}

/// Decodes a JWT Status List Token without checking anything but its structure: for display.
pub fn decode_unverified(text: &str) -> Result<Decoded, TokenError> {
    let parts = split(text)?;
    let (token, claims) = parse_claims(&parts.payload, MAX_LIST_BYTES)?;
    Ok(Decoded {
        header: Value::Object(parts.header),
        claims,
        token,
    })
}

/// Verifies a JWT Status List Token: `alg` ES256, `typ` statuslist+jwt, the signature under the
/// key its `kid` names, required claims, `sub` and `exp` (spec §8 steps 3-5). Claims are read
/// only after the signature checks out.
pub fn verify(text: &str, keys: &KeySet, expect: &Expectations<'_>) -> Result<VerifiedToken, TokenError> {
    let text = text.trim();
    let parts = split(text)?;
    match parts.header.get("alg") {
        Some(Value::String(alg)) if alg == "ES256" => {}
        Some(Value::String(alg)) => return Err(TokenError::WrongAlgorithm(alg.clone())),
        other => return Err(TokenError::WrongAlgorithm(format!("{other:?}"))),
    }
    match parts.header.get("typ") {
        Some(Value::String(typ)) if typ == JWT_TYP => {}
        other => {
            return Err(TokenError::WrongType {
                expected: JWT_TYP,
                found: other.map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())),
            });
        }
    }
    let kid = match parts.header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(TokenError::Malformed(FORM, "kid must be a string".into())),
    };
    let key = keys
        .find(kid.as_deref())
        .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    super::verify_es256(key, &text.as_bytes()[..parts.signing_input_len], &parts.signature)?;
    let (token, _) = parse_claims(&parts.payload, expect.max_list_bytes)?;
    super::check_claims(&token, expect)?;
    Ok(VerifiedToken {
        format: TokenFormat::Jwt,
        kid,
        token,
    })
}

fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| TokenError::InvalidClaim {
                claim: name,
                reason: "not a NumericDate".into(),
            }),
        Some(_) => Err(TokenError::InvalidClaim {
            claim: name,
            reason: "must be a number".into(),
        }),
    }
}

fn string(map: &Map<String, Value>, name: &'static str) -> Result<Option<String>, TokenError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::InvalidClaim {
            claim: name,
            reason: "must be a string".into(),
        }),
    }
}

/// Parses the claims; returns the token and the claims for display, with `lst` removed.
fn parse_claims(payload: &[u8], max_list_bytes: usize) -> Result<(StatusListToken, Value), TokenError> {
    let mut claims = json_object("payload", payload)?;
    let sub = string(&claims, "sub")?.ok_or(TokenError::MissingClaim("sub"))?;
    let iat = numeric(&claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    let exp = numeric(&claims, "exp")?;
    let ttl = match claims.get("ttl") {
        None => None,
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(t), _) if t > 0 => Some(t),
            (None, Some(f)) if f.is_finite() && f > 0.0 && f < 1e15 => Some(f.ceil() as u64),
            _ => {
                return Err(TokenError::InvalidClaim {
                    claim: "ttl",
                    reason: "must be a positive number".into(),
                });
            }
        },
        Some(_) => {
            return Err(TokenError::InvalidClaim {
                claim: "ttl",
                reason: "must be a positive number".into(),
            });
        }
    };
    let iss = string(&claims, "iss")?;
    let Some(list) = claims.get_mut("status_list") else {
        return Err(TokenError::MissingClaim("status_list"));
    };
    let Value::Object(list) = list else {
        return Err(TokenError::InvalidClaim {
            claim: "status_list",
            reason: "must be an object".into(),
        });
    };
    let bits = match list.get("bits") {
        Some(Value::Number(n)) => Bits::from_u64(n.as_u64().unwrap_or(0))?,
        Some(_) => {
            return Err(TokenError::InvalidClaim {
                claim: "status_list.bits",
                reason: "must be 1, 2, 4 or 8".into(),
            });
        }
        None => return Err(TokenError::MissingClaim("status_list.bits")),
    };
    let lst = match list.remove("lst") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(TokenError::InvalidClaim {
                claim: "status_list.lst",
                reason: "must be a string".into(),
            });
        }
        None => return Err(TokenError::MissingClaim("status_list.lst")),
    };
    let aggregation_uri = string(list, "aggregation_uri")?;
    let compressed = b64("status_list.lst", &lst)?;
    let list = StatusList::decompress(bits, &compressed, max_list_bytes)?;
    let token = StatusListToken {
        sub,
        iat,
        exp,
        ttl,
        iss,
        aggregation_uri,
        list,
    };
    Ok((token, Value::Object(claims)))
}
