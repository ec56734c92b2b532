# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parsers of the spec's single-valued options: flags, workdir, user, scaling and instance_type.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._spec.model import MAX_SCALING, Problems, check_id
from ansible_collections.polytope.core.plugins.module_utils._spec.values import is_absolute_path


def flag(option: str, default: bool) -> Callable[[Problems, Any], bool]:
    """A boolean option's parser: None is the default; anything but a boolean is a problem."""

    def parse(problems: Problems, value: Any) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            problems.add(option, f"expected a boolean, got {value!r}")
            return default
        return value

    return parse


def parse_workdir(problems: Problems, value: Any) -> Optional[str]:
    if value is None:
        return None
    if not is_absolute_path(value):
        problems.add("workdir", f"expected an absolute path, got {value!r}")
        return None
    return str(value)


def parse_user(problems: Problems, value: Any) -> Optional[str]:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, str))
        or (isinstance(value, int) and value < 0)
        or value == ""
    ):
        problems.add("user", f"expected a user name or a UID, got {value!r}")
        return None
    return str(value)


def parse_scaling(problems: Problems, value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SCALING:
        problems.add("scaling", f"expected a whole number from 0 to {MAX_SCALING}, got {value!r}")
        return 1
    return value


def parse_instance_type(problems: Problems, value: Any) -> Optional[str]:
    return None if value is None else check_id(problems, "instance_type", value)
