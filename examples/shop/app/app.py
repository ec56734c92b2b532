"""The shop's web app: one replica of several behind the service `shop`.

    GET /             a text page: the shop's name, this replica, the schema and the catalog
    GET /api/status   the same as JSON

The catalog comes from the dataset the catalog job stored (mounted at /catalog), the schema version
from shopdb on every request, the shop's name from $SHOP_NAME (a pt.value).
"""

import http.server
import json
import os
import signal
import socket
import sys
import urllib.request

DB_URL = os.environ.get("DB_URL", "http://db:7000")
PORT = int(os.environ.get("PORT", "8000"))


def status():
    req = urllib.request.Request(f"{DB_URL}/kv/schema", headers={"X-Password": os.environ["DB_PASSWORD"]})
    with urllib.request.urlopen(req, timeout=5) as response:
        schema = json.load(response)
    with open("/catalog/catalog.json") as handle:
        catalog = json.load(handle)
    return {
        "shop": os.environ["SHOP_NAME"],
        "replica": socket.gethostname(),
        "schema": schema,
        "catalog_made": catalog["made"],
        "products": catalog["products"],
    }


def page(state):
    lines = [f"{state['shop']} (served by replica {state['replica']}, database schema {state['schema']})", ""]
    for product in state["products"]:
        lines.append(f"  {product['name']:<8} {product['price']:>6}  {product.get('stock', '?')} in stock")
    lines += ["", f"catalog made {state['catalog_made']}"]
    return "\n".join(lines) + "\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            state = status()
        except OSError as exc:
            self.send_error(503, f"not ready: {exc}")
            return
        if self.path == "/api/status":
            body, kind = json.dumps(state) + "\n", "application/json"
        else:
            body, kind = page(state), "text/plain; charset=utf-8"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"shop app on {PORT}", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
