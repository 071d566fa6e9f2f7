"""sharaka migrate: ordered, recorded with checksums, idempotent, and strict about edits."""

import re
import shutil
import subprocess

import pytest

from support.config import REPO

MIGRATIONS = REPO / "migrations"
ROWS_SQL = "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"


def migration_files(folder=MIGRATIONS):
    return sorted(p for p in folder.glob("*.sql") if re.match(r"^\d{4}_[a-z0-9_]+\.sql$", p.name))


def copy_migrations(tmp_path):
    dst = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, dst)
    return dst


def table_exists(pg, name, dbname=None):
    return pg.psql(f"SELECT to_regclass('public.{name}') IS NOT NULL", dbname=dbname).strip() == "t"


def test_every_migration_file_is_recorded_once_in_order(pg, migrated):
    files = migration_files()
    assert files, "no migrations/NNNN_name.sql files"
    rows = pg.rows(ROWS_SQL)
    assert len(rows) == len(files), (rows, [f.name for f in files])
    for (version, name, checksum, applied_at), f in zip(rows, files):
        assert int(version) == int(f.name[:4]), (version, f.name)
        assert name and name in f.name, (name, f.name)
        assert checksum, f.name
        assert applied_at, f.name


def test_second_migrate_changes_nothing_and_says_so(cli, pg, migrated):
    before = pg.rows(ROWS_SQL)
    proc = cli.run("migrate")
    assert proc.returncode == 0, proc.stderr
    assert pg.rows(ROWS_SQL) == before
    out = proc.stdout + proc.stderr
    assert re.search(r"nothing|no (pending )?migrations?|up to date|already", out, re.I), out


def test_edited_applied_migration_is_refused_naming_the_file(cli, pg, migrated, tmp_path):
    folder = copy_migrations(tmp_path)
    edited = migration_files(folder)[0]
    with open(edited, "a", encoding="utf-8") as f:
        f.write("\n-- edited after it was applied\n")
    before = pg.rows(ROWS_SQL)
    proc = cli.run("migrate", env={"SHARAKA_MIGRATIONS_DIR": str(folder)})
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert edited.name in proc.stderr, proc.stderr
    assert "checksum" in proc.stderr.lower(), proc.stderr
    assert pg.rows(ROWS_SQL) == before


def test_serve_with_pending_migration_exits_1_telling_to_migrate(start_server, pg, tmp_path):
    folder = copy_migrations(tmp_path)
    (folder / "9999_pending.sql").write_text("CREATE TABLE pending_marker (x int);\n")
    srv = start_server(wait=False, SHARAKA_MIGRATIONS_DIR=str(folder))
    assert srv.wait_exit(20) == 1, srv.stderr()
    assert "sharaka migrate" in srv.stderr(), srv.stderr()
    assert not table_exists(pg, "pending_marker")
    assert not [r for r in pg.rows(ROWS_SQL) if int(r[0]) == 9999]


def test_failing_migration_exits_1_and_leaves_no_trace(cli, pg, migrated, tmp_path):
    pg.create_database("sharaka_broken")
    url = pg.url_for("sharaka_broken")
    folder = copy_migrations(tmp_path)
    (folder / "9999_broken.sql").write_text(
        "CREATE TABLE broken_marker (x int);\nSELECT * FROM no_such_table;\n")
    proc = cli.run("migrate", env={"SHARAKA_MIGRATIONS_DIR": str(folder),
                                   "SHARAKA_DATABASE_URL": url})
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "9999_broken.sql" in proc.stderr, proc.stderr
    assert not table_exists(pg, "broken_marker", dbname="sharaka_broken")
    versions = [int(r[0]) for r in pg.rows(ROWS_SQL, dbname="sharaka_broken")]
    assert 9999 not in versions
    assert versions == [int(f.name[:4]) for f in migration_files()]


def test_concurrent_migrate_runs_apply_each_migration_once(cli, pg, migrated):
    pg.create_database("sharaka_race")
    env = dict(cli.base_env, SHARAKA_DATABASE_URL=pg.url_for("sharaka_race"))
    procs = [subprocess.Popen([cli.binary, "migrate"], env=env, cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(3)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        results.append((p.returncode, out, err))
    assert [rc for rc, _, _ in results] == [0, 0, 0], results
    versions = [int(r[0]) for r in pg.rows(ROWS_SQL, dbname="sharaka_race")]
    assert versions == [int(f.name[:4]) for f in migration_files()]


@pytest.mark.parametrize("bad_dir", ["/nonexistent/migrations"])
def test_migrate_with_missing_folder_fails(cli, migrated, bad_dir):
    proc = cli.run("migrate", env={"SHARAKA_MIGRATIONS_DIR": bad_dir})
    assert proc.returncode in (1, 2), proc.returncode
    assert bad_dir in proc.stderr, proc.stderr
