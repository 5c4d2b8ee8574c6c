//! Fixtures shared by the shared crate's test files: the spec's example key and tokens.
#![allow(dead_code)]

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use shared::{KeySet, adapters::local_signer::LocalSigner};

/// The example signing key of draft -20 (`src/util.py`), kid "12" (digest §14.1).
pub const EXAMPLE_D: &str = "xzUEdsyLosZF0acZGRAjTKImb0lQvAvssDK5XIZELd0";
pub const EXAMPLE_X: &str = "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo";
pub const EXAMPLE_Y: &str = "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M";
pub const EXAMPLE_SUB: &str = "https://example.com/statuslists/1";
pub const EXAMPLE_IAT: i64 = 1686920170;
pub const EXAMPLE_EXP: i64 = 2291720170;

/// Digest §14.6: the raw compact JWT served in the spec's HTTP example.
pub const EXAMPLE_JWT: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyIiwidHlwIjoic3RhdHVzbGlzdCtqd3QifQ.eyJleHAiOjIyOTE3MjAxNzAsImlhdCI6MTY4NjkyMDE3MCwiaXNzIjoiaHR0cHM6Ly9leGFtcGxlLmNvbSIsInN0YXR1c19saXN0Ijp7ImJpdHMiOjEsImxzdCI6ImVOcmJ1UmdBQWhjQlhRIn0sInN1YiI6Imh0dHBzOi8vZXhhbXBsZS5jb20vc3RhdHVzbGlzdHMvMSIsInR0bCI6NDMyMDB9.2lKUUNG503R9htu4aHAYi7vjmr3sgApbfoDvPrl65N3URUO1EYqqQl45Jfzd-Av4QzlKa3oVALpLwOEUOq-U_g";

/// Digest §14.7: the CWT Status List Token.
pub const EXAMPLE_CWT_HEX: &str = "d2845820a2012610781a6170706c69636174696f6e2f7374617475736c6973742b637774a1044231325850a502782168747470733a2f2f6578616d706c652e636f6d2f7374617475736c697374732f31061a648c5bea041a8898dfea19fffe19a8c019fffda2646269747301636c73744a78dadbb918000217015d584093fa4d01032b18c35e2fe1101b77fd6cc9440022caa4694450c4e4e9feab4e99d1fa6d9772ce2bf3a12e0323ded7c982c5e101a5e67f0cbc1e2b6f57ce99c279";

pub fn example_signer() -> LocalSigner {
    let d = URL_SAFE_NO_PAD.decode(EXAMPLE_D).unwrap();
    LocalSigner::from_secret(p256::SecretKey::from_slice(&d).unwrap(), Some("12".into()))
}

pub fn example_keys() -> KeySet {
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(serde_json::json!({"keys": [
        {"kty": "EC", "crv": "P-256", "x": EXAMPLE_X, "y": EXAMPLE_Y, "kid": "12", "alg": "ES256", "use": "sig"}
    ]}))
    .unwrap();
    KeySet::from_jwks(&jwks)
}

/// A moment inside the example tokens' validity.
pub const NOW: i64 = 1_700_000_000;
