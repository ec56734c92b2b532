# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How replacements roll: the ``rollout`` option, in Swarm's vocabulary, and the batches it makes.

Pure logic: no Ansible and no Docker objects. Both backends read the same policy: the containers backend
rolls the batches itself, the Swarm backend passes the policy on as the service's UpdateConfig.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

from ansible_collections.polytope.core.plugins.module_utils._spec import Problems

START_FIRST = "start-first"
STOP_FIRST = "stop-first"
AUTO = "auto"
ORDERS = (START_FIRST, STOP_FIRST, AUTO)
ROLLBACK = "rollback"
PAUSE = "pause"
FAILURE_ACTIONS = (ROLLBACK, PAUSE)
FIELDS = ("parallelism", "order", "monitor", "failure_action", "max_failure_ratio", "delay")

# A quarter of the replicas per batch, as Kubernetes' maxSurge: a rollout of many replicas takes four
# batches instead of one per replica, and at most a quarter of them is new and unproven at any time.
DEFAULT_PARALLELISM = "25%"
# Long enough to see a replica that crashes right after it opened its ports; Swarm's 5 s is one option away.
DEFAULT_MONITOR = 1.0

_PERCENT = re.compile(r"\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*%\s*")


@dataclass(frozen=True)
class RolloutPolicy:
    """One rollout's rules. ``parallelism``: replicas per batch (0: all at once) or ``"N%"`` of scaling."""

    parallelism: Union[int, str] = DEFAULT_PARALLELISM
    order: str = AUTO
    monitor: float = DEFAULT_MONITOR
    failure_action: str = ROLLBACK
    max_failure_ratio: float = 0.0
    delay: float = 0.0


def _seconds(problems: Problems, option: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            problems.add(option, f"expected a number of seconds >= 0, got {value!r}")
            return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        problems.add(option, f"expected a number of seconds >= 0, got {value!r}")
        return default
    return float(value)


def _parallelism(problems: Problems, value: Any) -> Union[int, str]:
    if value is None:
        return DEFAULT_PARALLELISM
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        if match is None:
            if value.strip().isdigit():
                return int(value)
            problems.add(
                "rollout.parallelism", f'expected a whole number >= 0 or a percentage such as "25%", got {value!r}'
            )
            return DEFAULT_PARALLELISM
        percent = float(match.group("number"))
        if not 0 < percent <= 100:
            problems.add("rollout.parallelism", f"expected a percentage above 0% and at most 100%, got {value!r}")
            return DEFAULT_PARALLELISM
        return f"{match.group('number')}%"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.add(
            "rollout.parallelism", f'expected a whole number >= 0 or a percentage such as "25%", got {value!r}'
        )
        return DEFAULT_PARALLELISM
    return value


def _choice(problems: Problems, option: str, value: Any, choices: Sequence[str], default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        problems.add(option, f"{value!r} is not one of {', '.join(choices)}")
        return default
    return value


def check_rollout(problems: Problems, value: Any) -> RolloutPolicy:
    """The policy of a ``rollout`` mapping (None: the defaults); each problem is added, naming its field."""
    if value is None:
        return RolloutPolicy()
    if not isinstance(value, dict):
        problems.add("rollout", f"expected a mapping with any of {', '.join(FIELDS)}")
        return RolloutPolicy()
    unknown = sorted(str(key) for key in set(value) - set(FIELDS))
    if unknown:
        problems.add("rollout", f"unknown keys {unknown}; expected {', '.join(FIELDS)}")
    ratio = _seconds(problems, "rollout.max_failure_ratio", value.get("max_failure_ratio"), 0.0)
    if ratio > 1:
        problems.add(
            "rollout.max_failure_ratio", f"expected a share from 0 to 1, got {value.get('max_failure_ratio')!r}"
        )
        ratio = 0.0
    return RolloutPolicy(
        parallelism=_parallelism(problems, value.get("parallelism")),
        order=_choice(problems, "rollout.order", value.get("order"), ORDERS, AUTO),
        monitor=_seconds(problems, "rollout.monitor", value.get("monitor"), DEFAULT_MONITOR),
        failure_action=_choice(
            problems, "rollout.failure_action", value.get("failure_action"), FAILURE_ACTIONS, ROLLBACK
        ),
        max_failure_ratio=ratio,
        delay=_seconds(problems, "rollout.delay", value.get("delay"), 0.0),
    )


def parse_rollout(value: Any) -> RolloutPolicy:
    """The policy of a ``rollout`` mapping, or SpecError naming each bad ``rollout.<field>``."""
    problems = Problems()
    policy = check_rollout(problems, value)
    problems.raise_if_any()
    return policy


def resolve_parallelism(policy: RolloutPolicy, scaling: int) -> int:
    """Replicas per batch for ``scaling`` replicas: at least 1, at most all of them (0 means all at once)."""
    total = max(1, scaling)
    parallelism = policy.parallelism
    if isinstance(parallelism, str):
        match = _PERCENT.fullmatch(parallelism)
        share = float(match.group("number")) if match else 100.0
        # Rounded up, as Kubernetes rounds maxSurge: 25% of 2 replicas is 1, not 0.
        count = math.ceil(total * share / 100 - 1e-9)
    else:
        count = parallelism or total
    return max(1, min(total, count))


def plan_batches(replicas: Sequence[int], parallelism: int) -> list[tuple[int, ...]]:
    """The replicas in order, cut into batches of ``parallelism`` (the last one may be smaller)."""
    size = max(1, parallelism)
    ordered = list(replicas)
    return [tuple(ordered[start : start + size]) for start in range(0, len(ordered), size)]


def tolerated_failures(policy: RolloutPolicy, count: int) -> int:
    """How many of ``count`` replacements may fail before the failure action runs (0: the first one)."""
    return math.floor(policy.max_failure_ratio * count + 1e-9)


def starts_first(policy: RolloutPolicy, fixed_host_ports: bool, exclusive_volumes: bool) -> bool:
    """Whether a new replica starts before its old one stops.

    ``auto`` overlaps where nothing is shared exclusively (no fixed host port, no volume that two containers
    would write at once). ``start-first`` takes the volume risk the user asked for, but a fixed host port
    still makes it stop first: the new replica could not bind the port while the old one holds it.
    """
    if policy.order == STOP_FIRST or fixed_host_ports:
        return False
    return policy.order == START_FIRST or not exclusive_volumes


def describe(policy: Optional[RolloutPolicy]) -> dict[str, Any]:
    """The policy as the module reports it and as the Swarm backend reads it."""
    policy = policy or RolloutPolicy()
    return {
        "parallelism": policy.parallelism,
        "order": policy.order,
        "monitor": policy.monitor,
        "failure_action": policy.failure_action,
        "max_failure_ratio": policy.max_failure_ratio,
        "delay": policy.delay,
    }
