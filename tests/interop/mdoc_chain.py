"""An mDoc list's CWT checked as an ISO/IEC 18013-5 relying party checks it, with libraries that
are not ours: `cryptography` for the X.509 chain and the IACA profile, pycose and python-cwt for the
COSE signature and the claims, Python's zlib for the list. The only thing trusted is the tenant's
IACA certificate.

As a tool (after `make run`):  make verify-mdoc URI=<token URI> IDX=<index> IACA=iaca.pem
prints the status at IDX (VALID, INVALID, SUSPENDED or its number); exit 0 if VALID, 1 otherwise,
2 if the token does not verify."""

import datetime
import sys
import urllib.request
import zlib

import cwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID
from pycose.headers import KID, X5chain
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import CoseMessage

NAMES = {0: "VALID", 1: "INVALID", 2: "SUSPENDED"}


def check_iaca_profile(iaca: x509.Certificate):
    """ISO/IEC 18013-5 IACA: self-signed ECDSA P-256 / SHA-256 CA, pathLen 0, keyCertSign + cRLSign,
    both critical, a subject key identifier, an issuer alternative name, a country."""
    assert iaca.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA256
    key = iaca.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert iaca.issuer == iaca.subject
    key.verify(iaca.signature, iaca.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    bc = iaca.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = iaca.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    iaca.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    iaca.extensions.get_extension_for_oid(ExtensionOID.ISSUER_ALTERNATIVE_NAME)
    assert iaca.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)


def check_signer_certificate(leaf: x509.Certificate, iaca: x509.Certificate, at: datetime.datetime):
    """The status list signer certificate: issued by the IACA (name, key identifier, signature),
    an end entity allowed to sign, valid at `at` and within the IACA's validity, the IACA's
    country."""
    assert leaf.issuer == iaca.subject
    iaca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    aki = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    ski = iaca.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert aki.key_identifier == ski.digest
    assert not leaf.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    assert leaf.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value.digital_signature
    assert leaf.not_valid_before_utc <= at < leaf.not_valid_after_utc
    assert iaca.not_valid_before_utc <= leaf.not_valid_before_utc
    assert leaf.not_valid_after_utc <= iaca.not_valid_after_utc
    country = NameOID.COUNTRY_NAME
    assert leaf.subject.get_attributes_for_oid(country) == iaca.subject.get_attributes_for_oid(country)


def values(raw: bytes, bits: int):
    per = 8 // bits
    return [(raw[i // per] >> ((i % per) * bits)) & ((1 << bits) - 1) for i in range(len(raw) * per)]


def verify(data: bytes, iaca_pem: bytes, uri: str):
    """Verifies the CWT `data` of the list at `uri` against the IACA; its claims, the signer
    certificate, and the decompressed list's values."""
    assert data[0] == 0xD2, "COSE_Sign1 with tag 18"
    iaca = x509.load_pem_x509_certificate(iaca_pem)
    check_iaca_profile(iaca)
    msg = CoseMessage.decode(data)
    assert msg.phdr[16] == "application/statuslist+cwt"
    # x5chain (COSE label 33, RFC 9360): pycose reads it as its X5chain header.
    chain = msg.uhdr.get(X5chain, msg.phdr.get(X5chain))
    assert chain, "no x5chain"
    leaf = x509.load_der_x509_certificate(chain if isinstance(chain, bytes) else chain[0])
    check_signer_certificate(leaf, iaca, datetime.datetime.now(datetime.timezone.utc))
    numbers = leaf.public_key().public_numbers()
    x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
    msg.key = EC2Key(crv=P256, x=x, y=y)
    assert msg.verify_signature(), "the signature does not verify with the signer certificate's key"
    jwk = {"kty": "EC", "crv": "P-256", "x": _b64u(x), "y": _b64u(y), "alg": "ES256"}
    if KID in msg.uhdr:  # python-cwt picks the key by the token's kid
        jwk["kid"] = msg.uhdr[KID].decode()
    claims = cwt.decode(data, cwt.COSEKey.from_jwk(jwk))  # also checks exp
    assert claims[2] == uri, f"sub {claims[2]!r} is not {uri!r}"
    assert claims[4] <= leaf.not_valid_after_utc.timestamp(), "the token outlives its signer certificate"
    sl = claims[65533]
    return claims, leaf, values(zlib.decompress(sl["lst"]), sl["bits"])


def _b64u(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main(argv):
    if len(argv) != 4:
        print("usage: mdoc_chain.py URI IDX IACA_PEM_FILE", file=sys.stderr)
        return 2
    uri, idx, iaca_file = argv[1], int(argv[2]), argv[3]
    with urllib.request.urlopen(uri, timeout=10) as response:
        data = response.read()
    with open(iaca_file, "rb") as f:
        iaca_pem = f.read()
    try:
        _, leaf, got = verify(data, iaca_pem, uri)
    except Exception as e:  # noqa: BLE001 - any failure is "does not verify"
        print(f"does not verify: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(f"signer {leaf.subject.rfc4514_string()} issued by {leaf.issuer.rfc4514_string()}: OK", file=sys.stderr)
    print(NAMES.get(got[idx], str(got[idx])))
    return 0 if got[idx] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
