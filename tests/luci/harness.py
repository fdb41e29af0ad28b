#!/usr/bin/env python3
"""A stand-in for a router's uhttpd + rpcd, on 127.0.0.1 only, for the LuCI browser test.

It serves the app's real view files unchanged, a minimal LuCI runtime (tests/luci/runtime/) and
answers the two rpcd objects the views use, the way rpcd would:
  uci  get/save  from a real UCI file (the one the test then hands to `sipwall check-config`);
  file exec      runs the real sipwall binary, but only commands that the app's own
                 root/usr/share/rpcd/acl.d/luci-app-sipwall.json grants (fnmatch on
                 "command arg1 arg2", as rpcd does), so the ACL is tested too.
`--config FILE` is appended to every sipwall call: on the router the default path is that file.

Usage: harness.py --port N|0 --app DIR --config FILE --sipwall BIN [--log FILE]
"""

import argparse
import fnmatch
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
SIPWALL_PATH = "/usr/sbin/sipwall"


def uci_parse(text):
    """UCI file -> ordered list of sections {'.type', '.name', '.anonymous', options...}."""
    import shlex
    sections, cur = [], None
    for ln in text.splitlines():
        words = shlex.split(ln, comments=True)
        if not words:
            continue
        if words[0] == "config":
            anon = len(words) < 3
            cur = {".type": words[1], ".name": words[2] if not anon else "cfg%02x%04x" % (len(sections), len(sections) * 7919 % 65536),
                   ".anonymous": anon, ".index": len(sections)}
            sections.append(cur)
        elif words[0] == "option" and cur is not None and len(words) >= 3:
            cur[words[1]] = words[2]
        elif words[0] == "list" and cur is not None and len(words) >= 3:
            cur.setdefault(words[1], [])
            if isinstance(cur[words[1]], list):
                cur[words[1]].append(words[2])
    return sections


def uci_quote(v):
    return "'" + str(v).replace("'", "'\\''") + "'"


def uci_write(sections):
    out = []
    for s in sections:
        out.append(f"config {s['.type']}" + ("" if s.get(".anonymous") else f" {uci_quote(s['.name'])}"))
        for k, v in s.items():
            if k.startswith("."):
                continue
            if isinstance(v, list):
                out += [f"\tlist {k} {uci_quote(x)}" for x in v]
            else:
                out.append(f"\toption {k} {uci_quote(v)}")
        out.append("")
    return "\n".join(out)


class State:
    def __init__(self, a):
        self.app = os.path.abspath(a.app)
        self.config = a.config
        self.sipwall = a.sipwall
        self.log = open(a.log, "a") if a.log else sys.stderr
        acl = json.load(open(os.path.join(self.app, "root/usr/share/rpcd/acl.d/luci-app-sipwall.json")))
        self.exec_acl, self.uci_acl = [], set()
        for group in acl.values():
            for mode in ("read", "write"):
                for path, perms in group.get(mode, {}).get("file", {}).items():
                    if "exec" in perms:
                        self.exec_acl.append(path)
                self.uci_acl.update(group.get(mode, {}).get("uci", []))
        self.calls = []


class Handler(BaseHTTPRequestHandler):
    st = None

    def log_message(self, fmt, *args):
        self.st.log.write("harness: " + (fmt % args) + "\n")
        self.st.log.flush()

    def send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/" or path == "/index.html":
            return self.file(os.path.join(HERE, "runtime/index.html"))
        if path.startswith("/runtime/"):
            return self.file(os.path.join(HERE, "runtime", os.path.basename(path)))
        if path.startswith("/luci-static/resources/view/sipwall/"):
            return self.file(os.path.join(self.st.app, "htdocs", path.lstrip("/")))
        if path == "/favicon.ico":
            return self.send(200, b"", "image/x-icon")
        if path == "/harness/calls":
            return self.send(200, json.dumps(self.st.calls))
        if path == "/harness/config":
            return self.send(200, open(self.st.config).read(), "text/plain")
        self.send(404, "not found", "text/plain")

    def file(self, p):
        if not os.path.isfile(p):
            return self.send(404, "not found", "text/plain")
        ctype = "text/html" if p.endswith(".html") else "application/javascript"
        self.send(200, open(p, "rb").read(), ctype)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        path = self.path.split("?", 1)[0]
        if path == "/ubus/uci/get":
            if body.get("config") not in self.st.uci_acl:
                return self.send(403, json.dumps({"error": "Access denied"}))
            secs = uci_parse(open(self.st.config).read())
            return self.send(200, json.dumps({"values": {s[".name"]: s for s in secs}}))
        if path == "/ubus/uci/save":
            if body.get("config") not in self.st.uci_acl:
                return self.send(403, json.dumps({"error": "Access denied"}))
            secs = sorted(body["values"].values(), key=lambda s: s.get(".index", 0))
            with open(self.st.config, "w") as fh:
                fh.write(uci_write(secs))
            self.st.calls.append({"uci": "save", "config": body["config"]})
            return self.send(200, json.dumps({"ok": True}))
        if path == "/harness/run":
            # The test itself (not the page): run sipwall with these arguments, no ACL.
            r = subprocess.run([self.st.sipwall] + [str(x) for x in body] + ["--config", self.st.config],
                               capture_output=True, text=True, timeout=20)
            return self.send(200, json.dumps({"code": r.returncode, "stdout": r.stdout, "stderr": r.stderr}))
        if path == "/harness/check":
            # The test itself: does the daemon accept this UCI text? (runs sipwall check-config)
            import tempfile
            with tempfile.NamedTemporaryFile("w", suffix=".uci", delete=False) as fh:
                fh.write(body["config"])
            try:
                r = subprocess.run([self.st.sipwall, "check-config", "--config", fh.name],
                                   capture_output=True, text=True, timeout=20)
            finally:
                os.unlink(fh.name)
            return self.send(200, json.dumps({"code": r.returncode, "stderr": r.stderr.strip()}))
        if path == "/ubus/file/exec":
            cmd, params = body.get("command", ""), [str(p) for p in body.get("params", [])]
            line = " ".join([cmd] + params)
            allowed = any(fnmatch.fnmatchcase(line, pat) or fnmatch.fnmatchcase(cmd, pat) and pat == cmd
                          for pat in self.st.exec_acl)
            self.st.calls.append({"exec": line, "allowed": allowed})
            if not allowed:
                return self.send(403, json.dumps({"error": "Access denied"}))
            if cmd != SIPWALL_PATH:
                return self.send(404, json.dumps({"error": "Not found"}))
            try:
                r = subprocess.run([self.st.sipwall] + params + ["--config", self.st.config],
                                   capture_output=True, text=True, timeout=20)
                res = {"code": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
            except subprocess.TimeoutExpired:
                res = {"code": 124, "stdout": "", "stderr": "timeout"}
            return self.send(200, json.dumps(res))
        self.send(404, json.dumps({"error": "Method not found"}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--sipwall", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    Handler.st = State(a)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    # --port 0: the kernel picks a free port; the first line of stdout says which.
    print(f"http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
