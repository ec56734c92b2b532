# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The frozen spec as a Swarm service spec (the Engine API's ServiceSpec), and the comparison with a stored one.

The pieces the fields (see ``fields``) build a service from: names, configs, mounts, resources, the restart
policy, update and rollback config; and the normalised comparison of a desired and a stored service spec.
Pure logic over plain dicts: no Ansible and no Docker objects.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_MANAGED,
    MANAGED_BY,
    default_network,
    owner_labels,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import volume_base_name
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import (
    ROLLBACK,
    RolloutPolicy,
    resolve_parallelism,
    starts_first,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec

SECOND = 10**9
INSTANCE_TYPE_LABEL = "polytope.instance-type"
PUBLISH_MODES = ("ingress", "host")
ENDPOINT_MODES = ("vip", "dnsrr")
RESTART_CONDITIONS = {"no": "none", "always": "any", "on-failure": "on-failure"}
# Swarm's own pause between restarts (the CLI's default): without it a crashing task restarts at once.
RESTART_DELAY = 5 * SECOND
# swarmkit refuses a config above 500 KiB (MaxConfigSize).
MAX_CONFIG_SIZE = 500 * 1024
# A service name is one DNS label.
MAX_NAME = 63
_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9])*")
LABEL_CONFIG_DIGEST = "polytope.config-digest"
# The labels of the attachable overlay network the backend (and the network module) makes.
OVERLAY_LABELS = {LABEL_MANAGED: MANAGED_BY}


@dataclass(frozen=True)
class ConfigFile:
    """A file of a string or dataset mount as a Swarm config: its name carries a digest of the content, so new
    content is a new config (a config cannot change)."""

    name: str
    path: str
    data: bytes
    # The mount it comes from (such as mounts[2]), and what it is, for errors.
    option: str = "mounts"
    what: str = ""
    mode: int = 0o444

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def config_name(service: str, data: bytes) -> str:
    return f"{service}-{hashlib.sha256(data).hexdigest()[:12]}"


def too_big(config_size: int) -> Optional[str]:
    """Why a config of this many bytes cannot be made; None when it can."""
    if config_size > MAX_CONFIG_SIZE:
        return f"is {config_size} bytes, above Swarm's limit of {MAX_CONFIG_SIZE} bytes (500 KiB) for a config"
    return None


@dataclass(frozen=True)
class SwarmOptions:
    """What the module gives the backend besides the spec."""

    state: str = "started"
    network: Optional[str] = None
    publish_mode: str = "ingress"
    endpoint_mode: str = "vip"
    publish_address: str = "0.0.0.0"
    stop_timeout: int = 10
    project_dir: Optional[str] = None
    rollout: RolloutPolicy = field(default_factory=RolloutPolicy)
    # swarm_node_engines: how to reach a node's engine (see _swarm.nodes)
    node_engines: Any = None
    # The files of the dataset mounts, read from the dataset store where the module runs (see _swarm.datasets).
    dataset_configs: tuple[ConfigFile, ...] = ()

    @property
    def is_job(self) -> bool:
        return self.state == "completed"


def service_name_of(project: Optional[str], service_id: str) -> str:
    """``<project>-<id>``, or ``<id>``: Swarm refuses the dots of container names in service names."""
    return f"{project}-{service_id}" if project else service_id


def service_name(spec: ContainerSpec) -> str:
    return service_name_of(spec.project, spec.id)


def valid_service_name(name: str) -> bool:
    return len(name) <= MAX_NAME and bool(_NAME_PATTERN.fullmatch(name))


def manager_refusal(info: dict[str, Any]) -> Optional[str]:
    """Why the engine (its ``docker info``) cannot manage Swarm services; None for a manager."""
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        return (
            "orchestrator: the engine at docker_host is not part of a swarm "
            f"(state {swarm.get('LocalNodeState') or 'inactive'}); point docker_host at a swarm manager"
        )
    if not swarm.get("ControlAvailable"):
        return "orchestrator: the engine at docker_host is a swarm worker; point docker_host at a manager"
    return None


def overlay_refusal(name: str, network: dict[str, Any]) -> Optional[str]:
    """Why an existing network cannot be a project network of Swarm services; None when it can."""
    if network.get("Driver") != "overlay" or network.get("Scope") != "swarm":
        return (
            f"network: {name} exists as a {network.get('Scope')} {network.get('Driver')} network; "
            "Swarm services need an attachable overlay network"
        )
    return None


def network_name(spec: ContainerSpec, options: SwarmOptions) -> str:
    return options.network or default_network(spec.project)


def config_files(spec: ContainerSpec, options: SwarmOptions) -> list[ConfigFile]:
    """The string mounts, then the files of the dataset mounts, as Swarm configs."""
    files = []
    for index, mount in enumerate(spec.mounts):
        if mount.type == "string":
            data = mount.source["data"].encode("utf-8")
            files.append(
                ConfigFile(
                    config_name(service_name(spec), data),
                    mount.path,
                    data,
                    f"mounts[{index}]",
                    f"the string at {mount.path}",
                )
            )
    return files + list(options.dataset_configs)


def published_ports(spec: ContainerSpec) -> list[tuple[int, int, str]]:
    return [
        (port.port, port.expose_as, "udp" if port.protocol == "udp" else "tcp")
        for service in spec.services
        for port in service.ports
        if not port.internal
    ]


def _bind_source(mount_source: dict[str, Any], project_dir: Optional[str]) -> str:
    path = str(mount_source.get("path") or "")
    if mount_source["type"] == "repo":
        return os.path.normpath(os.path.join(project_dir or "/", path))
    return os.path.normpath(path if path.startswith("/") else os.path.join(project_dir or "/", path))


def mounts(spec: ContainerSpec, options: SwarmOptions) -> list[dict[str, Any]]:
    """Bind and volume mounts; strings and datasets are configs (see ``config_files``)."""
    result: list[dict[str, Any]] = []
    for mount in spec.mounts:
        if mount.type in ("host", "repo"):
            result.append(
                {"Type": "bind", "Source": _bind_source(mount.source, options.project_dir), "Target": mount.path}
            )
        elif mount.type == "volume":
            name = volume_base_name(spec.project, spec.id, 1, mount.path, mount.source.get("id"))
            result.append(
                {
                    "Type": "volume",
                    "Source": name,
                    "Target": mount.path,
                    "VolumeOptions": {"Labels": owner_labels(spec), "DriverConfig": {"Name": "local"}},
                }
            )
    return result


def config_refs(spec: ContainerSpec, options: SwarmOptions, config_ids: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "File": {"Name": config.path, "UID": "0", "GID": "0", "Mode": config.mode},
            "ConfigID": config_ids.get(config.name, ""),
            "ConfigName": config.name,
        }
        for config in config_files(spec, options)
    ]


def resources(spec: ContainerSpec) -> dict[str, Any]:
    limits: dict[str, int] = {}
    reservations: dict[str, int] = {}
    if spec.resources.nano_cpus:
        limits["NanoCPUs"] = spec.resources.nano_cpus
    if spec.resources.memory:
        limits["MemoryBytes"] = spec.resources.memory
    if spec.resources.cpu_shares:
        # The spec keeps the request as CPU shares (1024 per cpu); Swarm reserves it in nano cpus.
        reservations["NanoCPUs"] = round(spec.resources.cpu_shares * SECOND / 1024)
    if spec.resources.memory_reservation:
        reservations["MemoryBytes"] = spec.resources.memory_reservation
    return {"Limits": limits, "Reservations": reservations}


def restart_policy(spec: ContainerSpec) -> dict[str, Any]:
    return {
        "Condition": RESTART_CONDITIONS[spec.restart.name],
        "Delay": RESTART_DELAY,
        "MaxAttempts": spec.restart.max_restarts if spec.restart.name == "on-failure" else 0,
        "Window": 0,
    }


def _fixed_host_ports(spec: ContainerSpec, options: SwarmOptions) -> bool:
    return options.publish_mode == "host" and bool(published_ports(spec))


def update_config(spec: ContainerSpec, options: SwarmOptions) -> dict[str, Any]:
    """Every field, always: the Engine API takes a partial block as sent (no parallelism: all at once)."""
    policy = options.rollout
    exclusive = any(mount.type == "volume" for mount in spec.mounts)
    order = "start-first" if starts_first(policy, _fixed_host_ports(spec, options), exclusive) else "stop-first"
    return {
        "Parallelism": resolve_parallelism(policy, spec.scaling),
        "Delay": round(policy.delay * SECOND),
        "FailureAction": "rollback" if policy.failure_action == ROLLBACK else "pause",
        "Monitor": max(1, round(policy.monitor * SECOND)),
        "MaxFailureRatio": policy.max_failure_ratio,
        "Order": order,
    }


def rollback_config(spec: ContainerSpec, options: SwarmOptions) -> dict[str, Any]:
    config = update_config(spec, options)
    # A rollback that fails again is left for a person to look at, not rolled back once more.
    config["FailureAction"] = "pause"
    return config


def endpoint_spec(spec: ContainerSpec, options: SwarmOptions) -> dict[str, Any]:
    return {
        "Mode": options.endpoint_mode,
        "Ports": [
            {"Protocol": protocol, "TargetPort": port, "PublishedPort": host, "PublishMode": options.publish_mode}
            for port, host, protocol in published_ports(spec)
        ],
    }


def _pruned(value: Any) -> Any:
    """The value without empty parts (None, "", 0, False, [], {}), which the engine adds or drops freely."""
    if isinstance(value, dict):
        pruned = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, "", 0, False, [], {})}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


# Fields the engine fills in on its own (defaults, resolved references) that the desired spec never sets.
_ENGINE_FIELDS = {
    ("TaskTemplate", "ContainerSpec", "Isolation"),
    ("TaskTemplate", "Runtime"),
    ("TaskTemplate", "Placement", "Platforms"),
    ("TaskTemplate", "ForceUpdate"),
}


def _drop(value: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = value
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def normalized(service: dict[str, Any]) -> dict[str, Any]:
    """A service spec in the form that compares: no empty parts, no engine-filled fields, configs by name."""
    value: dict[str, Any] = _pruned(service)
    for path in _ENGINE_FIELDS:
        _drop(value, path)
    container = (value.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    for config in container.get("Configs") or []:
        config.pop("ConfigID", None)
    return value


def image_name(reference: Optional[str]) -> str:
    """The reference without a digest: what a resolved image and its tag have in common."""
    return (reference or "").split("@", 1)[0]


def differences(desired: dict[str, Any], stored: dict[str, Any], compare_digest: bool) -> list[str]:
    """The top-level parts in which a stored service spec differs from the desired one (empty: in sync).

    ``compare_digest`` false: the image counts as the same when only the digest differs (a digest the
    manager could not resolve this time must not update the service).
    """
    want = normalized(desired)
    have = normalized(stored)
    if not compare_digest:
        for value in (want, have):
            container = value.get("TaskTemplate", {}).get("ContainerSpec", {})
            if "Image" in container:
                container["Image"] = image_name(container["Image"])
    changed: list[str] = []
    for key in sorted(set(want) | set(have)):
        if key == "TaskTemplate":
            template_want, template_have = want.get(key, {}), have.get(key, {})
            for inner in sorted(set(template_want) | set(template_have)):
                if inner == "ContainerSpec":
                    spec_want = template_want.get(inner, {})
                    spec_have = template_have.get(inner, {})
                    changed.extend(
                        f"ContainerSpec.{name}"
                        for name in sorted(set(spec_want) | set(spec_have))
                        if spec_want.get(name) != spec_have.get(name)
                    )
                elif template_want.get(inner) != template_have.get(inner):
                    changed.append(inner)
        elif want.get(key) != have.get(key):
            changed.append(key)
    return changed
