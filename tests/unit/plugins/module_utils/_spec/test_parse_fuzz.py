# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fuzz (property-based) tests of the container spec parser and the card-key renaming.

Random and near-valid parameters: parse_spec returns a ContainerSpec or raises SpecError, never
anything else; every problem starts with the option it is about; a secret env value never shows in
an error.  The short profile runs with the unit tests; ``make fuzz`` runs the long one
(POLYTOPE_FUZZ=long).
"""

from __future__ import annotations

import math
import os
import re
import time
from typing import Any

import pytest

hypothesis = pytest.importorskip(
    "hypothesis", reason="hypothesis is not installed (pip install -r requirements-dev.txt)"
)

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.polytope.core.plugins.module_utils._card_keys import (
    CARD_KEYS,
    card_key_conflicts,
    rename_card_keys,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    ContainerSpec,
    SpecError,
    parse_data_size,
    parse_port_range,
    parse_spec,
)

_COMMON = {
    "deadline": 5000,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("POLYTOPE_FUZZ", "ci"))

SENTINEL = "SENTINEL-spec-secret-9f3c"
SECONDS = 2.0

OPTIONS = [
    "image",
    "id",
    "project",
    "state",
    "cmd",
    "entrypoint",
    "env",
    "workdir",
    "no_stdin",
    "tty",
    "user",
    "restart",
    "resources",
    "services",
    "mounts",
    "datasets",
    "scaling",
    "update_image",
    "instance_type",
    "unconfined",
]
# every problem is "<option>[<index>][.<field>]...: <message>"
PROBLEM_RE = re.compile(r"^(%s)(\[\d+\]|\.[a-z_]+)*: \S" % "|".join(map(re.escape, OPTIONS)))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "/", "/data", "..", "/a/../..", "tcp", "http", "udp", "512Mi", "1e3", "nan", "inf", "-1"]),
    st.sampled_from(["always", "never", "on-failure", "host", "volume", "string", "dataset", "repo", "job"]),
    st.sampled_from(["nginx:1.25", "ab", "web-app", "80,443", "8000-8100", "0.5", "6Mi", "9" * 30 + "Ei"]),
)
# any JSON-like value (lists as values, also inside places that want a string, a number or a mapping)
anything = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(["type", "path", "id", "name"])), children, max_size=4
        ),
    ),
    max_leaves=20,
)


def near(fields: dict[str, Any]) -> st.SearchStrategy[dict]:
    """A mapping with some of ``fields`` (each a strategy), sometimes with an unknown or odd key."""
    return st.fixed_dictionaries({}, optional={**fields, "bogus": anything})


port_item = near(
    {
        "port": st.one_of(st.integers(-5, 70000), st.sampled_from(["80", "x"]), anything),
        "range": st.one_of(st.sampled_from(["80,443", "8000-8100", "9-1", "1-70000", "a"]), anything),
        "protocol": st.one_of(st.sampled_from(["tcp", "udp", "http", "https", "TCP"]), anything),
        "expose_as": st.one_of(st.integers(-5, 70000), st.sampled_from(["80,443", "8000-8100"]), anything),
        "label": st.one_of(st.sampled_from(["web", "a", "_x"]), anything),
        "internal": anything,
    }
)
source_item = st.deferred(
    lambda: near(
        {
            "type": st.one_of(st.sampled_from(["host", "volume", "string", "dataset", "repo", "other"]), anything),
            "path": st.one_of(st.sampled_from(["/srv", "", "rel"]), anything),
            "id": st.one_of(st.sampled_from(["vol", "a"]), anything),
            "scope": st.one_of(st.sampled_from(["job", "project", "x"]), anything),
            "create": st.one_of(st.sampled_from(["never", "when-missing", "always"]), anything),
            "source": st.one_of(source_item, anything),
            "data": anything,
            "dataset": anything,
            "version": anything,
            "repo": anything,
            "revision": anything,
        }
    )
)
env_item = near(
    {
        "name": st.one_of(st.sampled_from(["A", "B", "A=B", ""]), anything),
        "value": st.one_of(st.just(SENTINEL), anything),
        "secret": st.one_of(st.just(True), anything),
    }
)

params_strategy = near(
    {
        "image": st.one_of(
            st.sampled_from(["nginx:1.25", "registry:5000/a/b:1@sha256:" + "0" * 64, "UPPER", ""]), anything
        ),
        "id": st.one_of(st.sampled_from(["web", "a", "-x"]), anything),
        "project": anything,
        "state": st.one_of(st.sampled_from(["started", "stopped", "absent", "running"]), anything),
        "cmd": st.one_of(st.sampled_from(["echo 'unterminated", "a b c"]), anything),
        "entrypoint": anything,
        "env": st.one_of(
            st.lists(st.one_of(env_item, anything), max_size=4), st.sampled_from(['{"A": 1}', "A=1 B", "'"]), anything
        ),
        "workdir": anything,
        "no_stdin": anything,
        "tty": anything,
        "user": anything,
        "restart": st.one_of(near({"policy": anything, "max_restarts": anything}), anything),
        "resources": st.one_of(
            near(
                {
                    "cpu": st.one_of(near({"request": anything, "limit": anything}), anything),
                    "memory": st.one_of(near({"request": anything, "limit": anything}), anything),
                }
            ),
            anything,
        ),
        "services": st.one_of(
            st.lists(
                st.one_of(
                    near({"id": anything, "ports": st.one_of(st.lists(port_item, max_size=3), anything)}), anything
                ),
                max_size=3,
            ),
            anything,
        ),
        "mounts": st.one_of(
            st.lists(
                st.one_of(near({"path": anything, "source": st.one_of(source_item, anything)}), anything), max_size=3
            ),
            anything,
        ),
        "datasets": st.one_of(
            st.lists(
                st.one_of(
                    near(
                        {
                            "path": anything,
                            "sink": st.one_of(
                                near({"type": anything, "dataset": anything, "path": anything, "info": anything}),
                                anything,
                            ),
                        }
                    ),
                    anything,
                ),
                max_size=3,
            ),
            anything,
        ),
        "scaling": anything,
        "update_image": anything,
        "instance_type": anything,
        "unconfined": anything,
    }
)


def check_parse(params: dict) -> None:
    """The properties of one parse_spec call."""
    start = time.monotonic()
    try:
        result = parse_spec(params)
    except SpecError as exc:
        assert exc.problems, "a SpecError without problems"
        assert str(exc) == "; ".join(exc.problems)
        for problem in exc.problems:
            assert isinstance(problem, str)
            assert PROBLEM_RE.match(problem), f"a problem that names no option: {problem!r}"
        assert SENTINEL not in str(exc), "a secret env value in the error"
    else:
        assert isinstance(result, ContainerSpec)
        assert result.id, "a spec without an id"
        assert len(repr(result)) < 100 * (len(repr(params)) + 1000)
    assert time.monotonic() - start < SECONDS


# Inputs the fuzzer once found raising TypeError (an unhashable value looked up in a dict): now named errors.
FOUND = [
    pytest.param({"image": "nginx:1.25", "restart": {"policy": []}}, id="restart.policy-list"),
    pytest.param(
        {"image": "nginx:1.25", "mounts": [{"path": "/a", "source": {"type": []}}]}, id="mounts.source.type-list"
    ),
]


@pytest.mark.parametrize("params", FOUND)
def test_inputs_the_fuzzer_found(params: dict) -> None:
    check_parse(params)


@given(params_strategy)
def test_parse_spec_never_raises_anything_else(params: dict) -> None:
    check_parse(params)


@given(st.dictionaries(st.sampled_from(OPTIONS), anything, max_size=8))
def test_parse_spec_random_values(params: dict) -> None:
    check_parse(params)


@given(st.lists(env_item, min_size=1, max_size=4))
def test_secret_env_values_never_in_errors(env: list) -> None:
    params = {"image": "nginx:1.25", "env": env + [{"name": "S", "value": SENTINEL, "secret": True}], "user": -1}
    with pytest.raises(SpecError) as caught:
        parse_spec(params)
    assert SENTINEL not in str(caught.value)
    assert any(problem.startswith("user: ") for problem in caught.value.problems)


@given(st.one_of(anything, st.from_regex(r"\s*[0-9]{1,40}(\.[0-9]{0,30})?\s*[A-Za-z]{0,3}\s*", fullmatch=True)))
def test_parse_data_size(value: Any) -> None:
    try:
        size = parse_data_size(value)
    except ValueError as exc:
        assert str(exc)
    else:
        assert isinstance(size, int) and size >= 0


@given(st.one_of(anything, st.from_regex(r"[0-9]{1,6}(-[0-9]{1,6})?(,[0-9]{1,6}(-[0-9]{1,6})?){0,3}", fullmatch=True)))
def test_parse_port_range(value: Any) -> None:
    try:
        ports = parse_port_range(value)
    except ValueError as exc:
        assert str(exc)
    else:
        assert ports and all(isinstance(port, int) and 1 <= port <= 65535 for port in ports)
        assert len(ports) <= 65535 * 4


# --- card keys ---------------------------------------------------------------------------------

card_keys = st.one_of(
    st.sampled_from(sorted(CARD_KEYS) + sorted(CARD_KEYS.values()) + ["env", "name"]),
    st.text(max_size=6),
    st.integers(0, 3),
)
card_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(card_keys, children, max_size=5)),
    max_leaves=25,
)


def walk_pairs(before: Any, after: Any, inside_env: bool = False) -> None:
    """``after`` is ``before`` renamed: the same shape, keys renamed except inside an env mapping."""
    if isinstance(before, dict):
        assert isinstance(after, dict)
        for key, item in before.items():
            new_key = key if inside_env else CARD_KEYS.get(key, key)
            assert new_key in after
            if sum(1 for other in before if (other if inside_env else CARD_KEYS.get(other, other)) == new_key) == 1:
                walk_pairs(item, after[new_key], key == "env" and isinstance(item, dict))
        if not inside_env:
            assert not set(after) & set(CARD_KEYS), "a hyphenated card key survived"
    elif isinstance(before, list):
        assert isinstance(after, list) and len(after) == len(before)
        for old, new in zip(before, after):
            walk_pairs(old, new)
    elif isinstance(before, float) and math.isnan(before):
        assert isinstance(after, float) and math.isnan(after)
    else:
        assert after == before


def count_keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(count_keys(item) for item in value.values())
    if isinstance(value, list):
        return sum(count_keys(item) for item in value)
    return 0


@given(card_values)
def test_rename_card_keys(value: Any) -> None:
    renamed = rename_card_keys(value)
    walk_pairs(value, renamed)
    # idempotent
    again = rename_card_keys(renamed)
    assert repr(again) == repr(renamed)
    conflicts = card_key_conflicts(value)
    assert all(isinstance(problem, str) and ": given in both spellings, " in problem for problem in conflicts)
    if not conflicts:
        # nothing is lost when no mapping gives an option in both spellings
        assert count_keys(renamed) == count_keys(value)
    else:
        assert count_keys(renamed) < count_keys(value)


@given(st.dictionaries(st.sampled_from(sorted(CARD_KEYS)), scalars, min_size=1, max_size=5))
def test_both_spellings_are_named(options: dict) -> None:
    value = {"services": [{**options, **{CARD_KEYS[key]: item for key, item in options.items()}}]}
    conflicts = card_key_conflicts(value)
    assert len(conflicts) == len(options)
    for key in options:
        assert any(problem.startswith(f"services[0].{CARD_KEYS[key]}: ") and key in problem for problem in conflicts)
