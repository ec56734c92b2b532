# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the standard library tests share: a one-step template around a library call, and views of its plan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.polytope.core.plugins.module_utils._language import TemplateError
from ansible_collections.polytope.core.plugins.module_utils._language import expand as expand_template

HOST = {"type": "host", "path": "./code"}
VOLUME = {"type": "volume", "scope": "project", "id": "data"}
# The step's own id, which the plan uses as container id when the module sets none: left out below.
STEP = "the-step"


def plan(ref: str, args: dict, **kwargs: Any) -> dict:
    """The plan of a template with one step: ``ref`` called with ``args``."""
    document = {"templates": [{"id": "tpl", "run": [{"module": ref, "id": STEP, "args": args}]}]}
    return expand_template(json.dumps(document), "polytope.yml", "tpl", **kwargs)


def expand_args(ref: str, args: dict) -> dict:
    """The container arguments ``ref`` expands to (without the plan's project and the step's id)."""
    result = plan(ref, args)
    assert "warnings" not in result, result["warnings"]
    (step,) = result["steps"]
    out = {key: value for key, value in step["args"].items() if key != "project"}
    if out.get("id") == STEP:
        del out["id"]
    return out


def expand(ref: str, **args: Any) -> dict:
    return expand_args(ref, args)


def problems(ref: str, args: dict) -> list:
    with pytest.raises(TemplateError) as caught:
        plan(ref, args)
    return caught.value.problems


def env_map(args: dict) -> dict:
    return {entry["name"]: entry.get("value") for entry in args.get("env") or ()}


def mount_paths(args: dict) -> list:
    return [mount["path"] for mount in args.get("mounts") or ()]


def sh(args: dict, key: str = "cmd") -> str:
    cmd = args[key]
    assert cmd[:2] == ["sh", "-c"] and len(cmd) == 3
    return cmd[2]
