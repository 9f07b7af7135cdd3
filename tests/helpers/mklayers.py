#!/usr/bin/env python3
"""mklayers.py: test fixture: an OCI layout (and optionally an oci-archive of
it) holding one image whose layers are described on the command line, for
the tests of many layers, whiteouts, repeated blobs and resource limits.

usage: mklayers.py DIR [--tag T] [--archive FILE] [--cmd ARG]... -l SPEC [-l SPEC]...

Each -l is one layer, lowest first: a comma-separated list of entries
  file:PATH=TEXT      a regular file holding TEXT
  copy:PATH=HOSTFILE  a regular file with the bytes of a host file (mode 0755)
  sym:PATH=TARGET     a symbolic link
  dir:PATH            a directory
  wh:PATH             a whiteout of PATH (.wh.NAME)
  opq:PATH            an opaque directory (PATH/.wh..wh..opq)
  zeros:PATH=BYTES    a file of BYTES zero bytes (compresses to almost nothing)
  many:PATH=N         N empty files PATH/0 .. PATH/N-1
or "again:K": the very blob of layer K (0-based) once more.
Layers are gzip'd (level 1, no timestamp). Prints the manifest digest.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--tag", default="t")
ap.add_argument("--archive")
ap.add_argument("--cmd", action="append", default=[])
ap.add_argument("-l", dest="layers", action="append", default=[])
args = ap.parse_args()
MTIME = 1700000000


class Zeros(io.RawIOBase):
    """n zero bytes, read without holding them in memory"""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def info(path, kind, size=0, link="", mode=None):
    t = tarfile.TarInfo(path.lstrip("/"))
    t.type = kind
    t.mode = mode if mode is not None else (0o755 if kind == tarfile.DIRTYPE else 0o644)
    t.mtime = MTIME
    t.size = size
    t.linkname = link
    return t


def layer_tar(spec, out):
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for item in spec.split(","):
            kind, _, rest = item.partition(":")
            path, _, val = rest.partition("=")
            head, base = os.path.split(path)
            if kind == "file":
                data = val.encode()
                t.addfile(info(path, tarfile.REGTYPE, len(data)), io.BytesIO(data))
            elif kind == "copy":
                data = open(val, "rb").read()
                t.addfile(info(path, tarfile.REGTYPE, len(data), mode=0o755), io.BytesIO(data))
            elif kind == "sym":
                t.addfile(info(path, tarfile.SYMTYPE, link=val))
            elif kind == "dir":
                t.addfile(info(path, tarfile.DIRTYPE))
            elif kind == "wh":
                t.addfile(info(os.path.join(head, ".wh." + base), tarfile.REGTYPE))
            elif kind == "opq":
                t.addfile(info(os.path.join(path, ".wh..wh..opq"), tarfile.REGTYPE))
            elif kind == "zeros":
                t.addfile(info(path, tarfile.REGTYPE, int(val)), Zeros(int(val)))
            elif kind == "many":
                t.addfile(info(path, tarfile.DIRTYPE))
                for i in range(int(val)):
                    t.addfile(info("%s/%d" % (path, i), tarfile.REGTYPE))
            else:
                raise SystemExit("mklayers: unknown entry kind %r" % kind)


class Hashing(io.RawIOBase):
    """a write-only stream that hashes and counts what goes through it into f"""

    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def writable(self):
        return True

    def tell(self):
        return self.n

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        if self.f:
            self.f.write(b)
        return len(b)


blobs = os.path.join(args.dir, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


layers, diff_ids = [], []
for spec in args.layers:
    if spec.startswith("again:"):
        k = int(spec[6:])
        layers.append(layers[k])
        diff_ids.append(diff_ids[k])
        continue
    tmp = os.path.join(blobs, ".tmp")
    with open(tmp, "wb") as raw:
        z = Hashing(raw)
        with gzip.GzipFile(fileobj=z, mode="wb", compresslevel=1, mtime=0) as g:
            plain = Hashing(g)
            layer_tar(spec, plain)
    digest = "sha256:" + z.h.hexdigest()
    os.rename(tmp, os.path.join(blobs, digest[7:]))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": z.n})
    diff_ids.append("sha256:" + plain.h.hexdigest())

config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": args.cmd or ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": diff_ids}}
cd, cs = put(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
            "layers": layers}
md, ms = put(json.dumps(manifest).encode())
index = {"schemaVersion": 2, "manifests": [{"mediaType": manifest["mediaType"], "digest": md, "size": ms,
                                            "annotations": {"org.opencontainers.image.ref.name": args.tag}}]}
with open(os.path.join(args.dir, "index.json"), "w") as f:
    json.dump(index, f)
with open(os.path.join(args.dir, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
if args.archive:
    with tarfile.open(args.archive, "w") as t:
        for name in ["oci-layout", "index.json", "blobs"]:
            t.add(os.path.join(args.dir, name), name)
print(md)
