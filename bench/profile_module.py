#!/usr/bin/env python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where polytope.core.container's time goes, phase by phase (bench/run.py's spec and phases).

  .venv/bin/python bench/profile_module.py [-n 10] [--repeat 3] [--cprofile]

Three views, each on the local engine with the bench's project (cleaned up before and after):
  1. Start-up: the module through ansible-playbook with an invalid option, so it stops right after its
     imports and argument parsing. The action plugin would run the module in Ansible's worker on this
     local connection, so this view sets POLYTOPE_CORE_IN_PROCESS=0 to get a module process to measure.
     Gives Ansible's per-task overhead (task time minus the module process) and the module process's own
     start-up (interpreter, AnsiballZ unpacking, imports). Then the kept AnsiballZ file run under
     `python -X importtime`: the import time per top-level package.
  2. The phases in-process (module code from this checkout, no Ansible controller): wall time, every
     engine request (method and path, count and seconds), every time.sleep (caller, count and seconds)
     and CPU time. Requests made from worker threads overlap, so their seconds can add up to more
     than the wall time.
  3. Optionally (--cprofile) the top functions of each phase by cumulative time.
Nothing here asserts anything: it prints what it measured.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import glob
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "build"))

import run as bench  # noqa: E402


# ------------------------------------------------------------------------------------- 1. start-up --
def startup(repeat: int) -> None:
    print(
        "== 1. Start-up: one polytope.core.container task that fails validation (state: bogus), "
        "as a module process (POLYTOPE_CORE_IN_PROCESS=0)"
    )
    os.environ["POLYTOPE_CORE_IN_PROCESS"] = "0"
    try:
        _startup(repeat)
    finally:
        os.environ.pop("POLYTOPE_CORE_IN_PROCESS")


def _startup(repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="polybench-profile-"))
    extra = {**bench.vars_a("rerun", 1), "bench_state": "bogus"}
    rows = []
    keep = None
    for attempt in range(repeat):
        empty = bench.run_playbook("empty.yml", bench.common_vars(), work)
        if attempt == repeat - 1:
            os.environ["ANSIBLE_KEEP_REMOTE_FILES"] = "1"
            before = set(glob.glob(os.path.expanduser("~/.ansible/tmp/ansible-tmp-*")))
        result = bench.run_playbook("polytope.yml", extra, work)
        if attempt == repeat - 1:
            os.environ.pop("ANSIBLE_KEEP_REMOTE_FILES")
            kept = set(glob.glob(os.path.expanduser("~/.ansible/tmp/ansible-tmp-*"))) - before
            keep = next(
                (Path(k) / "AnsiballZ_container.py" for k in kept if (Path(k) / "AnsiballZ_container.py").exists()),
                None,
            )
        task = result["tasks"][0]["seconds"] if result["tasks"] else None
        module = result["modules"][0] if result["modules"] else None
        if task is None or module is None:
            print("   could not measure:", result.get("output_tail"))
            return
        ping = bench.run_playbook("ping.yml", bench.common_vars(), work)
        ping_task = ping["tasks"][0]["seconds"] if ping["tasks"] else float("nan")
        ping_module = ping["modules"][0]["elapsed"] if ping["modules"] else float("nan")
        rows.append(
            (
                empty["wall"],
                result["wall"],
                task,
                module["elapsed"],
                module["user"] + module["sys"],
                module["rss_kib"],
                ping_task,
                ping_module,
            )
        )
    med = [statistics.median(column) for column in zip(*rows)]
    print(f"   empty playbook                         {med[0]:6.3f} s   (median of {repeat})")
    print(f"   playbook with the failing task         {med[1]:6.3f} s")
    print(f"   the task (callback: start to result)   {med[2]:6.3f} s")
    print(
        f"     module process (python ... exit)     {med[3]:6.3f} s   cpu {med[4]:.3f} s, peak RSS {med[5] / 1024:.0f} MiB"
    )
    print(
        f"     controller side of one task          {med[2] - med[3]:6.3f} s   (worker fork, AnsiballZ build, tmp dir, file copy, shell calls)"
    )
    print(
        f"   for comparison, one ansible.builtin.ping task {med[6]:6.3f} s, of which its module process {med[7]:.3f} s"
    )
    if keep:
        importtime(keep)
        shutil.rmtree(keep.parent, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def importtime(ansiballz: Path) -> None:
    completed = subprocess.run(
        [str(bench.MODULE_PYTHON), "-X", "importtime", str(ansiballz)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    rows = []
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((int(match.group(1)), int(match.group(2)), len(match.group(3)), match.group(4)))
    if not rows:
        print("   (no -X importtime output)")
        return
    total = sum(row[0] for row in rows)
    print(
        f"   imports in the module process (-X importtime on the kept AnsiballZ): {total / 1e6:.3f} s, {len(rows)} modules"
    )
    print(
        "   cumulative (self) seconds; ansible.module_utils and polytope.core come from the zip and are compiled on every run"
    )
    shown = ("ansible.module_utils.basic", "docker", "requests", "urllib3")
    for self_us, cumulative_us, indent, name in sorted(rows, key=lambda row: -row[1]):
        if name in shown or (
            name.startswith("ansible_collections.polytope.core.plugins.module") and cumulative_us > 500
        ):
            print(f"      {cumulative_us / 1e6:6.3f} ({self_us / 1e6:5.3f})  {' ' * (indent // 2)}{name}")


# -------------------------------------------------------------------------------------- 2. phases --
class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, float]] = []
        self.sleeps: list[tuple[str, float]] = []

    def reset(self) -> None:
        self.requests.clear()
        self.sleeps.clear()


ID_RE = re.compile(r"/[0-9a-f]{64}|/polybench[^/?]*")


def install(recorder: Recorder) -> None:
    import requests

    original_send = requests.Session.send
    original_sleep = time.sleep

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_send(self, request, **kwargs)
        finally:
            path = request.path_url.split("?")[0]
            path = re.sub(r"^/v[0-9.]+", "", path)
            path = ID_RE.sub("/{c}", path)
            with recorder.lock:
                recorder.requests.append((f"{request.method} {path}", time.perf_counter() - start))

    def sleep(seconds: float) -> None:
        caller = sys._getframe(1)
        with recorder.lock:
            recorder.sleeps.append((f"{Path(caller.f_code.co_filename).name}:{caller.f_code.co_name}", seconds))
        original_sleep(seconds)

    requests.Session.send = send  # type: ignore[method-assign]
    time.sleep = sleep


def module_params(phase: str, n: int) -> dict[str, Any]:
    v = bench.vars_a(phase, n)
    return {
        "id": v["bench_id"],
        "project": v["bench_project"],
        "image": v["bench_image"],
        "cmd": v["bench_cmd"],
        "env": {"BENCH_FIXED": v["bench_fixed"], "BENCH_VALUE": v["bench_value"]},
        "restart": {"policy": "always"},
        "resources": {"cpu": {"limit": v["bench_cpus"]}, "memory": {"limit": v["bench_memory"]}},
        "tty": False,
        "scaling": v["bench_replicas"],
        "state": v["bench_state"],
        "stop_timeout": v["bench_stop_timeout"],
        "project_dir": str(BENCH / "playbooks"),
    }


def run_module_in_process(params: dict[str, Any], args_file: Path, profile: bool) -> tuple[dict[str, Any], Any]:
    from ansible.module_utils import basic

    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    basic._ANSIBLE_ARGS = None
    basic._ANSIBLE_PROFILE = None
    sys.argv = ["container", str(args_file)]
    module = sys.modules.get("ansible_collections.polytope.core.plugins.modules.container")
    if module is None:
        import ansible_collections.polytope.core.plugins.modules.container as module  # noqa: F811
    stdout = io.StringIO()
    profiler = cProfile.Profile() if profile else None
    with contextlib.redirect_stdout(stdout):
        try:
            if profiler:
                profiler.enable()
            module.main()
        except SystemExit:
            pass
        finally:
            if profiler:
                profiler.disable()
    text = stdout.getvalue()
    return json.loads(text[text.index("{") :]), profiler


def phases(n: int, repeat: int, profile: bool) -> None:
    print(f"\n== 2. The phases in-process, N={n} (module code from this checkout; median of {repeat} cycle(s))")
    recorder = Recorder()
    install(recorder)
    work = Path(tempfile.mkdtemp(prefix="polybench-profile-"))
    measured: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    profiles: dict[str, Any] = {}
    for cycle in range(repeat):
        for phase in bench.PHASES:
            recorder.reset()
            wall = time.perf_counter()
            cpu = time.process_time()
            result, profiler = run_module_in_process(
                module_params(phase, n), work / "args.json", profile and cycle == 0
            )
            if profiler:
                profiles[phase] = profiler
            if result.get("failed"):
                print(f"   {phase}: failed: {result.get('msg')}")
            measured[phase].append(
                {
                    "wall": time.perf_counter() - wall,
                    "cpu": time.process_time() - cpu,
                    "requests": list(recorder.requests),
                    "sleeps": list(recorder.sleeps),
                    "changed": result.get("changed"),
                }
            )
    for phase in bench.PHASES:
        runs = measured[phase]
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        first = min(runs, key=lambda r: abs(r["wall"] - wall))
        by_call: dict[str, list[float]] = collections.defaultdict(list)
        for call, seconds in first["requests"]:
            by_call[call].append(seconds)
        sleeps: dict[str, list[float]] = collections.defaultdict(list)
        for caller, seconds in first["sleeps"]:
            sleeps[caller].append(seconds)
        request_total = sum(seconds for _call, seconds in first["requests"])
        print(
            f"\n   {phase}: {wall:.3f} s wall, {cpu:.3f} s cpu (this process), changed={first['changed']}; "
            f"{len(first['requests'])} engine requests ({request_total:.3f} s summed over threads), "
            f"{len(first['sleeps'])} sleeps ({sum(seconds for _caller, seconds in first['sleeps']):.3f} s)"
        )
        for call, times in sorted(by_call.items(), key=lambda item: -sum(item[1])):
            print(
                f"      {len(times):4d} x {call:42s} {sum(times):7.3f} s  (mean {1000 * sum(times) / len(times):6.1f} ms)"
            )
        for caller, times in sorted(sleeps.items(), key=lambda item: -sum(item[1])):
            print(f"      {len(times):4d} x sleep in {caller:33s} {sum(times):7.3f} s")
    for phase, profiler in profiles.items():
        print(f"\n== 3. cProfile, {phase} (cumulative, top 25)")
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
        print("\n".join(line for line in stream.getvalue().splitlines() if line.strip())[:6000])
    shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10, help="replicas (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions per phase")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()
    client = bench.docker_client()
    bench.cleanup(client, networks=False)
    try:
        if not args.skip_startup:
            startup(args.repeat)
        phases(args.n, args.repeat, args.cprofile)
    finally:
        bench.cleanup(client, networks=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
