"""spec_resources.py - the resource parts of the OpenAPI document, made from the descriptors.

specgen (src/specgen.c) prints every resource descriptor as JSON: its fields with their JSON
Schema, flags and filter operators, its includes, its parent. From that and the prose of
openapi/resources/<name>.yaml this module makes, for each resource:

- the schemas: <Schema> (a record as read), <Schema>Create, <Schema>Patch, <Schema>List and,
  for resources with a batch operation, <Schema>Batch and <Schema>BatchItem;
- the operations (list, get, create, patch, delete, batch) with their parameters (limit, cursor,
  sort, fields, include, count, format, q and one filter per field and operator), request bodies
  and the response set every such operation has.

The prose says which operations a resource has, gives their summary and description, describes
each field once, and may override any generated part: an override is merged into what is made
here as a JSON merge patch (RFC 7386: objects merge, null removes a member, anything else
replaces); `parameters` overrides are keyed by the parameter's name.
"""

import copy

# RFC 3339 as values.c reads it: hours to 23, minutes to 59, a leap second, offsets to 14:59.
TIME_PATTERN = (r"^\d{4}-\d{2}-\d{2}([Tt ]([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?"
                r"([Zz]|[+-](0\d|1[0-4]):[0-5]\d)?)?$")
NUMBER_PATTERN = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
NUMBER_MAX = 1e15  # validate.c NUMBER_MAX
FILTER_VALUE_MAX = 500  # query.c FILTER_VALUE_MAX
# The types ne, gt, gte, lt and lte compare by order.
ORDERABLE_TYPES = ("date", "timestamp", "number", "decimal")
# How an eq parameter's description turns into its not_in one.
NEGATIONS = (("is one of these values", "is none of these values"),
             ("holds at least one of these values", "holds none of these values"),
             ("in which at least one of these", "in which none of these"))
BATCH_MAX = 1000

# What the fields every record has (include/sharaka/fields.h: FIELD_ID, FIELDS_COMMON) mean,
# unless the prose says otherwise; {noun} is the resource's `noun` (default: its singular).
COMMON_FIELD_DOCS = {
    "id": ("The {noun}'s id. Made by the server unless given on create (a partner may supply its "
           "own UUID); it never changes afterwards."),
    "source": ("Who the record came from: the source name of the partner API key that created "
               "it, such as `annd`, or `sharaka` for every other writer. Set by the server."),
    "version": ("Starts at 1 and grows by one with each change of the {noun}; the `ETag` is this "
                "number in quotes. Set by the server."),
    "created_at": "When the {noun} was created (RFC 3339, UTC). Set by the server.",
    "updated_at": "When the {noun} last changed (RFC 3339, UTC). Set by the server.",
}

STRING_TYPES = {"uuid", "text", "enum", "date", "timestamp", "decimal", "url", "email", "slug",
                "currency", "password"}
ARRAY_TYPES = {"tags", "enums", "urls", "sections", "links"}


class ProseError(Exception):
    """A problem with the prose or the descriptors, reported as one line."""


def merge_patch(target, patch):
    """RFC 7386: a copy of target with patch applied."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def ref(kind, name):
    return {"$ref": f"#/components/{kind}/{name}"}


def code_list(names):
    return ", ".join(f"`{n}`" for n in names)


# ---------------------------------------------------------------- schemas

def nullable(schema):
    """schema, also allowing null."""
    t = schema.get("type")
    if isinstance(t, str):
        schema["type"] = [t, "null"]
    if "enum" in schema:
        schema["enum"] = schema["enum"] + [None]
    return schema


def field_schema(f, variant, description, link_schemas=None):
    """The JSON Schema of field f in a record as read (variant "read") or in a create, patch or
    batch item body ("create", "patch"); link_schemas names the schemas of an FT_LINKS field's
    items, as read and as written."""
    write = variant != "read"
    s = copy.deepcopy(f["schema"])
    t = f["type"]
    if f.get("enum"):
        if t == "enums":
            s["items"]["enum"] = list(f["enum"])
        else:
            s["enum"] = list(f["enum"])
    if f.get("max") and t in STRING_TYPES and t not in ("currency", "password"):
        s["maxLength"] = f["max"]
    elif f.get("max") and t in ARRAY_TYPES:
        s["maxItems"] = f["max"]
    elif f.get("max") and t == "strmap":
        s["maxProperties"] = f["max"]
    if t == "uuid" and not write:
        s["pattern"] = UUID_PATTERN
    if t == "number" and f["name"] == "version" and f["readonly"]:
        s = {"type": "integer", "minimum": 1}  # the record's version counter
    if t == "number" and write:
        s["minimum"] = -NUMBER_MAX
        s["maximum"] = NUMBER_MAX
    if t == "text" and write:
        s["minLength"] = 1
    if t == "links":
        if not link_schemas:
            raise ProseError(f"{f['name']}: a link field needs link_schemas (read, write)")
        s["items"] = ref("schemas", link_schemas[1 if write else 0])
        if not write:
            s.pop("minItems", None)
    if t == "strmap" and variant == "patch":
        s["additionalProperties"]["type"] = ["string", "null"]
    if t == "password":
        s["format"] = "password"
        s["writeOnly"] = True
    if f["nullable"]:
        nullable(s)
    out = {}
    if "type" in s:
        out["type"] = s.pop("type")
    if description is not None:
        out["description"] = description
    out.update(s)
    return out


def writable(f, create):
    if f["readonly"] or f["parent"]:
        return False
    return create or not f["create_only"]


class Resource:
    """One descriptor with its prose."""

    def __init__(self, desc, prose, by_name):
        self.d = desc
        self.p = prose
        self.by_name = by_name
        self.name = desc["name"]
        self.schema = prose["schema"]
        self.plural = prose.get("plural", self.name.replace("-", " "))
        self.singular = prose.get("singular", desc["singular"])
        self.ident = self.name.replace("-", "_")
        self.ops = prose.get("operations", {})
        self.fields = [f for f in desc["fields"] if f["visible"]]  # as read
        self.inputs = desc["fields"]  # as written (a password too)
        for key in self.ops:
            if key not in ("list", "get", "create", "patch", "delete", "batch", "restore"):
                raise ProseError(f"{self.name}: unknown operation {key!r}")
        names = {f["name"] for f in desc["fields"]}
        for key in prose.get("fields", {}):
            if key not in names:
                raise ProseError(f"{self.name}: fields.{key}: no such field in the descriptor")

    def field_doc(self, f, variant):
        docs = self.p.get("fields", {})
        text = docs.get(f["name"])
        if text is None and f["name"] in COMMON_FIELD_DOCS:
            text = COMMON_FIELD_DOCS[f["name"]].format(noun=self.p.get("noun", self.singular))
        if variant == "patch":
            text = self.p.get("patch_fields", {}).get(f["name"], text)
            if text is not None and f["type"] in ("tags", "enums", "urls", "sections", "links"):
                text = text.rstrip() + " In a patch the whole list is replaced."
            elif text is not None and f["type"] == "strmap":
                text = text.rstrip() + " In a patch the object is merged: a scheme set to null is removed."
        return text  # None for a field the prose does not describe yet: it is still documented

    def link_schemas(self):
        link = self.p.get("link")
        return [link["schema"], link["schema"] + "Input"] if link else None

    def link_item_schemas(self):
        """The schemas of the items of the FT_LINKS field, as read and as written."""
        link, prose = self.d.get("link"), self.p.get("link")
        if not link:
            return {}
        if not prose:
            raise ProseError(f"{self.name}: the descriptor has a link table; describe it in `link`")
        target = self.by_name[link["target"]]
        docs = prose.get("fields", {})
        embed = next(i["name"] for i in self.d["includes"] if i.get("fk") is None)
        read_name, write_name = self.link_schemas()

        def item(write):
            key = {"description": docs.get(link["key"]), "type": "string", "format": "uuid"}
            if not write:
                key["pattern"] = UUID_PATTERN
            attribute = {"description": docs.get(link["attribute"]), "type": "string",
                         "enum": list(link["attribute_values"])}
            props = {link["key"]: key, link["attribute"]: attribute}
            if not write:
                props[target.singular] = {
                    "description": (f"The {target.singular}, embedded (present only with "
                                    f"`include={embed}`); null if it was deleted."),
                    "anyOf": [ref("schemas", target.schema), {"type": "null"}]}
            return {"type": "object", "description": prose.get("description"),
                    "required": [link["key"], link["attribute"]],
                    "additionalProperties": False, "properties": props}

        return {read_name: item(False), write_name: item(True)}

    def a_singular(self):
        return ("an " if self.singular[0] in "aeiou" else "a ") + self.singular

    # ------------------------------------------------------------ schemas

    def schemas(self):
        read_props = {f["name"]: field_schema(f, "read", self.field_doc(f, "read"),
                                               self.link_schemas())
                      for f in self.fields}
        for f in self.fields:
            if not f.get("translated"):
                continue
            shown = field_schema(f, "read", "", self.link_schemas())
            shown.pop("description", None)
            read_props["display_" + f["name"]] = dict(
                {"description": (f"`{f['name']}` in the language asked for (`lang` or "
                                 "`Accept-Language`) where it is given, else as given; present "
                                 "only when a language is asked for."),
                 "readOnly": True}, **shown)
        for inc in self.d["includes"]:
            if inc.get("fk") is None:
                continue  # embedded in the items of a list field, described with their schema
            target = self.by_name[inc["target"]]
            read_props[inc["name"]] = {
                "description": (f"The {target.singular}, embedded (present only with "
                                f"`include={inc['name']}`)."),
                "anyOf": [ref("schemas", target.schema), {"type": "null"}]}
        create_fields = [f for f in self.inputs if writable(f, True)]
        patch_fields = [f for f in self.inputs if writable(f, False)]
        required = [f["name"] for f in create_fields if f["required"]]
        readonly = [f["name"] for f in self.inputs if not writable(f, True)]
        fixed = [f["name"] for f in self.inputs if not writable(f, False)]
        out = self.link_item_schemas()
        out[self.schema] = {
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": read_props,
        }
        create = {
            "type": "object",
            "description": (f"A new {self.singular}. Required: {code_list(required)}. Read-only "
                            f"fields ({code_list(readonly)}) and unknown fields are rejected with "
                            "422."),
            "required": required,
            "additionalProperties": False,
            "properties": {},
        }
        for f in create_fields:
            s = field_schema(f, "create", self.field_doc(f, "create"), self.link_schemas())
            if f["name"] == "id":
                s = {"type": "string",
                     "description": "The id to give the record (a UUID); made by the server "
                                    "when left out.",
                     "format": "uuid"}
            create["properties"][f["name"]] = s
        if "create" in self.ops:
            out[self.schema + "Create"] = create
        patch = {
            "type": "object",
            "description": (f"Changes to {self.a_singular()}, as a JSON merge patch (RFC 7386): "
                            "fields left out keep their value, and `null` clears an optional "
                            f"field. Fields that cannot change ({code_list(fixed)}) and unknown "
                            "fields are rejected with 422."),
            "additionalProperties": False,
            "properties": {f["name"]: field_schema(f, "patch", self.field_doc(f, "patch"),
                                                    self.link_schemas())
                           for f in patch_fields},
        }
        if "patch" in self.ops:
            out[self.schema + "Patch"] = patch
        out[self.schema + "List"] = {
            "type": "object",
            "description": f"A page of {self.plural}.",
            "required": ["data", "next_cursor"],
            "additionalProperties": False,
            "properties": {
                "data": {"type": "array",
                         "description": f"The {self.plural} of this page, in order.",
                         "items": ref("schemas", self.schema)},
                "next_cursor": {"type": ["string", "null"],
                                "description": "Pass as `cursor` to get the next page; null on "
                                               "the last page."},
                "total": {"type": "integer", "minimum": 0,
                          "description": "How many records match the filters (with "
                                         "`count=true` only)."},
            },
        }
        if "batch" in self.ops:
            out[self.schema + "Batch"] = {
                "type": "object",
                "description": (f"Up to {BATCH_MAX} {self.plural} to create or update, all or "
                                "nothing."),
                "required": ["items"],
                "additionalProperties": False,
                "properties": {"items": {
                    "type": "array",
                    "description": "The items, in the order they are written.",
                    "minItems": 1,
                    "maxItems": BATCH_MAX,
                    "items": ref("schemas", self.schema + "BatchItem")}},
            }
            item = {
                "type": "object",
                "description": (f"One {self.singular} to create or update. An item that updates "
                                "an existing record is a merge patch: fields left out keep their "
                                "value and `null` clears an optional field. An item that creates "
                                "a record needs the fields required on create "
                                f"({code_list(required)}). Read-only and unknown fields are "
                                "rejected."),
                "additionalProperties": False,
                "properties": {"id": {
                    "type": "string",
                    "description": (f"The {self.singular} to update, when one has this id; "
                                    "otherwise the id the new record gets."),
                    "format": "uuid"}},
            }
            item["properties"].update(patch["properties"])
            out[self.schema + "BatchItem"] = item
        for name, override in self.p.get("schemas", {}).items():
            if name not in out:
                raise ProseError(f"{self.name}: schemas.{name}: not a schema of this resource")
            out[name] = merge_patch(out[name], override)
        return out

    # ------------------------------------------------------------ parameters

    def filter_parameters(self):
        params = []
        p = self.plural
        for f in self.fields:
            flt = f.get("filter")
            if not flt:
                continue
            name, t = flt["name"], f["type"]
            # The fields every record has filter the same way everywhere: "the records".
            noun = "records" if f["name"] in COMMON_FIELD_DOCS else p
            for op in flt["ops"]:
                params.append(self.filter_parameter(f, name, t, op, noun))
        return params

    def filter_parameter(self, f, name, t, op, p):
        fn = f"`{f['name']}`"
        if op == "null":
            return {"name": f"{name}.null", "in": "query",
                    "description": (f"`true`: only the {p} where {fn} is empty (null); `false`: "
                                    "only those where it is set."),
                    "schema": {"type": "boolean"}}
        if op in ("contains", "startswith"):
            how = "holds this text" if op == "contains" else "begins with this text"
            return {"name": f"{name}.{op}", "in": "query",
                    "description": (f"Only the {p} whose {fn} {how}, whatever the case, the "
                                    "accents and the Arabic letter forms (أ إ آ ٱ as ا, ة as ه, ى "
                                    "as ي, short vowels and tatweel ignored); `%` and `_` are "
                                    "plain characters here."),
                    "schema": {"type": "string", "minLength": 1,
                               "maxLength": FILTER_VALUE_MAX}}
        if op in ("eq", "not_in") or (op == "ne" and t not in ORDERABLE_TYPES):
            param = self.eq_parameter(f, name, t, p)
            if op == "eq":
                return param
            left_out = " Records without a value are left out." if f["nullable"] else ""
            if op == "not_in":
                negated = param["description"]
                for held, none in NEGATIONS:
                    negated = negated.replace(held, none)
                return dict(param, name=f"{name}.not_in", description=negated + left_out)
            if t == "strmap":
                text = f"Only the {p} without this `scheme:id` pair in {fn}."
            elif t in ("tags", "enums", "urls", "links"):
                text = f"Only the {p} whose {fn} does not hold this value."
            elif t in ("text", "email", "url", "slug"):
                text = f"Only the {p} whose {fn} is not this value; commas are part of it."
            else:
                text = f"Only the {p} whose {fn} is not this value."
            schema = param["schema"].get("items", param["schema"])
            return {"name": f"{name}.ne", "in": "query", "description": text + left_out,
                    "schema": schema}
        # ne, gt, gte, lt, lte: the orderable types
        if t == "date":
            words = {"ne": "is not this date", "gt": "is after this date",
                     "gte": "is on or after this date", "lt": "is before this date",
                     "lte": "is on or before this date"}
            schema, tail = {"type": "string", "format": "date"}, ""
        elif t == "timestamp":
            words = {"ne": "is not this time", "gt": "is after this time",
                     "gte": "is at or after this time", "lt": "is before this time",
                     "lte": "is at or before this time"}
            schema = {"type": "string", "pattern": TIME_PATTERN}
            tail = " RFC 3339 (e.g. `2026-01-31T12:00:00Z`); a plain date means midnight UTC."
        else:
            words = {"ne": "is not this amount", "gt": "is more than this amount",
                     "gte": "is at least this amount", "lt": "is less than this amount",
                     "lte": "is at most this amount"}
            schema = {"type": "string", "pattern": NUMBER_PATTERN}
            tail = " A decimal number, e.g. `1000000` or `2500.50`."
        left_out = ""
        if op == "ne" and (f["nullable"] or t == "date"):
            left_out = " (records without one are left out)"
        return {"name": f"{name}.{op}", "in": "query",
                "description": f"Only the {p} whose {fn} {words[op]}{left_out}.{tail}",
                "schema": schema}

    def eq_parameter(self, f, name, t, p):
        """The parameter name= (one of a comma-separated list), which ne and not_in follow."""
        fn = f"`{f['name']}`"
        item = {"type": "string", "maxLength": FILTER_VALUE_MAX}
        text = f"Only the {p} whose {fn} is one of these values (comma-separated)."
        exact = " Values are matched exactly."
        if t == "enum":
            item, exact = {"type": "string", "enum": list(f["enum"])}, ""
        elif t in ("uuid", "date"):
            item, exact = {"type": "string", "format": t}, ""
        elif t == "timestamp":
            item = {"type": "string", "pattern": TIME_PATTERN}
            exact = (" Each value is a time in RFC 3339 (e.g. `2026-01-31T12:00:00Z`); a "
                     "plain date means midnight UTC.")
        elif t == "bool":
            item, exact = {"type": "boolean"}, ""
            text = f"Only the {p} whose {fn} is this value (`true` or `false`)."
        elif t in ("number", "decimal"):
            item, exact = {"type": "string", "pattern": NUMBER_PATTERN}, ""
        elif t == "tags":
            text = f"Only the {p} whose {fn} holds at least one of these values (comma-separated)."
        elif t == "enums":
            item, exact = {"type": "string", "enum": list(f["enum"])}, ""
            text = f"Only the {p} whose {fn} holds at least one of these values (comma-separated)."
        elif t == "links":
            target = self.by_name[self.d["link"]["target"]].plural
            item, exact = {"type": "string", "format": "uuid"}, ""
            text = (f"Only the {p} in which at least one of these {target} takes part "
                    f"({self.by_name[self.d['link']['target']].singular} ids, "
                    "comma-separated).")
        elif t == "strmap":
            return {"name": name, "in": "query",
                    "description": (f"Only the {p} with this `scheme:id` pair in {fn} (one "
                                    "pair; the value is not split at commas)."),
                    "schema": {"type": "string", "pattern": "^[^:]+:",
                               "maxLength": FILTER_VALUE_MAX}}
        return {"name": name, "in": "query", "description": text + exact,
                "style": "form", "explode": False,
                "schema": {"type": "array", "items": item}}

    def sort_parameter(self, limits):
        keys = [f["name"] for f in self.fields if f["sort"]]
        most = min(limits["max_sort"], len(keys))
        alt = "|".join(keys)
        nullable_key = any(f["nullable"] for f in self.fields if f["sort"])
        text = ("Sort keys, comma-separated, each optionally prefixed with `-` for descending "
                f"order: {code_list(keys)} (at most {most} keys, each at most once). Default: "
                f"`{self.d['default_sort']}`. Records with equal keys are ordered by `id`")
        text += "; records without a value for a key come last." if nullable_key else "."
        pattern = f"-?({alt})(,-?({alt})){{0,{most - 1}}}"
        if self.d["searchable"]:
            text += (" With `q`, `relevance` (alone) orders by how well each record matches, "
                     "best first, then by `id`; it is the default whenever `q` is given.")
            pattern = f"relevance|{pattern}"
        return {"name": "sort", "in": "query", "description": text,
                "schema": {"type": "string", "pattern": f"^({pattern})$",
                           "default": self.d["default_sort"]}}

    def fields_parameter(self, many):
        names = [f["name"] for f in self.fields]
        internal = [f["name"] for f in self.fields if f["internal"]]
        text = (f"Only these fields {'in each record' if many else 'of the record'}, "
                "comma-separated; `id` is always included.")
        if len(internal) == 1:
            text += f" `{internal[0]}` is internal: asking for it without a token is a 400."
        elif internal:
            text += (f" {' and '.join(f'`{n}`' for n in internal)} are internal: asking for them "
                     "without a token is a 400.")
        return {"name": "fields", "in": "query", "description": text, "style": "form",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string", "enum": names}}}

    def include_parameter(self, many, limits):
        names = [i["name"] for i in self.d["includes"]]
        text = (f"Related records to embed in {'each record' if many else 'the record'}, "
                f"comma-separated: {code_list(names)}.")
        for i in self.d["includes"]:
            if i.get("fk") is None:  # embedded into each item of a list field of the same name
                text += (f" `{i['name']}` adds `{self.by_name[i['target']].singular}` to each "
                         f"item of `{i['name']}`; it needs the `{i['name']}` field.")
        if many:
            text += (" Not available with CSV. One page embeds at most "
                     f"{limits['max_embedded']} records (a to-one relation counts one per "
                     "record, `organizations` one per party); a page that would embed more is a "
                     "400 (`too-many-embedded`): lower `limit` or drop `include`.")
        return {"name": "include", "in": "query", "description": text, "style": "form",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string", "enum": names}}}

    # ------------------------------------------------------------ operations

    def paths(self):
        """(collection path, item path, their path parameters)."""
        if self.d.get("parent_path"):
            collection = f"{self.d['parent_path']}{{id}}/{self.name}"
            return collection, collection + "/{sid}"
        return f"/v1/{self.name}", f"/v1/{self.name}/{{id}}"

    def examples(self, pairs, components):
        """{key: $ref} for each (key, example component) that the prose defines."""
        out = {}
        for key, name in pairs:
            if name in components.get("examples", {}):
                out[key] = ref("examples", name)
        return out

    def json_content(self, schema, examples):
        media = {"schema": ref("schemas", schema)}
        if examples:
            media["examples"] = examples
        return media

    def operation(self, kind, limits, components):
        prose = dict(self.ops[kind] or {})
        public = self.p.get("public_read", False) and kind in ("list", "get")
        op = {
            "tags": [self.p["tag"]],
            "operationId": f"{self.ident}_{kind}",
            "summary": None,
            "description": None,
            "security": [{}, {"bearerAuth": []}] if public else [{"bearerAuth": []}],
        }
        base_headers = ["X-Request-Id", "RateLimit-Policy", "RateLimit"]
        etag = ["ETag"] if self.d["versioned"] else []
        written = ["Sharaka-Consistency"]
        sub = bool(self.d.get("parent_path"))
        S = self.schema
        if kind == "list":
            params = [ref("parameters", "Limit"), ref("parameters", "Cursor"),
                      self.sort_parameter(limits), self.fields_parameter(True)]
            if self.d["includes"]:
                params.append(self.include_parameter(True, limits))
            params += [ref("parameters", "Count"), ref("parameters", "Format"),
                       ref("parameters", "Consistency"), ref("parameters", "Lang"),
                       ref("parameters", "AcceptLanguage")]
            if self.d["searchable"]:
                params.append(ref("parameters", "Search"))
            params += self.filter_parameters()
            ok = ("200", f"A page of {self.plural}.",
                  base_headers + ["Link", "X-Total-Count", "Content-Language", "Vary",
                                  "Content-Disposition:SheetDisposition"], {
                "application/json": self.json_content(S + "List", self.examples(
                    [("page", S + "Page")], components)),
                "text/csv": {"schema": ref("schemas", "CsvPage")},
                "application/x-ndjson": {"schema": ref("schemas", "NdjsonPage")},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "contentEncoding": "binary",
                               "description": "With `format=xlsx`: the page as a workbook."}}})
            errors = ["400:BadQuery", "401", "403"] + (["404"] if sub else []) + ["405", "411",
                      "413", "414", "429", "500", "503"]
        elif kind == "get":
            params = [self.fields_parameter(False)]
            if self.d["includes"]:
                params.append(self.include_parameter(False, limits))
            if self.d["versioned"]:
                params.append(ref("parameters", "IfNoneMatch"))
            params += [ref("parameters", "Consistency"), ref("parameters", "Lang"),
                       ref("parameters", "AcceptLanguage")]
            ok = ("200", f"The {self.singular}.",
                  base_headers + etag + ["Content-Language", "Vary"], {
                "application/json": self.json_content(S, self.examples(
                    [("record", S + "Record")], components))})
            errors = ["304:NotModified", "400:BadQuery", "401", "403", "404", "405", "411", "413",
                      "414", "429", "500", "503"]
        elif kind == "create":
            params = [ref("parameters", "IdempotencyKey")]
            op["requestBody"] = {"required": True, "content": {
                "application/json": self.json_content(S + "Create", self.examples(
                    [("new", S + "CreateExample")], components))}}
            ok = ("201", f"The {self.singular} was created.",
                  base_headers + ["Location"] + etag + ["Idempotent-Replayed"] + written, {
                      "application/json": self.json_content(S, self.examples(
                          [("created", S + "Created")], components))})
            errors = ["400", "401", "403"] + (["404"] if sub else []) + ["405", "409:Conflict",
                      "411", "413", "414", "415", "422", "429", "500", "503"]
        elif kind == "patch":
            params = [ref("parameters", "IfMatch")]
            body = self.json_content(S + "Patch", self.examples(
                [("change", S + "PatchExample")], components))
            op["requestBody"] = {"required": True, "content": {
                "application/json": body, "application/merge-patch+json": copy.deepcopy(body)}}
            ok = ("200", f"The {self.singular} after the change.", base_headers + etag + written, {
                "application/json": self.json_content(S, self.examples(
                    [("changed", S + "Changed")], components))})
            errors = ["400", "401", "403", "404", "405", "409:Conflict", "412", "411", "413", "414",
                      "415", "422", "429", "500", "503"]
        elif kind == "delete":
            params = [ref("parameters", "IfMatch")]
            ok = ("204", f"The {self.singular} was deleted.", base_headers + written, None)
            errors = ["400", "401", "403", "404", "405"] + (
                ["409:StillReferenced"] if self.d["referrers"] else []) + [
                "412", "411", "413", "414", "429", "500", "503"]
        elif kind == "restore":
            params = []
            ok = ("200", f"The {self.singular}, restored.", base_headers + etag + written, {
                "application/json": self.json_content(S, self.examples(
                    [("restored", S + "Record")], components))})
            errors = ["400", "401", "403", "404", "405", "409:Conflict", "411", "413", "414",
                      "429", "500", "503"]
        else:  # batch
            params = [ref("parameters", "IdempotencyKey")]
            op["requestBody"] = {"required": True, "content": {
                "application/json": self.json_content(S + "Batch", self.examples(
                    [("batch", S + "BatchExample")], components))}}
            ok = ("200", "Every item was written.",
                  base_headers + ["Idempotent-Replayed"] + written, {
                "application/json": self.json_content("BatchResult", self.examples(
                    [("written", S + "BatchWritten")], components))})
            errors = ["400", "401", "403", "405", "409:Conflict", "411", "413", "414", "415",
                      "422", "429", "500", "503"]
        code, text, headers, content = ok
        response = {"description": text,
                    "headers": {h.split(":")[0]: ref("headers", h.split(":")[-1])
                                for h in headers}}
        if content:
            response["content"] = content
        op["responses"] = {code: response}
        for e in errors:
            status, _, name = e.partition(":")
            op["responses"][status] = ref("responses", name or STANDARD_RESPONSES[status])
        op["parameters"] = merge_parameters(params, prose.pop("parameters", None),
                                            f"{self.name}.{kind}")
        if not op["parameters"]:
            del op["parameters"]
        op = merge_patch(op, prose)
        for key in ("summary", "description"):
            if not op.get(key):
                raise ProseError(f"{self.name}: operations.{kind}: no {key}")
        return op

    def path_items(self, limits, components):
        collection, item = self.paths()
        out = {}
        coll_params = self.p.get("collection_parameters")
        item_params = self.p.get("item_parameters", [ref("parameters", "RecordId")])
        for kind, method, path in (("list", "get", collection), ("create", "post", collection),
                                   ("batch", "post", collection + "/batch"),
                                   ("get", "get", item), ("patch", "patch", item),
                                   ("delete", "delete", item),
                                   ("restore", "post", item + "/restore")):
            if kind not in self.ops:
                continue
            entry = out.setdefault(path, {})
            if path in (item, item + "/restore") and item_params:
                entry["parameters"] = copy.deepcopy(item_params)
            elif path == collection and coll_params:
                entry["parameters"] = copy.deepcopy(coll_params)
            entry[method] = self.operation(kind, limits, components)
        return out


STANDARD_RESPONSES = {
    "400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
    "405": "MethodNotAllowed", "411": "LengthRequired", "412": "PreconditionFailed",
    "413": "PayloadTooLarge", "414": "UriTooLong", "415": "UnsupportedMediaType",
    "422": "Unprocessable", "429": "TooManyRequests", "500": "InternalError",
    "503": "ServiceUnavailable",
}


def parameter_key(p):
    if "$ref" in p:
        return p["$ref"].rsplit("/", 1)[1]
    return p["name"]


def merge_parameters(params, overrides, where):
    """params with overrides ({name or component name: merge patch, or null to drop}) applied;
    an override naming no parameter adds one (it must then be a whole parameter)."""
    if not overrides:
        return params
    out = []
    seen = set()
    for p in params:
        key = parameter_key(p)
        seen.add(key)
        if key in overrides:
            if overrides[key] is None:
                continue
            p = merge_patch(p, overrides[key])
        out.append(p)
    for key, p in overrides.items():
        if key in seen:
            continue
        if p is None:
            raise ProseError(f"{where}: parameters.{key}: no such parameter to remove")
        if "$ref" not in p and "name" not in p:
            raise ProseError(f"{where}: parameters.{key}: a new parameter needs a name or $ref")
        out.append(p)
    return out


def build(descriptors, resources_prose, doc):
    """Adds the generated schemas and paths to doc (the prose document), in place; returns the
    resources by name, for expand_filters_of."""
    by_name = {}
    for d in descriptors["resources"]:
        if d["name"] in resources_prose:
            by_name[d["name"]] = Resource(d, resources_prose[d["name"]], by_name)
    for name in resources_prose:
        if name not in by_name:
            raise ProseError(f"resources/{name}.yaml: no descriptor of that name")
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    paths = doc.setdefault("paths", {})
    for res in by_name.values():
        for name, schema in res.schemas().items():
            if name in schemas:
                raise ProseError(f"components.schemas.{name} is generated; remove it from the prose")
            schemas[name] = schema
        for path, item in res.path_items(descriptors["limits"], components).items():
            if path in paths:
                raise ProseError(f"paths.{path} is generated; remove it from the prose")
            paths[path] = item
    return by_name


def expand_filters_of(paths, by_name):
    """Replaces a parameter {x-filters-of: NAME} in a prose operation by the list filters of
    resource NAME, one parameter each: routes that take a list's filters (statistics) say so."""
    for path, item in paths.items():
        for method, op in item.items():
            if not isinstance(op, dict) or "parameters" not in op:
                continue
            out = []
            for param in op["parameters"]:
                if isinstance(param, dict) and "x-filters-of" in param:
                    name = param["x-filters-of"]
                    if name not in by_name:
                        raise ProseError(f"paths.{path}.{method}: x-filters-of {name}: no such "
                                         "resource")
                    out.extend(by_name[name].filter_parameters())
                else:
                    out.append(param)
            op["parameters"] = out
