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
