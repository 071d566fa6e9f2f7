"""server.py - the sharaka processes of the tests: `sharaka serve`, the command line, servers on
a database of a test's own, and the resident memory of a process."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from support.cluster import clean_env, free_port, fresh_database, template_database
from support.config import CORS_ORIGIN, JWT_SECRET, MAX_BODY, REPO
from support.db import Db
from support.principals import make_token

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")


def sanitizer_reports(text):
    return [line for line in text.splitlines() if SANITIZER_RE.search(line)]


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
        # Servers stop as soon as they are told to; draining has tests of its own.
        "SHARAKA_DRAIN_SECONDS": "0",
        # No webhook deliveries leave a test server unless its test asks for them.
        "SHARAKA_WEBHOOK_CONCURRENCY": "0",
    })


# ---------------------------------------------------------------- servers of a test's own


def template_admin_token(pg, cli_for):
    """A token of the template's admin, good in every copy (the same user id, the same secret)."""
    _, admin_id = template_database(pg, cli_for)
    now = int(time.time())
    return make_token({"sub": admin_id, "role": "admin", "iat": now, "exp": now + 600,
                       "iss": "sharaka", "aud": "sharaka"}, JWT_SECRET)


class OwnServer:
    """A database of a test's own (copied from the template) and a server on it.

    4 threads, no rate limits, bodies up to 1 MiB; token: the template admin's.
    """

    def __init__(self, pg, cli_for, start_server, api_for, prefix="sync", **env):
        self.pg = pg
        self._db = None
        self.url, self.dbname = fresh_database(pg, cli_for, prefix)
        settings = dict(SHARAKA_DATABASE_URL=self.url, SHARAKA_THREADS=4,
                        SHARAKA_MAX_BODY=1048576, SHARAKA_RATE_LIMIT=0,
                        SHARAKA_RATE_LIMIT_ANONYMOUS=0, SHARAKA_LOGIN_RATE_LIMIT=0)
        settings.update(env)
        self.srv = start_server(**settings)
        self.api = api_for(self.srv)
        self.cli = cli_for(self.url)
        self.token = template_admin_token(pg, cli_for)

    @property
    def db(self):
        """The database helper on this database (opened on first use)."""
        if self._db is None:
            self._db = Db(self.pg, self.dbname)
        return self._db

    def close(self):
        """Stops the server (it must exit 0) and drops the database."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self.srv.running:
            self.srv.terminate()
            self.srv.assert_clean_exit()
        self.pg.psql(f'DROP DATABASE IF EXISTS "{self.dbname}"', dbname="postgres")


# ---------------------------------------------------------------- memory


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every `interval` seconds until stop()."""

    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True, name="rss-sampler")
        self.pid = pid
        self.interval = interval
        self.samples = []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            try:
                self.samples.append(rss_kib(self.pid))
            except (OSError, AssertionError):
                return
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(10)
        return self.samples


def is_sanitized(binary):
    """True for a binary built with AddressSanitizer."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()
