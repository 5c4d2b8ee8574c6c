//! The GOV.UK issuer request JWT (`POST /issue`, `POST /revoke`): header and claim rules, with
//! the contract's exact error strings. Pure: the signature is checked by the caller, and no claim
//! here is used before it is.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Seconds in the one-year ceiling on `statusExpiry`.
pub const MAX_STATUS_LIFETIME: i64 = 366 * 24 * 3600;
/// An `iat` older than this is refused, so a captured request cannot be replayed once its
/// idempotency record has gone. The idempotency record outlives it (see `IDEMPOTENCY_RETENTION`).
pub const MAX_REQUEST_AGE: i64 = 3600;
/// Allowed clock skew for an `iat` in the future.
pub const MAX_CLOCK_SKEW: i64 = 300;
/// How long a completed /issue response is kept for replay.
pub const IDEMPOTENCY_RETENTION: i64 = MAX_REQUEST_AGE + MAX_CLOCK_SKEW + 60;

/// Every way an issuer request can be refused, each with its contract status and text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    #[error("Content-Type header must be application/jwt")]
    ContentType,
    #[error("Error decoding JWT or converting to JSON")]
    Decode,
    #[error("No Algorithm in Header")]
    NoAlgorithm,
    #[error("Invalid Algorithm in Header")]
    InvalidAlgorithm,
    #[error("No Type in Header")]
    NoType,
    #[error("Invalid Type in Header")]
    InvalidType,
    #[error("No Key ID in Header")]
    NoKeyId,
    #[error("Unsupported critical Header parameters")]
    CriticalHeader,
    #[error("Invalid Key ID in Header")]
    InvalidKeyId,
    #[error("No Issuer in Payload")]
    NoIssuer,
    #[error("JWT has non-matching Client ID")]
    UnknownClient,
    #[error("JWT has non-verified signature")]
    BadSignature,
    #[error("No iat in Payload")]
    NoIat,
    #[error("Invalid iat in Payload")]
    InvalidIat,
    #[error("No jti in Payload")]
    NoJti,
    #[error("Invalid jti in Payload")]
    InvalidJti,
    #[error("No Status Expiry in Payload")]
    NoStatusExpiry,
    #[error(
        "Status Expiry in Payload must be a non negative number and represent a future expiry date no more than 1 year from now"
    )]
    InvalidStatusExpiry,
    #[error("No Index in Payload")]
    NoIndex,
    #[error("Index must be a valid non-negative integer")]
    InvalidIndex,
    #[error("No valid URI in Payload")]
    NoUri,
    #[error("Invalid URI format in payload")]
    InvalidUri,
    #[error("Detected invalid changes between idempotent requests, unable to proceed. Please generate a new request.")]
    IdempotencyMismatch,
    #[error("Multiple concurrent idempotent requests in progress. Please retry after a short delay.")]
    InFlight,
    #[error("The original clientId is different to the clientId in the request")]
    WrongClient,
    #[error("Entry not found in status list table")]
    EntryNotFound,
}

impl IssuerError {
    /// HTTP status of this refusal (contract §1.4).
    pub fn status(&self) -> u16 {
        use IssuerError::*;
        match self {
            NoAlgorithm | InvalidAlgorithm | NoType | InvalidType | NoKeyId | CriticalHeader | InvalidKeyId
            | NoIssuer | UnknownClient | BadSignature | WrongClient => 401,
            InFlight => 409,
            EntryNotFound => 404,
            _ => 400,
        }
    }
}

/// A request JWT's claims (or header), as the JSON object it carries.
pub type Claims = Map<String, Value>;

/// A JWS split into its decoded header and payload objects, nothing verified.
pub struct RawRequest {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
}

pub fn decode(token: &str) -> Result<RawRequest, IssuerError> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(IssuerError::Decode);
    };
    let object = |part: &str| -> Result<Map<String, Value>, IssuerError> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| IssuerError::Decode)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(IssuerError::Decode),
        }
    };
    Ok(RawRequest {
        header: object(h)?,
        payload: object(p)?,
    })
}

/// Header rules: `alg` ES256 only (never `none`, never HMAC), `typ` JWT, a `kid`, and no `crit`:
/// we understand no extension, so a request that marks one critical must be refused (RFC 7515
/// §4.1.11), and jsonwebtoken does not enforce `crit` itself. Returns the kid.
pub fn check_header(header: &Map<String, Value>) -> Result<&str, IssuerError> {
    if header.contains_key("crit") {
        return Err(IssuerError::CriticalHeader);
    }
    match header.get("alg") {
        None => return Err(IssuerError::NoAlgorithm),
        Some(Value::String(a)) if a == "ES256" => {}
        Some(_) => return Err(IssuerError::InvalidAlgorithm),
    }
    match header.get("typ") {
        None => return Err(IssuerError::NoType),
        Some(Value::String(t)) if t == "JWT" => {}
        Some(_) => return Err(IssuerError::InvalidType),
    }
    match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => Ok(k),
        Some(_) => Err(IssuerError::InvalidKeyId),
        None => Err(IssuerError::NoKeyId),
    }
}

/// Longest client id a registration accepts, and so the longest `iss` worth looking up.
pub const MAX_CLIENT_ID_BYTES: usize = 256;

/// The claimed issuer: used only to find which keys to verify with. It is unauthenticated, so one
/// longer than any registered client id is refused here, before any lookup.
pub fn issuer(payload: &Map<String, Value>) -> Result<&str, IssuerError> {
    match payload.get("iss") {
        Some(Value::String(s)) if s.len() > MAX_CLIENT_ID_BYTES => Err(IssuerError::UnknownClient),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(IssuerError::NoIssuer),
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

fn check_iat(payload: &Map<String, Value>, now: i64) -> Result<i64, IssuerError> {
    let iat = int(payload.get("iat").ok_or(IssuerError::NoIat)?).ok_or(IssuerError::InvalidIat)?;
    if iat > now + MAX_CLOCK_SKEW || iat < now - MAX_REQUEST_AGE {
        return Err(IssuerError::InvalidIat);
    }
    Ok(iat)
}

/// `jti` must be a lowercase UUID (8-4-4-4-12 hex).
fn check_jti(payload: &Map<String, Value>) -> Result<String, IssuerError> {
    let Value::String(jti) = payload.get("jti").ok_or(IssuerError::NoJti)? else {
        return Err(IssuerError::InvalidJti);
    };
    let groups: Vec<&str> = jti.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if ok {
        Ok(jti.clone())
    } else {
        Err(IssuerError::InvalidJti)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueRequest {
    pub iss: String,
    pub jti: String,
    pub iat: i64,
    pub status_expiry: i64,
}

/// Claims of a verified /issue request. `statusExpiry`, or the legacy `expires`, must lie in
/// the future and at most a year ahead.
pub fn issue_request(payload: &Map<String, Value>, now: i64) -> Result<IssueRequest, IssuerError> {
    let iss = issuer(payload)?.to_string();
    let iat = check_iat(payload, now)?;
    let jti = check_jti(payload)?;
    let expiry = payload
        .get("statusExpiry")
        .or_else(|| payload.get("expires"))
        .ok_or(IssuerError::NoStatusExpiry)?;
    let status_expiry = int(expiry).ok_or(IssuerError::InvalidStatusExpiry)?;
    if status_expiry < 0 || status_expiry <= now || status_expiry > now + MAX_STATUS_LIFETIME {
        return Err(IssuerError::InvalidStatusExpiry);
    }
    Ok(IssueRequest {
        iss,
        jti,
        iat,
        status_expiry,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeRequest {
    pub iss: String,
    pub jti: String,
    pub idx: u64,
    pub uri: String,
}

/// Claims of a verified /revoke request. `idx` 0 is a valid index.
pub fn revoke_request(payload: &Map<String, Value>, now: i64) -> Result<RevokeRequest, IssuerError> {
    let iss = issuer(payload)?.to_string();
    check_iat(payload, now)?;
    let jti = check_jti(payload)?;
    let idx = match payload.get("idx") {
        None | Some(Value::Null) => return Err(IssuerError::NoIndex),
        Some(Value::Number(n)) => n.as_u64().ok_or(IssuerError::InvalidIndex)?,
        Some(_) => return Err(IssuerError::InvalidIndex),
    };
    let uri = match payload.get("uri") {
        Some(Value::String(u)) if !u.is_empty() => u.clone(),
        _ => return Err(IssuerError::NoUri),
    };
    Ok(RevokeRequest { iss, jti, idx, uri })
}

/// SHA-256 over the canonical (key-sorted) payload: two requests with one (iss, jti) are the
/// "same request" only if every claim is equal.
pub fn claims_hash(payload: &Map<String, Value>) -> String {
    // serde_json's Map is a BTreeMap here (no preserve_order), so serialisation is key-sorted.
    let canonical = serde_json::to_vec(payload).expect("JSON map serialises");
    Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn issue(v: Value) -> Result<IssueRequest, IssuerError> {
        issue_request(&obj(v), NOW)
    }

    const JTI: &str = "bcea4e51-5b1c-4d5e-9c11-0f0e1d2c3b4a";

    #[test]
    fn header_rules() {
        let h = |v: Value| check_header(&obj(v)).map(str::to_owned);
        assert_eq!(h(json!({"alg":"ES256","typ":"JWT","kid":"k"})), Ok("k".into()));
        assert_eq!(h(json!({"typ":"JWT","kid":"k"})), Err(IssuerError::NoAlgorithm));
        for alg in ["none", "HS256", "RS256", "ES384", "es256"] {
            assert_eq!(
                h(json!({"alg":alg,"typ":"JWT","kid":"k"})),
                Err(IssuerError::InvalidAlgorithm),
                "{alg}"
            );
        }
        assert_eq!(h(json!({"alg":"ES256","kid":"k"})), Err(IssuerError::NoType));
        assert_eq!(
            h(json!({"alg":"ES256","typ":"jwt+x","kid":"k"})),
            Err(IssuerError::InvalidType)
        );
        assert_eq!(h(json!({"alg":"ES256","typ":"JWT"})), Err(IssuerError::NoKeyId));
        for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("x")] {
            assert_eq!(
                h(json!({"alg":"ES256","typ":"JWT","kid":"k","crit":crit})),
                Err(IssuerError::CriticalHeader),
                "{crit}"
            );
        }
        assert_eq!(IssuerError::CriticalHeader.status(), 401);
    }

    #[test]
    fn an_issuer_longer_than_any_client_id_is_refused_before_lookup() {
        let at_limit = "c".repeat(MAX_CLIENT_ID_BYTES);
        assert_eq!(issuer(&obj(json!({"iss": at_limit}))), Ok(at_limit.as_str()));
        let over = "c".repeat(MAX_CLIENT_ID_BYTES + 1);
        assert_eq!(issuer(&obj(json!({"iss": over}))), Err(IssuerError::UnknownClient));
        assert_eq!(IssuerError::UnknownClient.status(), 401);
        assert_eq!(issuer(&obj(json!({"iss": ""}))), Err(IssuerError::NoIssuer));
    }

    #[test]
    fn issue_claims() {
        let ok = issue(json!({"iss":"c","iat":NOW,"jti":JTI,"statusExpiry":NOW+3600})).unwrap();
        assert_eq!(ok.status_expiry, NOW + 3600);
        let legacy = issue(json!({"iss":"c","iat":NOW,"jti":JTI,"expires":NOW+60})).unwrap();
        assert_eq!(legacy.status_expiry, NOW + 60);
        assert_eq!(
            issue(json!({"iat":NOW,"jti":JTI,"statusExpiry":NOW+1})),
            Err(IssuerError::NoIssuer)
        );
        assert_eq!(
            issue(json!({"iss":"c","jti":JTI,"statusExpiry":NOW+1})),
            Err(IssuerError::NoIat)
        );
        assert_eq!(
            issue(json!({"iss":"c","iat":"x","jti":JTI,"statusExpiry":NOW+1})),
            Err(IssuerError::InvalidIat)
        );
        assert_eq!(
            issue(json!({"iss":"c","iat":NOW+3600,"jti":JTI,"statusExpiry":NOW+1})),
            Err(IssuerError::InvalidIat)
        );
        assert_eq!(
            issue(json!({"iss":"c","iat":NOW-7200,"jti":JTI,"statusExpiry":NOW+1})),
            Err(IssuerError::InvalidIat)
        );
        assert_eq!(
            issue(json!({"iss":"c","iat":NOW,"statusExpiry":NOW+1})),
            Err(IssuerError::NoJti)
        );
        for bad in [
            "BCEA4E51-5B1C-4D5E-9C11-0F0E1D2C3B4A",
            "not-a-uuid",
            "bcea4e515b1c4d5e9c110f0e1d2c3b4a",
            "",
        ] {
            assert_eq!(
                issue(json!({"iss":"c","iat":NOW,"jti":bad,"statusExpiry":NOW+1})),
                Err(IssuerError::InvalidJti),
                "{bad}"
            );
        }
        assert_eq!(
            issue(json!({"iss":"c","iat":NOW,"jti":JTI})),
            Err(IssuerError::NoStatusExpiry)
        );
        for bad in [
            json!(NOW - 1),
            json!(NOW),
            json!(-5),
            json!(NOW + MAX_STATUS_LIFETIME + 1),
            json!("soon"),
            json!(1.5),
        ] {
            assert_eq!(
                issue(json!({"iss":"c","iat":NOW,"jti":JTI,"statusExpiry":bad})),
                Err(IssuerError::InvalidStatusExpiry),
                "{bad}"
            );
        }
    }

    #[test]
    fn revoke_claims() {
        let r = |v: Value| revoke_request(&obj(v), NOW);
        let ok = r(json!({"iss":"c","iat":NOW,"jti":JTI,"idx":0,"uri":"https://s/t/A"})).unwrap();
        assert_eq!(ok.idx, 0, "index 0 is valid");
        assert_eq!(
            r(json!({"iss":"c","iat":NOW,"jti":JTI,"uri":"u"})),
            Err(IssuerError::NoIndex)
        );
        for bad in [json!(-1), json!(1.5), json!("3")] {
            assert_eq!(
                r(json!({"iss":"c","iat":NOW,"jti":JTI,"idx":bad,"uri":"u"})),
                Err(IssuerError::InvalidIndex)
            );
        }
        assert_eq!(
            r(json!({"iss":"c","iat":NOW,"jti":JTI,"idx":1})),
            Err(IssuerError::NoUri)
        );
    }

    #[test]
    fn decode_and_hash() {
        assert!(matches!(decode("a.b"), Err(IssuerError::Decode)));
        assert!(matches!(decode("e30.bm90IGpzb24.sig"), Err(IssuerError::Decode)));
        let a = obj(json!({"b": 1, "a": 2}));
        let b = obj(json!({"a": 2, "b": 1}));
        assert_eq!(claims_hash(&a), claims_hash(&b));
        assert_ne!(claims_hash(&a), claims_hash(&obj(json!({"a": 2, "b": 2}))));
    }
}
