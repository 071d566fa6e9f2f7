"""The OpenAPI document's resource parts come from the descriptors: every field, filter, operator,
sort key and relation a descriptor declares is in the merged spec, and a field added to a
descriptor reaches it with no edit of the prose."""

import copy
import json
import re
import sys

from support.config import REPO, SPEC_PATH

sys.path.insert(0, str(REPO / "scripts"))
import gen_spec  # noqa: E402

DESCRIPTORS_PATH = SPEC_PATH.parent / "descriptors.json"


def _load():
    with open(SPEC_PATH, encoding="utf-8") as f:
        spec = json.load(f)
    with open(DESCRIPTORS_PATH, encoding="utf-8") as f:
        descriptors = json.load(f)
    return spec, descriptors


def _prose(name):
    return gen_spec.load_yaml(REPO / "openapi" / "resources" / f"{name}.yaml")


def _list_parameters(spec, path):
    params = spec["paths"][path]["get"]["parameters"]
    return {p["name"]: p for p in params if "name" in p}


def test_every_descriptor_field_filter_and_sort_key_is_in_the_spec():
    spec, descriptors = _load()
    schemas = spec["components"]["schemas"]
    for d in descriptors["resources"]:
        prose = _prose(d["name"])
        read = schemas[prose["schema"]]["properties"]
        visible = [f["name"] for f in d["fields"] if f["visible"]]
        assert set(visible) <= set(read), d["name"]
        if "list" not in prose["operations"]:
            continue
        path = (f"{d['parent_path']}{{id}}/{d['name']}" if d.get("parent_path")
                else f"/v1/{d['name']}")
        params = _list_parameters(spec, path)
        for f in d["fields"]:
            if f["filter"]:
                for op in f["filter"]["ops"]:
                    name = f["filter"]["name"] + ("" if op == "eq" else "." + op)
                    assert name in params, f"{d['name']}: filter {name} is not in the spec"
        filters = {n.split(".")[0] for n in params} - {"sort", "fields", "include"}
        declared = {f["filter"]["name"] for f in d["fields"] if f["filter"]}
        assert filters == declared, d["name"]
        assert params["fields"]["schema"]["items"]["enum"] == visible
        sort_keys = [f["name"] for f in d["fields"] if f["sort"]]
        sort = params["sort"]["schema"]
        for key in sort_keys:
            for given in (key, "-" + key):
                if "enum" in sort:  # the audit log's one key, spelled out
                    assert given in sort["enum"], (d["name"], given)
                else:
                    assert re.match(sort["pattern"], given), (d["name"], given)
        assert params["sort"]["schema"]["default"] == d["default_sort"]
        includes = [i["name"] for i in d["includes"]]
        if includes:
            assert params["include"]["schema"]["items"]["enum"] == includes
        else:
            assert "include" not in params


def test_users_can_be_filtered_by_organization_as_the_server_allows():
    spec, _ = _load()
    params = _list_parameters(spec, "/v1/users")
    assert params["organization_id"]["schema"]["items"]["format"] == "uuid"
    assert params["organization_id.null"]["schema"] == {"type": "boolean"}


def test_a_field_added_to_a_descriptor_reaches_the_spec_without_a_prose_edit(tmp_path):
    _, descriptors = _load()
    changed = copy.deepcopy(descriptors)
    orgs = next(d for d in changed["resources"] if d["name"] == "organizations")
    template = next(f for f in orgs["fields"] if f["name"] == "district")
    added = copy.deepcopy(template)
    added.update(name="motto", max=120, sort=True, sort_public=True,
                 filter={"name": "motto", "ops": ["eq", "null"], "public": True})
    orgs["fields"].insert(-4, added)
    path = tmp_path / "descriptors.json"
    path.write_text(json.dumps(changed), encoding="utf-8")

    doc = gen_spec.merged_document(str(path), str(REPO / "openapi"))

    schemas = doc["components"]["schemas"]
    assert schemas["Organization"]["properties"]["motto"] == {
        "type": ["string", "null"], "maxLength": 120}
    for name in ("OrganizationCreate", "OrganizationPatch", "OrganizationBatchItem"):
        assert schemas[name]["properties"]["motto"] == {
            "type": ["string", "null"], "maxLength": 120, "minLength": 1}
    params = {p["name"]: p for p in doc["paths"]["/v1/organizations"]["get"]["parameters"]
              if "name" in p}
    assert params["motto"]["schema"] == {"type": "array",
                                         "items": {"type": "string", "maxLength": 500}}
    assert params["motto.null"]["schema"] == {"type": "boolean"}
    assert re.match(params["sort"]["schema"]["pattern"], "-motto")
    assert "motto" in params["fields"]["schema"]["items"]["enum"]
    get = doc["paths"]["/v1/organizations/{id}"]["get"]["parameters"]
    assert "motto" in next(p for p in get if p.get("name") == "fields")["schema"]["items"]["enum"]
