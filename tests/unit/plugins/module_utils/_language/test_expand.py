# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expansion of polytope.yml templates into execution plans: every rule and every error."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any, Callable

import pytest

from ansible_collections.polytope.core.plugins.filter.template_services import service_lines, unopened_services
from ansible_collections.polytope.core.plugins.module_utils._language import library as language_library
from ansible_collections.polytope.core.plugins.module_utils._language import types as language_types
from ansible_collections.polytope.core.plugins.module_utils._language import values as language_values
from ansible_collections.polytope.core.plugins.module_utils._language import (
    mask_secrets,
    MASK,
    TemplateError,
    describe_file,
    expand,
    load_yaml12,
    masked,
)


def plan_of(text: str, template: str = "tpl", file_name: str = "polytope.yml", **kwargs: Any) -> dict:
    return expand(textwrap.dedent(text), file_name, template, **kwargs)


def problems_of(text: str, template: str = "tpl", file_name: str = "polytope.yml", **kwargs: Any) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        plan_of(text, template, file_name, **kwargs)
    return caught.value.problems


def one_problem(text: str, template: str = "tpl", **kwargs: Any) -> str:
    problems = problems_of(text, template, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def step(plan: dict, step_id: str) -> dict:
    return next(entry for entry in plan["steps"] if entry["step"] == step_id)


def container_file(args: str, params: str = "", run: str = "[app]") -> str:
    """A file with one module ``app`` on polytope/container and a template ``t`` running it."""
    return (
        "modules:\n"
        "  - id: app\n"
        "    module: polytope/container\n"
        + (f"    params:\n{textwrap.indent(textwrap.dedent(params), '      ')}" if params else "")
        + f"    args:\n{textwrap.indent(textwrap.dedent(args), '      ')}"
        + f"templates:\n  - id: tpl\n    run: {run}\n"
    )


# ------------------------------------------------------------------------------------------------
# YAML 1.2


class TestYaml12:
    def test_yaml11_booleans_stay_strings(self) -> None:
        data = load_yaml12("a: off\nb: on\nc: yes\nd: no\ne: y\nf: n\ng: Off\n", "f.yml")
        assert data == {"a": "off", "b": "on", "c": "yes", "d": "no", "e": "y", "f": "n", "g": "Off"}

    def test_core_schema_booleans_in_any_case(self) -> None:
        data = load_yaml12("a: true\nb: True\nc: TRUE\nd: false\ne: False\nf: FALSE\ng: tRUE\n", "f.yml")
        assert data == {"a": True, "b": True, "c": True, "d": False, "e": False, "f": False, "g": "tRUE"}

    def test_numbers_follow_yaml12(self) -> None:
        data = load_yaml12("a: 010\nb: 0o10\nc: 0x1f\nd: 1:30\ne: 1_000\nf: 1.5\ng: -3\nh: .inf\ni: 0b11\n", "f.yml")
        assert data == {
            "a": 10,
            "b": 8,
            "c": 31,
            "d": "1:30",
            "e": "1_000",
            "f": 1.5,
            "g": -3,
            "h": float("inf"),
            "i": "0b11",
        }

    def test_dates_and_nulls(self) -> None:
        data = load_yaml12("a: 2024-01-01\nb: null\nc: ~\nd:\ne: Null\n", "f.yml")
        assert data == {"a": "2024-01-01", "b": None, "c": None, "d": None, "e": None}

    def test_kong_database_off_reaches_the_container_as_the_string_off(self) -> None:
        plan = plan_of(
            container_file("image: kong:3\nenv:\n  - {name: KONG_DATABASE, value: off}\n  - {name: X, value: on}\n")
        )
        assert step(plan, "app")["args"]["env"] == [
            {"name": "KONG_DATABASE", "value": "off"},
            {"name": "X", "value": "on"},
        ]

    def test_invalid_yaml_names_the_file_and_line(self) -> None:
        with pytest.raises(TemplateError) as caught:
            expand("modules:\n  - id: a\n    args: [1, 2\n  - id: b\n", "bad.yml", "t")
        message = str(caught.value)
        assert message.startswith("bad.yml: ")
        assert re.search(r"invalid YAML at line \d+, column \d+", message)

    def test_tab_indentation_is_reported_with_its_line(self) -> None:
        with pytest.raises(TemplateError) as caught:
            expand("templates:\n\t- id: tpl\n", "tabs.yml", "t")
        assert "line 2" in str(caught.value)

    def test_file_that_is_not_a_mapping(self) -> None:
        with pytest.raises(TemplateError, match="must be a mapping"):
            expand("- a\n- b\n", "list.yml", "t")


# ------------------------------------------------------------------------------------------------
# The type language


class TestTypes:
    @pytest.mark.parametrize(
        ("value", "type_", "expected"),
        [
            ("x", "str", "x"),
            (5, "int", 5),
            ("8080", "int", 8080),
            (" 42 ", "int", 42),
            (1.5, "num", 1.5),
            ("2", "num", 2),
            ("2.5", "num", 2.5),
            (True, "bool", True),
            ("false", "bool", False),
            ("TRUE", "bool", True),
            ("web-1", "id", "web-1"),
            ("a_b", "id", "a_b"),
            ("postgres:16", "docker-image", "postgres:16"),
            (
                "public.ecr.aws/docker/library/postgres:16.2",
                "docker-image",
                "public.ecr.aws/docker/library/postgres:16.2",
            ),
            ("docker.redpanda.com/redpandadata/connect", "docker-image", "docker.redpanda.com/redpandadata/connect"),
            ("localhost:5000/a/b@sha256:" + "a" * 64, "docker-image", "localhost:5000/a/b@sha256:" + "a" * 64),
            ("/data", "absolute-path", "/data"),
            ("512Mi", "data-size", "512Mi"),
            ("512m", "data-size", "512m"),
            ("1gb", "data-size", "1gb"),
            (1024, "data-size", 1024),
            ("gpu-large", "instance-type", "gpu-large"),
            ("out", "dataset-sink", "out"),
            (
                {"type": "dataset", "dataset": "out", "path": "x"},
                "dataset-sink",
                {"type": "dataset", "dataset": "out", "path": "x"},
            ),
            ({"name": "A"}, "env-var", {"name": "A"}),
            ({"name": "A", "value": True}, "env-var", {"name": "A", "value": True}),
            ({"name": "A", "value": 3}, "env-var", {"name": "A", "value": 3}),
            (None, ["maybe", "int"], None),
            ("3", ["maybe", "int"], 3),
            (None, ["default", "int", 80], 80),
            (None, ["default", ["str"], ["a", "b"]], ["a", "b"]),
            (["a", None, "b"], [["maybe", "str"]], ["a", "b"]),
            ("sh", ["either", "str", ["str"]], "sh"),
            (["sh", "-c"], ["either", "str", ["str"]], ["sh", "-c"]),
            ("b", ["enum", "a", "b"], "b"),
            ({"k": "v"}, ["map", "str", "str"], {"k": "v"}),
            (
                {"policy": "always", "max-restarts": None},
                {"policy": ["enum", "always"], "max-restarts": ["maybe", "int"]},
                {"policy": "always"},
            ),
            (
                {"policy": "always", "max_restarts": 3},
                {"policy": "str", "max-restarts": ["maybe", "int"]},
                {"policy": "always", "max-restarts": 3},
            ),
            (
                {"memory": {"limit": "1g"}},
                {"cpu": {"limit": ["maybe", "num"]}, "memory": {"limit": ["maybe", "data-size"]}},
                {"memory": {"limit": "1g"}},
            ),
        ],
    )
    def test_accepts_and_normalises(self, value: Any, type_: Any, expected: Any) -> None:
        assert language_types.conform(value, type_) == expected

    @pytest.mark.parametrize(
        ("value", "type_", "message"),
        [
            (5, "str", "expected a string"),
            ("x", "int", "expected an int"),
            (True, "int", "expected an int"),
            (1.5, "int", "expected an int"),
            ("yes", "bool", "expected a bool"),
            ("x", "num", "expected a number"),
            ("Web", "id", "expected an id"),
            ("a", "id", "expected an id"),
            ("-web", "id", "expected an id"),
            ("web\n", "id", "expected an id"),
            ("busybox\n", "docker-image", "Docker image reference"),
            ("Not An Image", "docker-image", "Docker image reference"),
            ("relative/path", "absolute-path", "absolute path"),
            ("12 parsecs", "data-size", "data size"),
            ("GPU", "instance-type", "instance type"),
            ({"value": "x"}, "env-var", "required key 'name'"),
            ({"name": "A", "other": 1}, "env-var", "unexpected key 'other'"),
            ({"type": "nfs"}, "mount-source", "mount source type must be one of"),
            ({"type": "host"}, "mount-source", "required key 'path'"),
            ({"id": "web", "ports": [{"port": 80, "protocol": "ftp"}]}, "service-spec", "expected one of"),
            (None, "int", "required"),
            ("c", ["enum", "a", "b"], "expected one of 'a', 'b'"),
            (3, ["either", "str", ["str"]], "expected [either, str, [str]]"),
            ("x", [["maybe", "str"]], "expected a list"),
            ([1], ["map", "str", "str"], "expected a mapping"),
        ],
    )
    def test_rejects_with_a_clear_message(self, value: Any, type_: Any, message: str) -> None:
        with pytest.raises(language_types._Mismatch) as caught:
            language_types.conform(value, type_)
        assert message in caught.value.message

    @pytest.mark.parametrize(
        ("type_", "message"),
        [
            ("string", "unknown type 'string'"),
            (["maybe"], "maybe takes one type"),
            (["default", "int"], "default takes a type and a value"),
            (["int", "str"], "a list type has exactly one item type"),
            ([], "empty type"),
            (["map", "str"], "map takes a key type"),
        ],
    )
    def test_bad_declarations(self, type_: Any, message: str) -> None:
        with pytest.raises(language_types._BadType, match=re.escape(message)):
            language_types.validate_type(type_)

    def test_service_spec_port_and_range(self) -> None:
        spec = {
            "id": "web",
            "ports": [
                {"port": "80", "protocol": "http", "expose-as": "8080", "label": "ui", "internal": False},
                {"range": "8000-8010", "protocol": "tcp", "expose-as": "9000-9010"},
            ],
        }
        assert language_types.conform(spec, "service-spec") == {
            "id": "web",
            "ports": [
                {"port": 80, "protocol": "http", "expose-as": 8080, "label": "ui", "internal": False},
                {"range": "8000-8010", "protocol": "tcp", "expose-as": "9000-9010"},
            ],
        }

    @pytest.mark.parametrize(
        "source",
        [
            {"type": "host", "path": "./html"},
            {"type": "host", "path": ""},
            {"type": "volume", "id": "cache", "scope": "project", "create": "when-missing"},
            {"type": "volume", "source": {"type": "host", "path": "./seed"}},
            {"type": "string", "data": "hello"},
            {"type": "dataset", "dataset": "results", "version": 2, "path": "sub"},
            {"type": "repo", "path": "."},
            {"type": "repo", "repo": "https://example.invalid/r.git", "revision": "main"},
        ],
    )
    def test_every_mount_source(self, source: dict) -> None:
        assert language_types.conform(source, "mount-source") == source


# ------------------------------------------------------------------------------------------------
# Modules and argument values


class TestModules:
    def test_card_example_expands_to_container_options(self) -> None:
        plan = plan_of(
            """
            modules:
              - id: web-server
                module: polytope/container
                args:
                  image: nginx:alpine
                  mounts:
                    - source: {type: host, path: ./html}
                      path: /usr/share/nginx/html
                  services:
                    - id: web
                      ports: [{port: 80, protocol: http}]
                  restart: {policy: always}
            templates:
              - id: web-stack
                run: [web-server]
            """,
            "web-stack",
        )
        assert plan["file"] == "polytope.yml"
        assert plan["template"] == "web-stack"
        assert plan["project"] == "web-stack"
        assert plan["steps"] == [
            {
                "step": "web-server",
                "id": "web-server",
                "module": ["web-server", "polytope/container"],
                "kind": "container",
                "state": "started",
                "run_when": None,
                "waited_by": [],
                "args": {
                    "image": "nginx:alpine",
                    "mounts": [{"source": {"type": "host", "path": "./html"}, "path": "/usr/share/nginx/html"}],
                    "services": [{"id": "web", "ports": [{"port": 80, "protocol": "http"}]}],
                    "restart": {"policy": "always"},
                    "project": "web-stack",
                    "id": "web-server",
                },
                "secret": False,
                "secret_paths": [],
            }
        ]
        json.dumps(plan)  # plain data all the way down

    def test_chain_of_any_depth_with_params_and_defaults(self) -> None:
        plan = plan_of("""
            modules:
              - id: base
                module: polytope/container
                params:
                  - {id: port, type: [default, int, 80]}
                  - {id: cmd, type: [default, [either, str, [str]], bash]}
                  - {id: services, type: [maybe, [service-spec]]}
                args:
                  image: busybox
                  cmd: "#pt-param cmd"
                  services: pt.param services
                  env: [{name: PORT, value: pt.param port}]
              - id: middle
                module: base
                params:
                  - {id: port, type: [default, int, 8080]}
                args:
                  port: pt.param port
                  cmd: [httpd, -f]
                  services: [{id: web, ports: [{port: pt.param port, protocol: http}]}]
              - id: top
                module: middle
            templates:
              - id: tpl
                run: [top]
            """)
        entry = step(plan, "top")
        assert entry["module"] == ["top", "middle", "base", "polytope/container"]
        assert entry["args"]["cmd"] == ["httpd", "-f"]
        assert entry["args"]["env"] == [{"name": "PORT", "value": 8080}]
        assert entry["args"]["services"] == [{"id": "web", "ports": [{"port": 8080, "protocol": "http"}]}]

    def test_maybe_param_left_out_drops_the_argument(self) -> None:
        plan = plan_of(
            container_file(
                "image: busybox\nrestart: pt.param restart\n", "- {id: restart, type: [maybe, {policy: str}]}\n"
            )
        )
        assert "restart" not in step(plan, "app")["args"]

    def test_whole_value_references_anywhere(self) -> None:
        plan = plan_of(
            """
            modules:
              - id: app
                module: polytope/container
                params:
                  - {id: src, type: mount-source}
                  - {id: svc, type: [service-spec]}
                args:
                  image: busybox
                  mounts: [{path: /data, source: pt.param src}]
                  services: "#pt-param svc"
              - id: other
                module: polytope/container
                args:
                  image: busybox
                  services:
                    - id: api
                      ports: [{port: pt.value api-port, protocol: http, expose-as: "#pt-value exposed"}]
            templates:
              - id: tpl
                run:
                  - module: app
                    args:
                      src: {type: volume, id: cache}
                      svc: [{id: web, ports: [{port: 80, protocol: http}]}]
                  - other
            """,
            values={"api-port": "3000", "exposed": 3001},
        )
        assert step(plan, "app")["args"]["mounts"] == [{"path": "/data", "source": {"type": "volume", "id": "cache"}}]
        assert step(plan, "app")["args"]["services"] == [{"id": "web", "ports": [{"port": 80, "protocol": "http"}]}]
        assert step(plan, "other")["args"]["services"] == [
            {"id": "api", "ports": [{"port": 3000, "protocol": "http", "expose_as": 3001}]}
        ]

    def test_interpolation_and_older_forms(self) -> None:
        plan = plan_of(
            container_file(
                """
                image: busybox
                cmd: "echo {pt.value host}:{pt.param port} { pt.value host }"
                env:
                  - {name: A, value: "#pt-value host"}
                  - {name: B, value: "#pt-param port"}
                  - {name: C, value: "${HOME} {not-a-reference} ${/id}"}
                  - {name: D, value: "{pt.param flag}"}
                """,
                "- {id: port, type: [default, int, 5432]}\n- {id: flag, type: [default, bool, true]}\n",
            ),
            values={"host": "db"},
        )
        args = step(plan, "app")["args"]
        assert args["cmd"] == "echo db:5432 db"
        assert args["env"] == [
            {"name": "A", "value": "db"},
            {"name": "B", "value": 5432},
            {"name": "C", "value": "${HOME} {not-a-reference} ${/id}"},
            {"name": "D", "value": "true"},
        ]

    def test_values_match_hyphen_and_underscore_spellings(self) -> None:
        plan = plan_of(container_file("image: busybox\ncmd: pt.value api-port\n"), values={"api_port": 1})
        assert step(plan, "app")["args"]["cmd"] == "1"

    def test_card_hyphenated_keys_become_module_options(self) -> None:
        plan = plan_of(container_file("""
                image: busybox
                no-stdin: true
                update-image: true
                instance-type: cpu-small
                restart: {policy: on-failure, max-restarts: 3}
                services: [{id: web, ports: [{port: 80, protocol: http, expose-as: 8080}]}]
                """))
        args = step(plan, "app")["args"]
        assert args["no_stdin"] is True and args["update_image"] is True and args["instance_type"] == "cpu-small"
        assert args["restart"] == {"policy": "on-failure", "max_restarts": 3}
        assert args["services"][0]["ports"][0]["expose_as"] == 8080
        assert not [key for key in json.dumps(args) if "-" in key and key in ("no-stdin",)]

    def test_underscore_spelling_is_accepted_too(self) -> None:
        plan = plan_of(container_file("image: busybox\nno_stdin: true\nrestart: {max_restarts: 2}\n"))
        assert step(plan, "app")["args"]["no_stdin"] is True
        assert step(plan, "app")["args"]["restart"] == {"max_restarts": 2}

    def test_every_card_option_passes(self) -> None:
        plan = plan_of(container_file("""
                image: registry.example:5000/team/app:1.2
                id: app
                cmd: [sh, null, -c, "exit 0"]
                entrypoint: /bin/sh
                mounts: [null, {source: {type: string, data: hi}, path: /hello.txt}]
                env: [null, {name: A, value: "1"}, {name: B}]
                workdir: /app
                no-stdin: false
                tty: false
                services: [{id: app, ports: [{port: 80, protocol: http}]}]
                datasets: [{path: /out, sink: results}, {path: /log, sink: {type: dataset, dataset: logs}}]
                user: 1000
                restart: {policy: never}
                scaling: 2
                update-image: false
                instance-type: gpu-large
                resources: {cpu: {request: 0.5, limit: 1}, memory: {request: 256Mi, limit: 1g}}
                """))
        args = step(plan, "app")["args"]
        assert args["cmd"] == ["sh", "-c", "exit 0"]
        assert args["mounts"] == [{"source": {"type": "string", "data": "hi"}, "path": "/hello.txt"}]
        assert args["env"] == [{"name": "A", "value": "1"}, {"name": "B"}]
        assert args["scaling"] == 2 and args["user"] == 1000 and args["tty"] is False
        assert args["resources"] == {"cpu": {"request": 0.5, "limit": 1}, "memory": {"request": "256Mi", "limit": "1g"}}
        assert args["datasets"][1] == {"path": "/log", "sink": {"type": "dataset", "dataset": "logs"}}
        assert step(plan, "app")["id"] == "app"

    def test_env_as_mapping(self) -> None:
        plan = plan_of(container_file("image: busybox\nenv: {A: x, B: 2}\n"))
        assert step(plan, "app")["args"]["env"] == {"A": "x", "B": 2}

    def test_null_params_and_default_marker_are_accepted(self) -> None:
        plan = plan_of("""
            modules:
              - id: app
                default?: true
                info: a module
                params:
                module: polytope/container
                args: {image: busybox}
            templates:
              - id: tpl
                info: a template
                run: [app]
            """)
        assert step(plan, "app")["args"]["image"] == "busybox"

    def test_module_without_args(self) -> None:
        problem = one_problem(
            "modules:\n  - id: app\n    module: polytope/container\ntemplates:\n  - {id: tpl, run: [app]}\n"
        )
        assert "argument 'image': module 'polytope/container' requires it" in problem

    def test_build_image_is_a_completed_step(self) -> None:
        plan = plan_of("""
            modules:
              - id: build
                params:
                  - {id: tags, type: [default, [str], [app:latest]]}
                module: polytope/build-image
                args:
                  sources: [{source: {type: host, path: ./app}, path: /}]
                  tags: "#pt-param tags"
                  labels: {team: core}
            templates:
              - id: tpl
                run: [build]
            """)
        entry = step(plan, "build")
        assert entry["kind"] == "build_image" and entry["state"] == "completed"
        assert entry["module"] == ["build", "polytope/build-image"]
        assert entry["args"] == {
            "tags": ["app:latest"],
            "dockerfile": "Dockerfile",
            "labels": {"team": "core"},
            "context": "./app",
            "project": "tpl",
        }

    def test_build_image_needs_one_context(self) -> None:
        problem = one_problem("""
            modules:
              - id: build
                module: polytope/build-image
                args:
                  tags: [a]
                  sources:
                    - {source: {type: host, path: ./a}, path: /}
                    - {source: {type: host, path: ./b}, path: /b}
            templates: [{id: tpl, run: [build]}]
            """)
        assert "only one source" in problem


class TestModuleErrors:
    def test_undeclared_param_given_to_a_module(self) -> None:
        problem = one_problem("""
            modules:
              - id: web
                module: polytope/container
                params: [{id: port, type: int}]
                args: {image: busybox, env: [{name: P, value: pt.param port}]}
            templates:
              - id: tpl
                run: [{module: web, args: {port: 80, colour: blue}}]
            """)
        assert problem == (
            "template 'tpl', step 'web', module 'web', argument 'colour': module 'web' has no param 'colour' (declared: port)"
        )

    def test_undeclared_param_referenced_by_a_module(self) -> None:
        problem = one_problem(container_file("image: busybox\ncmd: pt.param nope\n"))
        assert "module 'app', argument 'cmd': pt.param nope names undeclared param 'nope' of module 'app'" in problem

    def test_param_of_wrong_type(self) -> None:
        problem = one_problem("""
            modules:
              - id: web
                module: polytope/container
                params: [{id: port, type: [default, int, 80]}]
                args: {image: busybox}
            templates:
              - id: tpl
                run: [{module: web, args: {port: eighty}}]
            """)
        assert (
            "step 'web', module 'web', argument 'port' of module 'web': expected an int, got a string 'eighty'"
            in problem
        )

    def test_container_argument_of_wrong_type_names_the_path(self) -> None:
        problem = one_problem(
            container_file("image: busybox\nservices: [{id: web, ports: [{port: http, protocol: http}]}]\n")
        )
        assert "module 'polytope/container' (from 'app')" in problem
        assert "argument 'services[0].ports[0].port'" in problem

    def test_missing_required_param(self) -> None:
        problem = one_problem(container_file("image: busybox\ncmd: pt.param cmd\n", "- {id: cmd, type: str}\n"))
        assert "argument 'cmd': module 'app' requires it (str) and it is not given" in problem

    def test_bad_type_declaration(self) -> None:
        problem = one_problem(container_file("image: busybox\n", "- {id: x, type: strng}\n"))
        assert "module 'app': param 'x': unknown type 'strng'" in problem

    def test_unknown_module_and_template(self) -> None:
        problem = one_problem("templates:\n  - {id: tpl, run: [nowhere]}\n")
        assert problem == "template 'tpl', step 'nowhere', unknown module 'nowhere': not defined in this file"
        with pytest.raises(TemplateError) as caught:
            plan_of("templates:\n  - {id: tpl, run: [x]}\n", "missing")
        assert "unknown template or tool 'missing' (defined: tpl)" in str(caught.value)

    def test_template_used_as_a_module_gets_a_hint(self) -> None:
        problem = one_problem("modules: []\ntemplates:\n  - {id: tpl, run: [u]}\n  - {id: u, run: [x]}\n")
        assert "'u' is a template: write {template: u}" in problem

    def test_module_reference_cycle(self) -> None:
        problem = one_problem(
            "modules:\n  - {id: a, module: b}\n  - {id: b, module: c}\n  - {id: c, module: a}\ntemplates:\n  - {id: tpl, run: [a]}\n"
        )
        assert "reference cycle: a -> b -> c -> a" in problem

    @pytest.mark.parametrize(
        "cmd",
        [
            "'#pt-clj (str \"echo \" (:word params))'",
            "'pt.clj (str \"echo \" (:word params))'",
            "'#pt-js \"echo \" + params.word'",
            "'pt.js `echo ${pt.param(\"word\")}`'",
        ],
    )
    def test_code_strings_are_evaluated_with_the_params(self, cmd: str) -> None:
        plan = plan_of(container_file(f"image: busybox\ncmd: {cmd}\n", "- {id: word, type: [default, str, hi]}\n"))
        assert step(plan, "app")["args"]["cmd"] == "echo hi"

    def test_block_scalar_code_and_nil_means_absent(self) -> None:
        plan = plan_of(
            container_file(
                "image: busybox\nmounts: |-\n  #pt-clj (concat\n    (:mounts params))\nworkdir: '#pt-js null'\n",
                "- {id: mounts, type: [default, [{source: mount-source, path: absolute-path}], "
                "[{source: {type: volume}, path: /data}]]}\n",
            )
        )
        args = step(plan, "app")["args"]
        assert args["mounts"] == [{"source": {"type": "volume"}, "path": "/data"}]
        assert "workdir" not in args

    def test_python_code_is_a_clear_error(self) -> None:
        problem = one_problem(container_file("image: busybox\ncmd: '#pt-py print(1)'\n"))
        assert "module 'app', argument 'cmd': Python code: Python code strings are not evaluated" in problem

    def test_code_errors_name_the_module_argument_and_language(self) -> None:
        problems = problems_of(
            container_file("image: busybox\ncmd: '#pt-clj (slurp \"/etc/passwd\")'\nuser: '#pt-js process.exit()'\n")
        )
        assert any("module 'app', argument 'cmd': Clojure code:" in p and "slurp" in p for p in problems), problems
        assert any(
            "module 'app', argument 'user': JavaScript code:" in p and "process" in p for p in problems
        ), problems

    def test_a_value_computed_from_a_secret_is_masked(self) -> None:
        plan = plan_of(
            container_file(
                "image: busybox\nenv: [{name: T, value: '#pt-clj (clojure.string/upper-case (pt/secret \"t\"))'}]\n"
            ),
            secrets={"t": "quiet-token"},
        )
        entry = step(plan, "app")
        assert entry["args"]["env"][0]["value"] == "QUIET-TOKEN"
        assert entry["secret"] is True
        assert "QUIET-TOKEN" not in json.dumps(masked(plan))

    def test_pt_input_is_pt_param_and_unknown_directives_are_errors(self) -> None:
        plan = plan_of(
            container_file("image: busybox\ncmd: pt.input word\n", "- {id: word, type: [default, str, hi]}\n")
        )
        assert step(plan, "app")["args"]["cmd"] == "hi"
        problems = problems_of(container_file("image: busybox\ncmd: '#pt-foo x'\nworkdir: pt.foo y\n"))
        assert any("unknown directive '#pt-foo'" in problem for problem in problems)
        assert any("unknown reference 'pt.foo'" in problem for problem in problems)

    def test_missing_value_and_secret(self) -> None:
        problems = problems_of(
            container_file("image: busybox\nenv: [{name: A, value: pt.value a}, {name: B, value: 'x{pt.secret b}'}]\n")
        )
        assert problems == [
            "template 'tpl', step 'app', module 'app', argument 'env[0].value': pt.value a: no value 'a' was given (pass it in template_values)",
            "template 'tpl', step 'app', module 'app', argument 'env[1].value': {pt.secret b}: no secret 'b' was given (pass it in template_secrets)",
        ]

    def test_another_projects_module(self) -> None:
        problem = one_problem("templates:\n  - {id: tpl, run: ['acme/shared!db']}\n")
        assert "module 'acme/shared!db' belongs to another project (acme)" in problem

    def test_unknown_keys_are_reported(self) -> None:
        problems = problems_of(
            "modules:\n  - {id: app, module: polytope/container, args: {image: busybox}, colour: red}\n"
            "templates:\n  - {id: tpl, run: [{module: app, wait: true}], owner: me}\n"
        )
        assert any("unknown key(s) 'owner' in the template definition" in problem for problem in problems)
        assert any("unknown step key(s) 'wait'" in problem for problem in problems)
        assert any("unknown key(s) 'colour' in the module definition" in problem for problem in problems)

    def test_module_defined_by_code(self) -> None:
        problem = one_problem(
            "modules:\n  - {id: app, code: '#pt-clj (pt/log 1)'}\ntemplates:\n  - {id: tpl, run: [app]}\n"
        )
        assert "defined by Clojure code" in problem


# ------------------------------------------------------------------------------------------------
# Templates, steps and ordering


JOBS = """
modules:
  - id: job
    module: polytope/container
    args: {image: busybox, cmd: "sh -c 'exit 0'"}
  - id: web
    module: polytope/container
    params: [{id: port, type: [default, int, 8080]}]
    args:
      image: busybox
      cmd: "httpd -f -p {pt.param port}"
      services: [{id: web, ports: [{port: pt.param port, protocol: http}]}]
"""


class TestTemplates:
    def test_step_forms_and_project(self) -> None:
        plan = plan_of(
            JOBS + """
templates:
  - id: tpl
    run:
      - web
      - {module: web, id: web-2, args: {port: 8081}}
      - {module: job, id: migrate}
""",
            project="demo",
        )
        assert [entry["step"] for entry in plan["steps"]] == ["web", "web-2", "migrate"]
        assert [entry["id"] for entry in plan["steps"]] == ["web", "web-2", "migrate"]
        assert {entry["args"]["project"] for entry in plan["steps"]} == {"demo"}
        assert plan["project"] == "demo"
        assert step(plan, "web-2")["args"]["services"][0]["ports"][0]["port"] == 8081

    def test_run_when_orders_and_completes(self) -> None:
        plan = plan_of(JOBS + """
templates:
  - id: tpl
    run:
      - {module: web, run-when: {after: migrate, after-condition: success}}
      - {module: job, id: seed, after: {step: migrate}}
      - {module: job, id: migrate}
      - {module: job, id: report, run-when: {after: [seed, migrate], after-condition: always}}
""")
        assert [entry["step"] for entry in plan["steps"]] == ["migrate", "web", "seed", "report"]
        assert step(plan, "migrate")["state"] == "completed"
        assert step(plan, "migrate")["waited_by"] == ["web", "seed", "report"]
        assert step(plan, "seed")["state"] == "completed"
        assert step(plan, "web")["state"] == "started"
        assert step(plan, "report")["state"] == "started"
        assert step(plan, "web")["run_when"] == {"after": ["migrate"], "condition": "success"}
        assert step(plan, "seed")["run_when"] == {"after": ["migrate"], "condition": "success"}
        assert step(plan, "report")["run_when"] == {"after": ["seed", "migrate"], "condition": "always"}
        assert step(plan, "migrate")["run_when"] is None

    def test_failed_condition(self) -> None:
        plan = plan_of(
            JOBS + "templates:\n  - id: tpl\n    run:\n      - {module: job, id: aa}\n"
            "      - {module: job, id: cleanup, run-when: {after: aa, after-condition: failed}}\n"
        )
        assert step(plan, "cleanup")["run_when"] == {"after": ["aa"], "condition": "failed"}

    def test_nested_template_with_params(self) -> None:
        plan = plan_of(
            JOBS + """
templates:
  - id: inner
    params: [{id: port, type: [default, int, 9000]}, {id: name, type: str}]
    run:
      - {module: web, id: "inner-web", args: {port: pt.param port}}
      - {module: job, id: inner-job, run-when: {after: inner-web-job}}
      - {module: job, id: inner-web-job}
  - id: tpl
    params: [{id: base-port, type: [default, int, 7000]}]
    run:
      - {module: job, id: first}
      - {template: inner, args: {port: "#pt-param base-port", name: x}, run-when: {after: first}}
""",
            params={"base-port": "7100"},
        )
        assert [entry["step"] for entry in plan["steps"]] == ["first", "inner-web", "inner-web-job", "inner-job"]
        assert step(plan, "inner-web")["args"]["services"][0]["ports"][0]["port"] == 7100
        assert step(plan, "inner-web")["run_when"] == {"after": ["first"], "condition": "success"}
        assert step(plan, "inner-job")["run_when"] == {"after": ["first", "inner-web-job"], "condition": "success"}
        assert {entry["args"]["project"] for entry in plan["steps"]} == {"tpl"}

    def test_template_params_are_checked(self) -> None:
        problems = problems_of(
            "templates:\n  - id: tpl\n    params: [{id: n, type: int}]\n    run: [{module: polytope/container, args: {image: busybox}}]\n",
            params={"n": "x", "extra": 1},
        )
        assert "template 'tpl', argument 'extra': template 'tpl' has no param 'extra' (declared: n)" in problems
        assert "template 'tpl', argument 'n' of template 'tpl': expected an int, got a string 'x'" in problems

    def test_container_id_rules(self) -> None:
        plan = plan_of(JOBS + """
  - id: fixed
    module: polytope/container
    args: {image: busybox, id: fixed-name}
templates:
  - id: tpl
    run:
      - fixed
      - {module: job, id: j1}
      - {module: job, id: j2, args: {id: custom}}
      - {module: polytope/container, id: direct, args: {image: busybox, id: direct-id}}
""")
        assert [(entry["step"], entry["id"], entry["args"]["id"]) for entry in plan["steps"]] == [
            ("fixed", "fixed-name", "fixed-name"),
            ("j1", "j1", "j1"),
            ("j2", "custom", "custom"),
            ("direct", "direct-id", "direct-id"),
        ]

    def test_step_named_by_a_library_reference_gets_a_valid_container_id(self) -> None:
        plan = plan_of(
            "modules:\n  - {id: 'polytope/thing!extra', module: polytope/container, args: {image: busybox}}\n"
            "templates:\n  - {id: tpl, run: ['polytope/thing!extra']}\n"
        )
        assert plan["steps"][0]["id"] == "thing-extra"

    def test_jobs_named_by_the_caller(self) -> None:
        text = (
            JOBS
            + "templates:\n  - id: tpl\n    run:\n      - {module: job, id: lint}\n      - {module: job, id: unit, after: {step: lint}}\n"
        )
        plan = plan_of(text, jobs=["unit"])
        assert [(entry["step"], entry["state"]) for entry in plan["steps"]] == [
            ("lint", "completed"),
            ("unit", "completed"),
        ]
        assert step(plan_of(text), "unit")["state"] == "started"
        assert "jobs: template 'tpl' has no step 'ghost' (steps: lint, unit)" in one_problem(text, jobs=["ghost"])

    def test_invalid_project(self) -> None:
        problem = one_problem(JOBS + "templates:\n  - {id: tpl, run: [job]}\n", project="Bad Project")
        assert "project 'Bad Project' is not a valid id" in problem


class TestTemplateErrors:
    def test_run_when_names_unknown_step(self) -> None:
        problem = one_problem(
            JOBS + "templates:\n  - id: tpl\n    run:\n      - {module: job, run-when: {after: ghost}}\n"
        )
        assert problem == "template 'tpl', step 'job': run-when names unknown step 'ghost'"

    def test_waiting_after_a_service(self) -> None:
        problem = one_problem(
            JOBS + "templates:\n  - id: tpl\n    run:\n      - web\n      - {module: job, after: {step: web}}\n"
        )
        assert "step 'job' waits after step 'web', a service (web) that never finishes" in problem

    def test_duplicate_step_ids(self) -> None:
        problem = one_problem(JOBS + "templates:\n  - id: tpl\n    run: [job, job]\n")
        assert "duplicate step id 'job'" in problem

    def test_two_steps_with_one_container_id(self) -> None:
        problem = one_problem(
            JOBS
            + "templates:\n  - id: tpl\n    run:\n      - {module: job, id: aa, args: {id: same}}\n      - {module: job, id: same}\n"
        )
        assert "steps 'aa' and 'same' both run container id 'same'" in problem

    def test_run_when_cycle(self) -> None:
        problem = one_problem(
            JOBS + "templates:\n  - id: tpl\n    run:\n      - {module: job, id: aa, run-when: {after: bb}}\n"
            "      - {module: job, id: bb, run-when: {after: aa}}\n"
        )
        assert "reference cycle in run-when: aa -> bb -> aa" in problem

    def test_template_cycle(self) -> None:
        problem = one_problem("templates:\n  - {id: tpl, run: [{template: u}]}\n  - {id: u, run: [{template: tpl}]}\n")
        assert "reference cycle: tpl -> u -> tpl" in problem

    def test_bad_after_condition(self) -> None:
        problem = one_problem(
            JOBS
            + "templates:\n  - id: tpl\n    run:\n      - {module: job, id: aa}\n      - {module: job, run-when: {after: aa, after-condition: sometimes}}\n"
        )
        assert "after-condition must be one of success, always, failed" in problem

    def test_a_tool_expands_like_a_template(self) -> None:
        text = """
tools:
  web:
    inputs:
      port: {type: [default, int, 8080], info: the port}
    run:
      - tool: polytope/container
        args: {image: busybox, id: web, services: [{id: web, ports: [{port: pt.input port, protocol: http}]}]}
  migrate:
    params: [{id: image, type: [default, str, busybox]}]
    run:
      - tool: polytope/container
        args: {image: pt.param image, id: migrate, await: true}
  stack:
    run:
      - tool: migrate
      - {tool: web, args: {port: 9090}, after: {step: migrate}}
      - {id: web-2, tool: polytope/container, args: {image: busybox, create: always, unconfined: true, await: false}}
instructions: text for an agent
mcp: {only: [stack]}
"""
        plan = expand(text, "tools.yml", "stack")
        assert [entry["step"] for entry in plan["steps"]] == ["migrate", "web", "web-2"]
        assert step(plan, "migrate")["state"] == "completed"
        assert step(plan, "web")["run_when"] == {"after": ["migrate"], "condition": "success"}
        assert step(plan, "web")["args"]["services"][0]["ports"][0]["port"] == 9090
        assert step(plan, "web-2")["state"] == "started"
        assert step(plan, "web-2")["args"]["create"] == "always"
        assert step(plan, "web-2")["args"]["unconfined"] is True
        assert "await" not in step(plan, "web-2")["args"]
        assert describe_file(text, "tools.yml") == {
            "templates": [],
            "modules": [],
            "tools": ["web", "migrate", "stack"],
        }

    def test_inline_code_steps_are_a_clear_error(self) -> None:
        problem = one_problem("tools:\n  tpl:\n    run:\n      - {id: seed, code: 'pt.js pt.spawn()'}\n")
        assert "step 'seed' is inline code ('code:')" in problem

    def test_every_problem_at_once(self) -> None:
        problems = problems_of(JOBS + """
  - id: bad
    module: polytope/container
    args: {image: busybox, cmd: '#pt-js 1 + 1', user: pt.value who}
templates:
  - id: tpl
    run:
      - bad
      - nowhere
      - {module: job, run-when: {after: ghost}}
      - {module: web, args: {port: eighty}}
      - {module: web, id: web2, args: {colour: red}}
""")
        assert len(problems) == 6, problems
        assert all(problem.startswith("template 'tpl', ") for problem in problems)

    def test_error_message_names_the_file(self) -> None:
        with pytest.raises(TemplateError) as caught:
            expand("templates:\n  - {id: tpl, run: [nowhere]}\n", "/srv/app/polytope.yml", "tpl")
        assert str(caught.value).startswith(
            "/srv/app/polytope.yml: template 'tpl': 1 problem\n  - template 'tpl', step 'nowhere'"
        )
        assert caught.value.file_name == "/srv/app/polytope.yml"


# ------------------------------------------------------------------------------------------------
# Secrets


SECRET = "hunter2-S3NTINEL"


class TestSecrets:
    def test_masked_plan_hides_whole_and_interpolated_secrets(self) -> None:
        plan = plan_of(
            container_file("""
                image: busybox
                cmd: "login --password={pt.secret pw} --user=me"
                env:
                  - {name: PW, value: pt.secret pw}
                  - {name: DSN, value: "postgres://me:{pt.secret pw}@db/app"}
                  - {name: PLAIN, value: visible}
                """),
            secrets={"pw": SECRET},
        )
        entry = step(plan, "app")
        assert entry["secret"] is True
        # The plan itself keeps the values: the role needs them to run the container.
        assert entry["args"]["env"][0] == {"name": "PW", "value": SECRET, "secret": True}
        shown = masked(plan)
        text = json.dumps(shown)
        assert SECRET not in text
        args = step(shown, "app")["args"]
        assert args["cmd"] == f"login --password={MASK} --user=me"
        assert args["env"] == [
            {"name": "PW", "value": MASK, "secret": True},
            {"name": "DSN", "value": f"postgres://me:{MASK}@db/app", "secret": True},
            {"name": "PLAIN", "value": "visible"},
        ]
        assert SECRET in json.dumps(plan)  # masked() returned a copy

    def test_secret_through_params_and_type_conversion(self) -> None:
        plan = plan_of(
            """
            modules:
              - id: app
                module: polytope/container
                params: [{id: token, type: str}, {id: port, type: int}]
                args:
                  image: busybox
                  cmd: "serve --token={pt.param token}"
                  services: [{id: svc, ports: [{port: pt.param port, protocol: tcp}]}]
            templates:
              - id: tpl
                params: [{id: tok, type: str}]
                run: [{module: app, args: {token: pt.param tok, port: "#pt-secret port"}}]
            """,
            params={"tok": "x"},
            secrets={"port": "4242"},
        )
        shown = json.dumps(masked(plan))
        assert "4242" not in shown
        assert step(plan, "app")["secret"] is True

    def test_errors_never_contain_secrets(self) -> None:
        problems = problems_of(
            container_file("image: busybox\nuser: pt.secret pw\nscaling: pt.secret pw\nworkdir: '{pt.secret pw}'\n"),
            secrets={"pw": SECRET},
        )
        assert problems
        assert all(SECRET not in problem for problem in problems)
        assert any(MASK in problem for problem in problems)

    def test_plan_without_secrets_has_no_masks(self) -> None:
        plan = plan_of(container_file("image: busybox\n"), secrets={"unused": SECRET})
        assert step(plan, "app")["secret"] is False
        assert masked(plan) == plan


# ------------------------------------------------------------------------------------------------
# Polytope's standard library

FAKE_LIBRARY = """
modules:
  - id: polytope/python
    info: Runs Python.
    module: polytope/container
    params:
      - {id: image, type: [default, str, "python:3.12"]}
      - {id: code, type: [maybe, mount-source]}
      - {id: cmd, type: [maybe, [either, str, [str]]]}
    args:
      image: pt.param image
      cmd: pt.param cmd
      mounts: 'pt.clj (when (:code params) [{:source (:code params) :path "/app"}])'
      workdir: /app
  - id: polytope/python!simple
    info: Layered.
    module: polytope/python
    params: [{id: cmd, type: str}]
    args: {cmd: pt.param cmd, image: "python:3.11"}
  - id: polytope/hello-world
    info: A job.
    module: polytope/container
    args: {image: hello-world, await: true}
  - id: polytope/broken
    module: polytope/container
    args: {image: 'pt.clj (pt/fail "needs either a or b")'}
"""


def fake_library() -> dict:
    """A stand-in library document, in the shape ``_stdlib.load_library`` returns."""
    return {
        "modules": load_yaml12(FAKE_LIBRARY, "fake library")["modules"],
        "unavailable": {"polytope/redis": "not documented publicly"},
        "aliases": {"polytope/python!python": "polytope/python"},
    }


def install_library(monkeypatch: pytest.MonkeyPatch, loader: Callable[[], dict]) -> None:
    """Make the expander load its standard library from ``loader`` (until the test ends)."""
    monkeypatch.setattr(language_library, "_load_library", loader)
    language_library._reset_library_cache()


class TestStandardLibrary:
    @pytest.fixture(autouse=True)
    def _restore(self) -> Any:
        yield
        language_library._reset_library_cache()

    def test_library_module_chain(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        plan = plan_of("""
            modules:
              - id: api
                module: polytope/python
                args: {code: {type: host, path: ./api}, cmd: ./bin/run}
              - id: tool
                module: polytope/python!simple
                args: {cmd: pytest}
            templates:
              - {id: tpl, run: [api, tool, polytope/hello-world]}
            """)
        assert step(plan, "api")["module"] == ["api", "polytope/python", "polytope/container"]
        assert step(plan, "api")["args"] == {
            "image": "python:3.12",
            "cmd": "./bin/run",
            "mounts": [{"source": {"type": "host", "path": "./api"}, "path": "/app"}],
            "workdir": "/app",
            "project": "tpl",
            "id": "api",
        }
        assert step(plan, "tool")["module"] == [
            "tool",
            "polytope/python!simple",
            "polytope/python",
            "polytope/container",
        ]
        assert step(plan, "tool")["args"]["image"] == "python:3.11"
        assert step(plan, "polytope/hello-world")["state"] == "completed"
        assert step(plan, "polytope/hello-world")["id"] == "hello-world"
        assert "warnings" not in plan

    def test_the_default_variant_is_another_spelling(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        plan = plan_of("templates:\n  - {id: tpl, run: [{module: polytope/python!python, id: py, args: {cmd: x}}]}\n")
        assert step(plan, "py")["module"] == ["polytope/python!python", "polytope/container"]
        assert step(plan, "py")["args"]["cmd"] == "x"

    def test_library_params_are_type_checked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        problems = problems_of(
            "modules:\n  - {id: api, module: polytope/python, args: {code: ./api, shell: bash}}\ntemplates:\n  - {id: tpl, run: [api]}\n"
        )
        assert problems == [
            "template 'tpl', step 'api', module 'polytope/python' (from 'api'), argument 'code' of module "
            "'polytope/python': expected a mount source (a mapping with a type), got a string './api'",
        ]

    def test_an_undeclared_argument_is_a_warning_and_dropped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        text = "modules:\n  - {id: api, module: polytope/python, args: {cmd: x, shell: bash}}\ntemplates:\n  - {id: tpl, run: [api]}\n"
        plan = plan_of(text)
        assert plan["warnings"] == ["module 'polytope/python' does not declare argument 'shell': dropped"]
        assert "shell" not in step(plan, "api")["args"]
        assert problems_of(text, strict=True) == [
            "template 'tpl', step 'api', module 'polytope/python' (from 'api'), argument 'shell': module "
            "'polytope/python' does not declare it (template_strict is on)"
        ]

    def test_create_unconfined_and_await_reach_the_container(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        plan = plan_of(
            "templates:\n  - id: tpl\n    run:\n"
            "      - {module: polytope/python!simple, id: tool, args: {cmd: x, create: always, unconfined: true, await: true}}\n"
            "      - {module: polytope/hello-world, id: hello, args: {await: false}}\n"
        )
        assert step(plan, "tool")["args"]["create"] == "always"
        assert step(plan, "tool")["args"]["unconfined"] is True
        assert step(plan, "tool")["state"] == "completed"
        assert step(plan, "hello")["state"] == "started"
        assert "warnings" not in plan

    def test_library_errors_are_reported_with_the_step(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        problem = one_problem("templates:\n  - {id: tpl, run: [polytope/broken]}\n")
        assert problem == (
            "template 'tpl', step 'polytope/broken', module 'polytope/broken', argument 'image': Clojure code: "
            "pt/fail: needs either a or b"
        )

    def test_unavailable_reference(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        problems = problems_of(
            "modules:\n  - {id: cache, module: polytope/redis}\ntemplates:\n  - {id: tpl, run: [cache, polytope/unheard-of]}\n"
        )
        assert problems == [
            "template 'tpl', step 'cache', module 'polytope/redis' (used by 'cache'): Polytope standard "
            "library module not available: not documented publicly (to run it anyway, define a module with id "
            "'polytope/redis' in the file)",
            "template 'tpl', step 'polytope/unheard-of', module 'polytope/unheard-of': Polytope standard library module "
            "not available in this collection",
        ]

    def test_user_module_overrides_a_library_reference(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        plan = plan_of(
            "modules:\n  - {id: polytope/python, module: polytope/container, args: {image: my-python}}\n"
            "  - {id: api, module: polytope/python}\ntemplates:\n  - {id: tpl, run: [api]}\n"
        )
        assert step(plan, "api")["module"] == ["api", "polytope/python", "polytope/container"]
        assert step(plan, "api")["args"]["image"] == "my-python"

    def test_without_a_library_every_reference_is_unavailable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, lambda: {"modules": []})
        problem = one_problem("templates:\n  - {id: tpl, run: [polytope/python]}\n")
        assert (
            problem
            == "template 'tpl', step 'polytope/python', module 'polytope/python': Polytope standard library module not available in this collection"
        )
        plan = plan_of(container_file("image: busybox\n"))
        assert plan["steps"][0]["args"]["image"] == "busybox"

    def test_a_library_that_fails_to_load_is_a_problem_not_a_traceback(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def broken() -> dict:
            raise ValueError("python.yml: unknown key(s) extra")

        install_library(monkeypatch, broken)
        problem = one_problem("templates:\n  - {id: tpl, run: [polytope/python]}\n")
        assert problem.endswith(
            "not available in this collection (the standard library failed to load: ValueError: python.yml: "
            "unknown key(s) extra)"
        )

    def test_the_real_library(self) -> None:
        language_library._reset_library_cache()
        plan = plan_of(
            "modules:\n  - {id: api, module: polytope/python, args: {code: {type: host, path: ./api}, cmd: ./bin/run}}\n"
            "templates:\n  - {id: tpl, run: [api]}\n"
        )
        entry = step(plan, "api")
        assert entry["module"] == ["api", "polytope/python", "polytope/container"]
        assert entry["args"]["cmd"] == "./bin/run"
        assert entry["args"]["id"] == "api"


# ------------------------------------------------------------------------------------------------
# The template role's services summary


def test_service_lines_group_replicas_and_ports() -> None:
    services = [
        {"project": "demo", "step": "web", "id": "web", "replica": 1, "url": "http://localhost:8080/"},
        {"project": "demo", "step": "web", "id": "web", "replica": 2, "url": "http://localhost:32768/"},
        {"project": "demo", "step": "db", "id": "db", "protocol": "tcp", "host": "127.0.0.1", "host_port": 5432},
        {"project": "demo", "step": "cache", "id": "cache", "internal": True},
    ]
    assert service_lines(services) == [
        "demo/web: web http://localhost:8080/ http://localhost:32768/",
        "demo/db: db tcp://127.0.0.1:5432",
        "demo/cache: cache (internal, not published)",
    ]


def test_unopened_services_are_those_of_started_steps_that_ran() -> None:
    steps = [
        {
            "step": "web",
            "kind": "container",
            "state": "started",
            "args": {"services": [{"id": "web"}, {"id": "admin"}]},
        },
        {"step": "job", "kind": "container", "state": "completed", "args": {"services": [{"id": "probe"}]}},
        {"step": "later", "kind": "container", "state": "started", "args": {"services": [{"id": "later"}]}},
    ]
    outcomes = {"web": "succeeded", "job": "succeeded", "later": "skipped"}
    services = [{"project": "demo", "step": "web", "id": "web"}, {"project": "other", "step": "web", "id": "admin"}]
    assert unopened_services(steps, outcomes, services, "demo") == ["demo/web: admin"]


# ------------------------------------------------------------------------------------------------
# Teardown: expansion without the values and secrets

TEARDOWN_FILE = """
    modules:
      - id: web
        module: polytope/container
        params:
          - {id: expose, type: int}
        args:
          image: busybox
          cmd: "httpd -p {pt.value port}"
          env:
            - {name: GREETING, value: pt.value greeting}
            - {name: TOKEN, value: "token-{pt.secret token}"}
          services: [{id: web, ports: [{port: pt.value port, protocol: http, expose-as: pt.param expose}]}]
      - id: job
        module: polytope/container
        args:
          image: busybox
          cmd: "sh -c 'echo {pt.secret token}'"
    templates:
      - id: tpl
        run:
          - {module: web, args: {expose: 8080}, run-when: {after: migrate}}
          - {module: job, id: migrate}
          - {module: job, id: report, args: {id: reporter}}
    """

TEARDOWN_VALUES = {"port": "8080", "greeting": "hi"}
TEARDOWN_SECRETS = {"token": "SENTINEL-teardown-5e1f"}


def identities(plan: dict) -> list[tuple]:
    return [(entry["step"], entry["id"], entry["kind"], entry["args"]["project"]) for entry in plan["steps"]]


class TestTeardown:
    def test_missing_values_and_secrets_do_not_fail(self) -> None:
        plan = plan_of(TEARDOWN_FILE, teardown=True)
        assert plan["teardown"] is True
        assert identities(plan) == [
            ("migrate", "migrate", "container", "tpl"),
            ("web", "web", "container", "tpl"),
            ("report", "reporter", "container", "tpl"),
        ]
        assert step(plan, "web")["missing"] == ["pt.value port", "pt.value greeting", "pt.secret token"]
        assert step(plan, "migrate")["missing"] == ["pt.secret token"]
        json.dumps(plan)  # plain data all the way down

    def test_the_identity_is_the_same_as_with_every_value(self) -> None:
        full = plan_of(TEARDOWN_FILE, values=TEARDOWN_VALUES, secrets=TEARDOWN_SECRETS)
        bare = plan_of(TEARDOWN_FILE, teardown=True)
        assert identities(bare) == identities(full)
        assert [entry["state"] for entry in bare["steps"]] == [entry["state"] for entry in full["steps"]]
        assert [entry["run_when"] for entry in bare["steps"]] == [entry["run_when"] for entry in full["steps"]]

    def test_placeholders_show_what_is_missing_and_are_plain_strings(self) -> None:
        args = step(plan_of(TEARDOWN_FILE, teardown=True), "web")["args"]
        assert args["env"] == [
            {"name": "GREETING", "value": "<not given: pt.value greeting>"},
            {"name": "TOKEN", "value": "token-<not given: pt.secret token>"},
        ]
        assert args["cmd"] == "httpd -p <not given: pt.value port>"
        # an int-typed port accepts the placeholder: its value is unknown, not wrong
        assert args["services"][0]["ports"][0] == {
            "port": "<not given: pt.value port>",
            "protocol": "http",
            "expose_as": 8080,
        }
        for value in (args["env"][0]["value"], args["services"][0]["ports"][0]["port"]):
            assert isinstance(value, str) and not isinstance(value, language_values._Missing)

    def test_a_step_that_carries_a_missing_secret_is_still_secret(self) -> None:
        plan = plan_of(TEARDOWN_FILE, teardown=True)
        assert step(plan, "migrate")["secret"] is True
        assert step(plan, "web")["secret"] is True

    def test_given_values_are_used_and_nothing_is_missing(self) -> None:
        full = plan_of(TEARDOWN_FILE, values=TEARDOWN_VALUES, secrets=TEARDOWN_SECRETS)
        teardown = plan_of(TEARDOWN_FILE, values=TEARDOWN_VALUES, secrets=TEARDOWN_SECRETS, teardown=True)
        assert teardown.pop("teardown") is True
        assert [entry.pop("missing") for entry in teardown["steps"]] == [[], [], []]
        assert teardown == full

    def test_only_some_values_given(self) -> None:
        plan = plan_of(TEARDOWN_FILE, values={"port": "8080"}, secrets=TEARDOWN_SECRETS, teardown=True)
        entry = step(plan, "web")
        assert entry["missing"] == ["pt.value greeting"]
        assert entry["args"]["services"][0]["ports"][0]["port"] == 8080
        assert MASK in json.dumps(masked(plan))
        assert TEARDOWN_SECRETS["token"] not in json.dumps(masked(plan))

    def test_a_plan_for_running_has_no_teardown_keys(self) -> None:
        plan = plan_of(TEARDOWN_FILE, values=TEARDOWN_VALUES, secrets=TEARDOWN_SECRETS)
        assert "teardown" not in plan
        assert all("missing" not in entry for entry in plan["steps"])
        assert "<not given" not in json.dumps(plan)

    def test_without_teardown_missing_values_still_fail(self) -> None:
        problems = problems_of(TEARDOWN_FILE)
        assert any("no value 'port' was given" in problem for problem in problems)
        assert any("no secret 'token' was given" in problem for problem in problems)

    @pytest.mark.parametrize(
        "args",
        [
            "image: busybox\nscaling: pt.value replicas\n",
            "image: busybox\nservices: pt.value services\n",
            "image: busybox\nmounts: [{source: pt.value source, path: /data}]\n",
            "image: busybox\nrestart: {policy: pt.value policy}\n",
            "image: busybox\nresources: {memory: {limit: pt.value memory}}\n",
            "image: pt.value image\nworkdir: '{pt.value dir}'\n",
            "image: busybox\nservices: [{id: web, ports: [{port: '{pt.value port}', protocol: tcp}]}]\n",
            "image: busybox\nenv: {A: pt.secret a, B: '{pt.value b}'}\n",
        ],
    )
    def test_every_type_accepts_a_placeholder(self, args: str) -> None:
        plan = plan_of(container_file(args), teardown=True)
        assert step(plan, "app")["missing"]
        assert step(plan, "app")["id"] == "app"

    def test_a_missing_value_through_template_params(self) -> None:
        plan = plan_of(
            """
            modules:
              - id: app
                module: polytope/container
                params: [{id: port, type: int}]
                args: {image: busybox, services: [{id: app, ports: [{port: pt.param port, protocol: tcp}]}]}
            templates:
              - id: inner
                params: [{id: port, type: int}]
                run: [{module: app, args: {port: pt.param port}}]
              - id: tpl
                run: [{template: inner, args: {port: pt.value port}}]
            """,
            teardown=True,
        )
        assert identities(plan) == [("app", "app", "container", "tpl")]
        assert step(plan, "app")["missing"] == ["pt.value port"]

    def test_a_container_id_from_a_missing_value_fails(self) -> None:
        problems = problems_of(
            """
            modules:
              - {id: app, module: polytope/container, args: {image: busybox}}
            templates:
              - id: tpl
                run:
                  - {module: app, args: {id: pt.value name}}
                  - {module: app, id: other, args: {id: 'db-{pt.secret suffix}'}}
            """,
            teardown=True,
        )
        assert problems == [
            "template 'tpl', step 'app': its container id comes from pt.value name, which was not given; "
            "the teardown needs it to find the step's containers",
            "template 'tpl', step 'other': its container id comes from pt.secret suffix, which was not given; "
            "the teardown needs it to find the step's containers",
        ]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("templates:\n  - {id: other, run: [polytope/container]}\n", "unknown template or tool 'tpl'"),
            (
                "templates:\n  - {id: tpl, run: [{module: nowhere, args: {a: pt.value a}}]}\n",
                "unknown module 'nowhere'",
            ),
            (
                "modules:\n  - {id: a, module: b, args: {x: pt.secret x}}\n  - {id: b, module: a}\n"
                "templates:\n  - {id: tpl, run: [a]}\n",
                "reference cycle: a -> b -> a",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, cmd: pt.value c}}\n"
                "templates:\n  - id: tpl\n    run:\n      - {module: app, id: x, run-when: {after: y}}\n"
                "      - {module: app, id: y, args: {id: y}, run-when: {after: x}}\n",
                "reference cycle in run-when",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, env: {A: pt.secret a}}}\n"
                "templates:\n  - {id: tpl, run: [app, app]}\n",
                "duplicate step id 'app'",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, env: {A: pt.secret a}}}\n"
                "templates:\n  - {id: tpl, run: [{module: app, id: a, args: {id: same}}, {module: app, id: b, args: {id: same}}]}\n",
                "both run container id 'same'",
            ),
            (
                "modules:\n  - id: app\n    module: polytope/container\n    params: [{id: port, type: int}]\n"
                "    args: {image: busybox, cmd: pt.value c}\n"
                "templates:\n  - {id: tpl, run: [{module: app, args: {port: eighty}}]}\n",
                "expected an int",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, cmd: pt.param nope}}\n"
                "templates:\n  - {id: tpl, run: [app]}\n",
                "names undeclared param 'nope'",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, cmd: '#pt-js x', env: {A: pt.value a}}}\n"
                "templates:\n  - {id: tpl, run: [app]}\n",
                "JavaScript code: ReferenceError: x is not defined",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, user: pt.value u}}\n"
                "templates:\n  - {id: tpl, run: [{module: app, run-when: {after: ghost}}]}\n",
                "run-when names unknown step 'ghost'",
            ),
            (
                "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, size: pt.value s}}\n"
                "templates:\n  - {id: tpl, run: [app]}\n",
                "has no param 'size'",
            ),
            ("tools:\n  tpl: {run: [{id: s, code: 'pt.js 1'}]}\n", "is inline code"),
        ],
    )
    def test_structural_errors_still_fail(self, text: str, expected: str) -> None:
        problems = problems_of(text, teardown=True)
        assert any(expected in problem for problem in problems), problems
        assert not any("was given" in problem for problem in problems), problems

    def test_every_problem_at_once_and_no_secret_in_errors(self) -> None:
        problems = problems_of(
            "modules:\n  - {id: app, module: polytope/container, args: {image: busybox, user: pt.secret s, cmd: pt.value c}}\n"
            "templates:\n  - {id: tpl, run: [app, missing-module, {module: app, id: b, args: {id: '{pt.secret s}', tty: maybe}}]}\n",
            secrets={"s": "SENTINEL-err-77"},
            teardown=True,
        )
        assert len(problems) == 3, problems
        assert any("unknown module 'missing-module'" in problem for problem in problems)
        assert any("argument 'tty'" in problem for problem in problems)
        assert any("container id '********' is not a valid id" in problem for problem in problems)
        assert not any("SENTINEL-err-77" in problem for problem in problems)

    def test_library_modules_get_placeholders(self, monkeypatch: pytest.MonkeyPatch) -> None:
        install_library(monkeypatch, fake_library)
        try:
            plan = plan_of(
                "modules:\n  - {id: api, module: polytope/python, args: {code: pt.value code, cmd: '{pt.secret c}'}}\n"
                "templates:\n  - {id: tpl, run: [api]}\n",
                teardown=True,
            )
            assert identities(plan) == [("api", "api", "container", "tpl")]
            assert step(plan, "api")["missing"] == ["pt.secret c", "pt.value code"]
        finally:
            language_library._reset_library_cache()


# ------------------------------------------------------------------------------------------------
# The template role's failure reports


class TestMaskSecrets:
    def test_every_secret_in_every_string(self) -> None:
        result = {
            "msg": "The container exited with a nonzero exit code.",
            "exit_code": 7,
            "exit_codes": [7],
            "logs": ["token is s3cr3t-x", "dsn postgres://me:pw-1@db", "failing now"],
            "invocation": {"module_args": {"cmd": "run --token=s3cr3t-x", "env": {"PW": "pw-1"}}},
        }
        shown = mask_secrets(result, {"token": "s3cr3t-x", "pw": "pw-1", "unused": None})
        assert shown == {
            "msg": "The container exited with a nonzero exit code.",
            "exit_code": 7,
            "exit_codes": [7],
            "logs": ["token is ********", "dsn postgres://me:********@db", "failing now"],
            "invocation": {"module_args": {"cmd": "run --token=********", "env": {"PW": "********"}}},
        }
        assert result["logs"][0] == "token is s3cr3t-x"  # a copy

    def test_longer_secrets_first_and_keys(self) -> None:
        shown = mask_secrets({"abc-key": "abcdef and abc"}, ["abc", "abcdef"])
        assert shown == {"********-key": "******** and ********"}

    def test_scalars_empty_and_non_string_secrets(self) -> None:
        assert mask_secrets({"code": 3, "ok": True, "text": "port 4242"}, {"p": 4242, "e": ""}) == {
            "code": 3,
            "ok": True,
            "text": "port ********",
        }
        assert mask_secrets("nothing", {}) == "nothing"
        assert mask_secrets("x", None) == "x"


# ------------------------------------------------------------------------------------------------
# Untrusted code: runaways and escapes end as clear problems naming the module and the argument

RUNAWAYS = [
    ("'#pt-clj (loop [] (recur))'", "Clojure code:", "time"),
    ("'#pt-clj ((fn f [n] (f (inc n))) 0)'", "Clojure code:", "depth"),
    ("'#pt-clj (vec (range 10000000))'", "Clojure code:", "limit"),
    ("'#pt-clj (slurp \"/etc/passwd\")'", "Clojure code:", "slurp"),
    ("'#pt-clj (System/exit 0)'", "Clojure code:", "System/exit"),
    ("'#pt-clj (eval (quote (+ 1 2)))'", "Clojure code:", "eval"),
    ("'#pt-js while (true) {}'", "JavaScript code:", "time"),
    ("'#pt-js function f(n) { return f(n + 1) } f(0)'", "JavaScript code:", "recursion"),
    ("'#pt-js Array(10000000).fill(1)'", "JavaScript code:", "limit"),
    ("'#pt-js require(\"fs\")'", "JavaScript code:", "require"),
    ("'#pt-js process.exit()'", "JavaScript code:", "process"),
    ("'#pt-js this.constructor.constructor(\"return process\")()'", "JavaScript code:", "process"),
]


@pytest.mark.parametrize(("cmd", "language", "named"), RUNAWAYS, ids=[case[0][:40] for case in RUNAWAYS])
def test_runaway_and_escaping_code_is_a_clear_problem(cmd: str, language: str, named: str) -> None:
    if "JavaScript" in language:
        pytest.importorskip("py_mini_racer", reason="JavaScript code strings need mini-racer")
    problem = one_problem(container_file(f"image: busybox\ncmd: {cmd}\n"))
    assert problem.startswith(f"template 'tpl', step 'app', module 'app', argument 'cmd': {language}"), problem
    assert named in problem, problem


def test_both_spellings_of_a_nested_card_key_are_a_problem() -> None:
    problem = one_problem(
        container_file("image: busybox\nrestart: {policy: on-failure, max-restarts: 5, max_restarts: 1}\n")
    )
    assert problem.endswith(
        "argument 'restart.max_restarts' of module 'polytope/container': key 'max-restarts' given twice (with - and _)"
    )
