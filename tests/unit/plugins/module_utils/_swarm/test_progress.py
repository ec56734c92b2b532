# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a service stands: running and stopping tasks, jobs, pending reasons, paused and rolled-back updates."""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._swarm.progress import (
    converged,
    current_tasks,
    job_failed,
    progress,
)


def service(replicas: int = 3, job: bool = False, update: Optional[str] = None, iteration: int = 0) -> dict[str, Any]:
    mode = {"ReplicatedJob": {"TotalCompletions": replicas}} if job else {"Replicated": {"Replicas": replicas}}
    value: dict[str, Any] = {"ID": "s", "Spec": {"Mode": mode}}
    if update:
        value["UpdateStatus"] = {"State": update, "Message": f"update {update}"}
    if job:
        value["JobStatus"] = {"JobIteration": {"Index": iteration}}
    return value


def task(
    state: str, desired: str = "running", node: str = "n1", slot: int = 1, err: str = "", iteration: int = 0
) -> dict[str, Any]:
    return {
        "ID": f"t{slot}{state}",
        "Slot": slot,
        "NodeID": node,
        "DesiredState": desired,
        "Status": {"State": state, "Err": err, "ContainerStatus": {"ExitCode": 0}},
        "JobIteration": {"Index": iteration},
    }


def test_running_tasks_on_up_nodes_count() -> None:
    tasks = [task("running", slot=1), task("running", slot=2, node="n2"), task("running", slot=3, node="gone")]
    seen = progress(service(), tasks, {"gone"})
    assert (seen.running, seen.desired) == (2, 3)
    assert not converged(seen, job=False)
    assert converged(progress(service(2), tasks[:2], set()), job=False)


def test_tasks_that_still_stop_keep_it_unsettled() -> None:
    tasks = [task("running", slot=1), task("running", desired="remove", slot=2)]
    seen = progress(service(1), tasks, set())
    assert (seen.running, seen.stopping) == (1, 1)
    assert not converged(seen, job=False)


def test_an_update_in_progress_is_not_converged() -> None:
    tasks = [task("running")]
    assert not converged(progress(service(1, update="updating"), tasks, set()), job=False)
    assert converged(progress(service(1, update="completed"), tasks, set()), job=False)
    rolled = progress(service(1, update="rollback_completed"), tasks, set())
    assert rolled.rolled_back and not rolled.paused
    assert progress(service(1, update="rollback_paused"), tasks, set()).paused


def test_pending_tasks_say_why() -> None:
    tasks = [
        task("pending", slot=1, err="no suitable node (scheduling constraints not satisfied on 3 nodes)"),
        task("pending", slot=2, err="no suitable node (scheduling constraints not satisfied on 3 nodes)"),
    ]
    seen = progress(service(2), tasks, set())
    assert seen.pending_reason() == "no suitable node (scheduling constraints not satisfied on 3 nodes)"
    assert progress(service(2), [], set()).pending_reason() == "no task is scheduled yet"


def test_jobs_complete_and_fail() -> None:
    done = [task("complete", desired="complete", slot=0) for attempt in range(3)]
    assert converged(progress(service(3, job=True), done, set()), job=True)
    assert not converged(progress(service(3, job=True), done[:2], set()), job=True)
    failed = progress(service(1, job=True), [task("failed", desired="complete")], set())
    assert job_failed(failed, 0, "none")
    # Swarm retries on-failure tasks: failed only once a slot used up its attempts
    assert not job_failed(failed, 2, "on-failure")
    twice = progress(service(1, job=True), [task("failed", desired="complete") for attempt in range(3)], set())
    assert job_failed(twice, 2, "on-failure")
    # without a maximum Swarm retries for ever: wait_timeout decides
    assert not job_failed(twice, 0, "on-failure")


def test_a_jobs_current_run_only() -> None:
    tasks = [task("complete", iteration=1), task("complete", iteration=2)]
    assert current_tasks(service(1, job=True, iteration=2), tasks) == tasks[1:]
    assert current_tasks(service(1), tasks) == tasks
