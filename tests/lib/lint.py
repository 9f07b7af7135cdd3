#!/usr/bin/env python3
"""lint.py: what a reviewer should read first (make lint).

Lists the C functions longer than --max-lines (the lines from the one that
opens the body to the one that closes it), longest first, and the files that
grew most since --base (a git revision: what a branch added). It reports; it
does not fail the build, for a long function is sometimes the clearest one.

The code's own style is relied upon: a function's body opens with "{" alone at
the start of a line, right after its declarator, and closes with "}" alone at
the start of a line.
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

DIRS = ["cmd", "lib", "image", "runtime", "orchestrator", "tests/helpers"]
NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path):
    """(name, first line, length) of each function definition in path."""
    lines = path.read_text(errors="replace").split("\n")
    out = []
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            # the declarator: the lines above up to a blank line or a comment end
            j = i - 1
            while j > 0 and lines[j - 1].strip() and not lines[j - 1].rstrip().endswith(("*/", ";", "}")):
                j -= 1
            head = " ".join(lines[j:i])
            m = NAME.search(head.split("(")[0] + "(") if "(" in head else None
            k = i + 1
            while k < len(lines) and lines[k] != "}":
                k += 1
            if m and "=" not in head.split("(")[0]:
                out.append((m.group(1), i + 1, k - i + 1))
            i = k
        i += 1
    return out


def sources(root):
    for d in DIRS:
        yield from sorted((root / d).rglob("*.c"))


def grown(root, base, n):
    try:
        res = subprocess.run(["git", "-C", str(root), "diff", "--numstat", base, "--", *DIRS, "tests", "docs"],
                             capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        print(f"lint: no growth since {base}: {e}", file=sys.stderr)
        return []
    rows = []
    for line in res.stdout.splitlines():
        add, rem, name = line.split("\t", 2)
        if add == "-":
            continue  # binary
        rows.append((int(add) - int(rem), int(add), int(rem), name))
    rows.sort(reverse=True)
    return [r for r in rows if r[0] > 0][:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-lines", type=int, default=80)
    ap.add_argument("--base", default="main")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    root = Path(__file__).resolve().parents[2]
    long_ones = [(n, f"{p.relative_to(root)}:{line}", name)
                 for p in sources(root) for name, line, n in functions(p) if n > a.max_lines]
    long_ones.sort(reverse=True)
    print(f"functions over {a.max_lines} lines ({len(long_ones)}):")
    for n, where, name in long_ones:
        print(f"  {n:5d}  {name:32s} {where}")
    rows = grown(root, a.base, a.top)
    print(f"\nfiles that grew most since {a.base}:")
    for net, add, rem, name in rows:
        print(f"  {net:+6d}  (+{add} -{rem})  {name}")


if __name__ == "__main__":
    main()
