#!/usr/bin/env python3
"""tree_manifest.py DIR: one line per entry under DIR, in byte order of path:
path, type, mode, uid:gid, size (files), sha256 (files), link target, mtime
(seconds), device numbers, link count (files), and user./security. xattrs.
Two trees are the same for an image when their manifests are equal. Paths and
link targets are exact: every byte outside 0x21-0x7e, and the backslash, is
written as \\xNN (so a name with a space, a newline or bytes that are not
UTF-8 stays on its line and differs from every other name)."""
import hashlib
import os
import stat
import sys


def quote(b):
    return "".join(chr(c) if 0x21 <= c <= 0x7E and c != 0x5C else "\\x%02x" % c for c in b)


root = sys.argv[1].encode()
out = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        kind = stat.S_IFMT(st.st_mode)
        fields = [quote(rel), oct(kind), oct(stat.S_IMODE(st.st_mode)),
                  "%d:%d" % (st.st_uid, st.st_gid), str(int(st.st_mtime))]
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                fields += [str(st.st_size), hashlib.sha256(f.read()).hexdigest()[:16], "nlink=%d" % st.st_nlink]
        elif stat.S_ISLNK(st.st_mode):
            fields.append("-> " + quote(os.readlink(p)))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            fields.append("dev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        try:
            names = sorted(n for n in os.listxattr(p, follow_symlinks=False)
                           if n.startswith(("user.", "security.")) and n != "security.selinux")
        except OSError:
            names = []
        for n in names:
            fields.append("%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()))
        out.append(" ".join(fields))
for line in sorted(out):
    print(line)
