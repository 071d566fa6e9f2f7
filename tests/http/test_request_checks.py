"""The checked client refuses to send a request the spec does not describe, unless the test says
it is outside the spec on purpose; and a request so marked must be outside it."""

import pytest

from support.bodies import organization_body
from support.principals import bearer
from support.spec import SpecViolation

ORGS = "/v1/organizations"


def test_a_body_the_request_schema_refuses_is_not_sent(ctx):
    before = ctx.db.count("organizations")
    with pytest.raises(SpecViolation, match="kind"):
        ctx.client.post(ORGS, json={"name": "No kind"}, headers=bearer(ctx.admin_token))
    assert ctx.db.count("organizations") == before


def test_an_undocumented_query_parameter_is_not_sent(ctx):
    with pytest.raises(SpecViolation, match="colour"):
        ctx.client.get(ORGS, params={"colour": "red"})


def test_a_query_value_outside_its_schema_is_not_sent(ctx):
    with pytest.raises(SpecViolation, match="limit"):
        ctx.client.get(ORGS, params={"limit": "many"})


def test_an_undocumented_method_or_path_is_not_sent(ctx):
    with pytest.raises(SpecViolation, match="no documented operation"):
        ctx.client.get("/v1/nowhere")
    with pytest.raises(SpecViolation, match="no documented operation"):
        ctx.client.put(ORGS, json={})


def test_a_request_marked_invalid_must_be_outside_the_spec(ctx):
    with pytest.raises(SpecViolation, match="marked deliberately invalid"):
        ctx.client.get(ORGS, params={"limit": "5"}, invalid=True)
    r = ctx.client.get(ORGS, params={"limit": "many"}, invalid=True)
    assert r.status_code == 400, r.text


def test_requests_in_an_invalid_requests_block_are_not_checked(ctx):
    with ctx.client.invalid_requests():
        assert ctx.client.get(ORGS, params={"colour": "red"}).status_code == 400
        assert ctx.client.get(ORGS, params={"limit": "5"}).status_code == 200
    with pytest.raises(SpecViolation):
        ctx.client.get(ORGS, params={"colour": "red"})


def test_a_documented_request_is_sent_and_its_answer_checked(ctx):
    r = ctx.client.post(ORGS, json=organization_body(), headers=bearer(ctx.admin_token))
    assert r.status_code == 201, r.text
