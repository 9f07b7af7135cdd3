#!/usr/bin/env python3
"""tokenserver.py: test fixture: the token server of the registry's token auth.

GET /token?service=S&scope=repository:NAME:ACTIONS... checks Basic credentials
and answers {"token": JWT, "expires_in": N}; the JWT is RS256-signed with the
given key (openssl does the signing) and carries the certificate in x5c, so a
docker-registry configured with that certificate as rootcertbundle accepts
it. Every request is logged (one line: user and scopes) for the tests to count.

usage: tokenserver.py --port P --key K --cert C --issuer I --service S
                      --user U --password PW --log FILE [--anonymous-pull]
                      [--expired-first N]
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    for a in ("port", "key", "cert", "issuer", "service", "user", "password", "log"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--anonymous-pull", action="store_true")
    ap.add_argument("--expired-first", type=int, default=0)
    args = ap.parse_args()
    pem = open(args.cert).read()
    der_b64 = "".join(l for l in pem.splitlines() if "-----" not in l)
    state = {"issued": 0}

    def sign(data):
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key], input=data,
                              capture_output=True, check=True).stdout

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, body, extra=()):
            b = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(b)

        def do_GET(self):
            u = urlparse(self.path)
            if u.path != "/token":
                return self.reply(404, {})
            q = parse_qs(u.query)
            user = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    user, pw = base64.b64decode(auth[6:]).decode().split(":", 1)
                except Exception:
                    user, pw = "?", None
                if user != args.user or pw != args.password:
                    with open(args.log, "a") as f:
                        f.write("token user=%s denied\n" % user)
                    return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
            scopes = q.get("scope", [])
            with open(args.log, "a") as f:
                f.write("token user=%s scope=%s\n" % (user or "-", " ".join(scopes)))
            access = []
            for s in scopes:
                parts = s.split(":")
                if len(parts) != 3 or parts[0] != "repository":
                    continue
                actions = parts[2].split(",")
                if not user:
                    actions = [a for a in actions if a == "pull"] if args.anonymous_pull else []
                access.append({"type": "repository", "name": parts[1], "actions": actions})
            now = int(time.time())
            state["issued"] += 1
            exp = now - 300 if state["issued"] <= args.expired_first else now + 300
            header = {"alg": "RS256", "typ": "JWT", "x5c": [der_b64]}
            claims = {"iss": args.issuer, "sub": user or "", "aud": q.get("service", [""])[0],
                      "exp": exp, "nbf": now - 600, "iat": now - 600,
                      "jti": "%d-%d" % (os.getpid(), state["issued"]), "access": access}
            signing = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
            token = signing.decode() + "." + b64url(sign(signing))
            self.reply(200, {"token": token, "expires_in": 300, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")})

    ThreadingHTTPServer(("127.0.0.1", int(args.port)), H).serve_forever()


if __name__ == "__main__":
    sys.exit(main())
