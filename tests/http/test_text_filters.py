"""Text filters (.contains, .startswith: folded), .ne and .not_in on every filterable field, and
typeahead on q (the last word as a prefix). Each answer is checked against what the database
holds for the same records."""

import pytest

from support.bodies import (create, full_partnership_body, make_organization,
                            make_partnership_type)
from support.checks import assert_problem, describe, uniq
from support.principals import bearer

ORGS = "/v1/organizations"


@pytest.fixture(scope="module")
def world(ctx):
    """Organizations only this module's district marker selects."""
    c, t = ctx.client, ctx.admin.token
    district = uniq("tf")
    rows = {
        "reseau": dict(name="Réseau Jeunesse Beyrouth", kind="network", sectors=["youth"],
                       founded_on="1999-05-01", acronym="RJB"),
        "youth": dict(name="Youth Council of Tyre", kind="association",
                      sectors=["youth", "health"], name_fr="Conseil de la jeunesse"),
        "arabic": dict(name="جمعية الشباب اللبناني", kind="association", sectors=[],
                       name_ar="جمعية الشباب اللبناني", founded_on="2005-01-01"),
        "percent": dict(name="100% Volunteers_Club", kind="club", sectors=["sport"],
                        acronym="VC"),
        "comma": dict(name="Smith, Sons and Partners", kind="private-sector",
                      sectors=["economy"]),
    }
    made = {k: make_organization(c, t, district=district, **v) for k, v in rows.items()}
    return ctx.extend(district=district, orgs=made)


def names(ctx, w, **params):
    """The keys of world's organizations that a list with these filters answers."""
    params = dict(params, district=w.district, limit=100)
    r = ctx.client.get(ORGS, params=params, headers=bearer(ctx.admin.token))
    assert r.status_code == 200, describe(r)
    by_id = {o["id"]: k for k, o in w.orgs.items()}
    return sorted(by_id[o["id"]] for o in r.json()["data"])


@pytest.mark.parametrize("params,expected", [
    ({"name.contains": "reseau"}, ["reseau"]),            # accents ignored
    ({"name.contains": "RÉSEAU"}, ["reseau"]),            # case ignored
    ({"name.contains": "jeunesse"}, ["reseau"]),
    ({"name.startswith": "rés"}, ["reseau"]),
    ({"name.startswith": "jeunesse"}, []),                # not at the start
    ({"name.contains": "council of"}, ["youth"]),
    ({"name_fr.contains": "JEUNESSE"}, ["youth"]),
    ({"name.contains": "جمعيه"}, ["arabic"]),             # ة typed as ه
    ({"name_ar.startswith": "جمعية الش"}, ["arabic"]),
    ({"name.contains": "%"}, ["percent"]),                # a plain character
    ({"name.contains": "s_c"}, ["percent"]),              # _ is no wildcard
    ({"name.contains": "smith, sons"}, ["comma"]),        # not split at commas
    ({"acronym.startswith": "r"}, ["reseau"]),
])
def test_contains_and_startswith_fold_case_accents_and_arabic(ctx, world, params, expected):
    assert names(ctx, world, **params) == expected


@pytest.mark.parametrize("params,expected", [
    ({"kind.ne": "association"}, ["comma", "percent", "reseau"]),
    ({"kind.not_in": "association,club"}, ["comma", "reseau"]),
    ({"name.ne": "Smith, Sons and Partners"}, ["arabic", "percent", "reseau", "youth"]),
    ({"name.not_in": "Youth Council of Tyre,100% Volunteers_Club"}, ["arabic", "comma", "reseau"]),
    # a record without a value is neither equal nor unequal: left out
    ({"acronym.ne": "VC"}, ["reseau"]),
    ({"acronym.not_in": "RJB"}, ["percent"]),
    ({"founded_on.not_in": "1999-05-01"}, ["arabic"]),
    ({"sectors.ne": "youth"}, ["arabic", "comma", "percent"]),
    ({"sectors.not_in": "youth,sport"}, ["arabic", "comma"]),
])
def test_ne_and_not_in_on_every_kind_of_field(ctx, world, params, expected):
    assert names(ctx, world, **params) == expected


def test_ne_and_not_in_on_ids_links_and_maps(ctx, world):
    c, t = ctx.client, ctx.admin.token
    a, b = world.orgs["reseau"], world.orgs["youth"]
    assert names(ctx, world, **{"id.ne": a["id"]}) == ["arabic", "comma", "percent", "youth"]
    assert names(ctx, world, **{"id.not_in": f"{a['id']},{b['id']}"}) == [
        "arabic", "comma", "percent"]
    # a partnership of reseau: organization_id.ne leaves it out
    body = full_partnership_body(c, t)
    body["programme"] = uniq("prog")
    body["organizations"] = [{"organization_id": a["id"], "role": "lead"}]
    p1 = create(c, t, "/v1/partnerships", body)
    body2 = dict(body, title=uniq("Partnership "),
                 organizations=[{"organization_id": b["id"], "role": "lead"}])
    p2 = create(c, t, "/v1/partnerships", body2)
    r = c.get("/v1/partnerships", params={"programme": body["programme"],
                                          "organization_id.ne": a["id"]}, headers=bearer(t))
    assert [p["id"] for p in r.json()["data"]] == [p2["id"]], describe(r)
    r = c.get("/v1/partnerships", params={"programme": body["programme"],
                                          "organization_id.not_in": f"{a['id']},{b['id']}"},
              headers=bearer(t))
    assert r.json()["data"] == []
    # external_ids.ne: without this scheme:id pair
    key = uniq("k")
    r = c.patch(f"{ORGS}/{a['id']}", json={"external_ids": {"LB-MOI": key}}, headers=bearer(t))
    assert r.status_code == 200, describe(r)
    assert names(ctx, world, **{"external_ids.ne": f"LB-MOI:{key}"}) == [
        "arabic", "comma", "percent", "youth"]
    # a boolean: ne
    paid = make_partnership_type(c, t, financial=True)
    unpaid = make_partnership_type(c, t, financial=False)
    r = c.get("/v1/partnership-types", params={"id": f"{paid['id']},{unpaid['id']}",
                                               "financial.ne": "true"}, headers=bearer(t))
    assert [x["id"] for x in r.json()["data"]] == [unpaid["id"]], describe(r)


@pytest.mark.parametrize("param,allowed,refused", [
    ("kind.contains", ["ne", "not_in"], ["contains", "startswith", "gt"]),
    ("founded_on.startswith", ["ne", "not_in", "gt", "null"], ["contains"]),
    ("sectors.contains", ["ne", "not_in"], ["contains"]),
    ("external_ids.not_in", ["ne"], ["not_in"]),
    ("name.gt", ["ne", "not_in", "contains", "startswith"], ["gt", "null"]),
])
def test_an_operator_a_field_does_not_take_is_a_400_naming_the_allowed(ctx, param, allowed,
                                                                       refused):
    r = ctx.client.get(ORGS, params={param: "x"}, headers=bearer(ctx.admin.token), invalid=True)
    p = assert_problem(r, 400)
    assert p["type"].endswith(":unknown-operator"), p
    listed = [x.strip() for x in p["detail"].rsplit(":", 1)[1].split(",")]
    for op in allowed:
        assert op in listed, (op, p["detail"])
    for op in refused:
        assert op not in listed, (op, p["detail"])


def test_a_text_filter_needs_a_value(ctx):
    r = ctx.client.get(ORGS, params={"name.contains": ""}, invalid=True)
    assert_problem(r, 400)
    r = ctx.client.get(ORGS, params={"name.startswith": "x" * 501}, invalid=True)
    assert_problem(r, 400)


def test_the_folded_text_filters_are_answered_by_trigram_indexes(ctx):
    plan = "\n".join(r[0] for r in ctx.db.rows(
        "SET enable_seqscan = off; EXPLAIN SELECT id FROM organizations a "
        "WHERE sharaka_fold(a.name_ar) LIKE '%' || sharaka_fold('جمعيه'::text) || '%'"))
    assert "organizations_name_ar_fold" in plan, plan


# ---------------------------------------------------------------- typeahead


@pytest.mark.parametrize("q,expected", [
    ("yout", ["youth"]),                   # the last word as a prefix
    ("council yout", ["youth"]),
    ("yout ", []),                         # a finished word is a word
    ("Beyr", ["reseau"]),
    ("rés", ["reseau"]),                   # French, accents folded
    ("جمع", ["arabic"]),                   # Arabic prefix
    ("الشباب اللبن", ["arabic"]),
    ("conseil jeun", ["youth"]),
    ("beyrouth or tyr", ["reseau", "youth"]),  # or keeps its meaning before a prefix
    # an excluded word is excluded as a word, not as a prefix
    ("-yout", ["arabic", "comma", "percent", "reseau", "youth"]),
    ("-youth", ["arabic", "comma", "percent", "reseau"]),
])
def test_typeahead_finds_the_last_word_as_a_prefix(ctx, world, q, expected):
    assert names(ctx, world, q=q) == expected


# ---------------------------------------------------------------- relevance


@pytest.fixture(scope="module")
def ranked(ctx):
    """Five organizations whose match of one word is known to rank in this order."""
    c, t = ctx.client, ctx.admin.token
    word = uniq("rk")
    bodies = [
        dict(name=f"{word} {word} network", description=f"{word} everywhere: {word} {word}"),
        dict(name=f"{word} network", description=f"about {word}"),
        dict(name=f"{word} association", description="nothing more"),
        dict(name="Another", description=f"{word} " + "filler words " * 30),
        dict(name="Yet another", description="filler words " * 60 + word),
    ]
    made = [make_organization(c, t, **b) for b in bodies]
    return ctx.extend(word=word, ids=[m["id"] for m in made])


def ids_of(ctx, **params):
    r = ctx.client.get(ORGS, params=params, headers=bearer(ctx.admin.token))
    assert r.status_code == 200, describe(r)
    return [o["id"] for o in r.json()["data"]], r.json().get("next_cursor")


def test_a_search_comes_best_first_and_sort_relevance_says_so(ctx, ranked):
    default, _ = ids_of(ctx, q=ranked.word)
    explicit, _ = ids_of(ctx, q=ranked.word, sort="relevance")
    assert default == explicit
    assert default[0] == ranked.ids[0]  # the word four times over
    assert set(default) == set(ranked.ids)
    ranks = {row[0]: float(row[1]) for row in ctx.db.rows(
        "SELECT id, ts_rank(search, sharaka_tsq_typeahead('" + ranked.word + "'))::numeric "
        "FROM organizations WHERE id = ANY('{" + ",".join(ranked.ids) + "}')")}
    # best first; among equal ranks, by id (descending, as the keyset goes)
    assert default == sorted(ranked.ids, key=lambda i: (ranks[i], i), reverse=True)
    # any other sort is still honoured with q
    by_name, _ = ids_of(ctx, q=ranked.word, sort="name")
    assert by_name != default and set(by_name) == set(default)


def test_relevance_pages_with_keyset_cursors_without_gaps_or_repeats(ctx, ranked):
    whole, _ = ids_of(ctx, q=ranked.word, limit=100)
    seen, cursor = [], None
    for _ in range(10):
        params = {"q": ranked.word, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page, cursor = ids_of(ctx, **params)
        seen += page
        if not cursor:
            break
    assert seen == whole


@pytest.mark.parametrize("params", [
    {"sort": "relevance"},                         # without q
    {"sort": "-relevance", "q": "x"},
    {"sort": "relevance,name", "q": "x"},
    {"sort": "name,relevance", "q": "x"},
])
def test_relevance_needs_q_and_stands_alone(ctx, params):
    # sort=relevance alone fits the spec's pattern: it is q that it needs
    r = ctx.client.get(ORGS, params=params, invalid="q" in params)
    assert_problem(r, 400)


def test_relevance_is_only_for_searchable_lists(ctx):
    r = ctx.client.get("/v1/users", params={"sort": "relevance"},
                       headers=bearer(ctx.admin.token), invalid=True)
    p = assert_problem(r, 400)
    assert p["type"].endswith(":unknown-sort-key"), p
