# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services option: ports, protocols, port ranges and their published ports.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._spec.model import (
    ID_EXPECTED,
    PROTOCOLS,
    PortSpec,
    Problems,
    Service,
    check_id,
    is_valid_id,
    list_items,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.values import (
    parse_port_range,
)


def _port_number(problems: Problems, option: str, value: Any) -> Optional[int]:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        problems.add(option, f"expected a port number from 1 to 65535, got {value!r}")
        return None
    return value


def _parse_ports(problems: Problems, option: str, value: Any) -> list[PortSpec]:
    """The ports of one item; every problem of the item is reported, none hides another."""
    if not isinstance(value, dict):
        problems.add(option, "expected a mapping with port (or range) and protocol")
        return []
    known = len(problems.items)
    unknown = set(value) - {"port", "range", "protocol", "expose_as", "label", "internal"}
    if unknown:
        problems.add(
            option, f"unknown keys {sorted(unknown)}; expected port or range, protocol, expose_as, label, internal"
        )
    protocol = value.get("protocol")
    if not isinstance(protocol, str) or protocol not in PROTOCOLS:
        problems.add(f"{option}.protocol", f"{protocol!r} is not one of {', '.join(PROTOCOLS)}")
    label = value.get("label")
    if label is not None and not is_valid_id(label):
        problems.add(f"{option}.label", f"{label!r} is not a valid id; expected {ID_EXPECTED}")
    internal = value.get("internal", False)
    if internal is None:
        internal = False
    if not isinstance(internal, bool):
        problems.add(f"{option}.internal", "expected a boolean")
        internal = False
    expose_as = value.get("expose_as")
    pairs: list[tuple[int, int]] = []
    if (value.get("port") is None) == (value.get("range") is None):
        problems.add(option, "give exactly one of port or range")
    elif value.get("port") is not None:
        port = _port_number(problems, f"{option}.port", value["port"])
        host = port if expose_as is None else _port_number(problems, f"{option}.expose_as", expose_as)
        if port is not None and host is not None:
            pairs = [(port, host)]
    else:
        pairs = _range_pairs(problems, option, value["range"], expose_as)
    if len(problems.items) > known:
        return []
    return [PortSpec(port, str(protocol), host, label, internal) for port, host in pairs]


def _range_pairs(problems: Problems, option: str, port_range: Any, expose_as: Any) -> list[tuple[int, int]]:
    """(container port, host port) of a range item; both ranges are checked, each problem reported."""
    container_ports: Optional[list[int]] = None
    host_ports: Optional[list[int]] = None
    try:
        container_ports = parse_port_range(port_range)
    except ValueError as exc:
        problems.add(f"{option}.range", str(exc))
    if expose_as is not None:
        try:
            host_ports = parse_port_range(expose_as)
        except ValueError as exc:
            problems.add(f"{option}.expose_as", str(exc))
    if container_ports is None or (expose_as is not None and host_ports is None):
        return []
    if host_ports is None:
        host_ports = container_ports
    if len(host_ports) != len(container_ports):
        problems.add(
            f"{option}.expose_as",
            f"range of {len(host_ports)} ports does not match the {len(container_ports)} ports of range",
        )
        return []
    return list(zip(container_ports, host_ports))


def parse_services(problems: Problems, value: Any) -> tuple[Service, ...]:
    services: list[Service] = []
    seen_ids: set[str] = set()
    published: dict[tuple[str, int], str] = {}
    for option, item in list_items(problems, "services", value, "{id, ports}"):
        if not isinstance(item, dict):
            problems.add(option, "expected a mapping with id and ports")
            continue
        unknown = set(item) - {"id", "ports"}
        if unknown:
            problems.add(option, f"unknown keys {sorted(unknown)}; expected id, ports")
        service_id = check_id(problems, f"{option}.id", item.get("id"))
        if service_id in seen_ids:
            problems.add(f"{option}.id", f"{service_id!r} is used by two services")
        seen_ids.add(service_id or "")
        ports_value = item.get("ports") or []
        if not isinstance(ports_value, list):
            problems.add(f"{option}.ports", "expected a list of ports")
            continue
        ports: list[PortSpec] = []
        for port_index, port_value in enumerate(ports_value):
            if port_value is None:
                continue
            ports.extend(_parse_ports(problems, f"{option}.ports[{port_index}]", port_value))
        for port in ports:
            if port.internal:
                continue
            key = ("udp" if port.protocol == "udp" else "tcp", port.expose_as)
            if key in published:
                problems.add(
                    f"{option}.ports", f"host port {port.expose_as}/{key[0]} is also published by {published[key]}"
                )
            published[key] = f"{option} ({service_id})"
        if service_id:
            services.append(Service(service_id, tuple(ports)))
    return tuple(services)
