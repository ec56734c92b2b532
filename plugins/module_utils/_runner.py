# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of the container module: resolve, plan, apply (rolling, with rollback) and report.

Free of Ansible objects: it takes plain options and an Engine and returns the result dict, or raises
TaskFailed with the message and the partial result.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, TypeVar

from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError
from ansible_collections.polytope.core.plugins.module_utils._lock import LOCK_SUFFIX, EngineLock, LockTimeout
from ansible_collections.polytope.core.plugins.module_utils._mapping import (
    LABEL_REPLICA,
    Placement,
    canonical_spec,
    compare,
    create_body,
    default_network,
    fingerprint,
    is_owned,
    owner_filters,
    resource_fields,
    restart_policy,
)
from ansible_collections.polytope.core.plugins.module_utils._replicas import (
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
    change_kind,
    missing_replicas,
    observed_from_inspect,
    plan_replicas,
    plan_stop_existing,
    split_name,
    summarize,
)
from ansible_collections.polytope.core.plugins.module_utils._provision import ProvisionError, Provisioner
from ansible_collections.polytope.core.plugins.module_utils._services import Endpoint, endpoints, is_open
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec

SECRET_MASK = "********"
NONZERO_EXIT_MESSAGE = "The container exited with a nonzero exit code."
INSTANCE_TYPE_LABEL = "polytope.instance-type"
# A replica without services has started when it still runs this long after its start.
SETTLE_SECONDS = 1.0
POLL_INTERVAL = 0.2
PARALLELISM = 8

T = TypeVar("T")
R = TypeVar("R")


class TaskFailed(Exception):
    def __init__(self, message: str, result: Optional[dict[str, Any]] = None):
        super().__init__(message)
        self.result = result or {}


@dataclass(frozen=True)
class RunOptions:
    state: str = "started"
    wait_timeout: int = 600
    stop_timeout: int = 10
    recreate: bool = False
    create: Optional[str] = None
    network: Optional[str] = None
    publish_address: str = "0.0.0.0"
    check_mode: bool = False
    diff: bool = False
    local_engine: bool = True
    engine_host: Optional[str] = None


def parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(PARALLELISM, len(items))) as pool:
        return list(pool.map(function, items))


class ContainerRun:
    def __init__(
        self,
        engine: Engine,
        spec: ContainerSpec,
        options: RunOptions,
        mounts: tuple[dict[str, Any], ...],
        provisioner: Provisioner,
    ):
        self.engine = engine
        self.spec = spec
        self.options = options
        # Volumes, strings, datasets and copied files (issue 4): made through the engine by the provisioner.
        self.provisioner = provisioner
        self.placement = Placement(
            network=options.network or default_network(spec.project),
            publish_address=options.publish_address,
            mounts=mounts,
            contents=provisioner.descriptors,
        )
        self.fingerprint = fingerprint(spec, self.placement)
        self.base_name = spec.replica_name(1)
        self.image_id: Optional[str] = None
        self.actions: list[str] = []
        # The planned action of each replica (name to its index in actions) until the run begins its work: a
        # failed run reports only what it did or tried, not the replicas it never reached.
        self.untouched: dict[str, int] = {}
        self.changed = False
        self.warnings: list[str] = []
        self.background = ThreadPoolExecutor(max_workers=2)
        # Stops of old containers during a new one's settle second; apart from ``background``, whose retirements
        # wait for them.
        self.settle_stops = ThreadPoolExecutor(max_workers=2)
        self.retiring: list[Future[None]] = []
        self.current: dict[int, dict[str, Any]] = {}
        self.started_here: dict[int, float] = {}
        # Old replicas an interrupted run set aside while their replacements run (see _repair).
        self.set_aside: dict[int, dict[str, Any]] = {}
        self.exit_codes: dict[int, int] = {}
        self.logs: list[str] = []
        self.deadline = time.monotonic() + options.wait_timeout if options.wait_timeout else None

    # -- helpers -------------------------------------------------------------------------------------------
    def _note(self, action: str, changed: bool = True) -> None:
        self.actions.append(action)
        self.changed = self.changed or changed

    def _plan_note(self, name: str, action: str) -> None:
        """What the run will do to a replica; it counts as a change only once an engine call made one."""
        self.untouched[name] = len(self.actions)
        self.actions.append(action)

    def _begin(self, name: str) -> None:
        self.untouched.pop(name, None)

    def _made_change(self) -> None:
        self.changed = True

    def _remaining(self) -> Optional[float]:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def _fail(self, message: str) -> TaskFailed:
        return TaskFailed(message, self.result())

    def _stop_timeout(self) -> int:
        return self.options.stop_timeout

    # -- resolution --------------------------------------------------------------------------------------
    def check_instance_type(self) -> None:
        if not self.spec.instance_type:
            return
        labels = dict(label.split("=", 1) for label in (self.engine.info().get("Labels") or []) if "=" in label)
        engine_type = labels.get(INSTANCE_TYPE_LABEL)
        if engine_type is None:
            self.warnings.append(
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
            self._note(f"pulled {reference}")

    # -- observation -------------------------------------------------------------------------------------
    def read(
        self, summaries: list[dict[str, Any]]
    ) -> tuple[dict[int, dict[str, Any]], list[tuple[int, str, dict[str, Any]]]]:
        """The replicas by number, and what interrupted runs left (replica, suffix, inspect)."""
        inspects = [i for i in parallel(lambda c: self.engine.inspect(c["Id"]), summaries) if i]
        primaries: dict[int, dict[str, Any]] = {}
        leftovers: list[tuple[int, str, dict[str, Any]]] = []
        for inspect in inspects:
            labels = (inspect.get("Config") or {}).get("Labels") or {}
            if not is_owned(labels, self.spec):
                continue
            parsed = split_name(inspect["Name"], self.base_name)
            if parsed is None:
                number = int(labels.get(LABEL_REPLICA) or 0)
                leftovers.append((number, "stray", inspect))
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

    def require_existing(self, primaries: dict[int, Any], leftovers: list[tuple[int, str, dict[str, Any]]]) -> None:
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

    def _repair(self, primaries: dict[int, dict[str, Any]], leftovers: list[tuple[int, str, dict[str, Any]]]) -> None:
        """Finish what an interrupted run left: a replacement that never took over, or an old replica set aside.

        An old replica set aside comes back when its replacement is missing or, for a replica that should run,
        does not run: a run that was killed before its replacement was ready must not cost the working one.
        When the replacement runs, the old one stays set aside until the replacement proves ready (see
        _decide_set_aside).
        """
        for number, suffix, inspect in sorted(leftovers, key=lambda item: item[1] != PREVIOUS_SUFFIX):
            name = inspect["Name"].lstrip("/")
            if suffix == PREVIOUS_SUFFIX and number > 0 and self._replacement_failed(primaries.get(number)):
                self._restore(number, inspect, primaries)
                continue
            if suffix == PREVIOUS_SUFFIX and number > 0 and self.runs_replicas:
                self.set_aside[number] = inspect
                self._note(
                    f"{name}: left by an interrupted run, removed once {self.spec.replica_name(number)} is ready"
                )
                continue
            self._note(f"{name}: removed, left by an interrupted run")
            if not self.options.check_mode:
                self._secure(inspect["Id"], name)
                self.engine.remove(inspect["Id"], name)

    def _replacement_failed(self, replacement: Optional[dict[str, Any]]) -> bool:
        if replacement is None:
            return True
        return self.runs_replicas and not (replacement.get("State") or {}).get("Running")

    def _restore(self, number: int, previous: dict[str, Any], primaries: dict[int, dict[str, Any]]) -> None:
        target = self.spec.replica_name(number)
        name = previous["Name"].lstrip("/")
        replacement = primaries.pop(number, None)
        if replacement is not None:
            self._note(f"{target}: removed, a replacement that an interrupted run left not running")
            if not self.options.check_mode:
                self._secure(replacement["Id"], target)
                self.engine.remove(replacement["Id"], target)
        self._note(f"{target}: restored from {name} left by an interrupted run")
        if not self.options.check_mode:
            self.engine.rename(previous["Id"], target)
            runs = (previous.get("State") or {}).get("Running")
            if not runs and self.runs_replicas:
                self._start(number, previous["Id"], target)
            previous = self.engine.inspect(previous["Id"]) or previous
        primaries[number] = previous

    def _decide_set_aside(self, plans: list[ReplicaPlan]) -> None:
        """An old replica set aside by an interrupted run goes once its replacement is ready, or else comes back.

        A replacement that this run changes or removes is not waited for: its old replica goes first, so that
        the replacement can be set aside in its turn.
        """
        unchanged = {plan.replica for plan in plans if not plan.changes}
        for number, previous in sorted(self.set_aside.items()):
            name = previous["Name"].lstrip("/")
            if number in unchanged:
                try:
                    self.wait_ready([number])
                except TaskFailed as exc:
                    self._restore(number, previous, self.current)
                    raise self._fail(
                        f"replica {number} ({self.spec.replica_name(number)}): the replacement that an interrupted run "
                        f"left did not become ready: {exc}. The previous container was put back."
                    ) from exc
            self._secure(previous["Id"], name)
            self.engine.remove(previous["Id"], name)
        self.set_aside = {}

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

    # -- engine changes ----------------------------------------------------------------------------------
    def _create(self, number: int, name: str) -> str:
        body = create_body(self.spec, number, self.placement, self.fingerprint)
        try:
            self.provisioner.prepare(number, self.spec.replica_name(number), body, self.current.get(number))
        except ProvisionError as exc:
            self._take_notes()
            raise self._fail(f"{name}: {exc}") from exc
        container_id = self.engine.create(body, name)
        try:
            self.provisioner.populate(container_id)
        except ProvisionError as exc:
            self.engine.remove(container_id, name)
            self._take_notes()
            raise self._fail(f"{name}: putting the mounts' contents into the container failed: {exc}") from exc
        self._take_notes()
        return container_id

    def _start(self, number: int, container_id: str, name: str) -> None:
        self.engine.start(container_id, name)
        self.started_here[number] = time.monotonic()

    def _refresh(self, number: int, container_id: str) -> dict[str, Any]:
        inspect = self.engine.inspect(container_id)
        if inspect is None:
            raise self._fail(f"{self.spec.replica_name(number)}: the container disappeared during the run")
        self.current[number] = inspect
        return inspect

    def _stop_and_remove(self, observed: Observed, stopping: Optional[Future[None]] = None) -> None:
        self._begin(observed.name)
        if stopping is not None:
            stopping.result()
        elif observed.running:
            self.engine.stop(observed.container_id, observed.name, self._stop_timeout())
            self._made_change()
        labels = self._secure(observed.container_id, observed.name, stopped_by_module=observed.running)
        self.engine.remove(observed.container_id, observed.name)
        self._made_change()
        self.provisioner.release_volumes(labels)
        self._take_notes()

    def _create_replica(self, plan: ReplicaPlan) -> None:
        self._begin(plan.name)
        container_id = self._create(plan.replica, plan.name)
        self._made_change()
        if START in plan.actions:
            self._start(plan.replica, container_id, plan.name)
        self._refresh(plan.replica, container_id)

    def _update_in_place(self, plan: ReplicaPlan) -> None:
        self._begin(plan.name)
        current = plan.existing()
        self.engine.update(current.container_id, plan.name, dict(current.drift.update))
        self._made_change()
        self._refresh(plan.replica, current.container_id)

    def _can_overlap(self, replica: int, old: Observed) -> bool:
        """Whether the new container may start while the old one still runs.

        Not when the replica publishes fixed host ports (the old container holds them), nor when it mounts
        volumes (two containers on one data directory can corrupt it), nor for jobs and stopped replicas.
        """
        fixed_ports = replica == 1 and any(
            not port.internal for service in self.spec.services for port in service.ports
        )
        volumes = any(mount.type == "volume" for mount in self.spec.mounts)
        return old.running and self.runs_replicas and not fixed_ports and not volumes

    def _replace(self, plan: ReplicaPlan) -> None:
        """Rolling replacement of one replica; on failure the old container is put back as it was."""
        self._begin(plan.name)
        old = plan.existing()
        if self._can_overlap(plan.replica, old):
            self._replace_overlapping(plan, old)
            return
        next_name = plan.name + NEXT_SUFFIX
        previous_name = plan.name + PREVIOUS_SUFFIX
        new_id = self._create(plan.replica, next_name)
        self._made_change()
        starts = self.options.state != "stopped"
        if old.running:
            self.engine.stop(old.container_id, old.name, self._stop_timeout())
        try:
            self._secure(old.container_id, old.name, stopped_by_module=old.running)
        except TaskFailed:
            self.engine.remove(new_id, next_name)
            if old.running:
                self.engine.start(old.container_id, old.name)
            raise
        self.engine.rename(old.container_id, previous_name)
        self.engine.rename(new_id, plan.name)
        try:
            if starts:
                self._start(plan.replica, new_id, plan.name)
                self._refresh(plan.replica, new_id)
                if self.options.state != "completed":
                    self.wait_ready([plan.replica])
        except (EngineError, TaskFailed) as exc:
            afterwards = f"The previous container was put back{' and runs again' if old.running else ''}."
            raise self._put_back(plan, old, new_id, exc, restart_old=old.running, afterwards=afterwards) from exc
        self.engine.remove(old.container_id, previous_name)

    def _replace_overlapping(self, plan: ReplicaPlan, old: Observed) -> None:
        """The old container serves until the new one is ready, then retires off the critical path.

        Without services nothing is served and readiness is the settle second alone: the old container stops
        during that second, as in a Swarm stop-first update, and starts again if the new one does not last it.
        """
        next_name = plan.name + NEXT_SUFFIX
        previous_name = plan.name + PREVIOUS_SUFFIX
        new_id = self._create(plan.replica, next_name)
        self._made_change()
        self.engine.rename(old.container_id, previous_name)
        self.engine.rename(new_id, plan.name)
        stopping: Optional[Future[None]] = None
        try:
            self._start(plan.replica, new_id, plan.name)
            started = self._refresh(plan.replica, new_id)
            if not self.spec.services and (started.get("State") or {}).get("Running"):
                stopping = self.settle_stops.submit(
                    self.engine.stop, old.container_id, previous_name, self._stop_timeout()
                )
            self.wait_ready([plan.replica])
        except (EngineError, TaskFailed) as exc:
            if stopping is not None:
                self._await_quietly(stopping)
                afterwards = "The previous container was put back and runs again."
            else:
                afterwards = "The previous container kept running under its name."
            raise self._put_back(
                plan, old, new_id, exc, restart_old=stopping is not None, afterwards=afterwards
            ) from exc
        retiring = Observed(plan.replica, previous_name, old.container_id, old.status, old.exit_code, old.drift)
        self.retiring.append(self.background.submit(self._stop_and_remove, retiring, stopping))

    def _await_quietly(self, stopping: Future[None]) -> None:
        """Let a stop finish before the container is started again; its failure only warns, the start follows."""
        try:
            stopping.result()
        except EngineError as exc:
            self.warnings.append(f"stopping the previous container failed: {exc}")

    def _put_back(
        self, plan: ReplicaPlan, old: Observed, new_id: str, cause: Exception, restart_old: bool, afterwards: str
    ) -> TaskFailed:
        """Undo a replacement that did not start: the new container goes, the old one takes its name back."""
        self.logs = self.engine.logs_tail(new_id)
        self._secure_or_warn(new_id, plan.name)
        self.engine.remove(new_id, plan.name)
        self.engine.rename(old.container_id, plan.name)
        if restart_old:
            self.engine.start(old.container_id, plan.name)
        self._refresh(plan.replica, old.container_id)
        return self._fail(f"replica {plan.replica} ({plan.name}) could not be replaced: {cause}. {afterwards}")

    def finish_retiring(self) -> None:
        """Wait for the old containers that retire in the background; their failures fail the task."""
        pending, self.retiring = self.retiring, []
        for future in pending:
            future.result()

    # -- readiness ---------------------------------------------------------------------------------------
    def _container_address(self, inspect: dict[str, Any]) -> Optional[str]:
        networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
        network = networks.get(self.placement.network) or {}
        return network.get("IPAddress") or None

    def _endpoints(self, number: int, inspect: dict[str, Any]) -> list[Endpoint]:
        return endpoints(self.spec, number, inspect, self.placement.publish_address, self.options.engine_host)

    def _exited_failure(self, number: int, inspect: dict[str, Any]) -> TaskFailed:
        state = inspect.get("State") or {}
        self.logs = self.engine.logs_tail(inspect["Id"])
        self.exit_codes[number] = int(state.get("ExitCode") or 0)
        return self._fail(
            f"replica {number} ({self.spec.replica_name(number)}) is not running: it {state.get('Status', 'stopped')} "
            f"with exit code {state.get('ExitCode')}{' (' + state['Error'] + ')' if state.get('Error') else ''}"
        )

    def _next_poll(self, pending: set[int]) -> float:
        """Without services only the settle time is awaited: sleep until the first replica's is over."""
        if self.spec.services:
            return POLL_INTERVAL
        now = time.monotonic()
        settles = [self.started_here[n] + SETTLE_SECONDS - now for n in pending if n in self.started_here]
        return max(0.01, min(settles)) if settles else POLL_INTERVAL

    def wait_ready(self, numbers: list[int]) -> None:
        """Wait until each replica runs with every service open (or, without services, still runs after a second)."""
        pending = set(numbers)
        open_endpoints: set[tuple[int, str, int]] = set()
        first_round = True
        while pending:
            if not first_round:
                time.sleep(self._next_poll(pending))
                inspects = parallel(lambda n: (n, self.engine.inspect(self.current[n]["Id"])), sorted(pending))
                for number, inspect in inspects:
                    if inspect is None:
                        raise self._fail(
                            f"replica {number} ({self.spec.replica_name(number)}) was removed while waiting for it"
                        )
                    self.current[number] = inspect
            first_round = False

            def probe(number: int) -> tuple[int, bool]:
                inspect = self.current[number]
                state = inspect.get("State") or {}
                if not state.get("Running") or state.get("Restarting"):
                    if state.get("Status") in ("exited", "dead") or not state.get("Running"):
                        raise self._exited_failure(number, inspect)
                    return number, False
                ready = True
                address = self._container_address(inspect)
                for endpoint in self._endpoints(number, inspect):
                    key = (number, endpoint.service, endpoint.port.port)
                    if key in open_endpoints:
                        continue
                    if is_open(endpoint, address, self.options.local_engine):
                        open_endpoints.add(key)
                    else:
                        ready = False
                started = self.started_here.get(number)
                if not self.spec.services and started is not None and time.monotonic() - started < SETTLE_SECONDS:
                    ready = False
                return number, ready

            for number, ready in parallel(probe, sorted(pending)):
                if ready:
                    pending.discard(number)
            remaining = self._remaining()
            if pending and remaining is not None and remaining <= 0:
                closed = sorted(
                    endpoint.url
                    for number in pending
                    for endpoint in self._endpoints(number, self.current[number])
                    if (number, endpoint.service, endpoint.port.port) not in open_endpoints
                )
                raise self._fail(
                    f"timed out after {self.options.wait_timeout}s waiting for "
                    + (f"services to open: {', '.join(closed)}" if closed else "replicas to start")
                )

    def await_exit(self, numbers: list[int]) -> None:
        def wait(number: int) -> tuple[int, int]:
            inspect = self.current[number]
            try:
                code = self.engine.wait(inspect["Id"], self.spec.replica_name(number), self._remaining())
            except EngineError as exc:
                raise self._fail(f"replica {number}: {exc}") from exc
            return number, code

        try:
            codes = parallel(wait, numbers)
        except Exception as exc:  # the SDK raises requests' ReadTimeout when wait_timeout runs out
            if isinstance(exc, TaskFailed):
                raise
            raise self._fail(
                f"timed out after {self.options.wait_timeout}s waiting for the containers to exit"
            ) from exc
        for number, code in codes:
            self.exit_codes[number] = code
            self._refresh(number, self.current[number]["Id"])

    # -- the run -----------------------------------------------------------------------------------------
    @property
    def runs_replicas(self) -> bool:
        """Whether the state wants every replica running (as opposed to a job, stopped or gone)."""
        return self.options.state in ("started", "restarted")

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
                self._note(f"{lock.name}: removed, a stale lock left by {holder}")
            return self._converge(primaries, leftovers)
        try:
            lock.acquire(self._remaining())
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

    def _converge(
        self, primaries: dict[int, dict[str, Any]], leftovers: list[tuple[int, str, dict[str, Any]]]
    ) -> dict[str, Any]:
        try:
            return self._apply(primaries, leftovers)
        except BaseException:
            # A failed run still lets the old containers finish retiring, so their data is stored.
            for future in self.retiring:
                if future.exception() is not None:
                    self.warnings.append(f"retiring an old container failed: {future.exception()}")
            raise
        finally:
            self.background.shutdown(wait=True)
            self.settle_stops.shutdown(wait=True)

    def _apply(
        self, primaries: dict[int, dict[str, Any]], leftovers: list[tuple[int, str, dict[str, Any]]]
    ) -> dict[str, Any]:
        state = self.options.state
        self._repair(primaries, leftovers)
        self.current = primaries
        plans, removals = self._plan(primaries)
        # Another run may have removed replicas while this one waited for the lock.
        self.require_existing(primaries, [])
        self.check_name_clashes(plans)
        for removal in removals:
            self._plan_note(removal.name, f"{removal.name}: {REMOVE}")
        for plan in plans:
            if plan.changes:
                self._plan_note(plan.name, summarize(plan))
            if plan.kept:
                self._note(f"{plan.name}: kept as it is (create={self.options.create}): {'; '.join(plan.kept)}", False)
        diff = self._diff(plans, removals) if self.options.diff else None
        if self.options.check_mode:
            return self.result(diff)
        self._decide_set_aside(plans)
        makes_containers = any(CREATE in p.actions or REPLACE in p.actions for p in plans)
        if makes_containers and self.engine.ensure_network(self.placement.network):
            self._note(f"created network {self.placement.network}")
        parallel(self._stop_and_remove, removals)
        for number in [o.replica for o in removals]:
            self.current.pop(number, None)
        parallel(self._update_in_place, [p for p in plans if UPDATE in p.actions])
        for plan in plans:
            if REPLACE in plan.actions:
                self._replace(plan)
        parallel(self._create_replica, [p for p in plans if CREATE in p.actions])
        parallel(self._start_existing, [p for p in plans if START in p.actions and CREATE not in p.actions])
        parallel(self._stop_replica, [p for p in plans if STOP in p.actions])
        for plan in plans:
            if RESTART in plan.actions:
                self._begin(plan.name)
                self.engine.restart(self.current[plan.replica]["Id"], plan.name, self._stop_timeout())
                self._made_change()
                self.started_here[plan.replica] = time.monotonic()
                self._refresh(plan.replica, self.current[plan.replica]["Id"])
                self.wait_ready([plan.replica])
        if self.runs_replicas and plans:
            self.wait_ready([plan.replica for plan in plans])
        self.finish_retiring()
        if state == "completed":
            self.await_exit([p.replica for p in plans if AWAIT_EXIT in p.actions])
            for plan in plans:
                exit_code = int((self.current[plan.replica].get("State") or {}).get("ExitCode") or 0)
                self.exit_codes.setdefault(plan.replica, exit_code)
            # A job that exited 0 stores its datasets (once per run of its container).
            for plan in plans:
                if self.exit_codes.get(plan.replica) == 0:
                    self._secure(self.current[plan.replica]["Id"], plan.name)
            failed = [number for number, code in sorted(self.exit_codes.items()) if code != 0]
            if failed:
                self.logs = self.engine.logs_tail(self.current[failed[0]]["Id"])
                raise self._fail(NONZERO_EXIT_MESSAGE)
        return self.result(diff)

    def _start_existing(self, plan: ReplicaPlan) -> None:
        self._begin(plan.name)
        container_id = self.current[plan.replica]["Id"]
        self._start(plan.replica, container_id, plan.name)
        self._made_change()
        self._refresh(plan.replica, container_id)

    def _stop_replica(self, plan: ReplicaPlan) -> None:
        self._begin(plan.name)
        container_id = self.current[plan.replica]["Id"]
        self.engine.stop(container_id, plan.name, self._stop_timeout())
        self._made_change()
        self._secure(container_id, plan.name, stopped_by_module=True)
        self._refresh(plan.replica, container_id)

    # -- datasets (issue 4, see _provision) ---------------------------------------------------------------
    def _take_notes(self) -> None:
        actions, warnings = self.provisioner.take_notes()
        for action in actions:
            self._note(action)
        self.warnings.extend(warnings)

    def _secure(self, container_id: str, name: str, stopped_by_module: bool = False) -> dict[str, str]:
        """Store the datasets of the container's last run before it goes; a failure keeps the container."""
        try:
            labels = self.provisioner.secure(container_id, name, self._stop_timeout(), stopped_by_module)
        except ProvisionError as exc:
            self._take_notes()
            raise self._fail(f"{exc}; {name} was kept so that its data is not lost") from exc
        self._take_notes()
        return labels

    def _secure_or_warn(self, container_id: str, name: str) -> None:
        try:
            self._secure(container_id, name)
        except TaskFailed as exc:
            self.warnings.append(str(exc))

    # -- reporting ---------------------------------------------------------------------------------------
    def _shown_spec(self) -> dict[str, Any]:
        shown = canonical_spec(self.spec, self.placement)
        shown.pop("version")
        shown["env"] = [[var.name, SECRET_MASK if var.secret else var.value] for var in self.spec.env]
        shown["resources"] = resource_fields(self.spec)
        shown["restart"] = restart_policy(self.spec)
        shown["unconfined"] = self.spec.unconfined
        return shown

    def _diff(self, plans: list[ReplicaPlan], removals: list[Observed]) -> dict[str, Any]:
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        desired = self._shown_spec()
        for plan in plans:
            if plan.current is not None:
                before[plan.name] = {"status": plan.current.status, "container": plan.current.container_id[:12]}
            if not plan.changes:
                if plan.current is not None:
                    after[plan.name] = dict(before[plan.name])
                continue
            after[plan.name] = {"change": change_kind(plan), "reasons": plan.reasons, "spec": desired}
            if plan.current is not None and UPDATE in plan.actions:
                after[plan.name]["update"] = plan.current.drift.update
        for plan in plans:
            if plan.kept and plan.name in after:
                after[plan.name]["kept"] = plan.kept
        for removal in removals:
            before[removal.name] = {"status": removal.status, "container": removal.container_id[:12]}
            after[removal.name] = {"change": "removed"}
        return {"before": before, "after": after}

    def result(self, diff: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        containers = []
        services = []
        for number in sorted(self.current):
            inspect = self.current[number]
            state = inspect.get("State") or {}
            ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
            containers.append(
                {
                    "name": inspect.get("Name", "").lstrip("/"),
                    "id": inspect.get("Id"),
                    "replica": number,
                    "status": state.get("Status"),
                    "image": (inspect.get("Config") or {}).get("Image"),
                    "image_id": inspect.get("Image"),
                    "ports": {
                        key: [f"{b.get('HostIp')}:{b.get('HostPort')}" for b in value or []]
                        for key, value in ports.items()
                    },
                }
            )
            if state.get("Running"):
                services.extend(endpoint.as_result() for endpoint in self._endpoints(number, inspect))
        # Check mode lists every planned action; a run lists those it began (all of them when it succeeded).
        skipped = set() if self.options.check_mode else set(self.untouched.values())
        result: dict[str, Any] = {
            # In check mode a planned action is the change the run would make.
            "changed": self.changed or (self.options.check_mode and bool(self.untouched)),
            "actions": [action for index, action in enumerate(self.actions) if index not in skipped],
            "containers": containers,
            "services": services,
        }
        if self.options.state == "completed" or self.exit_codes:
            codes = [self.exit_codes[n] for n in sorted(self.exit_codes)]
            result["exit_codes"] = codes
            result["exit_code"] = next((code for code in codes if code != 0), 0)
        if self.logs:
            result["logs"] = self.logs
        if self.provisioner.stored:
            result["datasets"] = list(self.provisioner.stored)
        if diff is not None:
            result["diff"] = diff
        if self.warnings:
            result["warnings"] = self.warnings
        return result
