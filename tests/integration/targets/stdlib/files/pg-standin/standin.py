"""A stand-in for the postgres image's behaviour that polytope/postgres relies on.

On the first start with an empty data directory it "runs" every /docker-entrypoint-initdb.d/*.sql in
name order (appending each to the database file); later starts reuse the data directory. It serves on
port 5432: a client that sends a line gets the state back as JSON; a client that sends nothing is held
open (so a readiness probe sees a live server).
"""

import glob
import json
import os
import signal
import socketserver
import sys

DATA = "/var/lib/postgresql/data"
DB = os.path.join(DATA, "db.sql")


def state():
    with open(os.path.join(DATA, "starts")) as handle:
        starts = int(handle.read())
    with open(os.path.join(DATA, "inits")) as handle:
        inits = int(handle.read())
    with open(DB) as handle:
        database = handle.read()
    return {
        "starts": starts,
        "inits": inits,
        "db": database,
        "password_set": bool(os.environ.get("POSTGRES_PASSWORD")),
    }


def bump(name):
    path = os.path.join(DATA, name)
    count = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as handle:
        handle.write(str(count + 1))


def initialise():
    os.makedirs(DATA, exist_ok=True)
    if not os.path.exists(os.path.join(DATA, "PG_VERSION")):
        with open(DB, "w") as out:
            for script in sorted(glob.glob("/docker-entrypoint-initdb.d/*.sql")):
                print(f"running {script}", flush=True)
                with open(script) as handle:
                    out.write(handle.read())
        with open(os.path.join(DATA, "PG_VERSION"), "w") as handle:
            handle.write("16\n")
        bump("inits")
    bump("starts")


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.request.settimeout(30)
        try:
            if self.rfile.readline():
                self.wfile.write((json.dumps(state()) + "\n").encode())
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
initialise()
print("ready on 5432", flush=True)
Server(("0.0.0.0", 5432), Handler).serve_forever()
