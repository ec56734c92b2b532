# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Store COUNT versions of DATASET into STORE through the collection's own store code, one every few ms,
then write the version numbers it committed to RESULT (JSON): the writer side of the concurrent-prune test."""

from __future__ import annotations

import json
import os
import sys
import time


def collection_root() -> str:
    # This file is <...>/ansible_collections/polytope/core/tests/integration/targets/dataset/files/.
    path = os.path.abspath(__file__)
    while os.path.basename(path) != "ansible_collections":
        parent = os.path.dirname(path)
        if parent == path:
            raise SystemExit("not inside an ansible_collections tree")
        path = parent
    return os.path.dirname(path)


def main() -> None:
    store_root, dataset, count, result = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, collection_root())
    from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import (  # pylint: disable=import-outside-toplevel
        DatasetStore,
    )

    store = DatasetStore(store_root)
    committed = []
    for index in range(count):
        payload = os.urandom(64 * 1024)
        version = store.store(
            dataset,
            lambda out, data=payload: out.write(data),
            {"outcome": "succeeded", "source": {"project": "it-ds", "id": "writer", "replica": 1}, "info": str(index)},
        )
        committed.append(version.number)
        # Slow enough that the prunes of the play run while it stores.
        time.sleep(0.1)
    with open(result + ".part", "w", encoding="utf-8") as handle:
        json.dump(committed, handle)
    os.rename(result + ".part", result)


if __name__ == "__main__":
    main()
