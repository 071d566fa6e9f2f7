"""Service routes: /healthz, /readyz, /openapi.json, /docs, /metrics."""

import json
import re

from support.config import SPEC_PATH


def test_healthz_answers_status_ok(http):
    r = http.get("/healthz")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    assert r.json() == {"status": "ok"}


def test_head_healthz_answers_headers_without_body(http):
    r = http.head("/healthz")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers.get("X-Request-Id")


def test_readyz_answers_ready_while_database_is_up(http):
    r = http.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


def test_openapi_json_is_the_merged_spec(http, spec):
    r = http.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    served = json.loads(r.content.decode("utf-8"))
    expected = json.loads(json.dumps(spec.doc, default=str))
    differences = list(_differences(served, expected))
    assert not differences, (f"/openapi.json differs from {SPEC_PATH} (is the binary built from "
                             "this spec?):\n" + "\n".join(differences[:20]))


def _differences(a, b, where=""):
    """JSON-pointer-ish paths where a and b differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                yield f"{where}/{k}: missing from /openapi.json"
            elif k not in b:
                yield f"{where}/{k}: not in the merged spec"
            else:
                yield from _differences(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _differences(x, y, f"{where}/{i}")
    elif a != b or type(a) is not type(b):
        yield f"{where or '/'}: served {json.dumps(a)[:120]} != merged {json.dumps(b)[:120]}"


def _external_refs(html):
    """src/href attribute values and CSS url()/@import targets that point to another host."""
    found = []
    attr = re.compile(r"""\b(?:src|href|srcset|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""",
                      re.I)
    for m in attr.finditer(html):
        value = next(g for g in m.groups() if g is not None).strip()
        if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", value, re.I):
            found.append(value)
    for m in re.finditer(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""",
                         html, re.I):
        found.append(m.group(1))
    return found


def test_docs_is_html_that_loads_nothing_from_other_hosts(http):
    r = http.get("/docs")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == "text/html"
    html = r.content.decode("utf-8")
    assert re.search(r"<html", html, re.I)
    assert "/v1/auth/token" in html, "the reference does not mention the documented routes"
    assert _external_refs(html) == []


def test_metrics_is_prometheus_text(http):
    http.get("/healthz")
    r = http.get("/metrics")
    assert r.status_code == 200
    ct = r.headers["Content-Type"]
    assert ct.split(";")[0].strip() == "text/plain"
    assert "version=0.0.4" in ct.replace(" ", "")
    text = r.content.decode("utf-8")
    sample = re.compile(
        r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
        r"\s+(-?[0-9.eE+-]+|NaN|[+-]Inf)(\s+-?\d+)?$"
    )
    samples = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("# TYPE"):
                assert re.match(r"^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$", line), line
            continue
        assert sample.match(line), f"not a Prometheus sample line: {line!r}"
        samples += 1
    assert samples > 0
    assert text.endswith("\n")
