# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset and dataset_info modules' logic, and the locked removal and pruning in _datasets."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._storage.dataset_admin import (
    check_name,
    dataset_info,
    dataset_names,
    run_dataset,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import (
    DatasetError,
    DatasetStore,
    prune_versions,
    remove_versions,
)


def put(store: DatasetStore, dataset: str, outcome: str = "succeeded", project: Optional[str] = "p", cid: str = "x"):
    return store.store(
        dataset,
        lambda out: out.write(os.urandom(32)),
        {"outcome": outcome, "source": {"project": project, "id": cid, "replica": 1}},
    )


def params(**values: Any) -> dict[str, Any]:
    base = {"name": "res", "version": None, "state": "present", "keep": None, "dest": None}
    base.update(values)
    return base


@pytest.fixture(name="store")
def fixture_store(tmp_path) -> DatasetStore:
    return DatasetStore(str(tmp_path / "store"))


def numbers(store: DatasetStore, dataset: str = "res") -> list[int]:
    return [v.number for v in store.versions(dataset)]


# -- remove_versions and prune_versions ---------------------------------------------------------------------------
def test_remove_keeps_numbers_growing(store):
    for _index in range(3):
        put(store, "res")
    assert remove_versions(store, "res", [3]) == [3]
    assert put(store, "res").number == 4
    assert remove_versions(store, "res") == [1, 2, 4]
    assert numbers(store) == []
    assert put(store, "res").number == 5


def test_remove_and_prune_of_a_missing_dataset_create_nothing(store):
    assert remove_versions(store, "res") == []
    assert prune_versions(store, "res", 2) == []
    assert not os.path.exists(store.root)


def test_prune_keeps_the_newest_and_refuses_zero(store):
    for _index in range(5):
        put(store, "res")
    assert prune_versions(store, "res", 2) == [1, 2, 3]
    assert numbers(store) == [4, 5]
    assert prune_versions(store, "res", 2) == []
    with pytest.raises(DatasetError, match="keep must be 1 or more"):
        prune_versions(store, "res", 0)


def test_removal_deletes_the_metadata_and_the_archive(store):
    put(store, "res")
    remove_versions(store, "res", [1])
    left = sorted(os.listdir(store.directory("res")))
    assert left == [".lock", ".v1.reserved"]


def _writer(root: str, count: int, queue: Any) -> None:
    store = DatasetStore(root)
    queue.put([put(store, "busy").number for _index in range(count)])


def test_prune_while_another_process_stores_loses_nothing(store):
    put(store, "busy")
    queue: Any = multiprocessing.Queue()
    writer = multiprocessing.Process(target=_writer, args=(store.root, 60, queue))
    writer.start()
    removed: list[int] = []
    while writer.is_alive():
        removed.extend(prune_versions(store, "busy", 3))
    committed = [1] + queue.get(timeout=30)
    writer.join(30)
    removed.extend(prune_versions(store, "busy", 3))
    left = numbers(store, "busy")
    assert sorted(left + removed) == committed
    assert left == committed[-3:]
    assert not [name for name in os.listdir(store.directory("busy")) if name.startswith(".incoming-")]
    for version in store.versions("busy"):
        store.verified_archive(version)


# -- the dataset module ----------------------------------------------------------------------------------------
def test_present_changes_nothing(store):
    put(store, "res")
    result = run_dataset(store, params(), check_mode=False, diff=True)
    assert not result["changed"]
    assert [v["version"] for v in result["versions"]] == [1]
    assert result["diff"] == {"before": {"name": "res", "versions": [1]}, "after": {"name": "res", "versions": [1]}}


def test_check_mode_reports_and_keeps(store):
    for _index in range(3):
        put(store, "res")
    result = run_dataset(store, params(state="pruned", keep=1), check_mode=True, diff=True)
    assert result["changed"] and result["removed"] == [1, 2]
    assert result["diff"]["after"]["versions"] == [3]
    assert result["msg"].startswith("would remove versions 1, 2")
    assert numbers(store) == [1, 2, 3]


def test_absent_version_then_dataset_is_idempotent(store):
    for _index in range(2):
        put(store, "res")
    first = run_dataset(store, params(state="absent", version=1), False, False)
    again = run_dataset(store, params(state="absent", version=1), False, False)
    assert first["changed"] and first["removed"] == [1]
    assert not again["changed"] and "no version 1" in again["msg"]
    gone = run_dataset(store, params(state="absent"), False, False)
    assert gone["removed"] == [2] and gone["versions"] == []
    assert not run_dataset(store, params(state="absent"), False, False)["changed"]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"state": "pruned"}, "needs keep"),
        ({"state": "pruned", "keep": 0}, "needs keep"),
        ({"state": "absent", "keep": 2}, "only state=pruned takes keep"),
        ({"state": "pruned", "keep": 2, "version": 1}, "remove one with state=absent"),
        ({"name": "../etc"}, "not a dataset id"),
    ],
)
def test_refusals(store, values, message):
    with pytest.raises(DatasetError, match=message):
        run_dataset(store, params(**values), False, False)


def test_fetch_source_checks_the_archive(store):
    put(store, "res")
    put(store, "res", outcome="failed")
    source = run_dataset(store, params(state="fetched", dest="/x"), False, False)
    assert source["version"] == 1  # the newest that did not fail
    with open(source["metadata_path"], encoding="utf-8") as handle:
        assert source["metadata_text"] == handle.read()
    with open(source["archive"], "ab") as handle:
        handle.write(b"damage")
    with pytest.raises(DatasetError, match="does not match the sha256"):
        run_dataset(store, params(state="fetched", dest="/x", version=1), False, False)


# -- dataset_info ----------------------------------------------------------------------------------------------
def test_info_filters(store):
    put(store, "res", project="p", cid="x")
    put(store, "res", outcome="failed", project="p", cid="y")
    put(store, "logs", project=None, cid="x")
    os.mkdir(os.path.join(store.root, "empty"))
    os.mkdir(os.path.join(store.root, ".hidden"))
    assert dataset_names(store) == ["logs", "res"]
    everything = dataset_info(store, {})
    assert [d["name"] for d in everything["datasets"]] == ["logs", "res"]
    assert len(everything["versions"]) == 3 and not everything["changed"]
    failed = dataset_info(store, {"outcome": ["failed"]})
    assert [(v["dataset"], v["version"], v["id"]) for v in failed["versions"]] == [("res", 2, "y")]
    no_project = dataset_info(store, {"project": ""})
    assert [d["name"] for d in no_project["datasets"]] == ["logs"]
    by_id = dataset_info(store, {"id": "x", "name": ["res"]})
    assert by_id["datasets"] == [dict(by_id["datasets"][0], name="res", count=1, newest=1)]
    assert dataset_info(store, {"version": 9})["datasets"] == []
    assert dataset_info(DatasetStore(store.root + "-missing"), {})["datasets"] == []


def test_check_name():
    assert check_name("it-ds") == "it-ds"
    for bad in ("", "a", "A-b", "a/b", ".x", None):
        with pytest.raises(DatasetError):
            check_name(bad)
