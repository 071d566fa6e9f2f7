"""Trust in who may do what: reserved key sources, scopes that compare the right id, tokens
read as sent (RFC 8725), idempotency keys that end, and the users list's filters.

  - No API key may carry the source `sharaka` (that of every direct write) or `system`, from
    POST /v1/api-keys or `sharaka apikey create`: 422 / exit 2 naming `source`.
  - An editor's own-record scope compares its organization with organizations and its ministry
    with ministries: an organization whose id equals the editor's ministry's is not its own.
  - A token with a crit header, an iat in the future, or a duplicate claim or header name is a
    401; an exp of INT64_MAX does not overflow.
  - An Idempotency-Key past SHARAKA_IDEMPOTENCY_RETENTION is not replayed, and the janitor of
    `sharaka serve` deletes such rows every SHARAKA_JANITOR_INTERVAL seconds, with several
    servers on one database.
  - GET /v1/users filters by organization_id and ministry_id, as the spec says; an unknown
    parameter is a 400 naming it.
"""

import json
import time

import pytest

from support.bodies import create, ministry_body, organization_body
from support.checks import assert_problem, error_fields, expect, uniq
from support.config import JWT_SECRET
from support.db import sql_str
from support.principals import b64url, bearer, make_token, sign

KEYS = "/v1/api-keys"
ME = "/v1/auth/me"
INT64_MAX = 9223372036854775807


@pytest.fixture(scope="module")
def ctx(ctx):
    return ctx.extend(admin=ctx.add_user("admin"))


def state(ctx, table, record_id):
    return ctx.db.row(table, record_id), ctx.db.audit_count(), ctx.db.count("changes")


# ---------------------------------------------------------------- reserved key sources


@pytest.mark.parametrize("source", ["sharaka", "system"])
def test_api_key_of_a_reserved_source_is_422_on_source_and_not_stored(ctx, source):
    before = ctx.db.count("api_keys"), ctx.db.audit_count()
    r = ctx.client.post(KEYS, json={"name": uniq("key"), "role": "partner", "source": source},
                        headers=ctx.admin.headers, invalid=True)
    p = assert_problem(r, 422, instance=KEYS)
    assert error_fields(p) == {"source"}, p
    (e,) = p["errors"]
    assert e["code"] == "reserved", e
    assert "reserved" in e["message"] and source in e["message"], e
    assert (ctx.db.count("api_keys"), ctx.db.audit_count()) == before


@pytest.mark.parametrize("source", ["sharaka", "system"])
def test_command_line_refuses_a_key_of_a_reserved_source(ctx, source):
    before = ctx.db.count("api_keys")
    proc = ctx.cli.run("apikey", "create", "--name", uniq("key"), "--role", "partner",
                       "--source", source)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    first = proc.stderr.splitlines()[0]
    assert "--source" in first and "reserved" in first, proc.stderr
    assert "sk_" not in proc.stdout
    assert ctx.db.count("api_keys") == before


def test_a_source_that_only_starts_like_a_reserved_one_is_accepted(ctx):
    r = ctx.client.post(KEYS, json={"name": uniq("key"), "role": "partner",
                                    "source": "sharaka-partner"}, headers=ctx.admin.headers)
    expect(r, 201, "source sharaka-partner")
    assert r.json()["source"] == "sharaka-partner"


# ---------------------------------------------------------------- own-record scope


def batch_create(ctx, path, body):
    """Creates one record with a chosen id through the batch route (upsert by id)."""
    r = ctx.client.post(f"{path}/batch", json={"items": [body]}, headers=ctx.admin.headers)
    expect(r, 200, f"batch {path}")
    assert [it["result"] for it in r.json()["items"]] == ["created"], r.json()
    return body["id"]


def test_ministry_editor_may_not_patch_the_organization_that_shares_its_ministrys_id(ctx):
    m = create(ctx.client, ctx.admin.token, "/v1/ministries", ministry_body())
    twin = batch_create(ctx, "/v1/organizations", {**organization_body(), "id": m["id"]})
    editor = ctx.add_user("editor", ministry=m["id"])
    path = f"/v1/organizations/{twin}"
    before = state(ctx, "organizations", twin)
    r = ctx.client.patch(path, json={"description": "not mine"}, headers=editor.headers)
    p = assert_problem(r, 403, instance=path)
    assert "scope" in p["detail"], p
    assert state(ctx, "organizations", twin) == before
    # Its own ministry, with the same id, it may change.
    r = ctx.client.patch(f"/v1/ministries/{m['id']}", json={"acronym": "MX"},
                         headers=editor.headers)
    expect(r, 200, "own ministry")


def test_organization_editor_may_not_patch_the_ministry_that_shares_its_organizations_id(ctx):
    o = create(ctx.client, ctx.admin.token, "/v1/organizations", organization_body())
    twin = batch_create(ctx, "/v1/ministries", {**ministry_body(), "id": o["id"]})
    editor = ctx.add_user("editor", org=o["id"])
    path = f"/v1/ministries/{twin}"
    before = state(ctx, "ministries", twin)
    r = ctx.client.patch(path, json={"acronym": "NO"}, headers=editor.headers)
    assert_problem(r, 403, instance=path)
    assert state(ctx, "ministries", twin) == before
    r = ctx.client.patch(f"/v1/organizations/{o['id']}", json={"description": "mine"},
                         headers=editor.headers)
    expect(r, 200, "own organization")


def test_policy_names_the_scope_each_own_record_rule_compares(ctx):
    proc = ctx.cli.run("help", "policy")
    assert proc.returncode == 0, proc.stderr
    rules = {tuple(line.split("\t")[:3]): line.split("\t")[3]
             for line in proc.stdout.splitlines() if line.strip()}
    assert rules[("organizations", "update", "editor")] == "own-organization"
    assert rules[("ministries", "update", "editor")] == "own-ministry"


# ---------------------------------------------------------------- tokens (RFC 8725)


def claims(ctx, **over):
    now = int(time.time())
    c = {"sub": ctx.admin.sub, "role": "admin", "iss": "sharaka", "aud": "sharaka",
         "iat": now, "exp": now + 300}
    c.update(over)
    return c


def raw_token(header_text, payload_text):
    """An HS256 token over exactly these texts (duplicate names survive)."""
    signing_input = b64url(header_text.encode()) + "." + b64url(payload_text.encode())
    return signing_input + "." + b64url(sign(signing_input, JWT_SECRET))


def assert_invalid_token(r, why):
    p = assert_problem(r, 401, instance=ME)
    assert "invalid_token" in r.headers.get("WWW-Authenticate", ""), r.headers
    assert why in p["detail"], p
    return p


def test_sound_token_is_accepted(ctx):
    r = ctx.client.get(ME, headers=bearer(make_token(claims(ctx), JWT_SECRET)))
    expect(r, 200, "sound token")
    assert r.json()["sub"] == ctx.admin.sub


@pytest.mark.parametrize("crit", [["exp"], ["x-unknown"], []])
def test_token_with_a_crit_header_is_401(ctx, crit):
    header = {"alg": "HS256", "typ": "JWT", "crit": crit, "x-unknown": True}
    token = make_token(claims(ctx), JWT_SECRET, header=header)
    assert_invalid_token(ctx.client.get(ME, headers=bearer(token)), "crit")


def test_token_issued_a_day_in_the_future_is_401(ctx):
    now = int(time.time())
    token = make_token(claims(ctx, iat=now + 86400, exp=now + 86400 + 300), JWT_SECRET)
    assert_invalid_token(ctx.client.get(ME, headers=bearer(token)), "iat")
    # Within the leeway (clock skew) it is accepted.
    token = make_token(claims(ctx, iat=now + 20), JWT_SECRET)
    expect(ctx.client.get(ME, headers=bearer(token)), 200, "iat 20 s ahead")


def test_token_whose_exp_is_int64_max_does_not_overflow(ctx):
    token = make_token(claims(ctx, exp=INT64_MAX), JWT_SECRET)
    r = ctx.client.get(ME, headers=bearer(token))
    expect(r, 200, "exp INT64_MAX")
    assert r.json()["exp"] == INT64_MAX
    # And the other end: nbf at INT64_MIN is in the past, not a wrap into the future.
    token = make_token(claims(ctx, exp=INT64_MAX, nbf=-INT64_MAX - 1), JWT_SECRET)
    expect(ctx.client.get(ME, headers=bearer(token)), 200, "nbf INT64_MIN")


@pytest.mark.parametrize("payload", [
    # An expired exp behind a valid one, a raised role, a second subject.
    '{{"sub":"{sub}","role":"admin","iss":"sharaka","aud":"sharaka","exp":1,"exp":{exp}}}',
    '{{"sub":"{sub}","role":"analyst","role":"admin","iss":"sharaka","aud":"sharaka",'
    '"exp":{exp}}}',
    '{{"sub":"{sub}","sub":"{sub}","role":"admin","iss":"sharaka","aud":"sharaka",'
    '"exp":{exp}}}',
], ids=["exp", "role", "sub"])
def test_token_with_a_duplicate_claim_is_401(ctx, payload):
    text = payload.format(sub=ctx.admin.sub, exp=int(time.time()) + 300)
    token = raw_token('{"alg":"HS256","typ":"JWT"}', text)
    assert_invalid_token(ctx.client.get(ME, headers=bearer(token)), "claim")


def test_token_with_a_duplicate_header_name_is_401(ctx):
    payload = json.dumps(claims(ctx), separators=(",", ":"))
    token = raw_token('{"alg":"none","alg":"HS256","typ":"JWT"}', payload)
    assert_invalid_token(ctx.client.get(ME, headers=bearer(token)), "header")


# ---------------------------------------------------------------- idempotency retention


def post_with_key(api, token, key, body):
    data = json.dumps(body).encode("utf-8")
    return api.post("/v1/organizations", data=data,
                    headers={**bearer(token), "Content-Type": "application/json",
                             "Idempotency-Key": key})


def key_rows(own, where="true"):
    return own.db.count("idempotency_keys", where)


def test_key_past_its_retention_runs_again_before_any_purge(own_server):
    # The janitor runs at start and then not for an hour: only the read path can refuse it.
    own = own_server("trust", SHARAKA_IDEMPOTENCY_RETENTION="2", SHARAKA_JANITOR_INTERVAL="3600")
    key, body = uniq("retained-"), organization_body()
    first = expect(post_with_key(own.api, own.token, key, body), 201, "first")
    again = expect(post_with_key(own.api, own.token, key, body), 201, "replay")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    time.sleep(3)
    assert key_rows(own, f"key = {sql_str(key)}") == 1, "the janitor ran: this tests the read"
    late = expect(post_with_key(own.api, own.token, key, body), 201, "past the retention")
    assert "Idempotent-Replayed" not in late.headers
    assert late.json()["id"] != first.json()["id"]
    assert own.db.count("organizations", f"name = {sql_str(body['name'])}") == 2


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_janitor_purges_keys_past_their_retention_and_keeps_the_others(own_server, start_server):
    own = own_server("trust", SHARAKA_IDEMPOTENCY_RETENTION="3600", SHARAKA_JANITOR_INTERVAL="1")
    # A second server on the same database: two janitors at once.
    other = start_server(SHARAKA_DATABASE_URL=own.url, SHARAKA_IDEMPOTENCY_RETENTION="3600",
                         SHARAKA_JANITOR_INTERVAL="1")
    fresh = uniq("fresh-")
    expect(post_with_key(own.api, own.token, fresh, organization_body()), 201, "fresh key")
    # Old answers, with bodies, as a day of traffic would have left them.
    own.db.run("INSERT INTO idempotency_keys (principal, key, request_hash, state, status, body, "
               "created_at) SELECT 'someone', 'old-' || i, 'h', 'done', 201, repeat('x', 1000), "
               "now() - interval '2 hours' - i * interval '1 second' "
               "FROM generate_series(1, 300) i")
    wait_for("the old keys are purged", lambda: key_rows(own, "key LIKE 'old-%'") == 0)
    assert key_rows(own, f"key = {sql_str(fresh)}") == 1
    assert other.running
    # A short retention: the fresh key goes too, within a few rounds.
    other.terminate()
    other.assert_clean_exit()
    own.srv.terminate()
    own.srv.assert_clean_exit()
    short = start_server(SHARAKA_DATABASE_URL=own.url, SHARAKA_IDEMPOTENCY_RETENTION="1",
                         SHARAKA_JANITOR_INTERVAL="1")
    wait_for("every key is purged", lambda: key_rows(own) == 0)
    assert short.running
    short.terminate()
    short.assert_clean_exit()


def test_janitor_does_not_delay_shutdown(own_server):
    own = own_server("trust", SHARAKA_JANITOR_INTERVAL="86400")
    started = time.monotonic()
    own.srv.terminate()
    own.srv.assert_clean_exit()
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------- the users list's filters


def user_ids(ctx, query):
    r = ctx.client.get(f"/v1/users?{query}&limit=200", headers=ctx.admin.headers)
    expect(r, 200, query)
    return {u["id"] for u in r.json()["data"]}


def test_users_list_filters_by_organization_and_by_ministry(ctx):
    o = create(ctx.client, ctx.admin.token, "/v1/organizations", organization_body())
    m = create(ctx.client, ctx.admin.token, "/v1/ministries", ministry_body())
    ed_o = ctx.add_user("editor", org=o["id"])
    ed_m = ctx.add_user("editor", ministry=m["id"])
    assert user_ids(ctx, f"organization_id={o['id']}") == {ed_o.sub}
    assert user_ids(ctx, f"ministry_id={m['id']}") == {ed_m.sub}
    both = user_ids(ctx, f"organization_id.null=false&role=editor")
    assert ed_o.sub in both and ed_m.sub not in both
    assert ed_m.sub in user_ids(ctx, "organization_id.null=true&role=editor")


def test_users_list_refuses_an_unknown_parameter_naming_it(ctx):
    r = ctx.client.get("/v1/users?organisation_id=x", headers=ctx.admin.headers, invalid=True)
    p = assert_problem(r, 400)
    assert "organisation_id" in p["detail"] and "organization_id" in p["detail"], p


def test_spec_documents_every_filter_the_users_list_takes(ctx):
    r = ctx.client.get("/v1/users?colour=red", headers=ctx.admin.headers, invalid=True)
    p = assert_problem(r, 400)
    allowed = {a.strip() for a in p["detail"].split("allowed:", 1)[1].split(",")}
    assert {"organization_id", "ministry_id"} <= allowed, allowed
    op = ctx.spec.deref(ctx.spec.doc["paths"]["/v1/users"])["get"]
    documented = {ctx.spec.deref(x)["name"].split(".")[0] for x in op["parameters"]}
    assert allowed <= documented, f"taken but not in the spec: {sorted(allowed - documented)}"
