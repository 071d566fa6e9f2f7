"""A sync client killed in the middle of a sync resumes from its stored cursor.

The client is a separate process (FOLLOWER_SCRIPT of support.feed) that keeps its copy and its
cursor in files, as README's "Sync: keeping a copy" tells partners to. It is killed with SIGKILL
while writers write, started again, and must end with a copy equal to the database.
"""

import json
import signal
import subprocess
import sys
import time

import pytest

from support.bodies import create, ministry_body, partnership_type_body
from support.feed import FOLLOWER_SCRIPT, assert_same_state, Workload


@pytest.fixture
def own(own_server):
    return own_server("resume")


def start_follower(script, own, state, limit):
    return subprocess.Popen(
        [sys.executable, str(script), own.srv.base_url, own.token, str(state), str(limit)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def log_lines(state):
    path = state / "log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def wait_for_pages(proc, state, pages, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the follower exited {proc.returncode} early:\n{out}\n{err}")
        if sum(1 for line in log_lines(state) if line.startswith("page ")) >= pages:
            return
        time.sleep(0.02)
    pytest.fail(f"the follower applied fewer than {pages} pages within {timeout}s")


def load_mirror(state):
    data = json.loads((state / "mirror.json").read_text(encoding="utf-8"))
    out = {}
    for key, (version, deleted) in data.items():
        resource, rid = key.split("/", 1)
        out[(resource, rid)] = (version, deleted)
    return out


def test_client_killed_midway_resumes_from_its_stored_cursor_and_ends_equal_to_the_database(
        own, api_for, tmp_path):
    script = tmp_path / "follower.py"
    script.write_text(FOLLOWER_SCRIPT, encoding="utf-8")
    state = tmp_path / "state"
    state.mkdir()
    ministry = create(own.api, own.token, "/v1/ministries", ministry_body())
    ptype = create(own.api, own.token, "/v1/partnership-types", partnership_type_body())
    clients = [api_for(own.srv) for _ in range(4)]
    first = second = None

    work = Workload(clients, own.token, ptype["id"], ministry["id"], singles=3, batches=True,
                    batch_size=200, seed=7).start()
    try:
        time.sleep(0.3)
        first = start_follower(script, own, state, 50)
        wait_for_pages(first, state, 5)
        time.sleep(0.4)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        first.communicate()
        assert first.returncode == -signal.SIGKILL
        stored = (state / "cursor").read_text(encoding="utf-8")
        copied_when_killed = len(load_mirror(state))
        time.sleep(0.5)   # the writers go on while no one follows
        second = start_follower(script, own, state, 50)
        time.sleep(1.5)
    finally:
        work.stop()
        if first is not None and first.poll() is None:
            first.kill()
            first.wait(10)
    (state / "stop").write_text("stop", encoding="utf-8")
    try:
        out, err = second.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        second.kill()
        out, err = second.communicate()
        pytest.fail(f"the restarted follower did not finish:\n{out}\n{err}")
    assert second.returncode == 0, f"the restarted follower exited {second.returncode}:\n{err}"
    assert (state / "done").exists()

    starts = [line.split() for line in log_lines(state) if line.startswith("start ")]
    assert len(starts) == 2, starts
    assert starts[0][1] == "-", "the first run did not start from the beginning"
    assert starts[1][1] == stored, (
        f"the second run started from {starts[1][1]}, not from the stored cursor {stored}")
    db = own.db.records()
    assert 0 < copied_when_killed < len(db), (
        f"the kill did not come midway: {copied_when_killed} of {len(db)} records copied")
    assert_same_state(load_mirror(state), db)
    assert work.counts.get("organization deleted", 0) > 0, work.counts
