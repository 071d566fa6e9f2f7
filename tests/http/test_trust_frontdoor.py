"""The front door holds under attack: buckets that collisions can't refill, failed credentials and
sign-ins throttled before any lookup or parse, bodies refused before they are read, header and
body deadlines, 414 for a request target too long, header sections that could be read two ways
refused, and the headers a browser page needs exposed to it."""

import json
import socket
import time

import pytest

from support.checks import assert_problem, header_list
from support.config import CORS_ORIGIN
from support.principals import bearer
from support.raw import build_request, chunk

TOKEN = "/v1/auth/token"
LIST = "/v1/organizations"


def _closed_within(sock, seconds):
    """True when the server closes (or resets) the connection within `seconds`."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if data == b"":
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _connect_from(srv, address, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((address, 0))
    s.connect((srv.host, srv.port))
    return s


@pytest.fixture(scope="module")
def analyst(ctx):
    return ctx.add_user("analyst")


# ---------------------------------------------------------------- 1: bucket collisions

_FNV_SEED, _FNV_PRIME, _MASK = 1469598103934665603, 1099511628211, (1 << 64) - 1


def _fnv(h, text):
    for b in text.encode():
        h = ((h ^ b) * _FNV_PRIME) & _MASK
    return h


def _old_slot(policy, key):
    """The slot the unkeyed FNV-1a table of 16384 buckets put (policy, key) in."""
    h = _fnv(_fnv(_fnv(_FNV_SEED, policy), "\x1f"), key)
    return (h or 1) % 16384


def _colliding_email(target):
    want = _old_slot("login-email", target.lower())
    for n in range(2_000_000):
        email = f"c{n}@collide.test"
        if _old_slot("login-email", email) == want:
            return email
    raise AssertionError("no colliding e-mail found")


def test_a_colliding_login_never_refills_another_emails_bucket(start_server, api_for,
                                                               admin_user):
    srv = start_server(SHARAKA_LOGIN_RATE_LIMIT="3")
    victim = admin_user["email"]
    other = _colliding_email(victim)
    statuses = []
    # Each attempt from an address of its own, so only the e-mail buckets are in play.
    for i in range(4):
        api = api_for(srv, f"127.0.9.{2 * i + 1}")
        r = api.post(TOKEN, json={"email": victim, "password": "guess number %d" % i})
        statuses.append(r.status_code)
        noise = api_for(srv, f"127.0.9.{2 * i + 2}")
        assert noise.post(TOKEN, json={"email": other, "password": "x" * 12}).status_code in (401, 429)
    assert statuses == [401, 401, 401, 429], statuses


# ---------------------------------------------------------------- 2: failed authentication


def test_bad_api_keys_are_throttled_per_address_before_they_are_looked_up(start_server,
                                                                          api_for):
    srv = start_server(SHARAKA_RATE_LIMIT="1000", SHARAKA_RATE_LIMIT_ANONYMOUS="5")
    api = api_for(srv, "127.0.8.1")
    statuses = []
    for n in range(8):
        key = "sk_" + ("%043d" % n)
        r = api.get(LIST, params={"limit": 1}, headers=bearer(key))
        statuses.append(r.status_code)
    assert statuses == [401] * 5 + [429] * 3, statuses
    assert '"auth-address";q=5;w=60' in r.headers.get("RateLimit-Policy", ""), r.headers
    assert r.headers.get("Retry-After", "").isdigit(), r.headers
    # Another address is not affected.
    r = api_for(srv, "127.0.8.2").get(LIST, params={"limit": 1}, headers=bearer("sk_" + "x" * 43))
    assert_problem(r, 401)


def test_bad_tokens_are_throttled_like_bad_keys(start_server, api_for):
    srv = start_server(SHARAKA_RATE_LIMIT="1000", SHARAKA_RATE_LIMIT_ANONYMOUS="3")
    api = api_for(srv, "127.0.8.3")
    statuses = [api.get(LIST, headers=bearer("not.a.token")).status_code for _ in range(5)]
    assert statuses == [401] * 3 + [429] * 2, statuses


def test_signed_in_callers_behind_one_address_keep_their_own_rate(start_server, api_for,
                                                                  analyst):
    srv = start_server(SHARAKA_RATE_LIMIT="1000", SHARAKA_RATE_LIMIT_ANONYMOUS="3")
    api = api_for(srv, "127.0.8.4")
    for _ in range(8):
        r = api.get(LIST, params={"limit": 1}, headers=analyst.headers)
        assert r.status_code == 200, r.text
        assert r.headers["RateLimit-Policy"] == '"user";q=1000;w=60', r.headers


# ---------------------------------------------------------------- 3: the sign-in before its body


def test_sign_ins_are_throttled_before_their_body_is_parsed(start_server, api_for, spec):
    srv = start_server(SHARAKA_LOGIN_RATE_LIMIT="2")
    api = api_for(srv, "127.0.7.1")
    statuses = [api.post(TOKEN, data=b"{not json", headers={"Content-Type": "application/json"},
                         invalid=True)
                .status_code for _ in range(3)]
    assert statuses == [400, 400, 429], statuses
    # Past the limit, the answer comes before the body: here the body never does.
    sock = _connect_from(srv, "127.0.7.1")
    try:
        sock.sendall(build_request("POST", TOKEN, [("Content-Type", "application/json"),
                                                   ("Content-Length", "60000")]))
        sock.settimeout(3)
        head = sock.recv(4096)
    except socket.timeout:
        raise AssertionError("the throttled sign-in waited for its body") from None
    finally:
        sock.close()
    assert head.startswith(b"HTTP/1.1 429 "), head[:200]


# ---------------------------------------------------------------- 10: bodies refused unread


def _answer_without_body(http, method, path, headers, timeout=3):
    """Sends only the headers of a request announcing a body; the answer must come anyway."""
    with http.connect(timeout=timeout) as conn:
        conn.send(build_request(method, path, headers))
        try:
            return conn.response(method, path, timeout=timeout)
        except TimeoutError:
            raise AssertionError(f"{method} {path} waited for a body it should refuse") from None


def test_a_body_on_a_route_that_takes_none_is_refused_before_it_is_read(http):
    r = _answer_without_body(http, "GET", "/healthz", [("Content-Length", "60000")])
    assert_problem(r, 413)
    assert "takes no request body" in json.loads(r.body)["detail"]
    r = _answer_without_body(http, "DELETE", LIST + "/3f1c2b7e-8a4d-4c59-9e0b-6d2a1f7c8b90",
                             [("Content-Length", "12")])
    assert_problem(r, 413)
    # A chunked body is refused on every route before anything else: it must come with its length.
    r = _answer_without_body(http, "DELETE", LIST + "/3f1c2b7e-8a4d-4c59-9e0b-6d2a1f7c8b90",
                             [("Transfer-Encoding", "chunked")])
    assert_problem(r, 411)
    # An empty body is no body.
    r = http.raw("GET", "/healthz", build_request("GET", "/healthz", [("Content-Length", "0"),
                                                                       ("Connection", "close")]))
    assert r.status == 200


def test_an_anonymous_write_is_refused_before_its_body_is_read(http):
    r = _answer_without_body(http, "POST", LIST, [("Content-Type", "application/json"),
                                                  ("Content-Length", "60000")])
    assert_problem(r, 401)


def test_a_forbidden_write_is_refused_before_its_body_is_read(http, analyst):
    r = _answer_without_body(http, "POST", "/v1/users", [
        ("Content-Type", "application/json"), ("Content-Length", "60000"),
        ("Authorization", "Bearer " + analyst.token)])
    assert_problem(r, 403)


def test_an_allowed_write_still_reads_its_body(http, admin_token):
    body = json.dumps({"name": "Front door " + str(time.time_ns()), "kind": "association"})
    with http.connect(timeout=5) as conn:
        conn.send(build_request("POST", LIST, [("Content-Type", "application/json"),
                                               ("Authorization", "Bearer " + admin_token),
                                               ("Content-Length", str(len(body.encode())))])
                  + body[:7].encode())
        time.sleep(0.05)
        conn.send(body[7:].encode())
        r = conn.response("POST", LIST, timeout=5)
    assert r.status == 201, r


# ---------------------------------------------------------------- 9: deadlines


def test_headers_dripped_a_line_at_a_time_are_cut_off_at_the_header_deadline(start_server):
    srv = start_server(SHARAKA_HEADER_TIMEOUT="2", SHARAKA_CONNECTION_TIMEOUT="30")
    socks = [_connect_from(srv, f"127.0.6.{i + 1}") for i in range(3)]
    try:
        for s in socks:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        open_ = list(socks)
        n = 0
        # A header line every 0.4 s, which the idle timeout never sees as idle; at most 6 s.
        while open_ and time.monotonic() - t0 < 6:
            time.sleep(0.4)
            n += 1
            for s in list(open_):
                try:
                    s.sendall(b"X-Drip-%d: y\r\n" % n)
                except (BrokenPipeError, ConnectionResetError):
                    open_.remove(s)
                    continue
                if _closed_within(s, 0.01):
                    open_.remove(s)
        elapsed = time.monotonic() - t0
        assert not open_, f"{len(open_)} dripping connections still open after {elapsed:.1f} s"
        assert elapsed < 4, elapsed
    finally:
        for s in socks:
            s.close()
    # The server still answers.
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(build_request("GET", "/healthz", [("Connection", "close")]))
        assert s.recv(100).startswith(b"HTTP/1.1 200")


def test_a_body_dripped_a_byte_at_a_time_is_cut_off_at_the_body_deadline(start_server):
    srv = start_server(SHARAKA_BODY_TIMEOUT="2", SHARAKA_CONNECTION_TIMEOUT="30")
    s = _connect_from(srv, "127.0.6.9")
    try:
        s.sendall(build_request("POST", TOKEN, [("Content-Type", "application/json"),
                                                ("Content-Length", "200")]))
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 6:
            time.sleep(0.3)
            try:
                s.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_within(s, 0.01):
                closed = True
                break
        elapsed = time.monotonic() - t0
        assert closed, "a body dripped a byte at a time kept its connection open"
        assert elapsed < 4, elapsed
    finally:
        s.close()


def test_one_address_holds_at_most_32_connections_by_default(server):
    held = []
    try:
        for _ in range(32):
            s = _connect_from(server, "127.0.5.1")
            s.sendall(build_request("GET", "/healthz", []))
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            held.append(s)
        extra = _connect_from(server, "127.0.5.1")
        held.append(extra)
        try:
            extra.sendall(build_request("GET", "/healthz", []))
            extra.settimeout(3)
            got = extra.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            got = b""
        assert got == b"", "a 33rd connection from one address was served"
        # Another address is served meanwhile.
        other = _connect_from(server, "127.0.5.2")
        held.append(other)
        other.sendall(build_request("GET", "/healthz", [("Connection", "close")]))
        assert other.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for s in held:
            s.close()


# ---------------------------------------------------------------- 11: request target too long


def _log_entries(server, request_id, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        found = [json.loads(line) for line in server.stdout().splitlines()
                 if request_id in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_query_string_too_long_is_414_and_logged_as_such(http, server):
    rid = "long-uri-" + str(time.time_ns())
    path = LIST + "?q=" + "a" * 20_000
    data = build_request("GET", path, [("X-Request-Id", rid), ("Connection", "close")])
    r = http.raw("GET", LIST, data)
    assert_problem(r, 414, instance=LIST)
    assert "8192" in json.loads(r.body)["detail"]
    entries = _log_entries(server, rid)
    assert [e["status"] for e in entries] == [414], entries
    # A long but acceptable target is not refused for its length.
    r = http.get(LIST, params={"q": "a" * 100, "limit": 1})
    assert r.status_code == 200


def test_a_request_line_past_the_connection_memory_is_414_and_closed(server):
    """A target too long to be held at all (each connection has 32 KiB) is refused by the HTTP
    library before a handler sees it: a 414 status line, then the connection is closed."""
    data = build_request("GET", LIST + "?q=" + "a" * 70_000, [("Connection", "keep-alive")])
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        while True:
            try:
                part = s.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            got += part
    assert got.startswith(b"HTTP/1.1 414 "), got[:200]


# ---------------------------------------------------------------- 13, 14: the header section

BODY = b'{"email":"a@b.c","password":"x"}'
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def _post(headers, body=BODY):
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    return head.encode() + headers + b"\r\n" + body


FRAMING_CASES = {
    "whitespace before the colon": _post(
        b"Content-Length : %d\r\n" % len(BODY + SMUGGLED), BODY + SMUGGLED),
    "obs-fold": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: one\r\n two\r\n\r\n",
    "folded Transfer-Encoding": _post(b"Transfer-Encoding: chunked\r\n identity\r\n",
                                      chunk(BODY) + b"0\r\n\r\n"),
    "Transfer-Encoding identity": _post(b"Transfer-Encoding: identity\r\n",
                                        chunk(BODY) + b"0\r\n\r\n"),
    "Transfer-Encoding gzip, chunked": _post(b"Transfer-Encoding: gzip, chunked\r\n",
                                             chunk(BODY) + b"0\r\n\r\n"),
    "Transfer-Encoding chunked, identity": _post(b"Transfer-Encoding: chunked, identity\r\n",
                                                 chunk(BODY) + b"0\r\n\r\n"),
    "two Transfer-Encoding": _post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                                   chunk(BODY) + b"0\r\n\r\n"),
    "duplicate Host": b"GET /healthz HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    "NUL in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n",
    "CR in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n",
    "control character in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x01\r\n\r\n",
    "DEL in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x7f\r\n\r\n",
    "bare LF header lines": b"GET /healthz HTTP/1.1\nHost: x\nX-Note: y\n\n",
    "a line without a field name": b"GET /healthz HTTP/1.1\r\nHost: x\r\n: b\r\n" + SMUGGLED,
    "space inside a name": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX Note: b\r\n\r\n",
    "invalid UTF-8 in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: caf\xe9\r\n\r\n",
    "truncated UTF-8 in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: \xd8\r\n\r\n",
}


@pytest.mark.parametrize("case", list(FRAMING_CASES), ids=list(FRAMING_CASES))
def test_a_header_section_that_could_be_read_two_ways_is_400_and_closes(http, case):
    with http.connect(timeout=5) as conn:
        conn.send(FRAMING_CASES[case])
        path = TOKEN if FRAMING_CASES[case].startswith(b"POST") else "/healthz"
        method = "POST" if path == TOKEN else "GET"
        r = conn.response(method, path, timeout=5)
        assert_problem(r, 400)
        assert r.headers.get("Connection", "").lower() == "close", r.headers
        assert _closed_within(conn.sock, 3), "a second answer could follow on this connection"
        assert conn.buf == b"", conn.buf


def test_an_invalid_utf8_header_names_the_header(http):
    data = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Caller-Name: \xff\xfe\r\nConnection: close\r\n\r\n"
    r = http.raw("GET", "/healthz", data)
    assert_problem(r, 400)
    problem = json.loads(r.body)
    assert problem["type"] == "urn:sharaka:problem:invalid-utf8"
    assert "X-Caller-Name" in problem["detail"], problem


def test_sound_header_sections_are_served(http):
    data = ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Name: مرحبا\r\nX-Pad: a  \t \r\nX-Empty:\r\n"
            "X-Tab:\tv\r\nConnection: close\r\n\r\n").encode()
    assert http.raw("GET", "/healthz", data).status == 200


# ---------------------------------------------------------------- 21: exposed headers


def test_a_browser_page_may_read_every_header_the_api_sends(http):
    r = http.get(LIST, params={"limit": 1}, headers={"Origin": CORS_ORIGIN})
    assert r.status_code == 200
    exposed = header_list(r.headers.get("Access-Control-Expose-Headers"))
    want = {"ETAG", "LOCATION", "LINK", "X-REQUEST-ID", "RETRY-AFTER", "RATELIMIT",
            "RATELIMIT-POLICY", "X-NEXT-CURSOR", "X-HAS-MORE", "X-TOTAL-COUNT",
            "IDEMPOTENT-REPLAYED", "WWW-AUTHENTICATE", "ALLOW"}
    assert want <= exposed, want - exposed
