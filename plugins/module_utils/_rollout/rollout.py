# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling replacement in batches: order, readiness, the monitor window and the failure action.

Each replica of a batch is swapped: its new container is made as `<name>.next`, the old one is renamed
`<name>.prev` and the new one takes the name. With start-first the old one keeps serving until the new one
is ready and has stayed ready for the monitor window; with stop-first it stops (its datasets stored) before
the new one starts. The next batch starts once this one is ready; its monitor window runs meanwhile, as in
Swarm. Old containers are kept (stopped once their replacement is proven) until the whole rollout has
succeeded, so that ``rollback`` can put every one of them back; ``pause`` keeps what was replaced.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError
from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import (
    NEXT_SUFFIX,
    PREVIOUS_SUFFIX,
    Observed,
    ReplicaPlan,
)
from ansible_collections.polytope.core.plugins.module_utils._rollout.context import outcomes_of, parallel
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import (
    ROLLBACK,
    plan_batches,
    resolve_parallelism,
    starts_first,
    tolerated_failures,
)
from ansible_collections.polytope.core.plugins.module_utils._rollout.readiness import Monitor, NotReady, Readiness
from ansible_collections.polytope.core.plugins.module_utils._rollout.report import TaskFailed
from ansible_collections.polytope.core.plugins.module_utils._rollout.retire import retire

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.polytope.core.plugins.module_utils._rollout.context import RunContext


@dataclass
class Swap:
    """One replica this run replaced: the new container holds the name, the old one waits as `<name>.prev`."""

    number: int
    name: str
    old: Observed
    new_id: str
    # The old container no longer runs: stopped before the new one started, or once the new one was proven.
    old_stopped: bool = False
    stopping: Optional[Future[None]] = None

    @property
    def previous_name(self) -> str:
        return self.name + PREVIOUS_SUFFIX


class Rollout:
    def __init__(self, run: RunContext, readiness: Readiness, background: ThreadPoolExecutor):
        self.run = run
        self.readiness = readiness
        self.background = background
        self.policy = run.options.rollout
        # Replicas replaced and not put back, by number.
        self.swaps: dict[int, Swap] = {}
        # Replicas whose replacement failed and was put back, with the cause.
        self.failures: dict[int, str] = {}
        # Replicas whose new container became ready.
        self.ready: set[int] = set()
        self._lock = threading.Lock()

    # -- order -------------------------------------------------------------------------------------------
    def _overlaps(self, number: int, old: Observed) -> bool:
        """Whether the new container starts while the old one still runs (never for jobs and stopped replicas)."""
        spec = self.run.spec
        fixed_ports = number == 1 and any(not port.internal for service in spec.services for port in service.ports)
        volumes = any(mount.type == "volume" for mount in spec.mounts)
        return old.running and self.run.runs_replicas and starts_first(self.policy, fixed_ports, volumes)

    # -- one replica ---------------------------------------------------------------------------------------
    def _swap(self, plan: ReplicaPlan) -> Swap:
        """Make the new container and give it the name; a failure before it has the name undoes itself."""
        run = self.run
        run.report.begin(plan.name)
        old = plan.existing()
        overlap = self._overlaps(plan.replica, old)
        next_name = plan.name + NEXT_SUFFIX
        new_id = run.create(plan.replica, next_name)
        swap = Swap(plan.replica, plan.name, old, new_id)
        renamed_old = False
        try:
            if not overlap:
                # Its datasets are stored before the new container starts; a failure to store keeps it, and
                # since retire() stops it before storing, the undo must know to start it again.
                swap.old_stopped = True
                retire(run, old.container_id, old.name, old.running, remove=False)
            run.engine.rename(old.container_id, swap.previous_name)
            renamed_old = True
            run.engine.rename(new_id, plan.name)
        except (EngineError, TaskFailed):
            self._undo_early(swap, renamed_old)
            raise
        with self._lock:
            self.swaps[plan.replica] = swap
        if run.options.state != "stopped":
            run.start(new_id, plan.name)
        run.refresh(plan.replica, new_id)
        return swap

    def _undo_early(self, swap: Swap, renamed_old: bool) -> None:
        run = self.run
        retire(run, swap.new_id, swap.name + NEXT_SUFFIX, False, warn_only=True)
        if renamed_old:
            run.engine.rename(swap.old.container_id, swap.name)
        if swap.old_stopped and swap.old.running:
            run.engine.start(swap.old.container_id, swap.name)
        run.refresh(swap.number, swap.old.container_id)

    def _put_back(self, swap: Swap) -> None:
        """The new container goes (its datasets stored), the old one takes its name back and runs as it did."""
        run = self.run
        with self._lock:
            self.swaps.pop(swap.number, None)
        run.report.ready_at.pop(swap.number, None)
        new = run.engine.inspect(swap.new_id)
        if new is not None:
            if not run.report.logs:
                run.report.logs = run.logs_tail(swap.new_id)
            running = bool((new.get("State") or {}).get("Running"))
            retire(run, swap.new_id, swap.name, running, warn_only=True)
        if swap.stopping is not None:
            try:
                swap.stopping.result()
            except (EngineError, TaskFailed) as exc:
                run.report.warnings.append(f"stopping the previous container of {swap.name} failed: {exc}")
        run.engine.rename(swap.old.container_id, swap.name)
        if swap.old.running and (swap.old_stopped or swap.stopping is not None):
            run.engine.start(swap.old.container_id, swap.name)
        run.refresh(swap.number, swap.old.container_id)

    def _proven(self, number: int) -> None:
        """The new replica stayed ready for its window: the old one stops (datasets stored) off the critical path."""
        swap = self.swaps.get(number)
        if swap is None or swap.old_stopped or swap.stopping is not None:
            return
        swap.stopping = self.background.submit(retire, self.run, swap.old.container_id, swap.previous_name, True, False)

    # -- the rollout ---------------------------------------------------------------------------------------
    def replace(self, plans: list[ReplicaPlan]) -> None:
        """Replace the replicas of ``plans`` in batches; a failure beyond max_failure_ratio runs the failure action."""
        if not plans:
            return
        run = self.run
        by_number = {plan.replica: plan for plan in plans}
        size = resolve_parallelism(self.policy, run.spec.scaling)
        batches = plan_batches([plan.replica for plan in plans], size)
        tolerated = tolerated_failures(self.policy, len(plans))
        monitor = Monitor(run, self.policy.monitor, self._proven) if run.runs_replicas else None
        for index, batch in enumerate(batches):
            if index and self.policy.delay > 0:
                self._guarded(monitor, tolerated, batches[index:], lambda: self._pause_between(monitor))
            self._batch([by_number[number] for number in batch], monitor, tolerated, batches[index + 1 :])
        if monitor is not None:
            self._guarded(monitor, tolerated, [], monitor.finish)
        self._retire_previous()
        if self.failures:
            names = ", ".join(f"{run.spec.replica_name(n)} ({cause})" for n, cause in sorted(self.failures.items()))
            raise run.fail(
                f"{len(self.failures)} of {len(plans)} replacements failed, within rollout.max_failure_ratio "
                f"{self.policy.max_failure_ratio:g}; those replicas kept their previous container: {names}"
            )

    def _pause_between(self, monitor: Optional[Monitor]) -> None:
        if monitor is not None:
            monitor.sleep(self.policy.delay)
        else:
            time.sleep(self.policy.delay)

    def _guarded(
        self, monitor: Optional[Monitor], tolerated: int, untouched: list[tuple[int, ...]], step: Callable[[], None]
    ) -> None:
        """Run ``step`` (a wait that watches the monitor) until it returns, handling each failure it raises."""
        while True:
            try:
                step()
                return
            except NotReady as exc:
                self._failed(exc.numbers, str(exc), monitor, tolerated, untouched)

    def _batch(
        self, plans: list[ReplicaPlan], monitor: Optional[Monitor], tolerated: int, untouched: list[tuple[int, ...]]
    ) -> None:
        run = self.run
        outcomes = outcomes_of(self._swap, plans)
        started = []
        for plan, _swap, error in outcomes:
            if error is None:
                started.append(plan.replica)
            elif not isinstance(error, (EngineError, TaskFailed)):
                raise error
        for plan, _swap, error in outcomes:
            if error is not None:
                self._failed([plan.replica], f"{plan.name}: {error}", monitor, tolerated, untouched, started)
        if not run.runs_replicas:
            # Jobs and stopped replicas are not served: the old containers go at once.
            parallel(self._retire_swap, [self.swaps[n] for n in started if n in self.swaps])
            return
        pending = list(started)
        while pending:
            try:
                self.readiness.wait_ready(pending, monitor)
                break
            except NotReady as exc:
                self.ready |= exc.ready
                self._failed(exc.numbers, str(exc), monitor, tolerated, untouched, pending)
                pending = [number for number in pending if number not in exc.numbers]
        self.ready |= set(pending)
        if monitor is not None:
            monitor.add([number for number in pending if number in self.swaps])

    def _failed(
        self,
        numbers: list[int],
        cause: str,
        monitor: Optional[Monitor],
        tolerated: int,
        untouched: list[tuple[int, ...]],
        in_batch: Optional[list[int]] = None,
    ) -> None:
        """Put back the replicas that failed; beyond the tolerated count, run the failure action and fail."""
        run = self.run
        if monitor is not None:
            monitor.forget(numbers)
        swaps = [self.swaps[number] for number in numbers if number in self.swaps]
        parallel(self._put_back, swaps)
        for number in numbers:
            self.failures[number] = cause
        if len(self.failures) <= tolerated:
            return
        first = min(numbers)
        message = f"replica {first} ({run.spec.replica_name(first)}) could not be replaced: {cause}."
        if self.policy.failure_action == ROLLBACK:
            restored = self._rollback()
            back = sorted(set(restored) | set(numbers))
            raise run.fail(
                f"{message} rollout.failure_action is rollback: the previous containers of "
                + ", ".join(run.spec.replica_name(n) for n in back)
                + " were put back."
            )
        # pause: replicas of this batch that are not ready yet go back; the ready and proven ones stay.
        waiting = [n for n in in_batch or [] if n in self.swaps and n not in self.ready]
        parallel(self._put_back, [self.swaps[n] for n in waiting])
        kept = sorted(self.swaps)
        if monitor is not None:
            monitor.forget(kept)
        parallel(self._retire_swap, [self.swaps[n] for n in kept])
        left = sorted(set(numbers) | set(waiting) | {n for batch in untouched for n in batch})
        names = ", ".join(run.spec.replica_name(n) for n in kept) or "none"
        raise run.fail(
            f"{message} rollout.failure_action is pause: the rollout stopped. Replaced: {names}. "
            f"Left as they were: {', '.join(run.spec.replica_name(n) for n in left)}."
        )

    def _rollback(self) -> list[int]:
        """Put every replaced replica back, in batches (the last replaced first); the numbers put back."""
        run = self.run
        numbers = sorted(self.swaps, reverse=True)
        size = resolve_parallelism(self.policy, run.spec.scaling)
        for batch in plan_batches(numbers, size):
            parallel(self._put_back, [self.swaps[n] for n in batch if n in self.swaps])
            running = [n for n in batch if (run.current[n].get("State") or {}).get("Running")]
            if run.runs_replicas and running:
                try:
                    self.readiness.wait_ready(running)
                except TaskFailed as exc:
                    run.report.warnings.append(f"a replica put back by the rollback is not ready: {exc}")
        return numbers

    def _retire_swap(self, swap: Swap) -> None:
        if swap.stopping is not None:
            swap.stopping.result()
        still_runs = swap.old.running and not swap.old_stopped and swap.stopping is None
        retire(self.run, swap.old.container_id, swap.previous_name, still_runs)
        with self._lock:
            self.swaps.pop(swap.number, None)

    def _retire_previous(self) -> None:
        """After the rollout: every old container goes; one whose data could not be stored stays and fails the task."""
        parallel(self._retire_swap, [self.swaps[n] for n in sorted(self.swaps)])

    # -- restarts --------------------------------------------------------------------------------------------
    def restart(self, plans: list[ReplicaPlan]) -> None:
        """``state: restarted``: restart the replicas in the same batches, each batch ready before the next."""
        if not plans:
            return
        run = self.run
        size = resolve_parallelism(self.policy, run.spec.scaling)
        monitor = Monitor(run, self.policy.monitor, lambda number: None)
        by_number = {plan.replica: plan for plan in plans}
        for index, batch in enumerate(plan_batches(list(by_number), size)):
            if index and self.policy.delay > 0:
                monitor.sleep(self.policy.delay)
            parallel(self._restart_one, [by_number[number] for number in batch])
            self.readiness.wait_ready(list(batch), monitor)
            monitor.add(list(batch))
        monitor.finish()

    def _restart_one(self, plan: ReplicaPlan) -> None:
        run = self.run
        run.report.begin(plan.name)
        container_id = run.current[plan.replica]["Id"]
        run.engine.restart(container_id, plan.name, run.options.stop_timeout)
        run.report.made_change()
        run.refresh(plan.replica, container_id)
