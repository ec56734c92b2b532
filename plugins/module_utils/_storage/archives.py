# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Archives going into and out of the dataset store, handled so that no archive reaches outside its target.

Capture rewrites the engine's archive of a container path into a dataset's tar.gz; extraction and placement
refuse absolute names, ``..``, links that leave the target and device files before anything is written.
No engine and no Ansible objects here: archive streams come in as byte iterators.
"""

from __future__ import annotations

import datetime
import gzip
import io
import os
import stat
import tarfile
from typing import Any, BinaryIO, Iterable, Iterator, Optional

from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import CHUNK, FILE_MODE, DatasetError

_MAX_LINK_HOPS = 40


class UnsafeArchive(DatasetError):
    """An archive entry would write outside its target, or is a device or other special file."""


class IterReader(io.RawIOBase):
    """A read-only file object over an iterator of byte chunks (the engine's archive stream)."""

    def __init__(self, chunks: Iterable[bytes]):
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


# -- capture: the engine's archive of a container path, rewritten into the dataset ---------------------------------
def _split(name: str) -> list[str]:
    return [part for part in name.split("/") if part not in ("", ".")]


def _directory_entry(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = int(datetime.datetime.now().timestamp())
    return info


def add_container_archive(output: tarfile.TarFile, chunks: Iterable[bytes], sink_path: Optional[str]) -> int:
    """Copy the engine's archive of one container path into `output`, placed under `sink_path`.

    The engine names entries after the path's last component (``out/...`` for ``/out``): a directory's
    contents go to the sink path, a single file keeps its name under it. Returns the number of entries.
    Nothing is extracted here, so hostile entries are only copied; reading refuses them.
    """
    prefix = _split(sink_path or "")
    for depth in range(1, len(prefix) + 1):
        output.addfile(_directory_entry("/".join(prefix[:depth])))
    count = 0
    source = tarfile.open(
        fileobj=io.BufferedReader(IterReader(chunks), CHUNK), mode="r|"
    )  # pylint: disable=consider-using-with
    try:
        top: Optional[str] = None
        for member in source:
            parts = _split(member.name)
            if not parts:
                continue
            if top is None:
                top = parts[0]
                if not member.isdir():
                    # The path is a file (or a link): it keeps its own name.
                    relative = parts
                else:
                    continue
            elif parts[0] == top:
                relative = parts[1:]
            else:
                relative = parts
            if not relative:
                continue
            member.name = "/".join(prefix + relative)
            member.pax_headers = _pax_without_names(member)
            if member.islnk():
                link_parts = _split(member.linkname)
                if link_parts and link_parts[0] == top and not member.linkname.startswith("/"):
                    member.linkname = "/".join(prefix + link_parts[1:])
            handle = source.extractfile(member) if member.isreg() else None
            output.addfile(member, handle)
            count += 1
    finally:
        source.close()
    return count


class GzipTarWriter:
    """A streaming gzip-compressed tar written to a file object (the store's incoming file)."""

    def __init__(self, target: BinaryIO):
        self.gzip = gzip.GzipFile(fileobj=target, mode="wb", mtime=0)  # pylint: disable=consider-using-with
        self.tar = tarfile.open(
            fileobj=self.gzip, mode="w|", format=tarfile.PAX_FORMAT
        )  # pylint: disable=consider-using-with

    def close(self) -> None:
        self.tar.close()
        self.gzip.close()


# -- reading: safe members ---------------------------------------------------------------------------------------
def _resolve(parts: list[str], links: dict[str, str], name: str) -> Optional[list[str]]:
    """Follow the links of the archive seen so far; None when the path leaves the root."""
    resolved: list[str] = []
    queue = list(parts)
    hops = 0
    while queue:
        part = queue.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        resolved.append(part)
        target = links.get("/".join(resolved))
        if target is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS:
                raise UnsafeArchive(f"{name!r}: too many levels of symbolic links")
            if target.startswith("/"):
                return None
            resolved.pop()
            queue = target.split("/") + queue
    return resolved


class SafeMembers:
    """Checks archive members in order and keeps the ones that are safe to write under a target directory.

    Refused: absolute names, names with `..`, symlinks and hard links that lead out of the target (also
    through links met earlier), device files, FIFOs and other special files. Links that stay inside are kept.
    """

    def __init__(self, what: str):
        self.what = what
        self.links: dict[str, str] = {}

    def _refuse(self, member: tarfile.TarInfo, reason: str) -> UnsafeArchive:
        return UnsafeArchive(f"{self.what}: refused entry {member.name!r}: {reason}; nothing was written")

    def check(self, member: tarfile.TarInfo) -> Optional[str]:
        """The member's normalized name (None for the root entry itself), or raise UnsafeArchive."""
        name = member.name
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise self._refuse(member, "absolute name")
        raw_parts = name.split("/")
        if ".." in raw_parts:
            raise self._refuse(member, "'..' in its name")
        parts = _split(name)
        if member.ischr() or member.isblk():
            raise self._refuse(member, "device file")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise self._refuse(member, "special file (FIFO or unknown type)")
        if not parts:
            if member.isdir():
                return None
            raise self._refuse(member, "empty name")
        parent = _resolve(parts[:-1], self.links, name)
        if parent is None:
            raise self._refuse(member, "its directory is a link that leads out of the target")
        key = "/".join(parent + [parts[-1]])
        if member.issym():
            target = member.linkname
            if target.startswith("/"):
                raise self._refuse(member, f"symbolic link to the absolute path {target!r} leads out of the target")
            if _resolve(parent + target.split("/"), self.links, name) is None:
                raise self._refuse(member, f"symbolic link to {target!r} leads out of the target")
            self.links[key] = target
            return "/".join(parts)
        if _resolve(parent + [parts[-1]], self.links, name) is None:
            raise self._refuse(member, "it would be written through a link that leads out of the target")
        if member.islnk():
            target = member.linkname
            if target.startswith("/") or ".." in target.split("/"):
                raise self._refuse(member, f"hard link to {target!r} leads out of the target")
            if _resolve(_split(target), self.links, name) is None:
                raise self._refuse(member, f"hard link to {target!r} leads out of the target")
        self.links.pop(key, None)
        return "/".join(parts)


def select_members(
    members: Iterable[tarfile.TarInfo], subpath: Optional[str], what: str
) -> list[tuple[tarfile.TarInfo, str]]:
    """The safe members under `subpath` (all when None), with their names relative to it.

    Every member of the archive is checked, also those outside `subpath`. A member named exactly `subpath`
    that is a file comes back with the name "" (the target itself is that file).
    """
    checker = SafeMembers(what)
    prefix = _split(subpath or "")
    chosen: list[tuple[tarfile.TarInfo, str]] = []
    for member in members:
        name = checker.check(member)
        if name is None:
            continue
        parts = name.split("/")
        if parts[: len(prefix)] != prefix:
            continue
        relative = "/".join(parts[len(prefix) :])
        if not relative and member.isdir():
            continue
        if member.islnk():
            link_parts = _split(member.linkname)
            if link_parts[: len(prefix)] != prefix:
                # A hard link to something outside the chosen part: it cannot be linked there.
                raise UnsafeArchive(
                    f"{what}: entry {member.name!r} is a hard link to {member.linkname!r}, outside {subpath!r}"
                )
        chosen.append((member, relative))
    if prefix:
        # Links inside the chosen part must stay inside it too.
        inner = SafeMembers(f"{what} (path {subpath})")
        for member, relative in chosen:
            if relative:
                copy = _renamed(member, relative, len(prefix))
                inner.check(copy)
    return chosen


def _renamed(member: tarfile.TarInfo, name: str, strip: int) -> tarfile.TarInfo:
    copy = _copy_member(member)
    copy.name = name
    if member.islnk():
        copy.linkname = "/".join(_split(member.linkname)[strip:])
    return copy


def _pax_without_names(member: tarfile.TarInfo) -> dict[str, str]:
    # A PAX `path` or `linkpath` record would override a new name when the member is written again.
    return {key: value for key, value in member.pax_headers.items() if key not in ("path", "linkpath")}


def _copy_member(member: tarfile.TarInfo) -> tarfile.TarInfo:
    copy = tarfile.TarInfo(member.name)
    for attribute in ("mode", "uid", "gid", "size", "mtime", "type", "linkname", "uname", "gname"):
        setattr(copy, attribute, getattr(member, attribute))
    copy.pax_headers = _pax_without_names(member)
    return copy


def open_archive(path: str) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:gz")  # pylint: disable=consider-using-with
    except (OSError, tarfile.TarError) as exc:
        raise DatasetError(f"cannot read the archive {path}: {exc}") from exc


def write_placed(
    archive: str,
    subpath: Optional[str],
    what: str,
    target: BinaryIO,
    prefix: list[str],
    file_name: Optional[str] = None,
) -> int:
    """Write an uncompressed tar of the archive's safe members (under `subpath`) placed below `prefix`.

    `prefix` lists directories to create first (the missing part of the mount path); `file_name` is the
    name a single-file selection takes. Raises UnsafeArchive before writing anything when any entry is unsafe.
    Returns the number of entries written.
    """
    with open_archive(archive) as source:
        try:
            members = source.getmembers()
            chosen = select_members(members, subpath, what)
        except tarfile.TarError as exc:
            raise DatasetError(f"{what}: the archive {archive} is damaged: {exc}") from exc
        strip = len(_split(subpath or ""))
        output = tarfile.open(
            fileobj=target, mode="w|", format=tarfile.PAX_FORMAT
        )  # pylint: disable=consider-using-with
        try:
            for depth in range(1, len(prefix) + 1):
                output.addfile(_directory_entry("/".join(prefix[:depth])))
            for member, relative in chosen:
                if not relative:
                    relative = file_name or os.path.basename(member.name)
                copy = _renamed(member, "/".join(prefix + [relative]), strip)
                if member.islnk():
                    copy.linkname = "/".join(prefix + _split(copy.linkname))
                handle = source.extractfile(member) if member.isreg() else None
                output.addfile(copy, handle)
        finally:
            output.close()
    return len(chosen)


def extract(archive: str, target: str, subpath: Optional[str] = None) -> int:
    """Extract the safe members of a stored archive into the local directory `target`.

    Every entry is checked before anything is written; writing refuses to follow any link that would
    lead out of `target` (also one that already existed there).
    """
    what = f"archive {archive}"
    os.makedirs(target, exist_ok=True)
    root = os.path.realpath(target)
    with open_archive(archive) as source:
        chosen = select_members(source.getmembers(), subpath, what)
        strip = len(_split(subpath or ""))
        for member, relative in chosen:
            relative = relative or os.path.basename(member.name)
            path = os.path.join(root, relative)
            parent = os.path.dirname(path)
            os.makedirs(parent, exist_ok=True)
            real_parent = os.path.realpath(parent)
            if real_parent != root and not real_parent.startswith(root + os.sep):
                raise UnsafeArchive(f"{what}: entry {member.name!r} would be written outside {target}")
            if os.path.lexists(path) and not (member.isdir() and os.path.isdir(path) and not os.path.islink(path)):
                if os.path.isdir(path) and not os.path.islink(path):
                    raise UnsafeArchive(f"{what}: entry {member.name!r} would replace the directory {path}")
                os.unlink(path)
            if member.isdir():
                os.makedirs(path, exist_ok=True)
                os.chmod(path, (member.mode & 0o777) | stat.S_IRWXU)
            elif member.issym():
                os.symlink(member.linkname, path)
            elif member.islnk():
                source_path = os.path.join(root, "/".join(_split(member.linkname)[strip:]))
                real_source = os.path.realpath(source_path)
                if not real_source.startswith(root + os.sep):
                    raise UnsafeArchive(f"{what}: hard link {member.name!r} leads out of {target}")
                os.link(real_source, path)
            else:
                handle = source.extractfile(member)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                fd = os.open(path, flags, member.mode & 0o777 or FILE_MODE)
                with os.fdopen(fd, "wb") as out:
                    while handle is not None:
                        chunk = handle.read(CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
    return len(chosen)
