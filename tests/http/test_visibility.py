"""Internal fields (the e-mail and phone of organizations and public bodies, who verified a
monitoring record) never reach anonymous callers, in any representation; they do reach a signed-in
analyst. Monitoring records, statistics, the change feed and the audit log need a token."""

import csv
import io
import json

import pytest

from support.bodies import (ministry_body, monitoring_body, organization_body, partnership_body,
                            partnership_type_body)
from support.checks import assert_problem, uniq
from support.principals import Principal

INTERNAL = ("email", "phone")


@pytest.fixture(scope="module")
def ctx(ctx):
    ctx = ctx.extend(admin=ctx.add_user("admin"))  # the records below are the module admin's
    marker = uniq("hidden")
    secrets = {"org_email": f"{marker}.org@contact.test", "org_phone": "+961 1 " + marker[-6:],
               "min_email": f"{marker}.min@contact.test", "min_phone": "+961 2 " + marker[-6:],
               "parent_email": f"{marker}.parent@contact.test"}
    parent = ctx.create("/v1/ministries",
                        ministry_body(email=secrets["parent_email"], phone="+961 3 000000"))
    ministry = ctx.create("/v1/ministries",
                          ministry_body(email=secrets["min_email"], phone=secrets["min_phone"],
                                        parent_id=parent["id"]))
    org = ctx.create("/v1/organizations",
                     organization_body(email=secrets["org_email"], phone=secrets["org_phone"]))
    ptype = ctx.create("/v1/partnership-types", partnership_type_body())
    partnership = ctx.create("/v1/partnerships",
                             partnership_body(ptype["id"], ministry["id"], [org["id"]]))
    record = ctx.create("/v1/monitoring-records",
                        monitoring_body(partnership["id"], status="verified"))
    return ctx.extend(analyst=ctx.add_user("analyst"),
                      anonymous=Principal("anonymous", "anonymous"), secrets=secrets,
                      marker=marker, org=org, ministry=ministry, parent=parent,
                      partnership=partnership, record=record)


def get(ctx, who, path, **params):
    r = ctx.client.get(path, params=params, headers=getattr(ctx, who).headers)
    assert r.status_code == 200, f"GET {path} {params} as {who}: {r.status_code} {r.text[:300]}"
    return r


def assert_hidden(ctx, r):
    """No internal field name as a key or column, and no internal value anywhere."""
    for value in ctx.secrets.values():
        assert value not in r.text, f"{value!r} reached an anonymous caller: {r.text[:500]}"
    assert ctx.marker not in r.text


def keys_of(r):
    """Every key of every JSON object in a JSON or NDJSON answer, recursively."""
    found = set()

    def walk(v):
        if isinstance(v, dict):
            found.update(v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    ct = r.headers.get("Content-Type", "")
    docs = ([json.loads(line) for line in r.text.splitlines() if line.strip()]
            if "ndjson" in ct else [r.json()])
    for d in docs:
        walk(d)
    return found


def csv_header(r):
    return next(csv.reader(io.StringIO(r.text)))


# ---------------------------------------------------------------- organizations and ministries


@pytest.mark.parametrize("resource, fixture, email_key", [
    ("organizations", "org", "org_email"), ("ministries", "ministry", "min_email")])
def test_get_one_hides_contact_fields_from_anonymous_only(ctx, resource, fixture, email_key):
    rid = getattr(ctx, fixture)["id"]
    r = get(ctx, "anonymous", f"/v1/{resource}/{rid}")
    assert not set(INTERNAL) & set(r.json()), r.json()
    assert_hidden(ctx, r)
    r = get(ctx, "analyst", f"/v1/{resource}/{rid}")
    assert r.json()["email"] == ctx.secrets[email_key], r.json()
    assert r.json()["phone"], r.json()


@pytest.mark.parametrize("resource, fixture", [("organizations", "org"),
                                               ("ministries", "ministry")])
@pytest.mark.parametrize("fmt", ["json", "csv", "ndjson", "accept-csv"])
def test_lists_hide_contact_fields_from_anonymous_in_every_format(ctx, resource, fixture, fmt):
    rid = getattr(ctx, fixture)["id"]
    params = {"id": rid}
    headers = {}
    if fmt in ("csv", "ndjson"):
        params["format"] = fmt
    elif fmt == "accept-csv":
        headers = {"Accept": "text/csv"}
    seen = {}
    for who in ("anonymous", "analyst"):
        r = ctx.client.get(f"/v1/{resource}", params=params,
                           headers={**headers, **getattr(ctx, who).headers})
        assert r.status_code == 200, r.text
        assert rid in r.text, f"the record is not in the {fmt} list"
        seen[who] = r
    anon, analyst = seen["anonymous"], seen["analyst"]
    assert_hidden(ctx, anon)
    if fmt in ("csv", "accept-csv"):
        assert anon.headers["Content-Type"].startswith("text/csv")
        assert not set(INTERNAL) & set(csv_header(anon)), csv_header(anon)
        assert set(INTERNAL) <= set(csv_header(analyst)), csv_header(analyst)
    else:
        assert not set(INTERNAL) & keys_of(anon)
        assert set(INTERNAL) <= keys_of(analyst)
    assert ctx.marker in analyst.text


@pytest.mark.parametrize("params", [
    {"fields": "email"}, {"fields": "id,name,phone"}, {"email": "x@contact.test"},
    {"phone": "+961"}, {"sort": "email"}, {"email.null": "false"}, {"phone.ne": "x"}],
    ids=["fields-email", "fields-phone", "filter-email", "filter-phone", "sort-email",
         "email-null", "phone-ne"])
@pytest.mark.parametrize("resource", ["organizations", "ministries"])
def test_asking_anonymously_for_contact_fields_is_400(ctx, resource, params):
    # The spec names the contact fields among those one may ask for (a signed-in caller may).
    r = ctx.client.get(f"/v1/{resource}", params=params, invalid="fields" not in params)
    assert_problem(r, 400, instance=f"/v1/{resource}")
    assert_hidden(ctx, r)


def test_asking_anonymously_for_contact_fields_of_one_record_is_400(ctx):
    r = ctx.client.get(f"/v1/organizations/{ctx.org['id']}", params={"fields": "email"})
    assert_problem(r, 400)
    assert_hidden(ctx, r)


def test_analyst_may_project_contact_fields(ctx):
    r = get(ctx, "analyst", "/v1/organizations", id=ctx.org["id"], fields="id,email,phone")
    [item] = r.json()["data"]
    assert item["email"] == ctx.secrets["org_email"], item
    assert item["phone"] == ctx.secrets["org_phone"], item


def test_search_does_not_find_records_by_hidden_contact_fields(ctx):
    r = get(ctx, "anonymous", "/v1/organizations", q=ctx.marker)
    assert r.json()["data"] == [], r.text
    assert_hidden(ctx, r)


# ---------------------------------------------------------------- embedded records


def test_included_organizations_and_ministry_hide_contact_fields_from_anonymous(ctx):
    path = f"/v1/partnerships/{ctx.partnership['id']}"
    anon = get(ctx, "anonymous", path, include="organizations,ministry")
    assert "ministry" in anon.json() and anon.json()["organizations"], anon.json()
    assert not set(INTERNAL) & keys_of(anon), anon.json()
    assert_hidden(ctx, anon)
    listing = get(ctx, "anonymous", "/v1/partnerships", id=ctx.partnership["id"],
                  include="organizations,ministry")
    assert ctx.partnership["id"] in listing.text
    assert_hidden(ctx, listing)
    analyst = get(ctx, "analyst", path, include="organizations,ministry")
    assert ctx.secrets["min_email"] in analyst.text and ctx.secrets["org_email"] in analyst.text


def test_included_parent_ministry_hides_contact_fields_from_anonymous(ctx):
    path = f"/v1/ministries/{ctx.ministry['id']}"
    anon = get(ctx, "anonymous", path, include="parent")
    assert ctx.parent["id"] in anon.text, anon.text
    assert_hidden(ctx, anon)
    assert ctx.secrets["parent_email"] in get(ctx, "analyst", path, include="parent").text


# ---------------------------------------------------------------- exports


@pytest.mark.parametrize("resource, fixture", [("organizations", "org"),
                                               ("ministries", "ministry")])
@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_exports_hide_contact_fields_from_anonymous(ctx, resource, fixture, ext):
    rid = getattr(ctx, fixture)["id"]
    path = f"/v1/exports/{resource}.{ext}"
    anon = get(ctx, "anonymous", path, id=rid)
    analyst = get(ctx, "analyst", path, id=rid)
    assert rid in anon.text and rid in analyst.text
    assert_hidden(ctx, anon)
    if ext == "csv":
        assert not set(INTERNAL) & set(csv_header(anon)), csv_header(anon)
        assert set(INTERNAL) <= set(csv_header(analyst))
    else:
        assert not set(INTERNAL) & keys_of(anon)
        assert set(INTERNAL) <= keys_of(analyst)
    assert ctx.marker in analyst.text


def test_export_asking_anonymously_for_contact_fields_is_400(ctx):
    r = ctx.client.get("/v1/exports/organizations.csv", params={"fields": "id,email"})
    assert_problem(r, 400)
    assert_hidden(ctx, r)


# ---------------------------------------------------------------- signed-in only


def test_monitoring_record_shows_who_verified_it_to_an_analyst(ctx):
    r = get(ctx, "analyst", f"/v1/monitoring-records/{ctx.record['id']}")
    assert r.json()["status"] == "verified", r.json()
    assert r.json()["verified_by"] == ctx.admin.sub, r.json()
    assert r.json()["verified_at"], r.json()


@pytest.mark.parametrize("path", [
    "/v1/monitoring-records", "/v1/monitoring-records?format=csv",
    "/v1/monitoring-records?format=ndjson", "/v1/monitoring-records/{record}",
    "/v1/monitoring-records?fields=id,verified_by",
    "/v1/exports/monitoring-records.csv", "/v1/exports/monitoring-records.ndjson",
    "/v1/stats/partnerships?group_by=status", "/v1/stats/monitoring?group_by=rating",
    "/v1/changes", "/v1/changes?resources=organizations", "/v1/audit-log",
])
def test_signed_in_only_routes_are_401_for_anonymous(ctx, path):
    path = path.replace("{record}", ctx.record["id"])
    r = ctx.client.get(path)
    assert_problem(r, 401)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and "invalid_token" not in challenge, challenge
    assert_hidden(ctx, r)
    assert ctx.record["id"] not in r.text or path.endswith(ctx.record["id"])


@pytest.mark.parametrize("path", [
    "/v1/monitoring-records", "/v1/exports/monitoring-records.ndjson",
    "/v1/stats/partnerships?group_by=status", "/v1/stats/monitoring?group_by=rating",
    "/v1/changes?limit=5"])
def test_signed_in_only_routes_answer_an_analyst(ctx, path):
    r = ctx.client.get(path, headers=ctx.analyst.headers)
    assert r.status_code == 200, r.text
