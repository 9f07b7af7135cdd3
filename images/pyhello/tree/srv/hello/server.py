#!/usr/bin/env python3
"""hello in Python: the demo service of `make demo-full`, shipped on a Debian
root file system to show that anything that runs on Linux ships the same way.

It behaves like images/hello (the C one): GET / answers "hello from VERSION
(python) on HOST", /health "ok" (or 503 "failing"), /version the version. It
serves the socket rampd hands it (LISTEN_FDS) or binds $PORT (default 8080),
and stops cleanly on SIGTERM. The same environment variables select the
release variant: HELLO_VERSION, HELLO_MODE=crash, HELLO_FAIL_AFTER=N.
`server.py --self-test` is the image's own test (what `ramp test` runs)."""
import http.client
import http.server
import os
import signal
import socket
import sys
import threading
import time

VERSION = os.environ.get("HELLO_VERSION", "dev")
FAIL_AT = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            failing = FAIL_AT is not None and time.monotonic() >= FAIL_AT
            code, body = (503, "failing\n") if failing else (200, "ok\n")
        elif self.path == "/version":
            code, body = 200, VERSION + "\n"
        elif self.path == "/":
            code, body = 200, "hello from %s (python) on %s\n" % (VERSION, socket.gethostname())
        else:
            code, body = 404, "not found\n"
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass  # the health checker asks often: no line per request


def listening_socket(port=None):
    """The socket rampd (or systemd) handed over, else one bound to port."""
    if port is None and os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS"):
        s = socket.socket(fileno=3)
        # shared with the other version during a switch: whoever is first
        # accepts, the other must not block in accept() (socketserver then
        # just waits for the next connection)
        s.setblocking(False)
        return s
    return socket.create_server(("127.0.0.1", port) if port is not None else ("", int(os.environ.get("PORT", "8080"))))


def server_on(sock):
    srv = http.server.ThreadingHTTPServer(sock.getsockname()[:2], Handler, bind_and_activate=False)
    srv.socket.close()
    srv.socket = sock
    srv.daemon_threads = True
    return srv


def self_test():
    srv = server_on(listening_socket(port=0))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.socket.getsockname()[1]
    bad = 0
    for path, want, prefix in (("/", 200, "hello from %s " % VERSION), ("/health", 200, "ok"), ("/nothing-here", 404, "")):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode()
        ok = r.status == want and body.startswith(prefix)
        print("server.py self-test: GET %s: %d %s%s" % (path, r.status, body.strip(), "" if ok else " (wanted %d %r)" % (want, prefix)))
        bad += not ok
    srv.shutdown()
    print("server.py self-test: %s" % ("FAILED" if bad else "passed"))
    return 1 if bad else 0


def main():
    global FAIL_AT
    if os.environ.get("HELLO_MODE") == "crash":
        print("hello %s (python): crashing on start, as this release was built to" % VERSION, file=sys.stderr)
        return 1
    if os.environ.get("HELLO_FAIL_AFTER"):
        FAIL_AT = time.monotonic() + float(os.environ["HELLO_FAIL_AFTER"])
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if sys.argv[1:]:
        print("usage: server.py [--self-test]", file=sys.stderr)
        return 2
    srv = server_on(listening_socket())
    # SIGTERM: stop accepting and return from serve_forever (shutdown() must
    # come from another thread than the one serving)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("hello %s (python): serving" % VERSION, file=sys.stderr, flush=True)
    srv.serve_forever()
    srv.server_close()
    print("hello %s (python): stopped" % VERSION, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
