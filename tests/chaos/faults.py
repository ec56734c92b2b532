# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chaos suite's faults: the seeded plan, what each fault changes, and the watchers that fire a fault at its
point of a run (an engine event, a dataset version being written, a share of a rollout's time) and count the
replicas that run meanwhile."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

import docker

import rig

WORK = "/run/pt-chaos"
STORE = os.path.join(WORK, "store")
PROJECT, ID, DATASET = "pt-chaos", "app", "chaos-out"
IMAGES = ("polytope-test/busybox:latest", "polytope-test/busybox:v2")
UNPULLABLE = {
    "unresolvable": ("pt-chaos-nowhere.invalid/app:1", False),
    "registry-refused": (f"{rig.HOST_ADDRESS}:5999/pt-chaos/app:1", False),
    "update-no-registry": (IMAGES[0], True),
}
INCOMING = ".incoming-"
# the first five of every block of ten faults are one of each fault the suite is about, so that a small run
# meets every one of them
PRIMARY = ("kill", "engine-restart", "store-full", "pull-fail", "slow")
EXTRA = ("kill", "kill", "crash-start", "engine-lost", "slow-kill")
BROKEN = ("store-full", "pull-fail", "crash-start")


@dataclass(frozen=True)
class Target:
    gen: int = 1
    image: str = IMAGES[0]
    scaling: int = 3
    blob: int = 0


@dataclass
class Fault:
    number: int
    kind: str
    change: str
    target: Target
    point: tuple[Any, ...] = ()
    detail: str = ""
    delay: float = 0.0
    sig: int = signal.SIGTERM
    parallelism: int = 1

    def title(self, before: Target) -> str:
        what = f"{self.kind}{' ' + self.detail if self.detail else ''}"
        return f"{what} / {self.change} {before.scaling}->{self.target.scaling}"


@dataclass
class Outcome:
    injected: bool = False
    run_rc: Optional[int] = None
    converged: bool = False
    idempotent: bool = False
    lost: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return self.converged and self.idempotent and not (self.lost or self.down or self.leftovers)


def point_text(point: tuple[Any, ...]) -> str:
    if point[0] == "event":
        return f"after {point[1]} {point[2]} #{point[3]}"
    if point[0] == "ready":
        return f"{point[2]:.1f}s after start #{point[1]} (readiness)"
    if point[0] == "store":
        return "while a dataset version is written"
    return f"after {point[1]:.0%} of a rollout's time"


def plan(seed: int, count: int, rollout: bool) -> list[Fault]:
    # one generator for the order of the kinds and one for the rest, so that a small run is the start of a big one
    order, rng = random.Random(seed), random.Random(seed + 1)
    kinds: list[str] = []
    while len(kinds) < count:
        block, extra = list(PRIMARY), list(EXTRA)
        order.shuffle(block)
        order.shuffle(extra)
        kinds += block + extra
    faults, target = [], Target()
    for number, kind in enumerate(kinds[:count], 1):
        changes = (
            ["replace", "image"]
            + (["scale-up"] if target.scaling < 4 else [])
            + (["scale-down"] if target.scaling > 2 else [])
        )
        if kind in BROKEN:
            changes = ["replace"]
        change = rng.choice(changes)
        nxt = replace(target, gen=target.gen + 1, blob=0)
        if change == "image":
            nxt = replace(nxt, image=IMAGES[1] if target.image == IMAGES[0] else IMAGES[0])
        elif change == "scale-up":
            nxt = replace(target, scaling=rng.randint(target.scaling + 1, 4))
        elif change == "scale-down":
            nxt = replace(target, scaling=rng.randint(2, target.scaling - 1))
        fault = Fault(number, kind, change, nxt, parallelism=rng.choice((1, 2)) if rollout else 1)
        if kind in ("kill", "engine-restart", "engine-lost", "slow-kill"):
            fault.point = pick_point(rng, change, abs(nxt.scaling - target.scaling) or nxt.scaling)
        if kind == "engine-restart":
            fault.sig = rng.choice((signal.SIGTERM, signal.SIGKILL))
            fault.detail = "SIGKILL" if fault.sig == signal.SIGKILL else "SIGTERM"
        if kind in ("slow", "slow-kill", "engine-lost"):
            fault.delay = rng.choice((0.005, 0.01, 0.02, 0.04))
            fault.detail = f"{int(fault.delay * 1000)}ms"
        if kind == "pull-fail":
            fault.detail = rng.choice(sorted(UNPULLABLE))
        faults.append(fault)
        target = nxt
    return faults


def pick_point(rng: random.Random, change: str, touched: int) -> tuple[Any, ...]:
    """A point of a rollout that replaces, adds or removes `touched` replicas."""
    # a delay is a share of the time the last rollout took; the lock is the first container a change creates
    points: list[tuple[Any, ...]] = [("delay", round(rng.uniform(0.3, 0.9), 2)), ("event", "container", "create", 1)]
    if change in ("replace", "image", "scale-up"):
        points += [
            ("event", "container", "create", rng.randint(2, touched + 1)),
            ("event", "container", "start", rng.randint(1, touched)),
            ("ready", rng.randint(1, touched), round(rng.uniform(0.1, 0.9), 1)),
        ]
    if change in ("replace", "image", "scale-down"):
        points += [
            ("event", "container", "die", rng.randint(1, touched)),
            ("event", "container", "destroy", rng.randint(1, touched)),
            ("store",),
        ]
    if change in ("replace", "image"):
        points.append(("event", "container", "rename", rng.randint(1, touched)))
    if change == "scale-up":
        points.append(("event", "volume", "create", rng.randint(1, touched)))
    return rng.choice(points)


class Trigger:
    """Fires `action` once at the fault's point of the run that is going on."""

    def __init__(
        self, client: docker.APIClient, point: tuple[Any, ...], action: Callable[[], None], rollout_seconds: float
    ):
        self.point, self.action, self.client = point, action, client
        self.rollout_seconds = rollout_seconds
        self.fired = threading.Event()
        self.done = threading.Event()
        self.stream: Any = None
        target = {"event": self._events, "ready": self._events, "store": self._store, "delay": self._delay}[point[0]]
        if point[0] in ("event", "ready"):
            self.stream = client.events(
                decode=True, since=int(time.time()) - 1, filters={"type": ["container", "volume"]}
            )
        self.started = time.time()
        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def _fire(self) -> None:
        if not self.done.is_set():
            self.fired.set()
            self.action()

    def _events(self) -> None:
        kind, action, nth = ("container", "start", self.point[1]) if self.point[0] == "ready" else self.point[1:4]
        seen = 0
        try:
            for event in self.stream:
                if event.get("timeNano", 0) < self.started * 1e9 or self.done.is_set():
                    continue
                if event.get("Type") == kind and event.get("Action") == action:
                    seen += 1
                    if seen == nth:
                        if self.point[0] == "ready":
                            time.sleep(self.point[2])
                        self._fire()
                        return
        except Exception:  # pylint: disable=broad-exception-caught  # the stream ends when the engine restarts
            return

    def _store(self) -> None:
        directory = os.path.join(STORE, DATASET)
        while not self.done.is_set():
            try:
                if any(name.startswith(INCOMING) for name in os.listdir(directory)):
                    self._fire()
                    return
            except OSError:
                pass
            time.sleep(0.002)

    def _delay(self) -> None:
        if not self.done.wait(self.point[1] * self.rollout_seconds):
            self._fire()

    def stop(self) -> None:
        self.done.set()
        if self.stream is not None:
            try:
                self.stream.close()
            except Exception:  # pylint: disable=broad-exception-caught
                pass


class Sampler:
    """Counts the running replicas while a run goes on: the fewest, and every container seen running."""

    def __init__(self, client: docker.APIClient, seen: set[str]):
        self.client, self.seen = client, seen
        self.fewest: Optional[int] = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.is_set():
            try:
                running = replicas(self.client, running_only=True)
            except Exception:  # pylint: disable=broad-exception-caught  # the engine is away for a moment
                running = None
            if running is not None:
                self.seen.update(container["Id"] for container in running)
                self.fewest = len(running) if self.fewest is None else min(self.fewest, len(running))
            self.done.wait(0.1)

    def stop(self) -> Optional[int]:
        self.done.set()
        self.thread.join()
        return self.fewest


def replicas(client: docker.APIClient, running_only: bool = False) -> list[dict[str, Any]]:
    """The replicas of the suite's id (set-aside ones too): the containers with a replica number."""
    found = client.containers(all=not running_only, filters={"label": [f"polytope.id={ID}", "polytope.replica"]})
    return [c for c in found if "polytope.helper" not in (c.get("Labels") or {})]
