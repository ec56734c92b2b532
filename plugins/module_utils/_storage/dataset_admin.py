# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the dataset and dataset_info modules do with a dataset store: list, filter, remove, prune, fetch.

No Ansible objects here: the modules pass their options in and get the result dict back (or DatasetError),
so every rule is unit-tested on a store in a temporary directory. Changes go through remove_versions and
prune_versions in _datasets, which hold the lock a store commits under.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import (
    OUTCOMES,
    DatasetError,
    DatasetStore,
    Version,
    prune_versions,
    remove_versions,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import is_valid_id

STATES = ("present", "absent", "pruned", "fetched")


def check_name(name: Any) -> str:
    """A dataset name is an id: it names a directory directly under the store, never a path."""
    if not is_valid_id(name):
        raise DatasetError(
            f"name: {name!r} is not a dataset id; expected 2 to 63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        )
    return str(name)


def dataset_names(store: DatasetStore) -> list[str]:
    """The datasets of the store that have at least one version, sorted; a missing store has none."""
    try:
        names = os.listdir(store.root)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DatasetError(f"cannot read the dataset store {store.root}: {exc.strerror}") from exc
    return sorted(
        name for name in names if is_valid_id(name) and os.path.isdir(store.directory(name)) and store.versions(name)
    )


def metadata_path(version: Version) -> str:
    return os.path.join(os.path.dirname(version.archive), f"v{version.number}.json")


def version_info(version: Version) -> dict[str, Any]:
    """One version as the modules return it: the summary fields on top, the whole metadata beside them."""
    source = version.metadata.get("source") or {}
    return {
        "dataset": version.dataset,
        "version": version.number,
        "outcome": version.outcome,
        "time": version.metadata.get("time"),
        "size": version.metadata.get("size"),
        "sha256": version.metadata.get("sha256"),
        "project": source.get("project"),
        "id": source.get("id"),
        "replica": source.get("replica"),
        "archive": version.archive,
        "metadata_path": metadata_path(version),
        "metadata": version.metadata,
    }


def matches(
    version: Version,
    number: Optional[int] = None,
    outcomes: Optional[list[str]] = None,
    project: Optional[str] = None,
    container_id: Optional[str] = None,
) -> bool:
    source = version.metadata.get("source") or {}
    if number is not None and version.number != number:
        return False
    if outcomes and version.outcome not in outcomes:
        return False
    # The store records a version of a container outside any project with project null; "" asks for those.
    if project is not None and (source.get("project") or "") != project:
        return False
    return container_id is None or source.get("id") == container_id


def dataset_info(store: DatasetStore, params: dict[str, Any]) -> dict[str, Any]:
    """The dataset_info result: the datasets with their versions that match every filter given."""
    outcomes = params.get("outcome") or []
    for outcome in outcomes:
        if outcome not in OUTCOMES:
            raise DatasetError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    names = [check_name(name) for name in params.get("name") or []] or dataset_names(store)
    datasets = []
    flat = []
    for name in names:
        versions = [
            version_info(v)
            for v in store.versions(name)
            if matches(v, params.get("version"), outcomes, params.get("project"), params.get("id"))
        ]
        if not versions:
            continue
        datasets.append({"name": name, "count": len(versions), "newest": versions[-1]["version"], "versions": versions})
        flat.extend(versions)
    return {"changed": False, "store": store.root, "datasets": datasets, "versions": flat}


def _numbers(versions: list[Version]) -> list[int]:
    return [version.number for version in versions]


def _state_of(name: str, numbers: list[int]) -> dict[str, Any]:
    return {"name": name, "versions": numbers}


def _phrase(numbers: list[int]) -> str:
    return ("version " if len(numbers) == 1 else "versions ") + ", ".join(str(n) for n in numbers)


def run_dataset(store: DatasetStore, params: dict[str, Any], check_mode: bool, diff: bool) -> dict[str, Any]:
    """The dataset module: state present, absent or pruned, or the checked source of a fetch."""
    name = check_name(params["name"])
    state = params.get("state") or "present"
    number = params.get("version")
    keep = params.get("keep")
    if state == "pruned" and (keep is None or keep < 1):
        raise DatasetError("keep: state=pruned needs keep, the number of newest versions to keep (1 or more)")
    if keep is not None and state != "pruned":
        raise DatasetError("keep: only state=pruned takes keep")
    if number is not None and state == "pruned":
        raise DatasetError("version: state=pruned keeps the newest versions; remove one with state=absent")
    before = store.versions(name)
    if state == "fetched":
        return fetch_source(store, name, number)
    doomed: list[int] = []
    if state == "absent":
        doomed = [v.number for v in before if number is None or v.number == number]
    elif state == "pruned" and keep is not None:  # validated above: keep is given with pruned
        doomed = _numbers(before[:-keep])
    if doomed and not check_mode:
        # Decided again under the lock: the plan above is what check mode and the message report.
        if state == "absent":
            doomed = remove_versions(store, name, None if number is None else [number])
        elif keep is not None:
            doomed = prune_versions(store, name, keep)
    after = _numbers(store.versions(name)) if not check_mode else [n for n in _numbers(before) if n not in doomed]
    if doomed:
        msg = f"{'would remove' if check_mode else 'removed'} {_phrase(doomed)} of dataset {name}"
    elif state == "absent":
        msg = (
            f"dataset {name} has no {'version ' + str(number) if number is not None else 'versions'}; nothing to remove"
        )
    elif state == "pruned":
        msg = f"dataset {name} has {len(before)} of at most {keep} versions; nothing to prune"
    else:
        msg = f"dataset {name} has {len(before)} versions; state=present changes nothing"
    result: dict[str, Any] = {
        "changed": bool(doomed),
        "name": name,
        "store": store.root,
        "removed": doomed,
        "versions": [version_info(v) for v in store.versions(name) if v.number in after],
        "msg": msg,
    }
    if diff:
        result["diff"] = {"before": _state_of(name, _numbers(before)), "after": _state_of(name, after)}
    return result


def fetch_source(store: DatasetStore, name: str, number: Optional[int]) -> dict[str, Any]:
    """The version to fetch, its archive checked against the sha256 and size in its metadata.

    The metadata file's exact text comes back too: it is small, and the action plugin writes it on the
    controller as it is, so both copies stay byte for byte the same.
    """
    version = store.select(name, number)
    store.verified_archive(version)
    path = metadata_path(version)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise DatasetError(f"dataset {name} version {version.number}: cannot read {path}: {exc.strerror}") from exc
    return {
        "changed": False,
        "name": name,
        "store": store.root,
        "version": version.number,
        "sha256": version.metadata.get("sha256"),
        "size": version.metadata.get("size"),
        "archive": version.archive,
        "metadata_path": path,
        "metadata": version.metadata,
        "metadata_text": text,
        "removed": [],
        "msg": f"dataset {name} version {version.number} matches its sha256",
    }
