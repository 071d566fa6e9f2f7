#!/usr/bin/env python3
"""embed_assets.py OUTPUT.c FILE... - the console's files as a table for the binary.

Each file becomes one entry of `console_assets` (include/sharaka/console.h): its name, its media
type (from the extension; an unknown extension is an error, so nothing is served as the wrong
type), its bytes, and a strong ETag made of the first 16 bytes of its SHA-256.
"""
import hashlib
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def c_string(data):
    out = []
    for start in range(0, len(data), 60):
        chunk = data[start:start + 60]
        text = "".join(chr(b) if 32 <= b < 127 and chr(b) not in '\\"?' else f"\\{b:03o}"
                       for b in chunk)
        out.append(f'    "{text}"')
    return "\n".join(out) if out else '    ""'


def main() -> int:
    target, sources = sys.argv[1], sys.argv[2:]
    lines = ["/* Generated from console/ at build time by scripts/embed_assets.py. */",
             '#include "sharaka/console.h"', ""]
    entries = []
    for i, path in enumerate(sorted(sources, key=os.path.basename)):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            print(f"embed_assets: {name}: no media type for '{ext}'", file=sys.stderr)
            return 1
        data = open(path, "rb").read()
        etag = hashlib.sha256(data).hexdigest()[:32]
        lines.append(f"static const char asset{i}[] =\n{c_string(data)};")
        entries.append(f'    {{"{name}", "{TYPES[ext]}", asset{i}, {len(data)}, "\\"{etag}\\""}},')
    lines += ["", "const struct console_asset console_assets[] = {", *entries, "};",
              f"const size_t console_nassets = {len(entries)};", ""]
    open(target, "w").write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
