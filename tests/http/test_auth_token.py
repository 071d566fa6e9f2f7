"""POST /v1/auth/token: email and password in, an HS256 access token out."""

import json
import re
import time
import uuid

import pytest

from support.checks import UUID_RE, assert_problem, error_fields
from support.principals import decode_unverified

TOKEN = "/v1/auth/token"


def _post_json_text(http, text, content_type="application/json", invalid=False):
    return http.post(TOKEN, data=text.encode("utf-8"), headers={"Content-Type": content_type},
                     invalid=invalid)


def test_correct_password_gives_hs256_token_valid_for_900_seconds(http, admin_user, db):
    before = int(time.time())
    r = http.post(TOKEN, json={"email": admin_user["email"], "password": admin_user["password"]})
    after = int(time.time())
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900

    header, claims = decode_unverified(body["access_token"])
    assert header["alg"] == "HS256"
    assert UUID_RE.match(claims["sub"]), claims
    user_id = db.text(f"SELECT id FROM users WHERE email = '{admin_user['email']}'").strip()
    assert claims["sub"] == user_id
    assert claims["role"] == "admin"
    assert before - 1 <= claims["iat"] <= after + 1
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iss"] == "sharaka"
    assert claims["aud"] == "sharaka" or claims["aud"] == ["sharaka"]
    assert "org" not in claims and "ministry" not in claims, claims


def test_token_answer_is_not_cacheable(http, admin_user):
    r = http.post(TOKEN, json={"email": admin_user["email"], "password": admin_user["password"]})
    assert r.status_code == 200
    assert "no-store" in (r.headers.get("Cache-Control") or ""), r.headers


def test_email_is_matched_without_regard_to_letter_case(http, admin_user):
    r = http.post(TOKEN, json={"email": admin_user["email"].upper(),
                               "password": admin_user["password"]})
    assert r.status_code == 200, r.text


def test_content_type_with_charset_is_accepted(http, admin_user):
    r = _post_json_text(http, json.dumps({"email": admin_user["email"],
                                          "password": admin_user["password"]}),
                        content_type="application/json; charset=utf-8")
    assert r.status_code == 200, r.text


def test_wrong_password_is_401_with_www_authenticate(http, admin_user):
    r = http.post(TOKEN, json={"email": admin_user["email"], "password": "wrong password"})
    assert_problem(r, 401, instance=TOKEN)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert "access_token" not in r.text


def test_unknown_email_is_401_indistinguishable_from_wrong_password(http, admin_user):
    wrong_pw = http.post(TOKEN, json={"email": admin_user["email"], "password": "nope nope"})
    unknown = http.post(TOKEN, json={"email": "nobody@test.example", "password": "nope nope"})
    p1 = assert_problem(wrong_pw, 401, instance=TOKEN)
    p2 = assert_problem(unknown, 401, instance=TOKEN)
    assert unknown.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert set(p1) == set(p2)
    for key in ("type", "title", "status", "detail"):
        assert p1[key] == p2[key], key


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", None])
def test_body_that_is_not_application_json_is_415(http, content_type, admin_user):
    headers = {"Content-Type": content_type} if content_type else {}
    r = http.post(TOKEN, data=json.dumps({"email": admin_user["email"],
                                          "password": admin_user["password"]}).encode(),
                  headers=headers, invalid=True)
    assert_problem(r, 415, instance=TOKEN)


def test_malformed_json_is_400_with_position_in_detail(http):
    r = _post_json_text(http, '{"email": "a@test.example",\n "password": }', invalid=True)
    p = assert_problem(r, 400, instance=TOKEN)
    assert re.search(r"(line|column|position)\D{0,3}\d+", p["detail"], re.I), p["detail"]


@pytest.mark.parametrize("text", ["", "   ", "[", '{"email": "a@b.c", "password": "x"} trailing',
                                  "\u00ff", '{"email": "a@b.c" "password": "x"}'],
                         ids=["empty", "blank", "open-bracket", "trailing-garbage", "bare-letter",
                              "missing-comma"])
def test_unparsable_bodies_are_400(http, text):
    r = _post_json_text(http, text, invalid=True)
    assert_problem(r, 400, instance=TOKEN)


def test_invalid_utf8_is_400(http):
    r = http.post(TOKEN, data=b'{"email": "a\xff@b.c", "password": "x"}',
                  headers={"Content-Type": "application/json"}, invalid=True)
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code, instance=TOKEN)


def test_duplicate_keys_are_a_parse_error_400(http, admin_user):
    text = ('{"email": "%s", "password": "wrong", "password": "%s"}'
            % (admin_user["email"], admin_user["password"]))
    r = _post_json_text(http, text, invalid=True)
    assert_problem(r, 400, instance=TOKEN)


def test_deeply_nested_body_is_400_not_500(http):
    r = _post_json_text(http, "[" * 5000 + "]" * 5000, invalid=True)
    assert r.status_code in (400, 422), r.status_code
    assert_problem(r, r.status_code, instance=TOKEN)


def test_missing_and_unknown_fields_are_all_listed_in_one_422(http):
    r = http.post(TOKEN, json={"emial": "a@test.example", "extra": 1}, invalid=True)
    p = assert_problem(r, 422, instance=TOKEN)
    fields = error_fields(p)
    assert {"email", "password", "emial", "extra"} <= fields, p["errors"]


def test_ill_typed_fields_are_all_listed_in_one_422(http):
    r = http.post(TOKEN, json={"email": 5, "password": True}, invalid=True)
    p = assert_problem(r, 422, instance=TOKEN)
    assert {"email", "password"} <= error_fields(p), p["errors"]


def test_null_fields_are_422(http):
    r = http.post(TOKEN, json={"email": None, "password": None}, invalid=True)
    p = assert_problem(r, 422, instance=TOKEN)
    assert {"email", "password"} <= error_fields(p), p["errors"]


@pytest.mark.parametrize("body", [[], "text", 42, None], ids=["array", "string", "number", "null"])
def test_body_that_is_not_an_object_is_rejected(http, body):
    r = _post_json_text(http, json.dumps(body), invalid=True)
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code, instance=TOKEN)


def test_rejected_login_does_not_leak_the_password(http, server):
    pw = "leak-" + uuid.uuid4().hex
    r = http.post(TOKEN, json={"email": "someone@test.example", "password": pw})
    assert r.status_code == 401
    assert pw not in r.text
    time.sleep(0.1)
    assert pw not in server.stdout()
    assert pw not in server.stderr()


def test_password_is_stored_as_argon2id_hash(db, admin_user):
    row = db.text(
        "SELECT row_to_json(u) FROM users u WHERE email = '%s'" % admin_user["email"]
    ).strip()
    assert row, "admin user not in users table"
    values = [v for v in json.loads(row).values() if isinstance(v, str)]
    assert any(v.startswith("$argon2id$") for v in values), values
    assert all(admin_user["password"] not in v for v in values)
