# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument values: ``pt.param``/``pt.input``, ``pt.value``, ``pt.secret``, interpolation and code strings.

A mixin of the expander: it reports through ``self.problem`` and records secrets the values read."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Optional
from ansible_collections.polytope.core.plugins.module_utils._language.state import _ExpanderState
from ansible_collections.polytope.core.plugins.module_utils._language.code import (
    Bindings,
    CodeError,
    split_code,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code import evaluate as evaluate_code
from ansible_collections.polytope.core.plugins.module_utils._language.types import (
    _at,
)
from ansible_collections.polytope.core.plugins.module_utils._language.values import (
    _MISSING_RE,
    BROKEN,
    _Missing,
    _canonical,
    _contains_broken,
    _find_key,
    _missing,
    _missing_refs,
    _plain,
    _render_interpolated,
    _show,
    _user_text,
)

# Whole-value references: the bare form (``pt.param x``) and the older one (``#pt-param x``).
_NAME = r"[A-Za-z0-9_.-]+"
_BARE_REF_RE = re.compile(rf"^\s*pt\.(param|input|value|secret)\s+({_NAME})\s*$")
_HASH_REF_RE = re.compile(rf"^\s*#pt-(param|input|value|secret)\s+({_NAME})\s*$")
_OTHER_HASH_RE = re.compile(r"^\s*#pt-([A-Za-z0-9_-]*)")
_OTHER_BARE_RE = re.compile(rf"^\s*pt\.([a-z]+)\s+({_NAME})\s*$")
# Interpolation inside a string; shell's ``${VAR}`` and JSON-pointer ``${/id}`` never match.
_INTERPOLATION_RE = re.compile(rf"\{{\s*pt\.(param|input|value|secret)\s+({_NAME})\s*\}}")


def _as_placeholders(value: Any) -> Any:
    """Code's result with each string built from a placeholder marked as one again, also inside a list
    or mapping: a standard library module computes whole mounts and env lists from its params."""
    if isinstance(value, dict):
        return {key: _as_placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_placeholders(item) for item in value]
    if isinstance(value, str) and _MISSING_RE.search(value):
        return _Missing(value)
    return value


def _string_leaves(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_string_leaves(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_string_leaves(item) for item in value)) if value else set()
    return {value} if isinstance(value, str) and value else set()


@dataclass
class _Scope:
    """Where ``pt.param`` names are looked up: a module's or a template's bound parameters."""

    owner: str
    params: dict[str, Any]
    # The repository of the file that defines the owner, as code sees it (None: the project's own).
    repo_ref: Optional[str] = None

    def find(self, name: str) -> Optional[str]:
        if name in self.params:
            return name
        for declared in self.params:
            if _canonical(declared) == _canonical(name):
                return declared
        return None


class _References(_ExpanderState):
    """Replacing references in argument values (mixed into the expander)."""

    def reference(self, kind: str, name: str, scope: _Scope, spelling: str) -> Any:
        if kind in ("param", "input"):
            declared = scope.find(name)
            if declared is None:
                known = ", ".join(scope.params) or "none"
                self.problem(f"{spelling} names undeclared param {name!r} of {scope.owner} (declared: {known})")
                return BROKEN
            return copy.deepcopy(scope.params[declared])
        source = self.values if kind == "value" else self.secrets
        key = _find_key(source, name)
        if key is None and self.teardown:
            if kind == "secret":
                self.step_uses_secret = True
            return _missing(kind, name)
        if key is None:
            self.problem(f"{spelling}: no {kind} {name!r} was given (pass it in template_{kind}s)")
            return BROKEN
        if kind == "secret":
            self.step_uses_secret = True
            text = source[key]
            if isinstance(text, str) and text:
                self.referenced_secrets.add(text)
            return copy.deepcopy(text)
        return copy.deepcopy(_user_text(source[key]))

    def evaluate(self, value: Any, scope: _Scope, path: str) -> Any:
        """Replace every reference in an ``args`` value; problems are reported, not raised."""
        if isinstance(value, dict):
            return {key: self.evaluate(item, scope, _at(path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.evaluate(item, scope, _at(path, index)) for index, item in enumerate(value)]
        if not isinstance(value, str):
            return value
        where = f"argument {path!r}" if path else "argument"
        code = split_code(value)
        if code is not None:
            return self.evaluate_code(code[0], code[1], scope, where)
        whole = _BARE_REF_RE.match(value) or _HASH_REF_RE.match(value)
        if whole:
            return self.reference(whole.group(1), whole.group(2), scope, f"{where}: {value.strip()}")
        other = _OTHER_HASH_RE.match(value)
        if other:
            self.problem(f"{where}: unknown directive '#pt-{other.group(1)}' (known: #pt-param, #pt-value, #pt-secret)")
            return BROKEN
        other_bare = _OTHER_BARE_RE.match(value)
        if other_bare:
            self.problem(
                f"{where}: unknown reference 'pt.{other_bare.group(1)}' (known: pt.param, pt.value, pt.secret)"
            )
            return BROKEN
        if "pt." not in value:
            return value
        broken = False
        missing = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal broken, missing
            spelling = f"{where}: {{pt.{match.group(1)} {match.group(2)}}}"
            resolved = self.reference(match.group(1), match.group(2), scope, spelling)
            if _contains_broken(resolved):
                broken = True
                return ""
            if self.teardown and _missing_refs(resolved):
                missing = True
            return _render_interpolated(resolved)

        text = _INTERPOLATION_RE.sub(substitute, value)
        if broken:
            return BROKEN
        # A string built from a placeholder is one too: its real value is unknown as a whole.
        return _Missing(text) if missing else text

    def evaluate_code(self, language: str, source: str, scope: _Scope, where: str) -> Any:
        """The value of a code string, with the scope's params bound; a failure is a reported problem."""
        if any(_contains_broken(value) for value in scope.params.values()):
            return BROKEN  # a param it reads already has a reported problem
        read_secret = False

        def lookup(kind: str) -> Any:
            def read(name: Any) -> Any:
                nonlocal read_secret
                if not isinstance(name, str):
                    raise CodeError(f"pt/{kind} takes a name (a string), got {_show(name)}")
                source_map = self.values if kind == "value" else self.secrets
                key = _find_key(source_map, name)
                if key is None:
                    if self.teardown:
                        if kind == "secret":
                            self.step_uses_secret = True
                        return str(_missing(kind, name))
                    raise CodeError(f"no {kind} {name!r} was given (pass it in template_{kind}s)")
                if kind == "secret":
                    read_secret = True
                    self.step_uses_secret = True
                    text = source_map[key]
                    if isinstance(text, str) and text:
                        self.referenced_secrets.add(text)
                    return copy.deepcopy(text)
                return copy.deepcopy(_user_text(source_map[key]))

            return read

        bindings = Bindings(
            params=_plain(scope.params),
            value=lookup("value"),
            secret=lookup("secret"),
            module_repo_ref=scope.repo_ref,
            module_project_ref=None,
        )
        try:
            result = evaluate_code(language, source, bindings, self.code_limits)
        except CodeError as exc:
            self.problem(f"{where}: {language} code: {exc.message}")
            return BROKEN
        if read_secret:
            # A value computed from a secret is as secret as the secret itself.
            self.referenced_secrets.update(_string_leaves(result))
        return _as_placeholders(result) if self.teardown else result

    # ---- binding arguments to parameters
