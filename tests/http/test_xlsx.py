"""GET /v1/exports/{resource}.xlsx: a real spreadsheet, read back cell by cell with openpyxl
(Debian's python3-openpyxl): a header row, Arabic intact, numbers as numbers, dates as dates,
booleans as booleans, never a formula, right to left with lang=ar."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest

from support.bodies import create, full_partnership_body, make_organization
from support.checks import assert_problem, describe, uniq
from support.principals import bearer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_of(r):
    assert r.status_code == 200, describe(r)
    assert r.headers["Content-Type"] == XLSX
    assert int(r.headers["Content-Length"]) == len(r.content)
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert len(book.worksheets) == 1
    return book.worksheets[0]


def rows_of(ws):
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    return header, [dict(zip(header, row)) for row in rows[1:]]


@pytest.fixture(scope="module")
def world(ctx):
    c, t = ctx.client, ctx.admin.token
    district = uniq("xl")
    org = make_organization(c, t, name="جمعية الشباب اللبناني", name_en="Lebanese Youth Association",
                            district=district, founded_on="1998-04-12", sectors=["youth", "sport"],
                            external_ids={"LB-MOI": "1234/AD"})
    formula = make_organization(c, t, name="=HYPERLINK(\"http://x\",\"y\")", district=district)
    body = full_partnership_body(c, t)
    body.update(programme=uniq("xp"), amount="1500000.50", currency="LBP",
                start_date="2025-02-01", title="شراكة تجريبية")
    part = create(c, t, "/v1/partnerships", body)
    return ctx.extend(district=district, org=org, formula=formula, part=part,
                      programme=body["programme"])


def test_organizations_come_as_typed_cells(ctx, world):
    r = ctx.client.get("/v1/exports/organizations.xlsx", params={"district": world.district,
                                                                 "sort": "founded_on"})
    ws = sheet_of(r)
    assert ws.title == "organizations"
    assert r.headers["Content-Disposition"] == 'attachment; filename="organizations.xlsx"'
    header, rows = rows_of(ws)
    assert header[0] == "id" and "name" in header and "email" not in header  # anonymous
    assert len(rows) == 2
    first = next(row for row in rows if row["id"] == world.org["id"])
    assert first["name"] == "جمعية الشباب اللبناني"
    assert first["name_en"] == "Lebanese Youth Association"
    assert first["founded_on"] == datetime.datetime(1998, 4, 12)
    assert isinstance(first["version"], (int, float)) and first["version"] == 1
    assert first["sectors"] == "youth, sport"
    assert first["external_ids"] == '{"LB-MOI":"1234/AD"}'
    assert isinstance(first["created_at"], datetime.datetime)
    # a text that looks like a formula stays text: no cell of the sheet is a formula
    other = next(row for row in rows if row["id"] == world.formula["id"])
    assert other["name"] == "=HYPERLINK(\"http://x\",\"y\")"
    cell = next(c for c in ws[3] + ws[2] if c.value == other["name"])
    assert cell.data_type == "s"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_amounts_are_numbers_and_fields_choose_the_columns(ctx, world):
    r = ctx.client.get("/v1/exports/partnerships.xlsx",
                       params={"programme": world.programme,
                               "fields": "title,amount,currency,start_date"},
                       headers=bearer(ctx.admin.token))
    header, rows = rows_of(sheet_of(r))
    assert header == ("id", "title", "amount", "currency", "start_date")
    assert rows == [{"id": world.part["id"], "title": "شراكة تجريبية",
                     "amount": 1500000.5, "currency": "LBP",
                     "start_date": datetime.datetime(2025, 2, 1)}]
    assert Decimal(str(rows[0]["amount"])) == Decimal(world.part["amount"])


def test_lang_ar_reads_right_to_left(ctx, world):
    ws = sheet_of(ctx.client.get("/v1/exports/organizations.xlsx",
                                 params={"district": world.district, "lang": "ar"}))
    assert ws.sheet_view.rightToLeft is True
    ws = sheet_of(ctx.client.get("/v1/exports/organizations.xlsx",
                                 params={"district": world.district, "lang": "en"}))
    assert not ws.sheet_view.rightToLeft


def test_an_empty_result_is_a_header_row(ctx):
    header, rows = rows_of(sheet_of(ctx.client.get("/v1/exports/ministries.xlsx",
                                                   params={"acronym": uniq("none")})))
    assert header[0] == "id" and rows == []


# The filters are free-form in the spec (those of the resource's list): only lang=de is outside it.
@pytest.mark.parametrize("params,status", [
    ({"lang": "de"}, 400), ({"hxl": "true"}, 400), ({"limit": "5"}, 400), ({"colour": "x"}, 400),
])
def test_a_bad_spreadsheet_request_is_refused(ctx, params, status):
    r = ctx.client.get("/v1/exports/organizations.xlsx", params=params,
                       invalid="lang" in params)
    assert_problem(r, status)


def test_lang_is_for_spreadsheets_only(ctx):
    r = ctx.client.get("/v1/exports/organizations.csv", params={"lang": "ar"})
    assert_problem(r, 400)


def test_monitoring_records_need_a_sign_in(ctx):
    assert_problem(ctx.client.get("/v1/exports/monitoring-records.xlsx"), 401)


# ---------------------------------------------------------------- format=xlsx on lists


def test_a_list_page_as_a_workbook_has_typed_cells_and_the_csv_columns(ctx, world):
    params = {"district": world.district, "sort": "founded_on", "format": "xlsx",
              "fields": "id,name,founded_on,sectors"}
    r = ctx.client.get("/v1/organizations", params=params, headers=bearer(ctx.admin.token))
    ws = sheet_of(r)
    assert r.headers["Content-Disposition"] == 'attachment; filename="organizations.xlsx"'
    header, rows = rows_of(ws)
    csv = ctx.client.get("/v1/organizations", params=dict(params, format="csv"),
                         headers=bearer(ctx.admin.token))
    assert list(header) == csv.text.lstrip("\ufeff").splitlines()[0].split(",")
    assert [row["id"] for row in rows] == [world.org["id"], world.formula["id"]]
    assert rows[0]["name"] == "جمعية الشباب اللبناني"
    assert rows[0]["founded_on"] == datetime.datetime(1998, 4, 12)
    assert rows[0]["sectors"] == "youth, sport"
    assert ws.cell(row=3, column=2).data_type == "s"  # a formula stays text
    assert ws.sheet_view.rightToLeft in (None, False)


def test_a_list_workbook_pages_with_link_and_counts_with_x_total_count(ctx, world):
    params = {"district": world.district, "sort": "founded_on", "format": "xlsx", "limit": 1,
              "count": "true"}
    r = ctx.client.get("/v1/organizations", params=params)
    header, rows = rows_of(sheet_of(r))
    assert [row["id"] for row in rows] == [world.org["id"]]
    assert "email" not in header  # anonymous
    assert r.headers["X-Total-Count"] == "2"
    link = r.headers["Link"]
    assert 'rel="next"' in link and "format=xlsx" in link
    nxt = link[link.index("<") + 1:link.index(">")]
    r = ctx.client.get(nxt)
    _, rows = rows_of(sheet_of(r))
    assert [row["id"] for row in rows] == [world.formula["id"]]
    assert "Link" not in r.headers


def test_a_list_workbook_in_arabic_reads_right_to_left_and_keeps_amounts_numbers(ctx, world):
    r = ctx.client.get("/v1/partnerships", params={"programme": world.programme,
                                                   "format": "xlsx", "lang": "ar"})
    ws = sheet_of(r)
    assert ws.sheet_view.rightToLeft is True
    _, rows = rows_of(ws)
    assert len(rows) == 1
    assert rows[0]["title"] == "شراكة تجريبية"
    assert Decimal(str(rows[0]["amount"])) == Decimal("1500000.50")
    assert rows[0]["start_date"] == datetime.datetime(2025, 2, 1)


def test_an_empty_list_is_a_workbook_with_its_header_only(ctx, world):
    r = ctx.client.get("/v1/organizations", params={"district": uniq("none"), "format": "xlsx",
                                                    "fields": "id,name"})
    header, rows = rows_of(sheet_of(r))
    assert list(header) == ["id", "name"] and rows == []


def test_a_list_workbook_refuses_include_and_names_the_formats(ctx, world):
    r = ctx.client.get("/v1/partnerships", params={"format": "xlsx", "include": "ministry"})
    assert "json or ndjson" in assert_problem(r, 400)["detail"]
    r = ctx.client.get("/v1/partnerships", params={"format": "xls"}, invalid=True)
    assert "json, csv, ndjson, xlsx" in assert_problem(r, 400)["detail"]


def test_a_sub_collection_page_comes_as_a_workbook_too(ctx, world):
    c, t = ctx.client, ctx.admin.token
    charter = create(c, t, "/v1/charters", {"kind": "citizen", "title": "Charter " + uniq()})
    create(c, t, f"/v1/charters/{charter['id']}/signatories",
           {"party_type": "organization", "party_id": world.org["id"], "signed_on": "2024-05-02"})
    r = c.get(f"/v1/charters/{charter['id']}/signatories", params={"format": "xlsx",
                                                                    "count": "true"})
    _, rows = rows_of(sheet_of(r))
    assert [row["party_id"] for row in rows] == [world.org["id"]]
    assert rows[0]["signed_on"] == datetime.datetime(2024, 5, 2)
    r = c.get(f"/v1/charters/{uniq()}/signatories", params={"format": "xlsx"})
    assert_problem(r, 404)
