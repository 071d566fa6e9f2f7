"""Access log: one JSON line per request on stdout."""

import json
import re
import time
import uuid

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _lines_for(server, request_id, want=1, timeout=3.0):
    """Access-log entries carrying request_id, waiting up to timeout for `want` of them."""
    deadline = time.monotonic() + timeout
    while True:
        entries = []
        for line in server.stdout().splitlines():
            if request_id in line:
                entries.append(json.loads(line))
        if len(entries) >= want or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_each_request_gives_one_json_line_with_every_field(http, server):
    rid = "log-" + uuid.uuid4().hex
    r = http.get("/healthz", headers={"X-Request-Id": rid})
    entries = _lines_for(server, rid)
    assert len(entries) == 1, entries
    e = entries[0]
    assert {"time", "request_id", "method", "path", "status", "duration_us", "bytes"} <= e.keys(), e
    assert TIME_RE.match(e["time"]), e["time"]
    assert e["request_id"] == rid
    assert e["method"] == "GET"
    assert e["path"] == "/healthz"
    assert e["status"] == 200
    assert type(e["duration_us"]) is int and e["duration_us"] >= 0, e
    assert type(e["bytes"]) is int and e["bytes"] == len(r.content), e


def test_error_answers_are_logged_with_their_status(http, server):
    rid = "log-" + uuid.uuid4().hex
    http.post("/healthz", headers={"X-Request-Id": rid}, invalid=True)
    rid2 = "log-" + uuid.uuid4().hex
    http.get("/nowhere", headers={"X-Request-Id": rid2}, invalid=True)
    (e405,) = _lines_for(server, rid)
    (e404,) = _lines_for(server, rid2)
    assert (e405["method"], e405["path"], e405["status"]) == ("POST", "/healthz", 405)
    assert (e404["method"], e404["path"], e404["status"]) == ("GET", "/nowhere", 404)


def test_generated_request_id_is_the_one_logged(http, server):
    r = http.get("/healthz")
    rid = r.headers["X-Request-Id"]
    entries = _lines_for(server, rid)
    assert len(entries) == 1 and entries[0]["request_id"] == rid


def test_every_stdout_line_is_a_json_object(http, server):
    http.get("/healthz")
    time.sleep(0.1)
    lines = [line for line in server.stdout().splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_query_string_secrets_are_not_logged(http, server):
    secret = "qs-" + uuid.uuid4().hex
    rid = "log-" + uuid.uuid4().hex
    http.get("/v1/auth/me", params={"access_token": secret}, headers={"X-Request-Id": rid},
             invalid=True)
    (e,) = _lines_for(server, rid)
    assert e["path"] == "/v1/auth/me"
    assert secret not in server.stdout()
    assert secret not in server.stderr()
