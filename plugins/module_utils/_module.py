# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible side of the container module: options in, result or failure out."""

from __future__ import annotations

import ipaddress
from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    DockerException,
    connection_settings,
    engine_address,
    is_local_engine,
    open_client,
)
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError
from ansible_collections.polytope.core.plugins.module_utils._runner import (
    ContainerRun,
    RunOptions,
    TaskFailed,
    resolve_host_mounts,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    Problems,
    SpecError,
    parse_spec,
)

NETWORK_NAME_EXPECTED = "letters, digits, '_', '.' and '-', starting with a letter or digit"


def _validate_run_options(params: dict[str, Any]) -> None:
    problems = Problems()
    for option in ("wait_timeout", "stop_timeout"):
        if params[option] < 0:
            problems.add(option, f"expected a number of seconds >= 0, got {params[option]}")
    network = params.get("network")
    if network is not None and (
        not network or not (network[0].isalnum() and all(c.isalnum() or c in "_.-" for c in network))
    ):
        problems.add("network", f"{network!r} is not a valid network name; expected {NETWORK_NAME_EXPECTED}")
    try:
        ipaddress.ip_address(params["publish_address"])
    except ValueError:
        problems.add("publish_address", f"{params['publish_address']!r} is not an IP address")
    problems.raise_if_any()


def run_module(module: Any) -> None:
    params = module.params
    env = params.get("env")
    # Secret env values are masked by Ansible wherever they would appear, invocation included.
    if isinstance(env, list):
        for item in env:
            if isinstance(item, dict) and item.get("secret") and item.get("value") not in (None, ""):
                module.no_log_values.add(str(item["value"]))
    try:
        spec = parse_spec(params)
        _validate_run_options(params)
        settings = connection_settings(params)
        local_engine = is_local_engine(settings["docker_host"])
        mounts = resolve_host_mounts(spec, params.get("project_dir"), local_engine)
    except SpecError as exc:
        module.fail_json(msg=f"Invalid options, nothing was changed: {exc}", problems=exc.problems, changed=False)
    for secret in spec.secrets:
        module.no_log_values.add(secret)
    try:
        client = open_client(settings)
    except (DockerException, OSError) as exc:
        module.fail_json(msg=f"Cannot reach the Docker engine at {settings['docker_host']}: {exc}", changed=False)
    options = RunOptions(
        state=params["state"],
        wait_timeout=params["wait_timeout"],
        stop_timeout=params["stop_timeout"],
        recreate=params["recreate"],
        network=params.get("network"),
        publish_address=params["publish_address"],
        project_dir=params.get("project_dir"),
        check_mode=module.check_mode,
        diff=module._diff,
        local_engine=local_engine,
        engine_host=engine_address(settings["docker_host"]),
    )
    run = ContainerRun(Engine(client), spec, options, mounts)
    try:
        result = run.run()
    except TaskFailed as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except EngineError as exc:
        module.fail_json(msg=f"The engine refused a change: {exc}", **run.result())
    finally:
        client.close()
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
