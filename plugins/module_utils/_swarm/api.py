# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Swarm calls the backend makes, over the Docker SDK's low-level client, with errors as EngineError."""

from __future__ import annotations

import re
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import DockerException, NotFound
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError

try:
    from docker import auth as docker_auth
except ImportError:  # the module reports the missing SDK before any of this runs
    docker_auth = None

_DETAILS = re.compile(r"^(?P<details>\S*com\.docker\.swarm\.task\.id=(?P<task>[a-z0-9]+)\S*) (?P<line>.*)$")


class SwarmApi(Engine):
    """A manager's Swarm endpoints, on top of the container engine calls."""

    def _auth_headers(self, image: str) -> dict[str, str]:
        if docker_auth is None:
            return {}
        registry, _name = docker_auth.resolve_repository_name(image)
        header = docker_auth.get_config_header(self.client, registry)
        return {"X-Registry-Auth": header} if header else {}

    def nodes(self) -> list[dict[str, Any]]:
        return list(self._call("listing the swarm's nodes", self.client.nodes))

    def distribution_digest(self, image: str) -> str:
        """The digest the registry has for ``image``; EngineError when the manager cannot ask the registry."""
        found = self._call(f"resolving {image} on the manager", self.client.inspect_distribution, image)
        return str((found.get("Descriptor") or {}).get("digest") or "")

    def services(self, name: str) -> list[dict[str, Any]]:
        found = self._call("listing services", self.client.services, {"name": name})
        # The name filter matches prefixes.
        return [item for item in found if (item.get("Spec") or {}).get("Name") == name]

    def all_services(self, labels: Optional[dict[str, str]] = None) -> list[dict[str, Any]]:
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]} if labels else None
        return list(self._call("listing services", self.client.services, filters))

    def service(self, service_id: str) -> Optional[dict[str, Any]]:
        try:
            return dict(self._call(f"inspecting service {service_id}", self.client.inspect_service, service_id))
        except NotFound:
            return None

    def create_service(self, body: dict[str, Any]) -> str:
        image = body["TaskTemplate"]["ContainerSpec"]["Image"]
        response = self._call(
            f"creating service {body['Name']}",
            self._post_json,
            "/services/create",
            body,
            self._auth_headers(image),
        )
        return str(response.get("ID"))

    def update_service(self, service_id: str, version: int, body: dict[str, Any]) -> list[str]:
        image = body["TaskTemplate"]["ContainerSpec"]["Image"]
        response = self._call(
            f"updating service {body['Name']}",
            self._post_json,
            f"/services/{service_id}/update?version={version}",
            body,
            self._auth_headers(image),
        )
        return [str(item) for item in (response or {}).get("Warnings") or []]

    def _post_json(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        client = self.client
        response = client._post_json(client._url(path), data=body, headers=headers)
        return client._result(response, True)

    def remove_service(self, service_id: str, name: str) -> None:
        try:
            self._call(f"removing service {name}", self.client.remove_service, service_id)
        except NotFound:
            pass

    def tasks(self, service_id: str, up_to_date: bool) -> list[dict[str, Any]]:
        filters: dict[str, Any] = {"service": service_id}
        if up_to_date:
            filters["_up-to-date"] = "true"
        try:
            return list(self._call("listing the service's tasks", self.client.tasks, filters))
        except NotFound:
            return []

    def tasks_of_removed(self, service_id: str, name: str) -> list[dict[str, Any]]:
        """The tasks of a removed service (the service filter no longer finds them; the name filter is a prefix)."""
        found = self._call("listing the removed service's tasks", self.client.tasks, {"name": name})
        return [task for task in found if task.get("ServiceID") == service_id]

    def task_logs(self, service_id: str, tty: bool, lines: int = 20) -> dict[str, list[str]]:
        """The last lines each task logged, by task id (the manager collects them from every node)."""
        try:
            stream = self.client.service_logs(
                service_id, details=True, stdout=True, stderr=True, tail=lines, is_tty=tty
            )
            raw = b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode() for chunk in stream)
        except (DockerException, OSError):
            return {}
        by_task: dict[str, list[str]] = {}
        for text in raw.decode("utf-8", "replace").splitlines():
            match = _DETAILS.match(text.rstrip("\r"))
            if match:
                by_task.setdefault(match.group("task"), []).append(match.group("line"))
        return by_task

    def overlay_network(self, name: str) -> Optional[dict[str, Any]]:
        found = self._call("listing networks", self.client.networks, filters={"name": name})
        for item in found:
            if item.get("Name") == name:
                return dict(item)
        return None

    def create_overlay_network(self, name: str, labels: dict[str, str]) -> str:
        response = self._call(
            f"creating network {name}",
            self.client.create_network,
            name,
            driver="overlay",
            attachable=True,
            labels=labels,
            check_duplicate=True,
        )
        return str(response.get("Id"))

    def remove_network_by_id(self, network_id: str, name: str) -> None:
        try:
            self._call(f"removing network {name}", self.client.remove_network, network_id)
        except NotFound:
            pass

    def configs(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
        return list(self._call("listing configs", self.client.configs, filters))

    def create_config(self, name: str, data: bytes, labels: dict[str, str]) -> str:
        response = self._call(f"creating config {name}", self.client.create_config, name, data, labels)
        return str(response.get("ID"))

    def remove_config(self, config_id: str, name: str) -> bool:
        """False when a service still uses it."""
        try:
            self._call(f"removing config {name}", self.client.remove_config, config_id)
        except NotFound:
            return True
        except EngineError as exc:
            if "in use" in str(exc):
                return False
            raise
        return True
