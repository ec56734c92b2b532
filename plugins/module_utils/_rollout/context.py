# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every step of one container run shares: the engine, the spec, the replicas as last read, the report.

Free of Ansible objects. The steps (repair, rollout, readiness, retire, report) each take this context, so
that none of them holds state of its own that another one needs.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, TypeVar

from ansible_collections.polytope.core.plugins.module_utils._engine import Engine
from ansible_collections.polytope.core.plugins.module_utils._ownership import default_network
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import Placement, create_body, fingerprint
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import ProvisionError, Provisioner
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import RolloutPolicy
from ansible_collections.polytope.core.plugins.module_utils._rollout.report import Report, TaskFailed
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec

# Engine calls of one step run in this many threads: the engine serialises much of the work anyway.
PARALLELISM = 8
DEFAULT_LOG_LINES = 20

T = TypeVar("T")
R = TypeVar("R")


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
    rollout: RolloutPolicy = field(default_factory=RolloutPolicy)
    log_lines: int = DEFAULT_LOG_LINES


def parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``function`` over the items in threads, results in order; the first failure is raised."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(PARALLELISM, len(items))) as pool:
        return list(pool.map(function, items))


def outcomes_of(function: Callable[[T], R], items: Iterable[T]) -> list[tuple[T, Optional[R], Optional[Exception]]]:
    """``function`` over the items in threads; each item with its result or its failure, none lost."""

    def attempt(item: T) -> tuple[T, Optional[R], Optional[Exception]]:
        try:
            return item, function(item), None
        except Exception as exc:  # pylint: disable=broad-exception-caught  # handed back with its item
            return item, None, exc

    return parallel(attempt, items)


class RunContext:
    """The run's shared state and the engine steps every part of it takes."""

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
        self.provisioner = provisioner
        self.placement = Placement(
            network=options.network or default_network(spec.project),
            publish_address=options.publish_address,
            mounts=mounts,
            contents=provisioner.descriptors,
        )
        self.fingerprint = fingerprint(spec, self.placement)
        self.base_name = spec.replica_name(1)
        self.report = Report(spec, options.check_mode)
        # The replicas by number, as last read (the result lists these).
        self.current: dict[int, dict[str, Any]] = {}
        self.exit_codes: dict[int, int] = {}
        self.deadline = time.monotonic() + options.wait_timeout if options.wait_timeout else None

    @property
    def runs_replicas(self) -> bool:
        """Whether the state wants every replica running (as opposed to a job, stopped or gone)."""
        return self.options.state in ("started", "restarted")

    def remaining(self) -> Optional[float]:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def fail(self, message: str) -> TaskFailed:
        return TaskFailed(message, self.result())

    def result(self, diff: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        return self.report.result(self, diff)

    def take_notes(self) -> None:
        actions, warnings = self.provisioner.take_notes()
        for action in actions:
            self.report.note(action)
        self.report.warnings.extend(warnings)

    def logs_tail(self, container_id: str) -> list[str]:
        """A container's last lines of output, with every secret value masked."""
        return self.report.mask_lines(self.engine.logs_tail(container_id, self.options.log_lines))

    # -- engine steps ------------------------------------------------------------------------------------
    def create(self, number: int, name: str) -> str:
        """Create replica ``number`` under ``name`` with its mounts prepared and filled; not started."""
        body = create_body(self.spec, number, self.placement, self.fingerprint)
        try:
            self.provisioner.prepare(number, self.spec.replica_name(number), body, self.current.get(number))
        except ProvisionError as exc:
            self.take_notes()
            raise self.fail(f"{name}: {exc}") from exc
        container_id = self.engine.create(body, name)
        self.report.made_change()
        try:
            self.provisioner.populate(container_id)
        except ProvisionError as exc:
            self.engine.remove(container_id, name)
            self.take_notes()
            raise self.fail(f"{name}: putting the mounts' contents into the container failed: {exc}") from exc
        self.take_notes()
        return container_id

    def start(self, container_id: str, name: str) -> None:
        self.engine.start(container_id, name)
        self.report.made_change()

    def refresh(self, number: int, container_id: str) -> dict[str, Any]:
        inspect = self.engine.inspect(container_id)
        if inspect is None:
            raise self.fail(f"{self.spec.replica_name(number)}: the container disappeared during the run")
        self.current[number] = inspect
        return inspect
