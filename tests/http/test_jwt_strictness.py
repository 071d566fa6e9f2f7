"""Bearer tokens are checked strictly on every route, public ones included: the algorithm is
pinned (HS256 by default, RS256 or ES256 when configured), and a token that is unsigned, tampered
with, expired, not yet valid, meant for someone else or malformed in its claims is a 401, never a
fallback to anonymous access.

RS256 and ES256 keys are made with the `openssl` command line in a temporary folder.
"""

import json
import subprocess
import time

import pytest

from support.bodies import organization_body
from support.checks import assert_problem
from support.client import ApiClient
from support.config import JWT_SECRET
from support.principals import (PASSWORD, b64url, bearer, decode_unverified, flip_signature_bit,
                                make_token)

DROP = object()
PROBE = "/v1/monitoring-records"  # needs a token of any role
# A public read, a protected read and a write: a bad token is a 401 on each.
ROUTES = [("GET", "/v1/organizations"), ("GET", "/v1/monitoring-records"),
          ("POST", "/v1/organizations")]


# ---------------------------------------------------------------- keys and signatures


def openssl(*args, data=None):
    proc = subprocess.run(["openssl", *map(str, args)], input=data, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, f"openssl {' '.join(map(str, args))}: {proc.stderr!r}"
    return proc.stdout


class Keys:
    def __init__(self, folder):
        self.folder = folder
        self.rsa, self.rsa_pub = folder / "rsa.pem", folder / "rsa.pub.pem"
        self.rsa2 = folder / "rsa-other.pem"
        self.ec, self.ec_pub = folder / "ec.pem", folder / "ec.pub.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                self.rsa)
        openssl("pkey", "-in", self.rsa, "-pubout", "-out", self.rsa_pub)
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                self.rsa2)
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                self.ec)
        openssl("pkey", "-in", self.ec, "-pubout", "-out", self.ec_pub)


def der_to_raw(der, size=32):
    """An ECDSA signature from DER (SEQUENCE of two INTEGERs) to JWS's r || s."""
    assert der[0] == 0x30, der
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02, der
        n = der[i + 1]
        value = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += value.rjust(size, b"\x00")
        i += 2 + n
    return out


def signed(claims, alg, keyfile=None, secret=None, header=None):
    """A compact JWT signed with openssl (RS256, ES256) or HMAC-SHA256 (HS256)."""
    header = header or {"alg": alg, "typ": "JWT"}
    if alg == "HS256":
        return make_token(claims, secret, header=header)
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode()))
    sig = openssl("dgst", "-sha256", "-sign", keyfile, data=signing_input.encode())
    if alg == "ES256":
        sig = der_to_raw(sig)
    return signing_input + "." + b64url(sig)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("jwt-keys"))


@pytest.fixture(scope="module")
def ctx(ctx):
    return ctx.extend(user=ctx.add_user("admin"))


def claims(user, **changes):
    now = int(time.time())
    c = {"sub": user.sub, "role": user.role, "iat": now, "exp": now + 300, "iss": "sharaka",
         "aud": "sharaka"}
    for k, v in changes.items():
        if v is DROP:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def call(client, method, path, token):
    kw = {"headers": bearer(token)}
    if method == "POST":
        kw["json"] = organization_body()
    return client.request(method, path, **kw)


def assert_invalid_token(r):
    assert_problem(r, 401)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


# ---------------------------------------------------------------- HS256 (the shared server)


def bad_tokens(user):
    now = int(time.time())
    good = make_token(claims(user), JWT_SECRET)
    out = {}
    for alg in ("none", "None", "NONE", "nOnE"):
        out[f"alg-{alg}-unsigned"] = make_token(claims(user), JWT_SECRET,
                                                header={"alg": alg, "typ": "JWT"},
                                                signature=b"")
    out["alg-none-with-hs256-signature"] = make_token(claims(user), JWT_SECRET,
                                                      header={"alg": "none", "typ": "JWT"})
    out["flipped-signature-bit"] = flip_signature_bit(good, 5)
    out["expired"] = make_token(claims(user, iat=now - 1000, exp=now - 120), JWT_SECRET)
    out["not-yet-valid"] = make_token(claims(user, nbf=now + 120), JWT_SECRET)
    out["wrong-iss"] = make_token(claims(user, iss="https://idp.example"), JWT_SECRET)
    out["wrong-aud"] = make_token(claims(user, aud="another-api"), JWT_SECRET)
    out["missing-exp"] = make_token(claims(user, exp=DROP), JWT_SECRET)
    out["exp-as-string"] = make_token(claims(user, exp=str(now + 300)), JWT_SECRET)
    out["nbf-as-string"] = make_token(claims(user, nbf=str(now - 10)), JWT_SECRET)
    out["unknown-user"] = make_token(claims(user, sub="00000000-0000-4000-8000-000000000000"),
                                     JWT_SECRET)
    out["partner-role-claim"] = make_token(claims(user, role="partner"), JWT_SECRET)
    return out


CASES = ["alg-none-unsigned", "alg-None-unsigned", "alg-NONE-unsigned", "alg-nOnE-unsigned",
         "alg-none-with-hs256-signature", "flipped-signature-bit", "expired", "not-yet-valid",
         "wrong-iss", "wrong-aud", "missing-exp", "exp-as-string", "nbf-as-string",
         "unknown-user", "partner-role-claim"]


def test_the_control_token_is_accepted_on_every_route(ctx):
    token = make_token(claims(ctx.user), JWT_SECRET)
    for method, path in ROUTES:
        r = call(ctx.client, method, path, token)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("method, path", ROUTES, ids=["public-read", "protected-read", "write"])
@pytest.mark.parametrize("case", CASES)
def test_bad_token_is_401_invalid_token_on_every_route(ctx, case, method, path):
    token = bad_tokens(ctx.user)[case]
    before = ctx.db.count("organizations")
    assert_invalid_token(call(ctx.client, method, path, token))
    assert ctx.db.count("organizations") == before


def test_token_in_the_query_string_is_ignored(ctx):
    token = make_token(claims(ctx.user), JWT_SECRET)
    for r in (ctx.client.get(PROBE, params={"access_token": token}, invalid=True),
              ctx.client.post("/v1/organizations", params={"access_token": token},
                              json=organization_body(), invalid=True)):
        assert_problem(r, 401)
        challenge = r.headers.get("WWW-Authenticate", "")
        assert challenge.startswith("Bearer") and "invalid_token" not in challenge, challenge
        assert token not in r.text


def test_issued_tokens_last_exactly_the_configured_ttl(ctx):
    r = ctx.client.post("/v1/auth/token", json={"email": ctx.user.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    _, c = decode_unverified(r.json()["access_token"])
    assert r.json()["expires_in"] == 900 and c["exp"] - c["iat"] == 900, (r.json(), c)


# ---------------------------------------------------------------- RS256 and ES256 servers


def login(api, user):
    r = api.post("/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()


def test_rs256_server_issues_and_accepts_rs256_and_refuses_hs256_signed_with_its_public_key(
        ctx, keys, start_server):
    srv = start_server(SHARAKA_JWT_ALGORITHM="RS256", SHARAKA_JWT_PUBLIC_KEY=keys.rsa_pub,
                       SHARAKA_JWT_PRIVATE_KEY=keys.rsa, SHARAKA_TOKEN_TTL="300")
    api = ApiClient(srv, ctx.spec)
    try:
        issued = login(api, ctx.user)
        header, c = decode_unverified(issued["access_token"])
        assert header["alg"] == "RS256", header
        assert issued["expires_in"] == 300 and c["exp"] - c["iat"] == 300, (issued, c)
        assert api.get(PROBE, headers=bearer(issued["access_token"])).status_code == 200
        # The RS256 token means nothing to the HS256 server.
        assert_invalid_token(ctx.client.get(PROBE, headers=bearer(issued["access_token"])))

        crafted = signed(claims(ctx.user), "RS256", keys.rsa)
        assert api.get(PROBE, headers=bearer(crafted)).status_code == 200

        pem = keys.rsa_pub.read_bytes()
        refused = {
            "hs256-with-public-key": signed(claims(ctx.user), "HS256", secret=pem),
            "hs256-with-public-key-stripped": signed(claims(ctx.user), "HS256",
                                                     secret=pem.strip()),
            "hs256-with-the-secret": signed(claims(ctx.user), "HS256", secret=JWT_SECRET),
            "rs256-other-key": signed(claims(ctx.user), "RS256", keys.rsa2),
            "es256": signed(claims(ctx.user), "ES256", keys.ec),
            "alg-none": make_token(claims(ctx.user), "", header={"alg": "none"}, signature=b""),
            "rs256-flipped-bit": flip_signature_bit(crafted, 100),
            "rs256-expired": signed(claims(ctx.user, iat=int(time.time()) - 900,
                                           exp=int(time.time()) - 300), "RS256", keys.rsa),
            "rs256-wrong-aud": signed(claims(ctx.user, aud="another-api"), "RS256", keys.rsa),
        }
        for name, token in refused.items():
            r = api.get(PROBE, headers=bearer(token))
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text[:300]}"
            assert_invalid_token(r)
    finally:
        api.close()


def test_es256_server_accepts_es256_and_refuses_rs256(ctx, keys, start_server):
    srv = start_server(SHARAKA_JWT_ALGORITHM="ES256", SHARAKA_JWT_PUBLIC_KEY=keys.ec_pub,
                       SHARAKA_JWT_PRIVATE_KEY=keys.ec, SHARAKA_TOKEN_TTL="120")
    api = ApiClient(srv, ctx.spec)
    try:
        issued = login(api, ctx.user)
        header, c = decode_unverified(issued["access_token"])
        assert header["alg"] == "ES256", header
        assert issued["expires_in"] == 120 and c["exp"] - c["iat"] == 120, (issued, c)
        assert api.get(PROBE, headers=bearer(issued["access_token"])).status_code == 200

        crafted = signed(claims(ctx.user), "ES256", keys.ec)
        r = api.get(PROBE, headers=bearer(crafted))
        assert r.status_code == 200, r.text

        pem = keys.ec_pub.read_bytes()
        for name, token in {
            "rs256": signed(claims(ctx.user), "RS256", keys.rsa),
            "hs256-with-public-key": signed(claims(ctx.user), "HS256", secret=pem),
            "hs256-with-the-secret": signed(claims(ctx.user), "HS256", secret=JWT_SECRET),
            "alg-none": make_token(claims(ctx.user), "", header={"alg": "none"}, signature=b""),
            "es256-flipped-bit": flip_signature_bit(crafted, 40),
        }.items():
            r = api.get(PROBE, headers=bearer(token))
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text[:300]}"
            assert_invalid_token(r)
    finally:
        api.close()


def test_verify_only_rs256_server_accepts_tokens_but_does_not_issue(ctx, keys, start_server):
    srv = start_server(SHARAKA_JWT_ALGORITHM="RS256", SHARAKA_JWT_PUBLIC_KEY=keys.rsa_pub)
    api = ApiClient(srv, ctx.spec)
    try:
        r = api.post("/v1/auth/token", json={"email": ctx.user.email, "password": PASSWORD})
        assert_problem(r, 503)
        assert "access_token" not in r.text
        token = signed(claims(ctx.user), "RS256", keys.rsa)
        assert api.get(PROBE, headers=bearer(token)).status_code == 200
    finally:
        api.close()
