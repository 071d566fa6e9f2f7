"""Rate limits: too many login attempts are answered 429 with Retry-After."""

from support.checks import assert_problem

TOKEN = "/v1/auth/token"


def test_login_attempts_past_the_limit_are_429_with_retry_after(start_server, api_for, admin_user):
    api = api_for(start_server(SHARAKA_LOGIN_RATE_LIMIT="3"))
    wrong = {"email": admin_user["email"], "password": "not the password"}
    for _ in range(3):
        assert_problem(api.post(TOKEN, json=wrong), 401, instance=TOKEN)
    r = api.post(TOKEN, json=wrong)
    assert_problem(r, 429, instance=TOKEN)
    retry = r.headers.get("Retry-After", "")
    assert retry.isdigit() and 0 < int(retry) <= 60, r.headers
    # The right password does not get through either while the limit holds.
    right = api.post(TOKEN, json={"email": admin_user["email"],
                                  "password": admin_user["password"]})
    assert_problem(right, 429, instance=TOKEN)
