# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service readiness probes and the URLs a replica's services are reached at."""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, PortSpec

PROBE_TIMEOUT = 2.0
# A peer that closes the connection within this time is Docker's userland proxy with nothing behind it.
CLOSE_AT_ONCE_WINDOW = 0.25


@dataclass(frozen=True)
class Endpoint:
    """One port of one service of one replica, and where it is reached."""

    service: str
    replica: int
    port: PortSpec
    host: Optional[str]
    host_port: Optional[int]

    @property
    def url(self) -> str:
        scheme = self.port.protocol
        host = self.host or self.service
        port = self.host_port if self.host_port is not None else self.port.port
        if ":" in host:
            host = f"[{host}]"
        suffix = "/" if scheme in ("http", "https") else ""
        return f"{scheme}://{host}:{port}{suffix}"

    def as_result(self) -> dict[str, Any]:
        return {
            "id": self.service,
            "replica": self.replica,
            "port": self.port.port,
            "protocol": self.port.protocol,
            "label": self.port.label,
            "internal": self.port.internal,
            "host": self.host,
            "host_port": self.host_port,
            "url": self.url,
        }


def published_host(publish_address: str, engine_host: Optional[str]) -> str:
    """The address a user reaches published ports at."""
    if publish_address not in ("0.0.0.0", "::", ""):
        return publish_address
    return engine_host or "localhost"


def endpoints(
    spec: ContainerSpec,
    replica: int,
    inspect: dict[str, Any],
    publish_address: str,
    engine_host: Optional[str],
) -> list[Endpoint]:
    ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    result = []
    for service in spec.services:
        for port in service.ports:
            if port.internal:
                result.append(Endpoint(service.id, replica, port, None, None))
                continue
            host_port = None
            for binding in ports.get(port.docker_key) or []:
                if binding.get("HostPort"):
                    host_port = int(binding["HostPort"])
                    break
            result.append(Endpoint(service.id, replica, port, published_host(publish_address, engine_host), host_port))
    return result


def probe_target(endpoint: Endpoint, container_address: Optional[str], local_engine: bool) -> Optional[tuple[str, int]]:
    """Where to probe: the replica itself on a local engine, its published port on a remote one."""
    if local_engine and container_address:
        return container_address, endpoint.port.port
    if endpoint.host_port is not None and endpoint.host:
        return endpoint.host, endpoint.host_port
    return None


def _tcp_open(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT) as connection:
            connection.settimeout(CLOSE_AT_ONCE_WINDOW)
            try:
                return connection.recv(1) != b""
            except socket.timeout:
                return True
    except OSError:
        return False


def _http_open(address: tuple[str, int], secure: bool) -> bool:
    host, port = address
    connection: http.client.HTTPConnection
    if secure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=PROBE_TIMEOUT, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT)
    try:
        connection.request("GET", "/", headers={"User-Agent": "polytope.core readiness probe"})
        connection.getresponse().read(0)
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def is_open(endpoint: Endpoint, container_address: Optional[str], local_engine: bool) -> bool:
    """Readiness of one endpoint; udp, and ports that cannot be reached from here, count as open while running."""
    protocol = endpoint.port.protocol
    if protocol == "udp":
        return True
    target = probe_target(endpoint, container_address, local_engine)
    if target is None:
        return True
    if protocol in ("http", "https"):
        return _http_open(target, protocol == "https")
    return _tcp_open(target)
