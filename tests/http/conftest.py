"""conftest.py - fixtures for the HTTP tests: a throwaway PostgreSQL, the real sharaka binary,
an HTTP client that checks every request and answer against the spec, and `ctx`, what most
tests need in one object. The helpers themselves live in the package support/.

Settings of the run:
  SHARAKA_BIN  the binary to test (default: <repo>/build/sharaka)
"""

import copy
import os
from pathlib import Path

import pytest

from support import bodies
from support.client import ApiClient
from support.cluster import PostgresCluster, clean_env
from support.config import ADMIN_EMAIL, ADMIN_PASSWORD, REPO, SPEC_PATH
from support.db import Db, sql_str
from support.principals import Principal, add_key, add_partner, add_user
from support.server import Cli, OwnServer, SharakaServer, base_env, merged_env
from support.spec import load_spec

SHARAKA_BIN = Path(os.environ.get("SHARAKA_BIN") or REPO / "build" / "sharaka")
TESTS_DIR = Path(__file__).resolve().parent

# The spec checker of the run, kept for the coverage check at the end.
_checker = None


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def sharaka_bin():
    if not SHARAKA_BIN.is_file() or not os.access(SHARAKA_BIN, os.X_OK):
        pytest.fail(f"no sharaka binary at {SHARAKA_BIN} (build it, or set SHARAKA_BIN)")
    return SHARAKA_BIN


@pytest.fixture(scope="session")
def pg(request):
    """A running PostgreSQL 15 cluster with an empty database `sharaka`."""
    cluster = PostgresCluster("sharaka")
    request.addfinalizer(cluster.destroy)
    cluster.init()
    cluster.start()
    cluster.create_database()
    return cluster


@pytest.fixture
def pg_factory(request):
    """Makes extra clusters (each with a database `sharaka`), removed after the test."""
    def make():
        cluster = PostgresCluster("sharaka")
        request.addfinalizer(cluster.destroy)
        cluster.init()
        cluster.start()
        cluster.create_database()
        return cluster
    return make


@pytest.fixture(scope="session")
def cli(sharaka_bin, pg):
    """Runs the sharaka command line against the session database."""
    return Cli(sharaka_bin, merged_env(clean_env(), {"SHARAKA_DATABASE_URL": pg.url}))


@pytest.fixture(scope="session")
def cli_for(sharaka_bin):
    """cli_for(database_url) -> a command-line runner for another database."""
    def make(database_url):
        return Cli(sharaka_bin, merged_env(clean_env(), {"SHARAKA_DATABASE_URL": database_url}))
    return make


@pytest.fixture(scope="session")
def migrated(cli):
    proc = cli.run("migrate")
    assert proc.returncode == 0, f"sharaka migrate exited {proc.returncode}:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def spec():
    global _checker
    if _checker is None:
        if not SPEC_PATH.is_file():
            pytest.fail(f"no spec at {SPEC_PATH}")
        _checker = load_spec(SPEC_PATH)
    return _checker


@pytest.fixture(scope="session")
def server(sharaka_bin, pg, migrated):
    """The shared `sharaka serve`; stopped with SIGTERM at the end, must exit 0."""
    srv = SharakaServer(sharaka_bin, base_env(pg.url))
    try:
        srv.start()
        yield srv
        srv.terminate()
        srv.assert_clean_exit()
    finally:
        srv.cleanup()


@pytest.fixture
def start_server(sharaka_bin, pg, migrated):
    """start_server(wait=True, **env) -> a server of the test's own.

    env entries override the shared server's environment (None removes one).
    Servers still running at the end are stopped with SIGTERM and must exit 0.
    A server that throttles sign-ins starts with the buckets empty: they are kept in the
    database, for every instance, so a test's attempts would otherwise count in the next one.
    """
    servers = []

    def start(wait=True, **env):
        if str(env.get("SHARAKA_LOGIN_RATE_LIMIT", "0")) not in ("0", "None"):
            pg.psql("DELETE FROM login_throttle")
        srv = SharakaServer(sharaka_bin, merged_env(base_env(pg.url), env))
        servers.append(srv)
        return srv.start(wait=wait)

    yield start
    try:
        for srv in servers:
            if srv.running:
                srv.terminate()
                srv.assert_clean_exit()
    finally:
        for srv in servers:
            srv.cleanup()


@pytest.fixture
def http(server, spec):
    client = ApiClient(server, spec)
    yield client
    client.close()


@pytest.fixture
def api_for(spec):
    """api_for(server, from_address=None) -> a checked client for another server."""
    clients = []

    def make(srv, from_address=None):
        c = ApiClient(srv, spec, from_address)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def own_server(pg, cli_for, start_server, api_for):
    """own_server(prefix="own", **env) -> an OwnServer: a database of the test's own, copied
    from the template, and a server on it; stopped (it must exit 0) and dropped after the test."""
    made = []

    def make(prefix="own", **env):
        own = OwnServer(pg, cli_for, start_server, api_for, prefix, **env)
        made.append(own)
        return own

    yield make
    for own in made:
        own.close()


@pytest.fixture(scope="session")
def admin_user(cli, migrated):
    cli.user_add(ADMIN_EMAIL, "admin", ADMIN_PASSWORD)
    return {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


@pytest.fixture(scope="session")
def admin_token(server, spec, admin_user):
    client = ApiClient(server, spec)
    try:
        r = client.post("/v1/auth/token",
                        json={"email": admin_user["email"], "password": admin_user["password"]})
        assert r.status_code == 200, f"admin login failed: {r.status_code} {r.text}"
        return r.json()["access_token"]
    finally:
        client.close()


# ---------------------------------------------------------------------------
# ctx: what most tests need


class Ctx:
    """The shared server's checked client, the admin, the database helper and the command line,
    with the record creators bound to the admin's token (ctx.admin's, once a module has made an
    admin of its own).

    client  ApiClient on the shared server      db     Db on the session database
    admin   the test admin (a Principal)        cli    the command line on that database
    admin_token, server, spec, pg, bodies (the module support.bodies)

    A module adds what it needs with ctx.extend(name=value, ...), which returns a copy.
    """

    bodies = bodies

    def __init__(self, **parts):
        self.__dict__.update(parts)

    def extend(self, **more):
        other = copy.copy(self)
        other.__dict__.update(more)
        return other

    # -- principals -----------------------------------------------------

    def add_user(self, role, **kw):
        """A new user of that role (org=, ministry=, name=, email=) with a token: a Principal."""
        return add_user(self.cli, self.db, role, **kw)

    def add_partner(self, source="annd", role="partner"):
        """A new API key (a partner's by default): a Principal."""
        return add_partner(self.cli, self.db, source, role)

    def add_key(self, role="partner", source="annd", name=None):
        """A new API key, as printed once."""
        return add_key(self.cli, role, source, name)

    # -- records, made by the admin unless token= says who ---------------

    def create(self, path, body, token=None, expect=201):
        return bodies.create(self.client, token or self.admin.token, path, body, expect)

    def make(self, what, token=None, **over):
        """make("organization", ...) -> bodies.make_organization(client, token, ...)."""
        return getattr(bodies, "make_" + what)(self.client, token or self.admin.token, **over)


@pytest.fixture(scope="session")
def ctx(server, spec, cli, pg, admin_user, admin_token):
    client = ApiClient(server, spec)
    db = Db(pg)
    try:
        admin_id = db.value(f"SELECT id FROM users WHERE email = {sql_str(admin_user['email'])}")
        admin = Principal("admin", "admin", admin_token, admin_id, admin_user["email"])
        yield Ctx(client=client, db=db, admin=admin, admin_token=admin_token, cli=cli,
                  server=server, spec=spec, pg=pg)
    finally:
        db.close()
        client.close()


@pytest.fixture(scope="session")
def db(ctx):
    """The database helper on the session database (ctx.db)."""
    return ctx.db


# ---------------------------------------------------------------------------
# every documented operation must be exercised by a full run

_run_state = {"deselected": 0, "started": 0, "modules": set()}


def pytest_deselected(items):
    _run_state["deselected"] += len(items)


def pytest_collection_finish(session):
    _run_state["modules"] = {Path(str(item.fspath)).resolve() for item in session.items}


def pytest_runtest_logstart(nodeid, location):
    _run_state["started"] += 1


def _full_run(session):
    wanted = {p.resolve() for p in TESTS_DIR.glob("test_*.py")}
    return (
        _run_state["deselected"] == 0
        and wanted <= _run_state["modules"]
        and _run_state["started"] == len(session.items)
        and not session.shouldstop
        and not session.shouldfail
    )


def pytest_sessionfinish(session, exitstatus):
    if _checker is None:
        _run_state["missing"] = None
        return
    missing = sorted(_checker.operations() - _checker.exercised, key=lambda t: (t[1], t[0]))
    _run_state["missing"] = missing
    _run_state["full"] = _full_run(session)
    if missing and _run_state["full"] and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    missing = _run_state.get("missing")
    if missing is None:
        return
    tr = terminalreporter
    if not missing:
        tr.write_line(f"spec coverage: all {len(_checker.operations())} documented operations "
                      "were exercised")
        return
    listing = "\n".join(f"  {m} {p}" for m, p in missing)
    if _run_state.get("full"):
        tr.write_sep("=", "FAILED: documented operations never exercised", red=True)
        tr.write_line(listing)
    else:
        tr.write_sep("-", "partial run: documented operations not exercised (warning only)",
                     yellow=True)
        tr.write_line(listing)
