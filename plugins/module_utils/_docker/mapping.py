# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mapping of a validated spec to Docker Engine API bodies, the spec fingerprint, and drift detection.

Pure logic over plain dicts (the engine's JSON), so it is unit-tested without an engine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_DATASETS,
    LABEL_FINGERPRINT,
    LABEL_REPLICA,
    aliases,
    datasets_label,
    owner_labels,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, Healthcheck

# Bump only with a changelog entry: a new version replaces every running replica on upgrade.
FINGERPRINT_VERSION = "1"

RESOURCE_FIELDS = ("NanoCpus", "CpuShares", "Memory", "MemoryReservation")
# What `unconfined` sets; without it the engine applies its default seccomp and AppArmor profiles.
UNCONFINED_SECURITY_OPT = ("seccomp=unconfined", "apparmor=unconfined")


@dataclass(frozen=True)
class Placement:
    """Where and how the replicas are attached: not part of the card's spec, but of the containers."""

    network: str
    publish_address: str = "0.0.0.0"
    # Resolved mounts as Docker Mounts entries (sources are made absolute by the caller).
    mounts: tuple[dict[str, Any], ...] = ()
    # Mounts made through the engine API (volumes, strings, datasets, copied project files), described by
    # what they are and a digest of their contents: the same for every replica (see _mounts).
    contents: tuple[dict[str, Any], ...] = ()


def _secret_digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def canonical_spec(spec: ContainerSpec, placement: Placement) -> dict[str, Any]:
    """What a replica is made of and cannot change in place; its hash is the fingerprint.

    Resources and the restart policy are left out: they change in place. Secret values enter only as
    digests so the canonical form can be shown without leaking them.
    """
    canonical: dict[str, Any] = {
        "version": FINGERPRINT_VERSION,
        "image": spec.image,
        "cmd": list(spec.cmd) if spec.cmd is not None else None,
        "entrypoint": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "env": [[var.name, _secret_digest(var.value) if var.secret else var.value] for var in spec.env],
        "workdir": spec.workdir,
        "user": spec.user,
        "tty": spec.tty,
        "no_stdin": spec.no_stdin,
        "ports": [
            [service.id, port.port, port.protocol, port.expose_as, port.internal]
            for service in spec.services
            for port in service.ports
        ],
        "mounts": [dict(sorted(mount.items())) for mount in placement.mounts],
        "datasets": [[d.path, d.dataset, d.sink_path, d.info] for d in spec.datasets],
        "network": placement.network,
        "publish_address": placement.publish_address,
    }
    if placement.contents:
        # Only when present, so that fingerprints of specs without such mounts stay what they were.
        canonical["mount_contents"] = [json.loads(json.dumps(item, sort_keys=True)) for item in placement.contents]
    if spec.unconfined:
        # Only when set, for the same reason: confined replicas of older versions must keep their fingerprint.
        canonical["unconfined"] = True
    if spec.healthcheck is not None:
        # Only when set, for the same reason: a replica that relies on its image's check keeps its fingerprint.
        canonical["healthcheck"] = healthcheck_body(spec.healthcheck)
    return canonical


def fingerprint(spec: ContainerSpec, placement: Placement) -> str:
    text = json.dumps(canonical_spec(spec, placement), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def labels_for(spec: ContainerSpec, replica: int, spec_fingerprint: str) -> dict[str, str]:
    labels = {**owner_labels(spec), LABEL_REPLICA: str(replica), LABEL_FINGERPRINT: spec_fingerprint}
    if spec.datasets:
        labels[LABEL_DATASETS] = datasets_label(spec)
    return labels


def restart_policy(spec: ContainerSpec) -> dict[str, Any]:
    return {"Name": spec.restart.name, "MaximumRetryCount": spec.restart.max_restarts}


def resource_fields(spec: ContainerSpec) -> dict[str, int]:
    return {
        "NanoCpus": spec.resources.nano_cpus,
        "CpuShares": spec.resources.cpu_shares,
        "Memory": spec.resources.memory,
        "MemoryReservation": spec.resources.memory_reservation,
    }


def memory_swap(memory: int) -> int:
    # Swap equal to memory means no swap: the limit is a hard limit, as in Kubernetes. Setting it
    # explicitly also lets a later `docker update` raise memory in one call.
    return memory if memory else 0


def port_bindings(spec: ContainerSpec, replica: int, publish_address: str) -> dict[str, list[dict[str, str]]]:
    bindings: dict[str, list[dict[str, str]]] = {}
    for service in spec.services:
        for port in service.ports:
            if port.internal:
                continue
            host_port = str(port.expose_as) if replica == 1 else ""
            bindings.setdefault(port.docker_key, []).append({"HostIp": publish_address, "HostPort": host_port})
    return bindings


def healthcheck_body(healthcheck: Optional[Healthcheck]) -> Optional[dict[str, Any]]:
    """Docker's API ``Healthcheck`` (durations in nanoseconds); None when the spec leaves it to the image."""
    if healthcheck is None:
        return None
    return {
        "Test": list(healthcheck.test),
        "Interval": healthcheck.interval,
        "Timeout": healthcheck.timeout,
        "Retries": healthcheck.retries,
        "StartPeriod": healthcheck.start_period,
    }


@dataclass
class Build:
    """The create body of one replica as the fields write it."""

    spec: ContainerSpec
    replica: int
    placement: Placement
    body: dict[str, Any]
    host_config: dict[str, Any]


@dataclass(frozen=True)
class Inspected:
    """One replica's ``docker inspect``, in the parts the fields read."""

    config: dict[str, Any]
    host_config: dict[str, Any]
    networks: dict[str, Any]
    placement: Placement


@dataclass
class Drift:
    """How a replica on the engine differs from the desired spec."""

    replace: list[str] = field(default_factory=list)
    update: dict[str, Any] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        return not self.replace and not self.update


def _writes_nothing(build: Build) -> None:
    return None


def _always_same(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    return None


@dataclass(frozen=True)
class ContainerField:
    """How one field of the spec reaches a container: its part of the create body, and how a replica's
    inspect shows that it differs (a reason to replace the replica, or a change the engine makes in place).

    ``elsewhere`` says where a field that writes nothing into the body takes effect instead.
    """

    write: Callable[[Build], None] = _writes_nothing
    compare: Callable[[ContainerSpec, Inspected, Drift], None] = _always_same
    elsewhere: str = ""


def _write_command(build: Build, key: str, value: Optional[tuple[str, ...]]) -> None:
    if value is not None:
        build.body[key] = list(value)


def _compare_command(key: str, option: str) -> Callable[[ContainerSpec, Inspected, Drift], None]:
    def compare_command(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
        value = getattr(spec, option)
        if value is not None and (inspected.config.get(key) or []) != list(value):
            drift.replace.append(f"{option} differs")

    return compare_command


def _write_env(build: Build) -> None:
    build.body["Env"] = [f"{var.name}={var.value}" for var in build.spec.env]


def _compare_env(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    actual = set(inspected.config.get("Env") or [])
    if any(f"{var.name}={var.value}" not in actual for var in spec.env):
        drift.replace.append("env differs")


def _compare_no_stdin(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    if bool(inspected.config.get("OpenStdin")) != (not spec.no_stdin):
        drift.replace.append("no_stdin differs")


def _compare_tty(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    if bool(inspected.config.get("Tty")) != spec.tty:
        drift.replace.append("tty differs")


def _write_services(build: Build) -> None:
    spec = build.spec
    build.body["ExposedPorts"] = {port.docker_key: {} for service in spec.services for port in service.ports}
    build.host_config["PortBindings"] = port_bindings(spec, build.replica, build.placement.publish_address)
    build.body["NetworkingConfig"] = {"EndpointsConfig": {build.placement.network: {"Aliases": aliases(spec)}}}


def _compare_network(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    network = inspected.networks.get(inspected.placement.network)
    if network is None:
        drift.replace.append(f"not attached to network {inspected.placement.network}")
        return
    names = set(network.get("Aliases") or []) | set(network.get("DNSNames") or [])
    if not set(aliases(spec)) <= names:
        drift.replace.append("network aliases differ")


def _write_unconfined(build: Build) -> None:
    if build.spec.unconfined:
        build.host_config["SecurityOpt"] = list(UNCONFINED_SECURITY_OPT)


def _compare_unconfined(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    if unconfined_options(inspected.host_config) != (set(UNCONFINED_SECURITY_OPT) if spec.unconfined else set()):
        drift.replace.append("unconfined differs (security options cannot change in place)")


def _write_resources(build: Build) -> None:
    resources = resource_fields(build.spec)
    build.host_config.update(resources)
    if resources["Memory"]:
        build.host_config["MemorySwap"] = memory_swap(resources["Memory"])


def _compare_resources(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    desired = resource_fields(spec)
    changed: dict[str, int] = {}
    for name in RESOURCE_FIELDS:
        actual = int(inspected.host_config.get(name) or 0)
        wanted = desired[name]
        if actual == wanted:
            continue
        if not wanted:
            drift.replace.append(f"{name} limit removed (the engine cannot remove it in place)")
        else:
            changed[name] = wanted
    if changed:
        drift.update.update(changed)
        if "Memory" in changed and desired["Memory"]:
            drift.update["MemorySwap"] = memory_swap(desired["Memory"])


def _write_restart(build: Build) -> None:
    build.host_config["RestartPolicy"] = restart_policy(build.spec)


def _compare_restart(spec: ContainerSpec, inspected: Inspected, drift: Drift) -> None:
    if _normalized_restart(inspected.host_config.get("RestartPolicy")) != (
        spec.restart.name,
        spec.restart.max_restarts,
    ):
        drift.update["RestartPolicy"] = restart_policy(spec)


def _write_healthcheck(build: Build) -> None:
    health = healthcheck_body(build.spec.healthcheck)
    if health is not None:
        build.body["Healthcheck"] = health


# Every field of the spec (the option table's SPEC_FIELDS), in the table's order. A field without a
# comparison of its own is still in the fingerprint: a replica made from another value is replaced.
CONTAINER_FIELDS: dict[str, ContainerField] = {
    "image": ContainerField(
        lambda build: build.body.update(Image=build.spec.image),
        elsewhere="the image the tag resolves to is compared by id (replicas)",
    ),
    "id": ContainerField(elsewhere="the replicas' names and labels"),
    "project": ContainerField(elsewhere="the replicas' names, labels and default network"),
    "cmd": ContainerField(lambda build: _write_command(build, "Cmd", build.spec.cmd), _compare_command("Cmd", "cmd")),
    "mounts": ContainerField(
        lambda build: build.host_config.update(Mounts=[dict(mount) for mount in build.placement.mounts]),
        elsewhere="sources resolved and filled by the mount resolver and provisioner",
    ),
    "env": ContainerField(_write_env, _compare_env),
    "workdir": ContainerField(lambda build: build.body.update(WorkingDir=build.spec.workdir or "")),
    "entrypoint": ContainerField(
        lambda build: _write_command(build, "Entrypoint", build.spec.entrypoint),
        _compare_command("Entrypoint", "entrypoint"),
    ),
    "no_stdin": ContainerField(
        lambda build: build.body.update(OpenStdin=not build.spec.no_stdin, StdinOnce=False), _compare_no_stdin
    ),
    "tty": ContainerField(lambda build: build.body.update(Tty=build.spec.tty), _compare_tty),
    "services": ContainerField(_write_services, _compare_network, elsewhere="readiness probes (rollout)"),
    "datasets": ContainerField(elsewhere="the datasets label, and the provisioner when a replica has exited"),
    "user": ContainerField(lambda build: build.body.update(User=build.spec.user or "")),
    "restart": ContainerField(_write_restart, _compare_restart),
    "scaling": ContainerField(elsewhere="one container a replica (replicas)"),
    "unconfined": ContainerField(_write_unconfined, _compare_unconfined),
    "update_image": ContainerField(elsewhere="a pull before the replicas are planned (rollout run)"),
    "instance_type": ContainerField(elsewhere="checked against the engine's polytope.instance-type label"),
    "resources": ContainerField(_write_resources, _compare_resources),
    "healthcheck": ContainerField(_write_healthcheck, elsewhere="readiness waits for healthy (rollout)"),
}


def create_body(
    spec: ContainerSpec,
    replica: int,
    placement: Placement,
    spec_fingerprint: str,
) -> dict[str, Any]:
    """The body of POST /containers/create for one replica."""
    build = Build(
        spec,
        replica,
        placement,
        body={
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "Labels": labels_for(spec, replica, spec_fingerprint),
        },
        host_config={"NetworkMode": placement.network},
    )
    for container_field in CONTAINER_FIELDS.values():
        container_field.write(build)
    build.body["HostConfig"] = build.host_config
    return build.body


def _normalized_restart(policy: Optional[dict[str, Any]]) -> tuple[str, int]:
    policy = policy or {}
    name = policy.get("Name") or "no"
    return name, int(policy.get("MaximumRetryCount") or 0) if name == "on-failure" else 0


def unconfined_options(host_config: dict[str, Any]) -> set[str]:
    """The unconfined security options a container has; older clients wrote them with ':' instead of '='."""
    given = {option.replace(":", "=", 1) for option in host_config.get("SecurityOpt") or []}
    return given & set(UNCONFINED_SECURITY_OPT)


def compare(
    inspect: dict[str, Any],
    spec: ContainerSpec,
    placement: Placement,
    spec_fingerprint: str,
    image_id: str,
) -> Drift:
    """Compare one replica's `docker inspect` with the desired spec."""
    drift = Drift()
    config = inspect.get("Config") or {}
    if (config.get("Labels") or {}).get(LABEL_FINGERPRINT) != spec_fingerprint:
        drift.replace.append("the spec changed")
    if inspect.get("Image") != image_id:
        drift.replace.append(f"{spec.image} now resolves to another image")
    inspected = Inspected(
        config,
        inspect.get("HostConfig") or {},
        (inspect.get("NetworkSettings") or {}).get("Networks") or {},
        placement,
    )
    for container_field in CONTAINER_FIELDS.values():
        container_field.compare(spec, inspected, drift)
    return drift
