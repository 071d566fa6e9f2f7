"""Each record's JSON kept beside it (migrations/0006_documents.sql, src/documents.c): written
in the writer's transaction, always equal to what the record's row makes now, and what a read of
a whole record answers; a projection or an include builds its own."""
import json

from support.bodies import (make_charter, make_monitoring_record, make_organization,
                            make_partnership, make_signatory)
from support.principals import bearer

TABLES = ["organizations", "ministries", "partnership_types", "partnerships", "charters",
          "charter_signatories", "monitoring_records"]


def _missing(db, table):
    return int(db.value(f"SELECT count(*) FROM {table} a LEFT JOIN {table}_documents d "
                        f"ON d.id = a.id WHERE d.id IS NULL"))


def _stale(db, table):
    """Records whose document differs from the one its row makes now (computed and rolled back)."""
    out = db.lines(f"""
        BEGIN;
        CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT * FROM {table}_documents;
        DO $$ BEGIN PERFORM sharaka_document_refresh_{table}(id) FROM {table}; END $$;
        SELECT count(*) FROM kept k JOIN {table}_documents d USING (id)
         WHERE k.public IS DISTINCT FROM d.public OR k.internal IS DISTINCT FROM d.internal;
        ROLLBACK""")
    return int(out[-1])


def test_every_record_has_its_document_and_it_is_current_after_writes(ctx):
    t = ctx.admin_token
    http = ctx.client
    org = make_organization(http, t)
    r = http.patch(f"/v1/organizations/{org['id']}", json={"description": "changed"},
                   headers=bearer(t))
    assert r.status_code == 200, r.text
    other = make_organization(http, t)
    p = make_partnership(http, t, organizations=[{"organization_id": org["id"], "role": "lead"}])
    r = http.patch(f"/v1/partnerships/{p['id']}",
                   json={"organizations": [{"organization_id": other["id"], "role": "funder"},
                                           {"organization_id": org["id"], "role": "lead"}]},
                   headers=bearer(t))
    assert r.status_code == 200, r.text
    charter = make_charter(http, t)
    make_signatory(http, t, charter["id"], party_id=org["id"])
    make_monitoring_record(http, t)
    assert http.delete(f"/v1/organizations/{other['id']}",
                       headers=bearer(t)).status_code in (204, 409)
    for table in TABLES:
        assert _missing(ctx.db, table) == 0, table
        assert _stale(ctx.db, table) == 0, table


def test_a_whole_read_answers_the_document_the_caller_may_see(ctx):
    t = ctx.admin_token
    org = make_organization(ctx.client, t)
    stored = ctx.db.rows(f"SELECT public, internal FROM organizations_documents "
                         f"WHERE id = '{org['id']}'")
    public, internal = (json.loads(x) for x in stored[0])
    anonymous = ctx.client.get(f"/v1/organizations/{org['id']}")
    assert anonymous.status_code == 200 and anonymous.json() == public
    admin = ctx.client.get(f"/v1/organizations/{org['id']}", headers=bearer(t))
    assert admin.status_code == 200 and admin.json() == internal


def test_a_projection_is_built_for_what_it_selects(ctx):
    org = make_organization(ctx.client, ctx.admin_token)
    r = ctx.client.get(f"/v1/organizations/{org['id']}", params={"fields": "id,name"})
    assert r.status_code == 200 and set(r.json()) == {"id", "name"}, r.text


def test_a_partnerships_document_follows_its_parties(ctx):
    t = ctx.admin_token
    a, b = make_organization(ctx.client, t), make_organization(ctx.client, t)
    p = make_partnership(ctx.client, t, organizations=[{"organization_id": a["id"],
                                                         "role": "lead"}])
    r = ctx.client.patch(f"/v1/partnerships/{p['id']}",
                         json={"organizations": [{"organization_id": b["id"],
                                                  "role": "partner"}]},
                         headers=bearer(t))
    assert r.status_code == 200, r.text
    got = ctx.client.get(f"/v1/partnerships/{p['id']}").json()
    assert got["organizations"] == [{"organization_id": b["id"], "role": "partner"}]
    stored = json.loads(ctx.db.value(f"SELECT public FROM partnerships_documents "
                                     f"WHERE id = '{p['id']}'"))
    assert stored == got
