#!/usr/bin/env python3
"""crashstates.py: the states a power cut could leave, from a record of crashrec.so
(tests/helpers/preload/crashrec.c), each checked.

usage: crashstates.py --root DIR --before COPY --log FILE [--exact REGEX] [--prefix REGEX]
                      [--check CMD] [--expect-torn]

DIR is the directory the program wrote under (it must be its absolute path as
recorded); COPY is a copy of DIR taken before the run. DIR is rebuilt as each
crash state in turn, then left as the program left it.

The model of the disk: a file's bytes are durable once it is fsynced; a directory's
entries once the directory is. At a crash after any event, the directory entries are
either all durable ones or all current ones, and each file keeps its durable bytes
plus the same number of its later writes and truncations, applied in order, the last
of them possibly torn (half written). Each state is checked:
  --exact REGEX   a file whose path (relative to DIR) matches holds what it held
                  before, or what it held at one of its fsyncs, closes or renames
                  into place, or is absent if it was absent before
  --prefix REGEX  a matching file (an append-only log) is a prefix of its final bytes
  --check CMD     CMD (a shell command) exits 0 on the state
Without --expect-torn, exit 0 when every state passes, else 1 with the first failures
on stderr; with --expect-torn, the opposite: a writer meant to be unsafe must be
caught (exit 0 when some state fails).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys


def read_tree(d):
    files = {}
    for dp, _, fns in os.walk(d):
        for f in fns:
            p = os.path.join(dp, f)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    files[p] = fh.read()
    return files


def apply(data, op):
    if op[0] == "w":
        _, off, b = op
        if len(data) < off:
            data += b"\0" * (off - len(data))
        return data[:off] + b + data[off + len(b):]
    _, n = op
    return data[:n] + b"\0" * max(0, n - len(data))


class Sim:
    def __init__(self, before):
        self.ino = {}   # id -> {"dur": bytes, "vol": bytes, "pending": [ops]}
        self.vol = {}   # path -> id
        self.dur = {}   # path -> id
        self.next = 0
        self.versions = {}  # path -> set of acceptable bytes (or None for absent)
        for p, b in before.items():
            i = self.new(b)
            self.vol[p] = self.dur[p] = i
            self.versions[p] = {b}

    def new(self, b=b""):
        self.next += 1
        self.ino[self.next] = {"dur": b, "vol": b, "pending": []}
        return self.next

    def remember(self, p):
        if p in self.vol:
            self.versions.setdefault(p, {None}).add(self.ino[self.vol[p]]["vol"])

    def event(self, ev):
        kind, args = ev[0], ev[1:]
        if kind == "create":
            p = args[0]
            if p in self.vol:
                i = self.vol[p]
                self.ino[i]["vol"] = b""
                self.ino[i]["pending"].append(("t", 0))
            else:
                self.versions.setdefault(p, {None})
                self.vol[p] = self.new()
        elif kind in ("w", "trunc"):
            p = args[0]
            if p not in self.vol:
                self.versions.setdefault(p, {None})
                self.vol[p] = self.new()
            i = self.ino[self.vol[p]]
            op = ("w", int(args[1]), bytes.fromhex(args[2])) if kind == "w" else ("t", int(args[1]))
            i["vol"] = apply(i["vol"], op)
            i["pending"].append(op)
        elif kind == "fsync":
            p = args[0]
            if p in self.vol:  # a file
                i = self.ino[self.vol[p]]
                i["dur"], i["pending"] = i["vol"], []
                self.remember(p)
            # a directory (or a file, whose entry an fsync of it also makes durable
            # on the file systems in use: the tests do not count on it)
            prefix = p.rstrip("/") + "/"
            for q in [q for q in self.dur if q.startswith(prefix) and "/" not in q[len(prefix):]]:
                del self.dur[q]
            for q, i in self.vol.items():
                if q.startswith(prefix) and "/" not in q[len(prefix):]:
                    self.dur[q] = i
        elif kind == "rename":
            a, b = args
            if a in self.vol:
                self.vol[b] = self.vol.pop(a)
                self.versions.setdefault(b, {None})
                self.remember(b)
        elif kind == "syncfs":
            for i in self.ino.values():
                i["dur"], i["pending"] = i["vol"], []
            self.dur = dict(self.vol)
            for p in self.vol:
                self.remember(p)
        elif kind == "have":
            self.versions.setdefault(args[0], {None})
            self.vol[args[0]] = self.new(bytes.fromhex(args[1]) if len(args) > 1 else b"")
        elif kind == "link":
            if args[0] in self.vol:
                self.vol[args[1]] = self.vol[args[0]]
                self.versions.setdefault(args[1], {None})
                self.remember(args[1])
        elif kind == "unlink":
            self.vol.pop(args[0], None)

    def states(self):
        """every crash state at this point: {path: bytes}"""
        most = max([len(i["pending"]) for i in self.ino.values()] + [0])
        seen = set()
        for entries in (self.dur, self.vol):
            for j in range(most + 1):
                for torn in (False, True):
                    st = {}
                    for p, n in entries.items():
                        i = self.ino[n]
                        b = i["dur"]
                        ops = i["pending"][:j]
                        for k, op in enumerate(ops):
                            if torn and k == len(ops) - 1 and op[0] == "w":
                                op = ("w", op[1], op[2][: len(op[2]) // 2])
                            b = apply(b, op)
                        st[p] = b
                    key = tuple(sorted(st.items()))
                    if key not in seen:
                        seen.add(key)
                        yield st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--before", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--exact")
    ap.add_argument("--prefix")
    ap.add_argument("--check")
    ap.add_argument("--expect-torn", action="store_true")
    o = ap.parse_args()
    root = os.path.realpath(o.root)
    before = {os.path.join(root, os.path.relpath(p, o.before)): b for p, b in read_tree(o.before).items()}
    final = read_tree(root)
    with open(o.log) as fh:
        events = [l.rstrip("\n").split(" ") for l in fh if l.strip()]
    sim = Sim(before)
    # the closes and renames of the run are the versions a program means to leave: replay
    # once to collect them, then again for the states
    for ev in events:
        sim.event(ev)
    for p in sim.vol:
        sim.remember(p)
    versions = sim.versions
    sim = Sim(before)
    sim.versions = versions
    rel = lambda p: os.path.relpath(p, root)
    exact = re.compile(o.exact) if o.exact else None
    prefix = re.compile(o.prefix) if o.prefix else None
    saved = root + ".crashstates-final"
    shutil.rmtree(saved, ignore_errors=True)
    os.rename(root, saved)
    fails, n_states, n_checked = [], 0, set()
    try:
        for k in range(len(events) + 1):
            if k:
                sim.event(events[k - 1])
            for st in sim.states():
                n_states += 1
                why = []
                for p in set(versions) | set(st):
                    if exact and exact.search(rel(p)):
                        got = st.get(p)
                        if got not in versions.get(p, {None}) and not (got is None and p not in before):
                            why.append("%s holds %d bytes that it never held whole (%r...)" % (rel(p), len(got or b""), (got or b"")[:40]))
                    if prefix and prefix.search(rel(p)) and p in st and not final.get(p, b"").startswith(st[p]):
                        why.append("%s is not a prefix of its final bytes" % rel(p))
                if o.check and not why:
                    key = tuple(sorted(st.items()))
                    if key not in n_checked:
                        n_checked.add(key)
                        shutil.rmtree(root, ignore_errors=True)
                        shutil.copytree(o.before, root, symlinks=True)
                        for p in set(before) - set(st):
                            os.unlink(p)
                        for p, b in st.items():
                            os.makedirs(os.path.dirname(p), exist_ok=True)
                            with open(p, "wb") as fh:
                                fh.write(b)
                        r = subprocess.run(o.check, shell=True, capture_output=True, text=True)
                        if r.returncode:
                            why.append("check failed (%d): %s" % (r.returncode, (r.stdout + r.stderr).strip()[-300:]))
                if why:
                    fails.append("after event %d (%s): %s" % (k, " ".join(events[k - 1])[:120] if k else "start", "; ".join(why)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
        os.rename(saved, root)
    print("%d events, %d crash states, %d checked by command, %d failing" % (len(events), n_states, len(n_checked), len(fails)))
    for f in fails[:5]:
        print("  " + f, file=sys.stderr)
    if o.expect_torn:
        return 0 if fails else 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
