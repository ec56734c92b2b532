# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard library's streaming, identity, web and tool modules (redpanda to create-project), through the expander."""

from __future__ import annotations

import json


from ansible_collections.polytope.core.tests.unit.plugins.module_utils._stdlib.library_helpers import (
    HOST,
    VOLUME,
    env_map,
    expand,
    expand_args,
    mount_paths,
    sh,
)


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
