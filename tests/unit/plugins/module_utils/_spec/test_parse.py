# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and validation of the Polytope container spec (interface.md, polytope-model.md)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    Healthcheck,
    parse_duration,
    ContainerSpec,
    DatasetSpec,
    EnvVar,
    Mount,
    PortSpec,
    Resources,
    RestartPolicy,
    Service,
    SpecError,
    default_id_for_image,
    is_valid_id,
    normalize_image,
    parse_data_size,
    parse_image_reference,
    parse_port_range,
    parse_spec,
    render_env_value,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


def spec(**params: Any) -> ContainerSpec:
    params.setdefault("image", "nginx:1.25")
    return parse_spec(params)


def problems(**params: Any) -> list[str]:
    params.setdefault("image", "nginx:1.25")
    with pytest.raises(SpecError) as info:
        parse_spec(params)
    assert str(info.value) == "; ".join(info.value.problems)
    return info.value.problems


def single_problem(**params: Any) -> str:
    found = problems(**params)
    assert len(found) == 1, found
    return found[0]


# --- id ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "ab",
        "a1",
        "0a",
        "web-server",
        "web_server",
        "a_",
        "a-",
        "9" * 63,
        "a" + "-" * 62,
        "x" * 63,
    ],
)
def test_valid_ids(value: str) -> None:
    assert is_valid_id(value)
    assert spec(id=value).id == value


@pytest.mark.parametrize(
    "value",
    [
        "a",  # 1 character
        "",
        "_web",  # leading underscore
        "-web",  # leading hyphen
        "x" * 64,  # 64 characters
        "Web",  # upper case
        "web.1",  # dot
        "web server",
        "wéb",
        7,
        None,
        ["web"],
    ],
)
def test_invalid_ids(value: Any) -> None:
    assert not is_valid_id(value)


@pytest.mark.parametrize("value", ["a", "_web", "-web", "x" * 64, "Web", "web.1"])
def test_invalid_id_option_is_reported(value: str) -> None:
    message = single_problem(id=value)
    assert message.startswith("id: ")
    assert repr(value) in message
    assert "2 to 63 characters" in message


def test_id_with_trailing_newline_is_rejected() -> None:
    assert not is_valid_id("web\n")


def test_project_and_instance_type_are_id_shaped() -> None:
    assert spec(project="shop", instance_type="cpu-small").project == "shop"
    assert single_problem(project="Shop").startswith("project: ")
    assert single_problem(instance_type="gpu large").startswith("instance_type: ")


# --- image ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference, expected",
    [
        ("postgres:16", ("postgres", "16", None)),
        ("postgres", ("postgres", "latest", None)),
        (
            "public.ecr.aws/docker/library/postgres:16.2",
            ("public.ecr.aws/docker/library/postgres", "16.2", None),
        ),
        (
            "docker.redpanda.com/redpandadata/connect",
            ("docker.redpanda.com/redpandadata/connect", "latest", None),
        ),
        ("localhost:5000/team/app:1.0", ("localhost:5000/team/app", "1.0", None)),
        ("localhost:5000/app", ("localhost:5000/app", "latest", None)),
        (
            "registry.example.com:5000/a/b@" + DIGEST,
            ("registry.example.com:5000/a/b", "", DIGEST),
        ),
        ("nginx:1.25@" + DIGEST, ("nginx", "1.25", DIGEST)),
        ("my.app__x-y:v1_2.3-rc", ("my.app__x-y", "v1_2.3-rc", None)),
        ("[::1]:5000/app:2", ("[::1]:5000/app", "2", None)),
    ],
)
def test_parse_image_reference(reference: str, expected: tuple) -> None:
    assert parse_image_reference(reference) == expected


@pytest.mark.parametrize(
    "reference, normalized",
    [
        ("nginx", "nginx:latest"),
        ("nginx:1.25", "nginx:1.25"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("app@" + DIGEST, "app@" + DIGEST),
        ("app:1@" + DIGEST, "app:1@" + DIGEST),
    ],
)
def test_normalize_image_and_spec_image(reference: str, normalized: str) -> None:
    assert normalize_image(reference) == normalized
    assert spec(image=reference, id="app").image == normalized


@pytest.mark.parametrize(
    "reference",
    [
        "Nginx",  # upper case in the path
        "library/Postgres:16",
        "nginx:",
        ":16",
        "nginx::16",
        "-nginx",
        "nginx/",
        "ngi nx",
        "nginx@sha256:abc",  # digest too short
        "nginx:" + "t" * 129,  # tag too long
        "nginx:-tag",
        "",
    ],
)
def test_invalid_image_references(reference: str) -> None:
    with pytest.raises(ValueError):
        parse_image_reference(reference)
    message = single_problem(image=reference, id="app")
    assert message.startswith("image: ")
    assert repr(reference) in message


def test_image_must_be_a_string() -> None:
    assert single_problem(image=["nginx"], id="app").startswith("image: ")


def test_non_ascii_tag_is_rejected() -> None:
    assert problems(image="nginx:\u00e4", id="app")[0].startswith("image: ")


def test_image_required_unless_absent() -> None:
    assert single_problem(image=None, id="web").startswith("image: is required")
    absent = parse_spec({"state": "absent", "id": "web"})
    assert absent.image is None and absent.id == "web"
    assert single_problem(image=None, state="absent").startswith("id: ")


# --- default id ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference, expected",
    [
        ("postgres:16", "postgres"),
        ("public.ecr.aws/docker/library/postgres:16.2", "postgres"),
        ("docker.redpanda.com/redpandadata/connect", "connect"),
        ("localhost:5000/team/my.app:1", "my-app"),
        ("localhost:5000/web", "web"),
        ("app_x@" + DIGEST, "app_x"),
        ("Registry.Example.com/team/api", "api"),
    ],
)
def test_default_id_from_image(reference: str, expected: str) -> None:
    assert default_id_for_image(reference) == expected
    assert spec(image=reference).id == expected


@pytest.mark.parametrize("reference", ["a", "localhost:5000/x:1", "a" * 64])
def test_default_id_that_is_not_an_id_asks_for_id(reference: str) -> None:
    message = single_problem(image=reference)
    assert message.startswith("id: ")
    assert "set id" in message
    # an explicit id makes the same image acceptable
    assert spec(image=reference, id="ok").id == "ok"


# --- data-size -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("512Mi", 536870912),
        ("512m", 536870912),
        ("512M", 512000000),
        ("1G", 10**9),
        ("1g", 2**30),
        ("1Gi", 2**30),
        ("2kb", 2048),
        ("2KB", 2048),
        ("2Kb", 2048),
        ("2k", 2000),
        ("2K", 2048),
        ("3MB", 3 * 2**20),
        ("1gb", 2**30),
        ("1tb", 2**40),
        ("1t", 2**40),
        ("1T", 10**12),
        ("1Ti", 2**40),
        ("1P", 10**15),
        ("1Pi", 2**50),
        ("1E", 10**18),
        ("1Ei", 2**60),
        ("1.5Gi", 1610612736),
        ("0.5k", 500),
        ("100b", 100),
        ("100B", 100),
        ("100", 100),
        (" 64 Mi ", 64 * 2**20),
        (1024, 1024),
        (0, 0),
        (1.9, 1),
    ],
)
def test_parse_data_size(value: Any, expected: int) -> None:
    assert parse_data_size(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "12X",
        "5mi",
        "1Kib",
        "1.5",
        "1.5.5M",
        "-1M",
        "M",
        "",
        "1 2M",
        -1,
        -0.5,
        True,
        None,
        [1],
    ],
)
def test_parse_data_size_rejects(value: Any) -> None:
    if value == "1.5":
        # a plain decimal number of bytes is accepted and truncated: not an error
        assert parse_data_size(value) == 1
        return
    with pytest.raises(ValueError):
        parse_data_size(value)


def test_unknown_unit_message_lists_units() -> None:
    with pytest.raises(ValueError, match="unknown unit 'X'"):
        parse_data_size("12X")


def test_decimal_size_is_exact() -> None:
    assert parse_data_size("1.005k") == 1005


# --- cmd / entrypoint --------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["cmd", "entrypoint"])
def test_command_string_is_split_like_a_shell(option: str) -> None:
    parsed = spec(**{option: "sh -c 'echo \"hello world\" && sleep 1' --flag=a\\ b"})
    assert getattr(parsed, option) == (
        "sh",
        "-c",
        'echo "hello world" && sleep 1',
        "--flag=a b",
    )


@pytest.mark.parametrize("option", ["cmd", "entrypoint"])
def test_command_list_skips_null_items(option: str) -> None:
    parsed = spec(**{option: ["python", None, "-m", "http.server", 8000, None]})
    assert getattr(parsed, option) == ("python", "-m", "http.server", "8000")


@pytest.mark.parametrize("option", ["cmd", "entrypoint"])
def test_command_list_non_string_item(option: str) -> None:
    found = problems(**{option: ["echo", {"a": 1}, ["x"], True]})
    assert found == [
        f"{option}[1]: expected a string, got dict",
        f"{option}[2]: expected a string, got list",
        f"{option}[3]: expected a string, got bool",
    ]


def test_command_unset_empty_and_unbalanced() -> None:
    parsed = spec()
    assert parsed.cmd is None and parsed.entrypoint is None
    assert spec(cmd=[]).cmd == ()
    assert spec(cmd="").cmd == ()
    assert single_problem(cmd="echo 'unbalanced").startswith("cmd: cannot split")
    assert single_problem(entrypoint={"a": 1}).startswith("entrypoint: expected a string or a list")


# --- env -----------------------------------------------------------------------------------------


def test_env_list_form() -> None:
    parsed = spec(
        env=[
            {"name": "A", "value": "x y"},
            None,
            {"name": "FLAG", "value": True},
            {"name": "OFF", "value": False},
            {"name": "N", "value": 42},
            {"name": "EMPTY"},
            {"name": "NONE", "value": None},
            {"name": "TOKEN", "value": "s3cret", "secret": True},
        ]
    )
    assert parsed.env == (
        EnvVar("A", "x y"),
        EnvVar("FLAG", "true"),
        EnvVar("OFF", "false"),
        EnvVar("N", "42"),
        EnvVar("EMPTY", ""),
        EnvVar("NONE", ""),
        EnvVar("TOKEN", "s3cret", True),
    )
    assert parsed.secrets == ("s3cret",)


def test_env_mapping_form() -> None:
    parsed = spec(env={"A": "1", "B": True, "C": 0, "D": None})
    assert parsed.env == (
        EnvVar("A", "1"),
        EnvVar("B", "true"),
        EnvVar("C", "0"),
        EnvVar("D", ""),
    )
    assert parsed.secrets == ()


@pytest.mark.parametrize(
    "value, rendered",
    [(True, "true"), (False, "false"), (0, "0"), (-7, "-7"), (None, ""), ("x", "x")],
)
def test_render_env_value(value: Any, rendered: str) -> None:
    assert render_env_value(value) == rendered


def test_env_duplicate_names() -> None:
    assert problems(env=[{"name": "A", "value": 1}, {"name": "B"}, {"name": "A", "value": 2}]) == [
        "env[2].name: 'A' is set twice"
    ]


def test_env_errors() -> None:
    found = problems(
        env=[
            "A=1",
            {"name": "", "value": "x"},
            {"name": "X=Y"},
            {"value": "v"},
            {"name": "L", "value": [1]},
            {"name": "S", "value": "v", "secret": "yes"},
            {"name": "U", "extra": 1},
        ]
    )
    assert found == [
        "env[0]: expected a mapping with name, value and optionally secret",
        "env[1].name: expected a non-empty string without '='",
        "env[2].name: expected a non-empty string without '='",
        "env[3].name: expected a non-empty string without '='",
        "env[4].value: expected a string, boolean or number",
        "env[5].secret: expected a boolean",
        "env[6]: unknown keys ['extra']; expected name, value, secret",
    ]
    assert single_problem(env="JUST_A_NAME") == "env: as text, expected JSON or NAME=value words"


def test_env_as_text_for_ad_hoc_calls() -> None:
    words = parse_spec({"image": "nginx", "env": "A=1 B='two words'"}).env
    assert words == (EnvVar("A", "1"), EnvVar("B", "two words"))
    as_json = parse_spec({"image": "nginx", "env": '[{"name": "S", "value": "x", "secret": true}]'}).env
    assert as_json == (EnvVar("S", "x", True),)


def test_secret_with_invalid_flag_stays_secret() -> None:
    # An invalid `secret` flag is an error, but the value is still treated as secret (not echoed).
    found = problems(env=[{"name": "S", "value": "hunter2", "secret": "yes"}])
    assert all("hunter2" not in message for message in found)


# --- restart ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, RestartPolicy("no", 0)),
        ({"policy": "never"}, RestartPolicy("no", 0)),
        ({"policy": "always"}, RestartPolicy("always", 0)),
        ({"policy": "on-failure"}, RestartPolicy("on-failure", 0)),
        ({"policy": "on-failure", "max_restarts": 5}, RestartPolicy("on-failure", 5)),
        ({"max_restarts": 3}, RestartPolicy("on-failure", 3)),
        ({"max_restarts": 0}, RestartPolicy("on-failure", 0)),
        ({}, RestartPolicy("no", 0)),
    ],
)
def test_restart(value: Any, expected: RestartPolicy) -> None:
    assert spec(restart=value).restart == expected


@pytest.mark.parametrize("policy", ["always", "never"])
def test_restart_max_with_other_policy(policy: str) -> None:
    message = single_problem(restart={"policy": policy, "max_restarts": 2})
    assert message.startswith("restart.max_restarts: ")
    assert "on-failure" in message


def test_restart_errors() -> None:
    assert single_problem(restart={"policy": "sometimes"}).startswith("restart.policy: 'sometimes' is not one of")
    assert single_problem(restart={"max_restarts": -1}).startswith("restart.max_restarts: ")
    assert single_problem(restart={"max_restarts": "3"}).startswith("restart.max_restarts: ")
    assert single_problem(restart={"max_restarts": True}).startswith("restart.max_restarts: ")
    assert single_problem(restart="always").startswith("restart: ")
    assert single_problem(restart={"policy": "always", "delay": 1}).startswith("restart: unknown keys ['delay']")


# --- resources -------------------------------------------------------------------------------------


def test_resources_mapping() -> None:
    parsed = spec(
        resources={
            "cpu": {"request": 0.5, "limit": 2},
            "memory": {"request": "256Mi", "limit": "1g"},
        }
    )
    assert parsed.resources == Resources(
        nano_cpus=2_000_000_000,
        cpu_shares=512,
        memory=2**30,
        memory_reservation=256 * 2**20,
    )


@pytest.mark.parametrize(
    "cpu, nano, shares",
    [
        ({"limit": 1}, 1_000_000_000, 0),
        ({"limit": 0.25}, 250_000_000, 0),
        ({"limit": "1.5"}, 1_500_000_000, 0),
        ({"request": 1}, 0, 1024),
        ({"request": 2}, 0, 2048),
        ({"request": 0.001}, 0, 2),  # the engine's minimum share count
        ({"request": 1, "limit": 1}, 1_000_000_000, 1024),
    ],
)
def test_cpu(cpu: dict, nano: int, shares: int) -> None:
    parsed = spec(resources={"cpu": cpu})
    assert (parsed.resources.nano_cpus, parsed.resources.cpu_shares) == (nano, shares)
    assert (parsed.resources.memory, parsed.resources.memory_reservation) == (0, 0)


def test_memory() -> None:
    assert spec(resources={"memory": {"limit": "512M"}}).resources == Resources(memory=512_000_000)
    assert spec(resources={"memory": {"request": 6 * 2**20}}).resources == Resources(memory_reservation=6 * 2**20)
    assert spec(resources=None).resources == Resources()


def test_request_above_limit() -> None:
    assert single_problem(resources={"cpu": {"request": 2, "limit": 1}}).startswith(
        "resources.cpu: request (2) is above limit (1)"
    )
    assert single_problem(resources={"memory": {"request": "1Gi", "limit": "512Mi"}}).startswith("resources.memory: ")
    # equal is fine
    assert spec(resources={"memory": {"request": "512m", "limit": "512Mi"}}).resources.memory == 536870912


def test_resources_errors() -> None:
    assert problems(
        resources={
            "cpu": {"request": "lots", "limit": -1},
            "memory": {"request": "12X", "limit": 0},
        }
    ) == [
        "resources.cpu.request: expected a number, got 'lots'",
        "resources.cpu.limit: expected a number greater than 0, got -1",
        (
            "resources.memory.request: '12X' is not a data size: unknown unit 'X'; use k M G T P E (decimal), "
            "Ki Mi Gi Ti Pi Ei (binary), or Docker's b K m g t / kb mb gb tb (binary)"
        ),
        "resources.memory.limit: expected a size greater than 0",
    ]
    assert single_problem(resources={"cpu": {"limit": True}}).startswith("resources.cpu.limit: expected a number")
    assert single_problem(resources={"memory": {"limit": "-1Gi"}}).startswith("resources.memory.limit: ")
    assert single_problem(resources={"gpu": 1}).startswith("resources: ")
    assert single_problem(resources={"cpu": {"max": 1}}).startswith("resources.cpu: ")
    assert single_problem(resources={"cpu": 2}).startswith("resources.cpu: ")


@pytest.mark.parametrize("value", [float("inf"), "inf", "nan"], ids=["float-inf", "str-inf", "str-nan"])
def test_cpu_limit_not_finite_is_a_spec_error(value: Any) -> None:
    assert problems(resources={"cpu": {"limit": value}})[0].startswith("resources.cpu.limit: ")


@pytest.mark.parametrize("key", ["limit", "request"])
def test_memory_below_the_engine_minimum_is_a_spec_error(key: str) -> None:
    # The engine refuses less than 6 MiB ("Minimum memory limit allowed is 6MB") after the run began.
    assert single_problem(resources={"memory": {key: "1k"}}) == (
        f"resources.memory.{key}: '1k' is 1000 bytes, below the engine's minimum of 6Mi (6291456 bytes)"
    )
    assert single_problem(resources={"memory": {key: 6 * 2**20 - 1}}).startswith(f"resources.memory.{key}: ")
    assert spec(resources={"memory": {key: "6Mi"}}).resources in (
        Resources(memory=6 * 2**20),
        Resources(memory_reservation=6 * 2**20),
    )


@pytest.mark.parametrize("key", ["limit", "request"])
def test_memory_above_int64_is_a_spec_error(key: str) -> None:
    # The engine's Go JSON decoding fails on a number past int64.
    assert single_problem(resources={"memory": {key: "99999999E"}}) == (
        f"resources.memory.{key}: '99999999E' is 99999999000000000000000000 bytes, above the most the engine "
        "takes (9223372036854775807 bytes, 8Ei - 1)"
    )
    assert spec(resources={"memory": {key: 2**63 - 1}}).resources in (
        Resources(memory=2**63 - 1),
        Resources(memory_reservation=2**63 - 1),
    )


def test_cpu_past_the_engine_fields_is_a_spec_error() -> None:
    assert problems(resources={"cpu": {"request": 1e300, "limit": 1e300}}) == [
        "resources.cpu.request: 1e+300 cpus is more than the engine's CpuShares can hold",
        "resources.cpu.limit: 1e+300 cpus is more than the engine's NanoCpus can hold",
    ]
    assert single_problem(resources={"cpu": {"limit": 1e10}}).startswith("resources.cpu.limit: ")
    assert spec(resources={"cpu": {"limit": 9e9}}).resources.nano_cpus == 9 * 10**18


def test_memory_limit_infinite_is_a_spec_error() -> None:
    assert problems(resources={"memory": {"limit": float("inf")}})[0].startswith("resources.memory.limit: ")


# --- services --------------------------------------------------------------------------------------


def test_single_port_defaults() -> None:
    parsed = spec(services=[{"id": "web", "ports": [{"port": 80, "protocol": "http"}]}])
    assert parsed.services == (Service("web", (PortSpec(80, "http", 80, None, False),)),)
    assert parsed.services[0].ports[0].docker_key == "80/tcp"


def test_port_with_expose_as_label_internal() -> None:
    parsed = spec(
        services=[
            {
                "id": "api",
                "ports": [
                    {"port": 8080, "protocol": "https", "expose_as": 8443},
                    None,
                    {
                        "port": "9000",
                        "protocol": "tcp",
                        "label": "grpc",
                        "internal": True,
                    },
                    {
                        "port": 53,
                        "protocol": "udp",
                        "expose_as": 5353,
                        "internal": None,
                    },
                ],
            },
            None,
        ]
    )
    assert parsed.services == (
        Service(
            "api",
            (
                PortSpec(8080, "https", 8443),
                PortSpec(9000, "tcp", 9000, "grpc", True),
                PortSpec(53, "udp", 5353),
            ),
        ),
    )
    assert [port.docker_key for port in parsed.services[0].ports] == [
        "8080/tcp",
        "9000/tcp",
        "53/udp",
    ]


def test_range_without_expose_as() -> None:
    ports = (
        spec(
            services=[
                {
                    "id": "rr",
                    "ports": [{"range": "80,443,8000-8002", "protocol": "tcp"}],
                }
            ]
        )
        .services[0]
        .ports
    )
    assert [(p.port, p.expose_as) for p in ports] == [
        (80, 80),
        (443, 443),
        (8000, 8000),
        (8001, 8001),
        (8002, 8002),
    ]


def test_range_with_expose_as_range() -> None:
    ports = (
        spec(
            services=[
                {
                    "id": "rr",
                    "ports": [
                        {
                            "range": "8000-8002",
                            "protocol": "http",
                            "expose_as": "9000,9005-9006",
                        }
                    ],
                }
            ]
        )
        .services[0]
        .ports
    )
    assert [(p.port, p.expose_as, p.protocol) for p in ports] == [
        (8000, 9000, "http"),
        (8001, 9005, "http"),
        (8002, 9006, "http"),
    ]


def test_range_length_mismatch() -> None:
    message = single_problem(
        services=[
            {
                "id": "rr",
                "ports": [{"range": "8000-8002", "protocol": "tcp", "expose_as": "9000-9001"}],
            }
        ]
    )
    assert message == "services[0].ports[0].expose_as: range of 2 ports does not match the 3 ports of range"


@pytest.mark.parametrize(
    "text, ports",
    [
        ("80", [80]),
        (80, [80]),
        ("1-3", [1, 2, 3]),
        (" 80 , 90-91 ", [80, 90, 91]),
        ("65535", [65535]),
    ],
)
def test_parse_port_range(text: Any, ports: list[int]) -> None:
    assert parse_port_range(text) == ports


@pytest.mark.parametrize("text", ["", "0", "65536", "90-80", "a", "1-2-3", "80,", True, None, [80]])
def test_parse_port_range_rejects(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_port_range(text)


@pytest.mark.parametrize("protocol", ["grpc", "HTTP", "sctp", None])
def test_protocol_not_in_the_four(protocol: Any) -> None:
    message = single_problem(services=[{"id": "svc", "ports": [{"port": 1, "protocol": protocol}]}])
    assert message.startswith("services[0].ports[0].protocol: ")
    assert "tcp, udp, http, https" in message


def test_duplicate_published_host_port() -> None:
    message = single_problem(
        services=[
            {
                "id": "aa",
                "ports": [{"port": 80, "protocol": "http", "expose_as": 8080}],
            },
            {"id": "bb", "ports": [{"port": 81, "protocol": "tcp", "expose_as": 8080}]},
        ]
    )
    assert message == "services[1].ports: host port 8080/tcp is also published by services[0] (aa)"


def test_same_host_port_allowed_when_internal_or_other_protocol_family() -> None:
    parsed = spec(
        services=[
            {"id": "aa", "ports": [{"port": 80, "protocol": "http"}]},
            {"id": "bb", "ports": [{"port": 80, "protocol": "tcp", "internal": True}]},
            {"id": "cc", "ports": [{"port": 80, "protocol": "udp"}]},
        ]
    )
    assert [s.id for s in parsed.services] == ["aa", "bb", "cc"]


def test_duplicate_host_port_within_a_range() -> None:
    message = single_problem(
        services=[
            {
                "id": "aa",
                "ports": [
                    {"range": "80-81", "protocol": "tcp"},
                    {"port": 9, "protocol": "tcp", "expose_as": 81},
                ],
            }
        ]
    )
    assert message.startswith("services[0].ports: host port 81/tcp")


def test_port_reports_every_problem_at_once() -> None:
    # A missing protocol used to hide the port's other problems.
    assert problems(services=[{"id": "aa", "ports": [{"port": 0}]}]) == [
        "services[0].ports[0].protocol: None is not one of tcp, udp, http, https",
        "services[0].ports[0].port: expected a port number from 1 to 65535, got 0",
    ]
    assert problems(
        services=[
            {
                "id": "aa",
                "ports": [{"range": "9-1", "expose_as": "x", "protocol": "sctp", "label": "B", "internal": 1}],
            }
        ]
    ) == [
        "services[0].ports[0].protocol: 'sctp' is not one of tcp, udp, http, https",
        (
            "services[0].ports[0].label: 'B' is not a valid id; expected 2 to 63 characters of a-z, 0-9, '_' "
            "and '-', starting with a letter or digit"
        ),
        "services[0].ports[0].internal: expected a boolean",
        "services[0].ports[0].range: '9-1' is not within 1-65535 in ascending order",
        "services[0].ports[0].expose_as: 'x' is not a port or a range of ports",
    ]
    assert problems(services=[{"id": "aa", "ports": [{"protocol": ["tcp"], "port": 1, "expose_as": 0}]}]) == [
        "services[0].ports[0].protocol: ['tcp'] is not one of tcp, udp, http, https",
        "services[0].ports[0].expose_as: expected a port number from 1 to 65535, got 0",
    ]


def test_service_errors() -> None:
    found = problems(
        services=[
            {"id": "aa", "ports": [{"protocol": "tcp"}]},
            {"id": "aa", "ports": []},
            {"id": "B", "ports": [{"port": 70000, "protocol": "tcp"}]},
            {"id": "cc", "ports": [{"port": 1, "range": "2", "protocol": "tcp"}]},
            {
                "id": "dd",
                "ports": [
                    {
                        "port": 1,
                        "protocol": "tcp",
                        "label": "Bad Label",
                        "internal": "no",
                    }
                ],
            },
            {"id": "ee", "ports": [{"range": "5-1", "protocol": "tcp"}]},
            {"id": "ff", "ports": [{"port": 3, "protocol": "tcp", "expose-as": 2}]},
            "g",
            {"id": "hh", "ports": "80"},
        ]
    )
    assert found == [
        "services[0].ports[0]: give exactly one of port or range",
        "services[1].id: 'aa' is used by two services",
        (
            "services[2].id: 'B' is not a valid id; expected 2 to 63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        ),
        "services[2].ports[0].port: expected a port number from 1 to 65535, got 70000",
        "services[3].ports[0]: give exactly one of port or range",
        (
            "services[4].ports[0].label: 'Bad Label' is not a valid id; expected 2 to 63 characters of a-z, 0-9, '_' "
            "and '-', starting with a letter or digit"
        ),
        "services[4].ports[0].internal: expected a boolean",
        "services[5].ports[0].range: '5-1' is not within 1-65535 in ascending order",
        "services[6].ports[0]: unknown keys ['expose-as']; expected port or range, protocol, expose_as, label, internal",
        "services[7]: expected a mapping with id and ports",
        "services[8].ports: expected a list of ports",
    ]


def test_bad_expose_as() -> None:
    assert single_problem(
        services=[{"id": "aa", "ports": [{"port": 1, "protocol": "tcp", "expose_as": 0}]}]
    ).startswith("services[0].ports[0].expose_as: ")
    assert single_problem(
        services=[
            {
                "id": "aa",
                "ports": [{"range": "1-2", "protocol": "tcp", "expose_as": "x"}],
            }
        ]
    ).startswith("services[0].ports[0].expose_as: ")


# --- mounts ------------------------------------------------------------------------------------------


def test_host_mounts_absolute_and_relative() -> None:
    parsed = spec(
        mounts=[
            {"path": "/etc/app/", "source": {"type": "host", "path": "/srv/app"}},
            None,
            {"path": "//data//x", "source": {"type": "host", "path": "data/x"}},
        ]
    )
    assert parsed.mounts == (
        Mount("/etc/app", {"type": "host", "path": "/srv/app"}),
        Mount("/data/x", {"type": "host", "path": "data/x"}),
    )
    assert parsed.mounts[1].type == "host"


def test_volume_defaults() -> None:
    (mount,) = spec(mounts=[{"path": "/v", "source": {"type": "volume"}}]).mounts
    assert mount.source == {"type": "volume", "scope": "job", "create": "when-missing"}
    (mount,) = spec(
        mounts=[
            {
                "path": "/v",
                "source": {
                    "type": "volume",
                    "id": "cache",
                    "scope": "project",
                    "create": "always",
                },
            }
        ]
    ).mounts
    assert mount.source == {
        "type": "volume",
        "id": "cache",
        "scope": "project",
        "create": "always",
    }


def test_volume_with_source() -> None:
    (mount,) = spec(
        mounts=[
            {
                "path": "/v",
                "source": {
                    "type": "volume",
                    "source": {"type": "string", "data": "hi"},
                },
            }
        ]
    ).mounts
    assert mount.source["source"] == {"type": "string", "data": "hi"}
    assert (
        single_problem(
            mounts=[
                {
                    "path": "/v",
                    "source": {"type": "volume", "source": {"type": "volume"}},
                }
            ]
        )
        == "mounts[0].source.source: a volume cannot take its contents from another volume source"
    )


def test_volume_errors() -> None:
    assert problems(
        mounts=[
            {
                "path": "/v",
                "source": {
                    "type": "volume",
                    "id": "X",
                    "scope": "global",
                    "create": "sometimes",
                },
            }
        ]
    ) == [
        (
            "mounts[0].source.id: 'X' is not a valid id; expected 2 to 63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        ),
        "mounts[0].source.scope: 'global' is not one of job, project",
        "mounts[0].source.create: 'sometimes' is not one of never, when-missing, always",
    ]


def test_string_dataset_repo_sources() -> None:
    parsed = spec(
        mounts=[
            {"path": "/etc/conf.txt", "source": {"type": "string", "data": "a=1\n"}},
            {
                "path": "/in",
                "source": {
                    "type": "dataset",
                    "dataset": "results",
                    "version": 3,
                    "path": "sub",
                },
            },
            {"path": "/latest", "source": {"type": "dataset", "dataset": "results"}},
            {"path": "/code", "source": {"type": "repo", "path": "src", "repo": None}},
        ]
    )
    assert [m.source for m in parsed.mounts] == [
        {"type": "string", "data": "a=1\n"},
        {"type": "dataset", "dataset": "results", "version": 3, "path": "sub"},
        {"type": "dataset", "dataset": "results"},
        {"type": "repo", "path": "src"},
    ]


def test_repo_with_named_repo() -> None:
    message = single_problem(mounts=[{"path": "/code", "source": {"type": "repo", "repo": "other/project"}}])
    assert message.startswith("mounts[0].source.repo: repository 'other/project' is not supported")


def test_mount_errors() -> None:
    found = problems(
        mounts=[
            {"path": "/a", "source": {"type": "host", "path": "/x"}},
            {"path": "/a/", "source": {"type": "host", "path": "/y"}},
            {"path": "relative", "source": {"type": "host", "path": "/z"}},
            {"path": "/b", "source": {"type": "nfs"}},
            {"path": "/c", "source": {"type": "host"}},
            {"path": "/d", "source": {"type": "string", "data": 5}},
            {
                "path": "/e",
                "source": {"type": "dataset", "dataset": "Bad", "version": 0},
            },
            {"path": "/f"},
            {"path": "/g", "source": {"type": "host", "path": "/g", "mode": "ro"}},
            "x",
        ]
    )
    assert found == [
        "mounts[1].path: '/a' is mounted twice",
        "mounts[2].path: expected an absolute path in the container, got 'relative'",
        "mounts[3].source.type: 'nfs' is not one of host, volume, string, dataset, repo",
        "mounts[4].source.path: expected the host path as a non-empty string",
        "mounts[5].source.data: expected the file's text as a string",
        (
            "mounts[6].source.dataset: 'Bad' is not a valid id; expected 2 to 63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        ),
        "mounts[6].source.version: expected a version number >= 1, got 0",
        "mounts[7].source: expected a mapping with type (host, volume, string, dataset or repo)",
        "mounts[8].source: unknown keys ['mode'] for a host source",
        "mounts[9]: expected a mapping with source and path",
    ]


# --- datasets ----------------------------------------------------------------------------------------


def test_dataset_sinks() -> None:
    parsed = spec(
        datasets=[
            {"path": "/out", "sink": "results"},
            None,
            {
                "path": "/logs",
                "sink": {
                    "type": "dataset",
                    "dataset": "logs",
                    "path": "/run/a/",
                    "info": 12,
                },
            },
            {"path": "/m", "sink": {"dataset": "metrics"}},
        ]
    )
    assert parsed.datasets == (
        DatasetSpec("/out", "results"),
        DatasetSpec("/logs", "logs", "run/a", "12"),
        DatasetSpec("/m", "metrics", None, None),
    )


def test_dataset_errors() -> None:
    found = problems(
        datasets=[
            {"path": "out", "sink": "results"},
            {"path": "/a", "sink": "Bad"},
            {"path": "/b", "sink": {"type": "volume", "dataset": "x1"}},
            {"path": "/c", "sink": {"dataset": "x1", "path": "../up"}},
            {"path": "/d", "sink": 5},
            {"path": "/e"},
            ["x"],
        ]
    )
    assert found == [
        "datasets[0].path: expected an absolute path in the container, got 'out'",
        (
            "datasets[1].sink: 'Bad' is not a valid id; expected 2 to 63 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        ),
        "datasets[2].sink: expected a dataset id or {type: dataset, dataset, path, info}",
        "datasets[3].sink.path: expected a relative path inside the dataset without '..'",
        "datasets[4].sink: expected a dataset id or {type: dataset, dataset, path, info}",
        "datasets[5].sink: expected a dataset id or {type: dataset, dataset, path, info}",
        "datasets[6]: expected a mapping with path and sink",
    ]


# --- scalars -----------------------------------------------------------------------------------------


def test_defaults() -> None:
    parsed = spec()
    assert parsed == ContainerSpec(image="nginx:1.25", id="nginx")
    assert (parsed.tty, parsed.no_stdin, parsed.scaling, parsed.update_image) == (
        True,
        False,
        1,
        False,
    )
    assert parsed.restart == RestartPolicy("no", 0)


def test_scaling() -> None:
    assert spec(scaling=0).scaling == 0
    assert spec(scaling=5).scaling == 5
    assert single_problem(scaling=-1) == "scaling: expected a whole number from 0 to 1000, got -1"
    assert single_problem(scaling="2").startswith("scaling: ")
    assert spec(scaling=1000).scaling == 1000
    # One engine runs no such number in a task's time; before the bound it broke the engine query.
    assert single_problem(scaling=1001) == "scaling: expected a whole number from 0 to 1000, got 1001"
    assert single_problem(scaling=100000).startswith("scaling: expected a whole number from 0 to 1000")
    assert single_problem(scaling=True).startswith("scaling: ")


def test_user_workdir_bools() -> None:
    assert spec(user=1000).user == "1000"
    assert spec(user="app:app").user == "app:app"
    assert spec(user=0).user == "0"
    assert single_problem(user=-1).startswith("user: ")
    assert single_problem(user="").startswith("user: ")
    assert single_problem(user=True).startswith("user: ")
    assert spec(workdir="/srv").workdir == "/srv"
    assert single_problem(workdir="srv") == "workdir: expected an absolute path, got 'srv'"
    assert spec(tty=False, no_stdin=True, update_image=True).tty is False
    assert single_problem(tty="yes").startswith("tty: expected a boolean")
    assert single_problem(no_stdin=1).startswith("no_stdin: ")
    assert single_problem(update_image="true").startswith("update_image: ")


def test_unconfined() -> None:
    assert spec().unconfined is False
    assert spec(unconfined=None).unconfined is False
    assert spec(unconfined=True).unconfined is True
    assert single_problem(unconfined="yes") == "unconfined: expected a boolean, got 'yes'"


def test_replica_name() -> None:
    assert spec(id="web").replica_name(1) == "web"
    assert spec(id="web").replica_name(3) == "web.3"
    assert spec(id="web", project="shop").replica_name(1) == "shop.web"
    assert spec(id="web", project="shop").replica_name(2) == "shop.web.2"


def test_all_problems_reported_at_once() -> None:
    found = problems(
        image="Bad:Image",
        id="_x",
        restart={"policy": "always", "max_restarts": 3},
        scaling=-2,
        resources={"cpu": {"request": 4, "limit": 2}},
        services=[{"id": "web", "ports": [{"port": 80, "protocol": "grpc"}]}],
        mounts=[{"path": "data", "source": {"type": "host", "path": "/d"}}],
        env=[{"name": "A"}, {"name": "A"}],
        workdir="tmp",
        datasets=[{"path": "/o", "sink": "X"}],
    )
    prefixes = [
        "image: ",
        "id: ",
        "workdir: ",
        "scaling: ",
        "env[1].name: ",
        "restart.max_restarts: ",
        "resources.cpu: ",
        "services[0].ports[0].protocol: ",
        "mounts[0].path: ",
        "datasets[0].sink: ",
    ]
    assert len(found) == len(prefixes), found
    for prefix in prefixes:
        assert sum(message.startswith(prefix) for message in found) == 1, (
            prefix,
            found,
        )


def test_spec_error_is_a_value_error_with_problems() -> None:
    error = SpecError(["a: x", "b: y"])
    assert isinstance(error, ValueError)
    assert error.problems == ["a: x", "b: y"]
    assert str(error) == "a: x; b: y"


def test_stopped_without_image_needs_only_the_identity() -> None:
    stopped = parse_spec({"state": "stopped", "id": "web", "project": "shop"})
    assert stopped.image is None and (stopped.project, stopped.id) == ("shop", "web")
    assert single_problem(image=None, state="stopped").startswith("id: ")
    for state in ("started", "restarted", "completed"):
        assert (
            single_problem(image=None, id="web", state=state) == "image: is required unless state is absent or stopped"
        )


# --- container paths of mounts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, normal",
    [("/data/../etc", "/etc"), ("/a/./b//", "/a/b"), ("//srv/x/..", "/srv"), ("/a/b/../../c", "/c")],
)
def test_mount_paths_are_normalised_as_the_engine_resolves_them(given: str, normal: str) -> None:
    # '/data/../etc' was mounted over /etc while the spec, errors and diffs said '/data/../etc'.
    source = {"type": "host", "path": "/srv"}
    assert spec(mounts=[{"path": given, "source": source}]).mounts[0].path == normal


def test_mount_paths_equal_after_normalising_are_mounted_twice() -> None:
    source = {"type": "host", "path": "/srv"}
    assert single_problem(mounts=[{"path": "/etc", "source": source}, {"path": "/data/../etc", "source": source}]) == (
        "mounts[1].path: '/etc' is mounted twice"
    )


def test_mount_paths_at_or_above_the_root_are_errors() -> None:
    source = {"type": "host", "path": "/srv"}
    assert problems(
        mounts=[
            {"path": "/..", "source": source},
            {"path": "/data/../../etc", "source": source},
            {"path": "/data/..", "source": source},
            {"path": "//", "source": source},
        ]
    ) == [
        "mounts[0].path: '/..' leaves the container's root with '..'",
        "mounts[1].path: '/data/../../etc' leaves the container's root with '..'",
        "mounts[2].path: '/data/..' is the container's root, which cannot be mounted over",
        "mounts[3].path: '//' is the container's root, which cannot be mounted over",
    ]


# --- healthcheck ---------------------------------------------------------------------------------


def test_healthcheck_absent_or_empty_is_none() -> None:
    assert spec().healthcheck is None
    assert spec(healthcheck={}).healthcheck is None
    assert spec(healthcheck={"test": None, "interval": None}).healthcheck is None


def test_healthcheck_string_runs_in_a_shell() -> None:
    checked = spec(healthcheck={"test": "wget -q -O- localhost", "retries": 2})
    assert checked.healthcheck == Healthcheck(("CMD-SHELL", "wget -q -O- localhost"), retries=2)


@pytest.mark.parametrize(
    "value, expected",
    [
        (5, 5 * 10**9),
        (0.25, 25 * 10**7),
        ("5", 5 * 10**9),
        ("1m30s", 90 * 10**9),
        ("1h", 3600 * 10**9),
        ("250ms", 25 * 10**7),
        ("1.5s", 15 * 10**8),
        ("10us", 10**4),
        ("0", 0),
    ],
)
def test_parse_duration(value: Any, expected: int) -> None:
    assert parse_duration(value) == expected


def test_healthcheck_none_disables_and_keeps_nothing_else() -> None:
    assert spec(healthcheck={"test": ["NONE"]}).healthcheck.disabled is True  # type: ignore[union-attr]
    assert single_problem(healthcheck={"test": ["NONE"], "interval": 5}).startswith("healthcheck: ")


def test_healthcheck_without_test_keeps_the_image_s() -> None:
    checked = spec(healthcheck={"interval": "2s"}).healthcheck
    assert checked == Healthcheck((), interval=2 * 10**9)


@pytest.mark.parametrize(
    "value, option",
    [
        ({"test": ["RUN", "x"]}, "healthcheck.test"),
        ({"test": ["CMD"]}, "healthcheck.test"),
        ({"test": ["NONE", "x"]}, "healthcheck.test"),
        ({"test": ""}, "healthcheck.test"),
        ({"test": [1, 2]}, "healthcheck.test"),
        ({"test": "true", "interval": "5 parsecs"}, "healthcheck.interval"),
        ({"test": "true", "timeout": "10us"}, "healthcheck.timeout"),
        ({"test": "true", "start_period": -1}, "healthcheck.start_period"),
        ({"test": "true", "retries": -1}, "healthcheck.retries"),
        ({"test": "true", "retries": True}, "healthcheck.retries"),
        ({"test": "true", "every": 1}, "healthcheck"),
        ("true", "healthcheck"),
    ],
)
def test_healthcheck_problems_name_the_field(value: Any, option: str) -> None:
    assert single_problem(healthcheck=value).split(":", 1)[0] == option
