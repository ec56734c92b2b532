# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard library: polytope.yml definitions shipped in ``_stdlib/``, looked up by reference."""

from __future__ import annotations

from typing import Any, Optional

# --------------------------------------------------------------------------------------------
# Standard library hook


def _load_library() -> dict[str, Any]:
    """The standard library document (plugins/module_utils/_stdlib/*.yml); tests put a stand-in here."""
    from ansible_collections.polytope.core.plugins.module_utils._stdlib import load_library

    return load_library()


class _Library:
    """Polytope's standard library: module definitions in polytope.yml form, looked up by reference.

    Loaded on first use and guarded, so a library that fails to load reads as a problem of each
    step that uses it (every library reference is then "not available"), never as a traceback.
    """

    def __init__(self) -> None:
        self.modules: dict[str, dict[str, Any]] = {}
        self.unavailable: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.load_problem: Optional[str] = None
        try:
            document = _load_library()
            for entry in document.get("modules") or ():
                self.modules[entry["id"]] = entry
            self.unavailable = dict(document.get("unavailable") or {})
            self.aliases = dict(document.get("aliases") or {})
        except Exception as exc:  # a broken library must read as a problem, never as a traceback
            self.modules, self.unavailable, self.aliases = {}, {}, {}
            self.load_problem = f"the standard library failed to load: {type(exc).__name__}: {exc}"

    def canonical(self, ref: str) -> str:
        """``polytope/x!<x's default variant>`` as ``polytope/x``; any other reference unchanged."""
        return self.aliases.get(ref, ref)

    def unavailable_reason(self, ref: str) -> Optional[str]:
        return self.unavailable.get(self.canonical(ref))

    def lookup(self, ref: str) -> Optional[dict[str, Any]]:
        """The library's definition of ``ref`` (a polytope.yml module mapping), or None."""
        return self.modules.get(self.canonical(ref))

    def unresolvable(self, ref: str, used_by: str) -> str:
        reason = self.unavailable_reason(ref)
        if reason is not None:
            return (
                f"module {ref!r}{used_by}: Polytope standard library module not available: {reason} "
                f"(to run it anyway, define a module with id {ref!r} in the file)"
            )
        why = f" ({self.load_problem})" if self.load_problem else ""
        return f"module {ref!r}{used_by}: Polytope standard library module not available in this collection{why}"


_LIBRARY: Optional[_Library] = None


def _library() -> _Library:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = _Library()
    return _LIBRARY


def _reset_library_cache() -> None:
    """For tests that install a stand-in standard library."""
    global _LIBRARY
    _LIBRARY = None


# --------------------------------------------------------------------------------------------
# Expansion
