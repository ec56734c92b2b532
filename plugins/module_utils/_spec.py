# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and validation of the Polytope container spec.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
Every problem in the input is collected and reported at once, each naming its option.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from decimal import Decimal, InvalidOperation
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{1,62}")
ID_EXPECTED = "2 to 63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"

# Docker's reference grammar: [registry[:port]/]path[:tag][@digest]
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_PATTERN = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)

PROTOCOLS = ("tcp", "udp", "http", "https")
RESTART_POLICIES = {"never": "no", "always": "always", "on-failure": "on-failure"}

# The most replicas one task runs. Every replica is a container with its own inspect on every run, so far
# more than this is no longer a rollout one engine serves in a task's time; a larger value is surely a typo.
MAX_SCALING = 1000

# The engine keeps sizes and cpu figures as int64 and refuses a memory limit or reservation below 6 MiB
# (moby's linuxMinMemory): a value outside these fails in the engine, after the run may have changed things.
MAX_INT64 = 2**63 - 1
MIN_MEMORY = 6 * 1024**2

# Kubernetes spellings keep their meaning (decimal k M G ..., binary Ki Mi ...); Docker CLI spellings
# (b, K, m, g, t and kb mb gb tb in any case) are binary, as in `docker run -m`.
_SIZE_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "E": 1000**6,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
    "b": 1,
    "B": 1,
    "K": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
}
_DOCKER_LONG_UNITS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}
_SIZE_PATTERN = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$")


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


def parse_image_reference(reference: str) -> tuple[str, str, Optional[str]]:
    """Split an image reference into (name, tag, digest); no tag means latest."""
    match = IMAGE_PATTERN.fullmatch(reference)
    if not match:
        raise ValueError(reference)
    tag = match.group("tag") or ("" if match.group("digest") else "latest")
    return match.group("name"), tag, match.group("digest")


def normalize_image(reference: str) -> str:
    name, tag, digest = parse_image_reference(reference)
    if digest:
        return f"{name}{':' + tag if tag else ''}@{digest}"
    return f"{name}:{tag}"


def default_id_for_image(reference: str) -> str:
    """The image's last path segment without tag, lower-cased, other characters turned into '-'."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1].split(":", 1)[0]
    return re.sub(r"[^a-z0-9_-]", "-", last.lower())


def parse_data_size(value: Any) -> int:
    """Bytes from an integer or a number with a Kubernetes or Docker suffix."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("expected a finite size >= 0")
        return int(value)
    if not isinstance(value, str):
        raise ValueError("expected an integer or a string such as 512Mi or 512m")
    match = _SIZE_PATTERN.match(value)
    if not match:
        raise ValueError("expected an integer or a string such as 512Mi or 512m")
    unit = match.group("unit")
    factor = _SIZE_UNITS.get(unit) or _DOCKER_LONG_UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(
            f"unknown unit {unit!r}; use k M G T P E (decimal), Ki Mi Gi Ti Pi Ei (binary), "
            "or Docker's b K m g t / kb mb gb tb (binary)"
        )
    try:
        return int(Decimal(match.group("number")) * factor)
    except InvalidOperation as exc:
        raise ValueError("expected a number") from exc


def _parse_command(problems: Problems, option: str, value: Any) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:
            problems.add(option, f"cannot split {value!r} into words ({exc}); give a list instead")
            return None
    if isinstance(value, (list, tuple)):
        words = []
        for index, item in enumerate(value):
            if item is None:
                continue
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                problems.add(f"{option}[{index}]", f"expected a string, got {type(item).__name__}")
                continue
            words.append(str(item))
        return tuple(words)
    problems.add(option, f"expected a string or a list of strings, got {type(value).__name__}")
    return None


def render_env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _env_from_text(problems: Problems, text: str) -> Any:
    """Ad hoc calls pass env as text: JSON, or NAME=value words."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        words = shlex.split(text)
    except ValueError as exc:
        problems.add("env", f"cannot split {text!r} into NAME=value words ({exc})")
        return {}
    if not all("=" in word for word in words):
        problems.add("env", "as text, expected JSON or NAME=value words")
        return {}
    return dict(word.split("=", 1) for word in words)


def _parse_env(problems: Problems, value: Any) -> tuple[EnvVar, ...]:
    if value is None:
        return ()
    variables: list[EnvVar] = []
    if isinstance(value, str):
        value = _env_from_text(problems, value)
    if isinstance(value, dict):
        items = [{"name": name, "value": item} for name, item in value.items()]
    elif isinstance(value, list):
        items = value
    else:
        problems.add("env", "expected a list of {name, value, secret} or a mapping of names to values")
        return ()
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item is None:
            continue
        option = f"env[{index}]"
        if not isinstance(item, dict):
            problems.add(option, "expected a mapping with name, value and optionally secret")
            continue
        unknown = set(item) - {"name", "value", "secret"}
        if unknown:
            problems.add(option, f"unknown keys {sorted(unknown)}; expected name, value, secret")
        name = item.get("name")
        if not isinstance(name, str) or not name or "=" in name:
            problems.add(f"{option}.name", "expected a non-empty string without '='")
            continue
        if name in seen:
            problems.add(f"{option}.name", f"{name!r} is set twice")
        seen.add(name)
        raw = item.get("value")
        if raw is not None and not isinstance(raw, (str, int, float, bool)):
            problems.add(f"{option}.value", "expected a string, boolean or number")
            continue
        secret = item.get("secret", False)
        if not isinstance(secret, bool):
            problems.add(f"{option}.secret", "expected a boolean")
            secret = True
        variables.append(EnvVar(name, render_env_value(raw), secret))
    return tuple(variables)


def _parse_restart(problems: Problems, value: Any) -> RestartPolicy:
    if value is None:
        return RestartPolicy("no")
    if not isinstance(value, dict):
        problems.add("restart", "expected a mapping with policy and/or max_restarts")
        return RestartPolicy("no")
    unknown = set(value) - {"policy", "max_restarts"}
    if unknown:
        problems.add("restart", f"unknown keys {sorted(unknown)}; expected policy, max_restarts")
    policy = value.get("policy")
    maximum = value.get("max_restarts")
    if maximum is not None and (isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 0):
        problems.add("restart.max_restarts", f"expected a whole number >= 0, got {maximum!r}")
        maximum = None
    if policy is None:
        return RestartPolicy("on-failure", maximum) if maximum is not None else RestartPolicy("no")
    if not isinstance(policy, str) or policy not in RESTART_POLICIES:
        problems.add("restart.policy", f"{policy!r} is not one of never, always, on-failure")
        return RestartPolicy("no")
    if maximum is not None and policy != "on-failure":
        problems.add(
            "restart.max_restarts",
            f"only allowed with policy on-failure (the engine refuses a maximum with {policy!r})",
        )
        maximum = None
    return RestartPolicy(RESTART_POLICIES[policy], maximum or 0)


def _number(problems: Problems, option: str, value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                problems.add(option, f"expected a number, got {value!r}")
                return None
        else:
            problems.add(option, f"expected a number, got {value!r}")
            return None
    if not math.isfinite(value):
        problems.add(option, f"expected a finite number, got {value!r}")
        return None
    if value <= 0:
        problems.add(option, f"expected a number greater than 0, got {value!r}")
        return None
    return float(value)


def _memory_size(problems: Problems, option: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    try:
        size = parse_data_size(value)
    except ValueError as exc:
        problems.add(option, f"{value!r} is not a data size: {exc}")
        return None
    if size <= 0:
        problems.add(option, "expected a size greater than 0")
        return None
    if size < MIN_MEMORY:
        problems.add(option, f"{value!r} is {size} bytes, below the engine's minimum of 6Mi ({MIN_MEMORY} bytes)")
        return None
    if size > MAX_INT64:
        problems.add(option, f"{value!r} is {size} bytes, above the most the engine takes ({MAX_INT64} bytes, 8Ei - 1)")
        return None
    return size


def _cpus(problems: Problems, option: str, value: Any, unit: int, what: str) -> Optional[float]:
    """A cpu figure whose engine field (cpus times ``unit``) fits the engine's int64."""
    cpus = _number(problems, option, value)
    if cpus is not None and cpus * unit > MAX_INT64:
        problems.add(option, f"{value!r} cpus is more than the engine's {what} can hold")
        return None
    return cpus


def _parse_resources(problems: Problems, value: Any) -> Resources:
    if value is None:
        return Resources()
    if not isinstance(value, dict) or set(value) - {"cpu", "memory"}:
        problems.add("resources", "expected a mapping with cpu and/or memory, each with request and/or limit")
        return Resources()
    parsed: dict[str, dict[str, Any]] = {}
    for kind in ("cpu", "memory"):
        section = value.get(kind) or {}
        if not isinstance(section, dict) or set(section) - {"request", "limit"}:
            problems.add(f"resources.{kind}", "expected a mapping with request and/or limit")
            section = {}
        if kind == "cpu":
            parsed[kind] = {
                "request": _cpus(problems, "resources.cpu.request", section.get("request"), 1024, "CpuShares"),
                "limit": _cpus(problems, "resources.cpu.limit", section.get("limit"), 10**9, "NanoCpus"),
            }
        else:
            parsed[kind] = {
                key: _memory_size(problems, f"resources.{kind}.{key}", section.get(key)) for key in ("request", "limit")
            }
        request, limit = parsed[kind]["request"], parsed[kind]["limit"]
        if request is not None and limit is not None and request > limit:
            problems.add(
                f"resources.{kind}", f"request ({section.get('request')}) is above limit ({section.get('limit')})"
            )
    cpu, memory = parsed["cpu"], parsed["memory"]
    return Resources(
        nano_cpus=round(cpu["limit"] * 1e9) if cpu["limit"] else 0,
        cpu_shares=max(2, round(cpu["request"] * 1024)) if cpu["request"] else 0,
        memory=memory["limit"] or 0,
        memory_reservation=memory["request"] or 0,
    )


def _port_number(problems: Problems, option: str, value: Any) -> Optional[int]:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        problems.add(option, f"expected a port number from 1 to 65535, got {value!r}")
        return None
    return value


def parse_port_range(text: Any) -> list[int]:
    """Ports of a range expression such as "80,443,8000-8100", in order."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError('expected a string such as "80,443,8000-8100"')
    ports: list[int] = []
    for part in text.split(","):
        part = part.strip()
        bounds = part.split("-")
        if len(bounds) > 2 or not all(bound.strip().isdigit() for bound in bounds):
            raise ValueError(f"{part!r} is not a port or a range of ports")
        low, high = int(bounds[0]), int(bounds[-1])
        if not (1 <= low <= high <= 65535):
            raise ValueError(f"{part!r} is not within 1-65535 in ascending order")
        ports.extend(range(low, high + 1))
    return ports


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


def _list_items(problems: Problems, name: str, value: Any, item_shape: str) -> Iterator[tuple[str, Any]]:
    """(option, item) of a list option; null items are skipped, and a value that is not a list is reported."""
    if value is None:
        return
    if not isinstance(value, list):
        problems.add(name, f"expected a list of {item_shape}")
        return
    for index, item in enumerate(value):
        if item is not None:
            yield f"{name}[{index}]", item


def _parse_services(problems: Problems, value: Any) -> tuple[Service, ...]:
    services: list[Service] = []
    seen_ids: set[str] = set()
    published: dict[tuple[str, int], str] = {}
    for option, item in _list_items(problems, "services", value, "{id, ports}"):
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


def is_absolute_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/")


def normalize_container_path(path: str) -> Optional[str]:
    """An absolute container path with '.', '..' and repeated '/' resolved, as the engine resolves it.

    None when '..' climbs above '/': the kernel would stop at '/', but such a path is surely a mistake.
    """
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


MOUNT_SOURCE_FIELDS = {
    "host": {"type", "path"},
    "volume": {"type", "id", "scope", "create", "source"},
    "string": {"type", "data"},
    "dataset": {"type", "dataset", "version", "path"},
    "repo": {"type", "repo", "path", "revision"},
}
VOLUME_SCOPES = ("job", "project")
VOLUME_CREATE = ("never", "when-missing", "always")


def _parse_mount_source(problems: Problems, option: str, source: Any) -> Optional[dict[str, Any]]:
    if not isinstance(source, dict):
        problems.add(option, "expected a mapping with type (host, volume, string, dataset or repo)")
        return None
    kind = source.get("type")
    if not isinstance(kind, str) or kind not in MOUNT_SOURCE_FIELDS:
        problems.add(f"{option}.type", f"{kind!r} is not one of {', '.join(MOUNT_SOURCE_FIELDS)}")
        return None
    unknown = set(source) - MOUNT_SOURCE_FIELDS[kind]
    if unknown:
        problems.add(option, f"unknown keys {sorted(unknown)} for a {kind} source")
    parsed = {key: item for key, item in source.items() if item is not None}
    if kind == "host":
        if not isinstance(source.get("path"), str) or not source["path"]:
            problems.add(f"{option}.path", "expected the host path as a non-empty string")
            return None
    elif kind == "volume":
        if "id" in parsed:
            check_id(problems, f"{option}.id", parsed["id"])
        parsed.setdefault("scope", "job")
        parsed.setdefault("create", "when-missing")
        if parsed["scope"] not in VOLUME_SCOPES:
            problems.add(f"{option}.scope", f"{parsed['scope']!r} is not one of {', '.join(VOLUME_SCOPES)}")
        if parsed["create"] not in VOLUME_CREATE:
            problems.add(f"{option}.create", f"{parsed['create']!r} is not one of {', '.join(VOLUME_CREATE)}")
        if "source" in parsed:
            inner = _parse_mount_source(problems, f"{option}.source", parsed["source"])
            if inner is not None and inner["type"] == "volume":
                problems.add(f"{option}.source", "a volume cannot take its contents from another volume source")
            parsed["source"] = inner
    elif kind == "string":
        if not isinstance(source.get("data"), str):
            problems.add(f"{option}.data", "expected the file's text as a string")
            return None
    elif kind == "dataset":
        check_id(problems, f"{option}.dataset", source.get("dataset"))
        version = source.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
            problems.add(f"{option}.version", f"expected a version number >= 1, got {version!r}")
    elif kind == "repo":
        if source.get("repo") is not None:
            problems.add(
                f"{option}.repo",
                f"repository {source['repo']!r} is not supported; only the project's own directory (no repo) is",
            )
    return parsed


def _parse_mounts(problems: Problems, value: Any) -> tuple[Mount, ...]:
    mounts: list[Mount] = []
    paths: set[str] = set()
    for option, item in _list_items(problems, "mounts", value, "{source, path}"):
        if not isinstance(item, dict) or set(item) - {"source", "path"}:
            problems.add(option, "expected a mapping with source and path")
            continue
        path = item.get("path")
        if not is_absolute_path(path):
            problems.add(f"{option}.path", f"expected an absolute path in the container, got {path!r}")
            continue
        # The engine mounts '/data/../etc' over /etc: the spec, its errors and diffs name the path it really is.
        normalized = normalize_container_path(str(path))
        if normalized is None:
            problems.add(f"{option}.path", f"{path!r} leaves the container's root with '..'")
            continue
        if normalized == "/":
            problems.add(f"{option}.path", f"{path!r} is the container's root, which cannot be mounted over")
            continue
        if normalized in paths:
            problems.add(f"{option}.path", f"{normalized!r} is mounted twice")
        paths.add(normalized)
        source = _parse_mount_source(problems, f"{option}.source", item.get("source"))
        if source is not None:
            mounts.append(Mount(normalized, source))
    return tuple(mounts)


def _parse_datasets(problems: Problems, value: Any) -> tuple[DatasetSpec, ...]:
    datasets: list[DatasetSpec] = []
    for option, item in _list_items(problems, "datasets", value, "{path, sink}"):
        if not isinstance(item, dict) or set(item) - {"path", "sink"}:
            problems.add(option, "expected a mapping with path and sink")
            continue
        path = item.get("path")
        if not is_absolute_path(path):
            problems.add(f"{option}.path", f"expected an absolute path in the container, got {path!r}")
            continue
        sink = item.get("sink")
        if isinstance(sink, str):
            if check_id(problems, f"{option}.sink", sink):
                datasets.append(DatasetSpec(str(path), sink))
            continue
        if (
            not isinstance(sink, dict)
            or sink.get("type", "dataset") != "dataset"
            or set(sink) - {"type", "dataset", "path", "info"}
        ):
            problems.add(f"{option}.sink", "expected a dataset id or {type: dataset, dataset, path, info}")
            continue
        dataset = check_id(problems, f"{option}.sink.dataset", sink.get("dataset"))
        sink_path = sink.get("path")
        if sink_path is not None and (not isinstance(sink_path, str) or ".." in sink_path.split("/")):
            problems.add(f"{option}.sink.path", "expected a relative path inside the dataset without '..'")
            sink_path = None
        info = sink.get("info")
        if dataset:
            datasets.append(
                DatasetSpec(
                    str(path), dataset, sink_path.strip("/") if sink_path else None, None if info is None else str(info)
                )
            )
    return tuple(datasets)


HEALTHCHECK_FIELDS = ("test", "interval", "timeout", "retries", "start_period")
HEALTHCHECK_TEST_KINDS = ("NONE", "CMD", "CMD-SHELL")
_DURATION_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?)(?P<unit>ns|us|\u00b5s|ms|s|m|h)")
# The engine refuses a nonzero interval, timeout or start period below one millisecond.
MIN_HEALTHCHECK_DURATION = 10**6


def parse_duration(value: Any) -> int:
    """Nanoseconds of a number of seconds or a Go duration such as "1m30s" or "500ms"."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a duration")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError("expected a finite number of seconds >= 0")
        return round(value * 10**9)
    if not isinstance(value, str) or not value.strip():
        raise ValueError('expected seconds or a duration such as "30s", "1m30s" or "500ms"')
    text = value.strip()
    try:
        return parse_duration(float(text))
    except ValueError:
        pass
    total = Decimal(0)
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += Decimal(match.group("number")) * _DURATION_UNITS[match.group("unit")]
        position = match.end()
    if position != len(text):
        raise ValueError('expected seconds or a duration such as "30s", "1m30s" or "500ms"')
    return int(total)


def _healthcheck_test(problems: Problems, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        if not value.strip():
            problems.add("healthcheck.test", "expected a command, not an empty string")
            return ()
        return ("CMD-SHELL", value)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        problems.add("healthcheck.test", "expected a string (run by a shell) or a list of strings such as [CMD, ...]")
        return ()
    kind = value[0]
    if kind not in HEALTHCHECK_TEST_KINDS:
        problems.add(
            "healthcheck.test", f"the list starts with {kind!r}; expected one of {', '.join(HEALTHCHECK_TEST_KINDS)}"
        )
        return ()
    if kind == "NONE" and len(value) > 1:
        problems.add("healthcheck.test", "[NONE] disables the image's check and takes nothing after it")
        return ()
    if kind != "NONE" and len(value) < 2:
        problems.add("healthcheck.test", f"[{kind}] needs the command after it")
        return ()
    if kind == "CMD-SHELL" and len(value) > 2:
        return ("CMD-SHELL", " ".join(value[1:]))
    return tuple(value)


def _parse_healthcheck(problems: Problems, value: Any) -> Optional[Healthcheck]:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add("healthcheck", f"expected a mapping with any of {', '.join(HEALTHCHECK_FIELDS)}")
        return None
    given = {key: item for key, item in value.items() if item is not None}
    unknown = sorted(str(key) for key in set(given) - set(HEALTHCHECK_FIELDS))
    if unknown:
        problems.add("healthcheck", f"unknown keys {unknown}; expected {', '.join(HEALTHCHECK_FIELDS)}")
    if not given:
        return None
    test = _healthcheck_test(problems, given.get("test"))
    durations: dict[str, int] = {}
    for key in ("interval", "timeout", "start_period"):
        if key not in given:
            durations[key] = 0
            continue
        try:
            durations[key] = parse_duration(given[key])
        except ValueError as exc:
            problems.add(f"healthcheck.{key}", f"{given[key]!r} is not a duration: {exc}")
            durations[key] = 0
            continue
        if 0 < durations[key] < MIN_HEALTHCHECK_DURATION or durations[key] > MAX_INT64:
            problems.add(f"healthcheck.{key}", f"expected 0 or from 1ms up, got {given[key]!r}")
            durations[key] = 0
    retries = given.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 2**31 - 1:
        problems.add("healthcheck.retries", f"expected a whole number >= 0, got {retries!r}")
        retries = 0
    if test == ("NONE",) and (retries or any(durations.values())):
        problems.add(
            "healthcheck", "test [NONE] disables the check; interval, timeout, retries and start_period do not apply"
        )
    return Healthcheck(test, durations["interval"], durations["timeout"], retries, durations["start_period"])


def _bool(problems: Problems, option: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.add(option, f"expected a boolean, got {value!r}")
        return default
    return value


def parse_spec(params: dict[str, Any]) -> ContainerSpec:
    """Validate every spec option and return the normalized spec, or raise SpecError listing all problems."""
    problems = Problems()
    state = params.get("state") or "started"
    image = params.get("image")
    if image is None:
        # Without an image, stopped stops the replicas that exist (by their identity) and makes nothing.
        if state not in ("absent", "stopped"):
            problems.add("image", "is required unless state is absent or stopped")
    elif not isinstance(image, str) or not IMAGE_PATTERN.fullmatch(image):
        problems.add(
            "image", f"{image!r} is not a valid image reference; expected [registry[:port]/]name[:tag][@digest]"
        )
        image = None
    else:
        image = normalize_image(image)

    container_id = params.get("id")
    if container_id is None:
        if isinstance(image, str):
            container_id = default_id_for_image(image)
            if not is_valid_id(container_id):
                problems.add(
                    "id",
                    f"the default taken from the image, {container_id!r}, is not a valid id; set id ({ID_EXPECTED})",
                )
                container_id = None
        elif state in ("absent", "stopped"):
            problems.add("id", "is required when image is not given")
    else:
        container_id = check_id(problems, "id", container_id)

    project = params.get("project")
    if project is not None:
        project = check_id(problems, "project", project)

    workdir = params.get("workdir")
    if workdir is not None and not is_absolute_path(workdir):
        problems.add("workdir", f"expected an absolute path, got {workdir!r}")

    user = params.get("user")
    if user is not None:
        if (
            isinstance(user, bool)
            or not isinstance(user, (int, str))
            or (isinstance(user, int) and user < 0)
            or user == ""
        ):
            problems.add("user", f"expected a user name or a UID, got {user!r}")
            user = None
        else:
            user = str(user)

    scaling = params.get("scaling")
    if scaling is None:
        scaling = 1
    elif isinstance(scaling, bool) or not isinstance(scaling, int) or not 0 <= scaling <= MAX_SCALING:
        problems.add("scaling", f"expected a whole number from 0 to {MAX_SCALING}, got {scaling!r}")
        scaling = 1

    instance_type = params.get("instance_type")
    if instance_type is not None:
        instance_type = check_id(problems, "instance_type", instance_type)

    env = _parse_env(problems, params.get("env"))
    spec = ContainerSpec(
        image=image,
        id=container_id or "",
        project=project,
        cmd=_parse_command(problems, "cmd", params.get("cmd")),
        entrypoint=_parse_command(problems, "entrypoint", params.get("entrypoint")),
        env=env,
        workdir=workdir if is_absolute_path(workdir) else None,
        no_stdin=_bool(problems, "no_stdin", params.get("no_stdin"), False),
        tty=_bool(problems, "tty", params.get("tty"), True),
        user=user,
        restart=_parse_restart(problems, params.get("restart")),
        resources=_parse_resources(problems, params.get("resources")),
        services=_parse_services(problems, params.get("services")),
        mounts=_parse_mounts(problems, params.get("mounts")),
        datasets=_parse_datasets(problems, params.get("datasets")),
        scaling=scaling,
        update_image=_bool(problems, "update_image", params.get("update_image"), False),
        instance_type=instance_type,
        unconfined=_bool(problems, "unconfined", params.get("unconfined"), False),
        healthcheck=_parse_healthcheck(problems, params.get("healthcheck")),
        secrets=tuple(variable.value for variable in env if variable.secret and variable.value),
    )
    problems.raise_if_any()
    return spec
