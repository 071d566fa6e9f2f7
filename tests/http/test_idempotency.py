"""Idempotency-Key on POST /v1/{resource} and POST /v1/{resource}/batch.

The same key with the same request replays the first answer (`Idempotent-Replayed: true`)
without writing twice; with another request it is a 422; while the first request still runs, a
409. Keys belong to the caller, last 24 hours, and a failed request does not keep its key.
"""

import json
import threading
import time

import pytest

from support.bodies import organization_body
from support.checks import assert_problem, error_fields, expect, uniq
from support.db import Db, sql_str
from support.principals import add_key, bearer

ORGS = "/v1/organizations"
BATCH = "/v1/organizations/batch"


def post(api, path, body, token, key, **kw):
    """POSTs body as exactly these bytes, so that a retry sends the same request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    headers = {**bearer(token), "Content-Type": "application/json", "Idempotency-Key": key}
    return api.post(path, data=data, headers=headers, **kw)


def names_count(db, name):
    return db.count("organizations", f"name = {sql_str(name)}")


def stored_keys(db, key):
    return db.rows(f"SELECT principal, state, status FROM idempotency_keys "
                   f"WHERE key = {sql_str(key)} ORDER BY created_at")


def assert_replay(first, again):
    assert again.status_code == first.status_code, (first.status_code, again.status_code)
    assert again.headers.get("Idempotent-Replayed") == "true", again.headers
    assert again.content == first.content, (first.text[:300], again.text[:300])
    for h in ("Location", "ETag"):
        assert again.headers.get(h) == first.headers.get(h), (h, first.headers, again.headers)
    assert again.headers["Content-Type"].split(";")[0] == "application/json"


# ---------------------------------------------------------------- replays


def test_same_key_and_body_replays_the_first_answer_and_creates_one_record(http, admin_token,
                                                                          db):
    key = uniq("create-")
    body = organization_body(name_ar="جمعية التنمية", external_ids={"LB-MOI": uniq()})
    first = post(http, ORGS, body, admin_token, key)
    expect(first, 201, "first POST")
    assert "Idempotent-Replayed" not in first.headers
    rec = first.json()
    assert first.headers["Location"] == f"{ORGS}/{rec['id']}"
    assert first.headers["ETag"].startswith('"1-')
    for _ in range(3):
        assert_replay(first, post(http, ORGS, body, admin_token, key))
    assert names_count(db, body["name"]) == 1
    # The replay is the first answer even after the record changed.
    expect(http.patch(f"{ORGS}/{rec['id']}", json={"acronym": "NEW"},
                      headers=bearer(admin_token)), 200, "patch")
    again = post(http, ORGS, body, admin_token, key)
    assert_replay(first, again)
    assert again.json()["version"] == 1
    assert names_count(db, body["name"]) == 1


def test_batch_with_the_same_key_and_body_is_replayed_and_writes_once(http, admin_token, db):
    key = uniq("batch-")
    prefix = uniq("Replayed batch ")
    body = {"items": [organization_body(name=f"{prefix} {i}") for i in range(5)]}
    first = post(http, BATCH, body, admin_token, key)
    expect(first, 200, "first batch")
    assert [it["result"] for it in first.json()["items"]] == ["created"] * 5
    assert "Idempotent-Replayed" not in first.headers
    again = post(http, BATCH, body, admin_token, key)
    assert_replay(first, again)
    assert "Location" not in again.headers
    n = int(db.rows(f"SELECT count(*) FROM organizations WHERE name LIKE {sql_str(prefix + '%')}")
            [0][0])
    assert n == 5


def test_same_key_with_another_body_is_422_and_writes_nothing(http, admin_token, db):
    key = uniq("other-")
    body = organization_body()
    expect(post(http, ORGS, body, admin_token, key), 201, "first POST")
    other = organization_body()
    r = post(http, ORGS, other, admin_token, key)
    p = assert_problem(r, 422, instance=ORGS)
    assert p["type"] == "urn:sharaka:problem:idempotency-key-reused", p
    assert "Idempotent-Replayed" not in r.headers
    assert names_count(db, other["name"]) == 0
    # The same body with other whitespace is another request too: keys compare bytes.
    r = post(http, ORGS, json.dumps(body, indent=1).encode(), admin_token, key)
    assert_problem(r, 422, instance=ORGS)
    assert names_count(db, body["name"]) == 1


def test_same_key_and_body_on_another_route_is_422(http, admin_token, db):
    key = uniq("route-")
    body = organization_body()
    expect(post(http, ORGS, body, admin_token, key), 201, "POST /v1/organizations")
    r = post(http, "/v1/ministries", {"name": body["name"], "kind": "ministry"}, admin_token, key)
    assert_problem(r, 422, instance="/v1/ministries")
    r = post(http, BATCH, {"items": [body]}, admin_token, key)
    assert_problem(r, 422, instance=BATCH)
    assert names_count(db, body["name"]) == 1
    r = post(http, "/v1/organizations/batch?match=external_id:LB-MOI",
             {"items": [{**body, "external_ids": {"LB-MOI": "1"}}]}, admin_token, key)
    assert_problem(r, 422, instance=BATCH)


@pytest.mark.parametrize("key", ["has space", "x" * 256, "tab\there"],
                         ids=["space", "256-chars", "tab"])
def test_malformed_key_is_400_and_writes_nothing(http, admin_token, db, key):
    body = organization_body()
    r = post(http, ORGS, body, admin_token, key)
    p = assert_problem(r, 400, instance=ORGS)
    assert "Idempotency-Key" in p["detail"], p
    assert names_count(db, body["name"]) == 0


def test_key_of_255_characters_is_accepted(http, admin_token):
    key = ("k" + uniq())[:12] + "~" * 243
    body = organization_body()
    first = post(http, ORGS, body, admin_token, key)
    expect(first, 201, "255-character key")
    assert_replay(first, post(http, ORGS, body, admin_token, key))


# ---------------------------------------------------------------- a request still running


@pytest.fixture
def own(own_server):
    return own_server("idem")


def test_second_request_while_the_first_still_runs_is_409(own, api_for):
    key = uniq("running-")
    prefix = uniq("Long batch ")
    body = json.dumps({"items": [organization_body(name=f"{prefix} {i:04d}", kind="club")
                                 for i in range(1000)]}).encode()
    first = {}
    lock = Db(own.pg, own.dbname)
    try:
        # Hold the organizations table so that the first batch waits at its first insert: it
        # is then certainly still running when the second request comes.
        lock.run("BEGIN")
        lock.run("LOCK TABLE organizations IN SHARE MODE")
        runner_api = api_for(own.srv)

        def run_first():
            first["answer"] = post(runner_api, BATCH, body, own.token, key, timeout=60)

        runner = threading.Thread(target=run_first, daemon=True)
        runner.start()
        deadline = time.monotonic() + 10
        while True:
            rows = lock.run(
                f"SELECT k.state, (SELECT count(*) FROM pg_stat_activity WHERE "
                f"datname = current_database() AND wait_event_type = 'Lock') "
                f"FROM idempotency_keys k WHERE k.key = {sql_str(key)}")
            if rows and rows[0] == ["running", "1"]:
                break
            assert time.monotonic() < deadline, f"the first batch did not start: {rows}"
            time.sleep(0.02)
        second = post(own.api, BATCH, body, own.token, key)
        p = assert_problem(second, 409, instance=BATCH)
        assert p["type"] == "urn:sharaka:problem:request-in-progress", p
        assert "Idempotent-Replayed" not in second.headers
        # Another body with the running key is still another request: 422.
        other = post(own.api, BATCH, {"items": [organization_body()]}, own.token, key)
        assert_problem(other, 422, instance=BATCH)
        lock.run("COMMIT")
    finally:
        lock.close()
    runner.join(60)
    assert not runner.is_alive(), "the first batch did not finish"
    done = first["answer"]
    expect(done, 200, "the first batch")
    assert len(done.json()["items"]) == 1000
    assert "Idempotent-Replayed" not in done.headers
    assert own.db.count("organizations", f"name LIKE {sql_str(prefix + '%')}") == 1000
    assert_replay(done, post(own.api, BATCH, body, own.token, key))
    assert own.db.count("organizations", f"name LIKE {sql_str(prefix + '%')}") == 1000


def test_simultaneous_requests_with_one_key_write_once(own, api_for):
    key = uniq("race-")
    body = json.dumps(organization_body()).encode()
    name = json.loads(body)["name"]
    clients = [api_for(own.srv) for _ in range(8)]
    answers = [None] * len(clients)
    start = threading.Barrier(len(clients))

    def send(i):
        start.wait(10)
        answers[i] = post(clients[i], ORGS, body, own.token, key)

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(a is not None for a in answers), "a request did not come back"
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [(a.status_code, a.text[:200]) for a in answers]
    firsts = [a for a in answers if a.status_code == 201
              and a.headers.get("Idempotent-Replayed") != "true"]
    assert len(firsts) == 1, statuses
    for a in answers:
        if a.status_code == 201 and a is not firsts[0]:
            assert_replay(firsts[0], a)
        elif a.status_code == 409:
            assert_problem(a, 409, instance=ORGS)
    assert names_count(own.db, name) == 1


# ---------------------------------------------------------------- keys per caller, expiry, failures


def test_keys_belong_to_the_caller(http, admin_token, cli, db):
    key = uniq("shared-")
    body = organization_body()
    partner = add_key(cli, "partner", "annd")
    a = post(http, ORGS, body, admin_token, key)
    expect(a, 201, "admin")
    b = post(http, ORGS, body, partner, key)
    expect(b, 201, "partner with the admin's key")
    assert "Idempotent-Replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["source"] == "annd"
    assert names_count(db, body["name"]) == 2
    # Each caller's key replays that caller's own answer.
    assert_replay(b, post(http, ORGS, body, partner, key))
    assert_replay(a, post(http, ORGS, body, admin_token, key))
    assert len(stored_keys(db, key)) == 2


def test_key_older_than_24_hours_runs_the_request_again(http, admin_token, db):
    key = uniq("old-")
    body = organization_body()
    first = post(http, ORGS, body, admin_token, key)
    expect(first, 201, "first")
    db.run(f"UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' "
            f"WHERE key = {sql_str(key)}")
    again = post(http, ORGS, body, admin_token, key)
    expect(again, 201, "after 25 hours")
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert names_count(db, body["name"]) == 2
    # The key now stands for the new answer.
    assert_replay(again, post(http, ORGS, body, admin_token, key))
    # Within 24 hours (23 h old) it still replays.
    db.run(f"UPDATE idempotency_keys SET created_at = created_at - interval '23 hours' "
            f"WHERE key = {sql_str(key)}")
    assert_replay(again, post(http, ORGS, body, admin_token, key))
    assert names_count(db, body["name"]) == 2


def test_failed_request_does_not_keep_its_key_and_a_corrected_retry_runs(http, admin_token, db):
    key = uniq("fail-")
    bad = {"name": "Organization " + uniq()}  # no kind
    r = post(http, ORGS, bad, admin_token, key, invalid=True)
    p = assert_problem(r, 422, instance=ORGS)
    assert "kind" in error_fields(p)
    assert stored_keys(db, key) == []
    good = {**bad, "kind": "foundation"}
    first = post(http, ORGS, good, admin_token, key)
    expect(first, 201, "the corrected retry")
    assert "Idempotent-Replayed" not in first.headers
    assert_replay(first, post(http, ORGS, good, admin_token, key))
    assert names_count(db, good["name"]) == 1


def test_failed_batch_does_not_keep_its_key(http, admin_token, db):
    key = uniq("failbatch-")
    name = uniq("Batch retry ")
    bad = {"items": [organization_body(name=name), {"name": name + " 2", "kind": "bogus"}]}
    p = assert_problem(post(http, BATCH, bad, admin_token, key, invalid=True), 422, instance=BATCH)
    assert "items[1].kind" in error_fields(p), p
    assert stored_keys(db, key) == []
    good = {"items": [organization_body(name=name), {"name": name + " 2", "kind": "club"}]}
    first = post(http, BATCH, good, admin_token, key)
    expect(first, 200, "the corrected batch")
    assert_replay(first, post(http, BATCH, good, admin_token, key))
    assert names_count(db, name) == 1
