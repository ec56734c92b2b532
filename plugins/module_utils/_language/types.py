# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polytope's type language: checking declared types and conforming values to them, and params."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
import copy
from ansible_collections.polytope.core.plugins.module_utils._language.values import (
    BROKEN,
    _Missing,
    _canonical,
    _show,
    _type_text,
    _value_kind,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    IMAGE_PATTERN,
    PROTOCOLS,
    VOLUME_CREATE,
    VOLUME_SCOPES,
    card_params,
    is_valid_id,
    library_container_params,
    parse_data_size,
)

_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_NUM_RE = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


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


def _conform_either(value: Any, type_: list[Any], path: str) -> Any:
    mismatches = []
    for alternative in type_[1:]:
        try:
            return conform(value, alternative, path)
        except _Mismatch as exc:
            mismatches.append(exc)
    if value is None:
        raise _Mismatch(path, f"a value of type {_type_text(type_)} is required, got null")
    # A mapping or list that has the right shape but a wrong detail: its own message helps most.
    for mismatch in mismatches:
        if mismatch.path != path:
            raise mismatch
    raise _Mismatch(path, f"expected {_type_text(type_)}, got {_value_kind(value)} {_show(value)}")


def _conform_list(value: Any, item_type: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Mismatch(path, f"expected a list of {_type_text(item_type)}, got {_value_kind(value)} {_show(value)}")
    result = []
    for index, item in enumerate(value):
        conformed = conform(item, item_type, _at(path, index))
        if conformed is None and item is None:
            continue  # [[maybe, T]]: null items are skipped, not errors
        result.append(conformed)
    return result


def _conform_map(value: Any, key_type: Any, value_type: Any, path: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise _Mismatch(
            path,
            f"expected a mapping of {_type_text(key_type)} to {_type_text(value_type)}, got {_value_kind(value)} {_show(value)}",
        )
    return {
        conform(key, key_type, _at(path, key)): conform(item, value_type, _at(path, key)) for key, item in value.items()
    }


def _conform_record(value: Any, record: dict[str, Any], path: str) -> dict[str, Any]:
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
_MOUNT_SOURCE_RECORDS: dict[str, dict[str, Any]] = {
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


# The polytope/container card's parameters, from the option table (interface.md gives the same table).
_CONTAINER_PARAMS = _params(card_params())

# What the newer polytope/container takes that reaches the container of a library module built on it.
_PASSED_PARAMS = tuple(param for param in _CONTAINER_PARAMS if param.id in library_container_params())

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
