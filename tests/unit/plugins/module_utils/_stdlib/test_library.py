# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polytope's standard library in polytope.yml: its files, declarations, samples, jobs and scripts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import json
from typing import Any

import pytest

from ansible_collections.polytope.core.plugins.module_utils._language import load_yaml12
from ansible_collections.polytope.core.plugins.module_utils._stdlib import library_files, load_library
from ansible_collections.polytope.core.plugins.module_utils._language import expand as expand_template

from ansible_collections.polytope.core.tests.unit.plugins.module_utils._stdlib.library_helpers import (
    HOST,
    STEP,
    VOLUME,
    env_map,
    expand,
    expand_args,
    plan,
    problems,
    sh,
)

LIBRARY = load_library()
DEFINITIONS = {entry["id"]: entry for entry in LIBRARY["modules"]}
PRIMITIVES = ("polytope/container", "polytope/build-image")

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


# --------------------------------------------------------------------------------------------------

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
# The library's files
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
]


def test_every_module_of_the_issue_is_there():
    assert sorted(DEFINITIONS) == sorted(EXPECTED_REFS)


def test_every_file_is_one_family_and_polytope_yml():
    for path in library_files():
        document = load_yaml12(path.read_text(encoding="utf-8"), path.name)
        assert set(document) <= {"library", "default-variant", "modules", "unavailable"}, path.name
        for entry in document.get("modules") or ():
            assert entry["id"].split("!")[0] == document["library"], (path.name, entry["id"])
            assert set(entry) <= {"id", "info", "module", "params", "args"}, entry["id"]


def test_the_loader_is_cached_and_expanding_does_not_change_it():
    before = json.dumps(load_library(), sort_keys=True)
    for ref, args in SAMPLE_ARGS.items():
        plan(ref, args)
        plan(ref, args)
    assert load_library() is LIBRARY
    assert json.dumps(load_library(), sort_keys=True) == before


@pytest.mark.parametrize(
    "alias, ref",
    [
        ("polytope/python!python", "polytope/python"),
        ("polytope/kafka!kafka-kraft", "polytope/kafka"),
        ("polytope/curity!idsvr", "polytope/curity"),
        ("polytope/postgres!postgres", "polytope/postgres"),
        ("polytope/node!node", "polytope/node"),
    ],
)
def test_the_default_variant_has_two_spellings(alias, ref):
    assert LIBRARY["aliases"][alias] == ref
    args = SAMPLE_ARGS[ref]
    assert plan(alias, args)["steps"][0]["args"] == plan(ref, args)["steps"][0]["args"]


@pytest.mark.parametrize("ref", ["polytope/nope", "polytope/python!nope", "polytope/container!container"])
def test_what_is_not_a_library_module(ref):
    assert problems(ref, {}) == [
        f"template 'tpl', step '{STEP}', module '{ref}': Polytope standard library module not available in this collection"
    ]


UNAVAILABLE_REFS = ["polytope/repl", "polytope/send-slack-message"]


@pytest.mark.parametrize("ref", UNAVAILABLE_REFS + ["polytope/repl!repl"])
def test_unavailable_modules_say_so_and_how_to_get_them(ref):
    (problem,) = problems(ref, {})
    assert (
        "Polytope standard library module not available: in Polytope it is a program run by Polytope's own runner"
        in problem
    )
    assert f"define a module with id '{ref}' in the file" in problem


def test_unavailable_is_exactly_the_code_only_modules():
    assert sorted(LIBRARY["unavailable"]) == sorted(UNAVAILABLE_REFS)
    assert not set(LIBRARY["unavailable"]) & set(DEFINITIONS)


def test_a_users_module_wins_over_the_unavailable_one():
    document = {
        "modules": [{"id": "polytope/repl", "module": "polytope/container", "args": {"image": "busybox"}}],
        "templates": [{"id": "tpl", "run": ["polytope/repl"]}],
    }
    (step,) = expand_template(json.dumps(document), "polytope.yml", "tpl")["steps"]
    assert step["module"] == ["polytope/repl", "polytope/container"]


@pytest.mark.parametrize("ref", EXPECTED_REFS)
def test_declarations_are_well_formed(ref):
    module = DEFINITIONS[ref]
    assert module["info"] and "\n" not in module["info"]
    params = module.get("params") or []
    ids = [param["id"] for param in params]
    assert len(ids) == len(set(ids))
    for param in params:
        assert set(param) == {"id", "type", "info"}
        assert ID.match(param["id"])
        assert param["info"] and "\n" not in param["info"]
        ptype = param["type"]
        assert_type_form(ptype)
        if isinstance(ptype, list) and ptype[0] == "default":
            assert conforms(ptype[2], ptype[1]), (param["id"], ptype)
    assert module["module"] in PRIMITIVES or module["module"] in DEFINITIONS


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
}


def test_every_module_has_a_sample():
    assert sorted(SAMPLE_ARGS) == sorted(EXPECTED_REFS)


@pytest.mark.parametrize("ref", EXPECTED_REFS)
def test_samples_expand_to_container_arguments_in_its_spelling(ref):
    """Every sample expands, without warnings, to polytope/container options, plain data only."""
    out = expand_args(ref, SAMPLE_ARGS[ref])
    assert set(out) <= CONTAINER_OPTIONS, set(out) - CONTAINER_OPTIONS
    assert None not in out.values()
    assert isinstance(out["image"], str) and out["image"]
    text = json.dumps(out)
    assert "max-restarts" not in text and "expose-as" not in text
    for service in out.get("services") or ():
        for port in service["ports"]:
            assert "protocol" in port and ("port" in port or "range" in port)


def test_defaults_and_required_params():
    out = expand("polytope/postgres", scripts=[HOST])
    assert out["image"] == "public.ecr.aws/docker/library/postgres:16.2"
    assert out["id"] == "postgres"
    assert plan("polytope/postgres", {"nope": 1})["warnings"] == [
        "module 'polytope/postgres' does not declare argument 'nope': dropped"
    ]
    assert "argument 'hostname': module 'polytope/postgres!psql' requires it (str) and it is not given" in "".join(
        problems("polytope/postgres!psql", {"database": "d", "username": "u", "password": "p"})
    )


JOBS = {
    "polytope/couchbase!cli",
    "polytope/couchbase!init-cluster",
    "polytope/couchbase!create-bucket",
    "polytope/couchbase!cbq",
    "polytope/kafka!create-connectors",
    "polytope/hello-world",
    "polytope/create-project",
}


@pytest.mark.parametrize("ref", EXPECTED_REFS)
def test_jobs_by_nature_run_to_completion(ref):
    """A job by nature passes await: true to polytope/container; everything else keeps running."""
    (step,) = plan(ref, SAMPLE_ARGS[ref])["steps"]
    assert step["state"] == ("completed" if ref in JOBS else "started")
    if ref in JOBS:
        (step,) = plan(ref, dict(SAMPLE_ARGS[ref], **{"await": False}))["steps"]
        assert step["state"] == "started"


# --------------------------------------------------------------------------------------------------
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
    return Path(__file__).resolve().parents[5] / "docs" / "stdlib.md"


def test_docs_list_every_module_and_every_unavailable_one():
    docs = _docs()
    if not docs.is_file():
        pytest.skip("docs/stdlib.md is not in this copy of the collection")
    text = docs.read_text(encoding="utf-8")
    for ref in list(DEFINITIONS) + list(LIBRARY["unavailable"]):
        assert f"`{ref}`" in text, ref
    for ref, module in DEFINITIONS.items():
        section = text.split(f"`{ref}`", 1)[1]
        for param in module.get("params") or ():
            assert f"`{param['id']}`" in section, (ref, param["id"])


# --------------------------------------------------------------------------------------------------
# The shell scripts the library writes are valid shell

KONG_CONFIG = {"type": "host", "path": "./conf/kong.yml"}
PLUGINS = [
    {"name": "oauth-proxy", "version": "1.3.0", "package": "kong-oauth-proxy"},
    {"name": "phantom-token", "version": "2.0.0", "package": "kong-phantom-token"},
]


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
