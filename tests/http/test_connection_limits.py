"""Connection limits: idle connections time out, one client address cannot take every slot."""

import socket
import time

from support.raw import build_request


def _closed_within(sock, seconds):
    """True when the server closes (or resets) the connection within `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_idle_connection_is_closed_after_connection_timeout(start_server):
    srv = start_server(SHARAKA_CONNECTION_TIMEOUT="1")
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        t0 = time.monotonic()
        assert _closed_within(s, 4), "a half-sent request kept its connection open"
        assert time.monotonic() - t0 < 4


def test_connections_past_the_per_ip_limit_are_not_served(start_server, api_for):
    srv = start_server(SHARAKA_MAX_CONNECTIONS_PER_IP="2")
    api = api_for(srv)
    time.sleep(0.3)  # let the server notice that the start-up probe's connection closed
    held = [api.connect(timeout=5) for _ in range(2)]
    try:
        for conn in held:  # both served, and kept open
            conn.send(build_request("GET", "/healthz", []))
            assert conn.response("GET", "/healthz").status == 200
        with socket.create_connection((srv.host, srv.port), timeout=5) as extra:
            try:
                extra.sendall(build_request("GET", "/healthz", [("Connection", "close")]))
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert _closed_within(extra, 3), "a third connection from one address was served"
    finally:
        for conn in held:
            conn.close()
    time.sleep(0.3)
    assert api.get("/healthz", headers={"Connection": "close"}).status_code == 200
