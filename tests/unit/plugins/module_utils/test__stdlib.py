# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polytope's standard library: parameters in, container (or build-image) arguments out."""

from __future__ import annotations

import json
import shutil
import subprocess
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.polytope.core.plugins.module_utils._stdlib import (
    BUILD_IMAGE_REF,
    CONTAINER_REF,
    MODULES,
    PRIMITIVES,
    UNAVAILABLE,
    LibraryModule,
    StdlibError,
    all_refs,
    canonical_ref,
    expand_library,
    lookup,
    resolve_defaults,
    unavailable_message,
    unavailable_reason,
)

CONTAINER_OPTIONS = {
    "image",
    "id",
    "cmd",
    "entrypoint",
    "mounts",
    "env",
    "workdir",
    "no_stdin",
    "tty",
    "services",
    "datasets",
    "user",
    "restart",
    "scaling",
    "update_image",
    "instance_type",
    "resources",
}

HOST = {"type": "host", "path": "./code"}
VOLUME = {"type": "volume", "scope": "project", "id": "data"}


def expand(ref: str, **args: Any) -> dict:
    """Expand to container arguments (hyphenated keyword names via a dict where needed)."""
    primitive, out = expand_library(ref, args)
    assert primitive == CONTAINER_REF
    return out


def expand_args(ref: str, args: dict) -> dict:
    primitive, out = expand_library(ref, args)
    assert primitive == CONTAINER_REF
    return out


def env_map(args: dict) -> dict:
    return {entry["name"]: entry.get("value") for entry in args.get("env") or ()}


def mount_paths(args: dict) -> list:
    return [mount["path"] for mount in args.get("mounts") or ()]


def sh(args: dict, key: str = "cmd") -> str:
    cmd = args[key]
    assert cmd[:2] == ["sh", "-c"] and len(cmd) == 3
    return cmd[2]


# --------------------------------------------------------------------------------------------------
# A small checker for Polytope's type language, to test the declarations against themselves.

ID = re.compile(r"^[a-z0-9_-]+$")


def _scalar(value: Any, name: str) -> bool:
    if name == "str":
        return isinstance(value, str)
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "bool":
        return isinstance(value, bool)
    if name == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name in ("id", "instance-type"):
        return isinstance(value, str) and bool(ID.match(value))
    if name == "docker-image":
        return isinstance(value, str) and bool(value)
    if name == "absolute-path":
        return isinstance(value, str) and value.startswith("/")
    if name == "mount-source":
        return isinstance(value, dict) and value.get("type") in ("host", "volume", "string", "dataset", "repo")
    if name == "env-var":
        return isinstance(value, dict) and isinstance(value.get("name"), str)
    if name == "service-spec":
        return isinstance(value, dict) and isinstance(value.get("id"), str) and isinstance(value.get("ports"), list)
    if name == "dataset-sink":
        return isinstance(value, (str, dict))
    raise AssertionError(f"unknown type name {name!r}")


def conforms(value: Any, ptype: Any) -> bool:
    if isinstance(ptype, str):
        return _scalar(value, ptype)
    if isinstance(ptype, dict):
        if not isinstance(value, dict) or set(value) - set(ptype):
            return False
        return all(conforms(value.get(key), sub) for key, sub in ptype.items())
    assert isinstance(ptype, list) and ptype, ptype
    head = ptype[0]
    if len(ptype) == 1:
        return isinstance(value, list) and all(conforms(item, head) for item in value)
    if head in ("maybe", "default"):
        return value is None or conforms(value, ptype[1])
    if head == "either":
        return any(conforms(value, alt) for alt in ptype[1:])
    if head == "enum":
        return value in ptype[1:]
    if head == "map":
        return isinstance(value, dict) and all(
            conforms(k, ptype[1]) and conforms(v, ptype[2]) for k, v in value.items()
        )
    raise AssertionError(f"unknown type form {ptype!r}")


SCALARS = {
    "str",
    "int",
    "bool",
    "num",
    "id",
    "instance-type",
    "docker-image",
    "absolute-path",
    "mount-source",
    "env-var",
    "service-spec",
    "dataset-sink",
}


def assert_type_form(ptype: Any) -> None:
    """The type is written in Polytope's type language (as far as this library uses it)."""
    if isinstance(ptype, str):
        assert ptype in SCALARS, ptype
    elif isinstance(ptype, dict):
        for sub in ptype.values():
            assert_type_form(sub)
    else:
        assert isinstance(ptype, list) and ptype, ptype
        head = ptype[0]
        if len(ptype) == 1:
            assert_type_form(head)
        elif head == "maybe":
            assert len(ptype) == 2
            assert_type_form(ptype[1])
        elif head == "default":
            assert len(ptype) == 3
            assert_type_form(ptype[1])
        elif head == "either":
            for alt in ptype[1:]:
                assert_type_form(alt)
        elif head == "enum":
            assert all(isinstance(item, str) for item in ptype[1:])
        elif head == "map":
            assert len(ptype) == 3
            assert_type_form(ptype[1])
            assert_type_form(ptype[2])
        else:
            raise AssertionError(f"unknown type form {ptype!r}")


def test_type_checker_itself():
    assert conforms(None, ["maybe", "int"])
    assert not conforms("x", ["maybe", "int"])
    assert conforms([None, "a"], [["maybe", "str"]])
    assert conforms({"policy": "always"}, {"policy": ["enum", "always"], "max-restarts": ["maybe", "int"]})
    assert not conforms({"policy": "never"}, {"policy": ["enum", "always"]})
    assert conforms({"a": "b"}, ["map", "str", "str"])
    assert not conforms(True, "int")


# --------------------------------------------------------------------------------------------------
# The registry

EXPECTED_REFS = [
    "polytope/python",
    "polytope/python!simple",
    "polytope/node",
    "polytope/postgres",
    "polytope/postgres!simple",
    "polytope/postgres!psql",
    "polytope/couchbase",
    "polytope/couchbase!cli",
    "polytope/couchbase!init-cluster",
    "polytope/couchbase!create-bucket",
    "polytope/couchbase!cbq",
    "polytope/kong",
    "polytope/kong!simple",
    "polytope/redpanda",
    "polytope/redpanda!console",
    "polytope/redpanda!connect",
    "polytope/kafka",
    "polytope/kafka!connect",
    "polytope/kafka!schema-registry",
    "polytope/kafka!control-center",
    "polytope/kafka!create-connectors",
    "polytope/kafka!kcat",
    "polytope/curity",
    "polytope/ngrok",
    "polytope/ngrok!http",
    "polytope/mailpit",
    "polytope/nginx",
    "polytope/redis",
    "polytope/redis!insight",
    "polytope/caddy",
    "polytope/jupyter",
    "polytope/tensorboard",
    "polytope/hello-world",
    "polytope/pulumi-cli",
    "polytope/create-project",
    "polytope/build-image",
]


def test_every_module_of_the_issue_is_there_in_order_of_use():
    assert all_refs() == EXPECTED_REFS
    for ref in EXPECTED_REFS:
        module = lookup(ref)
        assert isinstance(module, LibraryModule) and module.ref == ref


@pytest.mark.parametrize(
    "alias, ref",
    [
        ("polytope/python!python", "polytope/python"),
        ("polytope/kafka!kafka-kraft", "polytope/kafka"),
        ("polytope/curity!idsvr", "polytope/curity"),
        ("polytope/postgres!postgres", "polytope/postgres"),
        ("polytope/node!node", "polytope/node"),
        ("polytope/build-image!build-image", "polytope/build-image"),
    ],
)
def test_the_default_variant_has_two_spellings(alias, ref):
    assert canonical_ref(alias) == ref
    assert lookup(alias) is lookup(ref)


@pytest.mark.parametrize(
    "ref", ["polytope/container", "polytope/nope", "polytope/python!nope", "web-app", "", "polytope/repl"]
)
def test_lookup_of_what_is_not_a_library_module(ref):
    assert lookup(ref) is None


UNAVAILABLE_REFS = [
    "polytope/repl",
    "polytope/send-slack-message",
]


@pytest.mark.parametrize("ref", UNAVAILABLE_REFS)
def test_unavailable_modules_say_so_and_how_to_get_them(ref):
    assert ref in UNAVAILABLE
    assert lookup(ref) is None
    assert unavailable_reason(ref) == UNAVAILABLE[ref]
    message = unavailable_message(ref)
    assert "not available" in message and "polytope.yml" in message and ref in message
    with pytest.raises(StdlibError, match="not available"):
        expand_library(ref, {})


def test_unavailable_is_exactly_the_code_only_modules():
    assert sorted(UNAVAILABLE) == sorted(UNAVAILABLE_REFS)
    assert not set(UNAVAILABLE) & set(MODULES)
    assert "runner" in UNAVAILABLE["polytope/repl"]
    assert unavailable_reason("polytope/repl!repl") == UNAVAILABLE["polytope/repl"]
    assert unavailable_reason("polytope/python") is None
    assert unavailable_message("polytope/python") is None


@pytest.mark.parametrize("ref", EXPECTED_REFS)
def test_declarations_are_well_formed(ref):
    module = lookup(ref)
    assert module.info and "\n" not in module.info
    ids = [param["id"] for param in module.params]
    assert len(ids) == len(set(ids))
    for param in module.params:
        assert set(param) == {"id", "type", "info"}
        assert ID.match(param["id"])
        assert param["info"] and "\n" not in param["info"]
        ptype = param["type"]
        assert_type_form(ptype)
        if isinstance(ptype, list) and ptype[0] == "default":
            assert conforms(ptype[2], ptype[1]), (param["id"], ptype)
    assert module.base in PRIMITIVES or module.base in MODULES


def test_declarations_are_copies_that_callers_cannot_share_by_accident():
    a, b = lookup("polytope/python"), lookup("polytope/node")
    a_mounts = next(param for param in a.params if param["id"] == "mounts")
    b_mounts = next(param for param in b.params if param["id"] == "mounts")
    assert a_mounts["type"] == b_mounts["type"] and a_mounts["type"] is not b_mounts["type"]


SAMPLE_ARGS = {
    "polytope/python": {"code": HOST, "requirements": HOST, "cmd": "./bin/run"},
    "polytope/python!simple": {"code": HOST, "services": [{"id": "web", "port": 8000}]},
    "polytope/node": {"code": HOST, "package": HOST, "cmd": ["npm", "start"]},
    "polytope/postgres": {"data-volume": VOLUME, "scripts": [HOST]},
    "polytope/postgres!simple": {"data-volume": VOLUME},
    "polytope/postgres!psql": {"hostname": "db", "database": "app", "username": "u", "password": "p"},
    "polytope/couchbase": {"data-volume": VOLUME},
    "polytope/couchbase!cli": {"cmd": "bucket-list -c couchbase", "retries": 3},
    "polytope/couchbase!init-cluster": {"password": "pw", "services": ["data", "index", "query", "fts"]},
    "polytope/couchbase!create-bucket": {"password": "pw", "name": "main", "replicas": 0, "flush": True},
    "polytope/couchbase!cbq": {"password": "pw", "script": "CREATE PRIMARY INDEX IF NOT EXISTS ON main;"},
    "polytope/kong": {},
    "polytope/kong!simple": {
        "config-file": HOST,
        "plugins": [{"name": "p", "version": "1.0", "package": "kong-p"}],
        "autoreload": True,
    },
    "polytope/redpanda": {},
    "polytope/redpanda!console": {"schema-registry-url": "http://redpanda:8081"},
    "polytope/redpanda!connect": {"config-file": HOST},
    "polytope/kafka": {"data-volume": VOLUME},
    "polytope/kafka!connect": {"connectors": ["a/b:1.0"]},
    "polytope/kafka!schema-registry": {},
    "polytope/kafka!control-center": {},
    "polytope/kafka!create-connectors": {"host": "kafka-connect", "connectors": [{"name": "c", "config": {"k": "v"}}]},
    "polytope/kafka!kcat": {},
    "polytope/curity": {"password": "pw"},
    "polytope/ngrok": {"cmd": ["http", "web:80"]},
    "polytope/ngrok!http": {"host": "web", "port": 80, "config-files": [HOST], "auth-token": "t"},
    "polytope/mailpit": {"data-volume": VOLUME},
    "polytope/nginx": {},
    "polytope/redis": {"data-volume": VOLUME, "append-only": True},
    "polytope/redis!insight": {"data-volume": VOLUME},
    "polytope/caddy": {"config": HOST, "site": HOST},
    "polytope/jupyter": {"requirements": HOST},
    "polytope/tensorboard": {"logs": HOST},
    "polytope/hello-world": {},
    "polytope/pulumi-cli": {"command": "pulumi preview"},
    "polytope/create-project": {"templates": HOST},
    "polytope/build-image": {"tags": ["app:1"], "sources": [{"source": HOST, "path": "/"}]},
}


def test_every_module_has_a_sample():
    assert sorted(SAMPLE_ARGS) == sorted(EXPECTED_REFS)


@pytest.mark.parametrize("ref", EXPECTED_REFS)
def test_one_step_output_fits_the_base(ref):
    """Arguments for a library base are that module's params and conform to their types; arguments
    for polytope/container are its options, with no None values."""
    module = lookup(ref)
    out = module.build(resolve_defaults(module, SAMPLE_ARGS[ref]))
    if module.base == CONTAINER_REF:
        assert set(out) <= CONTAINER_OPTIONS
        assert None not in out.values()
        assert isinstance(out["image"], str) and out["image"]
        json.dumps(out)  # plain data only
    elif module.base == BUILD_IMAGE_REF:
        assert set(out) <= {"tags", "sources", "context", "dockerfile", "labels", "target"}
    else:
        base = lookup(module.base)
        types = {param["id"]: param["type"] for param in base.params}
        assert set(out) <= set(types), set(out) - set(types)
        for key, value in out.items():
            assert conforms(value, types[key]), (key, value)
        # and the base expands it
        resolved = resolve_defaults(base, out)
        assert base.build(resolved)


@pytest.mark.parametrize("ref", EXPECTED_REFS)
def test_samples_expand_to_container_arguments_in_its_spelling(ref):
    primitive, out = expand_library(ref, SAMPLE_ARGS[ref])
    assert primitive in PRIMITIVES
    if primitive == CONTAINER_REF:
        text = json.dumps(out)
        assert "max-restarts" not in text and "expose-as" not in text
        for service in out.get("services") or ():
            for port in service["ports"]:
                assert "protocol" in port and ("port" in port or "range" in port)


def test_build_does_not_change_its_input():
    module = lookup("polytope/kong!simple")
    params = resolve_defaults(module, SAMPLE_ARGS["polytope/kong!simple"])
    before = json.dumps(params, sort_keys=True)
    module.build(params)
    assert json.dumps(params, sort_keys=True) == before


def test_resolve_defaults():
    module = lookup("polytope/postgres")
    resolved = resolve_defaults(module, {"scripts": [HOST]})
    assert resolved["image"] == "public.ecr.aws/docker/library/postgres:16.2"
    assert resolved["container-id"] == "postgres"
    assert resolved["data-volume"] is None
    assert resolved["scripts"] == [HOST]
    with pytest.raises(StdlibError, match="no parameter nope"):
        resolve_defaults(module, {"nope": 1})
    with pytest.raises(StdlibError, match="needs a value for its parameter hostname"):
        resolve_defaults(lookup("polytope/postgres!psql"), {})


def test_runs_to_completion_marks_the_jobs():
    jobs = {ref for ref, module in MODULES.items() if module.runs_to_completion}
    assert jobs == {
        "polytope/couchbase!cli",
        "polytope/couchbase!init-cluster",
        "polytope/couchbase!create-bucket",
        "polytope/couchbase!cbq",
        "polytope/kafka!create-connectors",
        "polytope/hello-world",
        "polytope/create-project",
        "polytope/build-image",
    }


# --------------------------------------------------------------------------------------------------
# python


def test_python_defaults_run_the_image_with_app_as_workdir():
    assert expand("polytope/python") == {
        "image": "public.ecr.aws/docker/library/python:3.12.2-slim-bookworm",
        "workdir": "/app",
    }


def test_python_code_and_command_without_requirements():
    out = expand("polytope/python", code=HOST, cmd="./bin/run", id="api")
    assert out["cmd"] == "./bin/run"
    assert out["mounts"] == [{"source": HOST, "path": "/app"}]
    assert out["id"] == "api" and out["workdir"] == "/app"


def test_python_list_command_without_requirements_is_passed_as_is():
    assert expand("polytope/python", cmd=["python", "-m", "http.server"])["cmd"] == ["python", "-m", "http.server"]


def test_python_requirements_are_mounted_and_installed_before_the_command():
    reqs = {"type": "host", "path": "./requirements.txt"}
    out = expand("polytope/python", code=HOST, requirements=reqs, cmd="./bin/run")
    assert out["mounts"] == [
        {"source": HOST, "path": "/app"},
        {"source": reqs, "path": "/requirements.txt"},
    ]
    assert sh(out) == "pip install -r /requirements.txt; ./bin/run"


def test_python_requirements_without_command_start_a_python_shell():
    out = expand("polytope/python", requirements=HOST)
    assert sh(out) == "pip install -r /requirements.txt; python"
    assert mount_paths(out) == ["/requirements.txt"]


def test_python_requirements_with_a_list_command_quote_each_word():
    out = expand("polytope/python", requirements=HOST, cmd=["python", "-c", "print('hi there')"])
    script = sh(out)
    assert script.startswith("pip install -r /requirements.txt; ")
    assert shlex.split(script.split("; ", 1)[1]) == ["python", "-c", "print('hi there')"]


def test_python_everything_else_is_passed_through_in_the_container_spelling():
    out = expand_args(
        "polytope/python",
        {
            "image": "polytope-test/python:3",
            "env": [{"name": "PORT", "value": 8000}, None, {"name": "DEBUG", "value": True}],
            "services": [{"id": "api", "ports": [{"port": 8000, "protocol": "http", "expose-as": 8080}]}],
            "mounts": [None, {"source": VOLUME, "path": "/root/.cache"}],
            "restart": {"policy": "on-failure", "max-restarts": 3},
        },
    )
    assert out["image"] == "polytope-test/python:3"
    assert out["env"] == [{"name": "PORT", "value": 8000}, {"name": "DEBUG", "value": True}]
    assert out["services"] == [{"id": "api", "ports": [{"port": 8000, "protocol": "http", "expose_as": 8080}]}]
    assert out["mounts"] == [{"source": VOLUME, "path": "/root/.cache"}]
    assert out["restart"] == {"policy": "on-failure", "max_restarts": 3}


def test_python_user_mounts_come_after_code_and_requirements():
    out = expand("polytope/python", code=HOST, requirements=HOST, mounts=[{"source": VOLUME, "path": "/data"}])
    assert mount_paths(out) == ["/app", "/requirements.txt", "/data"]


def test_python_restart_without_maximum():
    assert expand("polytope/python", restart={"policy": "always"})["restart"] == {"policy": "always"}
    out = expand_args("polytope/python", {"restart": {"policy": "always", "max-restarts": None}})
    assert out["restart"] == {"policy": "always"}


def test_python_simple():
    assert expand("polytope/python!simple") == {"image": "python:3.11", "update_image": False, "workdir": "/app"}
    out = expand(
        "polytope/python!simple",
        code=HOST,
        cmd="python app.py",
        env=[{"name": "A", "value": "1"}],
        services=[{"id": "web", "port": 8000}, {"id": "admin", "port": 9000}],
    )
    assert out["cmd"] == "python app.py"
    assert out["mounts"] == [{"source": HOST, "path": "/app"}]
    assert out["env"] == [{"name": "A", "value": "1"}]
    assert out["services"] == [
        {"id": "web", "ports": [{"port": 8000, "protocol": "http"}]},
        {"id": "admin", "ports": [{"port": 9000, "protocol": "http"}]},
    ]
    assert expand("polytope/python!simple", image="polytope-test/python:3")["image"] == "polytope-test/python:3"


# --------------------------------------------------------------------------------------------------
# node


def test_node_defaults():
    assert expand("polytope/node") == {"image": "public.ecr.aws/docker/library/node:21.7.0-slim", "workdir": "/app"}


def test_node_without_package_passes_the_command():
    out = expand("polytope/node", code=HOST, cmd="./bin/run", id="frontend")
    assert out["cmd"] == "./bin/run" and out["id"] == "frontend"
    assert out["mounts"] == [{"source": HOST, "path": "/app"}]


def test_node_package_is_mounted_and_installed_before_the_command():
    pkg = {"type": "host", "path": "./package.json"}
    out = expand("polytope/node", code=HOST, package=pkg, cmd="./bin/run")
    assert out["mounts"] == [{"source": HOST, "path": "/app"}, {"source": pkg, "path": "/package.json"}]
    assert sh(out) == "npm install --prefix /; ./bin/run"


def test_node_package_without_command_starts_node():
    assert sh(expand("polytope/node", package=HOST)) == "npm install --prefix /; node"


def test_node_package_with_list_command():
    assert sh(expand("polytope/node", package=HOST, cmd=["npm", "run", "dev"])) == "npm install --prefix /; npm run dev"


def test_node_mounts_services_restart_env():
    out = expand_args(
        "polytope/node",
        {
            "mounts": [{"source": VOLUME, "path": "/app/node_modules/"}],
            "services": [{"id": "web", "ports": [{"port": 3000, "protocol": "http"}]}],
            "restart": {"policy": "always"},
            "env": [{"name": "PORT", "value": 3000}],
        },
    )
    assert mount_paths(out) == ["/app/node_modules/"]
    assert out["services"][0]["id"] == "web"
    assert out["restart"] == {"policy": "always"}
    assert env_map(out) == {"PORT": 3000}


# --------------------------------------------------------------------------------------------------
# postgres


def test_postgres_defaults():
    assert expand("polytope/postgres") == {
        "image": "public.ecr.aws/docker/library/postgres:16.2",
        "id": "postgres",
        "tty": True,
        "services": [{"id": "postgres", "ports": [{"port": 5432, "protocol": "tcp"}]}],
    }


def test_postgres_data_volume_and_one_script():
    script = {"type": "host", "path": "./conf/db.sql"}
    out = expand_args(
        "polytope/postgres",
        {"data-volume": VOLUME, "scripts": [script], "service-id": "curity-db", "container-id": "db"},
    )
    assert out["mounts"] == [
        {"source": VOLUME, "path": "/var/lib/postgresql/data"},
        {"source": script, "path": "/docker-entrypoint-initdb.d/data-backup.sql"},
    ]
    assert out["tty"] is False
    assert out["id"] == "db"
    assert out["services"] == [{"id": "curity-db", "ports": [{"port": 5432, "protocol": "tcp"}]}]


def test_postgres_several_scripts_get_one_file_each_in_order():
    scripts = [{"type": "host", "path": f"./{name}.sql"} for name in ("schema", "data", "more")]
    out = expand("polytope/postgres", scripts=scripts)
    assert out["mounts"] == [
        {"source": scripts[0], "path": "/docker-entrypoint-initdb.d/01-data-backup.sql"},
        {"source": scripts[1], "path": "/docker-entrypoint-initdb.d/02-data-backup.sql"},
        {"source": scripts[2], "path": "/docker-entrypoint-initdb.d/03-data-backup.sql"},
    ]


def test_postgres_empty_scripts_keep_the_tty():
    out = expand("polytope/postgres", scripts=[])
    assert out["tty"] is True and "mounts" not in out


def test_postgres_env_cmd_restart():
    out = expand(
        "polytope/postgres",
        env=[{"name": "POSTGRES_PASSWORD", "value": "pw"}],
        cmd=["postgres", None, "-c", "log_statement=all"],
        restart={"policy": "on-failure"},
    )
    assert env_map(out) == {"POSTGRES_PASSWORD": "pw"}
    assert out["cmd"] == ["postgres", "-c", "log_statement=all"]
    assert out["restart"] == {"policy": "on-failure"}


def test_postgres_simple():
    assert expand("polytope/postgres!simple") == {
        "image": "postgres:15.4",
        "id": "postgres",
        "env": [{"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"}],
        "tty": True,
        "services": [{"id": "postgres", "ports": [{"port": 5432, "protocol": "tcp"}]}],
    }
    out = expand_args(
        "polytope/postgres!simple",
        {"data-volume": VOLUME, "scripts": [HOST], "container-id": "pg", "restart": {"policy": "always"}},
    )
    assert mount_paths(out) == ["/var/lib/postgresql/data", "/docker-entrypoint-initdb.d/data-backup.sql"]
    assert out["tty"] is False and out["id"] == "pg" and out["restart"] == {"policy": "always"}


def test_psql_interactive_and_one_command():
    args = {"hostname": "db", "database": "app", "username": "me", "password": "s3cret"}
    out = expand_args("polytope/postgres!psql", args)
    assert out["cmd"] == ["psql", "--host=db", "--port=5432", "--username=me", "--dbname=app"]
    assert out["env"] == [{"name": "PGPASSWORD", "value": "s3cret", "secret": True}]
    assert out["id"] == "psql" and "services" not in out
    out = expand_args("polytope/postgres!psql", dict(args, port=6543, command="select 1"))
    assert out["cmd"][-1] == "--command=select 1"
    assert "--port=6543" in out["cmd"]


# --------------------------------------------------------------------------------------------------
# couchbase


def test_couchbase_defaults_expose_every_port():
    out = expand("polytope/couchbase")
    assert out["image"] == "public.ecr.aws/docker/library/couchbase:community-7.2.4"
    assert out["id"] == "couchbase"
    (service,) = out["services"]
    assert service["id"] == "couchbase"
    ports = {port.get("port") or port.get("range"): port for port in service["ports"]}
    assert ports[8091] == {"port": 8091, "protocol": "http", "label": "http"}
    assert ports["9100-9105"] == {"range": "9100-9105", "protocol": "tcp", "label": "indexer", "internal": True}
    assert ports[18091]["protocol"] == "https"
    assert len(service["ports"]) == 27
    assert "mounts" not in out and "cmd" not in out


def test_couchbase_volume_mounts_cmd_services():
    out = expand_args(
        "polytope/couchbase",
        {
            "data-volume": VOLUME,
            "mounts": [{"source": HOST, "path": "/init"}],
            "cmd": ["couchbase-server", None],
            "services": [{"id": "cb", "ports": [{"port": 8091, "protocol": "http"}]}],
            "restart": {"policy": "always"},
            "id": "cb",
        },
    )
    assert mount_paths(out) == ["/opt/couchbase/var", "/init"]
    assert out["cmd"] == ["couchbase-server"]
    assert out["services"] == [{"id": "cb", "ports": [{"port": 8091, "protocol": "http"}]}]
    assert out["id"] == "cb" and out["restart"] == {"policy": "always"}


def test_couchbase_cli():
    out = expand("polytope/couchbase!cli", cmd="bucket-list -c couchbase -u 'the admin'")
    assert out["cmd"] == ["couchbase-cli", "bucket-list", "-c", "couchbase", "-u", "the admin"]
    assert out["id"] == "couchbase-cli"
    assert out["services"] == []
    assert "restart" not in out
    out = expand("polytope/couchbase!cli", cmd=["server-list", None, "-c", "couchbase"], retries=5)
    assert out["cmd"] == ["couchbase-cli", "server-list", "-c", "couchbase"]
    assert out["restart"] == {"policy": "on-failure", "max_restarts": 5}


CB_CREDENTIALS = {"cluster": "couchbase:8091", "username": "admin", "password": "password"}


def test_couchbase_init_cluster_defaults():
    out = expand("polytope/couchbase!init-cluster", password="pw")
    assert out["image"] == "public.ecr.aws/docker/library/couchbase:community-7.2.4"
    assert out["id"] == "couchbase-init-cluster"
    assert out["services"] == []
    assert "mounts" not in out and "restart" not in out
    assert env_map(out) == {"CB_CLUSTER": "couchbase:8091", "CB_USERNAME": "admin", "CB_PASSWORD": "pw"}
    assert [entry["name"] for entry in out["env"] if entry.get("secret")] == ["CB_PASSWORD"]
    script = sh(out)
    assert "pw" not in script
    assert "couchbase-cli server-list" in script
    assert "couchbase-cli cluster-init" in script
    assert "--services data,index,query --cluster-ramsize 512 --cluster-index-ramsize 256" in script
    assert "fts-ramsize" not in script and "--cluster-name" not in script
    assert '"$tries" -gt 10' in script and "sleep 3" in script


def test_couchbase_init_cluster_as_a_real_file_calls_it():
    args = dict(CB_CREDENTIALS, image="example/couchbase:enterprise-7.6.1", retries=20)
    args["services"] = ["data", "index", "query", "fts", "eventing"]
    out = expand_args("polytope/couchbase!init-cluster", args)
    assert out["image"] == "example/couchbase:enterprise-7.6.1"
    script = sh(out)
    assert "--services data,index,query,fts,eventing" in script
    assert "--cluster-fts-ramsize 256 --cluster-eventing-ramsize 256" in script
    assert "analytics-ramsize" not in script
    assert '"$tries" -gt 20' in script


def test_couchbase_init_cluster_refuses_no_or_unknown_services():
    with pytest.raises(StdlibError, match="at least one service"):
        expand("polytope/couchbase!init-cluster", password="pw", services=[])
    with pytest.raises(StdlibError, match="unknown Couchbase service kv"):
        expand("polytope/couchbase!init-cluster", password="pw", services=["data", "kv"])


def test_couchbase_create_bucket_defaults():
    out = expand("polytope/couchbase!create-bucket", password="pw", name="main")
    assert out["image"] == "public.ecr.aws/docker/library/couchbase:community-7.2.4"
    assert out["id"] == "couchbase-create-bucket"
    assert out["services"] == []
    assert env_map(out)["CB_BUCKET"] == "main"
    script = sh(out)
    assert 'couchbase-cli bucket-list -c "$CB_CLUSTER"' in script and 'grep -qxF "$CB_BUCKET"' in script
    assert "couchbase-cli bucket-create" in script
    assert "--bucket-type couchbase --bucket-ramsize 256 --wait" in script
    assert "--bucket-replica" not in script and "--enable-flush" not in script


def test_couchbase_create_bucket_as_a_real_file_calls_it():
    args = dict(CB_CREDENTIALS, image="example/couchbase:enterprise-7.6.1", name="cillers", retries=20)
    out = expand_args("polytope/couchbase!create-bucket", args)
    assert out["image"] == "example/couchbase:enterprise-7.6.1"
    assert env_map(out) == {
        "CB_CLUSTER": "couchbase:8091",
        "CB_USERNAME": "admin",
        "CB_PASSWORD": "password",
        "CB_BUCKET": "cillers",
    }
    assert '"$tries" -gt 20' in sh(out)
    out = expand_args(
        "polytope/couchbase!create-bucket",
        dict(CB_CREDENTIALS, name="e", type="ephemeral", **{"ram-quota": 128, "replicas": 1, "flush": True}),
    )
    assert "--bucket-type ephemeral --bucket-ramsize 128 --bucket-replica 1 --enable-flush 1 --wait" in sh(out)


def test_couchbase_cbq_defaults():
    out = expand("polytope/couchbase!cbq", password="pw", script="SELECT 1;")
    assert out["image"] == "public.ecr.aws/docker/library/couchbase:community-7.2.4"
    assert out["id"] == "couchbase-cbq"
    assert out["services"] == []
    env = env_map(out)
    assert env["CB_ENGINE"] == "http://couchbase:8091"
    assert env["CB_SCRIPT"] == "SELECT 1;"
    script = sh(out)
    assert "SELECT" not in script and "pw" not in script
    assert 'cbq -q -e "$CB_ENGINE" -u "$CB_USERNAME" -p "$CB_PASSWORD" --exit-on-error -f "$statements"' in script


@pytest.mark.parametrize(
    "cluster, engine",
    [
        ("couchbase", "http://couchbase:8091"),
        ("couchbase:8093", "http://couchbase:8093"),
        ("couchbase://couchbase", "couchbase://couchbase"),
    ],
)
def test_couchbase_cbq_engine(cluster, engine):
    out = expand("polytope/couchbase!cbq", password="pw", script="SELECT 1;", cluster=cluster)
    assert env_map(out)["CB_ENGINE"] == engine


def test_couchbase_cbq_as_a_real_file_calls_it():
    statements = (
        "CREATE COLLECTION main._default.items IF NOT EXISTS;\n" "CREATE PRIMARY INDEX IF NOT EXISTS ON main;\n"
    )
    args = dict(CB_CREDENTIALS, cluster="couchbase", image="example/couchbase:7.6.1", script=statements, retries=20)
    out = expand_args("polytope/couchbase!cbq", args)
    assert out["image"] == "example/couchbase:7.6.1"
    assert env_map(out)["CB_SCRIPT"] == statements
    assert '"$tries" -gt 20' in sh(out)


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell here")
def test_couchbase_retry_loop_runs(tmp_path):
    """The generated loop, with stand-ins for couchbase-cli: retried as often as asked, then it gives up."""
    out = expand_args("polytope/couchbase!create-bucket", dict(CB_CREDENTIALS, name="main", retries=2))
    script = sh(out).replace("sleep 3", "true")
    fake = tmp_path / "couchbase-cli"
    fake.write_text('#!/bin/sh\necho "$1" >> "$CALLS"\n[ "$1" = bucket-create ] && [ -e "$OK" ]\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls"), "OK": str(tmp_path / "ok")}
    env.update(env_map(out))
    failed = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "failed after 3 attempts" in failed.stdout
    assert (tmp_path / "calls").read_text().split() == ["bucket-list", "bucket-create"] * 3
    (tmp_path / "ok").touch()
    (tmp_path / "calls").unlink()
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert (tmp_path / "calls").read_text().split() == ["bucket-list", "bucket-create"]


# --------------------------------------------------------------------------------------------------
# kong


def test_kong_defaults_and_passthrough():
    assert expand("polytope/kong") == {"image": "public.ecr.aws/docker/library/kong:3.6.1", "id": "kong"}
    out = expand(
        "polytope/kong",
        cmd="kong start",
        env=[{"name": "KONG_DATABASE", "value": "off"}],
        mounts=[{"source": HOST, "path": "/kong"}],
        user="kong",
        services=[{"id": "kong", "ports": [{"port": 8000, "protocol": "http"}]}],
    )
    assert out["cmd"] == "kong start" and out["user"] == "kong"
    assert mount_paths(out) == ["/kong"]


KONG_CONFIG = {"type": "host", "path": "./conf/kong.yml"}


def test_kong_simple_defaults_run_the_image_command():
    out = expand_args("polytope/kong!simple", {"config-file": KONG_CONFIG})
    assert out["image"] == "public.ecr.aws/docker/library/kong:3.6.1"
    assert out["id"] == "kong"
    assert "cmd" not in out and "user" not in out
    assert env_map(out) == {
        "KONG_DATABASE": "off",
        "KONG_DECLARATIVE_CONFIG": "/usr/local/kong/declarative/kong.yml",
        "KONG_LOG_LEVEL": "info",
        "KONG_PLUGINS": "bundled",
        "KONG_PROXY_LISTEN": "0.0.0.0:3000",
    }
    assert out["mounts"] == [{"source": KONG_CONFIG, "path": "/usr/local/kong/declarative/kong.yml"}]
    assert out["services"] == [{"id": "kong", "ports": [{"port": 3000, "protocol": "http"}]}]


PLUGINS = [
    {"name": "oauth-proxy", "package": "kong-oauth-proxy", "version": "1.3.0"},
    {"name": "phantom-token", "package": "kong-phantom-token", "version": "2.0.0"},
]


def test_kong_simple_plugins_are_installed_as_root_then_kong_starts():
    out = expand_args("polytope/kong!simple", {"config-file": KONG_CONFIG, "plugins": PLUGINS, "port": 8000})
    assert out["user"] == 0
    script = sh(out)
    first, last = script.split("\n")
    assert "luarocks install kong-oauth-proxy 1.3.0" in first
    assert "luarocks install kong-phantom-token 2.0.0" in first
    assert "chmod a+w /dev/stdout /dev/stderr" in first
    assert last == "exec /docker-entrypoint.sh kong docker-start"
    env = env_map(out)
    assert env["KONG_PLUGINS"] == "bundled,oauth-proxy,phantom-token"
    assert env["KONG_PROXY_LISTEN"] == "0.0.0.0:8000"


def test_kong_simple_autoreload_without_plugins_watches_the_config():
    out = expand_args("polytope/kong!simple", {"config-file": KONG_CONFIG, "autoreload": True})
    assert "user" not in out
    script = sh(out)
    assert "luarocks" not in script
    assert 'stat -c %Y "$conf"' in script and "conf=/usr/local/kong/declarative/kong.yml" in script
    assert "/docker-entrypoint.sh kong docker-start &" in script
    assert "while sleep 1; do" in script


def test_kong_simple_plugins_and_autoreload():
    out = expand_args("polytope/kong!simple", {"config-file": KONG_CONFIG, "plugins": PLUGINS, "autoreload": True})
    script = sh(out)
    assert script.index("luarocks install") < script.index("while sleep 1")
    assert "exec /docker-entrypoint.sh" not in script


def test_kong_simple_user_env_wins_without_duplicates_and_image_log_level_services():
    out = expand_args(
        "polytope/kong!simple",
        {
            "config-file": KONG_CONFIG,
            "image": "gcr.io/x/kong:3.6.1",
            "log-level": "debug",
            "env": [
                {"name": "KONG_PROXY_LISTEN", "value": "0.0.0.0:8000"},
                {"name": "KONG_ADMIN_LISTEN", "value": "0.0.0.0:8001"},
            ],
            "services": [{"id": "kong", "ports": [{"port": 8000, "protocol": "http", "expose-as": 8080}]}],
        },
    )
    names = [entry["name"] for entry in out["env"]]
    assert len(names) == len(set(names))
    env = env_map(out)
    assert env["KONG_PROXY_LISTEN"] == "0.0.0.0:8000" and env["KONG_ADMIN_LISTEN"] == "0.0.0.0:8001"
    assert names.index("KONG_PROXY_LISTEN") < names.index("KONG_ADMIN_LISTEN")
    assert env["KONG_LOG_LEVEL"] == "debug"
    assert out["image"] == "gcr.io/x/kong:3.6.1"
    assert out["services"] == [{"id": "kong", "ports": [{"port": 8000, "protocol": "http", "expose_as": 8080}]}]


# --------------------------------------------------------------------------------------------------
# redpanda


def test_redpanda_defaults():
    out = expand("polytope/redpanda")
    assert out["id"] == "redpanda"
    assert out["image"] == "docker.redpanda.com/redpandadata/redpanda:v23.3.11"
    assert out["restart"] == {"policy": "always"}
    assert out["cmd"][:2] == ["redpanda", "start"]
    assert "--advertise-kafka-addr=redpanda:9092" in out["cmd"]
    assert out["cmd"][-1] == "--default-log-level=info"
    assert "mounts" not in out
    ports = out["services"][0]["ports"]
    assert [(p["port"], p["protocol"], p["label"]) for p in ports] == [
        (9092, "tcp", "kafka"),
        (8082, "http", "pandaproxy"),
        (8081, "http", "schema-registry"),
        (9644, "http", "admin-api"),
        (33145, "tcp", "rpc"),
    ]


def test_redpanda_volume_log_level_restart():
    out = expand_args(
        "polytope/redpanda",
        {"data-volume": VOLUME, "log-level": "debug", "restart": {"policy": "on-failure", "max-restarts": 2}},
    )
    assert out["mounts"] == [{"source": VOLUME, "path": "/var/lib/redpanda/data"}]
    assert out["cmd"][-1] == "--default-log-level=debug"
    assert out["restart"] == {"policy": "on-failure", "max_restarts": 2}
    out = expand_args("polytope/redpanda", {"root-log-level": "warn"})
    assert out["cmd"][-1] == "--default-log-level=warn"


def test_redpanda_console_defaults():
    out = expand("polytope/redpanda!console")
    assert out["id"] == "redpanda-console"
    assert out["env"] == [{"name": "CONFIG_FILEPATH", "value": "/etc/redpanda-console-config.yaml"}]
    (mount,) = out["mounts"]
    assert mount["path"] == "/etc/redpanda-console-config.yaml"
    assert mount["source"]["type"] == "string"
    assert mount["source"]["data"] == (
        'kafka:\n  brokers: ["redpanda:9092"]\nserver:\n  listenPort: 8079\nlogger:\n  level: info\n'
    )
    assert out["services"] == [{"id": "redpanda-console", "ports": [{"port": 8079, "protocol": "http"}]}]
    assert out["restart"] == {"policy": "always"}


def test_redpanda_console_with_everything():
    out = expand_args(
        "polytope/redpanda!console",
        {
            "brokers": [{"host": "a", "port": 1}, {"host": "b", "port": 2}],
            "schema-registry-url": "http://redpanda:8081",
            "admin-url": "http://redpanda:9644",
            "port": 8080,
            "log-level": "warn",
            "container-id": "console",
        },
    )
    data = out["mounts"][0]["source"]["data"]
    assert 'brokers: ["a:1", "b:2"]' in data
    assert '  schemaRegistry:\n    enabled: true\n    urls: ["http://redpanda:8081"]\n' in data
    assert data.index("schemaRegistry") < data.index("server:")
    assert 'redpanda:\n  adminApi:\n    enabled: true\n    urls: ["http://redpanda:9644"]\n' in data
    assert "listenPort: 8080" in data and "level: warn" in data
    assert out["services"][0]["ports"] == [{"port": 8080, "protocol": "http"}]
    assert out["id"] == "console"


def test_redpanda_connect():
    out = expand_args("polytope/redpanda!connect", {"config-file": HOST})
    assert out == {
        "image": "docker.redpanda.com/redpandadata/connect",
        "id": "redpanda-connect",
        "mounts": [{"source": HOST, "path": "/connect.yaml"}],
        "restart": {"policy": "always"},
        "services": [{"id": "redpanda-connect", "ports": [{"port": 4195, "protocol": "http"}]}],
    }


# --------------------------------------------------------------------------------------------------
# kafka


def test_kafka_kraft_defaults():
    out = expand("polytope/kafka")
    assert out["id"] == "kafka" and out["image"] == "confluentinc/cp-kafka:7.5.1"
    assert out["restart"] == {"policy": "always"}
    env = env_map(out)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:29092,PLAINTEXT_HOST://kafka:9092"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:29093"
    assert env["KAFKA_LOG4J_ROOT_LOGLEVEL"] == "INFO"
    assert "kafka.controller=INFO" in env["KAFKA_LOG4J_LOGGERS"].split(",")
    assert out["services"] == [{"id": "kafka", "ports": [{"port": 9092, "protocol": "tcp"}]}]
    assert "mounts" not in out


def test_kafka_kraft_log_level_volume_env():
    out = expand_args(
        "polytope/kafka",
        {
            "root-log-level": "WARN",
            "data-volume": VOLUME,
            "kafka-env": [{"name": "KAFKA_NODE_ID", "value": "7"}, {"name": "EXTRA", "value": "x"}],
        },
    )
    env = env_map(out)
    assert env["KAFKA_LOG4J_ROOT_LOGLEVEL"] == "WARN" and env["KAFKA_LOG4J_LOGGER_KAFKA"] == "WARN"
    assert all(item.endswith("=WARN") for item in env["KAFKA_LOG4J_LOGGERS"].split(","))
    assert env["KAFKA_NODE_ID"] == "7" and env["EXTRA"] == "x"
    assert out["mounts"] == [{"source": VOLUME, "path": "/var/lib/kafka/data"}]


def test_kafka_connect_installs_connectors_then_runs():
    out = expand("polytope/kafka!connect", connectors=["couchbase/kafka-connect-couchbase:4.1.13", "a/b:1"])
    assert sh(out) == (
        "confluent-hub install --no-prompt couchbase/kafka-connect-couchbase:4.1.13"
        " && confluent-hub install --no-prompt a/b:1 && /etc/confluent/docker/run"
    )
    assert out["id"] == "kafka-connect-container"
    env = env_map(out)
    assert env["CONNECT_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR"] == "1"
    assert env["CONNECT_REST_PORT"] == "8083"
    assert env["CONNECT_REST_ADVERTISED_HOST_NAME"] == "kafka-connect"
    assert env["CONNECT_KEY_CONVERTER"] == "org.apache.kafka.connect.json.JsonConverter"
    assert out["services"] == [{"id": "kafka-connect", "ports": [{"port": 8083, "protocol": "http"}]}]
    assert "restart" not in out and "mounts" not in out


def test_kafka_connect_without_connectors_runs_the_image_command():
    out = expand("polytope/kafka!connect", connectors=[])
    assert "cmd" not in out


def test_kafka_connect_everything():
    out = expand_args(
        "polytope/kafka!connect",
        {
            "connectors": ["x:1"],
            "bootstrap-servers": [{"host": "redpanda", "port": 9092}, {"host": "r2", "port": 9093}],
            "data-volume": VOLUME,
            "port": 8084,
            "group-id": "g",
            "root-log-level": "WARN",
            "env": [{"name": "CONNECT_GROUP_ID", "value": "h"}],
            "restart": {"policy": "always"},
            "container-id": "kafka-connect",
        },
    )
    env = env_map(out)
    assert env["CONNECT_BOOTSTRAP_SERVERS"] == "redpanda:9092,r2:9093"
    assert env["CONNECT_GROUP_ID"] == "h"
    assert env["CONNECT_LOG4J_ROOT_LOGLEVEL"] == "WARN"
    assert out["mounts"] == [{"source": VOLUME, "path": "/usr/share/confluent-hub-components"}]
    assert out["services"][0]["ports"] == [{"port": 8084, "protocol": "http"}]
    assert out["restart"] == {"policy": "always"} and out["id"] == "kafka-connect"


def test_schema_registry():
    out = expand("polytope/kafka!schema-registry")
    env = env_map(out)
    assert env["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["SCHEMA_REGISTRY_LISTENERS"] == "http://0.0.0.0:8081"
    assert env["SCHEMA_REGISTRY_KAFKASTORE_TOPIC"] == "_schemas"
    assert env["SCHEMA_REGISTRY_HOST_NAME"] == "schema-registry"
    assert out["id"] == "schema-registry-container"
    assert out["services"] == [{"id": "schema-registry", "ports": [{"port": 8081, "protocol": "http"}]}]
    assert out["restart"] == {"policy": "always"}
    out = expand_args("polytope/kafka!schema-registry", {"port": 8085, "root-log-level": "WARN", "topic": "s"})
    assert env_map(out)["SCHEMA_REGISTRY_LISTENERS"] == "http://0.0.0.0:8085"
    assert env_map(out)["SCHEMA_REGISTRY_LOG4J_ROOT_LOGLEVEL"] == "WARN"


def test_control_center():
    out = expand("polytope/kafka!control-center")
    env = env_map(out)
    assert "CONTROL_CENTER_SCHEMA_REGISTRY_URL" not in env
    assert "CONTROL_CENTER_CONNECT_CONNECT-DEFAULT_CLUSTER" not in env
    assert env["CONTROL_CENTER_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["CONTROL_CENTER_REPLICATION_FACTOR"] == "1"
    assert out["id"] == "control-center-container"
    assert out["services"] == [{"id": "control-center", "ports": [{"port": 9021, "protocol": "http"}]}]
    out = expand_args(
        "polytope/kafka!control-center",
        {
            "schema-registry-url": "http://schema-registry:8081",
            "connect-cluster-url": "kafka-connect:8083",
            "env": [{"name": "EMPTY", "value": None}],
        },
    )
    env = env_map(out)
    assert env["CONTROL_CENTER_SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert env["CONTROL_CENTER_CONNECT_CONNECT-DEFAULT_CLUSTER"] == "kafka-connect:8083"
    assert "EMPTY" in env  # the user's own entries are kept as given


def test_create_connectors():
    config = {
        "connector.class": "com.couchbase.connect.kafka.CouchbaseSinkConnector",
        "couchbase.document.id": "${/id}",
        "tasks.max": "2",
    }
    out = expand(
        "polytope/kafka!create-connectors", host="kafka-connect", connectors=[{"name": "sink", "config": config}]
    )
    assert out["image"] == "curlimages/curl" and out["id"] == "create-connectors"
    script = sh(out)
    assert "url=http://kafka-connect:8083/connectors" in script
    assert 'until curl -fs -o /dev/null "$url"; do' in script
    assert "submit sink <<'POLYTOPE_CONNECTOR_JSON'\n" + json.dumps(config) + "\nPOLYTOPE_CONNECTOR_JSON" in script
    assert '"$url/$1/config"' in script
    out = expand("polytope/kafka!create-connectors", host="c", port=9000, connectors=[{"name": "a b", "config": {}}])
    script = sh(out)
    assert "url=http://c:9000/connectors" in script and "submit a%20b <<" in script


def test_kcat():
    assert expand("polytope/kafka!kcat") == {
        "image": "confluentinc/cp-kcat:7.5.1",
        "id": "kcat",
        "entrypoint": "/bin/bash",
    }


# --------------------------------------------------------------------------------------------------
# curity


def test_curity_defaults():
    out = expand("polytope/curity", password="pw")
    assert out["image"] == "curity.azurecr.io/curity/idsvr:9.0.1-slim"
    assert out["id"] == "curity-idsvr"
    assert out["env"] == [
        {"name": "PASSWORD", "value": "pw", "secret": True},
        {"name": "LOGGING_LEVEL", "value": "INFO"},
    ]
    assert out["services"] == [
        {
            "id": "curity",
            "ports": [
                {"port": 6749, "protocol": "https", "label": "admin"},
                {"port": 8443, "protocol": "https", "label": "api"},
            ],
        }
    ]
    assert "mounts" not in out and "cmd" not in out


def test_curity_files_mounts_env_cmd():
    config, license_file = {"type": "host", "path": "c.xml"}, {"type": "host", "path": "l.json"}
    out = expand_args(
        "polytope/curity",
        {
            "password": "pw",
            "config-file": config,
            "license-file": license_file,
            "mounts": [{"source": HOST, "path": "/opt/idsvr/usr/bin/post-commit-cli-scripts"}],
            "env": [{"name": "ADMIN", "value": True}, {"name": "LOGGING_LEVEL", "value": "DEBUG"}],
            "log-level": "WARN",
            "cmd": '/bin/bash -c "ulimit -n 2048; /opt/idsvr/bin/idsvr"',
            "restart": {"policy": "always"},
        },
    )
    assert mount_paths(out) == [
        "/opt/idsvr/usr/bin/post-commit-cli-scripts",
        "/opt/idsvr/etc/init/config.xml",
        "/opt/idsvr/etc/init/license/license.json",
    ]
    assert env_map(out) == {"PASSWORD": "pw", "LOGGING_LEVEL": "DEBUG", "ADMIN": True}
    assert out["cmd"].startswith("/bin/bash -c")
    assert out["restart"] == {"policy": "always"}


# --------------------------------------------------------------------------------------------------
# ngrok


def test_ngrok_default_passes_what_it_is_given():
    assert expand("polytope/ngrok") == {"image": "ngrok/ngrok:3-alpine"}
    out = expand(
        "polytope/ngrok",
        image="ngrok/ngrok:3.8.0-alpine",
        env=[],
        entrypoint="ngrok",
        cmd=["start", "--all"],
        mounts=[{"source": HOST, "path": "/home/ngrok/.config/ngrok/ngrok.yml"}],
    )
    assert out == {
        "image": "ngrok/ngrok:3.8.0-alpine",
        "entrypoint": "ngrok",
        "cmd": ["start", "--all"],
        "mounts": [{"source": HOST, "path": "/home/ngrok/.config/ngrok/ngrok.yml"}],
    }


def test_ngrok_http():
    assert expand("polytope/ngrok!http", host="kong", port=3000) == {
        "image": "ngrok/ngrok:3-alpine",
        "cmd": ["http", "--log", "stdout", "kong:3000"],
    }
    files = [{"type": "host", "path": "a.yml"}, {"type": "host", "path": "b.yml"}]
    out = expand_args("polytope/ngrok!http", {"host": "web", "port": 80, "config-files": files, "auth-token": "tok"})
    assert out["cmd"] == [
        "http",
        "--log",
        "stdout",
        "--config",
        "/tmp/ngrok-0.yml",
        "--config",
        "/tmp/ngrok-1.yml",
        "web:80",
    ]
    assert out["mounts"] == [
        {"source": files[0], "path": "/tmp/ngrok-0.yml"},
        {"source": files[1], "path": "/tmp/ngrok-1.yml"},
    ]
    assert out["env"] == [{"name": "NGROK_AUTHTOKEN", "value": "tok", "secret": True}]
    assert "tok" not in out["cmd"]


# --------------------------------------------------------------------------------------------------
# mailpit, nginx, jupyter, tensorboard, hello-world, pulumi, create-project


def test_mailpit():
    out = expand("polytope/mailpit")
    assert out == {
        "image": "axllent/mailpit:latest",
        "id": "mailpit",
        "services": [
            {
                "id": "mailpit",
                "ports": [
                    {"port": 1025, "protocol": "tcp", "label": "smtp"},
                    {"port": 8025, "protocol": "http", "label": "ui"},
                ],
            }
        ],
    }
    out = expand_args(
        "polytope/mailpit",
        {
            "data-volume": VOLUME,
            "env": [{"name": "MP_SMTP_AUTH_ACCEPT_ANY", "value": 1}],
            "mounts": [{"source": HOST, "path": "/certs"}],
            "restart": {"policy": "on-failure"},
            "cmd": "--verbose",
        },
    )
    assert out["env"] == [
        {"name": "MP_DATA_FILE", "value": "/data/mailpit.db"},
        {"name": "MP_SMTP_AUTH_ACCEPT_ANY", "value": 1},
    ]
    assert mount_paths(out) == ["/data", "/certs"]
    assert out["restart"] == {"policy": "on-failure"} and out["cmd"] == "--verbose"


def test_nginx_image_is_a_reference_or_a_tag():
    out = expand("polytope/nginx")
    assert out == {
        "image": "public.ecr.aws/nginx/nginx:1.25",
        "id": "nginx",
        "services": [{"id": "nginx", "ports": [{"port": 80, "protocol": "http"}]}],
    }
    assert expand("polytope/nginx", image="1.27-alpine")["image"] == "nginx:1.27-alpine"
    assert expand("polytope/nginx", image="nginx")["image"] == "nginx"
    assert expand("polytope/nginx", image="polytope-demo/httpd:latest")["image"] == "polytope-demo/httpd:latest"
    out = expand("polytope/nginx", mounts=[{"source": HOST, "path": "/usr/share/nginx/html"}])
    assert mount_paths(out) == ["/usr/share/nginx/html"]


def test_jupyter():
    out = expand("polytope/jupyter")
    assert out == {
        "image": "jupyter/base-notebook",
        "env": [{"name": "DOCKER_STACKS_JUPYTER_CMD", "value": "notebook"}],
        "services": [{"id": "jupyter", "ports": [{"port": 8888, "protocol": "http"}]}],
        "cmd": "start-notebook.sh",
        "user": 0,
    }
    datasets = [{"path": "/home/jovyan/work", "sink": "notebooks"}]
    out = expand(
        "polytope/jupyter",
        code=HOST,
        requirements=HOST,
        mounts=[{"source": VOLUME, "path": "/home/jovyan/.cache/"}],
        datasets=datasets,
        env=[{"name": "A", "value": "b"}, None],
        services=[{"id": "jupyter", "ports": [{"port": 8888, "protocol": "http", "expose-as": 11002}]}],
    )
    assert mount_paths(out) == ["/home/jovyan/code", "/home/jovyan/.cache/", "/requirements"]
    assert out["cmd"] == ["bash", "-c", "pip install -r /requirements && start-notebook.sh"]
    assert out["datasets"] == datasets
    assert env_map(out) == {"DOCKER_STACKS_JUPYTER_CMD": "notebook", "A": "b"}
    assert out["services"][0]["ports"] == [{"port": 8888, "protocol": "http", "expose_as": 11002}]


def test_tensorboard():
    assert expand("polytope/tensorboard", logs=VOLUME) == {
        "image": "tensorflow/tensorflow:latest",
        "mounts": [{"source": VOLUME, "path": "/logs"}],
        "services": [{"id": "tensorboard", "ports": [{"port": 6006, "protocol": "http"}]}],
        "cmd": ["tensorboard", "--logdir=/logs", "--bind_all"],
    }


def test_hello_world():
    assert expand("polytope/hello-world") == {
        "image": "busybox:latest",
        "id": "hello-world",
        "cmd": ["echo", "Hello world!"],
        "tty": False,
        "no_stdin": True,
    }
    out = expand("polytope/hello-world", message="Hi 'there'", image="polytope-test/busybox:latest")
    assert out["cmd"] == ["echo", "Hi 'there'"] and out["image"] == "polytope-test/busybox:latest"


def test_pulumi_cli():
    out = expand("polytope/pulumi-cli")
    assert out == {
        "image": "public.ecr.aws/pulumi/pulumi:3.109.0",
        "id": "pulumi-cli",
        "env": [{"name": "PULUMI_ACCESS_TOKEN", "value": "unset"}],
        "mounts": [{"source": {"type": "repo", "path": "/"}, "path": "/code"}],
        "entrypoint": "bash",
    }
    out = expand_args(
        "polytope/pulumi-cli",
        {
            "command": "cd /code && pulumi up --yes",
            "access-token": "tok",
            "backend-url": "https://pulumi.example",
            "env": [{"name": "AWS_REGION", "value": "eu-north-1"}],
            "mounts": [{"source": HOST, "path": "/infra"}],
        },
    )
    assert out["cmd"] == ["-c", "cd /code && pulumi up --yes"]
    assert out["env"] == [
        {"name": "PULUMI_ACCESS_TOKEN", "value": "tok", "secret": True},
        {"name": "PULUMI_BACKEND_URL", "value": "https://pulumi.example"},
        {"name": "AWS_REGION", "value": "eu-north-1"},
    ]
    assert mount_paths(out) == ["/infra"]


def test_create_project():
    templates = {"type": "host", "path": "/srv/polytope-templates"}
    out = expand("polytope/create-project", templates=templates)
    assert out["image"] == "alpine/git" and out["id"] == "create-project"
    assert out["entrypoint"] == ["sh", "-c"]
    assert out["mounts"] == [
        {"source": templates, "path": "/templates"},
        {"source": {"type": "host", "path": "."}, "path": "/data"},
    ]
    assert out["workdir"] == "/data" and "user" not in out
    (script,) = out["cmd"]
    assert script.startswith("d=webapp\n")
    assert 'cp -r /templates/webapp "$d"' in script
    assert 'git init -q --initial-branch=main "$d"' in script
    out = expand("polytope/create-project", templates=templates, template="ml-app", name="my app", user=1000)
    (script,) = out["cmd"]
    assert script.startswith("d='my app'\n") and "/templates/ml-app" in script
    assert out["user"] == 1000


# --------------------------------------------------------------------------------------------------
# redis, redis!insight, caddy


def test_redis_defaults():
    assert expand("polytope/redis") == {
        "image": "public.ecr.aws/docker/library/redis:7.2.4",
        "id": "redis",
        "services": [{"id": "redis", "ports": [{"port": 6379, "protocol": "tcp"}]}],
    }


def test_redis_port_append_only_volume_and_mounts():
    conf = {"type": "host", "path": "./redis.conf"}
    out = expand_args(
        "polytope/redis",
        {
            "id": "cache",
            "port": 6380,
            "append-only": True,
            "data-volume": VOLUME,
            "mounts": [{"source": conf, "path": "/etc/redis.conf"}, None],
            "env": [{"name": "TZ", "value": "UTC"}, None],
            "restart": {"policy": "always"},
        },
    )
    assert out["cmd"] == ["redis-server", "--port", "6380", "--appendonly", "yes"]
    assert out["services"] == [{"id": "cache", "ports": [{"port": 6380, "protocol": "tcp"}]}]
    assert mount_paths(out) == ["/data", "/etc/redis.conf"]
    assert env_map(out) == {"TZ": "UTC"}
    assert out["restart"] == {"policy": "always"}
    out = expand("polytope/redis", cmd=["redis-server", "/etc/redis.conf"], port=6380)
    assert out["cmd"] == ["redis-server", "/etc/redis.conf"]


def test_redis_as_a_real_file_calls_it():
    services = [{"id": "redis", "ports": [{"protocol": "tcp", "port": 6379}]}]
    out = expand_args("polytope/redis", {"services": services})
    assert out["services"] == [{"id": "redis", "ports": [{"protocol": "tcp", "port": 6379}]}]
    assert out["image"] == "public.ecr.aws/docker/library/redis:7.2.4" and "cmd" not in out


def test_redis_insight_defaults():
    assert expand("polytope/redis!insight") == {
        "image": "redis/redisinsight:latest",
        "id": "redis-insight",
        "services": [{"id": "redis-insight", "ports": [{"port": 5540, "protocol": "http"}]}],
    }


def test_redis_insight_port_and_volume():
    out = expand_args("polytope/redis!insight", {"port": 8001, "data-volume": VOLUME})
    assert env_map(out) == {"RI_APP_PORT": "8001"}
    assert out["services"][0]["ports"] == [{"port": 8001, "protocol": "http"}]
    assert out["mounts"] == [{"source": VOLUME, "path": "/data"}]


def test_caddy_defaults():
    assert expand("polytope/caddy") == {
        "image": "public.ecr.aws/docker/library/caddy:2.7",
        "id": "caddy",
        "services": [{"id": "caddy", "ports": [{"port": 80, "protocol": "http"}, {"port": 443, "protocol": "https"}]}],
    }


def test_caddy_config_site_and_volume():
    caddyfile = {"type": "host", "path": "./Caddyfile"}
    out = expand_args("polytope/caddy", {"config": caddyfile, "site": HOST, "data-volume": VOLUME})
    assert out["mounts"] == [
        {"source": caddyfile, "path": "/etc/caddy/Caddyfile"},
        {"source": HOST, "path": "/usr/share/caddy"},
        {"source": VOLUME, "path": "/data"},
    ]
    assert "cmd" not in out


def test_caddy_as_a_real_file_calls_it():
    site = {"path": "code/frontend", "type": "host"}
    out = expand_args("polytope/caddy", {"mounts": [{"path": "/usr/share/caddy", "source": site}]})
    assert out["mounts"] == [{"path": "/usr/share/caddy", "source": site}]
    assert out["services"][0]["id"] == "caddy"


# --------------------------------------------------------------------------------------------------
# build-image


def test_build_image_single_root_source_is_the_context():
    src = {"type": "host", "path": "./app"}
    primitive, out = expand_library(
        "polytope/build-image", {"sources": [{"source": src, "path": "/"}], "tags": ["app:1"]}
    )
    assert primitive == BUILD_IMAGE_REF
    assert out == {
        "tags": ["app:1"],
        "sources": [{"source": src, "path": "/"}],
        "context": src,
        "dockerfile": "Dockerfile",
    }


def test_build_image_several_sources_leave_assembly_to_the_caller():
    a, b = {"type": "host", "path": "./app"}, {"type": "string", "data": "x"}
    primitive, out = expand_library(
        "polytope/build-image",
        {
            "sources": [{"source": a, "path": "/"}, {"source": b, "path": "/extra.txt"}],
            "tags": ["app:1", "app:latest"],
            "dockerfile": "docker/Dockerfile.prod",
            "labels": {"org.opencontainers.image.title": "app"},
            "target": "runtime",
        },
    )
    assert primitive == BUILD_IMAGE_REF
    assert "context" not in out
    assert out["sources"][1] == {"source": b, "path": "/extra.txt"}
    assert out["tags"] == ["app:1", "app:latest"]
    assert out["dockerfile"] == "docker/Dockerfile.prod"
    assert out["labels"] == {"org.opencontainers.image.title": "app"}
    assert out["target"] == "runtime"


def test_build_image_one_source_not_at_the_root_is_not_a_context():
    primitive, out = expand_library(
        "polytope/build-image", {"sources": [{"source": HOST, "path": "/src"}], "tags": ["a:1"]}
    )
    assert primitive == BUILD_IMAGE_REF
    assert "context" not in out


@pytest.mark.parametrize(
    "args, message",
    [
        ({"sources": [{"source": HOST, "path": "/"}], "tags": []}, "at least one tag"),
        ({"sources": [], "tags": ["a:1"]}, "at least one source"),
    ],
)
def test_build_image_needs_tags_and_sources(args, message):
    with pytest.raises(StdlibError, match=message):
        expand_library("polytope/build-image", args)


# --------------------------------------------------------------------------------------------------
# Real files: what the corpus's uses of the library expand to


def test_real_kong_simple_step_from_the_cillers_stack():
    out = expand_args(
        "polytope/kong!simple",
        {
            "image": "gcr.io/arched-inkwell-420116/kong:3.6.1",
            "port": 3000,
            "env": [{"name": "KONG_NGINX_HTTP_LUA_SHARED_DICT", "value": "phantom-token 10m"}],
            "plugins": PLUGINS,
            "config-file": {"type": "host", "path": "./conf/kong-dev.yml"},
            "autoreload": True,
            "services": [{"id": "kong", "ports": [{"port": 3000, "protocol": "http", "expose-as": 8080}]}],
        },
    )
    assert out["user"] == 0 and out["id"] == "kong"
    assert out["services"][0]["ports"][0]["expose_as"] == 8080
    assert env_map(out)["KONG_NGINX_HTTP_LUA_SHARED_DICT"] == "phantom-token 10m"


def test_real_postgres_simple_step_with_container_id():
    out = expand_args(
        "polytope/postgres!simple",
        {"container-id": "postgres", "data-volume": {"type": "volume", "scope": "project", "id": "pg-data"}},
    )
    assert out["id"] == "postgres"


# --------------------------------------------------------------------------------------------------
# The documentation lists every module


def _docs() -> Path:
    return Path(__file__).resolve().parents[4] / "docs" / "stdlib.md"


def test_docs_list_every_module_and_every_unavailable_one():
    docs = _docs()
    if not docs.is_file():
        pytest.skip("docs/stdlib.md is not in this copy of the collection")
    text = docs.read_text(encoding="utf-8")
    for ref in list(MODULES) + list(UNAVAILABLE):
        assert f"`{ref}`" in text, ref
    for module in MODULES.values():
        section = text.split(f"`{module.ref}`", 1)[1]
        for param in module.params:
            assert f"`{param['id']}`" in section, (module.ref, param["id"])


# --------------------------------------------------------------------------------------------------
# The shell scripts the library writes are valid shell


def _scripts() -> list:
    kong = {"config-file": KONG_CONFIG, "plugins": PLUGINS, "autoreload": True}
    connectors = {"host": "connect", "connectors": [{"name": "a", "config": {"x": "${/id}", "q": "it's"}}]}
    return [
        sh(expand_args("polytope/kong!simple", kong)),
        sh(expand_args("polytope/kong!simple", {"config-file": KONG_CONFIG, "plugins": PLUGINS})),
        sh(expand_args("polytope/kong!simple", {"config-file": KONG_CONFIG, "autoreload": True})),
        sh(expand_args("polytope/kafka!create-connectors", connectors)),
        sh(expand("polytope/kafka!connect", connectors=["a/b:1"])),
        sh(expand("polytope/python", requirements=HOST, cmd=["python3", "-c", "print('x')"])),
        sh(expand("polytope/node", package=HOST)),
        expand("polytope/create-project", templates=HOST, name="it's mine")["cmd"][0],
        sh(expand_args("polytope/couchbase!init-cluster", {"password": "pw", "cluster-name": "it's mine"})),
        sh(expand_args("polytope/couchbase!create-bucket", {"password": "pw", "name": "b", "flush": True})),
        sh(expand_args("polytope/couchbase!cbq", {"password": "pw", "script": "SELECT 'a';"})),
    ]


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell here")
@pytest.mark.parametrize("index", range(11))
def test_generated_scripts_parse(index):
    script = _scripts()[index]
    result = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, (result.stderr, script)
