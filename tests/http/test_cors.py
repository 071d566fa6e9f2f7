"""CORS: only the origins in SHARAKA_CORS_ORIGINS (https://app.example.org in the tests)."""

from support.checks import assert_problem, header_list
from support.config import CORS_ORIGIN

EVIL = "https://evil.example"


def _preflight(http, origin, method="POST", headers="content-type, authorization",
               path="/v1/auth/token"):
    return http.options(path, headers={
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    })


def test_preflight_from_allowed_origin_is_204_with_allow_headers(http):
    r = _preflight(http, CORS_ORIGIN)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    assert "POST" in header_list(r.headers.get("Access-Control-Allow-Methods"))
    allowed_headers = header_list(r.headers.get("Access-Control-Allow-Headers"))
    assert {"CONTENT-TYPE", "AUTHORIZATION"} <= allowed_headers, allowed_headers
    max_age = r.headers.get("Access-Control-Max-Age")
    assert max_age is not None and max_age.isdigit() and int(max_age) > 0, max_age
    assert "ORIGIN" in header_list(r.headers.get("Vary"))
    assert r.headers.get("X-Request-Id")


def test_preflight_for_get_route_allows_get(http):
    r = _preflight(http, CORS_ORIGIN, method="GET", headers="authorization", path="/v1/auth/me")
    assert r.status_code == 204
    assert "GET" in header_list(r.headers.get("Access-Control-Allow-Methods"))


def test_preflight_from_unlisted_origin_is_403_without_allow_origin(http):
    r = _preflight(http, EVIL)
    assert_problem(r, 403, instance="/v1/auth/token")
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Methods" not in r.headers


def test_preflight_from_lookalike_origin_is_403(http):
    for origin in (CORS_ORIGIN + ".evil.example", "http://app.example.org", CORS_ORIGIN + ":8443",
                   "null"):
        r = _preflight(http, origin)
        assert r.status_code == 403, (origin, r.status_code)
        assert "Access-Control-Allow-Origin" not in r.headers


def test_get_with_allowed_origin_carries_allow_origin_and_vary(http):
    r = http.get("/healthz", headers={"Origin": CORS_ORIGIN})
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    assert "ORIGIN" in header_list(r.headers.get("Vary"))


def test_error_answers_to_allowed_origin_carry_allow_origin(http):
    r = http.get("/v1/auth/me", headers={"Origin": CORS_ORIGIN})
    assert_problem(r, 401)
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN


def test_get_with_unlisted_origin_has_no_allow_origin(http):
    r = http.get("/healthz", headers={"Origin": EVIL})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


def test_star_allows_any_origin(start_server, api_for):
    api = api_for(start_server(SHARAKA_CORS_ORIGINS="*"))
    r = api.get("/healthz", headers={"Origin": EVIL})
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", EVIL), r.headers
    pre = api.options("/v1/auth/token", headers={"Origin": EVIL,
                                                 "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204
    assert pre.headers.get("Access-Control-Allow-Origin") in ("*", EVIL), pre.headers


def test_without_cors_origins_preflights_are_refused(start_server, api_for):
    api = api_for(start_server(SHARAKA_CORS_ORIGINS=None))
    r = api.options("/v1/auth/token", headers={"Origin": CORS_ORIGIN,
                                               "Access-Control-Request-Method": "POST"})
    assert_problem(r, 403, instance="/v1/auth/token")
    assert "Access-Control-Allow-Origin" not in r.headers
    r = api.get("/healthz", headers={"Origin": CORS_ORIGIN})
    assert "Access-Control-Allow-Origin" not in r.headers
