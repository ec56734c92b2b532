#!/usr/bin/python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dataset_info
short_description: List the datasets and versions in a dataset store
version_added: 0.2.0
description:
  - Lists the datasets that M(polytope.core.container) stored in O(store) on the machine that runs the module, with
    every version's metadata, oldest first.
  - The filters O(name), O(version), O(outcome), O(project) and O(id) all apply; a dataset none of whose versions
    match is left out.
  - Reads only; takes no lock. A version being stored at the same time is listed once its metadata is written,
    which is the last step of storing it, so a version is never listed half-written.
author:
  - Polytope Core Maintainers (@polytope)
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs the same reads and returns the same.
  diff_mode:
    support: N/A
    description: Nothing changes, so there is no diff.
  idempotent:
    support: full
    description: It changes nothing.
  action:
    support: none
  async:
    support: full
  bypass_host_loop:
    support: none
  platform:
    platforms: posix
options:
  store:
    description: The dataset store's directory (O(polytope.core.container#module:dataset_store)). A missing store has no datasets.
    type: path
    default: /var/lib/polytope/datasets
    aliases: [dataset_store]
  name:
    description: Only these datasets. Unset, every dataset of the store.
    type: list
    elements: str
    aliases: [dataset]
  version:
    description: Only this version number.
    type: int
  outcome:
    description: Only versions with one of these outcomes.
    type: list
    elements: str
    choices: [succeeded, terminated, failed]
  project:
    description: Only versions stored from a container of this project; V("") selects containers without a project.
    type: str
  id:
    description: Only versions stored from a container of this id (O(polytope.core.container#module:id)).
    type: str
seealso:
  - module: polytope.core.dataset
  - module: polytope.core.container
"""

EXAMPLES = r"""
- name: List every dataset of the store
  polytope.core.dataset_info:
  register: store_contents

- name: List the versions of the shop project's report jobs that succeeded
  polytope.core.dataset_info:
    project: shop
    id: report
    outcome: [succeeded]
  register: reports

- name: Check that the newest report is there
  ansible.builtin.assert:
    that:
      - reports.datasets | length > 0
      - reports.versions[-1].sha256 | length == 64

- name: List the results dataset in another store
  polytope.core.dataset_info:
    store: /srv/polytope/datasets
    name: [results]
"""

RETURN = r"""
store:
  description: The store's directory (O(store)).
  returned: always
  type: str
  sample: /var/lib/polytope/datasets
datasets:
  description: The datasets with at least one matching version, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The dataset's id.
      type: str
      sample: results
    count:
      description: How many versions match.
      type: int
      sample: 2
    newest:
      description: The highest matching version number.
      type: int
      sample: 3
    versions:
      description: The matching versions, oldest first, as in RV(versions).
      type: list
      elements: dict
versions:
  description: Every matching version of every dataset, by dataset name, then oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    dataset:
      description: The dataset's id.
      type: str
      sample: results
    version:
      description: The version number.
      type: int
      sample: 3
    outcome:
      description: V(succeeded), V(terminated) or V(failed).
      type: str
      sample: succeeded
    time:
      description: When the version was stored (UTC).
      type: str
      sample: "2025-01-31T10:00:00.000000Z"
    size:
      description: The archive's size in bytes.
      type: int
      sample: 10240
    sha256:
      description: The archive's sha256.
      type: str
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    project:
      description: The project of the container it was stored from (V(null) without one).
      type: str
      sample: shop
    id:
      description: The id of the container it was stored from.
      type: str
      sample: report
    replica:
      description: The replica it was stored from.
      type: int
      sample: 1
    archive:
      description: The archive's path.
      type: str
      sample: /var/lib/polytope/datasets/results/v3.tar.gz
    metadata_path:
      description: The metadata's path.
      type: str
      sample: /var/lib/polytope/datasets/results/v3.json
    metadata:
      description: The whole metadata (run, source, container and sink paths, info and the fields above).
      type: dict
      sample: {"dataset": "results", "version": 3, "outcome": "succeeded", "info": "nightly"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.polytope.core.plugins.module_utils._storage.dataset_admin import dataset_info
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import (
    DEFAULT_STORE,
    OUTCOMES,
    DatasetError,
    DatasetStore,
)

ARGUMENT_SPEC = {
    "store": {"type": "path", "default": DEFAULT_STORE, "aliases": ["dataset_store"]},
    "name": {"type": "list", "elements": "str", "aliases": ["dataset"]},
    "version": {"type": "int"},
    "outcome": {"type": "list", "elements": "str", "choices": list(OUTCOMES)},
    "project": {"type": "str"},
    "id": {"type": "str"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not module.params["store"].startswith("/"):
        module.fail_json(msg=f"store: expected an absolute path, got {module.params['store']!r}")
    try:
        result = dataset_info(DatasetStore(module.params["store"]), module.params)
    except DatasetError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
