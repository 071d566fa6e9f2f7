"""client.py - the HTTP client of the tests: each request and answer checked against the spec.

ApiClient.request() sends through a requests.Session and checks, before sending, that the
request is one the spec describes (spec.SpecChecker.check_request: the query against the
operation's parameters, a body against its requestBody), then that the answer carries a sane
X-Request-Id and is described by the spec (SpecChecker.check).

A test that sends a request outside the spec on purpose (a bad body, an unknown parameter, an
undocumented path) says so:

    client.post("/v1/organizations", json={"name": 1}, invalid=True)

and a request so marked must indeed be outside the spec (else the marker is wrong, and the test
fails). A table of refused requests that mixes both kinds (some outside the spec, some in it but
refused for what the schema cannot say: a missing reference, dates in the wrong order) runs in

    with client.invalid_requests():
        ...

where requests are not checked against the spec at all. Answers are checked in both cases.
"""

import contextlib
import threading

import requests
import requests.adapters

from support.checks import REQUEST_ID_RE
from support.raw import RawConnection
from support.spec import SpecViolation


def check_request_id(method, path, status, headers):
    """Every answer, documented or not, carries a sane X-Request-Id."""
    rid = headers.get("X-Request-Id")
    assert rid and REQUEST_ID_RE.match(rid), (
        f"{method} {path} -> {status}: X-Request-Id {rid!r} missing or malformed"
    )


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from a given local address (any of 127.0.0.0/8 reaches a server on 127.0.0.1)."""

    def __init__(self, address, **kw):
        self.address = address
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kw)


class ApiClient:
    """requests.Session bound to a server; every request and answer is checked against the spec.

    from_address: the local address to connect from (e.g. 127.0.0.2), for per-address limits.
    """

    def __init__(self, server, checker, from_address=None):
        self.server = server
        self.base_url = server.base_url
        self.checker = checker
        self.session = requests.Session()
        if from_address is not None:
            self.session.mount("http://", SourceAddressAdapter(from_address))
        self._invalid = threading.local()

    @contextlib.contextmanager
    def invalid_requests(self):
        """Within the block, requests may be outside the spec (they are not checked)."""
        before = getattr(self._invalid, "on", False)
        self._invalid.on = True
        try:
            yield self
        finally:
            self._invalid.on = before

    def _send(self, method, path, invalid, kw):
        timeout = kw.pop("timeout", 10)
        allow_redirects = kw.pop("allow_redirects", False)
        stream = kw.pop("stream", None)
        prep = self.session.prepare_request(requests.Request(method, self.base_url + path, **kw))
        if not getattr(self._invalid, "on", False):
            self._check_request(prep, invalid)
        settings = self.session.merge_environment_settings(prep.url, {}, stream, None, None)
        return self.session.send(prep, timeout=timeout, allow_redirects=allow_redirects,
                                 **settings)

    def _check_request(self, prep, invalid):
        try:
            self.checker.check_request(prep.method, prep.url, prep.headers, prep.body)
        except SpecViolation as e:
            if invalid:
                return
            raise SpecViolation(f"the request is not one the spec describes (mark it "
                                f"invalid=True if that is the point):\n{e}") from None
        if invalid:
            raise SpecViolation(f"{prep.method} {prep.path_url} is marked deliberately invalid, "
                                "but the spec describes it")

    def request(self, method, path, invalid=False, **kw):
        r = self._send(method, path, invalid, kw)
        self._check_answer(method, path, r)
        return r

    def _check_answer(self, method, path, r):
        check_request_id(method, path, r.status_code, r.headers)
        self.checker.check(method, path, r.status_code, r.headers, r.content)

    def try_request(self, method, path, invalid=False, **kw):
        """(answer, None) or (answer, the answer's spec violation as text): never raises on the
        answer's checks (the request's still apply)."""
        r = self._send(method, path, invalid, kw)
        try:
            self._check_answer(method, path, r)
        except (SpecViolation, AssertionError) as e:
            return r, " ".join(str(e).splitlines()[:2])[:400]
        return r, None

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def options(self, path, **kw):
        return self.request("OPTIONS", path, **kw)

    def connect(self, timeout=5.0):
        """A raw socket to the server whose answers are checked against the spec.

        What is sent on it is not checked: raw requests are the ones `requests` cannot send.
        """
        return CheckedConnection(self.server.host, self.server.port, self.checker, timeout)

    def raw(self, method, path, data, timeout=5.0):
        """Send raw request bytes on a fresh connection and return the checked answer."""
        with self.connect(timeout) as conn:
            conn.send(data)
            return conn.response(method, path)

    def close(self):
        self.session.close()


class CheckedConnection(RawConnection):
    def __init__(self, host, port, checker, timeout):
        super().__init__(host, port, timeout)
        self.checker = checker

    def response(self, method, path, timeout=None):
        resp = self.read_response(timeout=timeout, head=method.upper() == "HEAD")
        check_request_id(method, path, resp.status, resp.headers)
        self.checker.check(method, path, resp.status, resp.headers, resp.body)
        return resp
