# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which containers and services this collection owns, and the names an id is reached by: one place for
both backends, because a replica on one engine and a Swarm service carry the same labels.

Pure logic: no Ansible and no Docker objects.
"""

from __future__ import annotations

import json
from typing import Optional

from ansible_collections.polytope.core.plugins.module_utils._spec import ContainerSpec

MANAGED_BY = "polytope.core"
LABEL_MANAGED = "polytope.managed-by"
LABEL_PROJECT = "polytope.project"
LABEL_ID = "polytope.id"
LABEL_REPLICA = "polytope.replica"
LABEL_FINGERPRINT = "polytope.fingerprint"
LABEL_DATASETS = "polytope.datasets"


def default_network(project: Optional[str]) -> str:
    return f"polytope-{project}" if project else "polytope"


def owner_labels(spec: ContainerSpec) -> dict[str, str]:
    """The labels that mark a container or service as this collection's, for the spec's project and id."""
    return {LABEL_MANAGED: MANAGED_BY, LABEL_PROJECT: spec.project or "", LABEL_ID: spec.id}


def owner_filters(spec: ContainerSpec) -> dict[str, list[str]]:
    """Label filters that select everything this collection owns for the spec's project and id."""
    return {"label": [f"{key}={value}" for key, value in owner_labels(spec).items()]}


def is_owned(labels: Optional[dict[str, str]], spec: ContainerSpec) -> bool:
    given = labels or {}
    return all(given.get(key, "") == value for key, value in owner_labels(spec).items())


def aliases(spec: ContainerSpec) -> list[str]:
    return [spec.id] + [service.id for service in spec.services if service.id != spec.id]


def datasets_label(spec: ContainerSpec) -> str:
    return json.dumps(
        [{"path": d.path, "dataset": d.dataset, "sink_path": d.sink_path, "info": d.info} for d in spec.datasets],
        sort_keys=True,
        separators=(",", ":"),
    )
