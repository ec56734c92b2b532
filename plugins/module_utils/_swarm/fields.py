# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each field of the spec on a Swarm service: what it writes into the service spec, and what of it Swarm
cannot run (refused by ``check`` before anything on the swarm is touched).

``SERVICE_FIELDS`` has an entry for every field of the option table, in its order; ``service_spec`` and
``check`` go through it. Pure logic over plain dicts: no Ansible and no Docker objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import healthcheck_body
from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_DATASETS,
    aliases,
    datasets_label,
    owner_labels,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, Problems
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import (
    ENDPOINT_MODES,
    INSTANCE_TYPE_LABEL,
    MAX_NAME,
    PUBLISH_MODES,
    SECOND,
    SwarmOptions,
    config_files,
    config_refs,
    endpoint_spec,
    mounts,
    published_ports,
    resources,
    restart_policy,
    rollback_config,
    service_name,
    too_big,
    update_config,
    valid_service_name,
)
from ansible_collections.polytope.core.plugins.module_utils._swarm.nodes import check_node_engines


@dataclass
class ServiceBuild:
    """The service spec as the fields write it: the service, its task template and the task's container."""

    spec: ContainerSpec
    options: SwarmOptions
    network_id: str
    config_ids: dict[str, str]
    service: dict[str, Any]
    task: dict[str, Any]
    container: dict[str, Any]


def _writes_nothing(build: ServiceBuild) -> None:
    return None


def _refuses_nothing(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    return None


@dataclass(frozen=True)
class ServiceField:
    """How one field of the spec reaches a Swarm service, and what of it Swarm cannot run.

    ``elsewhere`` says where a field that writes nothing into the service spec takes effect instead.
    """

    write: Callable[[ServiceBuild], None] = _writes_nothing
    refuse: Callable[[ContainerSpec, SwarmOptions, Problems], None] = _refuses_nothing
    elsewhere: str = ""


def _write_command(build: ServiceBuild, key: str, value: Optional[tuple[str, ...]]) -> None:
    if value is not None:
        build.container[key] = list(value)


def _refuse_name(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    name = service_name(spec)
    if not valid_service_name(name):
        problems.add(
            "id", f"the service name {name!r} ([project-]id) must be a DNS label of at most {MAX_NAME} characters"
        )


def _write_mounts(build: ServiceBuild) -> None:
    build.container["Mounts"] = mounts(build.spec, build.options)
    build.container["Configs"] = config_refs(build.spec, build.options, build.config_ids)


def _refuse_mounts(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    for index, mount in enumerate(spec.mounts):
        option = f"mounts[{index}].source"
        if mount.type == "repo" and not options.project_dir:
            problems.add(option, "a repo mount needs project_dir")
        elif mount.type == "host" and not mount.source["path"].startswith("/") and not options.project_dir:
            problems.add(f"{option}.path", "a relative host path needs project_dir")
        elif mount.type == "volume":
            if mount.source.get("source") is not None:
                problems.add(f"{option}.source", "Swarm makes a node's volume itself; it cannot fill it first")
            if mount.source.get("create") != "when-missing":
                problems.add(f"{option}.create", "Swarm makes a missing volume on each node; only when-missing maps")
    for config in config_files(spec, options):
        reason = too_big(len(config.data))
        if reason:
            problems.add(config.option, f"{config.what} {reason}")


def _write_services(build: ServiceBuild) -> None:
    build.task["Networks"] = [{"Target": build.network_id, "Aliases": aliases(build.spec)}]
    build.service["EndpointSpec"] = endpoint_spec(build.spec, build.options)


def _refuse_services(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    if not published_ports(spec):
        return
    if options.endpoint_mode == "dnsrr" and options.publish_mode == "ingress":
        problems.add(
            "swarm_publish_mode",
            "Swarm publishes through the ingress routing mesh only with endpoint mode vip; "
            "use swarm_publish_mode=host with swarm_endpoint_mode=dnsrr",
        )
    if options.publish_address not in ("0.0.0.0", "::"):
        problems.add("publish_address", "Swarm publishes on every address of a node; leave publish_address unset")


def _write_datasets(build: ServiceBuild) -> None:
    if build.spec.datasets:
        # What the dataset store reads from a finished task's container on its node, as on one engine.
        build.container["Labels"][LABEL_DATASETS] = datasets_label(build.spec)


def _refuse_datasets(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    if spec.datasets and not options.node_engines:
        problems.add(
            "datasets",
            "a finished task's files are only on its node: set swarm_node_engines to say how to reach the nodes' engines",
        )
    if spec.datasets and not options.is_job:
        problems.add("datasets", "with orchestrator swarm, datasets are stored from jobs only (state completed)")


def _refuse_restart(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    if options.is_job and spec.restart.name == "always":
        problems.add(
            "restart.policy", "always with state completed would run a finished job again for ever; use on-failure"
        )


def _write_scaling(build: ServiceBuild) -> None:
    spec, options = build.spec, build.options
    if options.is_job:
        build.service["Mode"] = {
            "ReplicatedJob": {"MaxConcurrent": max(1, spec.scaling), "TotalCompletions": spec.scaling}
        }
    else:
        build.service["Mode"] = {"Replicated": {"Replicas": spec.scaling}}
        # Swarm refuses an update config on jobs.
        build.service["UpdateConfig"] = update_config(spec, options)
        build.service["RollbackConfig"] = rollback_config(spec, options)


def _refuse_unconfined(spec: ContainerSpec, options: SwarmOptions, problems: Problems) -> None:
    if spec.unconfined:
        problems.add("unconfined", "Swarm services cannot drop the seccomp and AppArmor profiles")


def _write_instance_type(build: ServiceBuild) -> None:
    placement: dict[str, Any] = {}
    if build.spec.instance_type:
        placement["Constraints"] = [f"node.labels.{INSTANCE_TYPE_LABEL} == {build.spec.instance_type}"]
    build.task["Placement"] = placement


def _write_healthcheck(build: ServiceBuild) -> None:
    health = healthcheck_body(build.spec.healthcheck)
    if health is not None:
        build.container["Healthcheck"] = health


def _write_env(build: ServiceBuild) -> None:
    build.container["Env"] = [f"{var.name}={var.value}" for var in build.spec.env]


# Every field of the spec (the option table's SPEC_FIELDS), in the table's order.
SERVICE_FIELDS: dict[str, ServiceField] = {
    "image": ServiceField(
        lambda build: build.container.update(Image=build.spec.image),
        elsewhere="resolved to a digest on the manager every run (run)",
    ),
    "id": ServiceField(refuse=_refuse_name, elsewhere="the service's name and labels"),
    "project": ServiceField(elsewhere="the service's name, labels and overlay network"),
    # Swarm's Args are Docker's Cmd, and its Command is Docker's Entrypoint.
    "cmd": ServiceField(lambda build: _write_command(build, "Args", build.spec.cmd)),
    "mounts": ServiceField(_write_mounts, _refuse_mounts),
    "env": ServiceField(_write_env),
    "workdir": ServiceField(lambda build: build.container.update(Dir=build.spec.workdir or "")),
    "entrypoint": ServiceField(lambda build: _write_command(build, "Command", build.spec.entrypoint)),
    "no_stdin": ServiceField(lambda build: build.container.update(OpenStdin=not build.spec.no_stdin)),
    "tty": ServiceField(lambda build: build.container.update(TTY=build.spec.tty)),
    "services": ServiceField(_write_services, _refuse_services, elsewhere="readiness probed where tasks run (run)"),
    "datasets": ServiceField(_write_datasets, _refuse_datasets, elsewhere="stored from finished tasks (datasets)"),
    "user": ServiceField(lambda build: build.container.update(User=build.spec.user or "")),
    "restart": ServiceField(lambda build: build.task.update(RestartPolicy=restart_policy(build.spec)), _refuse_restart),
    "scaling": ServiceField(_write_scaling),
    "unconfined": ServiceField(refuse=_refuse_unconfined, elsewhere="refused: Swarm keeps the profiles"),
    "update_image": ServiceField(elsewhere="the digest is resolved every run (run)"),
    "instance_type": ServiceField(_write_instance_type, elsewhere="a node with the label is required (run)"),
    "resources": ServiceField(lambda build: build.task.update(Resources=resources(build.spec))),
    "healthcheck": ServiceField(_write_healthcheck),
}


def check(spec: ContainerSpec, options: SwarmOptions) -> None:
    """Raise SpecError naming every option that Swarm cannot run as given; nothing has been touched yet."""
    problems = Problems()
    if options.publish_mode not in PUBLISH_MODES:
        problems.add("swarm_publish_mode", f"{options.publish_mode!r} is not one of {', '.join(PUBLISH_MODES)}")
    if options.endpoint_mode not in ENDPOINT_MODES:
        problems.add("swarm_endpoint_mode", f"{options.endpoint_mode!r} is not one of {', '.join(ENDPOINT_MODES)}")
    check_node_engines(problems, options.node_engines)
    if options.state in ("stopped", "restarted"):
        problems.add("state", f"{options.state} is not supported with orchestrator swarm; use started or scaling 0")
    for service_field in SERVICE_FIELDS.values():
        service_field.refuse(spec, options, problems)
    problems.raise_if_any()


def service_spec(
    spec: ContainerSpec,
    options: SwarmOptions,
    network_id: str,
    config_ids: Optional[dict[str, str]] = None,
    force_update: int = 0,
) -> dict[str, Any]:
    """The body of POST /services/create (and /update): the whole desired service."""
    container: dict[str, Any] = {"Labels": owner_labels(spec), "StopGracePeriod": options.stop_timeout * SECOND}
    task: dict[str, Any] = {"ContainerSpec": container, "ForceUpdate": force_update}
    build = ServiceBuild(
        spec,
        options,
        network_id,
        config_ids or {},
        service={"Name": service_name(spec), "Labels": owner_labels(spec), "TaskTemplate": task},
        task=task,
        container=container,
    )
    for service_field in SERVICE_FIELDS.values():
        service_field.write(build)
    return build.service
