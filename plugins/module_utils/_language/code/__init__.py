# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Code strings: one small interface in front of the Clojure and JavaScript evaluators.

An argument value of a ``polytope.yml`` can be a piece of code (``#pt-clj ...``, ``pt.js ...``).
The expander hands its text to :func:`evaluate` with the enclosing module's or tool's parameters
and gets back a plain value (None, bool, int, float, str, list, dict with str keys) that replaces
the argument; None means the argument is absent.  Code computes values only: no I/O, no host
interop, nothing that outlives one evaluation, and every evaluation is bounded by :class:`Limits`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

CLOJURE = "Clojure"
JAVASCRIPT = "JavaScript"
PYTHON = "Python"

# The prefix is the first token of the whole value: ``#pt-clj`` / ``pt.clj`` and the same for js, py.
_PREFIX_RE = re.compile(r"^\s*(?:#pt-|pt\.)(clj|js|py)(?=\s|$)")
_LANGUAGES = {"clj": CLOJURE, "js": JAVASCRIPT, "py": PYTHON}


class CodeError(Exception):
    """A code string failed: syntax error (with its position), unknown or refused call, a throw, a limit.

    ``message`` is written for the user and names the cause; the expander adds the file, the module
    or tool, the argument and the language.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Bounds on one evaluation; going past one is a :class:`CodeError` naming the limit."""

    seconds: float = 1.0
    memory_bytes: int = 64 * 1024 * 1024
    depth: int = 200
    result_items: int = 100_000


@dataclass
class Bindings:
    """What code can see.

    ``params`` holds the enclosing module's or tool's bound parameters with their declared
    (kebab-case) names and plain values; each language presents them its own way (Clojure keyword
    maps, JavaScript camelCase objects).  ``value`` and ``secret`` return the user-supplied value or
    secret of that name (a str) or raise :class:`CodeError` when it was not given.
    ``module_repo_ref`` / ``module_project_ref``: the repository of the file that defines the module
    and the project's repository, as a ``repo`` mount field takes them; None is the project's own.
    """

    params: Mapping[str, Any]
    value: Callable[[str], Any]
    secret: Callable[[str], Any]
    module_repo_ref: Optional[str] = None
    module_project_ref: Optional[str] = None


def split_code(text: Any) -> Optional[tuple[str, str]]:
    """(language, source) when ``text`` is a code string, else None."""
    if not isinstance(text, str):
        return None
    match = _PREFIX_RE.match(text)
    if match is None:
        return None
    return _LANGUAGES[match.group(1)], text[match.end() :]


def evaluate(language: str, source: str, bindings: Bindings, limits: Limits = Limits()) -> Any:
    """The plain value of ``source`` in ``language``; raises :class:`CodeError`."""
    if language == CLOJURE:
        from ansible_collections.polytope.core.plugins.module_utils._language.code import clojure

        return clojure.evaluate(source, bindings, limits)
    if language == JAVASCRIPT:
        from ansible_collections.polytope.core.plugins.module_utils._language.code import javascript

        return javascript.evaluate(source, bindings, limits)
    raise CodeError(
        f"{language} code strings are not evaluated: Polytope's {language} runtime has no public "
        "record; write the value out, or use Clojure (#pt-clj) or JavaScript (#pt-js)"
    )
