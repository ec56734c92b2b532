# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset store and safe handling of the archives in it.

Layout: ``<store>/<dataset>/v<N>.tar.gz`` beside ``v<N>.json``. A version exists when its JSON exists; the
JSON is written last. Version numbers are reserved with an exclusive create of ``.v<N>.reserved`` that stays
with the version, so two writers never share a number and a crash leaves a gap that no later version fills.
Directories are 0700 and files 0600. A version is written to ``.incoming-<pid>@<host>@*`` first; the next
store into the dataset deletes such files that a process of this host left when it died.

No engine and no Ansible objects here: archive streams come in as byte iterators, so everything is
unit-tested on plain files.
"""

from __future__ import annotations

import datetime
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import socket
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Optional, cast

from ansible_collections.polytope.core.plugins.module_utils._processes import process_alive

DEFAULT_STORE = "/var/lib/polytope/datasets"
OUTCOMES = ("succeeded", "terminated", "failed")
DIR_MODE = 0o700
FILE_MODE = 0o600
RESERVATION = ".v{0}.reserved"
_VERSION_FILE = re.compile(r"^\.?v([1-9][0-9]*)\.(tar\.gz|json|reserved)$")
_MAX_LINK_HOPS = 40
CHUNK = 1024 * 1024
INCOMING = ".incoming-"
_INCOMING_WRITER = re.compile(r"^\.incoming-([0-9]+)@([^@]*)@")


def _incoming_prefix() -> str:
    return f"{INCOMING}{os.getpid()}@{socket.gethostname()}@"


class DatasetError(Exception):
    """A dataset cannot be stored or read; the message says which and why."""


class UnsafeArchive(DatasetError):
    """An archive entry would write outside its target, or is a device or other special file."""


@dataclass(frozen=True)
class Version:
    dataset: str
    number: int
    archive: str
    metadata: dict[str, Any]

    @property
    def outcome(self) -> Optional[str]:
        return self.metadata.get("outcome")

    def summary(self) -> dict[str, Any]:
        """The entry of the module's `datasets` result."""
        return {
            "dataset": self.dataset,
            "version": self.number,
            "outcome": self.outcome,
            "archive": self.archive,
            "size": self.metadata.get("size"),
            "sha256": self.metadata.get("sha256"),
            "replica": (self.metadata.get("source") or {}).get("replica"),
        }


def now_text() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _CountingWriter(io.RawIOBase):
    """A write-only file object that hashes and counts what passes through to the real file."""

    def __init__(self, target: BinaryIO):
        super().__init__()
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


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


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _DatasetLock:
    """An exclusive lock on a dataset's directory (released by the kernel if the process dies)."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, ".lock")
        self.fd = -1

    def __enter__(self) -> "_DatasetLock":
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, FILE_MODE)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *_exc: Any) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class DatasetStore:
    def __init__(self, root: str):
        self.root = root

    # -- layout ------------------------------------------------------------------------------------------
    def directory(self, dataset: str) -> str:
        return os.path.join(self.root, dataset)

    def _make_directory(self, dataset: str) -> str:
        if not os.path.isdir(self.root):
            parent = os.path.dirname(os.path.abspath(self.root))
            os.makedirs(parent, exist_ok=True)
            try:
                os.mkdir(self.root, DIR_MODE)
                os.chmod(self.root, DIR_MODE)
            except FileExistsError:
                pass
        directory = self.directory(dataset)
        try:
            os.mkdir(directory, DIR_MODE)
            os.chmod(directory, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise DatasetError(f"dataset {dataset}: {directory} exists and is not a directory") from None
        return directory

    def versions(self, dataset: str) -> list[Version]:
        """The stored versions of a dataset, oldest first; a version without its JSON does not exist."""
        directory = self.directory(dataset)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise DatasetError(f"dataset {dataset}: cannot read {directory}: {exc.strerror}") from exc
        found = []
        for name in names:
            match = _VERSION_FILE.match(name)
            if not match or match.group(2) != "json" or name.startswith("."):
                continue
            number = int(match.group(1))
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    metadata = json.load(handle)
            except (OSError, ValueError) as exc:
                raise DatasetError(
                    f"dataset {dataset}: version {number} has unreadable metadata {path}: {exc}"
                ) from exc
            if not isinstance(metadata, dict):
                raise DatasetError(f"dataset {dataset}: version {number} has unreadable metadata {path}")
            found.append(Version(dataset, number, os.path.join(directory, f"v{number}.tar.gz"), metadata))
        return sorted(found, key=lambda version: version.number)

    def select(self, dataset: str, version: Optional[int] = None) -> Version:
        """The given version, or the newest whose outcome is not `failed`."""
        versions = self.versions(dataset)
        if version is not None:
            for candidate in versions:
                if candidate.number == version:
                    return candidate
            raise DatasetError(
                f"dataset {dataset} has no version {version} in {self.root}"
                + (f" (stored versions: {', '.join(str(v.number) for v in versions)})" if versions else "")
            )
        usable = [candidate for candidate in versions if candidate.outcome != "failed"]
        if not usable:
            raise DatasetError(
                f"dataset {dataset} has no stored version"
                + (" whose outcome is not failed" if versions else "")
                + f" in {self.root}; store one first or give a version"
            )
        return usable[-1]

    def find_run(self, dataset: str, run: dict[str, Any]) -> Optional[Version]:
        """The version already stored for this run of a container (container id and its start and finish times)."""
        for version in self.versions(dataset):
            if (version.metadata.get("run") or {}) == run:
                return version
        return None

    # -- writing -----------------------------------------------------------------------------------------
    def _reserve(self, directory: str) -> tuple[int, str]:
        numbers = [0]
        for name in os.listdir(directory):
            match = _VERSION_FILE.match(name)
            if match:
                numbers.append(int(match.group(1)))
        number = max(numbers) + 1
        while True:
            path = os.path.join(directory, RESERVATION.format(number))
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
            except FileExistsError:
                number += 1
                continue
            if os.path.lexists(os.path.join(directory, f"v{number}.json")) or os.path.lexists(
                os.path.join(directory, f"v{number}.tar.gz")
            ):
                # Taken by a writer that lost its reservation file: keep ours as a marker, move on.
                number += 1
                continue
            return number, path

    def store(self, dataset: str, fill: Callable[[BinaryIO], None], metadata: dict[str, Any]) -> Optional[Version]:
        """Write a new version: `fill` writes the gzip-compressed tar to the file object it is given.

        When the metadata names a `run`, a version of that run that another writer committed meanwhile wins:
        nothing is stored and None comes back (the check and the commit hold the dataset's lock).
        """
        try:
            directory = self._make_directory(dataset)
        except OSError as exc:
            raise DatasetError(
                f"dataset {dataset}: cannot create {self.directory(dataset)}: {exc.strerror or exc}"
            ) from exc
        self._remove_orphans(directory)
        fd, temporary = tempfile.mkstemp(prefix=_incoming_prefix(), suffix=".tar.gz", dir=directory)
        try:
            with os.fdopen(fd, "wb") as raw:
                counting = _CountingWriter(raw)
                # a write-only binary file, which is all a fill writes with
                fill(cast(BinaryIO, counting))
                raw.flush()
                os.fsync(raw.fileno())
            os.chmod(temporary, FILE_MODE)
            with _DatasetLock(directory):
                run = metadata.get("run")
                if run and self.find_run(dataset, run) is not None:
                    return None
                return self._commit(dataset, directory, temporary, counting, metadata)
        except OSError as exc:
            raise DatasetError(
                f"dataset {dataset}: storing a version in {directory} failed: {exc.strerror or exc}"
            ) from exc
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)

    @staticmethod
    def _remove_orphans(directory: str) -> None:
        """Delete the incoming files of writers on this host that died before they committed."""
        host = socket.gethostname()
        for name in os.listdir(directory):
            match = _INCOMING_WRITER.match(name)
            if match is None or match.group(2) != host or process_alive(int(match.group(1))):
                continue
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass

    def _commit(
        self, dataset: str, directory: str, temporary: str, counting: _CountingWriter, metadata: dict[str, Any]
    ) -> Version:
        archive = ""
        try:
            number, _reservation = self._reserve(directory)
            archive = os.path.join(directory, f"v{number}.tar.gz")
            os.link(temporary, archive)
            os.unlink(temporary)
            record = dict(metadata)
            record.update(
                {
                    "dataset": dataset,
                    "version": number,
                    "time": now_text(),
                    "size": counting.size,
                    "sha256": counting.digest.hexdigest(),
                }
            )
            self._write_exclusive(os.path.join(directory, f"v{number}.json"), record)
            _fsync_dir(directory)
            archive = ""
            return Version(dataset, number, os.path.join(directory, f"v{number}.tar.gz"), record)
        finally:
            if archive and os.path.lexists(archive):
                os.unlink(archive)

    @staticmethod
    def _write_exclusive(path: str, record: dict[str, Any]) -> None:
        data = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
        directory = os.path.dirname(path)
        fd, temporary = tempfile.mkstemp(prefix=_incoming_prefix(), suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, FILE_MODE)
            os.link(temporary, path)  # never replaces an existing version
        finally:
            os.unlink(temporary)

    def prune(self, dataset: str, keep: int) -> list[int]:
        """Delete all but the newest `keep` versions; returns the deleted version numbers."""
        versions = self.versions(dataset)
        doomed = versions[:-keep] if keep > 0 else []
        directory = self.directory(dataset)
        for version in doomed:
            # The JSON goes first: from then on the version does not exist for readers.
            for name in (f"v{version.number}.json", f"v{version.number}.tar.gz", RESERVATION.format(version.number)):
                try:
                    os.unlink(os.path.join(directory, name))
                except FileNotFoundError:
                    pass
        return [version.number for version in doomed]

    # -- reading -----------------------------------------------------------------------------------------
    def verified_archive(self, version: Version) -> str:
        """The archive path after checking it against the recorded size and sha256."""
        digest = hashlib.sha256()
        size = 0
        try:
            with open(version.archive, "rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise DatasetError(
                f"dataset {version.dataset} version {version.number}: cannot read {version.archive}: {exc.strerror}"
            ) from exc
        if digest.hexdigest() != version.metadata.get("sha256") or size != version.metadata.get("size"):
            raise DatasetError(
                f"dataset {version.dataset} version {version.number}: {version.archive} does not match the sha256 and size "
                "in its metadata; refusing to use it"
            )
        return version.archive


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


# -- administration: the dataset and dataset_info modules ---------------------------------------------------------
def _delete_version(directory: str, number: int) -> None:
    # The JSON goes first: from then on the version does not exist for readers. The reservation stays, so the
    # number is never given out again and a newer version always has a higher number than every older one.
    for name in (f"v{number}.json", f"v{number}.tar.gz"):
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass


def remove_versions(store: DatasetStore, dataset: str, numbers: Optional[Iterable[int]] = None) -> list[int]:
    """Delete the given versions of a dataset (every one when None) under its lock; returns the numbers deleted.

    The lock is the one a store holds while it commits, so a version being committed is either complete and
    seen here, or committed after this returns; a store running meanwhile loses nothing. The directory and
    its lock file stay: removing them could pull the directory from under a writer that is about to lock it.
    """
    directory = store.directory(dataset)
    if not os.path.isdir(directory):
        return []
    wanted = None if numbers is None else set(numbers)
    with _DatasetLock(directory):
        doomed = [v.number for v in store.versions(dataset) if wanted is None or v.number in wanted]
        for number in doomed:
            _delete_version(directory, number)
        if doomed:
            _fsync_dir(directory)
    return doomed


def prune_versions(store: DatasetStore, dataset: str, keep: int) -> list[int]:
    """Delete all but the newest `keep` (>= 1) versions under the dataset's lock; returns the numbers deleted.

    Unlike DatasetStore.prune, the newest versions are chosen under the lock, so a version that a concurrent
    store commits is counted among them instead of racing the deletion.
    """
    if keep < 1:
        raise DatasetError(f"dataset {dataset}: keep must be 1 or more, got {keep}")
    directory = store.directory(dataset)
    if not os.path.isdir(directory):
        return []
    with _DatasetLock(directory):
        doomed = [v.number for v in store.versions(dataset)[:-keep]]
        for number in doomed:
            _delete_version(directory, number)
        if doomed:
            _fsync_dir(directory)
    return doomed
