# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Single values of the spec: image references, sizes, durations, port ranges, container paths.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

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


def render_env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


_DURATION_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


_DURATION_PART = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?)(?P<unit>ns|us|\u00b5s|ms|s|m|h)")


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
