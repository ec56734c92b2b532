# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container module with ``orchestrator: swarm``: options in, result or failure out."""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import DockerException, open_client
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DEFAULT_STORE, DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import MountPlan
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import ProvisionError, Provisioner
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import RolloutPolicy
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, SpecError
from ansible_collections.polytope.core.plugins.module_utils._swarm.api import SwarmApi
from ansible_collections.polytope.core.plugins.module_utils._swarm.datasets import dataset_configs
from ansible_collections.polytope.core.plugins.module_utils._swarm.fields import check
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import SwarmOptions
from ansible_collections.polytope.core.plugins.module_utils._swarm.nodes import node_engine_url
from ansible_collections.polytope.core.plugins.module_utils._swarm.run import (
    RunSettings,
    StoreDatasets,
    SwarmFailed,
    SwarmRefused,
    SwarmRun,
)

NOTHING_CHANGED = "Invalid options, nothing was changed"


def swarm_options(params: dict[str, Any], rollout: RolloutPolicy, spec: ContainerSpec) -> SwarmOptions:
    """The backend's options from the module's (validated before, with the rollout policy).

    SpecError when a dataset mount cannot be read from the store or cannot be Swarm configs.
    """
    return SwarmOptions(
        state=params["state"],
        network=params.get("network"),
        publish_mode=params.get("swarm_publish_mode") or "ingress",
        endpoint_mode=params.get("swarm_endpoint_mode") or "vip",
        publish_address=params["publish_address"],
        stop_timeout=params["stop_timeout"],
        project_dir=params.get("project_dir"),
        rollout=rollout,
        node_engines=params.get("swarm_node_engines"),
        dataset_configs=dataset_configs(spec, DatasetStore(params.get("dataset_store") or DEFAULT_STORE)),
    )


def _dataset_storer(
    params: dict[str, Any], spec: ContainerSpec, settings: dict[str, Any], options: SwarmOptions
) -> Optional[StoreDatasets]:
    """Stores a finished task's datasets through its node's engine, connected with docker_host's TLS settings."""
    if not spec.datasets:
        return None
    store = DatasetStore(params["dataset_store"])

    def store_from(node: dict[str, Any], container_id: str, name: str) -> list[dict[str, Any]]:
        url = node_engine_url(options.node_engines, node)
        if not url:
            raise EngineError(f"swarm_node_engines gives no engine for node {node.get('ID')}")
        try:
            client = open_client({**settings, "docker_host": url})
        except (DockerException, OSError) as exc:
            raise EngineError(f"reaching the engine of node {node.get('ID')} at {url}: {exc}") from exc
        try:
            provisioner = Provisioner(Engine(client), spec, MountPlan(), store, params.get("dataset_keep"))
            try:
                provisioner.secure(container_id, name, params["stop_timeout"])
            except ProvisionError as exc:
                raise EngineError(str(exc)) from exc
            return list(provisioner.stored)
        finally:
            client.close()

    return store_from


def run_swarm(module: Any, spec: ContainerSpec, settings: dict[str, Any], rollout: RolloutPolicy) -> None:
    params = module.params
    for secret in spec.secrets:
        module.no_log_values.add(secret)
    try:
        options = swarm_options(params, rollout, spec)
        check(spec, options)
    except SpecError as exc:
        module.fail_json(msg=f"{NOTHING_CHANGED}: {exc}", problems=exc.problems, changed=False)
    try:
        client = open_client(settings)
    except (DockerException, OSError) as exc:
        module.fail_json(msg=f"Cannot reach the Docker engine at {settings['docker_host']}: {exc}", changed=False)
    run = SwarmRun(
        SwarmApi(client),
        spec,
        options,
        RunSettings(
            wait_timeout=params["wait_timeout"],
            recreate=params["recreate"],
            absent=params["state"] == "absent",
            check_mode=module.check_mode,
            diff=module._diff,
            log_lines=params["log_lines"],
        ),
        store_datasets=_dataset_storer(params, spec, settings, options),
    )
    try:
        result = run.run()
    except SwarmRefused as exc:
        module.fail_json(msg=f"{NOTHING_CHANGED}: {exc}", changed=False)
    except SwarmFailed as exc:
        for warning in exc.result.pop("warnings", []):
            module.warn(warning)
        module.fail_json(msg=str(exc), **exc.result)
    except EngineError as exc:
        module.fail_json(msg=f"The swarm refused a change: {exc}", **run.result())
    finally:
        client.close()
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
