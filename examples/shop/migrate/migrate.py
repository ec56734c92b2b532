"""The shop's migration job: brings shopdb to the schema version given as the argument, then exits.

Each migration runs once: the database keeps its schema version, so a rerun at the same version does
nothing. An unknown version (say 99) or a downgrade exits non-zero, and the steps that wait for this
job with after-condition success (the catalog and the app) do not start.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

DB_URL = os.environ.get("DB_URL", "http://db:7000")
PASSWORD = os.environ["DB_PASSWORD"]


def request(method, key, value=None):
    body = None if value is None else json.dumps(value).encode()
    req = urllib.request.Request(f"{DB_URL}/kv/{key}", data=body, method=method, headers={"X-Password": PASSWORD})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def create_products():
    request(
        "PUT",
        "products",
        [
            {"sku": "apple", "name": "Apple", "price": "0.40"},
            {"sku": "bread", "name": "Bread", "price": "2.10"},
            {"sku": "cheese", "name": "Cheese", "price": "4.75"},
        ],
    )


def add_stock():
    products = request("GET", "products")
    stock = {"apple": 120, "bread": 15, "cheese": 8}
    for product in products:
        product["stock"] = stock.get(product["sku"], 0)
    request("PUT", "products", products)


MIGRATIONS = {1: create_products, 2: add_stock}


def wait_for_db(deadline=60):
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(DB_URL + "/", timeout=5):
                return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(1)


def main():
    target = int(sys.argv[1])
    wait_for_db()
    current = request("GET", "schema") or 0
    print(f"schema {current}, wanted {target}", flush=True)
    if target not in MIGRATIONS and target != 0:
        print(f"no migration leads to schema {target} (known: {sorted(MIGRATIONS)})", flush=True)
        return 3
    if target < current:
        print(f"schema {current} is newer than {target}: downgrades are not supported", flush=True)
        return 4
    for version in range(current + 1, target + 1):
        print(f"migrating to schema {version}: {MIGRATIONS[version].__name__}", flush=True)
        MIGRATIONS[version]()
        request("PUT", "schema", version)
    print(f"schema {target}: done", flush=True)
    return 0


sys.exit(main())
