"""spec.py - checks HTTP requests and answers against the OpenAPI document.

load_spec(path) is the one place that reads the document (today openapi/openapi.yaml).

Every request a test sends through the checked client goes through
SpecChecker.check_request(): for a documented operation, the query parameters
must be documented ones whose values match their schemas, and a body must be
one of the documented media types and, when JSON, match the requestBody
schema. A test that means to send a request the spec does not describe says
so (see client.py); a request so marked must indeed be outside the spec.

Every answer a test receives goes through SpecChecker.check(): the request
path is matched against the spec's path templates, the operation is found by
method, the response by status (exact code, then a `4XX` range, then
`default`), and then the media type, the JSON body (JSON Schema draft 2020-12,
`#/components/...` references resolved against the whole document) and the
headers marked `required: true` are checked. Paths and methods that the spec
does not describe may only answer with a 404 or 405 problem.

The checker also records which documented operations were exercised, so the
run can fail when one of them never was.
"""

import copy
import datetime
import json
import re
import threading
import urllib.parse

import jsonschema
import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecViolation(AssertionError):
    """A request or an answer that the spec does not describe."""


# Requests the server accepts, and the README documents, but the spec does not describe yet:
# (METHOD, path template, what) -> why. `what` is "body" or "query:<name>". Each entry is a
# fault of openapi/openapi.yaml, to be fixed there; the checker lets these through. None today.
SPEC_DRIFT_ALLOWED = {}


# The formats of draft 2020-12 that jsonschema checks by itself, and RFC 3339's date-time (which
# it checks only with a package the tests do not have).
FORMAT_CHECKER = copy.deepcopy(jsonschema.Draft202012Validator.FORMAT_CHECKER)
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value):
    if not isinstance(value, str):
        return True
    if not DATE_TIME_RE.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def load_spec(path):
    """The checker of the OpenAPI document at path (YAML or JSON); fails when there is none."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f) if str(path).endswith(".json") else yaml.safe_load(f)
    if not isinstance(doc, dict) or "paths" not in doc:
        raise SpecViolation(f"{path} is not an OpenAPI document with `paths`")
    return SpecChecker(doc, path)


def media_type(content_type):
    """'application/json; charset=utf-8' -> 'application/json'."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media(mt):
    return mt is not None and (mt == "application/json" or mt.endswith("+json"))


def _unique_keys(pairs):
    """A JSON object whose keys are unique (the server parses with JSON_REJECT_DUPLICATES)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError(f"duplicate keys in an object: {sorted(k for k, _ in pairs)}")
    return obj


def _template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    out = []
    for p in parts:
        if p.startswith("{") and p.endswith("}"):
            out.append(r"[^/]+")
        else:
            out.append(re.escape(p))
    return re.compile("^" + "".join(out) + "$")


class SpecChecker:
    def __init__(self, doc, spec_path):
        self.spec_path = spec_path
        self.doc = doc
        self.paths = []
        for template, item in (self.doc.get("paths") or {}).items():
            template = str(template)
            n_params = template.count("{")
            self.paths.append((n_params, template, _template_regex(template), item or {}))
        # Concrete paths win over templated ones (OpenAPI 3.1, "Path Templating Matching").
        self.paths.sort(key=lambda t: (t[0], t[1]))
        self.resolver = jsonschema.RefResolver(base_uri="", referrer=self.doc)
        self.exercised = set()
        self._lock = threading.Lock()
        self._validators = {}

    # -- the spec -------------------------------------------------------

    def operations(self):
        """Every documented (METHOD, path template)."""
        ops = set()
        for _, template, _, item in self.paths:
            item = self.deref(item)
            for m in HTTP_METHODS:
                if m in item:
                    ops.add((m.upper(), template))
        return ops

    def deref(self, obj):
        """Follow a local `$ref` (possibly a chain of them)."""
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj and seen < 20:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise SpecViolation(f"only local $refs are supported, found {ref!r}")
            target = self.doc
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or token not in target:
                    raise SpecViolation(f"$ref {ref!r} does not resolve in the spec")
                target = target[token]
            obj = target
            seen += 1
        return obj

    def match_path(self, path):
        """(template, path item) for a request path, or (None, None)."""
        for _, template, rx, item in self.paths:
            if rx.match(path):
                return template, self.deref(item)
        return None, None

    def problem_schema(self):
        """The schema of problem+json bodies: components/schemas/Problem, else any used one."""
        schemas = (self.doc.get("components") or {}).get("schemas") or {}
        for name, schema in schemas.items():
            if str(name).lower() == "problem":
                return schema
        for _, _, _, item in self.paths:
            item = self.deref(item)
            for m in HTTP_METHODS:
                op = item.get(m)
                if not op:
                    continue
                for resp in (op.get("responses") or {}).values():
                    resp = self.deref(resp)
                    content = resp.get("content") or {}
                    for mt, media in content.items():
                        if media_type(mt) == "application/problem+json" and "schema" in media:
                            return media["schema"]
        raise SpecViolation("the spec describes no application/problem+json schema")

    def validate_schema(self, schema, instance, where, what="body"):
        key = id(schema)
        v = self._validators.get(key)
        if v is None:
            v = jsonschema.Draft202012Validator(
                schema,
                resolver=self.resolver,
                format_checker=FORMAT_CHECKER,
            )
            self._validators[key] = v
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = []
            for e in errors[:10]:
                loc = "/".join(str(p) for p in e.absolute_path) or "(root)"
                lines.append(f"  at {loc}: {e.message}")
            raise SpecViolation(
                f"{where}: {what} does not match the spec's schema:\n" + "\n".join(lines)
                + f"\n{what}: {json.dumps(instance)[:2000]}"
            )

    # -- checking requests -------------------------------------------

    def check_request(self, method, url_or_path, headers, body):
        """Check one request. headers: a mapping; body: bytes, str, None, or a stream (not read).

        Raises SpecViolation when the request is outside the documented operations: an
        undocumented path or method, a query parameter the operation does not document or whose
        value does not match its schema, a missing required one, or a body the requestBody does
        not describe.
        """
        method = method.upper()
        parts = urllib.parse.urlsplit(url_or_path)
        path = parts.path or "/"
        if method == "OPTIONS":
            return  # CORS preflights are transport, not documented operations.
        template, item = self.match_path(path)
        op = None
        if item is not None:
            op = item.get(method.lower())
            if op is None and method == "HEAD":
                op = item.get("get")
        if op is None:
            why = ("no path template matches" if template is None
                   else f"method not documented for {template}")
            raise SpecViolation(f"{method} {path}: no documented operation ({why})")
        where = f"{method} {path} (operation {template})"
        self._check_query(where, method, template, item, op, parts.query)
        self._check_body(where, method, template, op, headers or {}, body)

    def _drift(self, method, template, what):
        return (method, template, what) in SPEC_DRIFT_ALLOWED

    def _check_query(self, where, method, template, item, op, query):
        params = {}
        for p in list(item.get("parameters") or []) + list(op.get("parameters") or []):
            p = self.deref(p)
            if p.get("in") == "query":
                params[p["name"]] = p
        free = None
        for p in params.values():
            schema = self.deref(p.get("schema") or {})
            if schema.get("type") == "object" and p.get("explode", True):
                free = p
        given = {}
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as e:
            raise SpecViolation(f"{where}: the query is not UTF-8 ({e}): {query[:300]!r}") from None
        for name, value in pairs:
            given.setdefault(name, []).append(value)
        problems = []
        loose = {}
        for name, values in given.items():
            if self._drift(method, template, f"query:{name}"):
                continue
            p = params.get(name)
            if p is None or p is free:
                if free is None:
                    problems.append(f"query parameter {name!r} is not documented "
                                    f"(documented: {sorted(params)})")
                elif len(values) != 1:
                    problems.append(f"query parameter {name!r} is given {len(values)} times")
                else:
                    loose[name] = values[0]
                continue
            schema = self.deref(p.get("schema") or {})
            if schema.get("type") == "array":
                if p.get("explode", True):
                    texts = values
                elif len(values) != 1:
                    problems.append(f"query parameter {name!r} is given {len(values)} times")
                    continue
                else:
                    texts = values[0].split(",")
                items = self.deref(schema.get("items") or {})
                instance = [self._query_scalar(items, t) for t in texts]
            elif len(values) != 1:
                problems.append(f"query parameter {name!r} is given {len(values)} times")
                continue
            else:
                instance = self._query_scalar(schema, values[0])
            try:
                self.validate_schema(schema, instance, where, what=f"query parameter {name}")
            except SpecViolation as e:
                problems.append(str(e))
        if loose:
            try:
                self.validate_schema(free["schema"], loose, where,
                                     what=f"query parameters {sorted(loose)} (as {free['name']})")
            except SpecViolation as e:
                problems.append(str(e))
        for name, p in params.items():
            if p.get("required") and name not in given:
                problems.append(f"required query parameter {name!r} is missing")
        if problems:
            raise SpecViolation(f"{where}: the query does not match the documented parameters:\n  "
                                + "\n  ".join(problems))

    @staticmethod
    def _query_scalar(schema, text):
        """A query value as the JSON value its schema's type calls for (text when it is not one)."""
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        if "integer" in types and re.fullmatch(r"-?\d+", text):
            return int(text)
        if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text):
            return float(text)
        if "boolean" in types and text in ("true", "false"):
            return text == "true"
        return text

    def _check_body(self, where, method, template, op, headers, body):
        if body is None:
            body = b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, (bytes, bytearray)):
            return  # a stream: sent in pieces, not read here
        rb = self.deref(op["requestBody"]) if op.get("requestBody") else None
        if rb is None:
            if body:
                raise SpecViolation(f"{where}: the operation documents no request body, but "
                                    f"{len(body)} bytes were sent")
            return
        if not body:
            if rb.get("required"):
                raise SpecViolation(f"{where}: the request body is required but none was sent")
            return
        if self._drift(method, template, "body"):
            return
        content = rb.get("content") or {}
        mt = media_type(headers.get("Content-Type"))
        media = self._media_for(content, mt)
        if media is None:
            raise SpecViolation(f"{where}: request media type {mt!r} is not documented "
                                f"(documented: {sorted(content)})")
        if is_json_media(mt):
            try:
                instance = json.loads(bytes(body).decode("utf-8"),
                                      object_pairs_hook=_unique_keys)
            except (UnicodeDecodeError, ValueError, RecursionError) as e:
                raise SpecViolation(f"{where}: request body is not JSON ({e}): "
                                    f"{bytes(body)[:300]!r}") from None
            if media.get("schema") is not None:
                self.validate_schema(media["schema"], instance, where, what="request body")

    @staticmethod
    def _media_for(content, mt):
        """The media type object of content that covers mt (exactly, then by a range), or None."""
        if mt is None:
            return None
        for key, value in content.items():
            if media_type(str(key)) == mt:
                return value or {}
        for key, value in content.items():
            k = media_type(str(key))
            if k == "*/*" or (k.endswith("/*") and mt.startswith(k[:-1])):
                return value or {}
        return None

    # -- checking answers ---------------------------------------------

    def check(self, method, url_or_path, status, headers, body):
        """Check one answer. headers: a case-insensitive mapping; body: bytes.

        Raises SpecViolation when the spec does not describe the answer.
        """
        method = method.upper()
        path = urllib.parse.urlsplit(url_or_path).path or "/"
        if method == "OPTIONS":
            return  # CORS preflights are transport, not documented operations.
        where = f"{method} {path} -> {status}"
        template, item = self.match_path(path)
        op = None
        head_as_get = False
        if item is not None:
            op = item.get(method.lower())
            if op is None and method == "HEAD" and "get" in item:
                op = item["get"]
                head_as_get = True
        if op is None:
            self._check_undocumented(method, path, template, item, status, headers, body, where)
            return
        if not head_as_get:
            with self._lock:
                self.exercised.add((method, template))
        where = f"{method} {path} (operation {method if not head_as_get else 'GET'} {template}) -> {status}"

        responses = op.get("responses") or {}
        by_key = {str(k).upper(): v for k, v in responses.items()}
        resp = by_key.get(str(status))
        if resp is None:
            resp = by_key.get(f"{str(status)[0]}XX")
        if resp is None:
            resp = by_key.get("DEFAULT")
        if resp is None:
            raise SpecViolation(
                f"{where}: status {status} is not documented (documented: {sorted(by_key)})"
            )
        resp = self.deref(resp)

        for name, h in (resp.get("headers") or {}).items():
            h = self.deref(h)
            if h.get("required") and headers.get(name) is None:
                raise SpecViolation(f"{where}: required header {name} is missing")
            if headers.get(name) is not None and isinstance(h.get("schema"), dict):
                self._check_header_value(name, h["schema"], headers.get(name), where)

        if method == "HEAD":
            return
        content = resp.get("content") or {}
        ct = headers.get("Content-Type")
        if not content:
            if body:
                raise SpecViolation(
                    f"{where}: the spec documents no body but the answer has "
                    f"{len(body)} bytes of {ct!r}"
                )
            return
        if not body and status in (204, 304):
            return
        mt = media_type(ct)
        if mt is None:
            raise SpecViolation(f"{where}: answer has no Content-Type")
        media = self._media_for(content, mt)
        if media is None:
            raise SpecViolation(
                f"{where}: media type {mt!r} is not documented (documented: {sorted(content)})"
            )
        schema = (media or {}).get("schema")
        if is_json_media(mt):
            try:
                instance = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise SpecViolation(f"{where}: body is not JSON ({e}): {body[:300]!r}") from None
            if schema is not None:
                self.validate_schema(schema, instance, where)
        elif schema is not None and self.deref(schema).get("contentEncoding") == "binary":
            if not body:
                raise SpecViolation(f"{where}: the binary body {mt!r} is empty")
        elif schema is not None and self.deref(schema).get("type") == "string":
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                raise SpecViolation(f"{where}: text body is not UTF-8") from None

    def _check_header_value(self, name, schema, value, where):
        schema = self.deref(schema)
        t = schema.get("type")
        if t == "integer":
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise SpecViolation(f"{where}: header {name}: {value!r} is not an integer")
            inst = int(value)
        else:
            inst = value
        if t in ("integer", "string"):
            self.validate_schema(schema, inst, where, what=f"header {name}")

    def _check_undocumented(self, method, path, template, item, status, headers, body, where):
        """Paths or methods outside the spec may only answer 404 (path) or 405 (method)."""
        if template is None:
            expected = 404
            why = "path matches no path template of the spec"
        else:
            expected = 405
            why = f"method {method} is not documented for {template}"
        if status != expected:
            raise SpecViolation(f"{where}: {why}, so only a {expected} problem is expected")
        mt = media_type(headers.get("Content-Type"))
        if method == "HEAD":
            return
        if mt != "application/problem+json":
            raise SpecViolation(f"{where}: expected application/problem+json, got {mt!r}")
        try:
            instance = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SpecViolation(f"{where}: body is not JSON ({e}): {body[:300]!r}") from None
        self.validate_schema(self.problem_schema(), instance, where)
