# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An engine in memory for the rollout's tests: containers with names, labels and states, and faults on cue.

It keeps only what the run reads back (names, labels, state, start times); every call that changes
something is logged, so a test can replay a run and kill it at any step.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError, NameTaken

IMAGE_ID = "sha256:" + "b" * 64


class Killed(BaseException):
    """The module's process died at this step (as under SIGKILL): nothing after it runs."""


class FakeEngine:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        self.clock = itertools.count(1)
        # Every change, in order: (call, container name at the time).
        self.log: list[tuple[str, str]] = []
        self.kill_at: Optional[int] = None
        # Called on every start with the container; may make it exit (see exits_on_start).
        self.on_start: Callable[[dict[str, Any]], None] = lambda container: None
        # Called on every inspect of a running container; may change its state (a crash after a while).
        self.on_inspect: Callable[[dict[str, Any]], None] = lambda container: None
        self.fail_create: Callable[[str], bool] = lambda name: False

    # -- faults ------------------------------------------------------------------------------------------
    def _change(self, call: str, name: str) -> None:
        if self.kill_at is not None and len(self.log) >= self.kill_at:
            raise Killed(f"killed before {call} {name}")
        self.log.append((call, name))

    def _find(self, container: str) -> Optional[dict[str, Any]]:
        if container in self.by_id:
            return self.by_id[container]
        return next((c for c in self.by_id.values() if c["Name"] == "/" + container), None)

    # -- reads -------------------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {"Labels": []}

    def image_id(self, _reference: str) -> Optional[str]:
        return IMAGE_ID

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        found = []
        for container in self.by_id.values():
            labels = container["Config"]["Labels"]
            wanted = [label.split("=", 1) for label in filters.get("label", [])]
            if all(len(w) == 2 and labels.get(w[0]) == w[1] for w in wanted):
                found.append(
                    {"Id": container["Id"], "Names": [container["Name"]], "Labels": labels, "ImageID": IMAGE_ID}
                )
        return found

    def inspect(self, container: str) -> Optional[dict[str, Any]]:
        found = self._find(container)
        if found is None:
            return None
        if found["State"]["Running"]:
            self.on_inspect(found)
        return copy.deepcopy(found)

    def logs_tail(self, container: str, lines: int = 20) -> list[str]:
        found = self._find(container)
        return list(found["Logs"][-lines:]) if found else []

    # -- changes -----------------------------------------------------------------------------------------
    def ensure_network(self, _name: str) -> bool:
        return False

    def create(self, body: dict[str, Any], name: str) -> str:
        self._change("create", name)
        if self._find(name) is not None:
            raise NameTaken(f"creating container {name}: Conflict")
        if self.fail_create(name):
            raise EngineError(f"creating container {name}: no space left on device")
        container_id = f"{next(self.ids):064x}"
        endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        self.by_id[container_id] = {
            "Id": container_id,
            "Name": "/" + name,
            "Image": IMAGE_ID,
            "RestartCount": 0,
            "Config": {
                key: copy.deepcopy(body.get(key)) for key in ("Image", "Env", "Tty", "OpenStdin", "Labels", "Cmd")
            },
            "HostConfig": copy.deepcopy(body.get("HostConfig") or {}),
            "NetworkSettings": {"Ports": {}, "Networks": copy.deepcopy(endpoints)},
            "State": {"Status": "created", "Running": False, "ExitCode": 0, "StartedAt": "0001-01-01T00:00:00Z"},
            "Logs": [f"hello from {name}", f"env {' '.join(body.get('Env') or [])}"],
        }
        return container_id

    def start(self, container: str, name: str) -> None:
        self._change("start", name)
        found = self._find(container)
        if found is None:
            raise EngineError(f"starting container {name}: no such container")
        found["State"] = {"Status": "running", "Running": True, "ExitCode": 0, "StartedAt": f"t{next(self.clock)}"}
        self.on_start(found)

    def stop(self, container: str, name: str, _timeout: int) -> None:
        self._change("stop", name)
        found = self._find(container)
        if found is not None and found["State"]["Running"]:
            found["State"] = {**found["State"], "Status": "exited", "Running": False, "ExitCode": 0}

    def restart(self, container: str, name: str, timeout: int) -> None:
        self.stop(container, name, timeout)
        self.start(container, name)

    def remove(self, container: str, name: str) -> None:
        self._change("remove", name)
        found = self._find(container)
        if found is not None:
            del self.by_id[found["Id"]]

    def rename(self, container: str, new_name: str) -> None:
        self._change("rename", new_name)
        found = self._find(container)
        if found is None:
            raise EngineError(f"renaming container {container[:12]} to {new_name}: no such container")
        if self._find(new_name) is not None:
            raise EngineError(f"renaming container {container[:12]} to {new_name}: Conflict")
        found["Name"] = "/" + new_name

    def update(self, container: str, name: str, body: dict[str, Any]) -> None:
        self._change("update", name)
        found = self._find(container)
        if found is not None:
            found["HostConfig"].update(body)

    def wait(self, container: str, name: str, _timeout: Optional[float]) -> int:
        found = self._find(container)
        if found is None:
            raise EngineError(f"waiting for container {name}: it was removed")
        if found["State"]["Running"]:
            found["State"] = {**found["State"], "Status": "exited", "Running": False}
        return int(found["State"]["ExitCode"])

    # -- what the tests look at ----------------------------------------------------------------------------
    def names(self) -> dict[str, str]:
        """Container name to its GEN env value (or '?'), for every container but locks."""
        shown = {}
        for container in self.by_id.values():
            name = container["Name"].lstrip("/")
            if name.endswith(".lock"):
                continue
            env = dict(item.split("=", 1) for item in container["Config"]["Env"] or [])
            shown[name] = env.get("GEN", "?")
        return shown

    def running(self) -> set[str]:
        return {c["Name"].lstrip("/") for c in self.by_id.values() if c["State"]["Running"]}

    def drop_locks(self) -> None:
        """A killed run's lock: stale once its process is gone, which a test in one process stands in for."""
        for container_id in [i for i, c in self.by_id.items() if c["Name"].endswith(".lock")]:
            del self.by_id[container_id]


def exits_on_start(engine: FakeEngine, generation: str, names: set[str], code: int = 3) -> None:
    """Containers of ``generation`` with one of ``names`` exit at once with ``code`` when started."""

    def on_start(container: dict[str, Any]) -> None:
        env = dict(item.split("=", 1) for item in container["Config"]["Env"] or [])
        if env.get("GEN") == generation and container["Name"].lstrip("/") in names:
            container["State"] = {**container["State"], "Status": "exited", "Running": False, "ExitCode": code}
            container["Logs"].append(f"fatal: generation {generation} cannot start")

    engine.on_start = on_start
