"""GET /v1/exports/{resource}.csv and .ndjson: a whole filtered list, streamed.

An export gives every record the list operation would give with the same filters, `q`, `sort`
and `fields`, without pages, with chunked transfer encoding, and holds one row at a time however
large the result: a 200 000-row export must not grow the server's memory.
"""

import csv
import io
import json
import os
import time

import pytest
import requests

from support.bodies import create, organization_body
from support.checks import assert_problem, expect, json_lines, uniq
from support.cluster import PostgresCluster
from support.principals import bearer
from support.server import is_sanitized, rss_kib, RssSampler

EXPORT = "/v1/exports/{}.{}"
BIG_ROWS = 200_000
MIB = 1024 * 1024

_datasets = {}


def make_dataset(http, token):
    """250 organizations sharing a unique sector tag, made in two batches."""
    tag = uniq("exp")
    kinds = ["association", "club", "network", "foundation", "union"]
    govs = ["beirut", "north", "akkar"]
    items = []
    for i in range(250):
        item = {"name": f"Export {tag} {i:03d}", "kind": kinds[i % 5],
                "governorate": govs[i % 3], "sectors": [tag, "youth" if i % 2 else "water"],
                "founded_on": f"{1990 + i % 30}-0{1 + i % 9}-1{i % 9}"}
        if i % 4 == 0:
            item["name_ar"] = f"جمعية الأمل للتنمية {i}"
            item["email"] = f"contact{i}@example.org"
        if i % 7 == 0:
            item["description"] = "مشروع مياه الشفة في القرى"
        items.append(item)
    # Cells that CSV must quote: commas, quotes, line breaks, outer spaces; Arabic kept as is.
    items[0]["name"] = f'Export {tag} "Amal", Beirut'
    items[1]["name"] = f"Export {tag} line one\nline two"
    items[2]["name"] = f"Export {tag} جمعية، بيروت"
    items[2]["external_ids"] = {"LB-MOI": "12/AD", "ANND": 'x,"y"'}
    items[3]["description"] = " padded with spaces "
    for chunk in (items[:125], items[125:]):
        r = http.post("/v1/organizations/batch", json={"items": chunk}, headers=bearer(token))
        expect(r, 200, "dataset batch")
    return tag


@pytest.fixture
def dataset(http, admin_token):
    """The tag of the export dataset, made once per server."""
    if http.base_url not in _datasets:
        _datasets[http.base_url] = make_dataset(http, admin_token)
    return _datasets[http.base_url]


def listed(http, token, params):
    """Every record of GET /v1/organizations with these parameters, following the cursor."""
    out = []
    cursor = None
    for _ in range(100):
        p = {**params, "limit": "200"}
        if cursor:
            p["cursor"] = cursor
        r = http.get("/v1/organizations", params=p, headers=bearer(token))
        page = expect(r, 200, "list").json()
        out += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("the list did not end")


def export(http, resource, fmt, params=None, token=None):
    r = http.get(EXPORT.format(resource, fmt), params=params, headers=bearer(token), timeout=60)
    expect(r, 200, f"export {resource}.{fmt}")
    assert r.headers.get("Transfer-Encoding") == "chunked", r.headers
    assert "Content-Length" not in r.headers, r.headers
    assert r.headers["Content-Disposition"] == f'attachment; filename="{resource}.{fmt}"'
    return r


def csv_rows(r):
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8", r.headers
    assert r.content.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheets look for
    text = r.content.decode("utf-8-sig")
    assert text.endswith("\r\n"), repr(text[-20:])
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    # RFC 4180: every record ends in CRLF; the only bare LFs are inside quoted cells.
    assert text.count("\r\n") == len(rows), "a record does not end in CRLF"
    return rows


def cell(value):
    """A JSON value as its CSV cell: empty for null, JSON text for lists and objects."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_records(rows):
    header, body = rows[0], rows[1:]
    out = []
    for row in body:
        assert len(row) == len(header), (header, row)
        rec = dict(zip(header, row))
        for k, v in rec.items():
            if v.startswith(("[", "{")):
                rec[k] = json.loads(v)
        out.append(rec)
    return header, out


# ---------------------------------------------------------------- same records as the list


@pytest.mark.parametrize("params", [
    {},
    {"kind": "club,network", "governorate": "beirut"},
    {"q": "مياه"},
    {"sort": "-name"},
    {"sort": "governorate,-founded_on"},
    {"founded_on.gte": "2005-01-01", "founded_on.lt": "2015-01-01", "acronym.null": "true"},
    {"fields": "name,name_ar,sectors"},
    {"fields": "id,external_ids,founded_on", "sort": "founded_on"},
], ids=["all", "kind-governorate", "q-arabic", "sort-desc", "sort-two-keys", "range-null",
        "fields", "fields-sorted"])
def test_export_gives_every_record_the_list_gives_in_the_same_order(http, admin_token,
                                                                    dataset, params):
    p = {"sectors": dataset, **params}
    expected = listed(http, admin_token, p)
    assert expected, "the filters match nothing"
    if not params:
        assert len(expected) == 250
    nd = json_lines(export(http, "organizations", "ndjson", p, admin_token).text)
    assert nd == expected
    header, rows = csv_records(csv_rows(export(http, "organizations", "csv", p, admin_token)))
    assert header == list(expected[0].keys())
    assert rows == [{k: cell(v) for k, v in rec.items()} for rec in expected]


def test_fields_projection_always_includes_id(http, dataset):
    rows = csv_rows(export(http, "organizations", "csv", {"sectors": dataset,
                                                            "fields": "name"}))
    assert rows[0] == ["id", "name"], rows[0]
    nd = json_lines(export(http, "organizations", "ndjson",
                           {"sectors": dataset, "fields": "name"}).text)
    assert {tuple(rec) for rec in nd} == {("id", "name")}


def test_csv_is_rfc_4180_and_keeps_arabic_intact(http, admin_token, dataset):
    r = export(http, "organizations", "csv", {"sectors": dataset, "sort": "name"}, admin_token)
    text = r.content.decode("utf-8")
    header, rows = csv_records(csv_rows(r))
    by_name = {rec["name"]: rec for rec in rows}
    assert f'Export {dataset} "Amal", Beirut' in by_name
    assert f'"Export {dataset} ""Amal"", Beirut"' in text
    assert f"Export {dataset} line one\nline two" in by_name
    arabic = by_name[f"Export {dataset} جمعية، بيروت"]
    assert arabic["external_ids"] == {"LB-MOI": "12/AD", "ANND": 'x,"y"'}
    assert "جمعية الأمل للتنمية 0" in text
    assert any(rec["description"] == " padded with spaces " for rec in rows)
    assert header[0] == "id" and "email" in header


def test_internal_fields_are_exported_only_with_a_token(http, admin_token, dataset):
    p = {"sectors": dataset}
    anon = csv_rows(export(http, "organizations", "csv", p))[0]
    assert "email" not in anon and "phone" not in anon, anon
    signed = csv_rows(export(http, "organizations", "csv", p, admin_token))[0]
    assert {"email", "phone"} <= set(signed)
    recs = json_lines(export(http, "organizations", "ndjson", p).text)
    assert recs and not any("email" in rec for rec in recs)
    recs = json_lines(export(http, "organizations", "ndjson", p, admin_token).text)
    assert sum(1 for rec in recs if rec["email"]) == 63


def test_other_resources_export_their_own_lists(http, admin_token):
    m = create(http, admin_token, "/v1/ministries", {"name": "وزارة الشؤون الاجتماعية " + uniq(),
                                                 "kind": "ministry"})
    t = create(http, admin_token, "/v1/partnership-types", {"code": uniq("exp-"), "name": "Export"})
    o = create(http, admin_token, "/v1/organizations", organization_body())
    p = create(http, admin_token, "/v1/partnerships", {
        "title": "Export partnership " + uniq(), "type_id": t["id"], "ministry_id": m["id"],
        "organizations": [{"organization_id": o["id"], "role": "lead"}], "amount": "1500.50",
        "currency": "LBP", "governorates": ["akkar", "north"]})
    mr = create(http, admin_token, "/v1/monitoring-records", {
        "partnership_id": p["id"], "period_start": "2024-01-01", "period_end": "2024-12-31",
        "indicator": "Youth reached", "target": 100, "actual": 60})
    nd = json_lines(export(http, "partnerships", "ndjson", {"ministry_id": m["id"]}).text)
    assert [x["id"] for x in nd] == [p["id"]]
    assert nd[0]["organizations"] == [{"organization_id": o["id"], "role": "lead"}]
    rows = csv_rows(export(http, "partnerships", "csv", {"ministry_id": m["id"],
                                                         "fields": "title,amount,governorates"}))
    assert rows == [["id", "title", "amount", "governorates"],
                    [p["id"], p["title"], "1500.50", '["akkar","north"]']]
    nd = json_lines(export(http, "ministries", "ndjson", {"id": m["id"]}).text)
    assert nd[0]["name"] == m["name"]
    nd = json_lines(export(http, "partnership-types", "ndjson", {"id": t["id"]}).text)
    assert nd[0]["code"] == t["code"]
    csv_rows(export(http, "charters", "csv"))
    nd = json_lines(export(http, "monitoring-records", "ndjson", {"partnership_id": p["id"]},
                           admin_token).text)
    assert [(x["id"], x["actual"]) for x in nd] == [(mr["id"], 60)]


def test_empty_export_is_a_header_only_csv_and_an_empty_ndjson(http):
    tag = uniq("none")
    rows = csv_rows(export(http, "organizations", "csv", {"sectors": tag, "fields": "name"}))
    assert rows == [["id", "name"]]
    assert export(http, "organizations", "ndjson", {"sectors": tag}).content == b""


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("param,value", [("limit", "10"), ("cursor", "abc"), ("count", "true"),
                                         ("format", "csv"), ("include", "parent")])
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_paging_and_format_parameters_are_400(http, fmt, param, value):
    path = EXPORT.format("organizations", fmt)
    r = http.get(path, params={param: value})
    p = assert_problem(r, 400, instance=path)
    assert param in p["detail"], p


@pytest.mark.parametrize("params", [{"colour": "red"}, {"name.like": "x"}, {"sort": "colour"},
                                    {"fields": "colour"}, {"email": "a@b.org"}])
def test_unknown_parameters_fields_and_sort_keys_are_400(http, params):
    path = EXPORT.format("organizations", "csv")
    assert_problem(http.get(path, params=params), 400, instance=path)


@pytest.mark.parametrize("resource", ["signatories", "users", "api-keys", "audit-log",
                                      "nothing"])
def test_unknown_or_unexportable_resource_is_404(http, admin_token, resource):
    for fmt in ("csv", "ndjson"):
        path = EXPORT.format(resource, fmt)
        assert_problem(http.get(path, headers=bearer(admin_token)), 404, instance=path)


def test_monitoring_records_export_needs_a_token_and_a_bad_token_is_401(http):
    for fmt in ("csv", "ndjson"):
        path = EXPORT.format("monitoring-records", fmt)
        r = http.get(path)
        assert_problem(r, 401, instance=path)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
        path = EXPORT.format("organizations", fmt)
        assert_problem(http.get(path, headers=bearer("sk_not_a_key")), 401, instance=path)


# ---------------------------------------------------------------- 200 000 rows


@pytest.fixture(scope="module")
def big(cli_for):
    """A cluster of its own holding 200 000 organizations.

    Loading goes through one INSERT ... SELECT generate_series. To keep it within seconds, this
    throwaway copy drops what an export without `q` never reads: the full-text `search` column,
    the change-feed trigger and the secondary indexes other than the one on the default sort.
    The records' documents are then written in one pass, as `sharaka migrate` does after an
    upgrade, instead of by the trigger row by row.
    """
    cluster = PostgresCluster("sharaka")
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        proc = cli_for(cluster.url).run("migrate")
        assert proc.returncode == 0, proc.stderr
        indexes = [r[0] for r in cluster.rows(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'organizations' AND indexname "
            "NOT IN ('organizations_pkey', 'organizations_created_at', 'organizations_search')")]
        cluster.psql("ALTER TABLE organizations DROP COLUMN search; "
                     "ALTER TABLE organizations DISABLE TRIGGER organizations_change; "
                     "ALTER TABLE organizations DISABLE TRIGGER organizations_document; "
                     + "; ".join(f"DROP INDEX {name}" for name in indexes))
        cluster._run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.dir,
                     "-p", str(cluster.port), "-U", "postgres", "-d", cluster.dbname,
                     input=f"INSERT INTO organizations (name, name_ar, kind, governorate, sectors) "
                           f"SELECT 'Organization ' || g, 'جمعية رقم ' || g, 'association', "
                           f"'beirut', ARRAY['youth'] FROM generate_series(1, {BIG_ROWS}) g; "
                           f"ANALYZE organizations;",
                     timeout=300)
        cluster.psql("DELETE FROM sharaka_documents WHERE resource = 'organizations'")
        proc = cli_for(cluster.url).run("migrate", timeout=180)
        assert proc.returncode == 0 and "documents of organizations" in proc.stdout, proc.stderr
        yield cluster
    finally:
        cluster.destroy()


def big_server(start_server, sharaka_bin, big, **env):
    settings = {"SHARAKA_DATABASE_URL": big.url, **env}
    if is_sanitized(sharaka_bin):
        # AddressSanitizer keeps freed memory in a quarantine (256 MiB by default), which would
        # show as growth of the resident set: keep it small for the memory measurement.
        settings["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
    return start_server(**settings)


def stream_lines(spec, url, pause=0.0):
    """(status, headers, lines, bytes) of a streamed GET, counted chunk by chunk.

    The request is checked against the spec; the answer, too long to hold, is not."""
    spec.check_request("GET", url, {}, None)
    lines = size = 0
    last = b""
    with requests.get(url, stream=True, timeout=120) as r:
        if r.status_code != 200:
            return r.status_code, r.headers, 0, 0, r.content
        for chunk in r.iter_content(65536):
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = (last + chunk)[-4096:]
            if pause:
                time.sleep(pause)
        return r.status_code, r.headers, lines, size, last


def test_export_of_200k_rows_streams_in_constant_memory(big, start_server, sharaka_bin, spec):
    srv = big_server(start_server, sharaka_bin, big)
    base = srv.base_url
    # Warm up: the first export opens what every export needs.
    status, _, lines, _, _ = stream_lines(spec, base + "/v1/exports/organizations.csv?name=nothing")
    assert (status, lines) == (200, 1)
    for fmt, expected_lines in (("ndjson", BIG_ROWS), ("csv", BIG_ROWS + 1)):
        sampler = RssSampler(srv.proc.pid, interval=0.05)
        sampler.start()
        time.sleep(0.15)
        before = rss_kib(srv.proc.pid)
        status, headers, lines, size, tail = stream_lines(
            spec, f"{base}/v1/exports/organizations.{fmt}")
        samples = sampler.stop()
        assert status == 200, tail
        assert headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in headers
        assert lines == expected_lines, (
            f"the {fmt} export has {lines} lines, not {expected_lines} ({size} bytes)")
        last = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1].decode("utf-8")
        if fmt == "ndjson":
            assert json.loads(last)["name"].startswith("Organization ")
        else:
            assert ",Organization " in last and "جمعية رقم" in last, last
        assert len(samples) >= 5, samples
        growth = max(samples) - before
        assert growth < 20 * 1024, (
            f"the server's resident memory grew by {growth / 1024:.1f} MiB during the {fmt} "
            f"export ({before / 1024:.1f} MiB before, peak {max(samples) / 1024:.1f} MiB)")


def test_export_slower_than_the_statement_timeout_is_complete_or_visibly_broken(
        big, start_server, sharaka_bin, spec):
    # The export's query outlives a 1 s statement timeout. Every row must arrive, or the
    # transfer must break (no final chunk) so that the client knows the file is incomplete:
    # a short file that ends like a complete one is wrong.
    srv = big_server(start_server, sharaka_bin, big, SHARAKA_STATEMENT_TIMEOUT=1000)
    started = time.monotonic()
    try:
        status, _, lines, size, _ = stream_lines(
            spec, srv.base_url + "/v1/exports/organizations.ndjson", pause=0.001)
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError):
        return  # broken visibly
    took = time.monotonic() - started
    assert status == 200
    assert lines == BIG_ROWS, (
        f"the export ended like a complete one after {lines} of {BIG_ROWS} rows "
        f"({size} bytes, {took:.1f} s with SHARAKA_STATEMENT_TIMEOUT=1000)")


def test_documents_written_in_one_pass_lie_in_the_default_order(big):
    """`sharaka migrate` writes a resource's documents in the order its lists and exports read
    them by default (organizations: created_at, then id), so such a read finds them side by side
    on disk. The 200 000 organizations were inserted in one statement: one created_at, and an id
    order unrelated to the order they were stored in."""
    stored = [r[0] for r in big.rows(
        "SELECT id FROM organizations_documents ORDER BY ctid LIMIT 2000")]
    wanted = [r[0] for r in big.rows(
        "SELECT id FROM organizations ORDER BY created_at, id LIMIT 2000")]
    inserted = [r[0] for r in big.rows("SELECT id FROM organizations ORDER BY ctid LIMIT 2000")]
    assert stored == wanted
    assert inserted != wanted


# ---------------------------------------------------------------- HXL

HXL_TAG = r"#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*"


def test_hxl_adds_the_hashtag_row_under_the_header(http, admin_token, dataset):
    import re
    r = export(http, "organizations", "csv", {"sectors": dataset, "hxl": "true"}, admin_token)
    rows = csv_rows(r)
    header, tags, data = rows[0], rows[1], rows[2:]
    assert len(tags) == len(header) and len(data) == 250
    by_field = dict(zip(header, tags))
    assert by_field["id"] == "#org+id" and by_field["name"] == "#org+name"
    assert by_field["name_ar"] == "#org+name+i_ar" and by_field["governorate"] == "#adm1+name"
    assert by_field["sectors"] == "#sector" and by_field["status"] == "#status"
    assert all(t == "" or re.fullmatch(HXL_TAG, t) for t in tags), tags
    # Without hxl (or with false) the second row is a record.
    plain = csv_rows(export(http, "organizations", "csv", {"sectors": dataset, "hxl": "false"},
                            admin_token))
    assert plain[0] == header and len(plain) == 251 and not plain[1][0].startswith("#")


def test_hxl_follows_fields_and_tags_partnerships_and_monitoring(http, admin_token, dataset):
    r = export(http, "partnerships", "csv",
               {"hxl": "true", "fields": "amount,ministry_id,organizations,start_date,currency,title"})
    header, tags = csv_rows(r)[:2]
    assert header == ["id", "amount", "ministry_id", "organizations", "start_date", "currency",
                      "title"]
    assert tags == ["#activity+id", "#value", "#org+gov+id", "#org+impl", "#date+start",
                    "#currency", "#activity+name"]
    r = export(http, "monitoring-records", "csv",
               {"hxl": "true", "fields": "partnership_id,baseline,target,actual,period_start"},
               admin_token)
    header, tags = csv_rows(r)[:2]
    assert tags == ["#indicator+id", "#activity+id", "#indicator+baseline+num",
                    "#indicator+target+num", "#indicator+actual+num", "#date+start"]


@pytest.mark.parametrize("fmt,value", [("csv", "yes"), ("csv", ""), ("ndjson", "true")])
def test_hxl_other_than_true_or_false_on_csv_is_400(http, fmt, value):
    r = http.get(EXPORT.format("organizations", fmt), params={"hxl": value},
                 invalid=fmt == "csv")
    p = assert_problem(r, 400)
    assert "hxl" in p["detail"], p
