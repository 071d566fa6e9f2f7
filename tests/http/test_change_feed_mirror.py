"""GET /v1/changes: a copy that follows the feed during concurrent writes equals the database.

The feed promises that a client following the cursor sees every committed change, in order,
without skipping one, even when transactions commit out of the order in which they started;
deletes come as tombstones. Most tests here run on a database and server of their own, so that
the feed holds only what the test wrote.
"""

import itertools
import json
import time

import pytest

from support.bodies import (create, ministry_body, organization_body, partnership_body,
                            partnership_type_body)
from support.checks import assert_problem, expect, json_lines
from support.db import Db
from support.feed import FEED, assert_same_state, check_item, drain, Mirror, read_feed, Workload
from support.principals import add_key, add_user, bearer

RUNS = 10             # the mirror test runs this many times, each on a fresh database
WRITE_SECONDS = 3.0   # how long the writers write in each run


@pytest.fixture
def feed(own_server):
    """A database of the test's own and a server on it (4 threads, no rate limits)."""
    return own_server("feed")


def domain(env):
    """A ministry and a partnership type, made by the admin."""
    m = create(env.api, env.token, "/v1/ministries", ministry_body())
    t = create(env.api, env.token, "/v1/partnership-types", partnership_type_body())
    return m["id"], t["id"]


def items_of(mirror_items, resource, rid):
    return [it for it in mirror_items if it["resource"] == resource and it["id"] == rid]


def follow_all(env, after=None, limit=1000):
    """Every item from `after` to the end of the feed as it stands: (items, cursor)."""
    out = []
    cursor = after
    for _ in range(1000):
        items, cursor, more = read_feed(env.api, env.token, after=cursor, limit=limit)
        out += items
        if not more:
            return out, cursor
    raise AssertionError("the feed did not end within 1000 pages")


# ---------------------------------------------------------------- the mirror


@pytest.mark.parametrize("run", range(1, RUNS + 1), ids=lambda r: f"run{r}")
def test_mirror_following_the_feed_during_concurrent_writes_equals_the_database(run, feed,
                                                                                api_for):
    ministry_id, type_id = domain(feed)
    clients = [api_for(feed.srv) for _ in range(4)]
    follower = api_for(feed.srv)
    mirror = Mirror()
    cursor = None
    limits = itertools.cycle((1000, 1000, 250, 1000, 1, 1000, 999))
    pages = 0

    work = Workload(clients, feed.token, type_id, ministry_id, singles=3, batches=True,
                    batch_size=300, seed=run).start()
    try:
        end = time.monotonic() + WRITE_SECONDS
        while time.monotonic() < end and not work.stop_event.is_set():
            items, cursor, _ = read_feed(follower, feed.token, after=cursor, limit=next(limits))
            mirror.apply(items)
            pages += 1
            if not items:
                time.sleep(0.01)
    finally:
        work.stop()
    read_while_writing = mirror.items
    cursor = drain(follower, feed.token, mirror, cursor)

    assert_same_state(mirror.state(), feed.db.records())
    # Every version of every record came exactly once: nothing skipped, nothing repeated.
    assert mirror.items == len(mirror.cursors), "an item came twice"
    holes = {k: sorted(v) for k, v in mirror.versions.items()
             if sorted(v) != list(range(1, max(v) + 1))}
    assert not holes, f"versions missing or repeated in the feed: {list(holes.items())[:5]}"
    # What the writers did is all there: creates, changes, deletes, batches.
    counts = work.counts
    for what in ("organization created", "organization changed", "organization deleted",
                 "partnership created", "partnership changed", "organization batch"):
        assert counts.get(what, 0) > 0, f"the writers never got to '{what}': {counts}"
    deleted = sum(1 for v in mirror.records.values() if v["deleted"])
    assert deleted >= counts["organization deleted"], (deleted, counts)
    assert read_while_writing > 0 and pages > 1, "the client read nothing while writers wrote"

    # The records kept for live organizations and partnerships are the ones served now.
    for resource in ("organizations", "partnerships"):
        r = follower.get(f"/v1/exports/{resource}.ndjson", headers=bearer(feed.token),
                         timeout=60)
        expect(r, 200, f"export {resource}")
        served = {rec["id"]: rec for rec in json_lines(r.text)}
        kept = {k[1]: v["record"] for k, v in mirror.records.items()
                if k[0] == resource and not v["deleted"]}
        assert set(kept) == set(served), f"{resource}: live ids differ"
        differ = [i for i in kept if kept[i] != served[i]]
        assert not differ, (f"{resource}: {len(differ)} kept records differ from the served "
                            f"ones, e.g. {kept[differ[0]]} != {served[differ[0]]}")


# ---------------------------------------------------------------- late commits


@pytest.mark.parametrize("first_write", ["before", "after"])
def test_change_of_a_transaction_that_started_earlier_and_commits_later_is_not_skipped(
        feed, first_write):
    """An old transaction that writes before (or only after) later ones commit, then commits."""
    org = create(feed.api, feed.token, "/v1/organizations", organization_body())
    _, cursor = follow_all(feed)
    late_sql = f"UPDATE organizations SET description = 'committed late' WHERE id = '{org['id']}'"
    old = Db(feed.pg, feed.dbname)
    try:
        old.run("BEGIN")
        old.run("SELECT count(*) FROM organizations")
        if first_write == "before":
            old.run(late_sql)
        # Later transactions, through the API, commit first.
        a = create(feed.api, feed.token, "/v1/organizations", organization_body())
        b = create(feed.api, feed.token, "/v1/organizations", organization_body())
        expect(feed.api.patch(f"/v1/organizations/{a['id']}", json={"acronym": "AAA"},
                              headers=bearer(feed.token)), 200, "change a")
        # The client reads the feed as far as it goes and keeps its cursor.
        early, cursor = follow_all(feed, after=cursor, limit=1)
        if first_write == "before":
            # A change appears only once every transaction that started before it has ended:
            # the later ones wait for the old one.
            assert early == [], f"changes delivered before an older transaction ended: {early}"
        else:
            # The old transaction has written nothing yet: the client reads past the others.
            assert [(it["id"], it["version"]) for it in early] == [
                (a["id"], 1), (b["id"], 1), (a["id"], 2)], early
            old.run(late_sql)
        old.run("COMMIT")
    finally:
        old.close()

    items, _ = follow_all(feed, after=cursor)
    got = [(it["resource"], it["id"], it["version"], it["op"]) for it in items]
    assert ("organizations", org["id"], 2, "upsert") in got, (
        f"the change of the transaction that committed late was skipped; after the held cursor "
        f"came {got}")
    late = items_of(items, "organizations", org["id"])[0]
    assert late["record"]["description"] == "committed late", late
    if first_write == "before":
        for rec, version in ((a, 1), (a, 2), (b, 1)):
            assert ("organizations", rec["id"], version, "upsert") in got, got
        assert len(got) == 4, got
    else:
        assert len(got) == 1, got


def test_rolled_back_older_transaction_adds_nothing_and_holds_the_feed_only_while_open(feed):
    org = create(feed.api, feed.token, "/v1/organizations", organization_body())
    _, cursor = follow_all(feed)
    old = Db(feed.pg, feed.dbname)
    try:
        old.run("BEGIN")
        old.run(f"UPDATE organizations SET description = 'never' WHERE id = '{org['id']}'")
        later = create(feed.api, feed.token, "/v1/organizations", organization_body())
        held, cursor = follow_all(feed, after=cursor)
        assert held == [], held
        old.run("ROLLBACK")
    finally:
        old.close()
    items, _ = follow_all(feed, after=cursor)
    assert [(it["id"], it["version"]) for it in items] == [(later["id"], 1)], items
    r = feed.api.get(f"/v1/organizations/{org['id']}", headers=bearer(feed.token))
    assert expect(r, 200, "get").json()["version"] == 1


# ---------------------------------------------------------------- tombstones and versions


def test_deletes_appear_as_tombstones_with_the_next_version_and_no_record(feed):
    ministry_id, type_id = domain(feed)
    org = create(feed.api, feed.token, "/v1/organizations", organization_body())
    p = create(feed.api, feed.token, "/v1/partnerships",
               partnership_body(type_id, ministry_id, [org["id"]]))
    h = bearer(feed.token)
    expect(feed.api.delete(f"/v1/partnerships/{p['id']}", headers=h), 204, "delete partnership")
    expect(feed.api.delete(f"/v1/organizations/{org['id']}", headers=h), 204, "delete org")
    items, _ = follow_all(feed)
    for resource, rid in (("organizations", org["id"]), ("partnerships", p["id"])):
        mine = items_of(items, resource, rid)
        assert [(it["op"], it["version"]) for it in mine] == [("upsert", 1), ("delete", 2)], mine
        tomb = mine[-1]
        assert tomb["record"] is None, tomb
        assert mine[0]["record"]["id"] == rid
    expect(feed.api.get(f"/v1/organizations/{org['id']}", headers=h), 404, "deleted org")
    # The tombstone is what the database says: deleted, at version 2.
    state = feed.db.records()
    assert state[("organizations", org["id"])] == (2, True)
    assert state[("partnerships", p["id"])] == (2, True)


def test_change_that_changes_nothing_adds_no_item_and_keeps_the_version(feed):
    org = create(feed.api, feed.token, "/v1/organizations", organization_body(acronym="SAME"))
    _, cursor = follow_all(feed)
    r = feed.api.patch(f"/v1/organizations/{org['id']}", json={"acronym": "SAME"},
                       headers=bearer(feed.token))
    assert expect(r, 200, "no-op patch").json()["version"] == 1
    items, _ = follow_all(feed, after=cursor)
    assert items == [], items


def test_change_of_only_a_partnerships_organizations_is_a_new_version_in_the_feed(feed):
    ministry_id, type_id = domain(feed)
    a = create(feed.api, feed.token, "/v1/organizations", organization_body())
    b = create(feed.api, feed.token, "/v1/organizations", organization_body())
    p = create(feed.api, feed.token, "/v1/partnerships",
               partnership_body(type_id, ministry_id, [a["id"]]))
    _, cursor = follow_all(feed)
    r = feed.api.patch(f"/v1/partnerships/{p['id']}",
                       json={"organizations": [{"organization_id": b["id"], "role": "lead"}]},
                       headers=bearer(feed.token))
    expect(r, 200, "change the parties")
    body = r.json()
    assert body["organizations"] == [{"organization_id": b["id"], "role": "lead"}], body
    assert body["version"] == 2 and r.headers.get("ETag", "").startswith('"2-'), (
        f"the partnership's organizations changed but its version stayed {body['version']} "
        f"(ETag {r.headers.get('ETag')})")
    items, _ = follow_all(feed, after=cursor)
    assert [(it["resource"], it["id"], it["version"]) for it in items] == [
        ("partnerships", p["id"], 2)], f"a copy following the feed never learns of it: {items}"
    assert items[0]["record"]["organizations"] == body["organizations"]


def test_small_pages_give_the_same_items_in_the_same_order_as_one_large_page(feed):
    # Nothing yet: an empty page and the start cursor 0-0.
    assert read_feed(feed.api, feed.token) == ([], "0-0", False)
    orgs = [create(feed.api, feed.token, "/v1/organizations", organization_body())
            for _ in range(7)]
    h = bearer(feed.token)
    for o in orgs[::2]:
        expect(feed.api.patch(f"/v1/organizations/{o['id']}", json={"acronym": "X"}, headers=h),
               200, "patch")
    expect(feed.api.delete(f"/v1/organizations/{orgs[1]['id']}", headers=h), 204, "delete")
    whole, end = follow_all(feed, limit=1000)
    assert len(whole) == 7 + 4 + 1, whole
    for limit in (1, 2, 5):
        pieces, end2 = follow_all(feed, limit=limit)
        assert pieces == whole, f"pages of {limit} differ from one page"
        assert end2 == end
    # Without limit, pages hold at most 100 items; starting at the end gives nothing.
    items, cursor, more = read_feed(feed.api, feed.token)
    assert items == whole and not more
    r = feed.api.get(FEED, params={"after": "", "limit": "1000"}, headers=bearer(feed.token))
    assert expect(r, 200, "after=").json()["data"] == whole, "an empty after is not the start"
    assert read_feed(feed.api, feed.token, after=end) == ([], end, False)


# ---------------------------------------------------------------- parameters


def test_resources_filter_gives_only_the_named_resources(feed):
    ministry_id, type_id = domain(feed)
    org = create(feed.api, feed.token, "/v1/organizations",
                 organization_body(email="office@example.org", phone="+961 1 000000"))
    p = create(feed.api, feed.token, "/v1/partnerships",
               partnership_body(type_id, ministry_id, [org["id"]]))
    mr = create(feed.api, feed.token, "/v1/monitoring-records", {
        "partnership_id": p["id"], "period_start": "2024-01-01", "period_end": "2024-03-31",
        "indicator": "Clubs funded"})
    everything, _ = follow_all(feed)
    assert {it["resource"] for it in everything} == {
        "ministries", "partnership-types", "organizations", "partnerships",
        "monitoring-records"}
    for wanted in ("partnerships", "organizations,partnerships",
                   "monitoring-records,ministries,partnership-types"):
        items, cursor, more = read_feed(feed.api, feed.token, resources=wanted, limit=1000)
        names = set(wanted.split(","))
        assert not more
        assert items == [it for it in everything if it["resource"] in names], wanted
    items, _, _ = read_feed(feed.api, feed.token, resources="monitoring-records")
    assert [(it["id"], it["op"]) for it in items] == [(mr["id"], "upsert")]
    # Records in the feed carry their internal fields.
    items, _, _ = read_feed(feed.api, feed.token, resources="organizations")
    assert items[0]["record"]["email"] == "office@example.org", items[0]
    assert items[0]["record"]["phone"] == "+961 1 000000"
    # Unknown names are refused, naming what the feed carries.
    r = feed.api.get(FEED, params={"resources": "organizations,people"},
                     headers=bearer(feed.token), invalid=True)
    p400 = assert_problem(r, 400, instance=FEED)
    assert "people" in p400["detail"] and "partnerships" in p400["detail"], p400


@pytest.mark.parametrize("limit", ["1001", "5000", "0", "-1", "ten", "", "1.5"])
def test_limit_outside_1_to_1000_is_400(http, admin_token, limit):
    r = http.get(FEED, params={"limit": limit}, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 400, instance=FEED)
    assert "1000" in p["detail"], p


def test_limit_of_1000_is_accepted(http, admin_token):
    r = http.get(FEED, params={"limit": "1000"}, headers=bearer(admin_token))
    expect(r, 200, "limit=1000")
    assert len(r.json()["data"]) <= 1000


@pytest.mark.parametrize("cursor", ["abc", "12", "12-", "-12", "1-2-3", "x-1", "1-y",
                                    "-1-5", "99999999999999999999-1", "1 -2"])
def test_bad_cursor_is_400(http, admin_token, cursor):
    # The spec refuses each, overflowing numbers included (at most 18 digits each).
    r = http.get(FEED, params={"after": cursor}, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 400, instance=FEED)
    assert "cursor" in p["detail"], p


def test_unknown_parameter_is_400_naming_the_allowed_ones(http, admin_token):
    r = http.get(FEED, params={"since": "1-1"}, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 400, instance=FEED)
    assert "since" in p["detail"] and "after" in p["detail"], p


def test_feed_needs_a_signed_in_caller(http, cli, db, admin_token):
    r = http.get(FEED)
    assert_problem(r, 401, instance=FEED)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    analyst = add_user(cli, db, "analyst").token
    partner = add_key(cli, "partner", "annd")
    for token in (analyst, partner, admin_token):
        expect(http.get(FEED, params={"limit": "1"}, headers=bearer(token)), 200, "signed in")


# ---------------------------------------------------------------- NDJSON


def test_ndjson_answer_has_one_item_a_line_and_the_cursor_in_headers(feed):
    for _ in range(5):
        create(feed.api, feed.token, "/v1/organizations",
               organization_body(name_ar="جمعية الشباب"))
    whole, end = follow_all(feed)
    h = {**bearer(feed.token), "Accept": "application/x-ndjson"}
    cursor = None
    got = []
    for _ in range(10):
        params = {"limit": "3"}
        if cursor:
            params["after"] = cursor
        r = feed.api.get(FEED, params=params, headers=h, stream=True)
        expect(r, 200, "NDJSON page")
        assert r.headers["Content-Type"].split(";")[0] == "application/x-ndjson", r.headers
        lines = [line for line in r.iter_lines() if line]
        page = [json.loads(line) for line in lines]
        for it in page:
            check_item(it)
        assert len(page) <= 3
        more = r.headers.get("X-Has-More")
        assert more in ("true", "false"), r.headers
        cursor_header = r.headers.get("X-Next-Cursor")
        assert cursor_header == (page[-1]["cursor"] if page else cursor), (cursor_header, page)
        got += page
        cursor = cursor_header
        if more == "false":
            break
    assert got == whole
    assert cursor == end
    assert any(it["record"] and it["record"]["name_ar"] == "جمعية الشباب" for it in got)
    # At the end: an empty body, the same cursor, nothing more.
    r = feed.api.get(FEED, params={"after": end}, headers=h)
    expect(r, 200, "NDJSON at the end")
    assert r.content == b"" and r.headers["X-Next-Cursor"] == end
    assert r.headers["X-Has-More"] == "false"
