"""The audit log: every write adds exactly one row (actor, action, resource, record id, before,
after, request id, time) in the write's own transaction, so that a write whose audit row cannot be
written leaves nothing behind; GET /v1/audit-log filters by resource, record, actor and time."""

import datetime

import pytest

from support.bodies import charter_body, create, organization_body, signature_body, World
from support.checks import assert_problem, uniq

AUDIT = "/v1/audit-log"


@pytest.fixture(scope="module")
def ctx(ctx):
    admin = ctx.add_user("admin")
    return ctx.extend(admin=admin, w=World(ctx.client, admin))


def ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def db_now(ctx):
    return ts(ctx.db.value("SELECT to_json(clock_timestamp())").strip('"'))


def rows_for(ctx, record_id):
    """The audit rows of a record, through the API, oldest first."""
    r = ctx.client.get(AUDIT, params={"record_id": record_id, "limit": 200},
                       headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def write(ctx, method, path, body=None, who=None, status=None, invalid=False):
    """Sends a write with an X-Request-Id of our own; returns (answer, request id)."""
    rid = uniq("req-")
    r = ctx.client.request(method, path, json=body, headers={
        "X-Request-Id": rid, **(who or ctx.admin).headers}, invalid=invalid)
    if status is not None:
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
    assert r.headers["X-Request-Id"] == rid
    return r, rid


def check_row(row, *, action, resource, record_id, request_id, actor, before, after, t0, t1,
              actor_type="user"):
    assert row["action"] == action, row
    assert row["resource"] == resource, row
    assert row["record_id"] == record_id, row
    assert row["request_id"] == request_id, row
    assert row["actor_type"] == actor_type and row["actor_id"] == actor.sub, row
    assert row["actor_role"] == actor.role, row
    assert t0 <= ts(row["at"]) <= t1, (row["at"], t0, t1)
    for name, want in (("before", before), ("after", after)):
        if want is None:
            assert row[name] is None, row
        elif callable(want):
            assert want(row[name]), (name, row[name])
        else:
            assert row[name] == want, (name, row[name], want)


# ---------------------------------------------------------------- one row per write


def test_create_patch_and_delete_each_add_one_complete_audit_row(ctx):
    t0 = db_now(ctx)
    created, rid1 = write(ctx, "POST", "/v1/organizations", organization_body(), status=201)
    org = created.json()
    patched, rid2 = write(ctx, "PATCH", f"/v1/organizations/{org['id']}",
                          {"description": "audited change"}, status=200)
    _, rid3 = write(ctx, "DELETE", f"/v1/organizations/{org['id']}", status=204)
    t1 = db_now(ctx)
    rows = rows_for(ctx, org["id"])
    assert len(rows) == 3, rows
    common = {"resource": "organizations", "record_id": org["id"], "actor": ctx.admin,
              "t0": t0, "t1": t1}
    check_row(rows[0], action="create", request_id=rid1, before=None, after=org, **common)
    check_row(rows[1], action="update", request_id=rid2, before=org, after=patched.json(),
              **common)
    check_row(rows[2], action="delete", request_id=rid3, before=patched.json(), after=None,
              **common)
    assert ts(rows[0]["at"]) <= ts(rows[1]["at"]) <= ts(rows[2]["at"])
    one = ctx.client.get(f"{AUDIT}/{rows[1]['id']}", headers=ctx.admin.headers)
    assert one.status_code == 200 and one.json() == rows[1], one.text


def test_a_generated_request_id_is_the_one_recorded(ctx):
    r = ctx.client.post("/v1/organizations", json=organization_body(), headers=ctx.admin.headers)
    assert r.status_code == 201
    [row] = rows_for(ctx, r.json()["id"])
    assert row["request_id"] == r.headers["X-Request-Id"]


def test_an_unchanged_update_and_a_refused_write_add_no_row(ctx):
    org = create(ctx.client, ctx.admin.token, "/v1/organizations",
                 organization_body(description="same"))
    write(ctx, "PATCH", f"/v1/organizations/{org['id']}", {"description": "same"}, status=200)
    r, _ = write(ctx, "PATCH", f"/v1/organizations/{org['id']}", {"kind": "no-such-kind"},
                 invalid=True)
    assert_problem(r, 422)
    assert len(rows_for(ctx, org["id"])) == 1


def test_each_batch_item_adds_its_own_row_with_the_batch_request_id(ctx):
    existing = create(ctx.client, ctx.admin.token, "/v1/organizations", organization_body())
    t0 = db_now(ctx)
    r, rid = write(ctx, "POST", "/v1/organizations/batch", {"items": [
        organization_body(), organization_body(),
        {"id": existing["id"], "description": "changed in a batch"}]},
        status=200)
    t1 = db_now(ctx)
    items = r.json()["items"]
    assert [i["result"] for i in items] == ["created", "created", "updated"], items
    for item, action in zip(items, ("create", "create", "update")):
        [row] = rows_for(ctx, item["id"])[-1:]
        check_row(row, action=action, resource="organizations", record_id=item["id"],
                  request_id=rid, actor=ctx.admin, t0=t0, t1=t1,
                  before=None if action == "create" else existing,
                  after=lambda a, i=item: a["id"] == i["id"] and a["version"] == i["version"])
    r = ctx.client.get(AUDIT, params={"request_id": rid}, headers=ctx.admin.headers)
    assert r.status_code == 200 and len(r.json()["data"]) == 3, r.text


def test_signatures_are_audited(ctx):
    w = ctx.w
    charter = create(ctx.client, ctx.admin.token, "/v1/charters", charter_body())
    t0 = db_now(ctx)
    r, rid = write(ctx, "POST", f"/v1/charters/{charter['id']}/signatories",
                   signature_body("organization", w.A["id"]), status=201)
    sig = r.json()
    r2, rid2 = write(ctx, "PATCH", f"/v1/charters/{charter['id']}/signatories/{sig['id']}",
                     {"withdrawn_on": "2024-12-31"}, status=200)
    t1 = db_now(ctx)
    rows = rows_for(ctx, sig["id"])
    assert len(rows) == 2, rows
    common = {"resource": "signatories", "record_id": sig["id"], "actor": ctx.admin, "t0": t0,
              "t1": t1}
    check_row(rows[0], action="create", request_id=rid, before=None, after=sig, **common)
    check_row(rows[1], action="update", request_id=rid2, before=sig, after=r2.json(), **common)


def test_a_change_of_partnership_parties_alone_is_audited_and_versioned(ctx):
    w = ctx.w
    p = w.partnership(w.N, [w.A, w.B])
    r, rid = write(ctx, "PATCH", f"/v1/partnerships/{p['id']}", {
        "organizations": [{"organization_id": w.A["id"], "role": "lead"}]}, status=200)
    assert r.json()["organizations"] == [{"organization_id": w.A["id"], "role": "lead"}]
    assert r.json()["version"] == p["version"] + 1, (
        f"the parties changed but the version stayed {r.json()['version']}")
    rows = rows_for(ctx, p["id"])
    assert [x["action"] for x in rows] == ["create", "update"], rows
    assert rows[1]["request_id"] == rid
    assert rows[1]["before"]["organizations"] == p["organizations"]
    assert rows[1]["after"]["organizations"] == r.json()["organizations"]


def test_user_changes_are_audited_without_the_password(ctx):
    secret = "audited user password " + uniq()
    t0 = db_now(ctx)
    r, rid = write(ctx, "POST", "/v1/users", {"email": f"{uniq()}@audit.test",
                                              "password": secret, "role": "analyst"}, status=201)
    user = r.json()
    r2, rid2 = write(ctx, "PATCH", f"/v1/users/{user['id']}", {"role": "admin"}, status=200)
    r3, rid3 = write(ctx, "PATCH", f"/v1/users/{user['id']}", {"password": secret + "2"},
                     status=200)
    t1 = db_now(ctx)
    rows = rows_for(ctx, user["id"])
    assert [x["action"] for x in rows] == ["create", "update", "update"], rows
    common = {"resource": "users", "record_id": user["id"], "actor": ctx.admin, "t0": t0,
              "t1": t1}
    check_row(rows[0], action="create", request_id=rid, before=None, after=user, **common)
    check_row(rows[1], action="update", request_id=rid2, before=user, after=r2.json(), **common)
    check_row(rows[2], action="update", request_id=rid3, before=r2.json(), after=r3.json(),
              **common)
    text = ctx.db.value(f"SELECT json_agg(a)::text FROM audit_log a "
                          f"WHERE record_id = '{user['id']}'")
    assert secret not in text and "argon2" not in text and "password" not in text, text


def test_api_key_creation_and_revocation_are_audited_without_the_key(ctx):
    t0 = db_now(ctx)
    r, rid = write(ctx, "POST", "/v1/api-keys", {"name": uniq("key"), "role": "partner",
                                                 "source": "annd"}, status=201)
    key = r.json()
    _, rid2 = write(ctx, "DELETE", f"/v1/api-keys/{key['id']}", status=204)
    t1 = db_now(ctx)
    rows = rows_for(ctx, key["id"])
    assert [x["action"] for x in rows] == ["create", "delete"], rows
    common = {"resource": "api-keys", "record_id": key["id"], "actor": ctx.admin, "t0": t0,
              "t1": t1}
    check_row(rows[0], action="create", request_id=rid, before=None,
              after=lambda a: a["id"] == key["id"] and "key" not in a and "key_hash" not in a,
              **common)
    check_row(rows[1], action="delete", request_id=rid2, after=None,
              before=lambda b: b["id"] == key["id"] and b["revoked_at"] is None, **common)
    text = ctx.db.value(f"SELECT json_agg(a)::text FROM audit_log a "
                          f"WHERE record_id = '{key['id']}'")
    secret = key["key"][len(key["prefix"]):]
    assert secret not in text and "key_hash" not in text, text


def test_partner_writes_are_audited_as_the_key(ctx):
    partner = ctx.add_partner("annd")
    t0 = db_now(ctx)
    r, rid = write(ctx, "POST", "/v1/organizations", organization_body(), who=partner, status=201)
    t1 = db_now(ctx)
    [row] = rows_for(ctx, r.json()["id"])
    check_row(row, action="create", resource="organizations", record_id=r.json()["id"],
              request_id=rid, actor=partner, actor_type="api_key", before=None, after=r.json(),
              t0=t0, t1=t1)


# ---------------------------------------------------------------- reading the log


def test_audit_log_filters_by_resource_record_actor_and_time(ctx):
    actor = ctx.add_user("admin")
    org = create(ctx.client, actor.token, "/v1/organizations", organization_body())
    ministry = create(ctx.client, actor.token, "/v1/ministries",
                      {"name": "Audit " + uniq(), "kind": "ministry"})
    write(ctx, "PATCH", f"/v1/organizations/{org['id']}", {"description": "x"}, who=actor,
          status=200)

    def audit(**params):
        r = ctx.client.get(AUDIT, params={"limit": 200, **params}, headers=ctx.admin.headers)
        assert r.status_code == 200, r.text
        return r.json()["data"]

    mine = audit(actor_id=actor.sub)
    assert [(x["resource"], x["action"]) for x in mine] == [
        ("organizations", "create"), ("ministries", "create"), ("organizations", "update")], mine
    assert all(x["actor_id"] == actor.sub for x in mine)
    assert [x["record_id"] for x in audit(actor_id=actor.sub, resource="ministries")] == [
        ministry["id"]]
    assert {x["record_id"] for x in audit(record_id=org["id"])} == {org["id"]}
    assert len(audit(record_id=org["id"], resource="ministries")) == 0
    # A time window: at.gte the second row, at.lt the third.
    window = audit(actor_id=actor.sub, **{"at.gte": mine[1]["at"], "at.lt": mine[2]["at"]})
    assert [x["id"] for x in window] == [mine[1]["id"]], window
    assert [x["id"] for x in audit(actor_id=actor.sub, **{"at.gte": mine[2]["at"]})] == [
        mine[2]["id"]]
    assert audit(actor_id=actor.sub, **{"at.lt": mine[0]["at"]}) == []


def test_audit_log_rejects_unknown_filters(ctx):
    r = ctx.client.get(AUDIT, params={"secret": "1"}, headers=ctx.admin.headers, invalid=True)
    assert_problem(r, 400)


# ---------------------------------------------------------------- no write without its row


@pytest.fixture
def failing_audit(ctx):
    """(marker, install): install() adds a trigger that makes audit inserts fail for records
    named marker; it is dropped after the test whatever happens."""
    marker = uniq("audit-fails-")

    def install():
        ctx.db.lines(f"""
            CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.after->>'name' = '{marker}' OR NEW.before->>'name' = '{marker}' THEN
                    RAISE EXCEPTION 'audit insert refused by the test';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log
                FOR EACH ROW EXECUTE FUNCTION test_refuse_audit();
        """)
    try:
        yield marker, install
    finally:
        ctx.db.lines("DROP TRIGGER IF EXISTS test_refuse_audit ON audit_log; "
                    "DROP FUNCTION IF EXISTS test_refuse_audit();")


def counts(ctx):
    return [ctx.db.count(t) for t in ("organizations", "audit_log", "changes")]


def test_a_write_whose_audit_row_fails_leaves_nothing_behind(ctx, failing_audit):
    marker, install = failing_audit
    named = create(ctx.client, ctx.admin.token, "/v1/organizations", organization_body(name=marker))
    other = create(ctx.client, ctx.admin.token, "/v1/organizations", organization_body())
    install()

    before = counts(ctx)
    rows = [ctx.db.row("organizations", i) for i in (named["id"], other["id"])]
    attempts = [
        ("POST", "/v1/organizations", organization_body(name=marker)),
        ("PATCH", f"/v1/organizations/{other['id']}", {"name": marker}),
        ("DELETE", f"/v1/organizations/{named['id']}", None),
        ("POST", "/v1/organizations/batch",
         {"items": [organization_body(), organization_body(name=marker)]}),
    ]
    for method, path, body in attempts:
        r = ctx.client.request(method, path, json=body, headers=ctx.admin.headers)
        assert 500 <= r.status_code < 600, f"{method} {path}: {r.status_code} {r.text[:300]}"
        assert_problem(r, r.status_code)
        assert counts(ctx) == before, f"{method} {path} left rows behind"
        assert [ctx.db.row("organizations", i) for i in (named["id"], other["id"])] == rows
    assert ctx.db.count("organizations", f"name = '{marker}' AND id <> '{named['id']}'") == 0
    # The server is fine afterwards.
    assert ctx.client.get("/v1/organizations", params={"limit": 1}).status_code == 200
