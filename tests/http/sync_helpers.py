"""sync_helpers.py - what the sync and analysis tests share.

  - fresh databases: a migrated template database (with the test admin) in the session's
    cluster, copied with CREATE DATABASE ... TEMPLATE for each test that needs a database of its
    own, so that its change feed and its counts hold only what the test wrote;
  - PsqlSession: one psql process kept open, to hold a transaction (or a lock) open across
    requests;
  - principals (users made with `sharaka user add`, partner keys with `sharaka apikey create`)
    and record bodies;
  - the change feed: reading one page with every check the feed promises, and Mirror, the copy
    a partner keeps (the highest version of every record, tombstones for deletes);
  - Workload: writer threads (single creates, changes and deletes of organizations and
    partnerships, and batches of several hundred items) running for a bounded time;
  - database_state(): every record's version and deleted flag, read with SQL;
  - RssSampler: the resident memory of a process, sampled from /proc/<pid>/status.
"""

import json
import os
import random
import select
import subprocess
import threading
import time
import uuid

from pgcluster import clean_env
from testconfig import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET
from tokens import make_token
from checks import (ADMIN_TABLES, DOMAIN_TABLES, bearer, ministry_body,  # noqa: F401
                    monitoring_body, org_body, partnership_body, sql_str, type_body, uniq)

PASSWORD = "sync tests password 1"
FEED = "/v1/changes"

TABLES = DOMAIN_TABLES


def describe(r):
    return (f"{r.request.method} {r.request.path_url} -> {r.status_code} "
            f"{r.headers.get('Content-Type')} {r.text[:800]}")


def expect(r, status, what=""):
    assert r.status_code == status, f"{what}: expected {status}, got {describe(r)}"
    return r


# ---------------------------------------------------------------- databases


_templates = {}
_templates_lock = threading.Lock()


def template_database(pg, cli_for):
    """(name, admin user id) of a migrated database with the test admin (made once)."""
    with _templates_lock:
        made = _templates.get(pg.dir)
        if made is not None:
            return made
        name = "sync_template"
        pg.create_database(name)
        cli = cli_for(pg.url_for(name))
        proc = cli.run("migrate")
        assert proc.returncode == 0, f"migrate exited {proc.returncode}:\n{proc.stderr}"
        proc = cli.user_add(ADMIN_EMAIL, "admin", ADMIN_PASSWORD)
        _templates[pg.dir] = (name, proc.stdout.strip().splitlines()[-1])
        return _templates[pg.dir]


def fresh_database(pg, cli_for, prefix="sync"):
    """A new database copied from the template: its URL and name."""
    template, _ = template_database(pg, cli_for)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY',
            dbname="postgres")
    return pg.url_for(name), name


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
        self.url, self.dbname = fresh_database(pg, cli_for, prefix)
        settings = dict(SHARAKA_DATABASE_URL=self.url, SHARAKA_THREADS=4,
                        SHARAKA_MAX_BODY=1048576, SHARAKA_RATE_LIMIT=0,
                        SHARAKA_RATE_LIMIT_ANONYMOUS=0, SHARAKA_LOGIN_RATE_LIMIT=0)
        settings.update(env)
        self.srv = start_server(**settings)
        self.api = api_for(self.srv)
        self.cli = cli_for(self.url)
        self.token = template_admin_token(pg, cli_for)

    def close(self):
        """Stops the server (it must exit 0) and drops the database."""
        if self.srv.running:
            self.srv.terminate()
            self.srv.assert_clean_exit()
        self.pg.psql(f'DROP DATABASE IF EXISTS "{self.dbname}"', dbname="postgres")


def login(api, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    r = api.post("/v1/auth/token", json={"email": email, "password": password})
    expect(r, 200, f"login as {email}")
    return r.json()["access_token"]


def add_user(cli, api, role, *scope):
    """A user made with `sharaka user add`, signed in: (token, user id)."""
    email = f"{uniq(role)}@sync.test"
    proc = cli.user_add(email, role, PASSWORD, *scope)
    user_id = proc.stdout.strip().splitlines()[-1]
    return login(api, email, PASSWORD), user_id


def add_key(cli, role="partner", source="annd"):
    """An API key made with `sharaka apikey create`."""
    proc = cli.run("apikey", "create", "--name", uniq("key"), "--role", role, "--source", source)
    assert proc.returncode == 0, f"apikey create exited {proc.returncode}: {proc.stderr}"
    key = proc.stdout.strip().splitlines()[-1]
    assert key.startswith("sk_"), proc.stdout
    return key


class PsqlSession:
    """One psql process kept open: statements run in order, in one session.

    run() sends SQL and waits for its rows ('|'-separated text, one list per row); send()
    sends SQL without waiting (for a statement that blocks), and wait() collects its rows.
    """

    def __init__(self, pg, dbname=None):
        argv = pg._argv("psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.dir,
                        "-p", str(pg.port), "-U", "postgres", "-d", dbname or pg.dbname)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=clean_env(), cwd=pg.dir)
        self._buf = b""
        self._pending = None

    def send(self, sql):
        assert self._pending is None, "the previous statement's answer was not collected"
        marker = "--end-" + uuid.uuid4().hex
        self.proc.stdin.write((sql.rstrip().rstrip(";") + ";\n\\echo " + marker + "\n")
                              .encode("utf-8"))
        self.proc.stdin.flush()
        self._pending = marker

    def wait(self, timeout=10.0):
        marker, self._pending = self._pending, None
        assert marker is not None, "nothing was sent"
        deadline = time.monotonic() + timeout
        out = self.proc.stdout.fileno()
        while (marker + "\n").encode() not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"psql did not answer within {timeout}s: {self._buf!r}")
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                continue
            chunk = os.read(out, 65536)
            if not chunk:
                err = self.proc.stderr.read().decode("utf-8", "replace")
                raise AssertionError(f"psql exited ({self.proc.wait()}): {err}")
            self._buf += chunk
        text, _, self._buf = self._buf.partition((marker + "\n").encode())
        return [line.split("|") for line in text.decode("utf-8").splitlines() if line]

    def run(self, sql, timeout=10.0):
        self.send(sql)
        return self.wait(timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


def database_state(pg, dbname):
    """{(resource, id): (version, deleted)} for every record of every resource the feed carries."""
    parts = [f"SELECT '{res}', id, version, deleted_at IS NOT NULL FROM {table}"
             for res, table in TABLES.items()]
    rows = pg.rows(" UNION ALL ".join(parts), dbname=dbname)
    return {(r[0], r[1]): (int(r[2]), r[3] == "t") for r in rows}


def count_rows(pg, dbname, table, where="true"):
    return int(pg.rows(f"SELECT count(*) FROM {table} WHERE {where}", dbname=dbname)[0][0])


# ---------------------------------------------------------------- records (bodies in checks.py)


def create(api, token, resource, body):
    r = api.post(f"/v1/{resource}", json=body, headers=bearer(token))
    expect(r, 201, f"POST /v1/{resource}")
    return r.json()


# ---------------------------------------------------------------- the change feed


def read_feed(api, token, after=None, limit=None, resources=None):
    """One page of the feed as JSON, checked: (items, next_cursor, has_more)."""
    params = {}
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = str(limit)
    if resources is not None:
        params["resources"] = resources
    r = api.get(FEED, params=params, headers=bearer(token), timeout=30)
    expect(r, 200, "GET /v1/changes")
    page = r.json()
    assert set(page) == {"data", "next_cursor", "has_more"}, page.keys()
    items, cursor, more = page["data"], page["next_cursor"], page["has_more"]
    assert isinstance(items, list) and isinstance(more, bool), page
    assert isinstance(cursor, str) and cursor, page
    assert r.headers.get("X-Next-Cursor") == cursor, (r.headers, cursor)
    if limit is not None:
        assert len(items) <= limit, (len(items), limit)
        if more:
            assert len(items) == limit, f"has_more with a short page ({len(items)} of {limit})"
    for it in items:
        check_item(it)
    if items:
        assert cursor == items[-1]["cursor"], "next_cursor is not the last item's cursor"
    elif after is not None:
        assert cursor == after, f"an empty page moved the cursor from {after} to {cursor}"
    assert len({it["cursor"] for it in items}) == len(items), "a cursor came twice in one page"
    return items, cursor, more


def check_item(it):
    assert set(it) == {"cursor", "resource", "id", "op", "version", "changed_at", "record"}, it
    assert it["resource"] in TABLES, it
    assert it["op"] in ("upsert", "delete"), it
    assert isinstance(it["version"], int) and it["version"] >= 1, it
    if it["op"] == "delete":
        assert it["record"] is None, f"a tombstone carries a record: {it}"
    else:
        assert isinstance(it["record"], dict) and it["record"]["id"] == it["id"], it


class Mirror:
    """A partner's copy: per (resource, id) the item with the highest version."""

    def __init__(self):
        self.records = {}       # (resource, id) -> {"version", "deleted", "record"}
        self.versions = {}      # (resource, id) -> [versions in the order they came]
        self.cursors = set()
        self.items = 0

    def apply(self, items):
        for it in items:
            key = (it["resource"], it["id"])
            self.items += 1
            self.cursors.add(it["cursor"])
            self.versions.setdefault(key, []).append(it["version"])
            cur = self.records.get(key)
            if cur is None or it["version"] > cur["version"]:
                self.records[key] = {"version": it["version"], "deleted": it["op"] == "delete",
                                     "record": it["record"]}

    def state(self):
        return {k: (v["version"], v["deleted"]) for k, v in self.records.items()}


def assert_same_state(mirror_state, db_state):
    """The mirror holds exactly the database's records, versions and deleted flags."""
    missing = sorted(set(db_state) - set(mirror_state))
    extra = sorted(set(mirror_state) - set(db_state))
    wrong = sorted((k, mirror_state[k], db_state[k]) for k in set(db_state) & set(mirror_state)
                   if mirror_state[k] != db_state[k])
    assert not (missing or extra or wrong), (
        f"the mirror differs from the database ({len(db_state)} records): "
        f"{len(missing)} missing, e.g. {[(k, db_state[k]) for k in missing[:5]]}; "
        f"{len(extra)} unknown, e.g. {extra[:5]}; "
        f"{len(wrong)} with another (version, deleted), e.g. (key, mirror, database) {wrong[:5]}"
    )


def drain(api, token, mirror, cursor, limit=1000, deadline_s=60):
    """Follows the feed until has_more is false and a further read brings nothing new."""
    deadline = time.monotonic() + deadline_s
    while True:
        assert time.monotonic() < deadline, "the feed did not run dry"
        items, cursor, more = read_feed(api, token, after=cursor, limit=limit)
        mirror.apply(items)
        if not more and not items:
            return cursor


# ---------------------------------------------------------------- writers


class Workload:
    """Writer threads on their own records, for a bounded time.

    `singles` threads each create, change and delete organizations and partnerships one request
    at a time; with `batches`, one more thread sends batches of several hundred organizations
    (new ones and changes of earlier ones), and now and then a batch of partnerships. Every
    answer must be the success the request calls for; failures are collected and raised by
    stop().
    """

    def __init__(self, clients, token, type_id, ministry_id, singles=3, batches=True,
                 batch_size=300, seed=None):
        self.token = token
        self.type_id = type_id
        self.ministry_id = ministry_id
        self.stop_event = threading.Event()
        self.errors = []
        self.counts = {}
        self.lock = threading.Lock()
        rng = random.Random(seed)
        self.threads = []
        for i in range(singles):
            self.threads.append(threading.Thread(
                target=self._guard, args=(self._single, clients[i], random.Random(rng.random())),
                name=f"writer-{i}", daemon=True))
        if batches:
            self.threads.append(threading.Thread(
                target=self._guard,
                args=(self._batch, clients[singles], random.Random(rng.random()), batch_size),
                name="batch-writer", daemon=True))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout=60):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)
            assert not t.is_alive(), f"{t.name} did not stop within {timeout}s"
        assert not self.errors, "writers failed:\n" + "\n".join(self.errors[:10])

    def _count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.errors.append(f"{threading.current_thread().name}: {e!r}")
            self.stop_event.set()

    def _single(self, api, rng):
        h = bearer(self.token)
        orgs = []           # live organizations of this thread that no live partnership uses
        partnerships = {}   # live partnership id -> its organization ids
        used = set()
        while not self.stop_event.is_set():
            roll = rng.random()
            free = [o for o in orgs if o not in used]
            if roll < 0.30 or len(orgs) < 2:
                r = api.post("/v1/organizations", headers=h,
                             json=org_body(description="made by " + threading.current_thread().name))
                expect(r, 201, "create an organization")
                orgs.append(r.json()["id"])
                self._count("organization created")
            elif roll < 0.52:
                oid = rng.choice(orgs)
                r = api.patch(f"/v1/organizations/{oid}", headers=h,
                              json={"description": uniq("changed "), "sectors": [uniq("s")]})
                expect(r, 200, "change an organization")
                self._count("organization changed")
            elif roll < 0.62 and free:
                oid = rng.choice(free)
                expect(api.delete(f"/v1/organizations/{oid}", headers=h), 204,
                       "delete an organization")
                orgs.remove(oid)
                self._count("organization deleted")
            elif roll < 0.78 and free:
                members = rng.sample(free, min(len(free), rng.choice((1, 2))))
                r = api.post("/v1/partnerships", headers=h, json=partnership_body(
                    self.type_id, self.ministry_id, members, amount="1000.00", currency="USD"))
                expect(r, 201, "create a partnership")
                partnerships[r.json()["id"]] = members
                used.update(members)
                self._count("partnership created")
            elif roll < 0.92 and partnerships:
                pid = rng.choice(sorted(partnerships))
                patch = {"title": uniq("Partnership "), "status": rng.choice(
                    ("planned", "active", "completed", "suspended"))}
                kind = rng.random()
                if free and kind < 0.6:
                    # Other parties: with the title, or alone (a change of the record too).
                    if kind < 0.3:
                        patch = {}
                    members = [rng.choice(free)]
                    patch["organizations"] = [{"organization_id": members[0], "role": "lead"}]
                    used.difference_update(partnerships[pid])
                    partnerships[pid] = members
                    used.update(members)
                expect(api.patch(f"/v1/partnerships/{pid}", headers=h, json=patch), 200,
                       "change a partnership")
                self._count("partnership changed")
            elif partnerships:
                pid = rng.choice(sorted(partnerships))
                expect(api.delete(f"/v1/partnerships/{pid}", headers=h), 204,
                       "delete a partnership")
                used.difference_update(partnerships.pop(pid))
                self._count("partnership deleted")

    def _batch(self, api, rng, size):
        h = bearer(self.token)
        mine = []
        n = 0
        while not self.stop_event.is_set():
            n += 1
            if n % 3 == 0 and len(mine) >= 10:
                items = [partnership_body(self.type_id, self.ministry_id, rng.sample(mine, 2),
                                          programme="AFKAR 3")
                         for _ in range(size // 3)]
                r = api.post("/v1/partnerships/batch", headers=h, json={"items": items},
                             timeout=60)
                expect(r, 200, "a batch of partnerships")
                self._count("partnership batch")
                continue
            updates = rng.sample(mine, min(len(mine), size // 3))
            items = [{"id": oid, "description": uniq("batch ")} for oid in updates]
            items += [org_body(kind="network", external_ids={"SYNC": uniq()})
                      for _ in range(size - len(items))]
            rng.shuffle(items)
            r = api.post("/v1/organizations/batch", headers=h, json={"items": items}, timeout=60)
            expect(r, 200, "a batch of organizations")
            results = r.json()["items"]
            assert len(results) == len(items), r.text[:500]
            for res, item in zip(results, items):
                if "id" in item:
                    assert res["result"] == "updated" and res["id"] == item["id"], res
                else:
                    assert res["result"] == "created", res
                    mine.append(res["id"])
            self._count("organization batch")


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


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line]


# ---------------------------------------------------------------- a follower process

FOLLOWER_SCRIPT = r'''
"""A partner's sync client: follows GET /v1/changes and keeps its copy in files.

usage: follower.py BASE_URL TOKEN STATE_DIR LIMIT

After each page it writes the copy (mirror.json: "resource/id" -> [version, deleted]) and then
the cursor (cursor), each through a temporary file and a rename, so a kill at any moment leaves
a copy at least as new as the cursor. It starts from the stored cursor, if any. Once the file
`stop` exists it reads on until has_more is false and a read brings nothing new, writes `done`
and exits 0.
"""
import json
import os
import sys
import time

import requests

base, token, state, limit = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def path(name):
    return os.path.join(state, name)


def save(name, text):
    tmp = path(name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path(name))


def load(name, default):
    try:
        with open(path(name), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return default


cursor = load("cursor", None)
mirror = json.loads(load("mirror.json", "{}"))
with open(path("log"), "a", encoding="utf-8") as log:
    log.write(f"start {cursor or '-'} {len(mirror)}\n")
session = requests.Session()
headers = {"Authorization": "Bearer " + token}
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    stopping = os.path.exists(path("stop"))
    params = {"limit": limit}
    if cursor is not None:
        params["after"] = cursor
    r = session.get(base + "/v1/changes", params=params, headers=headers, timeout=30)
    if r.status_code != 200:
        sys.exit(f"GET /v1/changes -> {r.status_code} {r.text[:500]}")
    page = r.json()
    for item in page["data"]:
        key = item["resource"] + "/" + item["id"]
        have = mirror.get(key)
        if have is None or item["version"] > have[0]:
            mirror[key] = [item["version"], item["op"] == "delete"]
    save("mirror.json", json.dumps(mirror))
    cursor = page["next_cursor"]
    save("cursor", cursor)
    with open(path("log"), "a", encoding="utf-8") as log:
        log.write(f"page {len(page['data'])} {cursor}\n")
    if stopping and not page["has_more"] and not page["data"]:
        save("done", "done")
        sys.exit(0)
    if not page["data"]:
        time.sleep(0.02)
sys.exit("the follower ran out of time")
'''
