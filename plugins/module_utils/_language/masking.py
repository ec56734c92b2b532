# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets in plans, errors and the role's failure reports: one masking rule, used everywhere."""

from __future__ import annotations

import copy
from typing import Any, Mapping
from ansible_collections.polytope.core.plugins.module_utils._language.values import _user_text

MASK = "********"


def _secret_texts(secrets: Any) -> list[str]:
    """The texts to mask, longest first, so that a secret containing another is masked whole.

    ``secrets`` is a mapping whose values are the secrets (``template_secrets``), a collection of them,
    or one secret.
    """
    if isinstance(secrets, Mapping):
        candidates = list(secrets.values())
    elif isinstance(secrets, (list, tuple, set)):
        candidates = list(secrets)
    elif secrets is None:
        candidates = []
    else:
        candidates = [secrets]
    texts = {str(_user_text(value)) for value in candidates if value is not None}
    return sorted((text for text in texts if text), key=len, reverse=True)


def mask_text(text: str, secrets: Any) -> str:
    """``text`` with every secret replaced by ``********``: the one rule behind every masking here."""
    for secret in _secret_texts(secrets):
        text = text.replace(secret, MASK)
    return text


def _secret_paths(args: dict[str, Any], secret_values: set[str]) -> list[dict[str, Any]]:
    """Where the args carry a secret, with the masked form of each such value.

    An ``env`` entry that carries one is also marked ``secret: true`` so that the container
    module keeps it out of its results.
    """
    if not secret_values:
        return []
    ordered = _secret_texts(secret_values)
    found: list[dict[str, Any]] = []

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
                found.append({"path": path, "masked": mask_text(text, ordered) if isinstance(value, str) else MASK})

    walk(args, [])
    env = args.get("env")
    for entry in found:
        path = entry["path"]
        if len(path) == 3 and path[0] == "env" and isinstance(env, list) and path[2] == "value":
            env[path[1]]["secret"] = True
    return found


def masked(plan: Mapping[str, Any]) -> dict[str, Any]:
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

    Keys are masked too, other scalars (an exit code) are kept.  The role shows a failed step that
    carries a secret through this, since ``no_log`` would hide what failed.
    """
    texts = _secret_texts(secrets)

    def mask(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {mask(key): mask(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [mask(item) for item in value]
        if isinstance(value, str):
            return mask_text(value, texts)
        return value

    return mask(data)
