"""GET /v1/search: one ranked list of typed hits over every resource the caller may read, the
matches marked in an HTML-escaped snippet; nothing an anonymous caller may not read ever shows."""

import pytest

from support.bodies import (create, full_monitoring_body, full_partnership_body,
                            make_organization)
from support.checks import assert_problem, describe, uniq
from support.principals import bearer


@pytest.fixture(scope="module")
def world(ctx):
    """Records that share one made-up word, so that only they match it."""
    c, t = ctx.client, ctx.admin.token
    word = uniq("zq")
    org = make_organization(c, t, name=f"{word} Youth Network",
                            description=f"Works with the {word} <b>club</b> & friends")
    weak = make_organization(c, t, name="Another association",
                             description=f"Mentions {word} once in a long text about many things")
    body = full_partnership_body(c, t)
    body["title"] = f"{word} partnership for youth"
    part = create(c, t, "/v1/partnerships", body)
    mon = full_monitoring_body(c, t)
    mon["indicator"] = f"{word} trainings held"
    record = create(c, t, "/v1/monitoring-records", mon)
    contact = make_organization(c, t, name=uniq("Contact"), email=f"{word}@contact.test",
                                phone=word)
    return ctx.extend(word=word, org=org, weak=weak, part=part, record=record, contact=contact,
                      analyst=ctx.add_user("analyst"))


def search(ctx, token=None, **params):
    r = ctx.client.get("/v1/search", params=params,
                       headers=bearer(token) if token else {})
    assert r.status_code == 200, describe(r)
    return r.json()["data"]


def test_one_ranked_list_of_typed_hits_across_resources(ctx, world):
    hits = search(ctx, world.analyst.token, q=world.word)
    got = {(h["resource"], h["id"]) for h in hits}
    assert got == {("organizations", world.org["id"]), ("organizations", world.weak["id"]),
                   ("partnerships", world.part["id"]),
                   ("monitoring-records", world.record["id"])}
    ranks = [h["rank"] for h in hits]
    assert ranks == sorted(ranks, reverse=True)
    by_id = {h["id"]: h for h in hits}
    assert by_id[world.org["id"]]["name"] == world.org["name"]
    assert by_id[world.part["id"]]["name"] == world.part["title"]
    assert by_id[world.record["id"]]["name"] == world.record["indicator"]
    # the name and the description both hold the word: it ranks above one mention
    assert by_id[world.org["id"]]["rank"] > by_id[world.weak["id"]]["rank"]


def test_the_snippet_marks_the_match_and_escapes_the_text(ctx, world):
    hits = search(ctx, q=world.word, resources="organizations")
    hit = next(h for h in hits if h["id"] == world.org["id"])
    assert f"<mark>{world.word}</mark>" in hit["snippet"], hit
    assert "&lt;b&gt;club&lt;/b&gt; &amp; friends" in hit["snippet"], hit
    assert "<b>" not in hit["snippet"]


def test_typeahead_in_the_search_box(ctx, world):
    prefix = world.word[:-3]
    hits = search(ctx, world.analyst.token, q=f"youth {prefix}")
    assert {h["id"] for h in hits} >= {world.org["id"], world.part["id"]}
    assert world.weak["id"] not in {h["id"] for h in hits}  # "youth" must match too


def test_anonymous_callers_never_see_monitoring_records_or_internal_fields(ctx, world):
    anon = search(ctx, q=world.word)
    assert {h["resource"] for h in anon} == {"organizations", "partnerships"}
    assert world.record["id"] not in {h["id"] for h in anon}
    # contact details are never searched: the word in an e-mail and a phone finds nothing
    assert world.contact["id"] not in {h["id"] for h in anon}
    signed = search(ctx, world.analyst.token, q=world.word)
    assert world.contact["id"] not in {h["id"] for h in signed}
    r = ctx.client.get("/v1/search", params={"q": world.word, "resources": "monitoring-records"})
    assert_problem(r, 401)


def test_the_resources_and_limit_narrow_the_hits(ctx, world):
    hits = search(ctx, world.analyst.token, q=world.word, resources="partnerships")
    assert [(h["resource"], h["id"]) for h in hits] == [("partnerships", world.part["id"])]
    assert len(search(ctx, world.analyst.token, q=world.word, limit=2)) == 2
    assert search(ctx, q=uniq("nothing")) == []


@pytest.mark.parametrize("params", [
    {}, {"q": ""}, {"q": "x" * 501}, {"q": "x", "limit": "0"}, {"q": "x", "limit": "51"},
    {"q": "x", "resources": "users"}, {"q": "x", "sort": "name"},
])
def test_a_bad_search_is_a_400(ctx, params):
    r = ctx.client.get("/v1/search", params=params, invalid=True)
    assert_problem(r, 400)
