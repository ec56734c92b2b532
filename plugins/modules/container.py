#!/usr/bin/python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container
short_description: Run Polytope's container spec idempotently on a Docker engine
version_added: 0.1.0
description:
  - Runs the spec of Polytope's C(polytope/container) module (image, command, mounts, environment, services,
    datasets, restart policy, scaling, resources and the rest) on a Docker engine, and keeps it there.
  - A rerun compares the desired spec with what the engine really has and changes only what differs. Resources
    and the restart policy change in place; every other change replaces the replicas in batches (see O(rollout)),
    each new replica must be ready (running, its services open and, with a health check, healthy) before the
    next batch starts, and stay so for the monitor window before its old container goes. A failure rolls the
    whole rollout back, or pauses it. After a run that was killed or lost its engine in the middle of a
    replacement, the next run keeps the old container until the replacement runs and is ready, and puts it back
    when it does not.
  - O(create) can instead keep existing replicas as they are, or make fresh ones on every run.
  - Replica 1 is named C([<project>.]<id>), replica k C([<project>.]<id>.<k>). Ownership is decided by labels,
    never by names; a container with a clashing name that this module did not make is never touched.
  - The card's hyphenated keys (C(no-stdin), C(update-image), C(instance-type), C(max-restarts), C(expose-as))
    are accepted at any depth; the action plugin renames them. One key given in both spellings (say C(no_stdin)
    and C(no-stdin), or C(restart.max_restarts) and C(restart.max-restarts)) is an error that names both.
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
  idempotent:
    support: full
    description: A rerun with the same spec changes nothing; readiness is checked again without counting a change.
  action:
    support: full
  async:
    support: full
    description: Long rollouts can run as async jobs; the job then runs the module as a process of its own on the target.
  bypass_host_loop:
    support: none
  action_group:
    support: full
    description: Use C(group/polytope.core.polytope) in C(module_defaults) to set the engine connection once.
    membership:
      - polytope.core.polytope
  platform:
    platforms: posix
options:
  image:
    description:
      - The image reference, C([registry[:port]/]name[:tag][@digest]). No tag means C(latest).
      - Required unless O(state=absent) or O(state=stopped).
      - Without it, O(state=stopped) stops the replicas of O(project) and O(id) that exist and run (storing their
        datasets), and creates, replaces and removes nothing; leave the other spec options out. This is how a
        teardown stops a step whose spec it cannot rebuild (the template role does so when a value or secret is
        not given).
    type: str
  id:
    description:
      - The replicas' identity and name; 2 to 63 characters of C(a-z), C(0-9), C(_) and C(-), starting with a
        letter or digit.
      - Defaults to the image's last path segment without its tag, lower-cased, other characters turned into C(-).
    type: str
  project:
    description:
      - A namespace (id-shaped) that becomes part of the names, labels and default network, so two projects never
        share containers. The template role sets it to the template's project.
    type: str
  cmd:
    description:
      - The command. A string is split into words like a POSIX shell would (no shell runs); a list is taken as is,
        null items skipped. Unset keeps the image's command.
    type: raw
  entrypoint:
    description:
      - The entrypoint, in the same forms as O(cmd). Unset keeps the image's entrypoint.
    type: raw
  mounts:
    description:
      - Files and directories to mount. Each item is C({source, path}) with C(path) absolute in the container;
        null items are skipped. C(source) is one of the five mount sources below, told apart by C(type).
      - C(path) is taken in its normal form, C(.), C(..) and repeated C(/) resolved as the engine resolves them
        (V(/data/../etc) mounts at V(/etc), and errors and diffs say V(/etc)). A path that is the container's root
        C(/), or climbs above it, is an error.
      - "C({type: host, path}): an absolute C(path) is a path on the engine's machine and becomes a bind mount; a
        missing path is an error (on a local engine, before anything changes). A relative C(path) is relative to
        O(project_dir), see below."
      - "C({type: repo, path}): a path in the project's own directory (O(project_dir)), like a relative host path;
        no C(path) means the whole directory. A named other repository (C(repo)) or a C(revision) is refused with a
        clear error."
      - "Relative host paths and repo paths: on an engine reached through a local socket they are bind mounts of the
        project directory's files in place. On an engine reached over the network their files are copied into
        each new container through the engine API before it starts, and a digest of them is part of the spec, so
        changed files replace the replicas. When the task's target is not the controller, the action plugin first
        copies the directory from the controller to the target (see O(copy_dir))."
      - "C({type: volume, id, scope, create, source}): a named volume. Its name is C([<project>.]<id>), shared by
        the replicas; without C(id) each replica gets its own, C([<project>.]<container id>[.<replica>].<path>)
        (the mount path's components joined with C(-)). C(scope=job) (default) removes the volumes this module
        made with the replicas (O(state=absent), scaling down) when no other container uses them; C(scope=project)
        keeps them."
      - "C(create=when-missing) (default) makes the volume when it does not exist; C(create=never) fails clearly,
        before anything changes, when it does not exist; C(create=always) gives each replica a fresh volume: the
        name, or the name with C(.2), C(.3), ... appended when that is taken, chosen once when the replica is made
        and kept across its replacements (recorded in the replica's C(polytope.volumes) label), so reruns and spec
        changes do not lose its data."
      - "C(source) fills a volume when this module makes it: a C(host) path on the engine's machine, a relative
        host or C(repo) path from the project directory, or a C(dataset). It is copied through the engine (a
        helper container from the replica's image that never starts), so it works on remote engines. While it is
        filled a never-started marker container C(<volume>.fill) exists; a run that finds the marker of a killed run
        removes the partly filled volume and fills it anew, and one that finds another live run's marker waits for
        it."
      - "C({type: string, data}): the text becomes a file at C(path), written into each new container before it
        starts; no file is left on any host. Changing the text replaces the replicas."
      - "C({type: dataset, dataset, version, path}): a stored version of a dataset (C(version), or else the newest
        whose outcome is not C(failed)) from O(dataset_store), extracted into each new container before it starts.
        C(path) picks a directory or file inside the dataset. Archives with absolute names, C(..), links leading out
        of the target or device files are refused before anything changes. A newer version replaces the replicas
        on the next run."
      - Every source except C(host) is made with engine API calls only, so it also works with a remote engine
        (O(docker_host)).
    type: list
    elements: dict
  env:
    description:
      - Environment variables, as a list of C({name, value, secret}) (null items skipped) or a mapping of names to
        values. Booleans render C(true)/C(false), a missing value is the empty string.
      - C(secret=true) keeps that value out of every result, diff, warning and error.
    type: raw
  workdir:
    description: The working directory, an absolute path.
    type: str
  no_stdin:
    description: Keep the container's stdin closed.
    type: bool
    default: false
  tty:
    description: Allocate a pseudo-TTY.
    type: bool
    default: true
  services:
    description:
      - Ports to expose as services. Replica 1 publishes each port on O(publish_address) at C(expose_as) (default
        the container port); further replicas get ports the engine picks; C(internal) ports publish nothing.
      - Every replica joins O(network) with the id and each service id as aliases.
    type: list
    elements: dict
    suboptions:
      id:
        description: The service id, also the host name siblings reach it by.
        type: str
        required: true
      ports:
        description:
          - C({port, protocol, expose_as, label, internal}), or C({range, protocol, expose_as, ...}) with a range
            such as V(8000-8010) and an C(expose_as) range of the same length.
          - C(protocol) is one of V(tcp), V(udp), V(http), V(https).
        type: list
        elements: dict
        default: []
  datasets:
    description:
      - "Paths in the container to store as datasets; each C({path, sink}). C(sink) is a dataset id, or
        C({type: dataset, dataset, path, info}) where C(path) places the data under that path inside the dataset
        and C(info) goes into the version's metadata."
      - "Stored when: a replica of a O(state=completed) job exits 0 (outcome C(succeeded)); the module stops,
        replaces, scales away or removes a replica (outcome C(terminated)); a container that exited on its own
        with a non-zero code is replaced or removed (outcome C(failed), so nothing is lost). Exactly once per run
        of a container: the store records the container and its start and finish times."
      - Each (replica, dataset) gets a new version C(<dataset_store>/<dataset>/v<N>.tar.gz) beside C(v<N>.json)
        (dataset, version, outcome, source project, id, replica and container, container path, sink path, time,
        size, sha256, info). Versions only grow; writes are atomic; the store is private (0700 directories, 0600
        files).
      - The replicas' labels carry the sinks, so O(state=absent) stores them even when the task leaves out
        O(datasets). A container that never started stores nothing; a path missing in the container is a warning.
    type: list
    elements: dict
  user:
    description: The user name or UID to run as.
    type: raw
  restart:
    description: The restart policy. Changed in place on running replicas.
    type: dict
    suboptions:
      policy:
        description: V(never), V(always) or V(on-failure).
        type: str
        choices: [never, always, on-failure]
      max_restarts:
        description: Maximum restarts; only with V(on-failure), which it implies when O(restart.policy) is unset.
        type: int
  scaling:
    description:
      - How many replicas to run, from V(0) to V(1000); V(0) removes every replica.
      - More than 1000 is refused before the engine is asked anything; every replica is inspected on every run,
        so no engine serves far more from one task in reasonable time.
    type: int
    default: 1
  update_image:
    description:
      - V(true) pulls the image on every run before anything else (a failed pull fails the task and touches
        nothing); V(false) pulls only when the reference is missing. Replicas running another image are replaced.
    type: bool
    default: false
  instance_type:
    description:
      - The machine class to run on. It must equal the engine's C(polytope.instance-type) label when the engine has
        one; an engine without the label runs the replicas with a warning.
    type: str
  resources:
    description:
      - C(cpu.limit) becomes NanoCpus, C(cpu.request) CpuShares (1024 per cpu), C(memory.limit) Memory,
        C(memory.request) MemoryReservation. Sizes are bytes or a number with a suffix (V(512Mi), V(512m), V(1G)).
      - Values the engine cannot take are refused before anything changes, naming the option. Memory sizes
        go from V(6Mi) (the engine's minimum) to 8Ei - 1 bytes (the engine's int64); cpu figures must fit its
        int64 fields too. A limit above the engine's number of cpus is refused by the engine; the task then
        fails with C(changed=false).
      - Changed in place where the engine can; removing a limit replaces the replicas.
    type: dict
    suboptions:
      cpu:
        description: C(request) and C(limit) in cpus (numbers).
        type: dict
      memory:
        description: C(request) and C(limit) as data sizes.
        type: dict
  unconfined:
    version_added: 0.2.0
    description:
      - V(true) runs the replicas without the engine's default seccomp and AppArmor profiles (the security options
        C(seccomp=unconfined) and C(apparmor=unconfined)), for programs that need system calls the default profile
        blocks, such as io_uring.
      - This weakens the isolation between the replicas and the host; use it only for images you trust.
      - Changing it replaces the replicas, because the engine cannot change the security options of a container.
    type: bool
    default: false
  healthcheck:
    version_added: 0.2.0
    description:
      - Docker's health check of the replicas, replacing the image's C(HEALTHCHECK). Unset, the image's check
        (if any) applies.
      - Whenever a replica has a health check, from its image or from here, it has started only once it is
        C(healthy); C(unhealthy) fails it (and rolls a replacement back). O(wait_timeout) bounds the wait.
      - It is part of the spec; a rerun compares it and, when it changed, replaces the replicas.
    type: dict
    suboptions:
      test:
        description:
          - The check. A string runs in the container's shell (C(CMD-SHELL)); a list is Docker's form,
            V([CMD, <program>, <args>...]), V([CMD-SHELL, <command>]), or V([NONE]), which disables the image's
            check.
          - Unset, the image's test runs with the timings given here.
        type: raw
      interval:
        description: Time between checks, as seconds or a duration such as V(30s), V(1m30s) or V(500ms). Unset, Docker's 30 s.
        type: raw
      timeout:
        description: Time a check may take before it counts as failed (seconds or a duration). Unset, Docker's 30 s.
        type: raw
      retries:
        description: Consecutive failures that make the replica C(unhealthy). Unset, Docker's 3.
        type: int
      start_period:
        description: Time after the start during which failing checks do not count (seconds or a duration).
        type: raw
  rollout:
    version_added: 0.2.0
    description:
      - How replacements roll, in Swarm's vocabulary (the same keys as C(update_config)). Applies to every change
        that replaces replicas and to O(state=restarted). Not part of the spec.
      - "V({parallelism: 1, monitor: 5}) gives Swarm's own behaviour."
    type: dict
    suboptions:
      parallelism:
        description:
          - Replicas replaced per batch, as a number (V(0) means all at once) or a percentage of O(scaling) such
            as V("25%"), rounded up.
          - The next batch starts once every new replica of this one is ready; the monitor windows of earlier
            batches run meanwhile, so at most one batch of new replicas is not ready at any time.
        type: raw
        default: "25%"
      order:
        description:
          - V(start-first) starts the new replica while the old one still runs, and stops the old one only after
            the new one has been ready for O(rollout.monitor) seconds. V(stop-first) stops the old one (storing its
            datasets) first.
          - V(auto) is V(start-first) unless the replica publishes a fixed host port (replica 1 with a
            non-internal port; the old one holds it) or mounts a C(volume) (two containers on one data directory
            can corrupt it). V(start-first) given explicitly also overlaps replicas with volumes, but never where a
            fixed host port makes it impossible.
          - Jobs (O(state=completed)) and O(state=stopped) always stop first.
        type: str
        choices: [start-first, stop-first, auto]
        default: auto
      monitor:
        description:
          - Seconds a new replica must stay ready (running, not restarted, not C(unhealthy)) after it became
            ready; a replica that fails inside the window fails its replacement.
          - The rollout waits for the last window before it ends; O(wait_timeout) cuts a window short.
        type: float
        default: 1.0
      failure_action:
        description:
          - What a failed replacement (beyond O(rollout.max_failure_ratio)) does. The task fails in both cases,
            naming the replica and the cause.
          - V(rollback) puts every replica this run replaced back to its previous container, in batches.
          - V(pause) stops where it failed; the replicas already replaced stay, the failed ones and the rest keep
            their previous containers, and the message says which are which.
        type: str
        choices: [rollback, pause]
        default: rollback
      max_failure_ratio:
        description:
          - Share of the replacements (0 to 1) that may fail before O(rollout.failure_action) runs; V(0) means the
            first failure. A failed replacement within the share puts that replica's previous container back, the
            rollout goes on, and the task still fails at the end, naming those replicas.
        type: float
        default: 0.0
      delay:
        description: Seconds to wait between batches.
        type: float
        default: 0.0
  state:
    description:
      - V(started) runs every replica with this spec and waits until each has started (see O(healthcheck)).
      - V(restarted) is V(started), then restarts the replicas in the batches of O(rollout), each batch ready
        before the next.
      - V(completed) runs every replica and waits for it to exit; a non-zero exit fails the task.
      - V(stopped) keeps the replicas without running them (without O(image), only those that exist, see there).
      - V(absent) removes every replica.
    type: str
    choices: [started, restarted, completed, stopped, absent]
    default: started
  wait_timeout:
    description:
      - Seconds to wait for services to open, health checks to turn healthy, monitor windows and, with
        V(completed), for the exit; V(0) waits forever.
    type: int
    default: 600
  log_lines:
    version_added: 0.2.0
    description:
      - How many of the last log lines RV(logs) and, with O(state=completed), each replica's RV(containers[].logs)
        hold. Secret values are masked in them.
    type: int
    default: 20
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when the module stops a replica. Not part of the spec.
    type: int
    default: 10
  recreate:
    description:
      - Replace the replicas even when nothing changed (with V(completed), run the job again).
      - This also applies with O(create=when-missing) and O(create=never).
    type: bool
    default: false
  create:
    version_added: 0.2.0
    description:
      - Whether the module makes containers. Unset, existing replicas are brought to the spec, in place or by
        replacing them as described above.
      - V(when-missing) makes only the replicas that do not exist. An existing replica is kept as it is, whatever
        the spec says now; it is neither replaced nor changed in place, so a rerun does not restart it. The state
        still applies to it; O(state=started) starts it when it is stopped, O(state=restarted) restarts it, and
        O(state=completed) starts it again when its last run exited with a non-zero code. Scaling still adds and
        removes replicas. Each difference from the spec that is left alone is listed in RV(actions) and, in diff
        mode, under C(kept).
      - V(always) makes a fresh container for every replica on every run, so the task always reports a change;
        with O(state=completed) the job runs again each time. It is O(recreate=true) on every run.
      - V(never) makes no container. Every replica that O(scaling) asks for must exist already; when one does not,
        the task fails and names it before anything changes, also before an image is pulled. Existing replicas
        are kept as they are, as with V(when-missing), and scaling down still removes replicas.
      - With O(state=stopped) and O(state=absent) this option has no effect, so a teardown never fails or
        replaces a replica because of it.
    type: str
    choices: [when-missing, always, never]
  network:
    description: The user-defined bridge network the replicas join, created when missing. Defaults to V(polytope), or C(polytope-<project>).
    type: str
  publish_address:
    description: The host address service ports are published on; V(127.0.0.1) keeps them local.
    type: str
    default: 0.0.0.0
  project_dir:
    description:
      - The base of relative C(host) and of C(repo) mount paths.
      - The action plugin sets it to the playbook's directory when it is not given (the template role passes its
        own). It is a directory on the controller; on a remote target the action plugin copies what the mounts
        use (see O(copy_dir)).
    type: path
  dataset_store:
    description:
      - The directory of the dataset store on the machine that runs the module (also with a remote engine).
      - Created with mode 0700 when missing.
    type: path
    default: /var/lib/polytope/datasets
  dataset_keep:
    description:
      - Keep only the newest N versions of each dataset this module stores into; older ones are deleted after a
        new version is stored. Unset keeps every version.
    type: int
  copy_dir:
    description:
      - On a target that is not the controller, the directory where the action plugin copies the controller's
        directories that relative C(host) and C(repo) mounts use, each under C(<project>/<id>/<mount path>/<digest>)
        named by the digest of its contents. Unchanged files keep their path (a rerun changes nothing); changed
        files get a new one (the replicas are replaced and see them) and the stale copies of that mount are removed
        after a successful run; O(state=absent) removes the id's copies.
      - On an engine on that target this must be a path the engine sees (the target's own filesystem).
    type: path
    default: /var/lib/polytope/copies
  swarm_publish_mode:
    version_added: 0.2.0
    description:
      - With O(orchestrator=swarm), how service ports are published. V(ingress) publishes each port on every
        node through Swarm's routing mesh; V(host) publishes it on the node a task runs on (at most one task per
        node and port).
    type: str
    choices: [ingress, host]
    default: ingress
  swarm_endpoint_mode:
    version_added: 0.2.0
    description:
      - With O(orchestrator=swarm), how other tasks reach the service by name. V(vip) resolves it to one virtual
        address (needs IPVS in the nodes' kernels); V(dnsrr) to the task addresses in turn, which needs
        O(swarm_publish_mode=host) for published ports.
    type: str
    choices: [vip, dnsrr]
    default: vip
  swarm_node_engines:
    version_added: 0.2.0
    description:
      - With O(orchestrator=swarm), how the module reaches the engine of the node a task ran on, to store the
        O(datasets) of a finished job task from its container there (only that node has its files).
      - A URL with C({id}), C({address}) and C({hostname}) of the node in it, such as V(tcp://{address}:2376),
        or a mapping of node IDs or addresses to URLs. The TLS options of O(docker_host) apply to these engines
        too.
      - Without it, O(datasets) with O(orchestrator=swarm) is an error before anything runs; datasets are stored
        from jobs only (O(state=completed)).
    type: raw
  controller_copies:
    description:
      - Set by the action plugin, not by users. The copies of controller directories this task uses, each
        C({path, archive}); C(archive) is sent when the copy is missing on the target.
    type: list
    elements: dict
notes:
  - When the target is the controller (the C(local) connection) without C(become), a task C(environment) or
    C(async), and the controller's Python has the Docker SDK, the action plugin runs the module's code in
    Ansible's own worker process instead of starting a new Python, with the same validation, result and masking
    of secrets, and about half a second less per task. Set E(POLYTOPE_CORE_IN_PROCESS=0) to always start the module
    as its own process.
  - A C(restart=always) replica that O(state=stopped) stopped starts again when the engine restarts; that is
    Docker's rule.
  - Runs that change something take turns through a lock, a never-started container C(<replica 1 name>.lock).
    A lock whose holder died on this machine, or whose time ran out, is removed by the next run, also by one
    that changes nothing else (listed in RV(actions)).
  - A failed run reports C(changed=true) only when it changed something before it failed, and RV(actions)
    lists only what it did or tried, not the replicas it never reached.
  - Registry credentials come from the Docker client configuration, as with the C(docker) CLI.
seealso:
  - module: community.docker.docker_container
  - name: Polytope container module
    description: The C(polytope/container) module card this module implements.
    link: https://polytope.com/docs
"""

EXAMPLES = r"""
- name: Serve ./html with a web server, restarted always
  polytope.core.container:
    id: web-server
    image: polytope-demo/httpd:latest
    cmd: httpd -f -p 80 -h /www
    mounts:
      - source: {type: host, path: ./html}
        path: /www
    services:
      - id: web
        ports:
          - {port: 80, protocol: http, expose_as: 8080}
    restart:
      policy: always

- name: Run three replicas with limits, published on localhost only
  polytope.core.container:
    id: api
    project: shop
    image: registry.example.com/shop/api:1.4
    scaling: 3
    publish_address: 127.0.0.1
    env:
      - {name: LOG_LEVEL, value: info}
      - {name: DB_PASSWORD, value: "{{ vault_db_password }}", secret: true}
    resources:
      cpu: {request: 0.25, limit: 1}
      memory: {request: 128Mi, limit: 512Mi}
    services:
      - id: api
        ports:
          - {port: 8000, protocol: http}

- name: Run a migration job to completion
  polytope.core.container:
    id: migrate
    image: registry.example.com/shop/api:1.4
    cmd: [python, manage.py, migrate]
    state: completed
  register: migration

- name: Run a ledger that a rerun never restarts, outside the default seccomp profile (it needs io_uring)
  polytope.core.container:
    id: ledger
    project: shop
    image: registry.example.com/shop/ledger:0.16
    create: when-missing
    unconfined: true

- name: Run a one-off command in a fresh container every time
  polytope.core.container:
    id: report
    project: shop
    image: registry.example.com/shop/api:1.4
    cmd: [python, manage.py, report]
    state: completed
    create: always

- name: Roll a new version out one replica at a time, each watched for 5 s, as Swarm does
  polytope.core.container:
    id: api
    project: shop
    image: registry.example.com/shop/api:1.5
    scaling: 6
    rollout:
      parallelism: 1
      monitor: 5
      failure_action: rollback

- name: Roll out half of the replicas at a time, stopping where it fails, with a health check
  polytope.core.container:
    id: api
    project: shop
    image: registry.example.com/shop/api:1.5
    scaling: 6
    healthcheck:
      test: [CMD, wget, -q, -O-, http://localhost:8000/health]
      interval: 2s
      retries: 3
    rollout:
      parallelism: 50%
      failure_action: pause

- name: Run the test suite as a job and show its last 50 lines of output
  polytope.core.container:
    id: tests
    project: shop
    image: registry.example.com/shop/api:1.5
    cmd: [pytest, -q]
    state: completed
    log_lines: 50
  register: suite

- name: Remove the replicas of a project
  polytope.core.container:
    id: api
    project: shop
    state: absent

- name: Point every task of the play at a remote engine once
  module_defaults:
    group/polytope.core.polytope:
      docker_host: tcp://engine.example.com:2376
      validate_certs: true
  block:
    - name: Run a worker there
      polytope.core.container:
        id: worker
        image: registry.example.com/shop/worker:1.4
"""

RETURN = r"""
actions:
  description: What the run did (or, in check mode, would do), in order.
  returned: always
  type: list
  elements: str
  sample: ["web-server: replace (the spec changed)"]
containers:
  description: The replicas as of the end of the run.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The container name.
      type: str
      sample: shop.api.2
    id:
      description: The container id.
      type: str
      sample: 4b6c2a1f0e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
    replica:
      description: The replica number.
      type: int
      sample: 2
    status:
      description: The engine's status of the container.
      type: str
      sample: running
    image:
      description: The image reference the container was created from.
      type: str
      sample: registry.example.com/shop/api:1.4
    image_id:
      description: The image id the container runs.
      type: str
      sample: sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
    ports:
      description: Published ports, container port to C(address:port) list.
      type: dict
      sample: {"8000/tcp": ["127.0.0.1:8000"]}
    task_id:
      description: With O(orchestrator=swarm), the Swarm task this container belongs to.
      type: str
      returned: with O(orchestrator=swarm)
      sample: 2r9h084j9l4wcnq5afgfc6tpa
    node_id:
      description: With O(orchestrator=swarm), the ID of the node the task runs on (nodes may share a hostname).
      type: str
      returned: with O(orchestrator=swarm)
      sample: kuydif8p0oc2zd1hvnncqtk9x
    exit_code:
      description: With O(orchestrator=swarm), the exit code of a task that has finished.
      type: int
      returned: with O(orchestrator=swarm)
      sample: 0
    health:
      description: The health status the engine reports, for a replica with a health check.
      type: str
      returned: when the replica has a health check
      sample: healthy
    ready_at:
      description: When this run saw the replica ready (UTC), for the replicas it waited for.
      type: str
      returned: when the run waited for the replica
      sample: "2026-12-01T12:00:01.250Z"
    logs:
      description: The last O(log_lines) lines of the replica's log, secret values masked.
      type: list
      elements: str
      returned: with O(state=completed)
      sample: ["applied 3 migrations"]
services:
  description: Every replica's service endpoints as of the end of the run.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The service id.
      type: str
      sample: api
    replica:
      description: The replica number.
      type: int
      sample: 1
    port:
      description: The container port.
      type: int
      sample: 8000
    protocol:
      description: V(tcp), V(udp), V(http) or V(https).
      type: str
      sample: http
    label:
      description: The port's label.
      type: str
      sample: grpc
    internal:
      description: Whether the port is reachable only inside the network.
      type: bool
      sample: false
    host:
      description: The host the port is published on (null for internal ports).
      type: str
      sample: localhost
    host_port:
      description: The published host port (null for internal ports).
      type: int
      sample: 8000
    url:
      description: Where the service answers.
      type: str
      sample: http://localhost:8000/
exit_code:
  description: The first non-zero exit code, else 0.
  returned: with O(state=completed)
  type: int
  sample: 0
exit_codes:
  description: Each replica's exit code, in replica order.
  returned: with O(state=completed)
  type: list
  elements: int
  sample: [0, 0]
logs:
  description:
    - The last O(log_lines) lines of the log of the replica that failed or, with O(state=completed), of the first
      replica that exited non-zero, or of replica 1 when all exited 0. Secret values are masked.
  returned: on failure, and with O(state=completed)
  type: list
  elements: str
  sample: ["Traceback (most recent call last):", "ValueError: no database"]
datasets:
  description: The dataset versions this run stored.
  returned: when datasets were stored
  type: list
  elements: dict
  sample:
    - dataset: results
      version: 3
      outcome: succeeded
      archive: /var/lib/polytope/datasets/results/v3.tar.gz
      size: 10240
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      replica: 1
swarm_service:
  description: With O(orchestrator=swarm), the service as of the end of the run.
  returned: with O(orchestrator=swarm), when the service exists
  type: dict
  contains:
    id:
      description: The service ID.
      type: str
      sample: i6b79gfx1dzwtc6aznwzxz23p
    name:
      description: The service name, C([<project>-]<id>).
      type: str
      sample: shop-web
    version:
      description: The service's version index; a run that changed nothing leaves it as it was.
      type: int
      sample: 116
    update_state:
      description: Swarm's state of the last update (C(completed), C(rollback_completed), ...), or null.
      type: str
      sample: completed
diff:
  description:
    - In diff mode, per replica, what was created, replaced, updated in place or removed, with before and after.
    - With O(orchestrator=swarm), the service spec (normalised, secret values masked) before and after.
    - With O(create=when-missing) or O(create=never), C(kept) in C(after) lists the differences from the spec that
      were left alone.
  returned: in diff mode
  type: dict
  sample: {"before": {"web": {"status": "running", "container": "4b6c2a1f0e0d"}}, "after": {"web": {"change": "replaced", "reasons": ["the spec changed"]}}}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.polytope.core.plugins.module_utils._connection import (
    CONNECTION_ARGUMENT_SPEC,
    DOCKER_IMPORT_ERROR,
    MISSING_SDK_MESSAGE,
)
from ansible_collections.polytope.core.plugins.module_utils._module import run_module
from ansible_collections.polytope.core.plugins.module_utils._spec.table import argument_spec
from ansible_collections.polytope.core.plugins.module_utils._swarm.option import ORCHESTRATOR_ARGUMENT_SPEC

ARGUMENT_SPEC = {
    **argument_spec(),
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
    run_module(module)


if __name__ == "__main__":
    main()
