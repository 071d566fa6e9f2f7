"""`sharaka seed demo`, the demo data it loads, and README's tour with curl run as written."""

import json
import os
import re
import secrets
import subprocess
import tempfile
import uuid
from pathlib import Path

import openpyxl
import pytest

from support.checks import ARABIC_RE, describe
from support.config import REPO
from support.principals import bearer

TOUR_ADMIN = "admin@sharaka.example"
README_API = "http://127.0.0.1:8080"

# Every table the seed writes, and how to order its rows for a digest.
SEED_TABLES = {
    "ministries": "id", "organizations": "id", "partnership_types": "id", "partnerships": "id",
    "partnership_organizations": "partnership_id, organization_id", "charters": "id",
    "charter_signatories": "id", "monitoring_records": "id", "changes": "seq",
    "audit_log": "id",
}


@pytest.fixture
def demo_db(pg, cli_for):
    """A database of its own, migrated: (name, url, cli)."""
    name = "demo_" + uuid.uuid4().hex[:10]
    pg.create_database(name)
    url = pg.url_for(name)
    cli = cli_for(url)
    proc = cli.run("migrate")
    assert proc.returncode == 0, proc.stderr
    yield name, url, cli
    pg.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', dbname="postgres")


def seed(cli):
    proc = cli.run("seed", "demo")
    assert proc.returncode == 0, f"seed demo exited {proc.returncode}: {proc.stderr}"
    assert proc.stdout.strip() == "demo data loaded", proc.stdout
    return proc


def snapshot(pg, dbname):
    """{table: [rows, max(version), md5 of every row]}."""
    parts = []
    for table, order in SEED_TABLES.items():
        version = ("max(x.version)" if table not in ("partnership_organizations", "audit_log")
                   else "NULL::int")
        parts.append(f"SELECT '{table}', count(*), coalesce({version}, 0), "
                     f"md5(coalesce(string_agg(x::text, '|' ORDER BY {order}), '')) "
                     f"FROM {table} x")
    rows = pg.rows(" UNION ALL ".join(parts), dbname=dbname)
    return {t: (int(n), int(v), h) for t, n, v, h in rows}


def test_seed_demo_twice_changes_nothing(pg, demo_db):
    name, _, cli = demo_db
    empty = snapshot(pg, name)
    assert all(n == 0 for n, _, _ in empty.values()), empty
    seed(cli)
    first = snapshot(pg, name)
    for table in SEED_TABLES:
        if table != "audit_log":
            assert first[table][0] > 0, f"the demo data has no {table}"
    assert {t: v for t, (_, v, _) in first.items() if t in (
        "ministries", "organizations", "partnerships", "charters")} == {
        "ministries": 1, "organizations": 1, "partnerships": 1, "charters": 1}
    seed(cli)
    assert snapshot(pg, name) == first


def test_seed_demo_again_keeps_records_changed_or_deleted_since(pg, demo_db):
    name, _, cli = demo_db
    seed(cli)
    pg.psql("UPDATE organizations SET acronym = 'ANND-X' WHERE acronym = 'ANND';"
            "UPDATE monitoring_records SET deleted_at = clock_timestamp() "
            "WHERE rating = 'off-track';"
            "DELETE FROM partnership_organizations WHERE role = 'funder';", dbname=name)
    changed = snapshot(pg, name)
    seed(cli)
    assert snapshot(pg, name) == changed
    assert pg.rows("SELECT count(*) FROM organizations WHERE acronym = 'ANND'",
                   dbname=name) == [["0"]]
    assert pg.rows("SELECT count(*) FROM monitoring_records WHERE rating = 'off-track' AND "
                   "deleted_at IS NULL", dbname=name) == [["0"]]
    assert pg.rows("SELECT count(*) FROM partnership_organizations WHERE role = 'funder'",
                   dbname=name) == [["0"]]


@pytest.fixture
def demo_server(pg, demo_db, start_server, api_for):
    """A server of its own on a seeded database with the tour's admin: (api, url, password)."""
    name, url, cli = demo_db
    seed(cli)
    password = "tour " + secrets.token_urlsafe(12)
    cli.user_add(TOUR_ADMIN, "admin", password)
    srv = start_server(SHARAKA_DATABASE_URL=url)
    return api_for(srv), srv, name, password


def all_of(api, path, headers=None):
    r = api.get(path, params={"limit": "200", "count": "true"}, headers=headers)
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert body["next_cursor"] is None and body["total"] == len(body["data"])
    return body["data"]


def one(records, field, pattern):
    found = [r for r in records if r.get(field) and re.search(pattern, r[field], re.I)]
    assert len(found) == 1, f"{field} ~ {pattern!r}: {[r.get(field) for r in records]}"
    rec = found[0]
    arabic = rec.get("name_ar") if "name_ar" in rec else rec.get("title_ar")
    assert arabic and ARABIC_RE.search(arabic), f"{rec.get(field)} has no Arabic name: {rec}"
    return rec


def test_demo_data_holds_the_bodies_of_the_afkar_workshop(demo_server):
    api, _, _, password = demo_server
    token = api.post("/v1/auth/token", json={"email": TOUR_ADMIN, "password": password})
    assert token.status_code == 200, describe(token)
    admin = bearer(token.json()["access_token"])

    bodies = all_of(api, "/v1/ministries")
    omsar = one(bodies, "name", r"Minister of State for Administrative Reform")
    afkar = one(bodies, "name", r"AFKAR")
    assert afkar["parent_id"] == omsar["id"], "the AFKAR office belongs to OMSAR"
    one(bodies, "name", r"^Ministry of Social Affairs$")
    esc = one(bodies, "name", r"^Economic and Social Council$")
    assert esc["kind"] == "council"

    orgs = all_of(api, "/v1/organizations")
    for pattern in (r"Arab NGO Network for Development", r"National Union of NGOs",
                    r"Issam Fares Institute", r"^Lebanon Support$",
                    r"Economic and Social Commission for Western Asia"):
        one(orgs, "name", pattern)
    assert one(orgs, "name", r"Arab NGO Network")["acronym"] == "ANND"
    assert one(orgs, "name", r"Western Asia")["acronym"] == "ESCWA"

    types = all_of(api, "/v1/partnership-types")
    assert sorted(t["code"] for t in types) == sorted([
        "service-contract", "financial-contribution", "project-competition",
        "non-financial-aid", "consultation"])
    for t in types:
        assert ARABIC_RE.search(t["name_ar"] or ""), t

    charters = all_of(api, "/v1/charters")
    assert sorted(c["kind"] for c in charters) == ["citizen", "partnership"]
    ids = {o["id"] for o in orgs} | {b["id"] for b in bodies}
    for c in charters:
        assert ARABIC_RE.search(c["title_ar"] or ""), c
        assert c["sections"], c
        sigs = all_of(api, f"/v1/charters/{c['id']}/signatories")
        assert sigs, f"nobody signed the {c['kind']} charter"
        assert {s["party_type"] for s in sigs} == {"organization", "ministry"}
        assert {s["party_id"] for s in sigs} <= ids
    partnership_charter = next(c for c in charters if c["kind"] == "partnership")
    assert "partnership" in partnership_charter["title"].lower()

    partnerships = all_of(api, "/v1/partnerships")
    assert partnerships and all(p["organizations"] for p in partnerships)
    assert {p["type_id"] for p in partnerships} <= {t["id"] for t in types}
    records = all_of(api, "/v1/monitoring-records", headers=admin)
    assert records and {r["partnership_id"] for r in records} <= {p["id"] for p in partnerships}


def tour_block():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## A short tour with curl", 1)[1]
    m = re.search(r"```sh\n(.*?)```", section, re.S)
    assert m, "no ```sh block under '## A short tour with curl'"
    return m.group(1)


def curl_calls(block):
    """How many times the block calls curl (comments left out)."""
    code = "\n".join(line.split("#", 1)[0] if line.lstrip().startswith("#") else line
                     for line in block.splitlines())
    return len(re.findall(r"(?<![\w-])curl\s", code))


def test_readme_tour_works_as_written(pg, demo_server):
    api, srv, dbname, password = demo_server
    block = tour_block()
    assert README_API in block
    script = "\n".join(line for line in block.replace(README_API, srv.base_url).splitlines()
                       if "xdg-open" not in line)
    expected_calls = curl_calls(script)
    # Each curl also reports its status and URL on stderr; the block itself runs unchanged.
    prelude = ("set -euo pipefail\n"
               "curl() { command curl -w '%{stderr}\\n@@curl %{http_code} %{url_effective}\\n' "
               "\"$@\"; }\n")
    with tempfile.TemporaryDirectory(prefix="sharaka-tour-") as cwd:
        local = Path(cwd, ".local")
        local.mkdir()
        (local / "admin-password").write_text(password + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHARAKA_")}
        proc = subprocess.run(["bash", "-c", prelude + script], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (f"the tour exited {proc.returncode}\n"
                                      f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        csv_text = Path(cwd, "partnerships.csv").read_text(encoding="utf-8")
        book = openpyxl.load_workbook(Path(cwd, "partnerships.xlsx"))
        assert [ws.sheet_view.rightToLeft for ws in book.worksheets] == [True]
        assert book.worksheets[0].max_row > 1

    calls = re.findall(r"@@curl (\d{3}) (\S+)", proc.stderr)
    assert len(calls) == expected_calls, (calls, proc.stderr)
    for status, url in calls:
        want = "400" if "sort=colour" in url else "2"
        assert status.startswith(want), f"{url} answered {status}\n{proc.stdout}"
    # The last answer is the spec (its examples hold problem bodies); the answers before it
    # hold one problem, the deliberate sort=colour.
    answers = None
    for m in re.finditer(r'\{\s*"openapi"\s*:', proc.stdout):
        try:
            spec, end = json.JSONDecoder().raw_decode(proc.stdout, m.start())
        except ValueError:
            continue
        if end == len(proc.stdout.rstrip()):
            answers = proc.stdout[:m.start()]
            assert spec["openapi"].startswith("3.1")
            break
    assert answers is not None, f"the tour's last answer is not the spec: {proc.stdout[-500:]}"
    problems = re.findall(r'"status"\s*:\s*[45]\d\d', answers)
    assert len(problems) == 1, (problems, answers)
    assert "urn:sharaka:problem:unknown-sort-key" in answers
    assert "cannot sort by 'colour'" in answers
    assert '"status":"ok"' in answers.replace(" ", "")
    # The charter in Arabic: its first section's Arabic heading, the others as given.
    assert '"display_sections"' in answers and "إطار مرجعي" in answers, answers
    name = "جمعية التنمية المحلية في عكار"
    # Both searches found the new organization, and the partnership embeds it.
    assert len(re.findall(rf'"name"\s*:\s*"{name}"', proc.stdout)) >= 3, proc.stdout

    # What the tour created is in the database.
    org = pg.rows("SELECT id, name_en, governorate, array_to_string(sectors, ',') "
                  f"FROM organizations WHERE name = '{name}'", dbname=dbname)
    assert len(org) == 1 and org[0][1:] == ["Akkar Local Development Association", "akkar",
                                             "local-development,youth"], org
    org_id = org[0][0]
    p = pg.rows("SELECT p.id, m.acronym, t.code, p.amount, p.currency, p.status, "
                "p.start_date, p.end_date, array_to_string(p.governorates, ',') "
                "FROM partnerships p JOIN ministries m ON m.id = p.ministry_id "
                "JOIN partnership_types t ON t.id = p.type_id "
                "WHERE p.title = 'Youth centre services in Akkar'", dbname=dbname)
    assert len(p) == 1 and p[0][1:] == ["MoSA", "service-contract", "45000.00", "USD", "active",
                                        "2026-01-01", "2026-12-31", "akkar"], p
    pid = p[0][0]
    assert pg.rows("SELECT organization_id, role FROM partnership_organizations "
                   f"WHERE partnership_id = '{pid}'", dbname=dbname) == [[org_id, "implementer"]]
    mr = pg.rows("SELECT indicator, unit, target, actual, rating, status, id "
                 f"FROM monitoring_records WHERE partnership_id = '{pid}'", dbname=dbname)
    assert [r[:6] for r in mr] == [["Young people enrolled", "people", "200", "140", "at-risk",
                                    "submitted"]]
    mr_id = mr[0][6]
    sig = pg.rows("SELECT c.kind, s.party_type, s.signed_on, s.withdrawn_on IS NULL, s.id "
                  "FROM charter_signatories s JOIN charters c ON c.id = s.charter_id "
                  f"WHERE s.party_id = '{org_id}'", dbname=dbname)
    assert [r[:4] for r in sig] == [["partnership", "organization", "2026-02-01", "t"]]
    sig_id = sig[0][4]
    assert "Youth centre services in Akkar" in csv_text
    audited = pg.rows("SELECT resource, record_id FROM audit_log WHERE action = 'create' "
                      "ORDER BY at", dbname=dbname)
    assert audited[-4:] == [["organizations", org_id], ["partnerships", pid],
                            ["monitoring-records", mr_id], ["signatories", sig_id]], audited
