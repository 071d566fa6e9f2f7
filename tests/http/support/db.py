"""db.py - the database helper of the tests: one psql session kept open, and SQL expressions.

Db keeps one psql process open, so that a test can look at the database after each request (a
refused write must leave its row and the audit log as they were) in well under a millisecond
instead of starting psql every time, and so that statements run in one session (a transaction or
a lock held open across requests). Errors raise; the session goes on.

The *_sql helpers build SQL expressions that Db.values() evaluates together in one query.
"""

import json
import os
import select
import subprocess
import time
import uuid

from support.cluster import clean_env

# resource name in the API (and in the change feed) -> table
DOMAIN_TABLES = {
    "organizations": "organizations",
    "ministries": "ministries",
    "partnership-types": "partnership_types",
    "partnerships": "partnerships",
    "charters": "charters",
    "signatories": "charter_signatories",
    "monitoring-records": "monitoring_records",
}
ADMIN_TABLES = {"users": "users", "api-keys": "api_keys"}
TABLES = {**DOMAIN_TABLES, **ADMIN_TABLES}

# Every table a write of the domain may touch: the records, the parties of partnerships, the
# audit log and the change feed. A rejected request must leave all of them as they were.
WRITTEN_TABLES = ("organizations", "ministries", "partnership_types", "partnerships",
                  "partnership_organizations", "charters", "charter_signatories",
                  "monitoring_records", "audit_log", "changes")


def sql_str(value):
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


# ---------------------------------------------------------------- SQL expressions


def row_sql(table, record_id):
    """SQL: the row as JSON (without the search document and last_used_at), or null."""
    return (f"(SELECT to_jsonb(t) - 'search' - 'last_used_at' FROM {table} t "
            f"WHERE id = {sql_str(record_id)}::uuid)")


def count_sql(table, where="true"):
    return f"(SELECT count(*) FROM {table} WHERE {where})"


def digest_sql(tables=WRITTEN_TABLES):
    """SQL: {table: [rows, md5 of every row]}; equal before and after means nothing was written."""
    parts = ", ".join(
        f"{sql_str(t)}, (SELECT json_build_array(count(*), md5(coalesce(string_agg(x::text, '|' "
        f"ORDER BY x::text), ''))) FROM {t} x)" for t in tables)
    return f"json_build_object({parts})"


def parties_sql(partnership_id):
    """SQL: [[organization_id, role, position]] of a partnership, in order."""
    return ("(SELECT coalesce(json_agg(json_build_array(organization_id, role, position) "
            "ORDER BY position), '[]') FROM partnership_organizations "
            f"WHERE partnership_id = {sql_str(partnership_id)}::uuid)")


# ---------------------------------------------------------------- the session


class Db:
    """One psql session on a database of a cluster (default: the cluster's own database).

    lines() sends SQL and waits for its output, one text line per row; rows() (or run(), for
    statements) splits them on '|'; text() gives the output whole; send() sends SQL without
    waiting (for a statement that blocks) and wait() collects its rows. value(), json(),
    count(), row()... read one thing. close() ends the session.
    """

    def __init__(self, pg, dbname=None):
        self.dbname = dbname or pg.dbname
        argv = pg._argv("psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=0", "-h", pg.dir,
                        "-p", str(pg.port), "-U", "postgres", "-d", self.dbname)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=clean_env(), cwd=pg.dir)
        self.database = pg.url_for(self.dbname)
        self._buf = b""
        self._pending = None

    # -- talking to psql ------------------------------------------------

    def send(self, sql):
        assert self._pending is None, "the previous statement's answer was not collected"
        marker = "--end-of-answer-" + uuid.uuid4().hex
        self.proc.stdin.write((sql.strip().rstrip(";") + ";\n\\echo " + marker + "\n")
                              .encode("utf-8"))
        self.proc.stdin.flush()
        self._pending = (marker, sql)

    def wait_lines(self, timeout=30.0):
        """The output of what send() sent, one line per row; raises on an SQL error."""
        assert self._pending is not None, "nothing was sent"
        (marker, sql), self._pending = self._pending, None
        end = (marker + "\n").encode()
        deadline = time.monotonic() + timeout
        out = self.proc.stdout.fileno()
        while end not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"psql did not answer {sql!r} within {timeout}s: "
                                     f"{self._buf!r}")
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                continue
            chunk = os.read(out, 65536)
            if not chunk:
                raise RuntimeError(f"psql ended ({self.proc.wait()}) while answering {sql!r}: "
                                   f"{self._buf!r}")
            self._buf += chunk
        text, _, self._buf = self._buf.partition(end)
        lines = text.decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        errors = [x for x in lines if x.startswith("ERROR:") or ": ERROR:" in x]
        if errors:
            raise RuntimeError(f"psql: {sql!r}: {' '.join(lines)}")
        return lines

    def wait(self, timeout=30.0):
        """The rows of what send() sent, each a list of '|'-separated texts."""
        return [line.split("|") for line in self.wait_lines(timeout) if line]

    def lines(self, sql, timeout=30.0):
        self.send(sql)
        return self.wait_lines(timeout)

    def rows(self, sql, timeout=30.0):
        self.send(sql)
        return self.wait(timeout)

    run = rows

    # -- values ---------------------------------------------------------

    def text(self, sql):
        """The output as text, one line per row."""
        return "".join(line + "\n" for line in self.lines(sql))

    def value(self, sql):
        out = self.lines(sql)
        return out[0] if out else None

    def json(self, sql):
        v = self.value(sql)
        return json.loads(v) if v else None

    def values(self, **exprs):
        """{name: value} of SQL expressions, evaluated in one query."""
        parts = ", ".join(f"{sql_str(k)}, {v}" for k, v in exprs.items())
        return self.json(f"SELECT json_build_object({parts})")

    def count(self, table, where="true"):
        return int(self.value(f"SELECT count(*) FROM {table} WHERE {where}"))

    def row(self, table, record_id):
        """The whole row as a dict (without the search document and last_used_at), or None."""
        return self.values(row=row_sql(table, record_id))["row"]

    def digest(self):
        """{table: [rows, md5]} of every table a domain write may touch."""
        return self.values(d=digest_sql())["d"]

    def state(self, table, record_id):
        """(the row, the digest of every domain table), in one query."""
        got = self.values(row=row_sql(table, record_id), digest=digest_sql())
        return got["row"], got["digest"]

    def parties(self, partnership_id):
        """[(organization_id, role, position)] of a partnership, in order."""
        return [tuple(x) for x in self.values(p=parties_sql(partnership_id))["p"]]

    def audit_count(self):
        return self.count("audit_log")

    def audit_rows_after(self, n):
        """The audit rows beyond the first n (in insertion order of `at`), as dicts."""
        return [json.loads(x) for x in self.lines(
            f"SELECT to_jsonb(a) FROM (SELECT * FROM audit_log ORDER BY at, id OFFSET {int(n)}) a")]

    def records(self):
        """{(resource, id): (version, deleted)} for every record of every resource the feed
        carries."""
        parts = [f"SELECT '{res}', id, version, deleted_at IS NOT NULL FROM {table}"
                 for res, table in DOMAIN_TABLES.items()]
        rows = self.rows(" UNION ALL ".join(parts))
        return {(r[0], r[1]): (int(r[2]), r[3] == "t") for r in rows}

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdout.close()
