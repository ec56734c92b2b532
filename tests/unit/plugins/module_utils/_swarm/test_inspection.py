# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_info with orchestrator swarm: services and tasks as read, and the plan from the backend's check mode."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec
from ansible_collections.polytope.core.plugins.module_utils._swarm.inspection import (
    SwarmInspectionRefused,
    read_swarm,
    service_entry,
)

from ansible_collections.polytope.core.tests.unit.plugins.module_utils._swarm.test_run import FakeSwarm, run_with

PARAMS = {
    "image": "polytope-demo/httpd",
    "id": "web",
    "project": "shop",
    "state": "started",
    "publish_address": "0.0.0.0",
    "stop_timeout": 10,
    "rollout": None,
}


class InfoSwarm(FakeSwarm):
    def all_services(self, labels: Any = None) -> list[dict[str, Any]]:
        return [service for service in self.stored.values() if service["Spec"]["Labels"]["polytope.project"] == "shop"]


def test_a_job_task_reports_its_exit_code_and_a_replicated_task_none() -> None:
    finished = {
        "ID": "t1",
        "NodeID": "n2",
        "DesiredState": "complete",
        "Version": {"Index": 7},
        "Spec": {"ContainerSpec": {"Image": "busybox:1@sha256:ab"}},
        "Status": {"State": "complete", "ContainerStatus": {"ContainerID": "c1", "ExitCode": 3}},
    }
    job = {"ID": "s1", "Version": {"Index": 5}, "Spec": {"Name": "shop-job", "Mode": {"ReplicatedJob": {}}}}
    entry = service_entry(job, [finished])
    assert entry["mode"] == "replicated-job" and entry["version"] == 5
    assert entry["tasks"] == [
        {
            "task_id": "t1",
            "slot": None,
            "node_id": "n2",
            "state": "complete",
            "desired_state": "complete",
            "container": "c1",
            "image": "busybox:1@sha256:ab",
            "exit_code": 3,
            "error": None,
            "version": 7,
        }
    ]
    replicated = service_entry({"ID": "s2", "Spec": {"Name": "shop-web", "Mode": {"Replicated": {}}}}, [finished])
    assert replicated["mode"] == "replicated" and replicated["tasks"][0]["exit_code"] is None


def test_the_plan_is_the_backends_check_mode_and_changes_nothing() -> None:
    api = InfoSwarm()
    run_with(api)
    version = api.stored["s1"]["Version"]["Index"]
    spec = parse_spec(PARAMS)
    same = read_swarm(api, "shop", "web", spec, PARAMS)  # type: ignore[arg-type]
    assert same["plan"]["changes"] is False and same["plan"]["actions"] == []
    assert [task["state"] for task in same["swarm_services"][0]["tasks"]] == ["running"]
    more = {**PARAMS, "scaling": 3}
    changed = read_swarm(api, "shop", "web", parse_spec(more), more)  # type: ignore[arg-type]
    assert changed["plan"]["changes"] is True
    assert changed["plan"]["actions"] == ["shop-web: update service (Mode changed)"]
    assert api.stored["s1"]["Version"]["Index"] == version and api.calls.count("update") == 0


def test_a_worker_is_refused() -> None:
    with pytest.raises(SwarmInspectionRefused, match="worker"):
        read_swarm(InfoSwarm(manager=False), "shop", None, None, None)  # type: ignore[arg-type]
