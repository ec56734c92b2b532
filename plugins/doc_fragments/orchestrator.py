# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The orchestrator option of every module of the polytope action group
    # (ORCHESTRATOR_ARGUMENT_SPEC in module_utils/_swarm/option.py).
    DOCUMENTATION = r"""
options:
  orchestrator:
    version_added: 0.2.0
    description:
      - V(docker) works on the engine at O(docker_host) alone.
      - V(swarm) works on the swarm whose manager is the engine at O(docker_host); a worker or an engine outside a
        swarm is an error before anything changes. Set it once for a play in C(module_defaults) with
        C(group/polytope.core.polytope); the other C(swarm_*) options are M(polytope.core.container)'s own.
      - "M(polytope.core.container) with V(swarm) runs the replicas as one Swarm service, named C([<project>-]<id>)
        (Swarm refuses dots), whose tasks are spread over the nodes: O(polytope.core.container#module:scaling) is the
        replica count (V(0) keeps the service with no task), O(polytope.core.container#module:state=completed) runs a
        replicated job of that many completions, O(polytope.core.container#module:rollout) becomes the service's update
        and rollback config, O(polytope.core.container#module:instance_type) a placement constraint on the node label
        C(polytope.instance-type), and O(polytope.core.container#module:services) publish ports (see
        O(polytope.core.container#module:swarm_publish_mode)) and are names on the project's attachable overlay
        network. The run waits like C(docker service create) without C(--detach), until the tasks run (or the job
        completed) and, after a change, stay up for one monitor window; an update Swarm paused or rolled back fails
        the task."
      - "M(polytope.core.container) with V(swarm): C(host) and C(repo) mounts are binds on whichever node runs a
        task, so the path must exist on every node that can run one; C(volume) mounts are local volumes made on each
        node; C(string) and C(dataset) mounts are Swarm configs (at most 500 KiB each: a dataset mount is one config
        per file, read from the dataset store where the module runs). Datasets are stored from finished job tasks
        through O(polytope.core.container#module:swarm_node_engines). O(polytope.core.container#module:unconfined)
        and the states V(stopped) and V(restarted) do not map and are errors before anything changes. The image is
        resolved to a digest on the manager (a warning when it cannot be, and the nodes use the tag); with
        O(polytope.core.container#module:update_image=false) a moved tag alone does not update the service."
      - M(polytope.core.container_info) with V(swarm) reads the services and their tasks instead of containers, and
        given a spec asks the Swarm backend in check mode whether a run would change the service.
      - M(polytope.core.network) with V(swarm) makes an attachable overlay network on the swarm, the kind the
        Swarm services of M(polytope.core.container) use, and removes it only when no service and no container on
        the manager uses it.
    type: str
    choices: [docker, swarm]
    default: docker
"""
