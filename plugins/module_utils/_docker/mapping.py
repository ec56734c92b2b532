# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mapping of a validated spec to Docker Engine API bodies, the spec fingerprint, and drift detection.

Pure logic over plain dicts (the engine's JSON), so it is unit-tested without an engine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_DATASETS,
    LABEL_FINGERPRINT,
    LABEL_ID,
    LABEL_MANAGED,
    LABEL_PROJECT,
    LABEL_REPLICA,
    MANAGED_BY,
    aliases,
    datasets_label,
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
    labels = {
        LABEL_MANAGED: MANAGED_BY,
        LABEL_PROJECT: spec.project or "",
        LABEL_ID: spec.id,
        LABEL_REPLICA: str(replica),
        LABEL_FINGERPRINT: spec_fingerprint,
    }
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


def create_body(
    spec: ContainerSpec,
    replica: int,
    placement: Placement,
    spec_fingerprint: str,
) -> dict[str, Any]:
    """The body of POST /containers/create for one replica."""
    exposed: dict[str, dict[str, Any]] = {port.docker_key: {} for service in spec.services for port in service.ports}
    resources = resource_fields(spec)
    host_config: dict[str, Any] = {
        "NetworkMode": placement.network,
        "PortBindings": port_bindings(spec, replica, placement.publish_address),
        "RestartPolicy": restart_policy(spec),
        "Mounts": [dict(mount) for mount in placement.mounts],
        **resources,
    }
    if resources["Memory"]:
        host_config["MemorySwap"] = memory_swap(resources["Memory"])
    if spec.unconfined:
        host_config["SecurityOpt"] = list(UNCONFINED_SECURITY_OPT)
    body: dict[str, Any] = {
        "Image": spec.image,
        "Env": [f"{var.name}={var.value}" for var in spec.env],
        "WorkingDir": spec.workdir or "",
        "User": spec.user or "",
        "Tty": spec.tty,
        "OpenStdin": not spec.no_stdin,
        "StdinOnce": False,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Labels": labels_for(spec, replica, spec_fingerprint),
        "ExposedPorts": exposed,
        "HostConfig": host_config,
        "NetworkingConfig": {"EndpointsConfig": {placement.network: {"Aliases": aliases(spec)}}},
    }
    if spec.cmd is not None:
        body["Cmd"] = list(spec.cmd)
    if spec.entrypoint is not None:
        body["Entrypoint"] = list(spec.entrypoint)
    health = healthcheck_body(spec.healthcheck)
    if health is not None:
        body["Healthcheck"] = health
    return body


@dataclass
class Drift:
    """How a replica on the engine differs from the desired spec."""

    replace: list[str] = field(default_factory=list)
    update: dict[str, Any] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        return not self.replace and not self.update


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
    host_config = inspect.get("HostConfig") or {}
    labels = config.get("Labels") or {}
    if labels.get(LABEL_FINGERPRINT) != spec_fingerprint:
        drift.replace.append("the spec changed")
    if inspect.get("Image") != image_id:
        drift.replace.append(f"{spec.image} now resolves to another image")
    if spec.cmd is not None and (config.get("Cmd") or []) != list(spec.cmd):
        drift.replace.append("cmd differs")
    if spec.entrypoint is not None and (config.get("Entrypoint") or []) != list(spec.entrypoint):
        drift.replace.append("entrypoint differs")
    actual_env = set(config.get("Env") or [])
    if any(f"{var.name}={var.value}" not in actual_env for var in spec.env):
        drift.replace.append("env differs")
    if bool(config.get("Tty")) != spec.tty or bool(config.get("OpenStdin")) != (not spec.no_stdin):
        drift.replace.append("tty or stdin differs")
    network = ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(placement.network)
    if network is None:
        drift.replace.append(f"not attached to network {placement.network}")
    else:
        names = set(network.get("Aliases") or []) | set(network.get("DNSNames") or [])
        if not set(aliases(spec)) <= names:
            drift.replace.append("network aliases differ")
    if unconfined_options(host_config) != (set(UNCONFINED_SECURITY_OPT) if spec.unconfined else set()):
        drift.replace.append("unconfined differs (security options cannot change in place)")

    desired_resources = resource_fields(spec)
    changed_resources: dict[str, int] = {}
    for name in RESOURCE_FIELDS:
        actual = int(host_config.get(name) or 0)
        wanted = desired_resources[name]
        if actual == wanted:
            continue
        if not wanted:
            drift.replace.append(f"{name} limit removed (the engine cannot remove it in place)")
        else:
            changed_resources[name] = wanted
    if changed_resources:
        drift.update.update(changed_resources)
        memory = desired_resources["Memory"]
        if "Memory" in changed_resources and memory:
            drift.update["MemorySwap"] = memory_swap(memory)
    if _normalized_restart(host_config.get("RestartPolicy")) != (spec.restart.name, spec.restart.max_restarts):
        drift.update["RestartPolicy"] = restart_policy(spec)
    return drift
