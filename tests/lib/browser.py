#!/usr/bin/env python3
"""browser.py: open pages in headless Chromium through chromedriver (WebDriver),
one browser for all of them, and report what a person would see of each.

usage: browser.py [--shots DIR [--full-page]] [--dom DIR] [--count SELECTOR]... [--text SELECTOR]... PAGE...

Prints one JSON object per page, keyed by the page's file name: "console" (the
browser's log while the page loaded: console messages, failed loads, CSP
violations, each with its level), "loadMs" (navigation start to the end of the
load event, from the page's own Navigation Timing), "counts" and "texts" (per
selector: how many elements match, their texts joined by newlines), "bg" (the
body's background colour as shown, printed and in dark mode). With --shots,
DIR/NAME.png (and NAME-dark.png) are screenshots of what the 1200x900 window
shows, or with --full-page of the whole page (the window's width, the
document's height); with --dom, DIR/NAME.dom the DOM as loaded. chromedriver
runs on a free loopback port in a temporary profile and is always stopped (its
Chromium with it), whatever happens. Exit 0 when every page was opened, 1
otherwise."""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def call(port, method, path, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}").get("value")


def main():
    args = sys.argv[1:]
    shots = dom = None
    full = False
    counts, texts, pages = [], [], []
    while args:
        a = args.pop(0)
        if a == "--full-page":
            full = True
        elif a in ("--shots", "--dom", "--count", "--text"):
            if not args:
                sys.exit(f"browser.py: {a} needs a value")
            v = args.pop(0)
            if a == "--shots":
                shots = v
            elif a == "--dom":
                dom = v
            else:
                (counts if a == "--count" else texts).append(v)
        elif a.startswith("--"):
            sys.exit(f"browser.py: unknown option {a}")
        else:
            pages.append(os.path.abspath(a))
    if not pages:
        sys.exit(__doc__)
    tmp = tempfile.mkdtemp(prefix="ramp-browser-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:", HOME=tmp)
    drv = subprocess.Popen(["chromedriver", f"--port={port}", "--allowed-ips=127.0.0.1"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sid = None
    try:
        for _ in range(400):
            try:
                call(port, "GET", "/status", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1200,900",
                f"--user-data-dir={tmp}/profile"]}}}}
        sid = call(port, "POST", f"/session", caps, timeout=120)["sessionId"]
        run = lambda js: call(port, "POST", f"/session/{sid}/execute/sync", {"script": js, "args": []})
        cdp = lambda cmd, params: call(port, "POST", f"/session/{sid}/goog/cdp/execute",
                                       {"cmd": cmd, "params": params}, timeout=120)
        media = lambda m, dark: cdp("Emulation.setEmulatedMedia", {
            "media": m, "features": [{"name": "prefers-color-scheme", "value": dark}]})

        def shot(path):
            params = {"format": "png"}
            if full:
                size = run("return [innerWidth, document.documentElement.scrollHeight]")
                params.update(captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1})
            with open(path, "wb") as f:
                f.write(base64.b64decode(cdp("Page.captureScreenshot", params)["data"]))

        bg = "return getComputedStyle(document.body).backgroundColor"
        out = {}
        for page in pages:
            name = os.path.basename(page)
            media("", "light")
            call(port, "POST", f"/session/{sid}/url", {"url": "file://" + page}, timeout=120)
            r = out[name] = {
                "title": run("return document.title"),
                "loadMs": run("const n = performance.getEntriesByType('navigation')[0];"
                              "return n ? n.loadEventEnd - n.startTime : null"),
                "counts": {q: run(f"return document.querySelectorAll({json.dumps(q)}).length") for q in counts},
                "texts": {q: run(f"return [...document.querySelectorAll({json.dumps(q)})]"
                                 ".map(e => e.textContent).join('\\n')") for q in texts},
                "console": [{"level": e.get("level"), "message": e.get("message")}
                            for e in call(port, "POST", f"/session/{sid}/se/log", {"type": "browser"}) or []],
                "bg": {"light": run(bg)},
            }
            if dom:
                with open(os.path.join(dom, name + ".dom"), "w") as f:
                    f.write(run("return document.documentElement.outerHTML"))
            if shots:
                shot(os.path.join(shots, name + ".png"))
            media("", "dark")
            r["bg"]["dark"] = run(bg)
            if shots:
                shot(os.path.join(shots, name + "-dark.png"))
            media("print", "dark")
            r["bg"]["print"] = run(bg)
        print(json.dumps(out))
        return 0
    except Exception as e:  # anything: say it, and fail
        print(f"browser.py: {e}", file=sys.stderr)
        return 1
    finally:
        if sid:
            try:
                call(port, "DELETE", f"/session/{sid}", timeout=20)
            except Exception:
                pass
        try:
            os.killpg(drv.pid, 9)
        except ProcessLookupError:
            pass
        drv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
