"""API keys: made by admins, shown once, stored as a SHA-256, revocable at once; partner keys
stamp their source on what they write and may update only records of that source."""

import datetime
import time

import pytest

from support.bodies import create, monitoring_body, organization_body, partnership_body, World
from support.checks import UUID_RE, assert_problem, error_fields, uniq
from support.principals import KEY_RE, add_key, bearer, key_id, sha256_hex

KEYS = "/v1/api-keys"


@pytest.fixture(scope="module")
def ctx(ctx):
    admin, partner = ctx.add_user("admin"), ctx.add_partner("annd")
    return ctx.extend(admin=admin, partner=partner, w=World(ctx.client, admin, partner))


def new_key(ctx, role="partner", source="annd"):
    r = ctx.client.post(KEYS, json={"name": uniq("key"), "role": role, "source": source},
                        headers=ctx.admin.headers)
    assert r.status_code == 201, r.text
    return r


def assert_invalid_token(r):
    assert_problem(r, 401)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


# ---------------------------------------------------------------- made, shown once, hashed


def test_created_key_is_sk_with_32_or_more_characters_and_shown_only_in_the_create_answer(ctx):
    name = uniq("key")
    r = ctx.client.post(KEYS, json={"name": name, "role": "partner", "source": "annd"},
                        headers=ctx.admin.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    key = body["key"]
    assert KEY_RE.match(key) and len(key) >= 3 + 32, key
    assert UUID_RE.match(body["id"]), body
    assert body["name"] == name and body["role"] == "partner" and body["source"] == "annd"
    assert body["last_used_at"] is None and body["revoked_at"] is None, body
    assert key.startswith(body["prefix"]) and len(body["prefix"]) < len(key) - 32, body
    assert r.headers.get("Location") == f"{KEYS}/{body['id']}"
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers
    assert "key_hash" not in body

    got = ctx.client.get(f"{KEYS}/{body['id']}", headers=ctx.admin.headers)
    assert got.status_code == 200, got.text
    assert "key" not in got.json() and "key_hash" not in got.json(), got.json()
    assert key not in got.text and key[len(body["prefix"]):] not in got.text
    assert got.json()["prefix"] == body["prefix"]

    listing = ctx.client.get(KEYS, params={"limit": 200}, headers=ctx.admin.headers)
    assert listing.status_code == 200, listing.text
    assert any(k["id"] == body["id"] for k in listing.json()["data"])
    assert all("key" not in k and "key_hash" not in k for k in listing.json()["data"])
    assert key[len(body["prefix"]):] not in listing.text
    csv = ctx.client.get(KEYS, params={"format": "csv", "limit": 200}, headers=ctx.admin.headers)
    assert csv.status_code == 200, csv.text
    assert key[len(body["prefix"]):] not in csv.text
    assert "key_hash" not in csv.text.splitlines()[0]


def test_keys_are_stored_as_their_sha256_and_never_in_plain_text(ctx, pg):
    key = new_key(ctx).json()["key"]
    row = ctx.db.json(
        f"SELECT to_jsonb(k) FROM api_keys k WHERE key_hash = '{sha256_hex(key)}'")
    assert row is not None, "no api_keys row holds the key's SHA-256"
    secret = key[len(row["prefix"]):]
    assert all(secret not in str(v) for v in row.values()), row
    dump = ctx.db.value("SELECT count(*) FROM api_keys k WHERE to_jsonb(k)::text LIKE "
                          f"'%{secret}%'")
    assert dump == "0"
    audit = ctx.db.value(f"SELECT count(*) FROM audit_log a WHERE to_jsonb(a)::text LIKE "
                           f"'%{secret}%' OR to_jsonb(a)::text LIKE '%{sha256_hex(key)}%'")
    assert audit == "0", "the key or its hash is in the audit log"


def test_command_line_prints_the_key_once_on_stdout_and_stores_its_hash(ctx):
    proc = ctx.cli.run("apikey", "create", "--name", uniq("cli"), "--role", "partner",
                       "--source", "escwa")
    assert proc.returncode == 0, proc.stderr
    key = proc.stdout.strip()
    assert KEY_RE.match(key) and proc.stdout.count(key) == 1, proc.stdout
    assert key not in proc.stderr
    assert key_id(ctx.db, key) is not None


def test_non_admin_roles_cannot_be_keys_and_sources_are_slugs(ctx):
    before = ctx.db.count("api_keys")
    r = ctx.client.post(KEYS, json={"name": uniq("k"), "role": "editor", "source": "annd"},
                        headers=ctx.admin.headers, invalid=True)
    assert "role" in error_fields(assert_problem(r, 422))
    r = ctx.client.post(KEYS, json={"name": uniq("k"), "role": "partner", "source": "Not A Slug"},
                        headers=ctx.admin.headers, invalid=True)
    assert "source" in error_fields(assert_problem(r, 422))
    r = ctx.client.post(KEYS, json={"name": uniq("k"), "role": "partner", "source": "annd",
                                    "key": "sk_" + "a" * 40}, headers=ctx.admin.headers,
                        invalid=True)
    assert "key" in error_fields(assert_problem(r, 422))
    assert ctx.db.count("api_keys") == before


# ---------------------------------------------------------------- use and revocation


def test_last_used_at_is_set_once_the_key_is_used(ctx):
    body = new_key(ctx, role="analyst").json()
    assert ctx.client.get(f"{KEYS}/{body['id']}", headers=ctx.admin.headers).json()[
        "last_used_at"] is None
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    r = ctx.client.get("/v1/monitoring-records", params={"limit": 1}, headers=bearer(body["key"]))
    assert r.status_code == 200, r.text
    used = ctx.client.get(f"{KEYS}/{body['id']}", headers=ctx.admin.headers).json()["last_used_at"]
    assert used is not None
    when = datetime.datetime.fromisoformat(used.replace("Z", "+00:00"))
    assert start <= when <= start + datetime.timedelta(seconds=60), used


def test_revoked_key_is_refused_at_once(ctx):
    body = new_key(ctx).json()
    key = body["key"]
    assert ctx.client.get("/v1/monitoring-records", params={"limit": 1},
                          headers=bearer(key)).status_code == 200
    r = ctx.client.delete(f"{KEYS}/{body['id']}", headers=ctx.admin.headers)
    assert r.status_code == 204, r.text
    assert_invalid_token(ctx.client.get("/v1/monitoring-records", params={"limit": 1},
                                        headers=bearer(key)))
    before = ctx.db.count("organizations")
    assert_invalid_token(ctx.client.post("/v1/organizations", json=organization_body(),
                                         headers=bearer(key)))
    # A token sent to a public route must be valid too: no fallback to anonymous.
    assert_invalid_token(ctx.client.get("/v1/organizations", headers=bearer(key)))
    assert ctx.db.count("organizations") == before
    got = ctx.client.get(f"{KEYS}/{body['id']}", headers=ctx.admin.headers)
    assert got.status_code == 200 and got.json()["revoked_at"] is not None, got.text
    assert_problem(ctx.client.delete(f"{KEYS}/{body['id']}", headers=ctx.admin.headers), 404)


@pytest.mark.parametrize("key", ["sk_" + "A" * 43, "sk_", "sk_short"])
def test_unknown_key_is_401_invalid_token(ctx, key):
    assert_invalid_token(ctx.client.get("/v1/monitoring-records", headers=bearer(key)))


# ---------------------------------------------------------------- partner writes


def test_partner_writes_are_stamped_with_its_source(ctx):
    w, partner = ctx.w, ctx.partner
    org = create(ctx.client, partner.token, "/v1/organizations", organization_body())
    assert org["source"] == "annd", org
    p = create(ctx.client, partner.token, "/v1/partnerships",
               partnership_body(w.T["id"], w.N["id"], [org["id"]]))
    assert p["source"] == "annd", p
    mr = create(ctx.client, partner.token, "/v1/monitoring-records", monitoring_body(p["id"]))
    assert mr["source"] == "annd", mr
    for table, rid in (("organizations", org["id"]), ("partnerships", p["id"]),
                       ("monitoring_records", mr["id"])):
        assert ctx.db.row(table, rid)["source"] == "annd", table
    audit = ctx.db.json(f"SELECT to_jsonb(a) FROM audit_log a WHERE record_id = '{org['id']}'")
    assert audit["actor_type"] == "api_key" and audit["actor_id"] == partner.sub, audit
    assert audit["actor_role"] == "partner", audit
    # An admin's direct write is stamped `sharaka`.
    assert w.A["source"] == "sharaka" and w.P_A["source"] == "sharaka"


def test_partner_cannot_choose_the_source(ctx):
    before = ctx.db.count("organizations")
    r = ctx.client.post("/v1/organizations", json=organization_body(source="sharaka"),
                        headers=ctx.partner.headers, invalid=True)
    assert "source" in error_fields(assert_problem(r, 422))
    r = ctx.client.patch(f"/v1/organizations/{ctx.w.Porg['id']}", json={"source": "sharaka"},
                         headers=ctx.partner.headers, invalid=True)
    assert "source" in error_fields(assert_problem(r, 422))
    assert ctx.db.count("organizations") == before
    assert ctx.db.row("organizations", ctx.w.Porg["id"])["source"] == "annd"


@pytest.mark.parametrize("resource, table, own, theirs, patch", [
    ("organizations", "organizations", "Porg", "A", {"description": "changed by a partner"}),
    ("partnerships", "partnerships", "P_partner", "P_other", {"description": "changed"}),
    ("monitoring-records", "monitoring_records", "mr_partner", "mr_other", {"findings": "x"}),
])
def test_partner_updates_only_records_of_its_own_source(ctx, resource, table, own, theirs,
                                                         patch):
    mine, other = getattr(ctx.w, own), getattr(ctx.w, theirs)
    r = ctx.client.patch(f"/v1/{resource}/{mine['id']}", json=patch, headers=ctx.partner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "annd"

    row, audits = ctx.db.row(table, other["id"]), ctx.db.audit_count()
    r = ctx.client.patch(f"/v1/{resource}/{other['id']}", json=patch, headers=ctx.partner.headers)
    assert_problem(r, 403, instance=f"/v1/{resource}/{other['id']}")
    assert ctx.db.row(table, other["id"]) == row
    assert ctx.db.audit_count() == audits


def test_partner_may_not_update_another_partners_records(ctx):
    escwa = ctx.add_partner("escwa")
    theirs = create(ctx.client, escwa.token, "/v1/organizations", organization_body())
    assert theirs["source"] == "escwa"
    row = ctx.db.row("organizations", theirs["id"])
    r = ctx.client.patch(f"/v1/organizations/{theirs['id']}", json={"description": "mine now"},
                         headers=ctx.partner.headers)
    assert_problem(r, 403)
    assert ctx.db.row("organizations", theirs["id"]) == row


def test_partner_may_not_delete_even_its_own_records(ctx):
    row = ctx.db.row("organizations", ctx.w.Porg["id"])
    r = ctx.client.delete(f"/v1/organizations/{ctx.w.Porg['id']}", headers=ctx.partner.headers)
    assert_problem(r, 403)
    assert ctx.db.row("organizations", ctx.w.Porg["id"]) == row


def test_partner_batch_is_stamped_and_cannot_touch_another_source(ctx):
    r = ctx.client.post("/v1/organizations/batch",
                        json={"items": [organization_body(), organization_body()]},
                        headers=ctx.partner.headers)
    assert r.status_code == 200, r.text
    for item in r.json()["items"]:
        assert ctx.db.row("organizations", item["id"])["source"] == "annd"

    counts, audits = ctx.db.count("organizations"), ctx.db.audit_count()
    row = ctx.db.row("organizations", ctx.w.B["id"])
    r = ctx.client.post("/v1/organizations/batch", headers=ctx.partner.headers, json={"items": [
        organization_body(), {"id": ctx.w.B["id"], "description": "taken over by a batch"}]})
    assert r.status_code in (403, 422), r.text
    p = assert_problem(r, r.status_code)
    if r.status_code == 422:
        assert any(e["field"].startswith("items[1]") for e in p["errors"]), p
    assert ctx.db.count("organizations") == counts
    assert ctx.db.audit_count() == audits
    assert ctx.db.row("organizations", ctx.w.B["id"]) == row


def test_analyst_key_reads_internal_data_but_writes_nothing(ctx):
    key = add_key(ctx.cli, "analyst", "research")
    r = ctx.client.get(f"/v1/organizations/{ctx.w.A['id']}", headers=bearer(key))
    assert r.status_code == 200 and r.json().get("email") == "a@org.test", r.text
    assert ctx.client.get("/v1/monitoring-records", headers=bearer(key)).status_code == 200
    before = ctx.db.count("organizations")
    assert_problem(ctx.client.post("/v1/organizations", json=organization_body(),
                                   headers=bearer(key)), 403)
    assert ctx.db.count("organizations") == before


def test_key_row_changes_nothing_but_last_used_at_on_use(ctx):
    body = new_key(ctx).json()
    before = ctx.db.row("api_keys", body["id"])
    time.sleep(0.01)
    ctx.client.get("/v1/organizations", params={"limit": 1}, headers=bearer(body["key"]))
    assert ctx.db.row("api_keys", body["id"]) == before
