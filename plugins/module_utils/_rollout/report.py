# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run reports: its actions in order, whether it changed anything, the result, the diff."""

from __future__ import annotations

import datetime
import threading
from typing import TYPE_CHECKING, Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import (
    Placement,
    canonical_spec,
    resource_fields,
    restart_policy,
)
from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import (
    UPDATE,
    Observed,
    ReplicaPlan,
    change_kind,
)
from ansible_collections.polytope.core.plugins.module_utils._services import endpoints
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.polytope.core.plugins.module_utils._rollout.context import RunContext

NONZERO_EXIT_MESSAGE = "The container exited with a nonzero exit code."


class TaskFailed(Exception):
    def __init__(self, message: str, result: Optional[dict[str, Any]] = None):
        super().__init__(message)
        self.result = result or {}


def _language_masking() -> Any:
    # The language package takes about 70 ms to import: only a spec with secret values needs its masking rule.
    from ansible_collections.polytope.core.plugins.module_utils._language import (  # pylint: disable=import-outside-toplevel
        masking,
    )

    return masking


def mask_text(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value masked, by the language's one masking rule."""
    if not any(secret and secret in text for secret in secrets):
        return text
    return str(_language_masking().mask_text(text, secrets))


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Report:
    """The run's notes; steps in parallel threads add to it."""

    def __init__(self, spec: ContainerSpec, check_mode: bool):
        self.spec = spec
        self.check_mode = check_mode
        self.actions: list[str] = []
        # The planned action of each replica (name to its index in actions) until the run begins its work: a
        # failed run reports only what it did or tried, not the replicas it never reached.
        self.untouched: dict[str, int] = {}
        self.changed = False
        self.warnings: list[str] = []
        # ``logs`` of the result: the tail of the replica the run failed on, or of a job's replica.
        self.logs: list[str] = []
        # With state completed: every replica's tail, for its entry in ``containers``.
        self.replica_logs: dict[int, list[str]] = {}
        # When this run saw each replica it started ready.
        self.ready_at: dict[int, str] = {}
        self._lock = threading.Lock()

    def note(self, action: str, changed: bool = True) -> None:
        with self._lock:
            self.actions.append(action)
            self.changed = self.changed or changed

    def plan_note(self, name: str, action: str) -> None:
        """What the run will do to a replica; it counts as a change only once an engine call made one."""
        with self._lock:
            self.untouched[name] = len(self.actions)
            self.actions.append(action)

    def begin(self, name: str) -> None:
        with self._lock:
            self.untouched.pop(name, None)

    def made_change(self) -> None:
        self.changed = True

    def mask(self, text: str) -> str:
        """The one masking rule: every secret value of the spec becomes ``********``."""
        return mask_text(text, self.spec.secrets)

    def mask_lines(self, lines: list[str]) -> list[str]:
        return [self.mask(line) for line in lines]

    # -- the result --------------------------------------------------------------------------------------
    def result(self, run: RunContext, diff: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        containers: list[dict[str, Any]] = []
        services: list[dict[str, Any]] = []
        for number in sorted(run.current):
            inspect = run.current[number]
            state = inspect.get("State") or {}
            ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
            entry: dict[str, Any] = {
                "name": inspect.get("Name", "").lstrip("/"),
                "id": inspect.get("Id"),
                "replica": number,
                "status": state.get("Status"),
                "image": (inspect.get("Config") or {}).get("Image"),
                "image_id": inspect.get("Image"),
                "ports": {
                    key: [f"{b.get('HostIp')}:{b.get('HostPort')}" for b in value or []] for key, value in ports.items()
                },
            }
            if state.get("Health"):
                entry["health"] = state["Health"].get("Status")
            if number in self.ready_at:
                entry["ready_at"] = self.ready_at[number]
            if number in self.replica_logs:
                entry["logs"] = self.replica_logs[number]
            containers.append(entry)
            if state.get("Running"):
                services.extend(
                    endpoint.as_result()
                    for endpoint in endpoints(
                        run.spec, number, inspect, run.placement.publish_address, run.options.engine_host
                    )
                )
        # Check mode lists every planned action; a run lists those it began (all of them when it succeeded).
        skipped = set() if self.check_mode else set(self.untouched.values())
        result: dict[str, Any] = {
            # In check mode a planned action is the change the run would make.
            "changed": self.changed or (self.check_mode and bool(self.untouched)),
            "actions": [self.mask(action) for index, action in enumerate(self.actions) if index not in skipped],
            "containers": containers,
            "services": services,
        }
        if run.options.state == "completed" or run.exit_codes:
            codes = [run.exit_codes[n] for n in sorted(run.exit_codes)]
            result["exit_codes"] = codes
            result["exit_code"] = next((code for code in codes if code != 0), 0)
        if self.logs:
            result["logs"] = self.logs
        if run.provisioner.stored:
            result["datasets"] = list(run.provisioner.stored)
        if diff is not None:
            result["diff"] = diff
        if self.warnings:
            result["warnings"] = [self.mask(warning) for warning in self.warnings]
        return result


def shown_spec(spec: ContainerSpec, placement: Placement) -> dict[str, Any]:
    """The desired spec as a diff shows it: secret values masked."""
    shown = canonical_spec(spec, placement)
    shown.pop("version")
    shown["env"] = [[var.name, _language_masking().MASK if var.secret else var.value] for var in spec.env]
    shown["resources"] = resource_fields(spec)
    shown["restart"] = restart_policy(spec)
    shown["unconfined"] = spec.unconfined
    return shown


def plan_diff(
    spec: ContainerSpec, placement: Placement, plans: list[ReplicaPlan], removals: list[Observed]
) -> dict[str, Any]:
    """Diff mode's before and after, per replica."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    desired = shown_spec(spec, placement)
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
