"""Unknown paths and wrong methods answer with problems."""

import pytest

from support.checks import assert_problem, header_list


@pytest.mark.parametrize("path", ["/nope", "/v1", "/v1/auth/token/extra", "/healthz/", "/v1/auth/mee"])
def test_unknown_path_is_404_problem_with_every_field(http, path):
    r = http.get(path, invalid=True)
    assert_problem(r, 404, instance=path)


def test_unknown_path_problem_instance_has_no_query_string(http):
    r = http.get("/nope", params={"a": "b"}, invalid=True)
    assert_problem(r, 404, instance="/nope")


@pytest.mark.parametrize(
    "method,path,allowed",
    [
        ("POST", "/healthz", {"GET", "HEAD"}),
        ("DELETE", "/readyz", {"GET", "HEAD"}),
        ("PUT", "/openapi.json", {"GET", "HEAD"}),
        ("GET", "/v1/auth/token", {"POST"}),
        ("DELETE", "/v1/auth/me", {"GET", "HEAD"}),
    ],
)
def test_wrong_method_is_405_problem_with_allow_header(http, method, path, allowed):
    r = http.request(method, path, invalid=True)
    assert_problem(r, 405, instance=path)
    allow = header_list(r.headers.get("Allow"))
    assert allowed <= allow, f"Allow: {r.headers.get('Allow')!r}"
    assert method not in allow
    assert allow <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
