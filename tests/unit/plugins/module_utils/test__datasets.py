# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset store: versions, atomic writes, concurrency, pruning, capture and safe reading."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import socket
import stat
import tarfile
from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._datasets import (
    DatasetError,
    DatasetStore,
    GzipTarWriter,
    UnsafeArchive,
    add_container_archive,
    extract,
    select_members,
    write_placed,
)

# -- helpers ---------------------------------------------------------------------------------------------------


def member(name: str, kind: str = "file", data: bytes = b"", link: str = "", mode: int = 0o644) -> tuple:
    return (name, kind, data, link, mode)


def tar_bytes(entries: list[tuple], gz: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as out:
        for name, kind, data, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                out.addfile(info)
            elif kind == "file":
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = link
                out.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = link
                out.addfile(info)
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
                info.devmajor, info.devminor = 1, 3
                out.addfile(info)
            elif kind == "blk":
                info.type = tarfile.BLKTYPE
                out.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                out.addfile(info)
    return buffer.getvalue()


def tar_members(entries: list[tuple]) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(entries))) as source:
        return source.getmembers()


def filler(data: bytes):
    def fill(out: Any) -> None:
        out.write(data)

    return fill


def store_tar(
    store: DatasetStore, dataset: str, entries: list[tuple], outcome: str = "succeeded", run: Optional[dict] = None
):
    return store.store(dataset, filler(tar_bytes(entries, gz=True)), {"outcome": outcome, "run": run or {}})


def chunks(data: bytes, size: int = 7):
    for start in range(0, len(data), size):
        yield data[start : start + size]


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


# -- capture -----------------------------------------------------------------------------------------------


def captured(stream_entries: list[tuple], sink_path: Optional[str] = None) -> list[tuple[str, str, bytes]]:
    out = io.BytesIO()
    writer = GzipTarWriter(out)
    add_container_archive(writer.tar, chunks(tar_bytes(stream_entries)), sink_path)
    writer.close()
    result = []
    with tarfile.open(fileobj=io.BytesIO(out.getvalue()), mode="r:gz") as source:
        for info in source:
            data = source.extractfile(info).read() if info.isreg() else b""
            result.append((info.name, info.linkname, data))
    return result


def test_capture_takes_a_directorys_contents() -> None:
    entries = [
        member("out", "dir"),
        member("out/a.txt", data=b"A"),
        member("out/sub", "dir"),
        member("out/sub/b", data=b"B"),
    ]
    assert captured(entries) == [("a.txt", "", b"A"), ("sub", "", b""), ("sub/b", "", b"B")]


def test_capture_places_under_the_sink_path() -> None:
    entries = [member("out", "dir"), member("out/a.txt", data=b"A"), member("out/h", "hardlink", link="out/a.txt")]
    assert captured(entries, "x/y") == [
        ("x", "", b""),
        ("x/y", "", b""),
        ("x/y/a.txt", "", b"A"),
        ("x/y/h", "x/y/a.txt", b""),
    ]


def test_capture_of_a_file_keeps_its_name() -> None:
    assert captured([member("result.csv", data=b"1,2")]) == [("result.csv", "", b"1,2")]


# -- safe reading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries, reason",
    [
        ([member("/etc/passwd")], "absolute name"),
        ([member("../escape")], "'..'"),
        ([member("a/../../escape")], "'..'"),
        ([member("link", "symlink", link="/etc")], "absolute path"),
        ([member("link", "symlink", link="../outside")], "leads out"),
        ([member("a", "dir"), member("a/link", "symlink", link="../../x")], "leads out"),
        # each link stays inside on its own; together they lead out
        (
            [member("a", "dir"), member("a/up", "symlink", link=".."), member("b", "symlink", link="a/up/../x")],
            "leads out",
        ),
        ([member("hard", "hardlink", link="/etc/shadow")], "hard link"),
        ([member("hard", "hardlink", link="../x")], "hard link"),
        ([member("dev", "chr")], "device file"),
        ([member("disk", "blk")], "device file"),
        ([member("pipe", "fifo")], "special file"),
        ([member("loop", "symlink", link="loop"), member("loop/x")], "levels of symbolic links"),
    ],
)
def test_unsafe_entries_are_refused(entries, reason) -> None:
    with pytest.raises(UnsafeArchive, match=reason):
        select_members(tar_members(entries), None, "test")


def test_writing_through_a_link_that_was_safe_when_made_is_checked_again() -> None:
    # `dir` points inside, then a later entry replaces nothing but writes through a link to the root's parent
    entries = [member("d", "dir"), member("d/in", "symlink", link="."), member("d/in/ok.txt")]
    assert [name for _member, name in select_members(tar_members(entries), None, "t")] == ["d", "d/in", "d/in/ok.txt"]


def test_links_inside_are_kept() -> None:
    entries = [
        member("data", "dir"),
        member("data/file", data=b"x"),
        member("data/rel", "symlink", link="file"),
        member("top", "symlink", link="data/../data/file"),
        member("hard", "hardlink", link="data/file"),
    ]
    assert [name for _member, name in select_members(tar_members(entries), None, "t")] == [
        "data",
        "data/file",
        "data/rel",
        "top",
        "hard",
    ]


def test_subpath_selects_and_strips() -> None:
    entries = [member("a", "dir"), member("a/x", data=b"X"), member("b", data=b"B")]
    chosen = select_members(tar_members(entries), "a", "t")
    assert [name for _member, name in chosen] == ["x"]
    single = select_members(tar_members(entries), "b", "t")
    assert [name for _member, name in single] == [""]


def test_a_link_leaving_the_chosen_subpath_is_refused() -> None:
    entries = [member("a", "dir"), member("a/up", "symlink", link="../b"), member("b", data=b"B")]
    with pytest.raises(UnsafeArchive, match="leads out"):
        select_members(tar_members(entries), "a", "t")


def _archive(tmp_path, entries: list[tuple]) -> str:
    path = tmp_path / "archive.tar.gz"
    path.write_bytes(tar_bytes(entries, gz=True))
    return str(path)


def _everything_under(path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, n), path) for d, dirs, files in os.walk(path) for n in dirs + files)


@pytest.mark.parametrize(
    "hostile",
    [
        member("/tmp/escaped-absolute"),
        member("../escaped-dotdot"),
        member("escape", "symlink", link="../outside"),
        member("escape", "hardlink", link="../outside/secret"),
        member("dev", "chr"),
    ],
)
def test_extract_writes_nothing_when_an_entry_is_unsafe(tmp_path, hostile) -> None:
    archive = _archive(tmp_path, [member("ok.txt", data=b"fine"), hostile, member("after.txt")])
    target = tmp_path / "work" / "target"
    target.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    before = _everything_under(tmp_path)
    with pytest.raises(UnsafeArchive, match="nothing was written"):
        extract(archive, str(target))
    assert _everything_under(tmp_path) == before


def test_extract_refuses_a_link_already_in_the_target(tmp_path) -> None:
    archive = _archive(tmp_path, [member("pre/evil.txt", data=b"x")])
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(str(tmp_path / "outside"), target / "pre")
    with pytest.raises(UnsafeArchive, match="outside"):
        extract(archive, str(target))
    assert os.listdir(tmp_path / "outside") == []


def test_extract_round_trip(tmp_path) -> None:
    archive = _archive(
        tmp_path,
        [
            member("d", "dir"),
            member("d/f", data=b"F"),
            member("d/l", "symlink", link="f"),
            member("h", "hardlink", link="d/f"),
        ],
    )
    target = tmp_path / "t"
    assert extract(archive, str(target)) == 4
    assert (target / "d" / "f").read_bytes() == b"F"
    assert os.readlink(target / "d" / "l") == "f"
    assert os.stat(target / "h").st_ino == os.stat(target / "d" / "f").st_ino


def test_write_placed_prefixes_and_names_a_single_file(tmp_path) -> None:
    archive = _archive(
        tmp_path,
        [member("conf", "dir"), member("conf/app.ini", data=b"ini"), member("conf/h", "hardlink", link="conf/app.ini")],
    )
    out = io.BytesIO()
    write_placed(archive, "conf", "t", out, ["etc", "app"])
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as placed:
        assert [(m.name, m.linkname) for m in placed.getmembers()] == [
            ("etc", ""),
            ("etc/app", ""),
            ("etc/app/app.ini", ""),
            ("etc/app/h", "etc/app/app.ini"),
        ]
    out = io.BytesIO()
    write_placed(archive, "conf/app.ini", "t", out, [], file_name="settings.ini")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as placed:
        assert [m.name for m in placed.getmembers()] == ["settings.ini"]


def test_write_placed_refuses_before_writing(tmp_path) -> None:
    archive = _archive(tmp_path, [member("ok"), member("/abs")])
    out = io.BytesIO()
    with pytest.raises(UnsafeArchive):
        write_placed(archive, None, "t", out, [])
    assert out.getvalue() == b""


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
