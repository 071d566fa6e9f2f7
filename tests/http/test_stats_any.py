"""GET /v1/stats/{resource}: any grouping, count, sum, avg, min and max of any resource, checked
against sums this test computes itself; names beside ids; amounts per currency, as columns in
CSV."""

import csv
import io
from decimal import Decimal

import pytest

from support.bodies import (create, full_monitoring_body, full_partnership_body,
                            make_organization)
from support.checks import assert_problem, describe, uniq
from support.principals import bearer


@pytest.fixture(scope="module")
def world(ctx):
    """Partnerships and monitoring records that one programme marker selects."""
    c, t = ctx.client, ctx.admin.token
    programme = uniq("st")
    rows = [("active", "USD", "1000.00", ["beirut", "akkar"]),
            ("active", "LBP", "5000000.00", ["beirut"]),
            ("active", "USD", "250.50", []),
            ("planned", "USD", "99.50", ["north"]),
            ("planned", None, None, ["akkar"])]
    made = []
    for status, currency, amount, govs in rows:
        body = full_partnership_body(c, t)
        body.update(programme=programme, status=status, governorates=govs,
                    start_date="2024-03-01" if status == "active" else "2025-07-15")
        body.pop("amount", None)
        body.pop("currency", None)
        if amount is not None:
            body.update(amount=amount, currency=currency)
        made.append(create(c, t, "/v1/partnerships", body))
    return ctx.extend(programme=programme, parts=made)


def stats(ctx, path, **params):
    r = ctx.client.get(path, params=params, headers=bearer(ctx.admin.token))
    assert r.status_code == 200, describe(r)
    return r


def test_count_and_amounts_per_currency_by_status(ctx, world):
    body = stats(ctx, "/v1/stats/partnerships", group_by="status", sum="amount", avg="amount",
                 max="amount", programme=world.programme).json()
    assert body["group_by"] == ["status"]
    by = {row["status"]: row for row in body["data"]}
    assert by["active"]["count"] == 3 and by["planned"]["count"] == 2
    assert by["active"]["sum_amount"] == {"USD": "1250.50", "LBP": "5000000.00"}
    assert Decimal(by["active"]["avg_amount"]["USD"]) == Decimal("625.25")
    assert by["planned"]["sum_amount"] == {"USD": "99.50"}
    assert by["active"]["max_amount"] == {"USD": "1000.00", "LBP": "5000000.00"}


def test_references_come_with_their_names_and_sums_match_the_database(ctx, world):
    body = stats(ctx, "/v1/stats/partnerships", group_by="ministry_id", sum="amount",
                 programme=world.programme).json()
    rows = ctx.db.rows(
        "SELECT m.id, m.name, count(*), p.currency, sum(p.amount) FROM partnerships p "
        f"JOIN ministries m ON m.id = p.ministry_id WHERE p.programme = '{world.programme}' "
        "AND p.deleted_at IS NULL GROUP BY m.id, m.name, p.currency")
    expected = {}
    for mid, name, n, cur, total in rows:
        e = expected.setdefault(mid, {"name": name, "count": 0, "sum": {}})
        e["count"] += int(n)
        if cur:
            e["sum"][cur] = total
    got = {row["ministry_id"]: row for row in body["data"]}
    assert set(got) == set(expected)
    for mid, e in expected.items():
        assert got[mid]["ministry_name"] == e["name"]
        assert got[mid]["count"] == e["count"]
        assert got[mid]["sum_amount"] == e["sum"]


def test_two_keys_a_year_and_an_array_field(ctx, world):
    body = stats(ctx, "/v1/stats/partnerships", group_by="start_date:year,governorates",
                 programme=world.programme).json()
    got = {(r["start_date_year"], r["governorates"]): r["count"] for r in body["data"]}
    assert got == {(2024, "akkar"): 1, (2024, "beirut"): 2, (2024, None): 1,
                   (2025, "akkar"): 1, (2025, "north"): 1}
    month = stats(ctx, "/v1/stats/partnerships", group_by="start_date:month",
                  programme=world.programme).json()
    assert {r["start_date_month"]: r["count"] for r in month["data"]} == {"2024-03": 3,
                                                                          "2025-07": 2}


def test_csv_has_a_column_per_currency(ctx, world):
    r = stats(ctx, "/v1/stats/partnerships", group_by="status", sum="amount", format="csv",
              programme=world.programme)
    assert r.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == ["status", "count", "sum_amount_LBP", "sum_amount_USD"]
    assert table[1:] == [["active", "3", "5000000.00", "1250.50"], ["planned", "2", "", "99.50"]]


def test_every_resource_has_statistics(ctx, world):
    org = make_organization(ctx.client, ctx.admin.token, kind="union", governorate="south")
    body = stats(ctx, "/v1/stats/organizations", group_by="kind", id=org["id"]).json()
    assert body["data"] == [{"kind": "union", "count": 1}]
    mon = full_monitoring_body(ctx.client, ctx.admin.token)
    mon.update(baseline=10, target=30, actual=25)
    rec = create(ctx.client, ctx.admin.token, "/v1/monitoring-records", mon)
    body = stats(ctx, "/v1/stats/monitoring-records", group_by="partnership_id",
                 sum="target,actual", min="baseline", id=rec["id"]).json()
    row = body["data"][0]
    assert row["partnership_id"] == rec["partnership_id"] and row["count"] == 1
    assert Decimal(row["sum_target"]) == 30 and Decimal(row["sum_actual"]) == 25
    assert Decimal(row["min_baseline"]) == 10 and row["partnership_name"]
    body = stats(ctx, "/v1/stats/organizations", group_by="governorate,kind",
                 id=org["id"]).json()
    assert body["data"] == [{"governorate": "south", "kind": "union", "count": 1}]


def test_the_old_endpoints_keep_their_answers(ctx, world):
    body = stats(ctx, "/v1/stats/partnerships", group_by="status",
                 programme=world.programme).json()
    assert body["group_by"] == ["status"] and "amounts" in body["data"][0]


# described: whether the spec's patterns admit the request (its filters are free-form there)
@pytest.mark.parametrize("path,params,status,described", [
    ("/v1/stats/organizations", {}, 400, False),                       # group_by is required
    ("/v1/stats/organizations", {"group_by": "name"}, 400, True),      # not groupable
    ("/v1/stats/organizations", {"group_by": "founded_on:week"}, 400, False),
    ("/v1/stats/organizations", {"group_by": "kind", "sum": "kind"}, 400, True),
    ("/v1/stats/organizations", {"group_by": "kind,status,governorate"}, 400, False),
    ("/v1/stats/organizations", {"group_by": "kind", "limit": "5"}, 400, True),
    ("/v1/stats/organizations", {"group_by": "kind", "colour": "red"}, 400, True),
    ("/v1/stats/unicorns", {"group_by": "kind"}, 404, True),
])
def test_a_bad_statistic_is_refused_naming_what_is_allowed(ctx, path, params, status, described):
    r = ctx.client.get(path, params=params, headers=bearer(ctx.admin.token),
                       invalid=not described)
    p = assert_problem(r, status)
    if status == 400 and "group_by" in params and "sum" not in params and len(params) == 1:
        assert "kind" in p["detail"] and "founded_on:year" in p["detail"], p


def test_statistics_need_a_sign_in(ctx):
    r = ctx.client.get("/v1/stats/organizations", params={"group_by": "kind"})
    assert_problem(r, 401)


def test_csv_cells_that_look_like_formulas_are_defused(ctx, world):
    c, t = ctx.client, ctx.admin.token
    org = make_organization(c, t, name="=HYPERLINK(\"http://x\")")
    body = full_partnership_body(c, t)
    body.update(programme=uniq("fx"), organizations=[{"organization_id": org["id"],
                                                       "role": "lead"}])
    create(c, t, "/v1/partnerships", body)
    r = stats(ctx, "/v1/stats/partnerships", group_by="organization_id", format="csv",
              programme=body["programme"])
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == ["organization_id", "organization_name", "count"]
    assert table[1] == [org["id"], "'=HYPERLINK(\"http://x\")", "1"]


def test_statistics_as_a_spreadsheet(ctx, world):
    import openpyxl
    r = stats(ctx, "/v1/stats/partnerships", group_by="status,start_date:year", sum="amount",
              format="xlsx", lang="ar", programme=world.programme)
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert ws.sheet_view.rightToLeft is True
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("status", "start_date_year", "count", "sum_amount_LBP", "sum_amount_USD")
    assert rows[1:] == [("active", 2024, 3, 5000000, 1250.5), ("planned", 2025, 2, None, 99.5)]
