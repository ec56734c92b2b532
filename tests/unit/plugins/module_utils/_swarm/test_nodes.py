# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a node's engine is reached: a URL template or a mapping, and what the option may not be."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._spec import Problems
from ansible_collections.polytope.core.plugins.module_utils._swarm.nodes import check_node_engines, node_engine_url

NODE = {"ID": "n1id", "Description": {"Hostname": "vm"}, "Status": {"Addr": "10.95.0.12"}}


def test_a_template_takes_the_nodes_fields() -> None:
    assert node_engine_url("tcp://{address}:2376", NODE) == "tcp://10.95.0.12:2376"
    assert node_engine_url("ssh://deploy@{hostname}-{id}", NODE) == "ssh://deploy@vm-n1id"


def test_a_mapping_by_id_then_address() -> None:
    assert node_engine_url({"n1id": "unix:///a.sock", "10.95.0.12": "unix:///b.sock"}, NODE) == "unix:///a.sock"
    assert node_engine_url({"10.95.0.12": "unix:///b.sock"}, NODE) == "unix:///b.sock"
    assert node_engine_url({"other": "unix:///c.sock"}, NODE) is None
    assert node_engine_url(None, NODE) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("tcp://{addr}:2376", "unknown fields ['addr']"),
        ("tcp://{address:2376", "is not a URL template"),
        (["tcp://x"], "expected a URL template"),
        ({"n1": ""}, "expected a URL template"),
    ],
)
def test_bad_values_name_the_option(value: Any, expected: str) -> None:
    problems = Problems()
    check_node_engines(problems, value)
    assert len(problems.items) == 1
    assert problems.items[0].startswith("swarm_node_engines: ") and expected in problems.items[0]


def test_good_values_pass() -> None:
    problems = Problems()
    for value in (None, "tcp://{address}:2375", {"n1": "tcp://10.95.0.11:2375"}):
        check_node_engines(problems, value)
    assert problems.items == []
