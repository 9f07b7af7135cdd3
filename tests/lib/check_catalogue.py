#!/usr/bin/env python3
"""check_catalogue.py: docs/SECURITY.md's rows, their tests and their mutants agree.

Reads the tables of docs/SECURITY.md (rows "| ID | ... | proved by |", the
defences table with a "where" column too) and checks each reference of the
"proved by" column:
  `file.c:test_function`      tests/unit/file.c defines test_function
  `file.bats: "name"`         tests/integration/file.bats has @test "name";
                              a bare `"name"` after it is in the same file
  `file.bats`                 the file exists
  `corpus NAME/FILE`          tests/fuzz/corpus/NAME/FILE exists
  `hostile CASE`              tests/hostile/gen.py makes case("CASE", ...)
  fuzz target `name`          tests/fuzz/fuzz_name.c exists
  `mutant NAME`               tests/mutants/NAME.patch exists and its Check: names this row
A proof "same" is the row above's tests ("same, `mutant NAME`" adds its own). Then, beyond existence:
  - no two rows have one ID;
  - every bats test a row names asserts something (a test that only runs
    commands, with no [ ], [[ ]], grep, cmp, diff, false or ! in it, proves nothing);
  - every file of the defences' "where" column exists (a glob may match);
  - every tests/mutants/*.patch starts "Check: ROW[, ROW]: what", each ROW a row
    that names the patch as `mutant NAME`, and has Test: lines, each a test its
    rows name: "$RAMP_UNIT/test_x" (a row names test_x.c or a function of it) or
    "bats -f 'REGEX' tests/integration/f.bats" (REGEX matches a test, and every
    test it matches is named by the rows, or a row names f.bats whole).
Prints the number of catalogue rows, of references checked and of mutants,
and each problem; exit status 1 when there is one.

usage: check_catalogue.py TOP"""
import glob
import os
import re
import shlex
import sys

top = sys.argv[1]
problems, checked = [], 0


def read(rel):
    try:
        return open(os.path.join(top, rel), encoding="utf-8").read()
    except OSError:
        return None


def check(ok, what):
    global checked
    checked += 1
    if not ok:
        problems.append(what)
    return ok


# a command that can fail the test: a test, a grep, a comparison, a negation
# (as a command: "run false" asserts nothing)
ASSERTION = re.compile(r"(^\s*|[;&|{(]\s*|\b(then|do|else)\s+)(\[\[? |grep |cmp |diff |false\b|! )", re.M)
BLOCK = r'^%s \{\n(.*?)^\}$'


def bats_tests(name, cache={}):
    """({test name: body}, {names of the functions that assert}) of
    tests/integration/NAME and the files it loads, or None."""
    if name not in cache:
        src = read("tests/integration/" + name)
        if src is None:
            cache[name] = None
            return None
        for lib in re.findall(r"^load (\S+)$", src, re.M):
            src += read("tests/integration/%s.bash" % lib) or ""
        funcs = dict(re.findall(BLOCK % r"([a-z_0-9]+)\(\)", src, re.M | re.S))
        asserting, grown = set(), True
        while grown:  # a function that calls one that asserts asserts too
            more = {f for f, body in funcs.items() if asserts(body, asserting)}
            grown, asserting = more != asserting, more
        cache[name] = (dict(re.findall(BLOCK % r'@test "([^\n]*)"', src, re.M | re.S)), asserting)
    return cache[name]


def asserts(body, functions):
    return ASSERTION.search(body) or any(w in functions for w in re.findall(r"[a-z_0-9]+", body))


def check_bats(bats, name, what):
    t = bats_tests(bats)
    if check(t is not None and (name is None or name in t[0]), what) and name is not None:
        check(asserts(t[0][name], t[1]), "%s asserts nothing (no [ ], [[ ]], grep, cmp, diff, false or !, nor a function with one)" % what)


doc = read("docs/SECURITY.md")
gen = read("tests/hostile/gen.py") or ""
rows = {}  # ID: {"unit": set, "bats": set of (file, name or None), "mutants": set}
proof, where = None, False
for line in doc.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells[-1] == "proved by":
        where = cells[-2] == "where"
    if not line.startswith("|") or len(cells) < 3 or cells[-1] in ("proved by", "---"):
        continue
    row = None
    if re.fullmatch(r"[A-Z]+[0-9]+", cells[0]):
        check(cells[0] not in rows, "%s: two rows have this ID" % cells[0])
        row = rows.setdefault(cells[0], {"unit": set(), "bats": set(), "mutants": set()})
    if cells[-1] == "same" or cells[-1].startswith("same, "):  # the row above's tests, its own mutants
        proof = re.sub(r", `mutant [^`]*`", "", proof) + cells[-1][4:]
    else:
        proof = cells[-1]
    if row is not None and where:
        for m in re.finditer(r"`([a-z_]+/[^`\s]+)`", cells[2]):
            check(glob.glob(os.path.join(top, m.group(1))), "%s: where `%s`" % (cells[0], m.group(1)))
    bats = None
    for m in re.finditer(r"fuzz targets? `([a-z_]+)`|`([^`]+)`", proof):
        if m.group(1):
            check(os.path.exists(os.path.join(top, "tests/fuzz/fuzz_%s.c" % m.group(1))), "fuzz target " + m.group(1))
            continue
        ref = m.group(2)
        if mm := re.fullmatch(r"(test_[a-z_0-9]+\.c)(?::(test_[a-z_0-9]+))?", ref):
            src = read("tests/unit/" + mm.group(1))
            check(src is not None and (not mm.group(2) or re.search(r"\b%s\s*\(" % mm.group(2), src)), ref)
            if row:
                row["unit"].add(mm.group(1)[:-2])
        elif mm := re.fullmatch(r"([a-z_0-9]+\.bats)(?:: \"(.*)\")?", ref):
            bats = mm.group(1)
            check_bats(bats, mm.group(2), ref)
            if row:
                row["bats"].add((bats, mm.group(2)))
        elif mm := re.fullmatch(r"\"(.*)\"", ref):
            check(bats, "%s: a test name with no .bats file before it" % ref)
            if bats:
                check_bats(bats, mm.group(1), "%s: %s" % (bats, ref))
                if row:
                    row["bats"].add((bats, mm.group(1)))
        elif mm := re.fullmatch(r"corpus ([a-z_]+/\S+)", ref):
            check(os.path.exists(os.path.join(top, "tests/fuzz/corpus", mm.group(1))), ref)
        elif mm := re.fullmatch(r"hostile ([a-z_0-9]+)", ref):
            check('case("%s"' % mm.group(1) in gen, ref)
        elif mm := re.fullmatch(r"mutant ([a-z0-9-]+)", ref):
            check(row is not None, "%s: a mutant in a row without an ID" % ref)
            if row:
                row["mutants"].add(mm.group(1))
        elif re.fullmatch(r"[a-z_0-9]+\.(c|sh)", ref):
            check(any(os.path.exists(os.path.join(top, d, ref)) for d in ("tests/unit", "tests/fault", "tests/helpers")), ref)


def check_test(name, cmd, ids):
    """A Test: line of mutant NAME is a test that one of the rows IDS names."""
    words = shlex.split(cmd)
    named = [r for i in ids for r in rows[i]["bats"]]
    if len(words) == 1 and (m := re.fullmatch(r"\$RAMP_UNIT/(test_[a-z_0-9]+)", words[0])):
        check(any(m.group(1) in rows[i]["unit"] for i in ids), "mutant %s: %s.c is named by none of %s" % (name, m.group(1), ", ".join(ids)))
    elif len(words) == 4 and words[:2] == ["bats", "-f"] and (m := re.fullmatch(r"tests/integration/([a-z_0-9]+\.bats)", words[3])):
        tests = (bats_tests(m.group(1)) or ({},))[0]
        hit = [t for t in tests if re.search(words[2], t)]
        whole = (m.group(1), None) in named
        check(hit, "mutant %s: bats -f '%s' matches no test of %s" % (name, words[2], m.group(1)))
        for t in hit:
            check(whole or (m.group(1), t) in named, 'mutant %s: %s: "%s" is named by none of %s' % (name, m.group(1), t, ", ".join(ids)))
    else:
        check(False, "mutant %s: Test: %s: neither $RAMP_UNIT/test_NAME nor bats -f 'REGEX' tests/integration/FILE.bats" % (name, cmd))


patches = sorted(glob.glob(os.path.join(top, "tests/mutants/*.patch")))
names = {os.path.basename(p)[:-6] for p in patches}
for p in patches:
    name = os.path.basename(p)[:-6]
    head = open(p, encoding="utf-8").read().split("\n\n", 1)[0].splitlines()
    m = re.fullmatch(r"Check: ([A-Z]+[0-9]+(?:, [A-Z]+[0-9]+)*): .+", head[0] if head else "")
    if not check(m, "mutant %s: the first line is not \"Check: ROW: what it removes\"" % name):
        continue
    ids = m.group(1).split(", ")
    if not all(check(i in rows, "mutant %s: Check: names row %s, which docs/SECURITY.md has not" % (name, i)) for i in ids):
        continue
    for i in ids:
        check(name in rows[i]["mutants"], "mutant %s: row %s does not name it (`mutant %s`)" % (name, i, name))
    tests = [line[6:] for line in head if line.startswith("Test: ")]
    check(tests, "mutant %s: no Test: line" % name)
    for t in tests:
        check_test(name, t, ids)
for i, r in rows.items():
    for name in r["mutants"]:
        check(name in names, "%s: `mutant %s`: tests/mutants/%s.patch does not exist" % (i, name, name))

print("%d catalogue rows, %d references checked, %d mutants, %d problems" % (len(rows), checked, len(patches), len(problems)))
for m in problems:
    print("problem: " + m)
sys.exit(1 if problems else 0)
