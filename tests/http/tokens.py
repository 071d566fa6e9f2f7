"""tokens.py - build and read JWTs (HS256 and deliberately broken ones) for the tests."""

import base64
import hashlib
import hmac
import json


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    text = text.encode("ascii") if isinstance(text, str) else text
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def _json(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def sign(signing_input, secret):
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def make_token(claims, secret, header=None, signature=None):
    """A compact JWT. header defaults to HS256; signature=b"" gives an unsigned token."""
    header = {"alg": "HS256", "typ": "JWT"} if header is None else header
    signing_input = b64url(_json(header)) + "." + b64url(_json(claims))
    if signature is None:
        signature = sign(signing_input, secret)
    return signing_input + "." + b64url(signature)


def decode_unverified(token):
    """(header, payload) of a compact JWT, without checking anything."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def flip_signature_bit(token, bit=0):
    h, p, s = token.split(".")
    sig = bytearray(b64url_decode(s))
    sig[bit // 8] ^= 1 << (bit % 8)
    return f"{h}.{p}.{b64url(bytes(sig))}"
