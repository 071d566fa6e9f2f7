"""The record engine under attack: what one answer may embed, sub-collections of a deleted
parent, external ids of another source, and ETags that name one representation."""

import uuid

from support.bodies import (make_charter, make_ministry, make_organization, make_partnership,
                            make_signatory)
from support.checks import assert_problem, describe, uniq
from support.db import sql_str
from support.principals import add_key, add_user, bearer

EMBED_CAP = 500  # QUERY_MAX_EMBEDDED


# ---------------------------------------------------------------- include= is bounded


def generate_partnerships(db, tag, count, parties):
    """count partnerships (programme = tag) with `parties` organizations each, written by SQL."""
    code = uniq("type-")
    db.run(f"""
        WITH m AS (INSERT INTO ministries (name, kind) VALUES ({sql_str(tag)}, 'ministry')
                   RETURNING id),
             t AS (INSERT INTO partnership_types (code, name) VALUES ({sql_str(code)},
                   {sql_str(code)}) RETURNING id),
             o AS (INSERT INTO organizations (name, kind, description)
                   SELECT {sql_str(tag)} || ' org ' || g, 'association', repeat('x', 1000)
                   FROM generate_series(1, {int(parties)}) g RETURNING id),
             p AS (INSERT INTO partnerships (title, type_id, ministry_id, programme)
                   SELECT {sql_str(tag)} || ' ' || g, (SELECT id FROM t), (SELECT id FROM m),
                          {sql_str(tag)}
                   FROM generate_series(1, {int(count)}) g RETURNING id)
        INSERT INTO partnership_organizations (partnership_id, organization_id, role, position)
        SELECT p.id, o.id, 'partner', (row_number() OVER (PARTITION BY p.id ORDER BY o.id) - 1)::int
        FROM p CROSS JOIN o""")


def test_a_page_that_would_embed_more_than_the_cap_is_400_and_one_within_is_bounded(http, db):
    tag = uniq("embed")
    generate_partnerships(db, tag, 12, 50)  # 600 parties in all
    params = {"programme": tag, "include": "organizations", "limit": "12"}
    r = http.get("/v1/partnerships", params=params)  # anonymous, as in the report
    p = assert_problem(r, 400, instance="/v1/partnerships")
    assert "600" in p["detail"] and str(EMBED_CAP) in p["detail"], p
    assert "limit=" in p["detail"] and "include=" in p["detail"], p
    assert len(r.content) < 2000, len(r.content)
    # NDJSON is capped the same way.
    nd = http.get("/v1/partnerships", params={**params, "format": "ndjson"})
    assert_problem(nd, 400, instance="/v1/partnerships")

    # 10 x 50 = 500: exactly the cap, answered in full and bounded by it.
    ok = http.get("/v1/partnerships", params={**params, "limit": "10"})
    assert ok.status_code == 200, describe(ok)
    page = ok.json()
    assert len(page["data"]) == 10 and page["next_cursor"] is not None
    assert all(len(x["organizations"]) == 50 and
               all(o["organization"]["name"].startswith(tag) for o in x["organizations"])
               for x in page["data"])
    # Each embedded organization here is about 1.6 kB: the answer is bounded by the cap.
    assert len(ok.content) < EMBED_CAP * 2000 + 10 * 3000, len(ok.content)
    # The next page (2 records, 100 parties) follows the cursor within the cap too.
    nxt = http.get("/v1/partnerships", params={**params, "limit": "10",
                                               "cursor": page["next_cursor"]})
    assert nxt.status_code == 200 and len(nxt.json()["data"]) == 2, describe(nxt)

    # Without include=, or with the to-one relations only, the same page is no problem.
    plain = http.get("/v1/partnerships", params={"programme": tag, "limit": "12"})
    assert plain.status_code == 200 and len(plain.json()["data"]) == 12, describe(plain)
    ones = http.get("/v1/partnerships", params={"programme": tag, "limit": "12",
                                                "include": "ministry,type"})
    assert ones.status_code == 200, describe(ones)
    assert all(x["ministry"]["name"] == tag for x in ones.json()["data"])


# ---------------------------------------------------------------- a live parent


def test_signatures_of_a_deleted_charter_can_be_neither_read_nor_written(http, db, admin_token):
    admin = bearer(admin_token)
    charter = make_charter(http, admin_token)
    base = f"/v1/charters/{charter['id']}/signatories"
    sig = make_signatory(http, admin_token, charter["id"])
    w = http.patch(f"{base}/{sig['id']}", json={"withdrawn_on": "2024-06-01"}, headers=admin)
    assert w.status_code == 200, describe(w)
    # Only withdrawn signatures are left, so the charter may be deleted.
    d = http.delete(f"/v1/charters/{charter['id']}", headers=admin)
    assert d.status_code == 204, describe(d)

    url = f"{base}/{sig['id']}"
    assert_problem(http.get(url), 404, instance=url)
    assert_problem(http.get(url, headers=admin), 404, instance=url)
    p = assert_problem(http.patch(url, json={"withdrawn_on": None}, headers=admin), 404,
                       instance=url)
    assert charter["id"] in p["detail"] and "charter" in p["detail"], p
    assert_problem(http.get(base, headers=admin), 404, instance=base)
    new = http.post(base, json={"party_type": "organization", "signed_on": "2024-07-01",
                                "party_id": make_organization(http, admin_token)["id"]},
                    headers=admin)
    assert_problem(new, 404, instance=base)
    # The signature did not come back as active, and nothing was added.
    assert db.row("charter_signatories", sig["id"])["withdrawn_on"] == "2024-06-01"
    assert db.text("SELECT count(*) FROM charter_signatories WHERE charter_id = "
                   f"{sql_str(charter['id'])}::uuid").strip() == "1"


def test_an_active_signature_under_a_charter_deleted_in_the_database_is_gone(http, db,
                                                                             admin_token):
    admin = bearer(admin_token)
    charter = make_charter(http, admin_token)
    sig = make_signatory(http, admin_token, charter["id"])
    url = f"/v1/charters/{charter['id']}/signatories/{sig['id']}"
    assert http.get(url).status_code == 200
    db.run(f"UPDATE charters SET deleted_at = now() WHERE id = {sql_str(charter['id'])}::uuid")
    assert_problem(http.get(url), 404, instance=url)
    assert_problem(http.patch(url, json={"signed_by": "someone"}, headers=admin), 404,
                   instance=url)
    assert db.row("charter_signatories", sig["id"])["signed_by"] == sig.get("signed_by")


# ---------------------------------------------------------------- external ids per source


def batch(http, token, items, scheme):
    return http.post("/v1/organizations/batch", json={"items": items}, headers=bearer(token),
                     params={"match": f"external_id:{scheme}"})


def test_match_by_external_id_sees_only_the_callers_own_source(http, cli, db, admin_token):
    a_source, b_source = uniq("srca"), uniq("srcb")
    a, b = add_key(cli, "partner", a_source), add_key(cli, "partner", b_source)
    scheme, value = uniq("S-"), uniq()
    item = {"name": "Org " + uniq(), "kind": "association", "external_ids": {scheme: value}}

    first = batch(http, a, [item], scheme)
    assert first.status_code == 200, describe(first)
    assert first.json()["items"][0]["result"] == "created"
    a_id = first.json()["items"][0]["id"]
    # Partner B uses the same identifier: its own create succeeds, A's record is untouched.
    second = batch(http, b, [{**item, "description": "B's"}], scheme)
    assert second.status_code == 200, describe(second)
    b_res = second.json()["items"][0]
    assert b_res["result"] == "created" and b_res["id"] != a_id, b_res
    # A's sync still finds its own record, not an ambiguity, and B's is not changed by it.
    again = batch(http, a, [{"external_ids": {scheme: value}, "description": "A's"}], scheme)
    assert again.status_code == 200, describe(again)
    assert again.json()["items"][0] == {"index": 0, "id": a_id, "result": "updated",
                                        "version": 2}
    # Direct writes (the admin) match within source sharaka: a third record.
    admin = batch(http, admin_token, [item], scheme)
    assert admin.status_code == 200, describe(admin)
    admin_id = admin.json()["items"][0]["id"]
    assert admin_id not in (a_id, b_res["id"])
    rows = db.rows("SELECT source, coalesce(description, '') FROM organizations WHERE "
                   f"external_ids @> jsonb_build_object({sql_str(scheme)}, {sql_str(value)}) "
                   "ORDER BY source")
    assert sorted(map(tuple, rows)) == sorted([(a_source, "A's"), (b_source, "B's"),
                                               ("sharaka", "")]), rows


# ---------------------------------------------------------------- ETags


def test_each_representation_has_its_own_etag(http, cli, db, admin_token):
    org = make_organization(http, admin_token, email="office@example.org")
    url = f"/v1/organizations/{org['id']}"
    analyst = add_user(cli, db, "analyst").token
    public = http.get(url)
    internal = http.get(url, headers=bearer(analyst))
    assert "email" not in public.json() and internal.json()["email"] == "office@example.org"
    projected = http.get(url, params={"fields": "name"})
    assert projected.status_code == 200, describe(projected)
    tags = {public.headers["ETag"], internal.headers["ETag"], projected.headers["ETag"]}
    assert len(tags) == 3, tags
    # Same version, three representations.
    assert all(t.startswith(f'"{org["version"]}-') for t in tags), tags
    # The analyst's ETag does not revalidate the public copy, nor the reverse.
    r = http.get(url, headers={"If-None-Match": internal.headers["ETag"]})
    assert r.status_code == 200 and r.json() == public.json(), describe(r)
    r = http.get(url, headers={**bearer(analyst), "If-None-Match": public.headers["ETag"]})
    assert r.status_code == 200 and r.json() == internal.json(), describe(r)
    r = http.get(url, headers={"If-None-Match": public.headers["ETag"]})
    assert r.status_code == 304, describe(r)


def test_a_change_of_an_embedded_record_changes_the_etag(http, admin_token):
    admin = bearer(admin_token)
    ministry = make_ministry(http, admin_token)
    p = make_partnership(http, admin_token, ministry_id=ministry["id"])
    url = f"/v1/partnerships/{p['id']}"
    embedded = http.get(url, params={"include": "ministry"})
    plain = http.get(url)
    assert embedded.headers["ETag"] != plain.headers["ETag"]
    m = http.patch(f"/v1/ministries/{ministry['id']}", json={"name_en": "Renamed"},
                   headers=admin)
    assert m.status_code == 200, describe(m)
    r = http.get(url, params={"include": "ministry"},
                 headers={"If-None-Match": embedded.headers["ETag"]})
    assert r.status_code == 200, describe(r)
    assert r.json()["ministry"]["name_en"] == "Renamed"
    assert r.headers["ETag"] != embedded.headers["ETag"]
    # The partnership itself did not change: its plain copy still revalidates.
    r = http.get(url, headers={"If-None-Match": plain.headers["ETag"]})
    assert r.status_code == 304, describe(r)


def test_if_match_compares_strongly_against_the_default_view(http, db, admin_token):
    admin = bearer(admin_token)
    org = make_organization(http, admin_token)
    url = f"/v1/organizations/{org['id']}"
    etag = http.get(url, headers=admin).headers["ETag"]
    projected = http.get(url, params={"fields": "name"}, headers=admin).headers["ETag"]
    version = org["version"]
    for tag in (f"W/{etag}", projected, f'"{version}"', 'W/"1"', "garbage"):
        r = http.patch(url, json={"description": "x"}, headers={**admin, "If-Match": tag})
        assert_problem(r, 412, instance=url)
        r = http.delete(url, headers={**admin, "If-Match": tag})
        assert_problem(r, 412, instance=url)
    assert db.row("organizations", org["id"])["version"] == version
    ok = http.patch(url, json={"description": "x"}, headers={**admin, "If-Match": etag})
    assert ok.status_code == 200, describe(ok)
    again = http.get(url, headers=admin)
    assert again.headers["ETag"] == ok.headers["ETag"] != etag
    gone = http.delete(url, headers={**admin, "If-Match": ok.headers["ETag"]})
    assert gone.status_code == 204, describe(gone)
    assert http.get(url).status_code == 404
    assert uuid.UUID(org["id"])
