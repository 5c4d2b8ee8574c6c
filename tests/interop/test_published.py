"""Tokens the service *published* (through the stream, the FIFO queue and the publisher, on
LocalStack, in tests/publish.rs and tests/mdoc.rs) checked by independent implementations: the
issuer API's against the key from our JWKS endpoint (PyJWT for the JWT, pycose and python-cwt for
the CWT, Python's zlib for the list); the mDoc API's as an ISO/IEC 18013-5 relying party does,
against the tenant's IACA only (`cryptography` for the X.509 chain and the IACA profile, pycose
and python-cwt for the CWT signed by the certificate in its x5chain). `make test` sets
PUBLISHED_TOKENS_DIR; the Rust tests write the tokens there."""

import base64
import hashlib
import json
import os
import time
import zlib
from pathlib import Path

import cbor2
import cwt
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.headers import KID
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import CoseMessage

import mdoc_chain

DIR = os.environ.get("PUBLISHED_TOKENS_DIR")
pytestmark = pytest.mark.skipif(not DIR, reason="PUBLISHED_TOKENS_DIR is not set (make test sets it)")


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def published():
    d = Path(DIR)
    assert (d / "jwks.json").is_file() and (d / "tokens.json").is_file(), f"no published tokens in {d}"
    jwks = json.loads((d / "jwks.json").read_text())
    tokens = json.loads((d / "tokens.json").read_text())
    assert tokens, "the publish test wrote no tokens"
    return jwks, tokens


def values(raw: bytes, bits: int):
    per = 8 // bits
    return [(raw[i // per] >> ((i % per) * bits)) & ((1 << bits) - 1) for i in range(len(raw) * per)]


def check_list(sl, expected, aggregation_uri):
    assert sl["bits"] == 2
    assert sl["aggregation_uri"] == aggregation_uri
    got = values(zlib.decompress(sl["lst"]), 2)
    assert len(got) >= 100_000
    for idx, status in expected.items():
        assert got[int(idx)] == status, idx
    # Every index not named is VALID: the list is this test's own.
    named = {int(i) for i in expected}
    assert all(v == 0 for i, v in enumerate(got) if i not in named)


def test_jwks_kids_are_rfc7638_thumbprints(published):
    jwks, _ = published
    for k in jwks["keys"]:
        canonical = json.dumps({"crv": k["crv"], "kty": k["kty"], "x": k["x"], "y": k["y"]}, separators=(",", ":"))
        assert k["kid"] == b64u(hashlib.sha256(canonical.encode()).digest())
        assert (k["kty"], k["crv"]) == ("EC", "P-256")
        assert "d" not in k


def test_published_jwts_verify_with_pyjwt(published):
    jwks, tokens = published
    keyset = jwt.PyJWKSet.from_dict(jwks)
    for t in tokens:
        header = jwt.get_unverified_header(t["jwt"])
        assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"
        key = next(k for k in keyset.keys if k.key_id == header["kid"])
        claims = jwt.decode(t["jwt"], key.key, algorithms=["ES256"], options={"require": ["sub", "iat", "exp"]})
        assert claims["sub"] == t["uri"]
        assert claims["iat"] <= time.time() < claims["exp"]
        assert 0 < claims["ttl"] <= claims["exp"] - claims["iat"]
        sl = dict(claims["status_list"])
        sl["lst"] = b64u_decode(sl["lst"])
        base = t["uri"].rsplit("/t/", 1)[0]
        check_list(sl, t["statuses"], f"{base}/status-lists")


def test_published_cwts_verify_with_pycose_and_python_cwt(published):
    jwks, tokens = published
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    for t in tokens:
        data = bytes.fromhex(t["cwt_hex"])
        assert data[0] == 0xD2, "COSE_Sign1 with tag 18"
        msg = CoseMessage.decode(data)
        assert msg.phdr[16] == "application/statuslist+cwt"
        jwk = by_kid[msg.uhdr[KID].decode()]
        msg.key = EC2Key(crv=P256, x=b64u_decode(jwk["x"]), y=b64u_decode(jwk["y"]))
        assert msg.verify_signature()
        claims = cwt.decode(data, cwt.COSEKey.from_jwk({**jwk, "alg": "ES256"}))  # verifies, checks exp
        assert claims == cbor2.loads(msg.payload)
        assert claims[2] == t["uri"]
        assert claims[6] <= time.time() < claims[4]
        base = t["uri"].rsplit("/t/", 1)[0]
        check_list(claims[65533], t["statuses"], f"{base}/status-lists")


def test_the_mdoc_cwt_chains_to_the_tenants_iaca_and_shows_invalid():
    """tests/mdoc.rs: an IACA, a configuration, a registered mDoc set to invalid, the public CWT.
    Trusted only through the tenant's IACA (mdoc_chain.py): its x5chain leaf is a signer
    certificate the IACA issued, and the CWT verifies with that certificate's key."""
    path = Path(DIR) / "mdoc.json"
    assert path.is_file(), f"the mDoc test wrote no token to {path}"
    t = json.loads(path.read_text())
    data = bytes.fromhex(t["cwt_hex"])
    claims, leaf, got = mdoc_chain.verify(data, t["iaca_pem"].encode(), t["uri"])
    # Signed by any other key, it would not verify.
    msg = CoseMessage.decode(data)
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    msg.key = EC2Key(crv=P256, x=other.x.to_bytes(32, "big"), y=other.y.to_bytes(32, "big"))
    assert not msg.verify_signature()
    assert claims[65534] == 300 and claims[4] - claims[6] == 3600
    sl = claims[65533]
    assert sl["bits"] == 1
    assert sl["aggregation_uri"] == t["aggregation_uri"]
    assert len(got) == 100_000
    assert 1 in t["statuses"].values()
    for idx, status in t["statuses"].items():
        assert got[int(idx)] == status, idx
