"""The command line: version, help, usage errors (exit 2) and `user add`."""

import re

import pytest

from support.config import REPO


def meson_version():
    text = (REPO / "meson.build").read_text(encoding="utf-8")
    m = re.search(r"version\s*:\s*'([0-9]+\.[0-9]+\.[0-9]+)'", text)
    assert m, "no project version in meson.build"
    return m.group(1)


def test_version_prints_name_and_project_version(cli):
    proc = cli.run("version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"sharaka {meson_version()}"


@pytest.mark.parametrize("args", [["--help"], ["help"]], ids=["--help", "help"])
def test_help_lists_the_commands(cli, args):
    proc = cli.run(*args)
    assert proc.returncode == 0, proc.stderr
    for command in ("serve", "migrate", "user", "version"):
        assert command in proc.stdout, (command, proc.stdout)


@pytest.mark.parametrize("command", ["serve", "migrate", "user", "version", "settings"])
def test_help_on_a_command_describes_it(cli, command):
    proc = cli.run("help", command)
    assert proc.returncode == 0, proc.stderr
    expected = "SHARAKA_" if command == "settings" else command
    assert expected in proc.stdout, proc.stdout


def test_help_on_unknown_topic_is_usage_error(cli):
    proc = cli.run("help", "frobnicate")
    assert proc.returncode == 2, proc
    assert proc.stderr.strip()


def test_unknown_command_prints_usage_and_exits_2(cli):
    proc = cli.run("frobnicate")
    assert proc.returncode == 2, proc
    assert re.search(r"usage", proc.stderr, re.I), proc.stderr
    assert "frobnicate" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [["migrate", "--bogus"], ["serve", "--bogus"], ["version", "--bogus"],
                                  ["--bogus"], ["user", "add", "--bogus"]])
def test_unknown_flag_exits_2_naming_it(cli, args):
    proc = cli.run(*args, input="")
    assert proc.returncode == 2, proc
    assert "--bogus" in proc.stderr, proc.stderr


def test_user_add_creates_a_user_that_can_log_in(cli, http, migrated):
    proc = cli.user_add("analyst1@test.example", "analyst", "analyst password 1")
    assert proc.returncode == 0
    r = http.post("/v1/auth/token",
                  json={"email": "analyst1@test.example", "password": "analyst password 1"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = http.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["role"] == "analyst"


def test_user_add_reads_only_the_first_line_of_stdin(cli, http, migrated):
    proc = cli.run("user", "add", "--email", "firstline@test.example", "--role", "analyst",
                   "--password-stdin", input="first line password\nsecond line\n")
    assert proc.returncode == 0, proc.stderr
    ok = http.post("/v1/auth/token",
                   json={"email": "firstline@test.example", "password": "first line password"})
    assert ok.status_code == 200, ok.text
    whole = http.post("/v1/auth/token", json={"email": "firstline@test.example",
                                              "password": "first line password\nsecond line"})
    assert whole.status_code == 401


def test_user_add_with_existing_email_exits_1_and_keeps_the_user(cli, db, migrated):
    cli.user_add("dup@test.example", "analyst", "first password 1")
    before = db.text("SELECT row_to_json(u) FROM users u WHERE email = 'dup@test.example'")
    proc = cli.user_add("dup@test.example", "admin", "second password 2", check=False)
    assert proc.returncode == 1, proc
    assert "dup@test.example" in proc.stderr, proc.stderr
    after = db.text("SELECT row_to_json(u) FROM users u WHERE email = 'dup@test.example'")
    assert before == after


@pytest.mark.parametrize(
    "args",
    [
        ["--email", "role@test.example", "--role", "superuser", "--password-stdin"],
        ["--email", "role@test.example", "--role", "", "--password-stdin"],
        ["--role", "analyst", "--password-stdin"],
        ["--email", "role@test.example", "--role", "editor", "--organization", "not-a-uuid",
         "--password-stdin"],
        ["--email", "role@test.example", "--role", "editor",
         "--organization", "00000000-0000-0000-0000-000000000001",
         "--ministry", "00000000-0000-0000-0000-000000000002", "--password-stdin"],
    ],
    ids=["unknown-role", "empty-role", "missing-email", "bad-organization-uuid",
         "organization-and-ministry"],
)
def test_user_add_usage_errors_exit_2_and_create_nothing(cli, db, migrated, args):
    proc = cli.run("user", "add", *args, input="some password 1\n")
    assert proc.returncode == 2, proc
    assert proc.stderr.strip()
    assert db.text("SELECT count(*) FROM users WHERE email = 'role@test.example'").strip() == "0"
