# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``dataset`` mounts on Swarm: each file of the chosen dataset version becomes a Swarm config.

A task may run on any node, and only the machine that runs the module has the dataset store, so the files
travel with the service spec as configs. Swarm holds at most 500 KiB in one config: a bigger file is refused
here, before anything is read into memory or made on the swarm.
"""

from __future__ import annotations

import posixpath
import tarfile

from ansible_collections.polytope.core.plugins.module_utils._storage.archives import open_archive, select_members
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetError, DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec, Problems
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import (
    ConfigFile,
    config_name,
    service_name,
    too_big,
)


def _target(mount_path: str, relative: str) -> str:
    return posixpath.join(mount_path, relative) if relative else mount_path


def _mode(member: tarfile.TarInfo) -> int:
    # Configs are read-only in the container; the execute bits of the stored file stay.
    return 0o444 | (member.mode & 0o111)


def dataset_configs(spec: ContainerSpec, store: DatasetStore) -> tuple[ConfigFile, ...]:
    """The configs of every dataset mount; SpecError naming the mount when one cannot be made."""
    problems = Problems()
    configs: list[ConfigFile] = []
    service = service_name(spec)
    for index, mount in enumerate(spec.mounts):
        if mount.type != "dataset":
            continue
        option = f"mounts[{index}].source"
        dataset = mount.source["dataset"]
        subpath = mount.source.get("path") or None
        try:
            version = store.select(dataset, mount.source.get("version"))
            what = f"dataset {dataset} version {version.number}"
            with open_archive(store.verified_archive(version)) as tar:
                chosen = select_members(tar.getmembers(), subpath, what)
                if not chosen:
                    problems.add(option, f"{subpath!r} is not in {what}" if subpath else f"{what} has no files")
                for member, relative in chosen:
                    target = _target(mount.path, relative)
                    if member.isdir():
                        continue
                    if not member.isreg():
                        problems.add(option, f"{target} of {what} is not a regular file; a Swarm config holds a file")
                        continue
                    reason = too_big(member.size)
                    if reason:
                        problems.add(option, f"the file {target} of {what} {reason}")
                        continue
                    handle = tar.extractfile(member)
                    data = handle.read() if handle is not None else b""
                    configs.append(
                        ConfigFile(
                            config_name(service, data), target, data, option, f"{target} of {what}", _mode(member)
                        )
                    )
        except DatasetError as exc:
            problems.add(option, str(exc))
    problems.raise_if_any()
    return tuple(configs)
