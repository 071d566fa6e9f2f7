"""domain_helpers.py - records of the partnership domain for the HTTP tests.

Factories that create organizations, public bodies, partnership types, partnerships, charters,
signatories and monitoring records through the API (and check the 201), and helpers that read
what the database holds afterwards through the `pg` fixture's psql.
"""

import json
import re
import uuid
from checks import ADMIN_TABLES, DOMAIN_TABLES, bearer, sql_str, uniq  # noqa: F401

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ARABIC_RE = re.compile(r"[\u0600-\u06FF]")

# Every table a write of the domain may touch: the records, the parties of partnerships, the
# audit log and the change feed. A rejected request must leave all of them as they were.
DOMAIN_TABLES = ("organizations", "ministries", "partnership_types", "partnerships",
                 "partnership_organizations", "charters", "charter_signatories",
                 "monitoring_records", "audit_log", "changes")

TABLES = DOMAIN_TABLES


def describe(r):
    return f"{r.status_code} {dict(r.headers)} {r.text[:1500]}"


# ---------------------------------------------------------------- the database
#
# Each psql call costs a process start, so the helpers below build SQL expressions that db_json()
# evaluates together in one query.


def row_sql(table, record_id):
    """SQL: the row as JSON (without the search vector), or null."""
    return (f"(SELECT row_to_json(t)::jsonb - 'search' FROM {table} t "
            f"WHERE id = {sql_str(record_id)}::uuid)")


def count_sql(table, where="true"):
    return f"(SELECT count(*) FROM {table} WHERE {where})"


def digest_sql(tables=DOMAIN_TABLES):
    """SQL: {table: [rows, md5 of every row]}; equal before and after means nothing was written."""
    parts = ", ".join(
        f"{sql_str(t)}, (SELECT json_build_array(count(*), md5(coalesce(string_agg(x::text, '|' "
        f"ORDER BY x::text), ''))) FROM {t} x)" for t in tables)
    return f"json_build_object({parts})"


def parties_sql(partnership_id):
    """SQL: [[organization_id, role, position]] of a partnership, in order."""
    return ("(SELECT coalesce(json_agg(json_build_array(organization_id, role, position) "
            "ORDER BY position), '[]') FROM partnership_organizations "
            f"WHERE partnership_id = {sql_str(partnership_id)}::uuid)")


def db_json(pg, **exprs):
    """{name: value} of SQL expressions, evaluated in one query."""
    parts = ", ".join(f"{sql_str(k)}, {v}" for k, v in exprs.items())
    return json.loads(pg.psql(f"SELECT json_build_object({parts})").strip())


def db_record(pg, table, record_id):
    """The row as a dict (without the search vector), or None."""
    return db_json(pg, row=row_sql(table, record_id))["row"]


def db_value(pg, sql):
    return pg.psql(sql).strip()


def db_count(pg, table, where="true"):
    return int(db_value(pg, f"SELECT count(*) FROM {table} WHERE {where}"))


def db_digest(pg):
    return db_json(pg, d=digest_sql())["d"]


def db_state(pg, table, record_id):
    """(the row, the digest of every domain table), in one query."""
    got = db_json(pg, row=row_sql(table, record_id), digest=digest_sql())
    return got["row"], got["digest"]


def db_parties(pg, partnership_id):
    """[(organization_id, role, position)] of a partnership, in order."""
    return [tuple(x) for x in db_json(pg, p=parties_sql(partnership_id))["p"]]


# ---------------------------------------------------------------- the API


def create(http, token, path, body, expect=201):
    r = http.post(path, json=body, headers=bearer(token))
    assert r.status_code == expect, f"POST {path} {body}: {describe(r)}"
    return r.json()


def organization_body(**over):
    body = {"name": "Organization " + uniq(), "kind": "association"}
    body.update(over)
    return body


def ministry_body(**over):
    body = {"name": "Public body " + uniq(), "kind": "ministry"}
    body.update(over)
    return body


def partnership_type_body(**over):
    code = uniq("type-")
    body = {"code": code, "name": "Type " + code}
    body.update(over)
    return body


def charter_body(**over):
    body = {"kind": "partnership", "title": "Charter " + uniq()}
    body.update(over)
    return body


def make_organization(http, token, **over):
    return create(http, token, "/v1/organizations", organization_body(**over))


def make_ministry(http, token, **over):
    return create(http, token, "/v1/ministries", ministry_body(**over))


def make_partnership_type(http, token, **over):
    return create(http, token, "/v1/partnership-types", partnership_type_body(**over))


def partnership_body(http, token, organizations=None, **over):
    """A valid partnership body; makes a public body, a type and an organization unless given."""
    if "ministry_id" not in over:
        over["ministry_id"] = make_ministry(http, token)["id"]
    if "type_id" not in over:
        over["type_id"] = make_partnership_type(http, token)["id"]
    if organizations is None:
        organizations = [{"organization_id": make_organization(http, token)["id"],
                          "role": "lead"}]
    body = {"title": "Partnership " + uniq(), "organizations": organizations}
    body.update(over)
    return body


def make_partnership(http, token, organizations=None, **over):
    return create(http, token, "/v1/partnerships",
                  partnership_body(http, token, organizations, **over))


def make_charter(http, token, **over):
    return create(http, token, "/v1/charters", charter_body(**over))


def make_signatory(http, token, charter_id, party_type="organization", party_id=None, **over):
    if party_id is None:
        party_id = (make_organization(http, token) if party_type == "organization"
                    else make_ministry(http, token))["id"]
    body = {"party_type": party_type, "party_id": party_id, "signed_on": "2024-03-01"}
    body.update(over)
    return create(http, token, f"/v1/charters/{charter_id}/signatories", body)


def monitoring_record_body(http, token, **over):
    if "partnership_id" not in over:
        over["partnership_id"] = make_partnership(http, token)["id"]
    body = {"period_start": "2024-01-01", "period_end": "2024-03-31",
            "indicator": "Indicator " + uniq()}
    body.update(over)
    return body


def make_monitoring_record(http, token, **over):
    return create(http, token, "/v1/monitoring-records",
                  monitoring_record_body(http, token, **over))


def list_all(http, path, params=None, headers=None, limit=200, max_pages=50):
    """Every record of a list, following next_cursor (bounded); returns the records."""
    params = dict(params or {})
    params["limit"] = str(limit)
    out = []
    for _ in range(max_pages):
        r = http.get(path, params=params, headers=headers)
        assert r.status_code == 200, describe(r)
        page = r.json()
        out.extend(page["data"])
        if page["next_cursor"] is None:
            return out
        params["cursor"] = page["next_cursor"]
    raise AssertionError(f"{path} {params}: more than {max_pages} pages")


def error_entries(problem):
    """{field: code} of a 422 problem's errors[]."""
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, f"no errors[] in {problem}"
    out = {}
    for e in errors:
        assert set(e) == {"field", "code", "message"}, e
        assert e["message"], e
        out[e["field"]] = e["code"]
    return out
