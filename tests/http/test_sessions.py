"""Console sessions: a password sign-in sets a refresh cookie; POST /v1/auth/refresh rotates it and
ends the whole session when a spent token comes back; POST /v1/auth/logout ends it; POST
/v1/auth/password and an admin's reset of a password end the user's (other) sessions.

The cookie is Secure and the tests speak plain http on loopback, so they send the Cookie header
themselves (requests would keep a Secure cookie to itself)."""

import concurrent.futures
import hashlib
import json
import re
import time

import pytest

from support.checks import assert_problem, error_entries, uniq
from support.db import sql_str
from support.principals import PASSWORD, bearer

TOKEN = "/v1/auth/token"
REFRESH = "/v1/auth/refresh"
LOGOUT = "/v1/auth/logout"
CHANGE = "/v1/auth/password"
COOKIE_RE = re.compile(r"^sharaka_refresh=(rt_[A-Za-z0-9_-]{43}); Path=/v1/auth; HttpOnly; "
                       r"Secure; SameSite=Strict; Max-Age=(\d+)$")
CLEARED = "sharaka_refresh=; Path=/v1/auth; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
DEFAULT_TTL = 14 * 86400


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def cookie_of(r, ttl=DEFAULT_TTL):
    """The refresh token the answer's Set-Cookie holds, checking every attribute."""
    m = COOKIE_RE.match(r.headers.get("Set-Cookie", ""))
    assert m, f"Set-Cookie {r.headers.get('Set-Cookie')!r}"
    assert int(m.group(2)) == ttl, m.group(0)
    return m.group(1)


def cookie(token):
    return {"Cookie": f"sharaka_refresh={token}"}


def sign_in(client, email, password=PASSWORD, ttl=DEFAULT_TTL):
    """(access token, refresh token) of a password sign-in."""
    r = client.post(TOKEN, json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"], cookie_of(r, ttl)


def refresh(client, token, **kw):
    return client.post(REFRESH, headers=cookie(token), **kw)


def assert_refused(r):
    """A 401 problem that clears the cookie."""
    p = assert_problem(r, 401, instance=REFRESH)
    assert p["type"] == "urn:sharaka:problem:invalid-refresh-token", p
    assert r.headers.get("Set-Cookie") == CLEARED, r.headers
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert "access_token" not in r.text
    return p


def token_row(db, token):
    """The stored row of a refresh token (found by its hash), as a dict, or None."""
    return db.json("SELECT to_jsonb(t) FROM refresh_tokens t WHERE token_hash = "
                   f"{sql_str(sha256_hex(token))}")


def sessions_state(db, user_id):
    """Every refresh-token row of a user, for 'nothing changed' comparisons."""
    return db.json("SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY id), '[]') FROM refresh_tokens t "
                   f"WHERE user_id = {sql_str(user_id)}")


@pytest.fixture
def user(ctx):
    """A fresh analyst who signs in with PASSWORD."""
    return ctx.add_user("analyst")


# ---------------------------------------------------------------- the cookie of a sign-in


def test_password_sign_in_sets_a_refresh_cookie_with_exactly_these_attributes(ctx, user):
    r = ctx.client.post(TOKEN, json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"access_token", "token_type", "expires_in"}, r.json()
    assert r.headers["Set-Cookie"].count("sharaka_refresh=") == 1
    token = cookie_of(r)
    row = token_row(ctx.db, token)
    assert row is not None, "the token is not stored under its SHA-256"
    assert row["user_id"] == user.sub and row["parent_id"] is None, row
    assert row["used_at"] is None and row["revoked_at"] is None, row
    # Only the hash is kept.
    assert ctx.db.count("refresh_tokens", f"token_hash = {sql_str(token)}") == 0
    assert token not in json.dumps(ctx.db.json(
        "SELECT jsonb_agg(to_jsonb(t)) FROM refresh_tokens t"))


def test_a_failed_sign_in_sets_no_cookie_and_starts_no_session(ctx, user):
    before = sessions_state(ctx.db, user.sub)
    r = ctx.client.post(TOKEN, json={"email": user.email, "password": "not the password"})
    assert_problem(r, 401)
    assert "Set-Cookie" not in r.headers
    assert sessions_state(ctx.db, user.sub) == before


# ---------------------------------------------------------------- refresh


def test_refresh_answers_a_new_access_token_and_rotates_the_cookie(ctx, user):
    _, first = sign_in(ctx.client, user.email)
    r = refresh(ctx.client, first)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert "no-store" in r.headers.get("Cache-Control", "")
    second = cookie_of(r)
    assert second != first
    me = ctx.client.get("/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["sub"] == user.sub, me.text
    old, new = token_row(ctx.db, first), token_row(ctx.db, second)
    assert old["used_at"] is not None and old["revoked_at"] is None, old
    assert new["parent_id"] == old["id"] and new["family_id"] == old["family_id"], (old, new)
    assert new["used_at"] is None and new["revoked_at"] is None, new
    # The next one works in turn.
    third = cookie_of(expect_ok(refresh(ctx.client, second)))
    assert third not in (first, second)


def expect_ok(r):
    assert r.status_code == 200, r.text
    return r


def test_refresh_carries_the_users_current_role(ctx):
    user = ctx.add_user("analyst")
    _, token = sign_in(ctx.client, user.email)
    r = ctx.client.patch(f"/v1/users/{user.sub}", json={"role": "admin"}, headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    r = expect_ok(refresh(ctx.client, token))
    me = ctx.client.get("/v1/auth/me", headers=bearer(r.json()["access_token"]))
    assert me.json()["role"] == "admin", me.text


def test_reusing_a_spent_refresh_token_revokes_the_whole_session(ctx, user):
    _, first = sign_in(ctx.client, user.email)
    second = cookie_of(expect_ok(refresh(ctx.client, first)))
    newest = cookie_of(expect_ok(refresh(ctx.client, second)))
    _, other = sign_in(ctx.client, user.email)  # another session of the same user

    p = assert_refused(refresh(ctx.client, first))
    assert "used already" in p["detail"], p
    # The newest token of the session stopped working too ...
    assert_refused(refresh(ctx.client, newest))
    family = token_row(ctx.db, first)["family_id"]
    assert ctx.db.count("refresh_tokens", f"family_id = {sql_str(family)} AND "
                                          "revoked_at IS NULL") == 0
    # ... and the other session did not.
    expect_ok(refresh(ctx.client, other))


def test_two_refreshes_with_one_cookie_at_once_are_a_reuse(ctx, user, api_for):
    _, token = sign_in(ctx.client, user.email)
    clients = [api_for(ctx.server) for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: refresh(c, token), clients))
    assert sorted(r.status_code for r in answers) == [200, 401], [r.text for r in answers]
    winner = next(r for r in answers if r.status_code == 200)
    assert_refused(refresh(ctx.client, cookie_of(winner)))


def test_a_client_without_cookies_sends_the_token_in_the_body_and_gets_the_next_one_there(ctx,
                                                                                          user):
    _, first = sign_in(ctx.client, user.email)
    r = expect_ok(ctx.client.post(REFRESH, json={"refresh_token": first}))
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token",
                         "refresh_expires_in"}, body
    assert body["refresh_expires_in"] == DEFAULT_TTL
    assert cookie_of(r) == body["refresh_token"]
    r = expect_ok(ctx.client.post(REFRESH, json={"refresh_token": body["refresh_token"]}))
    # The spent one is a reuse, whichever way it comes.
    assert_refused(ctx.client.post(REFRESH, json={"refresh_token": first}))
    assert_refused(refresh(ctx.client, r.json()["refresh_token"]))


def test_a_deactivated_users_refresh_is_401_and_spends_nothing(ctx, user):
    _, token = sign_in(ctx.client, user.email)
    r = ctx.client.patch(f"/v1/users/{user.sub}", json={"active": False},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    before = sessions_state(ctx.db, user.sub)
    assert "deactivated" in assert_refused(refresh(ctx.client, token))["detail"]
    assert sessions_state(ctx.db, user.sub) == before
    r = ctx.client.patch(f"/v1/users/{user.sub}", json={"active": True},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    expect_ok(refresh(ctx.client, token))


def test_an_expired_refresh_token_is_401(own_server):
    own = own_server("sessions", SHARAKA_REFRESH_TTL=1)
    email = f"{uniq('exp')}@sessions.test"
    own.cli.user_add(email, "analyst", PASSWORD)
    _, token = sign_in(own.api, email, ttl=1)
    time.sleep(1.5)
    before = own.db.json("SELECT jsonb_agg(to_jsonb(t)) FROM refresh_tokens t")
    p = assert_refused(refresh(own.api, token))
    assert "expired" in p["detail"], p
    assert own.db.json("SELECT jsonb_agg(to_jsonb(t)) FROM refresh_tokens t") == before


def test_the_janitor_purges_expired_refresh_tokens(own_server):
    own = own_server("sessions", SHARAKA_REFRESH_TTL=1, SHARAKA_JANITOR_INTERVAL=1)
    email = f"{uniq('purge')}@sessions.test"
    own.cli.user_add(email, "analyst", PASSWORD)
    _, token = sign_in(own.api, email, ttl=1)
    assert token_row(own.db, token) is not None
    deadline = time.monotonic() + 15
    while token_row(own.db, token) is not None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert token_row(own.db, token) is None, "an expired refresh token was not purged"


# ---------------------------------------------------------------- wrong input


def test_wrong_input_is_a_4xx_problem_and_changes_nothing(ctx, user):
    _, live = sign_in(ctx.client, user.email)
    before = ctx.db.json("SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM refresh_tokens t")
    assert_refused(ctx.client.post(REFRESH))  # no cookie, no body
    for bad in ("", "garbage", "rt_" + "A" * 43, "rt_" + "x" * 8000, "rt_a;b", "\"rt_quoted\""):
        with ctx.client.invalid_requests():
            assert_refused(ctx.client.post(REFRESH, headers={"Cookie": f"sharaka_refresh={bad}"}))
    assert_refused(ctx.client.post(REFRESH, headers={"Cookie": "other=1; theme=dark"}))
    assert_refused(ctx.client.post(REFRESH, json={"refresh_token": "rt_" + "B" * 43}))
    assert_problem(ctx.client.post(REFRESH, json={"refresh_token": live + "\u0000"}), 400)
    with ctx.client.invalid_requests():
        for body, status in (('{"refresh_token": ', 400), ("[1]", 400), ("{}", 422),
                             ('{"refresh_token": 5}', 422), ('{"token": "x"}', 422),
                             ('{"refresh_token": ""}', 422)):
            r = ctx.client.post(REFRESH, data=body.encode(),
                                headers={"Content-Type": "application/json"})
            assert_problem(r, status)
        r = ctx.client.post(REFRESH, data=json.dumps({"refresh_token": live}).encode(),
                            headers={"Content-Type": "text/plain"})
        assert_problem(r, 415)
        for path in (REFRESH, LOGOUT):
            r = ctx.client.post(path, json={"refresh_token": live}, headers=cookie(live))
            assert_problem(r, 400)
        r = ctx.client.get(REFRESH)
        assert_problem(r, 405)
    after = ctx.db.json("SELECT jsonb_agg(to_jsonb(t) ORDER BY id) FROM refresh_tokens t")
    assert after == before
    # The live session is untouched by all of it.
    expect_ok(refresh(ctx.client, live))


def test_a_refresh_ignores_the_authorization_header(ctx, user):
    _, token = sign_in(ctx.client, user.email)
    r = ctx.client.post(REFRESH, headers={**cookie(token), "Authorization": "Bearer nonsense"})
    expect_ok(r)


def test_refreshes_are_throttled_per_client_address(own_server):
    own = own_server("sessions", SHARAKA_LOGIN_RATE_LIMIT=3)
    for _ in range(3):
        r = refresh(own.api, "rt_" + "C" * 43)
        assert_refused(r)
    r = refresh(own.api, "rt_" + "C" * 43)
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) >= 1, r.headers


# ---------------------------------------------------------------- logout


def test_logout_ends_the_session_clears_the_cookie_and_may_be_repeated(ctx, user):
    _, first = sign_in(ctx.client, user.email)
    second = cookie_of(expect_ok(refresh(ctx.client, first)))
    _, other = sign_in(ctx.client, user.email)
    for _ in range(2):
        r = ctx.client.post(LOGOUT, headers=cookie(second))
        assert r.status_code == 204, r.text
        assert r.headers.get("Set-Cookie") == CLEARED, r.headers
        assert r.content == b""
    assert "ended" in assert_refused(refresh(ctx.client, second))["detail"]
    family = token_row(ctx.db, first)["family_id"]
    assert ctx.db.count("refresh_tokens", f"family_id = {sql_str(family)} AND "
                                          "revoked_at IS NULL") == 0
    # Without a token, or with one that opens nothing, it is still a 204.
    for headers in ({}, cookie("garbage"), cookie("rt_" + "D" * 43)):
        r = ctx.client.post(LOGOUT, headers=headers)
        assert r.status_code == 204 and r.headers.get("Set-Cookie") == CLEARED, r.text
    # A client without cookies signs out with the body; the other session goes on.
    _, third = sign_in(ctx.client, user.email)
    r = ctx.client.post(LOGOUT, json={"refresh_token": third})
    assert r.status_code == 204, r.text
    assert_refused(refresh(ctx.client, third))
    expect_ok(refresh(ctx.client, other))


# ---------------------------------------------------------------- one's own password


def change(ctx, access, current, new, token=None, **kw):
    headers = {**bearer(access), **(cookie(token) if token else {})}
    return ctx.client.post(CHANGE, json={"current_password": current, "new_password": new},
                           headers=headers, **kw)


def test_password_change_ends_the_other_sessions_and_keeps_the_callers(ctx, user):
    access, mine = sign_in(ctx.client, user.email)
    _, other = sign_in(ctx.client, user.email)
    _, third = sign_in(ctx.client, user.email)
    third = cookie_of(expect_ok(refresh(ctx.client, third)))
    audits = ctx.db.audit_count()
    fresh = "a brand new passphrase " + uniq()
    r = change(ctx, access, PASSWORD, fresh, token=mine)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_refused(refresh(ctx.client, other))
    assert_refused(refresh(ctx.client, third))
    expect_ok(refresh(ctx.client, mine))
    # The old password no longer signs in; the new one does.
    assert_problem(ctx.client.post(TOKEN, json={"email": user.email, "password": PASSWORD}), 401)
    sign_in(ctx.client, user.email, fresh)
    # One audit row, an update of the user, with neither password nor hash.
    rows = ctx.db.audit_rows_after(audits)
    mine_rows = [a for a in rows if a["record_id"] == user.sub]
    assert len(mine_rows) == 1, rows
    a = mine_rows[0]
    assert (a["action"], a["resource"], a["actor_id"], a["actor_type"]) == \
        ("update", "users", user.sub, "user"), a
    assert a["after"]["version"] == a["before"]["version"] + 1, a
    text = json.dumps(a)
    assert fresh not in text and PASSWORD not in text and "argon2" not in text, text
    assert "password" not in text, text


def test_password_change_without_a_cookie_ends_every_session(ctx, user):
    access, first = sign_in(ctx.client, user.email)
    r = change(ctx, access, PASSWORD, "another passphrase " + uniq())
    assert r.status_code == 204, r.text
    assert_refused(refresh(ctx.client, first))


def test_a_wrong_current_password_is_422_naming_it_and_changes_nothing(ctx, user):
    access, token = sign_in(ctx.client, user.email)
    row, audits = ctx.db.row("users", user.sub), ctx.db.audit_count()
    hash_before = ctx.db.value(f"SELECT password_hash FROM users WHERE id = {sql_str(user.sub)}")
    sessions = sessions_state(ctx.db, user.sub)
    r = change(ctx, access, "not my password", "a good new passphrase")
    p = assert_problem(r, 422, instance=CHANGE)
    assert error_entries(p) == {"current_password": "wrong-password"}, p
    assert ctx.db.row("users", user.sub) == row and ctx.db.audit_count() == audits
    assert ctx.db.value(f"SELECT password_hash FROM users WHERE id = {sql_str(user.sub)}") == \
        hash_before
    assert sessions_state(ctx.db, user.sub) == sessions
    sign_in(ctx.client, user.email)


@pytest.mark.parametrize("new,field,code", [
    ("short", "new_password", "length"),
    ("x" * 1025, "new_password", "length"),
    (PASSWORD, "new_password", "unchanged"),
])
def test_a_weak_or_unchanged_new_password_is_422_naming_the_rule(ctx, user, new, field, code):
    access, _ = sign_in(ctx.client, user.email)
    audits = ctx.db.audit_count()
    with ctx.client.invalid_requests():
        r = change(ctx, access, PASSWORD, new)
    p = assert_problem(r, 422, instance=CHANGE)
    assert error_entries(p) == {field: code}, p
    if code == "length":
        assert "8 to 1024 characters" in p["errors"][0]["message"], p
    assert ctx.db.audit_count() == audits
    sign_in(ctx.client, user.email)


def test_malformed_password_bodies_are_4xx_problems(ctx, user):
    access, _ = sign_in(ctx.client, user.email)
    with ctx.client.invalid_requests():
        for body, status in (("{", 400), ("{}", 422), ('{"current_password": 1, "new_password": 2}',
                                                       422),
                             ('{"current_password": "a", "new_password": "bbbbbbbb", "x": 1}',
                              422)):
            r = ctx.client.post(CHANGE, data=body.encode(),
                                headers={"Content-Type": "application/json", **bearer(access)})
            assert_problem(r, status)
    sign_in(ctx.client, user.email)


def test_password_change_needs_a_signed_in_user(ctx, user):
    body = {"current_password": PASSWORD, "new_password": "whatever passphrase"}
    r = ctx.client.post(CHANGE, json=body)
    assert_problem(r, 401)
    for key in (ctx.add_partner("annd"), ctx.add_partner("annd", role="admin")):
        assert_problem(ctx.client.post(CHANGE, json=body, headers=key.headers), 403)
    sign_in(ctx.client, user.email)


def test_guesses_of_the_current_password_count_as_sign_in_attempts(own_server):
    own = own_server("sessions", SHARAKA_LOGIN_RATE_LIMIT=3)
    email = f"{uniq('guess')}@sessions.test"
    own.cli.user_add(email, "analyst", PASSWORD)
    access, _ = sign_in(own.api, email)  # the first of three attempts
    body = {"current_password": "a guess", "new_password": "a good new passphrase"}
    for _ in range(2):
        r = own.api.post(CHANGE, json=body, headers=bearer(access))
        assert error_entries(assert_problem(r, 422)) == {"current_password": "wrong-password"}
    r = own.api.post(CHANGE, json={**body, "current_password": PASSWORD}, headers=bearer(access))
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) >= 1, r.headers
    # The right password, past the quota, changed nothing: it still signs in once the quota is back.
    own.pg.psql("DELETE FROM login_throttle", dbname=own.dbname)
    sign_in(own.api, email)


# ---------------------------------------------------------------- an admin's reset


def test_an_admin_reset_of_a_password_revokes_every_session_of_the_user(ctx, user):
    _, first = sign_in(ctx.client, user.email)
    _, second = sign_in(ctx.client, user.email)
    other = ctx.add_user("analyst")
    _, theirs = sign_in(ctx.client, other.email)
    fresh = "reset by the office " + uniq()
    r = ctx.client.patch(f"/v1/users/{user.sub}", json={"password": fresh},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    assert_refused(refresh(ctx.client, first))
    assert_refused(refresh(ctx.client, second))
    assert ctx.db.count("refresh_tokens", f"user_id = {sql_str(user.sub)} AND "
                                          "revoked_at IS NULL") == 0
    sign_in(ctx.client, user.email, fresh)
    expect_ok(refresh(ctx.client, theirs))


def test_an_admin_change_of_anything_but_the_password_keeps_the_sessions(ctx, user):
    _, token = sign_in(ctx.client, user.email)
    r = ctx.client.patch(f"/v1/users/{user.sub}", json={"role": "admin"},
                         headers=ctx.admin.headers)
    assert r.status_code == 200, r.text
    expect_ok(refresh(ctx.client, token))
