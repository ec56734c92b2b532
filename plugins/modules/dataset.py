#!/usr/bin/python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dataset
short_description: Remove, prune or fetch the stored versions of a dataset
version_added: 0.2.0
description:
  - Manages a dataset in the dataset store that M(polytope.core.container) writes (O(store)) on the machine that runs
    the module. Each version is C(<store>/<name>/v<N>.tar.gz) beside its metadata C(v<N>.json).
  - O(state=present) changes nothing; it returns the versions there are. Versions are made only by
    M(polytope.core.container) storing what a container leaves.
  - O(state=absent) removes the dataset's versions, or only O(version).
  - O(state=pruned) keeps the newest O(keep) versions, whatever their outcome, and removes the older ones.
  - O(state=fetched) copies a version's archive and metadata to O(dest) on the controller. The archive is checked
    against the sha256 and size in its metadata on the target before it is sent, and again on the controller
    before it takes its place; a copy there that has that sha256 already is not sent again.
  - Removing and pruning hold the dataset's lock, the one a store holds while it commits a version, and choose
    the versions under it. A store running at the same time loses nothing; its new version counts among the
    newest. The JSON of a version goes first, so no reader ever sees a version without its archive. A removed
    version's number is never given out again. The dataset's directory and its lock file stay.
author:
  - Polytope Core Maintainers (@polytope)
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.files
  - action_common_attributes.flow
attributes:
  check_mode:
    support: full
    description: Reports what would be removed or fetched; nothing is removed, sent or written.
  diff_mode:
    support: full
    description:
      - The version numbers before and after; for O(state=fetched), the sha256 of the copy on the controller
        before and after.
  idempotent:
    support: full
    description: A rerun finds nothing left to remove, and a fetched copy that has the right sha256.
  action:
    support: full
    description: The action plugin copies the files of O(state=fetched) to the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  safe_file_operations:
    support: full
    description: Fetched files are written beside their destination, checked, then renamed into place (mode 0600).
  vault:
    support: none
  platform:
    platforms: posix
options:
  name:
    description: The dataset's id, the directory directly under O(store).
    type: str
    required: true
    aliases: [dataset]
  version:
    description:
      - With O(state=absent), remove only this version.
      - With O(state=fetched), fetch this version; unset, the newest whose outcome is not V(failed), as a
        C(dataset) mount of M(polytope.core.container) chooses it.
      - Not with O(state=pruned).
    type: int
  state:
    description:
      - V(present) changes nothing.
      - V(absent) removes every version, or O(version).
      - V(pruned) keeps the newest O(keep) versions.
      - V(fetched) copies a version to O(dest) on the controller.
    type: str
    default: present
    choices: [present, absent, pruned, fetched]
  keep:
    description: How many of the newest versions O(state=pruned) keeps, 1 or more. Only with O(state=pruned).
    type: int
  store:
    description: The dataset store's directory on the machine that runs the module (O(polytope.core.container#module:dataset_store)).
    type: path
    default: /var/lib/polytope/datasets
    aliases: [dataset_store]
  dest:
    description:
      - With O(state=fetched), the directory on the controller the version's C(v<N>.tar.gz) and C(v<N>.json) are
        written into, made when missing. A relative path is relative to the playbook's directory.
      - Required with O(state=fetched).
    type: path
notes:
  - With C(become), the archive is read on the target with M(ansible.builtin.slurp), as M(ansible.builtin.fetch)
    does, which holds it in memory once.
seealso:
  - module: polytope.core.dataset_info
  - module: polytope.core.container
"""

EXAMPLES = r"""
- name: Keep the newest three versions of the results dataset
  polytope.core.dataset:
    name: results
    state: pruned
    keep: 3

- name: Remove version 2 of the results dataset
  polytope.core.dataset:
    name: results
    version: 2
    state: absent

- name: Remove every version of a scratch dataset in a store of its own
  polytope.core.dataset:
    name: scratch
    store: /srv/polytope/datasets
    state: absent

- name: Fetch the newest usable version of the results dataset to the controller
  polytope.core.dataset:
    name: results
    state: fetched
    dest: "{{ playbook_dir }}/fetched/{{ inventory_hostname }}/results"
  register: fetched_results

- name: Say where it went
  ansible.builtin.debug:
    msg: "v{{ fetched_results.version }} is {{ fetched_results.dest_archive }}"
"""

RETURN = r"""
name:
  description: The dataset (O(name)).
  returned: always
  type: str
  sample: results
store:
  description: The store's directory (O(store)).
  returned: always
  type: str
  sample: /var/lib/polytope/datasets
removed:
  description: The version numbers removed (in check mode, that would be removed); empty when none.
  returned: always
  type: list
  elements: int
  sample: [1, 2]
versions:
  description: The versions left after the task, oldest first, as RV(polytope.core.dataset_info#module:versions) describes them.
  returned: with O(state=present), O(state=absent) and O(state=pruned)
  type: list
  elements: dict
  sample:
    - dataset: results
      version: 3
      outcome: succeeded
      time: "2025-01-31T10:00:00.000000Z"
      size: 10240
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      project: shop
      id: report
      replica: 1
      archive: /var/lib/polytope/datasets/results/v3.tar.gz
      metadata_path: /var/lib/polytope/datasets/results/v3.json
      metadata: {"dataset": "results", "version": 3, "outcome": "succeeded"}
version:
  description: The version fetched.
  returned: with O(state=fetched)
  type: int
  sample: 3
sha256:
  description: The fetched archive's sha256, checked on the target and on the controller.
  returned: with O(state=fetched)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
size:
  description: The fetched archive's size in bytes.
  returned: with O(state=fetched)
  type: int
  sample: 10240
archive:
  description: The archive's path on the target.
  returned: with O(state=fetched)
  type: str
  sample: /var/lib/polytope/datasets/results/v3.tar.gz
metadata_path:
  description: The metadata's path on the target.
  returned: with O(state=fetched)
  type: str
  sample: /var/lib/polytope/datasets/results/v3.json
metadata:
  description: The fetched version's metadata.
  returned: with O(state=fetched)
  type: dict
  sample: {"dataset": "results", "version": 3, "outcome": "succeeded", "sha256": "9f86d0818..."}
dest_archive:
  description: Where the archive is on the controller.
  returned: with O(state=fetched)
  type: str
  sample: /home/me/playbooks/fetched/web1/results/v3.tar.gz
dest_metadata:
  description: Where the metadata is on the controller.
  returned: with O(state=fetched)
  type: str
  sample: /home/me/playbooks/fetched/web1/results/v3.json
msg:
  description: What the task did, or why it did nothing.
  returned: always
  type: str
  sample: removed versions 1, 2 of dataset results
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.polytope.core.plugins.module_utils._storage.dataset_admin import STATES, run_dataset
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DEFAULT_STORE, DatasetError, DatasetStore

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True, "aliases": ["dataset"]},
    "version": {"type": "int"},
    "state": {"type": "str", "default": "present", "choices": list(STATES)},
    "keep": {"type": "int"},
    "store": {"type": "path", "default": DEFAULT_STORE, "aliases": ["dataset_store"]},
    "dest": {"type": "path"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_if=[("state", "fetched", ("dest",))],
    )
    if not module.params["store"].startswith("/"):
        module.fail_json(msg=f"store: expected an absolute path, got {module.params['store']!r}", changed=False)
    try:
        result = run_dataset(DatasetStore(module.params["store"]), module.params, module.check_mode, module._diff)
    except DatasetError as exc:
        module.fail_json(msg=str(exc), changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
