#!/usr/bin/env python3
"""fakeregistry.py: test fixture: a small in-memory OCI registry that can misbehave.

It serves the distribution API well enough for ramp (blobs with Range,
uploads monolithic and chunked, manifests, the referrers API) and, on
request, breaks it the ways a hostile or broken registry would. Each request
is logged as one line: METHOD PATH STATUS auth=yes|no [extra].

usage: fakeregistry.py --port P --log FILE [--seed LAYOUT --repo NAME]
                       [--mode MODE[,MODE...]] [--chunk-min N] [--other-port P]
                       [--declare-size N] [--hold FILE]
modes: tamper wrong-size big-manifest redirect-loop redirect-other trickle
       reset invalid-json path-digest bad-auth basic ratelimit error5xx
       schema1 warning referrers chunk-416
       stall (the first GET of a big blob stops after 3/4 of it and hangs)
       referrers-paged (one referrer a page, an unrelated artifact first, Link to the next)
       referrers-loop (every page links to itself) referrers-offsite (links to --other-port)
       endless (the first GET of a big blob is zeros without end, chunked, whatever its
       descriptor says; later GETs of it send headers and no byte until the client hangs up)
       hold (the first GET of a big blob stops after 9 MiB until the file --hold exists)
--declare-size N: the seeded image manifests say every layer has N bytes
(served under their tags and under their new digests; a blob is as it was)
"""
import argparse
import base64
import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--seed")
ap.add_argument("--repo", default="app")
ap.add_argument("--mode", default="")
ap.add_argument("--chunk-min", type=int, default=0)
ap.add_argument("--other-port", type=int, default=0)
ap.add_argument("--declare-size", type=int)
ap.add_argument("--hold")
args = ap.parse_args()
MODES = set(m for m in args.mode.split(",") if m)
PAGED = MODES & {"referrers-paged", "referrers-loop", "referrers-offsite"}
if PAGED:
    MODES.add("referrers")
# an artifact of another type that the paged modes list first (never fetched)
DECOY = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "0" * 64,
         "size": 100, "artifactType": "application/vnd.example.sbom.v1+json"}

blobs = {}       # digest -> bytes
manifests = {}   # (repo, tag or digest) -> (media type, bytes)
uploads = {}     # id -> bytearray
chunks = {}      # upload id -> the lengths of its PATCH bodies
counters = {}
lock = threading.Lock()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def put_manifest(repo, ref, mt, body):
    d = sha(body)
    manifests[(repo, d)] = (mt, body)
    if ref != d:
        manifests[(repo, ref)] = (mt, body)
    return d


if args.seed:
    bd = os.path.join(args.seed, "blobs", "sha256")
    for h in os.listdir(bd):
        blobs["sha256:" + h] = open(os.path.join(bd, h), "rb").read()
    for m in json.load(open(os.path.join(args.seed, "index.json")))["manifests"]:
        body = blobs[m["digest"]]
        tag = m.get("annotations", {}).get("org.opencontainers.image.ref.name", m["digest"])
        if args.declare_size is not None and b'"layers"' in body:
            doc = json.loads(body)
            for layer in doc["layers"]:
                layer["size"] = args.declare_size
            body = json.dumps(doc).encode()
        put_manifest(args.repo, tag, m["mediaType"], body)


def count(key):
    with lock:
        counters[key] = counters.get(key, 0) + 1
        return counters[key]


def log(line):
    with lock, open(args.log, "a") as f:
        f.write(line + "\n")


def referrers(repo, subject):
    out = []
    for (r, ref), (mt, body) in list(manifests.items()):
        if r != repo or not ref.startswith("sha256:"):
            continue
        try:
            doc = json.loads(body)
        except ValueError:
            continue
        if doc.get("subject", {}).get("digest") != subject:
            continue
        d = {"mediaType": mt, "digest": ref, "size": len(body)}
        at = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
        if at:
            d["artifactType"] = at
        out.append(d)
    return out


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=(), ctype=None):
        auth = "yes" if self.headers.get("Authorization") else "no"
        log("%s %s %d auth=%s" % (self.command, self.path, code, auth))
        self.send_response(code)
        if "warning" in MODES:
            self.send_header("Warning", '299 - "this registry is deprecated"')
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, ecode, msg, headers=()):
        self.send(code, json.dumps({"errors": [{"code": ecode, "message": msg}]}).encode(), headers,
                  "application/json")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        if "basic" not in MODES:
            return True
        want = "Basic " + base64.b64encode(b"ramp:s3cret").decode()
        if self.headers.get("Authorization") == want:
            return True
        self.error(401, "UNAUTHORIZED", "authentication required",
                   [("WWW-Authenticate", 'Basic realm="fake"')])
        return False

    def route(self):
        p = self.path.split("?")[0]
        q = self.path.split("?")[1] if "?" in self.path else ""
        if self.server.server_port != args.port:
            return self.other_port(p)
        if p == "/v2/":
            if "bad-auth" in MODES:
                return self.send(401, b"{}", [("WWW-Authenticate", 'Bearer realm="https://a/t, service=x')])
            if not self.authorized():
                return
            return self.send(200, b"{}", ctype="application/json")
        if not self.authorized():
            return
        m = re.match(r"^/v2/(.+)/(blobs|manifests|referrers)/(.+)$", p)
        u = re.match(r"^/v2/(.+)/blobs/uploads/(.*)$", p)
        if u:
            return self.upload(u.group(1), u.group(2), q)
        if not m:
            return self.error(404, "NOT_FOUND", "no route")
        repo, kind, ref = m.groups()
        if kind == "blobs":
            return self.blob(repo, ref)
        if kind == "referrers":
            if "referrers" not in MODES:
                return self.send(404, b"404 page not found\n", ctype="text/plain")
            items, hdrs = referrers(repo, ref), []
            if PAGED:
                items = [DECOY] + items
                page = int(dict(kv.split("=", 1) for kv in q.split("&") if "=" in kv).get("page", "0"))
                origin = "http://127.0.0.1:%d" % args.other_port if "referrers-offsite" in MODES else ""
                nxt = page if "referrers-loop" in MODES else page + 1
                if nxt < len(items) or "referrers-loop" in MODES:
                    hdrs.append(("Link", '<%s/v2/%s/referrers/%s?page=%d>; rel="next"' % (origin, repo, ref, nxt)))
                items = items[page:page + 1]
            idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": items}
            return self.send(200, json.dumps(idx).encode(), hdrs, "application/vnd.oci.image.index.v1+json")
        return self.manifest(repo, ref)

    def manifest(self, repo, ref):
        if self.command == "PUT":
            body = self.body()
            mt = self.headers.get("Content-Type")
            d = put_manifest(repo, ref, mt, body)
            hdrs = [("Docker-Content-Digest", d), ("Location", "/v2/%s/manifests/%s" % (repo, d))]
            if "referrers" in MODES and b'"subject"' in body:
                hdrs.append(("OCI-Subject", json.loads(body)["subject"]["digest"]))
            return self.send(201, b"", hdrs)
        if "ratelimit" in MODES and count("ratelimit") <= 2:
            return self.error(429, "TOOMANYREQUESTS", "slow down", [("Retry-After", "1")])
        if "error5xx" in MODES:
            return self.error(503, "UNAVAILABLE", "backend on fire")
        if (repo, ref) not in manifests:
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        mt, body = manifests[(repo, ref)]
        if "big-manifest" in MODES:
            body = b'{"schemaVersion":2,"pad":"' + b"x" * (5 << 20) + b'"}'
        if "invalid-json" in MODES:
            body = b'{"schemaVersion": 2, "config": {'
        if "schema1" in MODES:
            mt = "application/vnd.docker.distribution.manifest.v1+prettyjws"
            body = b'{"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []}'
        if "path-digest" in MODES:
            doc = json.loads(body)
            doc["layers"][0]["digest"] = "sha256:../../../../../../tmp/ramp-escape"
            body = json.dumps(doc).encode()
        self.send(200, body, [("Docker-Content-Digest", sha(body))], mt)

    def blob(self, repo, d):
        if d not in blobs:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        data = blobs[d]
        big = len(data) > 4096  # manifests and configs stay well-behaved
        if self.command == "GET" and big:
            if "redirect-loop" in MODES:
                return self.send(302, b"", [("Location", self.path)])
            if "redirect-other" in MODES:
                return self.send(307, b"", [("Location", "http://127.0.0.1:%d/blob/%s" % (args.other_port, d))])
            if "tamper" in MODES:
                data = data[:-1] + bytes([data[-1] ^ 1])
            if "wrong-size" in MODES:
                data = data + b"extra bytes"
        start = 0
        rng = self.headers.get("Range")
        if rng and self.command == "GET":
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                return self.send(416, b"")
        part = data[start:]
        code = 206 if start else 200
        hdrs = [("Docker-Content-Digest", d)]
        if start:
            hdrs.append(("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))))
        if self.command == "GET" and big and "trickle" in MODES:
            log("GET %s trickle" % self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            for b in part:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(0.2)
            return
        if self.command == "GET" and big and "endless" in MODES:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if count("endless " + d) > 1:
                self.rfile.read(1)  # until the client hangs up
                self.close_connection = True
                return
            zeros, sent = b"\0" * 65536, 0
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(zeros), zeros))
                    sent += len(zeros)
            except OSError:
                pass
            log("GET %s endless sent=%d" % (self.path, sent))
            self.close_connection = True
            return
        if self.command == "GET" and big and "hold" in MODES and count("hold " + d) == 1:
            first = min(len(part), 9 << 20)
            self.send_response(code)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            self.wfile.write(part[:first])
            self.wfile.flush()
            log("GET %s %d hold-after=%d" % (self.path, code, first))
            while not os.path.exists(args.hold):
                time.sleep(0.05)
            try:
                self.wfile.write(part[first:])
            except OSError:
                pass
            return
        if self.command == "GET" and big and "stall" in MODES and count("stall " + d) == 1:
            log("GET %s %d stall-after=%d" % (self.path, code, len(part) * 3 // 4))
            self.send_response(code)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            self.wfile.write(part[: len(part) * 3 // 4])
            self.wfile.flush()
            time.sleep(120)
            return
        if self.command == "GET" and big and "reset" in MODES and count("reset " + d) == 1:
            log("GET %s %d reset-after=%d" % (self.path, code, len(part) // 2))
            self.send_response(code)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        self.send(code, part, hdrs, "application/octet-stream")

    def upload(self, repo, uid, q):
        params = dict(kv.split("=", 1) for kv in q.split("&") if "=" in kv)
        if self.command == "POST":
            self.body()
            uid = str(uuid.uuid4())
            uploads[uid] = bytearray()
            hdrs = [("Location", "/v2/%s/blobs/uploads/%s" % (repo, uid)), ("Range", "0-0")]
            if args.chunk_min:
                hdrs.append(("OCI-Chunk-Min-Length", str(args.chunk_min)))
            return self.send(202, b"", hdrs)
        if uid not in uploads:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
        buf = uploads[uid]
        loc = [("Location", "/v2/%s/blobs/uploads/%s" % (repo, uid))]
        if self.command == "GET":
            return self.send(204, b"", loc + [("Range", "0-%d" % (len(buf) - 1))])
        if self.command == "PATCH":
            body = self.body()
            cr = self.headers.get("Content-Range", "")
            log("PATCH len=%d range=%s" % (len(body), cr))
            a = int(cr.split("-")[0]) if cr else len(buf)
            if a != len(buf) or ("chunk-416" in MODES and count("patch " + uid) == 2):
                return self.send(416, b"", loc + [("Range", "0-%d" % (len(buf) - 1))])
            chunks.setdefault(uid, []).append(len(body))
            buf += body
            return self.send(202, b"", loc + [("Range", "0-%d" % (len(buf) - 1))])
        if self.command == "PUT":
            body = self.body()
            # every chunk but the last must be OCI-Chunk-Min-Length long
            sizes = chunks.pop(uid, []) + ([len(body)] if body else [])
            for n in sizes[:-1]:
                if args.chunk_min and n < args.chunk_min:
                    log("PATCH short chunk %d < %d" % (n, args.chunk_min))
            buf += body
            d = params.get("digest", "").replace("%3A", ":")
            if sha(bytes(buf)) != d:
                return self.error(400, "DIGEST_INVALID", "digest did not match")
            blobs[d] = bytes(buf)
            del uploads[uid]
            return self.send(201, b"", [("Docker-Content-Digest", d), ("Location", "/v2/%s/blobs/%s" % (repo, d))])
        self.error(405, "UNSUPPORTED", "method")

    def other_port(self, p):
        # the redirect target: another origin; it must never see the registry's credentials
        d = p.rsplit("/", 1)[-1]
        log("OTHER %s auth=%s" % (p, "yes" if self.headers.get("Authorization") else "no"))
        self.send(200, blobs.get(d, b""), ctype="application/octet-stream")

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = route


def serve(port):
    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


if "redirect-other" in MODES:
    threading.Thread(target=serve, args=(args.other_port,), daemon=True).start()
serve(args.port)
