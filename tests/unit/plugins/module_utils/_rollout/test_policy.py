# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout policy: parsing the option, batch sizes and order."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import (
    DEFAULT_MONITOR,
    DEFAULT_PARALLELISM,
    RolloutPolicy,
    describe,
    parse_rollout,
    plan_batches,
    resolve_parallelism,
    starts_first,
    tolerated_failures,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import SpecError


def test_defaults_when_the_option_is_absent() -> None:
    policy = parse_rollout(None)
    assert policy == RolloutPolicy(DEFAULT_PARALLELISM, "auto", DEFAULT_MONITOR, "rollback", 0.0, 0.0)
    assert parse_rollout({}) == policy


def test_swarm_settings_are_taken_as_given() -> None:
    policy = parse_rollout(
        {"parallelism": 1, "monitor": 5, "order": "stop-first", "failure_action": "pause", "delay": "2.5"}
    )
    assert (policy.parallelism, policy.monitor, policy.order, policy.failure_action, policy.delay) == (
        1,
        5.0,
        "stop-first",
        "pause",
        2.5,
    )


def test_policy_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        parse_rollout(None).monitor = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "value, option",
    [
        ({"parallelism": "x"}, "rollout.parallelism"),
        ({"parallelism": -1}, "rollout.parallelism"),
        ({"parallelism": "0%"}, "rollout.parallelism"),
        ({"parallelism": "150%"}, "rollout.parallelism"),
        ({"parallelism": True}, "rollout.parallelism"),
        ({"order": "random"}, "rollout.order"),
        ({"monitor": -1}, "rollout.monitor"),
        ({"monitor": "soon"}, "rollout.monitor"),
        ({"failure_action": "continue"}, "rollout.failure_action"),
        ({"max_failure_ratio": 1.5}, "rollout.max_failure_ratio"),
        ({"delay": float("inf")}, "rollout.delay"),
        ({"parallel": 2}, "rollout"),
        ("fast", "rollout"),
    ],
)
def test_bad_fields_are_named(value: Any, option: str) -> None:
    with pytest.raises(SpecError) as error:
        parse_rollout(value)
    assert [problem.split(":", 1)[0] for problem in error.value.problems] == [option]


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(SpecError) as error:
        parse_rollout({"order": "x", "monitor": -2, "delay": "y"})
    assert sorted(problem.split(":", 1)[0] for problem in error.value.problems) == [
        "rollout.delay",
        "rollout.monitor",
        "rollout.order",
    ]


@pytest.mark.parametrize(
    "parallelism, scaling, expected",
    [
        ("25%", 10, 3),
        ("25%", 50, 13),
        ("25%", 4, 1),
        ("25%", 1, 1),
        ("25%", 0, 1),
        ("100%", 9, 9),
        ("33.3%", 3, 1),
        (1, 50, 1),
        (0, 7, 7),
        (5, 2, 2),
    ],
)
def test_resolve_parallelism(parallelism: Any, scaling: int, expected: int) -> None:
    assert resolve_parallelism(parse_rollout({"parallelism": parallelism}), scaling) == expected


def test_batches_keep_the_order_and_cut_the_rest_last() -> None:
    assert plan_batches([1, 2, 3, 4, 5, 6, 7], 3) == [(1, 2, 3), (4, 5, 6), (7,)]
    assert plan_batches([], 3) == []
    assert plan_batches([2, 5], 0) == [(2,), (5,)]


def test_tolerated_failures() -> None:
    assert tolerated_failures(RolloutPolicy(), 50) == 0
    assert tolerated_failures(RolloutPolicy(max_failure_ratio=0.1), 50) == 5
    assert tolerated_failures(RolloutPolicy(max_failure_ratio=0.3), 10) == 3


@pytest.mark.parametrize(
    "order, fixed_ports, volumes, expected",
    [
        ("auto", False, False, True),
        ("auto", False, True, False),
        ("auto", True, False, False),
        ("start-first", False, True, True),
        ("start-first", True, False, False),
        ("stop-first", False, False, False),
    ],
)
def test_starts_first(order: str, fixed_ports: bool, volumes: bool, expected: bool) -> None:
    assert starts_first(RolloutPolicy(order=order), fixed_ports, volumes) is expected


def test_describe_lists_every_field() -> None:
    assert describe(None) == {
        "parallelism": DEFAULT_PARALLELISM,
        "order": "auto",
        "monitor": DEFAULT_MONITOR,
        "failure_action": "rollback",
        "max_failure_ratio": 0.0,
        "delay": 0.0,
    }
