# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The card's hyphenated option names, and their underscore spelling in the module (from the option table)."""

from __future__ import annotations

from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._spec.table import card_keys

CARD_KEYS = card_keys()


def rename_card_keys(value: Any, _inside_env: bool = False) -> Any:
    """Rename the card's hyphenated keys at any depth; names inside an env mapping are left alone."""
    if isinstance(value, dict):
        renamed = {}
        for key, item in value.items():
            new_key = key if _inside_env else CARD_KEYS.get(key, key)
            renamed[new_key] = rename_card_keys(item, _inside_env=(key == "env" and isinstance(item, dict)))
        return renamed
    if isinstance(value, list):
        return [rename_card_keys(item) for item in value]
    return value


def card_key_conflicts(value: Any, _path: str = "", _inside_env: bool = False) -> list[str]:
    """A problem for each mapping that gives one option in both spellings, at any depth.

    Renaming would keep whichever comes last, so `no_stdin: false` with `no-stdin: true` ran with either:
    both is an error that names them, never a silent choice.
    """
    problems: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            option = f"{_path}.{key}" if _path else str(key)
            spelled = CARD_KEYS.get(key) if not _inside_env else None
            if spelled is not None and spelled in value:
                where = f"{_path}.{spelled}" if _path else spelled
                problems.append(f"{where}: given in both spellings, {spelled} and {key}; give one")
            inner_env = key == "env" and isinstance(item, dict)
            problems.extend(card_key_conflicts(item, option, _inside_env=inner_env))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(card_key_conflicts(item, f"{_path}[{index}]"))
    return problems
