#!/usr/bin/env python3
"""check_catalogue.py: every test docs/SECURITY.md names as proof exists.

Reads the catalogue tables (rows "| ID | input | expected | proved by |") and
the defences table, and checks each reference of the "proved by" column:
  `file.c:test_function`      tests/unit/file.c defines test_function
  `file.bats: "name"`         tests/integration/file.bats has @test "name";
                              a bare `"name"` after it is in the same file
  `file.bats`                 the file exists
  `corpus NAME/FILE`          tests/fuzz/corpus/NAME/FILE exists
  `hostile CASE`              tests/hostile/gen.py makes case("CASE", ...)
  fuzz target `name`          tests/fuzz/fuzz_name.c exists
Prints the number of catalogue rows and of references checked, and each
missing one; exit status 1 when one is missing.

usage: check_catalogue.py TOP"""
import os
import re
import sys

top = sys.argv[1]
doc = open(os.path.join(top, "docs/SECURITY.md"), encoding="utf-8").read()
gen = open(os.path.join(top, "tests/hostile/gen.py"), encoding="utf-8").read()
missing, unchecked, checked, rows = [], [], 0, 0


def read(rel):
    try:
        return open(os.path.join(top, rel), encoding="utf-8").read()
    except OSError:
        return None


def check(ok, what):
    global checked
    checked += 1
    if not ok:
        missing.append(what)


for line in doc.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if not line.startswith("|") or len(cells) < 3 or cells[-1] in ("proved by", "---"):
        continue
    if re.fullmatch(r"[A-Z]+[0-9]+", cells[0]):
        rows += 1
    proof = cells[-1]
    bats = None
    for m in re.finditer(r"fuzz targets? `([a-z_]+)`|`([^`]+)`", proof):
        if m.group(1):
            check(os.path.exists(os.path.join(top, "tests/fuzz/fuzz_%s.c" % m.group(1))), "fuzz target " + m.group(1))
            continue
        ref = m.group(2)
        if mm := re.fullmatch(r"(test_[a-z_0-9]+\.c):(test_[a-z_0-9]+)", ref):
            src = read("tests/unit/" + mm.group(1))
            check(src is not None and re.search(r"\b%s\s*\(" % mm.group(2), src), ref)
        elif mm := re.fullmatch(r"([a-z_0-9]+\.bats)(?:: \"(.*)\")?", ref):
            bats = mm.group(1)
            src = read("tests/integration/" + bats)
            check(src is not None and (mm.group(2) is None or '@test "%s"' % mm.group(2) in src), ref)
        elif mm := re.fullmatch(r"\"(.*)\"", ref):
            src = read("tests/integration/" + bats) if bats else None
            check(src is not None and '@test "%s"' % mm.group(1) in src, "%s: %s" % (bats, ref))
        elif mm := re.fullmatch(r"corpus ([a-z_]+/\S+)", ref):
            check(os.path.exists(os.path.join(top, "tests/fuzz/corpus", mm.group(1))), ref)
        elif mm := re.fullmatch(r"hostile ([a-z_0-9]+)", ref):
            check('case("%s"' % mm.group(1) in gen, ref)
        elif re.fullmatch(r"[a-z_0-9]+\.(c|sh)", ref):
            check(any(os.path.exists(os.path.join(top, d, ref)) for d in ("tests/unit", "tests/fault", "tests/helpers")), ref)
        else:
            unchecked.append(ref)

print("%d catalogue rows, %d references checked, %d missing" % (rows, checked, len(missing)))
for m in missing:
    print("missing: " + m)
sys.exit(1 if missing else 0)
