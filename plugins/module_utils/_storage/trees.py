# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local files and directories as content: a digest of their contents, and tar archives of them.

Used on the controller (the action plugin copies project directories to remote targets under their
digest) and by the module (project paths copied into containers on an engine that does not share the
module's filesystem). Pure Python, no Ansible.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from typing import IO, Iterator, Optional

CHUNK = 1024 * 1024


def _walk(root: str) -> Iterator[tuple[str, str]]:
    """(relative name, absolute path) of everything below `root`, in a stable order; symlinks not followed."""
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        relative_dir = os.path.relpath(directory, root)
        for name in sorted(dirnames + filenames):
            path = os.path.join(directory, name)
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            yield relative, path


def tree_digest(path: str) -> str:
    """sha256 over the names, types, permission bits, contents and link targets of a file or directory tree.

    Owners and times are left out, so a fresh checkout of the same files has the same digest.
    """
    digest = hashlib.sha256()

    def add(relative: str, absolute: str) -> None:
        info = os.lstat(absolute)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            digest.update(f"L\0{relative}\0{os.readlink(absolute)}\0".encode("utf-8", "surrogateescape"))
        elif stat.S_ISDIR(info.st_mode):
            digest.update(f"D\0{relative}\0{mode:o}\0".encode("utf-8", "surrogateescape"))
        elif stat.S_ISREG(info.st_mode):
            content = hashlib.sha256()
            with open(absolute, "rb") as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    content.update(chunk)
            digest.update(f"F\0{relative}\0{mode:o}\0{content.hexdigest()}\0".encode("utf-8", "surrogateescape"))
        else:
            digest.update(f"S\0{relative}\0{stat.S_IFMT(info.st_mode):o}\0".encode("utf-8", "surrogateescape"))

    if os.path.isdir(path) and not os.path.islink(path):
        add(".", path)
        for relative, absolute in _walk(path):
            add(relative, absolute)
    else:
        add(os.path.basename(path), path)
    return digest.hexdigest()


def is_file_source(path: str) -> bool:
    return not os.path.isdir(path)


def add_tree(output: tarfile.TarFile, path: str, prefix: list[str], file_name: Optional[str] = None) -> None:
    """Add a directory's contents (placed below `prefix`), or a single file (named `file_name`), to `output`.

    Entries of `prefix` itself are added as directories first (mode 0755). Special files are skipped.
    """
    for depth in range(1, len(prefix) + 1):
        info = tarfile.TarInfo("/".join(prefix[:depth]))
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        output.addfile(info)
    if is_file_source(path):
        name = "/".join(prefix + [file_name or os.path.basename(path)])
        _add_one(output, path, name)
        return
    for relative, absolute in _walk(path):
        _add_one(output, absolute, "/".join(prefix + [relative]))


def _add_one(output: tarfile.TarFile, absolute: str, name: str) -> None:
    info = output.gettarinfo(absolute, arcname=name)
    if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        return
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isreg():
        with open(absolute, "rb") as handle:
            output.addfile(info, handle)
    else:
        output.addfile(info)


def write_tree_targz(path: str, target: IO[bytes]) -> None:
    """A gzip-compressed tar of a directory's contents (or of one file) for transfer to a target."""
    with tarfile.open(fileobj=target, mode="w:gz", format=tarfile.PAX_FORMAT) as output:
        add_tree(output, path, [])
