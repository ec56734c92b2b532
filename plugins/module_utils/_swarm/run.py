# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of the module as a Swarm service: check, converge like ``docker service create`` does, report."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError
from ansible_collections.polytope.core.plugins.module_utils._language.masking import mask_secrets
from ansible_collections.polytope.core.plugins.module_utils._services import Endpoint, is_open
from ansible_collections.polytope.core.plugins.module_utils._ownership import is_owned, owner_labels
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, parse_image_reference
from ansible_collections.polytope.core.plugins.module_utils._swarm import fields, mapping
from ansible_collections.polytope.core.plugins.module_utils._swarm.api import SwarmApi
from ansible_collections.polytope.core.plugins.module_utils._swarm.progress import (
    FAILED_TASK_STATES,
    Progress,
    converged,
    current_tasks,
    exit_code,
    job_failed,
    progress,
    task_state,
)

POLL_SECONDS = 0.25
NEW = "(new)"
JOB_FAILED = "The container exited with a nonzero exit code."


# (node, container ID, container name) -> the dataset versions stored from that finished task's container
StoreDatasets = Callable[[dict[str, Any], str, str], list[dict[str, Any]]]


class SwarmRefused(Exception):
    """The swarm cannot run this spec; nothing was changed."""


class SwarmFailed(Exception):
    """The run failed after it may have changed something; ``result`` says what."""

    def __init__(self, message: str, result: dict[str, Any]):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class RunSettings:
    wait_timeout: int = 600
    recreate: bool = False
    absent: bool = False
    check_mode: bool = False
    diff: bool = False
    log_lines: int = 20


class SwarmRun:
    def __init__(
        self,
        api: SwarmApi,
        spec: ContainerSpec,
        options: mapping.SwarmOptions,
        settings: RunSettings,
        clock: Callable[[], float] = time.monotonic,
        store_datasets: Optional[StoreDatasets] = None,
    ):
        self.api = api
        self.spec = spec
        self.options = options
        self.settings = settings
        self.clock = clock
        self.store_datasets = store_datasets
        self.datasets: list[dict[str, Any]] = []
        self.name = mapping.service_name(spec)
        self.actions: list[str] = []
        self.warnings: list[str] = []
        self.changed = False
        self.nodes: dict[str, dict[str, Any]] = {}
        self.service_id: Optional[str] = None
        self.tasks: list[dict[str, Any]] = []
        self.exit_codes: list[int] = []
        self.logs: list[str] = []
        self.diff: Optional[dict[str, Any]] = None
        # Why Swarm began to roll back, which its final status no longer says.
        self.rollback_reason = ""

    # ------------------------------------------------------------------ checks --
    def _check_manager(self) -> None:
        refusal = mapping.manager_refusal(self.api.info())
        if refusal:
            raise SwarmRefused(refusal)

    def _check_nodes(self) -> None:
        self.nodes = {node["ID"]: node for node in self.api.nodes()}
        wanted = self.spec.instance_type
        if not wanted or self.settings.absent:
            return
        types = set()
        for node in self.nodes.values():
            label = ((node.get("Spec") or {}).get("Labels") or {}).get(mapping.INSTANCE_TYPE_LABEL)
            if label and (node.get("Spec") or {}).get("Availability") == "active":
                types.add(label)
        if wanted not in types:
            raise SwarmRefused(
                f"instance_type: no active node of the swarm has the label {mapping.INSTANCE_TYPE_LABEL}={wanted} "
                f"(the nodes have: {', '.join(sorted(types)) or 'none'})"
            )

    def _existing(self) -> Optional[dict[str, Any]]:
        for service in self.api.services(self.name):
            if not is_owned((service.get("Spec") or {}).get("Labels"), self.spec):
                raise SwarmRefused(
                    f"id: a service named {self.name} exists that this module did not make (its labels differ); "
                    "choose another id or project, or remove that service"
                )
            return service
        return None

    # ------------------------------------------------------------------ pieces --
    def _resolve_image(self) -> tuple[str, bool]:
        """The image with the manager's digest, and whether digests count in the comparison."""
        image = self.spec.image or ""
        name, tag, digest = parse_image_reference(image)
        if digest:
            return image, True
        try:
            found = self.api.distribution_digest(image)
        except EngineError as exc:
            # The registry's answer is the reason; the call's own wording says nothing more.
            reason = str(exc).split(": ", 1)[-1]
            self.warnings.append(
                f"The manager could not resolve {image} to a digest, so each node runs what the tag names there: {reason}"
            )
            return image, False
        if not found:
            return image, False
        return f"{name}:{tag}@{found}", self.spec.update_image

    def _network(self) -> str:
        name = mapping.network_name(self.spec, self.options)
        network = self.api.overlay_network(name)
        if network is None:
            self._act(f"create overlay network {name}")
            if self.settings.check_mode:
                return NEW
            return self.api.create_overlay_network(name, mapping.OVERLAY_LABELS)
        refusal = mapping.overlay_refusal(name, network)
        if refusal:
            raise SwarmRefused(refusal)
        return str(network["Id"])

    def _configs(self) -> dict[str, str]:
        existing = {item["Spec"]["Name"]: item["ID"] for item in self.api.configs(owner_labels(self.spec))}
        ids: dict[str, str] = {}
        for config in mapping.config_files(self.spec, self.options):
            # Files of the same content share one config.
            if config.name in ids:
                continue
            if config.name in existing:
                ids[config.name] = existing[config.name]
                continue
            self._act(f"create config {config.name} for {config.path}")
            if not self.settings.check_mode:
                labels = {**owner_labels(self.spec), mapping.LABEL_CONFIG_DIGEST: config.digest}
                ids[config.name] = self.api.create_config(config.name, config.data, labels)
        return ids

    def _drop_stale_configs(self, keep: set[str]) -> None:
        for item in self.api.configs(owner_labels(self.spec)):
            name = item["Spec"]["Name"]
            if name not in keep and self.api.remove_config(item["ID"], name):
                self._act(f"removed config {name}")

    def _act(self, action: str) -> None:
        # In check mode an action is the change the run would make.
        self.actions.append(f"{self.name}: {action}")
        self.changed = True

    # ------------------------------------------------------------------ run --
    def run(self) -> dict[str, Any]:
        fields.check(self.spec, self.options)
        self._check_manager()
        self._check_nodes()
        existing = self._existing()
        if self.settings.absent:
            return self._remove(existing)
        image, compare_digest = self._resolve_image()
        spec = dataclasses.replace(self.spec, image=image)
        network_id = self._network()
        config_ids = self._configs()
        stored = (existing or {}).get("Spec") or {}
        force = int((stored.get("TaskTemplate") or {}).get("ForceUpdate") or 0)
        if self.settings.recreate:
            force += 1
        desired = fields.service_spec(spec, self.options, network_id, config_ids, force)
        before_status = ((existing or {}).get("UpdateStatus") or {}).get("StartedAt")
        if self.settings.diff:
            self.diff = {
                "before": self._shown(mapping.normalized(stored)) if existing else {},
                "after": self._shown(mapping.normalized(desired)),
            }
        updated = False
        if existing is None:
            self._act("create service")
            if not self.settings.check_mode:
                self.service_id = self.api.create_service(desired)
                updated = True
        else:
            self.service_id = str(existing["ID"])
            differences = mapping.differences(desired, stored, compare_digest)
            if self.settings.recreate and "ForceUpdate" not in differences:
                differences.append("recreate")
            if differences:
                self._act(f"update service ({', '.join(differences)} changed)")
                if not self.settings.check_mode:
                    version = int((existing.get("Version") or {}).get("Index") or 0)
                    for warning in self.api.update_service(self.service_id, version, desired):
                        self.warnings.append(f"Swarm: {warning}")
                    updated = True
        if self.settings.check_mode or self.service_id is None:
            return self.result()
        self._wait(updated, before_status if existing else None)
        if not self.options.is_job or updated:
            self._drop_stale_configs({config.name for config in mapping.config_files(spec, self.options)})
        return self.result()

    def _remove(self, existing: Optional[dict[str, Any]]) -> dict[str, Any]:
        if existing is not None:
            self._act("remove service")
            if not self.settings.check_mode:
                self.api.remove_service(str(existing["ID"]), self.name)
                self._wait_stopped(str(existing["ID"]))
        if not self.settings.check_mode:
            self._drop_stale_configs(set())
        if self.settings.diff:
            self.diff = {"before": self._shown(mapping.normalized(existing["Spec"])) if existing else {}, "after": {}}
        return self.result()

    def _wait_stopped(self, service_id: str) -> None:
        """Until the removed service's tasks stopped, so that its network can go next (bounded by wait_timeout)."""
        timeout = self.settings.wait_timeout
        deadline = self.clock() + timeout if timeout else None
        while any(task_state(task) == "running" for task in self.api.tasks_of_removed(service_id, self.name)):
            if deadline is not None and self.clock() >= deadline:
                self.warnings.append(f"Tasks of the removed service {self.name} still run after wait_timeout")
                return
            time.sleep(POLL_SECONDS)

    def _shown(self, value: dict[str, Any]) -> dict[str, Any]:
        return dict(mask_secrets(value, self.spec.secrets)) if self.spec.secrets else value

    # ------------------------------------------------------------------ wait --
    def _down_nodes(self) -> set[str]:
        return {node_id for node_id, node in self.nodes.items() if (node.get("Status") or {}).get("State") == "down"}

    def _look(self) -> tuple[dict[str, Any], Progress]:
        service_id = self.service_id or ""
        service = self.api.service(service_id)
        if service is None:
            raise SwarmFailed(f"The service {self.name} disappeared during the run", self.result())
        self.tasks = current_tasks(service, self.api.tasks(service_id, up_to_date=not self.options.is_job))
        return service, progress(service, self.tasks, self._down_nodes())

    def _wait(self, updated: bool, before_status: Optional[str]) -> None:
        """Until the tasks run (or the job completed), then one monitor window when this run changed the service."""
        timeout = self.settings.wait_timeout
        deadline = self.clock() + timeout if timeout else None
        monitor = mapping.update_config(self.spec, self.options)["Monitor"] / mapping.SECOND if updated else 0.0
        restart = mapping.restart_policy(self.spec)
        stable_since: Optional[float] = None
        while True:
            service, current = self._look()
            fresh = (service.get("UpdateStatus") or {}).get("StartedAt") != before_status
            if updated and fresh and current.rolling_back and not self.rollback_reason:
                self.rollback_reason = current.update_message
            if updated and fresh and current.paused:
                self._fail(f"Swarm paused the update of {self.name}: {current.update_message}")
            if updated and fresh and current.rolled_back:
                reason = self.rollback_reason or current.update_message
                self._fail(f"Swarm rolled the update of {self.name} back ({reason}); the previous spec runs")
            if self.options.is_job:
                if job_failed(current, int(restart["MaxAttempts"]), str(restart["Condition"])):
                    self._collect_job(service)
                    self._fail(JOB_FAILED)
                if converged(current, True):
                    self._collect_job(service)
                    if any(self.exit_codes):
                        self._fail(JOB_FAILED)
                    return
            elif converged(current, False) and self._ready():
                now = self.clock()
                stable_since = now if stable_since is None else stable_since
                if now - stable_since >= monitor:
                    return
            else:
                stable_since = None
            if deadline is not None and self.clock() >= deadline:
                self._timed_out(current)
            time.sleep(POLL_SECONDS)

    def _timed_out(self, current: Progress) -> None:
        done = current.completed if self.options.is_job else current.running
        what = "completed" if self.options.is_job else "running"
        message = f"After wait_timeout ({self.settings.wait_timeout} s), {done} of {current.desired} tasks of {self.name} {what}"
        if current.pending:
            message += f"; tasks pending because: {current.pending_reason()}"
        if current.failures:
            errors = sorted(
                {str((task.get("Status") or {}).get("Err") or task_state(task)) for task in current.failures}
            )
            message += f"; failed tasks: {'; '.join(errors)}"
        self._fail(message)

    def _fail(self, message: str) -> None:
        raise SwarmFailed(message, self.result())

    def _collect_job(self, service: dict[str, Any]) -> None:
        finished = sorted(
            (task for task in self.tasks if exit_code(task) is not None), key=lambda task: task.get("Slot") or 0
        )
        self.exit_codes = [exit_code(task) or 0 for task in finished]
        logs = self.api.task_logs(str(service["ID"]), self.spec.tty, self.settings.log_lines)
        if self.spec.datasets and self.store_datasets is not None:
            for number, task in enumerate(finished, start=1):
                container = str(((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID") or "")
                node = self.nodes.get(str(task.get("NodeID"))) or {"ID": task.get("NodeID")}
                if container:
                    name = f"{self.name}.{task.get('Slot') or number}"
                    try:
                        stored = self.store_datasets(node, container, name)
                    except EngineError as exc:
                        self._fail(f"Storing the datasets of {name} through its node's engine failed: {exc}")
                    self.datasets.extend(stored)
                    self.actions.extend(
                        f"{self.name}: stored dataset {item.get('dataset')} version {item.get('version')}"
                        for item in stored
                    )
        failed = next((task for task in finished if exit_code(task)), None)
        chosen = failed or (finished[0] if finished else None)
        if chosen is not None:
            self.logs = logs.get(str(chosen["ID"]), [])

    # ------------------------------------------------------------------ report --
    def _endpoints(self) -> list[Endpoint]:
        result: list[Endpoint] = []
        manager = next((node for node in self.nodes.values() if (node.get("ManagerStatus") or {}).get("Leader")), None)
        for task in self.tasks:
            if task_state(task) != "running":
                continue
            node = self.nodes.get(str(task.get("NodeID"))) or {}
            address = (node.get("Status") or {}).get("Addr")
            if self.options.publish_mode == "ingress":
                address = ((manager or {}).get("Status") or {}).get("Addr") or address
            for service in self.spec.services:
                for port in service.ports:
                    if port.internal:
                        result.append(Endpoint(service.id, int(task.get("Slot") or 0), port, None, None))
                    else:
                        result.append(Endpoint(service.id, int(task.get("Slot") or 0), port, address, port.expose_as))
        return result

    def _ready(self) -> bool:
        return all(is_open(endpoint, None, False) for endpoint in self._endpoints())

    def result(self) -> dict[str, Any]:
        containers = []
        ordered = sorted(self.tasks, key=lambda item: (item.get("Slot") or 0, item.get("CreatedAt") or ""))
        for number, task in enumerate(ordered, start=1):
            if task.get("DesiredState") in ("shutdown", "remove") and task_state(task) not in FAILED_TASK_STATES:
                continue
            status = task.get("Status") or {}
            # Job tasks have no slot: they are numbered in the order Swarm made them.
            replica = task.get("Slot") or number
            containers.append(
                {
                    "name": f"{self.name}.{replica}",
                    "id": (status.get("ContainerStatus") or {}).get("ContainerID"),
                    "replica": replica,
                    "status": status.get("State"),
                    "image": ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image"),
                    "task_id": task.get("ID"),
                    "node_id": task.get("NodeID"),
                    "exit_code": exit_code(task) if status.get("State") != "running" else None,
                }
            )
        result: dict[str, Any] = {
            "changed": self.changed,
            "actions": list(self.actions),
            "containers": containers,
            "services": [endpoint.as_result() for endpoint in self._endpoints()],
            "warnings": list(self.warnings),
        }
        if self.service_id:
            result["swarm_service"] = {"id": self.service_id, "name": self.name, **self._version()}
        if self.options.is_job and self.exit_codes:
            result["exit_codes"] = list(self.exit_codes)
            result["exit_code"] = next((code for code in self.exit_codes if code), 0)
        if self.datasets:
            result["datasets"] = list(self.datasets)
        if self.logs:
            result["logs"] = mask_secrets(self.logs, self.spec.secrets) if self.spec.secrets else self.logs
        if self.diff is not None:
            result["diff"] = self.diff
        return result

    def _version(self) -> dict[str, Any]:
        try:
            service = self.api.service(self.service_id or "")
        except EngineError:
            return {}
        if service is None:
            return {}
        update = service.get("UpdateStatus") or {}
        return {"version": (service.get("Version") or {}).get("Index"), "update_state": update.get("State")}
