"""checks.py - assertions shared by the HTTP tests."""

import json
import re
import uuid

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FRESH_ID_RE = re.compile(r"^[0-9a-f]{32}$")
PROBLEM_TYPE_RE = re.compile(r"^urn:sharaka:problem:[a-z0-9][a-z0-9-]*$")


# resource name in the API (and in the change feed) -> table
DOMAIN_TABLES = {
    "organizations": "organizations",
    "ministries": "ministries",
    "partnership-types": "partnership_types",
    "partnerships": "partnerships",
    "charters": "charters",
    "signatories": "charter_signatories",
    "monitoring-records": "monitoring_records",
}
ADMIN_TABLES = {"users": "users", "api-keys": "api_keys"}


def bearer(token):
    """The Authorization header of a token or API key; none for anonymous (None)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def uniq(prefix="t"):
    """A short unique word (lowercase letters and digits), for names, codes and markers."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def sql_str(value):
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


# ---------------------------------------------------------------- record bodies


def org_body(**over):
    return {"name": "Organization " + uniq(), "kind": "association", **over}


def ministry_body(**over):
    return {"name": "Public body " + uniq(), "kind": "ministry", **over}


def type_body(**over):
    code = uniq("type-")
    return {"code": code, "name": "Type " + code, **over}


def partnership_body(type_id, ministry_id, org_ids, **over):
    return {"title": "Partnership " + uniq(), "type_id": type_id, "ministry_id": ministry_id,
            "organizations": [{"organization_id": o, "role": "lead" if i == 0 else "partner"}
                              for i, o in enumerate(org_ids)], **over}


def monitoring_body(partnership_id, **over):
    return {"partnership_id": partnership_id, "period_start": "2024-01-01",
            "period_end": "2024-06-30", "indicator": "Indicator " + uniq(), **over}


def _parts(r):
    """(status, headers, body bytes) of a requests.Response or a RawResponse."""
    if hasattr(r, "status_code"):
        return r.status_code, r.headers, r.content
    return r.status, r.headers, r.body


def describe(r):
    status, headers, body = _parts(r)
    return f"{status} {dict(headers) if hasattr(headers, 'items') else headers} {body[:500]!r}"


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
