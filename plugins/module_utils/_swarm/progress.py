# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a service stands, from its inspect, its tasks and the nodes: what ``docker service create`` waits for.

Pure logic over the Engine API's JSON. Converged: a replicated service runs its replicas (tasks whose desired
and actual states are both running, on nodes that are not down); a job reached its completions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

PAUSED_STATES = ("paused", "rollback_paused")
ROLLBACK_STATES = ("rollback_started", "rollback_paused", "rollback_completed")
FAILED_TASK_STATES = ("failed", "rejected", "orphaned")
WAITING_TASK_STATES = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting")


@dataclass
class Progress:
    """One look at a service."""

    desired: int
    running: int = 0
    # Tasks that still run although Swarm wants them gone (scaled down or replaced).
    stopping: int = 0
    completed: int = 0
    update_state: Optional[str] = None
    update_message: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def paused(self) -> bool:
        return self.update_state in PAUSED_STATES

    @property
    def rolled_back(self) -> bool:
        return self.update_state == "rollback_completed"

    @property
    def rolling_back(self) -> bool:
        return self.update_state == "rollback_started"

    def pending_reason(self) -> str:
        """Why tasks wait, as Swarm says it (one line per distinct reason)."""
        return "; ".join(sorted(set(self.pending))) or "no task is scheduled yet"


def is_job(service: dict[str, Any]) -> bool:
    return "ReplicatedJob" in ((service.get("Spec") or {}).get("Mode") or {})


def desired_count(service: dict[str, Any]) -> int:
    mode = (service.get("Spec") or {}).get("Mode") or {}
    if "ReplicatedJob" in mode:
        return int(mode["ReplicatedJob"].get("TotalCompletions") or 0)
    return int((mode.get("Replicated") or {}).get("Replicas") or 0)


def job_iteration(service: dict[str, Any]) -> Optional[int]:
    iteration = ((service.get("JobStatus") or {}).get("JobIteration") or {}).get("Index")
    return None if iteration is None else int(iteration)


def current_tasks(service: dict[str, Any], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks of a job's current run; for a replicated service the engine selects them (``_up-to-date``)."""
    if not is_job(service):
        return tasks
    iteration = job_iteration(service)
    return [task for task in tasks if ((task.get("JobIteration") or {}).get("Index")) == iteration]


def task_state(task: dict[str, Any]) -> str:
    return str((task.get("Status") or {}).get("State") or "")


def exit_code(task: dict[str, Any]) -> Optional[int]:
    code = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ExitCode")
    return None if code is None else int(code)


def progress(service: dict[str, Any], tasks: list[dict[str, Any]], down_nodes: set[str]) -> Progress:
    """How far the service got: running or completed tasks, failures, and why tasks are pending."""
    update = service.get("UpdateStatus") or {}
    result = Progress(
        desired=desired_count(service),
        update_state=update.get("State"),
        update_message=str(update.get("Message") or ""),
    )
    job = is_job(service)
    for task in tasks:
        if task.get("NodeID") in down_nodes:
            continue
        state = task_state(task)
        desired_state = task.get("DesiredState")
        if job and state == "complete":
            result.completed += 1
        elif state == "running" and desired_state == "running":
            result.running += 1
        elif state == "running":
            result.stopping += 1
        elif state in FAILED_TASK_STATES:
            result.failures.append(task)
        elif state in WAITING_TASK_STATES and desired_state in ("running", "complete"):
            status = task.get("Status") or {}
            result.pending.append(str(status.get("Err") or status.get("Message") or state))
    return result


def converged(current: Progress, job: bool) -> bool:
    if job:
        return current.completed >= current.desired
    # Settled only when the tasks Swarm removes are gone: a scale-up while they stop loses slots (swarmkit).
    return (
        current.running == current.desired
        and not current.stopping
        and current.update_state not in ("updating", "rollback_started")
    )


def job_failed(current: Progress, max_attempts: int, restart_condition: str) -> bool:
    """Whether a job can no longer reach its completions: Swarm retries failed tasks per the restart policy."""
    if not current.failures:
        return False
    if restart_condition == "none":
        return True
    if restart_condition == "on-failure" and max_attempts > 0:
        per_slot: dict[Any, int] = {}
        for task in current.failures:
            per_slot[task.get("Slot")] = per_slot.get(task.get("Slot"), 0) + 1
        return max(per_slot.values()) > max_attempts
    return False
