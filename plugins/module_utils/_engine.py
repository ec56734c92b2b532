# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine calls the module makes, over the Docker SDK's low-level client, with errors turned into EngineError."""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    APIError,
    DockerException,
    NotFound,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_image_reference


class EngineError(Exception):
    """An engine call failed; the message says which call and why."""


def _explain(exc: Exception) -> str:
    if isinstance(exc, APIError):
        explanation = getattr(exc, "explanation", None)
        if explanation:
            return explanation if isinstance(explanation, str) else explanation.decode(errors="replace")
    return str(exc)


class Engine:
    def __init__(self, client: Any):
        self.client = client

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except NotFound:
            raise
        except (DockerException, OSError) as exc:
            raise EngineError(f"{what}: {_explain(exc)}") from exc

    def info(self) -> dict[str, Any]:
        return self._call("reading the engine's info", self.client.info)

    def image_id(self, reference: str) -> Optional[str]:
        try:
            return self._call(f"inspecting image {reference}", self.client.inspect_image, reference)["Id"]
        except NotFound:
            return None

    def pull(self, reference: str) -> None:
        name, tag, digest = parse_image_reference(reference)
        try:
            stream = self.client.pull(name, tag=digest or tag, stream=True, decode=True)
            for message in stream:
                if isinstance(message, dict) and message.get("error"):
                    raise EngineError(f"pulling {reference}: {message['error']}")
        except (DockerException, OSError) as exc:
            raise EngineError(f"pulling {reference}: {_explain(exc)}") from exc

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return self._call("listing containers", self.client.containers, all=True, filters=filters)

    def inspect(self, container: str) -> Optional[dict[str, Any]]:
        try:
            return self._call(f"inspecting container {container}", self.client.inspect_container, container)
        except NotFound:
            return None

    def ensure_network(self, name: str) -> bool:
        """Create the user-defined bridge network when missing; True when it was created."""
        existing = self._call("listing networks", self.client.networks, names=[name])
        if any(network.get("Name") == name for network in existing):
            return False
        try:
            self._call(
                f"creating network {name}", self.client.create_network, name, driver="bridge", check_duplicate=True
            )
        except EngineError:
            # A concurrent run may have created it between the list and the create.
            if any(network.get("Name") == name for network in self.client.networks(names=[name])):
                return False
            raise
        return True

    def create(self, body: dict[str, Any], name: str) -> str:
        try:
            created = self._call(f"creating container {name}", self.client.create_container_from_config, body, name)
        except NotFound as exc:
            raise EngineError(f"creating container {name}: {_explain(exc)}") from exc
        return created["Id"]

    def start(self, container: str, name: str) -> None:
        try:
            self._call(f"starting container {name}", self.client.start, container)
        except NotFound as exc:
            raise EngineError(f"starting container {name}: {_explain(exc)}") from exc

    def stop(self, container: str, name: str, timeout: int) -> None:
        try:
            self._call(f"stopping container {name}", self.client.stop, container, timeout=timeout)
        except NotFound:
            pass

    def restart(self, container: str, name: str, timeout: int) -> None:
        self._call(f"restarting container {name}", self.client.restart, container, timeout=timeout)

    def remove(self, container: str, name: str) -> None:
        try:
            self._call(f"removing container {name}", self.client.remove_container, container, force=True)
        except NotFound:
            pass

    def rename(self, container: str, new_name: str) -> None:
        self._call(f"renaming container {container[:12]} to {new_name}", self.client.rename, container, new_name)

    def update(self, container: str, name: str, body: dict[str, Any]) -> None:
        # The SDK's update_container has no NanoCpus: post the API body directly.
        url = self.client._url("/containers/{0}/update", container)
        response = self._call(f"updating container {name}", self.client._post_json, url, data=body)
        self._call(f"updating container {name}", self.client._raise_for_status, response)

    def wait(self, container: str, name: str, timeout: Optional[float]) -> int:
        try:
            result = self.client.wait(container, timeout=timeout)
        except NotFound as exc:
            raise EngineError(f"waiting for container {name}: it was removed") from exc
        except (DockerException, OSError) as exc:
            raise EngineError(f"waiting for container {name}: {_explain(exc)}") from exc
        return int(result.get("StatusCode", -1))

    def logs_tail(self, container: str, lines: int = 20) -> list[str]:
        try:
            output = self.client.logs(container, stdout=True, stderr=True, tail=lines)
        except (DockerException, OSError):
            return []
        return output.decode(errors="replace").splitlines()
