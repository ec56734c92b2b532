# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset store: versions, atomic writes, concurrency, pruning, incoming files of dead writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import stat
from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetError, DatasetStore
from ansible_collections.polytope.core.tests.unit.plugins.module_utils.archive_helpers import member, tar_bytes


def filler(data: bytes):
    def fill(out: Any) -> None:
        out.write(data)

    return fill


def store_tar(
    store: DatasetStore, dataset: str, entries: list[tuple], outcome: str = "succeeded", run: Optional[dict] = None
):
    return store.store(dataset, filler(tar_bytes(entries, gz=True)), {"outcome": outcome, "run": run or {}})


# -- the store -------------------------------------------------------------------------------------------------


def test_versions_only_grow_and_live_side_by_side(tmp_path) -> None:
    store = DatasetStore(str(tmp_path / "store"))
    first = store_tar(store, "results", [member("a.txt", data=b"one")])
    second = store_tar(store, "results", [member("a.txt", data=b"two")])
    assert (first.number, second.number) == (1, 2)
    directory = tmp_path / "store" / "results"
    assert sorted(name for name in os.listdir(directory) if not name.startswith(".")) == [
        "v1.json",
        "v1.tar.gz",
        "v2.json",
        "v2.tar.gz",
    ]
    metadata = json.loads((directory / "v2.json").read_text())
    assert metadata["dataset"] == "results" and metadata["version"] == 2 and metadata["outcome"] == "succeeded"
    assert metadata["size"] == os.path.getsize(directory / "v2.tar.gz")
    assert len(metadata["sha256"]) == 64 and metadata["time"].endswith("Z")
    assert [v.number for v in store.versions("results")] == [1, 2]
    assert second.summary()["archive"] == str(directory / "v2.tar.gz")


def test_store_is_private(tmp_path) -> None:
    store = DatasetStore(str(tmp_path / "deep" / "store"))
    store_tar(store, "results", [member("a.txt")])
    for path in (tmp_path / "deep" / "store", tmp_path / "deep" / "store" / "results"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    for name in os.listdir(tmp_path / "deep" / "store" / "results"):
        assert stat.S_IMODE(os.stat(tmp_path / "deep" / "store" / "results" / name).st_mode) == 0o600


def test_a_failing_write_leaves_no_version_and_no_gap(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    store_tar(store, "d", [member("a")])

    def broken(out: Any) -> None:
        out.write(b"partial data")
        raise OSError(28, "No space left on device")

    with pytest.raises(DatasetError, match="No space left"):
        store.store("d", broken, {"outcome": "terminated"})
    assert [v.number for v in store.versions("d")] == [1]
    assert sorted(os.listdir(tmp_path / "d")) == [".lock", ".v1.reserved", "v1.json", "v1.tar.gz"]
    assert store_tar(store, "d", [member("b")]).number == 2


def test_a_crash_after_reserving_leaves_a_gap_that_no_later_version_fills(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    store_tar(store, "d", [member("a")])
    # A writer reserved version 2, wrote part of it and died before its metadata.
    (tmp_path / "d" / ".v2.reserved").write_bytes(b"")
    (tmp_path / "d" / "v2.tar.gz").write_bytes(b"half an archive")
    assert [v.number for v in store.versions("d")] == [1]
    assert store_tar(store, "d", [member("b")]).number == 3
    assert (tmp_path / "d" / "v2.tar.gz").read_bytes() == b"half an archive"


def test_an_existing_version_is_never_overwritten(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    store_tar(store, "d", [member("a")])
    before = (tmp_path / "d" / "v1.tar.gz").read_bytes()
    os.unlink(tmp_path / "d" / ".v1.reserved")  # a lost reservation file must not free the number
    assert store_tar(store, "d", [member("b")]).number == 2
    assert (tmp_path / "d" / "v1.tar.gz").read_bytes() == before


def _store_in_process(root: str, index: int) -> int:
    store = DatasetStore(root)
    return store.store(
        "shared",
        filler(tar_bytes([member(f"f{index}", data=str(index).encode())], gz=True)),
        {"outcome": "succeeded", "run": {"i": index}},
    ).number


def test_concurrent_stores_get_distinct_complete_versions(tmp_path) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(8) as pool:
        numbers = pool.starmap(_store_in_process, [(str(tmp_path), index) for index in range(24)])
    assert sorted(numbers) == list(range(1, 25))
    store = DatasetStore(str(tmp_path))
    versions = store.versions("shared")
    assert [v.number for v in versions] == list(range(1, 25))
    for version in versions:
        store.verified_archive(version)
    assert sorted(v.metadata["run"]["i"] for v in versions) == list(range(24))


def _store_run_in_process(root: str, index: int) -> bool:
    store = DatasetStore(root)
    run = {"container": "same", "started_at": "t1", "finished_at": "t2"}
    data = tar_bytes([member("f", data=str(index).encode())], gz=True)
    return store.store("once", filler(data), {"outcome": "succeeded", "run": run}) is not None


def test_concurrent_stores_of_one_run_store_it_once(tmp_path) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(8) as pool:
        stored = pool.starmap(_store_run_in_process, [(str(tmp_path), index) for index in range(16)])
    assert stored.count(True) == 1
    assert [v.number for v in DatasetStore(str(tmp_path)).versions("once")] == [1]
    assert not [name for name in os.listdir(tmp_path / "once") if name.startswith(".incoming-")]


def test_select_takes_the_newest_version_that_did_not_fail(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    store_tar(store, "d", [member("a")], outcome="succeeded")
    store_tar(store, "d", [member("a")], outcome="terminated")
    store_tar(store, "d", [member("a")], outcome="failed")
    assert store.select("d").number == 2
    assert store.select("d", 3).number == 3
    with pytest.raises(DatasetError, match="no version 9"):
        store.select("d", 9)
    with pytest.raises(DatasetError, match="no stored version"):
        store.select("other")


def test_select_refuses_when_every_version_failed(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    store_tar(store, "d", [member("a")], outcome="failed")
    with pytest.raises(DatasetError, match="whose outcome is not failed"):
        store.select("d")


def test_find_run_is_how_a_run_is_stored_once(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    run = {"container": "abc", "started_at": "t1", "finished_at": "t2"}
    store_tar(store, "d", [member("a")], run=run)
    assert store.find_run("d", run).number == 1
    assert store.find_run("d", {**run, "finished_at": "t3"}) is None


def test_prune_keeps_the_newest(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    for _number in range(5):
        store_tar(store, "d", [member("a")])
    assert store.prune("d", 2) == [1, 2, 3]
    assert [v.number for v in store.versions("d")] == [4, 5]
    assert store_tar(store, "d", [member("a")]).number == 6


def test_a_tampered_archive_is_refused(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    version = store_tar(store, "d", [member("a", data=b"good")])
    with open(version.archive, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(DatasetError, match="does not match"):
        store.verified_archive(version)


def test_a_store_deletes_what_dead_writers_of_this_host_left_and_nothing_else(tmp_path) -> None:
    store = DatasetStore(str(tmp_path))
    store_tar(store, "d", [member("a")], outcome="succeeded")
    host = socket.gethostname()
    dead = 2**22 + 11  # above Linux's largest pid
    left = {
        "dead writer here": f".incoming-{dead}@{host}@k2j4.tar.gz",
        "live writer here": f".incoming-{os.getpid()}@{host}@p0q1.tar.gz",
        "writer elsewhere": f".incoming-{dead}@{host}x@z9z9.json",
        "older layout": ".incoming-ab12cd.tar.gz",
    }
    for name in left.values():
        (tmp_path / "d" / name).write_bytes(b"partial")
    store_tar(store, "d", [member("b")], outcome="succeeded")
    remaining = set(os.listdir(tmp_path / "d"))
    assert left["dead writer here"] not in remaining
    assert {left["live writer here"], left["writer elsewhere"], left["older layout"]} <= remaining
    assert [v.number for v in store.versions("d")] == [1, 2]
