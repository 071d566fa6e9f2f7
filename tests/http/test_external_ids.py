"""external_ids on partnerships and monitoring records: kept, filtered on, and matched in batches
(?match=external_id:SCHEME) among the caller's own source only, as on organizations."""

import pytest

from support.bodies import full_monitoring_body, full_partnership_body
from support.checks import assert_problem, describe, uniq
from support.principals import bearer

SCHEME = {"partnerships": "ANND-PROJECT", "monitoring-records": "ESCWA-IND"}


@pytest.fixture(scope="module")
def partners(ctx):
    return ctx.extend(annd=ctx.add_partner("annd"), escwa=ctx.add_partner("escwa"))


def _body(ctx, resource, **over):
    c, t = ctx.client, ctx.admin.token
    if resource == "partnerships":
        return full_partnership_body(c, t, **over)
    return full_monitoring_body(c, t, **over)


def _batch(ctx, resource, items, headers, scheme):
    r = ctx.client.post(f"/v1/{resource}/batch", json={"items": items}, headers=headers,
                        params={"match": f"external_id:{scheme}"})
    assert r.status_code == 200, describe(r)
    return r.json()["items"]


@pytest.mark.parametrize("resource", sorted(SCHEME))
def test_external_ids_are_kept_and_filtered_on(ctx, resource):
    ident = uniq()
    body = _body(ctx, resource, external_ids={SCHEME[resource]: ident, "OTHER": "1"})
    r = ctx.client.post(f"/v1/{resource}", json=body, headers=bearer(ctx.admin.token))
    assert r.status_code == 201, describe(r)
    made = r.json()
    assert made["external_ids"] == {SCHEME[resource]: ident, "OTHER": "1"}
    found = ctx.client.get(f"/v1/{resource}", headers=bearer(ctx.admin.token),
                           params={"external_ids": f"{SCHEME[resource]}:{ident}"})
    assert [x["id"] for x in found.json()["data"]] == [made["id"]], describe(found)
    # Without external_ids a record has none: an empty object.
    plain = ctx.client.post(f"/v1/{resource}", json=_body(ctx, resource),
                            headers=bearer(ctx.admin.token))
    assert plain.status_code == 201 and plain.json()["external_ids"] == {}, describe(plain)
    bad = ctx.client.post(f"/v1/{resource}", json=_body(ctx, resource, external_ids=["x"]),
                          headers=bearer(ctx.admin.token), invalid=True)
    assert_problem(bad, 422)


@pytest.mark.parametrize("resource", sorted(SCHEME))
def test_batches_match_by_external_id_within_the_caller_s_source(ctx, partners, resource):
    scheme, ident = SCHEME[resource], uniq()
    items = [{**_body(ctx, resource), "external_ids": {scheme: ident}}]
    annd = _batch(ctx, resource, items, partners.annd.headers, scheme)
    assert annd[0]["result"] == "created"
    # Another partner with the same identifier gets a record of its own: it never sees annd's.
    escwa = _batch(ctx, resource, items, partners.escwa.headers, scheme)
    assert escwa[0]["result"] == "created" and escwa[0]["id"] != annd[0]["id"]
    # The same identifier again from annd updates annd's record, and only it.
    change = {"external_ids": {scheme: ident}}
    if resource == "partnerships":
        change["programme"] = "changed " + ident
    else:
        change["findings"] = "changed " + ident
    again = _batch(ctx, resource, [change], partners.annd.headers, scheme)
    assert (again[0]["id"], again[0]["result"], again[0]["version"]) == (annd[0]["id"],
                                                                         "updated", 2)
    theirs = ctx.client.get(f"/v1/{resource}/{escwa[0]['id']}", headers=bearer(ctx.admin.token))
    assert theirs.json()["version"] == 1, describe(theirs)
    # The direct writes (source sharaka) match none of the partners' records.
    own = _batch(ctx, resource, [{**_body(ctx, resource), "external_ids": {scheme: ident}}],
                 bearer(ctx.admin.token), scheme)
    assert own[0]["result"] == "created" and own[0]["id"] not in (annd[0]["id"], escwa[0]["id"])
