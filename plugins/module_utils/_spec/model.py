# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container spec as frozen data, its limits, and the collector of validation problems.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{1,62}")


ID_EXPECTED = "2 to 63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"


PROTOCOLS = ("tcp", "udp", "http", "https")


RESTART_POLICIES = {"never": "no", "always": "always", "on-failure": "on-failure"}


# The most replicas one task runs. Every replica is a container with its own inspect on every run, so far
# more than this is no longer a rollout one engine serves in a task's time; a larger value is surely a typo.
MAX_SCALING = 1000


MIN_MEMORY = 6 * 1024**2


class SpecError(ValueError):
    """One or more invalid options; the message lists each with what is expected."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class Problems:
    """Collects validation problems so that one run reports all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, option: str, message: str) -> None:
        self.items.append(f"{option}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(self.items)


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    secret: bool = False


@dataclass(frozen=True)
class RestartPolicy:
    name: str  # Docker's name: no, always, on-failure
    max_restarts: int = 0


@dataclass(frozen=True)
class Resources:
    nano_cpus: int = 0
    cpu_shares: int = 0
    memory: int = 0
    memory_reservation: int = 0


@dataclass(frozen=True)
class PortSpec:
    port: int
    protocol: str
    expose_as: int
    label: Optional[str] = None
    internal: bool = False

    @property
    def docker_key(self) -> str:
        return f"{self.port}/{'udp' if self.protocol == 'udp' else 'tcp'}"


@dataclass(frozen=True)
class Service:
    id: str
    ports: tuple[PortSpec, ...]


@dataclass(frozen=True)
class Mount:
    path: str
    source: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.source["type"])


@dataclass(frozen=True)
class DatasetSpec:
    path: str
    dataset: str
    sink_path: Optional[str] = None
    info: Optional[str] = None


@dataclass(frozen=True)
class Healthcheck:
    """Docker's health check; durations in nanoseconds, 0 meaning the engine's default (or the image's).

    ``test`` is Docker's form: ``("CMD", ...)``, ``("CMD-SHELL", command)``, ``("NONE",)`` (disables the
    image's check), or empty (keeps the image's test with these timings).
    """

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    retries: int = 0
    start_period: int = 0

    @property
    def disabled(self) -> bool:
        return self.test == ("NONE",)


@dataclass(frozen=True)
class ContainerSpec:
    image: Optional[str]
    id: str
    project: Optional[str] = None
    cmd: Optional[tuple[str, ...]] = None
    entrypoint: Optional[tuple[str, ...]] = None
    env: tuple[EnvVar, ...] = ()
    workdir: Optional[str] = None
    no_stdin: bool = False
    tty: bool = True
    user: Optional[str] = None
    restart: RestartPolicy = RestartPolicy("no")
    resources: Resources = Resources()
    services: tuple[Service, ...] = ()
    mounts: tuple[Mount, ...] = ()
    datasets: tuple[DatasetSpec, ...] = ()
    scaling: int = 1
    update_image: bool = False
    instance_type: Optional[str] = None
    unconfined: bool = False
    healthcheck: Optional[Healthcheck] = None
    secrets: tuple[str, ...] = field(default=(), compare=False)

    def replica_name(self, replica: int) -> str:
        return replica_name(f"{self.project}.{self.id}" if self.project else self.id, replica)


def replica_name(base: str, replica: int) -> str:
    """Replica 1 is named by its base, replica k by `<base>.<k>`."""
    return base if replica == 1 else f"{base}.{replica}"


def is_valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(ID_PATTERN.fullmatch(value))


def check_id(problems: Problems, option: str, value: Any) -> Optional[str]:
    if is_valid_id(value):
        return str(value)
    problems.add(option, f"{value!r} is not a valid id; expected {ID_EXPECTED}")
    return None


MOUNT_SOURCE_FIELDS = {
    "host": {"type", "path"},
    "volume": {"type", "id", "scope", "create", "source"},
    "string": {"type", "data"},
    "dataset": {"type", "dataset", "version", "path"},
    "repo": {"type", "repo", "path", "revision"},
}


VOLUME_SCOPES = ("job", "project")


VOLUME_CREATE = ("never", "when-missing", "always")


HEALTHCHECK_FIELDS = ("test", "interval", "timeout", "retries", "start_period")


HEALTHCHECK_TEST_KINDS = ("NONE", "CMD", "CMD-SHELL")


# The engine refuses a nonzero interval, timeout or start period below one millisecond.
MIN_HEALTHCHECK_DURATION = 10**6


def list_items(problems: Problems, name: str, value: Any, item_shape: str) -> Iterator[tuple[str, Any]]:
    """(option, item) of a list option; null items are skipped, and a value that is not a list is reported."""
    if value is None:
        return
    if not isinstance(value, list):
        problems.add(name, f"expected a list of {item_shape}")
        return
    for index, item in enumerate(value):
        if item is not None:
            yield f"{name}[{index}]", item
