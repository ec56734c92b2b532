# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network module's decisions and its engine calls, over a fake low-level client; no engine needed."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._connection import APIError, NotFound
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError
from ansible_collections.polytope.core.plugins.module_utils._docker.networks import (
    CREATE,
    KEEP,
    NOTHING,
    REMOVE,
    apply_network,
    attached_names,
    decide,
    is_valid_network_name,
)


class FakeClient:
    """The APIClient calls the network module makes, on an in-memory engine."""

    def __init__(self) -> None:
        self.networks_by_id: dict[str, dict[str, Any]] = {}
        # container name -> (network id, running)
        self.attached: dict[str, tuple[str, bool]] = {}
        self.calls: list[str] = []
        # a container that joins between the check and the removal
        self.joins_before_removal: Optional[str] = None
        self.remove_error: Optional[Exception] = None

    def add_network(self, name: str) -> str:
        network_id = f"{len(self.networks_by_id) + 1:064x}"
        self.networks_by_id[network_id] = {"Id": network_id, "Name": name, "Driver": "bridge"}
        return network_id

    def networks(self, names: list[str]) -> list[dict[str, Any]]:
        # like the engine: the name filter matches parts of names
        return [dict(net) for net in self.networks_by_id.values() if any(n in net["Name"] for n in names)]

    def inspect_network(self, network_id: str) -> dict[str, Any]:
        if network_id not in self.networks_by_id:
            raise NotFound("no such network")
        containers = {
            f"c-{name}": {"Name": name}
            for name, (attached_to, running) in self.attached.items()
            if attached_to == network_id and running
        }
        return {**self.networks_by_id[network_id], "Containers": containers}

    def containers(self, all: bool, filters: dict[str, Any]) -> list[dict[str, Any]]:
        assert all
        (network_id,) = filters["network"]
        return [
            {"Names": [f"/{name}"]}
            for name, (attached_to, _running) in self.attached.items()
            if attached_to == network_id
        ]

    def create_network(self, name: str, driver: str, check_duplicate: bool) -> dict[str, Any]:
        self.calls.append(f"create {name} {driver}")
        return {"Id": self.add_network(name)}

    def remove_network(self, network_id: str) -> None:
        self.calls.append(f"remove {network_id[-1]}")
        if self.remove_error is not None:
            raise self.remove_error
        if self.joins_before_removal:
            self.attached[self.joins_before_removal] = (network_id, True)
        if any(attached_to == network_id and running for attached_to, running in self.attached.values()):
            raise APIError("403 Forbidden", explanation=f"network {network_id} has active endpoints")
        if self.networks_by_id.pop(network_id, None) is None:
            raise NotFound("no such network")


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


def run(client: FakeClient, state: str, check_mode: bool = False, name: str = "polytope-shop") -> dict[str, Any]:
    return apply_network(Engine(client), name, state, check_mode, diff=True)


@pytest.mark.parametrize("name", ["polytope-shop", "a", "net_1.x-y", "0abc"])
def test_valid_network_names(name: str) -> None:
    assert is_valid_network_name(name)


@pytest.mark.parametrize("name", ["", "-net", ".net", "net work", "net/1", "nét"])
def test_invalid_network_names(name: str) -> None:
    assert not is_valid_network_name(name)


def test_attached_names_joins_endpoints_and_listed_containers() -> None:
    network = {"Containers": {"1": {"Name": "shop.api"}, "2": {"Name": ""}}}
    listed = [{"Names": ["/shop.api"]}, {"Names": ["/shop.job"]}]
    assert attached_names(network, listed) == ["shop.api", "shop.job"]
    assert attached_names({"Containers": None}, []) == []


def test_a_swarm_nodes_load_balancer_is_no_user_of_its_overlay_network() -> None:
    network = {"Containers": {"lb-polytope-shop": {"Name": "polytope-shop-endpoint"}, "c1": {"Name": "shop-web.1.x"}}}
    assert attached_names(network, []) == ["shop-web.1.x"]
    assert attached_names({"Containers": {"lb-polytope-shop": {"Name": "polytope-shop-endpoint"}}}, []) == []


@pytest.mark.parametrize(
    ("state", "exists", "users", "action"),
    [
        ("present", False, [], CREATE),
        ("present", True, [], NOTHING),
        ("absent", False, [], NOTHING),
        ("absent", True, [], REMOVE),
        ("absent", True, ["shop.api"], KEEP),
    ],
)
def test_decide(state: str, exists: bool, users: list[str], action: str) -> None:
    decision = decide("polytope-shop", state, exists, users)
    assert decision.action == action
    assert decision.in_use_by == (users if action == KEEP else [])


def test_decide_says_would_in_check_mode() -> None:
    assert decide("n1", "present", False, [], check_mode=True).msg == "would create network n1"
    assert decide("n1", "absent", True, [], check_mode=True).msg == "would remove network n1"
    assert decide("n1", "absent", True, ["a", "b"], check_mode=True).msg.startswith(
        "kept network n1: it is still used by a, b"
    )


def test_present_creates_a_bridge_once(client: FakeClient) -> None:
    created = run(client, "present")
    assert created["changed"] and created["actions"] == ["created network polytope-shop"]
    assert created["id"] == next(iter(client.networks_by_id))
    assert created["diff"] == {
        "before": {"name": "polytope-shop", "state": "absent"},
        "after": {"name": "polytope-shop", "state": "present"},
    }
    again = run(client, "present")
    assert not again["changed"] and again["actions"] == [] and again["id"] == created["id"]
    assert client.calls == ["create polytope-shop bridge"]


def test_present_in_check_mode_creates_nothing(client: FakeClient) -> None:
    result = run(client, "present", check_mode=True)
    assert result["changed"] and result["id"] is None and result["msg"] == "would create network polytope-shop"
    assert client.calls == [] and client.networks_by_id == {}


def test_only_the_network_of_exactly_that_name_counts(client: FakeClient) -> None:
    client.add_network("polytope-shop-old")
    result = run(client, "absent")
    assert not result["changed"] and result["msg"] == "network polytope-shop does not exist"
    assert client.calls == []


def test_absent_removes_an_unused_network(client: FakeClient) -> None:
    client.add_network("polytope-shop")
    result = run(client, "absent")
    assert result["changed"] and result["id"] is None and result["in_use_by"] == []
    assert result["diff"]["before"]["state"] == "present" and result["diff"]["after"]["state"] == "absent"
    assert client.networks_by_id == {}
    again = run(client, "absent")
    assert not again["changed"] and again["diff"]["before"] == again["diff"]["after"]


def test_absent_in_check_mode_removes_nothing(client: FakeClient) -> None:
    client.add_network("polytope-shop")
    result = run(client, "absent", check_mode=True)
    assert result["changed"] and result["msg"] == "would remove network polytope-shop"
    assert client.calls == [] and len(client.networks_by_id) == 1


@pytest.mark.parametrize("running", [True, False])
def test_absent_keeps_a_network_that_containers_use(client: FakeClient, running: bool) -> None:
    network_id = client.add_network("polytope-shop")
    client.attached = {"shop.api": (network_id, running), "shop.api.2": (network_id, True)}
    result = run(client, "absent")
    assert not result["changed"] and result["actions"] == []
    assert result["in_use_by"] == ["shop.api", "shop.api.2"]
    assert result["id"] == network_id
    assert "still used by shop.api, shop.api.2" in result["msg"]
    assert result["diff"]["before"] == result["diff"]["after"] == {"name": "polytope-shop", "state": "present"}
    # never a disconnect or a removal attempt
    assert client.calls == []


def test_a_container_joining_before_the_removal_keeps_the_network(client: FakeClient) -> None:
    client.add_network("polytope-shop")
    client.joins_before_removal = "shop.late"
    result = run(client, "absent")
    assert not result["changed"] and result["in_use_by"] == ["shop.late"]
    assert result["msg"].startswith("kept network polytope-shop: it is still used by shop.late")
    assert len(client.networks_by_id) == 1


def test_a_network_removed_meanwhile_is_no_change(client: FakeClient) -> None:
    client.add_network("polytope-shop")
    client.remove_error = NotFound("no such network")
    result = run(client, "absent")
    assert not result["changed"] and result["msg"] == "network polytope-shop does not exist"


def test_other_refusals_are_engine_errors(client: FakeClient) -> None:
    client.add_network("polytope-shop")
    client.remove_error = APIError("403 Forbidden", explanation="polytope-shop is a pre-defined network")
    with pytest.raises(EngineError, match="removing network polytope-shop: polytope-shop is a pre-defined network"):
        run(client, "absent")
