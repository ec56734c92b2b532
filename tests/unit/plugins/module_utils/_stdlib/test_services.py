# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard library's runtimes and servers (python to kong), through the expander: params in, container arguments out."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest


from ansible_collections.polytope.core.tests.unit.plugins.module_utils._stdlib.library_helpers import (
    HOST,
    VOLUME,
    env_map,
    expand,
    expand_args,
    mount_paths,
    problems,
    sh,
)

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
    (problem,) = problems("polytope/couchbase!init-cluster", {"password": "pw", "services": []})
    assert problem.endswith("pt/fail: polytope/couchbase!init-cluster needs at least one service")
    (problem,) = problems("polytope/couchbase!init-cluster", {"password": "pw", "services": ["data", "kv"]})
    assert problem.endswith("pt/fail: polytope/couchbase!init-cluster: unknown Couchbase service kv")


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
    statements = "CREATE COLLECTION main._default.items IF NOT EXISTS;\nCREATE PRIMARY INDEX IF NOT EXISTS ON main;\n"
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
