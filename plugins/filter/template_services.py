# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the polytope.core.template role: its services summary and failure reports."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ansible_collections.polytope.core.plugins.module_utils._language import mask_secrets
from ansible_collections.polytope.core.plugins.module_utils._language.steps import KIND_CONTAINER, STATE_STARTED


def service_lines(services: list[Mapping[str, Any]]) -> list[str]:
    """One line per service of the template role's collected results, with every URL it has.

    ``services`` are the module's ``services`` results (one entry per replica and port), each with
    the ``project`` and ``step`` the role adds.
    """
    grouped: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for entry in services:
        key = (str(entry.get("project") or ""), str(entry.get("step") or ""), str(entry.get("id") or ""))
        grouped.setdefault(key, []).append(entry)
    lines = []
    for (project, step_id, service_id), entries in grouped.items():
        addresses: list[str] = []
        for entry in entries:
            address = entry.get("url")
            if not address and entry.get("host_port"):
                address = f"{entry.get('protocol') or 'tcp'}://{entry.get('host') or '127.0.0.1'}:{entry['host_port']}"
            if address and address not in addresses:
                addresses.append(str(address))
        where = f"{project}/{step_id}" if project else step_id
        lines.append(f"{where}: {service_id} {' '.join(addresses) if addresses else '(internal, not published)'}")
    return lines


def unopened_services(
    steps: list[Mapping[str, Any]], outcomes: Mapping[str, str], services: list[Mapping[str, Any]], project: str
) -> list[str]:
    """Services of started steps that ran but reported no open service, as ``project/step: id``."""
    reported = {(entry.get("step"), entry.get("id")) for entry in services if entry.get("project") == project}
    missing = []
    for entry in steps:
        if entry.get("kind") != KIND_CONTAINER or entry.get("state") != STATE_STARTED:
            continue
        if outcomes.get(entry["step"]) != "succeeded":
            continue
        for service in entry.get("args", {}).get("services") or []:
            if (entry["step"], service.get("id")) not in reported:
                missing.append(f"{project}/{entry['step']}: {service.get('id')}")
    return missing


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mask_secrets": mask_secrets, "service_lines": service_lines, "unopened_services": unopened_services}
