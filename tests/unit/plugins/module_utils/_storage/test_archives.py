# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Archives: capture of a container path into a dataset, and safe reading, extraction and placement."""

from __future__ import annotations

import io
import os
import tarfile
from typing import Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._storage.archives import (
    GzipTarWriter,
    UnsafeArchive,
    add_container_archive,
    extract,
    select_members,
    write_placed,
)
from ansible_collections.polytope.core.tests.unit.plugins.module_utils.archive_helpers import (
    chunks,
    member,
    tar_bytes,
    tar_members,
)

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
