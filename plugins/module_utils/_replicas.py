# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replica planning: what each replica needs to reach the desired state.

Pure logic over what the engine reported, so the rules are unit-tested without an engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._mapping import Drift
from ansible_collections.polytope.core.plugins.module_utils._spec import replica_name

# Suffixes of the temporary names a rolling replacement uses; a dot and a word never clash with replica names.
NEXT_SUFFIX = ".next"
PREVIOUS_SUFFIX = ".prev"

CREATE = "create"
REPLACE = "replace"
UPDATE = "update"
START = "start"
STOP = "stop"
RESTART = "restart"
AWAIT_EXIT = "await exit"
REMOVE = "remove"


@dataclass(frozen=True)
class Observed:
    """One replica as the engine reports it."""

    replica: int
    name: str
    container_id: str
    status: str  # created, running, restarting, paused, exited, dead
    exit_code: int
    drift: Drift

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")


@dataclass
class ReplicaPlan:
    replica: int
    name: str
    actions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    current: Optional[Observed] = None

    @property
    def changes(self) -> bool:
        return any(action != AWAIT_EXIT for action in self.actions)

    def existing(self) -> Observed:
        if self.current is None:
            raise ValueError(f"{self.name}: planned to {', '.join(self.actions)} but no container exists")
        return self.current


def split_name(name: str, base: str) -> Optional[tuple[int, str]]:
    """(replica number, temporary suffix) of a container name of this spec, or None."""
    name = name.lstrip("/")
    pattern = (
        re.escape(base)
        + r"(?:\.(?P<number>[2-9]|[1-9][0-9]+))?(?P<suffix>"
        + re.escape(NEXT_SUFFIX)
        + "|"
        + re.escape(PREVIOUS_SUFFIX)
        + ")?$"
    )
    match = re.match(pattern, name)
    if not match:
        return None
    return int(match.group("number") or 1), match.group("suffix") or ""


def plan_replica(state: str, replica: int, name: str, current: Optional[Observed], recreate: bool) -> ReplicaPlan:
    plan = ReplicaPlan(replica, name, current=current)
    if current is None:
        plan.actions.append(CREATE)
        plan.reasons.append("missing")
        if state in ("started", "restarted"):
            plan.actions.append(START)
        elif state == "completed":
            plan.actions.extend([START, AWAIT_EXIT])
        return plan
    replace_reasons = list(current.drift.replace)
    if recreate:
        replace_reasons.append("recreate requested")
    if state == "completed" and current.status in ("exited", "dead") and current.exit_code != 0 and not replace_reasons:
        replace_reasons.append(f"the last run exited with code {current.exit_code}")
    if replace_reasons:
        plan.actions.append(REPLACE)
        plan.reasons.extend(replace_reasons)
        if state == "completed":
            plan.actions.append(AWAIT_EXIT)
        return plan
    if current.drift.update:
        plan.actions.append(UPDATE)
        plan.reasons.append("resources or restart policy changed: " + ", ".join(sorted(current.drift.update)))
    if state == "started":
        if not current.running:
            plan.actions.append(START)
            plan.reasons.append(f"was {current.status}")
    elif state == "restarted":
        plan.actions.append(RESTART if current.running else START)
    elif state == "completed":
        if current.status == "created":
            plan.actions.extend([START, AWAIT_EXIT])
        elif current.running:
            plan.actions.append(AWAIT_EXIT)
    elif state == "stopped" and current.running:
        plan.actions.append(STOP)
    return plan


def plan_stop_existing(base: str, observed: dict[int, Observed]) -> list[ReplicaPlan]:
    """``stopped`` without a spec: stop each replica that runs; create, replace and remove nothing."""
    plans = []
    for number in sorted(observed):
        current = observed[number]
        plan = ReplicaPlan(number, replica_name(base, number), current=current)
        if current.running:
            plan.actions.append(STOP)
        plans.append(plan)
    return plans


def plan_replicas(
    state: str,
    scaling: int,
    base: str,
    observed: dict[int, Observed],
    recreate: bool = False,
) -> tuple[list[ReplicaPlan], list[Observed]]:
    """Plans for replicas 1..n in order, and the replicas to remove, highest first."""
    wanted = 0 if state == "absent" else scaling
    plans = [
        plan_replica(state, number, replica_name(base, number), observed.get(number), recreate)
        for number in range(1, wanted + 1)
    ]
    removals = sorted((o for number, o in observed.items() if number > wanted), key=lambda o: -o.replica)
    return plans, removals


def change_kind(plan: ReplicaPlan) -> str:
    """How a diff names what happens to a replica."""
    for action, kind in ((CREATE, "created"), (REPLACE, "replaced"), (UPDATE, "updated in place")):
        if action in plan.actions:
            return kind
    return ", ".join(plan.actions)


def summarize(plan: ReplicaPlan) -> str:
    text = f"{plan.name}: {', '.join(plan.actions)}"
    return f"{text} ({'; '.join(plan.reasons)})" if plan.reasons else text


def observed_from_inspect(replica: int, inspect: dict[str, Any], drift: Drift) -> Observed:
    state = inspect.get("State") or {}
    return Observed(
        replica=replica,
        name=inspect.get("Name", "").lstrip("/"),
        container_id=inspect["Id"],
        status=state.get("Status", "unknown"),
        exit_code=int(state.get("ExitCode") or 0),
        drift=drift,
    )
