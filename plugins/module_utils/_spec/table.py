# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option table: every option of polytope.core.container declared once.

An entry gives the option's Ansible argument spec (with its suboptions), its type on the polytope/container
card (None: not a card option), its card spelling and the card spellings of its keys, and the parser that
validates it into the frozen spec. From it come the module's ``ARGUMENT_SPEC``, the card keys the action
plugin and the expander rename, the container params a ``polytope.yml`` step is checked against, and
``parse_spec``; each backend maps the spec fields by the same names and a unit test holds both to it. The
module's DOCUMENTATION is held to the argument spec by ansible-test's validate-modules.

Pure data and logic: no Ansible and no Docker objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ansible_collections.polytope.core.plugins.module_utils._spec.model import Problems
from ansible_collections.polytope.core.plugins.module_utils._spec.options import (
    parse_command,
    parse_datasets,
    parse_env,
    parse_healthcheck,
    parse_mounts,
    parse_resources,
    parse_restart,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.scalars import (
    flag,
    parse_instance_type,
    parse_scaling,
    parse_user,
    parse_workdir,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.services import parse_services

Parser = Callable[[Problems, Any], Any]

# Where an option is used: a field of the frozen spec (what the replicas are), or how a run goes about it.
SPEC = "spec"
RUN = "run"
SWARM = "swarm"


@dataclass(frozen=True)
class SpecOption:
    name: str
    argument: Mapping[str, Any]
    kind: str = SPEC
    # The option's type on the polytope/container card, in Polytope's type language.
    card_type: Any = None
    # Keys inside the option that the card spells with hyphens (restart's max-restarts).
    card_subkeys: tuple[str, ...] = ()
    # The spec field's parser; None for image, id and project, which parse_spec checks together.
    parse: Optional[Parser] = None
    # Given to a standard library module, it reaches the module's container (the newer card's options).
    reaches_library_container: bool = False

    @property
    def card_name(self) -> str:
        return self.name.replace("_", "-")

    @property
    def on_card(self) -> bool:
        return self.card_type is not None


_COMMAND_TYPE = ["maybe", ["either", "str", [["maybe", "str"]]]]


def _command(option: str) -> Parser:
    return lambda problems, value: parse_command(problems, option, value)


def _card_flag(name: str, default: bool, reaches_library_container: bool = False) -> SpecOption:
    """A boolean card option: its argument spec and its parser take the one default."""
    return SpecOption(
        name,
        {"type": "bool", "default": default},
        card_type=["maybe", "bool"],
        parse=flag(name, default),
        reaches_library_container=reaches_library_container,
    )


# In the card's order, then the module's own options; the argument spec keeps this order.
SPEC_OPTIONS: tuple[SpecOption, ...] = (
    SpecOption("image", {"type": "str"}, card_type="docker-image"),
    SpecOption("id", {"type": "str"}, card_type=["maybe", "id"]),
    SpecOption("project", {"type": "str"}),
    SpecOption("cmd", {"type": "raw"}, card_type=_COMMAND_TYPE, parse=_command("cmd")),
    SpecOption(
        "mounts",
        {"type": "list", "elements": "dict"},
        card_type=["maybe", [["maybe", {"source": "mount-source", "path": "absolute-path"}]]],
        parse=parse_mounts,
    ),
    SpecOption(
        "env",
        {"type": "raw"},
        # The card's list of env-vars, or a mapping of name to value, which the module also takes.
        card_type=[
            "maybe",
            ["either", [["maybe", "env-var"]], ["map", "str", ["maybe", ["either", "str", "bool", "int"]]]],
        ],
        parse=parse_env,
    ),
    SpecOption("workdir", {"type": "str"}, card_type=["maybe", "absolute-path"], parse=parse_workdir),
    SpecOption("entrypoint", {"type": "raw"}, card_type=_COMMAND_TYPE, parse=_command("entrypoint")),
    _card_flag("no_stdin", False),
    _card_flag("tty", True),
    SpecOption(
        "services",
        {
            "type": "list",
            "elements": "dict",
            "options": {
                "id": {"type": "str", "required": True},
                "ports": {"type": "list", "elements": "dict", "default": []},
            },
        },
        card_type=["maybe", ["service-spec"]],
        card_subkeys=("expose_as",),
        parse=parse_services,
    ),
    SpecOption(
        "datasets",
        {"type": "list", "elements": "dict"},
        card_type=["maybe", [{"path": "absolute-path", "sink": "dataset-sink"}]],
        parse=parse_datasets,
    ),
    SpecOption("user", {"type": "raw"}, card_type=["maybe", ["either", "int", "str"]], parse=parse_user),
    SpecOption(
        "restart",
        {
            "type": "dict",
            "options": {
                "policy": {"type": "str", "choices": ["never", "always", "on-failure"]},
                "max_restarts": {"type": "int"},
            },
        },
        card_type=[
            "maybe",
            {"policy": ["maybe", ["enum", "never", "always", "on-failure"]], "max-restarts": ["maybe", "int"]},
        ],
        card_subkeys=("max_restarts",),
        parse=parse_restart,
    ),
    SpecOption("scaling", {"type": "int", "default": 1}, card_type=["maybe", "int"], parse=parse_scaling),
    SpecOption(
        "create",
        {"type": "str", "choices": ["when-missing", "always", "never"]},
        kind=RUN,
        card_type=["maybe", ["enum", "never", "always", "when-missing"]],
        reaches_library_container=True,
    ),
    _card_flag("unconfined", False, reaches_library_container=True),
    _card_flag("update_image", False),
    SpecOption("instance_type", {"type": "str"}, card_type=["maybe", "instance-type"], parse=parse_instance_type),
    SpecOption(
        "resources",
        {"type": "dict", "options": {"cpu": {"type": "dict"}, "memory": {"type": "dict"}}},
        card_type=[
            "maybe",
            {
                "cpu": {"request": ["maybe", "num"], "limit": ["maybe", "num"]},
                "memory": {"request": ["maybe", "data-size"], "limit": ["maybe", "data-size"]},
            },
        ],
        parse=parse_resources,
    ),
    SpecOption(
        "healthcheck",
        {
            "type": "dict",
            "options": {
                "test": {"type": "raw"},
                "interval": {"type": "raw"},
                "timeout": {"type": "raw"},
                "retries": {"type": "int"},
                "start_period": {"type": "raw"},
            },
        },
        parse=parse_healthcheck,
    ),
    SpecOption(
        "rollout",
        {
            "type": "dict",
            "options": {
                "parallelism": {"type": "raw", "default": "25%"},
                "order": {"type": "str", "choices": ["start-first", "stop-first", "auto"], "default": "auto"},
                "monitor": {"type": "float", "default": 1.0},
                "failure_action": {"type": "str", "choices": ["rollback", "pause"], "default": "rollback"},
                "max_failure_ratio": {"type": "float", "default": 0.0},
                "delay": {"type": "float", "default": 0.0},
            },
        },
        kind=RUN,
    ),
    SpecOption(
        "state",
        {"type": "str", "default": "started", "choices": ["started", "restarted", "completed", "stopped", "absent"]},
        kind=RUN,
    ),
    SpecOption("wait_timeout", {"type": "int", "default": 600}, kind=RUN),
    SpecOption("log_lines", {"type": "int", "default": 20}, kind=RUN),
    SpecOption("stop_timeout", {"type": "int", "default": 10}, kind=RUN),
    SpecOption("recreate", {"type": "bool", "default": False}, kind=RUN),
    SpecOption("network", {"type": "str"}, kind=RUN),
    SpecOption("publish_address", {"type": "str", "default": "0.0.0.0"}, kind=RUN),
    SpecOption("project_dir", {"type": "path"}, kind=RUN),
    SpecOption("dataset_store", {"type": "path", "default": "/var/lib/polytope/datasets"}, kind=RUN),
    SpecOption("dataset_keep", {"type": "int"}, kind=RUN),
    SpecOption("copy_dir", {"type": "path", "default": "/var/lib/polytope/copies"}, kind=RUN),
    SpecOption("controller_copies", {"type": "list", "elements": "dict"}, kind=RUN),
    SpecOption("swarm_publish_mode", {"type": "str", "default": "ingress", "choices": ["ingress", "host"]}, kind=SWARM),
    SpecOption("swarm_endpoint_mode", {"type": "str", "default": "vip", "choices": ["vip", "dnsrr"]}, kind=SWARM),
    SpecOption("swarm_node_engines", {"type": "raw"}, kind=SWARM),
)

# The fields of the frozen spec that a backend maps, each named as its option.
SPEC_FIELDS: tuple[str, ...] = tuple(option.name for option in SPEC_OPTIONS if option.kind == SPEC)

CARD_OPTIONS: tuple[SpecOption, ...] = tuple(option for option in SPEC_OPTIONS if option.on_card)


def argument_spec() -> dict[str, dict[str, Any]]:
    """The container module's argument spec for the options in the table (a fresh copy each call)."""
    return {option.name: _copied(option.argument) for option in SPEC_OPTIONS}


def card_params() -> dict[str, Any]:
    """The polytope/container card's params and their types, in the card's spelling and order."""
    return {option.card_name: option.card_type for option in CARD_OPTIONS}


def library_container_params() -> tuple[str, ...]:
    """The card params (card spelling) that a standard library module passes on to its container."""
    return tuple(option.card_name for option in CARD_OPTIONS if option.reaches_library_container)


def card_keys() -> dict[str, str]:
    """Each hyphenated card spelling and the module's underscore spelling of it, at any depth."""
    names = [name for option in CARD_OPTIONS for name in (option.name, *option.card_subkeys)]
    return {name.replace("_", "-"): name for name in names if "_" in name}


def _copied(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value
