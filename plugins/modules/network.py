#!/usr/bin/python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: Make a project network, or remove it once no container uses it
version_added: 0.2.0
description:
  - Makes or removes a user-defined network on a Docker engine, such as the C(polytope-<project>) network that
    M(polytope.core.container) makes for the replicas of a project.
  - O(state=present) makes a bridge network the same way M(polytope.core.container) makes its project network. A
    network of that name that exists already is left as it is.
  - O(state=absent) removes the network only when no container is attached to it, stopped ones included (a
    stopped container would not start any more without it). A network that containers still use is kept, with no
    change reported, the containers in RV(in_use_by) and a RV(msg) that says so; it is never disconnected from
    them. Unlike M(community.docker.docker_network), this never cuts another template's containers off.
  - With O(orchestrator=swarm) the network is the attachable overlay network of the swarm that the Swarm services
    of M(polytope.core.container) use, and the services that join it keep it too. A network of that name that is
    not a swarm overlay network is an error.
author:
  - Polytope Core Maintainers (@polytope)
requirements:
  - Docker SDK for Python 7.0 or newer (C(docker)) on the machine that runs the module
  - Docker Engine API 1.41 (Docker 20.10) or newer
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - polytope.core.connection
  - polytope.core.orchestrator
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    description: The diff shows whether the network exists before and after the task.
  idempotent:
    support: full
    description: A rerun finds the network made or removed and changes nothing; a kept network stays kept.
  action:
    support: none
  async:
    support: full
  bypass_host_loop:
    support: none
  action_group:
    support: full
    description: >-
      Use C(group/polytope.core.polytope) in C(module_defaults) to set the engine connection and O(orchestrator)
      once.
    membership:
      - polytope.core.polytope
  platform:
    platforms: posix
options:
  name:
    description:
      - The network's name; letters, digits, C(_), C(.) and C(-), starting with a letter or digit.
      - Only a network of exactly this name is made or removed.
    type: str
    required: true
  state:
    description:
      - V(present) makes the network when it is missing.
      - V(absent) removes it unless a container is attached to it.
    type: str
    default: present
    choices: [present, absent]
seealso:
  - module: polytope.core.container
  - module: community.docker.docker_network
"""

EXAMPLES = r"""
- name: Make the network of the shop project before its containers
  polytope.core.network:
    name: polytope-shop

- name: Remove the network of the shop project unless a container still uses it
  polytope.core.network:
    name: polytope-shop
    state: absent
  register: shop_network

- name: Say which containers keep the network
  ansible.builtin.debug:
    msg: "{{ shop_network.msg }}"
  when: shop_network.in_use_by | length > 0

- name: Make the overlay network of the shop project on a swarm
  polytope.core.network:
    name: polytope-shop
    orchestrator: swarm
    docker_host: tcp://manager.example.com:2376
    validate_certs: true

- name: Remove the network on a remote engine named once for the play
  module_defaults:
    group/polytope.core.polytope:
      docker_host: tcp://engine.example.com:2376
      validate_certs: true
  block:
    - name: Remove the network there
      polytope.core.network:
        name: polytope-shop
        state: absent
"""

RETURN = r"""
name:
  description: The network's name (O(name)).
  returned: always
  type: str
  sample: polytope-shop
id:
  description: The network's id after the task; V(null) when it does not exist then, or would not in check mode.
  returned: always
  type: str
  sample: 1c1c260afac749f796a8bba921cb5008ab96cf19f7906f3edb680bee7dc71167
in_use_by:
  description:
    - The containers, running or stopped, attached to the network that O(state=absent) kept for them.
    - With O(orchestrator=swarm), the services whose tasks join it (as C(service <name>)) and the manager's
      containers on it.
    - Empty when the network was removed, did not exist, or for O(state=present).
  returned: always
  type: list
  elements: str
  sample: [shop.api, shop.api.2]
msg:
  description: What the task did, or why it kept the network.
  returned: always
  type: str
  sample: "kept network polytope-shop: it is still used by shop.api, shop.api.2; it is removed once no container uses it"
actions:
  description: What the task changed (or, in check mode, would change); empty when nothing.
  returned: always
  type: list
  elements: str
  sample: [removed network polytope-shop]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    DOCKER_IMPORT_ERROR,
    MISSING_SDK_MESSAGE,
)
from ansible_collections.polytope.core.plugins.module_utils._docker.networks import run_network_module
from ansible_collections.polytope.core.plugins.module_utils._swarm.option import ORCHESTRATOR_ARGUMENT_SPEC

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    **ORCHESTRATOR_ARGUMENT_SPEC,
    **CONNECTION_ARGUMENT_SPEC,
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if DOCKER_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib("docker (the Docker SDK for Python)") + " " + MISSING_SDK_MESSAGE,
            exception=DOCKER_IMPORT_ERROR,
        )
    run_network_module(module)


if __name__ == "__main__":
    main()
