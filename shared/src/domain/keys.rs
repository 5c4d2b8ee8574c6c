//! P-256 verification keys: RFC 7638 thumbprints (our stable `kid`), JWK conversion, and a
//! small key set that picks the key a token names.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use p256::{PublicKey, ecdsa::VerifyingKey, elliptic_curve::sec1::ToEncodedPoint};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a P-256 key: {0}")]
    NotP256(String),
    #[error("unreadable key: {0}")]
    Unreadable(String),
}

/// RFC 7638 JWK thumbprint of a P-256 key, base64url: stable, and derived from the key alone.
pub fn thumbprint(key: &PublicKey) -> String {
    let (x, y) = coordinates(key);
    // Members in lexicographic order, no whitespace (RFC 7638 §3.3).
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn coordinates(key: &PublicKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    let x = URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point has x"));
    let y = URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point has y"));
    (x, y)
}

/// The public JWK (`kty` EC, `crv` P-256, `use` sig, `alg` ES256) for a JWKS document.
pub fn public_jwk(key: &PublicKey, kid: &str) -> Jwk {
    let (x, y) = coordinates(key);
    let value = serde_json::json!({
        "kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig", "alg": "ES256", "kid": kid,
    });
    serde_json::from_value(value).expect("a well-formed EC JWK")
}

/// Reads the public key of a P-256 JWK, refusing other key types and curves.
pub fn key_from_jwk(jwk: &Jwk) -> Result<VerifyingKey, KeyError> {
    let AlgorithmParameters::EllipticCurve(ec) = &jwk.algorithm else {
        return Err(KeyError::NotP256("not an EC key".into()));
    };
    if ec.curve != EllipticCurve::P256 {
        return Err(KeyError::NotP256(format!("curve {:?}", ec.curve)));
    }
    let decode = |c: &str| {
        URL_SAFE_NO_PAD
            .decode(c)
            .map_err(|e| KeyError::Unreadable(format!("bad coordinate: {e}")))
    };
    let (x, y) = (decode(&ec.x)?, decode(&ec.y)?);
    if x.len() != 32 || y.len() != 32 {
        return Err(KeyError::Unreadable("coordinates must be 32 bytes".into()));
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| KeyError::Unreadable("point not on P-256".into()))
}

/// Reads a P-256 private key in PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
pub fn secret_key_from_pem(pem: &str) -> Result<p256::SecretKey, KeyError> {
    use p256::pkcs8::DecodePrivateKey;
    p256::SecretKey::from_pkcs8_pem(pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
        .map_err(|_| KeyError::Unreadable("expected a P-256 private key in PEM (PKCS#8 or SEC1)".into()))
}

/// Reads a PEM public key (SPKI) or private key (PKCS#8 or SEC1), returning its public half.
pub fn public_key_from_pem(pem: &str) -> Result<PublicKey, KeyError> {
    use p256::pkcs8::DecodePublicKey;
    PublicKey::from_public_key_pem(pem)
        .or_else(|_| secret_key_from_pem(pem).map(|s| s.public_key()))
        .map_err(|_| KeyError::Unreadable("expected a P-256 key in PEM (SPKI, PKCS#8 or SEC1)".into()))
}

/// A compact ES256 JWS over exactly this header and payload (issuer requests, and tests that
/// need arbitrary headers).
pub fn sign_compact_es256(
    key: &p256::ecdsa::SigningKey,
    header: &serde_json::Value,
    payload: &serde_json::Value,
) -> String {
    use p256::ecdsa::signature::Signer;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// The keys a verifier trusts, each with its `kid` where known.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<(Option<String>, VerifyingKey)>,
}

impl KeySet {
    pub fn single(key: VerifyingKey) -> Self {
        KeySet {
            keys: vec![(None, key)],
        }
    }

    pub fn push(&mut self, kid: Option<String>, key: VerifyingKey) {
        self.keys.push((kid, key));
    }

    /// Every usable P-256 signing key of a JWKS; other keys are skipped, as RFC 7517 §5 allows.
    pub fn from_jwks(jwks: &JwkSet) -> Self {
        let mut set = KeySet::default();
        for jwk in &jwks.keys {
            if let Ok(key) = key_from_jwk(jwk) {
                set.push(jwk.common.key_id.clone(), key);
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a token with this `kid` must verify under: the key with that kid, or a key
    /// registered without a kid (a key given directly on the command line, say).
    pub fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        let by_kid = kid.and_then(|k| self.keys.iter().find(|(id, _)| id.as_deref() == Some(k)));
        by_kid
            .or_else(|| self.keys.iter().find(|(id, _)| id.is_none()))
            .map(|(_, key)| key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The spec's example key (digest §14.1).
    const X: &str = "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo";
    const Y: &str = "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M";

    fn example_jwk() -> Jwk {
        serde_json::from_value(serde_json::json!({"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"12"})).unwrap()
    }

    #[test]
    fn jwk_round_trip_and_thumbprint_is_stable() {
        let key = key_from_jwk(&example_jwk()).unwrap();
        let public = PublicKey::from(&key);
        let kid = thumbprint(&public);
        assert_eq!(kid.len(), 43);
        assert_eq!(kid, thumbprint(&public));
        let jwk = public_jwk(&public, &kid);
        assert_eq!(key_from_jwk(&jwk).unwrap(), key);
    }

    #[test]
    fn key_set_picks_by_kid() {
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"12"},
            {"kty":"oct","k":"c2VjcmV0","kid":"hmac"}
        ]}))
        .unwrap();
        let set = KeySet::from_jwks(&jwks);
        assert!(set.find(Some("12")).is_some());
        assert!(set.find(Some("hmac")).is_none(), "symmetric keys are never used");
        assert!(set.find(Some("13")).is_none());
        assert!(set.find(None).is_none());
    }

    #[test]
    fn refuses_non_p256_keys() {
        let jwk: Jwk = serde_json::from_value(serde_json::json!({"kty":"oct","k":"c2VjcmV0"})).unwrap();
        assert!(matches!(key_from_jwk(&jwk), Err(KeyError::NotP256(_))));
        assert!(public_key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err());
    }
}
