# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polytope's standard library (``polytope/python``, ``polytope/postgres!simple``, ...), in Python.

Each library module is a :class:`LibraryModule`: its parameters (declared in the same form as
``params`` in a ``polytope.yml``, so the template expander checks types and applies defaults the
same way it does for the user's own modules) and a ``build`` function that turns the resolved
parameters into the arguments of the module it is built on (``base``).

``base`` is ``polytope/container``, another library module (for example ``polytope/kong!simple``
is built on ``polytope/kong``), or the primitive ``polytope/build-image``. Arguments for a library
base use that module's parameter ids (hyphenated, as in ``polytope.yml``); arguments for
``polytope/container`` use the container module's option names (underscores) and never carry a key
whose value is ``None``.

Arguments for the primitive ``polytope/build-image``::

    tags:       [str, ...]                      at least one; the first is the image's main name
    sources:    [{source: mount-source, path: absolute-path}, ...]
                                                what goes into the build context, each source placed
                                                at its path inside the context (``/`` = the root)
    context:    mount-source                    present only when there is exactly one source and it
                                                sits at ``/``: the build can use it directly as the
                                                context directory; otherwise the caller assembles a
                                                context directory from ``sources``
    dockerfile: str                             path of the Dockerfile inside the context
    labels:     {str: str}                      optional
    target:     str                             optional build stage

Pure Python (no Ansible, no Docker). ``build`` functions may raise :class:`StdlibError` for
combinations that the parameter types cannot express (the expander should report it with the
step and module it was expanding).

Also exported: :data:`UNAVAILABLE` (references that exist in Polytope but not here, with the reason),
:func:`lookup`, :func:`canonical_ref`, :func:`unavailable_reason`, and :func:`expand_library`, a
small helper (defaults only, no type checks) that follows a module down to its primitive; the
template expander has its own, stricter, resolution.
"""

from __future__ import annotations

import copy
import json
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote as _url_quote

CONTAINER_REF = "polytope/container"
BUILD_IMAGE_REF = "polytope/build-image"
PRIMITIVES = frozenset((CONTAINER_REF, BUILD_IMAGE_REF))

__all__ = [
    "BUILD_IMAGE_REF",
    "CONTAINER_REF",
    "LibraryModule",
    "MODULES",
    "PRIMITIVES",
    "StdlibError",
    "UNAVAILABLE",
    "all_refs",
    "canonical_ref",
    "expand_library",
    "lookup",
    "resolve_defaults",
    "unavailable_message",
    "unavailable_reason",
]


class StdlibError(ValueError):
    """A library module cannot be expanded with the parameters it was given."""


@dataclass(frozen=True)
class LibraryModule:
    """One module of Polytope's standard library.

    ``runs_to_completion`` is an addition to the agreed contract (it has a default, so nothing that
    builds or reads the other fields changes): true for modules that are jobs by nature (they do
    their work and exit, like ``polytope/hello-world``), so a caller can run them as ``completed``
    rather than expecting them to keep running.
    """

    ref: str
    info: str
    params: Tuple[dict, ...]
    base: str
    build: Callable[[dict], dict]
    runs_to_completion: bool = False


# --------------------------------------------------------------------------------------------------
# Parameter declarations


def _p(pid: str, ptype: Any, info: str) -> dict:
    return {"id": pid, "type": copy.deepcopy(ptype), "info": info}


def _default(ptype: Any, value: Any) -> list:
    return ["default", ptype, value]


def _maybe(ptype: Any) -> list:
    return ["maybe", ptype]


COMMAND = ["either", "str", [["maybe", "str"]]]
STR_COMMAND = ["either", "str", ["str"]]
MOUNT = {"source": "mount-source", "path": "absolute-path"}
MOUNTS = _maybe([["maybe", MOUNT]])
ENV = _maybe(["env-var"])
ENV_NULLABLE = _maybe([["maybe", "env-var"]])
SERVICES = _maybe(["service-spec"])
# "never" as well: real files pass it (a one-off command run through a library module), and the container takes it.
RESTART_T = {"policy": ["enum", "always", "on-failure", "never"], "max-restarts": ["maybe", "int"]}
RESTART = _maybe(RESTART_T)
RESTART_ALWAYS = _default(RESTART_T, {"policy": "always", "max-restarts": None})
HOST_PORT = {"host": "str", "port": "int"}
LOG4J_LEVEL = _default(["enum", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"], "INFO")
STR_MAP = ["map", "str", "str"]  # a mapping with any string keys and string values

RESTART_INFO = "How to restart the container when it fails (always or on-failure, with an optional maximum)."
MOUNTS_INFO = "More files or directories to mount, each a mount source and an absolute path."


# --------------------------------------------------------------------------------------------------
# Helpers that build container arguments


def _compact(args: Dict[str, Any]) -> Dict[str, Any]:
    """Drop keys whose value is None (so the base module's own defaults apply)."""
    return {key: value for key, value in args.items() if value is not None}


def _words(cmd: Any) -> Any:
    """A command as given, with null items of a list left out."""
    if isinstance(cmd, (list, tuple)):
        return [item for item in cmd if item is not None]
    return cmd


def _command_text(cmd: Any) -> str:
    """A command as one shell command line (a list is quoted word by word)."""
    if isinstance(cmd, str):
        return cmd
    return " ".join(shlex.quote(str(word)) for word in _words(cmd))


def _mounts(*groups: Any) -> Optional[List[dict]]:
    """Concatenate mount lists, leaving out null items; None when nothing is mounted."""
    out: List[dict] = []
    for group in groups:
        for item in group or ():
            if item is not None:
                out.append(dict(item))
    return out or None


def _mount(source: Any, path: str) -> List[dict]:
    """A one-mount list when the source is given, else an empty list."""
    return [{"source": source, "path": path}] if source is not None else []


def _env(*groups: Any) -> Optional[List[dict]]:
    """Concatenate environment lists; a later entry with an already-seen name replaces the earlier one
    in place (the container spec refuses a name set twice). Null items are left out; a mapping of
    names to values is accepted too. None when empty."""
    order: List[str] = []
    merged: Dict[str, dict] = {}
    for group in groups:
        if not group:
            continue
        items = [{"name": name, "value": value} for name, value in group.items()] if isinstance(group, dict) else group
        for item in items:
            if item is None:
                continue
            entry = dict(item)
            name = entry.get("name")
            if name not in merged:
                order.append(name)
            merged[name] = entry
    return [merged[name] for name in order] or None


def _var(name: str, value: Any, secret: bool = False) -> dict:
    entry = {"name": name, "value": value}
    if secret:
        entry["secret"] = True
    return entry


def _restart(value: Any) -> Optional[dict]:
    """A restart policy in the container module's spelling (max_restarts), nulls left out."""
    if value is None:
        return None
    out: Dict[str, Any] = {}
    for key, item in value.items():
        key = "max_restarts" if key in ("max-restarts", "max_restarts") else key
        if item is not None:
            out[key] = item
    return out or None


def _port(port: dict) -> dict:
    out: Dict[str, Any] = {}
    for key, value in port.items():
        out[key.replace("-", "_")] = value
    return out


def _services(value: Any) -> Optional[List[dict]]:
    """Service specs in the container module's spelling (expose_as); None stays None, [] stays []."""
    if value is None:
        return None
    out = []
    for service in value:
        if service is None:
            continue
        entry = dict(service)
        entry["ports"] = [_port(port) for port in service.get("ports") or () if port is not None]
        out.append(entry)
    return out


def _service(sid: str, *ports: dict) -> dict:
    return {"id": sid, "ports": [dict(port) for port in ports]}


def _host_ports(pairs: Any) -> str:
    return ",".join(f"{pair['host']}:{pair['port']}" for pair in pairs or ())


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise StdlibError(message)


# --------------------------------------------------------------------------------------------------
# python

PYTHON_IMAGE = "public.ecr.aws/docker/library/python:3.12.2-slim-bookworm"
REQUIREMENTS_PATH = "/requirements.txt"


def _install_then_run(install: str, cmd: Any, fallback: str) -> List[str]:
    """``sh -c`` that runs the install step, then the command (or ``fallback`` when there is none).
    As in Polytope, the command runs even if the install step fails."""
    run = fallback if cmd is None else _command_text(cmd)
    return ["sh", "-c", f"{install}; {run}"]


def _code_runtime(p: dict, manifest: Any, manifest_path: str, install: str, shell: str) -> dict:
    """Container args of a language runtime: code at /app, its dependency manifest installed first."""
    cmd = p.get("cmd")
    if manifest is not None:
        cmd = _install_then_run(install, cmd, shell)
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "cmd": _words(cmd),
            "env": _env(p.get("env")),
            "services": _services(p.get("services")),
            "mounts": _mounts(
                _mount(p.get("code"), "/app"),
                _mount(manifest, manifest_path),
                p.get("mounts"),
            ),
            "restart": _restart(p.get("restart")),
            "workdir": "/app",
        }
    )


def _build_python(p: dict) -> dict:
    return _code_runtime(p, p.get("requirements"), REQUIREMENTS_PATH, f"pip install -r {REQUIREMENTS_PATH}", "python")


PYTHON = LibraryModule(
    ref="polytope/python",
    info="Runs Python with your code mounted at /app, optionally installing a requirements file first.",
    params=(
        _p("image", _default("str", PYTHON_IMAGE), "The Python image to run."),
        _p("code", _maybe("mount-source"), "Source code to mount at /app (the working directory)."),
        _p("cmd", _maybe(STR_COMMAND), "The command to run; without one, an interactive Python shell."),
        _p("env", ENV_NULLABLE, "Environment variables."),
        _p(
            "requirements",
            _maybe("mount-source"),
            "A requirements.txt to mount and install with pip before the command runs.",
        ),
        _p("services", SERVICES, "Ports of the container to expose as services."),
        _p("id", _maybe("id"), "The container's id."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_python,
)


def _build_python_simple(p: dict) -> dict:
    services = [
        _service(item["id"], {"port": item["port"], "protocol": "http"})
        for item in p.get("services") or ()
        if item is not None
    ]
    return _compact(
        {
            "image": p.get("image"),
            "cmd": p.get("cmd"),
            "env": _env(p.get("env")),
            "services": services or None,
            "update_image": False,
            "mounts": _mounts(_mount(p.get("code"), "/app")),
            "workdir": "/app",
        }
    )


PYTHON_SIMPLE = LibraryModule(
    ref="polytope/python!simple",
    info="Runs Python 3.11 with your code at /app and plain HTTP services given as id and port.",
    params=(
        _p("code", _maybe("mount-source"), "Source code to mount at /app (the working directory)."),
        _p("cmd", _maybe("str"), "The command to run; without one, an interactive Python shell."),
        _p("env", ENV, "Environment variables."),
        _p("services", _maybe([{"id": "str", "port": "int"}]), "HTTP services, each an id and a port."),
        _p("image", _default("docker-image", "python:3.11"), "The Python image (added here; Polytope fixes it)."),
    ),
    base=CONTAINER_REF,
    build=_build_python_simple,
)


# --------------------------------------------------------------------------------------------------
# node

NODE_IMAGE = "public.ecr.aws/docker/library/node:21.7.0-slim"
PACKAGE_PATH = "/package.json"


def _build_node(p: dict) -> dict:
    # npm reads /package.json and installs into /node_modules, which Node's module lookup reaches
    # from /app (it searches the node_modules of every parent directory).
    return _code_runtime(p, p.get("package"), PACKAGE_PATH, "npm install --prefix /", "node")


NODE = LibraryModule(
    ref="polytope/node",
    info="Runs Node.js with your code mounted at /app, optionally installing a package.json first.",
    params=(
        _p("image", _default("str", NODE_IMAGE), "The Node.js image to run."),
        _p("code", _maybe("mount-source"), "Source code to mount at /app (the working directory)."),
        _p("cmd", _maybe(STR_COMMAND), "The command to run; without one, an interactive Node shell."),
        _p(
            "env",
            _maybe([{"name": "str", "value": ["either", "str", "int", "bool"]}]),
            "Environment variables.",
        ),
        _p("id", _maybe("id"), "The container's id."),
        _p(
            "package",
            _maybe("mount-source"),
            "A package.json to mount at /package.json and install with npm before the command runs.",
        ),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
        _p("services", SERVICES, "Ports of the container to expose as services."),
    ),
    base=CONTAINER_REF,
    build=_build_node,
)


# --------------------------------------------------------------------------------------------------
# postgres

POSTGRES_IMAGE = "public.ecr.aws/docker/library/postgres:16.2"
POSTGRES_DATA = "/var/lib/postgresql/data"
POSTGRES_INIT_DIR = "/docker-entrypoint-initdb.d"


def _postgres_mounts(p: dict) -> Optional[List[dict]]:
    scripts = [script for script in p.get("scripts") or () if script is not None]
    if len(scripts) == 1:
        script_mounts = _mount(scripts[0], f"{POSTGRES_INIT_DIR}/data-backup.sql")
    else:
        # one file per script; the image runs them in name order, which is the given order
        script_mounts = [
            {"source": script, "path": f"{POSTGRES_INIT_DIR}/{index:02d}-data-backup.sql"}
            for index, script in enumerate(scripts, start=1)
        ]
    return _mounts(_mount(p.get("data-volume"), POSTGRES_DATA), script_mounts)


def _build_postgres(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "cmd": _words(p.get("cmd")),
            "mounts": _postgres_mounts(p),
            "env": _env(p.get("env")),
            "tty": not p.get("scripts"),
            "restart": _restart(p.get("restart")),
            "services": [_service(p.get("service-id") or "postgres", {"port": 5432, "protocol": "tcp"})],
        }
    )


_POSTGRES_SCRIPTS = _p(
    "scripts",
    _maybe(["mount-source"]),
    "SQL files that the server runs when it initialises an empty database, in the given order.",
)
_POSTGRES_DATA_VOLUME = _p(
    "data-volume", _maybe("mount-source"), "Where the database files live (mounted at /var/lib/postgresql/data)."
)

POSTGRES = LibraryModule(
    ref="polytope/postgres",
    info="Runs a PostgreSQL server with an optional data volume and initialisation scripts.",
    params=(
        _p("image", _default("docker-image", POSTGRES_IMAGE), "The PostgreSQL image to run."),
        _p("container-id", _default("str", "postgres"), "The container's id."),
        _POSTGRES_DATA_VOLUME,
        _p("service-id", _default("str", "postgres"), "The id of the service (other containers' hostname for it)."),
        _p("env", ENV, "Environment variables for the server (POSTGRES_PASSWORD, POSTGRES_DB, ...)."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, the PostgreSQL server."),
        _p("restart", RESTART, RESTART_INFO),
        _POSTGRES_SCRIPTS,
    ),
    base=CONTAINER_REF,
    build=_build_postgres,
)


def _build_postgres_simple(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "mounts": _postgres_mounts(p),
            "env": [_var("POSTGRES_HOST_AUTH_METHOD", "trust")],
            "tty": not p.get("scripts"),
            "restart": _restart(p.get("restart")),
            "services": [_service("postgres", {"port": 5432, "protocol": "tcp"})],
        }
    )


POSTGRES_SIMPLE = LibraryModule(
    ref="polytope/postgres!simple",
    info="Runs a PostgreSQL server that trusts every connection (no password), for development.",
    params=(
        _p("image", _default("docker-image", "postgres:15.4"), "The PostgreSQL image to run."),
        _POSTGRES_SCRIPTS,
        _POSTGRES_DATA_VOLUME,
        _p("restart", RESTART, RESTART_INFO),
        _p("container-id", _default("str", "postgres"), "The container's id (added here, as in the default variant)."),
    ),
    base=CONTAINER_REF,
    build=_build_postgres_simple,
)


def _build_psql(p: dict) -> dict:
    cmd = [
        "psql",
        f"--host={p['hostname']}",
        f"--port={p.get('port') or 5432}",
        f"--username={p['username']}",
        f"--dbname={p['database']}",
    ]
    if p.get("command") is not None:
        cmd.append(f"--command={p['command']}")
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "env": [_var("PGPASSWORD", p.get("password"), secret=True)],
            "cmd": cmd,
        }
    )


POSTGRES_PSQL = LibraryModule(
    ref="polytope/postgres!psql",
    info="Runs psql against a PostgreSQL server: one command, or an interactive session.",
    params=(
        _p("hostname", "str", "The server's hostname."),
        _p("port", _default("int", 5432), "The server's port."),
        _p("database", "str", "The database to connect to."),
        _p("username", "str", "The user to connect as."),
        _p("password", "str", "That user's password (passed as PGPASSWORD, kept out of logs)."),
        _p("command", _maybe("str"), "One command to run; without it, an interactive session."),
        _p("image", _default("docker-image", POSTGRES_IMAGE), "The image that provides psql (added here)."),
        _p("container-id", _default("str", "psql"), "The container's id (added here)."),
    ),
    base=CONTAINER_REF,
    build=_build_psql,
)


# --------------------------------------------------------------------------------------------------
# couchbase

COUCHBASE_IMAGE = "public.ecr.aws/docker/library/couchbase:community-7.2.4"


def _cb(port: Any, protocol: str, label: str, internal: bool = False) -> dict:
    entry: Dict[str, Any] = {"range" if isinstance(port, str) else "port": port, "protocol": protocol, "label": label}
    if internal:
        entry["internal"] = True
    return entry


COUCHBASE_PORTS = (
    _cb(4369, "tcp", "epmd", internal=True),
    _cb(8091, "http", "http"),
    _cb(8092, "http", "capi"),
    _cb(8093, "http", "query"),
    _cb(8094, "http", "fts"),
    _cb(8095, "http", "cbas"),
    _cb(8096, "http", "eventing"),
    _cb(8097, "http", "backup"),
    _cb("9100-9105", "tcp", "indexer", internal=True),
    _cb("9110-9122", "tcp", "analytics", internal=True),
    _cb(9123, "tcp", "prometheus"),
    _cb(9124, "tcp", "backup-grpc", internal=True),
    _cb(9130, "tcp", "fts-grpc", internal=True),
    _cb(9140, "tcp", "eventing-debug", internal=True),
    _cb(9999, "tcp", "indexer", internal=True),
    _cb(11207, "tcp", "memcached-ssl"),
    _cb("11209-11210", "tcp", "memcached"),
    _cb(11280, "tcp", "memcached-prometheus"),
    _cb(21100, "tcp", "cluster-management", internal=True),
    _cb(21150, "tcp", "cluster-management", internal=True),
    _cb(18091, "https", "http-ssl"),
    _cb(18092, "https", "capi-ssl"),
    _cb(18093, "https", "query-ssl"),
    _cb(18094, "https", "fts-ssl"),
    _cb(18095, "https", "cbas-ssl"),
    _cb(18096, "https", "eventing-ssl"),
    _cb(18097, "https", "backup-ssl"),
)


def _build_couchbase(p: dict) -> dict:
    services = p.get("services")
    if services is None:
        services = [_service("couchbase", *COUCHBASE_PORTS)]
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "services": _services(services),
            "cmd": _words(p.get("cmd")),
            "mounts": _mounts(_mount(p.get("data-volume"), "/opt/couchbase/var"), p.get("mounts")),
            "restart": _restart(p.get("restart")),
        }
    )


COUCHBASE = LibraryModule(
    ref="polytope/couchbase",
    info="Runs a Couchbase Server node with its ports as services and an optional data volume.",
    params=(
        _p("image", _default("str", COUCHBASE_IMAGE), "The Couchbase image to run."),
        _p("id", _default("str", "couchbase"), "The container's id."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, Couchbase Server."),
        _p("data-volume", _maybe("mount-source"), "Where Couchbase keeps its data (mounted at /opt/couchbase/var)."),
        _p("services", SERVICES, "The services to expose; without them, every Couchbase port (service couchbase)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_couchbase,
)


def _build_couchbase_cli(p: dict) -> dict:
    cmd = p["cmd"]
    words = shlex.split(cmd) if isinstance(cmd, str) else _words(cmd)
    retries = p.get("retries")
    return _compact(
        {
            "image": p.get("image"),
            "id": "couchbase-cli",
            "cmd": ["couchbase-cli"] + list(words),
            "restart": {"policy": "on-failure", "max-restarts": retries} if retries is not None else None,
            "services": [],
        }
    )


COUCHBASE_CLI = LibraryModule(
    ref="polytope/couchbase!cli",
    info="Runs one couchbase-cli command, optionally retrying it when it fails.",
    params=(
        _p("image", _default("str", COUCHBASE_IMAGE), "The Couchbase image that provides couchbase-cli."),
        _p("cmd", COMMAND, "The couchbase-cli arguments (a string is split into words like a shell does)."),
        _p("retries", _maybe("int"), "How many times to restart the command when it fails."),
    ),
    base="polytope/couchbase",
    build=_build_couchbase_cli,
    runs_to_completion=True,
)


# The couchbase jobs below keep the cluster address and credentials in the container's environment
# (the password as a secret) and refer to them from the script, so they stay off the command line.

COUCHBASE_SERVICES = ("data", "index", "query", "fts", "eventing", "analytics", "backup")


def _retry_script(what: str, setup: List[str], attempt: List[str], retries: int, delay: int) -> str:
    """``sh`` script: ``setup``, then the function ``attempt`` until it succeeds, at most
    ``retries`` more times with ``delay`` seconds between attempts."""
    lines = list(setup)
    lines.append("attempt() {")
    lines += [f"  {line}" for line in attempt]
    lines.append("}")
    lines += [
        "tries=0",
        "until attempt; do",
        "  tries=$((tries + 1))",
        f'  if [ "$tries" -gt {int(retries)} ]; then',
        f"    echo {shlex.quote(what + ' failed after')} \"$tries\" attempts",
        "    exit 1",
        "  fi",
        f"  echo {shlex.quote(what + ' failed, retrying in ' + str(int(delay)) + 's:')} \"$tries\" of {int(retries)}",
        f"  sleep {int(delay)}",
        "done",
    ]
    return "\n".join(lines) + "\n"


def _cb_job(p: dict, env: List[dict], script: str) -> dict:
    base_env = [
        _var("CB_CLUSTER", p.get("cluster")),
        _var("CB_USERNAME", p.get("username")),
        _var("CB_PASSWORD", p.get("password"), secret=True),
    ]
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "cmd": ["sh", "-c", script],
            "env": _env(base_env, env),
            "services": [],
        }
    )


_CB_AUTH = '-c "$CB_CLUSTER" -u "$CB_USERNAME" -p "$CB_PASSWORD"'


def _init_cluster_flags(p: dict) -> List[str]:
    services = [service for service in p.get("services") or () if service is not None]
    _require(bool(services), "polytope/couchbase!init-cluster needs at least one service")
    unknown = sorted(set(services) - set(COUCHBASE_SERVICES))
    _require(not unknown, f"polytope/couchbase!init-cluster: unknown Couchbase service {', '.join(unknown)}")
    flags = ["--services", ",".join(services)]
    quotas = (
        ("data", "ram-quota", "--cluster-ramsize"),
        ("index", "index-ram-quota", "--cluster-index-ramsize"),
        ("fts", "fts-ram-quota", "--cluster-fts-ramsize"),
        ("eventing", "eventing-ram-quota", "--cluster-eventing-ramsize"),
        ("analytics", "analytics-ram-quota", "--cluster-analytics-ramsize"),
    )
    for service, param, flag in quotas:
        if service in services:
            flags += [flag, str(p.get(param))]
    if p.get("cluster-name") is not None:
        flags += ["--cluster-name", p["cluster-name"]]
    return flags


def _build_couchbase_init_cluster(p: dict) -> dict:
    flags = " ".join(shlex.quote(flag) for flag in _init_cluster_flags(p))
    attempt = [
        f"if couchbase-cli server-list {_CB_AUTH} >/dev/null 2>&1; then",
        '  echo "Couchbase cluster $CB_CLUSTER is already initialized"',
        "  return 0",
        "fi",
        'couchbase-cli cluster-init -c "$CB_CLUSTER" --cluster-username "$CB_USERNAME" \\',
        f'  --cluster-password "$CB_PASSWORD" {flags}',
    ]
    script = _retry_script("Initializing the Couchbase cluster", [], attempt, p["retries"], p["retry-delay"])
    return _cb_job(p, [], script)


_CB_JOB_PARAMS = (
    _p("image", _default("str", COUCHBASE_IMAGE), "The Couchbase image that provides the command-line tools."),
    _p("cluster", _default("str", "couchbase:8091"), "The cluster's address (host:port or a URL)."),
    _p("username", _default("str", "admin"), "The administrator's username."),
    _p("password", "str", "The administrator's password (passed as a secret environment variable)."),
    _p("retries", _default("int", 10), "How many more times to try when an attempt fails (0: try once)."),
    _p("retry-delay", _default("int", 3), "Seconds to wait between attempts."),
)

COUCHBASE_INIT_CLUSTER = LibraryModule(
    ref="polytope/couchbase!init-cluster",
    info="Initializes a Couchbase cluster (administrator, services, memory quotas) unless it already is, and exits.",
    params=_CB_JOB_PARAMS
    + (
        _p("id", _default("str", "couchbase-init-cluster"), "The container's id."),
        _p(
            "services",
            _default(["str"], ["data", "index", "query"]),
            "The Couchbase services to run (data, index, query, fts, eventing, analytics, backup).",
        ),
        _p("ram-quota", _default("int", 512), "The data service's memory quota in MB."),
        _p("index-ram-quota", _default("int", 256), "The index service's memory quota in MB (with index)."),
        _p("fts-ram-quota", _default("int", 256), "The search service's memory quota in MB (with fts)."),
        _p("eventing-ram-quota", _default("int", 256), "The eventing service's memory quota in MB (with eventing)."),
        _p(
            "analytics-ram-quota",
            _default("int", 1024),
            "The analytics service's memory quota in MB (with analytics).",
        ),
        _p("cluster-name", _maybe("str"), "A name for the cluster."),
    ),
    base=CONTAINER_REF,
    build=_build_couchbase_init_cluster,
    runs_to_completion=True,
)


def _build_couchbase_create_bucket(p: dict) -> dict:
    flags = ["--bucket-type", p.get("type"), "--bucket-ramsize", str(p.get("ram-quota"))]
    if p.get("replicas") is not None:
        flags += ["--bucket-replica", str(p["replicas"])]
    if p.get("flush"):
        flags += ["--enable-flush", "1"]
    attempt = [
        f'if couchbase-cli bucket-list {_CB_AUTH} 2>/dev/null | grep -qxF "$CB_BUCKET"; then',
        '  echo "Couchbase bucket $CB_BUCKET already exists"',
        "  return 0",
        "fi",
        f'couchbase-cli bucket-create {_CB_AUTH} --bucket "$CB_BUCKET" \\',
        "  " + " ".join(shlex.quote(flag) for flag in flags) + " --wait",
    ]
    script = _retry_script("Creating the Couchbase bucket", [], attempt, p["retries"], p["retry-delay"])
    return _cb_job(p, [_var("CB_BUCKET", p.get("name"))], script)


COUCHBASE_CREATE_BUCKET = LibraryModule(
    ref="polytope/couchbase!create-bucket",
    info="Creates a Couchbase bucket unless it already exists, and exits.",
    params=_CB_JOB_PARAMS
    + (
        _p("id", _default("str", "couchbase-create-bucket"), "The container's id."),
        _p("name", "str", "The bucket's name."),
        _p("type", _default(["enum", "couchbase", "ephemeral", "memcached"], "couchbase"), "The bucket's type."),
        _p("ram-quota", _default("int", 256), "The bucket's memory quota in MB."),
        _p(
            "replicas",
            _maybe("int"),
            "How many replicas of the bucket's data to keep; without it, Couchbase's default.",
        ),
        _p("flush", _default("bool", False), "Whether flushing the bucket (deleting every item) is allowed."),
    ),
    base=CONTAINER_REF,
    build=_build_couchbase_create_bucket,
    runs_to_completion=True,
)


def _cbq_engine(cluster: str) -> str:
    if "://" in cluster:
        return cluster
    if ":" in cluster:
        return f"http://{cluster}"
    return f"http://{cluster}:8091"


def _build_couchbase_cbq(p: dict) -> dict:
    setup = ["statements=$(mktemp)", 'printf "%s\\n" "$CB_SCRIPT" > "$statements"']
    attempt = [
        'cbq -q -e "$CB_ENGINE" -u "$CB_USERNAME" -p "$CB_PASSWORD" --exit-on-error -f "$statements"',
    ]
    script = _retry_script("Running the SQL++ statements", setup, attempt, p["retries"], p["retry-delay"])
    env = [_var("CB_ENGINE", _cbq_engine(p["cluster"])), _var("CB_SCRIPT", p.get("script"))]
    return _cb_job(p, env, script)


COUCHBASE_CBQ = LibraryModule(
    ref="polytope/couchbase!cbq",
    info="Runs SQL++ (N1QL) statements against a Couchbase cluster with cbq, stopping at the first error, and exits.",
    params=tuple(
        (
            _p("cluster", _default("str", "couchbase"), "The cluster's address: a host, host:port, or a URL.")
            if param["id"] == "cluster"
            else param
        )
        for param in _CB_JOB_PARAMS
    )
    + (
        _p("id", _default("str", "couchbase-cbq"), "The container's id."),
        _p("script", "str", "The SQL++ statements to run, each ending with a semicolon."),
    ),
    base=CONTAINER_REF,
    build=_build_couchbase_cbq,
    runs_to_completion=True,
)


# --------------------------------------------------------------------------------------------------
# kong

KONG_IMAGE = "public.ecr.aws/docker/library/kong:3.6.1"
KONG_CONFIG = "/usr/local/kong/declarative/kong.yml"


def _build_kong(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "cmd": _words(p.get("cmd")),
            "env": _env(p.get("env")),
            "mounts": _mounts(p.get("mounts")),
            "services": _services(p.get("services")),
            "user": p.get("user"),
        }
    )


KONG = LibraryModule(
    ref="polytope/kong",
    info="Runs Kong Gateway.",
    params=(
        _p("image", _default("str", KONG_IMAGE), "The Kong image to run."),
        _p("id", _default("str", "kong"), "The container's id."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, Kong Gateway."),
        _p("port", _default("int", 3000), "The port Kong serves on (used by the simple variant)."),
        _p("env", ENV, "Environment variables for Kong (KONG_...)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("user", _maybe(["either", "int", "str"]), "The user (name or UID) to run as."),
        _p("services", SERVICES, "The services to expose."),
    ),
    base=CONTAINER_REF,
    build=_build_kong,
)

_KONG_START = "/docker-entrypoint.sh kong docker-start"

# Restart Kong whenever the declarative config file's modification time changes; pass stop signals on.
_KONG_AUTORELOAD = "\n".join(
    [
        f"conf={KONG_CONFIG}",
        'mtime() { stat -c %Y "$conf"; }',
        f"launch() {{ {_KONG_START} & kong_pid=$!; }}",
        "for sig in TERM INT QUIT; do",
        '  trap "kill -$sig \\$kong_pid; wait \\$kong_pid; exit \\$?" $sig',
        "done",
        "seen=$(mtime)",
        "launch",
        "while sleep 1; do",
        '  if ! kill -0 "$kong_pid" 2>/dev/null; then wait "$kong_pid"; exit $?; fi',
        "  now=$(mtime)",
        '  if [ "$now" != "$seen" ]; then',
        '    echo "$conf changed: restarting Kong"',
        '    kill -TERM "$kong_pid"; wait "$kong_pid"',
        "    seen=$now",
        "    launch",
        "  fi",
        "done",
    ]
)


def _kong_simple_cmd(plugins: List[dict], autoreload: bool) -> Optional[List[str]]:
    if not plugins and not autoreload:
        return None  # the image's own command starts Kong
    lines = []
    if plugins:
        steps = ["git config --global advice.detachedHead false"]
        steps += [f"luarocks install {shlex.quote(pl['package'])} {shlex.quote(str(pl['version']))}" for pl in plugins]
        # Kong's workers run as the kong user: let them write the container's log streams
        steps.append("chmod a+w /dev/stdout /dev/stderr")
        lines.append(" && ".join(steps) + " || exit 1")
    lines.append(_KONG_AUTORELOAD if autoreload else f"exec {_KONG_START}")
    return ["sh", "-c", "\n".join(lines)]


def _build_kong_simple(p: dict) -> dict:
    plugins = [plugin for plugin in p.get("plugins") or () if plugin is not None]
    env = _env(
        [
            _var("KONG_DATABASE", "off"),
            _var("KONG_DECLARATIVE_CONFIG", KONG_CONFIG),
            _var("KONG_LOG_LEVEL", p.get("log-level")),
            _var("KONG_PLUGINS", ",".join(["bundled"] + [plugin["name"] for plugin in plugins])),
            _var("KONG_PROXY_LISTEN", f"0.0.0.0:{p.get('port')}"),
        ],
        p.get("env"),
    )
    return _compact(
        {
            "image": p.get("image"),
            "cmd": _kong_simple_cmd(plugins, bool(p.get("autoreload"))),
            "env": env,
            "mounts": [{"source": p["config-file"], "path": KONG_CONFIG}],
            "port": p.get("port"),
            "services": p.get("services"),
            "user": 0 if plugins else None,
        }
    )


KONG_SIMPLE = LibraryModule(
    ref="polytope/kong!simple",
    info="Runs Kong Gateway without a database, from a declarative config file, with optional plugins.",
    params=(
        _p("port", _default("int", 3000), "The port Kong's proxy listens on."),
        _p(
            "plugins",
            _maybe([{"name": "str", "version": "str", "package": "str"}]),
            "Plugins to install with luarocks before Kong starts (then Kong starts as root).",
        ),
        _p("config-file", "mount-source", "Kong's declarative configuration (YAML)."),
        _p("autoreload", _default("bool", False), "Restart Kong whenever the config file changes."),
        _p("log-level", _default("str", "info"), "Kong's log level."),
        _p("env", ENV, "More environment variables for Kong; they win over the ones this module sets."),
        _p(
            "services",
            _default(["service-spec"], [{"id": "kong", "ports": [{"port": 3000, "protocol": "http"}]}]),
            "The services to expose.",
        ),
        _p("image", _default("str", KONG_IMAGE), "The Kong image to run (added here; real files pass it)."),
    ),
    base="polytope/kong",
    build=_build_kong_simple,
)


# --------------------------------------------------------------------------------------------------
# redpanda

REDPANDA_IMAGE = "docker.redpanda.com/redpandadata/redpanda:v23.3.11"
REDPANDA_LOG_LEVELS = ["enum", "trace", "debug", "info", "warn", "error"]


def _build_redpanda(p: dict) -> dict:
    level = p.get("root-log-level") or p.get("log-level")
    return _compact(
        {
            "id": "redpanda",
            "image": p.get("image"),
            "restart": _restart(p.get("restart")),
            "cmd": [
                "redpanda",
                "start",
                "--kafka-addr=0.0.0.0:9092",
                "--advertise-kafka-addr=redpanda:9092",
                "--pandaproxy-addr=0.0.0.0:8082",
                "--advertise-pandaproxy-addr=redpanda:8082",
                "--rpc-addr=0.0.0.0:33145",
                "--advertise-rpc-addr=redpanda:33145",
                "--schema-registry-addr=0.0.0.0:8081",
                "--mode=dev-container",
                "--smp=1",
                f"--default-log-level={level}",
            ],
            "mounts": _mounts(_mount(p.get("data-volume"), "/var/lib/redpanda/data")),
            "services": [
                _service(
                    "redpanda",
                    {"port": 9092, "protocol": "tcp", "label": "kafka"},
                    {"port": 8082, "protocol": "http", "label": "pandaproxy"},
                    {"port": 8081, "protocol": "http", "label": "schema-registry"},
                    {"port": 9644, "protocol": "http", "label": "admin-api"},
                    {"port": 33145, "protocol": "tcp", "label": "rpc"},
                )
            ],
        }
    )


REDPANDA = LibraryModule(
    ref="polytope/redpanda",
    info="Runs a single Redpanda (Kafka-compatible) node in development mode.",
    params=(
        _p("image", _default("str", REDPANDA_IMAGE), "The Redpanda image to run."),
        _p("data-volume", _maybe("mount-source"), "Where Redpanda keeps its data (/var/lib/redpanda/data)."),
        _p("log-level", _default(REDPANDA_LOG_LEVELS, "info"), "The default log level."),
        _p("restart", RESTART_ALWAYS, RESTART_INFO + " Default: always."),
        _p(
            "root-log-level",
            _maybe(REDPANDA_LOG_LEVELS),
            "Accepted because real files pass it: when given, it replaces log-level.",
        ),
    ),
    base=CONTAINER_REF,
    build=_build_redpanda,
)


def _redpanda_console_config(p: dict) -> str:
    brokers = ", ".join(json.dumps(f"{b['host']}:{b['port']}") for b in p.get("brokers") or ())
    lines = ["kafka:", f"  brokers: [{brokers}]"]
    if p.get("schema-registry-url") is not None:
        lines += ["  schemaRegistry:", "    enabled: true", f"    urls: [{json.dumps(p['schema-registry-url'])}]"]
    lines += ["server:", f"  listenPort: {p.get('port')}"]
    if p.get("admin-url") is not None:
        lines += ["redpanda:", "  adminApi:", "    enabled: true", f"    urls: [{json.dumps(p['admin-url'])}]"]
    lines += ["logger:", f"  level: {p.get('log-level')}"]
    return "\n".join(lines) + "\n"


REDPANDA_CONSOLE_CONFIG = "/etc/redpanda-console-config.yaml"


def _build_redpanda_console(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "env": [_var("CONFIG_FILEPATH", REDPANDA_CONSOLE_CONFIG)],
            "mounts": [
                {"source": {"type": "string", "data": _redpanda_console_config(p)}, "path": REDPANDA_CONSOLE_CONFIG}
            ],
            "restart": _restart(p.get("restart")),
            "services": [_service("redpanda-console", {"port": p.get("port"), "protocol": "http"})],
        }
    )


REDPANDA_CONSOLE = LibraryModule(
    ref="polytope/redpanda!console",
    info="Runs Redpanda Console, a web UI for a Redpanda or Kafka cluster.",
    params=(
        _p("image", _default("str", "docker.redpanda.com/redpandadata/console:v2.4.5"), "The Console image to run."),
        _p("container-id", _default("str", "redpanda-console"), "The container's id."),
        _p("brokers", _default([HOST_PORT], [{"host": "redpanda", "port": 9092}]), "The brokers to connect to."),
        _p("schema-registry-url", _maybe("str"), "A schema registry to use, if any."),
        _p("admin-url", _maybe("str"), "Redpanda's admin API, if the Console should use it."),
        _p("log-level", _default(["enum", "debug", "info", "warn", "error", "fatal"], "info"), "The log level."),
        _p("port", _default("int", 8079), "The Console's HTTP port."),
        _p("restart", RESTART_ALWAYS, RESTART_INFO + " Default: always."),
    ),
    base=CONTAINER_REF,
    build=_build_redpanda_console,
)


def _build_redpanda_connect(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "mounts": [{"source": p["config-file"], "path": "/connect.yaml"}],
            "restart": _restart(p.get("restart")),
            "services": [_service("redpanda-connect", {"port": p.get("port"), "protocol": "http"})],
        }
    )


REDPANDA_CONNECT = LibraryModule(
    ref="polytope/redpanda!connect",
    info="Runs Redpanda Connect with a pipeline config file.",
    params=(
        _p("image", _default("str", "docker.redpanda.com/redpandadata/connect"), "The Connect image to run."),
        _p("container-id", _default("str", "redpanda-connect"), "The container's id."),
        _p("config-file", "mount-source", "The pipeline configuration (mounted at /connect.yaml)."),
        _p("restart", RESTART_ALWAYS, RESTART_INFO + " Default: always."),
        _p("port", _default("int", 4195), "Connect's HTTP port."),
    ),
    base=CONTAINER_REF,
    build=_build_redpanda_connect,
)


# --------------------------------------------------------------------------------------------------
# kafka

# Kafka's chattiest loggers; the kraft module sets all of them to the root log level.
KAFKA_LOGGERS = (
    "kafka.cluster.Partition",
    "kafka.controller",
    "kafka.coordinator.group.GroupCoordinator",
    "kafka.coordinator.group.GroupMetadata$",
    "kafka.coordinator.group.GroupMetadataManager",
    "kafka.coordinator.transaction.TransactionCoordinator",
    "kafka.coordinator.transaction.TransactionMarkerChannelManager",
    "kafka.log.LogCleaner",
    "kafka.log.LogCleaner$CleanerThread",
    "kafka.log.LogLoader",
    "kafka.log.LogManager",
    "kafka.log.UnifiedLog",
    "kafka.log.UnifiedLog$",
    "kafka.network.ConnectionQuotas",
    "kafka.network.SocketServer",
    "kafka.producer.async.DefaultEventHandler",
    "kafka.raft.KafkaMetadataLog$",
    "kafka.raft.KafkaRaftManager$RaftIoThread",
    "kafka.raft.RaftSendThread",
    "kafka.raft.TimingWheelExpirationService$ExpiredOperationReaper",
    "kafka.server.BrokerLifecycleManager",
    "kafka.server.BrokerToControllerRequestThread",
    "kafka.server.ClientQuotaManager$ThrottledChannelReaper",
    "kafka.server.ControllerServer",
    "kafka.server.DelayedOperationPurgatory$ExpiredOperationReaper",
    "kafka.server.KafkaConfig",
    "kafka.server.KafkaRaftServer",
    "kafka.server.ReplicaAlterLogDirsManager",
    "kafka.server.ReplicaFetcherManager",
    "kafka.server.ReplicaManager$LogDirFailureHandler",
    "kafka.server.SharedServer",
    "kafka.server.metadata.BrokerMetadataPublisher",
    "kafka.server.metadata.DynamicConfigPublisher",
    "kafka.utils.Log4jControllerRegistration$",
    "org.apache.kafka.controller.QuorumController",
    "state.change.logger",
)


def _build_kafka(p: dict) -> dict:
    level = p.get("root-log-level")
    env = _env(
        [
            _var("CLUSTER_ID", "MkU3OEVBNTcwNTJENDM2Qk"),
            _var("KAFKA_NODE_ID", "1"),
            _var("KAFKA_PROCESS_ROLES", "broker,controller"),
            _var(
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
            ),
            _var("KAFKA_LISTENERS", "PLAINTEXT://kafka:29092,CONTROLLER://kafka:29093,PLAINTEXT_HOST://0.0.0.0:9092"),
            _var("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://kafka:29092,PLAINTEXT_HOST://kafka:9092"),
            _var("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT"),
            _var("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
            _var("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@kafka:29093"),
            _var("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
            _var("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"),
            _var("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1"),
            _var("KAFKA_DEFAULT_REPLICATION_FACTOR", "1"),
            _var("KAFKA_LOG4J_ROOT_LOGLEVEL", level),
            _var("KAFKA_LOG4J_LOGGER_KAFKA", level),
            _var("KAFKA_LOG4J_LOGGERS", ",".join(f"{name}={level}" for name in KAFKA_LOGGERS)),
        ],
        p.get("kafka-env"),
    )
    return _compact(
        {
            "id": "kafka",
            "image": p.get("image"),
            "restart": _restart(p.get("restart")),
            "env": env,
            "mounts": _mounts(_mount(p.get("data-volume"), "/var/lib/kafka/data")),
            "services": [_service("kafka", {"port": 9092, "protocol": "tcp"})],
        }
    )


KAFKA = LibraryModule(
    ref="polytope/kafka",
    info="Runs a single Kafka node in KRaft mode (no ZooKeeper), reachable as kafka:9092.",
    params=(
        _p("image", _default("str", "confluentinc/cp-kafka:7.5.1"), "The Kafka image to run."),
        _p("kafka-env", ENV, "More environment variables for Kafka; they win over the ones this module sets."),
        _p("data-volume", _maybe("mount-source"), "Where Kafka keeps its data (/var/lib/kafka/data)."),
        _p("root-log-level", LOG4J_LEVEL, "The Log4J root log level."),
        _p("restart", RESTART_ALWAYS, RESTART_INFO + " Default: always."),
    ),
    base=CONTAINER_REF,
    build=_build_kafka,
)

_BOOTSTRAP = _p(
    "bootstrap-servers",
    _default([HOST_PORT], [{"host": "kafka", "port": 9092}]),
    "The Kafka brokers to connect to, each a host and a port.",
)


def _build_kafka_connect(p: dict) -> dict:
    env = _env(
        [
            _var("CONNECT_BOOTSTRAP_SERVERS", _host_ports(p.get("bootstrap-servers"))),
            _var("CONNECT_GROUP_ID", p.get("group-id")),
            _var("CONNECT_CONFIG_STORAGE_TOPIC", p.get("config-topic")),
            _var("CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR", str(p.get("config-replication-factor"))),
            _var("CONNECT_OFFSET_STORAGE_TOPIC", p.get("offset-topic")),
            _var("CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR", str(p.get("offset-replication-factor"))),
            _var("CONNECT_STATUS_STORAGE_TOPIC", p.get("status-topic")),
            _var("CONNECT_STATUS_STORAGE_REPLICATION_FACTOR", str(p.get("status-replication-factor"))),
            _var("CONNECT_KEY_CONVERTER", p.get("key-converter")),
            _var("CONNECT_VALUE_CONVERTER", p.get("value-converter")),
            _var("CONNECT_REST_ADVERTISED_HOST_NAME", "kafka-connect"),
            _var("CONNECT_REST_PORT", str(p.get("port"))),
            _var("CONNECT_LOG4J_ROOT_LOGLEVEL", p.get("root-log-level")),
        ],
        p.get("env"),
    )
    connectors = [c for c in p.get("connectors") or () if c is not None]
    cmd = None
    if connectors:
        steps = [f"confluent-hub install --no-prompt {shlex.quote(c)}" for c in connectors]
        steps.append("/etc/confluent/docker/run")
        cmd = ["sh", "-c", " && ".join(steps)]
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "env": env,
            "restart": _restart(p.get("restart")),
            "mounts": _mounts(_mount(p.get("data-volume"), "/usr/share/confluent-hub-components")),
            "services": [_service("kafka-connect", {"port": p.get("port"), "protocol": "http"})],
            "cmd": cmd,
        }
    )


_JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"

KAFKA_CONNECT = LibraryModule(
    ref="polytope/kafka!connect",
    info="Runs Kafka Connect, installing the given Confluent Hub connectors first.",
    params=(
        _p("image", _default("str", "confluentinc/cp-kafka-connect:7.5.1"), "The Kafka Connect image to run."),
        _p("container-id", _default("str", "kafka-connect-container"), "The container's id."),
        _p("connectors", ["str"], "Connectors to install from Confluent Hub, each as name:version."),
        _p("data-volume", _maybe("mount-source"), "Where installed connectors are kept (between runs)."),
        _BOOTSTRAP,
        _p("group-id", _default("str", "kafka-connect"), "The Connect cluster's consumer group id."),
        _p("config-topic", _default("str", "kafka-connect-config"), "The topic that stores connector configs."),
        _p("config-replication-factor", _default("int", 1), "Replication factor of the config topic."),
        _p("offset-topic", _default("str", "kafka-connect-offset"), "The topic that stores offsets."),
        _p("offset-replication-factor", _default("int", 1), "Replication factor of the offset topic."),
        _p("status-topic", _default("str", "kafka-connect-status"), "The topic that stores statuses."),
        _p("status-replication-factor", _default("int", 1), "Replication factor of the status topic."),
        _p("key-converter", _default("str", _JSON_CONVERTER), "The converter class for keys."),
        _p("value-converter", _default("str", _JSON_CONVERTER), "The converter class for values."),
        _p("env", ENV, "More environment variables; they win over the ones this module sets."),
        _p("root-log-level", LOG4J_LEVEL, "The Log4J root log level."),
        _p("port", _default("int", 8083), "The REST API's port."),
        _p("restart", RESTART, RESTART_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_kafka_connect,
)


def _build_schema_registry(p: dict) -> dict:
    env = _env(
        [
            _var("SCHEMA_REGISTRY_HOST_NAME", "schema-registry"),
            _var("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", _host_ports(p.get("bootstrap-servers"))),
            _var("SCHEMA_REGISTRY_KAFKASTORE_TOPIC", p.get("topic")),
            _var("SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR", str(p.get("topic-replication-factor"))),
            _var("SCHEMA_REGISTRY_LISTENERS", f"http://0.0.0.0:{p.get('port')}"),
            _var("SCHEMA_REGISTRY_LOG4J_ROOT_LOGLEVEL", p.get("root-log-level")),
        ],
        p.get("env"),
    )
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "env": env,
            "restart": _restart(p.get("restart")),
            "services": [_service("schema-registry", {"port": p.get("port"), "protocol": "http"})],
        }
    )


KAFKA_SCHEMA_REGISTRY = LibraryModule(
    ref="polytope/kafka!schema-registry",
    info="Runs Confluent Schema Registry against a Kafka cluster.",
    params=(
        _p("image", _default("str", "confluentinc/cp-schema-registry:7.5.1"), "The Schema Registry image to run."),
        _p("container-id", _default("str", "schema-registry-container"), "The container's id."),
        _BOOTSTRAP,
        _p("topic", _default("str", "_schemas"), "The topic that stores schemas."),
        _p("topic-replication-factor", _default("int", 1), "Replication factor of that topic."),
        _p("env", ENV, "More environment variables; they win over the ones this module sets."),
        _p("port", _default("int", 8081), "The HTTP port."),
        _p("restart", RESTART_ALWAYS, RESTART_INFO + " Default: always."),
        _p("root-log-level", LOG4J_LEVEL, "The Log4J root log level."),
    ),
    base=CONTAINER_REF,
    build=_build_schema_registry,
)


def _build_control_center(p: dict) -> dict:
    own = [
        _var("CONTROL_CENTER_BOOTSTRAP_SERVERS", _host_ports(p.get("bootstrap-servers"))),
        _var("CONTROL_CENTER_SCHEMA_REGISTRY_URL", p.get("schema-registry-url")),
        _var("CONTROL_CENTER_CONNECT_CONNECT-DEFAULT_CLUSTER", p.get("connect-cluster-url")),
        _var("CONTROL_CENTER_CONNECT_HEALTHCHECK_ENDPOINT", "/connectors"),
        _var("CONTROL_CENTER_REPLICATION_FACTOR", str(p.get("replication-factor"))),
        _var("CONTROL_CENTER_LOG4J_ROOT_LOGLEVEL", p.get("root-log-level")),
    ]
    # a URL that is not given is not set at all (rather than set to the empty string)
    env = _env([entry for entry in own if entry["value"] is not None], p.get("env"))
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "env": env,
            "restart": _restart(p.get("restart")),
            "services": [_service("control-center", {"port": p.get("port"), "protocol": "http"})],
        }
    )


KAFKA_CONTROL_CENTER = LibraryModule(
    ref="polytope/kafka!control-center",
    info="Runs Confluent Control Center, a web UI for Kafka, Connect and Schema Registry.",
    params=(
        _p(
            "image",
            _default("str", "confluentinc/cp-enterprise-control-center:7.5.1"),
            "The Control Center image to run.",
        ),
        _p("container-id", _default("str", "control-center-container"), "The container's id."),
        _BOOTSTRAP,
        _p("connect-cluster-url", _maybe("str"), "A Kafka Connect cluster to show, if any."),
        _p("schema-registry-url", _maybe("str"), "A schema registry to use, if any."),
        _p("env", ENV, "More environment variables; they win over the ones this module sets."),
        _p("replication-factor", _default("int", 1), "Replication factor of Control Center's own topics."),
        _p("root-log-level", LOG4J_LEVEL, "The Log4J root log level."),
        _p("port", _default("int", 9021), "The HTTP port."),
        _p("restart", RESTART_ALWAYS, RESTART_INFO + " Default: always."),
    ),
    base=CONTAINER_REF,
    build=_build_control_center,
)


_SUBMIT_FUNCTION = "\n".join(
    [
        "submit() {",
        "  body=$(mktemp)",
        "  code=$(curl -s -o \"$body\" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \\",
        '    --data-binary @- "$url/$1/config")',
        '  if [ "$code" -lt 200 ] || [ "$code" -ge 300 ]; then',
        '    echo "Kafka Connect refused connector $1 (HTTP $code):"',
        '    cat "$body"',
        "    exit 1",
        "  fi",
        '  echo "Connector $1 submitted"',
        "}",
    ]
)


def _create_connectors_script(p: dict) -> str:
    url = f"http://{p['host']}:{p.get('port')}/connectors"
    lines = [
        f"url={shlex.quote(url)}",
        "trap 'echo \"Stopped before every connector was submitted\"; exit 1' TERM INT",
        "tries=0",
        'until curl -fs -o /dev/null "$url"; do',
        "  tries=$((tries + 1))",
        '  [ $((tries % 10)) -eq 1 ] && echo "Waiting for Kafka Connect at $url"',
        "  sleep 1",
        "done",
        _SUBMIT_FUNCTION,
    ]
    for connector in p.get("connectors") or ():
        if connector is None:
            continue
        name = shlex.quote(_url_quote(str(connector["name"]), safe=""))
        # the body is a quoted here-document: the shell leaves ${...} and quotes in it alone
        lines += [
            f"submit {name} <<'POLYTOPE_CONNECTOR_JSON'",
            json.dumps(connector.get("config") or {}, sort_keys=False),
            "POLYTOPE_CONNECTOR_JSON",
        ]
    return "\n".join(lines) + "\n"


def _build_create_connectors(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "cmd": ["sh", "-c", _create_connectors_script(p)],
        }
    )


KAFKA_CREATE_CONNECTORS = LibraryModule(
    ref="polytope/kafka!create-connectors",
    info="Waits for Kafka Connect's REST API, then creates or updates the given connectors, and exits.",
    params=(
        _p("image", _default("str", "curlimages/curl"), "An image with sh and curl."),
        _p("host", "str", "Kafka Connect's hostname."),
        _p("port", _default("int", 8083), "Kafka Connect's REST port."),
        _p("connectors", [{"name": "str", "config": STR_MAP}], "The connectors, each a name and its config."),
        _p("container-id", _default("str", "create-connectors"), "The container's id (added here)."),
    ),
    base=CONTAINER_REF,
    build=_build_create_connectors,
    runs_to_completion=True,
)


def _build_kcat(p: dict) -> dict:
    return _compact({"image": p.get("image"), "id": p.get("container-id"), "entrypoint": "/bin/bash"})


KAFKA_KCAT = LibraryModule(
    ref="polytope/kafka!kcat",
    info="Opens a bash shell in an image that has kcat, the Kafka command-line client.",
    params=(
        _p("image", _default("str", "confluentinc/cp-kcat:7.5.1"), "The kcat image (added here)."),
        _p("container-id", _default("str", "kcat"), "The container's id (added here)."),
    ),
    base=CONTAINER_REF,
    build=_build_kcat,
)


# --------------------------------------------------------------------------------------------------
# curity


def _build_curity(p: dict) -> dict:
    base_env = [_var("PASSWORD", p.get("password"), secret=True)]
    if p.get("log-level") is not None:
        base_env.append(_var("LOGGING_LEVEL", p.get("log-level")))
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "env": _env(base_env, p.get("env")),
            "mounts": _mounts(
                p.get("mounts"),
                _mount(p.get("config-file"), "/opt/idsvr/etc/init/config.xml"),
                _mount(p.get("license-file"), "/opt/idsvr/etc/init/license/license.json"),
            ),
            "services": [
                _service(
                    "curity",
                    {"port": 6749, "protocol": "https", "label": "admin"},
                    {"port": 8443, "protocol": "https", "label": "api"},
                )
            ],
            "restart": _restart(p.get("restart")),
            "cmd": _words(p.get("cmd")),
        }
    )


CURITY = LibraryModule(
    ref="polytope/curity",
    info="Runs the Curity Identity Server, with optional config and license files.",
    params=(
        _p("image", _default("str", "curity.azurecr.io/curity/idsvr:9.0.1-slim"), "The Curity image to run."),
        _p("id", _default("str", "curity-idsvr"), "The container's id."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, the identity server."),
        _p("password", "str", "The admin user's password (kept out of logs)."),
        _p("env", ENV, "More environment variables; they win over the ones this module sets."),
        _p("config-file", _maybe("mount-source"), "An XML configuration to start from."),
        _p("license-file", _maybe("mount-source"), "The license file."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
        _p("log-level", _default("str", "INFO"), "The server's log level."),
    ),
    base=CONTAINER_REF,
    build=_build_curity,
)


# --------------------------------------------------------------------------------------------------
# ngrok


def _build_ngrok(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "env": _env(p.get("env")),
            "mounts": _mounts(p.get("mounts")),
            "cmd": _words(p.get("cmd")),
            "entrypoint": _words(p.get("entrypoint")),
        }
    )


NGROK = LibraryModule(
    ref="polytope/ngrok",
    info="Runs the ngrok agent with the command you give.",
    params=(
        _p("image", _default("str", "ngrok/ngrok:3-alpine"), "The ngrok image to run."),
        _p("env", ENV, "Environment variables (NGROK_AUTHTOKEN, ...)."),
        _p("cmd", _maybe(COMMAND), "The ngrok command and its arguments."),
        _p("entrypoint", _maybe(COMMAND), "The container's entrypoint."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_ngrok,
)


def _build_ngrok_http(p: dict) -> dict:
    files = [f for f in p.get("config-files") or () if f is not None]
    paths = [f"/tmp/ngrok-{index}.yml" for index in range(len(files))]
    cmd = ["http", "--log", "stdout"]
    for path in paths:
        cmd += ["--config", path]
    cmd.append(f"{p['host']}:{p['port']}")
    token = p.get("auth-token")
    return _compact(
        {
            "cmd": cmd,
            # the token goes in the environment (read by the agent), not on the command line
            "env": [_var("NGROK_AUTHTOKEN", token, secret=True)] if token is not None else None,
            "mounts": [{"source": f, "path": path} for f, path in zip(files, paths)] or None,
        }
    )


NGROK_HTTP = LibraryModule(
    ref="polytope/ngrok!http",
    info="Opens a public ngrok HTTP tunnel to host:port.",
    params=(
        _p("host", "str", "The host to forward traffic to."),
        _p("port", "int", "The port to forward traffic to."),
        _p("config-files", _maybe(["mount-source"]), "ngrok agent configuration files."),
        _p("auth-token", _maybe("str"), "The ngrok auth token (passed as NGROK_AUTHTOKEN, kept out of logs)."),
    ),
    base="polytope/ngrok",
    build=_build_ngrok_http,
)


# --------------------------------------------------------------------------------------------------
# mailpit


def _build_mailpit(p: dict) -> dict:
    volume = p.get("data-volume")
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "env": _env([_var("MP_DATA_FILE", "/data/mailpit.db")] if volume is not None else None, p.get("env")),
            "mounts": _mounts(_mount(volume, "/data"), p.get("mounts")),
            "services": [
                _service(
                    "mailpit",
                    {"port": 1025, "protocol": "tcp", "label": "smtp"},
                    {"port": 8025, "protocol": "http", "label": "ui"},
                )
            ],
            "restart": _restart(p.get("restart")),
            "cmd": _words(p.get("cmd")),
        }
    )


MAILPIT = LibraryModule(
    ref="polytope/mailpit",
    info="Runs Mailpit, an SMTP server that catches mail and shows it in a web UI.",
    params=(
        _p("image", _default("str", "axllent/mailpit:latest"), "The Mailpit image to run."),
        _p("id", _default("str", "mailpit"), "The container's id."),
        _p("data-volume", _maybe("mount-source"), "Where to keep the mail (mounted at /data); without it, in memory."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, Mailpit."),
        _p("env", ENV, "Environment variables (MP_...)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
        _p("log-level", _default("str", "INFO"), "Accepted for compatibility; Mailpit does not use it."),
    ),
    base=CONTAINER_REF,
    build=_build_mailpit,
)


# --------------------------------------------------------------------------------------------------
# nginx


def _nginx_image(image: str) -> str:
    # A bare tag ("1.25", "alpine") means that tag of the nginx image; anything else is a full reference.
    if "/" not in image and ":" not in image and "@" not in image and image != "nginx":
        return f"nginx:{image}"
    return image


def _build_nginx(p: dict) -> dict:
    return _compact(
        {
            "image": _nginx_image(p["image"]),
            "id": p.get("id"),
            "mounts": _mounts(p.get("mounts")),
            "services": _services(p.get("services")),
        }
    )


NGINX = LibraryModule(
    ref="polytope/nginx",
    info="Runs the nginx web server.",
    params=(
        _p(
            "image",
            _default("str", "public.ecr.aws/nginx/nginx:1.25"),
            "The nginx image: a full reference, or just a tag of the nginx image.",
        ),
        _p("id", _default("str", "nginx"), "The container's id."),
        _p(
            "services",
            _default(["service-spec"], [{"id": "nginx", "ports": [{"port": 80, "protocol": "http"}]}]),
            "The services to expose.",
        ),
        _p("mounts", MOUNTS, MOUNTS_INFO + " (Site files go in /usr/share/nginx/html.)"),
    ),
    base=CONTAINER_REF,
    build=_build_nginx,
)


# --------------------------------------------------------------------------------------------------
# redis (this collection's definitions: Polytope's public reference does not document them)

REDIS_IMAGE = "public.ecr.aws/docker/library/redis:7.2.4"


def _build_redis(p: dict) -> dict:
    port = p["port"]
    cmd = _words(p.get("cmd"))
    if cmd is None:
        options: List[str] = []
        if port != 6379:
            options += ["--port", str(port)]
        if p.get("append-only"):
            options += ["--appendonly", "yes"]
        cmd = ["redis-server"] + options if options else None
    services = p.get("services")
    if services is None:
        services = [_service(p["id"], {"port": port, "protocol": "tcp"})]
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "cmd": cmd,
            "env": _env(p.get("env")),
            "mounts": _mounts(_mount(p.get("data-volume"), "/data"), p.get("mounts")),
            "services": _services(services),
            "restart": _restart(p.get("restart")),
        }
    )


REDIS = LibraryModule(
    ref="polytope/redis",
    info="Runs a Redis server with its port as a tcp service and an optional data volume.",
    params=(
        _p("image", _default("str", REDIS_IMAGE), "The Redis image to run."),
        _p("id", _default("str", "redis"), "The container's id (and, by default, its service's)."),
        _p("port", _default("int", 6379), "The port Redis listens on."),
        _p("data-volume", _maybe("mount-source"), "Where Redis keeps its snapshots (mounted at /data)."),
        _p("append-only", _default("bool", False), "Whether to log every write to an append-only file as well."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, redis-server (with port and append-only)."),
        _p("env", ENV_NULLABLE, "Environment variables."),
        _p("services", SERVICES, "The services to expose; without them, service id with the port (tcp)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_redis,
)


def _build_redis_insight(p: dict) -> dict:
    port = p["port"]
    services = p.get("services")
    if services is None:
        services = [_service(p["id"], {"port": port, "protocol": "http"})]
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "env": _env([_var("RI_APP_PORT", str(port))] if port != 5540 else None, p.get("env")),
            "mounts": _mounts(_mount(p.get("data-volume"), "/data"), p.get("mounts")),
            "services": _services(services),
            "restart": _restart(p.get("restart")),
        }
    )


REDIS_INSIGHT = LibraryModule(
    ref="polytope/redis!insight",
    info="Runs Redis Insight, a web UI for browsing and managing Redis databases.",
    params=(
        _p("image", _default("str", "redis/redisinsight:latest"), "The Redis Insight image to run."),
        _p("id", _default("str", "redis-insight"), "The container's id (and, by default, its service's)."),
        _p("port", _default("int", 5540), "The port of the web UI."),
        _p("data-volume", _maybe("mount-source"), "Where Redis Insight keeps its settings (mounted at /data)."),
        _p("env", ENV_NULLABLE, "Environment variables (RI_...)."),
        _p("services", SERVICES, "The services to expose; without them, service id with the port (http)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_redis_insight,
)


# --------------------------------------------------------------------------------------------------
# caddy (this collection's definition: Polytope's public reference does not document it)

CADDY_IMAGE = "public.ecr.aws/docker/library/caddy:2.7"


def _build_caddy(p: dict) -> dict:
    services = p.get("services")
    if services is None:
        services = [_service(p["id"], {"port": 80, "protocol": "http"}, {"port": 443, "protocol": "https"})]
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("id"),
            "cmd": _words(p.get("cmd")),
            "env": _env(p.get("env")),
            "mounts": _mounts(
                _mount(p.get("config"), "/etc/caddy/Caddyfile"),
                _mount(p.get("site"), "/usr/share/caddy"),
                _mount(p.get("data-volume"), "/data"),
                p.get("mounts"),
            ),
            "services": _services(services),
            "restart": _restart(p.get("restart")),
        }
    )


CADDY = LibraryModule(
    ref="polytope/caddy",
    info="Runs the Caddy web server, with an optional Caddyfile and site directory.",
    params=(
        _p("image", _default("str", CADDY_IMAGE), "The Caddy image to run."),
        _p("id", _default("str", "caddy"), "The container's id (and, by default, its service's)."),
        _p("config", _maybe("mount-source"), "A Caddyfile (mounted at /etc/caddy/Caddyfile); without it, the image's."),
        _p("site", _maybe("mount-source"), "Files to serve (mounted at /usr/share/caddy, the image's site root)."),
        _p("data-volume", _maybe("mount-source"), "Where Caddy keeps certificates and other state (mounted at /data)."),
        _p("cmd", _maybe(COMMAND), "The command to run; without one, caddy run with /etc/caddy/Caddyfile."),
        _p("env", ENV_NULLABLE, "Environment variables."),
        _p("services", SERVICES, "The services to expose; without them, service id with 80 (http) and 443 (https)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("restart", RESTART, RESTART_INFO),
    ),
    base=CONTAINER_REF,
    build=_build_caddy,
)


# --------------------------------------------------------------------------------------------------
# jupyter


def _build_jupyter(p: dict) -> dict:
    requirements = p.get("requirements")
    if requirements is not None:
        cmd: Any = ["bash", "-c", "pip install -r /requirements && start-notebook.sh"]
    else:
        cmd = "start-notebook.sh"
    services = p.get("services")
    if services is None:
        services = [_service("jupyter", {"port": 8888, "protocol": "http"})]
    return _compact(
        {
            "image": p.get("image"),
            "mounts": _mounts(
                _mount(p.get("code"), "/home/jovyan/code"),
                p.get("mounts"),
                _mount(requirements, "/requirements"),
            ),
            "datasets": p.get("datasets"),
            "env": _env([_var("DOCKER_STACKS_JUPYTER_CMD", "notebook")], p.get("env")),
            "services": _services(services),
            "cmd": cmd,
            "user": 0,
        }
    )


JUPYTER = LibraryModule(
    ref="polytope/jupyter",
    info="Runs a Jupyter notebook server, optionally installing a requirements file first.",
    params=(
        _p("image", _default("docker-image", "jupyter/base-notebook"), "The Jupyter image to run."),
        _p("code", _maybe("mount-source"), "Code to use from the notebook (mounted at /home/jovyan/code)."),
        _p("mounts", MOUNTS, MOUNTS_INFO),
        _p("env", ENV_NULLABLE, "Environment variables."),
        _p("requirements", _maybe("mount-source"), "A requirements.txt to install with pip before the server starts."),
        _p(
            "datasets",
            _maybe([{"path": "absolute-path", "sink": "dataset-sink"}]),
            "Paths in the container to store as datasets.",
        ),
        _p(
            "services",
            SERVICES,
            "The services to expose; without them, port 8888 as service jupyter (added here; real files pass it).",
        ),
    ),
    base=CONTAINER_REF,
    build=_build_jupyter,
)


# --------------------------------------------------------------------------------------------------
# tensorboard


def _build_tensorboard(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "mounts": [{"source": p["logs"], "path": "/logs"}],
            "services": [_service("tensorboard", {"port": 6006, "protocol": "http"})],
            "cmd": ["tensorboard", "--logdir=/logs", "--bind_all"],
        }
    )


TENSORBOARD = LibraryModule(
    ref="polytope/tensorboard",
    info="Runs TensorBoard on a directory of training logs.",
    params=(
        _p("image", _default("docker-image", "tensorflow/tensorflow:latest"), "An image with TensorBoard."),
        _p("logs", "mount-source", "The logs to show (mounted at /logs)."),
    ),
    base=CONTAINER_REF,
    build=_build_tensorboard,
)


# --------------------------------------------------------------------------------------------------
# hello-world


def _build_hello_world(p: dict) -> dict:
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "cmd": ["echo", p.get("message")],
            "tty": False,
            "no_stdin": True,
        }
    )


HELLO_WORLD = LibraryModule(
    ref="polytope/hello-world",
    info="Prints a message to the log and exits.",
    params=(
        _p("message", _default("str", "Hello world!"), "The message to print."),
        _p("image", _default("docker-image", "busybox:latest"), "Any image with echo (added here)."),
        _p("container-id", _default("str", "hello-world"), "The container's id (added here)."),
    ),
    base=CONTAINER_REF,
    build=_build_hello_world,
    runs_to_completion=True,
)


# --------------------------------------------------------------------------------------------------
# pulumi-cli


def _build_pulumi(p: dict) -> dict:
    token = p.get("access-token")
    base_env = [_var("PULUMI_ACCESS_TOKEN", token if token is not None else "unset", secret=token is not None)]
    if p.get("backend-url") is not None:
        base_env.append(_var("PULUMI_BACKEND_URL", p.get("backend-url")))
    command = p.get("command")
    return _compact(
        {
            "image": p.get("image"),
            "id": "pulumi-cli",
            "env": _env(base_env, p.get("env")),
            "mounts": _mounts(p.get("mounts")),
            "entrypoint": "bash",
            "cmd": ["-c", command] if command is not None else None,
        }
    )


PULUMI_CLI = LibraryModule(
    ref="polytope/pulumi-cli",
    info="Runs the Pulumi CLI in a bash shell, or one command, with your code at /code.",
    params=(
        _p("image", _default("str", "public.ecr.aws/pulumi/pulumi:3.109.0"), "The Pulumi image to run."),
        _p("command", _maybe("str"), "A bash command line to run; without it, an interactive bash."),
        _p("access-token", _maybe("str"), "The Pulumi access token (kept out of logs)."),
        _p("env", ENV, "More environment variables; they win over the ones this module sets."),
        _p(
            "mounts",
            _default([MOUNT], [{"source": {"type": "repo", "path": "/"}, "path": "/code"}]),
            "What to mount; by default the project's own directory at /code.",
        ),
        _p("backend-url", _maybe("str"), "A self-hosted Pulumi backend (PULUMI_BACKEND_URL)."),
    ),
    base=CONTAINER_REF,
    build=_build_pulumi,
)


# --------------------------------------------------------------------------------------------------
# create-project


def _create_project_script(template: str, name: str) -> str:
    return "\n".join(
        [
            f"d={shlex.quote(name)}",
            'if [ -e "$d" ]; then',
            '  echo "WARNING: $d already exists"',
            '  for i in $(seq 1 20); do if [ ! -e "$d-$i" ]; then d="$d-$i"; break; fi; done',
            '  if [ -e "$d" ]; then echo "No free directory name next to $d" >&2; exit 1; fi',
            "fi",
            'echo "Creating the project in $d"',
            f'cp -r /templates/{shlex.quote(template)} "$d"',
            'git init -q --initial-branch=main "$d"',
            'echo "Done: cd into $d and run its stack template"',
        ]
    )


def _build_create_project(p: dict) -> dict:
    template = p.get("template")
    name = p.get("name") or template
    return _compact(
        {
            "image": p.get("image"),
            "id": p.get("container-id"),
            "entrypoint": ["sh", "-c"],
            "cmd": [_create_project_script(template, name)],
            "mounts": [
                {"source": p["templates"], "path": "/templates"},
                {"source": {"type": "host", "path": "."}, "path": "/data"},
            ],
            "workdir": "/data",
            "user": p.get("user"),
        }
    )


CREATE_PROJECT = LibraryModule(
    ref="polytope/create-project",
    info="Copies a project template into a new directory of the project directory and makes it a git repository.",
    params=(
        _p("template", _default(["enum", "webapp", "ml-app", "chatbot"], "webapp"), "The template to copy."),
        _p("name", _maybe("str"), "The new directory's name; without it, the template's name."),
        _p(
            "templates",
            "mount-source",
            "Where the templates are: a directory with one subdirectory per template (added here: "
            "Polytope's own template repository is not reachable from this collection).",
        ),
        _p("user", _maybe(["either", "int", "str"]), "The user (name or UID) to create the files as (added here)."),
        _p("image", _default("docker-image", "alpine/git"), "An image with sh, cp and git (added here)."),
        _p("container-id", _default("str", "create-project"), "The container's id (added here)."),
    ),
    base=CONTAINER_REF,
    build=_build_create_project,
    runs_to_completion=True,
)


# --------------------------------------------------------------------------------------------------
# build-image


def _build_build_image(p: dict) -> dict:
    tags = [tag for tag in p.get("tags") or () if tag is not None]
    sources = [dict(item) for item in p.get("sources") or () if item is not None]
    _require(bool(tags), "polytope/build-image needs at least one tag")
    _require(bool(sources), "polytope/build-image needs at least one source")
    context = None
    if len(sources) == 1 and sources[0].get("path") in ("/", ""):
        context = sources[0]["source"]
    return _compact(
        {
            "tags": tags,
            "sources": sources,
            "context": context,
            "dockerfile": p.get("dockerfile") or "Dockerfile",
            "labels": dict(p["labels"]) if p.get("labels") else None,
            "target": p.get("target"),
        }
    )


BUILD_IMAGE = LibraryModule(
    ref=BUILD_IMAGE_REF,
    info="Builds a container image on the engine from source files, under the given tags.",
    params=(
        _p("tags", ["str"], "The tags to give the image (name:tag)."),
        _p("sources", [MOUNT], "What makes up the build context: each source placed at a path in it (/ = the root)."),
        _p("dockerfile", _default("str", "Dockerfile"), "The Dockerfile's path inside the context."),
        _p("labels", _maybe(STR_MAP), "Labels to put on the image."),
        _p("target", _maybe("str"), "The stage to build, for a multi-stage Dockerfile."),
    ),
    base=BUILD_IMAGE_REF,
    build=_build_build_image,
    runs_to_completion=True,
)


# --------------------------------------------------------------------------------------------------
# Registry

_ALL = (
    PYTHON,
    PYTHON_SIMPLE,
    NODE,
    POSTGRES,
    POSTGRES_SIMPLE,
    POSTGRES_PSQL,
    COUCHBASE,
    COUCHBASE_CLI,
    COUCHBASE_INIT_CLUSTER,
    COUCHBASE_CREATE_BUCKET,
    COUCHBASE_CBQ,
    KONG,
    KONG_SIMPLE,
    REDPANDA,
    REDPANDA_CONSOLE,
    REDPANDA_CONNECT,
    KAFKA,
    KAFKA_CONNECT,
    KAFKA_SCHEMA_REGISTRY,
    KAFKA_CONTROL_CENTER,
    KAFKA_CREATE_CONNECTORS,
    KAFKA_KCAT,
    CURITY,
    NGROK,
    NGROK_HTTP,
    MAILPIT,
    NGINX,
    REDIS,
    REDIS_INSIGHT,
    CADDY,
    JUPYTER,
    TENSORBOARD,
    HELLO_WORLD,
    PULUMI_CLI,
    CREATE_PROJECT,
    BUILD_IMAGE,
)

MODULES: Dict[str, LibraryModule] = {module.ref: module for module in _ALL}

# The id of each library's default variant: `polytope/kafka!kafka-kraft` is `polytope/kafka`.
_DEFAULT_VARIANTS = {
    "polytope/build-image": "build-image",
    "polytope/container": "container",
    "polytope/couchbase": "couchbase",
    "polytope/create-project": "create-project",
    "polytope/curity": "idsvr",
    "polytope/hello-world": "hello-world",
    "polytope/jupyter": "jupyter",
    "polytope/kafka": "kafka-kraft",
    "polytope/kong": "kong",
    "polytope/mailpit": "mailpit",
    "polytope/nginx": "nginx",
    "polytope/ngrok": "ngrok",
    "polytope/node": "node",
    "polytope/postgres": "postgres",
    "polytope/pulumi-cli": "pulumi-cli",
    "polytope/python": "python",
    "polytope/redis": "redis",
    "polytope/redpanda": "redpanda",
    "polytope/repl": "repl",
    "polytope/send-slack-message": "send-slack-message",
    "polytope/tensorboard": "tensorboard",
    "polytope/caddy": "caddy",
}

_CODE_ONLY = (
    "in Polytope it is a program run by Polytope's own runner rather than a container, "
    "so polytope.core cannot run it"
)

UNAVAILABLE: Dict[str, str] = {
    "polytope/repl": _CODE_ONLY,
    "polytope/send-slack-message": _CODE_ONLY,
}


def canonical_ref(ref: str) -> str:
    """``polytope/X!<X's default variant>`` as ``polytope/X``; any other reference unchanged."""
    if not isinstance(ref, str) or "!" not in ref:
        return ref
    library, variant = ref.split("!", 1)
    if _DEFAULT_VARIANTS.get(library) == variant:
        return library
    return ref


def lookup(ref: str) -> Optional[LibraryModule]:
    """The library module with this reference, or None (also for the primitive polytope/container,
    and for references in :data:`UNAVAILABLE`)."""
    return MODULES.get(canonical_ref(ref))


def unavailable_reason(ref: str) -> Optional[str]:
    """Why this Polytope library reference is not available here, or None if it is not one of those."""
    return UNAVAILABLE.get(canonical_ref(ref))


def unavailable_message(ref: str) -> Optional[str]:
    """A complete error message for a reference in :data:`UNAVAILABLE` (None for any other)."""
    reason = unavailable_reason(ref)
    if reason is None:
        return None
    return (
        f"module {ref} is not available: {reason}. Define a module with id {canonical_ref(ref)!r} "
        "in your polytope.yml (for example built on polytope/container) and it is used instead."
    )


def all_refs() -> List[str]:
    """Every available library reference, in the order of use in real files."""
    return list(MODULES)


def resolve_defaults(module: LibraryModule, args: Optional[dict] = None) -> dict:
    """Every declared parameter of ``module``: the given value, else the default, else None for an
    optional one. Raises StdlibError for a missing required parameter or an undeclared argument.
    No type checks (the template expander does those)."""
    args = dict(args or {})
    declared = [param["id"] for param in module.params]
    unknown = sorted(set(args) - set(declared))
    if unknown:
        raise StdlibError(f"{module.ref} has no parameter {', '.join(unknown)}")
    out = {}
    for param in module.params:
        pid, ptype = param["id"], param["type"]
        value = args.get(pid)
        if value is None:
            if isinstance(ptype, list) and ptype and ptype[0] == "default":
                value = copy.deepcopy(ptype[2])
            elif not (isinstance(ptype, list) and ptype and ptype[0] == "maybe"):
                raise StdlibError(f"{module.ref} needs a value for its parameter {pid}")
        out[pid] = value
    return out


def expand_library(ref: str, args: Optional[dict] = None) -> Tuple[str, dict]:
    """Follow a library module down to its primitive: ``(primitive ref, arguments)``."""
    seen = []
    current = canonical_ref(ref)
    values = dict(args or {})
    while True:
        module = lookup(current)
        if module is None:
            raise StdlibError(unavailable_message(current) or f"{current} is not a library module")
        _require(current not in seen, f"library modules refer to each other in a cycle: {seen}")
        seen.append(current)
        values = module.build(resolve_defaults(module, values))
        current = module.base
        if current in PRIMITIVES:
            return current, values
