# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container_info module with ``orchestrator: swarm``: the services of an id or a project and their tasks,
and, given a spec, what a run of the container module would change (the Swarm backend's run in check mode)."""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import DockerException, open_client
from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError
from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_ID,
    LABEL_MANAGED,
    LABEL_PROJECT,
    MANAGED_BY,
)
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import check_rollout
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, Problems, SpecError
from ansible_collections.polytope.core.plugins.module_utils._swarm import fields, mapping
from ansible_collections.polytope.core.plugins.module_utils._swarm.api import SwarmApi
from ansible_collections.polytope.core.plugins.module_utils._swarm.module import swarm_options
from ansible_collections.polytope.core.plugins.module_utils._swarm.progress import exit_code, is_job, task_state
from ansible_collections.polytope.core.plugins.module_utils._swarm.run import RunSettings, SwarmRefused, SwarmRun


class SwarmInspectionRefused(Exception):
    """The engine is no manager, or the spec cannot run on Swarm; the message says why."""


def task_entry(task: dict[str, Any], job: bool) -> dict[str, Any]:
    status = task.get("Status") or {}
    finished = task_state(task) not in ("running", "new", "pending", "assigned", "accepted", "preparing", "starting")
    return {
        "task_id": task.get("ID"),
        "slot": task.get("Slot"),
        "node_id": task.get("NodeID"),
        "state": status.get("State"),
        "desired_state": task.get("DesiredState"),
        "container": (status.get("ContainerStatus") or {}).get("ContainerID"),
        "image": ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image"),
        # A job's finished tasks say how they ended; a replicated service's tasks are meant to run.
        "exit_code": exit_code(task) if job and finished else None,
        "error": status.get("Err"),
        "version": (task.get("Version") or {}).get("Index"),
    }


def service_entry(service: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    spec = service.get("Spec") or {}
    labels = spec.get("Labels") or {}
    job = is_job(service)
    ordered = sorted(tasks, key=lambda task: (task.get("Slot") or 0, task.get("CreatedAt") or ""))
    return {
        "name": spec.get("Name"),
        "service": service.get("ID"),
        "project": labels.get(LABEL_PROJECT) or None,
        "id": labels.get(LABEL_ID),
        "mode": "replicated-job" if job else "replicated",
        "version": (service.get("Version") or {}).get("Index"),
        "update_state": (service.get("UpdateStatus") or {}).get("State"),
        "tasks": [task_entry(task, job) for task in ordered],
    }


def read_services(api: SwarmApi, project: Optional[str], container_id: Optional[str]) -> list[dict[str, Any]]:
    """The services this collection made for the id (in the project), or for every id of the project."""
    labels = {LABEL_MANAGED: MANAGED_BY, LABEL_PROJECT: project or ""}
    if container_id is not None:
        labels[LABEL_ID] = container_id
    found = [
        service
        for service in api.all_services(labels)
        # The label filter also matches a label given without a value; an unset project is the empty one.
        if ((service.get("Spec") or {}).get("Labels") or {}).get(LABEL_PROJECT, "") == (project or "")
    ]
    entries = [service_entry(service, api.tasks(str(service["ID"]), up_to_date=False)) for service in found]
    return sorted(entries, key=lambda entry: str(entry["name"]))


def would_change(api: SwarmApi, spec: ContainerSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The Swarm backend's own run of ``params`` in check mode: whether it would change the service, and how."""
    problems = Problems()
    policy = check_rollout(problems, params.get("rollout"))
    problems.raise_if_any()
    options = swarm_options(params, policy, spec)
    fields.check(spec, options)
    settings = RunSettings(
        recreate=bool(params.get("recreate")), absent=params.get("state") == "absent", check_mode=True
    )
    try:
        result = SwarmRun(api, spec, options, settings).run()
    except SwarmRefused as exc:
        raise SwarmInspectionRefused(str(exc)) from exc
    return {
        "changes": bool(result["changed"]),
        "service": mapping.service_name(spec),
        "actions": list(result["actions"]),
        "warnings": list(result["warnings"]),
    }


def read_swarm(
    api: SwarmApi,
    project: Optional[str],
    container_id: Optional[str],
    spec: Optional[ContainerSpec],
    spec_params: Optional[dict[str, Any]],
) -> dict[str, Any]:
    refusal = mapping.manager_refusal(api.info())
    if refusal:
        raise SwarmInspectionRefused(refusal)
    result: dict[str, Any] = {
        "changed": False,
        "project": project,
        "id": container_id,
        "swarm_services": read_services(api, project, container_id),
    }
    if spec is not None and spec_params is not None:
        result["plan"] = would_change(api, spec, spec_params)
    return result


def run_swarm_info(
    module: Any,
    settings: dict[str, Any],
    project: Optional[str],
    container_id: Optional[str],
    spec: Optional[ContainerSpec],
) -> None:
    """The Ansible side of ``read_swarm``: never changes anything."""
    spec_params = module.params.get("spec")
    try:
        client = open_client(settings)
    except (DockerException, OSError) as exc:
        module.fail_json(msg=f"Cannot reach the Docker engine at {settings['docker_host']}: {exc}", changed=False)
    try:
        result = read_swarm(SwarmApi(client), project, container_id, spec, spec_params)
    except SpecError as exc:
        module.fail_json(msg=f"Invalid spec: {exc}", problems=exc.problems, changed=False)
    except SwarmInspectionRefused as exc:
        module.fail_json(msg=str(exc), changed=False)
    except EngineError as exc:
        module.fail_json(msg=f"Reading the swarm at {settings['docker_host']} failed: {exc}", changed=False)
    finally:
        client.close()
    for warning in (result.get("plan") or {}).pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
