#!/usr/bin/env python3
"""gen.py: writes the hostile layer corpus for tests/unit/test_unpack_hostile.c.

usage: gen.py OUTDIR CANARY

OUTDIR gets one layer file per case and cases.json, which says for each case
how to unpack it (mode, compression, limits, digests) and what must come out:
an error containing a given text, or success with given paths inside the
target. CANARY is an existing directory next to the target that the cases try
to reach (by "..", absolute paths, symlinks and hard links); the test checks
that nothing outside the target changed. Nothing binary is checked in: every
layer is made here, with python's tarfile (zstd through the zstd program).
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MTIME = 1700000000
OUT, CANARY = sys.argv[1], os.path.abspath(sys.argv[2])
CANARY_IN_ROOT = CANARY.lstrip("/")  # where an absolute CANARY path lands inside the target
cases = []


def entry(name, kind="file", data=b"", mode=None, uid=0, gid=0, link="", pax=None, dev=(0, 0)):
    types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
             "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
             "fifo": tarfile.FIFOTYPE}
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    t = tarfile.TarInfo(name)
    t.type = types[kind]
    t.mode = mode if mode is not None else (0o755 if kind == "dir" else 0o644)
    t.uid, t.gid, t.mtime = uid, gid, MTIME
    t.linkname = link
    t.devmajor, t.devminor = dev
    t.size = len(data) if kind == "file" else 0
    if pax:
        t.pax_headers = dict(pax)
    return t, data


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, errors="surrogateescape") as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def gz(b):
    return gzip.compress(b, 6, mtime=0)


def zst(b):
    return subprocess.run(["zstd", "-q", "-3", "-c"], input=b, stdout=subprocess.PIPE, check=True).stdout


def name_check(p):
    """Paths in cases.json: plain, or "hex:…" for names that are not UTF-8."""
    if isinstance(p, bytes):
        return "hex:" + p.hex()
    return p


def case(name, layer, error=None, checks=(), compression="", mode="overlay", lower=None, digest=None,
         diff_id=None, size=None, max_bytes=None, max_entries=None, devices=None):
    fname = name + ".layer"
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(layer)
    c = {"name": name, "file": fname, "compression": compression, "mode": mode}
    if lower is not None:
        lname = name + ".lower"
        with open(os.path.join(OUT, lname), "wb") as f:
            f.write(lower)
        c["lower"] = lname
    for k, v in (("digest", digest), ("diff_id", diff_id), ("size", size), ("max_bytes", max_bytes),
                 ("max_entries", max_entries), ("error", error), ("devices", devices)):
        if v is not None:
            c[k] = v
    c["checks"] = [dict(ck, path=name_check(ck["path"])) for ck in checks]
    cases.append(c)


def absent(p):
    return {"path": p, "type": "absent"}


def is_file(p, content=None, mode=None):
    c = {"path": p, "type": "file"}
    if content is not None:
        c["content"] = content
    if mode is not None:
        c["mode"] = mode
    return c


os.makedirs(OUT, exist_ok=True)
F = entry  # shorthand

# ---- paths that try to leave the target ----
case("dotdot_escape", tar([F("../canary/pwned", data=b"x")]), error='".." would climb out')
case("dotdot_deep", tar([F("a/../../canary/pwned", data=b"x")]), error='".." would climb out')
case("dotdot_dir", tar([F("..", "dir")]), error='".." would climb out')
case("absolute_canary", tar([F(CANARY + "/pwned", data=b"x")]),
     checks=[is_file(CANARY_IN_ROOT + "/pwned", "x")])
case("absolute_etc_passwd", tar([F("/etc/passwd", data=b"root::0:0::/:/bin/sh\n")]),
     checks=[is_file("etc/passwd", "root::0:0::/:/bin/sh\n")])
case("symlink_relative_escape", tar([F("esc", "symlink", link="../../../../../../canary"),
                                     F("esc/pwned", data=b"x")]),
     checks=[{"path": "esc", "type": "symlink", "target": "../../../../../../canary"}, is_file("canary/pwned", "x")])
case("symlink_absolute_escape", tar([F("esc", "symlink", link=CANARY), F("esc/pwned", data=b"x")]),
     checks=[is_file(CANARY_IN_ROOT + "/pwned", "x")])
case("symlink_to_root_then_write", tar([F("root", "symlink", link="/"), F("root/etc/pwned", data=b"x"),
                                        F("root/newdir", "dir"), F("root/newdir/f", data=b"y")]),
     checks=[is_file("etc/pwned", "x"), is_file("newdir/f", "y")])
case("symlink_chain_escape", tar([F("a", "symlink", link="b/../../.."), F("b", "symlink", link="/x/.."),
                                  F("a/canary/pwned", data=b"x")]),
     checks=[is_file("canary/pwned", "x")])
case("symlink_final_replaced", tar([F("f", "symlink", link=CANARY + "/keep"), F("f", data=b"new")]),
     checks=[is_file("f", "new")])
case("symlink_final_dir_replaced", tar([F("d", "symlink", link=CANARY), F("d", "dir"), F("d/f", data=b"x")]),
     checks=[{"path": "d", "type": "dir"}, is_file("d/f", "x")])
case("symlink_loop", tar([F("a", "symlink", link="b"), F("b", "symlink", link="a"), F("a/f", data=b"x")]),
     error="more than 40 symbolic links")
case("symlink_self_loop", tar([F("l", "symlink", link="l/x"), F("l/f", data=b"x")]),
     error="more than 40 symbolic links")

# ---- hard links ----
case("hardlink_etc_passwd", tar([F("pw", "hardlink", link="/etc/passwd")]), error="does not exist")
case("hardlink_dotdot", tar([F("pw", "hardlink", link="../canary/keep")]), error='".." would climb out')
case("hardlink_through_symlink", tar([F("s", "symlink", link=CANARY), F("x", "hardlink", link="s/keep")]),
     error="is a symbolic link")
case("hardlink_through_inner_symlink", tar([F("d", "dir"), F("d/f", data=b"x"), F("s", "symlink", link="d"),
                                            F("x", "hardlink", link="s/f")]),
     error="is a symbolic link")
case("hardlink_to_dir", tar([F("d", "dir"), F("x", "hardlink", link="d")]), error="is a directory")
case("hardlink_over_symlink", tar([F("s", "symlink", link=CANARY + "/keep"), F("f", data=b"data"),
                                   F("s", "hardlink", link="f")]),
     checks=[is_file("s", "data"), is_file("f", "data")])

# ---- whiteouts ----
case("whiteout_dotdot", tar([F("../.wh.canary", data=b"")]), error='".." would climb out')
case("whiteout_bare", tar([F("dir/.wh.", data=b"")]), error="must name an entry")
case("whiteout_of_dotdot_name", tar([F(".wh...", data=b"")]), error="must name an entry")
case("whiteout_through_symlink", tar([F("s", "symlink", link=CANARY), F("s/.wh.keep", data=b"")]),
     error="is a symbolic link")
case("whiteout_through_symlink_flatten", tar([F("s", "symlink", link=CANARY), F("s/.wh.keep", data=b"")]),
     mode="flatten", error="is a symbolic link")
case("whiteout_with_children", tar([F(".wh.x", "dir"), F(".wh.x/y", data=b"")]), error="cannot have children")
case("whiteout_same_layer", tar([F("x", data=b"mine"), F(".wh.x", data=b""), F("d", "dir"),
                                 F("d/.wh..wh..opq", data=b""), F(".wh.gone", data=b"")]),
     checks=[is_file("x", "mine"), {"path": "d", "type": "dir", "opaque": True},
             {"path": "gone", "type": "whiteout"}])
case("whiteout_flatten_keeps_own", tar([F("d", "dir"), F("d/new", data=b"n"), F("d/.wh..wh..opq", data=b""),
                                        F("x", data=b"mine"), F(".wh.x", data=b""), F(".wh.old", data=b"")]),
     mode="flatten", lower=tar([F("d", "dir"), F("d/lower", data=b"l"), F("old", data=b"o")]),
     checks=[is_file("d/new", "n"), absent("d/lower"), is_file("x", "mine"), absent("old")])

# ---- replacing one kind by another ----
case("file_replaces_dir", tar([F("d", "dir"), F("d/f", data=b"x"), F("d", data=b"file now")]),
     checks=[is_file("d", "file now")])
case("dir_replaces_file", tar([F("x", data=b"file"), F("x", "dir"), F("x/f", data=b"y")]),
     checks=[{"path": "x", "type": "dir", "opaque": True}, is_file("x/f", "y")])
case("dir_over_lower_symlink", tar([F("lib", "dir"), F("lib/f", data=b"x")]), mode="flatten",
     lower=tar([F("lib", "symlink", link=CANARY)]),
     checks=[{"path": "lib", "type": "dir"}, is_file("lib/f", "x")])
case("file_through_lower_symlink", tar([F("lib/f", data=b"x")]), mode="flatten",
     lower=tar([F("lib", "symlink", link=CANARY)]),
     checks=[{"path": "lib", "type": "symlink", "target": CANARY}, is_file(CANARY_IN_ROOT + "/f", "x")])
case("duplicate_entries", tar([F("f", data=b"first"), F("f", data=b"second, longer"), F("d", "dir", mode=0o700),
                               F("d", "dir", mode=0o711)]),
     checks=[is_file("f", "second, longer"), {"path": "d", "type": "dir", "mode": 0o711}])

# ---- xattrs ----
case("trusted_overlay_opaque_xattr", tar([F("d", "dir", pax={"SCHILY.xattr.trusted.overlay.opaque": "y"})]),
     error="trusted.* belongs to the host")
case("trusted_overlay_redirect_xattr", tar([F("d", "dir", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc"})]),
     error="trusted.* belongs to the host")
case("user_xattr_kept", tar([F("f", data=b"x", pax={"SCHILY.xattr.user.note": "hello"})]),
     checks=[dict(is_file("f", "x"), xattr={"user.note": "hello"})])

# ---- names ----
case("pax_path_with_nul", tar([F("x", data=b"z", pax={"path": "a\x00/../../canary/pwned"})]),
     checks=[is_file("a", "z")])
case("pax_path_over_path_max", tar([F("d/" * 2100 + "f", data=b"x")]), error="more than the limit of 4095")
case("pax_linkname_over_path_max", tar([F("l", "symlink", link="x" * 5000)]), error="more than the limit")
case("component_over_name_max", tar([F("a" * 300, data=b"x")]), error="File name too long")
NON_UTF8 = b"bin\xff\xfe-name"
case("non_utf8_name_pax", tar([F(NON_UTF8, data=b"raw"), F(b"dir\xc3(/f", data=b"in")]),
     checks=[is_file(NON_UTF8, "raw"), is_file(b"dir\xc3(/f", "in")])
case("non_utf8_name_gnu", tar([F(NON_UTF8, data=b"raw")], fmt=tarfile.GNU_FORMAT),
     checks=[is_file(NON_UTF8, "raw")])
LONG = "/".join(["c%03d" % i + "x" * 195 for i in range(15)])
case("long_names_kept", tar([F(LONG + "/f", data=b"deep"), F("l" * 255, data=b"max")]),
     checks=[is_file(LONG + "/f", "deep"), is_file("l" * 255, "max")])

# ---- special files and modes ----
case("device_nodes", tar([F("dev/null", "chr", mode=0o666, dev=(1, 3)), F("dev/sda", "blk", mode=0o660, dev=(8, 0)),
                          F("dev/fifo", "fifo", mode=0o600)]),
     devices=True,
     checks=[{"path": "dev/null", "type": "chr", "mode": 0o666}, {"path": "dev/sda", "type": "blk"},
             {"path": "dev/fifo", "type": "fifo"}])
case("device_node_names_escape", tar([F("../dev/sda", "blk", dev=(8, 0))]), error='".." would climb out')
case("setuid_kept", tar([F("bin", "dir"), F("bin/su", data=b"#!", mode=0o4755, uid=0),
                         F("bin/wall", data=b"#!", mode=0o2755, gid=5), F("tmp", "dir", mode=0o1777)]),
     checks=[is_file("bin/su", mode=0o4755), is_file("bin/wall", mode=0o2755), {"path": "tmp", "type": "dir", "mode": 0o1777}])
case("owner_out_of_range", tar([F("f", data=b"x", pax={"uid": "4294967296"})]), error="out of range")

# ---- sizes, counts, bombs ----
body = b"A" * 100
ti, _ = F("big", data=b"")
ti.size = 1 << 20
trunc = ti.tobuf(tarfile.USTAR_FORMAT) + body  # the size field lies: the data stops after 100 bytes
case("size_field_lies", trunc, error="runcated")
case("size_over_limit", tar([F("huge", data=b"", pax={"size": str(100 << 30)})]), max_bytes=1 << 20,
     error="larger than the limit")
case("too_many_entries", tar([F("f%04d" % i, data=b"") for i in range(150)]), max_entries=100,
     error="more than the limit of 100 entries")
zeros = tar([F("zeros", data=bytes(16 << 20))])
case("gzip_bomb", gz(zeros), compression="gzip", max_bytes=1 << 20, error="limit")
case("zstd_bomb", zst(tar([]) + bytes(32 << 20)), compression="zstd", max_bytes=1 << 20,
     error="decompression bomb")

# ---- integrity ----
ok_layer = tar([F("f", data=b"content")])
case("diff_id_mismatch", ok_layer, diff_id=sha(b"something else"), error="not to its diff_id")
case("diff_id_ok", ok_layer, diff_id=sha(ok_layer), digest=sha(ok_layer), size=len(ok_layer),
     checks=[is_file("f", "content")])
gzl = gz(ok_layer)
case("blob_digest_mismatch", gzl, compression="gzip", digest=sha(gzl + b"x"), diff_id=sha(ok_layer),
     error="hashes to")
case("blob_size_mismatch", gzl, compression="gzip", size=len(gzl) - 1, error="larger than the")
case("declared_gzip_but_plain", ok_layer, compression="gzip", error="not gzip-compressed")
case("declared_zstd_but_gzip", gzl, compression="zstd", error="not zstd-compressed")
case("not_a_tar", b"this is not a tar archive at all\n" * 40, error="not a tar stream")
case("corrupt_gzip", gzl[:len(gzl) // 2] + bytes(64), compression="gzip", error="decompress")

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"canary": CANARY, "cases": cases}, f, indent=1)
print(len(cases), "cases")
