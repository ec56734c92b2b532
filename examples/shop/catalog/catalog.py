"""The shop's catalog job: reads the products from shopdb and writes the catalog to /out.

/out is stored as the dataset `shop-catalog` when the job exits 0; the app mounts its newest version.
"""

import datetime
import json
import os
import urllib.request

DB_URL = os.environ.get("DB_URL", "http://db:7000")


def get(key):
    req = urllib.request.Request(f"{DB_URL}/kv/{key}", headers={"X-Password": os.environ["DB_PASSWORD"]})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.load(response)


catalog = {
    "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "schema": get("schema"),
    "products": get("products"),
}
os.makedirs("/out", exist_ok=True)
with open("/out/catalog.json", "w") as handle:
    json.dump(catalog, handle, indent=1)
print(f"catalog: {len(catalog['products'])} products at schema {catalog['schema']}", flush=True)
