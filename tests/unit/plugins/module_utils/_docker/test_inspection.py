# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_info's reading: replica entries, locks, URLs, and the read-only plan of a spec."""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._docker.inspection import (
    InspectionError,
    identity,
    lock_entry,
    published_urls,
    read_locks,
    replica_entry,
    would_change,
)
from ansible_collections.polytope.core.plugins.module_utils._docker.lock import Holder, lock_body
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import create_body
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import MountPlan
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import Provisioner
from ansible_collections.polytope.core.plugins.module_utils._rollout.run import ContainerRun, RunOptions
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec

IMAGE_ID = "sha256:" + "a" * 64


def spec_params(**values: Any) -> dict[str, Any]:
    params = {
        "image": "polytope-test/busybox:latest",
        "id": "web",
        "project": "shop",
        "scaling": 2,
        "state": "started",
        "no_stdin": False,
        "tty": True,
        "update_image": False,
        "unconfined": False,
        "services": [{"id": "web", "ports": [{"port": 80, "protocol": "http"}]}],
    }
    params.update(values)
    return params


def inspect_of(run: ContainerRun, replica: int, name: str, running: bool = True) -> dict[str, Any]:
    """What the engine would report for a replica the container module made with this run's spec."""
    body = create_body(run.spec, replica, run.placement, run.fingerprint)
    return {
        "Id": f"c{replica}-{name}",
        "Name": "/" + name,
        "Image": IMAGE_ID,
        "RestartCount": 2,
        "Config": {key: body[key] for key in ("Image", "Env", "Tty", "OpenStdin", "Labels")},
        "HostConfig": body["HostConfig"],
        "State": {
            "Status": "running" if running else "exited",
            "Running": running,
            "ExitCode": 0,
            "StartedAt": "2025-01-31T10:00:00.5Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
        },
        "NetworkSettings": {
            "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(8080 + replica)}]},
            "Networks": {run.placement.network: {"Aliases": ["web"], "IPAddress": "172.18.0.2"}},
        },
    }


class FakeEngine:
    """Answers reads; any write fails the test, which is the point of container_info."""

    def __init__(self, inspects: Optional[list[dict[str, Any]]] = None):
        self.inspects = {inspect["Id"]: inspect for inspect in inspects or []}

    def image_id(self, _reference: str) -> Optional[str]:
        return IMAGE_ID

    def containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = [label.split("=", 1) for label in filters["label"]]
        found = []
        for inspect in self.inspects.values():
            labels = inspect["Config"]["Labels"]
            if all((len(w) == 1 and w[0] in labels) or (len(w) == 2 and labels.get(w[0]) == w[1]) for w in wanted):
                found.append({"Id": inspect["Id"], "Labels": labels})
        return found

    def inspect(self, container: str) -> Optional[dict[str, Any]]:
        return copy.deepcopy(self.inspects.get(container))

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"container_info called the engine's {name}")


def provisioner(engine: FakeEngine, spec: Any) -> Provisioner:
    # No mounts: the provisioner only gives the run its (empty) mount descriptors; the store is never touched.
    return Provisioner(engine, spec, MountPlan(), DatasetStore("/nonexistent/polytope-store"))  # type: ignore[arg-type]


def make_run(engine: FakeEngine, **values: Any) -> ContainerRun:
    spec = parse_spec(spec_params(**values))
    options = RunOptions(state=values.get("state", "started"), check_mode=True, publish_address="0.0.0.0")
    return ContainerRun(engine, spec, options, (), provisioner(engine, spec))  # type: ignore[arg-type]


def with_replicas(count: int, **values: Any) -> FakeEngine:
    run = make_run(FakeEngine(), **values)
    names = ["shop.web"] + [f"shop.web.{n}" for n in range(2, count + 1)]
    return FakeEngine([inspect_of(run, number, name) for number, name in enumerate(names, start=1)])


def test_the_same_spec_changes_nothing():
    engine = with_replicas(2)
    plan = would_change(make_run(engine))
    assert not plan["changes"]
    assert [(r["name"], r["changes"], r["change"]) for r in plan["replicas"]] == [
        ("shop.web", False, None),
        ("shop.web.2", False, None),
    ]
    assert [s["url"] for s in plan["services"]] == ["http://localhost:8081/", "http://localhost:8082/"]


def test_a_changed_spec_says_how_and_why():
    engine = with_replicas(2)
    plan = would_change(make_run(engine, scaling=3, env={"A": "1"}))
    assert plan["changes"]
    assert [r["change"] for r in plan["replicas"]] == ["replaced", "replaced", "created"]
    assert "env differs" in plan["replicas"][0]["reasons"]
    assert plan["replicas"][2]["reasons"] == ["missing"]


def test_scaling_down_and_absent_remove():
    engine = with_replicas(2)
    down = would_change(make_run(engine, scaling=1))
    assert [(r["name"], r["change"]) for r in down["replicas"]] == [("shop.web", None), ("shop.web.2", "removed")]
    gone = would_change(make_run(engine, state="absent"))
    assert [r["change"] for r in gone["replicas"]] == ["removed", "removed"]


def test_a_stopped_replica_would_start_and_a_leftover_is_reported():
    run = make_run(FakeEngine())
    engine = FakeEngine([inspect_of(run, 1, "shop.web", running=False), inspect_of(run, 2, "shop.web.2.next")])
    plan = would_change(make_run(engine, scaling=1))
    assert plan["replicas"][0]["actions"] == ["start"]
    assert plan["interrupted"] == ["shop.web.2.next"]


def test_would_change_refuses_a_run_that_may_write():
    spec = parse_spec(spec_params())
    with pytest.raises(InspectionError):
        would_change(ContainerRun(FakeEngine(), spec, RunOptions(), (), provisioner(FakeEngine(), spec)))  # type: ignore[arg-type]


def test_replica_entry_and_urls():
    run = make_run(FakeEngine())
    inspect = inspect_of(run, 2, "shop.web.2.prev")
    entry = replica_entry(inspect, "engine.example.com")
    assert entry["replica"] == 2 and entry["role"] == "previous"
    assert entry["project"] == "shop" and entry["id"] == "web"
    assert entry["started_at"] == "2025-01-31T10:00:00.5Z" and entry["finished_at"] is None
    assert entry["restart_count"] == 2 and entry["fingerprint"] == run.fingerprint
    assert entry["urls"] == ["tcp://engine.example.com:8082"]
    inspect["Name"] = "/renamed"
    assert replica_entry(inspect, None)["role"] == "stray"
    ports = {"NetworkSettings": {"Ports": {"53/udp": [{"HostIp": "::1", "HostPort": "53"}], "9/tcp": None}}}
    assert published_urls(ports, None) == ["udp://[::1]:53"]


def test_locks():
    me = Holder.me()
    held = {"Name": "/shop.web.lock", "Config": lock_body("img", "shop/web", Holder("elsewhere", 7), 2000.0)}
    entry = lock_entry(held, now=1000.0, me=me)
    assert entry == {
        "name": "shop.web.lock",
        "project": "shop",
        "id": "web",
        "holder": "elsewhere/7",
        "expires": "1970-01-01T00:33:20Z",
        "stale": False,
        "state": "held",
    }
    assert lock_entry(held, now=3000.0, me=me)["state"] == "stale"
    other = {"Name": "/other.web.lock", "Config": lock_body("img", "other/web", me, 9e9)}
    engine = FakeEngine([dict(held, Id="l1"), dict(other, Id="l2")])
    assert [lock["name"] for lock in read_locks(engine, "shop", None)] == ["shop.web.lock"]
    assert read_locks(engine, "shop", "api") == []


def test_identity():
    assert identity("shop", None) == ("shop", None)
    with pytest.raises(InspectionError, match="give project, id or spec"):
        identity(None, None)
    with pytest.raises(InspectionError, match="project"):
        identity("Shop!", None)
