"""GET /v1/auth/me and the checks every bearer token goes through."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from support.checks import assert_problem
from support.config import JWT_SECRET
from support.principals import b64url, decode_unverified, flip_signature_bit, make_token

ME = "/v1/auth/me"
DROP = object()


@pytest.fixture(scope="module")
def admin_sub(admin_token):
    return decode_unverified(admin_token)[1]["sub"]


def claims(sub, **changes):
    now = int(time.time())
    c = {"sub": sub, "role": "admin", "iat": now, "exp": now + 300, "iss": "sharaka",
         "aud": "sharaka"}
    for k, v in changes.items():
        if v is DROP:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def me(http, token):
    return http.get(ME, headers={"Authorization": f"Bearer {token}"})


def assert_invalid_token(r):
    assert_problem(r, 401, instance=ME)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert 'error="invalid_token"' in challenge, challenge


def assert_no_credentials(r):
    assert_problem(r, 401, instance=ME)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert "invalid_token" not in challenge, challenge


def test_me_with_issued_token_answers_its_claims(http, admin_token):
    r = me(http, admin_token)
    assert r.status_code == 200, r.text
    body = r.json()
    _, c = decode_unverified(admin_token)
    assert body == {"sub": c["sub"], "role": "admin", "organization_id": None,
                    "ministry_id": None, "iat": c["iat"], "exp": c["exp"]}


def test_me_with_token_crafted_from_the_test_secret_is_200(http, admin_sub):
    r = me(http, make_token(claims(admin_sub), JWT_SECRET))
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == admin_sub


def test_me_without_token_is_401_with_bearer_challenge(http):
    assert_no_credentials(http.get(ME))


@pytest.mark.parametrize("value", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", "Token abc"])
def test_me_with_non_bearer_or_empty_authorization_is_401(http, value):
    r = http.get(ME, headers={"Authorization": value})
    assert_problem(r, 401, instance=ME)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_token_in_query_string_is_ignored(http, admin_token):
    r = http.get(ME, params={"access_token": admin_token}, invalid=True)
    assert_no_credentials(r)
    assert admin_token not in r.text


def test_expired_token_is_401(http, admin_sub):
    now = int(time.time())
    assert_invalid_token(me(http, make_token(claims(admin_sub, iat=now - 1000, exp=now - 120),
                                             JWT_SECRET)))


def test_token_expired_within_60s_leeway_is_accepted(http, admin_sub):
    now = int(time.time())
    r = me(http, make_token(claims(admin_sub, iat=now - 1000, exp=now - 30), JWT_SECRET))
    assert r.status_code == 200, r.text


def test_token_not_yet_valid_beyond_leeway_is_401(http, admin_sub):
    now = int(time.time())
    assert_invalid_token(me(http, make_token(claims(admin_sub, nbf=now + 120), JWT_SECRET)))


def test_token_not_yet_valid_within_leeway_is_accepted(http, admin_sub):
    now = int(time.time())
    r = me(http, make_token(claims(admin_sub, nbf=now + 30), JWT_SECRET))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_unsigned_alg_none_token_is_401(http, admin_sub, alg):
    token = make_token(claims(admin_sub), JWT_SECRET, header={"alg": alg, "typ": "JWT"},
                       signature=b"")
    assert token.endswith(".")
    assert_invalid_token(me(http, token))


def test_alg_none_token_with_valid_hs256_signature_is_401(http, admin_sub):
    token = make_token(claims(admin_sub), JWT_SECRET, header={"alg": "none", "typ": "JWT"})
    assert_invalid_token(me(http, token))


def test_hs512_token_with_the_right_secret_is_401(http, admin_sub):
    header = b64url(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims(admin_sub)).encode())
    sig = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha512).digest()
    assert_invalid_token(me(http, f"{header}.{payload}.{b64url(sig)}"))


@pytest.mark.parametrize("bit", [0, 7, 100, 255])
def test_token_with_a_flipped_signature_bit_is_401(http, admin_token, bit):
    assert_invalid_token(me(http, flip_signature_bit(admin_token, bit)))


def test_token_with_altered_payload_is_401(http, admin_token):
    h, p, s = admin_token.split(".")
    _, c = decode_unverified(admin_token)
    c["role"] = "editor"
    forged = b64url(json.dumps(c).encode())
    assert_invalid_token(me(http, f"{h}.{forged}.{s}"))


def test_token_signed_with_another_secret_is_401(http, admin_sub):
    assert_invalid_token(me(http, make_token(claims(admin_sub), "another-secret-" + "x" * 40)))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "someone-else"},
        {"aud": ["someone-else"]},
        {"iss": DROP},
        {"aud": DROP},
        {"exp": DROP},
        {"exp": str(int(time.time()) + 300)},
        {"exp": int(time.time()) + 300.5},
        {"exp": None},
        {"exp": True},
    ],
    ids=["wrong-iss", "wrong-aud", "wrong-aud-list", "missing-iss", "missing-aud", "missing-exp",
         "exp-string", "exp-decimal", "exp-null", "exp-bool"],
)
def test_token_with_bad_claims_is_401(http, admin_sub, changes):
    assert_invalid_token(me(http, make_token(claims(admin_sub, **changes), JWT_SECRET)))


@pytest.mark.parametrize(
    "token",
    ["abc", "a.b", "a.b.c", "...", "a.b.c.d",
     base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode() + ".e30.",
     "\u00e9\u00e9.\u00e9.\u00e9"],
    ids=["one-part", "two-parts", "garbage-parts", "empty-parts", "four-parts",
         "padded-header-no-sig", "non-ascii"],
)
def test_malformed_token_is_401(http, token):
    r = http.get(ME, headers={"Authorization": ("Bearer " + token).encode("utf-8")})
    assert_invalid_token(r)


def test_issuer_and_audience_settings_are_used_and_checked(start_server, api_for, admin_user,
                                                          admin_token):
    api = api_for(start_server(SHARAKA_JWT_ISSUER="other-issuer",
                               SHARAKA_JWT_AUDIENCE="other-audience"))
    r = api.post("/v1/auth/token",
                 json={"email": admin_user["email"], "password": admin_user["password"]})
    assert r.status_code == 200, r.text
    own = r.json()["access_token"]
    _, c = decode_unverified(own)
    assert c["iss"] == "other-issuer"
    assert c["aud"] in ("other-audience", ["other-audience"])
    assert api.get(ME, headers={"Authorization": f"Bearer {own}"}).status_code == 200
    # Same secret, but issued for iss=aud=sharaka: refused here.
    assert_invalid_token(api.get(ME, headers={"Authorization": f"Bearer {admin_token}"}))
