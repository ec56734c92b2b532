# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lock held on the engine itself, so that runs on one project and id from any machine take turns.

The lock is a container that is created, never started: the engine creates a name at most once, which
makes the create atomic. Its labels say who holds it and until when; a lock whose holder died on this
machine, or whose time ran out, is taken over.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError, NameTaken
from ansible_collections.polytope.core.plugins.module_utils._ownership import LABEL_MANAGED, MANAGED_BY
from ansible_collections.polytope.core.plugins.module_utils._processes import process_alive

LOCK_SUFFIX = ".lock"
LABEL_LOCK_FOR = "polytope.lock-for"
LABEL_LOCK_HOLDER = "polytope.lock-holder"
LABEL_LOCK_EXPIRES = "polytope.lock-expires"
RETRY_INTERVAL = 0.3


class LockTimeout(Exception):
    pass


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int

    @classmethod
    def me(cls) -> "Holder":
        return cls(socket.gethostname(), os.getpid())

    def label(self) -> str:
        return f"{self.host}/{self.pid}"

    @classmethod
    def parse(cls, text: str) -> Optional["Holder"]:
        host, _separator, pid = (text or "").rpartition("/")
        return cls(host, int(pid)) if host and pid.isdigit() else None


def lock_body(image: str, owner: str, holder: Holder, expires: float) -> dict[str, Any]:
    return {
        "Image": image,
        "Cmd": ["lock"],
        "Entrypoint": ["lock"],
        "Labels": {
            LABEL_MANAGED: MANAGED_BY,
            LABEL_LOCK_FOR: owner,
            LABEL_LOCK_HOLDER: holder.label(),
            LABEL_LOCK_EXPIRES: str(int(expires)),
        },
        "HostConfig": {"NetworkMode": "none"},
    }


def is_stale(labels: dict[str, str], now: float, me: Holder) -> bool:
    """A lock is stale when its time ran out, or its holder ran on this machine and is gone."""
    try:
        if float(labels.get(LABEL_LOCK_EXPIRES, "0")) < now:
            return True
    except ValueError:
        return True
    holder = Holder.parse(labels.get(LABEL_LOCK_HOLDER, ""))
    if holder is None:
        return True
    return holder.host == me.host and holder.pid != me.pid and not process_alive(holder.pid)


class EngineLock:
    def __init__(self, engine: Engine, name: str, owner: str, image: str, hold_seconds: float):
        self.engine = engine
        self.name = name
        self.owner = owner
        self.image = image
        self.hold_seconds = hold_seconds
        self.container_id: Optional[str] = None
        self.waited = 0.0

    def acquire(self, timeout: Optional[float]) -> None:
        me = Holder.me()
        started = time.monotonic()
        while True:
            body = lock_body(self.image, self.owner, me, time.time() + self.hold_seconds)
            try:
                self.container_id = self.engine.create(body, self.name)
                self.waited = time.monotonic() - started
                return
            except NameTaken:
                pass
            existing, labels = self._existing()
            if existing is not None and is_stale(labels, time.time(), me):
                self.engine.remove(existing["Id"], self.name)
                continue
            if timeout is not None and time.monotonic() - started >= timeout:
                holder = labels.get(LABEL_LOCK_HOLDER, "another run")
                raise LockTimeout(
                    f"another run ({holder}) holds the lock on {self.owner} and did not release it within {timeout:.0f}s; "
                    f"if that run was killed, the lock expires by itself, or remove container {self.name}"
                )
            time.sleep(RETRY_INTERVAL)

    def _existing(self) -> tuple[Optional[dict[str, Any]], dict[str, str]]:
        """The lock container of this name (None when there is none) and its labels."""
        existing = self.engine.inspect(self.name)
        labels = ((existing or {}).get("Config") or {}).get("Labels") or {}
        if existing is not None and labels.get(LABEL_LOCK_FOR) != self.owner:
            raise EngineError(f"the lock name {self.name} is taken by a container that is not a polytope.core lock")
        return existing, labels

    def clear_stale(self, check_mode: bool) -> Optional[str]:
        """Remove a stale lock (its holder died on this machine, or its time ran out); the holder's label when so.

        A run that changes nothing takes no lock, but must not leave one that a killed run left: the lock would
        make the next run that changes something wait for nothing, and shows as a leftover container.
        """
        existing = self.engine.inspect(self.name)
        labels = ((existing or {}).get("Config") or {}).get("Labels") or {}
        # A container of this name that is no lock of this owner is not this module's to remove.
        if (
            existing is None
            or labels.get(LABEL_LOCK_FOR) != self.owner
            or not is_stale(labels, time.time(), Holder.me())
        ):
            return None
        if not check_mode:
            self.engine.remove(existing["Id"], self.name)
        return labels.get(LABEL_LOCK_HOLDER) or "an unknown holder"

    def release(self) -> None:
        if self.container_id:
            self.engine.remove(self.container_id, self.name)
            self.container_id = None
