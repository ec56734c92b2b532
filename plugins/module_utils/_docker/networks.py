# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network module: make a project network, or remove it only once no container uses it any more."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    DockerException,
    connection_settings,
    open_client,
)
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError, NetworkInUse
from ansible_collections.polytope.core.plugins.module_utils._swarm.option import SWARM

NETWORK_NAME_EXPECTED = "letters, digits, '_', '.' and '-', starting with a letter or digit"
# The engine's own rule for network names.
_NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")

NOTHING = "nothing"
CREATE = "create"
REMOVE = "remove"
KEEP = "keep"


def is_valid_network_name(name: str) -> bool:
    return bool(_NETWORK_NAME.match(name))


def attached_names(network: dict[str, Any], containers: list[dict[str, Any]]) -> list[str]:
    """The names of the containers on a network: its endpoints (running ones) and the listed ones (stopped too)."""
    # A swarm node's load balancer on an overlay network (key lb-<network>) is the network's own, not a user.
    names = {
        entry.get("Name") for key, entry in (network.get("Containers") or {}).items() if not str(key).startswith("lb-")
    }
    for container in containers:
        names.update(str(listed).lstrip("/") for listed in container.get("Names") or [])
    return sorted(name for name in names if name)


@dataclass
class Decision:
    action: str
    msg: str
    in_use_by: list[str] = field(default_factory=list)


def decide(name: str, state: str, exists: bool, in_use_by: list[str], check_mode: bool = False) -> Decision:
    """What to do about network ``name`` for ``state``, given whether it exists and who is on it."""
    would = "would " if check_mode else ""
    if state == "present":
        if exists:
            return Decision(NOTHING, f"network {name} exists")
        return Decision(CREATE, f"{would}create network {name}" if check_mode else f"created network {name}")
    if not exists:
        return Decision(NOTHING, f"network {name} does not exist")
    if in_use_by:
        return keep(name, in_use_by)
    return Decision(REMOVE, f"{would}remove network {name}" if check_mode else f"removed network {name}")


def keep(name: str, in_use_by: list[str]) -> Decision:
    # Removing it would cut these containers off (running ones at once, stopped ones at their next start).
    users = ", ".join(in_use_by) if in_use_by else "a container that joined it"
    return Decision(
        KEEP,
        f"kept network {name}: it is still used by {users}; it is removed once no container uses it",
        list(in_use_by),
    )


def _state_of(name: str, exists: bool) -> dict[str, str]:
    return {"name": name, "state": "present" if exists else "absent"}


def apply_network(engine: Engine, name: str, state: str, check_mode: bool, diff: bool) -> dict[str, Any]:
    """Bring network ``name`` to ``state``; the module's result."""
    network = engine.network(name)
    existed = network is not None
    in_use_by: list[str] = []
    if network is not None and state == "absent":
        in_use_by = attached_names(network, engine.network_containers(network["Id"]))
    decision = decide(name, state, existed, in_use_by, check_mode)
    if not check_mode and decision.action == CREATE:
        # The container module's own way of making a project network, so both make the same network.
        engine.ensure_network(name)
        network = engine.network(name)
    elif not check_mode and decision.action == REMOVE and network is not None:
        try:
            if not engine.remove_network(network["Id"], name):
                decision = Decision(NOTHING, f"network {name} does not exist")
        except NetworkInUse:
            # A container joined between the check and the removal.
            decision = keep(name, attached_names({}, engine.network_containers(network["Id"])))
    return network_result(name, decision, existed, network, diff)


def network_result(
    name: str, decision: Decision, existed: bool, network: Optional[dict[str, Any]], diff: bool
) -> dict[str, Any]:
    """The module's result once ``decision`` was carried out."""
    exists = {CREATE: True, REMOVE: False}.get(decision.action, existed)
    changed = decision.action in (CREATE, REMOVE)
    result: dict[str, Any] = {
        "changed": changed,
        "name": name,
        "id": network["Id"] if network is not None and exists else None,
        "in_use_by": decision.in_use_by,
        "msg": decision.msg,
        "actions": [decision.msg] if changed else [],
    }
    if diff:
        result["diff"] = {"before": _state_of(name, existed), "after": _state_of(name, exists)}
    return result


def run_network_module(module: Any) -> None:
    """The Ansible side: options in, result or failure out."""
    params = module.params
    name = params["name"]
    if not is_valid_network_name(name):
        module.fail_json(
            msg=f"Invalid options, nothing was changed: {name!r} is not a valid network name; expected "
            f"{NETWORK_NAME_EXPECTED}",
            changed=False,
        )
    settings = connection_settings(params)
    try:
        client: Any = open_client(settings)
    except (DockerException, OSError) as exc:
        module.fail_json(msg=f"Cannot reach the Docker engine at {settings['docker_host']}: {exc}", changed=False)
    try:
        if params["orchestrator"] == SWARM:
            # Only a swarm run loads the Swarm backend.
            from ansible_collections.polytope.core.plugins.module_utils._swarm.api import (  # pylint: disable=import-outside-toplevel
                SwarmApi,
            )
            from ansible_collections.polytope.core.plugins.module_utils._swarm.networks import (  # pylint: disable=import-outside-toplevel
                OverlayRefused,
                apply_overlay_network,
            )

            try:
                result = apply_overlay_network(SwarmApi(client), name, params["state"], module.check_mode, module._diff)
            except OverlayRefused as exc:
                module.fail_json(msg=f"Invalid options, nothing was changed: {exc}", changed=False, name=name)
        else:
            result = apply_network(Engine(client), name, params["state"], module.check_mode, module._diff)
    except EngineError as exc:
        if exc.lost:
            message = f"Lost the Docker engine at {settings['docker_host']} during the run: {exc}"
        else:
            message = f"The engine refused a change: {exc}"
        module.fail_json(msg=message, changed=False, name=name)
    finally:
        client.close()
    module.exit_json(**result)
