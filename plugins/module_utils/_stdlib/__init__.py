# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polytope's standard library (``polytope/python``, ``polytope/kong!simple``, ...), in polytope.yml.

Each ``*.yml`` file next to this one is an ordinary polytope.yml for one library family: its
``modules:`` have the library references as ids and are expanded by the same code as a user's
modules (params, ``module:``, ``args`` with ``pt.param`` and Clojure code strings).  A module that
is a job by nature passes ``await: true`` to ``polytope/container``.

What polytope.yml has no key for, and only this loader reads:

``library``          the family's reference (``polytope/kafka``); every module id starts with it
``default-variant``  the id of the family's default variant when it is not the family's name
                     (``polytope/kafka!kafka-kraft`` is another spelling of ``polytope/kafka``)
``unavailable``      references this collection cannot run, each with the reason a user reads

A code string cannot call another one, so two small helpers are repeated where they are needed:
``q`` quotes one word for ``sh`` the way Python's ``shlex.quote`` does, and ``merge-env`` joins env
lists, a later entry replacing an earlier one of the same name in its place (the container refuses a
name set twice, and a user's env must win over the module's own).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

LIBRARY_DIR = Path(__file__).resolve().parent
_FILE_KEYS = ("library", "default-variant", "modules", "unavailable")


class LibraryError(ValueError):
    """A library file is not what the loader expects (a bug of the collection, not of a user's file)."""


def _family_of(ref: str) -> str:
    return ref.split("!", 1)[0]


def _read(path: Path) -> dict[str, Any]:
    # Imported here: the language package imports this module lazily, and the reverse import at
    # module level would be a cycle.
    from ansible_collections.polytope.core.plugins.module_utils._language.loading import load_yaml12

    document = load_yaml12(path.read_text(encoding="utf-8"), f"standard library {path.name}")
    if not isinstance(document, dict):
        raise LibraryError(f"{path.name}: a library file is a mapping")
    unknown = sorted(str(key) for key in document if key not in _FILE_KEYS)
    if unknown:
        raise LibraryError(f"{path.name}: unknown key(s) {', '.join(unknown)}")
    return document


@functools.lru_cache(maxsize=1)
def load_library() -> dict[str, Any]:
    """The merged library: ``{"modules": [...], "unavailable": {ref: reason}, "aliases": {ref: ref}}``.

    ``modules`` is a polytope.yml ``modules:`` list; ``aliases`` maps each default variant's
    ``polytope/x!variant`` spelling to ``polytope/x``.  Cached: the files ship with the collection.
    Callers get the cached object and must not change it.
    """
    modules: list[dict[str, Any]] = []
    unavailable: dict[str, str] = {}
    aliases: dict[str, str] = {}
    seen: set[str] = set()
    for path in sorted(LIBRARY_DIR.glob("*.yml")):
        document = _read(path)
        family = document.get("library")
        entries = document.get("modules") or []
        if entries:
            if not (isinstance(family, str) and family.startswith("polytope/") and "!" not in family):
                raise LibraryError(f"{path.name}: 'library:' must name the family, like polytope/python")
            for entry in entries:
                ref = entry.get("id") if isinstance(entry, dict) else None
                if not isinstance(ref, str) or _family_of(ref) != family:
                    raise LibraryError(f"{path.name}: module id {ref!r} is not in the family {family!r}")
                if ref in seen:
                    raise LibraryError(f"{path.name}: module {ref!r} is defined twice")
                seen.add(ref)
                modules.append(entry)
            variant = document.get("default-variant") or family.split("/", 1)[1]
            aliases[f"{family}!{variant}"] = family
        for ref, reason in (document.get("unavailable") or {}).items():
            if ref in seen or not isinstance(reason, str):
                raise LibraryError(f"{path.name}: unavailable {ref!r} needs a reason and no module")
            unavailable[ref] = reason
            aliases[f"{ref}!{ref.split('/', 1)[1]}"] = ref
    return {"modules": modules, "unavailable": unavailable, "aliases": aliases}


def library_files() -> list[Path]:
    """The library's files, for tests and docs."""
    return sorted(LIBRARY_DIR.glob("*.yml"))
