"""Body size limit (SHARAKA_MAX_BODY = 65536 in the tests) and ambiguous message framing."""

import json

from checks import assert_problem
from rawhttp import build_request, chunk
from testconfig import MAX_BODY

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


def test_chunked_body_growing_past_max_body_is_413(http):
    head = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
    ])
    piece = b" " * 4096
    with http.connect(timeout=5) as conn:
        conn.send(head + chunk(b'{"email":"a@b.c","password":"x"'))
        sent = 0
        # Stop sending as soon as the server answers; bounded by twice the limit.
        while sent < 2 * MAX_BODY and not conn.readable(0.01):
            if not conn.send(chunk(piece)):
                break
            sent += len(piece)
        assert sent > MAX_BODY - 4096, "the server answered before the body reached the limit"
        # No terminating chunk is sent: the answer must come once the limit is passed.
        try:
            r = conn.response("POST", TOKEN, timeout=3)
        except TimeoutError:
            raise AssertionError(
                f"no answer after {sent} body bytes (limit {MAX_BODY}): the server keeps "
                "reading a chunked body past SHARAKA_MAX_BODY") from None
    assert_problem(r, 413, instance=TOKEN)


def test_small_chunked_body_is_accepted(http, admin_user):
    body = json.dumps({"email": admin_user["email"], "password": admin_user["password"]}).encode()
    data = build_request("POST", TOKEN, [
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close"),
    ]) + chunk(body[:10]) + chunk(body[10:]) + b"0\r\n\r\n"
    r = http.raw("POST", TOKEN, data)
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
