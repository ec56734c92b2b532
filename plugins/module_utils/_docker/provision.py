# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine-side work for mounts and datasets, called by ContainerRun at fixed points of a replica's life.

- prepare(): before a replica is created: its volumes (made, numbered, filled from their source) join the
  create body, and the replica's label records which volumes it got, so a replacement keeps them.
- populate(): after it is created and before it starts: string, dataset and copied project content.
- secure(): before a replica is replaced or removed, or when the module stops it: its datasets are stored,
  exactly once per run of the container.
- release_volumes(): after a replica is removed: its `job`-scoped volumes go too (when nothing uses them).

A volume filled from a source is complete only once its fill marker is gone: a never-started container
named `<volume>.fill`, made before the volume and removed after the fill (which goes through a helper
container, `<volume>.filling`), labelled like the engine lock with its holder and expiry. A run that
finds the marker of a live holder waits for it; one that finds a stale marker (its run was killed)
removes the half-filled volume and makes it anew.

Every step uses engine API calls only, so it works the same with a remote engine.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import threading
import time
import uuid
from typing import Any, BinaryIO, Callable, Optional

from ansible_collections.polytope.core.plugins.module_utils._storage.archives import (
    GzipTarWriter,
    add_container_archive,
    write_placed,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetError, DatasetStore, Version
from ansible_collections.polytope.core.plugins.module_utils._engine import Engine, EngineError, NameTaken
from ansible_collections.polytope.core.plugins.module_utils._docker.lock import (
    LABEL_LOCK_EXPIRES,
    LABEL_LOCK_HOLDER,
    Holder,
    is_stale,
)
from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    LABEL_DATASETS,
    LABEL_ID,
    LABEL_MANAGED,
    LABEL_PROJECT,
    LABEL_REPLICA,
    MANAGED_BY,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import (
    LABEL_HELPER,
    LABEL_VOLUME_ID,
    LABEL_VOLUME_OWNER,
    LABEL_VOLUME_SCOPE,
    LABEL_VOLUMES,
    Content,
    MountPlan,
    VolumePlan,
    candidate_names,
    recorded_volumes,
    volume_base_name,
    volumes_label,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec
from ansible_collections.polytope.core.plugins.module_utils._storage.trees import add_tree

SPOOL_BYTES = 16 * 1024 * 1024
HELPER_VOLUME = "/polytope-volume"
HELPER_SOURCE = "/polytope-source"
NEVER_STARTED = "0001-01-01T00:00:00Z"
FILL_SUFFIX = ".fill"
FILL_HELPER_SUFFIX = ".filling"
# How long a fill marker of a holder on another machine counts as live; a holder on this machine is checked.
FILL_HOLD_SECONDS = 3600
FILL_WAIT_SECONDS = 120.0
FILL_POLL_SECONDS = 0.3


class ProvisionError(Exception):
    """A mount or dataset step failed; the message says which and why."""


def _spooled() -> Any:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # pylint: disable=consider-using-with


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def run_outcome(state: dict[str, Any], stopped_by_module: bool) -> str:
    if stopped_by_module:
        return "terminated"
    return "succeeded" if int(state.get("ExitCode") or 0) == 0 else "failed"


def container_sinks(labels: Optional[dict[str, str]]) -> list[dict[str, Any]]:
    raw = (labels or {}).get(LABEL_DATASETS)
    if not raw:
        return []
    try:
        sinks = json.loads(raw)
    except ValueError:
        return []
    return (
        [sink for sink in sinks if isinstance(sink, dict) and sink.get("dataset") and sink.get("path")]
        if isinstance(sinks, list)
        else []
    )


class Provisioner:
    def __init__(
        self,
        engine: Engine,
        spec: ContainerSpec,
        plan: MountPlan,
        store: DatasetStore,
        dataset_keep: Optional[int] = None,
    ):
        self.engine = engine
        self.spec = spec
        self.plan = plan
        self.store = store
        self.dataset_keep = dataset_keep
        self.stored: list[dict[str, Any]] = []
        self.actions: list[str] = []
        self.warnings: list[str] = []
        self._lock = threading.Lock()

    @property
    def descriptors(self) -> tuple[dict[str, Any], ...]:
        return tuple(self.plan.descriptors)

    # -- before anything changes -------------------------------------------------------------------------
    def check(self) -> None:
        """`create: never` volumes must exist: a clear error before anything changes."""
        missing = []
        for volume in self.plan.volumes:
            if volume.create != "never":
                continue
            replicas = [1] if volume.volume_id else list(range(1, self.spec.scaling + 1))
            for number in replicas:
                name = self._base(volume, number)
                if self.engine.volume(name) is None and name not in missing:
                    missing.append(name)
        if missing:
            raise ProvisionError(
                f"volume {', '.join(missing)} does not exist and its mount says create: never; create it first "
                f"(docker volume create NAME) or use create: when-missing"
            )

    # -- creation ----------------------------------------------------------------------------------------
    def _base(self, volume: VolumePlan, number: int) -> str:
        return volume_base_name(self.spec.project, self.spec.id, number, volume.target, volume.volume_id)

    def _volume_labels(self, volume: VolumePlan, owner: str) -> dict[str, str]:
        return {
            LABEL_MANAGED: MANAGED_BY,
            LABEL_PROJECT: self.spec.project or "",
            LABEL_ID: self.spec.id,
            LABEL_VOLUME_ID: volume.volume_id or "",
            LABEL_VOLUME_SCOPE: volume.scope,
            LABEL_VOLUME_OWNER: owner,
        }

    def _create_volume(self, volume: VolumePlan, name: str, owner: str) -> bool:
        created = self.engine.create_volume(name, self._volume_labels(volume, owner))
        if ((created.get("Labels") or {}).get(LABEL_VOLUME_OWNER)) != owner:
            return False
        self.actions.append(f"created volume {name}")
        return True

    def _make_volume(self, volume: VolumePlan, name: str, owner: str) -> bool:
        """Create the volume; True when this call made it (and filled it), False when it existed."""
        if volume.source is None:
            return self._create_volume(volume, name, owner)
        marker = self._mark_fill(name)
        try:
            if not self._create_volume(volume, name, owner):
                return False
            try:
                self._fill_volume(name, volume.source)
            except (EngineError, DatasetError, ProvisionError, OSError) as exc:
                self.engine.remove_volume(name)
                raise ProvisionError(f"volume {name}: copying its source in failed: {exc}") from exc
            self.actions.append(f"filled volume {name} from its {volume.source.descriptor.get('type')} source")
            return True
        finally:
            self.engine.remove(marker, name + FILL_SUFFIX)

    def _mark_fill(self, name: str) -> str:
        """Make the volume's fill marker, after waiting out (or clearing) another run's; returns its id."""
        body = {
            "Image": self.spec.image,
            "Entrypoint": ["/polytope-fill-marker-never-started"],
            "Cmd": [],
            "Labels": {
                LABEL_MANAGED: MANAGED_BY,
                LABEL_HELPER: "fill-marker",
                LABEL_LOCK_HOLDER: Holder.me().label(),
                LABEL_LOCK_EXPIRES: str(int(time.time() + FILL_HOLD_SECONDS)),
            },
            "HostConfig": {"NetworkMode": "none"},
        }
        while True:
            try:
                return self.engine.create(body, name + FILL_SUFFIX)
            except NameTaken:
                self._wait_for_fill(name)

    def _wait_for_fill(self, name: str) -> bool:
        """Wait while another run fills the volume; True when a killed run left it half-filled (then it is gone)."""
        marker_name = name + FILL_SUFFIX
        deadline = time.monotonic() + FILL_WAIT_SECONDS
        while True:
            marker = self.engine.inspect(marker_name)
            if marker is None:
                return False
            labels = (marker.get("Config") or {}).get("Labels") or {}
            if labels.get(LABEL_MANAGED) != MANAGED_BY or labels.get(LABEL_HELPER) != "fill-marker":
                raise ProvisionError(
                    f"volume {name}: the name {marker_name} is taken by a container that polytope.core did not make; "
                    "rename or remove it"
                )
            if is_stale(labels, time.time(), Holder.me()):
                # The killed run's helper still mounts the volume, so it goes before the volume does.
                self.engine.remove(name + FILL_HELPER_SUFFIX, "volume helper")
                self.engine.remove(marker["Id"], marker_name)
                if self.engine.volume(name) is not None and not self.engine.remove_volume(name):
                    raise ProvisionError(
                        f"volume {name} was only partly filled by a run that was interrupted, and a container uses "
                        "it; remove that container and the volume"
                    )
                self.actions.append(f"removed volume {name}: a run that was interrupted had only partly filled it")
                return True
            if time.monotonic() >= deadline:
                raise ProvisionError(
                    f"volume {name} is being filled by another run ({labels.get(LABEL_LOCK_HOLDER)}) that did not finish "
                    f"within {FILL_WAIT_SECONDS:.0f}s; if that run was killed, remove container {marker_name}"
                )
            time.sleep(FILL_POLL_SECONDS)

    def _complete(self, volume: VolumePlan, name: str) -> bool:
        """Whether the volume exists and holds all of its source."""
        if self.engine.volume(name) is None:
            return False
        return volume.source is None or not self._wait_for_fill(name)

    def _volume_for(
        self, volume: VolumePlan, number: int, replica_name: str, recorded: dict[str, dict[str, str]]
    ) -> str:
        base = self._base(volume, number)
        if volume.create == "never":
            if self.engine.volume(base) is None:
                raise ProvisionError(f"volume {base} does not exist and its mount says create: never")
            return base
        if volume.create == "when-missing":
            if not self._complete(volume, base):
                self._make_volume(volume, base, f"{replica_name}/{uuid.uuid4().hex}")
            return base
        # always: a fresh volume for this replica, kept across its replacements.
        previous = recorded.get(volume.target)
        if previous and previous.get("create") == "always" and previous["name"].startswith(base):
            name = previous["name"]
            if not self._complete(volume, name):
                self._make_volume(volume, name, f"{replica_name}/{uuid.uuid4().hex}")
            return name
        owner = f"{replica_name}/{uuid.uuid4().hex}"
        for name in candidate_names(base):
            if self.engine.volume(name) is not None:
                continue
            if self._make_volume(volume, name, owner):
                return name
        raise ProvisionError(f"no free volume name left for {base}")

    def prepare(self, number: int, replica_name: str, body: dict[str, Any], previous: Optional[dict[str, Any]]) -> None:
        """Add the replica's volumes to a create body (making them as needed) and record them in its labels."""
        if not self.plan.volumes:
            return
        recorded = recorded_volumes(((previous or {}).get("Config") or {}).get("Labels"))
        chosen: dict[str, dict[str, str]] = {}
        with self._lock:
            try:
                for volume in self.plan.volumes:
                    name = self._volume_for(volume, number, replica_name, recorded)
                    chosen[volume.target] = {"name": name, "scope": volume.scope, "create": volume.create}
            except (EngineError, DatasetError, OSError) as exc:
                raise ProvisionError(str(exc)) from exc
        host_config = body.setdefault("HostConfig", {})
        mounts = host_config.setdefault("Mounts", [])
        for target, item in chosen.items():
            mounts.append({"Type": "volume", "Source": item["name"], "Target": target, "ReadOnly": False})
        body.setdefault("Labels", {})[LABEL_VOLUMES] = volumes_label(chosen)

    def _fill_volume(self, name: str, content: Content) -> None:
        mounts = [{"Type": "volume", "Source": name, "Target": HELPER_VOLUME, "ReadOnly": False}]
        if content.kind == "engine-path":
            mounts.append({"Type": "bind", "Source": content.local_path, "Target": HELPER_SOURCE, "ReadOnly": True})
        body = {
            "Image": self.spec.image,
            "Entrypoint": ["/polytope-helper-never-started"],
            "Cmd": [],
            "Labels": {LABEL_MANAGED: MANAGED_BY, LABEL_HELPER: "volume-fill"},
            "HostConfig": {"Mounts": mounts, "NetworkMode": "none"},
        }
        helper = self.engine.create(body, name + FILL_HELPER_SUFFIX)
        try:
            if content.kind == "engine-path":
                stream = self.engine.get_archive(helper, HELPER_SOURCE)
                if stream is None:
                    raise ProvisionError(f"{content.local_path} does not exist on the engine's machine")
                self._put(helper, HELPER_VOLUME, lambda out: self._copy_stream(out, stream))
            else:
                self._put_content(helper, HELPER_VOLUME, content, into_directory=True)
        finally:
            self.engine.remove(helper, "volume helper")

    @staticmethod
    def _copy_stream(out: BinaryIO, stream: Any) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as output:
            add_container_archive(output, stream, None)

    # -- contents ----------------------------------------------------------------------------------------
    def populate(self, container_id: str) -> None:
        """Put the string, dataset and copied project contents into a created container before it starts."""
        try:
            for placed in self.plan.placed:
                self._put_content(container_id, placed.target, placed.content, into_directory=False)
        except (EngineError, DatasetError, OSError) as exc:
            raise ProvisionError(str(exc)) from exc

    def _put(self, container_id: str, directory: str, write: Callable[[BinaryIO], None]) -> None:
        with _spooled() as buffer:
            write(buffer)
            buffer.seek(0)
            # Small archives go as bytes; big ones stream from the spooled file on disk.
            data = buffer if getattr(buffer, "_rolled", False) else buffer.read()
            self.engine.put_archive(container_id, directory, data)

    def _existing_ancestor(self, container_id: str, parts: list[str]) -> int:
        """How many leading components of `parts` exist in the container as a directory."""
        for depth in range(len(parts), 0, -1):
            found = self.engine.path_stat(container_id, "/" + "/".join(parts[:depth]))
            if found is not None:
                return depth
        return 0

    def _put_content(self, container_id: str, target: str, content: Content, into_directory: bool) -> None:
        """Write content at `target`: as the directory's contents, or as the file `target` itself."""
        parts = _parts(target)
        if into_directory:
            base, prefix, file_name = parts, [], None
        elif content.is_file:
            existing = self._existing_ancestor(container_id, parts[:-1])
            base, prefix, file_name = parts[:existing], parts[existing:-1], parts[-1]
        else:
            existing = self._existing_ancestor(container_id, parts)
            base, prefix, file_name = parts[:existing], parts[existing:], None
        directory = "/" + "/".join(base)

        def write(out: BinaryIO) -> None:
            if content.kind == "string":
                with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as output:
                    for depth in range(1, len(prefix) + 1):
                        info = tarfile.TarInfo("/".join(prefix[:depth]))
                        info.type = tarfile.DIRTYPE
                        info.mode = 0o755
                        output.addfile(info)
                    data = (content.data or "").encode("utf-8")
                    info = tarfile.TarInfo("/".join(prefix + [file_name or "data"]))
                    info.size = len(data)
                    info.mode = 0o644
                    info.mtime = int(time.time())
                    output.addfile(info, io.BytesIO(data))
            elif content.kind == "dataset" and content.version is not None:
                version = content.version
                archive = self.store.verified_archive(version)
                write_placed(
                    archive,
                    content.subpath,
                    f"dataset {version.dataset} version {version.number}",
                    out,
                    prefix,
                    file_name,
                )
            elif content.kind == "tree" and content.local_path is not None:
                with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as output:
                    add_tree(output, content.local_path, prefix, file_name)
            else:
                raise ProvisionError(f"{target}: {content.kind} content cannot be copied into a container")

        self._put(container_id, directory, write)

    # -- datasets ----------------------------------------------------------------------------------------
    def secure(
        self, container_id: str, name: str, stop_timeout: int, stopped_by_module: bool = False
    ) -> dict[str, str]:
        """Store the datasets of a container's last run, once; a running container is stopped first.

        Returns the container's labels (empty when it is gone), for release_volumes after its removal.
        """
        inspect = self.engine.inspect(container_id)
        if inspect is None:
            return {}
        labels = (inspect.get("Config") or {}).get("Labels") or {}
        sinks = container_sinks(labels)
        if not sinks:
            return labels
        state = inspect.get("State") or {}
        if state.get("Running") or state.get("Paused") or state.get("Restarting"):
            self.engine.stop(container_id, name, stop_timeout)
            stopped_by_module = True
            inspect = self.engine.inspect(container_id) or inspect
            state = inspect.get("State") or {}
        started = state.get("StartedAt") or NEVER_STARTED
        if started.startswith("0001-01-01"):
            return labels  # never ran: nothing was produced
        run = {"container": inspect["Id"], "started_at": started, "finished_at": state.get("FinishedAt")}
        outcome = run_outcome(state, stopped_by_module)
        groups: dict[str, list[dict[str, Any]]] = {}
        for sink in sinks:
            groups.setdefault(sink["dataset"], []).append(sink)
        stored = []
        for dataset, entries in groups.items():
            try:
                version = self._store_one(inspect, labels, dataset, entries, run, outcome)
            except (EngineError, DatasetError, OSError) as exc:
                raise ProvisionError(f"storing dataset {dataset} from {name}: {exc}") from exc
            except Exception as exc:  # the SDK's stream raises requests' errors mid-read
                raise ProvisionError(f"storing dataset {dataset} from {name}: {type(exc).__name__}: {exc}") from exc
            if version is not None:
                stored.append(version.summary())
        with self._lock:
            self.stored.extend(stored)
        return labels

    def take_notes(self) -> tuple[list[str], list[str]]:
        """The actions and warnings since the last call (steps run in parallel threads)."""
        with self._lock:
            actions, warnings = self.actions, self.warnings
            self.actions, self.warnings = [], []
        return actions, warnings

    def _store_one(
        self,
        inspect: dict[str, Any],
        labels: dict[str, str],
        dataset: str,
        entries: list[dict[str, Any]],
        run: dict[str, Any],
        outcome: str,
    ) -> Optional[Version]:
        if self.store.find_run(dataset, run) is not None:
            return None
        container_id = inspect["Id"]
        present = []
        for entry in entries:
            if self.engine.path_stat(container_id, entry["path"]) is None:
                self.warnings.append(
                    f"dataset {dataset}: {entry['path']} does not exist in {inspect.get('Name', '').lstrip('/')}; not stored"
                )
            else:
                present.append(entry)
        if not present:
            return None
        state = inspect.get("State") or {}

        def fill(out: BinaryIO) -> None:
            writer = GzipTarWriter(out)
            try:
                for entry in present:
                    stream = self.engine.get_archive(container_id, entry["path"])
                    if stream is None:
                        raise ProvisionError(f"{entry['path']} disappeared from the container while it was read")
                    add_container_archive(writer.tar, stream, entry.get("sink_path"))
            finally:
                writer.close()

        single = present[0] if len(present) == 1 else None
        metadata: dict[str, Any] = {
            "outcome": outcome,
            "run": run,
            "source": {
                "project": labels.get(LABEL_PROJECT) or None,
                "id": labels.get(LABEL_ID),
                "replica": int(labels.get(LABEL_REPLICA) or 0) or None,
                "container": container_id,
                "name": inspect.get("Name", "").lstrip("/"),
                "exit_code": int(state.get("ExitCode") or 0),
                "started_at": run["started_at"],
                "finished_at": run["finished_at"],
            },
            "container_path": single["path"] if single else [entry["path"] for entry in present],
            "sink_path": single.get("sink_path") if single else [entry.get("sink_path") for entry in present],
            "info": single.get("info") if single else [entry.get("info") for entry in present],
        }
        version = self.store.store(dataset, fill, metadata)
        if version is None:
            return None  # another run stored this run of the container meanwhile
        self.actions.append(
            f"stored dataset {dataset} version {version.number} ({outcome}) from {metadata['source']['name']}"
        )
        if self.dataset_keep:
            pruned = self.store.prune(dataset, self.dataset_keep)
            if pruned:
                self.actions.append(
                    f"pruned dataset {dataset} versions {', '.join(str(n) for n in pruned)} (dataset_keep={self.dataset_keep})"
                )
        return version

    # -- removal -----------------------------------------------------------------------------------------
    def release_volumes(self, labels: Optional[dict[str, str]]) -> None:
        """Remove the `job`-scoped volumes a removed replica recorded, unless another container still uses them."""
        for _target, item in recorded_volumes(labels).items():
            if item.get("scope") != "job":
                continue
            volume = self.engine.volume(item["name"])
            if volume is None or (volume.get("Labels") or {}).get(LABEL_MANAGED) != MANAGED_BY:
                continue  # not made by this module (create: never, or found existing): never removed here
            if self.engine.remove_volume(item["name"]):
                self.actions.append(f"removed volume {item['name']} (scope job)")
