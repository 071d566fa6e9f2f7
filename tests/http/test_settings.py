"""Settings come from the environment; a bad one stops the start with exit status 2."""

import re

import pytest

from support.config import REPO

# (setting, bad value)
BAD_SETTINGS = [
    ("SHARAKA_THREADS", "abc"),
    ("SHARAKA_THREADS", "4x"),
    ("SHARAKA_THREADS", "-1"),
    ("SHARAKA_THREADS", "65"),
    ("SHARAKA_LISTEN", "nonsense"),
    ("SHARAKA_LISTEN", "127.0.0.1:99999"),
    ("SHARAKA_LISTEN", "127.0.0.1:"),
    ("SHARAKA_JWT_SECRET", "too-short-secret"),
    ("SHARAKA_JWT_SECRET", "x" * 31),
    ("SHARAKA_TOKEN_TTL", "7200"),
    ("SHARAKA_TOKEN_TTL", "59"),
    ("SHARAKA_TOKEN_TTL", "15m"),
    ("SHARAKA_MAX_BODY", "-1"),
    ("SHARAKA_MAX_BODY", "1023"),
    ("SHARAKA_MAX_BODY", "67108865"),
    ("SHARAKA_MAX_BODY", "1e6"),
    ("SHARAKA_LOG_LEVEL", "loud"),
    ("SHARAKA_CORS_ORIGINS", "app.example.org"),
    ("SHARAKA_STATEMENT_TIMEOUT", "soon"),
    ("SHARAKA_SHUTDOWN_TIMEOUT", "-5"),
]

# From the settings table every document agrees on: name -> default as shown.
DOCUMENTED_DEFAULTS = {
    "SHARAKA_DATABASE_URL": "postgresql:///sharaka",
    "SHARAKA_LISTEN": "127.0.0.1:8080",
    "SHARAKA_THREADS": "0",
    "SHARAKA_MAX_BODY": "1048576",
    "SHARAKA_LOG_LEVEL": "info",
    "SHARAKA_CORS_ORIGINS": "-",
    "SHARAKA_JWT_SECRET": "-",
    "SHARAKA_TOKEN_TTL": "900",
    "SHARAKA_JWT_ISSUER": "sharaka",
    "SHARAKA_JWT_AUDIENCE": "sharaka",
    "SHARAKA_MIGRATIONS_DIR": "migrations",
    "SHARAKA_STATEMENT_TIMEOUT": "5000",
    "SHARAKA_MAX_CONNECTIONS": "1024",
    "SHARAKA_MAX_CONNECTIONS_PER_IP": "32",
    "SHARAKA_CONNECTION_TIMEOUT": "30",
    "SHARAKA_SHUTDOWN_TIMEOUT": "30",
}


@pytest.mark.parametrize("name,value", BAD_SETTINGS, ids=[f"{n}={v[:20]}" for n, v in BAD_SETTINGS])
def test_bad_setting_stops_serve_with_exit_2_and_one_line_naming_it(start_server, name, value):
    srv = start_server(wait=False, **{name: value})
    rc = srv.wait_exit(15)
    err = srv.stderr()
    assert rc == 2, (rc, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert name in lines[0], err
    assert srv.stdout() == ""


def test_short_jwt_secret_is_not_echoed_in_the_error(start_server):
    secret = "s3cr3t-but-too-short-" + "q" * 4
    srv = start_server(wait=False, SHARAKA_JWT_SECRET=secret)
    assert srv.wait_exit(15) == 2
    assert "SHARAKA_JWT_SECRET" in srv.stderr()
    assert secret not in srv.stderr()


def test_missing_jwt_secret_stops_serve_with_exit_2(start_server):
    srv = start_server(wait=False, SHARAKA_JWT_SECRET=None)
    assert srv.wait_exit(15) == 2, srv.stderr()
    lines = [line for line in srv.stderr().splitlines() if line.strip()]
    assert len(lines) == 1 and "SHARAKA_JWT_SECRET" in lines[0], lines


def test_custom_token_ttl_is_used_for_issued_tokens(start_server, api_for, admin_user):
    srv = start_server(SHARAKA_TOKEN_TTL="120")
    api = api_for(srv)
    r = api.post("/v1/auth/token",
                 json={"email": admin_user["email"], "password": admin_user["password"]})
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 120


def _help_settings(cli):
    proc = cli.run("help", "settings")
    assert proc.returncode == 0, proc.stderr
    rows = []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        assert len(parts) == 3, f"not NAME<TAB>DEFAULT<TAB>DESCRIPTION: {line!r}"
        assert all(p.strip() for p in parts), line
        rows.append(parts)
    return rows


def _readme_settings():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    header = re.compile(r"^\|\s*Setting\s*\|\s*Default\s*\|\s*Description\s*\|\s*$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    assert start is not None, "README.md has no | Setting | Default | Description | table"
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = cells[0]
        default = cells[1]
        assert re.fullmatch(r"`SHARAKA_[A-Z0-9_]+`", name), f"setting not in backticks: {line!r}"
        assert re.fullmatch(r"`[^`]+`|-", default), f"default not in backticks or -: {line!r}"
        rows[name.strip("`")] = default.strip("`")
    return rows


def test_help_settings_prints_every_documented_setting_with_its_default(cli):
    rows = {name: default for name, default, _ in _help_settings(cli)}
    assert {k: rows.get(k) for k in DOCUMENTED_DEFAULTS} == DOCUMENTED_DEFAULTS


def test_help_settings_rows_equal_readme_settings_table(cli):
    rows = _help_settings(cli)
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), names
    assert {name: default for name, default, _ in rows} == _readme_settings()
