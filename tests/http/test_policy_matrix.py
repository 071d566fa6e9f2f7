"""The access policy, cell by cell: every role x action x scope of `sharaka help policy`, tried.

The rules come from the binary itself (`sharaka help policy`: resource, action, role, scope).
For each resource and action the policy names, and for each of six principals (anonymous, an
analyst, an editor bound to organization A, an editor bound to ministry M, a partner key of
source `annd`, an admin), the test picks records in and out of the principal's scope by a model
of the scopes in DESIGN.md, sends the real request and checks the answer:

  - a rule whose scope holds (or is `any`)  -> the operation's 2xx;
  - no rule                                 -> 401 with WWW-Authenticate: Bearer for anonymous
                                               callers, 403 for everyone else;
  - a rule whose scope fails                -> 403;
  - after every refused write the row is as it was (version, updated_at, every column), no
    row was added, and the audit log did not grow; every allowed write adds one audit row.

The matrix is printed at the end of the run; the test fails listing every cell that differs.
"""

from dataclasses import dataclass
from typing import Callable

import pytest

from support.bodies import (charter_body, create, ministry_body, monitoring_body, org_ids,
                            organization_body, partnership_body, partnership_type_body,
                            signature_body, World)
from support.checks import describe, uniq
from support.principals import PASSWORD, bearer, key_id, Principal

ROLES = ("anonymous", "analyst", "editor-org", "editor-ministry", "partner", "admin")
ROLE_OF = {"editor-org": "editor", "editor-ministry": "editor"}
ACTIONS = ("read", "create", "update", "delete", "verify")
SUCCESS = {"read": 200, "create": 201, "update": 200, "delete": 204, "verify": 200}
# The scopes by which a principal is "related" to a record: a role without a rule is tried on
# such a record (its own organization, its own source's record...), the strongest refusal.
RELATED = ("own-organization", "own-ministry", "party", "partnership-party", "own-party-signature", "same-source")


# ---------------------------------------------------------------- the policy


def read_policy(cli):
    """{(resource, action, role): scope} from `sharaka help policy`."""
    proc = cli.run("help", "policy")
    assert proc.returncode == 0, f"sharaka help policy exited {proc.returncode}: {proc.stderr}"
    policy = {}
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        assert len(parts) == 4, f"policy line is not resource, action, role, scope: {line!r}"
        resource, action, role, scope = parts
        assert (resource, action, role) not in policy, f"two rules for {line!r}"
        policy[(resource, action, role)] = scope
    assert policy, "sharaka help policy printed no rules"
    return policy


def party_of(p, ministry_id, organization_ids):
    return bool((p.ministry and p.ministry == ministry_id)
                or (p.org and p.org in organization_ids))


def in_scope(scope, p, t):
    """The model of DESIGN.md's scopes: is target t (a dict of attributes) within p's scope?

    t holds what the scope looks at: id, source, ministry_id and org_ids (a partnership),
    partnership (a monitoring record's partnership, as such a dict), party_type and party_id
    (a signature).
    """
    if scope == "any":
        return True
    if scope == "own-organization":
        return bool(p.org) and t.get("id") == p.org
    if scope == "own-ministry":
        return bool(p.ministry) and t.get("id") == p.ministry
    if scope == "party":
        return party_of(p, t.get("ministry_id"), t.get("org_ids", ()))
    if scope == "partnership-party":
        q = t.get("partnership")
        return q is not None and party_of(p, q["ministry_id"], q["org_ids"])
    if scope == "partnership-ministry":
        q = t.get("partnership")
        return q is not None and bool(p.ministry) and q["ministry_id"] == p.ministry
    if scope == "own-party-signature":
        mine = p.org if t.get("party_type") == "organization" else p.ministry
        return bool(mine) and t.get("party_id") == mine
    if scope == "same-source":
        return bool(p.source) and t.get("source") == p.source
    if scope == "not-own-role":
        return t.get("id") != p.sub
    raise KeyError(f"the policy names scope {scope!r}, which the access tests do not model")


@dataclass
class Req:
    method: str
    path: str
    body: dict = None
    table: str = None       # the table a write touches
    row_id: str = None      # the row an update, delete or verify touches


@dataclass
class Target:
    label: str
    attrs: Callable         # principal -> dict of what the scopes look at
    request: Callable       # (principal, allowed) -> Req
    success: int = None     # the status of an allowed request, when not SUCCESS[action]


@dataclass
class Cell:
    resource: str
    action: str
    principal: str
    case: str               # any, in, out, or "-" (no rule)
    target: str
    expected: int
    got: int = None
    problems: tuple = ()


# ---------------------------------------------------------------- the setting


class Setting:
    """The shared ctx, the world the matrix acts on, and its principals."""

    def __init__(self, ctx, world, principals):
        self.ctx = ctx
        self.client = ctx.client
        self.cli = ctx.cli
        self.db = ctx.db
        self.w = world
        self.p = principals
        self.admin = principals["admin"]
        self.partner = principals["partner"]
        self.other_user = principals["other-user"]

    def by(self, source):
        """Who makes a fresh record of this source: the partner for its own, else the admin."""
        return self.partner if source == self.partner.source else self.admin

    def fresh_key_id(self):
        return key_id(self.db, self.ctx.add_key("partner", "matrix"))

    def add_user(self, role, **kw):
        return self.ctx.add_user(role, **kw)


def rec(r):
    """The scope attributes of a record from the API."""
    return {"id": r["id"], "source": r.get("source"), "ministry_id": r.get("ministry_id"),
            "org_ids": org_ids(r) if "organizations" in r else [],
            "party_type": r.get("party_type"), "party_id": r.get("party_id")}


def const(attrs):
    return lambda p: attrs


def targets_for(ctx, resource, action):
    """The records (or bodies) a (resource, action) is tried on; None if the test knows none."""
    w, c = ctx.w, ctx

    def text():
        return "matrix " + uniq()

    def simple(resource_path, table, records, make_fresh, patch):
        """read/create/update/delete of a top-level resource without scope-bearing bodies."""
        if action == "read":
            r0 = records[0][1]
            return [Target(records[0][0], const(rec(r0)),
                           lambda p, ok: Req("GET", f"{resource_path}/{r0['id']}"))]
        if action == "update":
            return [Target(label, const(rec(r)),
                           lambda p, ok, r=r: Req("PATCH", f"{resource_path}/{r['id']}", patch(),
                                                  table, r["id"]))
                    for label, r in records]
        if action == "delete":
            def delete(p, ok, r):
                target = make_fresh(r) if ok else r
                return Req("DELETE", f"{resource_path}/{target['id']}", None, table, target["id"])
            return [Target(label, const(rec(r)), lambda p, ok, r=r: delete(p, ok, r))
                    for label, r in records]
        return None

    if resource == "organizations":
        if action == "create":
            return [Target("new", const({}), lambda p, ok: Req(
                "POST", "/v1/organizations", organization_body(), "organizations"))]
        return simple("/v1/organizations", "organizations",
                      [("org A", w.A), ("org B", w.B), ("partner's org", w.Porg)],
                      lambda r: create(c.client, c.by(r["source"]).token, "/v1/organizations",
                                       organization_body()),
                      lambda: {"description": text()})
    if resource == "ministries":
        if action == "create":
            return [Target("new", const({}), lambda p, ok: Req(
                "POST", "/v1/ministries", ministry_body(), "ministries"))]
        return simple("/v1/ministries", "ministries", [("ministry M", w.M), ("ministry N", w.N)],
                      lambda r: create(c.client, c.admin.token, "/v1/ministries",
                                       ministry_body()),
                      lambda: {"acronym": uniq("X")[:10].upper()})
    if resource == "partnership-types":
        if action == "create":
            return [Target("new", const({}), lambda p, ok: Req(
                "POST", "/v1/partnership-types", partnership_type_body(), "partnership_types"))]
        return simple("/v1/partnership-types", "partnership_types", [("type T", w.T)],
                      lambda r: create(c.client, c.admin.token, "/v1/partnership-types",
                                       partnership_type_body()),
                      lambda: {"description": text()})
    if resource == "charters":
        if action == "create":
            return [Target("new", const({}), lambda p, ok: Req(
                "POST", "/v1/charters", charter_body(), "charters"))]
        return simple("/v1/charters", "charters", [("charter C", w.C)],
                      lambda r: create(c.client, c.admin.token, "/v1/charters", charter_body()),
                      lambda: {"summary": text()})
    if resource == "partnerships":
        records = [("P(N; A)", w.P_A), ("P(M; B)", w.P_M), ("P(N; B)", w.P_other),
                   ("partner's P(N; B)", w.P_partner)]
        if action == "create":
            bodies = [("with A", w.N, [w.A]), ("with M", w.M, [w.B]), ("N with B", w.N, [w.B])]
            return [Target(label, const({"ministry_id": m["id"], "org_ids": [o["id"] for o in os]}),
                           lambda p, ok, m=m, os=os: Req(
                               "POST", "/v1/partnerships",
                               partnership_body(w.T["id"], m["id"], [o["id"] for o in os]),
                               "partnerships"))
                    for label, m, os in bodies]

        def fresh(r):
            return create(c.client, c.by(r["source"]).token, "/v1/partnerships",
                          partnership_body(w.T["id"], r["ministry_id"], org_ids(r)))
        return simple("/v1/partnerships", "partnerships", records, fresh,
                      lambda: {"description": text()})
    if resource == "monitoring-records":
        on = {w.P_A["id"]: w.P_A, w.P_M["id"]: w.P_M, w.P_other["id"]: w.P_other}
        records = [("on P(N; A)", w.mr_A), ("on P(M; B)", w.mr_M), ("on P(N; B)", w.mr_other),
                   ("partner's, on P(N; B)", w.mr_partner)]

        def attrs(r):
            return const({"id": r["id"], "source": r["source"],
                          "partnership": rec(on[r["partnership_id"]])})

        def fresh(r):
            return create(c.client, c.by(r["source"]).token, "/v1/monitoring-records",
                          monitoring_body(r["partnership_id"]))
        if action == "read":
            return [Target(records[0][0], attrs(w.mr_A),
                           lambda p, ok: Req("GET", f"/v1/monitoring-records/{w.mr_A['id']}"))]
        if action == "create":
            return [Target(label, const({"partnership": rec(q)}),
                           lambda p, ok, q=q: Req("POST", "/v1/monitoring-records",
                                                  monitoring_body(q["id"]), "monitoring_records"))
                    for label, q in (("on P(N; A)", w.P_A), ("on P(M; B)", w.P_M),
                                     ("on P(N; B)", w.P_other))]
        if action in ("update", "delete", "verify"):
            def req(p, ok, r):
                if action == "update":
                    return Req("PATCH", f"/v1/monitoring-records/{r['id']}",
                               {"findings": text()}, "monitoring_records", r["id"])
                target = fresh(r) if ok else r
                if action == "delete":
                    return Req("DELETE", f"/v1/monitoring-records/{target['id']}", None,
                               "monitoring_records", target["id"])
                return Req("PATCH", f"/v1/monitoring-records/{target['id']}",
                           {"status": "verified"}, "monitoring_records", target["id"])
            return [Target(label, attrs(r), lambda p, ok, r=r: req(p, ok, r))
                    for label, r in records]
        return None
    if resource == "signatories":
        parties = [("for A", "organization", w.A), ("for B", "organization", w.B),
                   ("for M", "ministry", w.M), ("for N", "ministry", w.N)]
        base = f"/v1/charters/{w.C['id']}/signatories"
        if action == "read":
            s = w.sig["A"]
            return [Target("A's", const(rec(s)), lambda p, ok: Req("GET", f"{base}/{s['id']}"))]
        if action == "create":
            def sign(p, ok, kind, party):
                charter = create(c.client, c.admin.token, "/v1/charters", charter_body())
                return Req("POST", f"/v1/charters/{charter['id']}/signatories",
                           signature_body(kind, party["id"]), "charter_signatories")
            return [Target(label, const({"party_type": kind, "party_id": party["id"]}),
                           lambda p, ok, kind=kind, party=party: sign(p, ok, kind, party))
                    for label, kind, party in parties]
        if action == "update":
            return [Target(label.replace("for ", "") + "'s", const(rec(w.sig[label[-1]])),
                           lambda p, ok, s=w.sig[label[-1]]: Req(
                               "PATCH", f"{base}/{s['id']}", {"signed_by": text()},
                               "charter_signatories", s["id"]))
                    for label, _, _ in parties]
        return None
    if resource == "me" and action == "read":
        return [Target("self", const({}), lambda p, ok: Req("GET", "/v1/auth/me"))]
    if resource == "password" and action == "update":
        # one's own password: the principal's is PASSWORD until this (its only) cell changes it
        return [Target("own", const({}), lambda p, ok: Req(
            "POST", "/v1/auth/password",
            {"current_password": PASSWORD, "new_password": PASSWORD + "-changed"},
            "users" if p.sub and p.role != "partner" else None,
            p.sub if p.sub and p.role != "partner" else None), success=204)]
    if resource == "changes" and action == "read":
        return [Target("feed", const({}), lambda p, ok: Req("GET", "/v1/changes?limit=1"))]
    if resource == "stats" and action == "read":
        return [Target("partnerships", const({}),
                       lambda p, ok: Req("GET", "/v1/stats/partnerships?group_by=status"))]
    if resource == "exports" and action == "read":
        return [Target("organizations", const({}), lambda p, ok: Req(
            "GET", f"/v1/exports/organizations.ndjson?id={w.A['id']}"))]
    if resource == "audit-log" and action == "read":
        return [Target("list", const({}), lambda p, ok: Req("GET", "/v1/audit-log?limit=1"))]
    if resource == "users":
        if action == "read":
            return [Target("list", const({}), lambda p, ok: Req("GET", "/v1/users?limit=1"))]
        if action == "create":
            return [Target("new", const({}), lambda p, ok: Req(
                "POST", "/v1/users", {"email": f"{uniq('u')}@access.test", "password": PASSWORD,
                                      "role": "analyst"}, "users"))]
        if action == "update":
            def self_id(p):
                return p.sub if p.email else ctx.other_user.sub

            def patch_self(p, ok):
                role = "analyst" if p.role == "admin" else "admin"
                return Req("PATCH", f"/v1/users/{self_id(p)}", {"role": role}, "users", self_id(p))

            def patch_other(p, ok):
                uid = ctx.other_user.sub
                if ok:
                    uid = ctx.add_user("analyst").sub
                return Req("PATCH", f"/v1/users/{uid}", {"role": "admin"}, "users", uid)
            return [Target("own role", lambda p: {"id": self_id(p)}, patch_self),
                    Target("another's role", const({"id": ctx.other_user.sub}), patch_other)]
        return None
    if resource == "webhooks":
        # The shared server sends no deliveries (SHARAKA_WEBHOOK_CONCURRENCY=0): a public
        # address literal is stored and never called.
        url = "https://93.184.215.14/hooks"

        def standing(owner):
            key = "webhook-" + (owner.source or "office")
            if key not in c.p:
                r = c.client.post("/v1/webhooks", json={"url": url}, headers=bearer(owner.token))
                assert r.status_code == 201, describe(r)
                c.p[key] = r.json()["id"]
            return c.p[key]

        def own_of(p):
            return {"source": p.source}

        office = {"source": None}
        if action == "read":
            return [Target("own list", own_of, lambda p, ok: Req("GET", "/v1/webhooks")),
                    Target("the office's", const(office), lambda p, ok: Req(
                        "GET", f"/v1/webhooks/{standing(c.admin)}"))]
        if action == "create":
            return [Target("new", own_of, lambda p, ok: Req(
                "POST", "/v1/webhooks", {"url": url}, "webhooks"))]
        if action == "update":
            def patch(owner):
                def make(p, ok):
                    wid = standing(owner)
                    return Req("PATCH", f"/v1/webhooks/{wid}", {"description": text()},
                               "webhooks", wid)
                return make
            return [Target("its source's", const({"source": c.partner.source}), patch(c.partner)),
                    Target("the office's", const(office), patch(c.admin))]
        if action == "delete":
            def remove(owner, fresh):
                def make(p, ok):
                    wid = standing(owner)
                    if ok and fresh:
                        r = c.client.post("/v1/webhooks", json={"url": url},
                                          headers=bearer(owner.token))
                        wid = r.json()["id"]
                    return Req("DELETE", f"/v1/webhooks/{wid}", None, "webhooks", wid)
                return make
            return [Target("its source's", const({"source": c.partner.source}),
                           remove(c.partner, True)),
                    Target("the office's", const(office), remove(c.admin, False))]
        return None
    if resource == "api-keys":
        if action == "read":
            return [Target("list", const({}), lambda p, ok: Req("GET", "/v1/api-keys?limit=1"))]
        if action == "create":
            return [Target("new", const({}), lambda p, ok: Req(
                "POST", "/v1/api-keys", {"name": uniq("key"), "role": "partner",
                                         "source": "matrix"}, "api_keys"))]
        if action == "delete":
            def revoke(p, ok):
                kid = c.fresh_key_id() if ok else c.p["spare-key"]
                return Req("DELETE", f"/v1/api-keys/{kid}", None, "api_keys", kid)
            return [Target("a key", const({"id": c.p["spare-key"]}), revoke)]
        return None
    return None


# ---------------------------------------------------------------- generating the cells


def cases_for(policy, resource, action, principal, targets):
    """[(case, target, expected status)] for one principal, by the policy and the scope model."""
    scope = policy.get((resource, action, principal.role))
    if scope is None:
        related = [t for t in targets
                   if any(in_scope(s, principal, t.attrs(principal)) for s in RELATED)]
        t = (related or targets)[0]
        return [("-", t, 401 if principal.role == "anonymous" else 403)]
    if scope == "any":
        return [("any", targets[0], targets[0].success or SUCCESS[action])]
    inside = [t for t in targets if in_scope(scope, principal, t.attrs(principal))]
    outside = [t for t in targets if not in_scope(scope, principal, t.attrs(principal))]
    cases = []
    if inside:
        cases.append(("in", inside[0], inside[0].success or SUCCESS[action]))
    if outside:
        cases.append(("out", outside[0], 403))
    return cases


def snapshot(ctx, req):
    s = {"audit": ctx.db.audit_count()}
    if req.table is not None:
        s["count"] = ctx.db.count(req.table)
    if req.row_id is not None:
        s["row"] = ctx.db.row(req.table, req.row_id)
    return s


def run_cell(ctx, cell, principal, target):
    allowed = cell.expected < 300
    problems = []
    req = target.request(principal, allowed)
    before = snapshot(ctx, req)
    r, violation = ctx.client.try_request(req.method, req.path, json=req.body,
                                          headers=bearer(principal.token))
    after = snapshot(ctx, req)
    cell.got = r.status_code
    if violation:
        problems.append(f"spec: {violation}")
    if r.status_code != cell.expected:
        problems.append(f"{req.method} {req.path} answered {r.status_code}: {r.text[:200]}")
    elif not allowed:
        ct = (r.headers.get("Content-Type") or "").split(";")[0]
        if ct != "application/problem+json":
            problems.append(f"refusal is {ct!r}, not application/problem+json")
        challenge = r.headers.get("WWW-Authenticate", "")
        if cell.expected == 401 and not challenge.startswith("Bearer"):
            problems.append(f"401 without WWW-Authenticate: Bearer ({challenge!r})")
    write = req.method != "GET"
    if write and not (allowed and r.status_code == cell.expected):
        if after["audit"] != before["audit"]:
            problems.append(f"refused write added {after['audit'] - before['audit']} audit row(s)")
        if after.get("count") != before.get("count"):
            problems.append(f"refused write changed the row count of {req.table}")
        if after.get("row") != before.get("row"):
            problems.append(f"refused write changed {req.table} {req.row_id}")
    elif write and after["audit"] != before["audit"] + 1:
        problems.append(f"allowed write added {after['audit'] - before['audit']} audit rows, "
                        "not 1")
    elif not write and after["audit"] != before["audit"]:
        problems.append("a read added audit rows")
    cell.problems = tuple(problems)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def setting(ctx):
    admin, partner = ctx.add_user("admin"), ctx.add_partner("annd")
    world = World(ctx.client, admin, partner)
    principals = {
        "anonymous": Principal("anonymous", "anonymous"),
        "analyst": ctx.add_user("analyst"),
        "editor-org": ctx.add_user("editor", org=world.A["id"], name="editor-org"),
        "editor-ministry": ctx.add_user("editor", ministry=world.M["id"], name="editor-ministry"),
        "partner": partner,
        "admin": admin,
        "other-user": ctx.add_user("analyst", name="other-user"),
    }
    principals["spare-key"] = key_id(ctx.db, ctx.add_key("partner", "matrix"))
    return Setting(ctx, world, principals)


class MatrixReport:
    """Writes the matrix into pytest's terminal summary."""

    def __init__(self, lines):
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "access policy matrix (expected/answered)")
        for line in self.lines:
            terminalreporter.write_line(line)


def render(cells):
    """One line per resource and action; one column per principal: case:status."""
    width = 22
    head = f"{'resource action':<30}" + "".join(f"{p:<{width}}" for p in ROLES)
    lines = [head, "-" * len(head)]
    keys = []
    for c in cells:
        if (c.resource, c.action) not in keys:
            keys.append((c.resource, c.action))
    for resource, action in keys:
        row = f"{resource + ' ' + action:<30}"
        for p in ROLES:
            parts = []
            for c in cells:
                if (c.resource, c.action, c.principal) != (resource, action, p):
                    continue
                mark = "" if not c.problems else "!"
                got = c.got if c.got == c.expected else f"{c.expected}>{c.got}"
                parts.append(f"{c.case}:{got}{mark}" if c.case != "any" else f"{got}{mark}")
            row += f"{' '.join(parts):<{width}}"
        lines.append(row.rstrip())
    lines.append("cells: 'in'/'out' = record in/out of the rule's scope, '-' = no rule; "
                 "'E>G' = expected E, answered G; '!' = mismatch")
    return lines


# ---------------------------------------------------------------- the test


def test_every_role_action_and_scope_of_the_policy_gets_the_answer_it_prescribes(
        setting, cli, request):
    policy = read_policy(cli)
    pairs = []
    for (resource, action, _role) in policy:
        assert action in ACTIONS, f"the policy names action {action!r}, unknown to this test"
        if (resource, action) not in pairs:
            pairs.append((resource, action))
    roles_in_policy = {role for (_, _, role) in policy}
    assert roles_in_policy <= {"anonymous", "analyst", "editor", "partner", "admin"}, \
        roles_in_policy

    principals = {name: setting.p[name] for name in ROLES}
    cells, missing = [], []
    for resource, action in pairs:
        targets = targets_for(setting, resource, action)
        if not targets:
            missing.append(f"{resource} {action}")
            continue
        for name in ROLES:
            principal = principals[name]
            for case, target, expected in cases_for(policy, resource, action, principal,
                                                    targets):
                cell = Cell(resource, action, name, case, target.label, expected)
                try:
                    run_cell(setting, cell, principal, target)
                except Exception as e:  # noqa: BLE001 - a cell's failure is reported, not fatal
                    cell.problems = (f"{type(e).__name__}: {str(e)[:300]}",)
                cells.append(cell)

    lines = render(cells)
    request.config.pluginmanager.register(MatrixReport(lines), "sharaka-access-matrix")

    bad = [c for c in cells if c.problems]
    listing = "\n".join(
        f"  {c.resource} {c.action} as {c.principal} [{c.case}: {c.target}] expected "
        f"{c.expected}, got {c.got}: {'; '.join(c.problems)}" for c in bad)
    assert not missing, f"no request known for policy entries: {missing}"
    assert not bad, f"{len(bad)} of {len(cells)} cells differ from the policy:\n{listing}"
    # Every scoped rule was tried both on a record in its scope and on one outside it.
    untried = []
    for (resource, action, role), scope in policy.items():
        if scope == "any":
            continue
        cases = {c.case for c in cells if (c.resource, c.action) == (resource, action)
                 and principals[c.principal].role == role}
        if not {"in", "out"} <= cases:
            untried.append(f"{resource} {action} {role} {scope}: tried {sorted(cases)}")
    assert not untried, "scoped rules not tried both ways:\n" + "\n".join(untried)
