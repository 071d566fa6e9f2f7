"""Body size limit (SHARAKA_MAX_BODY = 65536 in the tests) and ambiguous message framing."""

import json

from support.checks import assert_problem
from support.config import MAX_BODY
from support.raw import build_request, chunk

TOKEN = "/v1/auth/token"


def test_content_length_over_max_body_is_413_before_the_body_is_sent(http):
    data = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Content-Length", str(MAX_BODY + 1)),
    ])
    with http.connect(timeout=5) as conn:
        conn.send(data)  # headers only: the body never comes
        r = conn.response("POST", TOKEN, timeout=5)
    assert_problem(r, 413, instance=TOKEN)


def test_huge_content_length_is_413(http):
    data = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Content-Length", "99999999999"),
    ])
    r = http.raw("POST", TOKEN, data)
    assert_problem(r, 413, instance=TOKEN)


def test_body_of_exactly_max_body_bytes_is_read(http):
    body = json.dumps({"email": "nobody@test.example", "password": "x"}).encode()
    body += b" " * (MAX_BODY - len(body))
    assert len(body) == MAX_BODY
    r = http.post(TOKEN, data=body, headers={"Content-Type": "application/json"})
    assert_problem(r, 401, instance=TOKEN)


def _refused_before_the_body(http, head, body_pieces):
    """Sends the headers, then the body piece by piece; the 411 must come and the connection close."""
    with http.connect(timeout=5) as conn:
        conn.send(head)
        for piece in body_pieces:
            if conn.readable(0.01) or not conn.send(piece):
                break
        r = conn.response("POST", TOKEN, timeout=5)
        assert r.headers.get("Connection", "").lower() == "close", r.headers
        # Whatever the body held is never read as a second request.
        assert conn.buf == b"", conn.buf
    return r


def test_a_chunked_body_is_411_and_closes(http, admin_user):
    body = json.dumps({"email": admin_user["email"], "password": admin_user["password"]}).encode()
    head = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ])
    r = _refused_before_the_body(http, head, [chunk(body[:10]), chunk(body[10:]), b"0\r\n\r\n"])
    assert_problem(r, 411, instance=TOKEN)
    assert "Content-Length" in json.loads(r.body)["detail"]


def test_chunk_lines_ending_in_a_bare_lf_are_never_read(http, admin_user):
    """A chunk-size line ended by LF alone could be framed two ways; no chunk line is ever read."""
    body = json.dumps({"email": admin_user["email"], "password": admin_user["password"]}).encode()
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    head = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ])
    pieces = [b"%x\n" % len(body) + body + b"\n", b"0\n\n" + smuggled]
    r = _refused_before_the_body(http, head, pieces)
    assert_problem(r, 411, instance=TOKEN)


def test_a_chunked_body_past_max_body_is_refused_before_it_is_read(http):
    head = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ])
    pieces = [chunk(b" " * 4096)] * (2 * MAX_BODY // 4096)
    assert_problem(_refused_before_the_body(http, head, pieces), 411, instance=TOKEN)


def test_the_same_body_with_its_content_length_is_accepted(http, admin_user):
    body = json.dumps({"email": admin_user["email"], "password": admin_user["password"]}).encode()
    with http.connect(timeout=5) as conn:
        conn.send(build_request("POST", TOKEN, [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ]) + body[:10])
        conn.send(body[10:])
        r = conn.response("POST", TOKEN, timeout=5)
    assert r.status == 200, r
    assert json.loads(r.body)["token_type"] == "Bearer"


def test_two_content_length_headers_are_400(http):
    body = b'{"email":"a@b.c","password":"x"}'
    data = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ], body)
    r = http.raw("POST", TOKEN, data)
    assert_problem(r, 400, instance=TOKEN)


def test_two_different_content_length_headers_are_400(http):
    body = b'{"email":"a@b.c","password":"x"}'
    data = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Content-Length", "5"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ], body)
    r = http.raw("POST", TOKEN, data)
    assert_problem(r, 400, instance=TOKEN)


def test_content_length_with_transfer_encoding_is_400(http):
    body = b'{"email":"a@b.c","password":"x"}'
    chunked = chunk(body) + b"0\r\n\r\n"
    data = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(chunked))),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close"),
    ], chunked)
    r = http.raw("POST", TOKEN, data)
    assert_problem(r, 400, instance=TOKEN)


def test_server_still_answers_after_framing_errors(http):
    assert http.get("/healthz").status_code == 200
