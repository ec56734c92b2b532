# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a replica has started: it runs, every service is open and, with a health check, it is healthy.

There is no fixed settle wait. A replacement is also monitored: once ready it must stay so (running, not
restarted, not unhealthy) for the rollout's monitor window, while the rollout goes on with the next batch.
Only what the engine reports and the probes decide; a bug in here is raised as what it is, never as a
timeout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._rollout.context import parallel
from ansible_collections.polytope.core.plugins.module_utils._rollout.report import TaskFailed, utc_now
from ansible_collections.polytope.core.plugins.module_utils._services import Endpoint, endpoints, is_open

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.polytope.core.plugins.module_utils._rollout.context import RunContext

POLL_INTERVAL = 0.2

READY = "ready"
WAITING = "waiting"
FAILED = "failed"


class NotReady(TaskFailed):
    """Replicas that failed to start or to stay ready; ``ready``: the others of the wait that were ready."""

    def __init__(self, numbers: list[int], message: str, result: dict[str, Any], ready: frozenset[int] = frozenset()):
        super().__init__(message, result)
        self.numbers = numbers
        self.ready = ready


def condition(inspect: dict[str, Any]) -> tuple[str, str]:
    """(READY, WAITING or FAILED, why) of a container as the engine reports it, services aside."""
    state = inspect.get("State") or {}
    if not state.get("Running"):
        error = f" ({state['Error']})" if state.get("Error") else ""
        return FAILED, f"it {state.get('Status', 'stopped')} with exit code {state.get('ExitCode')}{error}"
    if state.get("Restarting"):
        return WAITING, "it is restarting"
    health = state.get("Health") or {}
    status = health.get("Status")
    if status == "unhealthy":
        last = (health.get("Log") or [{}])[-1]
        output = str(last.get("Output") or "").strip()
        detail = f" (last check exited {last.get('ExitCode')}{': ' + output if output else ''})" if last else ""
        return FAILED, f"its health check reports unhealthy{detail}"
    if status == "starting":
        return WAITING, "its health check is still starting"
    return READY, ""


def run_identity(inspect: dict[str, Any]) -> tuple[Any, Any]:
    """What changes when the engine restarts a container: a restart inside the monitor window is a failure."""
    state = inspect.get("State") or {}
    return state.get("StartedAt"), inspect.get("RestartCount")


@dataclass
class _Watch:
    until: float
    identity: tuple[Any, Any]


class Monitor:
    """Replicas that are ready and must stay so until their window ends; then ``on_proven`` takes each."""

    def __init__(self, run: RunContext, seconds: float, on_proven: Callable[[int], None]):
        self.run = run
        self.seconds = seconds
        self.on_proven = on_proven
        self.watched: dict[int, _Watch] = {}

    def add(self, numbers: list[int]) -> None:
        until = time.monotonic() + self.seconds
        for number in numbers:
            self.watched[number] = _Watch(until, run_identity(self.run.current[number]))
        if self.seconds <= 0:
            self.poll()

    def forget(self, numbers: list[int]) -> None:
        for number in numbers:
            self.watched.pop(number, None)

    def poll(self) -> None:
        """Check the watched replicas once; NotReady for one that failed, ``on_proven`` for those whose window ended."""
        if not self.watched:
            return
        run = self.run
        # Every watched replica is inspected, also one whose window ended since the last poll (a slow start of
        # the next batch can outlast a window): a replica is proven by an inspect after its window, never by
        # the clock alone.
        looked_at = time.monotonic()
        for number, inspect in parallel(lambda n: (n, run.engine.inspect(run.current[n]["Id"])), sorted(self.watched)):
            name = run.spec.replica_name(number)
            if inspect is None:
                raise NotReady(
                    [number], f"replica {number} ({name}) was removed during its monitor window", run.result()
                )
            run.current[number] = inspect
            verdict, why = condition(inspect)
            if verdict == READY and run_identity(inspect) != self.watched[number].identity:
                verdict, why = FAILED, "the engine restarted it"
            if verdict != READY:
                if verdict == FAILED and not (inspect.get("State") or {}).get("Running"):
                    run.exit_codes[number] = int((inspect.get("State") or {}).get("ExitCode") or 0)
                run.report.logs = run.logs_tail(inspect["Id"])
                raise NotReady(
                    [number],
                    f"replica {number} ({name}) did not stay ready for the {self.seconds:g}s monitor window: {why}",
                    run.result(),
                )
        remaining = run.remaining()
        proven = sorted(
            number
            for number, watch in self.watched.items()
            if watch.until <= looked_at or (remaining is not None and remaining <= 0)
        )
        for number in proven:
            del self.watched[number]
            self.on_proven(number)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` while watching."""
        end = time.monotonic() + seconds
        while True:
            self.poll()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, POLL_INTERVAL))

    def finish(self) -> None:
        """Wait until every window has ended (wait_timeout cuts them short), failing on a replica that failed."""
        while self.watched:
            self.poll()
            if not self.watched:
                return
            first = min(watch.until for watch in self.watched.values()) - time.monotonic()
            remaining = self.run.remaining()
            if remaining is not None:
                first = min(first, remaining)
            time.sleep(max(0.01, min(first, POLL_INTERVAL)))


class Readiness:
    def __init__(self, run: RunContext):
        self.run = run

    def _endpoints(self, number: int, inspect: dict[str, Any]) -> list[Endpoint]:
        run = self.run
        return endpoints(run.spec, number, inspect, run.placement.publish_address, run.options.engine_host)

    def _address(self, inspect: dict[str, Any]) -> Optional[str]:
        networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
        return (networks.get(self.run.placement.network) or {}).get("IPAddress") or None

    def _not_running(self, number: int, inspect: dict[str, Any], why: str, ready: frozenset[int]) -> NotReady:
        run = self.run
        state = inspect.get("State") or {}
        run.report.logs = run.logs_tail(inspect["Id"])
        if not state.get("Running"):
            run.exit_codes[number] = int(state.get("ExitCode") or 0)
            message = f"replica {number} ({run.spec.replica_name(number)}) is not running: {why}"
        else:
            message = f"replica {number} ({run.spec.replica_name(number)}) did not become ready: {why}"
        return NotReady([number], message, run.result(), ready)

    def wait_ready(self, numbers: list[int], monitor: Optional[Monitor] = None) -> None:
        """Wait until each replica has started (see the module's docstring), watching ``monitor`` meanwhile.

        NotReady names the replica that failed or, when wait_timeout ran out, every one still waited for.
        """
        run = self.run
        pending = set(numbers)
        ready: set[int] = set()
        open_endpoints: set[tuple[int, str, int]] = set()
        first_round = True
        while pending:
            if not first_round:
                time.sleep(POLL_INTERVAL)
                for number, inspect in parallel(
                    lambda n: (n, run.engine.inspect(run.current[n]["Id"])), sorted(pending)
                ):
                    if inspect is None:
                        raise NotReady(
                            [number],
                            f"replica {number} ({run.spec.replica_name(number)}) was removed while waiting for it",
                            run.result(),
                            frozenset(ready),
                        )
                    run.current[number] = inspect
            first_round = False

            def probe(number: int) -> tuple[int, str, str]:
                inspect = run.current[number]
                verdict, why = condition(inspect)
                if verdict != READY:
                    return number, verdict, why
                address = self._address(inspect)
                closed = False
                for endpoint in self._endpoints(number, inspect):
                    key = (number, endpoint.service, endpoint.port.port)
                    if key in open_endpoints:
                        continue
                    if is_open(endpoint, address, run.options.local_engine):
                        open_endpoints.add(key)
                    else:
                        closed = True
                return number, WAITING if closed else READY, "services are not open yet"

            for number, verdict, why in parallel(probe, sorted(pending)):
                if verdict == FAILED:
                    raise self._not_running(number, run.current[number], why, frozenset(ready))
                if verdict == READY:
                    pending.discard(number)
                    ready.add(number)
                    run.report.ready_at.setdefault(number, utc_now())
            if monitor is not None:
                monitor.poll()
            remaining = run.remaining()
            if pending and remaining is not None and remaining <= 0:
                closed_urls = sorted(
                    endpoint.url
                    for number in pending
                    for endpoint in self._endpoints(number, run.current[number])
                    if (number, endpoint.service, endpoint.port.port) not in open_endpoints
                )
                unhealthy = sorted(n for n in pending if condition(run.current[n])[0] == WAITING)
                if closed_urls:
                    waited = f"services to open: {', '.join(closed_urls)}"
                elif unhealthy:
                    waited = "replicas to become ready: " + ", ".join(
                        f"{run.spec.replica_name(n)} ({condition(run.current[n])[1]})" for n in unhealthy
                    )
                else:
                    waited = "replicas to start"
                raise NotReady(
                    sorted(pending),
                    f"timed out after {run.options.wait_timeout}s waiting for {waited}",
                    run.result(),
                    frozenset(ready),
                )
