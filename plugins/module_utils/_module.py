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
from ansible_collections.polytope.core.plugins.module_utils._storage.copies import (
    CopyError,
    clean_stale,
    install_copies,
    remove_all,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import MountPlan, MountResolver
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import ProvisionError, Provisioner
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import RolloutPolicy, check_rollout
from ansible_collections.polytope.core.plugins.module_utils._rollout.run import ContainerRun, RunOptions, TaskFailed
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    ContainerSpec,
    Problems,
    SpecError,
    parse_spec,
)

NETWORK_NAME_EXPECTED = "letters, digits, '_', '.' and '-', starting with a letter or digit"


def _validate_run_options(params: dict[str, Any]) -> RolloutPolicy:
    problems = Problems()
    policy = check_rollout(problems, params.get("rollout"))
    if params["log_lines"] < 1:
        problems.add("log_lines", f"expected a number of lines >= 1, got {params['log_lines']}")
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
    keep = params.get("dataset_keep")
    if keep is not None and keep < 1:
        problems.add("dataset_keep", f"expected a number of versions >= 1, got {keep}")
    for option in ("dataset_store", "copy_dir"):
        value = params.get(option)
        if value is not None and not str(value).startswith("/"):
            problems.add(option, f"expected an absolute path, got {value!r}")
    problems.raise_if_any()
    return policy


def shares_filesystem(docker_host: str) -> bool:
    """Whether the engine sees this machine's files: only through a local socket, never over the network."""
    return docker_host.startswith("unix://")


def resolve_mounts(
    spec: ContainerSpec, params: dict[str, Any], settings: dict[str, Any], store: DatasetStore, pending: frozenset[str]
) -> MountPlan:
    """The spec's mounts as the engine at docker_host gets them (container_info predicts a run with the same)."""
    return MountResolver(
        spec,
        params.get("project_dir"),
        store,
        local_engine=is_local_engine(settings["docker_host"]),
        shared_filesystem=shares_filesystem(settings["docker_host"]),
        pending_paths=pending,
    ).resolve()


def _finish_copies(params: dict[str, Any], spec: Any, check_mode: bool) -> list[str]:
    """After a successful run: drop stale controller copies (all of them when the replicas are gone)."""
    if check_mode:
        return []
    removed = clean_stale(params.get("controller_copies"))
    actions = [f"removed the stale copy {path}" for path in removed]
    if params["state"] == "absent" or spec.scaling == 0:
        if remove_all(params["copy_dir"], spec.project, spec.id):
            actions.append("removed the copies of the controller's files")
    return actions


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
        policy = _validate_run_options(params)
        settings = connection_settings(params)
        local_engine = is_local_engine(settings["docker_host"])
    except SpecError as exc:
        module.fail_json(msg=f"Invalid options, nothing was changed: {exc}", problems=exc.problems, changed=False)
    if params.get("orchestrator") == "swarm":
        # Imported here: the Swarm backend and the language's masking it uses take about 0.15 s to import,
        # which every task on one engine would pay.
        from ansible_collections.polytope.core.plugins.module_utils._swarm.module import (  # pylint: disable=import-outside-toplevel
            run_swarm,
        )

        run_swarm(module, spec, settings, policy)
        return
    copy_actions: list[str] = []
    try:
        pending, copy_actions = install_copies(params.get("controller_copies"), module.check_mode)
    except CopyError as exc:
        module.fail_json(
            msg=f"Copying the controller's files failed, nothing else was changed: {exc}", changed=bool(copy_actions)
        )
    store = DatasetStore(params["dataset_store"])
    try:
        plan = resolve_mounts(spec, params, settings, store, pending)
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
        create=params.get("create"),
        network=params.get("network"),
        publish_address=params["publish_address"],
        check_mode=module.check_mode,
        diff=module._diff,
        local_engine=local_engine,
        engine_host=engine_address(settings["docker_host"]),
        rollout=policy,
        log_lines=params["log_lines"],
    )
    engine = Engine(client)
    provisioner = Provisioner(engine, spec, plan, store, params.get("dataset_keep"))
    try:
        if params["state"] != "absent" and spec.image is not None and spec.scaling > 0:
            provisioner.check()
    except (ProvisionError, EngineError) as exc:
        client.close()
        module.fail_json(msg=f"Invalid options, nothing was changed: {exc}", changed=False)
    run = ContainerRun(engine, spec, options, tuple(plan.binds), provisioner)
    run.report.actions.extend(copy_actions)
    run.report.changed = bool(copy_actions)
    try:
        result = run.run()
    except TaskFailed as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except EngineError as exc:
        if exc.lost:
            message = (
                f"Lost the Docker engine at {settings['docker_host']} during the run: {exc}. What runs there was "
                "left as it was; the next run repairs the change this one could not finish."
            )
        else:
            message = f"The engine refused a change: {exc}"
        module.fail_json(msg=message, **run.result())
    finally:
        client.close()
    finished = _finish_copies(params, spec, module.check_mode)
    if finished:
        result["actions"] = result["actions"] + finished
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
