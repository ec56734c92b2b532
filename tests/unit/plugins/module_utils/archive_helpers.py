# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tar archives described as lists of entries, for the tests of the dataset store and of archive handling."""

from __future__ import annotations

import io
import tarfile
from typing import Iterator


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


def chunks(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
