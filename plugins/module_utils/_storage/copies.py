# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copies of controller directories on a remote target, named by the digest of their contents.

The action plugin decides the names (copy_path) and sends an archive when the copy is missing on the
target; the module unpacks it (install_copies) before it resolves the mounts, and after a successful run
removes the other copies of the same mount (clean_stale). Unchanged files keep the same path, so a rerun
changes nothing; changed files get a new path, which changes the fingerprint and replaces the replicas.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._storage.archives import extract
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetError
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import slug

DEFAULT_COPY_DIR = "/var/lib/polytope/copies"
DIGEST_LENGTH = 32
_DIGEST_NAME = re.compile(r"^[0-9a-f]{%d}$" % DIGEST_LENGTH)
NO_PROJECT = "_"


class CopyError(Exception):
    """A controller copy cannot be installed on the target."""


def mount_dir(copy_dir: str, project: Optional[str], container_id: str, mount_path: str) -> str:
    """The directory that holds the copies of one mount: one subdirectory per content digest."""
    return os.path.join(copy_dir, project or NO_PROJECT, container_id or NO_PROJECT, slug(mount_path))


def copy_path(copy_dir: str, project: Optional[str], container_id: str, mount_path: str, digest: str) -> str:
    return os.path.join(mount_dir(copy_dir, project, container_id, mount_path), digest[:DIGEST_LENGTH])


def _make_private_dirs(path: str) -> None:
    missing = []
    current = path
    while current and not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass


def install_copies(copies: Optional[list[dict[str, Any]]], check_mode: bool) -> tuple[frozenset[str], list[str]]:
    """Unpack the archives of missing copies; returns (copies still pending in check mode, actions)."""
    pending: set[str] = set()
    actions: list[str] = []
    for copy in copies or []:
        path = copy.get("path")
        if not isinstance(path, str) or not path.startswith("/") or not _DIGEST_NAME.match(os.path.basename(path)):
            raise CopyError(f"controller_copies: {path!r} is not a copy path made by the action plugin")
        if os.path.isdir(path):
            continue
        if check_mode:
            pending.add(path)
            actions.append(f"copy the controller's files to {path}")
            continue
        archive = copy.get("archive")
        if not archive:
            raise CopyError(f"{path} is missing on the target and the action plugin sent no archive for it")
        parent = os.path.dirname(path)
        _make_private_dirs(parent)
        incoming = tempfile.mkdtemp(prefix=".incoming-", dir=parent)
        try:
            extract(archive, incoming)
            os.chmod(incoming, 0o755)
            try:
                os.rename(incoming, path)
            except OSError:
                if not os.path.isdir(path):
                    raise
        except (OSError, DatasetError) as exc:
            raise CopyError(f"unpacking the controller's files into {path} failed: {exc}") from exc
        finally:
            if os.path.isdir(incoming):
                shutil.rmtree(incoming, ignore_errors=True)
        actions.append(f"copied the controller's files to {path}")
    return frozenset(pending), actions


def clean_stale(copies: Optional[list[dict[str, Any]]]) -> list[str]:
    """Remove the other copies of the same mounts (after a successful run); returns what was removed."""
    keep = {copy["path"] for copy in copies or [] if isinstance(copy.get("path"), str)}
    removed = []
    for parent in sorted({os.path.dirname(path) for path in keep}):
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in sorted(names):
            path = os.path.join(parent, name)
            if path in keep or not (_DIGEST_NAME.match(name) or name.startswith(".incoming-")):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_all(copy_dir: str, project: Optional[str], container_id: str) -> bool:
    """Remove every copy of a container id's mounts (its replicas are gone)."""
    path = os.path.join(copy_dir, project or NO_PROJECT, container_id)
    if not os.path.isdir(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
