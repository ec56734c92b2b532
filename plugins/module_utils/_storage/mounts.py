# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning of the five mount sources: what becomes a bind mount, a volume, or content put into a container.

Pure planning over the spec, the module's filesystem and the dataset store: no engine calls. What it
decides:

- ``host`` with an absolute path: a bind mount of a path on the engine's machine.
- ``host`` with a relative path and ``repo`` without ``repo``: a path in the project directory (on the
  machine that runs the module). A bind mount when the engine shares that filesystem (a local socket);
  otherwise its files are copied into each new container through the engine API, and their digest is part
  of the fingerprint so changed files replace the replicas.
- ``string``: a file written into each new container before it starts; its digest is in the fingerprint.
- ``dataset``: a stored version extracted into each new container before it starts (checked for unsafe
  entries here, before anything changes); the version and its digest are in the fingerprint.
- ``volume``: a named volume, see volume_base_name and candidate_names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._storage.archives import open_archive, select_members
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetError, DatasetStore, Version
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, Mount, Problems
from ansible_collections.polytope.core.plugins.module_utils._storage.trees import tree_digest

LABEL_VOLUMES = "polytope.volumes"
LABEL_VOLUME_ID = "polytope.volume"
LABEL_VOLUME_SCOPE = "polytope.scope"
LABEL_VOLUME_OWNER = "polytope.volume-owner"
LABEL_HELPER = "polytope.helper"

_SLUG_BAD = re.compile(r"[^a-zA-Z0-9_.-]+")


@dataclass(frozen=True)
class Content:
    """Files put into a container (or a fresh volume) through the engine: a string, a dataset or a local tree."""

    kind: str  # string, dataset, tree, engine-path (a path on the engine's machine, for volume sources only)
    descriptor: dict[str, Any]
    data: Optional[str] = None  # string
    version: Optional[Version] = None  # dataset
    subpath: Optional[str] = None  # dataset
    local_path: Optional[str] = None  # tree, or the engine path
    is_file: bool = False  # the content is one file (the mount path becomes that file)


@dataclass(frozen=True)
class Placed:
    """Content placed at a path of each new container."""

    target: str
    content: Content


@dataclass(frozen=True)
class VolumePlan:
    target: str
    volume_id: Optional[str]
    scope: str
    create: str
    source: Optional[Content]
    descriptor: dict[str, Any]


@dataclass
class MountPlan:
    binds: list[dict[str, Any]] = field(default_factory=list)  # Docker Mounts entries
    placed: list[Placed] = field(default_factory=list)
    volumes: list[VolumePlan] = field(default_factory=list)
    descriptors: list[dict[str, Any]] = field(default_factory=list)  # the fingerprint's part for non-bind mounts


def slug(path: str) -> str:
    parts = [part for part in path.split("/") if part]
    return _SLUG_BAD.sub("_", "-".join(parts)) or "root"


def volume_base_name(
    project: Optional[str], container_id: str, replica: int, target: str, volume_id: Optional[str]
) -> str:
    """`[<project>.]<volume id>` for a volume with an id (shared by the replicas); without an id, one volume per
    replica and mount path: `[<project>.]<container id>[.<replica>].<mount path>`."""
    if volume_id:
        base = volume_id
    else:
        replica_part = "" if replica == 1 else f".{replica}"
        base = f"{container_id}{replica_part}.{slug(target)}"
    return f"{project}.{base}" if project else base


def candidate_names(base: str, limit: int = 1000) -> list[str]:
    """Names `create: always` tries in order: the base name, then `<base>.2`, `<base>.3`, ..."""
    return [base] + [f"{base}.{number}" for number in range(2, limit + 1)]


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recorded_volumes(labels: Optional[dict[str, str]]) -> dict[str, dict[str, str]]:
    """The volumes a replica recorded at its creation: mount path to {name, scope, created}."""
    raw = (labels or {}).get(LABEL_VOLUMES)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {
        str(path): item for path, item in value.items() if isinstance(item, dict) and isinstance(item.get("name"), str)
    }


def volumes_label(chosen: dict[str, dict[str, str]]) -> str:
    return json.dumps(chosen, sort_keys=True, separators=(",", ":"))


class MountResolver:
    """Turns the spec's mounts into a MountPlan, collecting every problem (raised as SpecError)."""

    def __init__(
        self,
        spec: ContainerSpec,
        project_dir: Optional[str],
        store: DatasetStore,
        local_engine: bool,
        shared_filesystem: bool,
        pending_paths: frozenset[str] = frozenset(),
    ):
        self.spec = spec
        self.project_dir = project_dir
        self.store = store
        self.local_engine = local_engine
        self.shared_filesystem = shared_filesystem
        self.pending_paths = pending_paths
        self.problems = Problems()

    def resolve(self) -> MountPlan:
        plan = MountPlan()
        for index, mount in enumerate(self.spec.mounts):
            self._one(plan, f"mounts[{index}].source", mount)
        self.problems.raise_if_any()
        return plan

    def _pending(self, path: str) -> bool:
        """A copy from the controller that check mode does not make: it need not exist yet."""
        return any(path == root or path.startswith(root.rstrip("/") + "/") for root in self.pending_paths)

    # -- one mount ---------------------------------------------------------------------------------------
    def _one(self, plan: MountPlan, option: str, mount: Mount) -> None:
        source = mount.source
        kind = source["type"]
        if kind == "host" and source["path"].startswith("/"):
            path = os.path.normpath(source["path"])
            if self.local_engine and not self._pending(path) and not os.path.exists(path):
                self.problems.add(f"{option}.path", f"{path!r} does not exist on the engine's machine")
                return
            plan.binds.append({"Type": "bind", "Source": path, "Target": mount.path, "ReadOnly": False})
            return
        if kind in ("host", "repo"):
            path = self._project_path(option, source)
            if path is None:
                return
            if self.shared_filesystem:
                plan.binds.append({"Type": "bind", "Source": path, "Target": mount.path, "ReadOnly": False})
                return
            tree = self._tree(path, kind)
            plan.placed.append(Placed(mount.path, tree))
            plan.descriptors.append({"path": mount.path, **tree.descriptor})
            return
        if kind == "volume":
            self._volume(plan, option, mount)
            return
        content = self._content(option, source)
        if content is not None:
            plan.placed.append(Placed(mount.path, content))
            plan.descriptors.append({"path": mount.path, **content.descriptor})

    def _project_path(self, option: str, source: dict[str, Any]) -> Optional[str]:
        kind = source["type"]
        if kind == "repo":
            # A named repository never gets here: parse_spec refuses it.
            if source.get("revision") is not None:
                self.problems.add(
                    f"{option}.revision", "a revision is not supported; the project directory is mounted as it is"
                )
                return None
            relative = str(source.get("path") or ".").lstrip("/") or "."
            if ".." in relative.split("/"):
                self.problems.add(f"{option}.path", f"{relative!r} leaves the project directory")
                return None
        else:
            relative = source["path"]
        if not self.project_dir:
            self.problems.add(
                f"{option}.path",
                f"the relative path {relative!r} needs project_dir (the action plugin sets it from the playbook's directory)",
            )
            return None
        path = os.path.normpath(os.path.join(self.project_dir, relative))
        if self._pending(path):
            return path
        if not os.path.exists(path):
            self.problems.add(f"{option}.path", f"{path!r} does not exist in the project directory")
            return None
        return path

    def _tree(self, path: str, kind: str) -> Content:
        is_file = not os.path.isdir(path)
        digest = "pending" if self._pending(path) and not os.path.exists(path) else tree_digest(path)
        return Content("tree", {"type": kind, "sha256": digest, "file": is_file}, local_path=path, is_file=is_file)

    def _content(self, option: str, source: dict[str, Any]) -> Optional[Content]:
        kind = source["type"]
        if kind == "string":
            return Content(
                "string", {"type": "string", "sha256": text_digest(source["data"])}, data=source["data"], is_file=True
            )
        if kind == "dataset":
            return self._dataset(option, source)
        if kind == "host":
            if source["path"].startswith("/"):
                path = os.path.normpath(source["path"])
                if self.local_engine and not self._pending(path) and not os.path.exists(path):
                    self.problems.add(f"{option}.path", f"{path!r} does not exist on the engine's machine")
                    return None
                return Content("engine-path", {"type": "host", "host_path": path}, local_path=path)
        if kind in ("host", "repo"):
            path = self._project_path(option, source)
            return None if path is None else self._tree(path, kind)
        self.problems.add(f"{option}.type", f"{kind!r} cannot be used here")
        return None

    def _dataset(self, option: str, source: dict[str, Any]) -> Optional[Content]:
        dataset = source["dataset"]
        subpath = source.get("path")
        if subpath is not None:
            subpath = "/".join(part for part in str(subpath).split("/") if part not in ("", "."))
            if ".." in subpath.split("/"):
                self.problems.add(f"{option}.path", f"{source['path']!r} leaves the dataset")
                return None
        try:
            version = self.store.select(dataset, source.get("version"))
            archive = self.store.verified_archive(version)
            what = f"dataset {dataset} version {version.number}"
            with open_archive(archive) as tar:
                chosen = select_members(tar.getmembers(), subpath or None, what)
        except DatasetError as exc:
            self.problems.add(option, str(exc))
            return None
        if subpath and not chosen:
            self.problems.add(f"{option}.path", f"{subpath!r} is not in dataset {dataset} version {version.number}")
            return None
        is_file = bool(subpath) and len(chosen) == 1 and chosen[0][1] == "" and chosen[0][0].isreg()
        descriptor = {
            "type": "dataset",
            "dataset": dataset,
            "version": version.number,
            "sha256": version.metadata.get("sha256"),
            "subpath": subpath or None,
        }
        return Content("dataset", descriptor, version=version, subpath=subpath or None, is_file=is_file)

    def _volume(self, plan: MountPlan, option: str, mount: Mount) -> None:
        source = mount.source
        content: Optional[Content] = None
        inner = source.get("source")
        if inner is not None:
            if inner.get("type") == "string":
                self.problems.add(
                    f"{option}.source",
                    "a string source makes one file, not a volume's contents; mount the string at its own path instead",
                )
                return
            content = self._content(f"{option}.source", inner)
            if content is None:
                return
        descriptor = {
            "type": "volume",
            "id": source.get("id"),
            "scope": source["scope"],
            "create": source["create"],
            # What the source is, not its current contents: it fills the volume only when the volume is made.
            "source": dict(sorted(inner.items())) if inner is not None else None,
        }
        plan.volumes.append(
            VolumePlan(mount.path, source.get("id"), source["scope"], source["create"], content, descriptor)
        )
        plan.descriptors.append({"path": mount.path, **descriptor})
