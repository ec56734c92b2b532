# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine calls the module makes, over the Docker SDK's low-level client, with errors turned into EngineError."""

from __future__ import annotations

import base64
import json
from typing import Any, Iterator, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    APIError,
    ConnectionLost,
    DockerException,
    NotFound,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_image_reference

try:
    from requests.exceptions import Timeout as RequestTimeout
except ImportError:  # pragma: no cover - without the SDK nothing reaches the engine

    class RequestTimeout(Exception):  # type: ignore[no-redef]
        pass


class EngineError(Exception):
    """An engine call failed; the message says which call and why. ``lost``: the engine could not be reached."""

    def __init__(self, message: str, lost: bool = False):
        super().__init__(message)
        self.lost = lost


class WaitTimeout(EngineError):
    """Waiting for a container's exit took longer than the time given."""


class NameTaken(EngineError):
    """A container could not be created because its name is taken."""


class NetworkInUse(EngineError):
    """The engine refused to remove a network because a container joined it (after it was checked)."""


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
            raise EngineError(f"{what}: {_explain(exc)}", lost=isinstance(exc, ConnectionLost)) from exc

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._call("reading the engine's info", self.client.info)
        return info

    def image_id(self, reference: str) -> Optional[str]:
        try:
            image: dict[str, Any] = self._call(f"inspecting image {reference}", self.client.inspect_image, reference)
            return str(image["Id"])
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
        found: list[dict[str, Any]] = self._call(
            "listing containers", self.client.containers, all=True, filters=filters
        )
        return found

    def inspect(self, container: str) -> Optional[dict[str, Any]]:
        try:
            inspect: dict[str, Any] = self._call(
                f"inspecting container {container}", self.client.inspect_container, container
            )
            return inspect
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

    def network(self, name: str) -> Optional[dict[str, Any]]:
        """The network of exactly this name, inspected; None when there is none."""
        # The engine's name filter also matches parts of names, and inspecting by name also matches id
        # prefixes: only the listed network whose name is equal is this one.
        for listed in self._call("listing networks", self.client.networks, names=[name]):
            if listed.get("Name") == name:
                try:
                    network: dict[str, Any] = self._call(
                        f"inspecting network {name}", self.client.inspect_network, listed["Id"]
                    )
                    return network
                except NotFound:
                    return None
        return None

    def network_containers(self, network_id: str) -> list[dict[str, Any]]:
        """Every container attached to a network, stopped ones included."""
        # The network's own Containers lists only endpoints, which stopped containers do not have; such a
        # container still needs the network to start again.
        return self.containers({"network": [network_id]})

    def remove_network(self, network_id: str, name: str) -> bool:
        """Remove a network; False when it is already gone. NetworkInUse when containers hold endpoints on it."""
        try:
            self.client.remove_network(network_id)
        except NotFound:
            return False
        except APIError as exc:
            if "active endpoints" in _explain(exc):
                raise NetworkInUse(f"removing network {name}: {_explain(exc)}") from exc
            raise EngineError(f"removing network {name}: {_explain(exc)}") from exc
        except (DockerException, OSError) as exc:
            raise EngineError(
                f"removing network {name}: {_explain(exc)}", lost=isinstance(exc, ConnectionLost)
            ) from exc
        return True

    def create(self, body: dict[str, Any], name: str) -> str:
        """Create a container; NameTaken when a container of that name exists (names are created atomically)."""
        try:
            created = self._call(f"creating container {name}", self.client.create_container_from_config, body, name)
        except NotFound as exc:
            raise EngineError(f"creating container {name}: {_explain(exc)}") from exc
        except EngineError as exc:
            if "Conflict" in str(exc) or "already in use" in str(exc):
                raise NameTaken(str(exc)) from exc.__cause__
            raise
        return str(created["Id"])

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
        except RequestTimeout as exc:
            raise WaitTimeout(f"waiting for container {name}: {exc}") from exc
        except (DockerException, OSError) as exc:
            raise EngineError(f"waiting for container {name}: {_explain(exc)}") from exc
        return int(result.get("StatusCode", -1))

    def logs_tail(self, container: str, lines: int = 20) -> list[str]:
        try:
            output = self.client.logs(container, stdout=True, stderr=True, tail=lines)
        except (DockerException, OSError):
            return []
        return [str(line) for line in output.decode(errors="replace").splitlines()]

    # -- volumes and archives (mount sources and datasets) -------------------------------------------------
    def volume(self, name: str) -> Optional[dict[str, Any]]:
        try:
            volume: dict[str, Any] = self._call(f"inspecting volume {name}", self.client.inspect_volume, name)
            return volume
        except NotFound:
            return None

    def create_volume(self, name: str, labels: dict[str, str]) -> dict[str, Any]:
        """Create a local volume; the engine returns the existing one when the name is taken."""
        try:
            volume: dict[str, Any] = self._call(
                f"creating volume {name}", self.client.create_volume, name=name, driver="local", labels=labels
            )
            return volume
        except NotFound as exc:
            raise EngineError(f"creating volume {name}: {_explain(exc)}") from exc

    def remove_volume(self, name: str) -> bool:
        """Remove a volume; False when it is still in use by a container (or already gone)."""
        try:
            self.client.remove_volume(name)
        except NotFound:
            return False
        except APIError as exc:
            if getattr(exc, "status_code", None) == 409 or (
                exc.response is not None and exc.response.status_code == 409
            ):
                return False
            raise EngineError(f"removing volume {name}: {_explain(exc)}") from exc
        except (DockerException, OSError) as exc:
            raise EngineError(f"removing volume {name}: {_explain(exc)}") from exc
        return True

    def path_stat(self, container: str, path: str) -> Optional[dict[str, Any]]:
        """What the engine reports about a path in a container (created or stopped ones too); None when missing."""
        url = self.client._url("/containers/{0}/archive", container)
        try:
            response = self.client.head(url, params={"path": path}, timeout=self.client.timeout)
        except (DockerException, OSError) as exc:
            raise EngineError(f"looking up {path} in container {container[:12]}: {_explain(exc)}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise EngineError(
                f"looking up {path} in container {container[:12]}: HTTP {response.status_code} {response.reason}"
            )
        header = response.headers.get("X-Docker-Container-Path-Stat")
        if not header:
            return {}
        try:
            stat: dict[str, Any] = json.loads(base64.b64decode(header).decode())
            return stat
        except ValueError:
            return {}

    def get_archive(self, container: str, path: str) -> Optional[Iterator[bytes]]:
        """A tar stream of a path in a container (running or not); None when the path does not exist."""
        try:
            stream, _stat = self.client.get_archive(container, path, chunk_size=1024 * 1024)
        except NotFound:
            return None
        except (DockerException, OSError) as exc:
            raise EngineError(f"reading {path} from container {container[:12]}: {_explain(exc)}") from exc
        chunks: Iterator[bytes] = stream
        return chunks

    def put_archive(self, container: str, path: str, data: Any) -> None:
        """Extract a tar (bytes or a file object) at an existing directory of a container."""
        try:
            self.client.put_archive(container, path, data)
        except (DockerException, OSError) as exc:
            raise EngineError(f"writing into {path} of container {container[:12]}: {_explain(exc)}") from exc
