# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset store: versions, their metadata, locking, atomic commits, removal and pruning.

Layout: ``<store>/<dataset>/v<N>.tar.gz`` beside ``v<N>.json``. A version exists when its JSON exists; the
JSON is written last. Version numbers are reserved with an exclusive create of ``.v<N>.reserved`` that stays
with the version, so two writers never share a number and a crash leaves a gap that no later version fills.
Directories are 0700 and files 0600. A version is written to ``.incoming-<pid>@<host>@*`` first; the next
store into the dataset deletes such files that a process of this host left when it died.

No engine and no Ansible objects here, so everything is unit-tested on plain files; the archives themselves are
written and read by _archives.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import io
import json
import os
import re
import socket
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Optional, cast

from ansible_collections.polytope.core.plugins.module_utils._processes import process_alive

DEFAULT_STORE = "/var/lib/polytope/datasets"
OUTCOMES = ("succeeded", "terminated", "failed")
DIR_MODE = 0o700
FILE_MODE = 0o600
RESERVATION = ".v{0}.reserved"
_VERSION_FILE = re.compile(r"^\.?v([1-9][0-9]*)\.(tar\.gz|json|reserved)$")
CHUNK = 1024 * 1024
INCOMING = ".incoming-"
_INCOMING_WRITER = re.compile(r"^\.incoming-([0-9]+)@([^@]*)@")


def _incoming_prefix() -> str:
    return f"{INCOMING}{os.getpid()}@{socket.gethostname()}@"


class DatasetError(Exception):
    """A dataset cannot be stored or read; the message says which and why."""


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
