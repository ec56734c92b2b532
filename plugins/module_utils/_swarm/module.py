# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container module with ``orchestrator: swarm``: options in, result or failure out."""

from __future__ import annotations

from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._connection import DockerException, open_client
from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import RolloutPolicy
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, SpecError
from ansible_collections.polytope.core.plugins.module_utils._swarm.api import SwarmApi
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import SwarmOptions, check
from ansible_collections.polytope.core.plugins.module_utils._swarm.run import (
    RunSettings,
    SwarmFailed,
    SwarmRefused,
    SwarmRun,
)

NOTHING_CHANGED = "Invalid options, nothing was changed"


def swarm_options(params: dict[str, Any], rollout: RolloutPolicy) -> SwarmOptions:
    """The backend's options from the module's (validated before, with the rollout policy)."""
    return SwarmOptions(
        state=params["state"],
        network=params.get("network"),
        publish_mode=params.get("swarm_publish_mode") or "ingress",
        endpoint_mode=params.get("swarm_endpoint_mode") or "vip",
        publish_address=params["publish_address"],
        stop_timeout=params["stop_timeout"],
        project_dir=params.get("project_dir"),
        rollout=rollout,
    )


def run_swarm(module: Any, spec: ContainerSpec, settings: dict[str, Any], rollout: RolloutPolicy) -> None:
    params = module.params
    for secret in spec.secrets:
        module.no_log_values.add(secret)
    try:
        options = swarm_options(params, rollout)
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
