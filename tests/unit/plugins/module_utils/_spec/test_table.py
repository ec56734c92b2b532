# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option table is the one description of an option: what is derived from it agrees with it."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest
import yaml

from ansible_collections.polytope.core.plugins.module_utils._card_keys import CARD_KEYS
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import CONTAINER_FIELDS
from ansible_collections.polytope.core.plugins.module_utils._language.types import _CONTAINER_PARAMS, _PASSED_PARAMS
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, Problems, parse_spec
from ansible_collections.polytope.core.plugins.module_utils._spec.table import (
    CARD_OPTIONS,
    SPEC,
    SPEC_FIELDS,
    SPEC_OPTIONS,
    argument_spec,
    card_keys,
    card_params,
    library_container_params,
)
from ansible_collections.polytope.core.plugins.module_utils._swarm.fields import SERVICE_FIELDS

ROLE_TASKS = pathlib.Path(__file__).parents[5] / "roles" / "template" / "tasks" / "container.yml"


def test_every_option_is_declared_once() -> None:
    names = [option.name for option in SPEC_OPTIONS]
    assert len(names) == len(set(names))


def test_the_spec_fields_are_the_frozen_spec() -> None:
    spec_fields = [item.name for item in dataclasses.fields(ContainerSpec) if item.name != "secrets"]
    assert sorted(SPEC_FIELDS) == sorted(spec_fields)


@pytest.mark.parametrize("fields", [CONTAINER_FIELDS, SERVICE_FIELDS], ids=["docker", "swarm"])
def test_each_backend_maps_every_field_in_the_table_order(fields: dict) -> None:
    assert list(fields) == list(SPEC_FIELDS)


@pytest.mark.parametrize("fields", [CONTAINER_FIELDS, SERVICE_FIELDS], ids=["docker", "swarm"])
def test_a_field_that_writes_nothing_says_where_it_takes_effect(fields: dict) -> None:
    silent = [
        name for name, field in fields.items() if field.write.__name__ == "_writes_nothing" and not field.elsewhere
    ]
    assert silent == []


def test_argument_spec_default_parses_to_the_spec_default() -> None:
    defaults = {item.name: item.default for item in dataclasses.fields(ContainerSpec)}
    checked = []
    for option in SPEC_OPTIONS:
        if option.kind != SPEC or option.parse is None:
            continue
        problems = Problems()
        given = option.parse(problems, option.argument.get("default"))
        assert problems.items == [], option.name
        assert given == defaults[option.name], option.name
        checked.append(option.name)
    assert "tty" in checked and "scaling" in checked


def test_argument_spec_is_a_fresh_copy() -> None:
    first = argument_spec()
    first["restart"]["options"]["policy"]["choices"].append("sometimes")
    assert "sometimes" not in argument_spec()["restart"]["options"]["policy"]["choices"]


def test_card_keys_come_from_the_table() -> None:
    # test__card_keys holds the five to the contract; here: they are the table's, not a list of their own.
    assert CARD_KEYS == card_keys()
    assert set(CARD_KEYS.values()) <= {name for option in CARD_OPTIONS for name in (option.name, *option.card_subkeys)}


def test_the_template_checks_steps_against_the_card_options() -> None:
    assert [param.id for param in _CONTAINER_PARAMS] == [option.card_name for option in CARD_OPTIONS]
    assert card_params()["no-stdin"] == ["maybe", "bool"]
    # Not on the card: the module's own options.
    assert not {"project", "healthcheck", "rollout", "state"} & set(card_params())


def test_a_library_module_passes_create_and_unconfined_on() -> None:
    assert library_container_params() == ("create", "unconfined")
    assert [param.id for param in _PASSED_PARAMS] == ["create", "unconfined"]


def test_every_card_option_parses_or_is_a_run_option() -> None:
    for option in CARD_OPTIONS:
        assert option.parse is not None or option.name in ("image", "id", "create"), option.name
    spec = parse_spec({"image": "busybox", "no_stdin": True, "instance_type": "gpu"})
    assert spec.no_stdin and spec.instance_type == "gpu" and spec.tty


def test_the_role_passes_a_step_s_args_whole() -> None:
    if not ROLE_TASKS.exists():
        pytest.skip(f"{ROLE_TASKS} is not in this tree")
    tasks = yaml.safe_load(ROLE_TASKS.read_text())
    apply = next(task for task in tasks if task["name"].startswith("Apply the step"))
    # No card option listed one by one: a new option in the table reaches the module without the role.
    assert not set(apply["polytope.core.container"]) & {option.name for option in CARD_OPTIONS}
    assert "template_container_step.args" in apply["module_defaults"]["polytope.core.container"]
