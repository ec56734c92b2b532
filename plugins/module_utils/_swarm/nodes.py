# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the engine of a swarm node is reached (``swarm_node_engines``), for what only that engine has.

Pure logic. The option is a mapping (node ID, hostname or address to a ``docker_host`` URL) or one URL with
``{id}``, ``{hostname}`` and ``{address}`` in it. Every node reports the hostname of its machine, which need
not tell nodes apart: the ID and the address do.
"""

from __future__ import annotations

import string
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._spec import Problems

FIELDS = ("id", "hostname", "address")


def node_fields(node: dict[str, Any]) -> dict[str, str]:
    return {
        "id": str(node.get("ID") or ""),
        "hostname": str((node.get("Description") or {}).get("Hostname") or ""),
        "address": str((node.get("Status") or {}).get("Addr") or ""),
    }


def check_node_engines(problems: Problems, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        try:
            names = {name for _text, name, _spec, _conversion in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            problems.add("swarm_node_engines", f"{value!r} is not a URL template: {exc}")
            return
        unknown = sorted(names - set(FIELDS))
        if unknown:
            problems.add(
                "swarm_node_engines",
                f"unknown fields {unknown}; a URL template may use {{id}}, {{hostname}}, {{address}}",
            )
        return
    if not isinstance(value, dict) or not all(isinstance(url, str) and url for url in value.values()):
        problems.add(
            "swarm_node_engines",
            "expected a URL template such as 'tcp://{address}:2376' or a mapping of node IDs or addresses to URLs",
        )


def node_engine_url(value: Any, node: dict[str, Any]) -> Optional[str]:
    """The ``docker_host`` of the node's engine, or None when the option does not say."""
    fields = node_fields(node)
    if isinstance(value, str):
        return value.format(**fields)
    if isinstance(value, dict):
        for key in ("id", "address", "hostname"):
            if fields[key] and fields[key] in value:
                return str(value[fields[key]])
    return None
