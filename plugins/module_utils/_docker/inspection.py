# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the container_info module reads: the replicas of an id or a project, their locks, and, given a
spec, what a run of polytope.core.container would change and why.

Read-only by construction: the engine is only listed and inspected. The "would change" answer is the
container module's own planning (ContainerRun.read, _mapping.compare, _replicas.plan_replicas) run with
check_mode set, so it cannot differ from what the module's check mode reports, and no image is pulled.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    DockerException,
    connection_settings,
    engine_address,
    is_local_engine,
    open_client,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.copies import CopyError, install_copies
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import (
    DEFAULT_STORE,
    DatasetError,
    DatasetStore,
)
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError
from ansible_collections.polytope.core.plugins.module_utils._docker.lock import (
    LABEL_LOCK_EXPIRES,
    LABEL_LOCK_FOR,
    LABEL_LOCK_HOLDER,
    Holder,
    is_stale,
)
from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_FINGERPRINT,
    LABEL_ID,
    LABEL_MANAGED,
    LABEL_PROJECT,
    LABEL_REPLICA,
    MANAGED_BY,
    owner_filters,
)
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import compare
from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import (
    NEXT_SUFFIX,
    PREVIOUS_SUFFIX,
    Observed,
    change_kind,
    observed_from_inspect,
    plan_replicas,
    plan_stop_existing,
    split_name,
)
from ansible_collections.polytope.core.plugins.module_utils._module import resolve_mounts
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import Provisioner
from ansible_collections.polytope.core.plugins.module_utils._rollout.run import ContainerRun, RunOptions
from ansible_collections.polytope.core.plugins.module_utils._services import endpoints, published_host
from ansible_collections.polytope.core.plugins.module_utils._spec import (
    ContainerSpec,
    SpecError,
    is_valid_id,
    parse_spec,
)
from ansible_collections.polytope.core.plugins.module_utils._swarm.option import SWARM

ROLES = {"": "replica", NEXT_SUFFIX: "next", PREVIOUS_SUFFIX: "previous"}
# Docker writes this for a container that never started or never finished.
ZERO_TIME = "0001-01-01T00:00:00Z"


class InspectionError(Exception):
    """The options do not name what to inspect; the message says why."""


def base_name(project: Optional[str], container_id: str) -> str:
    return f"{project}.{container_id}" if project else container_id


def project_filters(project: Optional[str], container_id: Optional[str]) -> dict[str, list[str]]:
    labels = [f"{LABEL_MANAGED}={MANAGED_BY}", f"{LABEL_PROJECT}={project or ''}"]
    if container_id is not None:
        labels.append(f"{LABEL_ID}={container_id}")
    return {"label": labels}


def _time(value: Optional[str]) -> Optional[str]:
    return None if not value or value == ZERO_TIME else value


def published_urls(inspect: dict[str, Any], engine_host: Optional[str]) -> list[str]:
    """Where the published ports are reached, from the engine's bindings alone (protocol tcp or udp)."""
    ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    urls = []
    for key in sorted(ports):
        _port, _slash, protocol = key.partition("/")
        for binding in ports[key] or []:
            if not binding.get("HostPort"):
                continue
            host = published_host(binding.get("HostIp") or "", engine_host)
            if ":" in host:
                host = f"[{host}]"
            url = f"{protocol or 'tcp'}://{host}:{binding['HostPort']}"
            if url not in urls:
                urls.append(url)
    return urls


def replica_entry(inspect: dict[str, Any], engine_host: Optional[str]) -> dict[str, Any]:
    """One container of a spec as the module returns it."""
    config = inspect.get("Config") or {}
    labels = config.get("Labels") or {}
    state = inspect.get("State") or {}
    container_id = labels.get(LABEL_ID, "")
    name = inspect.get("Name", "").lstrip("/")
    parsed = split_name(name, base_name(labels.get(LABEL_PROJECT) or None, container_id))
    number = parsed[0] if parsed else int(labels.get(LABEL_REPLICA) or 0)
    # A container whose name does not fit its labels was renamed by hand; the module does not converge it.
    role = ROLES.get(parsed[1], "stray") if parsed else "stray"
    ports = (inspect.get("NetworkSettings") or {}).get("Ports") or {}
    return {
        "name": name,
        "container": inspect.get("Id"),
        "project": labels.get(LABEL_PROJECT) or None,
        "id": container_id,
        "replica": number,
        "role": role,
        "status": state.get("Status"),
        "running": bool(state.get("Running")),
        "exit_code": int(state.get("ExitCode") or 0),
        "health": (state.get("Health") or {}).get("Status"),
        "started_at": _time(state.get("StartedAt")),
        "finished_at": _time(state.get("FinishedAt")),
        "restart_count": int(inspect.get("RestartCount") or 0),
        "image": config.get("Image"),
        "image_id": inspect.get("Image"),
        "ports": {key: [f"{b.get('HostIp')}:{b.get('HostPort')}" for b in value or []] for key, value in ports.items()},
        "urls": published_urls(inspect, engine_host),
        "fingerprint": labels.get(LABEL_FINGERPRINT),
    }


def lock_entry(inspect: dict[str, Any], now: float, me: Holder) -> dict[str, Any]:
    """A lock container: who holds it, until when, and whether the next run would take it over."""
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    owner = labels.get(LABEL_LOCK_FOR, "")
    project, _slash, container_id = owner.rpartition("/")
    try:
        expires: Optional[str] = datetime.datetime.fromtimestamp(
            float(labels.get(LABEL_LOCK_EXPIRES, "")), datetime.timezone.utc
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        expires = None
    stale = is_stale(labels, now, me)
    return {
        "name": inspect.get("Name", "").lstrip("/"),
        "project": project or None,
        "id": container_id,
        "holder": labels.get(LABEL_LOCK_HOLDER),
        "expires": expires,
        "stale": stale,
        "state": "stale" if stale else "held",
    }


def read_locks(engine: Engine, project: Optional[str], container_id: Optional[str]) -> list[dict[str, Any]]:
    """The locks on the id, or on every id of the project; a run that changes nothing takes none."""
    summaries = engine.containers({"label": [f"{LABEL_MANAGED}={MANAGED_BY}", LABEL_LOCK_FOR]})
    prefix = f"{project or ''}/"
    locks = []
    now, me = time.time(), Holder.me()
    for summary in summaries:
        owner = (summary.get("Labels") or {}).get(LABEL_LOCK_FOR, "")
        if not owner.startswith(prefix) or (container_id is not None and owner != prefix + container_id):
            continue
        inspect = engine.inspect(summary["Id"])
        if inspect is not None:
            locks.append(lock_entry(inspect, now, me))
    return sorted(locks, key=lambda lock: lock["name"])


def read_containers(
    engine: Engine, project: Optional[str], container_id: Optional[str], engine_host: Optional[str]
) -> list[dict[str, Any]]:
    inspects = [engine.inspect(summary["Id"]) for summary in engine.containers(project_filters(project, container_id))]
    entries = [replica_entry(inspect, engine_host) for inspect in inspects if inspect is not None]
    return sorted(entries, key=lambda entry: (entry["id"], entry["replica"], entry["role"] != "replica", entry["name"]))


def would_change(run: ContainerRun) -> dict[str, Any]:
    """What a run of the container module with this spec would do to each replica, and why.

    `run` must have been made with check_mode set: resolve_image then only reads the image id.
    """
    if not run.options.check_mode:
        raise InspectionError("would_change needs a ContainerRun made in check mode")
    spec, options = run.spec, run.options
    active = options.state != "absent" and spec.scaling > 0 and not run.stops_existing_only
    if active:
        run.resolve_image()
    primaries, leftovers = run.read(run.engine.containers(owner_filters(spec)))
    observed = {
        number: observed_from_inspect(
            number, inspect, compare(inspect, spec, run.placement, run.fingerprint, run.image_id or "")
        )
        for number, inspect in primaries.items()
    }
    removals: list[Observed]
    if run.stops_existing_only:
        plans, removals = plan_stop_existing(run.base_name, observed), []
    else:
        plans, removals = plan_replicas(
            options.state, spec.scaling, run.base_name, observed, options.recreate, options.create
        )
    replicas = []
    for plan in plans:
        replicas.append(
            {
                "name": plan.name,
                "replica": plan.replica,
                "exists": plan.current is not None,
                "changes": plan.changes,
                "change": change_kind(plan) if plan.changes else None,
                "actions": list(plan.actions),
                "reasons": list(plan.reasons),
                "kept": list(plan.kept),
            }
        )
    for removal in removals:
        replicas.append(
            {
                "name": removal.name,
                "replica": removal.replica,
                "exists": True,
                "changes": True,
                "change": "removed",
                "actions": ["remove"],
                "reasons": [f"scaling is {spec.scaling}" if options.state != "absent" else "state is absent"],
                "kept": [],
            }
        )
    interrupted = [inspect.get("Name", "").lstrip("/") for _number, _suffix, inspect in leftovers]
    services = [
        endpoint.as_result()
        for number in sorted(primaries)
        if (primaries[number].get("State") or {}).get("Running")
        for endpoint in endpoints(spec, number, primaries[number], run.placement.publish_address, options.engine_host)
    ]
    return {
        "changes": bool(interrupted) or any(replica["changes"] for replica in replicas),
        "fingerprint": run.fingerprint,
        "image_id": run.image_id,
        "replicas": replicas,
        # A replacement or an old replica set aside that a killed run left: the next run repairs it.
        "interrupted": interrupted,
        "services": services,
    }


def identity(project: Optional[str], container_id: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """Check the project and id options; at least one of them names what to inspect."""
    for option, value in (("project", project), ("id", container_id)):
        if value is not None and not is_valid_id(value):
            raise InspectionError(
                f"{option}: {value!r} is not valid; expected 2 to 63 characters of a-z, 0-9, '_' and '-', "
                "starting with a letter or digit"
            )
    if project is None and container_id is None:
        raise InspectionError("give project, id or spec: without them nothing names the replicas to read")
    return project, container_id


def _planned(engine: Engine, spec: ContainerSpec, params: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Build the container module's run exactly as it does, but in check mode, and ask it what would change."""
    local_engine = is_local_engine(settings["docker_host"])
    store = DatasetStore(params.get("dataset_store") or DEFAULT_STORE)
    # Check mode only lists the copies of the controller's files that are missing; it unpacks none.
    pending, _actions = install_copies(params.get("controller_copies"), True)
    plan = resolve_mounts(spec, params, settings, store, pending)
    options = RunOptions(
        state=params.get("state") or "started",
        recreate=bool(params.get("recreate")),
        create=params.get("create"),
        network=params.get("network"),
        publish_address=params.get("publish_address") or "0.0.0.0",
        check_mode=True,
        local_engine=local_engine,
        engine_host=engine_address(settings["docker_host"]),
    )
    run = ContainerRun(engine, spec, options, tuple(plan.binds), Provisioner(engine, spec, plan, store))
    try:
        return would_change(run)
    finally:
        run.background.shutdown(wait=True)


def run_container_info(module: Any) -> None:
    """The container_info module: read, never change; `changed` is always false."""
    params = module.params
    spec_params = params.get("spec")
    project, container_id = params.get("project"), params.get("id")
    spec: Optional[ContainerSpec] = None
    try:
        if spec_params:
            spec = parse_spec(spec_params)
            for secret in spec.secrets:
                module.no_log_values.add(secret)
            for option, given, from_spec in (("project", project, spec.project), ("id", container_id, spec.id)):
                if given is not None and given != from_spec:
                    raise InspectionError(f"{option}: {given!r} is not the spec's {option}, {from_spec!r}")
            project, container_id = spec.project, spec.id
        identity(project, container_id)
        settings = connection_settings(params)
    except SpecError as exc:
        module.fail_json(msg=f"Invalid spec: {exc}", problems=exc.problems, changed=False)
    except InspectionError as exc:
        module.fail_json(msg=str(exc), changed=False)
    if params["orchestrator"] == SWARM:
        # Only a swarm run loads the Swarm backend.
        from ansible_collections.polytope.core.plugins.module_utils._swarm.inspection import (  # pylint: disable=import-outside-toplevel
            run_swarm_info,
        )

        run_swarm_info(module, settings, project, container_id, spec)
        return
    if spec is not None and spec_params.get("orchestrator") == SWARM:
        module.fail_json(msg="orchestrator: the spec runs on swarm; set orchestrator=swarm to read it", changed=False)
    try:
        client = open_client(settings)
    except (DockerException, OSError) as exc:
        module.fail_json(msg=f"Cannot reach the Docker engine at {settings['docker_host']}: {exc}", changed=False)
    engine = Engine(client)
    try:
        containers = read_containers(engine, project, container_id, engine_address(settings["docker_host"]))
        locks = read_locks(engine, project, container_id)
        result: dict[str, Any] = {
            "changed": False,
            "project": project,
            "id": container_id,
            "containers": containers,
            "locks": locks,
            "locked": any(not lock["stale"] for lock in locks),
        }
        if spec is not None:
            result["plan"] = _planned(engine, spec, spec_params, settings)
    except (SpecError, CopyError, DatasetError) as exc:
        module.fail_json(msg=f"Invalid spec: {exc}", changed=False)
    except EngineError as exc:
        module.fail_json(msg=f"Reading the engine at {settings['docker_host']} failed: {exc}", changed=False)
    finally:
        client.close()
    module.exit_json(**result)
