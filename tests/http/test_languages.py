"""Languages: lang=ar|en|fr and Accept-Language add display_<field> (the translation where given,
else the text as given) to reads of every resource with translated fields, embedded records
included; descriptions, titles, summaries and charter sections in three languages are written,
checked and searched."""

import pytest

from support.bodies import (create, full_partnership_body, make_charter, make_ministry,
                            make_organization, make_partnership_type)
from support.checks import assert_problem, describe, error_entries, json_lines, uniq
from support.principals import bearer

ORGS = "/v1/organizations"


@pytest.fixture(scope="module")
def world(ctx):
    c, t = ctx.client, ctx.admin.token
    marker = uniq("lang")
    full = make_organization(
        c, t, name="Arab NGO Network", name_ar="شبكة المنظمات العربية", name_en="Arab NGO Network",
        name_fr="Réseau des ONG arabes", description="Works on development.",
        description_ar="تعمل على التنمية", description_en="Works on development.",
        description_fr="Travaille sur le développement durable", district=marker)
    bare = make_organization(c, t, name="جمعية التنمية " + marker, district=marker,
                             description="نص واحد")
    ministry = make_ministry(c, t, name="Ministry of Social Affairs", name_ar="وزارة الشؤون الاجتماعية",
                             name_fr="Ministère des Affaires sociales")
    ptype = make_partnership_type(c, t, name="Service contract", name_ar="عقد خدمات",
                                  description="A contract", description_fr="Un contrat")
    partnership = create(c, t, "/v1/partnerships", full_partnership_body(
        c, t, organizations=[{"organization_id": full["id"], "role": "lead"},
                             {"organization_id": bare["id"], "role": "partner"}],
        ministry_id=ministry["id"], type_id=ptype["id"], title="Youth clubs " + marker,
        title_ar="نوادي الشباب", title_fr="Clubs de jeunes " + marker,
        description="Support to clubs", description_en="Support to youth clubs"))
    charter = make_charter(
        c, t, title="Partnership charter " + marker, title_en="Partnership charter",
        title_fr="Charte de partenariat", summary="Summary", summary_ar="ملخص",
        sections=[{"heading": "Principles", "body": "Trust between parties",
                   "heading_ar": "المبادئ", "body_ar": "الثقة بين الأطراف",
                   "body_fr": "La confiance entre les parties"},
                  {"heading": "Duties", "body": "Each party reports yearly " + marker}])
    return ctx.extend(marker=marker, full=full, bare=bare, ministry=ministry, ptype=ptype,
                      partnership=partnership, charter=charter)


def get(ctx, path, params=None, headers=None, token=True):
    h = dict(bearer(ctx.admin.token)) if token else {}
    h.update(headers or {})
    r = ctx.client.get(path, params=params, headers=h)
    assert r.status_code == 200, describe(r)
    return r


@pytest.mark.parametrize("lang,name,description", [
    ("ar", "شبكة المنظمات العربية", "تعمل على التنمية"),
    ("en", "Arab NGO Network", "Works on development."),
    ("fr", "Réseau des ONG arabes", "Travaille sur le développement durable"),
])
def test_lang_gives_display_fields_in_that_language(ctx, world, lang, name, description):
    r = get(ctx, f"{ORGS}/{world.full['id']}", {"lang": lang})
    body = r.json()
    assert body["display_name"] == name
    assert body["display_description"] == description
    assert r.headers["Content-Language"] == lang
    assert "Accept-Language" in r.headers["Vary"]
    # everything else is the record as it is without a language
    plain = get(ctx, f"{ORGS}/{world.full['id']}").json()
    assert {k: v for k, v in body.items() if not k.startswith("display_")} == plain
    assert list(body)[:len(plain)] == list(plain)  # the display fields come last


def test_missing_translation_falls_back_to_the_text_as_given(ctx, world):
    for lang in ("ar", "en", "fr"):
        body = get(ctx, f"{ORGS}/{world.bare['id']}", {"lang": lang}).json()
        assert body["display_name"] == world.bare["name"]
        assert body["display_description"] == "نص واحد"
    # no description at all: null, in every language
    ministry = get(ctx, f"/v1/ministries/{world.ministry['id']}", {"lang": "en"}).json()
    assert ministry["display_name"] == "Ministry of Social Affairs"


def test_without_a_language_no_display_field_and_no_content_language(ctx, world):
    r = get(ctx, f"{ORGS}/{world.full['id']}")
    assert not [k for k in r.json() if k.startswith("display_")]
    assert "Content-Language" not in r.headers
    assert "Accept-Language" in r.headers["Vary"]
    r = get(ctx, f"{ORGS}/{world.full['id']}", headers={"Accept-Language": "de-DE, it;q=0.5"})
    assert "display_name" not in r.json()


@pytest.mark.parametrize("header,lang", [
    ("ar", "ar"),
    ("ar-LB", "ar"),
    ("fr-CA, fr;q=0.9, en;q=0.8", "fr"),
    ("de, en;q=0.4, fr;q=0.7", "fr"),
    ("en;q=0.2, ar;q=0.9", "ar"),
    ("*, fr;q=0.1", "fr"),
    ("EN-gb", "en"),
    ("fr;q=0, en;q=0.1", "en"),     # q=0 refuses French
    ("en, fr", "en"),               # the first on a tie
    ("fr;q=1.000, ar;q=0.999", "fr"),
])
def test_accept_language_picks_the_preferred_of_ar_en_fr(ctx, world, header, lang):
    r = get(ctx, f"{ORGS}/{world.full['id']}", headers={"Accept-Language": header})
    assert r.headers["Content-Language"] == lang
    expected = {"ar": "شبكة المنظمات العربية", "en": "Arab NGO Network",
                "fr": "Réseau des ONG arabes"}[lang]
    assert r.json()["display_name"] == expected


@pytest.mark.parametrize("header", ["fr;q=abc", ";;;", "q=1", "a" * 900, ",,,", "fr;q=0"])
def test_malformed_or_refusing_accept_language_adds_nothing(ctx, world, header):
    r = get(ctx, f"{ORGS}/{world.full['id']}", headers={"Accept-Language": header})
    assert "display_name" not in r.json()


def test_lang_parameter_wins_over_accept_language(ctx, world):
    r = get(ctx, f"{ORGS}/{world.full['id']}", {"lang": "fr"}, headers={"Accept-Language": "ar"})
    assert r.json()["display_name"] == "Réseau des ONG arabes"
    assert r.headers["Content-Language"] == "fr"


@pytest.mark.parametrize("value", ["de", "AR", "", "ar,en", "arabic"])
def test_unknown_lang_is_a_400_naming_the_allowed_ones(ctx, world, value):
    for path in (ORGS, f"{ORGS}/{world.full['id']}"):
        r = ctx.client.get(path, params={"lang": value}, headers=bearer(ctx.admin.token),
                           invalid=True)
        body = assert_problem(r, 400)
        assert "ar, en, fr" in body["detail"]


def test_lists_in_a_language_json_and_ndjson(ctx, world):
    params = {"district": world.marker, "sort": "name", "lang": "ar"}
    data = get(ctx, ORGS, params).json()["data"]
    assert sorted(o["id"] for o in data) == sorted([world.full["id"], world.bare["id"]])
    by_id = {o["id"]: o for o in data}
    assert by_id[world.full["id"]]["display_name"] == "شبكة المنظمات العربية"
    r = get(ctx, ORGS, dict(params, format="ndjson"))
    lines = {o["id"]: o for o in json_lines(r.text)}
    assert lines[world.full["id"]]["display_description"] == "تعمل على التنمية"
    assert lines[world.bare["id"]]["display_name"] == world.bare["name"]


def test_anonymous_reads_get_display_fields_but_never_internal_fields(ctx, world):
    r = get(ctx, ORGS, {"district": world.marker, "lang": "fr"}, token=False)
    for o in r.json()["data"]:
        assert "email" not in o and "phone" not in o
        assert "display_name" in o


def test_csv_keeps_its_columns_in_a_language(ctx, world):
    r = get(ctx, ORGS, {"district": world.marker, "format": "csv", "lang": "ar",
                        "fields": "id,name"})
    header = r.text.lstrip("\ufeff").splitlines()[0]
    assert header == "id,name"


def test_fields_projection_shows_display_only_of_selected_fields(ctx, world):
    body = get(ctx, f"{ORGS}/{world.full['id']}", {"lang": "fr", "fields": "id,name"}).json()
    assert body == {"id": world.full["id"], "name": "Arab NGO Network",
                    "display_name": "Réseau des ONG arabes"}
    body = get(ctx, f"{ORGS}/{world.full['id']}", {"lang": "fr", "fields": "id,kind"}).json()
    assert body == {"id": world.full["id"], "kind": "association"}


def test_partnership_titles_descriptions_and_embedded_records(ctx, world):
    pid = world.partnership["id"]
    body = get(ctx, f"/v1/partnerships/{pid}",
               {"lang": "ar", "include": "ministry,type,organizations"}).json()
    assert body["display_title"] == "نوادي الشباب"
    assert body["display_description"] == "Support to clubs"  # no Arabic: as given
    assert body["ministry"]["display_name"] == "وزارة الشؤون الاجتماعية"
    assert body["type"]["display_name"] == "عقد خدمات"
    names = [o["organization"]["display_name"] for o in body["organizations"]]
    assert names == ["شبكة المنظمات العربية", world.bare["name"]]
    body = get(ctx, f"/v1/partnerships/{pid}", {"lang": "en"}).json()
    assert body["display_title"] == world.partnership["title"]  # no English title
    assert body["display_description"] == "Support to youth clubs"
    body = get(ctx, "/v1/partnerships", {"lang": "fr", "q": world.marker}).json()["data"]
    assert [p["display_title"] for p in body] == ["Clubs de jeunes " + world.marker]


def test_charter_sections_in_a_language_fall_back_per_member(ctx, world):
    body = get(ctx, f"/v1/charters/{world.charter['id']}", {"lang": "ar"}).json()
    assert body["display_title"] == world.charter["title"]
    assert body["display_summary"] == "ملخص"
    assert body["display_sections"] == [
        {"heading": "المبادئ", "body": "الثقة بين الأطراف"},
        {"heading": "Duties", "body": "Each party reports yearly " + world.marker}]
    body = get(ctx, f"/v1/charters/{world.charter['id']}", {"lang": "fr"}).json()
    assert body["display_title"] == "Charte de partenariat"
    assert body["display_sections"][0] == {"heading": "Principles",
                                           "body": "La confiance entre les parties"}
    # the sections themselves are kept as written, translations included
    assert body["sections"] == world.charter["sections"]


@pytest.mark.parametrize("section", [
    {"heading": "H", "body": "B", "heading_de": "x"},          # a language not offered
    {"heading": "H", "body": "B", "body_ar": ""},              # empty
    {"heading": "H", "body": "B", "body_fr": 5},               # not text
    {"heading": "H", "body": "B", "heading_en": "h" * 301},    # too long
    {"heading_ar": "ح", "body_ar": "ن"},                       # the text as given is required
])
def test_bad_section_translations_are_422_and_change_nothing(ctx, world, section):
    cid = world.charter["id"]
    before = get(ctx, f"/v1/charters/{cid}").json()
    r = ctx.client.patch(f"/v1/charters/{cid}", json={"sections": [section]},
                         headers=bearer(ctx.admin.token), invalid=True)
    body = assert_problem(r, 422)
    entries = error_entries(body)
    assert entries == {"sections[0]": "format"}, entries
    assert "heading_ar, heading_en, heading_fr, body_ar, body_en, body_fr" in \
        body["errors"][0]["message"]
    assert get(ctx, f"/v1/charters/{cid}").json() == before


@pytest.mark.parametrize("field,limit", [
    ("description_fr", 10000), ("description_ar", 10000), ("description_en", 10000)])
def test_translations_have_the_limits_of_the_text_they_translate(ctx, world, field, limit):
    r = ctx.client.post(ORGS, json={"name": uniq(), "kind": "club", field: "x" * (limit + 1)},
                        headers=bearer(ctx.admin.token), invalid=True)
    assert error_entries(assert_problem(r, 422)) == {field: "length"}


def test_every_translation_is_searched(ctx, world):
    def ids(path, q):
        return [x["id"] for x in get(ctx, path, {"q": q}).json()["data"]]
    assert world.full["id"] in ids(ORGS, "développement durable")   # description_fr
    assert world.full["id"] in ids(ORGS, "durab")                  # typeahead in French
    assert world.ptype["id"] in ids("/v1/partnership-types", "contrat")
    assert world.partnership["id"] in ids("/v1/partnerships", "youth clubs support")
    assert world.charter["id"] in ids("/v1/charters", "Charte partenariat")
    assert world.charter["id"] in ids("/v1/charters", "الثقة")      # a section's Arabic body
    assert world.charter["id"] in ids("/v1/charters", "confiance")  # and its French one
    assert world.charter["id"] in ids("/v1/charters", "yearly " + world.marker)


def test_search_box_cuts_snippets_from_sections_and_translations(ctx, world):
    r = get(ctx, "/v1/search", {"q": "confiance", "resources": "charters"}, token=False)
    hits = [h for h in r.json()["data"] if h["id"] == world.charter["id"]]
    assert hits, describe(r)
    assert "<mark>confiance</mark>" in hits[0]["snippet"].lower()


def test_translations_round_trip_through_patch_and_filters(ctx, world):
    oid = make_organization(ctx.client, ctx.admin.token, name="Club " + uniq())["id"]
    r = ctx.client.patch(f"{ORGS}/{oid}", json={"description_en": "Football for all"},
                         headers=bearer(ctx.admin.token))
    assert r.status_code == 200, describe(r)
    assert r.json()["description_en"] == "Football for all"
    body = get(ctx, f"{ORGS}/{oid}", {"lang": "en"}).json()
    assert body["display_description"] == "Football for all"
    r = ctx.client.get("/v1/partnerships", params={"title_fr.contains": "CLUBS DE JEU"},
                       headers=bearer(ctx.admin.token))
    assert world.partnership["id"] in [p["id"] for p in r.json()["data"]], describe(r)


def test_a_language_changes_the_etag_and_if_none_match_follows_it(ctx, world):
    path = f"{ORGS}/{world.full['id']}"
    plain = get(ctx, path).headers["ETag"]
    ar = get(ctx, path, {"lang": "ar"}).headers["ETag"]
    assert plain != ar
    r = ctx.client.get(path, params={"lang": "ar"},
                       headers={**bearer(ctx.admin.token), "If-None-Match": ar})
    assert r.status_code == 304
    r = ctx.client.get(path, params={"lang": "fr"},
                       headers={**bearer(ctx.admin.token), "If-None-Match": ar})
    assert r.status_code == 200


def test_search_box_names_hits_in_the_language_asked_for(ctx, world):
    def hit(**kw):
        r = get(ctx, "/v1/search", dict(q=world.marker, resources="partnerships,charters"), **kw)
        return {h["id"]: h["name"] for h in r.json()["data"]}, r
    names, r = hit()
    assert names[world.partnership["id"]] == world.partnership["title"]
    assert "Content-Language" not in r.headers
    names, r = hit(headers={"Accept-Language": "fr-FR"})
    assert names[world.partnership["id"]] == "Clubs de jeunes " + world.marker
    assert names[world.charter["id"]] == "Charte de partenariat"
    assert r.headers["Content-Language"] == "fr"
    r = ctx.client.get("/v1/search", params={"q": world.marker, "lang": "ar"})
    assert r.status_code == 200, describe(r)
    by_id = {h["id"]: h["name"] for h in r.json()["data"]}
    assert by_id[world.partnership["id"]] == "نوادي الشباب"
    assert by_id[world.charter["id"]] == world.charter["title"]  # no Arabic title: as given
    r = ctx.client.get("/v1/search", params={"q": "x", "lang": "de"}, invalid=True)
    assert "ar, en, fr" in assert_problem(r, 400)["detail"]


def test_statistics_name_referenced_records_in_the_language_asked_for(ctx, world):
    params = {"group_by": "ministry_id,type_id", "q": world.marker}
    def row(**extra):
        r = get(ctx, "/v1/stats/partnerships", dict(params, **extra.pop("p", {})), **extra)
        rows = r.json()["data"]
        assert len(rows) == 1, rows
        return rows[0], r
    plain, r = row()
    assert plain["ministry_name"] == "Ministry of Social Affairs"
    assert plain["type_name"] == "Service contract"
    ar, r = row(p={"lang": "ar"})
    assert ar["ministry_name"] == "وزارة الشؤون الاجتماعية"
    assert ar["type_name"] == "عقد خدمات"
    assert ar["count"] == plain["count"] == 1
    assert r.headers["Content-Language"] == "ar"
    en, _ = row(headers={"Accept-Language": "en"})
    assert en["ministry_name"] == "Ministry of Social Affairs"  # no English name: as given
    fr, _ = row(headers={"Accept-Language": "fr;q=0.9"})
    assert fr["ministry_name"] == "Ministère des Affaires sociales"


def test_ndjson_exports_carry_display_fields_and_the_others_refuse_lang(ctx, world):
    r = get(ctx, "/v1/exports/organizations.ndjson", {"district": world.marker, "lang": "fr"})
    by_id = {o["id"]: o for o in json_lines(r.text)}
    assert by_id[world.full["id"]]["display_name"] == "Réseau des ONG arabes"
    r = get(ctx, "/v1/exports/organizations.ndjson", {"district": world.marker},
            headers={"Accept-Language": "ar"})
    by_id = {o["id"]: o for o in json_lines(r.text)}
    assert by_id[world.full["id"]]["display_name"] == "شبكة المنظمات العربية"
    r = get(ctx, "/v1/exports/organizations.ndjson", {"district": world.marker})
    assert all("display_name" not in o for o in json_lines(r.text))
    for path, invalid in (("/v1/exports/organizations.csv", False),
                          ("/v1/exports/iati-activities.xml", True)):
        r = ctx.client.get(path, params={"lang": "ar"}, headers=bearer(ctx.admin.token),
                           invalid=invalid)
        assert "lang" in assert_problem(r, 400)["detail"]


def test_if_match_takes_the_etag_a_browser_read_in_its_language(ctx, world):
    oid = make_organization(ctx.client, ctx.admin.token, name="Club " + uniq(), name_ar="نادي")["id"]
    path = f"{ORGS}/{oid}"
    ar = {"Accept-Language": "ar-LB,ar;q=0.9"}
    tag = get(ctx, path, headers=ar).headers["ETag"]
    assert tag != get(ctx, path).headers["ETag"]
    # the same headers as the read: the tag names the current version
    r = ctx.client.patch(path, json={"acronym": "NC"},
                         headers={**bearer(ctx.admin.token), **ar, "If-Match": tag})
    assert r.status_code == 200, describe(r)
    # now stale, in every language
    r = ctx.client.patch(path, json={"acronym": "NX"},
                         headers={**bearer(ctx.admin.token), **ar, "If-Match": tag})
    assert_problem(r, 412)
    fresh = get(ctx, path, headers=ar).headers["ETag"]
    # a tag of the Arabic answer does not match for a request that asks another language
    r = ctx.client.patch(path, json={"acronym": "NX"},
                         headers={**bearer(ctx.admin.token), "Accept-Language": "fr",
                                  "If-Match": fresh})
    assert_problem(r, 412)
    r = ctx.client.patch(path, json={"acronym": "NX"},
                         headers={**bearer(ctx.admin.token), "If-Match": fresh})
    assert_problem(r, 412)
    assert get(ctx, path).json()["acronym"] == "NC"
    r = ctx.client.delete(path, headers={**bearer(ctx.admin.token), **ar, "If-Match": fresh})
    assert r.status_code == 204, describe(r)
