"""Rate limits by principal and by address: each user or API key has its own bucket, anonymous
callers share one per client address, and sign-ins are limited per e-mail (from any address) and
per address. A 429 is a problem with Retry-After, RateLimit-Policy and RateLimit; cross-origin
answers, 429s included, carry Access-Control-Allow-Origin only for the configured origins.

(test_rate_limits.py covers wrong passwords for one e-mail from one address.)
"""

import re

import pytest

from support.checks import assert_problem, header_list
from support.config import CORS_ORIGIN
from support.principals import PASSWORD, bearer, craft_token

LIST = "/v1/organizations"
POLICY_RE = re.compile(r'^"(?P<name>[a-z-]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
STATE_RE = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def people(ctx):
    return ctx.extend(one=ctx.add_user("analyst"), two=ctx.add_user("analyst"),
                      partner=ctx.add_partner("annd"))


def limits(r):
    """{policy name: (quota, window, remaining, reset)} from the RateLimit headers.

    A request may draw on more than one bucket (a sign-in: its address and its e-mail); each
    header is then a list, one item per bucket.
    """
    policies = [POLICY_RE.match(x.strip())
                for x in r.headers.get("RateLimit-Policy", "").split(",")]
    states = [STATE_RE.match(x.strip()) for x in r.headers.get("RateLimit", "").split(",")]
    assert all(policies) and all(states), \
        f"RateLimit-Policy {r.headers.get('RateLimit-Policy')!r}, " \
        f"RateLimit {r.headers.get('RateLimit')!r}"
    assert [p["name"] for p in policies] == [s["name"] for s in states], r.headers
    return {p["name"]: (int(p["q"]), int(p["w"]), int(s["r"]), int(s["t"]))
            for p, s in zip(policies, states)}


def only(r):
    """(name, quota, window, remaining) of an answer that drew on exactly one bucket."""
    [(name, (q, w, remaining, _))] = limits(r).items()
    return name, q, w, remaining


def assert_limited(r, policy, quota):
    """A 429 problem with Retry-After and the RateLimit headers of the bucket that ran dry."""
    assert_problem(r, 429)
    retry = r.headers.get("Retry-After", "")
    assert retry.isdigit() and 1 <= int(retry) <= 60, r.headers
    found = limits(r)
    assert policy in found, r.headers
    q, w, remaining, reset = found[policy]
    assert (q, w, remaining) == (quota, 60, 0), r.headers
    assert 0 < reset <= 60, r.headers


# ---------------------------------------------------------------- per principal


def test_each_user_and_key_has_a_bucket_of_its_own(start_server, api_for, people):
    api = api_for(start_server(SHARAKA_RATE_LIMIT="3", SHARAKA_RATE_LIMIT_ANONYMOUS="1000"))
    one, two = people.one, people.two
    for left in (2, 1, 0):
        r = api.get(LIST, params={"limit": 1}, headers=one.headers)
        assert r.status_code == 200, r.text
        assert only(r) == ("user", 3, 60, left), r.headers
    assert_limited(api.get(LIST, params={"limit": 1}, headers=one.headers), "user", 3)
    # Another token of the same user draws on the same bucket ...
    assert_limited(api.get(LIST, headers=bearer(craft_token(one))), "user", 3)
    # ... while another user, and an API key, have theirs untouched.
    r = api.get(LIST, params={"limit": 1}, headers=two.headers)
    assert r.status_code == 200 and only(r) == ("user", 3, 60, 2), r.headers
    r = api.get(LIST, params={"limit": 1}, headers=people.partner.headers)
    assert r.status_code == 200 and only(r) == ("api-key", 3, 60, 2), r.headers
    # Writes count against the same bucket and are refused without being made.
    before = people.db.count("organizations")
    r = api.post(LIST, json={"name": "rate limited", "kind": "association"},
                 headers=one.headers)
    assert_limited(r, "user", 3)
    assert people.db.count("organizations") == before


def test_anonymous_callers_are_limited_per_client_address(start_server, api_for, people):
    srv = start_server(SHARAKA_RATE_LIMIT="1000", SHARAKA_RATE_LIMIT_ANONYMOUS="2")
    here, there = api_for(srv), api_for(srv, "127.0.0.2")
    for left in (1, 0):
        r = here.get(LIST, params={"limit": 1})
        assert r.status_code == 200 and only(r) == ("anonymous", 2, 60, left), r.headers
    assert_limited(here.get(LIST, params={"limit": 1}), "anonymous", 2)
    # Another address has its own bucket; a signed-in caller at this address is not anonymous.
    r = there.get(LIST, params={"limit": 1})
    assert r.status_code == 200 and only(r) == ("anonymous", 2, 60, 1), r.headers
    r = here.get(LIST, params={"limit": 1}, headers=people.one.headers)
    assert r.status_code == 200 and only(r)[0] == "user", r.headers


# ---------------------------------------------------------------- sign-ins


def test_sign_ins_are_limited_per_email_from_any_address(start_server, api_for, people):
    srv = start_server(SHARAKA_LOGIN_RATE_LIMIT="3")
    wrong = {"email": people.one.email, "password": "guessing " + PASSWORD}
    for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        r = api_for(srv, address).post("/v1/auth/token", json=wrong)
        assert_problem(r, 401)
    fresh = api_for(srv, "127.0.0.5")
    r = fresh.post("/v1/auth/token", json={"email": people.one.email, "password": PASSWORD})
    assert_limited(r, "login-email", 3)
    assert "access_token" not in r.text
    # The e-mail in another letter case is the same account, and the same bucket.
    r = fresh.post("/v1/auth/token", json={"email": people.one.email.upper(),
                                           "password": PASSWORD})
    assert_limited(r, "login-email", 3)
    # Another account signs in from that address.
    r = fresh.post("/v1/auth/token", json={"email": people.two.email, "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_sign_ins_are_limited_per_address_whatever_the_email(start_server, api_for, people):
    srv = start_server(SHARAKA_LOGIN_RATE_LIMIT="2")
    api = api_for(srv, "127.0.0.6")
    for n in range(2):
        r = api.post("/v1/auth/token", json={"email": f"nobody{n}@access.test",
                                             "password": "x" * 12})
        assert_problem(r, 401)
    r = api.post("/v1/auth/token", json={"email": people.two.email, "password": PASSWORD})
    assert_limited(r, "login-address", 2)
    r = api_for(srv, "127.0.0.7").post("/v1/auth/token", json={"email": people.two.email,
                                                                   "password": PASSWORD})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- cross-origin


def test_only_configured_origins_get_allow_origin_on_api_answers(start_server, api_for,
                                                                 people):
    api = api_for(start_server(SHARAKA_RATE_LIMIT="2"))
    ok = api.get(LIST, params={"limit": 1}, headers={"Origin": CORS_ORIGIN, **people.one.headers})
    assert ok.status_code == 200
    assert ok.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN, ok.headers
    exposed = header_list(ok.headers.get("Access-Control-Expose-Headers"))
    assert {"RETRY-AFTER", "RATELIMIT", "RATELIMIT-POLICY", "X-REQUEST-ID"} <= exposed, exposed
    foreign = api.get(LIST, params={"limit": 1}, headers={"Origin": EVIL, **people.one.headers})
    assert foreign.status_code == 200
    assert "Access-Control-Allow-Origin" not in foreign.headers, foreign.headers
    assert "Access-Control-Expose-Headers" not in foreign.headers, foreign.headers
    # A 429 to the configured origin is readable by its page; to a foreign one it is not.
    limited = api.get(LIST, headers={"Origin": CORS_ORIGIN, **people.one.headers})
    assert_limited(limited, "user", 2)
    assert limited.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    limited = api.get(LIST, headers={"Origin": EVIL, **people.one.headers})
    assert_limited(limited, "user", 2)
    assert "Access-Control-Allow-Origin" not in limited.headers
