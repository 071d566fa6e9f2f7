"""The console in a real browser: Debian's chromium, headless, driven by puppeteer-core (pinned in
tests/console/package-lock.json) through the scenarios of tests/console/run.mjs.

The module makes the world through the API as an admin (a public body M with a partnership, whose
monitoring record waits for verification; an organization O; an adopted charter; editors of M and O;
an analyst), runs every scenario in one node process against the shared server's /console, then
checks through the API what the browser did (the organization made in the form, the verified
record, the signature, the revoked key, the restored organization, the analyst's new password).
Each scenario is a test of its own here; its screenshots are in tests/console/screenshots/.

The refresh cookie is Secure: Chromium keeps it on http://127.0.0.1, a secure context, so the
console is opened at the server's own address.
"""

import json
import os
import shutil
import subprocess
import uuid

import openpyxl
import pytest

from support.bodies import create, list_all
from support.checks import UUID_RE, describe, uniq
from support.principals import PASSWORD, bearer, login

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(os.path.dirname(HERE), "console")
SCREENSHOTS = os.path.join(PACKAGE, "screenshots")
CHROMIUM = "/usr/bin/chromium"
RUN_TIMEOUT = 150  # seconds, for the browser and every scenario

# In the order run.mjs runs them.
SCENARIOS = [
    "csp-header", "sign-in", "organization-form-and-search", "downloads", "filters-and-sort",
    "arabic", "session-refresh", "partnership-record", "delete-and-restore", "users", "api-keys",
    "audit-log", "sign-out", "verify", "charter-sign", "role-aware-editor", "edit-own-organization",
    "forbidden-notice", "role-aware-analyst", "password",
]

# Sixteen letters that Arabic folding leaves as they are, to spell a word no other test uses.
LETTERS = "بتثجحخدذرزسشصضطظ"


def arabic_word(n=8):
    return "".join(LETTERS[int(c, 16)] for c in uuid.uuid4().hex[:n])


@pytest.fixture(scope="module")
def package():
    """npm ci of the pinned puppeteer-core, once; never a browser of its own."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no {CHROMIUM}: install Debian's chromium (scripts/lib.sh, test packages)")
    if not os.path.isdir(os.path.join(PACKAGE, "node_modules", "puppeteer-core")):
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PACKAGE,
                              env=dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1"),
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout}\n{proc.stderr}"
    return PACKAGE


def person_of(ctx, role, **scope):
    """A user of the module; the e-mail sorts first, where the users page (by e-mail, a bounded
    number of rows) shows it even after a full run of the suite has made hundreds of users."""
    return ctx.add_user(role, email=f"0-{uniq('console-' + role)}@console.test", **scope)


@pytest.fixture(scope="module")
def world(ctx):
    c = ctx.client
    admin = person_of(ctx, "admin")
    t = admin.token
    ministry = create(c, t, "/v1/ministries", ctx.bodies.ministry_body())
    org = create(c, t, "/v1/organizations", ctx.bodies.organization_body(email=f"{uniq()}@org.test"))
    other = create(c, t, "/v1/organizations", ctx.bodies.organization_body())
    doomed = create(c, t, "/v1/organizations", ctx.bodies.organization_body())
    ptype = create(c, t, "/v1/partnership-types", ctx.bodies.partnership_type_body())
    partnership = create(c, t, "/v1/partnerships", ctx.bodies.partnership_body(
        ptype["id"], ministry["id"], [org["id"]]))
    record = create(c, t, "/v1/monitoring-records", ctx.bodies.monitoring_body(
        partnership["id"], status="submitted"))
    charter = create(c, t, "/v1/charters", ctx.bodies.charter_body(
        status="adopted", adopted_on="2024-02-01"))
    word = arabic_word()
    marker = uniq("console")
    return ctx.extend(
        admin=admin, ministry=ministry, org=org, other=other, doomed=doomed,
        partnership=partnership, record=record, charter=charter,
        ministry_editor=person_of(ctx, "editor", ministry=ministry["id"]),
        org_editor=person_of(ctx, "editor", org=org["id"]),
        analyst=person_of(ctx, "analyst"),
        new_organization={"name": f"Youth of the North {marker}", "kind": "association",
                          "name_ar": f"جمعية {word} للتنمية", "email": f"{marker}@org.test",
                          "search": f"جمعية {word[:4]}"},
        new_key={"name": f"Console key {marker}", "role": "partner", "source": "annd"},
        signature={"signed_on": "2025-03-01", "signed_by": f"Its president {marker}"},
        new_password=f"a new console password {marker}",
        description=f"Written by its own editor in the console {marker}",
    )


@pytest.fixture(scope="module")
def run(world, package, tmp_path_factory):
    """Runs every scenario once: {name: result line}."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    w = world

    def person(p):
        return {"email": p.email, "password": PASSWORD}

    config = {
        "base_url": w.server.base_url, "chromium": CHROMIUM, "screenshots": SCREENSHOTS,
        "downloads": str(tmp_path_factory.mktemp("console-downloads")),
        "admin": person(w.admin), "ministry_editor": person(w.ministry_editor),
        "org_editor": person(w.org_editor),
        "analyst": dict(person(w.analyst), new_password=w.new_password),
        "records": {
            "ministry": w.ministry["id"], "organization": w.org["id"],
            "organization_name": w.org["name"],
            "other_organization": w.other["id"], "doomed_organization": w.doomed["id"],
            "partnership": w.partnership["id"], "partnership_title": w.partnership["title"],
            "monitoring_record": w.record["id"], "charter": w.charter["id"],
        },
        "new_organization": w.new_organization, "new_key": w.new_key, "signature": w.signature,
        "edit": {"description": w.description},
    }
    try:
        proc = subprocess.run(["node", os.path.join(package, "run.mjs")], cwd=package,
                              input=json.dumps(config), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the console scenarios took over {RUN_TIMEOUT}s:\n{e.stdout}\n{e.stderr}")
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            results[entry["scenario"]] = entry
    return {"results": results, "returncode": proc.returncode, "stderr": proc.stderr,
            "stdout": proc.stdout}


def result_of(run, name):
    entry = run["results"].get(name)
    assert entry is not None, (f"run.mjs reported nothing for {name} (exit {run['returncode']}):\n"
                               f"{run['stdout'][-3000:]}\n{run['stderr'][-3000:]}")
    return entry


@pytest.mark.parametrize("name", SCENARIOS)
def test_console_scenario(run, name):
    entry = result_of(run, name)
    problems = "\n".join(f"  {p}" for p in entry["problems"])
    assert entry["ok"], (f"{name}: {entry['error'] or 'problems on the page'}"
                         + (f"\n{problems}" if problems else ""))


def test_the_run_reports_every_scenario_and_nothing_between_them(run):
    assert list(run["results"]) == SCENARIOS, list(run["results"])
    assert run["returncode"] == (0 if all(e["ok"] for e in run["results"].values()) else 1), \
        run["stderr"][-3000:]


def get(w, path, token=None):
    r = w.client.get(path, headers=bearer(token or w.admin.token))
    assert r.status_code == 200, describe(r)
    return r.json()


def test_the_organization_made_in_the_form_has_the_fixed_email(world, run):
    o = world.new_organization
    found = list_all(world.client, "/v1/organizations", {"name_ar": o["name_ar"]},
                     headers=bearer(world.admin.token))
    assert len(found) == 1, found
    assert found[0]["email"] == o["email"] and found[0]["name"] == o["name"], found[0]
    made = (run["results"].get("organization-form-and-search") or {}).get("data") or {}
    assert made.get("organization_id") == found[0]["id"], made


def test_the_ministry_editor_verified_the_record(world, run):
    body = get(world, f"/v1/monitoring-records/{world.record['id']}")
    assert body["status"] == "verified", body
    assert body["verified_by"] == world.ministry_editor.sub, body


def test_the_organization_editor_signed_the_charter(world, run):
    sigs = list_all(world.client, f"/v1/charters/{world.charter['id']}/signatories",
                    headers=bearer(world.admin.token))
    mine = [s for s in sigs if s["party_id"] == world.org["id"]]
    assert len(mine) == 1, sigs
    assert mine[0]["party_type"] == "organization", mine[0]
    assert mine[0]["signed_on"] == world.signature["signed_on"], mine[0]
    assert mine[0]["signed_by"] == world.signature["signed_by"], mine[0]


def test_the_key_made_in_the_console_is_revoked(world, run):
    keys = [k for k in list_all(world.client, "/v1/api-keys", headers=bearer(world.admin.token))
            if k["name"] == world.new_key["name"]]
    assert len(keys) == 1, keys
    assert keys[0]["revoked_at"] is not None, keys[0]
    assert keys[0]["role"] == "partner" and keys[0]["source"] == "annd", keys[0]
    shown = (run["results"].get("api-keys") or {}).get("data") or {}
    assert shown.get("key_id") == keys[0]["id"], shown


def test_the_organization_deleted_and_restored_is_there(world, run):
    assert result_of(run, "delete-and-restore")["ok"], "the scenario did not run through"
    body = get(world, f"/v1/organizations/{world.doomed['id']}")
    assert body["id"] == world.doomed["id"], body


def test_the_analyst_signs_in_with_the_password_changed_in_the_console(world, run):
    assert result_of(run, "password")["ok"], "the scenario did not run through"
    login(world.client, world.analyst.email, world.new_password)
    r = world.client.post("/v1/auth/token",
                          json={"email": world.analyst.email, "password": PASSWORD})
    assert r.status_code == 401, describe(r)


def test_the_spreadsheet_downloaded_holds_the_rows_on_screen(world, run):
    made = result_of(run, "downloads")
    assert made["ok"], "the scenario did not run through"
    book = openpyxl.load_workbook(made["data"]["xlsx"], read_only=True)
    ids = {cell for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
           for cell in row if isinstance(cell, str) and UUID_RE.match(cell)}
    assert ids == set(made["data"]["on_screen"]), (ids, made["data"]["on_screen"])
    assert ids == {run["results"]["organization-form-and-search"]["data"]["organization_id"]}, ids


def test_the_editor_changed_its_own_organization(world, run):
    assert result_of(run, "edit-own-organization")["ok"], "the scenario did not run through"
    body = get(world, f"/v1/organizations/{world.org['id']}")
    assert body["description"] == world.description, body
    assert body["name"] == world.org["name"] and body["email"] == world.org["email"], body
