# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parsers of the spec's other structured options: cmd, env, restart, resources, mounts,
datasets and healthcheck.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
"""

from __future__ import annotations

import json
import math
import shlex
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._spec.model import (
    DatasetSpec,
    EnvVar,
    HEALTHCHECK_FIELDS,
    HEALTHCHECK_TEST_KINDS,
    Healthcheck,
    MIN_HEALTHCHECK_DURATION,
    MIN_MEMORY,
    MOUNT_SOURCE_FIELDS,
    Mount,
    Problems,
    RESTART_POLICIES,
    Resources,
    RestartPolicy,
    VOLUME_CREATE,
    VOLUME_SCOPES,
    check_id,
    list_items,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.values import (
    is_absolute_path,
    normalize_container_path,
    parse_data_size,
    parse_duration,
    render_env_value,
)

# The engine keeps sizes and cpu figures as int64 and refuses a memory limit or reservation below 6 MiB
# (moby's linuxMinMemory): a value outside these fails in the engine, after the run may have changed things.
MAX_INT64 = 2**63 - 1


def parse_command(problems: Problems, option: str, value: Any) -> Optional[tuple[str, ...]]:
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


def parse_env(problems: Problems, value: Any) -> tuple[EnvVar, ...]:
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


def parse_restart(problems: Problems, value: Any) -> RestartPolicy:
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


def parse_resources(problems: Problems, value: Any) -> Resources:
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


def parse_mounts(problems: Problems, value: Any) -> tuple[Mount, ...]:
    mounts: list[Mount] = []
    paths: set[str] = set()
    for option, item in list_items(problems, "mounts", value, "{source, path}"):
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


def parse_datasets(problems: Problems, value: Any) -> tuple[DatasetSpec, ...]:
    datasets: list[DatasetSpec] = []
    for option, item in list_items(problems, "datasets", value, "{path, sink}"):
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


def parse_healthcheck(problems: Problems, value: Any) -> Optional[Healthcheck]:
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
