"""conftest.py - fixtures for the HTTP tests: a throwaway PostgreSQL, the real
sharaka binary, and an HTTP client that checks every answer against the spec.

Settings of the run:
  SHARAKA_BIN  the binary to test (default: <repo>/build/sharaka)
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from checks import REQUEST_ID_RE
from openapi_check import SpecChecker
from pgcluster import PostgresCluster, clean_env, free_port
from rawhttp import RawConnection

from testconfig import (ADMIN_EMAIL, ADMIN_PASSWORD, CORS_ORIGIN, JWT_SECRET, MAX_BODY, REPO,
                        SPEC_PATH)

SHARAKA_BIN = Path(os.environ.get("SHARAKA_BIN") or REPO / "build" / "sharaka")
TESTS_DIR = Path(__file__).resolve().parent

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")

# The spec checker of the run, kept for the coverage check at the end.
_checker = None


# ---------------------------------------------------------------------------
# helpers


def sanitizer_reports(text):
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


def check_request_id(method, path, status, headers):
    """Every answer, documented or not, carries a sane X-Request-Id."""
    rid = headers.get("X-Request-Id")
    assert rid and REQUEST_ID_RE.match(rid), (
        f"{method} {path} -> {status}: X-Request-Id {rid!r} missing or malformed"
    )


def merged_env(base, overrides):
    env = dict(base)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Cli:
    """Runs `sharaka <args>` with a clean environment plus the test database."""

    def __init__(self, binary, base_env):
        self.binary = str(binary)
        self.base_env = base_env

    def run(self, *args, env=None, input=None, timeout=30):
        proc = subprocess.run(
            [self.binary, *args],
            env=merged_env(self.base_env, env or {}),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
        bad = sanitizer_reports(proc.stderr)
        assert not bad, f"sanitizer report from sharaka {' '.join(args)}:\n{proc.stderr}"
        return proc

    def user_add(self, email, role, password, *extra, check=True):
        proc = self.run("user", "add", "--email", email, "--role", role, *extra,
                        "--password-stdin", input=password + "\n")
        if check:
            assert proc.returncode == 0, (
                f"user add {email} exited {proc.returncode}: {proc.stderr}"
            )
        return proc


class SharakaServer:
    """One `sharaka serve` process on 127.0.0.1 with its logs in a temporary folder."""

    def __init__(self, binary, env):
        self.binary = str(binary)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.port}"
        # A test may set its own (bad) SHARAKA_LISTEN; otherwise a free port on 127.0.0.1.
        self.env = dict(env)
        self.env.setdefault("SHARAKA_LISTEN", f"{self.host}:{self.port}")
        self.dir = tempfile.mkdtemp(prefix="sharaka-srv-")
        self.stdout_path = os.path.join(self.dir, "access.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.proc = None
        self.returncode = None

    def start(self, wait=True, timeout=20):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "serve"], env=self.env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, cwd=REPO,
            )
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                pytest.fail(f"sharaka serve exited {rc} while starting:\n{self.stderr()}")
            try:
                r = requests.get(self.base_url + "/healthz", timeout=1)
                if r.status_code == 200:
                    return
                last = r.status_code
            except requests.RequestException as e:
                last = e
            time.sleep(0.05)
        pytest.fail(f"sharaka serve did not answer /healthz within {timeout}s ({last}):\n"
                    f"{self.stderr()}")

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=20):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail(f"sharaka serve did not exit within {timeout}s:\n{self.stderr()}")
        return self.returncode

    def terminate(self, timeout=20):
        """SIGTERM, wait for the exit; returns the exit status."""
        if self.running:
            self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def stderr(self):
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stdout(self):
        try:
            with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def assert_clean_exit(self):
        assert self.returncode == 0, (
            f"sharaka serve exited {self.returncode}, expected 0:\n{self.stderr()}"
        )
        bad = sanitizer_reports(self.stderr())
        assert not bad, "sanitizer reports in sharaka's stderr:\n" + self.stderr()

    def cleanup(self):
        if self.running:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class ApiClient:
    """requests.Session bound to a server; every answer is checked against the spec."""

    def __init__(self, server, checker):
        self.server = server
        self.base_url = server.base_url
        self.checker = checker
        self.session = requests.Session()

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 10)
        kw.setdefault("allow_redirects", False)
        r = self.session.request(method, self.base_url + path, **kw)
        check_request_id(method, path, r.status_code, r.headers)
        self.checker.check(method, path, r.status_code, r.headers, r.content)
        return r

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
        """A raw socket to the server whose responses are checked against the spec."""
        return CheckedConnection(self.server.host, self.server.port, self.checker, timeout)

    def raw(self, method, path, data, timeout=5.0):
        """Send raw request bytes on a fresh connection and return the checked response."""
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


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def sharaka_bin():
    if not SHARAKA_BIN.is_file() or not os.access(SHARAKA_BIN, os.X_OK):
        pytest.fail(f"no sharaka binary at {SHARAKA_BIN} (build it, or set SHARAKA_BIN)")
    return SHARAKA_BIN


@pytest.fixture(scope="session")
def pg(request):
    """A running PostgreSQL 15 cluster with an empty database `sharaka`."""
    cluster = PostgresCluster("sharaka")
    request.addfinalizer(cluster.destroy)
    cluster.init()
    cluster.start()
    cluster.create_database()
    return cluster


@pytest.fixture
def pg_factory(request):
    """Makes extra clusters (each with a database `sharaka`), removed after the test."""
    def make():
        cluster = PostgresCluster("sharaka")
        request.addfinalizer(cluster.destroy)
        cluster.init()
        cluster.start()
        cluster.create_database()
        return cluster
    return make


def base_env(database_url):
    return merged_env(clean_env(), {
        "SHARAKA_DATABASE_URL": database_url,
        "SHARAKA_JWT_SECRET": JWT_SECRET,
        "SHARAKA_THREADS": "2",
        "SHARAKA_MAX_BODY": str(MAX_BODY),
        "SHARAKA_CORS_ORIGINS": CORS_ORIGIN,
        # The suite sends hundreds of requests and logins from 127.0.0.1 within seconds;
        # rate limiting has tests of its own with servers that set these.
        "SHARAKA_RATE_LIMIT": "0",
        "SHARAKA_RATE_LIMIT_ANONYMOUS": "0",
        "SHARAKA_LOGIN_RATE_LIMIT": "0",
    })


@pytest.fixture(scope="session")
def cli(sharaka_bin, pg):
    """Runs the sharaka command line against the session database."""
    return Cli(sharaka_bin, merged_env(clean_env(), {"SHARAKA_DATABASE_URL": pg.url}))


@pytest.fixture(scope="session")
def cli_for(sharaka_bin):
    """cli_for(database_url) -> a command-line runner for another database."""
    def make(database_url):
        return Cli(sharaka_bin, merged_env(clean_env(), {"SHARAKA_DATABASE_URL": database_url}))
    return make


@pytest.fixture(scope="session")
def migrated(cli):
    proc = cli.run("migrate")
    assert proc.returncode == 0, f"sharaka migrate exited {proc.returncode}:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def spec():
    global _checker
    if _checker is None:
        if not SPEC_PATH.is_file():
            pytest.fail(f"no spec at {SPEC_PATH}")
        _checker = SpecChecker(SPEC_PATH)
    return _checker


@pytest.fixture(scope="session")
def server(sharaka_bin, pg, migrated):
    """The shared `sharaka serve`; stopped with SIGTERM at the end, must exit 0."""
    srv = SharakaServer(sharaka_bin, base_env(pg.url))
    try:
        srv.start()
        yield srv
        srv.terminate()
        srv.assert_clean_exit()
    finally:
        srv.cleanup()


@pytest.fixture
def start_server(sharaka_bin, pg, migrated):
    """start_server(wait=True, **env) -> a server of the test's own.

    env entries override the shared server's environment (None removes one).
    Servers still running at the end are stopped with SIGTERM and must exit 0.
    """
    servers = []

    def start(wait=True, **env):
        srv = SharakaServer(sharaka_bin, merged_env(base_env(pg.url), env))
        servers.append(srv)
        return srv.start(wait=wait)

    yield start
    try:
        for srv in servers:
            if srv.running:
                srv.terminate()
                srv.assert_clean_exit()
    finally:
        for srv in servers:
            srv.cleanup()


@pytest.fixture
def http(server, spec):
    client = ApiClient(server, spec)
    yield client
    client.close()


@pytest.fixture
def api_for(spec):
    """api_for(server) -> a checked client for a server other than the shared one."""
    clients = []

    def make(srv):
        c = ApiClient(srv, spec)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def admin_user(cli, migrated):
    cli.user_add(ADMIN_EMAIL, "admin", ADMIN_PASSWORD)
    return {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


@pytest.fixture(scope="session")
def admin_token(server, spec, admin_user):
    client = ApiClient(server, spec)
    try:
        r = client.post("/v1/auth/token",
                        json={"email": admin_user["email"], "password": admin_user["password"]})
        assert r.status_code == 200, f"admin login failed: {r.status_code} {r.text}"
        return r.json()["access_token"]
    finally:
        client.close()


# ---------------------------------------------------------------------------
# every documented operation must be exercised by a full run

_run_state = {"deselected": 0, "started": 0, "modules": set()}


def pytest_deselected(items):
    _run_state["deselected"] += len(items)


def pytest_collection_finish(session):
    _run_state["modules"] = {Path(str(item.fspath)).resolve() for item in session.items}


def pytest_runtest_logstart(nodeid, location):
    _run_state["started"] += 1


def _full_run(session):
    wanted = {p.resolve() for p in TESTS_DIR.glob("test_*.py")}
    return (
        _run_state["deselected"] == 0
        and wanted <= _run_state["modules"]
        and _run_state["started"] == len(session.items)
        and not session.shouldstop
        and not session.shouldfail
    )


def pytest_sessionfinish(session, exitstatus):
    if _checker is None:
        _run_state["missing"] = None
        return
    missing = sorted(_checker.operations() - _checker.exercised, key=lambda t: (t[1], t[0]))
    _run_state["missing"] = missing
    _run_state["full"] = _full_run(session)
    if missing and _run_state["full"] and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    missing = _run_state.get("missing")
    if missing is None:
        return
    tr = terminalreporter
    if not missing:
        tr.write_line(f"spec coverage: all {len(_checker.operations())} documented operations "
                      "were exercised")
        return
    listing = "\n".join(f"  {m} {p}" for m, p in missing)
    if _run_state.get("full"):
        tr.write_sep("=", "FAILED: documented operations never exercised", red=True)
        tr.write_line(listing)
    else:
        tr.write_sep("-", "partial run: documented operations not exercised (warning only)",
                     yellow=True)
        tr.write_line(listing)
