# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network module with ``orchestrator: swarm``: the attachable overlay network Swarm services use."""

from __future__ import annotations

from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError, NetworkInUse
from ansible_collections.polytope.core.plugins.module_utils._docker.networks import (
    CREATE,
    NOTHING,
    REMOVE,
    Decision,
    attached_names,
    decide,
    keep,
    network_result,
)
from ansible_collections.polytope.core.plugins.module_utils._swarm import mapping
from ansible_collections.polytope.core.plugins.module_utils._swarm.api import SwarmApi

TASK_LABEL = "com.docker.swarm.task.id"


class OverlayRefused(Exception):
    """The engine is no manager, or the name is taken by a network that is not an overlay; nothing changed."""


def using_services(services: list[dict[str, Any]], network_id: str) -> list[str]:
    """``service <name>`` for each service whose tasks join the network."""
    names = []
    for service in services:
        spec = service.get("Spec") or {}
        targets = [item.get("Target") for item in (spec.get("TaskTemplate") or {}).get("Networks") or []]
        targets += [item.get("Target") for item in spec.get("Networks") or []]
        if network_id in targets:
            names.append(f"service {spec.get('Name')}")
    return sorted(names)


def users(api: SwarmApi, network: dict[str, Any]) -> list[str]:
    """The services on the network, and the manager's other containers on it.

    A task's container stands for its service, and stays on the node, stopped, after its service is gone; the
    node's load balancer endpoint is the network's own.
    """
    containers = api.network_containers(network["Id"])
    tasks = [item for item in containers if TASK_LABEL in (item.get("Labels") or {})]
    task_names = {str(name).lstrip("/") for item in tasks for name in item.get("Names") or []}
    others = [item for item in containers if item not in tasks]
    names = [name for name in attached_names(network, others) if name not in task_names]
    return using_services(api.all_services(), network["Id"]) + names


def apply_overlay_network(api: SwarmApi, name: str, state: str, check_mode: bool, diff: bool) -> dict[str, Any]:
    refusal = mapping.manager_refusal(api.info())
    if refusal:
        raise OverlayRefused(refusal)
    network = api.network(name)
    if network is not None:
        refusal = mapping.overlay_refusal(name, network)
        if refusal:
            raise OverlayRefused(refusal)
    existed = network is not None
    in_use_by = users(api, network) if network is not None and state == "absent" else []
    decision = decide(name, state, existed, in_use_by, check_mode)
    if not check_mode and decision.action == CREATE:
        api.create_overlay_network(name, mapping.OVERLAY_LABELS)
        network = api.network(name)
    elif not check_mode and decision.action == REMOVE and network is not None:
        try:
            if not api.remove_network(network["Id"], name):
                decision = Decision(NOTHING, f"network {name} does not exist")
        except NetworkInUse:
            decision = keep(name, users(api, network))
        except EngineError as exc:
            # Swarm refuses to remove a network a service joined between the check and the removal.
            if "in use" not in str(exc):
                raise
            decision = keep(name, users(api, network))
    return network_result(name, decision, existed, network, diff)
