# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Way (c) of bench/run.py: the engine's own floor for each phase, one replica after the other.

The CLI floor runs one `docker` process per engine step, the SDK floor makes the same calls over one
low-level Docker SDK client in this process (no Python start-up, no Ansible). Both put the containers on
a user-defined bridge network with the id as alias, like polytope.core.container does.

Per replica and phase:
  converge    docker run -d (SDK: create + start)
  rerun       one `docker container inspect` of all names (SDK: inspect each), the least that reads the state back
  change      stop (graceful, as the other ways), remove, run again with the new env value
  scale down  stop and remove replicas 2..N
  teardown    stop and remove what is left
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    """The container settings every way runs."""

    image: str
    cmd: tuple[str, ...]
    fixed: str
    cpus: float
    memory_bytes: int
    stop_timeout: int
    alias: str

    def env(self, value: str) -> list[str]:
        return [f"BENCH_FIXED={self.fixed}", f"BENCH_VALUE={value}"]


def replica_names(base: str, count: int, start: int = 1) -> list[str]:
    """Names in polytope.core.container's scheme: base, base.2, base.3, ..."""
    return [base if number == 1 else f"{base}.{number}" for number in range(start, count + 1)]


class CliFloor:
    def __init__(self, spec: Spec, network: str, base: str, label: str, docker: str = "docker"):
        self.spec = spec
        self.network = network
        self.base = base
        self.label = label
        self.docker = docker

    def _run(self, *args: str) -> None:
        subprocess.run([self.docker, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _start(self, name: str, value: str) -> None:
        args = ["run", "-d", "-i", "--name", name, "--network", self.network, "--network-alias", self.spec.alias]
        for item in self.spec.env(value):
            args += ["-e", item]
        memory = str(self.spec.memory_bytes)
        args += ["--restart", "always", "--cpus", str(self.spec.cpus), "--memory", memory, "--memory-swap", memory]
        args += ["--label", f"polybench={self.label}", self.spec.image, *self.spec.cmd]
        self._run(*args)

    def _stop_remove(self, name: str) -> None:
        self._run("stop", "-t", str(self.spec.stop_timeout), name)
        self._run("rm", name)

    def converge(self, count: int, value: str) -> None:
        for name in replica_names(self.base, count):
            self._start(name, value)

    def rerun(self, count: int, value: str) -> None:
        self._run("container", "inspect", *replica_names(self.base, count))

    def change(self, count: int, value: str) -> None:
        for name in replica_names(self.base, count):
            self._stop_remove(name)
            self._start(name, value)

    def scale_down(self, count: int, value: str) -> None:
        for name in reversed(replica_names(self.base, count, start=2)):
            self._stop_remove(name)

    def teardown(self, count: int, value: str) -> None:
        for name in replica_names(self.base, count):
            self._stop_remove(name)


class SdkFloor(CliFloor):
    """The same steps through docker.APIClient, the client polytope.core.container uses."""

    def __init__(self, spec: Spec, network: str, base: str, label: str, docker_host: str):
        super().__init__(spec, network, base, label)
        self.docker_host = docker_host
        self.client: Any = None

    def open(self) -> None:
        import docker  # the .venv has the SDK; imported here so the CLI floor works without it

        # version="auto" asks the engine, as the module does: one round trip, part of the floor
        self.client = docker.APIClient(base_url=self.docker_host, version="auto", timeout=60)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _start(self, name: str, value: str) -> None:
        client = self.client
        host_config = client.create_host_config(
            network_mode=self.network,
            restart_policy={"Name": "always", "MaximumRetryCount": 0},
            nano_cpus=int(self.spec.cpus * 1e9),
            mem_limit=self.spec.memory_bytes,
            memswap_limit=self.spec.memory_bytes,
        )
        networking = client.create_networking_config(
            {self.network: client.create_endpoint_config(aliases=[self.spec.alias])}
        )
        created = client.create_container(
            self.spec.image,
            command=list(self.spec.cmd),
            name=name,
            environment=self.spec.env(value),
            labels={"polybench": self.label},
            stdin_open=True,
            tty=False,
            host_config=host_config,
            networking_config=networking,
        )
        client.start(created["Id"])

    def _stop_remove(self, name: str) -> None:
        self.client.stop(name, timeout=self.spec.stop_timeout)
        self.client.remove_container(name)

    def rerun(self, count: int, value: str) -> None:
        for name in replica_names(self.base, count):
            self.client.inspect_container(name)
