"""A database that goes away gives 503 problems, never 500, and sharaka recovers by itself."""

import time

from support.checks import assert_problem

TOKEN = "/v1/auth/token"
CLOSE = {"Connection": "close"}  # a new connection each time, so every worker thread is hit


def _poll(api, path, want, tries=60, pause=0.1):
    """GET path until it answers `want`; returns the statuses seen (bounded)."""
    seen = []
    for _ in range(tries):
        r = api.get(path, headers=CLOSE)
        seen.append(r.status_code)
        if r.status_code == want:
            return seen
        time.sleep(pause)
    return seen


def test_readyz_follows_the_database_down_and_up_without_restart(pg_factory, cli_for,
                                                                 start_server, api_for):
    db = pg_factory()
    cli = cli_for(db.url)
    assert cli.run("migrate").returncode == 0
    cli.user_add("outage@test.example", "analyst", "outage password 1")
    login = {"email": "outage@test.example", "password": "outage password 1"}

    srv = start_server(SHARAKA_DATABASE_URL=db.url, SHARAKA_THREADS="2")
    api = api_for(srv)
    for _ in range(4):
        assert api.get("/readyz", headers=CLOSE).status_code == 200
        assert api.post(TOKEN, json=login, headers=CLOSE).status_code == 200

    db.stop()
    for _ in range(6):
        assert_problem(api.get("/readyz", headers=CLOSE), 503, instance="/readyz")
    for _ in range(4):
        assert_problem(api.post(TOKEN, json=login, headers=CLOSE), 503, instance=TOKEN)
    assert api.get("/healthz", headers=CLOSE).status_code == 200

    db.start()
    seen = _poll(api, "/readyz", 200)
    assert seen[-1] == 200, f"/readyz never came back: {seen}"
    assert set(seen) <= {200, 503}, seen
    for _ in range(6):
        assert api.get("/readyz", headers=CLOSE).status_code == 200
    r = api.post(TOKEN, json=login, headers=CLOSE)
    assert r.status_code == 200, r.text
    assert srv.running
