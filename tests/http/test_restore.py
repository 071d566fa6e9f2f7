"""POST /v1/{resource}/{id}/restore: an admin brings a deleted record back (version + 1, an upsert
in the change feed, a `restore` in the audit log); everyone else is refused and nothing changes;
a record that is live, unknown, or refers to deleted records is a 409 or 404; creating a record
with a deleted record's id is a 409 that says to restore it."""

import re
import uuid

import pytest

from support.bodies import (full_monitoring_body, full_partnership_body, make_charter,
                            make_ministry, make_organization, make_partnership_type, create,
                            organization_body)
from support.checks import assert_problem, describe, error_entries
from support.db import sql_str
from support.principals import bearer

TABLES = {"organizations": "organizations", "ministries": "ministries",
          "partnership-types": "partnership_types", "partnerships": "partnerships",
          "charters": "charters", "monitoring-records": "monitoring_records"}


@pytest.fixture(scope="module")
def people(ctx):
    return ctx.extend(analyst=ctx.add_user("analyst"), partner=ctx.add_partner("annd"))


def _make(ctx, name):
    c, t = ctx.client, ctx.admin.token
    if name == "organizations":
        return make_organization(c, t)
    if name == "ministries":
        return make_ministry(c, t)
    if name == "partnership-types":
        return make_partnership_type(c, t)
    if name == "charters":
        return make_charter(c, t)
    if name == "partnerships":
        return create(c, t, "/v1/partnerships", full_partnership_body(c, t))
    return create(c, t, "/v1/monitoring-records", full_monitoring_body(c, t))


def _delete(ctx, name, record_id):
    r = ctx.client.delete(f"/v1/{name}/{record_id}", headers=bearer(ctx.admin.token))
    assert r.status_code == 204, describe(r)


def _state(ctx, name, record_id):
    return ctx.db.row(TABLES[name], record_id)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_an_admin_restores_a_deleted_record(ctx, name):
    made = _make(ctx, name)
    rid = made["id"]
    _delete(ctx, name, rid)
    assert ctx.client.get(f"/v1/{name}/{rid}", headers=bearer(ctx.admin.token)).status_code == 404
    deleted_version = int(ctx.db.value(f"SELECT version FROM {TABLES[name]} "
                                       f"WHERE id = {sql_str(rid)}"))
    r = ctx.client.post(f"/v1/{name}/{rid}/restore", headers=bearer(ctx.admin.token))
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert body["id"] == rid and body["version"] == deleted_version + 1
    assert r.headers["ETag"].startswith(f'"{deleted_version + 1}-'), r.headers
    assert re.fullmatch(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}", r.headers["Sharaka-Consistency"])
    again = ctx.client.get(f"/v1/{name}/{rid}", headers=bearer(ctx.admin.token))
    assert again.status_code == 200 and again.json() == body, describe(again)
    [[op, version]] = ctx.db.rows(
        f"SELECT op, version FROM changes WHERE record_id = {sql_str(rid)} "
        f"ORDER BY xid DESC, seq DESC LIMIT 1")
    assert (op, int(version)) == ("upsert", deleted_version + 1)
    actions = [a for [a] in ctx.db.rows(
        f"SELECT action FROM audit_log WHERE record_id = {sql_str(rid)} ORDER BY at, id")]
    assert actions == ["create", "delete", "restore"], actions


@pytest.mark.parametrize("who", ["anonymous", "analyst", "partner"])
def test_only_an_admin_restores_and_a_refusal_changes_nothing(ctx, people, who):
    rid = _make(ctx, "organizations")["id"]
    _delete(ctx, "organizations", rid)
    before = _state(ctx, "organizations", rid)
    headers = {} if who == "anonymous" else getattr(people, who).headers
    r = ctx.client.post(f"/v1/organizations/{rid}/restore", headers=headers)
    problem = assert_problem(r, 401 if who == "anonymous" else 403)
    # The refusal names what was asked: restoring, not deleting.
    assert "restore organizations" in problem["detail"], problem
    assert _state(ctx, "organizations", rid) == before


def test_restoring_a_live_unknown_or_malformed_record_is_refused(ctx):
    t = ctx.admin.token
    rid = _make(ctx, "ministries")["id"]
    before = _state(ctx, "ministries", rid)
    p = assert_problem(ctx.client.post(f"/v1/ministries/{rid}/restore", headers=bearer(t)), 409)
    assert p["type"].endswith(":not-deleted"), p
    assert _state(ctx, "ministries", rid) == before
    assert_problem(ctx.client.post(f"/v1/ministries/{uuid.uuid4()}/restore", headers=bearer(t)),
                   404)
    assert_problem(ctx.client.post("/v1/ministries/not-an-id/restore", headers=bearer(t)), 404)


def test_a_record_that_refers_to_deleted_records_is_restored_only_after_them(ctx):
    c, t = ctx.client, ctx.admin.token
    partnership = create(c, t, "/v1/partnerships", full_partnership_body(c, t))
    pid, mid = partnership["id"], partnership["ministry_id"]
    _delete(ctx, "partnerships", pid)
    _delete(ctx, "ministries", mid)  # no live partnership refers to it any more
    before = _state(ctx, "partnerships", pid)
    r = c.post(f"/v1/partnerships/{pid}/restore", headers=bearer(t))
    p = assert_problem(r, 409)
    assert p["type"].endswith(":restore-blocked"), p
    assert error_entries(p) == {"ministry_id": "invalid-reference"}, p
    assert _state(ctx, "partnerships", pid) == before
    assert c.post(f"/v1/ministries/{mid}/restore", headers=bearer(t)).status_code == 200
    r = c.post(f"/v1/partnerships/{pid}/restore", headers=bearer(t))
    assert r.status_code == 200 and r.json()["ministry_id"] == mid, describe(r)


def test_creating_with_a_deleted_record_s_id_is_a_409_that_says_to_restore_it(ctx):
    t = ctx.admin.token
    rid = str(uuid.uuid4())
    created = create(ctx.client, t, "/v1/organizations", organization_body(id=rid))
    assert created["id"] == rid
    again = ctx.client.post("/v1/organizations", json=organization_body(id=rid),
                            headers=bearer(t))
    p = assert_problem(again, 409)
    assert p["type"].endswith(":duplicate"), p
    _delete(ctx, "organizations", rid)
    before = _state(ctx, "organizations", rid)
    r = ctx.client.post("/v1/organizations", json=organization_body(id=rid), headers=bearer(t))
    p = assert_problem(r, 409)
    assert p["type"].endswith(":deleted"), p
    assert f"/v1/organizations/{rid}/restore" in p["detail"], p
    assert _state(ctx, "organizations", rid) == before
