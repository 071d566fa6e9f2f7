"""POST /v1/{organizations,ministries,partnerships,monitoring-records}/batch.

Up to 1000 creates or updates in one transaction: all or nothing, errors reported per item
index (`items[3].name`), each item matched by `id` or, for organizations, partnerships and
monitoring records, by an external identifier (`?match=external_id:LB-MOI`); the answer says what
happened to each item. Every item meets the access policy on its own.
"""

import json
import uuid

import pytest

from support.bodies import (create, ministry_body, monitoring_body, organization_body,
                            partnership_body, partnership_type_body)
from support.checks import assert_problem, error_fields, expect, uniq
from support.db import sql_str
from support.principals import add_key, add_user, bearer

BATCH = "/v1/{}/batch"
OB = BATCH.format("organizations")


def batch(http, resource, items, token, params=None, **kw):
    return http.post(BATCH.format(resource), json={"items": items}, headers=bearer(token),
                     params=params, **kw)


def results(r):
    expect(r, 200, "batch")
    return r.json()["items"]


def footprint(db, prefix):
    """What a rejected batch must leave as it was: records with the prefix, feed and audit rows."""
    like = sql_str(prefix + "%")
    row = db.rows(
        f"SELECT (SELECT count(*) FROM organizations WHERE name LIKE {like}), "
        f"(SELECT count(*) FROM ministries WHERE name LIKE {like}), "
        f"(SELECT count(*) FROM partnerships WHERE title LIKE {like}), "
        f"(SELECT count(*) FROM monitoring_records WHERE indicator LIKE {like}), "
        f"(SELECT count(*) FROM changes), (SELECT count(*) FROM audit_log), "
        f"(SELECT coalesce(sum(version), 0) FROM organizations)")
    return tuple(int(x) for x in row[0])


def get(http, resource, rid, token):
    r = http.get(f"/v1/{resource}/{rid}", headers=bearer(token))
    return expect(r, 200, f"GET {resource}").json()


@pytest.fixture
def world(http, admin_token):
    """A ministry, a partnership type and two organizations made by the admin."""
    m = create(http, admin_token, "/v1/ministries", ministry_body())
    t = create(http, admin_token, "/v1/partnership-types", partnership_type_body())
    a = create(http, admin_token, "/v1/organizations", organization_body())
    b = create(http, admin_token, "/v1/organizations", organization_body())
    return {"ministry": m["id"], "type": t["id"], "a": a["id"], "b": b["id"]}


# ---------------------------------------------------------------- size and shape


def test_batch_of_1000_items_is_written_and_1001_items_are_422(http, admin_token, db):
    prefix = uniq("B1k ")
    items = [{"name": f"{prefix}{i}", "kind": "club"} for i in range(1001)]
    assert len(json.dumps({"items": items})) < 65536
    before = footprint(db, prefix)
    r = batch(http, "organizations", items, admin_token, timeout=60, invalid=True)
    p = assert_problem(r, 422, instance=OB)
    assert "items" in error_fields(p), p
    assert footprint(db, prefix) == before
    res = results(batch(http, "organizations", items[:1000], admin_token, timeout=60))
    assert [x["index"] for x in res] == list(range(1000))
    assert {x["result"] for x in res} == {"created"} and {x["version"] for x in res} == {1}
    assert len({x["id"] for x in res}) == 1000
    assert footprint(db, prefix)[0] == 1000


@pytest.mark.parametrize("body", [
    {"items": []},
    {"items": {}},
    {"items": "x"},
    {"item": [{"name": "x", "kind": "club"}]},
    {"items": [{"name": "x", "kind": "club"}], "extra": True},
    {},
], ids=["empty", "object", "string", "misspelt", "extra-key", "no-items"])
def test_body_that_is_not_items_array_of_1_to_1000_is_422(http, admin_token, body):
    r = http.post(OB, json=body, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance=OB)
    assert "items" in error_fields(p), p


def test_item_that_is_not_an_object_is_an_error_at_its_index(http, admin_token, db):
    prefix = uniq("Shape ")
    before = footprint(db, prefix)
    r = batch(http, "organizations", [organization_body(name=prefix + "a"), 5, "x"], admin_token,
              invalid=True)
    p = assert_problem(r, 422, instance=OB)
    assert {"items[1]", "items[2]"} <= error_fields(p), p
    assert footprint(db, prefix) == before


def test_malformed_json_is_400_and_wrong_media_type_is_415(http, admin_token):
    h = {**bearer(admin_token), "Content-Type": "application/json"}
    assert_problem(http.post(OB, data=b'{"items": [', headers=h, invalid=True), 400, instance=OB)
    h["Content-Type"] = "text/plain"
    assert_problem(http.post(OB, data=b'{"items": []}', headers=h, invalid=True), 415, instance=OB)


# ---------------------------------------------------------------- all or nothing


def test_one_bad_item_writes_nothing_and_errors_name_each_item_index(http, admin_token, db):
    prefix = uniq("AllOrNothing ")
    items = [
        organization_body(name=prefix + "0"),
        organization_body(name=prefix + "1", kind="bogus"),
        organization_body(name=prefix + "2"),
        {"kind": "club", "colour": "red"},
        organization_body(name=prefix + "4", website="not a url", founded_on="2020-02-30"),
        organization_body(name=prefix + "5"),
    ]
    before = footprint(db, prefix)
    r = batch(http, "organizations", items, admin_token, invalid=True)
    p = assert_problem(r, 422, instance=OB)
    fields = error_fields(p)
    assert {"items[1].kind", "items[3].name", "items[3].colour", "items[4].website",
            "items[4].founded_on"} <= fields, fields
    assert not any(f.startswith(("items[0]", "items[2]", "items[5]")) for f in fields), fields
    assert footprint(db, prefix) == before


def test_one_bad_update_rolls_back_the_good_creates_and_updates(http, admin_token, db, world):
    prefix = uniq("Rollback ")
    a_before = get(http, "organizations", world["a"], admin_token)
    before = footprint(db, prefix)
    items = [organization_body(name=prefix + "new"),
             {"id": world["a"], "description": "should not stay"},
             {"id": world["b"], "status": "asleep"}]
    p = assert_problem(batch(http, "organizations", items, admin_token,
                             invalid=True), 422, instance=OB)
    assert error_fields(p) == {"items[2].status"}, p
    assert footprint(db, prefix) == before
    assert get(http, "organizations", world["a"], admin_token) == a_before


def test_database_error_of_one_item_does_not_stop_the_checks_of_the_next(http, admin_token, db):
    # An item whose id belongs to a deleted organization cannot be created again (the id is
    # taken); the items after it are still checked and their errors reported too.
    gone = create(http, admin_token, "/v1/organizations", organization_body())
    expect(http.delete(f"/v1/organizations/{gone['id']}", headers=bearer(admin_token)), 204,
           "delete")
    prefix = uniq("Savepoint ")
    before = footprint(db, prefix)
    items = [{"id": gone["id"], "name": prefix + "0", "kind": "club"},
             organization_body(name=prefix + "1"),
             organization_body(name=prefix + "2", kind="nope")]
    p = assert_problem(batch(http, "organizations", items, admin_token,
                             invalid=True), 422, instance=OB)
    fields = error_fields(p)
    assert any(f.startswith("items[0]") for f in fields), p
    assert "items[2].kind" in fields and not any(f.startswith("items[1]") for f in fields), p
    assert footprint(db, prefix) == before


# ---------------------------------------------------------------- matching and results


def test_items_are_matched_by_id_and_results_say_created_updated_unchanged(http, admin_token,
                                                                           db):
    a = create(http, admin_token, "/v1/organizations", organization_body(acronym="A1"))
    b = create(http, admin_token, "/v1/organizations", organization_body(acronym="B1"))
    chosen = str(uuid.uuid4())
    items = [
        {"id": a["id"], "acronym": "A2"},
        {"id": b["id"], "acronym": "B1", "name": b["name"]},
        organization_body(name_fr="Association nouvelle"),
        {"id": chosen, "name": "Chosen id " + uniq(), "kind": "union"},
        {"id": chosen, "acronym": "CH"},
    ]
    res = results(batch(http, "organizations", items, admin_token))
    assert [(x["index"], x["result"], x["version"]) for x in res] == [
        (0, "updated", 2), (1, "unchanged", 1), (2, "created", 1), (3, "created", 1),
        (4, "updated", 2)]
    assert res[0]["id"] == a["id"] and res[1]["id"] == b["id"]
    assert res[3]["id"] == chosen and res[4]["id"] == chosen
    assert get(http, "organizations", a["id"], admin_token)["acronym"] == "A2"
    new = get(http, "organizations", res[2]["id"], admin_token)
    assert new["name_fr"] == "Association nouvelle" and new["version"] == 1
    made = get(http, "organizations", chosen, admin_token)
    assert made["acronym"] == "CH" and made["kind"] == "union" and made["version"] == 2
    # Updates are merge patches: what an item leaves out keeps its value; null clears.
    res = results(batch(http, "organizations", [{"id": a["id"], "acronym": None}], admin_token))
    assert res[0]["result"] == "updated"
    after = get(http, "organizations", a["id"], admin_token)
    assert after["acronym"] is None and after["name"] == a["name"]


def test_match_by_external_id_updates_the_record_with_that_identifier(http, admin_token, db):
    scheme = "LB-MOI"
    ids = [f"{uniq()}/AD" for _ in range(4)]
    q = {"match": f"external_id:{scheme}"}
    first = [organization_body(external_ids={scheme: ids[i]}, description="v1") for i in range(3)]
    res = results(batch(http, "organizations", first, admin_token, params=q))
    assert [x["result"] for x in res] == ["created"] * 3
    made = [x["id"] for x in res]
    second = [
        {"external_ids": {scheme: ids[0]}, "description": "v2"},
        {"external_ids": {scheme: ids[1]}, "description": "v1"},
        organization_body(external_ids={scheme: ids[3], "ANND": "77"}),
        {"external_ids": {scheme: ids[2], "ANND": "12"}},
    ]
    res = results(batch(http, "organizations", second, admin_token, params=q))
    assert [(x["result"], x["version"]) for x in res] == [
        ("updated", 2), ("unchanged", 1), ("created", 1), ("updated", 2)]
    assert [x["id"] for x in res[:2]] == made[:2] and res[3]["id"] == made[2]
    assert get(http, "organizations", made[0], admin_token)["description"] == "v2"
    # external_ids merge: the new scheme joins the old one.
    assert get(http, "organizations", made[2], admin_token)["external_ids"] == {
        scheme: ids[2], "ANND": "12"}
    # Matching and listing agree.
    r = http.get("/v1/organizations", params={"external_ids": f"{scheme}:{ids[0]}"},
                 headers=bearer(admin_token))
    assert [o["id"] for o in expect(r, 200, "list").json()["data"]] == [made[0]]


def test_match_by_external_id_needs_the_identifier_and_refuses_ambiguity(http, admin_token, db):
    scheme = "LB-MOI"
    q = {"match": f"external_id:{scheme}"}
    shared = uniq("dup-")
    for _ in range(2):
        create(http, admin_token, "/v1/organizations",
               organization_body(external_ids={scheme: shared}))
    prefix = uniq("Match ")
    before = footprint(db, prefix)
    items = [organization_body(name=prefix + "0"),                       # no LB-MOI identifier
             organization_body(name=prefix + "1", external_ids={"OTHER": "1"}),
             {"external_ids": {scheme: shared}, "description": "which one?"},
             organization_body(name=prefix + "3", external_ids={scheme: uniq()})]
    p = assert_problem(batch(http, "organizations", items, admin_token, params=q), 422,
                       instance=OB)
    fields = error_fields(p)
    assert {f"items[0].external_ids.{scheme}", f"items[1].external_ids.{scheme}"} <= fields, p
    ambiguous = [e for e in p["errors"] if e["field"] == "items[2]"]
    assert ambiguous and ambiguous[0]["code"] == "ambiguous-match", p
    assert not any(f.startswith("items[3]") for f in fields), p
    assert footprint(db, prefix) == before


@pytest.mark.parametrize("resource,match", [
    ("organizations", "external_id:"),
    ("organizations", "external:LB-MOI"),
    ("organizations", "id"),
    ("ministries", "external_id:LB-MOI"),
])
def test_match_other_than_external_id_scheme_on_organizations_is_400(http, admin_token,
                                                                     resource, match):
    r = batch(http, resource, [{"name": "x", "kind": "club"}], admin_token,
              params={"match": match}, invalid=True)
    p = assert_problem(r, 400, instance=BATCH.format(resource))
    assert "external_id" in p["detail"], p


# ---------------------------------------------------------------- the other resources


def test_batch_of_ministries_creates_and_updates(http, admin_token):
    m = create(http, admin_token, "/v1/ministries", ministry_body(acronym="OMSAR"))
    items = [ministry_body(kind="municipality", governorate="akkar"),
             {"id": m["id"], "website": "https://omsar.gov.lb"},
             {"id": m["id"], "acronym": "OMSAR"}]
    res = results(batch(http, "ministries", items, admin_token))
    assert [(x["result"], x["version"]) for x in res] == [
        ("created", 1), ("updated", 2), ("unchanged", 2)]
    assert get(http, "ministries", res[0]["id"], admin_token)["governorate"] == "akkar"
    assert get(http, "ministries", m["id"], admin_token)["website"] == "https://omsar.gov.lb"
    p = assert_problem(batch(http, "ministries", [{"id": m["id"], "parent_id": m["id"]}],
                             admin_token), 422, instance=BATCH.format("ministries"))
    assert any(f.startswith("items[0]") for f in error_fields(p)), p


def test_batch_of_partnerships_creates_and_updates_and_checks_references(http, admin_token,
                                                                         world, db):
    prefix = uniq("PB ")
    p1 = create(http, admin_token, "/v1/partnerships",
                partnership_body(world["type"], world["ministry"], [world["a"]],
                                 title=prefix + "existing"))
    items = [
        partnership_body(world["type"], world["ministry"], [world["a"], world["b"]],
                         title=prefix + "new", amount="25000.00", currency="LBP",
                         governorates=["beirut", "north"], start_date="2024-01-01"),
        {"id": p1["id"], "status": "active", "programme": "AFKAR 3"},
    ]
    res = results(batch(http, "partnerships", items, admin_token))
    assert [(x["result"], x["version"]) for x in res] == [("created", 1), ("updated", 2)]
    new = get(http, "partnerships", res[0]["id"], admin_token)
    assert new["organizations"] == [{"organization_id": world["a"], "role": "lead"},
                                    {"organization_id": world["b"], "role": "partner"}]
    assert new["amount"] == "25000.00" and new["currency"] == "LBP"
    assert get(http, "partnerships", p1["id"], admin_token)["programme"] == "AFKAR 3"
    before = footprint(db, prefix)
    ghost = str(uuid.uuid4())
    bad = [partnership_body(world["type"], ghost, [world["a"]], title=prefix + "x"),
           partnership_body(world["type"], world["ministry"], [ghost], title=prefix + "y"),
           partnership_body(world["type"], world["ministry"], [world["a"]],
                            title=prefix + "z", amount="10.00")]
    p = assert_problem(batch(http, "partnerships", bad, admin_token), 422,
                       instance=BATCH.format("partnerships"))
    fields = error_fields(p)
    assert "items[0].ministry_id" in fields, p
    assert "items[1].organizations[0].organization_id" in fields, p
    assert any(f.startswith("items[2]") for f in fields), p
    assert footprint(db, prefix) == before


def test_batch_of_monitoring_records_creates_and_updates(http, admin_token, world, db):
    part = create(http, admin_token, "/v1/partnerships",
                  partnership_body(world["type"], world["ministry"], [world["a"]]))
    mr = create(http, admin_token, "/v1/monitoring-records", monitoring_body(part["id"]))
    prefix = uniq("MB ")
    items = [monitoring_body(part["id"], indicator=prefix + "clubs", target=40, actual=12,
                             rating="at-risk"),
             {"id": mr["id"], "rating": "on-track", "actual": 30},
             monitoring_body(part["id"], indicator=prefix + "bad", period_start="2024-06-01",
                             period_end="2024-01-01")]
    r = batch(http, "monitoring-records", items, admin_token)
    p = assert_problem(r, 422, instance=BATCH.format("monitoring-records"))
    assert any(f.startswith("items[2]") for f in error_fields(p)), p
    assert footprint(db, prefix)[3] == 0
    res = results(batch(http, "monitoring-records", items[:2], admin_token))
    assert [(x["result"], x["version"]) for x in res] == [("created", 1), ("updated", 2)]
    made = get(http, "monitoring-records", res[0]["id"], admin_token)
    assert (made["rating"], made["target"], made["actual"]) == ("at-risk", 40, 12)
    assert get(http, "monitoring-records", mr["id"], admin_token)["rating"] == "on-track"


# ---------------------------------------------------------------- access, item by item


def test_partner_can_create_and_update_its_own_but_not_another_sources_record(http, cli,
                                                                               admin_token,
                                                                               world, db):
    partner = add_key(cli, "partner", "escwa")
    own = create(http, partner, "/v1/organizations", organization_body())
    assert own["source"] == "escwa"
    prefix = uniq("Partner ")
    a_before = get(http, "organizations", world["a"], admin_token)
    before = footprint(db, prefix)
    items = [organization_body(name=prefix + "new"),
             {"id": own["id"], "description": "ours"},
             {"id": world["a"], "description": "theirs"}]
    p = assert_problem(batch(http, "organizations", items, partner), 422, instance=OB)
    item2 = [e for e in p["errors"] if e["field"].startswith("items[2]")]
    assert item2 and item2[0]["code"] == "forbidden", p
    assert not any(e["field"].startswith(("items[0]", "items[1]")) for e in p["errors"]), p
    assert footprint(db, prefix) == before
    assert get(http, "organizations", world["a"], admin_token) == a_before
    res = results(batch(http, "organizations", items[:2], partner))
    assert [x["result"] for x in res] == ["created", "updated"]
    assert get(http, "organizations", res[0]["id"], admin_token)["source"] == "escwa"
    # A partner writes no ministries at all: the route says no.
    r = batch(http, "ministries", [ministry_body()], partner)
    assert_problem(r, 403, instance=BATCH.format("ministries"))


def test_editor_of_an_organization_can_update_it_but_not_create_or_touch_another(http, cli, db,
                                                                                  admin_token,
                                                                                  world):
    mine = create(http, admin_token, "/v1/organizations", organization_body())
    editor = add_user(cli, db, "editor", org=mine["id"]).token
    res = results(batch(http, "organizations", [{"id": mine["id"], "district": "Zahle"}],
                        editor))
    assert [(x["id"], x["result"], x["version"]) for x in res] == [(mine["id"], "updated", 2)]
    prefix = uniq("Editor ")
    before = footprint(db, prefix)
    items = [{"id": mine["id"], "district": "Baalbek"},
             organization_body(name=prefix + "new"),
             {"id": world["b"], "district": "Tyre"}]
    p = assert_problem(batch(http, "organizations", items, editor), 422, instance=OB)
    codes = {e["field"]: e["code"] for e in p["errors"]}
    assert codes.get("items[1]") == "forbidden" and codes.get("items[2]") == "forbidden", p
    assert not any(f.startswith("items[0]") for f in codes), p
    assert footprint(db, prefix) == before
    assert get(http, "organizations", mine["id"], admin_token)["district"] == "Zahle"


def test_editor_of_a_ministry_batches_partnerships_only_where_it_is_the_party(http, cli, db,
                                                                              admin_token,
                                                                              world):
    own_ministry = create(http, admin_token, "/v1/ministries", ministry_body())
    editor = add_user(cli, db, "editor", ministry=own_ministry["id"]).token
    prefix = uniq("MinEd ")
    ours = partnership_body(world["type"], own_ministry["id"], [world["a"]], title=prefix + "1")
    theirs = partnership_body(world["type"], world["ministry"], [world["a"]],
                              title=prefix + "2")
    before = footprint(db, prefix)
    p = assert_problem(batch(http, "partnerships", [ours, theirs], editor), 422,
                       instance=BATCH.format("partnerships"))
    assert {e["field"]: e["code"] for e in p["errors"]} == {"items[1]": "forbidden"}, p
    assert footprint(db, prefix) == before
    res = results(batch(http, "partnerships", [ours], editor))
    assert res[0]["result"] == "created"


def test_analyst_may_not_batch_and_anonymous_must_sign_in(http, cli, db):
    analyst = add_user(cli, db, "analyst").token
    # Items valid for each resource (the references need not exist: the role is refused first).
    some = [str(uuid.uuid4()) for _ in range(3)]
    items = {"organizations": organization_body(), "ministries": ministry_body(),
             "partnerships": partnership_body(some[0], some[1], [some[2]]),
             "monitoring-records": monitoring_body(some[0])}
    for resource, item in items.items():
        assert_problem(batch(http, resource, [item], analyst), 403,
                       instance=BATCH.format(resource))
        r = batch(http, resource, [item], None)
        assert_problem(r, 401, instance=BATCH.format(resource))
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
