#!/usr/bin/python3
"""Make the OpenAPI document and turn it into C data: the spec as compact JSON and an HTML reference.

Usage: gen_spec.py --descriptors DESCRIPTORS.json --prose DIR OUTPUT.c [--json FILE] [--html FILE]

The document is the prose in DIR (openapi.yaml: info, tags, the other routes, shared components;
resources/<name>.yaml: what each resource's fields and operations mean) merged with what the
descriptors say (DESCRIPTORS.json, printed by specgen): spec_resources.py makes every resource's
schemas and operations from them. OUTPUT.c defines spec_json, spec_json_len, docs_html and
docs_html_len. --json and --html also write the two texts as plain files (the JSON is the merged
document that the tests and the linters read).
The HTML is self-contained: inline CSS, no script, and no URL of any kind that a browser would load.
Only the standard library and PyYAML are used.
"""

import argparse
import html
import json
import os
import re
import sys
import tempfile

import yaml

import spec_resources

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError(Exception):
    """A problem with the input document, reported as one line."""


# ---------------------------------------------------------------- loading

class SpecLoader(yaml.SafeLoader):
    """Safe YAML loader closer to YAML 1.2: dates stay strings, only true/false are booleans,
    integers are plain decimal (or 0x hex), and duplicate keys are an error."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise SpecError(
                            f"duplicate key {key_node.value!r} at line {key_node.start_mark.line + 1}"
                            f" (first at line {seen[key_node.value]})")
                    seen[key_node.value] = key_node.start_mark.line + 1
        mapping = super().construct_mapping(node, deep=deep)
        out = {}
        for key, value in mapping.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise SpecError(f"mapping key {key!r} at line {node.start_mark.line + 1} is not a string")
            out[str(key)] = value
        return out


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool",
                           "tag:yaml.org,2002:int")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"))
SpecLoader.add_constructor("tag:yaml.org,2002:map", SpecLoader.construct_mapping)


def load_spec(path):
    spec = load_yaml(path)
    if not isinstance(spec, dict) or "openapi" not in spec:
        raise SpecError("not an OpenAPI document (no top-level 'openapi' key)")
    return spec


def load_yaml(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8: {e}") from None
    try:
        spec = yaml.load(text, Loader=SpecLoader)
    except yaml.YAMLError as e:
        raise SpecError(str(e).replace("\n", " ")) from None
    return spec


def merged_document(descriptors_path, prose_dir):
    """The prose of prose_dir with the resources made from the descriptors."""
    doc = load_spec(os.path.join(prose_dir, "openapi.yaml"))
    with open(descriptors_path, encoding="utf-8") as f:
        descriptors = json.load(f)
    resources_dir = os.path.join(prose_dir, "resources")
    prose = {}
    for name in sorted(os.listdir(resources_dir)):
        if name.endswith(".yaml"):
            try:
                prose[name[:-5]] = load_yaml(os.path.join(resources_dir, name))
            except SpecError as e:
                raise SpecError(f"resources/{name}: {e}") from None
    prose_paths = doc.get("paths", {})
    doc["paths"] = {}
    try:
        by_name = spec_resources.build(descriptors, prose, doc)
        spec_resources.expand_filters_of(prose_paths, by_name)
    except spec_resources.ProseError as e:
        raise SpecError(str(e)) from None
    generated = doc["paths"]
    # The service and sign-in routes first, then the resources, then the other routes.
    first = {p: v for p, v in prose_paths.items() if not p.startswith("/v1/") or
             p.startswith("/v1/auth/")}
    rest = {p: v for p, v in prose_paths.items() if p not in first}
    for path in generated:
        if path in prose_paths:
            raise SpecError(f"paths.{path} is generated; remove it from openapi.yaml")
    doc["paths"] = {**first, **generated, **rest}
    return doc


# ---------------------------------------------------------------- C output

def c_string_lines(data, width=72):
    """Split bytes into C string literal lines; every byte that could be misread is escaped."""
    lines = []
    cur = []
    cur_len = 0
    for b in data:
        if b == 0x5C:
            e = "\\\\"
        elif b == 0x22:
            e = '\\"'
        elif b == 0x3F:
            e = "\\?"  # never form a trigraph
        elif b == 0x0A:
            e = "\\n"
        elif b == 0x09:
            e = "\\t"
        elif 0x20 <= b < 0x7F:
            e = chr(b)
        else:
            e = "\\%03o" % b  # octal escapes stop after three digits
        cur.append(e)
        cur_len += len(e)
        if cur_len >= width or b == 0x0A:
            lines.append("".join(cur))
            cur = []
            cur_len = 0
    if cur or not lines:
        lines.append("".join(cur))
    return lines


def c_definition(name, data):
    body = "\n".join(f'    "{line}"' for line in c_string_lines(data))
    return (f"const char {name}[] =\n{body};\n"
            f"const unsigned long {name}_len = {len(data)}UL;\n")


def write_c(path, source_name, items):
    parts = [
        f"/* Generated by scripts/gen_spec.py from {source_name}; do not edit. */\n",
        "#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n#endif\n\n",
    ]
    for name, _ in items:
        parts.append(f"extern const char {name}[];\nextern const unsigned long {name}_len;\n")
    for name, data in items:
        parts.append("\n")
        parts.append(c_definition(name, data))
    write_atomic(path, "".join(parts).encode("ascii"))


def write_atomic(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".gen_spec.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------- references

class Spec:
    """The document plus helpers to follow local $refs."""

    def __init__(self, doc):
        self.doc = doc

    def lookup(self, ref):
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SpecError(f"only local references are supported: {ref!r}")
        node = self.doc
        pointer = ref[1:]
        if pointer == "":
            return node
        if not pointer.startswith("/"):
            raise SpecError(f"bad reference {ref!r}")
        for raw in pointer[1:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"unresolved reference {ref!r}")
        return node

    def resolve(self, obj, depth=0):
        """Follow $ref (siblings of $ref override the target, as OpenAPI 3.1 allows)."""
        if not isinstance(obj, dict) or "$ref" not in obj:
            return obj
        if depth > 32:
            raise SpecError(f"reference loop at {obj['$ref']!r}")
        target = self.resolve(self.lookup(obj["$ref"]), depth + 1)
        siblings = {k: v for k, v in obj.items() if k != "$ref"}
        if not siblings:
            return target
        if not isinstance(target, dict):
            return target
        merged = dict(target)
        merged.update(siblings)
        return merged

    def check_refs(self, node, where="#"):
        """Fail early on any $ref that does not resolve, anywhere in the document."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    self.lookup(ref)
                except SpecError as e:
                    raise SpecError(f"{e} at {where}") from None
            for k, v in node.items():
                self.check_refs(v, where + "/" + k.replace("~", "~0").replace("/", "~1"))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self.check_refs(v, f"{where}/{i}")


def component_name(obj, kind):
    if isinstance(obj, dict) and isinstance(obj.get("$ref"), str):
        prefix = f"#/components/{kind}/"
        if obj["$ref"].startswith(prefix):
            return obj["$ref"][len(prefix):].replace("~1", "/").replace("~0", "~")
    return None


# ---------------------------------------------------------------- HTML helpers

def esc(text):
    """Escape text for HTML; a URL is shown as plain text with a break point after its scheme."""
    return html.escape(str(text), quote=True).replace("://", ":<wbr>//")


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "x"


class Anchors:
    def __init__(self):
        self.used = set()

    def make(self, prefix, name):
        base = f"{prefix}-{slug(name)}"
        anchor = base
        n = 2
        while anchor in self.used:
            anchor = f"{base}-{n}"
            n += 1
        self.used.add(anchor)
        return anchor


def inline_md(text):
    """Inline CommonMark subset: `code`, **strong**, *em*, [text](#anchor) links."""
    out = []
    for i, piece in enumerate(re.split(r"(`[^`]*`)", text)):
        if i % 2 == 1:
            out.append(f"<code>{esc(piece[1:-1])}</code>")
            continue
        s = esc(piece)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)

        def link(m):
            label, target = m.group(1), m.group(2)
            if target.startswith("#"):
                return f'<a href="#{slug(target[1:])}">{label}</a>'
            return f"{label} ({target})"

        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", link, s)
        out.append(s)
    return "".join(out)


def markdown(text, heading_base=3):
    """Block-level CommonMark subset: paragraphs, headings, bullet and numbered lists, fences."""
    if not text:
        return ""
    lines = str(text).replace("\r\n", "\n").split("\n")
    out = []
    para = []
    items = None  # (tag, [item text])

    def flush_para():
        if para:
            out.append("<p>" + inline_md(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    def flush_list():
        nonlocal items
        if items:
            tag, entries = items
            out.append(f"<{tag}>" + "".join(f"<li>{inline_md(e)}</li>" for e in entries) + f"</{tag}>")
        items = None

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush_para()
            flush_list()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            out.append("<pre class=\"code\">" + esc("\n".join(code)) + "</pre>")
            i += 1
            continue
        if not stripped:
            flush_para()
            i += 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if m:
            flush_para()
            flush_list()
            level = min(6, len(m.group(1)) + heading_base - 1)
            out.append(f"<h{level} class=\"md\">{inline_md(m.group(2))}</h{level}>")
            i += 1
            continue
        m = re.match(r"^([-*+]|\d+[.)])\s+(.*)$", stripped)
        if m and (line[:1] not in (" ", "\t") or items is None):
            flush_para()
            tag = "ol" if m.group(1)[0].isdigit() else "ul"
            if items is None or items[0] != tag:
                flush_list()
                items = (tag, [])
            items[1].append(m.group(2))
            i += 1
            continue
        if items is not None and line[:1] in (" ", "\t"):
            items[1][-1] += " " + stripped
            i += 1
            continue
        flush_list()
        para.append(line)
        i += 1
    flush_para()
    flush_list()
    return "\n".join(out)


def first_sentence(text):
    text = " ".join(str(text or "").split())
    m = re.match(r"^(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


JSON_TOKEN = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*")(?=\s*:)|(?P<str>"(?:[^"\\]|\\.)*")'
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<lit>\btrue\b|\bfalse\b|\bnull\b)")


def json_html(value):
    """Pretty JSON with light syntax colouring."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    out = []
    pos = 0
    for m in JSON_TOKEN.finditer(text):
        out.append(esc(text[pos:m.start()]))
        out.append(f'<span class="j-{m.lastgroup}">{esc(m.group(0))}</span>')
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def is_json_media(media):
    base = media.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base == "*/*"


# ---------------------------------------------------------------- the renderer

class Renderer:
    def __init__(self, doc):
        self.spec = Spec(doc)
        self.doc = doc
        self.anchors = Anchors()
        self.schema_anchor = {}
        self.scheme_anchor = {}
        components = doc.get("components") or {}
        for name in (components.get("schemas") or {}):
            self.schema_anchor[name] = self.anchors.make("schema", name)
        for name in (components.get("securitySchemes") or {}):
            self.scheme_anchor[name] = self.anchors.make("security", name)

    # ---------------------------------------------------------- schema description

    def type_label(self, schema, depth=0):
        """A short HTML label for a schema's type; component schemas become links."""
        if depth > 8:
            return "&hellip;"
        if schema is True or schema == {}:
            return "any"
        if schema is False:
            return "nothing"
        if not isinstance(schema, dict):
            return "any"
        name = component_name(schema, "schemas")
        if name is not None:
            anchor = self.schema_anchor.get(name)
            label = f'<a class="ref" href="#{anchor}">{esc(name)}</a>' if anchor else esc(name)
            return label
        if "allOf" in schema:
            parts = schema["allOf"]
            refs = [p for p in parts if component_name(p, "schemas")]
            if len(refs) == 1:
                return self.type_label(refs[0], depth + 1)
            return " &amp; ".join(self.type_label(p, depth + 1) for p in parts)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return " | ".join(self.type_label(p, depth + 1) for p in schema[key])
        types = schema.get("type")
        if types is None:
            if "properties" in schema:
                types = "object"
            elif "items" in schema:
                types = "array"
            elif "const" in schema:
                return f"<code>{esc(json.dumps(schema['const'], ensure_ascii=False))}</code>"
            elif "enum" in schema:
                return "enum"
            else:
                return "any"
        if isinstance(types, str):
            types = [types]
        labels = []
        for t in types:
            if t == "array":
                items = schema.get("items")
                labels.append("array of " + self.type_label(items, depth + 1) if items is not None else "array")
            elif t == "object" and isinstance(schema.get("additionalProperties"), dict) \
                    and not schema.get("properties"):
                labels.append("map of " + self.type_label(schema["additionalProperties"], depth + 1))
            else:
                label = esc(t)
                if t != "null" and schema.get("format"):
                    label += f' <span class="fmt">({esc(schema["format"])})</span>'
                labels.append(label)
        return " | ".join(labels)

    def constraints(self, schema):
        """HTML fragments describing a schema's constraints and examples."""
        if not isinstance(schema, dict):
            return []
        s = self.spec.resolve(schema)
        if not isinstance(s, dict):
            return []
        out = []

        def code(v):
            return f"<code>{esc(json.dumps(v, ensure_ascii=False))}</code>"

        if "const" in s:
            out.append("always " + code(s["const"]))
        if "enum" in s and "const" not in s:
            out.append("one of " + ", ".join(code(v) for v in s["enum"]))
        if "pattern" in s:
            out.append(f"pattern <code>{esc(s['pattern'])}</code>")
        bounds = [("minLength", "at least {} character{}"), ("maxLength", "at most {} character{}"),
                  ("minimum", "&ge; {}"), ("maximum", "&le; {}"),
                  ("exclusiveMinimum", "&gt; {}"), ("exclusiveMaximum", "&lt; {}"),
                  ("multipleOf", "multiple of {}"),
                  ("minItems", "at least {} item{}"), ("maxItems", "at most {} item{}"),
                  ("minProperties", "at least {} propert{}"), ("maxProperties", "at most {} propert{}")]
        for key, fmt in bounds:
            if key in s and not isinstance(s[key], bool):
                plural = ("y" if s[key] == 1 else "ies") if "propert" in fmt else ("" if s[key] == 1 else "s")
                out.append(fmt.format(esc(s[key]), plural))
        if s.get("uniqueItems"):
            out.append("items are unique")
        if "default" in s:
            out.append("default " + code(s["default"]))
        if s.get("readOnly"):
            out.append("read-only")
        if s.get("writeOnly"):
            out.append("write-only")
        if s.get("deprecated"):
            out.append('<span class="dep">deprecated</span>')
        examples = s.get("examples") if isinstance(s.get("examples"), list) else None
        if examples is None and "example" in s:
            examples = [s["example"]]
        if examples and "const" not in s and "enum" not in s:
            out.append("e.g. " + ", ".join(code(v) for v in examples[:3]))
        return out

    def flatten(self, schema, seen=None):
        """The effective object view of a schema: properties (merged across allOf), required
        names, whether other properties are allowed, and alternatives (oneOf/anyOf)."""
        seen = set() if seen is None else seen
        view = {"properties": {}, "required": [], "closed": False, "extra": None,
                "alternatives": [], "alt_kind": None}
        if not isinstance(schema, dict):
            return view
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return view
            seen = seen | {ref}
        s = self.spec.resolve(schema)
        if not isinstance(s, dict):
            return view

        def merge(other):
            for name, prop in other["properties"].items():
                if name in view["properties"] and isinstance(prop, dict) \
                        and isinstance(view["properties"][name], dict):
                    combined = dict(view["properties"][name])
                    combined.update(prop)
                    view["properties"][name] = combined
                else:
                    view["properties"][name] = prop
            for name in other["required"]:
                if name not in view["required"]:
                    view["required"].append(name)
            view["closed"] = view["closed"] or other["closed"]
            if other["extra"] is not None:
                view["extra"] = other["extra"]
            if other["alternatives"] and not view["alternatives"]:
                view["alternatives"] = other["alternatives"]
                view["alt_kind"] = other["alt_kind"]

        for part in s.get("allOf") or []:
            merge(self.flatten(part, seen))
        own = {"properties": s.get("properties") or {}, "required": s.get("required") or [],
               "closed": s.get("additionalProperties") is False
               or s.get("unevaluatedProperties") is False,
               "extra": s.get("additionalProperties") if isinstance(s.get("additionalProperties"), dict)
               else None,
               "alternatives": [], "alt_kind": None}
        for key in ("oneOf", "anyOf"):
            if s.get(key):
                own["alternatives"] = s[key]
                own["alt_kind"] = "One of" if key == "oneOf" else "Any of"
        merge(own)
        return view

    def is_inline_object(self, schema):
        """An object schema written in place (not a component) whose fields deserve rows."""
        if not isinstance(schema, dict) or component_name(schema, "schemas"):
            return False
        if "$ref" in schema:
            return False
        view = self.flatten(schema)
        return bool(view["properties"])

    def field_rows(self, view, prefix, depth, rows):
        for name, prop in view["properties"].items():
            prop_r = self.spec.resolve(prop) if not component_name(prop, "schemas") else prop
            shown = prop if component_name(prop, "schemas") else prop_r
            desc = ""
            if isinstance(prop, dict) and prop.get("description"):
                desc = prop["description"]
            elif isinstance(prop_r, dict) and prop_r.get("description"):
                desc = prop_r["description"]
            if isinstance(prop, dict) and component_name(prop, "schemas"):
                cons = self.constraints({k: v for k, v in prop.items() if k != "$ref"})
            else:
                cons = self.constraints(prop_r)
            rows.append({
                "name": prefix + name,
                "depth": depth,
                "required": name in view["required"],
                "type": self.type_label(shown),
                "desc": desc,
                "cons": cons,
            })
            if depth >= 5:
                continue
            if self.is_inline_object(prop_r):
                self.field_rows(self.flatten(prop_r), prefix + name + ".", depth + 1, rows)
            elif isinstance(prop_r, dict) and isinstance(prop_r.get("items"), dict) \
                    and self.is_inline_object(prop_r["items"]):
                self.field_rows(self.flatten(prop_r["items"]), prefix + name + "[].", depth + 1, rows)

    def fields_table(self, view):
        rows = []
        self.field_rows(view, "", 0, rows)
        if not rows:
            return ""
        out = ['<table class="fields"><thead><tr><th>Field</th><th>Type</th><th>Description</th>'
               "</tr></thead><tbody>"]
        for row in rows:
            req = ' <span class="req">required</span>' if row["required"] else ""
            name = esc(row["name"])
            parts = []
            if row["desc"]:
                parts.append(markdown(row["desc"]))
            if row["cons"]:
                parts.append('<div class="cons">' + "; ".join(row["cons"]) + "</div>")
            out.append(f'<tr><td class="fname d{row["depth"]}"><code>{name}</code>{req}</td>'
                       f'<td class="ftype">{row["type"]}</td><td>{"".join(parts)}</td></tr>')
        out.append("</tbody></table>")
        if view["closed"]:
            out.append('<p class="note">No other fields are allowed.</p>')
        elif view["extra"] is not None:
            out.append(f'<p class="note">Other fields: {self.type_label(view["extra"])}.</p>')
        return "".join(out)

    def schema_block(self, schema, with_description=True, depth=0, fields=True):
        """A schema's type line, constraints and (unless fields is false) its field table."""
        if schema is None:
            return ""
        out = []
        resolved = self.spec.resolve(schema) if isinstance(schema, dict) else schema
        out.append(f'<div class="schema-line"><span class="label">Schema</span> '
                   f'{self.type_label(schema)}</div>')
        if with_description and isinstance(resolved, dict) and resolved.get("description") \
                and not component_name(schema, "schemas"):
            out.append(markdown(resolved["description"]))
        cons = self.constraints(schema)
        if cons:
            out.append('<div class="cons">' + "; ".join(cons) + "</div>")
        if not fields:
            return "".join(out)
        view = self.flatten(schema)
        if view["properties"]:
            out.append(self.fields_table(view))
        if view["alternatives"] and depth < 4:
            out.append(f'<div class="alts"><div class="label">{view["alt_kind"]}:</div>')
            for alt in view["alternatives"]:
                out.append('<div class="alt">' + self.schema_block(alt, True, depth + 1) + "</div>")
            out.append("</div>")
        if isinstance(resolved, dict) and isinstance(resolved.get("items"), dict) \
                and self.is_inline_object(resolved["items"]):
            out.append('<div class="label">Each item:</div>')
            out.append(self.fields_table(self.flatten(resolved["items"])))
        return "".join(out)

    # ---------------------------------------------------------- examples

    def sample(self, schema, depth=0, seen=frozenset()):
        """A plausible value built from a schema, used when the document gives no example."""
        if depth > 6 or not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return None
            seen = seen | {ref}
        s = self.spec.resolve(schema)
        if not isinstance(s, dict):
            return None
        if isinstance(s.get("examples"), list) and s["examples"]:
            return s["examples"][0]
        for key in ("example", "const", "default"):
            if key in s:
                return s[key]
        if s.get("enum"):
            return s["enum"][0]
        if s.get("allOf"):
            merged = None
            own = {k: v for k, v in s.items() if k != "allOf"}
            parts = list(s["allOf"]) + ([own] if own.get("properties") else [])
            for part in parts:
                value = self.sample(part, depth + 1, seen)
                if isinstance(value, dict) and isinstance(merged, dict):
                    # A part that only narrows a property (no type of its own) adds nothing.
                    merged.update({k: v for k, v in value.items() if v is not None or k not in merged})
                elif merged is None:
                    merged = value
            return merged
        for key in ("oneOf", "anyOf"):
            if s.get(key):
                return self.sample(s[key][0], depth + 1, seen)
        types = s.get("type")
        if isinstance(types, list):
            types = next((t for t in types if t != "null"), "null")
        if types is None:
            types = "object" if "properties" in s else "array" if "items" in s else None
        if types == "object":
            value = {}
            for name, prop in (s.get("properties") or {}).items():
                value[name] = self.sample(prop, depth + 1, seen)
            if not value and isinstance(s.get("additionalProperties"), dict):
                value["key"] = self.sample(s["additionalProperties"], depth + 1, seen)
            return value
        if types == "array":
            item = self.sample(s.get("items"), depth + 1, seen) if "items" in s else None
            return [item] if item is not None else []
        if types == "string":
            return {
                "uuid": "3f2b8c4e-9a1d-4e6b-8f0c-2d5e7a9b1c3d",
                "date-time": "2026-01-31T12:00:00Z",
                "date": "2026-01-31",
                "email": "user@example.org",
                "uri": "https://example.org/",
            }.get(s.get("format"), "string")
        if types == "integer":
            return s.get("minimum", 0)
        if types == "number":
            return s.get("minimum", 0)
        if types == "boolean":
            return True
        return None

    def example_blocks(self, media, mt):
        """Examples of a media type object, or one generated from its schema."""
        found = []
        examples = mt.get("examples")
        if isinstance(examples, dict):
            for name, ex in examples.items():
                ex = self.spec.resolve(ex)
                if not isinstance(ex, dict):
                    continue
                title = ex.get("summary") or name
                if "value" in ex:
                    found.append((title, ex.get("description"), ex["value"], False))
                elif "externalValue" in ex:
                    found.append((title, f"Stored apart from this document: `{ex['externalValue']}`.",
                                  None, False))
        if "example" in mt:
            found.append(("Example", None, mt["example"], False))
        if not found and mt.get("schema") is not None:
            value = self.sample(mt["schema"])
            if value is not None:
                found.append(("Example", None, value, True))
        out = []
        for title, desc, value, generated in found:
            note = ' <span class="gen">(built from the schema)</span>' if generated else ""
            out.append(f'<div class="example"><div class="label">{esc(title)}{note}</div>')
            if desc:
                out.append(markdown(desc))
            if value is not None:
                if isinstance(value, str) and not is_json_media(media):
                    out.append(f'<pre class="code">{esc(value)}</pre>')
                else:
                    out.append(f'<pre class="code json">{json_html(value)}</pre>')
            out.append("</div>")
        return "".join(out)

    def content_block(self, content, fields=True):
        out = []
        for media, mt in (content or {}).items():
            mt = self.spec.resolve(mt) or {}
            out.append(f'<div class="media"><div class="media-type"><code>{esc(media)}</code></div>')
            if mt.get("schema") is not None:
                out.append(self.schema_block(mt["schema"], fields=fields))
            out.append(self.example_blocks(media, mt))
            out.append("</div>")
        return "".join(out)

    # ---------------------------------------------------------- operations

    def security_text(self, op):
        reqs = op["security"] if "security" in op else self.doc.get("security")
        if not reqs:
            return '<span class="public">None: public</span>'
        alternatives = []
        for req in reqs:
            if not req:
                alternatives.append("anonymous")
                continue
            names = []
            for name, scopes in req.items():
                anchor = self.scheme_anchor.get(name)
                label = f'<a href="#{anchor}">{esc(name)}</a>' if anchor else esc(name)
                if scopes:
                    label += " (" + ", ".join(f"<code>{esc(s)}</code>" for s in scopes) + ")"
                names.append(label)
            alternatives.append(" and ".join(names))
        return " or ".join(alternatives)

    def parameters_block(self, params):
        if not params:
            return ""
        out = ['<h4>Parameters</h4><table class="fields"><thead><tr><th>Name</th><th>In</th>'
               "<th>Type</th><th>Description</th></tr></thead><tbody>"]
        for p in params:
            schema = p.get("schema")
            if schema is None and isinstance(p.get("content"), dict) and p["content"]:
                schema = next(iter(p["content"].values())).get("schema")
            req = ' <span class="req">required</span>' if p.get("required") else ""
            parts = []
            if p.get("description"):
                parts.append(markdown(p["description"]))
            cons = self.constraints(schema) if schema is not None else []
            if "example" in p:
                cons.append(f"e.g. <code>{esc(json.dumps(p['example'], ensure_ascii=False))}</code>")
            if p.get("deprecated"):
                cons.append('<span class="dep">deprecated</span>')
            if cons:
                parts.append('<div class="cons">' + "; ".join(cons) + "</div>")
            type_label = self.type_label(schema) if schema is not None else "any"
            out.append(f'<tr><td class="fname"><code>{esc(p.get("name", ""))}</code>{req}</td>'
                       f'<td>{esc(p.get("in", ""))}</td><td class="ftype">{type_label}</td>'
                       f'<td>{"".join(parts)}</td></tr>')
        out.append("</tbody></table>")
        return "".join(out)

    def headers_table(self, headers):
        if not headers:
            return ""
        out = ['<table class="fields headers"><thead><tr><th>Header</th><th>Type</th>'
               "<th>Description</th></tr></thead><tbody>"]
        for name, h in headers.items():
            h = self.spec.resolve(h) or {}
            req = ' <span class="req">always</span>' if h.get("required") else ""
            schema = h.get("schema")
            parts = []
            if h.get("description"):
                parts.append(markdown(h["description"]))
            cons = self.constraints(schema) if schema is not None else []
            if "example" in h:
                cons.append(f"e.g. <code>{esc(h['example'])}</code>")
            if cons:
                parts.append('<div class="cons">' + "; ".join(cons) + "</div>")
            out.append(f'<tr><td class="fname"><code>{esc(name)}</code>{req}</td>'
                       f'<td class="ftype">{self.type_label(schema) if schema else "string"}</td>'
                       f'<td>{"".join(parts)}</td></tr>')
        out.append("</tbody></table>")
        return "".join(out)

    @staticmethod
    def status_order(code):
        code = str(code)
        if code.isdigit():
            return (0, int(code))
        if re.match(r"^[1-5]XX$", code, re.I):
            return (0, int(code[0]) * 100 + 99)
        return (1, 0)

    def responses_block(self, responses):
        out = ["<h4>Responses</h4>"]
        for code in sorted(responses, key=self.status_order):
            raw = responses[code]
            resp = self.spec.resolve(raw) or {}
            shared = component_name(raw, "responses")
            klass = f"s{code[0]}" if code[:1] in "12345" else "sd"
            is_open = " open" if code[:1] in ("1", "2", "3") else ""
            media = ", ".join(esc(m) for m in (resp.get("content") or {}))
            summary = first_sentence(resp.get("description", ""))
            head = (f'<span class="status {klass}">{esc(code)}</span> '
                    f'<span class="rdesc">{inline_md(summary)}</span>')
            if media:
                head += f' <span class="rmedia">{media}</span>'
            parts = []
            if resp.get("description") and " ".join(resp["description"].split()) != summary:
                parts.append(markdown(resp["description"]))
            parts.append(self.headers_table(resp.get("headers")))
            # A shared response names its schema; the Schemas section has the fields.
            parts.append(self.content_block(resp.get("content"), fields=shared is None))
            body = "".join(parts)
            if body:
                out.append(f'<details class="resp"{is_open}><summary>{head}</summary>'
                           f'<div class="rbody">{body}</div></details>')
            else:
                out.append(f'<div class="resp plain">{head}</div>')
        return "".join(out)

    def request_body_block(self, body):
        if body is None:
            return ""
        body = self.spec.resolve(body) or {}
        req = ' <span class="req">required</span>' if body.get("required") else ""
        out = [f"<h4>Request body{req}</h4>"]
        if body.get("description"):
            out.append(markdown(body["description"]))
        out.append(self.content_block(body.get("content")))
        return "".join(out)

    def operations(self):
        """(tag, path, method, path item, operation) in document order."""
        ops = []
        for path, item in (self.doc.get("paths") or {}).items():
            item = self.spec.resolve(item) or {}
            for method in HTTP_METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    tags = op.get("tags") or ["Other"]
                    ops.append((tags[0], path, method, item, op))
        return ops

    def merged_parameters(self, item, op):
        params = {}
        for p in (item.get("parameters") or []) + (op.get("parameters") or []):
            p = self.spec.resolve(p) or {}
            params[(p.get("name"), p.get("in"))] = p
        order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
        return sorted(params.values(), key=lambda p: order.get(p.get("in"), 4))

    def operation_block(self, anchor, path, method, item, op):
        dep = ' <span class="dep">deprecated</span>' if op.get("deprecated") else ""
        out = [f'<article class="op" id="{anchor}">',
               f'<h3 class="op-title"><span class="m m-{method}">{method.upper()}</span> '
               f'<code class="path">{esc(path)}</code>{dep}</h3>']
        summary = op.get("summary") or item.get("summary")
        if summary:
            out.append(f'<p class="op-summary">{inline_md(summary)}</p>')
        desc = op.get("description") or item.get("description")
        if desc:
            out.append(markdown(desc, heading_base=5))
        meta = [f'<span class="label">Authentication</span> {self.security_text(op)}']
        if op.get("operationId"):
            meta.append(f'<span class="label">Operation id</span> <code>{esc(op["operationId"])}</code>')
        out.append('<div class="meta">' + "".join(f"<div>{m}</div>" for m in meta) + "</div>")
        out.append(self.parameters_block(self.merged_parameters(item, op)))
        out.append(self.request_body_block(op.get("requestBody")))
        out.append(self.responses_block(op.get("responses") or {}))
        out.append("</article>")
        return "".join(out)

    # ---------------------------------------------------------- page

    def overview(self):
        info = self.doc.get("info") or {}
        out = ['<header id="overview" class="overview">',
               f'<h1>{esc(info.get("title", "API"))} <span class="version">{esc(info.get("version", ""))}'
               "</span></h1>"]
        if info.get("summary"):
            out.append(f'<p class="lead">{inline_md(info["summary"])}</p>')
        out.append(markdown(info.get("description"), heading_base=2))
        facts = [f'<div><span class="label">OpenAPI</span> {esc(self.doc.get("openapi", ""))}</div>']
        for server in self.doc.get("servers") or []:
            text = f'<code>{esc(server.get("url", ""))}</code>'
            if server.get("description"):
                text += " " + inline_md(server["description"])
            facts.append(f'<div><span class="label">Server</span> {text}</div>')
        lic = info.get("license") or {}
        if lic.get("name"):
            facts.append(f'<div><span class="label">License</span> {esc(lic["name"])}</div>')
        contact = info.get("contact") or {}
        contact_text = " ".join(esc(contact[k]) for k in ("name", "email", "url") if contact.get(k))
        if contact_text:
            facts.append(f'<div><span class="label">Contact</span> {contact_text}</div>')
        out.append('<div class="meta">' + "".join(facts) + "</div>")
        schemes = (self.doc.get("components") or {}).get("securitySchemes") or {}
        if schemes:
            out.append("<h2>Authentication</h2>")
            for name, scheme in schemes.items():
                scheme = self.spec.resolve(scheme) or {}
                kind = scheme.get("type", "")
                if kind == "http":
                    kind_html = esc(f"HTTP {scheme.get('scheme', '')}")
                    if scheme.get("bearerFormat"):
                        kind_html += esc(f" ({scheme['bearerFormat']})")
                elif kind == "apiKey":
                    kind_html = (f"API key in {esc(scheme.get('in', ''))} "
                                 f"<code>{esc(scheme.get('name', ''))}</code>")
                else:
                    kind_html = esc(kind)
                out.append(f'<div class="scheme" id="{self.scheme_anchor[name]}"><h3><code>{esc(name)}'
                           f'</code> <span class="kind">{kind_html}</span></h3>')
                out.append(markdown(scheme.get("description")))
                out.append("</div>")
        out.append("</header>")
        return "".join(out)

    def render(self):
        info = self.doc.get("info") or {}
        title = f"{info.get('title', 'API')} {info.get('version', '')} API reference".strip()
        ops = self.operations()
        declared = [t for t in self.doc.get("tags") or [] if isinstance(t, dict) and t.get("name")]
        tag_names = [t["name"] for t in declared]
        for tag, *_ in ops:
            if tag not in tag_names:
                tag_names.append(tag)
        tag_desc = {t["name"]: t.get("description") for t in declared}
        tag_anchor = {name: self.anchors.make("tag", name) for name in tag_names}
        op_anchor = {}
        for entry in ops:
            _, path, method, _, op = entry
            op_anchor[id(op)] = self.anchors.make("op", op.get("operationId") or f"{method}-{path}")

        nav = ['<nav class="side"><div class="brand"><a href="#overview">'
               f'{esc(info.get("title", "API"))}</a> <span class="version">{esc(info.get("version", ""))}'
               "</span></div>"]
        body = []
        for tag in tag_names:
            tag_ops = [e for e in ops if e[0] == tag]
            if not tag_ops:
                continue
            nav.append(f'<div class="nav-group"><a class="nav-tag" href="#{tag_anchor[tag]}">{esc(tag)}</a><ul>')
            body.append(f'<section class="tag" id="{tag_anchor[tag]}"><h2>{esc(tag)}</h2>')
            body.append(markdown(tag_desc.get(tag)))
            for _, path, method, item, op in tag_ops:
                anchor = op_anchor[id(op)]
                nav.append(f'<li><a href="#{anchor}"><span class="m m-{method}">{method.upper()}</span>'
                           f'<span class="nav-path">{esc(path)}</span></a></li>')
                body.append(self.operation_block(anchor, path, method, item, op))
            nav.append("</ul></div>")
            body.append("</section>")

        schemas = (self.doc.get("components") or {}).get("schemas") or {}
        if schemas:
            nav.append('<div class="nav-group"><a class="nav-tag" href="#schemas">Schemas</a><ul>')
            body.append('<section class="tag" id="schemas"><h2>Schemas</h2>')
            for name, schema in schemas.items():
                anchor = self.schema_anchor[name]
                nav.append(f'<li><a href="#{anchor}"><span class="nav-path">{esc(name)}</span></a></li>')
                body.append(f'<article class="schema" id="{anchor}"><h3><code>{esc(name)}</code></h3>')
                resolved = self.spec.resolve(schema)
                if isinstance(resolved, dict) and resolved.get("description"):
                    body.append(markdown(resolved["description"]))
                body.append(self.schema_block(schema, with_description=False))
                body.append("</article>")
            nav.append("</ul></div>")
            body.append("</section>")
        nav.append("</nav>")

        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
                + "".join(nav) + "\n<main>\n" + self.overview() + "\n" + "\n".join(body)
                + "\n</main>\n</body>\n</html>\n")


CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--accent:#0969da;--side:290px}
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.55 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;
font-size:13px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
nav.side{position:fixed;top:0;left:0;bottom:0;width:var(--side);overflow-y:auto;background:var(--soft);
border-right:1px solid var(--line);padding:18px 14px}
nav.side .brand{font-size:20px;font-weight:700;margin-bottom:14px}
nav.side .brand a{color:var(--fg)}
nav.side ul{list-style:none;margin:4px 0 14px;padding:0}
nav.side li a{display:flex;align-items:center;gap:8px;padding:3px 6px;border-radius:6px;color:var(--fg)}
nav.side li a:hover{background:#e7ecf0;text-decoration:none}
.nav-tag{display:block;font-size:12px;font-weight:700;letter-spacing:.06em;text-transform:uppercase;
color:var(--muted);margin-top:8px}
.nav-path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px;
overflow-wrap:anywhere}
main{margin-left:var(--side);padding:28px 40px 80px;max-width:calc(var(--side) + 1000px)}
h1{font-size:30px;margin:0 0 6px}h2{font-size:22px;margin:36px 0 10px;padding-bottom:6px;
border-bottom:1px solid var(--line)}
h3{font-size:17px}h4{font-size:14px;margin:18px 0 8px;text-transform:uppercase;letter-spacing:.04em;
color:var(--muted)}
h3.md,h4.md{text-transform:none;letter-spacing:0;color:var(--fg);font-size:17px}
.version{font-size:13px;font-weight:600;color:var(--muted);background:var(--soft);border:1px solid var(--line);
border-radius:999px;padding:1px 9px;vertical-align:middle}
.lead{font-size:17px;color:var(--muted);margin-top:0}
p code,li code,td code,.cons code{background:var(--soft);border:1px solid #e3e8ee;border-radius:4px;padding:0 4px}
.meta{display:flex;flex-wrap:wrap;gap:6px 22px;margin:10px 0;font-size:14px}
.label{font-size:11.5px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
margin-right:4px}
.m{display:inline-block;min-width:54px;text-align:center;font:700 11.5px/1.9 ui-monospace,SFMono-Regular,Menlo,
Consolas,"Liberation Mono",monospace;color:#fff;border-radius:5px;padding:0 6px;flex:none}
.m-get{background:#0969da}.m-post{background:#1a7f37}.m-put{background:#bc4c00}.m-patch{background:#8250df}
.m-delete{background:#cf222e}.m-head,.m-options,.m-trace{background:#59636e}
article.op,article.schema{border:1px solid var(--line);border-radius:10px;padding:6px 22px 16px;margin:18px 0;
background:#fff}
.op-title{display:flex;align-items:center;gap:10px;font-size:18px;margin:14px 0 4px}
.op-title .path{font-size:16px;font-weight:600;background:none;border:0;overflow-wrap:anywhere}
.op-summary{font-size:16px;font-weight:600;margin:4px 0}
.public{color:#1a7f37;font-weight:600}
table.fields{width:100%;border-collapse:collapse;margin:8px 0;font-size:14px}
table.fields th{text-align:left;font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;
border-bottom:2px solid var(--line);padding:6px 8px}
table.fields td{border-bottom:1px solid #e8ecf0;padding:7px 8px;vertical-align:top}
table.fields td p{margin:0 0 4px}
td.fname{white-space:nowrap}td.fname code{background:none;border:0;padding:0;font-weight:600}
td.d1{padding-left:26px}td.d2{padding-left:44px}td.d3{padding-left:62px}td.d4,td.d5{padding-left:80px}
td.ftype{color:#6639ba;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:12.5px}
.fmt{color:var(--muted)}
.req{display:inline-block;font-size:10.5px;font-weight:700;color:#cf222e;text-transform:uppercase;
letter-spacing:.04em;margin-left:6px}
.cons{font-size:13px;color:var(--muted)}
.dep{color:#9a6700;font-weight:700;font-size:12px;text-transform:uppercase}
.note{font-size:13px;color:var(--muted);margin:4px 0}
div.resp.plain{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:8px 12px 8px 30px}
details.resp{border:1px solid var(--line);border-radius:8px;margin:8px 0;background:#fff}
details.resp>summary{cursor:pointer;padding:8px 12px;list-style-position:inside}
details.resp[open]>summary{border-bottom:1px solid var(--line);background:var(--soft);border-radius:8px 8px 0 0}
.rbody{padding:4px 14px 10px}
.status{display:inline-block;min-width:44px;text-align:center;font:700 12.5px/1.8 ui-monospace,SFMono-Regular,
Menlo,Consolas,"Liberation Mono",monospace;border-radius:5px;padding:0 6px}
.s1,.s3{background:#ddf4ff;color:#0550ae}.s2{background:#dafbe1;color:#116329}
.s4{background:#fff1e5;color:#953800}.s5{background:#ffebe9;color:#a40e26}.sd{background:#eaeef2;color:#424a53}
.rmedia{font-size:12px;color:var(--muted);margin-left:6px;font-family:ui-monospace,SFMono-Regular,Menlo,
Consolas,"Liberation Mono",monospace}
.media{margin:10px 0}.media-type code{font-weight:600}
.schema-line{margin:6px 0;font-size:14px}.schema-line a.ref{font-weight:600}
pre.code{background:#0d1117;color:#e6edf3;border-radius:8px;padding:12px 14px;overflow-x:auto;margin:6px 0 10px;
line-height:1.45;white-space:pre}
.j-key{color:#79c0ff}.j-str{color:#a5d6ff}.j-num{color:#ffa657}.j-lit{color:#ff7b72}
.example .label{display:block;margin-top:8px}.gen{text-transform:none;font-weight:400;letter-spacing:0}
.alts{margin:8px 0}.alt{border-left:3px solid var(--line);padding-left:12px;margin:8px 0}
article.schema h3{margin:16px 0 4px}article.schema h3 code{font-size:17px;font-weight:700}
.scheme h3{margin:10px 0 4px}.scheme .kind{font-size:13px;font-weight:400;color:var(--muted)}
@media print{nav.side{display:none}main{margin-left:0;max-width:none}pre.code{white-space:pre-wrap}}
@media (max-width:900px){nav.side{position:static;width:auto;border-right:0;border-bottom:1px solid var(--line)}
main{margin-left:0;padding:18px}}
""".strip()


FORBIDDEN_TAGS = {"script", "link", "iframe", "frame", "object", "embed", "img", "image", "picture",
                  "source", "video", "audio", "track", "form", "base", "meta", "svg", "use", "input"}
URL_ATTRIBUTES = {"src", "srcset", "href", "action", "formaction", "poster", "data", "background",
                  "xlink:href", "manifest", "ping", "cite", "longdesc", "usemap", "codebase"}


def check_self_contained(page):
    """Raise unless the page would load, and link to, nothing outside itself."""
    if "://" in page:
        i = page.index("://")
        raise SpecError(f"the HTML reference contains a URL near {page[max(0, i - 40):i + 40]!r}")
    for m in re.finditer(r"<([A-Za-z][A-Za-z0-9:-]*)([^>]*)>", page):
        tag = m.group(1).lower()
        if tag in FORBIDDEN_TAGS and not (tag == "meta" and re.fullmatch(
                r'\s+(charset="utf-8"|name="viewport" content="[^"]*")', m.group(2))):
            raise SpecError(f"the HTML reference contains a <{tag}> element")
        for attr, value in re.findall(r"([A-Za-z:-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", m.group(2)):
            attr = attr.lower()
            value = value.strip("\"'")
            if attr.startswith("on") or attr == "style":
                raise SpecError(f"the HTML reference has an {attr} attribute")
            if attr in URL_ATTRIBUTES and not (attr == "href" and value.startswith("#")):
                raise SpecError(f"the HTML reference has {attr}={value!r}")
    for style in re.findall(r"<style>(.*?)</style>", page, re.S):
        if re.search(r"url\s*\(|@import|@font-face", style, re.I):
            raise SpecError("the style sheet refers to an outside resource")


def render_html(doc):
    page = Renderer(doc).render()
    check_self_contained(page)
    return page


# ---------------------------------------------------------------- main

def main(argv):
    parser = argparse.ArgumentParser(description="Embed the OpenAPI document and its HTML reference in C.")
    parser.add_argument("--descriptors", required=True, help="the descriptors, as specgen prints them")
    parser.add_argument("--prose", required=True, metavar="DIR", help="the prose (openapi/)")
    parser.add_argument("output", help="the C file to write")
    parser.add_argument("--json", metavar="FILE", help="also write the compact JSON here")
    parser.add_argument("--html", metavar="FILE", help="also write the HTML reference here")
    args = parser.parse_args(argv)
    try:
        doc = merged_document(args.descriptors, args.prose)
        Spec(doc).check_refs(doc)
        spec_json = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        spec_bytes = spec_json.encode("utf-8")
        html_bytes = render_html(doc).encode("utf-8")
    except (SpecError, ValueError, TypeError) as e:
        print(f"gen_spec.py: {args.prose}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"gen_spec.py: {e}", file=sys.stderr)
        return 1
    write_c(args.output, "openapi/ and the resource descriptors",
            [("spec_json", spec_bytes), ("docs_html", html_bytes)])
    if args.json:
        write_atomic(args.json, spec_bytes)
    if args.html:
        write_atomic(args.html, html_bytes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
