"""principals.py - who the tests act as: users, API keys, and JWTs (HS256 and broken ones).

Users are made with `sharaka user add` (the first of a database) or by copying its argon2id hash
(the next ones); partner keys with `sharaka apikey create`. A Principal carries its token (an
access token crafted as POST /v1/auth/token would issue it, or the API key).
"""

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field

from support.checks import UUID_RE, expect, uniq
from support.config import JWT_SECRET
from support.db import sql_str

KEY_RE = re.compile(r"^sk_[A-Za-z0-9_-]{32,}$")
PASSWORD = "access tests password 1"


def bearer(token):
    """The Authorization header of a token or API key; none for anonymous (None)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- JWTs


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


# ---------------------------------------------------------------- principals


@dataclass
class Principal:
    name: str                 # anonymous, analyst, editor-org, editor-ministry, partner, admin
    role: str                 # the role in the policy table
    token: str = None
    sub: str = None           # user id, or API key id
    email: str = None
    org: str = None
    ministry: str = None
    source: str = None
    extra: dict = field(default_factory=dict)

    @property
    def headers(self):
        return bearer(self.token)


_hash_cache = {}


def craft_token(p, ttl=900):
    """An HS256 access token for a user, as POST /v1/auth/token would issue it (the test
    servers' secret, issuer and audience): no password check, so no argon2 round."""
    now = int(time.time())
    claims = {"sub": p.sub, "role": p.role, "iat": now, "exp": now + ttl, "iss": "sharaka",
              "aud": "sharaka"}
    if p.org:
        claims["org"] = p.org
    if p.ministry:
        claims["ministry"] = p.ministry
    return make_token(claims, JWT_SECRET)


def add_user(cli, db, role, org=None, ministry=None, name=None, email=None):
    """A user with password PASSWORD and a token: a Principal.

    The first user of a database is made with `sharaka user add`; the next ones get a copy of
    its argon2id hash straight in the table, which saves an argon2 round per user (they are
    the tests' principals, not what is tested).
    """
    email = email or f"{uniq(role)}@access.test"
    key = db.database
    scope = ["--organization", org] if org else ["--ministry", ministry] if ministry else []
    cached = _hash_cache.get(key)
    if cached is None:
        proc = cli.user_add(email, role, PASSWORD, *scope)
        user_id = proc.stdout.strip().splitlines()[-1]
        _hash_cache[key] = db.value(f"SELECT password_hash FROM users WHERE id = '{user_id}'")
    else:
        user_id = db.value(
            "INSERT INTO users (email, password_hash, role, organization_id, ministry_id) "
            f"VALUES ({sql_str(email)}, {sql_str(cached)}, {sql_str(role)}, "
            f"{sql_str(org) + '::uuid' if org else 'NULL'}, "
            f"{sql_str(ministry) + '::uuid' if ministry else 'NULL'}) RETURNING id")
    assert user_id and UUID_RE.match(user_id), user_id
    p = Principal(name or role, role, None, user_id, email, org=org, ministry=ministry)
    p.token = craft_token(p)
    return p


def add_key(cli, role="partner", source="annd", name=None):
    """An API key made with `sharaka apikey create`: the key as printed once."""
    proc = cli.run("apikey", "create", "--name", name or uniq("key"), "--role", role,
                   "--source", source)
    assert proc.returncode == 0, f"apikey create exited {proc.returncode}: {proc.stderr}"
    key = proc.stdout.strip().splitlines()[-1]
    assert KEY_RE.match(key), proc.stdout
    return key


def key_id(db, key):
    """The id of an API key's row, found by the key's SHA-256 as the server stores it."""
    return db.value(f"SELECT id FROM api_keys WHERE key_hash = {sql_str(sha256_hex(key))}")


def add_partner(cli, db, source="annd", role="partner"):
    """A partner (or other role) API key made with `sharaka apikey create`: a Principal."""
    key = add_key(cli, role, source)
    kid = key_id(db, key)
    assert kid, "the new key is not in api_keys under its SHA-256"
    return Principal("partner" if role == "partner" else f"{role}-key", role, key, kid,
                     source=source)


def login(client, email, password=PASSWORD):
    r = client.post("/v1/auth/token", json={"email": email, "password": password})
    expect(r, 200, f"login {email}")
    return r.json()["access_token"]
