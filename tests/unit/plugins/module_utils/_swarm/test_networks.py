# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network module with orchestrator swarm, against a manager in memory."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError
from ansible_collections.polytope.core.plugins.module_utils._swarm.networks import (
    OverlayRefused,
    apply_overlay_network,
    using_services,
)

OVERLAY = {"Id": "n1", "Name": "polytope-shop", "Driver": "overlay", "Scope": "swarm", "Containers": {}}


class FakeManager:
    def __init__(self, network: Optional[dict[str, Any]] = None, manager: bool = True) -> None:
        self.stored = network
        self.manager = manager
        self.service_list: list[dict[str, Any]] = []
        self.container_list: list[dict[str, Any]] = []
        self.calls: list[str] = []

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"LocalNodeState": "active", "ControlAvailable": self.manager}}

    def network(self, name: str) -> Optional[dict[str, Any]]:
        return self.stored

    def network_containers(self, network_id: str) -> list[dict[str, Any]]:
        return self.container_list

    def all_services(self) -> list[dict[str, Any]]:
        return self.service_list

    def create_overlay_network(self, name: str, labels: dict[str, str]) -> str:
        self.calls.append(f"create {name} {labels}")
        self.stored = {**OVERLAY, "Name": name}
        return "n1"

    def remove_network(self, network_id: str, name: str) -> bool:
        self.calls.append(f"remove {name}")
        if self.service_list:
            raise EngineError(f"removing network {name}: rpc error: network {network_id} is in use by service x")
        self.stored = None
        return True


def apply(api: FakeManager, state: str, check_mode: bool = False) -> dict[str, Any]:
    return apply_overlay_network(api, "polytope-shop", state, check_mode, True)  # type: ignore[arg-type]


def test_present_makes_a_managed_overlay_network_once() -> None:
    api = FakeManager()
    assert apply(api, "present", check_mode=True)["changed"] and api.calls == []
    made = apply(api, "present")
    assert made["changed"] and made["id"] == "n1" and made["diff"]["after"]["state"] == "present"
    assert api.calls == ["create polytope-shop {'polytope.managed-by': 'polytope.core'}"]
    assert not apply(api, "present")["changed"] and len(api.calls) == 1


def test_a_worker_or_a_local_network_of_the_name_is_refused_before_anything_changes() -> None:
    with pytest.raises(OverlayRefused, match="worker"):
        apply(FakeManager(manager=False), "present")
    local = FakeManager({**OVERLAY, "Driver": "bridge", "Scope": "local"})
    with pytest.raises(OverlayRefused, match="polytope-shop exists as a local bridge network"):
        apply(local, "absent")
    assert local.calls == []


def test_services_and_other_containers_keep_it_but_task_containers_and_the_load_balancer_do_not() -> None:
    api = FakeManager({**OVERLAY, "Containers": {"lb-polytope-shop": {"Name": "polytope-shop-endpoint"}}})
    api.service_list = [{"Spec": {"Name": "shop-web", "TaskTemplate": {"Networks": [{"Target": "n1"}]}}}]
    api.container_list = [
        {"Names": ["/shop-web.1.abc"], "Labels": {"com.docker.swarm.task.id": "abc"}},
        {"Names": ["/debug"], "Labels": {}},
    ]
    kept = apply(api, "absent")
    assert not kept["changed"] and kept["in_use_by"] == ["service shop-web", "debug"] and api.calls == []
    api.container_list = api.container_list[:1]
    api.service_list = []
    removed = apply(api, "absent")
    assert removed["changed"] and removed["diff"]["after"]["state"] == "absent"


def test_a_service_that_joined_after_the_check_keeps_it() -> None:
    api = FakeManager(dict(OVERLAY))
    joined = [{"Spec": {"Name": "late", "Networks": [{"Target": "n1"}]}}]

    def all_services() -> list[dict[str, Any]]:
        return joined if "remove polytope-shop" in api.calls else []

    api.all_services = all_services  # type: ignore[method-assign]
    api.service_list = joined
    result = apply(api, "absent")
    assert not result["changed"] and result["in_use_by"] == ["service late"]


def test_using_services_reads_task_and_service_networks() -> None:
    services = [
        {"Spec": {"Name": "b", "TaskTemplate": {"Networks": [{"Target": "n1"}]}}},
        {"Spec": {"Name": "a", "Networks": [{"Target": "n1"}]}},
        {"Spec": {"Name": "c", "TaskTemplate": {"Networks": [{"Target": "n2"}]}}},
    ]
    assert using_services(services, "n1") == ["service a", "service b"]
