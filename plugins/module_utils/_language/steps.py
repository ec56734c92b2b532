# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What expansion produces: resolved calls and raw steps, with the names of primitives, kinds and states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

CONTAINER = "polytope/container"
BUILD_IMAGE = "polytope/build-image"

KIND_CONTAINER = "container"
KIND_BUILD_IMAGE = "build_image"

STATE_STARTED = "started"
STATE_COMPLETED = "completed"

AFTER_CONDITIONS = ("success", "always", "failed")


@dataclass
class _Resolved:
    kind: str
    chain: list[str]
    args: dict[str, Any]
    # A library module that is a job by nature (it does its work and exits) runs as completed.
    runs_to_completion: bool = False
    # ``await`` given: true runs the step as a job, false as a service; None keeps the usual rule.
    awaits: Optional[bool] = None


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
