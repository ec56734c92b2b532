# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replica planning: what each replica needs to reach the desired state.

Pure logic over what the engine reported, so the rules are unit-tested without an engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import Drift
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

# Values of the `create` option. Absent (None) converges existing replicas to the spec.
WHEN_MISSING = "when-missing"
ALWAYS = "always"
NEVER = "never"
# Both keep an existing replica as it is: its spec is not enforced, only the state is.
KEEPS_EXISTING = (WHEN_MISSING, NEVER)
# `create` governs the states that run replicas; stopped and absent (teardowns) must never fail or churn on it.
CREATE_STATES = ("started", "restarted", "completed")


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
    # Differences from the spec left alone because `create` keeps the existing replica.
    kept: list[str] = field(default_factory=list)

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


def plan_replica(
    state: str,
    replica: int,
    name: str,
    current: Optional[Observed],
    recreate: bool,
    create: Optional[str] = None,
) -> ReplicaPlan:
    """What one replica needs; ``create`` must already be None for states it does not govern."""
    plan = ReplicaPlan(replica, name, current=current)
    if current is None:
        plan.actions.append(CREATE)
        plan.reasons.append("missing")
        if state in ("started", "restarted"):
            plan.actions.append(START)
        elif state == "completed":
            plan.actions.extend([START, AWAIT_EXIT])
        return plan
    keeps = create in KEEPS_EXISTING and not recreate
    replace_reasons = [] if keeps else list(current.drift.replace)
    if keeps:
        plan.kept = list(current.drift.replace)
        if current.drift.update:
            plan.kept.append("resources or restart policy differ: " + ", ".join(sorted(current.drift.update)))
    if recreate:
        replace_reasons.append("recreate requested")
    elif create == ALWAYS:
        replace_reasons.append("create=always makes a fresh container every run")
    failed_job = state == "completed" and current.status in ("exited", "dead") and current.exit_code != 0
    if failed_job and keeps:
        # The kept container runs its job again instead of being replaced.
        plan.actions.extend([START, AWAIT_EXIT])
        plan.reasons.append(f"the last run exited with code {current.exit_code}; create={create} keeps the container")
        return plan
    if failed_job and not replace_reasons:
        replace_reasons.append(f"the last run exited with code {current.exit_code}")
    if replace_reasons:
        plan.actions.append(REPLACE)
        plan.reasons.extend(replace_reasons)
        if state == "completed":
            plan.actions.append(AWAIT_EXIT)
        return plan
    if current.drift.update and not keeps:
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
    create: Optional[str] = None,
) -> tuple[list[ReplicaPlan], list[Observed]]:
    """Plans for replicas 1..n in order, and the replicas to remove, highest first."""
    wanted = 0 if state == "absent" else scaling
    governing = create if state in CREATE_STATES else None
    plans = [
        plan_replica(state, number, replica_name(base, number), observed.get(number), recreate, governing)
        for number in range(1, wanted + 1)
    ]
    removals = sorted((o for number, o in observed.items() if number > wanted), key=lambda o: -o.replica)
    return plans, removals


def missing_replicas(state: str, scaling: int, create: Optional[str], existing: set[int]) -> list[int]:
    """The replicas that ``create=never`` refuses to make: wanted by the state, but not on the engine."""
    if create != NEVER or state not in CREATE_STATES:
        return []
    return [number for number in range(1, scaling + 1) if number not in existing]


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
