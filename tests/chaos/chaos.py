# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chaos suite: faults injected into real rollouts of polytope.core.container, run through ansible-playbook
against an engine of the suite's own (rig.py), and the checks after each fault.

    python tests/chaos/chaos.py [--seed N] [--faults N]       (as root; `make chaos`, `make chaos-small`)

Each fault is planned from the seed: the run is killed (SIGKILL of the whole process tree) or the engine is
restarted at a point of a rollout (an engine event, a dataset store under way, or a delay); the dataset store
is full; a pull fails; the engine is slow, or goes away, behind a delaying proxy; a replacement exits at once.
After each: the next run converges and a rerun changes nothing; no more replicas were down than the rollout
allows (the previous replicas all run after a broken change failed); every marker written into the shared
volume, every filled volume and every stored dataset version is intact, and every retired replica's data was
stored; no helper, lock, marker, set-aside replica, stray volume or ``.incoming-*`` file is left.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import replace
from typing import Any, Callable, Optional

import docker

import rig
from faults import (
    DATASET,
    EXTRA,
    BROKEN,
    ID,
    IMAGES,
    INCOMING,
    PRIMARY,
    PROJECT,
    STORE,
    UNPULLABLE,
    WORK,
    Fault,
    Outcome,
    Sampler,
    Target,
    Trigger,
    plan,
    point_text,
    replicas,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "chaos", "converge.yml")
SEED_DIR = os.path.join(WORK, "seed")
RUN_TIMEOUT = 300
BLOB = 150_000  # incompressible bytes a replica writes into its dataset: more than a full store has room for
STORE_ROOM = 64 * 1024
ALLOWED_IN_DATASET = re.compile(r"^(v[1-9][0-9]*\.(tar\.gz|json)|\.v[1-9][0-9]*\.reserved|\.lock)$")
WORKLOAD = (
    "trap 'exit 0' TERM; echo \"$GEN $HOSTNAME\" > /out/mark-$HOSTNAME; head -c $BLOB /dev/urandom > /out/blob; "
    '[ "$CRASH" = 1 ] && exit 3; sleep 1; httpd -f -p 8080 -h /out & wait'
)


class Suite:
    def __init__(self, seed: int, logs: str):
        self.seed, self.logs = seed, logs
        self.client = docker.APIClient(base_url=rig.DOCKER_HOST, version="1.41", timeout=30)
        self.engine = rig.Engine(list(IMAGES))
        self.store = rig.Store(STORE)
        self.proxy: Optional[rig.DelayProxy] = None
        self.seen: set[str] = set()  # every replica container seen running
        self.versions: dict[int, str] = {}  # version number -> sha256 of its archive when first seen
        self.markers: dict[str, str] = {}
        self.seed_digests: dict[str, str] = {}
        self.runs = 0
        self.current = Target()
        self.rollout = False
        self.play_seconds = 0.0
        self.rollout_seconds = 5.0  # how long the last run that changed something took

    # -- runs -------------------------------------------------------------------------------------------
    def spec(self, target: Target, fault: Optional[Fault] = None, docker_host: str = rig.DOCKER_HOST) -> dict[str, Any]:
        image, update = target.image, False
        env = {"GEN": str(target.gen), "BLOB": str(target.blob)}
        if fault is not None and fault.kind == "pull-fail":
            image, update = UNPULLABLE[fault.detail]
        if fault is not None and fault.kind == "crash-start":
            env["CRASH"] = "1"
        spec = {
            "id": ID,
            "project": PROJECT,
            "image": image,
            "update_image": update,
            "scaling": target.scaling,
            "cmd": ["sh", "-c", WORKLOAD],
            "env": env,
            "mounts": [
                {"source": {"type": "volume", "id": "data", "scope": "project"}, "path": "/data"},
                {"source": {"type": "volume", "source": {"type": "host", "path": SEED_DIR}}, "path": "/seed"},
                {"source": {"type": "string", "data": "chaos\n"}, "path": "/out/.keep"},
            ],
            "datasets": [{"path": "/out", "sink": DATASET}],
            "services": [{"id": "web", "ports": [{"port": 8080, "protocol": "http"}]}],
            "restart": {"policy": "always"},
            "publish_address": "127.0.0.1",
            "stop_timeout": 2,
            "wait_timeout": 12,
            "dataset_store": STORE,
            "docker_host": docker_host,
            "timeout": 20,
        }
        if self.rollout and fault is not None:
            spec["rollout"] = {"parallelism": fault.parallelism}
        return spec

    def play(
        self,
        spec: dict[str, Any],
        step: str,
        trigger: Optional[Callable[[Callable[[], None]], Trigger]] = None,
        action: Optional[Callable[[int], None]] = None,
    ) -> tuple[int, bool, bool]:
        """Run the playbook once; (exit code, changed, whether the trigger fired)."""
        self.runs += 1
        base = os.path.join(self.logs, f"{self.runs:03d}-{step}")
        with open(base + ".json", "w", encoding="utf-8") as handle:
            json.dump({"chaos_spec": spec}, handle)
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_NOCOLOR="1",
        )
        command = [
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            PLAYBOOK,
            "-e",
            "@" + base + ".json",
            "-v",
        ]
        started = time.monotonic()
        with (
            open(base + ".log", "w", encoding="utf-8") as log,
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) as process,
        ):

            def fire() -> None:
                if action is not None:
                    action(process.pid)

            armed = trigger(fire) if trigger else None
            try:
                rc = process.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                rig.kill_tree(process.pid)
                rc = process.wait()
                log.write(f"\nchaos: the run was still going after {RUN_TIMEOUT}s and was killed\n")
            if armed is not None:
                armed.stop()
                if armed.fired.is_set():
                    armed.thread.join(120)  # an engine restart under way ends before anything else
        with open(base + ".log", encoding="utf-8") as log:
            text = log.read()
        recap = re.search(r"changed=(\d+)", text)
        self.play_seconds += time.monotonic() - started
        if rc == 0 and recap and int(recap.group(1)) and not armed:
            self.rollout_seconds = time.monotonic() - started
        return rc, bool(recap and int(recap.group(1))), bool(armed and armed.fired.is_set())

    # -- faults -----------------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> Outcome:
        outcome, before = Outcome(), self.current
        docker_host = rig.DOCKER_HOST
        if fault.kind in ("slow", "slow-kill", "engine-lost"):
            self.proxy = rig.DelayProxy(fault.delay)
            docker_host = self.proxy.docker_host
        if fault.kind == "store-full":
            # the replicas to retire hold more than the store will have room for
            rc, _changed, _fired = self.play(self.spec(replace(before, blob=BLOB)), f"f{fault.number}-prepare")
            if rc != 0:
                outcome.notes.append("preparing the full store failed")
            self.remember()
            self.store.fill(STORE_ROOM)
            outcome.injected = True

        def act(pid: int) -> None:
            if fault.kind in ("kill", "slow-kill"):
                outcome.notes.append(f"killed {rig.kill_tree(pid)} processes")
            elif fault.kind == "engine-restart":
                self.engine.restart(fault.sig)
            elif fault.kind == "engine-lost" and self.proxy is not None:
                self.proxy.close()

        def arm(fire: Callable[[], None]) -> Trigger:
            return Trigger(self.client, fault.point, fire, self.rollout_seconds)

        sampler = Sampler(self.client, self.seen)
        rc, _changed, fired = self.play(
            self.spec(fault.target, fault, docker_host),
            f"f{fault.number}-{fault.kind}",
            arm if fault.point else None,
            act,
        )
        fewest = sampler.stop()
        outcome.run_rc = rc
        outcome.injected = outcome.injected or fired or fault.kind in ("slow", "pull-fail", "crash-start")
        if fault.kind == "engine-restart" and fired:
            self.engine.start()
        self.check_allowance(fault, before, rc, fewest, outcome)
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
        if fault.kind == "store-full":
            self.store.unfill()
        self.recover(fault, outcome)
        return outcome

    def check_allowance(self, fault: Fault, before: Target, rc: int, fewest: Optional[int], outcome: Outcome) -> None:
        if fault.kind in BROKEN:
            # a rollback may put the previous containers back or make new ones of the previous spec
            previous = replace(before, blob=BLOB) if fault.kind == "store-full" else before
            wanted = {f"GEN={previous.gen}", f"BLOB={previous.blob}"}
            serving = 0
            for container in replicas(self.client, running_only=True):
                config = self.client.inspect_container(container["Id"])["Config"]
                serving += wanted <= set(config["Env"]) and config["Image"] == previous.image
            if rc == 0:
                outcome.notes.append("the broken change did not fail")
            if serving < previous.scaling:
                outcome.down.append(
                    f"{serving} replicas of the previous spec run after the broken change failed, not {previous.scaling}"
                )
            return
        floor = min(before.scaling, fault.target.scaling) - fault.parallelism
        if fault.kind == "engine-restart":
            # the engine itself stopped every container; its restart policy brings them back
            deadline = time.monotonic() + 30
            while len(replicas(self.client, running_only=True)) < floor and time.monotonic() < deadline:
                time.sleep(0.2)
            fewest = len(replicas(self.client, running_only=True))
        if fewest is not None and fewest < floor:
            outcome.down.append(f"only {fewest} replicas ran at one point; the rollout allows {floor}")

    def recover(self, fault: Fault, outcome: Outcome) -> None:
        rc, _changed, _fired = self.play(self.spec(fault.target), f"f{fault.number}-recover")
        outcome.converged = rc == 0
        if rc == 0:
            rc, changed, _fired = self.play(self.spec(fault.target), f"f{fault.number}-rerun")
            outcome.idempotent = rc == 0 and not changed
            if not outcome.idempotent:
                outcome.notes.append(f"the rerun after recovery: exit {rc}, changed={changed}")
        self.current = fault.target
        self.check_state(fault.target, outcome)
        if not outcome.converged:
            # later faults need a converged start
            for attempt in range(2):
                if self.play(self.spec(fault.target), f"f{fault.number}-repair{attempt + 1}")[0] == 0:
                    break

    # -- checks -----------------------------------------------------------------------------------------
    def shell(self, container: str, script: str) -> str:
        run = self.client.exec_create(container, ["sh", "-c", script])
        output = self.client.exec_start(run["Id"]).decode(errors="replace")
        if self.client.exec_inspect(run["Id"]).get("ExitCode"):
            raise RuntimeError(f"{container}: {script}: {output.strip()}")
        return output

    def remember(self) -> None:
        """Take note of what a converged state holds, so that later checks find it again."""
        self.seen.update(c["Id"] for c in replicas(self.client, running_only=True))
        for number, (digest, _metadata) in self.stored().items():
            self.versions.setdefault(number, digest)

    def write_marker(self, number: int) -> None:
        name = f"marker-{number}"
        value = f"{self.seed}-{number}-{random.Random(self.seed * 1000 + number).getrandbits(64):x}"
        self.shell(f"{PROJECT}.{ID}", f"echo {value} > /data/{name} && sync")
        self.markers[name] = value

    def stored(self) -> dict[int, tuple[str, dict[str, Any]]]:
        directory = os.path.join(STORE, DATASET)
        found = {}
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            match = re.match(r"^v([0-9]+)\.json$", name)
            if match:
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    metadata = json.load(handle)
                archive = os.path.join(directory, f"v{match.group(1)}.tar.gz")
                digest = ""
                if os.path.exists(archive):
                    with open(archive, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                found[int(match.group(1))] = (digest, metadata)
        return found

    def check_state(self, target: Target, outcome: Outcome) -> None:
        rig.reap_engine_orphans()
        expected = {f"{PROJECT}.{ID}"} | {f"{PROJECT}.{ID}.{k}" for k in range(2, target.scaling + 1)}
        everything = self.client.containers(all=True)
        by_name = {c["Names"][0].lstrip("/"): c for c in everything}
        for name, container in sorted(by_name.items()):
            if name not in expected:
                outcome.leftovers.append(f"container {name} ({container['State']})")
        wanted_volumes = {f"{PROJECT}.data"}
        for name in sorted(expected):
            container = by_name.get(name)
            if container is None or container["State"] != "running":
                outcome.notes.append(f"replica {name} does not run")
                outcome.converged = False
                continue
            inspect = self.client.inspect_container(container["Id"])
            if f"GEN={target.gen}" not in inspect["Config"]["Env"] or inspect["Config"]["Image"] != target.image:
                outcome.notes.append(f"{name} does not run generation {target.gen} of {target.image}")
                outcome.converged = False
            wanted_volumes |= {m["Name"] for m in inspect["Mounts"] if m.get("Type") == "volume"}
            digest = self.shell(name, "cd /seed && md5sum $(ls | sort)")
            if digest != self.seed_digests["all"]:
                outcome.lost.append(f"volume of {name} at /seed does not hold its source")
        for volume in self.client.volumes().get("Volumes") or []:
            if volume["Name"] not in wanted_volumes:
                outcome.leftovers.append(f"volume {volume['Name']}")
        if f"{PROJECT}.{ID}" in by_name and by_name[f"{PROJECT}.{ID}"]["State"] == "running":
            listing = self.shell(
                f"{PROJECT}.{ID}", "for f in /data/marker-*; do [ -e $f ] && echo $(basename $f) $(cat $f); done; true"
            )
            present = dict(line.split(" ", 1) for line in listing.splitlines() if " " in line)
            for name, value in self.markers.items():
                if present.get(name) != value:
                    outcome.lost.append(f"volume {PROJECT}.data lost {name}")
        self.check_store(outcome)

    def check_store(self, outcome: Outcome) -> None:
        stored = self.stored()
        for number, digest in sorted(self.versions.items()):
            if number not in stored or stored[number][0] != digest:
                outcome.lost.append(f"dataset {DATASET} version {number} is gone or changed")
        containers = set()
        for number, (digest, metadata) in sorted(stored.items()):
            if digest != metadata.get("sha256"):
                outcome.lost.append(f"dataset {DATASET} version {number}: the archive does not match its sha256")
                continue
            container = (metadata.get("source") or {}).get("container", "")
            containers.add(container)
            if number not in self.versions:
                try:
                    with tarfile.open(os.path.join(STORE, DATASET, f"v{number}.tar.gz")) as archive:
                        names = archive.getnames()
                except (OSError, tarfile.TarError) as exc:
                    outcome.lost.append(f"dataset {DATASET} version {number} cannot be read: {exc}")
                    continue
                if not any(name.endswith(f"mark-{container[:12]}") for name in names):
                    outcome.notes.append(f"version {number} has no mark of {container[:12]}")
                self.versions[number] = digest
        present = {c["Id"] for c in self.client.containers(all=True)}
        for container in sorted(self.seen - present - containers):
            outcome.lost.append(f"replica container {container[:12]} was removed without storing its dataset")
        self.seen &= present
        for directory, _dirs, files in os.walk(STORE):
            for name in files:
                if name.startswith(INCOMING) or (directory != STORE and not ALLOWED_IN_DATASET.match(name)):
                    outcome.leftovers.append(f"file {os.path.join(directory, name)}")

    # -- the whole suite --------------------------------------------------------------------------------
    def setup(self) -> None:
        os.makedirs(SEED_DIR, exist_ok=True)
        rng = random.Random(self.seed)
        for index in range(16):
            with open(os.path.join(SEED_DIR, f"part-{index:02d}"), "wb") as handle:
                handle.write(rng.randbytes(64 * 1024))
        self.seed_digests["all"] = subprocess.run(
            "cd " + SEED_DIR + " && md5sum $(ls | sort)", shell=True, check=True, capture_output=True, text=True
        ).stdout
        self.engine.up()
        self.store.mount()
        doc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-j", "polytope.core.container"],
            cwd=ROOT,
            env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")),
            capture_output=True,
            text=True,
            check=True,
        )
        self.rollout = "rollout" in json.loads(doc.stdout)["polytope.core.container"]["doc"]["options"]
        rc, _changed, _fired = self.play(self.spec(self.current), "initial")
        if rc != 0:
            raise RuntimeError(f"the first converge failed; see {self.logs}")
        self.remember()
        print(f"chaos: the checks found each of {self.check_the_checks()} problems planted on purpose", flush=True)

    def check_the_checks(self) -> int:
        """Plant one problem of each kind the checks look for; each must be reported, and none once undone."""
        directory = os.path.join(STORE, DATASET)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        incoming = os.path.join(directory, INCOMING + "1@planted@x.tar.gz")
        self.write_marker(0)
        planted = {
            "container pt-chaos.app.lock": lambda: engine_create(f"{PROJECT}.{ID}.lock"),
            f"file {incoming}": lambda: open(incoming, "wb").close(),
            "lost marker-0": lambda: self.shell(f"{PROJECT}.{ID}", "rm /data/marker-0"),
            "version 999 is gone": lambda: self.versions.setdefault(999, "planted"),
            "container deadbeefdead was removed": lambda: self.seen.add("deadbeef" * 8),
            f"replica {PROJECT}.{ID}.2 does not run": lambda: self.client.stop(f"{PROJECT}.{ID}.2", timeout=2),
        }
        for plant in planted.values():
            plant()
        outcome = Outcome(converged=True)
        self.check_state(self.current, outcome)
        reported = outcome.lost + outcome.down + outcome.leftovers + outcome.notes
        missed = [problem for problem in planted if not any(problem in line for line in reported)]
        if missed:
            raise RuntimeError(f"the checks missed planted problems: {missed}; they reported {reported}")
        rig.engine_cli("rm", "-f", f"{PROJECT}.{ID}.lock")
        os.unlink(incoming)
        del self.versions[999]
        self.client.start(f"{PROJECT}.{ID}.2")
        self.write_marker(0)
        clean = Outcome(converged=True, idempotent=True)
        self.check_state(self.current, clean)
        if not clean.survived:
            raise RuntimeError(f"the checks report problems where there are none: {clean}")
        return len(planted)

    def teardown(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
        self.engine.down()
        self.store.unmount()
        subprocess.run(["rm", "-rf", WORK], check=False)


def engine_create(name: str) -> None:
    rig.engine_cli("create", "--name", name, IMAGES[0], "true")


def report(faults: list[Fault], outcomes: list[Outcome], seconds: float) -> bool:
    kinds = sorted({f.kind for f in faults}, key=(PRIMARY + EXTRA).index)
    print(
        f"\n{'fault':16} {'planned':>8} {'injected':>9} {'survived':>9} {'lost data':>10} {'replicas down':>14} {'leftovers':>10}"
    )
    totals = [0] * 6
    for kind in kinds + ["total"]:
        pairs = [(f, o) for f, o in zip(faults, outcomes) if kind in ("total", f.kind)]
        row = [
            len(pairs),
            sum(o.injected for _f, o in pairs),
            sum(o.survived for f, o in pairs if o.injected),
            sum(len(o.lost) for _f, o in pairs),
            sum(len(o.down) for _f, o in pairs),
            sum(len(o.leftovers) for _f, o in pairs),
        ]
        if kind == "total":
            totals = row
        print(f"{kind:16} {row[0]:>8} {row[1]:>9} {row[2]:>9} {row[3]:>10} {row[4]:>14} {row[5]:>10}")
    failed = [o for o in outcomes if not o.survived]
    print(
        f"chaos: {totals[1]} faults injected, {totals[2]} survived, lost data {totals[3]}, "
        f"replicas down beyond the allowance {totals[4]}, leftovers {totals[5]} ({seconds:.0f}s)"
    )
    return not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    parser.add_argument("--faults", type=int, default=int(os.environ.get("CHAOS_FAULTS", "40")))
    parser.add_argument("--logs", default=os.path.join(ROOT, "build", "chaos"))
    args = parser.parse_args()
    logs = os.path.join(args.logs, f"seed-{args.seed}")
    subprocess.run(["rm", "-rf", logs], check=False)
    os.makedirs(logs)
    suite = Suite(args.seed, logs)
    faults = plan(args.seed, args.faults, rollout=False)
    outcomes: list[Outcome] = []
    start = time.monotonic()
    print(
        f"chaos: seed {args.seed}, {args.faults} faults, engine {rig.DOCKER_HOST} in namespace {rig.NAMESPACE}, logs {logs}"
    )
    rig.become_subreaper()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))  # tear down on TERM too
    try:
        suite.teardown()  # what a killed earlier run left
        suite.setup()
        if suite.rollout:
            faults = plan(args.seed, args.faults, rollout=True)
        for fault in faults:
            before, started, played = suite.current, time.monotonic(), suite.play_seconds
            try:
                suite.write_marker(fault.number)
            except (RuntimeError, docker.errors.APIError) as exc:
                print(f"      marker {fault.number} not written: {exc}")
            outcome = suite.inject(fault)
            outcomes.append(outcome)
            status = "NOT SURVIVED" if not outcome.survived else ("survived" if outcome.injected else "not injected")
            point = point_text(fault.point) if fault.point else ""
            print(
                f"{fault.number:3d} {fault.title(before):44} {point:38} run exit {outcome.run_rc}: {status} "
                f"({time.monotonic() - started:.0f}s, playbooks {suite.play_seconds - played:.0f}s)",
                flush=True,
            )
            for line in (
                outcome.lost + outcome.down + outcome.leftovers + (outcome.notes if not outcome.survived else [])
            ):
                print(f"      {line}")
    finally:
        suite.teardown()
    return (
        0 if report(faults[: len(outcomes)], outcomes, time.monotonic() - start) and len(outcomes) == len(faults) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
