"""CSV that spreadsheets open safely; exports on a bounded pool; statements retried after a restart.

- CSV downloads (lists, exports, statistics) start with a UTF-8 byte-order mark, so Arabic opens
  correctly; a text cell starting with =, +, -, @, tab or carriage return is prefixed with a single
  quote, so it is never run as a formula; numbers are written as they are (a negative amount stays a
  number); the columns follow the order of `fields=`.
"""

import csv
import io
import time

from support.bodies import create, make_monitoring_record, organization_body
from support.checks import uniq
from support.principals import bearer

BOM = "\ufeff"


def csv_rows(r):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv"), r.headers
    text = r.content.decode("utf-8")
    assert text.startswith(BOM), repr(text[:20])
    return list(csv.reader(io.StringIO(text[1:], newline=""), strict=True))


def test_csv_cells_are_neutralised_and_columns_follow_fields(http, admin_token):
    tag = uniq("csvsafe")
    names = {
        "=HYPERLINK(\"http://evil.example\",\"x\")": "'=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+2": "'+1+2",
        "-2+3": "'-2+3",
        "@SUM(A1)": "'@SUM(A1)",
        "جمعية الأمل، بيروت": "جمعية الأمل، بيروت",
        "plain": "plain",
    }
    made = {}
    for name in names:
        body = organization_body(name=f"{name} {tag}", acronym=tag[-20:], description=f"{name} {tag}")
        made[create(http, admin_token, "/v1/organizations", body)["id"]] = name
    params = {"acronym": tag[-20:], "fields": "description,name,kind", "limit": 200}

    list_rows = csv_rows(http.get("/v1/organizations", params={**params, "format": "csv"}))
    accept_rows = csv_rows(http.get("/v1/organizations", params=params,
                                    headers={"Accept": "text/csv"}))
    export_params = {k: v for k, v in params.items() if k != "limit"}
    export_rows = csv_rows(http.get("/v1/exports/organizations.csv", params=export_params))
    for rows in (list_rows, accept_rows, export_rows):
        assert rows[0] == ["id", "description", "name", "kind"], rows[0]
        assert len(rows) == 1 + len(names), rows
        for row in rows[1:]:
            name = made[row[0]]
            want = names[name] + f" {tag}"
            assert row[1] == want and row[2] == want, (row, want)
            assert row[3] == "association"


def test_numbers_stay_numbers_and_stats_csv_has_a_bom(http, admin_token):
    rec = make_monitoring_record(http, admin_token, baseline=-5, target=-1.5)
    rows = csv_rows(http.get("/v1/monitoring-records",
                             params={"partnership_id": rec["partnership_id"], "fields": "target,baseline",
                                     "format": "csv"}, headers=bearer(admin_token)))
    assert rows[0] == ["id", "target", "baseline"], rows
    assert float(rows[1][1]) == -1.5 and float(rows[1][2]) == -5, rows
    rows = csv_rows(http.get("/v1/stats/partnerships", params={"format": "csv", "group_by": "status"},
                             headers=bearer(admin_token)))
    assert rows[0][-1] in ("count", "amounts"), rows[0]


# ---------------------------------------------------------------- database restart

CLOSE = {"Connection": "close"}  # a new connection each time, so every worker thread is hit


def test_first_requests_after_a_database_restart_succeed_on_every_thread(pg_factory, cli_for,
                                                                         start_server, api_for):
    """A connection found dead before anything was sent is replaced; the request is not a 503."""
    db = pg_factory()
    cli = cli_for(db.url)
    assert cli.run("migrate").returncode == 0
    srv = start_server(SHARAKA_DATABASE_URL=db.url, SHARAKA_THREADS="3")
    api = api_for(srv)
    for _ in range(15):  # every worker opens its connection
        assert api.get("/v1/ministries", headers=CLOSE).status_code == 200
        assert api.get("/readyz", headers=CLOSE).status_code == 200

    db.stop()
    r = api.get("/v1/ministries", headers=CLOSE)
    assert r.status_code == 503 and r.headers.get("Retry-After") == "1", r.headers
    db.start()
    seen = [api.get(path, headers=CLOSE).status_code
            for _ in range(15) for path in ("/v1/ministries", "/readyz")]
    assert seen == [200] * len(seen), seen

    db.stop()
    db.start()  # a restart while every worker is idle, with no request in between
    seen = [api.get("/v1/ministries", headers=CLOSE).status_code for _ in range(15)]
    assert seen == [200] * len(seen), seen
    assert srv.running


# ---------------------------------------------------------------- the export pool

EXPORT_ROWS = 20_000  # about 10 MB of CSV: far more than the sockets' buffers hold


def open_export(srv_port, source_ip, path="/v1/exports/organizations.csv"):
    """Starts an export from source_ip and reads only its status line and headers."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((source_ip, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", srv_port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = s.recv(1024)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:])}
    headers[""] = data.split(b"\r\n\r\n", 1)[-1][:1000]  # the start of the body, for messages
    return s, status, headers


def export_backends(db):
    return int(db.rows("SELECT count(*) FROM pg_stat_activity "
                       "WHERE application_name = 'sharaka-export'")[0][0])


def all_backends(db):
    return int(db.rows("SELECT count(*) FROM pg_stat_activity "
                       "WHERE application_name LIKE 'sharaka%'")[0][0])


def test_unread_exports_share_a_bounded_pool(pg_factory, cli_for, start_server, api_for):
    db = pg_factory()
    cli = cli_for(db.url)
    assert cli.run("migrate").returncode == 0
    db.psql("INSERT INTO organizations (name, kind, description) "
            f"SELECT 'Pool ' || i, 'association', repeat('جمعية ' || i || ' ', 40) "
            f"FROM generate_series(1, {EXPORT_ROWS}) i", timeout=180)
    srv = start_server(SHARAKA_DATABASE_URL=db.url, SHARAKA_THREADS="2",
                       SHARAKA_EXPORT_CONNECTIONS="2", SHARAKA_EXPORT_CONNECTIONS_PER_IP="1",
                       SHARAKA_EXPORT_TIMEOUT="30")
    api = api_for(srv)
    port = srv.port
    held = []
    try:
        s, status, _ = open_export(port, "127.0.0.1")
        held.append(s)
        assert status == 200
        s, status, headers = open_export(port, "127.0.0.1")
        held.append(s)
        assert status == 429 and int(headers["retry-after"]) >= 1, headers
        s, status, _ = open_export(port, "127.0.0.2")
        held.append(s)
        assert status == 200
        for ip in ("127.0.0.3", "127.0.0.4"):
            s, status, headers = open_export(port, ip)
            held.append(s)
            assert status == 503 and int(headers["retry-after"]) >= 1, headers
        for _ in range(5):  # ordinary requests keep their own connections meanwhile
            r = api.get("/v1/organizations", params={"limit": 1})
            assert r.status_code == 200, r.text
        assert export_backends(db) == 2
        assert all_backends(db) <= 2 + 2, db.rows("SELECT application_name, state "
                                                  "FROM pg_stat_activity")

        held.pop(0).close()  # one export given up: its connection serves the next one
        deadline = time.monotonic() + 10
        while True:
            s, status, headers = open_export(port, "127.0.0.3")
            held.append(s)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200, headers
        assert export_backends(db) <= 2
    finally:
        for s in held:
            s.close()

    # Read to the end, an export gives its connection back for the next one.
    deadline = time.monotonic() + 10
    while True:
        r = api.get("/v1/exports/organizations.csv", params={"fields": "name", "q": "Pool 17"})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    for _ in range(3):
        r = api.get("/v1/exports/organizations.ndjson", params={"fields": "name"})
        assert r.status_code == 200 and r.content.count(b"\n") == EXPORT_ROWS
    assert export_backends(db) <= 2
    assert all_backends(db) <= 2 + 2

    # An export read too slowly ends broken at SHARAKA_EXPORT_TIMEOUT and frees its connection.
    # The timeout leaves room for the first row on a loaded machine (it bounds that wait too).
    slow = start_server(SHARAKA_DATABASE_URL=db.url, SHARAKA_THREADS="2",
                        SHARAKA_EXPORT_CONNECTIONS="1", SHARAKA_EXPORT_TIMEOUT="6")
    s, status, headers = open_export(slow.port, "127.0.0.1")
    try:
        assert status == 200, headers
        time.sleep(7.5)
        got, ended = 0, time.monotonic() + 20
        while time.monotonic() < ended:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
            tail = chunk[-7:] if len(chunk) >= 7 else tail + chunk
        assert not chunk, "the stream did not end"
        assert got < EXPORT_ROWS * 400 and not tail.endswith(b"0\r\n\r\n"), got
    finally:
        s.close()
    slow_api = api_for(slow)
    deadline = time.monotonic() + 10
    while True:  # its one connection is free again for the next export
        r = slow_api.get("/v1/exports/organizations.csv", params={"fields": "name", "q": "Pool 17"})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    assert slow.running
