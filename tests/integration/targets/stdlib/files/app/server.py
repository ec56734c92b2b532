"""Serves a greeting from a package that only the requirements step installs."""

import http.server
import os

import hellostdlib


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{hellostdlib.greeting()} from {os.getcwd()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
