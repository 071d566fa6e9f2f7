"""Webhooks: the change feed pushed to receivers, signed per Standard Webhooks.

Deliveries go to a real receiver process on loopback (tests/webhooks/receiver.mjs) that verifies
each one with the `standardwebhooks` npm package, pinned in tests/webhooks/package-lock.json, as a
partner's receiver would. Servers that deliver run on databases of their own with
SHARAKA_WEBHOOK_ALLOW_PRIVATE=true (the receiver is on 127.0.0.1) and a retry schedule of seconds.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from support.bodies import organization_body
from support.checks import assert_problem, describe, error_entries, uniq
from support.cluster import free_port
from support.principals import add_partner, add_user, bearer

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER_DIR = os.path.join(os.path.dirname(HERE), "webhooks")

FAST = dict(SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_TIMEOUT="2",
            SHARAKA_WEBHOOK_RETRY_SCHEDULE="0,1,1,1", SHARAKA_WEBHOOK_CONCURRENCY="16")


@pytest.fixture(scope="module")
def receiver_package():
    """npm ci of the pinned standardwebhooks package, once."""
    if not os.path.isdir(os.path.join(RECEIVER_DIR, "node_modules", "standardwebhooks")):
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=RECEIVER_DIR,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout}\n{proc.stderr}"
    return RECEIVER_DIR


class Receiver:
    """One receiver process; .log() reads what it saw."""

    def __init__(self, package, fail_first=0, delay_ms=0):
        self.dir = tempfile.mkdtemp(prefix="sharaka-hook-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.log_path = os.path.join(self.dir, "log.jsonl")
        self.secret_path = os.path.join(self.dir, "secret")
        env = dict(os.environ, PORT=str(self.port), LOG=self.log_path,
                   SECRET_FILE=self.secret_path, FAIL_FIRST=str(fail_first),
                   DELAY_MS=str(delay_ms))
        self.proc = subprocess.Popen(["node", os.path.join(package, "receiver.mjs")], env=env,
                                     cwd=package, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening"), f"receiver did not start: {line}"

    def secret(self, value):
        with open(self.secret_path, "w", encoding="ascii") as f:
            f.write(value)

    def log(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait(self, pred, timeout=20, what="deliveries"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.log()
            if pred(seen):
                return seen
            time.sleep(0.1)
        pytest.fail(f"receiver: {what} did not arrive within {timeout}s; saw {len(self.log())}: "
                    f"{self.log()[-5:]}")

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def receiver(receiver_package):
    made = []

    def make(**kw):
        r = Receiver(receiver_package, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def subscribe(api, token, rcv, resources=None, status=201):
    body = {"url": rcv.url, "description": "test receiver"}
    if resources is not None:
        body["resources"] = resources
    r = api.post("/v1/webhooks", json=body, headers=bearer(token))
    assert r.status_code == status, describe(r)
    hook = r.json()
    rcv.secret(hook["secret"])
    return hook


def new_org(api, token, **over):
    r = api.post("/v1/organizations", json=organization_body(**over), headers=bearer(token))
    assert r.status_code == 201, describe(r)
    return r.json()


def delivered(seen):
    """The verified, accepted deliveries."""
    return [e for e in seen if e["verified"] and e["status"] == 204]


def attempts(api, token, hook_id):
    r = api.get(f"/v1/webhooks/{hook_id}/deliveries", headers=bearer(token))
    assert r.status_code == 200, describe(r)
    return r.json()["data"]


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} not met within {timeout}s")


# ---------------------------------------------------------------- delivery


def test_a_change_arrives_signed_and_verifies_with_standardwebhooks(own_server, receiver):
    own = own_server("hook", **FAST)
    rcv = receiver()
    hook = subscribe(own.api, own.token, rcv, resources=["organizations"])
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    org = new_org(own.api, own.token)
    # A ministry is not among the resources asked for: it never arrives.
    r = own.api.post("/v1/ministries", json={"name": uniq("Ministry"), "kind": "ministry"},
                     headers=bearer(own.token))
    seen = rcv.wait(lambda s: any(e["body"] and e["body"]["data"]["id"] == org["id"]
                                  for e in delivered(s)))
    entry = next(e for e in delivered(seen) if e["body"]["data"]["id"] == org["id"])
    assert entry["content_type"] == "application/json"
    assert entry["id"].startswith("msg_") and entry["signature"].startswith("v1,")
    assert abs(int(entry["timestamp"]) - time.time()) < 60
    body = entry["body"]
    assert body["type"] == "organizations.upsert"
    # data is the feed's item for that change, the same as GET /v1/changes shows it.
    feed = own.api.get("/v1/changes", params={"resources": "organizations", "limit": 1000},
                       headers=bearer(own.token)).json()["data"]
    item = next(i for i in feed if i["id"] == org["id"])
    assert body["data"] == item
    assert body["timestamp"] == item["changed_at"]
    time.sleep(1.0)
    assert all(e["body"]["data"]["resource"] == "organizations" for e in delivered(rcv.log()))
    if r.status_code == 201:
        assert r.json()["id"] not in {e["body"]["data"]["id"] for e in delivered(rcv.log())}
    log = attempts(own.api, own.token, hook["id"])
    mine = [a for a in log if a["delivery_id"] == entry["id"]]
    assert [a["outcome"] for a in mine] == ["delivered"] and mine[0]["response_status"] == 204
    assert mine[0]["attempt"] == 1 and mine[0]["next_attempt_at"] is None
    assert mine[0]["cursor"] == item["cursor"] and mine[0]["delivery_state"] == "delivered"


def test_a_receiver_that_fails_twice_gets_the_change_on_the_third_attempt(own_server, receiver):
    own = own_server("hook", **FAST)
    rcv = receiver(fail_first=2)
    hook = subscribe(own.api, own.token, rcv, resources=["organizations"])
    org = new_org(own.api, own.token)
    seen = rcv.wait(lambda s: len(delivered(s)) >= 1, timeout=30)
    tries = [e for e in seen if e["body"] and e["body"]["data"]["id"] == org["id"]]
    assert [e["status"] for e in tries] == [500, 500, 204], tries
    assert len({e["id"] for e in tries}) == 1, "every attempt carries the same webhook-id"
    assert all(e["verified"] for e in tries)
    # The schedule is 0,1,1,...: the retries come about a second apart.
    gaps = [b["received_at"] - a["received_at"] for a, b in zip(tries, tries[1:])]
    assert all(g >= 0.9 for g in gaps), gaps
    log = wait_for(lambda: [a for a in attempts(own.api, own.token, hook["id"])
                            if a["delivery_id"] == tries[0]["id"]] or None, what="the log")
    log = wait_for(lambda: (lambda l: l if len(l) == 3 else None)(
        [a for a in attempts(own.api, own.token, hook["id"]) if a["delivery_id"] == tries[0]["id"]]),
        what="three attempts in the log")
    # Newest first: delivered on the third, failed with 500 twice before, each with its next try.
    assert [(a["attempt"], a["outcome"], a["response_status"]) for a in log] == [
        (3, "delivered", 204), (2, "failed", 500), (1, "failed", 500)]
    assert log[0]["next_attempt_at"] is None
    assert log[1]["next_attempt_at"] is not None and log[2]["next_attempt_at"] is not None
    assert all(a["delivery_state"] == "delivered" for a in log)


def test_after_the_last_retry_the_webhook_is_disabled_and_enabling_it_sends_what_waited(
        own_server, receiver):
    own = own_server("hook", SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_TIMEOUT="2",
                     SHARAKA_WEBHOOK_RETRY_SCHEDULE="0,1", SHARAKA_WEBHOOK_CONCURRENCY="16")
    rcv = receiver(fail_first=2)
    hook = subscribe(own.api, own.token, rcv, resources=["organizations"])
    org = new_org(own.api, own.token)
    h = wait_for(lambda: (lambda j: j if not j["enabled"] else None)(
        own.api.get(f"/v1/webhooks/{hook['id']}", headers=bearer(own.token)).json()),
        timeout=20, what="the webhook disabled")
    assert "failed 2 attempts" in h["disabled_reason"] and "HTTP 500" in h["disabled_reason"]
    assert h["disabled_at"] is not None
    # A change made while it is disabled waits in the outbox.
    r = own.api.patch(f"/v1/organizations/{org['id']}", json={"name": uniq("Renamed")},
                      headers=bearer(own.token))
    assert r.status_code == 200, describe(r)
    time.sleep(1.5)
    assert len(rcv.log()) == 2
    assert own.api.get(f"/v1/webhooks/{hook['id']}",
                       headers=bearer(own.token)).json()["pending_deliveries"] == 2
    # A test ping is refused while disabled.
    r = own.api.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(own.token))
    assert_problem(r, 409)
    r = own.api.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True},
                      headers=bearer(own.token))
    assert r.status_code == 200, describe(r)
    assert r.json()["enabled"] is True and r.json()["disabled_reason"] is None
    seen = rcv.wait(lambda s: len(delivered(s)) >= 2, timeout=20)
    versions = [e["body"]["data"]["version"] for e in delivered(seen)]
    assert versions == [1, 2], "the failed change first, then the one that waited"


def test_a_ping_is_signed_and_shows_in_the_delivery_log(own_server, receiver):
    own = own_server("hook", **FAST)
    rcv = receiver()
    hook = subscribe(own.api, own.token, rcv, resources=["charters"])
    r = own.api.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(own.token))
    assert r.status_code == 202, describe(r)
    ping = r.json()
    assert ping["event"] == "webhook.ping"
    seen = rcv.wait(lambda s: len(delivered(s)) == 1)
    assert seen[0]["id"] == ping["delivery_id"]
    assert seen[0]["body"]["type"] == "webhook.ping"
    assert seen[0]["body"]["data"]["webhook_id"] == hook["id"]
    log = wait_for(lambda: attempts(own.api, own.token, hook["id"]), what="the log")
    assert log[0]["delivery_id"] == ping["delivery_id"] and log[0]["cursor"] is None
    metrics = own.api.get("/metrics").text
    assert 'sharaka_webhook_attempts_total{outcome="delivered"} 1' in metrics
    assert 'sharaka_webhook_attempts_total{outcome="failed"} 0' in metrics


def test_a_wrong_secret_fails_verification(own_server, receiver):
    own = own_server("hook", **FAST)
    rcv = receiver()
    hook = subscribe(own.api, own.token, rcv, resources=["organizations"])
    rcv.secret("whsec_" + "QUJD" * 10 + "QUI=")
    own.api.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(own.token))
    seen = rcv.wait(lambda s: len(s) >= 1)
    assert seen[0]["verified"] is False and seen[0]["status"] == 401
    assert "signature" in seen[0]["error"].lower()


def ping(own, hook, rcv, count):
    """Sends a ping and waits until the receiver has seen count requests; returns the last."""
    r = own.api.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(own.token))
    assert r.status_code == 202, describe(r)
    seen = rcv.wait(lambda s: len(s) >= count)
    return seen[count - 1]


def rotate(own, hook, status=200, **params):
    r = own.api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", params=params,
                     headers=bearer(own.token), invalid=status == 400)
    assert r.status_code == status, describe(r)
    return r


def test_a_rotated_secret_signs_beside_the_new_one_until_its_time_is_up(own_server, receiver):
    own = own_server("hook", **FAST)
    rcv = receiver()
    hook = subscribe(own.api, own.token, rcv, resources=["charters"])
    first = hook["secret"]
    assert hook["previous_secret_until"] is None
    r = rotate(own, hook)
    assert r.headers["Cache-Control"] == "no-store"
    rotated = r.json()
    second = rotated["secret"]
    assert second.startswith("whsec_") and second != first
    until = rotated["previous_secret_until"]
    assert until is not None and rotated["version"] == hook["version"] + 1
    got = own.api.get(f"/v1/webhooks/{hook['id']}", headers=bearer(own.token)).json()
    assert "secret" not in got and got["previous_secret_until"] == until
    # the receiver still holds the first secret: a delivery verifies, with two signatures
    entry = ping(own, hook, rcv, 1)
    assert entry["verified"] is True, entry
    assert len(entry["signature"].split(" ")) == 2
    assert all(p.startswith("v1,") for p in entry["signature"].split(" "))
    # it switches to the second: verified too
    rcv.secret(second)
    assert ping(own, hook, rcv, 2)["verified"] is True
    # a rotation that keeps nothing: the second stops at once, only the third signs
    third = rotate(own, hook, keep_previous=0).json()
    assert third["previous_secret_until"] is None
    entry = ping(own, hook, rcv, 3)
    assert entry["verified"] is False and entry["status"] == 401
    assert len(entry["signature"].split(" ")) == 1
    rcv.secret(third["secret"])
    wait_for(lambda: any(e["verified"] for e in rcv.log()[3:]), what="a verified retry")
    # neither secret is in the audit log; the rotation is there
    audit = own.db.value(
        "SELECT string_agg(coalesce(before::text, '') || coalesce(after::text, ''), ' ') "
        f"FROM audit_log WHERE resource = 'webhooks' AND record_id = '{hook['id']}'")
    for secret in (first, second, third["secret"]):
        assert secret not in audit and secret[6:] not in audit
    assert own.db.value("SELECT count(*) FROM audit_log WHERE resource = 'webhooks' AND "
                        f"record_id = '{hook['id']}' AND action = 'update'") == "2"


def test_a_rotation_of_an_expired_window_drops_the_older_secret(own_server, receiver):
    own = own_server("hook", SHARAKA_JANITOR_INTERVAL="1", **FAST)
    rcv = receiver()
    hook = subscribe(own.api, own.token, rcv, resources=["charters"])
    second = rotate(own, hook, keep_previous=1).json()["secret"]
    time.sleep(1.5)
    got = own.api.get(f"/v1/webhooks/{hook['id']}", headers=bearer(own.token)).json()
    assert got["previous_secret_until"] is None  # its time is up
    entry = ping(own, hook, rcv, 1)  # the receiver holds the first secret only
    assert entry["verified"] is False and len(entry["signature"].split(" ")) == 1
    rcv.secret(second)
    wait_for(lambda: any(e["verified"] for e in rcv.log()), what="a verified retry")
    # the janitor drops the replaced secret from the row once it no longer signs
    wait_for(lambda: own.db.value("SELECT previous_secret IS NULL AND previous_secret_until IS "
                                  f"NULL FROM webhooks WHERE id = '{hook['id']}'") == "t",
             what="the replaced secret dropped")


@pytest.mark.parametrize("value", ["-1", "604801", "1.5", "day", ""])
def test_a_bad_keep_previous_is_a_400_and_changes_nothing(own_server, value):
    own = own_server("hook", SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_CONCURRENCY="0")
    r = own.api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=bearer(own.token))
    assert r.status_code == 201, describe(r)
    hook = r.json()
    before = own.db.value(f"SELECT secret || version FROM webhooks WHERE id = '{hook['id']}'")
    r = rotate(own, hook, status=400, keep_previous=value)
    assert "keep_previous" in assert_problem(r, 400)["detail"]
    assert own.db.value(f"SELECT secret || version FROM webhooks WHERE id = '{hook['id']}'") == before
    r = own.api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", params={"keep": "1"},
                     headers=bearer(own.token), invalid=True)
    assert_problem(r, 400)


def test_only_the_webhooks_manager_rotates_its_secret(own_server):
    own = own_server("hook", SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_CONCURRENCY="0")
    annd = add_partner(own.cli, own.db, "annd").token
    escwa = add_partner(own.cli, own.db, "escwa").token
    r = own.api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=bearer(annd))
    assert r.status_code == 201, describe(r)
    hook = r.json()
    before = own.db.value(f"SELECT secret FROM webhooks WHERE id = '{hook['id']}'")
    r = own.api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=bearer(escwa))
    assert_problem(r, 403)
    r = own.api.post(f"/v1/webhooks/{hook['id']}/rotate-secret")
    assert_problem(r, 401)
    r = own.api.post(f"/v1/webhooks/{uuid.uuid4()}/rotate-secret", headers=bearer(own.token))
    assert_problem(r, 404)
    assert own.db.value(f"SELECT secret FROM webhooks WHERE id = '{hook['id']}'") == before
    r = own.api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=bearer(annd))
    assert r.status_code == 200, describe(r)
    assert own.db.value(f"SELECT secret FROM webhooks WHERE id = '{hook['id']}'") == r.json()["secret"]


def test_300_changes_survive_a_sigkill_mid_delivery_each_record_in_feed_order(
        own_server, receiver, start_server):
    env = dict(FAST, SHARAKA_WEBHOOK_CONCURRENCY="8")
    own = own_server("hook", **env)
    rcv = receiver(delay_ms=15)
    subscribe(own.api, own.token, rcv, resources=["organizations"])
    orgs = [new_org(own.api, own.token) for _ in range(30)]
    for round_ in range(9):
        for org in orgs:
            r = own.api.patch(f"/v1/organizations/{org['id']}",
                              json={"name": f"Organization {org['id'][:8]} {round_}"}, headers=bearer(own.token))
            assert r.status_code == 200, describe(r)
    rcv.wait(lambda s: len(delivered(s)) >= 40, timeout=30, what="the first 40")
    own.srv.signal(signal.SIGKILL)
    own.srv.wait_exit()
    before = len(delivered(rcv.log()))
    assert before < 300, "the kill came too late to cut deliveries short"
    again = start_server(**dict(env, SHARAKA_DATABASE_URL=own.url))
    try:
        seen = rcv.wait(lambda s: len({e["body"]["data"]["cursor"] for e in delivered(s)}) >= 300,
                        timeout=90, what="all 300 changes")
    finally:
        again.terminate()
        again.assert_clean_exit()
    got = delivered(seen)
    cursors = {e["body"]["data"]["cursor"] for e in got}
    changes = {r[0] for r in own.db.rows(
        "SELECT xid::text || '-' || seq FROM changes WHERE resource = 'organizations'")}
    assert len(changes) == 300 and cursors == changes
    # Per record, the changes came in feed order: never an older change after a newer one.
    def position(c):
        x, s = c.split("-")
        return (int(x), int(s))
    per_record = {}
    for e in got:
        per_record.setdefault(e["body"]["data"]["id"], []).append(
            position(e["body"]["data"]["cursor"]))
    for rid, seq in per_record.items():
        assert seq == sorted(seq), f"record {rid} out of feed order: {seq}"
        assert len(set(seq)) == 10
    assert all(e["verified"] for e in seen)


def test_two_instances_share_the_outbox_without_sending_one_delivery_twice(
        own_server, receiver, start_server):
    env = dict(FAST, SHARAKA_WEBHOOK_CONCURRENCY="4")
    own = own_server("hook", **env)
    second = start_server(**dict(env, SHARAKA_DATABASE_URL=own.url))
    rcv = receiver(delay_ms=5)
    subscribe(own.api, own.token, rcv, resources=["organizations"])
    for _ in range(60):
        new_org(own.api, own.token)
    seen = rcv.wait(lambda s: len(delivered(s)) >= 60, timeout=30)
    time.sleep(0.5)
    ids = [e["id"] for e in rcv.log()]
    assert second.running
    second.terminate()
    second.assert_clean_exit()
    assert len(ids) == len(set(ids)) == 60, "a delivery was sent twice"


# ---------------------------------------------------------------- who may, and what is refused


def test_partners_manage_only_their_own_source_and_admins_all(own_server):
    own = own_server("hook", SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_CONCURRENCY="0")
    annd = add_partner(own.cli, own.db, "annd")
    escwa = add_partner(own.cli, own.db, "escwa")
    analyst = add_user(own.cli, own.db, "analyst")
    url = "http://127.0.0.1:9/hooks"
    r = own.api.post("/v1/webhooks", json={"url": url}, headers=bearer(annd.token))
    assert r.status_code == 201, describe(r)
    mine = r.json()
    assert mine["owner_source"] == "annd" and r.headers["Location"] == f"/v1/webhooks/{mine['id']}"
    r = own.api.post("/v1/webhooks", json={"url": url}, headers=bearer(own.token))
    office = r.json()
    assert office["owner_source"] is None
    listed = own.api.get("/v1/webhooks", headers=bearer(escwa.token)).json()["data"]
    assert listed == []
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("get", "/deliveries"),
                         ("post", "/test")]:
        kw = {"json": {"description": "x"}} if method == "patch" else {}
        r = getattr(own.api, method)(f"/v1/webhooks/{mine['id']}{path}",
                                     headers=bearer(escwa.token), **kw)
        assert_problem(r, 403)
    r = own.api.get(f"/v1/webhooks/{office['id']}", headers=bearer(annd.token))
    assert_problem(r, 403)
    listed = own.api.get("/v1/webhooks", headers=bearer(annd.token)).json()["data"]
    assert [w["id"] for w in listed] == [mine["id"]]
    assert all("secret" not in w for w in listed)
    everything = own.api.get("/v1/webhooks", headers=bearer(own.token)).json()["data"]
    assert {w["id"] for w in everything} == {mine["id"], office["id"]}
    assert_problem(own.api.get("/v1/webhooks", headers=bearer(analyst.token)), 403)
    assert_problem(own.api.post("/v1/webhooks", json={"url": url},
                                headers=bearer(analyst.token)), 403)
    assert_problem(own.api.get("/v1/webhooks"), 401)
    assert own.db.value("SELECT count(*) FROM webhooks") == "2"
    # escwa's attempts changed nothing; annd deletes its own.
    assert own.db.value(f"SELECT description FROM webhooks WHERE id = '{mine['id']}'") == ""
    r = own.api.delete(f"/v1/webhooks/{mine['id']}", headers=bearer(annd.token))
    assert r.status_code == 204, describe(r)
    # The audit log has each write, never the secret.
    rows = own.db.rows("SELECT action, after::text, before::text FROM audit_log "
                       "WHERE resource = 'webhooks' ORDER BY at")
    assert [r[0] for r in rows] == ["create", "create", "delete"]
    assert not any("whsec_" in (r[1] or "") + (r[2] or "") for r in rows)


@pytest.mark.parametrize("url", [
    "http://198.51.100.7/hooks",           # plain http
    "https://127.0.0.1/hooks",
    "https://localhost:8443/hooks",
    "https://10.1.2.3/hooks",
    "https://172.16.0.9/hooks",
    "https://192.168.1.1/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hooks",
    "https://[::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://0.0.0.0/hooks",
    "https://2130706433/hooks",            # 127.0.0.1 spelled as one number
    "https://user:pw@hooks.example.org/x",
    "https://hooks.example.org/x#frag",
    "ftp://hooks.example.org/x",
    "hooks.example.org/x",
    "https://hooks.example.org/a b",
])
def test_a_private_or_malformed_url_is_refused_without_the_setting(ctx, url):
    before = ctx.db.value("SELECT count(*) FROM webhooks")
    r = ctx.client.post("/v1/webhooks", json={"url": url}, headers=bearer(ctx.admin.token))
    body = assert_problem(r, 422)
    assert error_entries(body) == {"url": "format"}
    assert ctx.db.value("SELECT count(*) FROM webhooks") == before


def test_the_address_is_checked_again_when_delivering(own_server, receiver):
    """A URL stored while private addresses were allowed (or a name that resolves elsewhere
    later) is refused at connection time by a server without the setting."""
    own = own_server("hook", SHARAKA_WEBHOOK_TIMEOUT="2", SHARAKA_WEBHOOK_RETRY_SCHEDULE="0",
                     SHARAKA_WEBHOOK_CONCURRENCY="16")
    rcv = receiver()
    own.db.rows(f"INSERT INTO webhooks (url, secret, created_by) VALUES "
                f"('https://127.0.0.1:{rcv.port}/hooks', 'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=', "
                f"'test') RETURNING id")
    hook_id = own.db.value("SELECT id FROM webhooks")
    new_org(own.api, own.token)
    log = wait_for(lambda: attempts(own.api, own.token, hook_id), what="an attempt")
    assert log[0]["outcome"] == "failed" and "not a public" in log[0]["error"]
    assert rcv.log() == []


@pytest.mark.parametrize("body,field,code", [
    ({}, "url", "required"),
    ({"url": 7}, "url", "type"),
    ({"url": "http://127.0.0.1:9/x", "resources": ["nope"]}, "resources", "enum"),
    ({"url": "http://127.0.0.1:9/x", "resources": "organizations"}, "resources", "type"),
    ({"url": "http://127.0.0.1:9/x", "resources": ["charters", "charters"]}, "resources",
     "duplicate"),
    ({"url": "http://127.0.0.1:9/x", "description": "d" * 501}, "description", "length"),
    ({"url": "http://127.0.0.1:9/x", "enabled": False}, "enabled", "unknown-field"),
    ({"url": "http://127.0.0.1:9/x", "secret": "whsec_mine"}, "secret", "unknown-field"),
])
def test_a_bad_body_is_a_422_that_names_the_field_and_stores_nothing(own_server, body, field,
                                                                     code):
    own = own_server("hook", SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_CONCURRENCY="0")
    r = own.api.post("/v1/webhooks", json=body, headers=bearer(own.token), invalid=True)
    problem = assert_problem(r, 422)
    assert error_entries(problem).get(field) == code
    assert own.db.value("SELECT count(*) FROM webhooks") == "0"


def test_a_bad_patch_changes_nothing_and_unknown_ids_are_404(own_server):
    own = own_server("hook", SHARAKA_WEBHOOK_ALLOW_PRIVATE="true", SHARAKA_WEBHOOK_CONCURRENCY="0")
    r = own.api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"},
                     headers=bearer(own.token))
    hook = r.json()
    r = own.api.patch(f"/v1/webhooks/{hook['id']}",
                      json={"url": "ftp://x.example.org/", "enabled": "yes"},
                      headers=bearer(own.token), invalid=True)
    problem = assert_problem(r, 422)
    assert error_entries(problem) == {"url": "format", "enabled": "type"}
    same = own.api.get(f"/v1/webhooks/{hook['id']}", headers=bearer(own.token)).json()
    assert same["version"] == hook["version"] and same["url"] == hook["url"]
    r = own.api.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": False},
                      headers=bearer(own.token))
    assert r.json()["enabled"] is False and r.json()["disabled_reason"].startswith("disabled by")
    for path in ["/v1/webhooks/3f2b8c4e-9a1d-4e6b-8f0c-2d5e7a9b1c3d", "/v1/webhooks/not-an-id"]:
        assert_problem(own.api.get(path, headers=bearer(own.token)), 404)
    r = own.api.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"limit": 0},
                    headers=bearer(own.token), invalid=True)
    assert_problem(r, 400)
    r = own.api.get("/v1/webhooks", params={"limit": 5}, headers=bearer(own.token), invalid=True)
    assert_problem(r, 400)


def test_settings_refuse_a_bad_retry_schedule(start_server):
    for value in ["", "0,,5", "1,x", "-1", "0," + ",".join(["1"] * 16), "90000"]:
        srv = start_server(wait=False, SHARAKA_WEBHOOK_RETRY_SCHEDULE=value)
        assert srv.wait_exit() == 2
        assert "SHARAKA_WEBHOOK_RETRY_SCHEDULE" in srv.stderr()
        srv.returncode = 0  # a refused start is the expected end here
    srv = start_server(wait=False, SHARAKA_WEBHOOK_ALLOW_PRIVATE="yes")
    assert srv.wait_exit() == 2 and "SHARAKA_WEBHOOK_ALLOW_PRIVATE" in srv.stderr()
    srv.returncode = 0
