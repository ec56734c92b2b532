# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run against a swarm in memory: refusals before any change, check mode, idempotency, rollback, timeouts."""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._engine import EngineError
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec
from ansible_collections.polytope.core.plugins.module_utils._swarm import run as swarm_run
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import SwarmOptions
from ansible_collections.polytope.core.plugins.module_utils._swarm.run import (
    RunSettings,
    SwarmFailed,
    SwarmRefused,
    SwarmRun,
)

NODES = [
    {"ID": "n1", "Spec": {"Availability": "active", "Labels": {}}, "Status": {"State": "ready", "Addr": "10.0.0.1"}},
    {
        "ID": "n2",
        "Spec": {"Availability": "active", "Labels": {"polytope.instance-type": "gpu-large"}},
        "Status": {"State": "ready", "Addr": "10.0.0.2"},
    },
]


class FakeSwarm:
    """The calls SwarmRun makes; a created or updated service runs its replicas at once."""

    def __init__(self, manager: bool = True, digest: Optional[str] = None) -> None:
        self.manager = manager
        self.digest = digest
        self.stored: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.update_state: Optional[str] = None
        self.run_tasks = True

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"LocalNodeState": "active", "ControlAvailable": self.manager}}

    def nodes(self) -> list[dict[str, Any]]:
        return NODES

    def distribution_digest(self, image: str) -> str:
        if self.digest is None:
            raise EngineError("resolving on the manager: no registry")
        return self.digest

    def services(self, name: str) -> list[dict[str, Any]]:
        return [service for service in self.stored.values() if service["Spec"]["Name"] == name]

    def service(self, service_id: str) -> Optional[dict[str, Any]]:
        service = self.stored.get(service_id)
        if service is not None and self.update_state:
            service["UpdateStatus"] = {"State": self.update_state, "StartedAt": "later", "Message": "task failed"}
        return copy.deepcopy(service)

    def overlay_network(self, name: str) -> Optional[dict[str, Any]]:
        return {"Id": "net1", "Driver": "overlay", "Scope": "swarm"} if "net" in self.calls else None

    def create_overlay_network(self, name: str, labels: dict[str, str]) -> str:
        self.calls.append("net")
        return "net1"

    def configs(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        return []

    def create_service(self, body: dict[str, Any]) -> str:
        self.calls.append("create")
        # the engine fills in fields of its own
        spec = copy.deepcopy(body)
        spec["TaskTemplate"]["Runtime"] = "container"
        spec["TaskTemplate"]["ContainerSpec"]["Isolation"] = "default"
        self.stored["s1"] = {"ID": "s1", "Version": {"Index": 10}, "Spec": spec}
        return "s1"

    def update_service(self, service_id: str, version: int, body: dict[str, Any]) -> list[str]:
        self.calls.append("update")
        self.stored[service_id]["Spec"] = copy.deepcopy(body)
        self.stored[service_id]["Version"] = {"Index": version + 1}
        return []

    def tasks(self, service_id: str, up_to_date: bool) -> list[dict[str, Any]]:
        replicas = self.stored[service_id]["Spec"]["Mode"]["Replicated"]["Replicas"]
        state = "running" if self.run_tasks else "pending"
        return [
            {
                "ID": f"t{slot}",
                "Slot": slot,
                "NodeID": "n1",
                "DesiredState": "running",
                "Status": {"State": state, "Err": "" if self.run_tasks else "no suitable node (host-mode port in use)"},
            }
            for slot in range(1, replicas + 1)
        ]


def run_with(
    api: FakeSwarm, clock: Any = None, check_mode: bool = False, wait_timeout: int = 600, **params: Any
) -> dict[str, Any]:
    spec = parse_spec({"image": "polytope-demo/httpd", "id": "web", "project": "shop", **params})
    settings = RunSettings(wait_timeout=wait_timeout, check_mode=check_mode, diff=True)
    # a clock that moves half a second per look: the monitor window passes without real waiting
    ticks = iter(range(0, 10**6))
    run = SwarmRun(api, spec, SwarmOptions(), settings, clock or (lambda: next(ticks) / 2))  # type: ignore[arg-type]
    return run.run()


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swarm_run, "POLL_SECONDS", 0)


def test_a_worker_or_a_missing_instance_type_is_refused_before_anything_changes() -> None:
    worker = FakeSwarm(manager=False)
    with pytest.raises(SwarmRefused, match="worker"):
        run_with(worker)
    api = FakeSwarm()
    with pytest.raises(SwarmRefused, match="instance_type: no active node .*=tpu-huge .*gpu-large"):
        run_with(api, instance_type="tpu-huge")
    assert worker.calls == [] and api.calls == []


def test_a_service_this_module_did_not_make_is_refused() -> None:
    api = FakeSwarm()
    api.stored["x"] = {"ID": "x", "Spec": {"Name": "shop-web", "Labels": {}}}
    with pytest.raises(SwarmRefused, match="id: a service named shop-web exists that this module did not make"):
        run_with(api)
    assert api.calls == []


def test_check_mode_says_what_it_would_do_and_does_nothing() -> None:
    api = FakeSwarm()
    result = run_with(api, check_mode=True)
    assert result["changed"]
    assert result["actions"] == ["shop-web: create overlay network polytope-shop", "shop-web: create service"]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["Name"] == "shop-web"
    assert api.calls == []


def test_a_rerun_with_the_same_spec_does_not_update() -> None:
    api = FakeSwarm()
    first = run_with(api, scaling=2)
    assert first["changed"] and api.calls == ["net", "create"]
    assert [container["node_id"] for container in first["containers"]] == ["n1", "n1"]
    again = run_with(api, scaling=2)
    assert not again["changed"] and again["actions"] == [] and api.calls == ["net", "create"]
    assert again["swarm_service"]["version"] == 10
    scaled = run_with(api, scaling=3)
    assert scaled["changed"] and api.calls[-1] == "update"
    assert scaled["actions"] == ["shop-web: update service (Mode changed)"]
    assert scaled["diff"]["before"]["Mode"] == {"Replicated": {"Replicas": 2}}


def test_an_unresolved_digest_warns_and_uses_the_tag() -> None:
    api = FakeSwarm()
    result = run_with(api)
    assert any("could not resolve polytope-demo/httpd:latest" in warning for warning in result["warnings"])
    assert api.stored["s1"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "polytope-demo/httpd:latest"
    resolved = FakeSwarm(digest="sha256:" + "a" * 64)
    run_with(resolved)
    image = resolved.stored["s1"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert image == "polytope-demo/httpd:latest@sha256:" + "a" * 64


def test_a_rollback_swarm_made_fails_the_run() -> None:
    api = FakeSwarm()
    run_with(api)
    api.update_state = "rollback_completed"
    with pytest.raises(SwarmFailed, match="Swarm rolled the update of shop-web back"):
        run_with(api, env={"A": "1"})


def test_pending_tasks_time_out_with_the_reason() -> None:
    api = FakeSwarm()
    api.run_tasks = False
    ticks = iter(range(0, 10000, 100))
    with pytest.raises(SwarmFailed, match="0 of 1 tasks .* pending because: no suitable node") as caught:
        run_with(api, clock=lambda: next(ticks), wait_timeout=5)
    assert caught.value.result["changed"]
