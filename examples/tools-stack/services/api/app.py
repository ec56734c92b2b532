"""A tiny HTTP API: GET / answers with the greeting from the environment."""

import argparse
import http.server
import json
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"greeting": os.environ.get("GREETING", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--debug", action="store_true")
arguments = parser.parse_args()
http.server.ThreadingHTTPServer(("", arguments.port), Handler).serve_forever()
