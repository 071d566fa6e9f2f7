"""feed.py - the change feed: one page read with every check the feed promises; Mirror, the copy
a partner keeps (the highest version of every record, tombstones for deletes); writer threads
(Workload) that change records while the feed is read; and a follower process script.
"""

import random
import threading
import time

from support.bodies import organization_body, partnership_body
from support.checks import expect, uniq
from support.db import DOMAIN_TABLES
from support.principals import bearer

FEED = "/v1/changes"


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
    assert it["resource"] in DOMAIN_TABLES, it
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
                made_by = "made by " + threading.current_thread().name
                r = api.post("/v1/organizations", headers=h,
                             json=organization_body(description=made_by))
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
            items += [organization_body(kind="network", external_ids={"SYNC": uniq()})
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
