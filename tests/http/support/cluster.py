"""cluster.py - throwaway PostgreSQL 15 clusters for the HTTP tests, and databases copied from a
migrated template.

The cluster lives in a fresh temporary folder, listens only on a Unix socket
in that folder (listen_addresses = ''), trusts every local connection and runs
with fsync off. PostgreSQL refuses to run as root, so when the tests run as
root the folder is handed to the `postgres` user and every PostgreSQL program
is started through `runuser -u postgres --`.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid

from support.config import ADMIN_EMAIL, ADMIN_PASSWORD

PG_BIN = os.environ.get("SHARAKA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    """The current environment without PG* and SHARAKA_* variables."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PG") and not k.startswith("SHARAKA_")
    }


def postgres_can_enter(folder):
    """True when the postgres account can reach into folder (every parent is open to it)."""
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", folder],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def cluster_parent(wanted, as_root):
    """Where a cluster's folder goes: wanted (default: the temp folder) when its owner can reach
    it; as root with a folder closed to the postgres account, /var/tmp."""
    wanted = wanted or tempfile.gettempdir()
    if not as_root or postgres_can_enter(wanted):
        return wanted
    return "/var/tmp"


class PostgresCluster:
    """One initdb'd cluster; call init() then start(), and destroy() at the end.

    psql() and rows() run one psql each, for the cluster's own business (databases made and
    dropped, a database other than the session's); what a test reads and writes in a database
    goes through db.Db.
    """

    def __init__(self, dbname="sharaka", parent=None):
        self.as_root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="sharaka-pg-", dir=cluster_parent(parent, self.as_root))
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.dbname = dbname
        self.running = False
        if self.as_root:
            shutil.chown(self.dir, user="postgres", group="postgres")

    # -- commands -------------------------------------------------------

    def _argv(self, program, *args):
        argv = [os.path.join(PG_BIN, program), *args]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, program, *args, input=None, timeout=60, check=True):
        proc = subprocess.run(
            self._argv(program, *args),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(),
            cwd=self.dir,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}\n{self.log_tail()}"
            )
        return proc

    def log_tail(self, lines=20):
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return "postgres log:\n" + "".join(f.readlines()[-lines:])
        except OSError:
            return "(no postgres log)"

    # -- life cycle -----------------------------------------------------

    def init(self):
        self._run(
            "initdb",
            "-D", self.data,
            "-U", "postgres",
            "--auth=trust",
            "-E", "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        conf = (
            "\n# sharaka test cluster\n"
            "listen_addresses = ''\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.dir}'\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 50\n"
            "shared_buffers = 32MB\n"
            "log_min_messages = warning\n"
        )
        conf_path = os.path.join(self.data, "postgresql.conf")
        with open(conf_path, "a", encoding="utf-8") as f:
            f.write(conf)

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "30", "start")
        self.running = True

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop")
        self.running = False

    def create_database(self, name=None):
        self.psql(f'CREATE DATABASE "{name or self.dbname}"', dbname="postgres")

    def destroy(self):
        """Stop the cluster if it runs and remove its folder; never raises."""
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop",
                          check=False, timeout=30)
        except Exception:  # noqa: BLE001 - cleanup must go on
            pass
        self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- use ------------------------------------------------------------

    @property
    def url(self):
        return self.url_for(self.dbname)

    def url_for(self, dbname):
        return f"postgresql:///{dbname}?host={self.dir}&port={self.port}&user=postgres"

    def psql(self, sql, dbname=None, timeout=30):
        """Run SQL with psql -X -At and ON_ERROR_STOP; returns stdout (unaligned, '|'-separated).
        A bulk load of test data may take longer than the 30 s an ordinary statement gets."""
        proc = self._run(
            "psql",
            "-X", "-At",
            "-v", "ON_ERROR_STOP=1",
            "-h", self.dir,
            "-p", str(self.port),
            "-U", "postgres",
            "-d", dbname or self.dbname,
            input=sql,
            timeout=timeout,
        )
        return proc.stdout

    def rows(self, sql, dbname=None):
        """Rows of a query as lists of strings (columns split on '|')."""
        out = self.psql(sql, dbname=dbname)
        return [line.split("|") for line in out.splitlines() if line != ""]


# ---------------------------------------------------------------- databases of a test's own
#
# A migrated template database (with the test admin) in the session's cluster, copied with
# CREATE DATABASE ... TEMPLATE for each test that needs a database of its own, so that its
# change feed and its counts hold only what the test wrote.

_templates = {}
_templates_lock = threading.Lock()


def template_database(pg, cli_for):
    """(name, admin user id) of a migrated database with the test admin (made once)."""
    with _templates_lock:
        made = _templates.get(pg.dir)
        if made is not None:
            return made
        name = "sync_template"
        pg.create_database(name)
        cli = cli_for(pg.url_for(name))
        proc = cli.run("migrate")
        assert proc.returncode == 0, f"migrate exited {proc.returncode}:\n{proc.stderr}"
        proc = cli.user_add(ADMIN_EMAIL, "admin", ADMIN_PASSWORD)
        _templates[pg.dir] = (name, proc.stdout.strip().splitlines()[-1])
        return _templates[pg.dir]


def fresh_database(pg, cli_for, prefix="sync"):
    """A new database copied from the template: its URL and name."""
    template, _ = template_database(pg, cli_for)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY',
            dbname="postgres")
    return pg.url_for(name), name
