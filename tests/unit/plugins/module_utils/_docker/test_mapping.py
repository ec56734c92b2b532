# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker API bodies, the spec fingerprint and drift detection."""

from __future__ import annotations

import copy
import json
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_DATASETS,
    LABEL_FINGERPRINT,
    LABEL_ID,
    LABEL_MANAGED,
    LABEL_PROJECT,
    LABEL_REPLICA,
    aliases,
    default_network,
    is_owned,
    owner_filters,
)
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import (
    FINGERPRINT_VERSION,
    UNCONFINED_SECURITY_OPT,
    Drift,
    Placement,
    canonical_spec,
    compare,
    create_body,
    fingerprint,
    healthcheck_body,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    ContainerSpec,
    parse_spec,
)

IMAGE_ID = "sha256:" + "ab" * 32
OTHER_IMAGE_ID = "sha256:" + "cd" * 32
BIND = {"Type": "bind", "Source": "/srv/data", "Target": "/data", "ReadOnly": False}

# The representative spec of the golden fingerprint test: keep it exactly as it is.
REPRESENTATIVE = {
    "image": "registry.example.com:5000/team/app:1.2",
    "id": "app",
    "project": "demo",
    "cmd": "serve --port 8080",
    "entrypoint": ["/entry.sh"],
    "env": [
        {"name": "MODE", "value": "prod"},
        {"name": "DEBUG", "value": True},
        {"name": "TOKEN", "value": "s3cret", "secret": True},
    ],
    "workdir": "/srv",
    "user": 1000,
    "tty": False,
    "no_stdin": True,
    "services": [
        {
            "id": "api",
            "ports": [
                {"port": 8080, "protocol": "http", "expose_as": 18080},
                {"port": 9000, "protocol": "tcp", "internal": True, "label": "grpc"},
            ],
        }
    ],
    "datasets": [{"path": "/out", "sink": "results"}],
    "restart": {"policy": "on-failure", "max_restarts": 3},
    "resources": {"cpu": {"limit": 1}, "memory": {"limit": "256Mi"}},
}
REPRESENTATIVE_PLACEMENT = Placement(network="polytope-demo", publish_address="0.0.0.0", mounts=(BIND,))

# GOLDEN: the fingerprint of REPRESENTATIVE on REPRESENTATIVE_PLACEMENT. Every replica on every engine
# carries its fingerprint as a label; if this value changes, upgrading the collection REPLACES EVERY
# RUNNING REPLICA of every user. Change it only together with FINGERPRINT_VERSION and a changelog entry.
GOLDEN_FINGERPRINT = "1e66f40e2123b9946db241c8921cc0c5"


def representative() -> ContainerSpec:
    return parse_spec(copy.deepcopy(REPRESENTATIVE))


def spec(**params: Any) -> ContainerSpec:
    params.setdefault("image", "nginx:1.25")
    params.setdefault("id", "web")
    return parse_spec(params)


def placement(**kwargs: Any) -> Placement:
    kwargs.setdefault("network", "polytope")
    return Placement(**kwargs)


# --- fingerprint ------------------------------------------------------------------------------------


def test_golden_fingerprint() -> None:
    assert FINGERPRINT_VERSION == "1"
    assert fingerprint(representative(), REPRESENTATIVE_PLACEMENT) == GOLDEN_FINGERPRINT


def test_fingerprint_is_deterministic_and_short_hex() -> None:
    first = fingerprint(representative(), REPRESENTATIVE_PLACEMENT)
    second = fingerprint(
        representative(),
        Placement("polytope-demo", "0.0.0.0", (dict(reversed(list(BIND.items()))),)),
    )
    assert first == second
    assert len(first) == 32 and int(first, 16) >= 0


def test_canonical_spec_content() -> None:
    canonical = canonical_spec(representative(), REPRESENTATIVE_PLACEMENT)
    assert canonical["image"] == "registry.example.com:5000/team/app:1.2"
    assert canonical["cmd"] == ["serve", "--port", "8080"]
    assert canonical["entrypoint"] == ["/entry.sh"]
    assert canonical["env"][:2] == [["MODE", "prod"], ["DEBUG", "true"]]
    assert canonical["env"][2][0] == "TOKEN" and canonical["env"][2][1].startswith("sha256:")
    assert canonical["ports"] == [
        ["api", 8080, "http", 18080, False],
        ["api", 9000, "tcp", 9000, True],
    ]
    assert canonical["network"] == "polytope-demo"
    assert "resources" not in canonical and "restart" not in canonical


def test_secret_values_never_in_canonical_spec() -> None:
    secret = "hunter2-very-secret"
    s = spec(
        env=[
            {"name": "PASSWORD", "value": secret, "secret": True},
            {"name": "PLAIN", "value": "visible"},
        ]
    )
    text = json.dumps(canonical_spec(s, placement()))
    assert secret not in text
    assert "visible" in text
    # ... but a changed secret still changes the fingerprint (the replica must be replaced)
    other = spec(
        env=[
            {"name": "PASSWORD", "value": "another", "secret": True},
            {"name": "PLAIN", "value": "visible"},
        ]
    )
    assert fingerprint(s, placement()) != fingerprint(other, placement())


@pytest.mark.parametrize(
    "change",
    [
        {
            "resources": {
                "cpu": {"limit": 2, "request": 1},
                "memory": {"limit": "1Gi", "request": "128Mi"},
            }
        },
        {"resources": None},
        {"restart": {"policy": "always"}},
        {"restart": None},
        {"scaling": 4},
        {"update_image": True},
        {"instance_type": "cpu-small"},
        {"unconfined": False},
        {"unconfined": None},
    ],
)
def test_fingerprint_ignores_in_place_options(change: dict) -> None:
    params = copy.deepcopy(REPRESENTATIVE)
    params.update(change)
    assert fingerprint(parse_spec(params), REPRESENTATIVE_PLACEMENT) == GOLDEN_FINGERPRINT


@pytest.mark.parametrize(
    "change",
    [
        {"image": "registry.example.com:5000/team/app:1.3"},
        {"cmd": "serve --port 8081"},
        {"cmd": None},
        {"entrypoint": None},
        {"env": [{"name": "MODE", "value": "dev"}]},
        {
            "env": [
                {"name": "MODE", "value": "prod"},
                {"name": "DEBUG", "value": True},
                {"name": "TOKEN", "value": "other", "secret": True},
            ]
        },
        {"workdir": "/"},
        {"user": "root"},
        {"tty": True},
        {"no_stdin": False},
        {
            "services": [
                {
                    "id": "api",
                    "ports": [{"port": 8080, "protocol": "http", "expose_as": 18081}],
                }
            ]
        },
        {
            "services": [
                {
                    "id": "api",
                    "ports": [{"port": 8080, "protocol": "tcp", "expose_as": 18080}],
                }
            ]
        },
        {"services": None},
        {"datasets": [{"path": "/out", "sink": "other"}]},
        {"unconfined": True},
        {"healthcheck": {"test": ["NONE"]}},
        {"healthcheck": {"test": "true", "interval": "2s"}},
    ],
)
def test_fingerprint_changes_with_spec(change: dict) -> None:
    params = copy.deepcopy(REPRESENTATIVE)
    params.update(change)
    assert fingerprint(parse_spec(params), REPRESENTATIVE_PLACEMENT) != GOLDEN_FINGERPRINT


@pytest.mark.parametrize(
    "other",
    [
        Placement("polytope-other", "0.0.0.0", (BIND,)),
        Placement("polytope-demo", "127.0.0.1", (BIND,)),
        Placement("polytope-demo", "0.0.0.0", ()),
        Placement("polytope-demo", "0.0.0.0", ({**BIND, "Source": "/srv/other"},)),
        Placement("polytope-demo", "0.0.0.0", ({**BIND, "ReadOnly": True},)),
    ],
)
def test_fingerprint_changes_with_placement(other: Placement) -> None:
    assert fingerprint(representative(), other) != GOLDEN_FINGERPRINT


# --- names, labels, ownership ---------------------------------------------------------------------


def test_default_network() -> None:
    assert default_network(None) == "polytope"
    assert default_network("") == "polytope"
    assert default_network("shop") == "polytope-shop"


def test_owner_filters_and_is_owned() -> None:
    s = spec(project="shop")
    assert owner_filters(s) == {
        "label": [
            "polytope.managed-by=polytope.core",
            "polytope.project=shop",
            "polytope.id=web",
        ]
    }
    assert owner_filters(spec())["label"][1] == "polytope.project="
    labels = {LABEL_MANAGED: "polytope.core", LABEL_PROJECT: "shop", LABEL_ID: "web"}
    assert is_owned(labels, s)
    assert not is_owned({**labels, LABEL_PROJECT: "other"}, s)
    assert not is_owned({**labels, LABEL_ID: "api"}, s)
    assert not is_owned({**labels, LABEL_MANAGED: "someone-else"}, s)
    assert not is_owned(None, s)
    assert not is_owned({}, s)
    # no project: a label that is missing or empty both mean "no project"
    assert is_owned({LABEL_MANAGED: "polytope.core", LABEL_ID: "web"}, spec())
    assert not is_owned(labels, spec())


def test_aliases() -> None:
    s = spec(
        id="app",
        services=[
            {"id": "api", "ports": [{"port": 80, "protocol": "http"}]},
            {"id": "app", "ports": [{"port": 81, "protocol": "http"}]},
            {"id": "admin", "ports": []},
        ],
    )
    assert aliases(s) == ["app", "api", "admin"]
    assert aliases(spec()) == ["web"]


# --- create body ---------------------------------------------------------------------------------


def test_create_body_representative_replica_1() -> None:
    s = representative()
    body = create_body(s, 1, REPRESENTATIVE_PLACEMENT, GOLDEN_FINGERPRINT)
    assert body["Image"] == "registry.example.com:5000/team/app:1.2"
    assert body["Cmd"] == ["serve", "--port", "8080"]
    assert body["Entrypoint"] == ["/entry.sh"]
    assert body["Env"] == ["MODE=prod", "DEBUG=true", "TOKEN=s3cret"]
    assert body["WorkingDir"] == "/srv"
    assert body["User"] == "1000"
    assert body["Tty"] is False
    assert body["OpenStdin"] is False  # no_stdin: true
    assert body["Labels"] == {
        LABEL_MANAGED: "polytope.core",
        LABEL_PROJECT: "demo",
        LABEL_ID: "app",
        LABEL_REPLICA: "1",
        LABEL_FINGERPRINT: GOLDEN_FINGERPRINT,
        LABEL_DATASETS: '[{"dataset":"results","info":null,"path":"/out","sink_path":null}]',
    }
    assert body["ExposedPorts"] == {"8080/tcp": {}, "9000/tcp": {}}
    host = body["HostConfig"]
    assert host["NetworkMode"] == "polytope-demo"
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}]}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Mounts"] == [BIND]
    assert host["Mounts"][0] is not BIND  # a copy
    assert host["NanoCpus"] == 1_000_000_000
    assert host["CpuShares"] == 0
    assert host["Memory"] == 256 * 2**20
    assert host["MemoryReservation"] == 0
    assert host["MemorySwap"] == 256 * 2**20
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"polytope-demo": {"Aliases": ["app", "api"]}}}


def test_create_body_replica_2() -> None:
    body = create_body(representative(), 2, REPRESENTATIVE_PLACEMENT, GOLDEN_FINGERPRINT)
    assert body["Labels"][LABEL_REPLICA] == "2"
    assert body["HostConfig"]["PortBindings"] == {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": ""}]}
    assert body["ExposedPorts"] == {"8080/tcp": {}, "9000/tcp": {}}


def test_create_body_minimal() -> None:
    body = create_body(spec(), 1, placement(), "f" * 32)
    assert "Cmd" not in body
    assert "Entrypoint" not in body
    assert body["Env"] == []
    assert body["OpenStdin"] is True
    assert body["Tty"] is True
    assert body["WorkingDir"] == "" and body["User"] == ""
    assert LABEL_DATASETS not in body["Labels"]
    assert body["Labels"][LABEL_PROJECT] == ""
    assert body["ExposedPorts"] == {}
    host = body["HostConfig"]
    assert host["PortBindings"] == {}
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert host["Mounts"] == []
    assert (
        host["NanoCpus"],
        host["CpuShares"],
        host["Memory"],
        host["MemoryReservation"],
    ) == (0, 0, 0, 0)
    assert "MemorySwap" not in host
    assert body["NetworkingConfig"]["EndpointsConfig"] == {"polytope": {"Aliases": ["web"]}}


def test_create_body_empty_cmd_list_is_kept() -> None:
    # an explicit empty list is not "unset": it overrides the image's CMD
    assert create_body(spec(cmd=[]), 1, placement(), "f" * 32)["Cmd"] == []


def test_create_body_ports_udp_range_publish_address() -> None:
    s = spec(
        services=[
            {
                "id": "dns",
                "ports": [
                    {"port": 53, "protocol": "udp"},
                    {"port": 53, "protocol": "tcp", "expose_as": 5353},
                ],
            },
            {
                "id": "web",
                "ports": [{"range": "8000-8001", "protocol": "http", "expose_as": "9000-9001"}],
            },
        ]
    )
    body = create_body(s, 1, placement(publish_address="127.0.0.1"), "f" * 32)
    assert body["ExposedPorts"] == {
        "53/udp": {},
        "53/tcp": {},
        "8000/tcp": {},
        "8001/tcp": {},
    }
    assert body["HostConfig"]["PortBindings"] == {
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
        "53/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
        "8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}],
        "8001/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9001"}],
    }
    assert body["NetworkingConfig"]["EndpointsConfig"]["polytope"]["Aliases"] == [
        "web",
        "dns",
    ]


def test_create_body_same_container_port_two_host_ports() -> None:
    s = spec(
        services=[
            {
                "id": "aa",
                "ports": [{"port": 80, "protocol": "http", "expose_as": 8080}],
            },
            {
                "id": "bb",
                "ports": [{"port": 80, "protocol": "http", "expose_as": 8081}],
            },
        ]
    )
    bindings = create_body(s, 1, placement(), "f" * 32)["HostConfig"]["PortBindings"]
    assert bindings == {
        "80/tcp": [
            {"HostIp": "0.0.0.0", "HostPort": "8080"},
            {"HostIp": "0.0.0.0", "HostPort": "8081"},
        ]
    }


def test_create_body_resources_requests() -> None:
    s = spec(resources={"cpu": {"request": 0.5}, "memory": {"request": "64Mi"}})
    host = create_body(s, 1, placement(), "f" * 32)["HostConfig"]
    assert (
        host["NanoCpus"],
        host["CpuShares"],
        host["Memory"],
        host["MemoryReservation"],
    ) == (0, 512, 0, 64 * 2**20)
    assert "MemorySwap" not in host


# --- compare -------------------------------------------------------------------------------------------


def inspect_of(s: ContainerSpec, p: Placement, replica: int = 1, *, dns_names: bool = False) -> dict[str, Any]:
    """What `docker inspect` reports for a replica created from create_body (as an engine would)."""
    fp = fingerprint(s, p)
    body = create_body(s, replica, p, fp)
    config = {
        key: body[key]
        for key in (
            "Image",
            "Env",
            "WorkingDir",
            "User",
            "Tty",
            "OpenStdin",
            "Labels",
            "ExposedPorts",
        )
    }
    config["Env"] = ["PATH=/usr/local/bin:/usr/bin"] + config["Env"]  # the image's own env comes along
    config["Cmd"] = body.get("Cmd", ["nginx", "-g", "daemon off;"])
    config["Entrypoint"] = body.get("Entrypoint")
    host_config = copy.deepcopy(body["HostConfig"])
    names = body["NetworkingConfig"]["EndpointsConfig"][p.network]["Aliases"] + ["0123456789ab"]
    network = {"DNSNames": [s.replica_name(replica)] + names, "Aliases": None} if dns_names else {"Aliases": names}
    return {
        "Id": "0123456789ab" * 5,
        "Name": "/" + s.replica_name(replica),
        "Image": IMAGE_ID,
        "Config": config,
        "HostConfig": host_config,
        "NetworkSettings": {"Networks": {p.network: network, "bridge": {"Aliases": None}}},
        "State": {"Status": "running", "ExitCode": 0},
    }


def drift_of(inspect: dict, s: ContainerSpec, p: Placement, image_id: str = IMAGE_ID) -> Drift:
    return compare(inspect, s, p, fingerprint(s, p), image_id)


@pytest.mark.parametrize("dns_names", [False, True])
@pytest.mark.parametrize("replica", [1, 2])
def test_compare_in_sync(dns_names: bool, replica: int) -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    drift = drift_of(inspect_of(s, p, replica, dns_names=dns_names), s, p)
    assert drift.in_sync
    assert drift.replace == [] and drift.update == {}


def test_compare_in_sync_minimal() -> None:
    s, p = spec(), placement()
    assert drift_of(inspect_of(s, p), s, p).in_sync


def test_compare_fingerprint_label_differs() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    inspect["Config"]["Labels"][LABEL_FINGERPRINT] = "0" * 32
    drift = drift_of(inspect, s, p)
    assert drift.replace == ["the spec changed"]
    assert drift.update == {}
    assert not drift.in_sync


def test_compare_fingerprint_label_missing() -> None:
    s, p = spec(), placement()
    inspect = inspect_of(s, p)
    del inspect["Config"]["Labels"][LABEL_FINGERPRINT]
    assert drift_of(inspect, s, p).replace == ["the spec changed"]


def test_compare_image_id_differs() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    drift = drift_of(inspect_of(s, p), s, p, image_id=OTHER_IMAGE_ID)
    assert drift.replace == ["registry.example.com:5000/team/app:1.2 now resolves to another image"]
    assert drift.update == {}


def test_compare_cmd_entrypoint_env_tty_differ() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    inspect["Config"]["Cmd"] = ["other"]
    inspect["Config"]["Entrypoint"] = None
    inspect["Config"]["Env"] = [e for e in inspect["Config"]["Env"] if not e.startswith("DEBUG=")]
    inspect["Config"]["Tty"] = True
    drift = drift_of(inspect, s, p)
    assert drift.replace == [
        "cmd differs",
        "env differs",
        "entrypoint differs",
        "tty differs",
    ]
    assert not any("s3cret" in reason for reason in drift.replace)


def test_compare_stdin_differs() -> None:
    s, p = spec(), placement()
    inspect = inspect_of(s, p)
    inspect["Config"]["OpenStdin"] = False
    assert drift_of(inspect, s, p).replace == ["no_stdin differs"]


def test_compare_unset_cmd_is_not_compared() -> None:
    s, p = spec(), placement()
    inspect = inspect_of(s, p)
    inspect["Config"]["Cmd"] = ["anything", "the", "image", "says"]
    assert drift_of(inspect, s, p).in_sync


def test_compare_resource_change_is_update_with_memory_swap() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    params = copy.deepcopy(REPRESENTATIVE)
    params["resources"] = {
        "cpu": {"limit": 2, "request": 1},
        "memory": {"limit": "512Mi", "request": "128Mi"},
    }
    desired = parse_spec(params)
    drift = compare(inspect, desired, p, fingerprint(desired, p), IMAGE_ID)
    assert drift.replace == []
    assert drift.update == {
        "NanoCpus": 2_000_000_000,
        "CpuShares": 1024,
        "Memory": 512 * 2**20,
        "MemoryReservation": 128 * 2**20,
        "MemorySwap": 512 * 2**20,
    }


def test_compare_cpu_change_has_no_memory_swap() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    params = copy.deepcopy(REPRESENTATIVE)
    params["resources"] = {"cpu": {"limit": 0.5}, "memory": {"limit": "256Mi"}}
    desired = parse_spec(params)
    drift = compare(inspect, desired, p, fingerprint(desired, p), IMAGE_ID)
    assert drift.update == {"NanoCpus": 500_000_000}
    assert drift.replace == []


def test_compare_resource_added_is_update() -> None:
    s, p = spec(), placement()
    inspect = inspect_of(s, p)
    desired = spec(resources={"memory": {"limit": "1g"}})
    drift = compare(inspect, desired, p, fingerprint(desired, p), IMAGE_ID)
    assert drift.update == {"Memory": 2**30, "MemorySwap": 2**30}
    assert drift.replace == []


@pytest.mark.parametrize("field", ["NanoCpus", "Memory"])
def test_compare_resource_removed_is_replace(field: str) -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    params = copy.deepcopy(REPRESENTATIVE)
    params["resources"] = {"memory": {"limit": "256Mi"}} if field == "NanoCpus" else {"cpu": {"limit": 1}}
    desired = parse_spec(params)
    drift = compare(inspect, desired, p, fingerprint(desired, p), IMAGE_ID)
    assert drift.replace == [f"{field} limit removed (the engine cannot remove it in place)"]
    assert drift.update == {}


def test_compare_restart_policy_change_is_update() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    params = copy.deepcopy(REPRESENTATIVE)
    params["restart"] = {"policy": "always"}
    desired = parse_spec(params)
    drift = compare(inspect, desired, p, fingerprint(desired, p), IMAGE_ID)
    assert drift.replace == []
    assert drift.update == {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}}


def test_compare_restart_max_change_is_update() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    inspect["HostConfig"]["RestartPolicy"]["MaximumRetryCount"] = 5
    assert drift_of(inspect, s, p).update == {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}


@pytest.mark.parametrize("reported", [{"Name": "", "MaximumRetryCount": 0}, {"Name": "no"}, None, {}])
def test_compare_restart_empty_name_means_no(reported: Any) -> None:
    s, p = spec(), placement()
    inspect = inspect_of(s, p)
    inspect["HostConfig"]["RestartPolicy"] = reported
    assert drift_of(inspect, s, p).in_sync


def test_compare_restart_always_ignores_reported_max() -> None:
    s, p = spec(restart={"policy": "always"}), placement()
    inspect = inspect_of(s, p)
    inspect["HostConfig"]["RestartPolicy"] = {"Name": "always", "MaximumRetryCount": 7}
    assert drift_of(inspect, s, p).in_sync


def test_compare_network_missing() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    del inspect["NetworkSettings"]["Networks"]["polytope-demo"]
    assert drift_of(inspect, s, p).replace == ["not attached to network polytope-demo"]
    inspect["NetworkSettings"] = None
    assert drift_of(inspect, s, p).replace == ["not attached to network polytope-demo"]


def test_compare_aliases_missing() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    inspect["NetworkSettings"]["Networks"]["polytope-demo"] = {
        "Aliases": ["app"],
        "DNSNames": ["demo.app"],
    }
    assert drift_of(inspect, s, p).replace == ["network aliases differ"]


def test_compare_aliases_found_in_dns_names() -> None:
    # Newer engines (API >= 1.45) report the names a container answers to in DNSNames.
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    inspect["NetworkSettings"]["Networks"]["polytope-demo"] = {
        "Aliases": [],
        "DNSNames": ["demo.app", "app", "api", "0123456789ab"],
    }
    assert drift_of(inspect, s, p).in_sync
    # split over both lists also counts
    inspect["NetworkSettings"]["Networks"]["polytope-demo"] = {
        "Aliases": ["app"],
        "DNSNames": ["api"],
    }
    assert drift_of(inspect, s, p).in_sync


def test_compare_reports_several_reasons() -> None:
    s, p = representative(), REPRESENTATIVE_PLACEMENT
    inspect = inspect_of(s, p)
    inspect["Config"]["Labels"][LABEL_FINGERPRINT] = "x"
    inspect["HostConfig"]["RestartPolicy"] = {"Name": "always"}
    inspect["HostConfig"]["Memory"] = 1
    drift = compare(inspect, s, p, fingerprint(s, p), OTHER_IMAGE_ID)
    assert drift.replace[:2] == [
        "the spec changed",
        "registry.example.com:5000/team/app:1.2 now resolves to another image",
    ]
    assert drift.update == {
        "Memory": 256 * 2**20,
        "MemorySwap": 256 * 2**20,
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
    }


def test_drift_in_sync_property() -> None:
    assert Drift().in_sync
    assert not Drift(replace=["x"]).in_sync
    assert not Drift(update={"Memory": 1}).in_sync


def test_representative_is_a_frozen_value() -> None:
    # The golden input stays golden: parse_spec leaves its input as it was, and the spec cannot be changed.
    given = copy.deepcopy(REPRESENTATIVE)
    value = parse_spec(given)
    assert given == REPRESENTATIVE
    with pytest.raises(FrozenInstanceError):
        value.scaling = 3  # type: ignore[misc]
    # Two parses are equal by value, not by being one object.
    assert value is not representative() and value == representative()
    assert replace(value, scaling=3) != value


# --- unconfined ---------------------------------------------------------------------------------------


def test_unconfined_enters_canonical_spec_only_when_set() -> None:
    assert "unconfined" not in canonical_spec(spec(), placement())
    assert "unconfined" not in canonical_spec(spec(unconfined=False), placement())
    assert canonical_spec(spec(unconfined=True), placement())["unconfined"] is True


def test_create_body_unconfined_sets_security_options() -> None:
    assert "SecurityOpt" not in create_body(spec(), 1, placement(), "f" * 32)["HostConfig"]
    host = create_body(spec(unconfined=True), 2, placement(), "f" * 32)["HostConfig"]
    assert host["SecurityOpt"] == ["seccomp=unconfined", "apparmor=unconfined"]
    assert tuple(host["SecurityOpt"]) == UNCONFINED_SECURITY_OPT


def test_compare_unconfined_in_sync() -> None:
    s, p = spec(unconfined=True), placement()
    assert drift_of(inspect_of(s, p), s, p).in_sync


@pytest.mark.parametrize(
    "reported",
    [
        None,
        [],
        ["seccomp=unconfined"],
        ["apparmor=unconfined"],
        ["seccomp=/etc/docker/other.json", "apparmor=unconfined"],
    ],
)
def test_compare_unconfined_missing_on_the_engine_replaces(reported: Any) -> None:
    s, p = spec(unconfined=True), placement()
    inspect = inspect_of(s, p)
    inspect["HostConfig"]["SecurityOpt"] = reported
    assert drift_of(inspect, s, p).replace == ["unconfined differs (security options cannot change in place)"]


@pytest.mark.parametrize("reported", [["seccomp=unconfined"], ["apparmor:unconfined"], list(UNCONFINED_SECURITY_OPT)])
def test_compare_confined_spec_with_unconfined_container_replaces(reported: list) -> None:
    s, p = spec(), placement()
    inspect = inspect_of(s, p)
    inspect["HostConfig"]["SecurityOpt"] = reported
    assert drift_of(inspect, s, p).replace == ["unconfined differs (security options cannot change in place)"]


def test_compare_unconfined_accepts_the_older_colon_spelling_and_other_options() -> None:
    s, p = spec(unconfined=True), placement()
    inspect = inspect_of(s, p)
    inspect["HostConfig"]["SecurityOpt"] = ["seccomp:unconfined", "apparmor=unconfined", "no-new-privileges"]
    assert drift_of(inspect, s, p).in_sync
    confined = spec()
    inspect = inspect_of(confined, p)
    inspect["HostConfig"]["SecurityOpt"] = ["label=disable", "no-new-privileges"]
    assert drift_of(inspect, confined, p).in_sync


# --- health checks --------------------------------------------------------------------------------


def test_healthcheck_body_in_nanoseconds() -> None:
    checked = spec(
        healthcheck={"test": ["CMD", "true"], "interval": "1m30s", "timeout": 2, "retries": 3, "start_period": "500ms"}
    )
    expected = {
        "Test": ["CMD", "true"],
        "Interval": 90 * 10**9,
        "Timeout": 2 * 10**9,
        "Retries": 3,
        "StartPeriod": 5 * 10**8,
    }
    assert healthcheck_body(checked.healthcheck) == expected
    assert create_body(checked, 1, placement(), "f")["Healthcheck"] == expected


def test_no_healthcheck_leaves_the_image_s() -> None:
    assert healthcheck_body(spec().healthcheck) is None
    assert "Healthcheck" not in create_body(spec(), 1, placement(), "f")


def test_healthcheck_none_disables() -> None:
    body = healthcheck_body(spec(healthcheck={"test": ["NONE"]}).healthcheck)
    assert body == {"Test": ["NONE"], "Interval": 0, "Timeout": 0, "Retries": 0, "StartPeriod": 0}


def test_healthcheck_change_changes_the_fingerprint() -> None:
    first = fingerprint(spec(healthcheck={"test": "true", "interval": "1s"}), placement())
    assert first == fingerprint(spec(healthcheck={"test": "true", "interval": 1}), placement())
    assert first != fingerprint(spec(healthcheck={"test": "true", "interval": 2}), placement())
    assert first != fingerprint(spec(), placement())
