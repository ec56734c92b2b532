#!/usr/bin/python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_info
short_description: Read the replicas of an id or a project, their locks, and what a run would change
version_added: 0.2.0
description:
  - Reads, from a Docker engine, the containers that M(polytope.core.container) made for O(id) in O(project), or
    for every id of O(project), with name, replica number, status, health, start time, restart count, image and image
    id, published ports and the URLs they are reached at, and the spec fingerprint.
  - Also the locks that runs of M(polytope.core.container) hold on those ids while they change something, with
    their holder and expiry, and whether the next run would take a lock over as stale.
  - Given O(spec), the options of a M(polytope.core.container) task, it tells for each replica whether a run of
    that task would change it, how and why, in RV(plan). The answer comes from the container module's own
    planning in check mode, so it is what that module's check mode reports; no image is pulled and nothing is
    written.
  - With O(orchestrator=swarm) it reads the Swarm services of O(id) or O(project) on the swarm the engine manages
    instead, each with its version and its tasks (node ID, state, desired state, container, image, and for jobs the
    exit code) in RV(swarm_services); given O(spec), RV(plan) says whether a run would change the service, from
    the Swarm backend's own comparison in check mode. Swarm runs take no locks, so RV(containers) and RV(locks)
    are not returned then.
  - Never changes anything; C(changed) is always V(false).
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
    description: The module only reads, so check mode runs the same reads and returns the same.
  diff_mode:
    support: N/A
    description: Nothing changes, so there is no diff.
  idempotent:
    support: full
    description: It changes nothing.
  action:
    support: full
    description: The action plugin checks O(spec) against the options of M(polytope.core.container) on the controller.
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
  project:
    description:
      - The project to read. Without O(id), every id of the project.
      - Unset with O(id), the replicas of O(id) that belong to no project.
      - With O(spec), it must be the spec's own project when given.
    type: str
  id:
    description:
      - The id to read. With O(spec), it must be the spec's id (or the id its image gives) when given.
      - One of O(project), O(id) and O(spec) is required.
    type: str
  spec:
    description:
      - The options of a M(polytope.core.container) task, as it is written (the card's hyphenated keys are
        accepted), without the engine connection options, which are this module's own.
      - They are checked, and their defaults filled in, as that module does. Relative C(host) and C(repo) mount
        paths are relative to C(project_dir), which defaults to the playbook's directory as there.
      - Given, RV(plan) tells what a run of that task would change.
      - With O(orchestrator=docker), a spec whose own C(orchestrator) is V(swarm) is an error (it would be read from
        the wrong place); with O(orchestrator=swarm) the spec runs on Swarm whatever its own says.
    type: dict
notes:
  - For a target that is not the controller, relative C(host) and C(repo) mounts of O(spec) are taken to be where
    the container action plugin copies them; nothing is copied.
  - Without O(spec) the URLs come from the published ports alone (V(tcp) or V(udp)); with it, RV(plan.services)
    gives each service port's protocol and URL, as M(polytope.core.container) returns them.
seealso:
  - module: polytope.core.container
  - module: community.docker.docker_container_info
"""

EXAMPLES = r"""
- name: Read every replica of the shop project
  polytope.core.container_info:
    project: shop
  register: shop

- name: Check that every replica of the shop project runs
  ansible.builtin.assert:
    that: shop.containers | rejectattr('running') | list | length == 0

- name: Ask what a run of the api task would change
  polytope.core.container_info:
    spec:
      id: api
      project: shop
      image: registry.example.com/shop/api:1.5
      scaling: 3
      services:
        - id: api
          ports:
            - {port: 8000, protocol: http}
  register: api_plan

- name: Say why
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.change }} ({{ item.reasons | join('; ') }})"
  loop: "{{ api_plan.plan.replicas | selectattr('changes') | list }}"
  loop_control:
    label: "{{ item.name }}"

- name: Read the Swarm services of the shop project and their tasks
  polytope.core.container_info:
    project: shop
    orchestrator: swarm
    docker_host: tcp://manager.example.com:2376
    validate_certs: true
  register: shop_swarm

- name: Say where each task of the shop services runs
  ansible.builtin.debug:
    msg: "{{ item.0.name }} task {{ item.1.task_id }}: {{ item.1.state }} on node {{ item.1.node_id }}"
  loop: "{{ shop_swarm.swarm_services | subelements('tasks') }}"
  loop_control:
    label: "{{ item.1.task_id }}"

- name: Read a project on a remote engine
  polytope.core.container_info:
    project: shop
    docker_host: tcp://engine.example.com:2376
    validate_certs: true
"""

RETURN = r"""
project:
  description: The project read (from O(spec) when given); V(null) for ids without a project.
  returned: always
  type: str
  sample: shop
id:
  description: The id read (from O(spec) when given); V(null) when the whole project was read.
  returned: always
  type: str
  sample: api
containers:
  description:
    - The containers of the id or project, by id, then replica number.
    - Besides the replicas, the replacements and old replicas that a killed run left (RV(containers[].role)).
  returned: with O(orchestrator=docker)
  type: list
  elements: dict
  contains:
    name:
      description: The container's name.
      type: str
      sample: shop.api.2
    container:
      description: The container's engine id.
      type: str
      sample: 4b6c2a1f0e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
    project:
      description: Its project (V(null) without one).
      type: str
      sample: shop
    id:
      description: Its id (O(polytope.core.container#module:id)).
      type: str
      sample: api
    replica:
      description: The replica number.
      type: int
      sample: 2
    role:
      description:
        - V(replica); V(next) for a replacement that an interrupted run left; V(previous) for an old replica it set
          aside; V(stray) for a container of the id whose name was changed by hand.
      type: str
      sample: replica
    status:
      description: The engine's status, such as V(running), V(exited) or V(created).
      type: str
      sample: running
    running:
      description: Whether it runs.
      type: bool
      sample: true
    exit_code:
      description: The exit code of its last run.
      type: int
      sample: 0
    health:
      description: The image's health check status (V(healthy), V(unhealthy), V(starting)); V(null) without one.
      type: str
      sample: healthy
    started_at:
      description: When it last started (UTC); V(null) when it never started.
      type: str
      sample: "2025-01-31T10:00:00.123456789Z"
    finished_at:
      description: When its last run ended; V(null) when it has not ended.
      type: str
      sample: null
    restart_count:
      description: How often the engine restarted it by its restart policy.
      type: int
      sample: 0
    image:
      description: The image reference it was made from.
      type: str
      sample: registry.example.com/shop/api:1.4
    image_id:
      description: The image id it runs.
      type: str
      sample: sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
    ports:
      description: Published ports, container port to C(address:port) list.
      type: dict
      sample: {"8000/tcp": ["127.0.0.1:8000"]}
    urls:
      description: Where the published ports are reached.
      type: list
      elements: str
      sample: ["tcp://127.0.0.1:8000"]
    fingerprint:
      description: The fingerprint of the spec it was made with; compared with RV(plan.fingerprint) by a run.
      type: str
      sample: 5f0c9b7d2e4a6c8e0f1a3b5d7f9e1c3a
locks:
  description: The locks held on the id, or on ids of the project.
  returned: with O(orchestrator=docker)
  type: list
  elements: dict
  contains:
    name:
      description: The lock container's name.
      type: str
      sample: shop.api.lock
    project:
      description: The project of the id it locks.
      type: str
      sample: shop
    id:
      description: The id it locks.
      type: str
      sample: api
    holder:
      description: C(<host>/<pid>) of the run that holds it.
      type: str
      sample: controller.example.com/4242
    expires:
      description: When it runs out (UTC).
      type: str
      sample: "2025-01-31T11:00:00Z"
    stale:
      description: Whether the next run takes it over (it ran out, or its holder on this machine is gone).
      type: bool
      sample: false
    state:
      description: V(held) or V(stale).
      type: str
      sample: held
locked:
  description: Whether a run holds a lock that is not stale.
  returned: with O(orchestrator=docker)
  type: bool
  sample: false
swarm_services:
  description: With O(orchestrator=swarm), the services of the id or project that M(polytope.core.container) made, by name.
  returned: with O(orchestrator=swarm)
  type: list
  elements: dict
  contains:
    name:
      description: The service's name, C([<project>-]<id>).
      type: str
      sample: shop-api
    service:
      description: The service's Swarm ID.
      type: str
      sample: 9d3kq8l1m0x2v7c5b4n6z8a1s
    project:
      description: Its project (V(null) without one).
      type: str
      sample: shop
    id:
      description: Its id (O(polytope.core.container#module:id)).
      type: str
      sample: api
    mode:
      description: V(replicated), or V(replicated-job) for O(polytope.core.container#module:state=completed).
      type: str
      sample: replicated
    version:
      description: The service's version; every update of the service raises it.
      type: int
      sample: 42
    update_state:
      description: The state of its last update (such as V(completed) or V(rollback_completed)); V(null) when never updated.
      type: str
      sample: completed
    tasks:
      description: Its tasks, by slot, then creation, old ones Swarm keeps as history included.
      type: list
      elements: dict
      contains:
        task_id:
          description: The task's ID.
          type: str
          sample: x1y2z3a4b5c6d7e8f9g0h1i2j
        slot:
          description: The replica slot (V(null) for job tasks).
          type: int
          sample: 1
        node_id:
          description: The ID of the node it was given to (nodes may share a hostname).
          type: str
          sample: q2w3e4r5t6y7u8i9o0p1a2s3d
        state:
          description: Its state, such as V(running), V(complete), V(failed) or V(shutdown).
          type: str
          sample: running
        desired_state:
          description: The state Swarm wants it in (V(running), V(shutdown), V(complete)).
          type: str
          sample: running
        container:
          description: Its container's engine id on that node; V(null) before it has one.
          type: str
          sample: 4b6c2a1f0e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
        image:
          description: The image reference it runs (with the digest the manager resolved).
          type: str
          sample: registry.example.com/shop/api:1.5@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
        exit_code:
          description: For a job's finished task, its container's exit code; V(null) otherwise.
          type: int
          sample: 0
        error:
          description: Why Swarm says it failed or cannot start; V(null) when nothing is wrong.
          type: str
          sample: null
        version:
          description: The task's own version.
          type: int
          sample: 77
plan:
  description:
    - What a run of the M(polytope.core.container) task in O(spec) would change.
    - With O(orchestrator=swarm), only RV(plan.changes), RV(plan.service) and RV(plan.actions).
  returned: when O(spec) is given
  type: dict
  contains:
    changes:
      description: Whether the run would change anything.
      type: bool
      sample: true
    service:
      description: With O(orchestrator=swarm), the service the spec is run as.
      type: str
      returned: with O(orchestrator=swarm)
      sample: shop-api
    actions:
      description: With O(orchestrator=swarm), what a run would do, as RV(polytope.core.container#module:actions).
      type: list
      elements: str
      returned: with O(orchestrator=swarm)
      sample: ["shop-api: update service (ContainerSpec.Image changed)"]
    fingerprint:
      description: The fingerprint the spec gives its replicas.
      type: str
      sample: 5f0c9b7d2e4a6c8e0f1a3b5d7f9e1c3a
    image_id:
      description: The image id the spec's image has on the engine now (V(null) when the engine lacks it; a run pulls it).
      type: str
      sample: sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
    replicas:
      description: Each replica the spec wants, then each a run would remove.
      type: list
      elements: dict
      contains:
        name:
          description: The replica's name.
          type: str
        replica:
          description: The replica number.
          type: int
        exists:
          description: Whether it exists now.
          type: bool
        changes:
          description: Whether a run would change it.
          type: bool
        change:
          description: V(created), V(replaced), V(updated in place), V(removed), or the actions; V(null) when none.
          type: str
        actions:
          description: The container module's actions for it, such as V(replace) and V(start).
          type: list
          elements: str
        reasons:
          description: Why.
          type: list
          elements: str
        kept:
          description: Differences that O(polytope.core.container#module:create) leaves alone.
          type: list
          elements: str
      sample:
        - {name: shop.api, replica: 1, exists: true, changes: true, change: replaced, actions: [replace], reasons: [the spec changed], kept: []}
    interrupted:
      description: Containers an interrupted run left, which a run repairs first.
      type: list
      elements: str
      sample: [shop.api.next]
    services:
      description: The service endpoints of the running replicas, as RV(polytope.core.container#module:services).
      type: list
      elements: dict
      sample: [{id: api, replica: 1, port: 8000, protocol: http, url: "http://localhost:8000/"}]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    DOCKER_IMPORT_ERROR,
    MISSING_SDK_MESSAGE,
)
from ansible_collections.polytope.core.plugins.module_utils._docker.inspection import run_container_info
from ansible_collections.polytope.core.plugins.module_utils._swarm.option import ORCHESTRATOR_ARGUMENT_SPEC

ARGUMENT_SPEC = {
    "project": {"type": "str"},
    "id": {"type": "str"},
    "spec": {"type": "dict"},
    **ORCHESTRATOR_ARGUMENT_SPEC,
    **CONNECTION_ARGUMENT_SPEC,
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_one_of=[("project", "id", "spec")]
    )
    if DOCKER_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib("docker (the Docker SDK for Python)") + " " + MISSING_SDK_MESSAGE,
            exception=DOCKER_IMPORT_ERROR,
        )
    run_container_info(module)


if __name__ == "__main__":
    main()
