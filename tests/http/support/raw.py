"""raw.py - HTTP/1.1 over a plain socket, for requests `requests` cannot send.

Two Content-Length headers, Content-Length with Transfer-Encoding, bodies sent
in slow pieces, or headers announcing a body that never comes.
"""

import select
import socket
import time


class RawResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.header_list = headers  # [(name, value)] in the order received
        self.body = body
        self.headers = _Headers(headers)

    def header_all(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def __repr__(self):
        return f"<RawResponse {self.status} {self.headers!r} {self.body[:200]!r}>"


class _Headers:
    """Case-insensitive, read-only view of the headers (last value wins on .get)."""

    def __init__(self, pairs):
        self._d = {}
        for k, v in pairs:
            self._d[k.lower()] = v

    def get(self, name, default=None):
        return self._d.get(name.lower(), default)

    def __getitem__(self, name):
        return self._d[name.lower()]

    def __contains__(self, name):
        return name.lower() in self._d

    def __repr__(self):
        return repr(self._d)


class RawConnection:
    """One TCP connection to host:port; send bytes, then read one response."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        """Send bytes; returns False when the server already closed or reset the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def readable(self, wait=0.0):
        r, _, _ = select.select([self.sock], [], [], wait)
        return bool(r)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete HTTP response in time; got so far: %r" % self.buf[:500])
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(
                "no complete HTTP response in time; got so far: %r" % self.buf[:500]
            ) from None
        except ConnectionResetError:
            chunk = b""
        if chunk:
            self.buf += chunk
        return chunk

    def _read_until(self, marker, deadline):
        while marker not in self.buf:
            if not self._fill(deadline):
                raise ConnectionError(
                    "connection closed before %r; got: %r" % (marker, self.buf[:500])
                )
        idx = self.buf.index(marker)
        out, self.buf = self.buf[:idx], self.buf[idx + len(marker):]
        return out

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise ConnectionError(
                    "connection closed after %d of %d body bytes" % (len(self.buf), n)
                )
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, timeout=None, head=False):
        """Read one full response (status line, headers, body) and parse it."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        head_bytes = self._read_until(b"\r\n\r\n", deadline)
        lines = head_bytes.decode("latin-1").split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x status line: %r" % lines[0])
        status = int(status)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        hd = _Headers(headers)
        if head or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in (hd.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size_line = self._read_until(b"\r\n", deadline)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # trailers, up to the empty line
                    while self._read_until(b"\r\n", deadline):
                        pass
                    break
                body += self._read_exact(size, deadline)
                self._read_until(b"\r\n", deadline)
        elif hd.get("Content-Length") is not None:
            body = self._read_exact(int(hd.get("Content-Length")), deadline)
        else:
            while self._fill(deadline):
                pass
            body, self.buf = self.buf, b""
        return RawResponse(status, reason[0] if reason else "", headers, body)


def build_request(method, path, headers, body=b"", host="127.0.0.1"):
    """Bytes of a request; headers is a list of (name, value), sent verbatim and in order."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunk(data):
    """One chunk of a chunked body."""
    return b"%x\r\n" % len(data) + data + b"\r\n"
