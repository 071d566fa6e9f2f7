"""SIGTERM / SIGINT: in-flight requests finish, new connections are refused, exit status 0."""

import json
import signal
import socket
import time

import pytest

from support.raw import build_request

TOKEN = "/v1/auth/token"


@pytest.fixture(scope="module")
def shutdown_user(cli, migrated):
    cli.user_add("shutdown@test.example", "analyst", "shutdown password 1")
    return {"email": "shutdown@test.example", "password": "shutdown password 1"}


def _refused(host, port):
    """True when a new TCP connection is refused (or reset before any answer)."""
    try:
        s = socket.create_connection((host, port), timeout=1)
    except ConnectionRefusedError:
        return True
    except OSError as e:
        return f"connect failed with {e!r}"
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.settimeout(1)
        data = s.recv(100)
        return False if data else "accepted, then closed without an answer"
    except (ConnectionResetError, BrokenPipeError):
        return "accepted, then reset"
    except socket.timeout:
        return False
    finally:
        s.close()


def test_sigterm_lets_a_slow_in_flight_request_finish_then_exits_0(start_server, api_for,
                                                                   shutdown_user):
    srv = start_server()
    api = api_for(srv)
    body = json.dumps({"email": shutdown_user["email"],
                       "password": shutdown_user["password"]}).encode()
    half = len(body) // 2
    conn = api.connect(timeout=10)
    try:
        conn.send(build_request("POST", TOKEN, [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ]) + body[:half])
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        time.sleep(0.25)
        refused = _refused(srv.host, srv.port)
        time.sleep(0.25)
        assert srv.running, "the server exited while a request was in flight"
        assert conn.send(body[half:]), "the server closed the in-flight connection"
        r = conn.response("POST", TOKEN, timeout=10)
    finally:
        conn.close()
    assert r.status == 200, r
    answer = json.loads(r.body)
    assert answer["token_type"] == "Bearer" and answer["access_token"].count(".") == 2
    srv.wait_exit(15)
    srv.assert_clean_exit()
    assert refused is True, f"new connection after SIGTERM: {refused}"
    logged = [json.loads(line) for line in srv.stdout().splitlines() if line.strip()]
    rid = r.headers["X-Request-Id"]
    assert [(e["method"], e["path"], e["status"]) for e in logged if e["request_id"] == rid] == [
        ("POST", TOKEN, 200)], "the in-flight request is missing from the access log"


def test_idle_keep_alive_connection_does_not_delay_shutdown(start_server, api_for):
    srv = start_server()
    api = api_for(srv)
    conn = api.connect(timeout=5)
    try:
        conn.send(build_request("GET", "/healthz", []))
        assert conn.response("GET", "/healthz").status == 200
        # The connection stays open and idle.
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        srv.wait_exit(10)
        elapsed = time.monotonic() - t0
    finally:
        conn.close()
    srv.assert_clean_exit()
    assert elapsed < 5, f"shutdown took {elapsed:.1f}s with an idle connection open"


def test_sigint_stops_the_server_with_exit_0(start_server):
    srv = start_server()
    srv.signal(signal.SIGINT)
    srv.wait_exit(10)
    srv.assert_clean_exit()
