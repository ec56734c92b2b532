# -*- coding: utf-8 -*-
# Copyright: polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expansion of a ``polytope.yml`` template into an execution plan.

Pure Python on purpose: no Ansible and no Docker objects, so the lookup, the
``plan`` playbook and the unit tests share one implementation and the plan can
be computed without touching an engine.

The public entry points are :func:`expand`, :func:`masked`, :func:`describe_file` and
:class:`TemplateError`, plus :func:`service_lines` and :func:`unopened_services` for the
template role's services handler and :func:`mask_secrets` for its failure reports.  Everything
else is private.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.polytope.core.plugins.module_utils._card_keys import rename_card_keys
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    IMAGE_PATTERN,
    PROTOCOLS,
    VOLUME_CREATE,
    VOLUME_SCOPES,
    is_valid_id,
    parse_data_size,
)

MASK = "********"
CONTAINER = "polytope/container"
BUILD_IMAGE = "polytope/build-image"

KIND_CONTAINER = "container"
KIND_BUILD_IMAGE = "build_image"

STATE_STARTED = "started"
STATE_COMPLETED = "completed"

AFTER_CONDITIONS = ("success", "always", "failed")

_CODE_LANGUAGES = {"clj": "Clojure", "js": "JavaScript", "py": "Python"}

# Whole-value references: the bare form (``pt.param x``) and the older one (``#pt-param x``).
_NAME = r"[A-Za-z0-9_.-]+"
_BARE_REF_RE = re.compile(rf"^\s*pt\.(param|value|secret)\s+({_NAME})\s*$")
_HASH_REF_RE = re.compile(rf"^\s*#pt-(param|value|secret)\s+({_NAME})\s*$")
_CODE_RE = re.compile(r"^\s*#pt-(clj|js|py)\b")
_OTHER_HASH_RE = re.compile(r"^\s*#pt-([A-Za-z0-9_-]*)")
_OTHER_BARE_RE = re.compile(rf"^\s*pt\.([a-z]+)\s+({_NAME})\s*$")
# Interpolation inside a string; shell's ``${VAR}`` and JSON-pointer ``${/id}`` never match.
_INTERPOLATION_RE = re.compile(rf"\{{\s*pt\.(param|value|secret)\s+({_NAME})\s*\}}")

_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_NUM_RE = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


_MODULE_KEYS = ("id", "module", "params", "args", "info", "name", "default?")
_TEMPLATE_KEYS = ("id", "params", "run", "info", "name", "default?")
_STEP_KEYS = (
    "module",
    "template",
    "id",
    "args",
    "info",
    "run-when",
    "run_when",
    "after",
    "after-condition",
    "after_condition",
)


class TemplateError(Exception):
    """Every problem found while expanding one template (or reading its file)."""

    def __init__(self, file_name: str, subject: str, problems: list[str]) -> None:
        self.file_name = file_name
        self.subject = subject
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{file_name}: {subject}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([heading] + [f"  - {problem}" for problem in self.problems]))


# --------------------------------------------------------------------------------------------
# YAML 1.2


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


# --------------------------------------------------------------------------------------------
# Small helpers


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


# --------------------------------------------------------------------------------------------
# The type language


class _Mismatch(Exception):
    """A value does not have the type; ``path`` locates it inside the argument."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class _BadType(Exception):
    """A type declaration is not in Polytope's type language."""


_NAMED_TYPES = (
    "str",
    "int",
    "num",
    "bool",
    "id",
    "docker-image",
    "absolute-path",
    "env-var",
    "mount-source",
    "service-spec",
    "data-size",
    "instance-type",
    "dataset-sink",
)


def _is_optional(type_: Any) -> bool:
    """Whether a record field of this type may be left out."""
    if isinstance(type_, list) and type_ and type_[0] in ("maybe", "default"):
        return True
    if isinstance(type_, dict):
        # A nested record whose every field is optional (the card's resources.cpu) may be left out.
        return all(_is_optional(field_type) for field_type in type_.values())
    return False


def validate_type(type_: Any) -> None:
    """Raise _BadType when ``type_`` is not a type of the language."""
    if isinstance(type_, str):
        if type_ not in _NAMED_TYPES:
            raise _BadType(f"unknown type {type_!r}")
        return
    if isinstance(type_, list):
        if not type_:
            raise _BadType("empty type []")
        head = type_[0]
        if head == "maybe":
            if len(type_) != 2:
                raise _BadType(f"{_type_text(type_)}: maybe takes one type")
            validate_type(type_[1])
        elif head == "default":
            if len(type_) != 3:
                raise _BadType(f"{_type_text(type_)}: default takes a type and a value")
            validate_type(type_[1])
        elif head == "either":
            if len(type_) < 2:
                raise _BadType(f"{_type_text(type_)}: either takes at least one type")
            for alternative in type_[1:]:
                validate_type(alternative)
        elif head == "enum":
            if len(type_) < 2:
                raise _BadType(f"{_type_text(type_)}: enum takes at least one value")
        elif head == "map":
            if len(type_) != 3:
                raise _BadType(f"{_type_text(type_)}: map takes a key type and a value type")
            validate_type(type_[1])
            validate_type(type_[2])
        elif len(type_) == 1:
            validate_type(type_[0])
        else:
            raise _BadType(f"{_type_text(type_)} is not a type (a list type has exactly one item type)")
        return
    if isinstance(type_, dict):
        if not type_:
            raise _BadType("empty record type {}")
        for field_type in type_.values():
            validate_type(field_type)
        return
    raise _BadType(f"{_show(type_)} is not a type")


def _at(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def conform(value: Any, type_: Any, path: str = "") -> Any:
    """Check ``value`` against ``type_`` and return it in its normal form.

    Defaults are applied, null list items of ``[[maybe, T]]`` are dropped, null record fields are
    left out, and strings are read as numbers or bools where the type asks for one (``pt.value``
    and ``pt.secret`` are always strings: a port given as a value is ``"8080"``).
    """
    if value is BROKEN or isinstance(value, _Missing):
        return value
    if isinstance(type_, str):
        return _conform_named(value, type_, path)
    if isinstance(type_, list):
        head = type_[0]
        if head == "maybe":
            return None if value is None else conform(value, type_[1], path)
        if head == "default":
            if value is None:
                value = copy.deepcopy(type_[2])
            return conform(value, type_[1], path)
        if head == "either":
            return _conform_either(value, type_, path)
        if head == "map":
            return _conform_map(value, type_[1], type_[2], path)
        if head == "enum":
            options = type_[1:]
            for option in options:
                if value == option or (isinstance(value, str) and value == str(option)):
                    return option
            raise _Mismatch(
                path, f"expected one of {', '.join(_show(option) for option in options)}, got {_show(value)}"
            )
        return _conform_list(value, type_[0], path)
    if isinstance(type_, dict):
        return _conform_record(value, type_, path)
    raise _BadType(f"{_show(type_)} is not a type")


def _conform_either(value: Any, type_: list, path: str) -> Any:
    mismatches = []
    for alternative in type_[1:]:
        try:
            return conform(value, alternative, path)
        except _Mismatch as exc:
            mismatches.append(exc)
    if value is None:
        raise _Mismatch(path, f"a value of type {_type_text(type_)} is required, got null")
    # A mapping or list that has the right shape but a wrong detail: its own message helps most.
    for exc in mismatches:
        if exc.path != path:
            raise exc
    raise _Mismatch(path, f"expected {_type_text(type_)}, got {_value_kind(value)} {_show(value)}")


def _conform_list(value: Any, item_type: Any, path: str) -> list:
    if not isinstance(value, list):
        raise _Mismatch(path, f"expected a list of {_type_text(item_type)}, got {_value_kind(value)} {_show(value)}")
    result = []
    for index, item in enumerate(value):
        conformed = conform(item, item_type, _at(path, index))
        if conformed is None and item is None:
            continue  # [[maybe, T]]: null items are skipped, not errors
        result.append(conformed)
    return result


def _conform_map(value: Any, key_type: Any, value_type: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise _Mismatch(
            path,
            f"expected a mapping of {_type_text(key_type)} to {_type_text(value_type)}, got {_value_kind(value)} {_show(value)}",
        )
    return {
        conform(key, key_type, _at(path, key)): conform(item, value_type, _at(path, key)) for key, item in value.items()
    }


def _conform_record(value: Any, record: dict, path: str) -> dict:
    if not isinstance(value, dict):
        raise _Mismatch(
            path, f"expected a mapping with keys {', '.join(map(str, record))}, got {_value_kind(value)} {_show(value)}"
        )
    declared = {_canonical(key): key for key in record}
    given: dict[str, Any] = {}
    for key, item in value.items():
        declared_key = declared.get(_canonical(key))
        if declared_key is None:
            raise _Mismatch(_at(path, key), f"unexpected key {str(key)!r} (expected {', '.join(map(str, record))})")
        if declared_key in given:
            raise _Mismatch(_at(path, key), f"key {declared_key!r} given twice (with - and _)")
        given[declared_key] = item
    result = {}
    for key, field_type in record.items():
        item = given.get(key)
        if item is None and not _is_optional(field_type):
            raise _Mismatch(_at(path, key), f"required key {key!r} is missing")
        if item is None and isinstance(field_type, dict):
            continue  # an optional nested record left out
        conformed = conform(item, field_type, _at(path, key))
        if conformed is not None:
            result[key] = conformed
    return result


_PORT_RECORD = {
    "port": "int",
    "protocol": ["enum", *PROTOCOLS],
    "expose-as": ["maybe", "int"],
    "label": ["maybe", "id"],
    "internal": ["maybe", "bool"],
}
_PORT_RANGE_RECORD = {
    "range": "str",
    "protocol": ["enum", *PROTOCOLS],
    "expose-as": ["maybe", "str"],
    "label": ["maybe", "id"],
    "internal": ["maybe", "bool"],
}
_SERVICE_RECORD = {"id": "id", "ports": [["either", _PORT_RECORD, _PORT_RANGE_RECORD]]}
_ENV_VAR_RECORD = {
    "name": "str",
    "value": ["maybe", ["either", "str", "bool", "int"]],
    # Not in the card, but the module takes it: keeps that value out of results.
    "secret": ["maybe", "bool"],
}
_MOUNT_SOURCE_RECORDS: dict[str, dict] = {
    "host": {"type": "str", "path": "str"},
    "volume": {
        "type": "str",
        "id": ["maybe", "id"],
        "scope": ["maybe", ["enum", *VOLUME_SCOPES]],
        "create": ["maybe", ["enum", *VOLUME_CREATE]],
        "source": ["maybe", "mount-source"],
    },
    "string": {"type": "str", "data": "str"},
    "dataset": {"type": "str", "dataset": "id", "version": ["maybe", "int"], "path": ["maybe", "str"]},
    "repo": {"type": "str", "repo": ["maybe", "str"], "path": ["maybe", "str"], "revision": ["maybe", "str"]},
}
_DATASET_SINK_TYPE = [
    "either",
    "id",
    {"type": ["enum", "dataset"], "dataset": "id", "path": ["maybe", "str"], "info": ["maybe", "str"]},
]


def _conform_named(value: Any, name: str, path: str) -> Any:
    if name not in _NAMED_TYPES:
        raise _BadType(f"unknown type {name!r}")
    if value is None:
        raise _Mismatch(path, f"a value of type {name} is required, got null")
    got = f"got {_value_kind(value)} {_show(value)}"
    if name == "str":
        if isinstance(value, str):
            return value
        raise _Mismatch(path, f"expected a string, {got}")
    if name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            return int(value.strip())
        raise _Mismatch(path, f"expected an int, {got}")
    if name == "num":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUM_RE.match(value.strip()):
            text = value.strip()
            return int(text) if _INT_RE.match(text) else float(text)
        raise _Mismatch(path, f"expected a number, {got}")
    if name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _Mismatch(path, f"expected a bool (true or false), {got}")
    if name in ("id", "instance-type"):
        if is_valid_id(value):
            return value
        raise _Mismatch(
            path,
            f"expected {'an id' if name == 'id' else 'an instance type'} (a-z, 0-9, _ and -, "
            f"2 to 63 characters starting with a letter or digit), {got}",
        )
    if name == "docker-image":
        if isinstance(value, str) and IMAGE_PATTERN.fullmatch(value):
            return value
        raise _Mismatch(path, f"expected a Docker image reference ([registry[:port]/]path[:tag][@digest]), {got}")
    if name == "absolute-path":
        if isinstance(value, str) and value.startswith("/"):
            return value
        raise _Mismatch(path, f"expected an absolute path (starting with /), {got}")
    if name == "data-size":
        try:
            parse_data_size(value)
        except ValueError as exc:
            raise _Mismatch(
                path, f"expected a data size (bytes, or a number with a suffix such as 512Mi or 512m): {exc}, {got}"
            ) from None
        return value
    if name == "env-var":
        return _conform_record(value, _ENV_VAR_RECORD, path)
    if name == "service-spec":
        return _conform_record(value, _SERVICE_RECORD, path)
    if name == "dataset-sink":
        return conform(value, _DATASET_SINK_TYPE, path)
    # mount-source: a union tagged by ``type``
    if not isinstance(value, dict):
        raise _Mismatch(path, f"expected a mount source (a mapping with a type), {got}")
    source_type = value.get("type")
    record = _MOUNT_SOURCE_RECORDS.get(source_type) if isinstance(source_type, str) else None
    if record is None:
        raise _Mismatch(
            _at(path, "type"),
            f"mount source type must be one of {', '.join(_MOUNT_SOURCE_RECORDS)}, got {_show(source_type)}",
        )
    return _conform_record(value, record, path)


# --------------------------------------------------------------------------------------------
# Primitive modules


@dataclass(frozen=True)
class _Param:
    id: str
    type: Any


def _params(declarations: Mapping[str, Any]) -> tuple[_Param, ...]:
    return tuple(_Param(key, value) for key, value in declarations.items())


# The polytope/container card's parameters (interface.md gives the same table); env also takes a
# mapping of name to value, which the module accepts.
_CONTAINER_PARAMS = _params(
    {
        "image": "docker-image",
        "id": ["maybe", "id"],
        "cmd": ["maybe", ["either", "str", [["maybe", "str"]]]],
        "mounts": ["maybe", [["maybe", {"source": "mount-source", "path": "absolute-path"}]]],
        "env": [
            "maybe",
            ["either", [["maybe", "env-var"]], ["map", "str", ["maybe", ["either", "str", "bool", "int"]]]],
        ],
        "workdir": ["maybe", "absolute-path"],
        "entrypoint": ["maybe", ["either", "str", [["maybe", "str"]]]],
        "no-stdin": ["maybe", "bool"],
        "tty": ["maybe", "bool"],
        "services": ["maybe", ["service-spec"]],
        "datasets": ["maybe", [{"path": "absolute-path", "sink": "dataset-sink"}]],
        "user": ["maybe", ["either", "int", "str"]],
        "restart": [
            "maybe",
            {"policy": ["maybe", ["enum", "never", "always", "on-failure"]], "max-restarts": ["maybe", "int"]},
        ],
        "scaling": ["maybe", "int"],
        "update-image": ["maybe", "bool"],
        "instance-type": ["maybe", "instance-type"],
        "resources": [
            "maybe",
            {
                "cpu": {"request": ["maybe", "num"], "limit": ["maybe", "num"]},
                "memory": {"request": ["maybe", "data-size"], "limit": ["maybe", "data-size"]},
            },
        ],
    }
)

_BUILD_IMAGE_PARAMS = _params(
    {
        "tags": ["str"],
        "sources": [{"source": "mount-source", "path": "absolute-path"}],
        "dockerfile": ["default", "str", "Dockerfile"],
        "labels": ["maybe", ["map", "str", "str"]],
        "target": ["maybe", "str"],
        # The standard library precomputes it when the context is a single source at /.
        "context": ["maybe", "mount-source"],
    }
)


# --------------------------------------------------------------------------------------------
# Standard library hook


class _Library:
    """Polytope's standard library, when the collection has it (plugins/module_utils/_stdlib.py).

    Imported on first use and guarded, so expansion works (every library reference is then "not
    available") while that module does not exist yet or fails to load.
    """

    def __init__(self) -> None:
        self.module: Any = None
        self.load_problem: Optional[str] = None
        try:
            from ansible_collections.polytope.core.plugins.module_utils import _stdlib
        except ImportError as exc:
            if not (getattr(exc, "name", None) or "").endswith("_stdlib"):
                self.load_problem = f"the standard library failed to load: {exc}"
        except Exception as exc:  # a broken library must read as a problem, never as a traceback
            self.load_problem = f"the standard library failed to load: {type(exc).__name__}: {exc}"
        else:
            self.module = _stdlib

    def unavailable_reason(self, ref: str) -> Optional[str]:
        if self.module is None:
            return None
        reason_of = getattr(self.module, "unavailable_reason", None)
        if callable(reason_of):
            return reason_of(ref)
        return (getattr(self.module, "UNAVAILABLE", None) or {}).get(ref)

    def lookup(self, ref: str) -> Any:
        """The library module for ``ref`` or None; raises what the library raises."""
        if self.module is None or self.unavailable_reason(ref) is not None:
            return None
        return self.module.lookup(ref)

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


def _library_error_text(exc: Exception) -> str:
    # The library's own error (StdlibError) is written for users; anything else is a bug: name it.
    return str(exc) if type(exc).__name__ == "StdlibError" else f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------
# Expansion


@dataclass
class _Scope:
    """Where ``pt.param`` names are looked up: a module's or a template's bound parameters."""

    owner: str
    params: dict[str, Any]

    def find(self, name: str) -> Optional[str]:
        if name in self.params:
            return name
        for declared in self.params:
            if _canonical(declared) == _canonical(name):
                return declared
        return None


@dataclass
class _Resolved:
    kind: str
    chain: list[str]
    args: dict[str, Any]
    # A library module that is a job by nature (it does its work and exits) runs as completed.
    runs_to_completion: bool = False


@dataclass
class _RawStep:
    step: str
    module: str
    resolved: Optional[_Resolved]
    container_id: Optional[str]
    after: list[str]
    condition: str
    run_when_given: bool
    origin: str
    uses_secret: bool


class _Frame:
    """Names where a problem is (template, step, module) while the expander is inside it."""

    def __init__(self, frames: list[str], label: str) -> None:
        self.frames = frames
        self.label = label

    def __enter__(self) -> None:
        self.frames.append(self.label)

    def __exit__(self, *exc_info: Any) -> None:
        self.frames.pop()


class _Expander:
    def __init__(
        self,
        document: dict,
        file_name: str,
        values: Mapping[str, Any],
        secrets: Mapping[str, Any],
        teardown: bool = False,
    ) -> None:
        self.file_name = file_name
        # Teardown: a value or secret that is not given becomes a placeholder, not a problem.
        self.teardown = teardown
        self.document = document
        self.values = dict(values)
        self.secrets = {key: _user_text(value) for key, value in secrets.items()}
        self.problems: list[str] = []
        self.frames: list[str] = []
        self.referenced_secrets: set[str] = set()
        self.step_uses_secret = False
        self.modules = self._index("modules")
        self.templates = self._index("templates")

    # ---- reporting

    def problem(self, message: str) -> None:
        text = ", ".join(self.frames + [message])
        if text not in self.problems:
            self.problems.append(text)

    def frame(self, label: str) -> _Frame:
        return _Frame(self.frames, label)

    # ---- reading the document

    def _index(self, section: str) -> dict[str, dict]:
        entries = self.document.get(section)
        index: dict[str, dict] = {}
        if entries is None:
            return index
        if not isinstance(entries, list):
            self.problem(f"'{section}:' must be a list, got {_value_kind(entries)}")
            return index
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                self.problem(f"{section}[{position}] has no string 'id'")
                continue
            if entry["id"] in index:
                self.problem(f"{section[:-1]} id {entry['id']!r} is defined twice")
                continue
            index[entry["id"]] = entry
        return index

    def declarations(self, raw: Any, owner: str) -> Optional[tuple[_Param, ...]]:
        """A module's or template's ``params:`` list (null means none); None when unusable."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(f"{owner}: 'params:' must be a list of {{id, type}}, got {_value_kind(raw)}")
            return None
        result: list[_Param] = []
        seen: set[str] = set()
        usable = True
        for position, declaration in enumerate(raw):
            if not isinstance(declaration, dict) or not isinstance(declaration.get("id"), str):
                self.problem(f"{owner}: params[{position}] has no string 'id'")
                usable = False
                continue
            param_id = declaration["id"]
            if _canonical(param_id) in seen:
                self.problem(f"{owner}: param {param_id!r} is declared twice")
                usable = False
                continue
            seen.add(_canonical(param_id))
            if "type" not in declaration:
                self.problem(f"{owner}: param {param_id!r} has no type")
                usable = False
                continue
            try:
                validate_type(declaration["type"])
            except _BadType as exc:
                self.problem(f"{owner}: param {param_id!r}: {exc}")
                usable = False
                continue
            result.append(_Param(param_id, declaration["type"]))
        return tuple(result) if usable else None

    # ---- values

    def reference(self, kind: str, name: str, scope: _Scope, spelling: str) -> Any:
        if kind == "param":
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
        code = _CODE_RE.match(value)
        if code:
            language = code.group(1)
            self.problem(
                f"{where}: a #pt-{language} code string ({_CODE_LANGUAGES[language]}) is not evaluated by "
                f"this collection; write the value out (or use pt.param / pt.value)"
            )
            return BROKEN
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

    # ---- binding arguments to parameters

    def bind(self, params: tuple[_Param, ...], args: dict, owner: str, supplied_only: bool = False) -> dict:
        """Check a call's arguments against the callee's params: unknown names, types, defaults."""
        by_canonical = {_canonical(param.id): param for param in params}
        given: dict[str, Any] = {}
        for key, value in args.items():
            param = by_canonical.get(_canonical(key))
            if param is None:
                known = ", ".join(param.id for param in params) or "none"
                self.problem(f"argument {str(key)!r}: {owner} has no param {str(key)!r} (declared: {known})")
                continue
            if param.id in given:
                self.problem(f"argument {str(key)!r}: given twice for {owner} (with - and _)")
                continue
            given[param.id] = value
        bound: dict[str, Any] = {}
        for param in params:
            value = given.get(param.id)
            if _contains_broken(value):
                bound[param.id] = BROKEN
                continue
            if supplied_only and value is None and _is_optional(param.type):
                continue  # the primitive's own defaults apply; the plan shows only what was given
            if value is None and not _is_optional(param.type):
                self.problem(
                    f"argument {param.id!r}: {owner} requires it ({_type_text(param.type)}) and it is not given"
                )
                bound[param.id] = BROKEN
                continue
            try:
                bound[param.id] = conform(value, param.type, param.id)
            except _Mismatch as exc:
                self.problem(f"argument {exc.path!r} of {owner}: {exc.message}")
                bound[param.id] = BROKEN
            except _BadType as exc:
                self.problem(f"param {param.id!r} of {owner}: {exc}")
                bound[param.id] = BROKEN
        return bound

    # ---- modules

    def call(self, ref: Any, args: dict, chain: list[str]) -> Optional[_Resolved]:
        """Resolve ``ref`` called with ``args`` down to a primitive; None when it cannot be."""
        if not isinstance(ref, str) or not ref:
            self.problem(f"module reference must be a string, got {_show(ref)}")
            return None
        if ref in chain:
            self.problem(f"reference cycle: {' -> '.join(chain + [ref])}")
            return None
        chain = chain + [ref]
        called_from = f" (from {chain[-2]!r})" if len(chain) > 1 else ""
        if ref in self.modules:
            return self.call_user_module(ref, args, chain)
        if ref == CONTAINER:
            with self.frame(f"module {CONTAINER!r}{called_from}"):
                bound = self.bind(_CONTAINER_PARAMS, args, f"module {CONTAINER!r}", supplied_only=True)
            return _Resolved(KIND_CONTAINER, chain, rename_card_keys(bound))
        if ref == BUILD_IMAGE:
            with self.frame(f"module {BUILD_IMAGE!r}{called_from}"):
                bound = self.bind(_BUILD_IMAGE_PARAMS, args, f"module {BUILD_IMAGE!r}")
                build_args = self.build_image_args(bound)
            return _Resolved(KIND_BUILD_IMAGE, chain, build_args, runs_to_completion=True)
        return self.call_library_module(ref, args, chain)

    def call_user_module(self, ref: str, args: dict, chain: list[str]) -> Optional[_Resolved]:
        module = self.modules[ref]
        owner = f"module {ref!r}"
        with self.frame(owner):
            if "code" in module and "module" not in module:
                code = _CODE_RE.match(module["code"]) if isinstance(module["code"], str) else None
                language = _CODE_LANGUAGES[code.group(1)] if code else "code"
                self.problem(f"it is defined by {language} code ('code:'), which this collection does not evaluate")
                return None
            unknown_keys = sorted(str(key) for key in module if key not in _MODULE_KEYS)
            if unknown_keys:
                self.problem(f"unknown key(s) {', '.join(map(repr, unknown_keys))} in the module definition")
            base = module.get("module")
            if not isinstance(base, str) or not base:
                self.problem("it has no 'module:' (the module it is built on)")
                return None
            params = self.declarations(module.get("params"), owner)
            module_args = module.get("args")
            if module_args is None:
                module_args = {}
            if not isinstance(module_args, dict):
                self.problem(f"'args:' must be a mapping, got {_value_kind(module_args)}")
                return None
            if params is None:
                return None
            bound = self.bind(params, args, owner)
            evaluated = self.evaluate(module_args, _Scope(owner, bound), "")
        return self.call(base, evaluated, chain)

    def call_library_module(self, ref: str, args: dict, chain: list[str]) -> Optional[_Resolved]:
        library = _library()
        owner = f"module {ref!r}"
        used_by = f" (used by {chain[-2]!r})" if len(chain) > 1 else ""
        try:
            entry = library.lookup(ref)
        except Exception as exc:
            self.problem(f"{owner}{used_by}: the standard library failed to look it up: {_library_error_text(exc)}")
            return None
        if entry is None:
            if ref.startswith("polytope/") or library.unavailable_reason(ref) is not None:
                self.problem(library.unresolvable(ref, used_by))
            elif "/" in ref:
                self.problem(
                    f"module {ref!r}{used_by} belongs to another project ({ref.split('/', 1)[0]}); only modules "
                    f"defined in this file, {CONTAINER!r}, {BUILD_IMAGE!r} and the standard library resolve"
                )
            else:
                hint = f"; {ref!r} is a template: write {{template: {ref}}}" if ref in self.templates else ""
                self.problem(f"unknown module {ref!r}{used_by}: not defined in this file{hint}")
            return None
        with self.frame(owner + (f" (from {chain[-2]!r})" if len(chain) > 1 else "")):
            params = self.declarations(list(getattr(entry, "params", ()) or ()), owner)
            if params is None:
                return None
            bound = self.bind(params, args, owner)
            if any(value is BROKEN for value in bound.values()):
                return None
            try:
                base_args = entry.build(copy.deepcopy(bound))
            except Exception as exc:
                not_given = _missing_refs(bound) if self.teardown else []
                if not_given:
                    self.problem(
                        f"cannot build its arguments without {', '.join(not_given)}, which "
                        f"{'was' if len(not_given) == 1 else 'were'} not given; pass "
                        f"{'it' if len(not_given) == 1 else 'them'} for the teardown too"
                    )
                else:
                    self.problem(f"cannot build its arguments: {_library_error_text(exc)}")
                return None
            if not isinstance(base_args, dict):
                self.problem(f"the standard library built {_value_kind(base_args)} instead of arguments")
                return None
        resolved = self.call(entry.base, base_args, chain)
        if resolved is not None and getattr(entry, "runs_to_completion", False):
            resolved.runs_to_completion = True
        return resolved

    def build_image_args(self, bound: dict) -> dict:
        """polytope/build-image: one build context (a host or own-repo path at /) and its tags."""
        args: dict[str, Any] = {
            key: bound[key] for key in ("tags", "dockerfile", "labels", "target") if bound.get(key) is not None
        }
        sources = bound.get("sources")
        if isinstance(sources, list) and not _missing_refs(sources):
            contexts = [
                entry["source"].get("path") or "."
                for entry in sources
                if entry.get("path") == "/"
                and entry["source"].get("type") in ("host", "repo")
                and not entry["source"].get("repo")
            ]
            if len(sources) != 1 or len(contexts) != 1:
                self.problem(
                    "argument 'sources': only one source, a host path (or the project's own repo) at '/', "
                    "is supported as the build context"
                )
            else:
                args["context"] = contexts[0]
        if isinstance(args.get("tags"), list) and not args["tags"]:
            self.problem("argument 'tags': at least one tag is needed")
        return args

    # ---- templates

    def expand_template(self, template_id: str, args: dict, chain: list[str]) -> list[_RawStep]:
        if template_id in chain:
            self.problem(f"reference cycle: {' -> '.join(chain + [template_id])}")
            return []
        template = self.templates.get(template_id)
        if template is None:
            self.problem(self.unknown_template(template_id))
            return []
        chain = chain + [template_id]
        owner = f"template {template_id!r}"
        steps: list[_RawStep] = []
        with self.frame(owner):
            unknown_keys = sorted(str(key) for key in template if key not in _TEMPLATE_KEYS)
            if unknown_keys:
                self.problem(f"unknown key(s) {', '.join(map(repr, unknown_keys))} in the template definition")
            params = self.declarations(template.get("params"), owner)
            if params is None:
                return []
            bound = self.bind(params, args, owner)
            scope = _Scope(owner, bound)
            run = template.get("run")
            if not isinstance(run, list) or not run:
                self.problem("'run:' must be a non-empty list of steps")
                return []
            for position, item in enumerate(run):
                steps.extend(self.expand_step(item, position, scope, chain))
        return steps

    def unknown_template(self, template_id: str) -> str:
        known = ", ".join(self.templates) or "none"
        message = f"unknown template {template_id!r} (templates in this file: {known})"
        if "tools" in self.document:
            tools = self.document.get("tools")
            named = isinstance(tools, dict) and template_id in tools
            message = (
                f"{'tool' if named else 'template'} {template_id!r}: this file uses the newer 'tools:' format, "
                f"which this collection does not support (it reads 'modules:' and 'templates:')"
            )
        if "include" in self.document:
            message += "; the file also includes other files ('include:'), which this collection does not read"
        return message

    def expand_step(self, item: Any, position: int, scope: _Scope, chain: list[str]) -> list[_RawStep]:
        if isinstance(item, str):
            return [self.module_step(item, item, {}, None, f"run[{position}]", scope)]
        if not isinstance(item, dict):
            self.problem(f"run[{position}]: a step is a module id or a mapping, got {_value_kind(item)}")
            return []
        if "tool" in item:
            self.problem(f"run[{position}]: 'tool:' steps belong to the 'tools:' format, which is not supported")
            return []
        unknown_keys = sorted(str(key) for key in item if key not in _STEP_KEYS)
        if unknown_keys:
            self.problem(f"run[{position}]: unknown step key(s) {', '.join(map(repr, unknown_keys))}")
        run_when = self.run_when(item, f"run[{position}]")
        raw_args = item.get("args")
        if raw_args is None:
            raw_args = {}
        if not isinstance(raw_args, dict):
            self.problem(f"run[{position}]: 'args:' must be a mapping, got {_value_kind(raw_args)}")
            raw_args = {}
        if "template" in item:
            nested = item["template"]
            if "module" in item:
                self.problem(f"run[{position}]: a step has either 'module:' or 'template:', not both")
            if not isinstance(nested, str):
                self.problem(f"run[{position}]: 'template:' must be a template id, got {_show(nested)}")
                return []
            with self.frame(f"run[{position}] (template {nested!r})"):
                args = self.evaluate(raw_args, scope, "")
            nested_steps = self.expand_template(nested, args, chain)
            if run_when is not None:
                for step in nested_steps:
                    self.merge_run_when(step, run_when)
            return nested_steps
        module = item.get("module")
        if not isinstance(module, str) or not module:
            self.problem(f"run[{position}]: a step needs 'module:' (or 'template:')")
            return []
        step_id = item.get("id", module)
        if not isinstance(step_id, str) or not step_id:
            self.problem(f"run[{position}]: step 'id' must be a string, got {_show(step_id)}")
            step_id = module
        return [self.module_step(step_id, module, raw_args, run_when, f"run[{position}]", scope)]

    def run_when(self, item: dict, where: str) -> Optional[tuple[list[str], str]]:
        """``run-when: {after, after-condition}`` and the older step-level ``after: {step: x}``."""
        spec = item.get("run-when", item.get("run_when"))
        after_values: list[Any] = []
        condition: Any = None
        if spec is not None:
            if not isinstance(spec, dict):
                self.problem(f"{where}: 'run-when' must be a mapping with 'after', got {_value_kind(spec)}")
            else:
                extra = sorted(str(key) for key in spec if _canonical(key) not in ("after", "after-condition"))
                if extra:
                    self.problem(f"{where}: unknown run-when key(s) {', '.join(map(repr, extra))}")
                if spec.get("after") is not None:
                    after_values.append(spec["after"])
                condition = spec.get("after-condition", spec.get("after_condition"))
        if item.get("after") is not None:
            after_values.append(item["after"])
        step_condition = item.get("after-condition", item.get("after_condition"))
        if step_condition is not None:
            condition = step_condition
        after: list[str] = []
        for value in after_values:
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict) and isinstance(entry.get("step"), str):
                    after.append(entry["step"])
                elif isinstance(entry, str) and entry:
                    after.append(entry)
                else:
                    self.problem(f"{where}: 'after' names a step id (or {{step: id}}), got {_show(entry)}")
        if condition is not None and condition not in AFTER_CONDITIONS:
            self.problem(
                f"{where}: after-condition must be one of {', '.join(AFTER_CONDITIONS)}, got {_show(condition)}"
            )
            condition = None
        if condition is not None and not after:
            self.problem(f"{where}: after-condition {condition!r} without 'after'")
        if not after:
            return None
        return list(dict.fromkeys(after)), condition or "success"

    def merge_run_when(self, step: _RawStep, run_when: tuple[list[str], str]) -> None:
        after, condition = run_when
        if step.run_when_given and step.condition != condition:
            self.problem(
                f"step {step.step!r}: waits with after-condition {step.condition!r} inside a template step "
                f"that waits with {condition!r}"
            )
        step.after = list(dict.fromkeys(after + step.after))
        step.condition = step.condition if step.run_when_given else condition
        step.run_when_given = True

    def module_step(
        self,
        step_id: str,
        module: str,
        raw_args: dict,
        run_when: Optional[tuple[list[str], str]],
        origin: str,
        scope: _Scope,
    ) -> _RawStep:
        self.step_uses_secret = False
        with self.frame(f"step {step_id!r}"):
            args = self.evaluate(raw_args, scope, "")
            container_id = None
            if "id" in args and not self.declares_id(module):
                # interface.md: a step's container id is its args.id when given, also for a module without an id param.
                container_id = args.pop("id")
            resolved = self.call(module, args, [])
        after, condition = run_when if run_when is not None else ([], "success")
        return _RawStep(
            step=step_id,
            module=module,
            resolved=resolved,
            container_id=container_id if isinstance(container_id, str) else None,
            after=after,
            condition=condition,
            run_when_given=run_when is not None,
            origin=origin,
            uses_secret=self.step_uses_secret,
        )

    def declares_id(self, ref: str) -> bool:
        """Whether calling ``ref`` with an ``id`` argument binds it to a declared param."""
        if ref == CONTAINER:
            return True
        if ref == BUILD_IMAGE:
            return False
        if ref in self.modules:
            params = self.modules[ref].get("params")
            return isinstance(params, list) and any(
                isinstance(param, dict) and param.get("id") == "id" for param in params
            )
        try:
            entry = _library().lookup(ref)
        except Exception:
            return True  # its own problem is reported when the step is resolved
        return entry is None or any(isinstance(param, dict) and param.get("id") == "id" for param in entry.params)

    # ---- the plan

    def plan(self, template_id: str, params: dict, project: str, jobs: list[str]) -> dict:
        if not is_valid_id(project):
            self.problem(f"project {project!r} is not a valid id (a-z, 0-9, _ and -, 2 to 63 characters)")
        raw_steps = self.expand_template(template_id, params, [])
        steps = self.check_steps(raw_steps, template_id)
        known = {step.step for step in steps}
        for job in jobs:
            if job not in known:
                self.problem(f"jobs: template {template_id!r} has no step {job!r} (steps: {', '.join(sorted(known))})")
        if self.problems:
            return {}
        order = self.order(steps)
        waited_by: dict[str, list[str]] = {step.step: [] for step in steps}
        for step in steps:
            for waited in step.after:
                if waited in waited_by and step.step not in waited_by[waited]:
                    waited_by[waited].append(step.step)
        planned = []
        for step in order:
            if step.resolved is None:  # unreachable: an unresolved step is a reported problem
                continue
            args = dict(step.resolved.args)
            args["project"] = project
            if step.resolved.kind == KIND_CONTAINER:
                args["id"] = step.container_id
            not_given = _missing_refs(args)
            args = _plain(args)
            masks = _secret_paths(args, self.referenced_secrets)
            entry = {
                "step": step.step,
                "id": step.container_id,
                "module": step.resolved.chain,
                "kind": step.resolved.kind,
                "state": (
                    STATE_COMPLETED
                    if waited_by[step.step] or step.resolved.runs_to_completion or step.step in jobs
                    else STATE_STARTED
                ),
                "run_when": {"after": step.after, "condition": step.condition} if step.after else None,
                "waited_by": waited_by[step.step],
                "args": args,
                "secret": bool(masks) or step.uses_secret,
                "secret_paths": masks,
            }
            if self.teardown:
                # What the spec lacks: such a step can be stopped or removed by its identity only.
                entry["missing"] = not_given
            planned.append(entry)
        plan = {"file": self.file_name, "template": template_id, "project": project, "steps": planned}
        if self.teardown:
            plan["teardown"] = True
        return plan

    def check_steps(self, raw_steps: list[_RawStep], template_id: str) -> list[_RawStep]:
        by_id: dict[str, _RawStep] = {}
        containers: dict[str, str] = {}
        with self.frame(f"template {template_id!r}"):
            for step in raw_steps:
                if step.step in by_id:
                    self.problem(f"duplicate step id {step.step!r} (give one of them another 'id:')")
                    continue
                by_id[step.step] = step
            for step in by_id.values():
                if step.resolved is None:
                    continue
                if step.resolved.kind == KIND_CONTAINER:
                    step.container_id = self.container_id(step)
                    if step.container_id is None:
                        continue
                    if step.container_id in containers:
                        self.problem(
                            f"steps {containers[step.container_id]!r} and {step.step!r} both run container "
                            f"id {step.container_id!r} (give one of them another id)"
                        )
                    else:
                        containers[step.container_id] = step.step
                else:
                    step.container_id = step.step
            for step in by_id.values():
                for waited in step.after:
                    target = by_id.get(waited)
                    if target is None:
                        self.problem(f"step {step.step!r}: run-when names unknown step {waited!r}")
                    elif target.resolved is not None and target.resolved.kind == KIND_CONTAINER:
                        services = target.resolved.args.get("services")
                        if isinstance(services, list) and services:
                            names = ", ".join(
                                str(service.get("id")) for service in services if isinstance(service, dict)
                            )
                            self.problem(
                                f"step {step.step!r} waits after step {waited!r}, a service ({names}) that never "
                                f"finishes; wait after a job, or drop the run-when"
                            )
            self.find_cycles(by_id)
        return list(by_id.values())

    def container_id(self, step: _RawStep) -> Optional[str]:
        if step.resolved is None:
            return None
        given = step.container_id or step.resolved.args.get("id")
        if given is BROKEN:
            return None
        if isinstance(given, _Missing):
            not_given = _missing_refs(given)
            self.problem(
                f"step {step.step!r}: its container id comes from {', '.join(not_given)}, which "
                f"{'was' if len(not_given) == 1 else 'were'} not given; the teardown needs "
                f"{'it' if len(not_given) == 1 else 'them'} to find the step's containers"
            )
            return None
        if isinstance(given, str) and given:
            if not is_valid_id(given):
                self.problem(f"step {step.step!r}: container id {given!r} is not a valid id")
                return None
            return given
        candidate = step.step
        if not is_valid_id(candidate):
            # A step named by a library reference (polytope/redis!insight) gets redis-insight.
            candidate = re.sub(r"[^a-z0-9_-]+", "-", candidate.rsplit("/", 1)[-1].lower()).strip("-_")
        if not is_valid_id(candidate):
            self.problem(f"step {step.step!r}: no valid container id (set args.id)")
            return None
        return candidate

    def find_cycles(self, by_id: dict[str, _RawStep]) -> None:
        visiting: list[str] = []
        done: set[str] = set()
        reported: set[frozenset[str]] = set()

        def visit(step_id: str) -> None:
            if step_id in done or step_id not in by_id:
                return
            if step_id in visiting:
                cycle = visiting[visiting.index(step_id) :] + [step_id]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    self.problem(f"reference cycle in run-when: {' -> '.join(cycle)}")
                return
            visiting.append(step_id)
            for waited in by_id[step_id].after:
                visit(waited)
            visiting.pop()
            done.add(step_id)

        for step_id in by_id:
            visit(step_id)

    def order(self, steps: list[_RawStep]) -> list[_RawStep]:
        """Listed order, except that a step comes after every step it waits for."""
        placed: set[str] = set()
        known = {step.step for step in steps}
        remaining = list(steps)
        ordered: list[_RawStep] = []
        while remaining:
            for step in remaining:
                if all(waited in placed or waited not in known for waited in step.after):
                    break
            else:
                step = remaining[0]  # a cycle, already reported
            remaining.remove(step)
            placed.add(step.step)
            ordered.append(step)
        return ordered


def _secret_paths(args: dict, secret_values: set[str]) -> list[dict]:
    """Where the args carry a secret, with the masked form of each such value.

    An ``env`` entry that carries one is also marked ``secret: true`` so that the container
    module keeps it out of its results.
    """
    if not secret_values:
        return []
    ordered = sorted(secret_values, key=len, reverse=True)
    found: list[dict] = []

    def walk(value: Any, path: list[Any]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, path + [key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, path + [index])
        elif value is not None and not isinstance(value, bool):
            text = str(value)
            if any(secret in text for secret in ordered):
                masked_text = text
                for secret in ordered:
                    masked_text = masked_text.replace(secret, MASK)
                found.append({"path": path, "masked": masked_text if isinstance(value, str) else MASK})

    walk(args, [])
    env = args.get("env")
    for entry in found:
        path = entry["path"]
        if len(path) == 3 and path[0] == "env" and isinstance(env, list) and path[2] == "value":
            env[path[1]]["secret"] = True
    return found


def _redact(text: str, secrets: Mapping[str, Any]) -> str:
    for secret in sorted(
        (str(_user_text(value)) for value in secrets.values() if value not in (None, "")), key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    return text


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


def expand(
    text: str,
    file_name: str,
    template: str,
    params: Optional[Mapping[str, Any]] = None,
    values: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    project: Optional[str] = None,
    jobs: Optional[list[str]] = None,
    teardown: bool = False,
) -> dict:
    """The execution plan of ``template`` in the polytope.yml ``text`` (named ``file_name``).

    A step runs as a job (``state: completed``) when another step waits for it, when it is a
    library module that is a job by nature, or when ``jobs`` names it (Polytope has no way to say
    so in the file, and a job that nobody waits for would otherwise be expected to keep running).

    ``teardown=True`` expands for stopping or removing the template, which needs only each step's
    identity (project, container id, kind, order): a ``pt.value`` or ``pt.secret`` that is not
    given is no problem then.  A placeholder (``<not given: pt.secret token>``) stands in for it,
    each step lists the references it lacks in ``missing``, and the plan has ``teardown: true``.
    Every other problem still fails, and so does a container id that comes from a missing value.

    Raises TemplateError listing every problem of the template at once; its message never
    contains a secret value.
    """
    secrets = dict(secrets or {})
    subject = f"template {template!r}"
    try:
        document = _load_document(text, file_name, subject)
        expander = _Expander(document, file_name, values or {}, secrets, teardown=bool(teardown))
        if not isinstance(template, str) or not template:
            raise TemplateError(
                file_name, "expansion", [f"template name must be a non-empty string, got {_show(template)}"]
            )
        plan = expander.plan(
            template, dict(params or {}), project if project is not None else template, list(jobs or [])
        )
    except TemplateError as exc:
        raise TemplateError(
            exc.file_name, exc.subject, [_redact(problem, secrets) for problem in exc.problems]
        ) from None
    if expander.problems:
        raise TemplateError(file_name, subject, [_redact(problem, secrets) for problem in expander.problems])
    return plan


def masked(plan: Mapping[str, Any]) -> dict:
    """A copy of ``plan`` with every secret value (whole or interpolated) replaced by ``********``."""
    result = copy.deepcopy(dict(plan))
    for step in result.get("steps") or []:
        for entry in step.get("secret_paths") or []:
            _set_at(step["args"], entry["path"], entry["masked"])
    return result


def _set_at(container: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value


# --------------------------------------------------------------------------------------------
# Role support: failure reports of steps that carry secrets


def mask_secrets(data: Any, secrets: Any) -> Any:
    """A copy of ``data`` with every secret value replaced by ``********`` in every string.

    ``secrets`` is a mapping whose values are the secrets (``template_secrets``) or a list of
    them.  Longer secrets are replaced first, so one that contains another is masked whole; keys
    are masked too, other scalars (an exit code) are kept.  The role shows a failed step that
    carries a secret through this, since ``no_log`` would hide what failed.
    """
    if isinstance(secrets, Mapping):
        candidates = list(secrets.values())
    elif isinstance(secrets, (list, tuple, set)):
        candidates = list(secrets)
    elif secrets is None:
        candidates = []
    else:
        candidates = [secrets]
    texts = sorted(
        {str(_user_text(value)) for value in candidates if value is not None and str(_user_text(value)) != ""},
        key=len,
        reverse=True,
    )

    def mask(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {mask(key): mask(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [mask(item) for item in value]
        if isinstance(value, str):
            text = str(value)
            for secret in texts:
                text = text.replace(secret, MASK)
            return text
        return value

    return mask(data)


# --------------------------------------------------------------------------------------------
# Role support: the services summary


def service_lines(services: list[Mapping[str, Any]]) -> list[str]:
    """One line per service of the template role's collected results, with every URL it has.

    ``services`` are the module's ``services`` results (one entry per replica and port), each with
    the ``project`` and ``step`` the role adds.
    """
    grouped: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for entry in services:
        key = (str(entry.get("project") or ""), str(entry.get("step") or ""), str(entry.get("id") or ""))
        grouped.setdefault(key, []).append(entry)
    lines = []
    for (project, step_id, service_id), entries in grouped.items():
        addresses: list[str] = []
        for entry in entries:
            address = entry.get("url")
            if not address and entry.get("host_port"):
                address = f"{entry.get('protocol') or 'tcp'}://{entry.get('host') or '127.0.0.1'}:{entry['host_port']}"
            if address and address not in addresses:
                addresses.append(str(address))
        where = f"{project}/{step_id}" if project else step_id
        lines.append(f"{where}: {service_id} {' '.join(addresses) if addresses else '(internal, not published)'}")
    return lines


def unopened_services(
    steps: list[Mapping[str, Any]], outcomes: Mapping[str, str], services: list[Mapping[str, Any]], project: str
) -> list[str]:
    """Services of started steps that ran but reported no open service, as ``project/step: id``."""
    reported = {(entry.get("step"), entry.get("id")) for entry in services if entry.get("project") == project}
    missing = []
    for entry in steps:
        if entry.get("kind") != KIND_CONTAINER or entry.get("state") != STATE_STARTED:
            continue
        if outcomes.get(entry["step"]) != "succeeded":
            continue
        for service in entry.get("args", {}).get("services") or []:
            if (entry["step"], service.get("id")) not in reported:
                missing.append(f"{project}/{entry['step']}: {service.get('id')}")
    return missing
