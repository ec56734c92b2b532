# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chaos suite's rig: an engine of its own in a network namespace, a delaying TCP proxy in front of it,
a tmpfs dataset store, and killing a process tree.

The engine is restarted and made slow on purpose, so it is never the machine's main engine. Its replicas are
reachable from here (the module probes a local engine's replicas at their own addresses): its networks come
from a pool that this machine routes to the namespace.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from types import ModuleType
from typing import Optional

NAMESPACE = "pt-chaos"
BRIDGE = "br-pt-chaos"
VETH = "vpt-chaos"
HOST_ADDRESS = "10.94.0.1"
ENGINE_ADDRESS = "10.94.0.11"
BIP = "172.23.0.1/16"
# the engine's own networks (the module's project network among them), routed to the namespace from here
POOL = "10.94.128.0/17"
SOCKET = "/run/docker-pt-chaos.sock"
DOCKER_HOST = "unix://" + SOCKET
DATA_ROOT = "/var/lib/docker-pt-chaos"
EXEC_ROOT = "/run/docker-pt-chaos"
PIDFILE = "/run/docker-pt-chaos.pid"
LOG = "/var/log/dockerd-pt-chaos.log"
STORE_SIZE = "32m"
CONTAINERD_PIDFILE = EXEC_ROOT + "/containerd/containerd.pid"
PR_SET_CHILD_SUBREAPER = 36
KILL_RUN = "../integration/targets/container/files/kill_run.py"


def run(*command: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {result.returncode}: {(result.stderr or result.stdout).strip()}")
    if not quiet and result.returncode != 0:
        print(f"  ({' '.join(command)}: exit {result.returncode})")
    return result


def engine_cli(*arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("docker", "-H", DOCKER_HOST, *arguments, check=check, quiet=True)


def _load_kill_run() -> ModuleType:
    """The container integration target's kill_run.py, the one implementation of killing a process tree.

    That file cannot import this one (ansible-test copies only the target's own directory); this suite always
    runs from the checkout, so it loads that file from there.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), KILL_RUN)
    spec = importlib.util.spec_from_file_location("kill_run", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_KILL_RUN = _load_kill_run()


def become_subreaper() -> None:
    """Orphans of this process's tree (a killed run's workers, a killed dockerd's containerd) become its children.

    Some machines' first process reaps orphans late: until then they are zombies, which dockerd and the module
    take for live processes. This process reaps them as an init that does its job would (see reap).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _parent(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def reap(pids: list[int], timeout: float = 10.0) -> None:
    """Wait for these processes where they became this process's children; never for any other child."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _parent(pid) == os.getpid() and time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:
                break
            time.sleep(0.02)


def reap_engine_orphans() -> None:
    """Reap the containerd shims that became this process's children and ended (none of its own children)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        name, fields = text.split("(", 1)[1].rsplit(")", 1)
        state, parent = fields.split()[:2]
        if state == "Z" and int(parent) == os.getpid() and name.startswith("containerd"):
            reap([int(entry)])


def kill_tree(root: int) -> int:
    """SIGKILL a process and everything below it, as a crash of the controller would; the number killed.

    The root is left to whoever started it to wait for; the orphans below it are reaped here.
    """
    doomed, killed = _KILL_RUN.kill_tree(root)
    reap([pid for pid in doomed if pid != root])
    return killed


class Engine:
    """dockerd in the namespace: up (idempotent), restart, down (everything it made, also after a crash)."""

    def __init__(self, images: list[str]):
        self.images = images
        self.process: Optional[subprocess.Popen[bytes]] = None  # the dockerd this suite started, reaped here

    def up(self) -> None:
        if run("ip", "link", "show", BRIDGE, check=False, quiet=True).returncode != 0:
            run("ip", "link", "add", BRIDGE, "type", "bridge")
            run("ip", "addr", "add", f"{HOST_ADDRESS}/24", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        if NAMESPACE not in run("ip", "netns", "list").stdout.split():
            run("ip", "netns", "add", NAMESPACE)
            run("ip", "link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NAMESPACE)
            run("ip", "link", "set", VETH, "master", BRIDGE, "up")
            inside = f"ip addr add {ENGINE_ADDRESS}/24 dev eth0 && ip link set eth0 up && ip link set lo up"
            run("ip", "netns", "exec", NAMESPACE, "sh", "-c", f"{inside} && ip route add default via {HOST_ADDRESS}")
            # nothing answers names here: refuse DNS at once instead of letting a pull wait out its timeout
            for protocol, reject in (("udp", "icmp-port-unreachable"), ("tcp", "tcp-reset")):
                run(
                    "ip",
                    "netns",
                    "exec",
                    NAMESPACE,
                    "iptables",
                    "-I",
                    "OUTPUT",
                    "-p",
                    protocol,
                    "--dport",
                    "53",
                    "-j",
                    "REJECT",
                    "--reject-with",
                    reject,
                )
        if run("ip", "route", "show", POOL, quiet=True).stdout.strip() == "":
            run("ip", "route", "add", POOL, "via", ENGINE_ADDRESS)
        self.start()
        for image in self.images:
            if engine_cli("image", "inspect", image, check=False).returncode != 0:
                subprocess.run(f"docker save {image} | docker -H {DOCKER_HOST} load -q", shell=True, check=True)

    def pid(self) -> Optional[int]:
        """The running dockerd's pid: one this suite started (poll() reaps it once it ended), or one a killed
        earlier run of the suite left (its pid file, unless that process ended)."""
        if self.process is not None:
            return self.process.pid if self.process.poll() is None else None
        try:
            with open(PIDFILE, encoding="utf-8") as handle:
                pid = int(handle.read().strip())
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                ended = handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
            return None if ended else pid
        except (OSError, ValueError, IndexError):
            return None

    def answers(self) -> bool:
        return engine_cli("version", "--format", "{{.Server.Version}}", check=False).returncode == 0

    def start(self, attempts: int = 3) -> None:
        if self.pid() is None:
            with open(LOG, "ab") as log:
                self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                    [
                        "nsenter",
                        f"--net=/var/run/netns/{NAMESPACE}",
                        "dockerd",
                        "--data-root",
                        DATA_ROOT,
                        "--exec-root",
                        EXEC_ROOT,
                        "--pidfile",
                        PIDFILE,
                        "-H",
                        DOCKER_HOST,
                        "--bip",
                        BIP,
                        "--default-address-pool",
                        f"base={POOL},size=24",
                        "--cgroup-parent",
                        "docker-pt-chaos",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 90
        while not self.answers():
            if self.process is not None and self.process.poll() is not None and attempts > 1:
                self.process = None  # it gave up (its containerd did not start): once more, as systemd would
                self.start(attempts - 1)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the chaos engine did not answer within 90 s; see {LOG}")
            time.sleep(0.2)
        # dockerd drops forwarded traffic to its networks; the module probes replicas from here
        rule = ["-s", f"{HOST_ADDRESS}/32", "-j", "ACCEPT"]
        inside = ["nsenter", f"--net=/var/run/netns/{NAMESPACE}", "iptables"]
        if run(*inside, "-C", "DOCKER-USER", *rule, check=False, quiet=True).returncode != 0:
            run(*inside, "-I", "DOCKER-USER", *rule)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            with open(CONTAINERD_PIDFILE, encoding="utf-8") as handle:
                containerd = [int(handle.read().strip())]
        except (OSError, ValueError):
            containerd = []
        os.kill(pid, sig)
        deadline = time.monotonic() + 60
        while self.pid() is not None:
            if time.monotonic() > deadline and sig != signal.SIGKILL:
                os.kill(pid, signal.SIGKILL)
                sig = signal.SIGKILL
            time.sleep(0.1)
        reap(containerd)  # it dies with its dockerd
        if sig == signal.SIGKILL:
            try:
                os.unlink(PIDFILE)
            except FileNotFoundError:
                pass

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def down(self) -> None:
        pid = self.pid()
        if pid is not None and self.answers():
            ids = engine_cli("ps", "-aq", check=False).stdout.split()
            if ids:
                engine_cli("rm", "-f", *ids, check=False)
        self.stop()
        run("ip", "route", "del", POOL, check=False, quiet=True)
        if NAMESPACE in run("ip", "netns", "list").stdout.split():
            run("ip", "netns", "del", NAMESPACE, check=False)
        run("ip", "link", "del", VETH, check=False, quiet=True)
        run("ip", "link", "del", BRIDGE, check=False, quiet=True)
        # containerd-shims of the engine's containers keep its mounts busy for a moment after it stops
        for _attempt in range(20):
            run(
                "sh",
                "-c",
                f"grep -o ' {DATA_ROOT}[^ ]*\\| {EXEC_ROOT}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l",
                check=False,
                quiet=True,
            )
            shutil.rmtree(DATA_ROOT, ignore_errors=True)
            shutil.rmtree(EXEC_ROOT, ignore_errors=True)
            if not os.path.exists(DATA_ROOT) and not os.path.exists(EXEC_ROOT):
                break
            time.sleep(0.5)
        for path in (SOCKET, PIDFILE):
            if os.path.lexists(path):
                os.unlink(path)


class Store:
    """The dataset store: a tmpfs, so that it can be made full by shrinking it to what it holds plus a little."""

    def __init__(self, path: str):
        self.path = path

    def mount(self) -> None:
        os.makedirs(self.path, exist_ok=True)
        if not os.path.ismount(self.path):
            run("mount", "-t", "tmpfs", "-o", f"size={STORE_SIZE},mode=0700", "pt-chaos-store", self.path)

    def fill(self, free_bytes: int) -> None:
        stat = os.statvfs(self.path)
        used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
        run("mount", "-o", f"remount,size={used + free_bytes}", self.path)

    def unfill(self) -> None:
        run("mount", "-o", f"remount,size={STORE_SIZE}", self.path)

    def unmount(self) -> None:
        if os.path.ismount(self.path):
            run("umount", self.path, check=False)


class DelayProxy:
    """tcp://127.0.0.1:PORT to the engine's socket, every chunk held back `delay` seconds in each direction."""

    def __init__(self, delay: float):
        self.delay = delay
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def docker_host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(SOCKET)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        """Take the engine away: the listener and every connection through it."""
        with self.lock:
            self.closed = True
            doomed = list(self.connections)
        for end in [self.listener, *doomed]:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()
