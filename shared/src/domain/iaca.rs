//! IACAs (ISO/IEC 18013-5 Issuing Authority CAs): the self-signed X.509 roots relying parties trust
//! for a tenant's mDocs and their status lists.
//!
//! Two kinds, as MATTR's API has them:
//! - **managed**: the key pair lives in the signing service (KMS); the certificate is built here to
//!   the ISO 18013-5 IACA profile (country and common name in the subject, BasicConstraints CA with
//!   pathLen 0 and KeyUsage keyCertSign + cRLSign, both critical, subject and authority key
//!   identifiers, an issuer alternative name URI, ECDSA P-256 with SHA-256) and signed by that key;
//! - **unmanaged**: the issuer keeps the key and registers the certificate (`certificatePem`),
//!   which must be a self-signed P-256 CA certificate, valid now, whose signature verifies.
//!
//! Everything here is pure: no key store, no clock (times are passed in), no HTTP.

use std::str::FromStr;
use std::time::Duration;

use p256::ecdsa::{DerSignature, Signature, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::der::asn1::{BitString, Ia5String};
use x509_cert::der::asn1::{PrintableStringRef, SetOfVec, Utf8StringRef};
use x509_cert::der::{Any, oid::ObjectIdentifier};
use x509_cert::der::{Decode, DecodePem, Encode, EncodePem, pem::LineEnding};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, IssuerAltName, KeyUsage, KeyUsages};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::domain::configuration::{FieldError, object_fields};

/// A tenant has at most this many IACAs.
pub const MAX_PER_TENANT: usize = 3;
/// A managed IACA's validity when `notAfter` is not given, and the longest allowed.
pub const DEFAULT_VALIDITY_YEARS: u16 = 10;
pub const MAX_VALIDITY_YEARS: u16 = 20;
/// How far in the past `notBefore` may be (clock skew between the caller and us).
pub const NOT_BEFORE_SKEW: i64 = 300;

pub(crate) const ECDSA_WITH_SHA_256: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const ID_AT_COUNTRY: &str = "2.5.4.6";
pub(crate) const ID_AT_COMMON_NAME: &str = "2.5.4.3";
const ID_AT_STATE: &str = "2.5.4.8";
pub(crate) const ID_CE_BASIC_CONSTRAINTS: &str = "2.5.29.19";
pub(crate) const ID_CE_KEY_USAGE: &str = "2.5.29.15";

/// What a create request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IacaRequest {
    Managed(ManagedRequest),
    Unmanaged { certificate_pem: String },
}

/// The subject and validity of a managed IACA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedRequest {
    pub common_name: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// ISO 3166-2 subdivision code (`AU-NSW`), within `country`.
    pub state_or_province: Option<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// The certificate's facts, as the API's `certificateData` shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateData {
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    pub country: String,
    pub common_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_or_province_name: Option<String>,
}

/// A parsed IACA certificate: what is stored and shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IacaCertificate {
    pub pem: String,
    pub der: Vec<u8>,
    pub data: CertificateData,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
    pub not_before: i64,
    pub not_after: i64,
    pub public_key: p256::PublicKey,
}

impl IacaCertificate {
    /// Whether the certificate is within its validity period at `now`.
    pub fn check_valid_at(&self, now: i64) -> Result<(), CertificateError> {
        if now < self.not_before || now > self.not_after {
            return Err(CertificateError::NotValidNow {
                not_before: self.data.not_before.clone(),
                not_after: self.data.not_after.clone(),
            });
        }
        Ok(())
    }
}

/// Why a certificate cannot be an IACA.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("is not a PEM-encoded X.509 certificate: {0}")]
    Unreadable(String),
    #[error("is not a CA certificate (BasicConstraints cA must be true)")]
    NotCa,
    #[error("must allow certificate signing (KeyUsage keyCertSign)")]
    NoCertSign,
    #[error("must have an ECDSA P-256 public key")]
    NotP256,
    #[error("must be self-signed with ECDSA P-256 and SHA-256, and its signature must verify")]
    BadSignature,
    #[error("is not valid now (valid from {not_before} to {not_after})")]
    NotValidNow { not_before: String, not_after: String },
    #[error("must name a country (C) in its subject")]
    NoCountry,
    #[error(
        "must be issued by the IACA: its issuer must be the IACA's subject and its ECDSA P-256 SHA-256 signature must verify with the IACA's key"
    )]
    WrongIssuer,
    #[error("must certify this signer's key (the public key of its CSR)")]
    WrongKey,
    #[error("must be an end-entity certificate (BasicConstraints cA false), not a CA")]
    IsCa,
    #[error("must allow digital signatures (KeyUsage digitalSignature)")]
    NoDigitalSignature,
    #[error("must lie within the IACA's validity ({not_before} to {not_after})")]
    OutsideIaca { not_before: String, not_after: String },
}

/// The same calendar date and time `years` later (29 February becomes 28 February).
pub fn add_years(unix: i64, years: u16) -> i64 {
    let Ok(dt) = x509_cert::der::DateTime::from_unix_duration(Duration::from_secs(unix.max(0) as u64)) else {
        return i64::MAX;
    };
    let year = dt.year().saturating_add(years);
    let day = if dt.month() == 2 && dt.day() == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) {
        28
    } else {
        dt.day()
    };
    x509_cert::der::DateTime::new(year, dt.month(), day, dt.hour(), dt.minutes(), dt.seconds())
        .ok()
        .and_then(|d| i64::try_from(d.unix_duration().as_secs()).ok())
        .unwrap_or(i64::MAX)
}

pub(crate) fn rfc3339(unix: i64) -> String {
    x509_cert::der::DateTime::from_unix_duration(Duration::from_secs(unix.max(0) as u64))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 UTC time (`2030-01-01T00:00:00Z`, fractional seconds ignored).
fn parse_time(text: &str) -> Option<i64> {
    let trimmed = match (text.find('.'), text.ends_with('Z')) {
        (Some(dot), true) if text[dot + 1..text.len() - 1].bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}Z", &text[..dot])
        }
        _ => text.to_string(),
    };
    x509_cert::der::DateTime::from_str(&trimmed)
        .ok()
        .and_then(|d| i64::try_from(d.unix_duration().as_secs()).ok())
}

fn time_field(map: &serde_json::Map<String, Value>, param: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match map.get(param) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match parse_time(s) {
            Some(t) => Some(t),
            None => {
                errors.push(FieldError::body(
                    param,
                    "must be an RFC 3339 date-time in UTC, e.g. 2030-01-01T00:00:00Z",
                    Value::String(s.clone()),
                ));
                None
            }
        },
        Some(other) => {
            errors.push(FieldError::body(param, "must be a string", other.clone()));
            None
        }
    }
}

fn text_field(
    map: &serde_json::Map<String, Value>,
    param: &str,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match map.get(param) {
        None | Some(Value::Null) if required => {
            errors.push(FieldError::body(param, "is required", Value::Null));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            errors.push(FieldError::body(param, "must be a string", other.clone()));
            None
        }
    }
}

const MANAGED_FIELDS: [&str; 5] = ["commonName", "country", "stateOrProvinceName", "notBefore", "notAfter"];

/// Reads a create body: `{certificatePem}` registers an unmanaged IACA; otherwise a managed one
/// from `{commonName, country, stateOrProvinceName?, notBefore?, notAfter?}`. Every problem is
/// reported at once.
pub fn parse_request(body: &Value, now: i64) -> Result<IacaRequest, Vec<FieldError>> {
    let mut known = MANAGED_FIELDS.to_vec();
    known.push("certificatePem");
    let (map, mut errors) = object_fields(body, &known)?;
    if let Some(pem) = map.get("certificatePem") {
        for field in MANAGED_FIELDS {
            if let Some(v) = map.get(field) {
                errors.push(FieldError::body(
                    field,
                    "cannot be combined with certificatePem: the certificate says it",
                    v.clone(),
                ));
            }
        }
        return match pem {
            Value::String(pem) if errors.is_empty() && !pem.trim().is_empty() => Ok(IacaRequest::Unmanaged {
                certificate_pem: pem.clone(),
            }),
            Value::String(_) if errors.is_empty() => Err(vec![FieldError::body(
                "certificatePem",
                "must not be empty",
                pem.clone(),
            )]),
            Value::String(_) => Err(errors),
            other => {
                errors.push(FieldError::body("certificatePem", "must be a string", other.clone()));
                Err(errors)
            }
        };
    }
    let common_name = text_field(map, "commonName", true, &mut errors);
    if let Some(cn) = &common_name
        && (cn.trim().is_empty() || cn.chars().count() > 64 || cn.chars().any(char::is_control))
    {
        errors.push(FieldError::body(
            "commonName",
            "must be 1 to 64 characters, none of them control characters",
            Value::String(cn.clone()),
        ));
    }
    let country = text_field(map, "country", true, &mut errors);
    if let Some(c) = &country
        && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        errors.push(FieldError::body(
            "country",
            "must be an ISO 3166-1 alpha-2 code, e.g. AU",
            Value::String(c.clone()),
        ));
    }
    let state = text_field(map, "stateOrProvinceName", false, &mut errors);
    if let (Some(s), Some(c)) = (&state, &country) {
        let ok = s.len() > 3
            && s.len() <= 6
            && s.starts_with(c.as_str())
            && s.as_bytes()[2] == b'-'
            && s[3..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !ok {
            errors.push(FieldError::body(
                "stateOrProvinceName",
                "must be an ISO 3166-2 code within country, e.g. AU-NSW",
                Value::String(s.clone()),
            ));
        }
    }
    let not_before = time_field(map, "notBefore", &mut errors);
    let not_after = time_field(map, "notAfter", &mut errors);
    let start = not_before.unwrap_or(now);
    if not_before.is_some_and(|t| t < now - NOT_BEFORE_SKEW) {
        errors.push(FieldError::body(
            "notBefore",
            "must not be in the past",
            map["notBefore"].clone(),
        ));
    }
    let end = not_after.unwrap_or(add_years(start, DEFAULT_VALIDITY_YEARS));
    if let Some(t) = not_after {
        if t <= start {
            errors.push(FieldError::body(
                "notAfter",
                "must be after notBefore",
                map["notAfter"].clone(),
            ));
        } else if t > add_years(start, MAX_VALIDITY_YEARS) {
            errors.push(FieldError::body(
                "notAfter",
                format!("must be at most {MAX_VALIDITY_YEARS} years after notBefore"),
                map["notAfter"].clone(),
            ));
        }
    }
    match (common_name, country) {
        (Some(common_name), Some(country)) if errors.is_empty() => Ok(IacaRequest::Managed(ManagedRequest {
            common_name,
            country,
            state_or_province: state,
            not_before: start,
            not_after: end,
        })),
        _ => Err(errors),
    }
}

/// A key held elsewhere (KMS), as the certificate builder sees it: its public half and its
/// algorithm. The signature is made outside, over [`ToBeSigned::bytes`].
pub(crate) struct RemoteKey(pub(crate) VerifyingKey);

impl p256::ecdsa::signature::Keypair for RemoteKey {
    type VerifyingKey = VerifyingKey;
    fn verifying_key(&self) -> VerifyingKey {
        self.0
    }
}

impl DynSignatureAlgorithmIdentifier for RemoteKey {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        })
    }
}

/// A certificate waiting for its signature.
#[derive(Clone, Debug)]
pub struct ToBeSigned {
    pub(crate) tbs: TbsCertificate,
    pub(crate) der: Vec<u8>,
}

impl ToBeSigned {
    /// The DER `TBSCertificate`: what the issuer's key signs (ECDSA P-256, SHA-256).
    pub fn bytes(&self) -> &[u8] {
        &self.der
    }

    /// The certificate, with the issuer key's signature over [`ToBeSigned::bytes`] (`r || s`).
    pub fn assemble(self, signature: &Signature) -> Result<Vec<u8>, CertificateError> {
        let der_sig: DerSignature = signature.to_der();
        let bits =
            BitString::from_bytes(der_sig.as_bytes()).map_err(|e| CertificateError::Unreadable(e.to_string()))?;
        let cert = Certificate {
            signature_algorithm: self.tbs.signature.clone(),
            tbs_certificate: self.tbs,
            signature: bits,
        };
        cert.to_der().map_err(|e| CertificateError::Unreadable(e.to_string()))
    }
}

/// A DER certificate as PEM (`BEGIN CERTIFICATE`, LF line endings), as the API shows it.
pub fn pem_of(der: &[u8]) -> Result<String, CertificateError> {
    Certificate::from_der(der)
        .and_then(|c| c.to_pem(LineEnding::LF))
        .map_err(|e| CertificateError::Unreadable(e.to_string()))
}

pub(crate) fn x509_time(unix: i64) -> Result<Time, CertificateError> {
    let dt = x509_cert::der::DateTime::from_unix_duration(Duration::from_secs(unix.max(0) as u64))
        .map_err(|e| CertificateError::Unreadable(e.to_string()))?;
    // RFC 5280: UTCTime through 2049, GeneralizedTime after.
    Ok(if dt.year() < 2050 {
        Time::UtcTime(
            x509_cert::der::asn1::UtcTime::from_date_time(dt)
                .map_err(|e| CertificateError::Unreadable(e.to_string()))?,
        )
    } else {
        Time::GeneralTime(x509_cert::der::asn1::GeneralizedTime::from_date_time(dt))
    })
}

/// One attribute as its own RDN: country as a PrintableString (X.520), the others UTF8String.
pub(crate) fn rdn(oid: &str, value: &str) -> Result<RelativeDistinguishedName, CertificateError> {
    let err = |e: &dyn std::fmt::Display| CertificateError::Unreadable(e.to_string());
    let oid = ObjectIdentifier::new(oid).map_err(|e| err(&e))?;
    let value = if oid.to_string() == ID_AT_COUNTRY {
        Any::encode_from(&PrintableStringRef::new(value).map_err(|e| err(&e))?)
    } else {
        Any::encode_from(&Utf8StringRef::new(value).map_err(|e| err(&e))?)
    }
    .map_err(|e| err(&e))?;
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(|e| err(&e))?;
    Ok(RelativeDistinguishedName(set))
}

/// The self-signed certificate of a managed IACA whose key is `public_key`, waiting for that
/// key's signature. `serial` is 20 random bytes (positive); `issuer_uri` goes in
/// IssuerAlternativeName.
pub fn managed_certificate(
    request: &ManagedRequest,
    public_key: &p256::PublicKey,
    serial: [u8; 20],
    issuer_uri: &str,
) -> Result<ToBeSigned, CertificateError> {
    let err = |e: &dyn std::fmt::Display| CertificateError::Unreadable(e.to_string());
    // Built attribute by attribute (no string parsing): C, then ST, then CN.
    let mut rdns = vec![rdn(ID_AT_COUNTRY, &request.country)?];
    if let Some(state) = &request.state_or_province {
        rdns.push(rdn(ID_AT_STATE, state)?);
    }
    rdns.push(rdn(ID_AT_COMMON_NAME, &request.common_name)?);
    let subject = RdnSequence(rdns);
    let mut serial = serial;
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x01; // and 20 bytes long
    let serial = SerialNumber::new(&serial).map_err(|e| err(&e))?;
    let validity = Validity {
        not_before: x509_time(request.not_before)?,
        not_after: x509_time(request.not_after)?,
    };
    let key = RemoteKey(VerifyingKey::from(public_key));
    let spki = SubjectPublicKeyInfoOwned::from_key(*public_key).map_err(|e| err(&e))?;
    // A CA with path length 0 (it signs only end-entity certificates), issuer = subject.
    let profile = Profile::SubCA {
        issuer: subject.clone(),
        path_len_constraint: Some(0),
    };
    let builder = CertificateBuilder::new(profile, serial, validity, subject, spki, &key).map_err(|e| err(&e))?;
    to_be_signed(builder, issuer_uri)
}

/// The certificate `builder` describes, with `issuer_uri` as its IssuerAlternativeName, waiting
/// for the issuer key's signature.
pub(crate) fn to_be_signed(
    mut builder: CertificateBuilder<'_, RemoteKey>,
    issuer_uri: &str,
) -> Result<ToBeSigned, CertificateError> {
    let err = |e: &dyn std::fmt::Display| CertificateError::Unreadable(e.to_string());
    let uri = Ia5String::new(issuer_uri).map_err(|e| err(&e))?;
    builder
        .add_extension(&IssuerAltName(vec![GeneralName::UniformResourceIdentifier(uri)]))
        .map_err(|e| err(&e))?;
    let der = builder.finalize().map_err(|e| err(&e))?;
    let tbs = TbsCertificate::from_der(&der).map_err(|e| err(&e))?;
    Ok(ToBeSigned { tbs, der })
}

pub(crate) fn attribute(name: &Name, oid: &str) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|atv| {
        if atv.oid.to_string() != oid {
            return None;
        }
        let any = &atv.value;
        any.decode_as::<String>()
            .ok()
            .or_else(|| {
                any.decode_as::<x509_cert::der::asn1::PrintableStringRef<'_>>()
                    .ok()
                    .map(|s| s.to_string())
            })
            .or_else(|| {
                any.decode_as::<x509_cert::der::asn1::Utf8StringRef<'_>>()
                    .ok()
                    .map(|s| s.to_string())
            })
    })
}

pub(crate) fn unix_of(time: &Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Reads an IACA certificate (a registered `certificatePem`, or one built by
/// [`managed_certificate`]) and checks it is one: a self-signed P-256 CA certificate allowed to
/// sign certificates, naming a country. Its validity period is checked apart
/// ([`IacaCertificate::check_valid_at`]): a managed IACA may start in the future.
pub fn read_certificate(pem: &str) -> Result<IacaCertificate, CertificateError> {
    let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|e| CertificateError::Unreadable(e.to_string()))?;
    let der = cert.to_der().map_err(|e| CertificateError::Unreadable(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let extensions = tbs.extensions.as_deref().unwrap_or(&[]);
    let find = |oid: &str| extensions.iter().find(|e| e.extn_id.to_string() == oid);
    let ca = find(ID_CE_BASIC_CONSTRAINTS)
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|b| b.ca);
    if !ca {
        return Err(CertificateError::NotCa);
    }
    let cert_sign = find(ID_CE_KEY_USAGE)
        .and_then(|e| KeyUsage::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|k| k.0.contains(KeyUsages::KeyCertSign));
    if !cert_sign {
        return Err(CertificateError::NoCertSign);
    }
    let spki_der = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| CertificateError::Unreadable(e.to_string()))?;
    let public_key = p256::PublicKey::from_public_key_der(&spki_der).map_err(|_| CertificateError::NotP256)?;
    let signed = tbs.to_der().map_err(|e| CertificateError::Unreadable(e.to_string()))?;
    let signature = cert
        .signature
        .as_bytes()
        .and_then(|b| Signature::from_der(b).ok())
        .ok_or(CertificateError::BadSignature)?;
    let verified = cert.signature_algorithm.oid == ECDSA_WITH_SHA_256
        && tbs.issuer == tbs.subject
        && VerifyingKey::from(&public_key).verify(&signed, &signature).is_ok();
    if !verified {
        return Err(CertificateError::BadSignature);
    }
    let (not_before, not_after) = (unix_of(&tbs.validity.not_before), unix_of(&tbs.validity.not_after));
    let country = attribute(&tbs.subject, ID_AT_COUNTRY).ok_or(CertificateError::NoCountry)?;
    let data = CertificateData {
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        country,
        common_name: attribute(&tbs.subject, ID_AT_COMMON_NAME).unwrap_or_default(),
        state_or_province_name: attribute(&tbs.subject, ID_AT_STATE),
    };
    let pem = cert
        .to_pem(LineEnding::LF)
        .map_err(|e| CertificateError::Unreadable(e.to_string()))?;
    Ok(IacaCertificate {
        fingerprint: hex::encode(Sha256::digest(&der)),
        pem,
        der,
        data,
        not_before,
        not_after,
        public_key,
    })
}

/// A tenant's IACA (ISO/IEC 18013-5 Issuing Authority CA) as stored. Whether it is the active one
/// is the tenant's separate record (`IacaStore::active_iaca_id`), so exactly one can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iaca {
    pub id: String,
    pub tenant_id: String,
    /// The signing-service key of a managed IACA; `None` for an unmanaged one (the issuer keeps it).
    pub key_id: Option<String>,
    pub certificate_pem: String,
    pub certificate_data: crate::domain::iaca::CertificateData,
    pub fingerprint: String,
    pub not_before: i64,
    pub not_after: i64,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{SigningKey, signature::Signer};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn managed(key: &SigningKey, req: &ManagedRequest) -> String {
        let tbs = managed_certificate(req, &key.verifying_key().into(), [0xAB; 20], "https://issuer.example").unwrap();
        let sig: Signature = key.sign(tbs.bytes());
        let der = tbs.assemble(&sig).unwrap();
        pem_of(&der).unwrap()
    }

    #[test]
    fn a_managed_iaca_reads_back() {
        let key = SigningKey::random(&mut rand::thread_rng());
        let req = match parse_request(
            &json!({"commonName": "Example IACA", "country": "AU", "stateOrProvinceName": "AU-NSW"}),
            NOW,
        )
        .unwrap()
        {
            IacaRequest::Managed(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(req.not_before, NOW);
        let pem = managed(&key, &req);
        let c = read_certificate(&pem).unwrap();
        c.check_valid_at(NOW + 10).unwrap();
        assert_eq!(c.data.country, "AU");
        assert_eq!(c.data.common_name, "Example IACA");
        assert_eq!(c.data.state_or_province_name.as_deref(), Some("AU-NSW"));
        assert_eq!(c.data.not_before, "2027-01-15T08:00:00Z");
        assert!(matches!(
            c.check_valid_at(NOW - 10),
            Err(CertificateError::NotValidNow { .. })
        ));
        // Signed by another key: refused.
        let other = SigningKey::random(&mut rand::thread_rng());
        let tbs = managed_certificate(&req, &key.verifying_key().into(), [1; 20], "https://issuer.example").unwrap();
        let sig: Signature = other.sign(tbs.bytes());
        let bad = pem_of(&tbs.assemble(&sig).unwrap()).unwrap();
        assert_eq!(read_certificate(&bad), Err(CertificateError::BadSignature));
        assert!(matches!(
            read_certificate("nonsense"),
            Err(CertificateError::Unreadable(_))
        ));
    }

    #[test]
    fn any_printable_common_name_is_kept_as_given() {
        let key = SigningKey::random(&mut rand::thread_rng());
        for cn in [
            r#"Ministère, "Transport" + Roads; <NSW> = \ #1 "#,
            "  spaced",
            "交通部 IACA",
        ] {
            let body = json!({"commonName": cn, "country": "AU"});
            let IacaRequest::Managed(req) = parse_request(&body, NOW).unwrap() else {
                panic!("managed")
            };
            let c = read_certificate(&managed(&key, &req)).unwrap();
            assert_eq!(c.data.common_name, cn);
        }
        let control = parse_request(&json!({"commonName": "a\u{0}b", "country": "AU"}), NOW).unwrap_err();
        assert_eq!(control[0].param, "commonName");
    }

    #[test]
    fn validity_defaults_to_ten_calendar_years() {
        let IacaRequest::Managed(req) = parse_request(&json!({"commonName": "x", "country": "AU"}), NOW).unwrap()
        else {
            panic!("managed")
        };
        // 2027-01-15T08:00:00Z to 2037-01-15T08:00:00Z.
        assert_eq!(
            (rfc3339(req.not_before), rfc3339(req.not_after)),
            ("2027-01-15T08:00:00Z".into(), "2037-01-15T08:00:00Z".into())
        );
        let leap = parse_time("2028-02-29T12:00:00Z").unwrap();
        assert_eq!(rfc3339(add_years(leap, 1)), "2029-02-28T12:00:00Z");
        assert_eq!(rfc3339(add_years(leap, 4)), "2032-02-29T12:00:00Z");
        // Exactly twenty years is allowed; a second more is not.
        let twenty = json!({"commonName": "x", "country": "AU", "notBefore": "2028-02-29T12:00:00Z", "notAfter": "2048-02-29T12:00:00Z"});
        assert!(parse_request(&twenty, leap).is_ok());
        let more = json!({"commonName": "x", "country": "AU", "notBefore": "2028-02-29T12:00:00Z", "notAfter": "2048-02-29T12:00:01Z"});
        assert_eq!(parse_request(&more, leap).unwrap_err()[0].param, "notAfter");
    }

    #[test]
    fn requests_are_validated() {
        let errs = parse_request(&json!({"country": "au", "stateOrProvinceName": "NZ-AUK", "notBefore": "2020-01-01T00:00:00Z", "notAfter": "yesterday"}), NOW).unwrap_err();
        let params: Vec<_> = errs.iter().map(|e| e.param.as_str()).collect();
        assert_eq!(
            params,
            ["commonName", "country", "stateOrProvinceName", "notAfter", "notBefore"],
            "{errs:?}"
        );
        let errs = parse_request(&json!({"certificatePem": "x", "country": "AU"}), NOW).unwrap_err();
        assert_eq!(errs[0].param, "country");
        let far = parse_request(
            &json!({"commonName": "x", "country": "AU", "notAfter": "2060-01-01T00:00:00.000Z"}),
            NOW,
        )
        .unwrap_err();
        assert_eq!(far[0].param, "notAfter");
        assert!(matches!(
            parse_request(&json!({"certificatePem": "PEM"}), NOW),
            Ok(IacaRequest::Unmanaged { .. })
        ));
    }
}
