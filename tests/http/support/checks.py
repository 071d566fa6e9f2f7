"""checks.py - assertions shared by the HTTP tests: answers, problems, and the shapes of values."""

import json
import re
import uuid

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FRESH_ID_RE = re.compile(r"^[0-9a-f]{32}$")
PROBLEM_TYPE_RE = re.compile(r"^urn:sharaka:problem:[a-z0-9][a-z0-9-]*$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ARABIC_RE = re.compile(r"[\u0600-\u06FF]")


def uniq(prefix="t"):
    """A short unique word (lowercase letters and digits), for names, codes and markers."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def _parts(r):
    """(status, headers, body bytes) of a requests.Response or a RawResponse."""
    if hasattr(r, "status_code"):
        return r.status_code, r.headers, r.content
    return r.status, r.headers, r.body


def describe(r):
    """One line about an answer (requests.Response or RawResponse), for assertion messages."""
    status, headers, body = _parts(r)
    req = getattr(r, "request", None)
    what = f"{req.method} {req.path_url} -> " if req is not None else ""
    return (f"{what}{status} {dict(headers) if hasattr(headers, 'items') else headers} "
            f"{body[:1500]!r}")


def expect(r, status, what=""):
    """The answer has this status (else the assertion describes it); returns it."""
    assert r.status_code == status, f"{what}: expected {status}, got {describe(r)}"
    return r


def assert_problem(r, status, instance=None):
    """The answer is an RFC 9457 problem with every field sharaka promises; returns the body."""
    got_status, headers, body = _parts(r)
    assert got_status == status, f"expected {status}, got {describe(r)}"
    ct = headers.get("Content-Type") or ""
    assert ct.split(";")[0].strip() == "application/problem+json", f"Content-Type {ct!r}"
    p = json.loads(body)
    assert isinstance(p, dict), p
    missing = {"type", "title", "status", "detail", "instance", "request_id"} - p.keys()
    assert not missing, f"problem lacks {sorted(missing)}: {p}"
    assert PROBLEM_TYPE_RE.match(p["type"]), p["type"]
    assert isinstance(p["title"], str) and p["title"], p
    assert isinstance(p["detail"], str) and p["detail"], p
    assert p["status"] == status, p
    if instance is not None:
        assert p["instance"] == instance, p
    rid = headers.get("X-Request-Id")
    assert rid, "no X-Request-Id header"
    assert p["request_id"] == rid, f"request_id {p['request_id']!r} != header {rid!r}"
    return p


def error_fields(problem):
    """The set of fields named in a 422 problem's errors[], without '/' or '$.' prefixes."""
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, f"no errors[] in {problem}"
    fields = set()
    for e in errors:
        assert {"field", "code", "message"} <= e.keys(), e
        assert isinstance(e["code"], str) and e["code"], e
        assert isinstance(e["message"], str) and e["message"], e
        f = e["field"]
        for prefix in ("$.", "/"):
            if f.startswith(prefix):
                f = f[len(prefix):]
        fields.add(f)
    return fields


def header_list(value):
    """'GET, HEAD' -> {'GET', 'HEAD'} (upper-cased, for method and header-name lists)."""
    return {v.strip().upper() for v in (value or "").split(",") if v.strip()}


def error_entries(problem):
    """{field: code} of a 422 problem's errors[]."""
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, f"no errors[] in {problem}"
    out = {}
    for e in errors:
        assert set(e) == {"field", "code", "message"}, e
        assert e["message"], e
        out[e["field"]] = e["code"]
    return out


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line]
