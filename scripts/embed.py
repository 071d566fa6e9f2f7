#!/usr/bin/env python3
"""embed.py SYMBOL INPUT OUTPUT.c - turns a text file into `const char SYMBOL[]` for the binary."""
import sys


def main() -> int:
    symbol, source, target = sys.argv[1:4]
    data = open(source, "rb").read()
    lines = [f"/* Generated from {source.split('/')[-1]} at build time. */",
             f"extern const char {symbol}[];",
             f"const char {symbol}[] ="]
    for start in range(0, len(data), 60):
        chunk = data[start:start + 60]
        text = "".join(chr(b) if 32 <= b < 127 and chr(b) not in '\\"?' else f"\\{b:03o}"
                       for b in chunk)
        lines.append(f'    "{text}"')
    if not data:
        lines.append('    ""')
    lines[-1] += ";"
    open(target, "w").write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
