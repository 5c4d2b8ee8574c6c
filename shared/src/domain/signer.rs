//! Status list signer certificates (ISO/IEC 18013-5 trust, MATTR's status list signers): the
//! end-entity certificates, issued by a tenant's IACA, whose keys sign the tenant's mDoc status
//! list tokens. A relying party trusts a token when the certificate in its `x5chain` chains to
//! the IACA it already trusts for the tenant's mDocs.
//!
//! - Under a **managed** IACA the service issues them itself ([`certificate`], signed by the
//!   IACA's key), each valid for [`MANAGED_VALIDITY`] within the IACA's validity, and issues the
//!   next one [`ROTATE_BEFORE`] the current one ends.
//! - Under an **unmanaged** IACA the service makes the key and a PKCS#10 request ([`request`]);
//!   the issuer signs it with its IACA and uploads the certificate, which is checked here
//!   ([`read_certificate`]): issued by that IACA (name and signature), for that key, not a CA,
//!   allowed to sign, and within the IACA's validity.
//!
//! The certificates carry no extended key usage: the Token Status List's `id-kp-oauthStatusSigning`
//! OID is not assigned yet (draft -20, §10). Everything here is pure; times are passed in.

use p256::ecdsa::{DerSignature, Signature, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use x509_cert::builder::{Builder, CertificateBuilder, Profile, RequestBuilder};
use x509_cert::certificate::Certificate;
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Decode, DecodePem, Encode, EncodePem, pem::LineEnding};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::name::{Name, RdnSequence};
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;

use super::iaca::{
    CertificateError, ECDSA_WITH_SHA_256, ID_AT_COMMON_NAME, ID_AT_COUNTRY, ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE,
    IacaCertificate, RemoteKey, ToBeSigned, rdn, rfc3339, to_be_signed, unix_of, x509_time,
};

/// A managed signer certificate's validity (one year), cut to its IACA's.
pub const MANAGED_VALIDITY: i64 = 365 * 86_400;
/// A managed signer is replaced when less than this is left of its certificate (90 days), unless
/// its IACA ends first.
pub const ROTATE_BEFORE: i64 = 90 * 86_400;
/// A tenant creates at most this many signers itself (under unmanaged IACAs).
pub const MAX_PER_TENANT: usize = 3;
/// How far back a managed certificate's `notBefore` is set, for relying parties' clock skew.
pub const BACKDATE: i64 = 300;

/// A signer certificate that was checked (or built) here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerCertificate {
    pub pem: String,
    pub der: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
}

impl SignerCertificate {
    /// `notBefore` and `notAfter` in RFC 3339, as the API shows them.
    pub fn data(&self) -> serde_json::Value {
        serde_json::json!({"notBefore": rfc3339(self.not_before), "notAfter": rfc3339(self.not_after)})
    }
}

fn unreadable(e: &dyn std::fmt::Display) -> CertificateError {
    CertificateError::Unreadable(e.to_string())
}

fn iaca_name(iaca: &IacaCertificate) -> Result<Name, CertificateError> {
    Ok(Certificate::from_der(&iaca.der)
        .map_err(|e| unreadable(&e))?
        .tbs_certificate
        .subject)
}

/// A signer's subject: the IACA's country, and its common name followed by "Status List Signer"
/// (cut to X.520's 64 characters).
pub fn subject(iaca: &IacaCertificate) -> Result<Name, CertificateError> {
    let cn: String = match iaca.data.common_name.trim() {
        "" => "Status List Signer".into(),
        name => format!("{name} Status List Signer"),
    };
    let cn: String = cn.chars().take(64).collect();
    Ok(RdnSequence(vec![
        rdn(ID_AT_COUNTRY, &iaca.data.country)?,
        rdn(ID_AT_COMMON_NAME, &cn)?,
    ]))
}

/// The validity of a new managed signer certificate at `now`: from a little before `now` for
/// [`MANAGED_VALIDITY`], cut to the IACA's. `None` if the IACA is not valid at `now`.
pub fn managed_validity(iaca: &IacaCertificate, now: i64) -> Option<(i64, i64)> {
    if now < iaca.not_before || now >= iaca.not_after {
        return None;
    }
    Some((
        (now - BACKDATE).max(iaca.not_before),
        (now + MANAGED_VALIDITY).min(iaca.not_after),
    ))
}

/// Whether a managed signer whose certificate ends at `not_after` must be followed by a new one
/// at `now`: less than [`ROTATE_BEFORE`] is left, and a new one would last longer (its IACA
/// does not end first).
pub fn needs_rotation(not_after: i64, iaca_not_after: i64, now: i64) -> bool {
    not_after - now < ROTATE_BEFORE && not_after < iaca_not_after
}

/// The signer to sign with at `now` among `candidates` (with each one's certificate validity,
/// `None` while it has no certificate): one valid at `now`, the longest-lasting, then the newest.
pub fn choose<T>(candidates: &[T], window: impl Fn(&T) -> Option<(i64, i64)>, now: i64) -> Option<&T> {
    candidates
        .iter()
        .filter_map(|c| window(c).map(|w| (w, c)))
        .filter(|((nb, na), _)| *nb <= now && now < *na)
        .max_by_key(|((nb, na), _)| (*na, *nb))
        .map(|(_, c)| c)
}

/// The certificate of a signer key `signer_key`, issued by `iaca` (whose key signs
/// [`ToBeSigned::bytes`]): subject [`subject`], an end entity with KeyUsage digitalSignature,
/// subject and authority key identifiers, and `issuer_uri` as IssuerAlternativeName.
pub fn certificate(
    iaca: &IacaCertificate,
    signer_key: &p256::PublicKey,
    serial: [u8; 20],
    (not_before, not_after): (i64, i64),
    issuer_uri: &str,
) -> Result<ToBeSigned, CertificateError> {
    let err = |e: &dyn std::fmt::Display| unreadable(e);
    let mut serial = serial;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(|e| err(&e))?;
    let validity = Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    };
    let issuer_key = RemoteKey(VerifyingKey::from(&iaca.public_key));
    let spki = SubjectPublicKeyInfoOwned::from_key(*signer_key).map_err(|e| err(&e))?;
    let profile = Profile::Leaf {
        issuer: iaca_name(iaca)?,
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let builder =
        CertificateBuilder::new(profile, serial, validity, subject(iaca)?, spki, &issuer_key).map_err(|e| err(&e))?;
    to_be_signed(builder, issuer_uri)
}

/// A certificate signing request waiting for its key's signature.
#[derive(Clone, Debug)]
pub struct RequestToBeSigned {
    info: CertReqInfo,
    der: Vec<u8>,
}

impl RequestToBeSigned {
    /// The DER `CertificationRequestInfo`: what the signer key signs (ECDSA P-256, SHA-256).
    pub fn bytes(&self) -> &[u8] {
        &self.der
    }

    /// The PEM `CERTIFICATE REQUEST`, with the key's signature over [`Self::bytes`].
    pub fn assemble(self, signature: &Signature) -> Result<String, CertificateError> {
        let der_sig: DerSignature = signature.to_der();
        let request = CertReq {
            info: self.info,
            algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            signature: BitString::from_bytes(der_sig.as_bytes()).map_err(|e| unreadable(&e))?,
        };
        request.to_pem(LineEnding::LF).map_err(|e| unreadable(&e))
    }
}

/// The PKCS#10 request for signer key `signer_key`, subject [`subject`] of `iaca`, for the issuer
/// to sign with its (unmanaged) IACA.
pub fn request(iaca: &IacaCertificate, signer_key: &p256::PublicKey) -> Result<RequestToBeSigned, CertificateError> {
    let key = RemoteKey(VerifyingKey::from(signer_key));
    let mut builder = RequestBuilder::new(subject(iaca)?, &key).map_err(|e| unreadable(&e))?;
    let der = builder.finalize().map_err(|e| unreadable(&e))?;
    let info = CertReqInfo::from_der(&der).map_err(|e| unreadable(&e))?;
    Ok(RequestToBeSigned { info, der })
}

/// The public key a PKCS#10 request (as [`request`] makes them) names.
pub fn request_key(pem: &str) -> Result<p256::PublicKey, CertificateError> {
    let csr = CertReq::from_pem(pem.trim().as_bytes()).map_err(|e| unreadable(&e))?;
    let spki = csr.info.public_key.to_der().map_err(|e| unreadable(&e))?;
    p256::PublicKey::from_public_key_der(&spki).map_err(|_| CertificateError::NotP256)
}

/// The P-256 key a DER certificate certifies (for verifying a token with its `x5chain`).
pub fn certified_key(der: &[u8]) -> Result<p256::PublicKey, CertificateError> {
    let cert = Certificate::from_der(der).map_err(|e| unreadable(&e))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| unreadable(&e))?;
    p256::PublicKey::from_public_key_der(&spki).map_err(|_| CertificateError::NotP256)
}

/// Reads a signer certificate for `signer_key` and checks that `iaca` issued it: the issuer is
/// the IACA's subject and the signature verifies with its key, it certifies `signer_key`, it is
/// not a CA, it may sign (if it has a KeyUsage), and its validity lies within the IACA's.
/// Whether it is valid now is checked apart, by the caller.
pub fn read_certificate(
    pem: &str,
    iaca: &IacaCertificate,
    signer_key: &p256::PublicKey,
) -> Result<SignerCertificate, CertificateError> {
    let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|e| unreadable(&e))?;
    let der = cert.to_der().map_err(|e| unreadable(&e))?;
    let tbs = &cert.tbs_certificate;
    let signed = tbs.to_der().map_err(|e| unreadable(&e))?;
    let signature = cert.signature.as_bytes().and_then(|b| Signature::from_der(b).ok());
    let verified = cert.signature_algorithm.oid == ECDSA_WITH_SHA_256
        && tbs.issuer == iaca_name(iaca)?
        && signature.is_some_and(|s| VerifyingKey::from(&iaca.public_key).verify(&signed, &s).is_ok());
    if !verified {
        return Err(CertificateError::WrongIssuer);
    }
    let spki = tbs.subject_public_key_info.to_der().map_err(|e| unreadable(&e))?;
    match p256::PublicKey::from_public_key_der(&spki) {
        Ok(key) if key == *signer_key => {}
        _ => return Err(CertificateError::WrongKey),
    }
    let extensions = tbs.extensions.as_deref().unwrap_or(&[]);
    let find = |oid: &str| extensions.iter().find(|e| e.extn_id.to_string() == oid);
    if find(ID_CE_BASIC_CONSTRAINTS)
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|b| b.ca)
    {
        return Err(CertificateError::IsCa);
    }
    if let Some(usage) = find(ID_CE_KEY_USAGE) {
        let usage = KeyUsage::from_der(usage.extn_value.as_bytes()).map_err(|e| unreadable(&e))?;
        if !usage.0.contains(KeyUsages::DigitalSignature) {
            return Err(CertificateError::NoDigitalSignature);
        }
    }
    let (not_before, not_after) = (unix_of(&tbs.validity.not_before), unix_of(&tbs.validity.not_after));
    if not_before < iaca.not_before || not_after > iaca.not_after {
        return Err(CertificateError::OutsideIaca {
            not_before: iaca.data.not_before.clone(),
            not_after: iaca.data.not_after.clone(),
        });
    }
    Ok(SignerCertificate {
        pem: cert.to_pem(LineEnding::LF).map_err(|e| unreadable(&e))?,
        fingerprint: hex::encode(Sha256::digest(&der)),
        der,
        not_before,
        not_after,
    })
}

/// A status list signer: a key in the signing service whose certificate, issued by one of the
/// tenant's IACAs, goes in the `x5chain` of the tenant's mDoc status list tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusListSigner {
    pub id: String,
    pub tenant_id: String,
    pub iaca_id: String,
    pub key_id: String,
    /// Issued by the service under a managed IACA (and not counted); otherwise the tenant signs
    /// [`Self::csr_pem`] with its IACA and uploads the certificate.
    pub managed: bool,
    pub csr_pem: Option<String>,
    pub certificate: Option<SignerCertificateRecord>,
    pub created_at: i64,
}

impl StatusListSigner {
    /// Its certificate's validity, once it has one.
    pub fn window(&self) -> Option<(i64, i64)> {
        self.certificate.as_ref().map(|c| (c.not_before, c.not_after))
    }
}

/// A signer's certificate as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerCertificateRecord {
    pub pem: String,
    pub not_before: i64,
    pub not_after: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::iaca::{IacaRequest, managed_certificate, parse_request, pem_of, read_certificate as read_iaca};
    use p256::ecdsa::{SigningKey, signature::Signer};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn iaca(key: &SigningKey) -> IacaCertificate {
        let IacaRequest::Managed(req) =
            parse_request(&json!({"commonName": "Example IACA", "country": "AU"}), NOW).unwrap()
        else {
            panic!("managed")
        };
        let tbs = managed_certificate(&req, &key.verifying_key().into(), [7; 20], "https://i.example").unwrap();
        let sig: Signature = key.sign(tbs.bytes());
        read_iaca(&pem_of(&tbs.assemble(&sig).unwrap()).unwrap()).unwrap()
    }

    fn issue(by: &SigningKey, ca: &IacaCertificate, key: &p256::PublicKey, window: (i64, i64)) -> String {
        let tbs = certificate(ca, key, [9; 20], window, "https://i.example/iacas/1").unwrap();
        let sig: Signature = by.sign(tbs.bytes());
        pem_of(&tbs.assemble(&sig).unwrap()).unwrap()
    }

    #[test]
    fn a_managed_signer_certificate_chains_to_its_iaca() {
        let ca_key = SigningKey::random(&mut rand::thread_rng());
        let ca = iaca(&ca_key);
        let key: p256::PublicKey = SigningKey::random(&mut rand::thread_rng()).verifying_key().into();
        let window = managed_validity(&ca, NOW + 10).unwrap();
        assert_eq!(window, (NOW, NOW + 10 + MANAGED_VALIDITY));
        let pem = issue(&ca_key, &ca, &key, window);
        let cert = read_certificate(&pem, &ca, &key).unwrap();
        assert_eq!((cert.not_before, cert.not_after), window);
        assert_eq!(cert.data()["notAfter"], json!(rfc3339(window.1)));
        // Not a CA, so not an IACA.
        assert_eq!(read_iaca(&pem), Err(CertificateError::NotCa));
        // Another key, another IACA, or an IACA's own key: refused.
        let other: p256::PublicKey = SigningKey::random(&mut rand::thread_rng()).verifying_key().into();
        assert_eq!(read_certificate(&pem, &ca, &other), Err(CertificateError::WrongKey));
        let other_ca = iaca(&SigningKey::random(&mut rand::thread_rng()));
        assert_eq!(
            read_certificate(&pem, &other_ca, &key),
            Err(CertificateError::WrongIssuer)
        );
        // Signed by another key under the IACA's name: refused.
        let forged = issue(&SigningKey::random(&mut rand::thread_rng()), &ca, &key, window);
        assert_eq!(read_certificate(&forged, &ca, &key), Err(CertificateError::WrongIssuer));
        // Beyond the IACA's validity: refused.
        let long = issue(&ca_key, &ca, &key, (NOW, ca.not_after + 1));
        assert!(matches!(
            read_certificate(&long, &ca, &key),
            Err(CertificateError::OutsideIaca { .. })
        ));
        // The IACA itself (a CA) is not a signer certificate.
        let ca_pub: p256::PublicKey = ca_key.verifying_key().into();
        assert_eq!(read_certificate(&ca.pem, &ca, &ca_pub), Err(CertificateError::IsCa));
        assert!(matches!(
            read_certificate("junk", &ca, &key),
            Err(CertificateError::Unreadable(_))
        ));
    }

    #[test]
    fn validity_and_rotation_stay_within_the_iaca() {
        let ca = iaca(&SigningKey::random(&mut rand::thread_rng()));
        assert_eq!(managed_validity(&ca, NOW - 1), None);
        assert_eq!(managed_validity(&ca, ca.not_after), None);
        let late = ca.not_after - 86_400;
        assert_eq!(managed_validity(&ca, late), Some((late - BACKDATE, ca.not_after)));
        assert!(!needs_rotation(NOW + ROTATE_BEFORE + 1, ca.not_after, NOW));
        assert!(needs_rotation(NOW + ROTATE_BEFORE - 1, ca.not_after, NOW));
        // Ending with its IACA: nothing longer can replace it.
        assert!(!needs_rotation(ca.not_after, ca.not_after, ca.not_after - 10));
    }

    #[test]
    fn the_longest_lasting_valid_signer_is_chosen() {
        let signers = [
            ("pending", None),
            ("old", Some((0, 100))),
            ("current", Some((50, 300))),
            ("future", Some((200, 400))),
        ];
        let pick = |now| choose(&signers, |s| s.1, now).map(|s| s.0);
        assert_eq!(pick(60), Some("current"));
        assert_eq!(pick(10), Some("old"));
        assert_eq!(pick(250), Some("future"));
        assert_eq!(pick(400), None);
    }

    #[test]
    fn a_request_is_signed_by_the_key_it_names() {
        let ca = iaca(&SigningKey::random(&mut rand::thread_rng()));
        let key = SigningKey::random(&mut rand::thread_rng());
        let public: p256::PublicKey = key.verifying_key().into();
        let tbs = request(&ca, &public).unwrap();
        let sig: Signature = key.sign(tbs.bytes());
        let pem = tbs.assemble(&sig).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        let csr = CertReq::from_pem(pem.as_bytes()).unwrap();
        let spki = csr.info.public_key.to_der().unwrap();
        let named = p256::PublicKey::from_public_key_der(&spki).unwrap();
        assert_eq!(named, public);
        assert_eq!(request_key(&pem).unwrap(), public);
        let sig = Signature::from_der(csr.signature.as_bytes().unwrap()).unwrap();
        VerifyingKey::from(&named)
            .verify(&csr.info.to_der().unwrap(), &sig)
            .unwrap();
        assert_eq!(csr.info.subject, subject(&ca).unwrap());
        assert_eq!(csr.algorithm.oid, ECDSA_WITH_SHA_256);
    }
}
