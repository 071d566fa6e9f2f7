"""bodies.py - records of the partnership domain: bodies, creators, and a small world of them.

The *_body builders return a valid body with unique names (keyword arguments override or add
fields); the make_* creators send it through the API as a given token and check the 201;
full_*_body builders also make, through the API, the records the body refers to. World is the
set of records the access tests act on.
"""

from support.checks import describe, uniq
from support.principals import bearer


def create(client, token, path, body, expect=201):
    """POST body to path as token; the answer must be `expect`; returns its JSON."""
    r = client.post(path, json=body, headers=bearer(token))
    assert r.status_code == expect, f"POST {path} {body}: {describe(r)}"
    return r.json()


# ---------------------------------------------------------------- bodies


def organization_body(**over):
    return {"name": "Organization " + uniq(), "kind": "association", **over}


def ministry_body(**over):
    return {"name": "Public body " + uniq(), "kind": "ministry", **over}


def partnership_type_body(**over):
    code = uniq("type-")
    return {"code": code, "name": "Type " + code, **over}


def partnership_body(type_id, ministry_id, org_ids, **over):
    """A partnership of these organizations (the first one leads)."""
    return {"title": "Partnership " + uniq(), "type_id": type_id, "ministry_id": ministry_id,
            "organizations": [{"organization_id": o, "role": "lead" if i == 0 else "partner"}
                              for i, o in enumerate(org_ids)], **over}


def monitoring_body(partnership_id, **over):
    return {"partnership_id": partnership_id, "period_start": "2024-01-01",
            "period_end": "2024-06-30", "indicator": "Indicator " + uniq(), **over}


def charter_body(**over):
    return {"kind": "partnership", "title": "Charter " + uniq(), **over}


def signature_body(party_type, party_id, **over):
    return {"party_type": party_type, "party_id": party_id, "signed_on": "2024-03-01", **over}


def full_partnership_body(client, token, organizations=None, **over):
    """A valid partnership body; makes a public body, a type and an organization unless given."""
    if "ministry_id" not in over:
        over["ministry_id"] = make_ministry(client, token)["id"]
    if "type_id" not in over:
        over["type_id"] = make_partnership_type(client, token)["id"]
    if organizations is None:
        organizations = [{"organization_id": make_organization(client, token)["id"],
                          "role": "lead"}]
    return {"title": "Partnership " + uniq(), "organizations": organizations, **over}


def full_monitoring_body(client, token, **over):
    """A valid monitoring record body; makes its partnership unless given."""
    if "partnership_id" not in over:
        over["partnership_id"] = make_partnership(client, token)["id"]
    over = {"period_end": "2024-03-31", **over}
    return monitoring_body(over.pop("partnership_id"), **over)


# ---------------------------------------------------------------- creators


def make_organization(client, token, **over):
    return create(client, token, "/v1/organizations", organization_body(**over))


def make_ministry(client, token, **over):
    return create(client, token, "/v1/ministries", ministry_body(**over))


def make_partnership_type(client, token, **over):
    return create(client, token, "/v1/partnership-types", partnership_type_body(**over))


def make_partnership(client, token, organizations=None, **over):
    return create(client, token, "/v1/partnerships",
                  full_partnership_body(client, token, organizations, **over))


def make_charter(client, token, **over):
    return create(client, token, "/v1/charters", charter_body(**over))


def make_signatory(client, token, charter_id, party_type="organization", party_id=None, **over):
    if party_id is None:
        party_id = (make_organization(client, token) if party_type == "organization"
                    else make_ministry(client, token))["id"]
    return create(client, token, f"/v1/charters/{charter_id}/signatories",
                  signature_body(party_type, party_id, **over))


def make_monitoring_record(client, token, **over):
    return create(client, token, "/v1/monitoring-records",
                  full_monitoring_body(client, token, **over))


def list_all(client, path, params=None, headers=None, limit=200, max_pages=50):
    """Every record of a list, following next_cursor (bounded); returns the records."""
    params = dict(params or {})
    params["limit"] = str(limit)
    out = []
    for _ in range(max_pages):
        r = client.get(path, params=params, headers=headers)
        assert r.status_code == 200, describe(r)
        page = r.json()
        out.extend(page["data"])
        if page["next_cursor"] is None:
            return out
        params["cursor"] = page["next_cursor"]
    raise AssertionError(f"{path} {params}: more than {max_pages} pages")


def org_ids(partnership):
    return [o["organization_id"] for o in partnership["organizations"]]


# ---------------------------------------------------------------- the world of the access tests


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
        self.A = create(c, t, "/v1/organizations", organization_body(email="a@org.test"))
        self.B = create(c, t, "/v1/organizations", organization_body())
        self.T = create(c, t, "/v1/partnership-types", partnership_type_body())
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
            self.Porg = create(c, partner.token, "/v1/organizations", organization_body())
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
