"""Users: admins create, list, read and change them; passwords never come back; a change of role
or a deactivation applies to tokens already issued; no one changes their own role or deactivates
themselves."""

import pytest

from support.bodies import organization_body
from support.checks import UUID_RE, assert_problem, error_fields, uniq
from support.principals import PASSWORD, login

USERS = "/v1/users"


@pytest.fixture(scope="module")
def ctx(ctx):
    admin = ctx.add_user("admin")
    return ctx.extend(admin=admin, org=ctx.make("organization", admin.token))


def new_user(ctx, role="analyst", password=PASSWORD, **extra):
    email = f"{uniq('user')}@users.test"
    r = ctx.client.post(USERS, json={"email": email, "password": password, "role": role, **extra},
                        headers=ctx.admin.headers)
    assert r.status_code == 201, r.text
    return r


def signed_in(ctx, role="analyst", org=None):
    """A user with a token, made quickly (see support.principals.add_user)."""
    return ctx.add_user(role, org=org)


def assert_no_password(r, password=PASSWORD):
    assert password not in r.text
    assert "$argon2" not in r.text
    assert "password" not in r.text, r.text[:500]


def assert_invalid_token(r):
    assert_problem(r, 401)
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, challenge


# ---------------------------------------------------------------- create, read, filter


def test_admin_creates_a_user_and_no_answer_carries_the_password(ctx):
    secret = "a very private passphrase " + uniq()
    r = new_user(ctx, password=secret)
    body = r.json()
    assert UUID_RE.match(body["id"])
    assert body["role"] == "analyst" and body["active"] is True and body["version"] == 1, body
    assert body["organization_id"] is None and body["ministry_id"] is None, body
    assert r.headers.get("Location") == f"{USERS}/{body['id']}"
    assert_no_password(r, secret)

    got = ctx.client.get(f"{USERS}/{body['id']}", headers=ctx.admin.headers)
    assert got.status_code == 200 and got.json() == body, got.text
    assert_no_password(got, secret)
    for params in ({"limit": 200}, {"format": "csv", "limit": 200},
                   {"format": "ndjson", "limit": 200}):
        listing = ctx.client.get(USERS, params=params, headers=ctx.admin.headers)
        assert listing.status_code == 200, listing.text
        assert_no_password(listing, secret)
    # ... and the password works.
    assert login(ctx.client, body["email"], secret)


def test_password_is_not_a_field_one_can_ask_for(ctx):
    with ctx.client.invalid_requests():
        for params in ({"fields": "id,password"}, {"fields": "password_hash"},
                       {"password": "x"}, {"sort": "password"}):
            r = ctx.client.get(USERS, params=params, headers=ctx.admin.headers)
            assert_problem(r, 400)


def test_users_list_filters_by_email(ctx):
    first = new_user(ctx).json()
    new_user(ctx)
    r = ctx.client.get(USERS, params={"email": first["email"]}, headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    assert [u["id"] for u in r.json()["data"]] == [first["id"]]
    r = ctx.client.get(USERS, params={"email": "nobody@users.test"}, headers=ctx.admin.headers)
    assert r.status_code == 200 and r.json()["data"] == []


def test_editor_needs_exactly_one_organization_or_ministry(ctx):
    before = ctx.db.count("users")
    email = f"{uniq('ed')}@users.test"
    r = ctx.client.post(USERS, json={"email": email, "password": PASSWORD, "role": "editor"},
                        headers=ctx.admin.headers)
    assert_problem(r, 422)
    r = ctx.client.post(USERS, json={"email": email, "password": PASSWORD, "role": "analyst",
                                     "organization_id": ctx.org["id"]}, headers=ctx.admin.headers)
    assert_problem(r, 422)
    assert ctx.db.count("users") == before
    r = new_user(ctx, "editor", organization_id=ctx.org["id"])
    assert r.json()["organization_id"] == ctx.org["id"]


def test_duplicate_email_is_409_whatever_its_letter_case(ctx):
    body = new_user(ctx).json()
    r = ctx.client.post(USERS, json={"email": body["email"].upper(), "password": PASSWORD,
                                     "role": "analyst"}, headers=ctx.admin.headers)
    assert_problem(r, 409)


def test_partner_role_is_for_keys_not_users(ctx):
    r = ctx.client.post(USERS, json={"email": f"{uniq()}@users.test", "password": PASSWORD,
                                     "role": "partner"}, headers=ctx.admin.headers, invalid=True)
    assert "role" in error_fields(assert_problem(r, 422))


def test_admin_changes_a_password_and_the_answer_does_not_show_it(ctx):
    body = new_user(ctx).json()
    fresh = "the new passphrase " + uniq()
    r = ctx.client.patch(f"{USERS}/{body['id']}", json={"password": fresh},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    assert_no_password(r, fresh)
    assert login(ctx.client, body["email"], fresh)
    old = ctx.client.post("/v1/auth/token", json={"email": body["email"], "password": PASSWORD})
    assert_problem(old, 401)
    audit = ctx.db.value(f"SELECT count(*) FROM audit_log a WHERE record_id = '{body['id']}' "
                           f"AND (to_jsonb(a)::text LIKE '%argon2%' OR "
                           f"to_jsonb(a)::text LIKE '%{fresh}%')")
    assert audit == "0", "a password or its hash is in the audit log"


# ---------------------------------------------------------------- changes apply at once


def test_deactivating_a_user_refuses_its_existing_token_at_once(ctx):
    user = signed_in(ctx)
    assert ctx.client.get("/v1/monitoring-records", headers=user.headers).status_code == 200
    r = ctx.client.patch(f"{USERS}/{user.sub}", json={"active": False}, headers=ctx.admin.headers)
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    assert_invalid_token(ctx.client.get("/v1/monitoring-records", headers=user.headers))
    # Not even as an anonymous caller on a public route.
    assert_invalid_token(ctx.client.get("/v1/organizations", headers=user.headers))
    r = ctx.client.post("/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert_problem(r, 401)
    # Reactivated, the same token works again (it has not expired).
    r = ctx.client.patch(f"{USERS}/{user.sub}", json={"active": True}, headers=ctx.admin.headers)
    assert r.status_code == 200
    assert ctx.client.get("/v1/monitoring-records", headers=user.headers).status_code == 200


def test_raising_a_role_applies_to_the_existing_token_at_once(ctx):
    user = signed_in(ctx)
    assert_problem(ctx.client.get(USERS, headers=user.headers), 403)
    r = ctx.client.patch(f"{USERS}/{user.sub}", json={"role": "admin"}, headers=ctx.admin.headers)
    assert r.status_code == 200 and r.json()["role"] == "admin", r.text
    assert ctx.client.get(USERS, headers=user.headers).status_code == 200
    me = ctx.client.get("/v1/auth/me", headers=user.headers)
    assert me.status_code == 200 and me.json()["role"] == "admin", me.text


def test_lowering_a_role_applies_to_the_existing_token_at_once(ctx):
    user = signed_in(ctx, "admin")
    assert ctx.client.get(USERS, headers=user.headers).status_code == 200
    r = ctx.client.patch(f"{USERS}/{user.sub}", json={"role": "analyst"},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    assert_problem(ctx.client.get(USERS, headers=user.headers), 403)
    assert_problem(ctx.client.post("/v1/organizations", json=organization_body(),
                                   headers=user.headers), 403)


def test_unbinding_an_editor_applies_to_its_existing_token_at_once(ctx):
    editor = signed_in(ctx, "editor", org=ctx.org["id"])
    path = f"/v1/organizations/{ctx.org['id']}"
    r = ctx.client.patch(path, json={"description": "by its editor"}, headers=editor.headers)
    assert r.status_code == 200, r.text
    r = ctx.client.patch(f"{USERS}/{editor.sub}", json={"role": "analyst",
                                                        "organization_id": None},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    row = ctx.db.row("organizations", ctx.org["id"])
    assert_problem(ctx.client.patch(path, json={"description": "no longer"},
                                    headers=editor.headers), 403)
    assert ctx.db.row("organizations", ctx.org["id"]) == row


# ---------------------------------------------------------------- what no one may do


def test_admin_may_not_change_its_own_role_or_deactivate_itself(ctx):
    admin = signed_in(ctx, "admin")
    row, audits = ctx.db.row("users", admin.sub), ctx.db.audit_count()
    for patch in ({"role": "analyst"}, {"active": False}, {"role": "admin", "active": False}):
        r = ctx.client.patch(f"{USERS}/{admin.sub}", json=patch, headers=admin.headers)
        assert_problem(r, 403, instance=f"{USERS}/{admin.sub}")
    assert ctx.db.row("users", admin.sub) == row
    assert ctx.db.audit_count() == audits
    assert ctx.client.get(USERS, headers=admin.headers).status_code == 200


@pytest.mark.parametrize("role", ["analyst", "editor"])
def test_non_admin_may_not_raise_its_own_role(ctx, role):
    user = signed_in(ctx, role, org=ctx.org["id"] if role == "editor" else None)
    row = ctx.db.row("users", user.sub)
    for patch in ({"role": "admin", "organization_id": None}, {"active": False},
                  {"organization_id": None, "role": "analyst"}):
        r = ctx.client.patch(f"{USERS}/{user.sub}", json=patch, headers=user.headers)
        assert_problem(r, 403)
    assert ctx.db.row("users", user.sub) == row


def test_non_admins_may_not_list_create_read_or_change_users(ctx):
    target = new_user(ctx).json()
    editor = signed_in(ctx, "editor", org=ctx.org["id"])
    partner = ctx.add_partner("annd")
    callers = [signed_in(ctx, "analyst"), editor, partner]
    count, row = ctx.db.count("users"), ctx.db.row("users", target["id"])
    body = {"email": f"{uniq()}@users.test", "password": PASSWORD, "role": "admin"}
    for who in callers:
        assert_problem(ctx.client.get(USERS, headers=who.headers), 403)
        assert_problem(ctx.client.get(f"{USERS}/{target['id']}", headers=who.headers), 403)
        assert_problem(ctx.client.post(USERS, json=body, headers=who.headers), 403)
        assert_problem(ctx.client.patch(f"{USERS}/{target['id']}", json={"role": "admin"},
                                        headers=who.headers), 403)
    for r in (ctx.client.get(USERS), ctx.client.post(USERS, json=body),
              ctx.client.patch(f"{USERS}/{target['id']}", json={"active": False})):
        assert_problem(r, 401)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert ctx.db.count("users") == count
    assert ctx.db.row("users", target["id"]) == row


def test_read_only_and_unknown_fields_are_422(ctx):
    target = new_user(ctx).json()
    for patch in ({"id": target["id"]}, {"version": 7}, {"created_at": "2020-01-01T00:00:00Z"},
                  {"password_hash": "$argon2id$x"}, {"is_admin": True}):
        r = ctx.client.patch(f"{USERS}/{target['id']}", json=patch, headers=ctx.admin.headers,
                             invalid=True)
        assert_problem(r, 422)
