#!/usr/bin/env python3
"""slowloris.py: slow HTTP clients against rampd's TCP API, for the tests
(rampd_api.bats) and the load benchmark (tests/bench/load.sh). Loopback only.

Opens PER connections from each of ADDRS loopback addresses (127.0.0.FIRST,
127.0.0.FIRST+1, ...). Each sends a request line and then one header line
every INTERVAL seconds, never ending its headers (and never a token). A
connection the server closes is opened again when its next line is due, as
the classic slowloris does; at once with --flood (a connection flood too);
never with --once (then it stops when none is left). Stops after SECONDS, or once the file given with
--stop exists, and prints one line:

  opened N closed N open N longest_closed S oldest_open S

closed: connections the server closed; longest_closed: the longest any of
them had lived; oldest_open: the age of the oldest still open at the end.
--ready FILE: FILE is written once every first connection was opened and
given its first line (or found closed).

usage: slowloris.py --port PORT [--first 2] [--addresses 40] [--per-address 32]
                    [--interval 10] [--seconds 60] [--flood | --once] [--ready FILE] [--stop FILE]
"""
import argparse
import errno
import os
import selectors
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--first", type=int, default=2)
    ap.add_argument("--addresses", type=int, default=40)
    ap.add_argument("--per-address", type=int, default=32)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--flood", action="store_true")
    ap.add_argument("--ready")
    ap.add_argument("--stop")
    a = ap.parse_args()
    if a.once and a.flood:
        ap.error("--once or --flood")
    if not 1 <= a.first <= 254 or a.first + a.addresses > 255 or a.seconds > 3600:
        ap.error("addresses must stay within 127.0.0.1-254, at most an hour")

    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "closed": 0, "longest": 0.0}
    live = {}  # socket -> [source, opened at, next send, lines sent]
    later = []  # [time, source] of connections to open again

    def open_one(src):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        try:
            s.connect(("127.0.0.1", a.port))
        except BlockingIOError:
            pass
        now = time.monotonic()
        live[s] = [src, now, now, 0]
        sel.register(s, selectors.EVENT_READ)
        stats["opened"] += 1

    def gone(s):
        src, t0 = live.pop(s)[:2]
        sel.unregister(s)
        s.close()
        now = time.monotonic()
        stats["closed"] += 1
        stats["longest"] = max(stats["longest"], now - t0)
        if a.flood:
            open_one(src)
        elif not a.once:
            later.append([now + a.interval, src])

    sources = ["127.0.0.%d" % (a.first + i) for i in range(a.addresses)]
    for src in sources:
        for _ in range(a.per_address):
            open_one(src)
    ready = False
    end = time.monotonic() + a.seconds
    while True:
        now = time.monotonic()
        if now >= end or (a.once and not live) or (a.stop and os.path.exists(a.stop)):
            break
        # trickle: the request line first, then a header line every interval
        for s, st in list(live.items()):
            if st[2] > now:
                continue
            line = b"GET /healthz HTTP/1.1\r\nHost: rampd\r\n" if st[3] == 0 else b"X-Slow-%d: x\r\n" % st[3]
            try:
                s.send(line)
                st[3] += 1
                st[2] = now + a.interval
            except BlockingIOError:
                st[2] = now + 0.05  # still connecting
            except OSError:
                gone(s)
        while later and later[0][0] <= now:
            open_one(later.pop(0)[1])
        if not ready and a.ready:
            ready = True
            with open(a.ready, "w") as f:
                f.write("ready\n")
        wait = min([st[2] for st in live.values()] + [t for t, _ in later[:1]] + [end]) - time.monotonic()
        for key, _ in sel.select(max(0.0, min(wait, 0.5))):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                data = b"" if e.errno in (errno.ECONNRESET, errno.ECONNREFUSED, errno.EPIPE) else None
                if data is None:
                    raise
            if data:
                continue  # an answer (a 4xx): the server closes next
            gone(s)
    now = time.monotonic()
    oldest = max([now - st[1] for st in live.values()] + [0.0])
    print("opened %d closed %d open %d longest_closed %.1f oldest_open %.1f"
          % (stats["opened"], stats["closed"], len(live), stats["longest"], oldest), flush=True)
    for s in list(live):
        s.close()


if __name__ == "__main__":
    main()
