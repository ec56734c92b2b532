# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of the container module: resolve, plan, repair, apply (rolling, in batches) and report.

Free of Ansible objects: it takes plain options and an Engine and returns the result dict, or raises
TaskFailed with the message and the partial result.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError, WaitTimeout
from ansible_collections.polytope.core.plugins.module_utils._docker.lock import LOCK_SUFFIX, EngineLock, LockTimeout
from ansible_collections.polytope.core.plugins.module_utils._ownership import LABEL_REPLICA, is_owned, owner_filters
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import compare
from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import (
    AWAIT_EXIT,
    CREATE,
    NEVER,
    NEXT_SUFFIX,
    PREVIOUS_SUFFIX,
    REMOVE,
    REPLACE,
    RESTART,
    START,
    STOP,
    UPDATE,
    Observed,
    ReplicaPlan,
    missing_replicas,
    observed_from_inspect,
    plan_replicas,
    plan_stop_existing,
    split_name,
    summarize,
)
from ansible_collections.polytope.core.plugins.module_utils._rollout.context import RunContext, RunOptions, parallel
from ansible_collections.polytope.core.plugins.module_utils._rollout.readiness import Readiness
from ansible_collections.polytope.core.plugins.module_utils._rollout.repair import Leftover, Repair
from ansible_collections.polytope.core.plugins.module_utils._rollout.report import (
    NONZERO_EXIT_MESSAGE,
    TaskFailed,
    plan_diff,
)
from ansible_collections.polytope.core.plugins.module_utils._rollout.retire import retire
from ansible_collections.polytope.core.plugins.module_utils._rollout.rollout import Rollout

__all__ = ["ContainerRun", "RunOptions", "TaskFailed"]

INSTANCE_TYPE_LABEL = "polytope.instance-type"


class ContainerRun(RunContext):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.image_id: Optional[str] = None
        # Old containers stop here while the rollout goes on.
        self.background = ThreadPoolExecutor(max_workers=2)
        self.readiness = Readiness(self)
        self.repairs = Repair(self, self.readiness)
        self.rollout = Rollout(self, self.readiness, self.background)

    # -- resolution --------------------------------------------------------------------------------------
    def check_instance_type(self) -> None:
        if not self.spec.instance_type:
            return
        labels = dict(label.split("=", 1) for label in (self.engine.info().get("Labels") or []) if "=" in label)
        engine_type = labels.get(INSTANCE_TYPE_LABEL)
        if engine_type is None:
            self.report.warnings.append(
                f"instance_type {self.spec.instance_type!r} requested, but the engine has no {INSTANCE_TYPE_LABEL} label; running anyway"
            )
        elif engine_type != self.spec.instance_type:
            raise TaskFailed(
                f"instance_type: the engine's {INSTANCE_TYPE_LABEL} is {engine_type!r}, not {self.spec.instance_type!r}; nothing was changed"
            )

    def resolve_image(self) -> None:
        reference = self.spec.image or ""
        cached = self.engine.image_id(reference)
        self.image_id = cached
        if (cached and not self.spec.update_image) or self.options.check_mode:
            return
        try:
            self.engine.pull(reference)
        except EngineError as exc:
            raise TaskFailed(f"image: {exc}; nothing was changed") from exc
        self.image_id = self.engine.image_id(reference)
        if self.image_id is None:
            raise TaskFailed(f"image: {reference} is not on the engine after pulling it; nothing was changed")
        if self.image_id != cached:
            self.report.note(f"pulled {reference}")

    # -- observation -------------------------------------------------------------------------------------
    def read(self, summaries: list[dict[str, Any]]) -> tuple[dict[int, dict[str, Any]], list[Leftover]]:
        """The replicas by number, and what interrupted runs left (replica, suffix, inspect)."""
        inspects = [i for i in parallel(lambda c: self.engine.inspect(c["Id"]), summaries) if i]
        primaries: dict[int, dict[str, Any]] = {}
        leftovers: list[Leftover] = []
        for inspect in inspects:
            labels = (inspect.get("Config") or {}).get("Labels") or {}
            if not is_owned(labels, self.spec):
                continue
            parsed = split_name(inspect["Name"], self.base_name)
            if parsed is None:
                leftovers.append((int(labels.get(LABEL_REPLICA) or 0), "stray", inspect))
                continue
            number, suffix = parsed
            if suffix:
                leftovers.append((number, suffix, inspect))
            else:
                primaries[number] = inspect
        return primaries, leftovers

    def _plan(self, primaries: dict[int, dict[str, Any]]) -> tuple[list[ReplicaPlan], list[Observed]]:
        observed = {number: self._observed(number, inspect) for number, inspect in primaries.items()}
        if self.stops_existing_only:
            return plan_stop_existing(self.base_name, observed), []
        return plan_replicas(
            self.options.state, self.spec.scaling, self.base_name, observed, self.options.recreate, self.options.create
        )

    def require_existing(self, primaries: dict[int, Any], leftovers: list[Leftover]) -> None:
        """``create=never``: fail before anything changes when a wanted replica does not exist.

        An old replica that an interrupted run set aside counts as existing: the repair puts it back.
        """
        existing = set(primaries) | {number for number, suffix, _inspect in leftovers if suffix == PREVIOUS_SUFFIX}
        missing = missing_replicas(self.options.state, self.spec.scaling, self.options.create, existing)
        if missing:
            names = ", ".join(self.spec.replica_name(number) for number in missing)
            raise TaskFailed(
                f"create=never, but {names} {'does' if len(missing) == 1 else 'do'} not exist; nothing was changed. "
                "Run the task once without create (or with create=when-missing) to make the replicas."
            )

    def _observed(self, number: int, inspect: dict[str, Any]) -> Observed:
        drift = compare(inspect, self.spec, self.placement, self.fingerprint, self.image_id or "")
        return observed_from_inspect(number, inspect, drift)

    def check_name_clashes(self, plans: list[ReplicaPlan]) -> None:
        names = [plan.name for plan in plans if CREATE in plan.actions]
        names += [plan.name + NEXT_SUFFIX for plan in plans if REPLACE in plan.actions]
        if not names:
            return
        # One pattern for every replica name of the spec, not one per replica: a thousand patterns in the
        # query string broke the engine's connection. The exact names are compared here.
        family = f"^/{re.escape(self.base_name)}(\\.[0-9]+)?({re.escape(NEXT_SUFFIX)})?$"
        found = self.engine.containers({"name": [family]})
        foreign = sorted(
            c["Names"][0].lstrip("/")
            for c in found
            if not is_owned(c.get("Labels"), self.spec) and c["Names"][0].lstrip("/") in names
        )
        if foreign:
            raise TaskFailed(
                f"container name {', '.join(foreign)} is taken by a container that polytope.core does not own "
                f"(it lacks the labels of project {self.spec.project or '(none)'!r}, id {self.spec.id!r}); it was not touched. "
                "Remove or rename it, or choose another id or project."
            )

    # -- the run -----------------------------------------------------------------------------------------
    @property
    def stops_existing_only(self) -> bool:
        """``stopped`` without an image: only the identity is known, so the replicas that exist are stopped."""
        return self.options.state == "stopped" and self.spec.image is None

    def run(self) -> dict[str, Any]:
        active = self.options.state != "absent" and self.spec.scaling > 0 and not self.stops_existing_only
        if active:
            self.check_instance_type()
            if self.options.create == NEVER:
                # Before the image is pulled, so that a refusal changes nothing at all.
                self.require_existing(*self.read(self.engine.containers(owner_filters(self.spec))))
            self.resolve_image()
        summaries = self.engine.containers(owner_filters(self.spec))
        primaries, leftovers = self.read(summaries)
        lock_image = self.image_id or next((c.get("ImageID") for c in summaries), None)
        lock = EngineLock(
            self.engine,
            self.base_name + LOCK_SUFFIX,
            f"{self.spec.project or ''}/{self.spec.id}",
            lock_image or "",
            hold_seconds=(self.options.wait_timeout or 86400) * (self.spec.scaling + 1) + 300,
        )
        if self.options.check_mode or not lock_image or not (leftovers or self._would_change(primaries)):
            # Reading and probing need no lock: only a run that changes something takes its turn. A lock that a
            # killed run left goes all the same (taking the lock removes it too).
            holder = lock.clear_stale(self.options.check_mode)
            if holder is not None:
                self.report.note(f"{lock.name}: removed, a stale lock left by {holder}")
            return self._converge(primaries, leftovers)
        try:
            lock.acquire(self.remaining())
        except LockTimeout as exc:
            raise TaskFailed(str(exc)) from exc
        try:
            if lock.waited:
                # Another run held the lock: what it left is what to converge from.
                primaries, leftovers = self.read(self.engine.containers(owner_filters(self.spec)))
            result = self._converge(primaries, leftovers)
        except BaseException:
            # The run's own failure is the one to report; a lock left behind is stale once this process ends.
            try:
                lock.release()
            except EngineError:
                pass
            raise
        lock.release()
        return result

    def _would_change(self, primaries: dict[int, dict[str, Any]]) -> bool:
        plans, removals = self._plan(primaries)
        return bool(removals) or any(plan.changes for plan in plans)

    def _converge(self, primaries: dict[int, dict[str, Any]], leftovers: list[Leftover]) -> dict[str, Any]:
        try:
            return self._apply(primaries, leftovers)
        finally:
            # Old containers still stopping in the background finish, so their data is stored.
            self.background.shutdown(wait=True)

    def _apply(self, primaries: dict[int, dict[str, Any]], leftovers: list[Leftover]) -> dict[str, Any]:
        self.repairs.repair(primaries, leftovers)
        self.current = primaries
        plans, removals = self._plan(primaries)
        # Another run may have removed replicas while this one waited for the lock.
        self.require_existing(primaries, [])
        self.check_name_clashes(plans)
        for removal in removals:
            self.report.plan_note(removal.name, f"{removal.name}: {REMOVE}")
        for plan in plans:
            if plan.changes:
                self.report.plan_note(plan.name, summarize(plan))
            if plan.kept:
                self.report.note(
                    f"{plan.name}: kept as it is (create={self.options.create}): {'; '.join(plan.kept)}", False
                )
        diff = plan_diff(self.spec, self.placement, plans, removals) if self.options.diff else None
        if self.options.check_mode:
            return self.result(diff)
        self.repairs.decide_set_aside(plans)
        makes_containers = any(CREATE in p.actions or REPLACE in p.actions for p in plans)
        if makes_containers and self.engine.ensure_network(self.placement.network):
            self.report.note(f"created network {self.placement.network}")
        parallel(self._remove, removals)
        parallel(self._update_in_place, [p for p in plans if UPDATE in p.actions])
        self.rollout.replace([p for p in plans if REPLACE in p.actions])
        parallel(self._create_replica, [p for p in plans if CREATE in p.actions])
        parallel(self._start_existing, [p for p in plans if START in p.actions and CREATE not in p.actions])
        parallel(self._stop_replica, [p for p in plans if STOP in p.actions])
        self.rollout.restart([p for p in plans if RESTART in p.actions])
        if self.runs_replicas and plans:
            self.readiness.wait_ready([plan.replica for plan in plans])
        if self.options.state == "completed":
            self._finish_jobs(plans)
        return self.result(diff)

    # -- engine changes ----------------------------------------------------------------------------------
    def _remove(self, observed: Observed) -> None:
        self.report.begin(observed.name)
        retire(self, observed.container_id, observed.name, observed.running)
        self.current.pop(observed.replica, None)

    def _create_replica(self, plan: ReplicaPlan) -> None:
        self.report.begin(plan.name)
        container_id = self.create(plan.replica, plan.name)
        if START in plan.actions:
            self.start(container_id, plan.name)
        self.refresh(plan.replica, container_id)

    def _start_existing(self, plan: ReplicaPlan) -> None:
        self.report.begin(plan.name)
        container_id = self.current[plan.replica]["Id"]
        self.start(container_id, plan.name)
        self.refresh(plan.replica, container_id)

    def _stop_replica(self, plan: ReplicaPlan) -> None:
        self.report.begin(plan.name)
        container_id = self.current[plan.replica]["Id"]
        retire(self, container_id, plan.name, True, remove=False)
        self.refresh(plan.replica, container_id)

    def _update_in_place(self, plan: ReplicaPlan) -> None:
        self.report.begin(plan.name)
        current = plan.existing()
        self.engine.update(current.container_id, plan.name, dict(current.drift.update))
        self.report.made_change()
        self.refresh(plan.replica, current.container_id)

    # -- jobs --------------------------------------------------------------------------------------------
    def _finish_jobs(self, plans: list[ReplicaPlan]) -> None:
        """``completed``: wait for every job's exit, store the datasets of those that exited 0, report the logs."""
        self._await_exit([p.replica for p in plans if AWAIT_EXIT in p.actions])
        for plan in plans:
            exit_code = int((self.current[plan.replica].get("State") or {}).get("ExitCode") or 0)
            self.exit_codes.setdefault(plan.replica, exit_code)
        tails = parallel(lambda plan: (plan.replica, self.logs_tail(self.current[plan.replica]["Id"])), plans)
        self.report.replica_logs = dict(tails)
        # A job that exited 0 stores its datasets (once per run of its container).
        for plan in plans:
            if self.exit_codes.get(plan.replica) == 0:
                retire(self, self.current[plan.replica]["Id"], plan.name, False, remove=False)
        failed = [number for number, code in sorted(self.exit_codes.items()) if code != 0]
        shown = failed[0] if failed else min(self.report.replica_logs, default=None)
        if shown is not None:
            self.report.logs = self.report.replica_logs[shown]
        if failed:
            raise self.fail(NONZERO_EXIT_MESSAGE)

    def _await_exit(self, numbers: list[int]) -> None:
        def wait(number: int) -> tuple[int, int]:
            inspect = self.current[number]
            try:
                code = self.engine.wait(inspect["Id"], self.spec.replica_name(number), self.remaining())
            except WaitTimeout as exc:
                raise self.fail(
                    f"timed out after {self.options.wait_timeout}s waiting for the containers to exit"
                ) from exc
            except EngineError as exc:
                raise self.fail(f"replica {number}: {exc}") from exc
            return number, code

        for number, code in parallel(wait, numbers):
            self.exit_codes[number] = code
            self.refresh(number, self.current[number]["Id"])
