"""X-Request-Id: the caller's sane id is echoed, anything else is replaced by a fresh one."""

import pytest

from support.checks import FRESH_ID_RE, assert_problem
from support.config import MAX_BODY
from support.raw import build_request


@pytest.mark.parametrize("rid", ["abc", "req-1.2_3", "A" * 64, "0123456789abcdef0123456789abcdef"])
def test_sane_request_id_is_echoed(http, rid):
    r = http.get("/healthz", headers={"X-Request-Id": rid})
    assert r.status_code == 200
    assert r.headers["X-Request-Id"] == rid


@pytest.mark.parametrize(
    "rid",
    ["A" * 65, "a b", "<x>", "a/b", "a;b", "caf\u00e9", '"quoted"'],
    ids=["65-chars", "space", "angle-brackets", "slash", "semicolon", "non-ascii", "quotes"],
)
def test_malformed_request_id_is_replaced_by_a_fresh_one(http, rid):
    r = http.get("/healthz", headers={"X-Request-Id": rid.encode("utf-8")})
    assert r.status_code == 200
    got = r.headers["X-Request-Id"]
    assert got != rid
    assert FRESH_ID_RE.match(got), got


def test_empty_request_id_is_replaced_by_a_fresh_one(http):
    data = build_request("GET", "/healthz", [("X-Request-Id", ""), ("Connection", "close")])
    r = http.raw("GET", "/healthz", data)
    assert r.status == 200
    assert FRESH_ID_RE.match(r.headers["X-Request-Id"]), r.headers


def test_fresh_request_ids_differ_between_requests(http):
    ids = {http.get("/healthz").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(FRESH_ID_RE.match(i) for i in ids), ids


def test_request_id_is_on_404_and_echoed_in_problem(http):
    r = http.get("/no/such/path", headers={"X-Request-Id": "trace-404"}, invalid=True)
    assert r.headers["X-Request-Id"] == "trace-404"
    assert assert_problem(r, 404)["request_id"] == "trace-404"


def test_request_id_is_on_405(http):
    r = http.post("/healthz", headers={"X-Request-Id": "trace-405"}, invalid=True)
    assert r.headers["X-Request-Id"] == "trace-405"
    assert assert_problem(r, 405)["request_id"] == "trace-405"


def test_request_id_is_on_413(http):
    data = build_request("POST", "/v1/auth/token", [
        ("X-Request-Id", "trace-413"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(MAX_BODY + 1)),
    ])
    r = http.raw("POST", "/v1/auth/token", data)
    assert r.headers.get("X-Request-Id") == "trace-413"
    assert assert_problem(r, 413)["request_id"] == "trace-413"


def test_request_id_is_on_401(http):
    r = http.get("/v1/auth/me", headers={"X-Request-Id": "trace-401"})
    assert r.headers["X-Request-Id"] == "trace-401"
    assert assert_problem(r, 401)["request_id"] == "trace-401"
