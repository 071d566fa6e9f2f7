"""access_helpers.py - principals, records and database probes for the access tests.

What the access tests share:
  - Psql: one psql process kept open, so that a test can look at the database after each
    request (a refused write must leave its row and the audit log as they were) in well under
    a millisecond instead of starting psql every time;
  - Client: the spec-checked HTTP client of conftest, with try_request() that hands back the
    answer together with the spec violation instead of raising, so that a table-driven test can
    report every cell;
  - principals (users made with `sharaka user add`, partner keys with `sharaka apikey create`)
    and the records of the domain, made through the API;
  - the policy as `sharaka help policy` prints it, and a model of its scopes.
"""

import hashlib
import json
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field

import requests
import requests.adapters

from checks import REQUEST_ID_RE
from openapi_check import SpecViolation
from pgcluster import clean_env
from testconfig import JWT_SECRET
from tokens import make_token
from checks import (ADMIN_TABLES, DOMAIN_TABLES, bearer, ministry_body,  # noqa: F401
                    monitoring_body, org_body, partnership_body, sql_str, type_body, uniq)

KEY_RE = re.compile(r"^sk_[A-Za-z0-9_-]{32,}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PASSWORD = "access tests password 1"

TABLES = {**DOMAIN_TABLES, **ADMIN_TABLES}


def describe(r):
    return f"{r.status_code} {r.headers.get('Content-Type')} {r.text[:800]}"


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the database


class Psql:
    """One psql process for a module; rows come back as text, one line per row."""

    def __init__(self, pg):
        argv = pg._argv("psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=0", "-h", pg.dir,
                        "-p", str(pg.port), "-U", "postgres", "-d", pg.dbname)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                     env=clean_env(), cwd=pg.dir, bufsize=1)
        self.marker = "--end-of-answer-" + uuid.uuid4().hex
        self.database = pg.url

    def lines(self, sql):
        self.proc.stdin.write(sql.strip().rstrip(";") + ";\n\\echo " + self.marker + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise RuntimeError(f"psql ended while answering {sql!r}: {out}")
            line = line.rstrip("\n")
            if line == self.marker:
                break
            out.append(line)
        errors = [x for x in out if x.startswith("ERROR:") or ": ERROR:" in x]
        if errors:
            raise RuntimeError(f"psql: {sql!r}: {' '.join(out)}")
        return out

    def value(self, sql):
        out = self.lines(sql)
        return out[0] if out else None

    def json(self, sql):
        v = self.value(sql)
        return json.loads(v) if v else None

    def count(self, table, where="true"):
        return int(self.value(f"SELECT count(*) FROM {table} WHERE {where}"))

    def row(self, table, record_id):
        """The whole row as a dict (without the search document and last_used_at), or None."""
        return self.json(f"SELECT to_jsonb(t) - 'search' - 'last_used_at' FROM {table} t "
                         f"WHERE id = {sql_str(record_id)}::uuid")

    def audit_count(self):
        return self.count("audit_log")

    def audit_rows_after(self, n):
        """The audit rows beyond the first n (in insertion order of `at`), as dicts."""
        return [json.loads(x) for x in self.lines(
            f"SELECT to_jsonb(a) FROM (SELECT * FROM audit_log ORDER BY at, id OFFSET {int(n)}) a")]

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - cleanup goes on
            self.proc.kill()


# ---------------------------------------------------------------- HTTP


def check_answer(checker, method, path, r):
    """What conftest's client checks: a sane X-Request-Id, and the answer against the spec."""
    rid = r.headers.get("X-Request-Id")
    assert rid and REQUEST_ID_RE.match(rid), (
        f"{method} {path} -> {r.status_code}: X-Request-Id {rid!r} missing or malformed")
    checker.check(method, path, r.status_code, r.headers, r.content)


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from a given local address (any of 127.0.0.0/8 reaches a server on 127.0.0.1)."""

    def __init__(self, address, **kw):
        self.address = address
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kw)


class Client:
    """A requests session bound to a server whose every answer is checked against the spec.

    from_address: the local address to connect from (e.g. 127.0.0.2), for per-address limits.
    """

    def __init__(self, server, checker, from_address=None):
        self.base_url = server.base_url
        self.checker = checker
        self.session = requests.Session()
        if from_address is not None:
            self.session.mount("http://", SourceAddressAdapter(from_address))

    def _send(self, method, path, kw):
        kw.setdefault("timeout", 10)
        kw.setdefault("allow_redirects", False)
        return self.session.request(method, self.base_url + path, **kw)

    def request(self, method, path, **kw):
        r = self._send(method, path, kw)
        check_answer(self.checker, method, path, r)
        return r

    def try_request(self, method, path, **kw):
        """(answer, None) or (answer, the spec violation as text): never raises on the spec."""
        r = self._send(method, path, kw)
        try:
            check_answer(self.checker, method, path, r)
        except (SpecViolation, AssertionError) as e:
            return r, " ".join(str(e).splitlines()[:2])[:400]
        return r, None

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def close(self):
        self.session.close()


def expect(r, status, what=""):
    assert r.status_code == status, f"{what}: expected {status}, got {describe(r)}"
    return r


def login(client, email, password=PASSWORD):
    r = client.post("/v1/auth/token", json={"email": email, "password": password})
    expect(r, 200, f"login {email}")
    return r.json()["access_token"]


def create(client, token, path, body):
    r = client.post(path, json=body, headers=bearer(token))
    expect(r, 201, f"POST {path} {body}")
    return r.json()


# ---------------------------------------------------------------- principals


@dataclass
class Principal:
    name: str                 # anonymous, analyst, editor-org, editor-ministry, partner, admin
    role: str                 # the role in the policy table
    token: str = None
    sub: str = None           # user id, or API key id
    email: str = None
    org: str = None
    ministry: str = None
    source: str = None
    extra: dict = field(default_factory=dict)

    @property
    def headers(self):
        return bearer(self.token)


_hash_cache = {}


def craft_token(p, ttl=900):
    """An HS256 access token for a user, as POST /v1/auth/token would issue it (the test
    servers' secret, issuer and audience): no password check, so no argon2 round."""
    now = int(time.time())
    claims = {"sub": p.sub, "role": p.role, "iat": now, "exp": now + ttl, "iss": "sharaka",
              "aud": "sharaka"}
    if p.org:
        claims["org"] = p.org
    if p.ministry:
        claims["ministry"] = p.ministry
    return make_token(claims, JWT_SECRET)


def add_user(cli, psql, role, org=None, ministry=None, name=None, email=None):
    """A user with password PASSWORD and a token: a Principal.

    The first user of a database is made with `sharaka user add`; the next ones get a copy of
    its argon2id hash straight in the table, which saves an argon2 round per user (they are
    the tests' principals, not what is tested).
    """
    email = email or f"{uniq(role)}@access.test"
    key = psql.database
    scope = ["--organization", org] if org else ["--ministry", ministry] if ministry else []
    cached = _hash_cache.get(key)
    if cached is None:
        proc = cli.user_add(email, role, PASSWORD, *scope)
        user_id = proc.stdout.strip().splitlines()[-1]
        _hash_cache[key] = psql.value(f"SELECT password_hash FROM users WHERE id = '{user_id}'")
    else:
        user_id = psql.value(
            "INSERT INTO users (email, password_hash, role, organization_id, ministry_id) "
            f"VALUES ({sql_str(email)}, {sql_str(cached)}, {sql_str(role)}, "
            f"{sql_str(org) + '::uuid' if org else 'NULL'}, "
            f"{sql_str(ministry) + '::uuid' if ministry else 'NULL'}) RETURNING id")
    assert user_id and UUID_RE.match(user_id), user_id
    p = Principal(name or role, role, None, user_id, email, org=org, ministry=ministry)
    p.token = craft_token(p)
    return p


def add_key(cli, role="partner", source="annd", name=None):
    """An API key made with `sharaka apikey create`: the key as printed once."""
    proc = cli.run("apikey", "create", "--name", name or uniq("key"), "--role", role,
                   "--source", source)
    assert proc.returncode == 0, f"apikey create exited {proc.returncode}: {proc.stderr}"
    key = proc.stdout.strip()
    assert KEY_RE.match(key), proc.stdout
    return key


def key_id(psql, key):
    """The id of an API key's row, found by the key's SHA-256 as the server stores it."""
    return psql.value(f"SELECT id FROM api_keys WHERE key_hash = {sql_str(sha256_hex(key))}")


def add_partner(cli, psql, source="annd", role="partner"):
    """A partner (or other role) API key made with `sharaka apikey create`: a Principal."""
    key = add_key(cli, role, source)
    kid = key_id(psql, key)
    assert kid, "the new key is not in api_keys under its SHA-256"
    return Principal("partner" if role == "partner" else f"{role}-key", role, key, kid,
                     source=source)


# ---------------------------------------------------------------- records (the common bodies are in checks.py)


def charter_body(**over):
    return {"kind": "partnership", "title": "Charter " + uniq(), **over}


def signature_body(party_type, party_id, **over):
    return {"party_type": party_type, "party_id": party_id, "signed_on": "2024-03-01", **over}


class World:
    """The records the access tests act on, made by an admin (and a partner where said).

    ministries M and N; organizations A and B, and P made by the partner; a partnership type T;
    partnerships P_A (N with A), P_M (M with B), P_other (N with B), P_partner (N with B, made by
    the partner); monitoring records on each (mr_partner made by the partner, on P_other);
    a charter C signed by A, B, M and N.
    """

    def __init__(self, client, admin, partner=None):
        self.client = client
        self.admin = admin
        self.partner = partner
        c, t = client, admin.token
        self.M = create(c, t, "/v1/ministries", ministry_body(email="m@ministry.test",
                                                             phone="+961 1 000001"))
        self.N = create(c, t, "/v1/ministries", ministry_body())
        self.A = create(c, t, "/v1/organizations", org_body(email="a@org.test"))
        self.B = create(c, t, "/v1/organizations", org_body())
        self.T = create(c, t, "/v1/partnership-types", type_body())
        self.P_A = self.partnership(self.N, [self.A])
        self.P_M = self.partnership(self.M, [self.B])
        self.P_other = self.partnership(self.N, [self.B])
        self.mr_A = self.monitoring(self.P_A)
        self.mr_M = self.monitoring(self.P_M)
        self.mr_other = self.monitoring(self.P_other)
        self.C = create(c, t, "/v1/charters", charter_body())
        self.sig = {}
        for label, party_type, party in (("A", "organization", self.A),
                                         ("B", "organization", self.B),
                                         ("M", "ministry", self.M), ("N", "ministry", self.N)):
            self.sig[label] = self.sign(self.C, party_type, party)
        if partner is not None:
            self.Porg = create(c, partner.token, "/v1/organizations", org_body())
            self.P_partner = self.partnership(self.N, [self.B], by=partner)
            self.mr_partner = self.monitoring(self.P_other, by=partner)

    def partnership(self, ministry, orgs, by=None, **over):
        body = partnership_body(self.T["id"], ministry["id"], [o["id"] for o in orgs], **over)
        return create(self.client, (by or self.admin).token, "/v1/partnerships", body)

    def monitoring(self, partnership, by=None, **over):
        return create(self.client, (by or self.admin).token, "/v1/monitoring-records",
                      monitoring_body(partnership["id"], **over))

    def sign(self, charter, party_type, party, by=None, **over):
        return create(self.client, (by or self.admin).token,
                      f"/v1/charters/{charter['id']}/signatories",
                      signature_body(party_type, party["id"], **over))


def org_ids(partnership):
    return [o["organization_id"] for o in partnership["organizations"]]


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
