"""Scale-out on PostgreSQL, with the real pieces on loopback: a primary, a streaming replica made
with `pg_basebackup -R` that applies each commit APPLY_DELAY seconds late (so that lag shows), two
sharaka instances reading from it, and Debian's HAProxy in front of them.

Reads reach the replica; a read with a write's Sharaka-Consistency token sees the write; a replica
past SHARAKA_REPLICA_MAX_LAG, or killed, serves nothing and no read fails; sign-ins are throttled
at the configured total across both instances, per client address as HAProxy reports it, and a
forged X-Forwarded-For gets nothing; a rolling restart of both instances under reads and writes
loses no request.
"""

import json
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

from support.bodies import organization_body
from support.checks import assert_problem, describe
from support.client import ApiClient
from support.cluster import PostgresCluster, clean_env, free_port
from support.config import ADMIN_EMAIL, ADMIN_PASSWORD
from support.principals import PASSWORD, bearer
from support.server import SharakaServer, base_env, merged_env

APPLY_DELAY = 3  # seconds the replica holds each commit back (recovery_min_apply_delay)
MAX_LAG = 1  # SHARAKA_REPLICA_MAX_LAG of the instances
LOGIN_LIMIT = 4  # SHARAKA_LOGIN_RATE_LIMIT of the instances
DRAIN = 2  # SHARAKA_DRAIN_SECONDS of the instances
LIST = "/v1/organizations"
TOKEN = "/v1/auth/token"
THROTTLED_EMAIL = "throttled@scale.test"
SECOND_EMAIL = "second@scale.test"


def haproxy_binary():
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


class Replica(PostgresCluster):
    """A hot standby of primary, made with pg_basebackup -R, on its own socket folder and port."""

    def __init__(self, primary):
        super().__init__(primary.dbname)
        self.primary = primary

    def init(self):
        self._run("pg_basebackup", "-D", self.data, "-h", self.primary.dir,
                  "-p", str(self.primary.port), "-U", "postgres", "-R", "-X", "stream",
                  "-c", "fast", timeout=120)
        with open(os.path.join(self.data, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("\n# the replica of the scale-out tests\n"
                    f"port = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\n"
                    "hot_standby = on\n"
                    f"recovery_min_apply_delay = '{APPLY_DELAY}s'\n")

    def kill(self):
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        self.running = False


class Balancer:
    """haproxy -db with a generated configuration: round robin over the instances, health
    checks on /readyz every 200 ms, X-Forwarded-For added, a refused connection retried on the
    other instance."""

    def __init__(self, servers):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.base_url = f"http://{self.host}:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="sharaka-haproxy-")
        backends = "\n".join(f"    server s{i} {s.host}:{s.port} check"
                             for i, s in enumerate(servers))
        self.config = os.path.join(self.dir, "haproxy.cfg")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure
    option forwardfor

frontend api
    bind {self.host}:{self.port}
    default_backend sharaka

backend sharaka
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fall 1 rise 1
{backends}
""")
        self.log = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.proc = subprocess.Popen([haproxy_binary(), "-f", self.config, "-db"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def wait_up(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"haproxy exited:\n{self.log_text()}"
            try:
                if requests.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"haproxy did not answer within {timeout}s:\n{self.log_text()}")

    def log_text(self):
        with open(os.path.join(self.dir, "haproxy.log"), encoding="utf-8",
                  errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Topology:
    def __init__(self, primary, replica, instances, balancer, spec):
        self.primary, self.replica = primary, replica
        self.instances, self.balancer, self.spec = instances, balancer, spec
        self.clients = []

    def client(self, target=None, from_address="127.0.0.5"):
        c = ApiClient(target or self.balancer, self.spec, from_address)
        self.clients.append(c)
        return c

    def metrics(self, srv):
        r = requests.get(srv.base_url + "/metrics", timeout=5)
        assert r.status_code == 200, r.text
        return r.text

    def reads(self, copy):
        """Reads answered by copy ("primary" or "replica"), summed over the instances."""
        total = 0
        for srv in self.instances:
            for line in self.metrics(srv).splitlines():
                m = re.match(r'sharaka_database_reads_total\{copy="(\w+)"[^}]*\} (\d+)$', line)
                if m and m.group(1) == copy:
                    total += int(m.group(2))
        return total

    def replica_usable(self):
        """Per instance: (usable, lag in seconds) of the replica, from /metrics."""
        out = []
        for srv in self.instances:
            text = self.metrics(srv)
            usable = re.search(r"^sharaka_replica_usable\{[^}]*\} (\d)$", text, re.M)
            lag = re.search(r"^sharaka_replica_lag_seconds\{[^}]*\} (-?[\d.]+)$", text, re.M)
            assert usable and lag, text
            out.append((usable.group(1) == "1", float(lag.group(1))))
        return out

    def wait_replica(self, usable=True, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.replica_usable()
            if all(u == usable for u, _ in states):
                return states
            time.sleep(0.1)
        pytest.fail(f"the replica did not become {'usable' if usable else 'unusable'} on both "
                    f"instances within {timeout}s: {self.replica_usable()}")

    def replica_commits(self):
        [[n]] = self.replica.rows(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return int(n)

    def admin_token(self):
        r = self.client(from_address="127.0.0.6").post(
            TOKEN, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, describe(r)
        return r.json()["access_token"]


def add_user(binary, url, email, role, password=PASSWORD):
    proc = subprocess.run([str(binary), "user", "add", "--email", email, "--role", role,
                           "--password-stdin"], input=password, capture_output=True, text=True,
                          env=merged_env(clean_env(), {"SHARAKA_DATABASE_URL": url}), timeout=30)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def topo(sharaka_bin, spec):
    if not os.access(haproxy_binary(), os.X_OK):
        pytest.fail("haproxy is not installed (scripts/test installs Debian's haproxy)")
    made = []
    primary = PostgresCluster("sharaka")
    made.append(primary.destroy)
    instances = []
    balancer = None
    try:
        primary.init()
        primary.start()
        primary.create_database()
        env = merged_env(clean_env(), {"SHARAKA_DATABASE_URL": primary.url,
                                       "SHARAKA_MIGRATIONS_DIR": str(
                                           os.path.join(os.path.dirname(__file__), "..", "..",
                                                        "migrations"))})
        proc = subprocess.run([str(sharaka_bin), "migrate"], env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        add_user(sharaka_bin, primary.url, ADMIN_EMAIL, "admin", ADMIN_PASSWORD)
        add_user(sharaka_bin, primary.url, THROTTLED_EMAIL, "analyst")
        add_user(sharaka_bin, primary.url, SECOND_EMAIL, "analyst")
        replica = Replica(primary)
        made.append(replica.destroy)
        replica.init()
        replica.start()
        for _ in range(2):
            srv = SharakaServer(sharaka_bin, merged_env(base_env(primary.url), {
                "SHARAKA_DATABASE_READ_URL": replica.url,
                "SHARAKA_REPLICA_MAX_LAG": str(MAX_LAG),
                "SHARAKA_TRUSTED_PROXIES": "127.0.0.1",
                "SHARAKA_LOGIN_RATE_LIMIT": str(LOGIN_LIMIT),
                "SHARAKA_DRAIN_SECONDS": str(DRAIN),
            }))
            instances.append(srv)
            srv.start()
        balancer = Balancer(instances)
        balancer.wait_up()
        t = Topology(primary, replica, instances, balancer, spec)
        yield t
        for c in t.clients:
            c.close()
        for srv in instances:
            srv.terminate()
            srv.assert_clean_exit()
    finally:
        if balancer is not None:
            balancer.stop()
        for srv in instances:
            srv.cleanup()
        for destroy in reversed(made):
            destroy()


# ---------------------------------------------------------------- reads and replicas


def test_reads_reach_the_replica(topo):
    topo.wait_replica(usable=True)
    api = topo.client()
    commits = topo.replica_commits()
    before = topo.reads("replica")
    for _ in range(40):
        r = api.get(LIST, params={"limit": 5})
        assert r.status_code == 200, describe(r)
    assert topo.reads("replica") - before >= 40
    # The replica's own counters move (PostgreSQL publishes a busy backend's within a second,
    # an idle one's within ten).
    deadline = time.monotonic() + 15
    while topo.replica_commits() < commits + 40 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert topo.replica_commits() >= commits + 40


def test_a_read_with_the_write_s_token_sees_the_write(topo):
    token = topo.admin_token()
    topo.wait_replica(usable=True)
    api = topo.client()
    r = api.post(LIST, json=organization_body(), headers=bearer(token))
    assert r.status_code == 201, describe(r)
    position = r.headers.get("Sharaka-Consistency", "")
    assert re.fullmatch(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}", position), r.headers
    path = r.headers["Location"]
    # At once, without the token: the replica still serves (its lag is below the maximum) and
    # has not applied the write yet, on both instances.
    blind = [api.get(path, headers=bearer(token)).status_code for _ in range(4)]
    seen = [api.get(path, headers={**bearer(token), "Sharaka-Consistency": position})
            for _ in range(6)]
    assert [s.status_code for s in seen] == [200] * 6, [describe(s) for s in seen]
    assert all(s.json()["id"] == r.json()["id"] for s in seen)
    assert 404 in blind, f"no read without the token went to the lagging replica: {blind}"


def test_a_malformed_consistency_token_is_a_400_naming_the_form(topo):
    api = topo.client()
    for bad in ("latest", "0/", "1/2/3", "0/123456789", "zz/1"):
        r = api.get(LIST, headers={"Sharaka-Consistency": bad})
        problem = assert_problem(r, 400)
        assert "Sharaka-Consistency" in problem["detail"], problem


def test_reads_move_to_the_primary_while_the_replica_lags_past_the_maximum(topo):
    token = topo.admin_token()
    topo.wait_replica(usable=True)
    api = topo.client()
    r = api.post(LIST, json=organization_body(), headers=bearer(token))
    assert r.status_code == 201, describe(r)
    states = topo.wait_replica(usable=False, timeout=APPLY_DELAY)
    assert all(lag > MAX_LAG for _, lag in states), states
    replica, primary = topo.reads("replica"), topo.reads("primary")
    for _ in range(20):
        assert api.get(LIST, params={"limit": 2}).status_code == 200
    assert topo.reads("replica") == replica
    assert topo.reads("primary") - primary >= 20
    # Once the replica has applied the write it serves again.
    topo.wait_replica(usable=True, timeout=APPLY_DELAY + 10)
    replica = topo.reads("replica")
    for _ in range(10):
        assert api.get(LIST, params={"limit": 2}).status_code == 200
    assert topo.reads("replica") - replica >= 10


def test_the_replica_killed_under_read_load_fails_no_read(topo):
    topo.wait_replica(usable=True)
    statuses, errors = [], []
    stop = threading.Event()

    def reader(address):
        api = ApiClient(topo.balancer, topo.spec, address)
        try:
            while not stop.is_set():
                try:
                    statuses.append(api.get(LIST, params={"limit": 3}).status_code)
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    errors.append(repr(e))
        finally:
            api.close()

    threads = [threading.Thread(target=reader, args=(f"127.0.0.{10 + i}",)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        topo.replica.kill()
        time.sleep(2.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:5]
    assert len(statuses) > 40 and set(statuses) == {200}, \
        {s: statuses.count(s) for s in set(statuses)}
    assert all(not u for u, _ in topo.replica_usable())
    topo.replica.start()
    topo.wait_replica(usable=True, timeout=APPLY_DELAY + 15)


# ---------------------------------------------------------------- client addresses


def test_sign_ins_through_the_balancer_are_throttled_at_the_total_per_client(topo):
    topo.primary.psql("DELETE FROM login_throttle")
    wrong = {"email": THROTTLED_EMAIL, "password": "not the password at all"}
    here = topo.client(from_address="127.0.0.2")
    # Round robin: the attempts alternate between the two instances, which count together.
    for _ in range(LOGIN_LIMIT):
        assert_problem(here.post(TOKEN, json=wrong), 401)
    assert_problem(here.post(TOKEN, json=wrong), 429)
    # A forged X-Forwarded-For changes nothing: HAProxy appends the true address after it.
    other = {"email": SECOND_EMAIL, "password": PASSWORD}
    r = here.post(TOKEN, json=other, headers={"X-Forwarded-For": "198.51.100.77"})
    assert_problem(r, 429)
    assert "login-address" in r.headers.get("RateLimit", ""), r.headers
    # Another client behind the same proxy keeps its own bucket.
    there = topo.client(from_address="127.0.0.3")
    assert there.post(TOKEN, json=other).status_code == 200
    # The e-mail's bucket is dry whatever the address.
    assert_problem(there.post(TOKEN, json=wrong), 429)


def test_the_access_log_names_the_client_and_a_forged_header_is_not_believed(topo):
    marker = "scale-" + str(time.monotonic_ns())
    via = topo.client(from_address="127.0.0.4")
    assert via.get("/healthz", headers={"X-Request-Id": marker + "-via"}).status_code == 200
    direct = topo.client(topo.instances[0], from_address="127.0.0.8")
    r = direct.get("/healthz", headers={"X-Request-Id": marker + "-direct",
                                         "X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 200
    deadline = time.monotonic() + 5
    found = {}
    while time.monotonic() < deadline and len(found) < 2:
        for srv in topo.instances:
            for line in srv.stdout().splitlines():
                if marker in line:
                    entry = json.loads(line)
                    found[entry["request_id"]] = entry["client"]
        time.sleep(0.1)
    assert found == {marker + "-via": "127.0.0.4", marker + "-direct": "127.0.0.8"}, found


# ---------------------------------------------------------------- rolling restart


def test_a_rolling_restart_under_reads_and_writes_fails_no_request(topo):
    token = topo.admin_token()
    results, errors = [], []
    stop = threading.Event()

    def load(address, write):
        api = ApiClient(topo.balancer, topo.spec, address)
        try:
            while not stop.is_set():
                try:
                    if write:
                        r = api.post(LIST, json=organization_body(), headers=bearer(token))
                    else:
                        r = api.get(LIST, params={"limit": 5})
                    results.append((write, r.status_code))
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    errors.append(repr(e))
        finally:
            api.close()

    threads = [threading.Thread(target=load, args=(f"127.0.0.{20 + i}", i == 0))
               for i in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        for srv in topo.instances:
            srv.signal(signal.SIGTERM)
            time.sleep(0.3)
            # Draining: not ready any more, still serving.
            assert requests.get(srv.base_url + "/readyz", timeout=2).status_code == 503
            assert requests.get(srv.base_url + "/healthz", timeout=2).status_code == 200
            assert srv.wait_exit(DRAIN + 20) == 0, srv.stderr()
            srv.start()
            deadline = time.monotonic() + 10
            while requests.get(srv.base_url + "/readyz", timeout=2).status_code != 200:
                assert time.monotonic() < deadline, srv.stderr()
                time.sleep(0.1)
            time.sleep(0.6)  # three health checks: the balancer sends to it again
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:5]
    writes = [s for w, s in results if w]
    reads = [s for w, s in results if not w]
    assert len(writes) > 10 and len(reads) > 50, (len(writes), len(reads))
    assert set(writes) == {201} and set(reads) == {200}, \
        {s: [x for _, x in results].count(s) for _, s in results}
