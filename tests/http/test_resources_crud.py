"""The partnership domain's records: create, read, change and delete, and every way a write is
refused (409, 412, 415, 422, 400) without changing anything."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import pytest

from support.bodies import (charter_body, create, full_monitoring_body, make_charter, make_ministry,
                            make_monitoring_record, make_organization, make_partnership,
                            make_partnership_type, make_signatory, ministry_body, organization_body,
                            full_partnership_body, partnership_type_body)
from support.checks import TIMESTAMP_RE, UUID_RE, assert_problem, describe, error_entries, uniq
from support.db import count_sql, row_sql, sql_str
from support.principals import bearer


# ---------------------------------------------------------------- one case per resource


@dataclass
class Case:
    name: str
    table: str
    public: bool  # readable without a token
    new: Callable  # (http, token) -> (collection path, create body)
    change: dict  # a patch that changes one text field
    deletable: bool = True

    def __str__(self):
        return self.name


def _new_organization(http, token):
    return "/v1/organizations", organization_body(
        name_ar="جمعية " + uniq(), acronym="OLD", kind="network", governorate="akkar",
        sectors=["youth", "education"], external_ids={"LB-MOI": "1234/AD"},
        founded_on="2001-05-17", website="https://example.org/a", email="info@example.org",
        phone="+961-1-123456", description="An association")


def _new_ministry(http, token):
    parent = make_ministry(http, token)
    return "/v1/ministries", ministry_body(
        name_ar="وزارة " + uniq(), acronym="OLD", kind="public-institution",
        parent_id=parent["id"], governorate="beirut", website="http://example.gov.lb",
        email="office@example.gov.lb", phone="+961-1-000000")


def _new_partnership_type(http, token):
    return "/v1/partnership-types", partnership_type_body(
        name_ar="عقد " + uniq(), description="A kind", financial=True,
        engagement_level="cooperation")


def _new_partnership(http, token):
    orgs = [make_organization(http, token)["id"] for _ in range(2)]
    return "/v1/partnerships", full_partnership_body(
        http, token,
        organizations=[{"organization_id": orgs[0], "role": "lead"},
                       {"organization_id": orgs[1], "role": "funder"}],
        title_ar="شراكة " + uniq(), programme="AFKAR 3", instrument="contract",
        instrument_reference="REF-1", legal_basis="Decree 1", start_date="2024-01-01",
        end_date="2024-12-31", amount="45000.50", currency="USD", status="active",
        governorates=["akkar", "north"], description="A partnership")


def _new_charter(http, token):
    return "/v1/charters", charter_body(
        title_ar="ميثاق " + uniq(), version_label="v1", adopted_on="2018-10-01", status="adopted",
        summary="A charter", sections=[{"heading": "One", "body": "First section"}],
        document_url="https://example.org/charter.pdf")


def _new_signatory(http, token):
    charter = make_charter(http, token)
    org = make_organization(http, token)
    return f"/v1/charters/{charter['id']}/signatories", {
        "party_type": "organization", "party_id": org["id"], "signed_on": "2019-02-20",
        "signed_by": "A. Person"}


def _new_monitoring_record(http, token):
    return "/v1/monitoring-records", full_monitoring_body(
        http, token, unit="people", baseline=0, target=200, actual=140, rating="at-risk",
        findings="Some findings", recommendations="Some advice",
        evidence_urls=["https://example.org/report.pdf"], status="submitted")


CASES = [
    Case("organizations", "organizations", True, _new_organization, {"acronym": "NEW"}),
    Case("ministries", "ministries", True, _new_ministry, {"acronym": "NEW"}),
    Case("partnership-types", "partnership_types", True, _new_partnership_type,
         {"description": "changed"}),
    Case("partnerships", "partnerships", True, _new_partnership, {"programme": "AFKAR 4"}),
    Case("charters", "charters", True, _new_charter, {"version_label": "v2"}),
    Case("signatories", "charter_signatories", True, _new_signatory, {"signed_by": "B. Person"},
         deletable=False),
    Case("monitoring-records", "monitoring_records", False, _new_monitoring_record,
         {"findings": "changed"}),
]
DELETABLE = [c for c in CASES if c.deletable]


def ts(text):
    """An RFC 3339 time from the API or from row_to_json, as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_json(r, status):
    assert r.status_code == status, describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json", r.headers
    return r.json()


def assert_body_holds(body, sent):
    for k, v in sent.items():
        assert body[k] == v, f"{k}: sent {v!r}, answered {body[k]!r}"


@pytest.fixture
def admin(admin_token):
    return bearer(admin_token)


_PARTIES = {}


@pytest.fixture
def parties(http, admin_token):
    """A public body, a partnership type and an organization that bodies may refer to (made
    once for the module: the validation tests need them only to be valid)."""
    if not _PARTIES:
        _PARTIES["ministry_id"] = make_ministry(http, admin_token)["id"]
        _PARTIES["type_id"] = make_partnership_type(http, admin_token)["id"]
        _PARTIES["organization_id"] = make_organization(http, admin_token)["id"]
    return dict(_PARTIES)


def valid_partnership(parties, **over):
    body = {"title": "Partnership " + uniq(), "ministry_id": parties["ministry_id"],
            "type_id": parties["type_id"],
            "organizations": [{"organization_id": parties["organization_id"], "role": "lead"}]}
    body.update(over)
    return body


@pytest.fixture
def created(http, admin_token, request):
    """(case, collection path, sent body, answer) of a freshly created record of the case."""
    case = request.param
    path, body = case.new(http, admin_token)
    r = http.post(path, json=body, headers=bearer(admin_token))
    assert r.status_code == 201, describe(r)
    return case, path, body, r


def item_path(path, rec):
    return f"{path}/{rec['id']}"


# ---------------------------------------------------------------- create, read


@pytest.mark.parametrize("created", CASES, ids=str, indirect=True)
def test_create_is_201_with_location_etag_and_the_stored_record(http, db, admin, created):
    case, path, sent, r = created
    body = assert_json(r, 201)
    assert UUID_RE.match(body["id"]), body
    assert r.headers["Location"] == f"{path}/{body['id']}"
    assert r.headers["ETag"].startswith('"1-')
    assert_body_holds(body, sent)
    assert body["version"] == 1
    assert body["source"] == "sharaka"
    assert TIMESTAMP_RE.match(body["created_at"]) and TIMESTAMP_RE.match(body["updated_at"])
    assert ts(body["updated_at"]) >= ts(body["created_at"])

    db = db.values(row=row_sql(case.table, body["id"]),
                 audit="(SELECT json_agg(action) FROM audit_log "
                       f"WHERE record_id = {sql_str(body['id'])})")
    row = db["row"]
    assert row is not None
    assert row["version"] == 1 and row["source"] == "sharaka" and row["deleted_at"] is None
    assert ts(row["created_at"]) == ts(body["created_at"])
    for k, v in sent.items():
        if k not in ("organizations", "amount"):
            assert row[k] == v, (k, row[k], v)
    assert db["audit"] == ["create"]

    again = http.get(r.headers["Location"], headers=admin)
    assert assert_json(again, 200) == body


def test_partnership_is_stored_with_its_organizations_roles_and_order(http, db, admin_token):
    orgs = [make_organization(http, admin_token)["id"] for _ in range(3)]
    parties = [{"organization_id": orgs[2], "role": "implementer"},
               {"organization_id": orgs[0], "role": "lead"},
               {"organization_id": orgs[1], "role": "partner"}]
    p = make_partnership(http, admin_token, organizations=parties, amount="1500", currency="LBP")
    assert p["organizations"] == parties
    assert p["amount"] == "1500.00" and p["currency"] == "LBP"
    assert db.parties(p["id"]) == [(o["organization_id"], o["role"], i)
                                       for i, o in enumerate(parties)]


def test_create_with_a_supplied_id_keeps_it(http, db, admin_token):
    own = str(uuid.uuid4())
    org = make_organization(http, admin_token, id=own)
    assert org["id"] == own
    assert db.row("organizations", own)["name"] == org["name"]
    again = http.post("/v1/organizations", json=organization_body(id=own),
                      headers=bearer(admin_token))
    assert_problem(again, 409, instance="/v1/organizations")
    assert db.count("organizations", f"id = {sql_str(own)}") == 1


@pytest.mark.parametrize("created", CASES, ids=str, indirect=True)
def test_get_is_200_with_etag_and_if_none_match_is_304(http, admin, created):
    case, path, sent, r = created
    url = item_path(path, r.json())
    got = http.get(url, headers=admin)
    assert assert_json(got, 200) == r.json()
    etag = got.headers["ETag"]
    assert etag == r.headers["ETag"] and etag.startswith('"1-')
    for inm in (etag, f'"9", {etag}', "*", f"W/{etag}"):
        nm = http.get(url, headers={**admin, "If-None-Match": inm})
        assert nm.status_code == 304, (inm, describe(nm))
        assert nm.content == b""
        assert nm.headers["ETag"] == etag
    other = http.get(url, headers={**admin, "If-None-Match": '"1"'})
    assert assert_json(other, 200) == r.json()

    anonymous = http.get(url)
    if case.public:
        internal = ("email", "phone")
        assert assert_json(anonymous, 200) == {k: v for k, v in r.json().items()
                                               if k not in internal}
        assert anonymous.headers["ETag"].startswith('"1-')
    else:
        assert_problem(anonymous, 401, instance=url)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_get_of_an_unknown_or_malformed_id_is_404(http, admin_token, case):
    path, _ = (case.new(http, admin_token) if case.name == "signatories"
               else (f"/v1/{case.name}", None))
    for rid in (str(uuid.uuid4()), "not-a-uuid"):
        r = http.get(f"{path}/{rid}", headers=bearer(admin_token))
        assert_problem(r, 404, instance=f"{path}/{rid}")


# ---------------------------------------------------------------- change


@pytest.mark.parametrize("created", CASES, ids=str, indirect=True)
def test_patch_is_200_with_new_etag_version_and_updated_at(http, db, admin, created):
    """A JSON body, then a merge-patch body: each one version more, a new ETag, a later
    updated_at; the same patch again changes nothing."""
    case, path, sent, r = created
    before = r.json()
    url = item_path(path, before)
    field = next(iter(case.change))
    changes = [("application/json", case.change),
               ("application/merge-patch+json", {field: "merged"})]
    for version, (content_type, change) in enumerate(changes, start=2):
        p = http.patch(url, data=json.dumps(change),
                       headers={**admin, "Content-Type": content_type})
        body = assert_json(p, 200)
        assert p.headers["ETag"].startswith(f'"{version}-')
        assert body == {**before, **change, "version": version, "updated_at": body["updated_at"]}
        assert ts(body["updated_at"]) > ts(before["updated_at"])
        before = body

    row = db.row(case.table, before["id"])
    assert row[field] == "merged" and row["version"] == 3
    assert ts(row["updated_at"]) == ts(before["updated_at"])
    got = http.get(url, headers=admin)
    assert got.headers["ETag"] == p.headers["ETag"] and got.json() == before

    same = http.patch(url, data=json.dumps({field: "merged"}),
                      headers={**admin, "Content-Type": "application/merge-patch+json"})
    assert assert_json(same, 200) == before
    assert same.headers["ETag"] == p.headers["ETag"]
    assert db.row(case.table, before["id"]) == row


@pytest.mark.parametrize("created", CASES, ids=str, indirect=True)
def test_version_and_updated_at_are_maintained_by_the_database(http, db, admin, created):
    case, path, sent, r = created
    rec = r.json()
    field = next(iter(case.change))
    update = (f"UPDATE {case.table} SET {field} = 'written with SQL' "
              f"WHERE id = {sql_str(rec['id'])};\n")
    select = f"SELECT {row_sql(case.table, rec['id'])};\n"
    out = db.text(select + update + select + update + select)
    before, after, again = [json.loads(line) for line in out.splitlines()
                            if line.startswith("{")]
    assert after["version"] == before["version"] + 1
    assert ts(after["updated_at"]) > ts(before["updated_at"])
    assert after["created_at"] == before["created_at"]
    assert again == after  # an UPDATE that changes no value is no new version
    got = http.get(item_path(path, rec), headers=admin)
    assert got.headers["ETag"].startswith(f'"{after["version"]}-')
    assert got.json()[field] == "written with SQL"


@pytest.mark.parametrize("created", CASES, ids=str, indirect=True)
def test_stale_if_match_is_412_and_changes_nothing(http, db, admin, created):
    case, path, sent, r = created
    rec = r.json()
    url = item_path(path, rec)
    field = next(iter(case.change))
    first = r.headers["ETag"]
    ok = http.patch(url, json=case.change, headers={**admin, "If-Match": first})
    assert assert_json(ok, 200)["version"] == 2
    state = db.state(case.table, rec["id"])

    stale = http.patch(url, json={field: "lost update"}, headers={**admin, "If-Match": first})
    p = assert_problem(stale, 412, instance=url)
    assert "version 2" in p["detail"], p
    if case.deletable:
        gone = http.delete(url, headers={**admin, "If-Match": first})
        assert_problem(gone, 412, instance=url)
    assert db.state(case.table, rec["id"]) == state

    fresh = http.patch(url, json={field: "current"},
                       headers={**admin, "If-Match": f'"9", {ok.headers["ETag"]}'})
    assert assert_json(fresh, 200)["version"] == 3
    assert fresh.headers["ETag"].startswith('"3-')


def test_merge_patch_null_removes_nested_object_keys(http, db, admin_token):
    org = make_organization(http, admin_token, acronym="ACR",
                            external_ids={"LB-MOI": "1/AD", "OTHER": "2", "KEEP": "3"})
    url = f"/v1/organizations/{org['id']}"
    r = http.patch(url, data=json.dumps({"external_ids": {"OTHER": None, "NEW": "4"},
                                         "acronym": None}),
                   headers={**bearer(admin_token),
                            "Content-Type": "application/merge-patch+json"})
    body = assert_json(r, 200)
    assert body["external_ids"] == {"LB-MOI": "1/AD", "KEEP": "3", "NEW": "4"}
    assert body["acronym"] is None
    assert body["version"] == 2
    row = db.row("organizations", org["id"])
    assert row["external_ids"] == {"LB-MOI": "1/AD", "KEEP": "3", "NEW": "4"}
    assert row["acronym"] is None


def test_patch_null_on_a_required_field_is_422(http, db, admin_token):
    org = make_organization(http, admin_token)
    url = f"/v1/organizations/{org['id']}"
    row = db.row("organizations", org["id"])
    r = http.patch(url, json={"name": None, "kind": None, "status": None},
                   headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance=url)
    assert error_entries(p) == {"name": "required", "kind": "required", "status": "required"}
    assert db.row("organizations", org["id"]) == row


def test_patch_replaces_a_partnerships_organizations(http, db, admin_token):
    p = make_partnership(http, admin_token)
    orgs = [make_organization(http, admin_token)["id"] for _ in range(2)]
    parties = [{"organization_id": orgs[1], "role": "partner"},
               {"organization_id": orgs[0], "role": "funder"}]
    r = http.patch(f"/v1/partnerships/{p['id']}", json={"organizations": parties},
                   headers=bearer(admin_token))
    body = assert_json(r, 200)
    assert body["organizations"] == parties and body["version"] == 2
    assert r.headers["ETag"].startswith('"2-')
    assert db.parties(p["id"]) == [(orgs[1], "partner", 0), (orgs[0], "funder", 1)]


# ---------------------------------------------------------------- delete


@pytest.mark.parametrize("created", DELETABLE, ids=str, indirect=True)
def test_delete_is_204_then_404_and_gone_from_lists_but_kept(http, db, admin, created):
    case, path, sent, r = created
    rec = r.json()
    url = item_path(path, rec)
    total = db.count(case.table)

    d = http.delete(url, headers=admin)
    assert d.status_code == 204, describe(d)
    assert d.content == b""

    assert_problem(http.get(url, headers=admin), 404, instance=url)
    assert_problem(http.patch(url, json=case.change, headers=admin), 404, instance=url)
    assert_problem(http.delete(url, headers=admin), 404, instance=url)
    listed = http.get(path, params={"id": rec["id"]}, headers=admin)
    assert assert_json(listed, 200) == {"data": [], "next_cursor": None}

    db = db.values(row=row_sql(case.table, rec["id"]), total=count_sql(case.table),
                 audit="(SELECT json_agg(action ORDER BY at) FROM audit_log "
                       f"WHERE record_id = {sql_str(rec['id'])})")
    assert db["row"] is not None and db["row"]["deleted_at"] is not None, db
    assert db["total"] == total
    assert db["audit"] == ["create", "delete"]


def test_signatures_are_withdrawn_not_deleted(http, admin_token):
    charter = make_charter(http, admin_token)
    sig = make_signatory(http, admin_token, charter["id"])
    url = f"/v1/charters/{charter['id']}/signatories/{sig['id']}"
    r = http.delete(url, headers=bearer(admin_token), invalid=True)
    assert_problem(r, 405, instance=url)
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD", "PATCH"}


def _referenced_organization(http, token):
    org = make_organization(http, token)
    p = make_partnership(http, token, organizations=[{"organization_id": org["id"],
                                                      "role": "lead"}])
    charter = make_charter(http, token)
    sig = make_signatory(http, token, charter["id"], party_id=org["id"])
    return "organizations", org, [("partnerships", p["id"]), ("signatories", sig["id"])]


def _referenced_ministry(http, token):
    m = make_ministry(http, token)
    p = make_partnership(http, token, ministry_id=m["id"])
    child = make_ministry(http, token, parent_id=m["id"])
    charter = make_charter(http, token)
    sig = make_signatory(http, token, charter["id"], party_type="ministry", party_id=m["id"])
    return "ministries", m, [("partnerships", p["id"]), ("ministries", child["id"]),
                             ("signatories", sig["id"])]


def _referenced_type(http, token):
    t = make_partnership_type(http, token)
    p1 = make_partnership(http, token, type_id=t["id"])
    p2 = make_partnership(http, token, type_id=t["id"])
    return "partnership-types", t, sorted([("partnerships", p1["id"]),
                                           ("partnerships", p2["id"])])


def _referenced_partnership(http, token):
    p = make_partnership(http, token)
    mr = make_monitoring_record(http, token, partnership_id=p["id"])
    return "partnerships", p, [("monitoring-records", mr["id"])]


def _referenced_charter(http, token):
    c = make_charter(http, token)
    s = make_signatory(http, token, c["id"])
    return "charters", c, [("signatories", s["id"])]


@pytest.mark.parametrize("make", [_referenced_organization, _referenced_ministry,
                                  _referenced_type, _referenced_partnership,
                                  _referenced_charter],
                         ids=["organization", "ministry", "partnership-type", "partnership",
                              "charter"])
def test_deleting_a_record_others_reference_is_409_naming_them(http, db, admin_token, make):
    resource, rec, refs = make(http, admin_token)
    url = f"/v1/{resource}/{rec['id']}"
    table = {"organizations": "organizations", "ministries": "ministries",
             "partnership-types": "partnership_types", "partnerships": "partnerships",
             "charters": "charters"}[resource]
    row = db.row(table, rec["id"])
    r = http.delete(url, headers=bearer(admin_token))
    p = assert_problem(r, 409, instance=url)
    assert p["type"] == "urn:sharaka:problem:still-referenced", p
    got = sorted((x["resource"], x["id"]) for x in p["referenced_by"])
    assert got == sorted(refs), p
    for _, rid in refs:
        assert rid in p["detail"], p
    assert db.row(table, rec["id"]) == row
    assert http.get(url).status_code == 200


def test_a_record_no_longer_referenced_can_be_deleted(http, db, admin_token):
    resource, org, refs = _referenced_organization(http, admin_token)
    refs = dict(refs)
    charter_id = db.row("charter_signatories", refs["signatories"])["charter_id"]
    h = bearer(admin_token)
    w = http.patch(f"/v1/charters/{charter_id}/signatories/{refs['signatories']}",
                   json={"withdrawn_on": "2024-06-01"}, headers=h)
    assert w.status_code == 200, describe(w)
    r = http.delete(f"/v1/organizations/{org['id']}", headers=h)
    p = assert_problem(r, 409)
    assert [(x["resource"], x["id"]) for x in p["referenced_by"]] == [
        ("partnerships", refs["partnerships"])]
    assert http.delete(f"/v1/partnerships/{refs['partnerships']}", headers=h).status_code == 204
    d = http.delete(f"/v1/organizations/{org['id']}", headers=h)
    assert d.status_code == 204, describe(d)
    assert db.row("organizations", org["id"])["deleted_at"] is not None


# ---------------------------------------------------------------- conflicts and references


def test_duplicate_partnership_type_code_is_409(http, db, admin_token):
    t = make_partnership_type(http, admin_token)
    h = bearer(admin_token)
    r = http.post("/v1/partnership-types", json=partnership_type_body(code=t["code"]), headers=h)
    p = assert_problem(r, 409, instance="/v1/partnership-types")
    assert "code" in p["detail"], p
    assert db.count("partnership_types", f"code = {sql_str(t['code'])}") == 1

    other = make_partnership_type(http, admin_token)
    url = f"/v1/partnership-types/{other['id']}"
    row = db.row("partnership_types", other["id"])
    r = http.patch(url, json={"code": t["code"]}, headers=h)
    assert_problem(r, 409, instance=url)
    assert db.row("partnership_types", other["id"]) == row


def _missing():
    return str(uuid.uuid4())


@pytest.mark.parametrize("kind", ["partnership", "ministry-parent", "monitoring-record",
                                  "signatory-organization", "signatory-ministry",
                                  "deleted-organization"])
def test_reference_to_a_missing_record_is_422_naming_the_field(http, db, admin_token, kind):
    h = bearer(admin_token)
    if kind == "partnership":
        path = "/v1/partnerships"
        body = full_partnership_body(http, admin_token, ministry_id=_missing(), type_id=_missing(),
                                organizations=[{"organization_id": _missing(), "role": "lead"}])
        fields = {"ministry_id", "type_id", "organizations[0].organization_id"}
    elif kind == "ministry-parent":
        path, body, fields = "/v1/ministries", ministry_body(parent_id=_missing()), {"parent_id"}
    elif kind == "monitoring-record":
        path = "/v1/monitoring-records"
        body = full_monitoring_body(http, admin_token, partnership_id=_missing())
        fields = {"partnership_id"}
    elif kind.startswith("signatory"):
        charter = make_charter(http, admin_token)
        path = f"/v1/charters/{charter['id']}/signatories"
        # An organization's id is no public body's id: the party type decides the table.
        party_type = "ministry" if kind.endswith("ministry") else "organization"
        party = (make_organization(http, admin_token)["id"] if party_type == "ministry"
                 else _missing())
        body = {"party_type": party_type, "party_id": party, "signed_on": "2020-01-01"}
        fields = {"party_id"}
    else:
        gone = make_organization(http, admin_token)
        assert http.delete(f"/v1/organizations/{gone['id']}", headers=h).status_code == 204
        path = "/v1/partnerships"
        body = full_partnership_body(http, admin_token,
                                organizations=[{"organization_id": gone["id"], "role": "lead"}])
        fields = {"organizations[0].organization_id"}
    counts = db.digest()
    r = http.post(path, json=body, headers=h)
    p = assert_problem(r, 422, instance=path)
    assert error_entries(p) == {f: "invalid-reference" for f in fields}, p
    assert db.digest() == counts


def test_patch_to_a_missing_reference_is_422_and_changes_nothing(http, db, admin_token):
    p = make_partnership(http, admin_token)
    url = f"/v1/partnerships/{p['id']}"
    row = db.row("partnerships", p["id"])
    r = http.patch(url, json={"ministry_id": _missing(),
                              "organizations": [{"organization_id": _missing(),
                                                 "role": "lead"}]},
                   headers=bearer(admin_token))
    prob = assert_problem(r, 422, instance=url)
    assert set(error_entries(prob)) == {"ministry_id", "organizations[0].organization_id"}
    assert db.row("partnerships", p["id"]) == row
    assert db.parties(p["id"]) == [(o["organization_id"], o["role"], i)
                                       for i, o in enumerate(p["organizations"])]


# ---------------------------------------------------------------- bodies that are refused


@pytest.mark.parametrize("field,value", [("version", 1), ("created_at", "2020-01-01T00:00:00Z"),
                                         ("updated_at", "2020-01-01T00:00:00Z"),
                                         ("source", "annd")])
def test_read_only_field_on_create_is_422(http, db, admin_token, field, value):
    counts = db.digest()
    r = http.post("/v1/organizations", json=organization_body(**{field: value}),
                  headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance="/v1/organizations")
    assert error_entries(p) == {field: "read-only"}
    assert db.digest() == counts


@pytest.mark.parametrize("field,value", [("id", None), ("version", 7),
                                         ("created_at", "2020-01-01T00:00:00Z"),
                                         ("source", "annd")])
def test_read_only_field_on_patch_is_422(http, db, admin_token, field, value):
    org = make_organization(http, admin_token)
    url = f"/v1/organizations/{org['id']}"
    row = db.row("organizations", org["id"])
    r = http.patch(url, json={field: org["id"] if field == "id" else value, "acronym": "X"},
                   headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance=url)
    assert error_entries(p) == {field: "read-only"}
    assert db.row("organizations", org["id"]) == row


def test_signatory_party_and_signing_date_cannot_change(http, db, admin_token):
    charter = make_charter(http, admin_token)
    sig = make_signatory(http, admin_token, charter["id"])
    url = f"/v1/charters/{charter['id']}/signatories/{sig['id']}"
    row = db.row("charter_signatories", sig["id"])
    r = http.patch(url, json={"party_id": make_organization(http, admin_token)["id"],
                              "party_type": "ministry", "signed_on": "2020-01-01",
                              "charter_id": charter["id"]},
                   headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance=url)
    assert error_entries(p) == {"party_id": "read-only", "party_type": "read-only",
                                "signed_on": "read-only", "charter_id": "read-only"}
    assert db.row("charter_signatories", sig["id"]) == row


def test_unknown_fields_are_422_naming_them(http, db, admin_token, parties):
    h = bearer(admin_token)
    org = make_organization(http, admin_token)
    body = valid_partnership(parties)
    body["organizations"][0]["share"] = 50
    digest = db.digest()

    r = http.post("/v1/organizations", json=organization_body(colour="red", Name="x"), headers=h,
                  invalid=True)
    p = assert_problem(r, 422)
    assert error_entries(p) == {"colour": "unknown-field", "Name": "unknown-field"}
    msg = next(e["message"] for e in p["errors"] if e["field"] == "colour")
    assert "name" in msg and "kind" in msg, msg  # says what is allowed

    r = http.post("/v1/partnerships", json=body, headers=h, invalid=True)
    assert error_entries(assert_problem(r, 422)) == {"organizations[0].share": "unknown-field"}

    r = http.patch(f"/v1/organizations/{org['id']}", json={"colour": "red"}, headers=h,
                   invalid=True)
    assert error_entries(assert_problem(r, 422)) == {"colour": "unknown-field"}
    assert db.digest() == digest


def test_every_error_of_a_body_is_reported_at_once(http, db, admin_token):
    body = {
        "type_id": "not-a-uuid",
        "ministry_id": make_ministry(http, admin_token)["id"],
        "organizations": [{"organization_id": make_organization(http, admin_token)["id"],
                           "role": "sponsor"}],
        "instrument": "handshake",
        "start_date": "2024-05-01",
        "end_date": "2024-04-30",
        "amount": "10.005",
        "currency": "usd",
        "status": "ongoing",
        "governorates": ["atlantis"],
        "colour": "red",
    }
    counts = db.digest()
    r = http.post("/v1/partnerships", json=body, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance="/v1/partnerships")
    assert error_entries(p) == {
        "title": "required",
        "type_id": "format",
        "organizations[0].role": "enum",
        "instrument": "enum",
        "end_date": "date-order",
        "amount": "format",
        "currency": "format",
        "status": "enum",
        "governorates[0]": "enum",
        "colour": "unknown-field",
    }
    assert db.digest() == counts


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_malformed_json_is_400_with_line_and_column(http, db, admin_token, method):
    org = make_organization(http, admin_token)
    url = "/v1/organizations" if method == "POST" else f"/v1/organizations/{org['id']}"
    digest = db.digest()
    r = http.request(method, url, data=b'{\n  "name": "x",\n  "kind" "association"\n}',
                     headers={**bearer(admin_token), "Content-Type": "application/json"},
                     invalid=True)
    p = assert_problem(r, 400, instance=url)
    assert p["type"] == "urn:sharaka:problem:malformed-json", p
    assert "line 3" in p["detail"] and "column" in p["detail"], p
    assert db.digest() == digest


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_duplicate_keys_are_400(http, db, admin_token, method):
    org = make_organization(http, admin_token)
    url = "/v1/organizations" if method == "POST" else f"/v1/organizations/{org['id']}"
    digest = db.digest()
    r = http.request(method, url,
                     data='{"name": "a", "kind": "association", "name": "b"}'.encode(),
                     headers={**bearer(admin_token), "Content-Type": "application/json"},
                     invalid=True)
    p = assert_problem(r, 400, instance=url)
    assert "duplicate" in p["detail"] and "name" in p["detail"], p
    assert db.digest() == digest


@pytest.mark.parametrize("method,content_type", [
    ("POST", "text/plain"), ("POST", "application/x-www-form-urlencoded"),
    ("POST", "application/merge-patch+json"), ("POST", None), ("PATCH", "text/plain"),
    ("PATCH", "application/jsonx"), ("PATCH", None)])
def test_wrong_content_type_is_415(http, db, admin_token, method, content_type):
    org = make_organization(http, admin_token)
    url = "/v1/organizations" if method == "POST" else f"/v1/organizations/{org['id']}"
    headers = bearer(admin_token)
    if content_type:
        headers["Content-Type"] = content_type
    digest = db.digest()
    r = http.request(method, url, data=json.dumps(organization_body()).encode(),
                     headers=headers, invalid=True)
    p = assert_problem(r, 415, instance=url)
    assert "application/json" in p["detail"], p
    assert db.digest() == digest


@pytest.mark.parametrize("path,field,value,reported", [
    ("/v1/organizations", "website", "ftp://example.org", "website"),
    ("/v1/organizations", "website", "javascript:alert(1)", "website"),
    ("/v1/organizations", "website", "http://", "website"),
    ("/v1/organizations", "website", "example.org", "website"),
    ("/v1/ministries", "website", "file:///etc/passwd", "website"),
    ("/v1/charters", "document_url", "mailto:x@example.org", "document_url"),
    ("/v1/monitoring-records", "evidence_urls", ["https://ok.example", "data:text/plain,x"],
     "evidence_urls[1]"),
])
def test_url_with_a_scheme_other_than_http_or_https_is_422(http, db, admin_token, path, field,
                                                            value, reported):
    body = {"/v1/organizations": organization_body, "/v1/ministries": ministry_body,
            "/v1/charters": charter_body}.get(path)
    body = body() if body else full_monitoring_body(http, admin_token)
    body[field] = value
    counts = db.digest()
    r = http.post(path, json=body, headers=bearer(admin_token), invalid=True)
    p = assert_problem(r, 422, instance=path)
    assert error_entries(p) == {reported: "format"}
    assert db.digest() == counts


@pytest.mark.parametrize("currency", ["XYZ", "usd", "US", "DOLLAR", 840, ""])
def test_currency_that_is_not_iso_4217_is_422(http, db, admin_token, parties, currency):
    body = valid_partnership(parties, amount="100.00", currency=currency)
    counts = db.digest()
    r = http.post("/v1/partnerships", json=body, headers=bearer(admin_token),
                  invalid=currency != "XYZ")  # XYZ has the form of a code, but is none
    assert error_entries(assert_problem(r, 422)) == {"currency": "format"}
    assert db.digest() == counts


@pytest.mark.parametrize("given,missing", [({"amount": "100.00"}, "currency"),
                                           ({"currency": "USD"}, "amount")])
def test_amount_and_currency_go_together(http, db, admin_token, parties, given, missing):
    body = valid_partnership(parties, **given)
    p = create(http, admin_token, "/v1/partnerships",
               valid_partnership(parties, amount="100.00", currency="USD"))
    url = f"/v1/partnerships/{p['id']}"
    digest = db.digest()
    r = http.post("/v1/partnerships", json=body, headers=bearer(admin_token))
    assert error_entries(assert_problem(r, 422)) == {missing: "required"}
    # Taking one away from a partnership that has both is refused too.
    r = http.patch(url, json={missing: None}, headers=bearer(admin_token))
    assert error_entries(assert_problem(r, 422, instance=url)) == {missing: "required"}
    assert db.digest() == digest


@pytest.mark.parametrize("amount", ["10.005", "0.001", "-5.00", "1e3", "12.", "", " 1", 12.5,
                                    "12345678901234567"])
def test_amount_that_is_not_a_decimal_with_two_decimals_is_422(http, db, admin_token, parties,
                                                              amount):
    body = valid_partnership(parties, amount=amount, currency="USD")
    counts = db.digest()
    r = http.post("/v1/partnerships", json=body, headers=bearer(admin_token), invalid=True)
    assert error_entries(assert_problem(r, 422)) == {"amount": "format"}
    assert db.digest() == counts


@pytest.mark.parametrize("kind", ["partnership", "partnership-patch", "monitoring-record",
                                  "signatory-withdrawal"])
def test_end_before_start_is_422(http, db, admin_token, kind):
    h = bearer(admin_token)
    if kind == "partnership":
        method, url = "POST", "/v1/partnerships"
        body = full_partnership_body(http, admin_token, start_date="2024-06-01",
                                end_date="2024-05-31")
        errors = {"end_date": "date-order"}
    elif kind == "partnership-patch":
        p = make_partnership(http, admin_token, start_date="2024-06-01", end_date="2024-12-31")
        method, url = "PATCH", f"/v1/partnerships/{p['id']}"
        body = {"end_date": "2024-01-01"}
        errors = {"end_date": "date-order"}
    elif kind == "monitoring-record":
        method, url = "POST", "/v1/monitoring-records"
        body = full_monitoring_body(http, admin_token, period_start="2024-04-01",
                                      period_end="2024-03-31")
        errors = {"period_end": "date-order"}
    else:
        charter = make_charter(http, admin_token)
        sig = make_signatory(http, admin_token, charter["id"], signed_on="2024-03-01")
        method, url = "PATCH", f"/v1/charters/{charter['id']}/signatories/{sig['id']}"
        body = {"withdrawn_on": "2024-02-28"}
        errors = {"withdrawn_on": "date-order"}
    digest = db.digest()
    r = http.request(method, url, json=body, headers=h)
    assert error_entries(assert_problem(r, 422, instance=url)) == errors
    assert db.digest() == digest


@pytest.mark.parametrize("organizations,errors", [
    ([], {"organizations": "length"}),
    ("lead", {"organizations": "type"}),
    ([{"role": "lead"}], {"organizations[0].organization_id": "required"}),
    (["x"], {"organizations[0]": "type"}),
])
def test_partnership_organizations_must_be_one_or_more_parties(http, db, admin_token, parties,
                                                               organizations, errors):
    body = valid_partnership(parties, organizations=organizations)
    counts = db.digest()
    r = http.post("/v1/partnerships", json=body, headers=bearer(admin_token), invalid=True)
    assert error_entries(assert_problem(r, 422)) == errors
    assert db.digest() == counts


def test_partnership_lists_an_organization_once(http, db, admin_token):
    org = make_organization(http, admin_token)["id"]
    body = full_partnership_body(http, admin_token,
                            organizations=[{"organization_id": org, "role": "lead"},
                                           {"organization_id": org.upper(), "role": "funder"}])
    counts = db.digest()
    r = http.post("/v1/partnerships", json=body, headers=bearer(admin_token))
    assert error_entries(assert_problem(r, 422)) == {
        "organizations[1].organization_id": "duplicate"}
    assert db.digest() == counts


def test_a_rejected_request_changes_nothing(http, db, admin_token):
    """Each refused write leaves every table of the domain exactly as it was."""
    h = bearer(admin_token)
    org = make_organization(http, admin_token, acronym="KEEP")
    p = make_partnership(http, admin_token)
    t = make_partnership_type(http, admin_token)
    charter = make_charter(http, admin_token)
    sig = make_signatory(http, admin_token, charter["id"], party_id=org["id"])
    bad_party = full_partnership_body(http, admin_token,
                                 organizations=[{"organization_id": org["id"], "role": "lead"},
                                                {"organization_id": _missing(), "role": "lead"}])
    digest = db.digest()
    refused = [
        ("POST", "/v1/organizations", {"name": "x", "kind": "nope"}, 422),
        ("POST", "/v1/partnerships", bad_party, 422),
        ("POST", "/v1/partnership-types", partnership_type_body(code=t["code"]), 409),
        ("POST", f"/v1/charters/{charter['id']}/signatories",
         {"party_type": "organization", "party_id": org["id"], "signed_on": "2024-01-01"}, 409),
        ("PATCH", f"/v1/organizations/{org['id']}", {"acronym": "LOST", "kind": "nope"}, 422),
        ("PATCH", f"/v1/partnerships/{p['id']}",
         {"title": "lost", "organizations": [{"organization_id": _missing(), "role": "lead"}]},
         422),
        ("PATCH", f"/v1/charters/{charter['id']}/signatories/{sig['id']}",
         {"signed_by": "lost", "withdrawn_on": "2000-01-01"}, 422),
        ("DELETE", f"/v1/organizations/{org['id']}", None, 409),
        ("DELETE", f"/v1/partnership-types/{p['type_id']}", None, 409),
        ("DELETE", f"/v1/charters/{charter['id']}", None, 409),
    ]
    with http.invalid_requests():
        for method, url, body, status in refused:
            r = http.request(method, url, json=body, headers=h)
            assert_problem(r, status, instance=url)
    assert db.digest() == digest


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("resource", ["organizations", "ministries"])
def test_internal_fields_are_shown_to_admin_and_hidden_from_anonymous(http, admin_token,
                                                                     resource):
    make = make_organization if resource == "organizations" else make_ministry
    rec = make(http, admin_token, email="contact@example.org", phone="+961-1-111111")
    url = f"/v1/{resource}/{rec['id']}"
    mine = http.get(url, headers=bearer(admin_token)).json()
    assert mine["email"] == "contact@example.org" and mine["phone"] == "+961-1-111111"

    anon = http.get(url)
    assert anon.status_code == 200
    assert anon.json() == {k: v for k, v in mine.items() if k not in ("email", "phone")}
    page = http.get(f"/v1/{resource}", params={"id": rec["id"]}).json()
    assert page["data"] == [anon.json()]
    csv_head = http.get(f"/v1/{resource}", params={"id": rec["id"], "format": "csv"})
    header = csv_head.content.decode().split("\r\n")[0].split(",")
    assert "email" not in header and "phone" not in header and "name" in header
    admin_page = http.get(f"/v1/{resource}", params={"id": rec["id"]},
                          headers=bearer(admin_token)).json()
    assert admin_page["data"] == [mine]

    for params in ({"fields": "name,email"}, {"email": "contact@example.org"},
                   {"sort": "email"}):
        # email is a field the spec names (admins may ask for it), not a filter or a sort key
        r = http.get(f"/v1/{resource}", params=params, invalid="fields" not in params)
        assert_problem(r, 400, instance=f"/v1/{resource}")


def test_monitoring_records_need_a_token_to_read(http, admin_token):
    mr = make_monitoring_record(http, admin_token)
    for url in ("/v1/monitoring-records", f"/v1/monitoring-records/{mr['id']}"):
        r = http.get(url)
        assert_problem(r, 401, instance=url)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_monitoring_records_filter_by_partnership_id(http, admin_token):
    h = bearer(admin_token)
    p1 = make_partnership(http, admin_token)
    p2 = make_partnership(http, admin_token)
    r1 = {make_monitoring_record(http, admin_token, partnership_id=p1["id"])["id"]
          for _ in range(3)}
    r2 = {make_monitoring_record(http, admin_token, partnership_id=p2["id"])["id"]}
    page = http.get("/v1/monitoring-records", params={"partnership_id": p1["id"]}, headers=h)
    data = assert_json(page, 200)["data"]
    assert {d["id"] for d in data} == r1
    assert all(d["partnership_id"] == p1["id"] for d in data)
    both = http.get("/v1/monitoring-records",
                    params={"partnership_id": f"{p1['id']},{p2['id']}"}, headers=h).json()
    assert {d["id"] for d in both["data"]} == r1 | r2
    none = http.get("/v1/monitoring-records", params={"partnership_id": _missing()}, headers=h)
    assert none.json() == {"data": [], "next_cursor": None}
    bad = http.get("/v1/monitoring-records", params={"partnership_id": "x"}, headers=h,
                   invalid=True)
    assert "partnership_id" in assert_problem(bad, 400)["detail"]


# ---------------------------------------------------------------- charter signatories


def test_signatories_are_listed_added_and_withdrawn(http, db, admin_token):
    h = bearer(admin_token)
    charter = make_charter(http, admin_token)
    base = f"/v1/charters/{charter['id']}/signatories"
    org = make_organization(http, admin_token)
    ministry = make_ministry(http, admin_token)
    assert http.get(base).json() == {"data": [], "next_cursor": None}

    r = http.post(base, json={"party_type": "organization", "party_id": org["id"],
                              "signed_on": "2019-02-20", "signed_by": "A. Person"}, headers=h)
    first = assert_json(r, 201)
    assert r.headers["Location"] == f"{base}/{first['id']}"
    assert first["charter_id"] == charter["id"] and first["withdrawn_on"] is None
    second = make_signatory(http, admin_token, charter["id"], party_type="ministry",
                            party_id=ministry["id"], signed_on="2018-10-01")

    page = assert_json(http.get(base), 200)
    assert [s["id"] for s in page["data"]] == [second["id"], first["id"]]  # by signed_on
    assert http.get(f"{base}/{first['id']}").json() == first

    w = http.patch(f"{base}/{first['id']}", json={"withdrawn_on": "2023-01-31"}, headers=h)
    withdrawn = assert_json(w, 200)
    assert withdrawn["withdrawn_on"] == "2023-01-31" and withdrawn["version"] == 2
    assert w.headers["ETag"].startswith('"2-')
    active = http.get(base, params={"withdrawn_on.null": "true"}).json()["data"]
    assert [s["id"] for s in active] == [second["id"]]

    # Withdrawn, the party may sign again.
    again = make_signatory(http, admin_token, charter["id"], party_id=org["id"],
                           signed_on="2024-01-01")
    rows = db.rows("SELECT id, withdrawn_on FROM charter_signatories "
                   f"WHERE charter_id = {sql_str(charter['id'])} "
                   f"AND party_id = {sql_str(org['id'])} ORDER BY signed_on")
    assert rows == [[first["id"], "2023-01-31"], [again["id"], ""]]
    mine = http.get(base, params={"party_id": org["id"], "sort": "-signed_on"}).json()["data"]
    assert [s["id"] for s in mine] == [again["id"], first["id"]]


def test_a_second_active_signature_of_a_party_is_409(http, db, admin_token):
    h = bearer(admin_token)
    charter = make_charter(http, admin_token)
    base = f"/v1/charters/{charter['id']}/signatories"
    sig = make_signatory(http, admin_token, charter["id"])
    counts = db.digest()
    r = http.post(base, json={"party_type": "organization", "party_id": sig["party_id"],
                              "signed_on": "2025-01-01"}, headers=h)
    p = assert_problem(r, 409, instance=base)
    assert "withdraw" in p["detail"], p
    assert db.digest() == counts

    # The same party on another charter is another signature.
    other = make_charter(http, admin_token)
    make_signatory(http, admin_token, other["id"], party_id=sig["party_id"])

    # Clearing a withdrawal while a newer signature is active is the same conflict.
    w = http.patch(f"{base}/{sig['id']}", json={"withdrawn_on": "2024-06-01"}, headers=h)
    assert w.status_code == 200, describe(w)
    make_signatory(http, admin_token, charter["id"], party_id=sig["party_id"],
                   signed_on="2024-07-01")
    row = db.row("charter_signatories", sig["id"])
    r = http.patch(f"{base}/{sig['id']}", json={"withdrawn_on": None}, headers=h)
    assert_problem(r, 409, instance=f"{base}/{sig['id']}")
    assert db.row("charter_signatories", sig["id"]) == row


def test_signatories_of_a_missing_charter_or_another_charter_are_404(http, admin_token):
    h = bearer(admin_token)
    missing = f"/v1/charters/{_missing()}/signatories"
    assert_problem(http.get(missing), 404, instance=missing)
    r = http.post(missing, json={"party_type": "organization",
                                 "party_id": make_organization(http, admin_token)["id"],
                                 "signed_on": "2020-01-01"}, headers=h)
    assert_problem(r, 404, instance=missing)

    charter = make_charter(http, admin_token)
    sig = make_signatory(http, admin_token, charter["id"])
    other = make_charter(http, admin_token)
    wrong = f"/v1/charters/{other['id']}/signatories/{sig['id']}"
    assert_problem(http.get(wrong), 404, instance=wrong)
    assert_problem(http.patch(wrong, json={"signed_by": "x"}, headers=h), 404, instance=wrong)

    deleted = make_charter(http, admin_token)
    assert http.delete(f"/v1/charters/{deleted['id']}", headers=h).status_code == 204
    gone = f"/v1/charters/{deleted['id']}/signatories"
    assert_problem(http.get(gone), 404, instance=gone)
