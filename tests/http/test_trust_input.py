"""Input under attack: error lists that stay small, text that is never invalid UTF-8, change-feed
cursors in their own syntax only, and the messages of a refused cursor or limit."""

import json
import re

import pytest

from support.bodies import organization_body
from support.checks import assert_problem, describe, uniq
from support.principals import bearer

MAX_LISTED = 50  # PROBLEM_MAX_ERRORS


def unknown_keys_body(count, limit):
    """A JSON object of `count` unknown keys, kept under `limit` bytes."""
    body = {f"k{i:06d}": 1 for i in range(count)}
    text = json.dumps(body, separators=(",", ":"))
    assert len(text) < limit, len(text)
    return text


# ---------------------------------------------------------------- error lists are capped


def test_a_body_of_thousands_of_unknown_keys_lists_50_errors_and_counts_the_rest(
        http, admin_token, db, start_server, api_for):
    text = unknown_keys_body(5000, 65536)
    before = db.count("organizations")
    r = http.post("/v1/organizations", data=text,
                  headers={**bearer(admin_token), "Content-Type": "application/json"}, invalid=True)
    p = assert_problem(r, 422, instance="/v1/organizations")
    assert len(p["errors"]) == MAX_LISTED, len(p["errors"])
    # Every unknown key, plus the required fields that are missing, is counted.
    assert p["errors_omitted"] >= 5000 - MAX_LISTED, p["errors_omitted"]
    assert all(e["code"] for e in p["errors"])
    assert len(r.content) < 16 * 1024, len(r.content)
    assert db.count("organizations") == before

    # The login answer is capped the same way (a server of its own: login throttles are shared).
    srv = start_server()
    client = api_for(srv)
    r = client.post("/v1/auth/token", data=text, headers={"Content-Type": "application/json"},
                    invalid=True)
    assert r.status_code in (400, 422), describe(r)
    p = assert_problem(r, r.status_code, instance="/v1/auth/token")
    if "errors" in p:
        assert len(p["errors"]) <= MAX_LISTED
    assert len(r.content) < 16 * 1024, len(r.content)


def test_a_batch_of_many_bad_items_lists_50_errors(http, admin_token, db):
    items = [{"name": "", "kind": "nothing", "extra": i} for i in range(300)]
    before = db.count("organizations")
    r = http.post("/v1/organizations/batch", json={"items": items}, headers=bearer(admin_token),
                  invalid=True)
    p = assert_problem(r, 422, instance="/v1/organizations/batch")
    assert len(p["errors"]) == MAX_LISTED
    assert p["errors_omitted"] >= 300 * 3 - MAX_LISTED, p["errors_omitted"]
    assert p["errors"][0]["field"].startswith("items[0]"), p["errors"][0]
    assert db.count("organizations") == before


def test_a_short_error_list_has_no_omitted_count(http, admin_token):
    r = http.post("/v1/organizations", json={"kind": "association", "nope": 1},
                  headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance="/v1/organizations")
    assert 1 <= len(p["errors"]) < MAX_LISTED
    assert "errors_omitted" not in p


# ---------------------------------------------------------------- every text is UTF-8


@pytest.mark.parametrize("query, name", [
    ("/v1/organizations?q=%ff", "q"),
    ("/v1/organizations?name=%ff", "name"),
    ("/v1/organizations?sectors=%c3", "sectors"),
    ("/v1/organizations?sort=%ff", "sort"),
    ("/v1/organizations?fields=name,%e2%82", "fields"),
    ("/v1/partnerships?title=ok&status=%c0%80", "status"),
    ("/v1/exports/organizations.csv?q=%ff", "q"),
    ("/v1/exports/organizations.ndjson?name=%ed%a0%80", "name"),
    ("/v1/stats/partnerships?group_by=%ff", "group_by"),
    ("/v1/changes?after=%ff", "after"),
    ("/v1/organizations?name=a%00b", "name"),
])
def test_a_query_value_that_is_not_utf8_is_a_400_naming_the_parameter(http, admin_token, query,
                                                                       name):
    # A NUL is a character a string may hold; the server refuses it all the same.
    r = http.get(query, headers=bearer(admin_token), invalid="%00" not in query)
    p = assert_problem(r, 400)
    assert p["type"] == "urn:sharaka:problem:invalid-utf8", p
    assert f"query parameter {name} " in p["detail"], p


@pytest.mark.parametrize("query", ["/v1/organizations?%ff=1", "/v1/organizations?na%c3me=x"])
def test_a_parameter_name_that_is_not_utf8_keeps_its_detail(http, query):
    r = http.get(query, invalid=True)
    p = assert_problem(r, 400)
    assert p["type"] == "urn:sharaka:problem:invalid-utf8", p
    assert "name of a query parameter" in p["detail"] and "\\x" in p["detail"], p


def test_a_path_that_is_not_utf8_is_a_400_with_its_detail(http):
    r = http.get("/v1/organizations/%ff%fe")
    p = assert_problem(r, 400)
    assert "path is not valid UTF-8" in p["detail"], p


def test_an_unknown_parameter_with_arabic_text_is_quoted_intact(http):
    r = http.get("/v1/organizations", params={"اسم": "x"}, invalid=True)
    p = assert_problem(r, 400, instance="/v1/organizations")
    assert "اسم" in p["detail"], p


# ---------------------------------------------------------------- external_ids keys


def test_an_external_ids_key_cut_inside_a_character_is_still_reported(http, admin_token, db):
    # 59 ASCII bytes, then a two-byte letter across the 60th byte: the key is 71+ bytes long.
    key = "s" * 59 + "ع" + "x" * 10
    assert len(key.encode()) == 71
    before = db.count("organizations")
    body = organization_body(external_ids={key: {"nested": "object"}})
    r = http.post("/v1/organizations", json=body, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance="/v1/organizations")
    fields = [e["field"] for e in p["errors"]]
    assert fields == ["external_ids." + "s" * 59], fields
    assert db.count("organizations") == before

    # The same key with a string id is refused too (the key is longer than a scheme may be).
    r = http.post("/v1/organizations", json=organization_body(external_ids={key: "1"}),
                  headers=bearer(admin_token), invalid=True)
    assert_problem(r, 422, instance="/v1/organizations")
    assert db.count("organizations") == before


# ---------------------------------------------------------------- change-feed cursors


@pytest.mark.parametrize("after", [
    "%0D%0A99999999-1", "99999999-1%0D%0A", "%2012-3", "+12-3", "12-+3", "12--3", "-12-3",
    "12-3-4", "12", "-", "1-", "-1", "99999999999999999999-1", "1-99999999999999999999",
    "12-3%22", "0x10-1",
])
def test_a_feed_cursor_is_only_its_own_syntax(http, admin_token, after):
    # The spec refuses each, overflowing numbers included (at most 18 digits each).
    r = http.get(f"/v1/changes?after={after}", headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 400, instance="/v1/changes")
    assert p["type"] == "urn:sharaka:problem:invalid-cursor", p
    assert "X-Next-Cursor" not in r.headers


def test_a_feed_cursor_is_echoed_canonically(http, admin_token):
    r = http.get("/v1/changes?after=000000099999999999-0001&limit=1",
                 headers=bearer(admin_token))
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert body["data"] == [] and body["next_cursor"] == "99999999999-1", body
    assert r.headers["X-Next-Cursor"] == "99999999999-1"


# ---------------------------------------------------------------- messages of refused lists


def test_a_cursor_used_with_another_sort_names_the_sort_it_was_made_for(http, admin_token):
    for i in range(3):
        r = http.post("/v1/organizations", json=organization_body(name="Sorted " + uniq()),
                      headers=bearer(admin_token))
        assert r.status_code == 201, describe(r)
    page = http.get("/v1/organizations", params={"sort": "-name", "limit": "1"})
    assert page.status_code == 200, describe(page)
    cursor = page.json()["next_cursor"]
    assert cursor
    r = http.get("/v1/organizations", params={"sort": "name", "limit": "1", "cursor": cursor})
    p = assert_problem(r, 400, instance="/v1/organizations")
    assert "sort=-name" in p["detail"] and "(null)" not in p["detail"], p


@pytest.mark.parametrize("limit", ["0", "201", "abc", " 5", "5 ", "+5", "1e2", ""])
def test_a_bad_limit_is_a_400_naming_limit(http, limit):
    r = http.get("/v1/organizations", params={"limit": limit}, invalid=True)
    p = assert_problem(r, 400, instance="/v1/organizations")
    assert "limit" in p["detail"], p


@pytest.mark.parametrize("path", ["/v1/organizations%00abc", "/console/app.js%00.css",
                                  "/healthz%00", "/v1/organizations/%00"])
def test_a_path_holding_an_encoded_nul_names_nothing_not_the_path_before_it(http, path):
    # decoded, the path would end at the NUL: /v1/organizations%00abc would list organizations
    r = http.get(path, invalid=path.count("/") == 1 or "%00abc" in path)
    p = assert_problem(r, 404)
    assert p["type"] == "urn:sharaka:problem:not-found", p
    assert "%00" in p["detail"], p
