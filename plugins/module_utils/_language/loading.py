# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading polytope.yml files: YAML 1.2 scalars, bounded documents, includes."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._language.errors import TemplateError
from ansible_collections.polytope.core.plugins.module_utils._language.values import _value_kind

_YAML12_LOADER: Any = None


def _yaml12_loader() -> Any:
    """A PyYAML SafeLoader that resolves plain scalars with YAML 1.2 core schema rules.

    PyYAML implements YAML 1.1, where ``off``/``on``/``yes``/``no`` are booleans, ``010`` is
    octal, ``1:30`` is sexagesimal and ``2024-01-01`` a date.  Authors of polytope.yml files mean
    YAML 1.2 (a real file sets ``KONG_DATABASE: off``), so those stay strings here.
    Imported lazily: module_utils must import without PyYAML present.
    """
    global _YAML12_LOADER
    if _YAML12_LOADER is not None:
        return _YAML12_LOADER
    import yaml

    class Yaml12SafeLoader(yaml.SafeLoader):
        pass

    replaced = {
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
        "tag:yaml.org,2002:value",
    }
    Yaml12SafeLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in replaced]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Yaml12SafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    # int before float: resolvers are tried in order and the float pattern also matches "1".
    Yaml12SafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    Yaml12SafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
        ),
        list("-+.0123456789"),
    )

    def construct_yaml12_int(loader: Any, node: Any) -> int:
        text = str(loader.construct_scalar(node))
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        except ValueError:
            raise yaml.constructor.ConstructorError(None, None, f"invalid integer {text!r}", node.start_mark) from None

    Yaml12SafeLoader.add_constructor("tag:yaml.org,2002:int", construct_yaml12_int)
    _YAML12_LOADER = Yaml12SafeLoader
    return Yaml12SafeLoader


def load_yaml12(text: str, file_name: str) -> Any:
    """Parse ``text`` with YAML 1.2 scalar rules; a syntax error becomes a TemplateError with the line."""
    try:
        import yaml
    except ImportError:
        raise TemplateError(file_name, "reading the file", ["PyYAML is required to read polytope.yml files"]) from None
    try:
        return yaml.load(text, Loader=_yaml12_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        what = " ".join(part for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
        raise TemplateError(file_name, "reading the file", [f"invalid YAML at {where}: {what or exc}"]) from None


def _load_document(text: str, file_name: str, subject: str) -> dict:
    document = load_yaml12(text, file_name)
    if document is None:
        return {}  # an empty file: every template is unknown
    if not isinstance(document, dict):
        raise TemplateError(file_name, subject, [f"the file must be a mapping, got {_value_kind(document)}"])
    return document


def describe_file(text: str, file_name: str) -> dict:
    """What a polytope.yml offers: its template ids, module ids and (unsupported) tool names."""
    document = _load_document(text, file_name, "reading the file")

    def ids(section: str) -> list[str]:
        entries = document.get(section)
        if not isinstance(entries, list):
            return []
        return [entry["id"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)]

    tools = document.get("tools")
    return {
        "templates": ids("templates"),
        "modules": ids("modules"),
        "tools": [str(name) for name in tools] if isinstance(tools, dict) else [],
    }
