# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench-swarm`: N Swarm services, polytope.core.container against community.docker.docker_swarm_service.

On the 3-node test swarm (scripts/swarm.sh; started here when it is not up, and then removed again), the
same work two ways, each a loop of N tasks with one service of one replica each:
  a  polytope.core.container with orchestrator swarm (it waits for the tasks itself)
  b  community.docker.docker_swarm_service, then one task that waits until every service runs its replica
     (the module does not wait: the same convergence, checked the way `docker service ls` shows it)
  e  the same playbook with both skipped: Ansible's fixed cost, subtracted
Phases: converge (create), rerun (the same spec: nothing may change), change (an env value: every task
replaced), teardown. Every phase is checked afterwards (untimed): N services, each with its replica
running and the env value of the phase, and the right `changed` of the Ansible tasks.
Options: --size N (default 10), --reps R (default 1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANAGER = "unix:///run/docker-pt-swarm-1.sock"
IMAGE = "polytope-demo/httpd:latest"
PREFIX = "it-swarm-bench"
PROJECT = "itswarm"
PHASES = ("converge", "rerun", "change", "teardown")

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: polytope.core.container
      when: way == 'a'
      polytope.core.container:
        docker_host: {manager}
        orchestrator: swarm
        project: {project}
        id: "{prefix}-a-{{{{ item }}}}"
        image: {image}
        state: "{{{{ 'absent' if phase == 'teardown' else 'started' }}}}"
        env: {{VERSION: "{{{{ version }}}}"}}
        stop_timeout: 1
      loop: "{{{{ range(1, size + 1) | list }}}}"
      register: result_a

    - name: community.docker.docker_swarm_service
      when: way == 'b'
      community.docker.docker_swarm_service:
        docker_host: {manager}
        name: "{project}-{prefix}-b-{{{{ item }}}}"
        image: {image}
        state: "{{{{ 'absent' if phase == 'teardown' else 'present' }}}}"
        env: {{VERSION: "{{{{ version }}}}"}}
        replicas: 1
        stop_grace_period: 1s
      loop: "{{{{ range(1, size + 1) | list }}}}"
      register: result_b

    - name: Wait for the services to converge, as polytope.core.container does
      when: way == 'b' and phase != 'teardown'
      ansible.builtin.shell: |
        set -o pipefail
        while docker -H {manager} service ls --filter name={project}-{prefix}-b- --format '{{{{ '{{{{' }}}}.Replicas{{{{ '}}}}' }}}}' \\
            | grep -vq '^1/1'; do sleep 0.2; done
      args:
        executable: /bin/bash
      changed_when: false

    - name: Keep the outcome
      when: way != 'e'
      ansible.builtin.copy:
        content: "{{{{ (result_a if way == 'a' else result_b).results | map(attribute='changed') | list | to_json }}}}"
        dest: "{{{{ outcome }}}}"
        mode: "0644"
"""


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def services(way: str) -> list[dict[str, Any]]:
    ids = run(
        "docker", "-H", MANAGER, "service", "ls", "-q", "--filter", f"name={PROJECT}-{PREFIX}-{way}-"
    ).stdout.split()
    if not ids:
        return []
    return list(json.loads(run("docker", "-H", MANAGER, "service", "inspect", *ids).stdout))


def running_env(service: dict[str, Any]) -> list[str]:
    tasks = run(
        "docker", "-H", MANAGER, "service", "ps", "-q", "--filter", "desired-state=running", service["ID"]
    ).stdout.split()
    values = []
    for task in tasks:
        inspect = json.loads(run("docker", "-H", MANAGER, "inspect", task).stdout)[0]
        if inspect["Status"]["State"] == "running":
            values.extend(inspect["Spec"]["ContainerSpec"].get("Env") or [])
    return values


def check(way: str, phase: str, size: int, version: str, changed: list[bool]) -> None:
    found = services(way)
    if phase == "teardown":
        problems = [f"{len(found)} services left"] if found else []
    else:
        problems = [] if len(found) == size else [f"{len(found)} services instead of {size}"]
        for service in found:
            env = running_env(service)
            if env != [f"VERSION={version}"]:
                problems.append(f"{service['Spec']['Name']}: running env {env}")
    expected = phase != "rerun"
    if changed != [expected] * size:
        problems.append(f"changed {changed}, expected {expected} for each")
    if problems:
        raise SystemExit(f"{way} {phase}: " + "; ".join(problems[:5]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=int(os.environ.get("BENCH_SWARM_SIZE", "10")))
    parser.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_SWARM_REPS", "1")))
    options = parser.parse_args()
    started = run("bash", str(ROOT / "scripts" / "swarm.sh"), "status", check=False).returncode != 0
    if started:
        subprocess.run(["bash", str(ROOT / "scripts" / "swarm.sh"), "up"], check=True)
    times: dict[tuple[str, str], list[float]] = {}
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    try:
        with tempfile.TemporaryDirectory(prefix="pt-bench-swarm-") as work:
            playbook = Path(work) / "bench.yml"
            playbook.write_text(
                PLAYBOOK.format(manager=MANAGER, project=PROJECT, prefix=PREFIX, image=IMAGE), encoding="utf-8"
            )
            outcome = Path(work) / "outcome.json"
            log = (Path(work) / "ansible.log").open("w", encoding="utf-8")
            for rep in range(options.reps):
                for way in ("e", "a", "b"):
                    for phase in PHASES if way != "e" else ("converge",):
                        version = "2" if phase == "change" else "1"
                        extra = json.dumps(
                            {
                                "way": way,
                                "phase": phase,
                                "size": options.size,
                                "version": version,
                                "outcome": str(outcome),
                            }
                        )
                        begin = time.monotonic()
                        subprocess.run(
                            ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", extra],
                            check=True,
                            env=env,
                            stdout=log,
                            stderr=log,
                        )
                        times.setdefault((way, phase), []).append(time.monotonic() - begin)
                        if way != "e":
                            check(way, phase, options.size, version, json.loads(outcome.read_text(encoding="utf-8")))
                print(f"repetition {rep + 1} of {options.reps} checked", file=sys.stderr)
    finally:
        if started:
            subprocess.run(["bash", str(ROOT / "scripts" / "swarm.sh"), "down"], check=False)
    fixed = statistics.median(times[("e", "converge")])
    print(
        f"\nSwarm, N={options.size} services of one replica, median of {options.reps}: seconds of task time "
        f"(the playbook's time less {fixed:.2f} s of an empty one), and per service"
    )
    print(f"{'phase':<10} {'polytope.core':>14} {'docker_swarm_service':>21} {'per service a/b':>16} {'b/a':>6}")
    for phase in PHASES:
        a = max(0.0, statistics.median(times[("a", phase)]) - fixed)
        b = max(0.0, statistics.median(times[("b", phase)]) - fixed)
        each = f"{a / options.size:.2f}/{b / options.size:.2f}"
        print(f"{phase:<10} {a:>14.2f} {b:>21.2f} {each:>16} {b / a if a else float('inf'):>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
