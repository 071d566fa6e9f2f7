"""Object-level access: an editor writes only its own organization or public body and the
partnerships, monitoring records and signatures of its own party; it cannot move a record out of
its scope; only an editor of the partnership's ministry (or an admin) verifies a monitoring
record. Every refusal is a 403 that leaves the database as it was."""

import pytest

from support.bodies import (charter_body, create, monitoring_body, partnership_body, signature_body,
                            World)
from support.checks import assert_problem, uniq

# Every table a refused write could touch.
TABLES = ("organizations", "ministries", "partnerships", "partnership_organizations",
          "monitoring_records", "charters", "charter_signatories", "audit_log", "changes")


@pytest.fixture(scope="module")
def ctx(ctx):
    admin, partner = ctx.add_user("admin"), ctx.add_partner("annd")
    w = World(ctx.client, admin, partner)
    return ctx.extend(admin=admin, w=w,
                      ed_a=ctx.add_user("editor", org=w.A["id"], name="editor of A"),
                      ed_m=ctx.add_user("editor", ministry=w.M["id"], name="editor of M"))


def state(ctx, *rows):
    """Row counts of every table, and the given (table, id) rows in full."""
    counts = ctx.db.value("SELECT json_build_array(" + ", ".join(
        f"(SELECT count(*) FROM {t})" for t in TABLES) + ")")
    return counts, [ctx.db.row(t, i) for t, i in rows]


def refused(ctx, who, method, path, body, *rows):
    """The request is a 403 problem and nothing changed."""
    before = state(ctx, *rows)
    r = ctx.client.request(method, path, json=body, headers=who.headers)
    assert_problem(r, 403, instance=path)
    assert state(ctx, *rows) == before, f"{method} {path} was refused but changed something"
    return r


def allowed(ctx, who, method, path, body, status=200):
    audits = ctx.db.audit_count()
    r = ctx.client.request(method, path, json=body, headers=who.headers)
    assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
    assert ctx.db.audit_count() == audits + 1
    return r.json()


def parties(ctx, partnership_id):
    return ctx.db.lines("SELECT organization_id || ' ' || role FROM partnership_organizations "
                          f"WHERE partnership_id = '{partnership_id}' ORDER BY position")


# ---------------------------------------------------------------- organizations and ministries


def test_editor_updates_its_own_organization(ctx):
    body = allowed(ctx, ctx.ed_a, "PATCH", f"/v1/organizations/{ctx.w.A['id']}",
                   {"description": "updated by its own editor"})
    assert body["description"] == "updated by its own editor"
    assert body["source"] == "sharaka"


def test_editor_may_not_update_another_organization(ctx):
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/organizations/{ctx.w.B['id']}",
            {"description": "not mine"}, ("organizations", ctx.w.B["id"]))


def test_editor_of_a_ministry_updates_only_that_ministry(ctx):
    allowed(ctx, ctx.ed_m, "PATCH", f"/v1/ministries/{ctx.w.M['id']}", {"acronym": "MM"})
    refused(ctx, ctx.ed_m, "PATCH", f"/v1/ministries/{ctx.w.N['id']}", {"acronym": "NN"},
            ("ministries", ctx.w.N["id"]))
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/ministries/{ctx.w.M['id']}", {"acronym": "AA"},
            ("ministries", ctx.w.M["id"]))


def test_editor_may_not_delete_even_its_own_organization(ctx):
    refused(ctx, ctx.ed_a, "DELETE", f"/v1/organizations/{ctx.w.A['id']}", None,
            ("organizations", ctx.w.A["id"]))


def test_editor_may_not_create_organizations(ctx):
    refused(ctx, ctx.ed_a, "POST", "/v1/organizations",
            {"name": "Another " + uniq(), "kind": "association"})


# ---------------------------------------------------------------- partnerships


def test_editor_updates_a_partnership_its_organization_takes_part_in(ctx):
    body = allowed(ctx, ctx.ed_a, "PATCH", f"/v1/partnerships/{ctx.w.P_A['id']}",
                   {"description": "reported by a party"})
    assert body["description"] == "reported by a party"


def test_editor_may_not_update_a_partnership_it_is_not_party_to(ctx):
    for p in (ctx.w.P_other, ctx.w.P_M, ctx.w.P_partner):
        refused(ctx, ctx.ed_a, "PATCH", f"/v1/partnerships/{p['id']}", {"description": "x"},
                ("partnerships", p["id"]))


def test_ministry_editor_updates_its_ministrys_partnerships_only(ctx):
    allowed(ctx, ctx.ed_m, "PATCH", f"/v1/partnerships/{ctx.w.P_M['id']}", {"status": "active"})
    refused(ctx, ctx.ed_m, "PATCH", f"/v1/partnerships/{ctx.w.P_A['id']}", {"status": "active"},
            ("partnerships", ctx.w.P_A["id"]))


def test_editor_may_not_move_a_partnership_out_of_its_scope(ctx):
    w = ctx.w
    p = w.partnership(w.N, [w.A, w.B])
    before = parties(ctx, p["id"])
    # Dropping its own organization from the parties.
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/partnerships/{p['id']}",
            {"organizations": [{"organization_id": w.B["id"], "role": "lead"}]},
            ("partnerships", p["id"]))
    assert parties(ctx, p["id"]) == before
    # The ministry editor handing its partnership to another ministry.
    q = w.partnership(w.M, [w.B])
    refused(ctx, ctx.ed_m, "PATCH", f"/v1/partnerships/{q['id']}", {"ministry_id": w.N["id"]},
            ("partnerships", q["id"]))
    # Still free to change the parties while staying one of them (its audit row is checked in
    # test_audit.py).
    r = ctx.client.patch(f"/v1/partnerships/{p['id']}", headers=ctx.ed_a.headers,
                         json={"organizations": [{"organization_id": w.A["id"], "role": "lead"}]})
    assert r.status_code == 200, r.text
    assert parties(ctx, p["id"]) == [f"{w.A['id']} lead"]


def test_editor_creates_partnerships_only_with_its_own_party_in_them(ctx):
    w = ctx.w
    allowed(ctx, ctx.ed_a, "POST", "/v1/partnerships",
            partnership_body(w.T["id"], w.N["id"], [w.B["id"], w.A["id"]]), 201)
    refused(ctx, ctx.ed_a, "POST", "/v1/partnerships",
            partnership_body(w.T["id"], w.N["id"], [w.B["id"]]))
    allowed(ctx, ctx.ed_m, "POST", "/v1/partnerships",
            partnership_body(w.T["id"], w.M["id"], [w.B["id"]]), 201)
    refused(ctx, ctx.ed_m, "POST", "/v1/partnerships",
            partnership_body(w.T["id"], w.N["id"], [w.B["id"]]))


# ---------------------------------------------------------------- monitoring records


def test_editor_reports_on_its_partnerships_only(ctx):
    w = ctx.w
    body = allowed(ctx, ctx.ed_a, "POST", "/v1/monitoring-records", monitoring_body(w.P_A["id"]),
                   201)
    assert body["partnership_id"] == w.P_A["id"]
    refused(ctx, ctx.ed_a, "POST", "/v1/monitoring-records", monitoring_body(w.P_other["id"]))
    refused(ctx, ctx.ed_a, "POST", "/v1/monitoring-records", monitoring_body(w.P_M["id"]))
    allowed(ctx, ctx.ed_a, "PATCH", f"/v1/monitoring-records/{w.mr_A['id']}",
            {"findings": "on track so far"})
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/monitoring-records/{w.mr_other['id']}",
            {"findings": "x"}, ("monitoring_records", w.mr_other["id"]))


def test_editor_may_not_move_a_monitoring_record_to_another_partnership(ctx):
    mr = ctx.w.monitoring(ctx.w.P_A)
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/monitoring-records/{mr['id']}",
            {"partnership_id": ctx.w.P_other["id"]}, ("monitoring_records", mr["id"]))


def test_party_editor_may_not_verify_but_the_ministry_editor_may(ctx):
    w = ctx.w
    # A's editor takes part in P(N; A) but is not its ministry: no verification.
    mr = w.monitoring(w.P_A, status="submitted")
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/monitoring-records/{mr['id']}",
            {"status": "verified"}, ("monitoring_records", mr["id"]))
    refused(ctx, ctx.ed_a, "POST", "/v1/monitoring-records",
            monitoring_body(w.P_A["id"], status="verified"))
    # M's editor verifies the records of M's partnerships.
    mr_m = w.monitoring(w.P_M, status="submitted")
    body = allowed(ctx, ctx.ed_m, "PATCH", f"/v1/monitoring-records/{mr_m['id']}",
                   {"status": "verified"})
    assert body["status"] == "verified" and body["verified_by"] == ctx.ed_m.sub, body
    assert body["verified_at"], body
    # ... and not those of another ministry's partnership.
    mr_n = w.monitoring(w.P_other, status="submitted")
    refused(ctx, ctx.ed_m, "PATCH", f"/v1/monitoring-records/{mr_n['id']}",
            {"status": "verified"}, ("monitoring_records", mr_n["id"]))
    # An admin verifies any.
    body = allowed(ctx, ctx.admin, "PATCH", f"/v1/monitoring-records/{mr_n['id']}",
                   {"status": "verified"})
    assert body["verified_by"] == ctx.admin.sub


def test_a_verified_record_is_changed_only_by_a_verifier(ctx):
    w = ctx.w
    mr = w.monitoring(w.P_M, status="verified")
    # B's editor would be a party of P(M; B), but not its verifier.
    ed_b = ctx.add_user("editor", org=w.B["id"])
    for patch in ({"findings": "rewritten after verification"}, {"status": "submitted"}):
        refused(ctx, ed_b, "PATCH", f"/v1/monitoring-records/{mr['id']}", patch,
                ("monitoring_records", mr["id"]))
    body = allowed(ctx, ctx.ed_m, "PATCH", f"/v1/monitoring-records/{mr['id']}",
                   {"status": "submitted"})
    assert body["verified_by"] is None and body["verified_at"] is None, body


def test_partner_may_not_verify_its_own_records(ctx):
    mr = ctx.w.monitoring(ctx.w.P_other, by=ctx.w.partner)
    refused(ctx, ctx.w.partner, "PATCH", f"/v1/monitoring-records/{mr['id']}",
            {"status": "verified"}, ("monitoring_records", mr["id"]))


# ---------------------------------------------------------------- signatures


def test_editor_signs_a_charter_for_its_own_party_only(ctx):
    w = ctx.w
    charter = create(ctx.client, ctx.admin.token, "/v1/charters", charter_body())
    path = f"/v1/charters/{charter['id']}/signatories"
    sig = allowed(ctx, ctx.ed_a, "POST", path, signature_body("organization", w.A["id"],
                                                              signed_by="Its president"), 201)
    assert sig["party_id"] == w.A["id"] and sig["charter_id"] == charter["id"], sig
    refused(ctx, ctx.ed_a, "POST", path, signature_body("organization", w.B["id"]))
    refused(ctx, ctx.ed_a, "POST", path, signature_body("ministry", w.M["id"]))
    # Confusing the party type does not help: A's id named as a ministry is not A's party.
    r = ctx.client.post(path, json=signature_body("ministry", w.A["id"]), headers=ctx.ed_a.headers)
    assert r.status_code in (403, 422), r.text
    allowed(ctx, ctx.ed_m, "POST", path, signature_body("ministry", w.M["id"]), 201)
    refused(ctx, ctx.ed_m, "POST", path, signature_body("ministry", w.N["id"]))


def test_editor_withdraws_only_its_own_signature(ctx):
    w = ctx.w
    base = f"/v1/charters/{w.C['id']}/signatories"
    allowed(ctx, ctx.ed_a, "PATCH", f"{base}/{w.sig['A']['id']}", {"signed_by": "Its secretary"})
    refused(ctx, ctx.ed_a, "PATCH", f"{base}/{w.sig['B']['id']}", {"withdrawn_on": "2024-12-31"},
            ("charter_signatories", w.sig["B"]["id"]))
    refused(ctx, ctx.ed_m, "PATCH", f"{base}/{w.sig['N']['id']}", {"withdrawn_on": "2024-12-31"},
            ("charter_signatories", w.sig["N"]["id"]))
    allowed(ctx, ctx.ed_m, "PATCH", f"{base}/{w.sig['M']['id']}", {"signed_by": "Its minister"})


def test_editor_may_not_write_charters(ctx):
    refused(ctx, ctx.ed_a, "POST", "/v1/charters", charter_body())
    refused(ctx, ctx.ed_a, "PATCH", f"/v1/charters/{ctx.w.C['id']}", {"summary": "x"},
            ("charters", ctx.w.C["id"]))
