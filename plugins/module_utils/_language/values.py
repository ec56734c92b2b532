# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small shared pieces of the expander: printable forms, the card spelling of keys, placeholders.

A placeholder (:class:`_Missing`) stands in for a ``pt.value``/``pt.secret`` that a teardown was not
given; :data:`BROKEN` for a value whose problem was already reported."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional

# Whole-value references: the bare form (``pt.param x``) and the older one (``#pt-param x``).
_NAME = r"[A-Za-z0-9_.-]+"


def _canonical(key: Any) -> str:
    """Card spelling: ``no_stdin`` and ``no-stdin`` name the same thing."""
    return str(key).replace("_", "-")


def _show(value: Any, limit: int = 80) -> str:
    """A short printable form of a value for error messages."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str, sort_keys=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_text(type_: Any) -> str:
    """A Polytope type written back in its flow-YAML form, for messages."""
    if isinstance(type_, list):
        return "[" + ", ".join(_type_text(item) for item in type_) + "]"
    if isinstance(type_, dict):
        return "{" + ", ".join(f"{key}: {_type_text(value)}" for key, value in type_.items()) + "}"
    if type_ is None:
        return "null"
    if isinstance(type_, bool):
        return "true" if type_ else "false"
    return str(type_)


def _value_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "an int"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _user_text(value: Any) -> Any:
    """``pt.value``/``pt.secret`` values are strings; structured values pass through as given."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _find_key(source: Mapping[str, Any], name: str) -> Optional[str]:
    """``api-port`` and ``api_port`` name the same value (Ansible variables prefer underscores)."""
    for candidate in (name, name.replace("-", "_"), name.replace("_", "-")):
        if candidate in source:
            return candidate
    return None


def _render_interpolated(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=False)
    return str(value)


class _Missing(str):
    """A ``pt.value`` or ``pt.secret`` that was not given, in a teardown expansion.

    Teardown needs only each step's identity, so a missing value is no problem there: this
    placeholder stands in for it, is accepted by every type (its real value is unknown), and
    shows which reference it replaces (``<not given: pt.secret token>``), also inside strings
    built from it.  The plan lists a step's placeholders in ``missing``; the role never runs
    such a step's spec.
    """

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: Any) -> _Missing:
        return self


_MISSING_RE = re.compile(rf"<not given: pt\.(value|secret) ({_NAME})>")


def _missing(kind: str, name: str) -> _Missing:
    return _Missing(f"<not given: pt.{kind} {name}>")


def _missing_refs(value: Any) -> list[str]:
    """The references (``pt.value x``) whose placeholders occur in ``value``, in order, once each."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, entry in item.items():
                walk(key)
                walk(entry)
        elif isinstance(item, list):
            for entry in item:
                walk(entry)
        elif isinstance(item, str):
            for kind, name in _MISSING_RE.findall(item):
                ref = f"pt.{kind} {name}"
                if ref not in found:
                    found.append(ref)

    walk(value)
    return found


def _plain(value: Any) -> Any:
    """``value`` with every placeholder turned into a plain string (the plan is plain data)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, _Missing):
        return str.__str__(value)
    return value


class _Broken:
    """Stands in for a value whose problem was already reported, so it is not reported again."""

    _instance: Optional[_Broken] = None

    def __new__(cls) -> _Broken:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<broken>"


BROKEN = _Broken()


def _contains_broken(value: Any) -> bool:
    if value is BROKEN:
        return True
    if isinstance(value, dict):
        return any(_contains_broken(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_broken(item) for item in value)
    return False
