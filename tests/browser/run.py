#!/usr/bin/env python3
"""XP from web apps in a real browser (issue 24): headless Chromium, driven over WebDriver by
chromedriver, loads pages from local origins that use RepXP's JavaScript client
(src-tauri/award-api/web/repxp-award.js) against `repxp-cli run` (the award API) and a fake Twenty.

- the allowed origin pairs (the rep answers with `repxp-cli web allow`), and its awards reach
  Twenty exactly once across retries, RepXP being away for a while, a browser restart and a
  hand-over of the page's own earlier XP done twice;
- an unknown origin is refused, and after the rep's Deny asks no more;
- another page holding the allowed origin's token, and a page under a DNS-rebinding host name,
  award nothing; the award secret is out of every page's reach.

Usage: tests/browser/run.py  (after `cargo build -p repxp-cli -p repxp-fake-twenty`;
`make test-browser` does both). Python's standard library only.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
CLI = os.path.join(TARGET, "debug", "repxp-cli")
FAKE = os.path.join(TARGET, "debug", "fake-twenty")
CLIENT = os.path.join(ROOT, "src-tauri", "award-api", "web", "repxp-award.js")
EMAIL = "ana@acme.test"

failures = []


def ok(what):
    print(f"ok: {what}", flush=True)


def check(cond, what, detail=""):
    if cond:
        ok(what)
    else:
        failures.append(what)
        print(f"FAIL: {what} {detail}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(f, within=20.0, step=0.1):
    end = time.time() + within
    while time.time() < end:
        v = f()
        if v:
            return v
        time.sleep(step)
    return f()


class Pages(SimpleHTTPRequestHandler):
    """The web app: page.html at /, the client beside it (as a dialer would ship it)."""

    def translate_path(self, path):
        name = path.split("?")[0].lstrip("/") or "page.html"
        if name == "repxp-award.js":
            return CLIENT
        return os.path.join(HERE, os.path.basename(name))

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def serve_pages(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class WebDriver:
    """Just enough of the W3C WebDriver protocol, over chromedriver's HTTP."""

    def __init__(self, port, profile):
        self.base = f"http://127.0.0.1:{port}"
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            f"--user-data-dir={profile}",
                            # A DNS-rebinding attacker's name that now resolves to this computer.
                            "--host-resolver-rules=MAP rebind.test 127.0.0.1",
                        ],
                    },
                    "timeouts": {"script": 90000},
                }
            }
        }
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"{}").get("value", {})
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read().decode()[:500]}") from e

    def open(self, url):
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, body, *args):
        """Runs `body` (an async function's body, `api` and `args` in scope) in the page."""
        script = (
            "const done = arguments[arguments.length - 1];"
            "const args = Array.from(arguments).slice(0, -1);"
            "(async () => { const lib = await import('/repxp-award.js');"
            f"  {body} }})()"
            ".then(v => done({ok: true, v}), e => done({ok: false, error: String(e), state: e && e.state}));"
        )
        return self.call("POST", f"/session/{self.session}/execute/async",
                         {"script": script, "args": list(args)})

    def text(self):
        return self.call("POST", f"/session/{self.session}/execute/sync",
                         {"script": "return document.body.innerText;", "args": []})

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        except Exception:
            pass


def main():
    for path in (CLI, FAKE, CLIENT):
        if not os.path.exists(path):
            sys.exit(f"no {path}: cargo build -p repxp-cli -p repxp-fake-twenty")
    work = tempfile.mkdtemp(prefix="repxp-browser-")
    procs = []
    try:
        run_test(work, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"browser: {len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)


def run_test(work, procs):
    key = "browser-key-" + os.urandom(6).hex()
    fake_port = free_port()
    procs.append(subprocess.Popen([FAKE, "--port", str(fake_port), "--api-key", key],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    twenty = f"http://127.0.0.1:{fake_port}"

    def total_xp():
        q = urllib.parse.quote(f'repEmail[eq]:"{EMAIL}"')
        req = urllib.request.Request(f"{twenty}/rest/repProgressions?filter={q}",
                                     headers={"Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                recs = json.loads(r.read())["data"]["repProgressions"]
                return recs[0]["totalXp"] if recs else 0
        except (OSError, KeyError, ValueError):
            return None

    wait_until(lambda: total_xp() is not None, 10)
    data = os.path.join(work, "data")
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    env = dict(os.environ, REPXP_TWENTY_URL=twenty, REPXP_REP_EMAIL=EMAIL, REPXP_TWENTY_API_KEY=key,
               REPXP_STATE_DIR=os.path.join(work, "state"), REPXP_AWARD_PORT=str(api_port))
    env.pop("REPXP_DATA_DIR", None)

    def start_runner():
        p = subprocess.Popen([CLI, "--data-dir", data, "run"], env=env, stdin=subprocess.DEVNULL,
                             stdout=open(os.path.join(work, "run.log"), "a"), stderr=subprocess.STDOUT)
        procs.append(p)
        up = wait_until(lambda: _answers(api), 20)
        check(up, f"repxp-cli run serves the award API on {api}")
        return p

    def web(*args):
        r = subprocess.run([CLI, "--data-dir", data, "web", *args], capture_output=True, text=True, env=env)
        return r.returncode == 0, r.stdout + r.stderr

    def rep_answers(action, origin):
        """The rep, in RepXP, once the page's request shows up."""
        def answer():
            if wait_until(lambda: f"asking to pair now: {origin}" in web("list")[1], 30):
                web(action, origin)
        t = threading.Thread(target=answer)
        t.start()
        return t

    runner = start_runner()
    pages_a, pages_b = free_port(), free_port()
    serve_pages(pages_a)
    serve_pages(pages_b)
    allowed = f"http://127.0.0.1:{pages_a}"
    unknown = f"http://localhost:{pages_b}"

    driver_port = free_port()
    procs.append(subprocess.Popen(["/usr/bin/chromedriver", f"--port={driver_port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_until(lambda: _answers(f"http://127.0.0.1:{driver_port}/status"), 20)
    profile = os.path.join(work, "profile")
    b = WebDriver(driver_port, profile)

    # The allowed origin pairs: the page waits, the rep allows it in RepXP.
    b.open(allowed + "/")
    t = rep_answers("allow", allowed)
    r = b.run("const c = new lib.RepXP({url: args[0]}); await c.pair({pollMs: 200}); return c.paired;", api)
    t.join()
    check(r.get("ok") and r.get("v") is True, "the allowed origin paired once the rep allowed it", r)
    token = b.run("return localStorage.getItem('repxp.token');", api).get("v")
    secret = open(os.path.join(data, "award-api.secret")).read().strip()
    check(token and token != secret, "the page holds a token of its own, not the award secret")

    x1 = "0d1a1e7b-0000-4000-8000-00000000b001"
    r = b.run("const c = new lib.RepXP({url: args[0]}); await c.award(40, {id: args[1], source: 'dialer'});"
              "await c.award(40, {id: args[1], source: 'dialer'}); return c.pending().length;", api, x1)
    check(r.get("ok") and r.get("v") == 0, "an award and its retry are acknowledged", r)

    # RepXP is away (the rep quit it): the award waits in the page and goes once it is back.
    runner.send_signal(signal.SIGTERM)
    runner.wait(20)
    r = b.run("const c = new lib.RepXP({url: args[0], maxBackoffMs: 1000});"
              "window.away = c.award(25, {id: args[1]}).then(() => 'sent');"
              "await new Promise(r => setTimeout(r, 1500)); return c.pending().length;",
              api, "0d1a1e7b-0000-4000-8000-00000000b002")
    check(r.get("ok") and r.get("v") == 1, "while RepXP is away the award waits in the page", r)
    runner = start_runner()
    r = b.run("return await window.away;")
    check(r.get("v") == "sent", "once RepXP is back the waiting award is sent", r)

    # An unknown origin asks; the rep denies it; it is not asked about again.
    b.open(unknown + "/")
    t = rep_answers("deny", unknown)
    r = b.run("const c = new lib.RepXP({url: args[0]}); await c.pair({pollMs: 200});", api)
    t.join()
    check(not r.get("ok") and r.get("state") == "denied", "the rep's Deny reaches the page", r)
    r = b.run("const c = new lib.RepXP({url: args[0]}); await c.pair({pollMs: 200});", api)
    listed = web("list")[1]
    check(not r.get("ok") and r.get("state") == "denied" and "asking to pair now" not in listed,
          "a denied origin asking again gets no prompt", r)
    # It holds the allowed origin's token (copied somehow): its browser sees no answer, XP none.
    r = b.run("const a = await fetch(args[0] + '/v1/awards', {method: 'POST', headers: {Authorization: 'Bearer ' + args[1],"
              " 'Content-Type': 'application/json'}, body: JSON.stringify({kind: 'xp', amount: 500})});"
              "return a.status;", api, token)
    check(not r.get("ok"), "another origin with the allowed origin's token is refused by the browser", r)

    # A DNS-rebinding page: rebind.test now resolves to this computer.
    b.open(f"http://rebind.test:{pages_a}/")
    rebound = f"http://rebind.test:{api_port}"
    r = b.run("const a = await fetch(args[0] + '/v1/awards', {method: 'POST', headers: {Authorization: 'Bearer ' + args[1],"
              " 'Content-Type': 'application/json'}, body: JSON.stringify({kind: 'xp', amount: 700})});"
              "return a.status;", rebound, token)
    check(not r.get("ok"), "a page under a rebinding host name is refused", r)
    r = b.run("await fetch(args[0] + '/v1/awards', {method: 'POST', mode: 'no-cors', body: JSON.stringify({kind: 'xp', amount: 900})});"
              "return 'sent';", rebound)
    # Its own page on the API's port, as a rebinding attack sets it up (same origin as the API):
    # the API answers nothing to that host name.
    b.open(rebound + "/v1/progression")
    said = b.text()
    check("is not this computer's award API" in str(said), "the API refuses its own port under a rebinding name", said)
    # The secret: no endpoint serves it and no page can read the file.
    b.open(allowed + "/")
    r = b.run("const out = [];"
              "for (const u of [args[0] + '/award-api.secret', 'file://' + args[1]]) {"
              "  try { const a = await fetch(u); out.push(a.status + ' ' + (await a.text())); } catch (e) { out.push(String(e)); } }"
              "return out;", api, os.path.join(data, "award-api.secret"))
    check(r.get("ok") and secret not in json.dumps(r.get("v")), "the award secret is out of the page's reach", r)

    # A browser restart: the token and queue live on; a retry of an old award counts once; the
    # page's own earlier XP is handed over once, even if asked twice and with its flag lost.
    b.quit()
    b = WebDriver(driver_port, profile)
    b.open(allowed + "/")
    r = b.run("const c = new lib.RepXP({url: args[0]}); await c.award(40, {id: args[1]});"
              "const old = [{id: 'idb-1', amount: 10}, {id: 'idb-2', amount: 15}];"
              "const first = await c.handOver(old); const again = await c.handOver(old);"
              "localStorage.removeItem('repxp.handedOver'); const lost = await c.handOver(old);"
              "return [c.paired, first.handedOver, again.handedOver, lost.handedOver, c.pending().length];", api, x1)
    check(r.get("ok") and r.get("v") == [True, 2, 0, 2, 0], "after a restart: paired, handed over once, queue empty", r)
    b.quit()

    expected = 40 + 25 + 10 + 15
    got = wait_until(lambda: total_xp() == expected and expected, 30, 0.5)
    check(got == expected, f"Twenty holds exactly the XP the allowed page awarded ({expected})",
          f"holds {total_xp()}")
    st = subprocess.run([CLI, "--data-dir", data, "status", "--json"], capture_output=True, text=True, env=env)
    local = json.loads(st.stdout or "{}").get("xp")
    check(local == expected, f"RepXP counts the same ({local})")
    runner.send_signal(signal.SIGTERM)
    runner.wait(20)


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
