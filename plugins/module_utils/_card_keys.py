# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The card's hyphenated option names, and their underscore spelling in the module."""

from __future__ import annotations

from typing import Any

CARD_KEYS = {
    "no-stdin": "no_stdin",
    "update-image": "update_image",
    "instance-type": "instance_type",
    "max-restarts": "max_restarts",
    "expose-as": "expose_as",
}


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
