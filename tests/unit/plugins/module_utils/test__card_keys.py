# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The card's hyphenated option names are renamed to the module's underscore names."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.polytope.core.plugins.module_utils._card_keys import (
    CARD_KEYS,
    card_key_conflicts,
    rename_card_keys,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec


def test_card_keys_are_the_five_of_the_contract() -> None:
    assert CARD_KEYS == {
        "no-stdin": "no_stdin",
        "update-image": "update_image",
        "instance-type": "instance_type",
        "max-restarts": "max_restarts",
        "expose-as": "expose_as",
    }


def test_top_level_keys() -> None:
    assert rename_card_keys(
        {
            "image": "nginx",
            "no-stdin": True,
            "update-image": False,
            "instance-type": "cpu-small",
        }
    ) == {
        "image": "nginx",
        "no_stdin": True,
        "update_image": False,
        "instance_type": "cpu-small",
    }


def test_nested_keys() -> None:
    args = {
        "restart": {"policy": "on-failure", "max-restarts": 3},
        "services": [
            {
                "id": "web",
                "ports": [{"port": 80, "protocol": "http", "expose-as": 8080}, None],
            },
            {
                "id": "rng",
                "ports": [{"range": "1-2", "protocol": "tcp", "expose-as": "3-4"}],
            },
        ],
    }
    assert rename_card_keys(args) == {
        "restart": {"policy": "on-failure", "max_restarts": 3},
        "services": [
            {
                "id": "web",
                "ports": [{"port": 80, "protocol": "http", "expose_as": 8080}, None],
            },
            {
                "id": "rng",
                "ports": [{"range": "1-2", "protocol": "tcp", "expose_as": "3-4"}],
            },
        ],
    }


def test_env_mapping_names_are_left_alone() -> None:
    args = {"env": {"no-stdin": "1", "expose-as": "x", "PLAIN": "y"}, "no-stdin": True}
    assert rename_card_keys(args) == {
        "env": {"no-stdin": "1", "expose-as": "x", "PLAIN": "y"},
        "no_stdin": True,
    }


def test_env_list_keys_and_values_are_left_alone() -> None:
    args = {"env": [{"name": "expose-as", "value": "no-stdin"}, None]}
    assert rename_card_keys(args) == args


def test_underscore_spelling_and_other_hyphenated_keys_unchanged() -> None:
    args = {
        "no_stdin": True,
        "run-when": {"after": "x"},
        "cmd": ["--no-stdin", "expose-as"],
        "max_restarts": 1,
    }
    assert rename_card_keys(args) == args


def test_values_are_never_renamed() -> None:
    assert rename_card_keys({"cmd": "no-stdin"}) == {"cmd": "no-stdin"}
    assert rename_card_keys(["no-stdin", {"no-stdin": "no-stdin"}]) == [
        "no-stdin",
        {"no_stdin": "no-stdin"},
    ]


@pytest.mark.parametrize("value", [None, 1, "no-stdin", True, 2.5])
def test_scalars_pass_through(value: object) -> None:
    assert rename_card_keys(value) == value


def test_input_is_not_mutated() -> None:
    args = {
        "restart": {"max-restarts": 1},
        "services": [{"id": "web", "ports": [{"port": 1, "protocol": "tcp", "expose-as": 2}]}],
    }
    original = copy.deepcopy(args)
    renamed = rename_card_keys(args)
    assert args == original
    assert renamed["restart"] == {"max_restarts": 1}


def test_renamed_card_args_parse() -> None:
    card = {
        "image": "nginx:alpine",
        "id": "web",
        "no-stdin": True,
        "update-image": True,
        "instance-type": "cpu-small",
        "restart": {"max-restarts": 2},
        "services": [
            {
                "id": "web",
                "ports": [{"port": 80, "protocol": "http", "expose-as": 8080}],
            }
        ],
        "env": {"max-restarts": "5"},
    }
    spec = parse_spec(rename_card_keys(card))
    assert spec.no_stdin is True and spec.update_image is True and spec.instance_type == "cpu-small"
    assert (spec.restart.name, spec.restart.max_restarts) == ("on-failure", 2)
    assert spec.services[0].ports[0].expose_as == 8080
    assert [(v.name, v.value) for v in spec.env] == [("max-restarts", "5")]


def test_both_spellings_are_conflicts_at_any_depth() -> None:
    assert card_key_conflicts(
        {
            "update-image": True,
            "update_image": True,
            "restart": {"max-restarts": 5, "max_restarts": 1},
            "services": [None, {"id": "a", "ports": [{"port": 1}, {"expose-as": 2, "expose_as": 3}]}],
        }
    ) == [
        "update_image: given in both spellings, update_image and update-image; give one",
        "restart.max_restarts: given in both spellings, max_restarts and max-restarts; give one",
        "services[1].ports[1].expose_as: given in both spellings, expose_as and expose-as; give one",
    ]


def test_one_spelling_and_env_names_are_no_conflict() -> None:
    assert card_key_conflicts({"no-stdin": True, "restart": {"max_restarts": 1}}) == []
    # Inside an env mapping the keys are variable names, which may be anything.
    assert card_key_conflicts({"env": {"no-stdin": "1", "no_stdin": "2"}}) == []
    assert card_key_conflicts(["x", 1, None]) == []
