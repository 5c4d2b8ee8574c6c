"""Tokens made by `statuslist encode` checked by independent implementations:
PyJWT (JWT signature, typ, claims), pycose and python-cwt (COSE_Sign1 / CWT), cbor2, and
Python's own zlib for the list. Nothing here imports or calls our verifier."""

import base64
import hashlib
import json
import os
import random
import subprocess
import time
import zlib

import cbor2
import cwt
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.headers import KID
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import CoseMessage

BIN = os.environ.get("STATUSLIST_BIN", "statuslist")
SUB = "https://status.example/t/interop"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    private = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("keys") / "key.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return private, str(path)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(public) -> str:
    """RFC 7638, computed here independently of our code."""
    nums = public.public_numbers()
    x, y = nums.x.to_bytes(32, "big"), nums.y.to_bytes(32, "big")
    canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": b64u(x), "y": b64u(y)}, separators=(",", ":"))
    return b64u(hashlib.sha256(canonical.encode()).digest())


def encode(key_path, fmt, bits, size, statuses, extra=()):
    args = [BIN, "encode", "--bits", str(bits), "--size", str(size), "--format", fmt, "--sub", SUB, "--key", key_path]
    for idx, value in statuses.items():
        args += ["--set", f"{idx}={value}"]
    return subprocess.run(args + list(extra), check=True, capture_output=True).stdout


def random_statuses(bits, size, count, seed):
    rng = random.Random(seed)
    top = (1 << bits) - 1
    allowed = [v for v in (1, 2, 3, 12, 13, 14, 15) if v <= top]
    return {rng.randrange(size): rng.choice(allowed) for _ in range(count)}


def read_list(raw: bytes, bits: int, size: int):
    per = 8 // bits
    assert len(raw) * per >= size
    return {i: (raw[i // per] >> ((i % per) * bits)) & ((1 << bits) - 1) for i in range(len(raw) * per)}


CASES = [(1, 16, 5), (2, 1000, 100), (4, 4096, 300), (8, 777, 200), (2, 1 << 20, 10000)]


@pytest.mark.parametrize("bits,size,count", CASES)
def test_jwt_verifies_with_pyjwt(key, bits, size, count):
    private, path = key
    statuses = random_statuses(bits, size, count, seed=bits * size)
    token = encode(path, "jwt", bits, size, statuses, ["--ttl", "600"]).decode().strip()
    decoded = jwt.decode_complete(
        token,
        private.public_key(),
        algorithms=["ES256"],
        options={"require": ["sub", "iat", "exp", "status_list"]},
    )
    header, claims = decoded["header"], decoded["payload"]
    assert header == {"alg": "ES256", "kid": thumbprint(private.public_key()), "typ": "statuslist+jwt"}
    assert claims["sub"] == SUB
    assert claims["ttl"] == 600
    assert claims["iat"] <= time.time() < claims["exp"]
    sl = claims["status_list"]
    assert sl["bits"] == bits
    assert "=" not in sl["lst"]
    raw = zlib.decompress(base64.urlsafe_b64decode(sl["lst"] + "=" * (-len(sl["lst"]) % 4)))
    values = read_list(raw, bits, size)
    for idx in range(size):
        assert values[idx] == statuses.get(idx, 0), idx


def test_jwt_tampering_is_caught_by_pyjwt(key):
    private, path = key
    token = encode(path, "jwt", 1, 64, {3: 1}).decode().strip()
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "https://attacker.example/t/1"
    forged = ".".join([head, b64u(json.dumps(claims).encode()), sig])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, private.public_key(), algorithms=["ES256"])


@pytest.mark.parametrize("bits,size,count", CASES)
def test_cwt_verifies_with_pycose_and_python_cwt(key, bits, size, count):
    private, path = key
    statuses = random_statuses(bits, size, count, seed=bits * size + 1)
    data = encode(path, "cwt", bits, size, statuses, ["--ttl", "900"])
    assert data[0] == 0xD2, "COSE_Sign1_Tagged (tag 18), not wrapped in tag 61"

    nums = private.public_key().public_numbers()
    x, y = nums.x.to_bytes(32, "big"), nums.y.to_bytes(32, "big")
    msg = CoseMessage.decode(data)
    assert msg.phdr[16] == "application/statuslist+cwt"
    assert msg.uhdr[KID] == thumbprint(private.public_key()).encode()
    msg.key = EC2Key(crv=P256, x=x, y=y)
    assert msg.verify_signature()

    jwk = {"kty": "EC", "crv": "P-256", "x": b64u(x), "y": b64u(y), "alg": "ES256",
           "kid": thumbprint(private.public_key())}
    claims = cwt.decode(data, cwt.COSEKey.from_jwk(jwk))  # verifies and checks exp
    assert claims == cbor2.loads(msg.payload)
    assert claims[2] == SUB
    assert claims[65534] == 900
    assert claims[6] <= time.time() < claims[4]
    sl = claims[65533]
    assert sl["bits"] == bits and isinstance(sl["lst"], bytes)
    values = read_list(zlib.decompress(sl["lst"]), bits, size)
    for idx in range(size):
        assert values[idx] == statuses.get(idx, 0), idx


def test_cwt_tampering_is_caught_by_pycose(key):
    private, path = key
    data = bytearray(encode(path, "cwt", 1, 64, {3: 1}))
    data[-10] ^= 0x01  # inside the signature
    nums = private.public_key().public_numbers()
    msg = CoseMessage.decode(bytes(data))
    msg.key = EC2Key(crv=P256, x=nums.x.to_bytes(32, "big"), y=nums.y.to_bytes(32, "big"))
    assert not msg.verify_signature()


@pytest.mark.parametrize("bits,size,count", [(1, 100_000, 100), (2, 100_000, 1000), (2, 1 << 20, 10_000), (8, 100_000, 100), (8, 100_000, 40_000)])
def test_compressed_list_decodes_with_c_zlib_and_is_no_larger_than_level_9(key, bits, size, count):
    """Whatever encoder the list's shape picks, CPython's zlib (C zlib) decodes its stream to the
    statuses set, and C zlib at level 9 makes nothing smaller of the same bytes (spec §4.1)."""
    _, path = key
    statuses = random_statuses(bits, size, count, seed=7)
    sets = "".join(f"{idx}={value}\n" for idx, value in statuses.items())
    args = [BIN, "encode", "--bits", str(bits), "--size", str(size), "--format", "jwt", "--sub", SUB, "--key", path, "--set-file", "-"]
    token = subprocess.run(args, input=sets.encode(), check=True, capture_output=True).stdout.decode().strip()
    payload = token.split(".")[1]
    lst = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["status_list"]["lst"]
    compressed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
    raw = zlib.decompress(compressed)
    decoded = read_list(raw, bits, size)
    assert {i: v for i, v in decoded.items() if v} == statuses
    assert len(compressed) <= len(zlib.compress(raw, 9))
