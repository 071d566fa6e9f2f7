"""GET /v1/exports/iati-activities.xml: partnerships as an IATI Activity Standard 2.03 document.

The document must validate against the standard's XML schema (tests/standards/iati-2.03/, the
official files), carry one iati-activity per live partnership that the filters select, map each
field to the IATI codes below, leave monitoring data out for callers who may not read it, and
stream in constant memory like the other exports.

The IATI codes this test relies on (IATI code lists, version 2.03):
  OrganisationRole   1 funding, 2 accountable, 4 implementing
  OrganisationType   10 government, 22 national NGO, 60 foundation
  ActivityStatus     1 pipeline, 2 implementation, 3 finalisation, 5 cancelled, 6 suspended
  ActivityDateType   1 planned start, 2 actual start, 3 planned end, 4 actual end
  ResultType 1 output; IndicatorMeasure 1 unit; tag vocabulary 99 reporting organisation's own
"""

import os
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from support.checks import assert_problem, uniq
from support.client import ApiClient
from support.cluster import fresh_database, template_database
from support.db import Db
from support.principals import bearer
from support.server import (RssSampler, SharakaServer, base_env, is_sanitized, merged_env,
                            rss_kib, template_admin_token)

PATH = "/v1/exports/iati-activities.xml"
XSD = Path(__file__).resolve().parents[1] / "standards" / "iati-2.03" / "iati-activities-schema.xsd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PUBLISHER = "LB-COA-OMSAR"
MANY = 10_000
MIB = 1024 * 1024


class Own:
    """A database of this module's own, with the demo data, and a server on it."""

    def __init__(self, pg, cli_for, sharaka_bin, spec):
        template_database(pg, cli_for)
        self.pg = pg
        self.url, self.dbname = fresh_database(pg, cli_for, "iati")
        self.cli = cli_for(self.url)
        proc = self.cli.run("seed", "demo")
        assert proc.returncode == 0, f"seed demo exited {proc.returncode}: {proc.stderr}"
        env = {"SHARAKA_EXPORT_TIMEOUT": "120"}
        if is_sanitized(sharaka_bin):
            # AddressSanitizer keeps freed memory in a quarantine (256 MiB by default), which
            # would show as growth of the resident set: keep it small for the measurement.
            env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
        self.srv = SharakaServer(sharaka_bin, merged_env(base_env(self.url), env))
        self.srv.start()
        self.api = ApiClient(self.srv, spec)
        self.token = template_admin_token(pg, cli_for)
        self.db = Db(pg, self.dbname)

    def close(self):
        self.db.close()
        self.api.close()
        try:
            self.srv.terminate()
            self.srv.assert_clean_exit()
        finally:
            self.srv.cleanup()
            self.pg.psql(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)',
                         dbname="postgres")


@pytest.fixture(scope="module")
def own(pg, cli_for, sharaka_bin, spec, migrated):
    o = Own(pg, cli_for, sharaka_bin, spec)
    yield o
    o.close()


def export(own, params=None, token=None):
    r = own.api.get(PATH, params=params or {}, headers=bearer(token) if token else {})
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["Content-Type"] == "application/xml"
    assert r.headers["Content-Disposition"] == 'attachment; filename="iati-activities.xml"'
    assert r.headers.get("Transfer-Encoding") == "chunked"
    return r.content


def validate(document):
    """xmllint against the IATI 2.03 schema: (ok, what it said)."""
    assert shutil.which("xmllint"), "xmllint is missing (Debian package libxml2-utils)"
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(document)
        f.flush()
        proc = subprocess.run(["xmllint", "--noout", "--schema", str(XSD), f.name],
                              capture_output=True, text=True, timeout=120)
    return proc.returncode == 0, proc.stderr[-3000:]


def activities(document):
    root = ET.fromstring(document)
    assert root.tag == "iati-activities" and root.get("version") == "2.03"
    assert root.get("generated-datetime")
    return {a.findtext("iati-identifier"): a for a in root.findall("iati-activity")}


def narratives(el):
    return {n.get(XML_LANG, "en"): n.text for n in el.findall("narrative")}


def live_partnerships(own, where="true"):
    return int(own.db.value(
        f"SELECT count(*) FROM partnerships WHERE deleted_at IS NULL AND {where}"))


# ---------------------------------------------------------------- the demo data


def test_export_of_the_demo_data_validates_against_the_iati_schema(own):
    assert XSD.is_file(), XSD
    for token in (None, own.token):
        document = export(own, token=token)
        ok, said = validate(document)
        assert ok, f"the export does not validate ({'admin' if token else 'anonymous'}):\n{said}"
        acts = activities(document)
        assert len(acts) == live_partnerships(own) > 0
        for ident, act in acts.items():
            assert ident.startswith(PUBLISHER + "-")
            org = act.find("reporting-org")
            assert (org.get("ref"), org.get("type")) == (PUBLISHER, "10")
            assert narratives(org) == {
                "en": "Office of the Minister of State for Administrative Reform"}
            assert act.find("recipient-country").attrib == {"code": "LB", "percentage": "100"}


# ---------------------------------------------------------------- the mapping


@pytest.fixture(scope="module")
def known(own):
    """A partnership with every mapped field set, and its monitoring record."""
    admin = own.token

    def make(path, body):
        r = own.api.post(path, json=body, headers=bearer(admin))
        assert r.status_code == 201, r.text
        return r.json()

    ministry = make("/v1/ministries", {"name": "Ministry " + uniq(), "name_ar": "وزارة الشؤون",
                                       "kind": "ministry"})
    ptype = make("/v1/partnership-types", {"code": uniq("iati-"), "name": "Joint programme"})
    lead = make("/v1/organizations", {"name": "Amel " + uniq(), "name_ar": "جمعية عامل",
                                      "kind": "association",
                                      "external_ids": {"LB-MOI": "123", "ANND": "x-7"}})
    funder = make("/v1/organizations", {"name": "Fondation " + uniq(), "kind": "foundation"})
    doer = make("/v1/organizations", {"name": "Doers " + uniq(), "kind": "association"})
    p = make("/v1/partnerships", {
        "title": "Youth & jobs <Akkar> " + uniq(), "title_ar": "تشغيل الشباب",
        "title_fr": "Emploi des jeunes", "description_ar": "فرص عمل للشباب في عكار",
        "type_id": ptype["id"], "ministry_id": ministry["id"], "status": "active",
        "start_date": "2023-01-01", "end_date": "2023-12-31", "amount": "250000.00",
        "currency": "USD", "governorates": ["akkar", "north"],
        "description": "Jobs for young people in Akkar",
        "organizations": [{"organization_id": lead["id"], "role": "lead"},
                          {"organization_id": funder["id"], "role": "funder"},
                          {"organization_id": doer["id"], "role": "implementer"}]})
    m = make("/v1/monitoring-records", {
        "partnership_id": p["id"], "period_start": "2023-01-01", "period_end": "2023-06-30",
        "indicator": "Young people placed in jobs", "unit": "people", "baseline": 10,
        "target": 200, "actual": 150})
    return {"p": p, "type": ptype, "ministry": ministry, "lead": lead, "funder": funder,
            "doer": doer, "record": m}


def test_a_partnership_maps_to_its_iati_codes(own, known):
    p = known["p"]
    document = export(own, {"type_id": known["type"]["id"]}, token=own.token)
    ok, said = validate(document)
    assert ok, said
    acts = activities(document)
    assert list(acts) == [f"{PUBLISHER}-{p['id']}"]
    act = acts[f"{PUBLISHER}-{p['id']}"]
    assert act.get(XML_LANG) == "en"

    assert narratives(act.find("title")) == {"en": p["title"], "ar": "تشغيل الشباب",
                                             "fr": "Emploi des jeunes"}
    assert narratives(act.find("description")) == {"en": "Jobs for young people in Akkar",
                                                   "ar": "فرص عمل للشباب في عكار"}

    orgs = [(o.get("role"), o.get("type"), o.get("ref"), narratives(o))
            for o in act.findall("participating-org")]
    assert orgs == [
        ("2", "10", None, {"en": known["ministry"]["name"], "ar": "وزارة الشؤون"}),
        ("2", "22", "LB-MOI-123", {"en": known["lead"]["name"], "ar": "جمعية عامل"}),
        ("1", "60", None, {"en": known["funder"]["name"]}),
        ("4", "22", None, {"en": known["doer"]["name"]}),
    ]
    assert act.find("activity-status").get("code") == "2"
    assert [(d.get("type"), d.get("iso-date")) for d in act.findall("activity-date")] == [
        ("2", "2023-01-01"), ("3", "2023-12-31")]
    locations = [(loc.get("ref"), narratives(loc.find("name")))
                 for loc in act.findall("location")]
    assert locations == [("akkar", {"en": "Akkar", "ar": "عكار"}),
                         ("north", {"en": "North", "ar": "الشمال"})]
    tag = act.find("tag")
    assert (tag.get("code"), tag.get("vocabulary")) == (known["type"]["code"], "99")
    assert narratives(tag) == {"en": "Joint programme"}

    budget = act.find("budget")
    assert budget.find("period-start").get("iso-date") == "2023-01-01"
    assert budget.find("period-end").get("iso-date") == "2023-12-31"
    value = budget.find("value")
    assert (value.text, value.get("currency"), value.get("value-date")) == (
        "250000.00", "USD", "2023-01-01")

    results = act.findall("result")
    assert len(results) == 1 and results[0].get("type") == "1"
    indicator = results[0].find("indicator")
    assert indicator.get("measure") == "1"
    assert narratives(indicator.find("title")) == {"en": "Young people placed in jobs"}
    baseline = indicator.find("baseline")
    assert (baseline.get("year"), baseline.get("iso-date"), baseline.get("value")) == (
        "2023", "2023-01-01", "10")
    period = indicator.find("period")
    assert period.find("period-start").get("iso-date") == "2023-01-01"
    assert period.find("period-end").get("iso-date") == "2023-06-30"
    assert period.find("target").get("value") == "200"
    assert period.find("actual").get("value") == "150"


def test_anonymous_callers_get_no_monitoring_results(own, known):
    # Monitoring records need a token; so do the results made of them.
    document = export(own, {"type_id": known["type"]["id"]})
    acts = activities(document)
    assert len(acts) == 1
    assert b"<result" not in document and b"Young people placed" not in document
    ok, said = validate(document)
    assert ok, said


def test_status_codes_and_dates_follow_the_partnership(own, known):
    k = known
    body = {"title": "Closed " + uniq(), "type_id": k["type"]["id"],
            "ministry_id": k["ministry"]["id"], "status": "completed",
            "start_date": "2020-01-01", "end_date": "2020-06-30",
            "organizations": [{"organization_id": k["doer"]["id"], "role": "partner"}]}
    done = own.api.post("/v1/partnerships", json=body, headers=bearer(own.token))
    assert done.status_code == 201, done.text
    undated = own.api.post("/v1/partnerships", json={**body, "title": "Undated " + uniq(),
                                                      "status": "suspended", "start_date": None,
                                                      "end_date": None},
                           headers=bearer(own.token))
    assert undated.status_code == 201, undated.text
    document = export(own, {"type_id": k["type"]["id"]}, token=own.token)
    ok, said = validate(document)
    assert ok, said
    acts = activities(document)
    act = acts[f"{PUBLISHER}-{done.json()['id']}"]
    assert act.find("activity-status").get("code") == "3"
    assert [(d.get("type"), d.get("iso-date")) for d in act.findall("activity-date")] == [
        ("2", "2020-01-01"), ("4", "2020-06-30")]
    assert act.find("budget") is None and act.find("result") is None
    assert act.find("participating-org[@role='4']") is not None
    act = acts[f"{PUBLISHER}-{undated.json()['id']}"]
    assert act.find("activity-status").get("code") == "6"
    # The schema wants an activity date: the day the partnership was recorded, as planned start.
    created = undated.json()["created_at"][:10]
    assert [(d.get("type"), d.get("iso-date")) for d in act.findall("activity-date")] == [
        ("1", created)]


def test_deleted_partnerships_never_appear(own, known):
    k = known
    body = {"title": "Gone " + uniq(), "type_id": k["type"]["id"],
            "ministry_id": k["ministry"]["id"],
            "organizations": [{"organization_id": k["doer"]["id"], "role": "partner"}]}
    r = own.api.post("/v1/partnerships", json=body, headers=bearer(own.token))
    assert r.status_code == 201, r.text
    gone = r.json()["id"]
    assert own.api.delete(f"/v1/partnerships/{gone}", headers=bearer(own.token)).status_code == 204
    document = export(own, {"type_id": k["type"]["id"]}, token=own.token)
    assert gone.encode() not in document
    assert len(activities(document)) == live_partnerships(own, f"type_id = '{k['type']['id']}'")


def test_a_filter_narrows_the_activities(own):
    document = export(own, {"status": "active"})
    acts = activities(document)
    assert len(acts) == live_partnerships(own, "status = 'active'") > 0
    assert {a.find("activity-status").get("code") for a in acts.values()} == {"2"}
    ids = {i.removeprefix(PUBLISHER + "-") for i in acts}
    assert ids == {row[0] for row in own.db.rows(
        "SELECT id FROM partnerships WHERE deleted_at IS NULL AND status = 'active'")}


# ---------------------------------------------------------------- wrong input


@pytest.mark.parametrize("params, names", [
    ({"colour": "red"}, "colour"),
    ({"status.like": "x"}, "status"),
    ({"hxl": "true"}, "hxl"),
    ({"fields": "title"}, "fields"),
    ({"limit": "10"}, "limit"),
    ({"sort": "colour"}, "colour"),
])
def test_wrong_parameters_are_a_400_problem(own, params, names):
    r = own.api.get(PATH, params=params, invalid=params.keys() != {"sort"})
    p = assert_problem(r, 400)
    assert names in p["detail"], p


# ---------------------------------------------------------------- constant memory


def test_ten_thousand_partnerships_stream_in_constant_memory(own, spec):
    before_rows = live_partnerships(own)
    own.db.rows(
        f"INSERT INTO partnerships (title, title_ar, type_id, ministry_id, status, start_date, "
        f"end_date, amount, currency, governorates, description) "
        f"SELECT 'Generated partnership ' || g, 'شراكة ' || g, "
        f"(SELECT id FROM partnership_types WHERE deleted_at IS NULL ORDER BY id LIMIT 1), "
        f"(SELECT id FROM ministries WHERE deleted_at IS NULL ORDER BY id LIMIT 1), "
        f"(ARRAY['planned','active','completed','suspended','terminated'])[1 + g % 5], "
        f"date '2020-01-01' + g % 300, date '2021-01-01' + g % 300, "
        f"CASE WHEN g % 2 = 0 THEN 1000 + g END, CASE WHEN g % 2 = 0 THEN 'LBP' END, "
        f"ARRAY['beirut', 'akkar']::governorate[], repeat('Generated description ', 100) "
        f"FROM generate_series(1, {MANY}) g", timeout=120)
    own.db.rows(
        "INSERT INTO partnership_organizations (partnership_id, organization_id, role, position) "
        "SELECT p.id, (SELECT id FROM organizations WHERE deleted_at IS NULL ORDER BY id LIMIT 1), "
        "'implementer', 0 FROM partnerships p WHERE p.title LIKE 'Generated partnership %'",
        timeout=120)
    expected = before_rows + MANY
    assert live_partnerships(own) == expected
    url = own.srv.base_url + PATH
    spec.check_request("GET", url, {}, None)

    # Warm up: the first export opens what every export needs.
    export(own, {"status": "active"})
    pid = own.srv.proc.pid
    sampler = RssSampler(pid, interval=0.05)
    sampler.start()
    time.sleep(0.15)
    before = rss_kib(pid)
    started = time.monotonic()
    count, size, chunks = 0, 0, []
    with requests.get(url, headers=bearer(own.token), stream=True, timeout=120) as r:
        assert r.status_code == 200
        carry = b""
        for chunk in r.iter_content(65536):
            size += len(chunk)
            data = carry + chunk
            count += data.count(b"<iati-activity ")
            carry = data[-32:]
            count -= carry.count(b"<iati-activity ")
            chunks.append(chunk)
            time.sleep(0.0005)  # a reader slower than the database
        count += carry.count(b"<iati-activity ")
    took = time.monotonic() - started
    samples = sampler.stop()
    document = b"".join(chunks)
    assert count == expected, f"{count} activities streamed, {expected} expected ({size} bytes)"
    assert document.endswith(b"</iati-activities>\n")
    assert took < 90, f"the export took {took:.1f}s"
    # The document is over 30 MiB (about 3.5 kB an activity); the server holds one activity
    # and a 64 KiB block at a time, so its memory must not follow the document: holding the
    # result in libpq, or the document in a buffer, would grow it by 30 MiB or more. 8 MiB
    # leaves room for the allocator's arenas of the threads that run the export.
    assert size > 30 * MIB, size
    assert len(samples) >= 5, samples
    growth = max(samples) - before
    print(f"\n{count} activities, {size / MIB:.1f} MiB in {took:.1f}s; resident memory "
          f"{before / 1024:.1f} MiB before, peak {max(samples) / 1024:.1f} MiB")
    assert growth < 8 * 1024, (
        f"the server's resident memory grew by {growth / 1024:.1f} MiB during the export "
        f"({before / 1024:.1f} MiB before, peak {max(samples) / 1024:.1f} MiB, {size} bytes)")
    ok, said = validate(document)
    assert ok, said


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize("name, value", [
    ("SHARAKA_IATI_PUBLISHER_REF", "LB OMSAR"),
    ("SHARAKA_IATI_PUBLISHER_REF", "OMSAR"),
    ("SHARAKA_IATI_PUBLISHER_REF", "lb-coa-1"),
    ("SHARAKA_IATI_PUBLISHER_REF", "LB-COA/OMSAR"),
    ("SHARAKA_IATI_PUBLISHER_REF", ""),
    ("SHARAKA_IATI_PUBLISHER_TYPE", "12"),
    ("SHARAKA_IATI_PUBLISHER_TYPE", "government"),
    ("SHARAKA_IATI_PUBLISHER_NAME", ""),
])
def test_a_bad_publisher_setting_stops_the_start_with_exit_2(start_server, name, value):
    srv = start_server(wait=False, **{name: value})
    rc = srv.wait_exit(15)
    err = srv.stderr()
    assert rc == 2, (rc, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and name in lines[0], err


def test_the_publisher_settings_shape_the_document(start_server, api_for, known, own):
    # Another server on the same database, publishing under another identifier.
    srv = start_server(SHARAKA_DATABASE_URL=own.url, SHARAKA_IATI_PUBLISHER_REF="XI-IATI-LB1",
                       SHARAKA_IATI_PUBLISHER_NAME="Bureau <&> \"test\"",
                       SHARAKA_IATI_PUBLISHER_TYPE="15")
    r = api_for(srv).get(PATH, params={"type_id": known["type"]["id"]})
    assert r.status_code == 200
    acts = activities(r.content)
    assert f"XI-IATI-LB1-{known['p']['id']}" in acts
    org = next(iter(acts.values())).find("reporting-org")
    assert (org.get("ref"), org.get("type")) == ("XI-IATI-LB1", "15")
    assert narratives(org) == {"en": 'Bureau <&> "test"'}


def test_a_filter_that_matches_nothing_gives_an_empty_well_formed_document(own):
    document = export(own, {"title": "no such partnership " + uniq()})
    assert activities(document) == {}
    assert document.endswith(b"<iati-activities version=\"2.03\" generated-datetime=\""
                             + ET.fromstring(document).get("generated-datetime").encode()
                             + b"\">\n</iati-activities>\n")
