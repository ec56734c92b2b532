# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fields of the spec on a Swarm service: what each writes into the service spec, and what check refuses."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import RolloutPolicy
from ansible_collections.polytope.core.plugins.module_utils._spec import SpecError, parse_spec
from ansible_collections.polytope.core.plugins.module_utils._swarm import fields, mapping
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import SwarmOptions

HOST = SwarmOptions(publish_mode="host", endpoint_mode="dnsrr")


def spec_of(**params: Any) -> Any:
    return parse_spec({"image": "polytope-demo/httpd", "id": "web", **params})


def body(options: SwarmOptions = HOST, **params: Any) -> dict[str, Any]:
    return fields.service_spec(spec_of(**params), options, "net-id")


def test_the_service_name_is_a_dns_label_without_dots() -> None:
    assert mapping.service_name(spec_of(project="shop")) == "shop-web"
    assert mapping.service_name(spec_of()) == "web"
    # an id may end in '-' or '_', a DNS label may not
    with pytest.raises(SpecError, match="id: the service name 'shop-web_'"):
        fields.check(spec_of(project="shop", id="web_"), HOST)
    long_project = "p" * 40
    with pytest.raises(SpecError, match="at most 63 characters"):
        fields.check(spec_of(project=long_project, id="i" * 30), HOST)


def test_the_container_spec() -> None:
    service = body(
        cmd="httpd -f", entrypoint=["/bin/sh", "-c"], env={"A": "1"}, workdir="/www", user=33, tty=False, no_stdin=True
    )
    container = service["TaskTemplate"]["ContainerSpec"]
    # Swarm's Command is Docker's Entrypoint, Args is Docker's Cmd
    assert container["Command"] == ["/bin/sh", "-c"]
    assert container["Args"] == ["httpd", "-f"]
    assert container["Image"] == "polytope-demo/httpd:latest"
    assert container["Env"] == ["A=1"]
    assert (container["Dir"], container["User"], container["TTY"], container["OpenStdin"]) == (
        "/www",
        "33",
        False,
        False,
    )
    assert container["StopGracePeriod"] == 10 * 10**9
    assert "Command" not in body()["TaskTemplate"]["ContainerSpec"]


def test_scaling_and_jobs() -> None:
    assert body(scaling=0)["Mode"] == {"Replicated": {"Replicas": 0}}
    job = fields.service_spec(spec_of(scaling=3), SwarmOptions(state="completed"), "n")
    assert job["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}}
    # Swarm refuses an update config on jobs
    assert "UpdateConfig" not in job and "RollbackConfig" not in job


def test_restart_policy() -> None:
    assert body()["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    assert body(restart={"policy": "always"})["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
    policy = body(restart={"max_restarts": 3})["TaskTemplate"]["RestartPolicy"]
    assert (policy["Condition"], policy["MaxAttempts"]) == ("on-failure", 3)
    with pytest.raises(SpecError, match="restart.policy: always with state completed"):
        fields.check(spec_of(restart={"policy": "always"}), SwarmOptions(state="completed"))


def test_resources_as_limits_and_reservations() -> None:
    resources = body(resources={"cpu": {"request": 0.25, "limit": 1.5}, "memory": {"request": "32Mi", "limit": "1Gi"}})
    assert resources["TaskTemplate"]["Resources"] == {
        "Limits": {"NanoCPUs": 1_500_000_000, "MemoryBytes": 1024**3},
        "Reservations": {"NanoCPUs": 250_000_000, "MemoryBytes": 32 * 1024**2},
    }
    assert body()["TaskTemplate"]["Resources"] == {"Limits": {}, "Reservations": {}}


def test_instance_type_is_a_placement_constraint() -> None:
    placement = body(instance_type="gpu-large")["TaskTemplate"]["Placement"]
    assert placement == {"Constraints": ["node.labels.polytope.instance-type == gpu-large"]}
    assert body()["TaskTemplate"]["Placement"] == {}


def test_services_publish_ports_and_name_aliases() -> None:
    services = [
        {"id": "http", "ports": [{"port": 80, "protocol": "http", "expose_as": 8080}]},
        {"id": "dns", "ports": [{"port": 53, "protocol": "udp"}, {"port": 9000, "protocol": "tcp", "internal": True}]},
    ]
    service = body(services=services)
    assert service["EndpointSpec"] == {
        "Mode": "dnsrr",
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"},
            {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "host"},
        ],
    }
    assert service["TaskTemplate"]["Networks"] == [{"Target": "net-id", "Aliases": ["web", "http", "dns"]}]
    ingress = fields.service_spec(spec_of(services=services), SwarmOptions(), "n")["EndpointSpec"]
    assert ingress["Mode"] == "vip" and {port["PublishMode"] for port in ingress["Ports"]} == {"ingress"}
    with pytest.raises(SpecError, match="swarm_publish_mode: Swarm publishes through the ingress routing mesh"):
        fields.check(spec_of(services=services), SwarmOptions(endpoint_mode="dnsrr"))
    with pytest.raises(SpecError, match="publish_address"):
        fields.check(spec_of(services=services), SwarmOptions(publish_mode="host", publish_address="127.0.0.1"))


def test_the_update_config_has_every_field() -> None:
    options = SwarmOptions(rollout=RolloutPolicy(parallelism="50%", monitor=2.5, delay=1, max_failure_ratio=0.2))
    service = fields.service_spec(spec_of(scaling=6), options, "n")
    assert service["UpdateConfig"] == {
        "Parallelism": 3,
        "Delay": 10**9,
        "FailureAction": "rollback",
        "Monitor": 2_500_000_000,
        "MaxFailureRatio": 0.2,
        "Order": "start-first",
    }
    assert service["RollbackConfig"] == {**service["UpdateConfig"], "FailureAction": "pause"}
    # a fixed host port on a node cannot be bound twice: auto stops first
    fixed = body(services=[{"id": "http", "ports": [{"port": 80, "protocol": "http"}]}])
    assert fixed["UpdateConfig"]["Order"] == "stop-first"
    paused = fields.service_spec(spec_of(), SwarmOptions(rollout=RolloutPolicy(failure_action="pause")), "n")
    assert paused["UpdateConfig"]["FailureAction"] == "pause"


def test_mounts() -> None:
    mounts = [
        {"path": "/data", "source": {"type": "host", "path": "/srv/data"}},
        {"path": "/src", "source": {"type": "repo", "path": "app"}},
        {"path": "/cache", "source": {"type": "volume", "id": "cache"}},
        {"path": "/etc/app.conf", "source": {"type": "string", "data": "x=1\n"}},
    ]
    spec = spec_of(project="shop", mounts=mounts)
    options = SwarmOptions(project_dir="/work/project")
    container = fields.service_spec(spec, options, "n", {"shop-web-" + "a" * 12: "cid"})["TaskTemplate"][
        "ContainerSpec"
    ]
    assert container["Mounts"][:2] == [
        {"Type": "bind", "Source": "/srv/data", "Target": "/data"},
        {"Type": "bind", "Source": "/work/project/app", "Target": "/src"},
    ]
    assert container["Mounts"][2]["Source"] == "shop.cache"
    assert container["Mounts"][2]["Type"] == "volume"
    (config,) = mapping.config_files(spec, options)
    assert config.name.startswith("shop-web-") and config.path == "/etc/app.conf" and config.data == b"x=1\n"
    assert container["Configs"] == [
        {
            "File": {"Name": "/etc/app.conf", "UID": "0", "GID": "0", "Mode": 0o444},
            "ConfigID": "",
            "ConfigName": config.name,
        }
    ]


def test_what_cannot_map_is_named_before_anything_changes() -> None:
    with pytest.raises(SpecError) as caught:
        fields.check(
            spec_of(
                unconfined=True,
                mounts=[
                    {"path": "/a", "source": {"type": "repo"}},
                    {"path": "/b", "source": {"type": "volume", "create": "always"}},
                    {"path": "/c", "source": {"type": "string", "data": "x" * (500 * 1024 + 1)}},
                ],
            ),
            SwarmOptions(state="restarted"),
        )
    text = str(caught.value)
    for option in (
        "unconfined",
        "mounts[0].source",
        "mounts[1].source.create",
        "mounts[2]: the string at /c",
        "state",
    ):
        assert option in text


def test_datasets_need_the_nodes_engines_and_a_job() -> None:
    datasets = [{"path": "/out", "sink": "results"}]
    with pytest.raises(SpecError, match="datasets: a finished task's files are only on its node"):
        fields.check(spec_of(datasets=datasets), SwarmOptions(state="completed"))
    with pytest.raises(SpecError, match="datasets are stored from jobs only"):
        fields.check(spec_of(datasets=datasets), SwarmOptions(node_engines="tcp://{address}:2376"))
    job = SwarmOptions(state="completed", node_engines="tcp://{address}:2376")
    fields.check(spec_of(datasets=datasets), job)
    labels = fields.service_spec(spec_of(datasets=datasets), job, "n")["TaskTemplate"]["ContainerSpec"]["Labels"]
    # the dataset store reads the sinks from the container's labels, as on one engine
    assert '"dataset":"results"' in labels["polytope.datasets"]
