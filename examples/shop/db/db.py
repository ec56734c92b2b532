"""shopdb: a tiny key-value database over HTTP, the shop example's stand-in for a database server.

    GET /          "shopdb ready" (no password: for readiness probes)
    GET /kv/KEY    the stored JSON value of KEY (404 when there is none)
    PUT /kv/KEY    store the JSON request body as KEY

Requests under /kv/ need the header X-Password with the value of $DB_PASSWORD. The data lives in
/data/shop.json; the step mounts a volume there, so it outlives the container.
"""

import http.server
import json
import os
import signal
import sys
import threading

DATA = os.environ.get("DB_DATA", "/data/shop.json")
PASSWORD = os.environ["DB_PASSWORD"]
PORT = int(os.environ.get("DB_PORT", "7000"))
LOCK = threading.Lock()


def load():
    try:
        with open(DATA) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def save(data):
    os.makedirs(os.path.dirname(DATA), exist_ok=True)
    with open(DATA + ".tmp", "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(DATA + ".tmp", DATA)


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def key(self):
        if not self.path.startswith("/kv/") or len(self.path) == 4:
            self.reply(404, {"error": "no such path"})
            return None
        if self.headers.get("X-Password") != PASSWORD:
            self.reply(401, {"error": "wrong password"})
            return None
        return self.path[4:]

    def do_GET(self):
        if self.path == "/":
            self.reply(200, "shopdb ready")
            return
        key = self.key()
        if key is None:
            return
        with LOCK:
            data = load()
        if key in data:
            self.reply(200, data[key])
        else:
            self.reply(404, {"error": f"no key {key}"})

    def do_PUT(self):
        key = self.key()
        if key is None:
            return
        value = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
        with LOCK:
            data = load()
            data[key] = value
            save(data)
        self.reply(200, {"stored": key})

    def log_message(self, fmt, *args):  # one line per request on stdout (docker logs)
        print(f"{self.address_string()} {fmt % args}", flush=True)


# PID 1 in a container: without a handler SIGTERM would be ignored and a stop would wait for SIGKILL
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"shopdb: {len(load())} keys in {DATA}, listening on {PORT}", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
