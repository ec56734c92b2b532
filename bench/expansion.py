#!/usr/bin/env python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench` (first part): how long polytope.yml expansion takes, touching no engine.

Prints, in seconds (median of --reps runs, min and max):
  - every template and tool of the largest file of ../shared/corpus/polytope-yml/ (the first
    expansion of the process separately: it pays for imports and for starting the JavaScript engine),
  - the carbonbridge project's stack tool (its root file and the 8 included service files),
  - runaway and escaping code strings (an infinite loop, deep recursion, a huge result, I/O):
    each ends as a clear error, and the time shows how fast.
Options: --reps N (default 5), --shared DIR (default ../shared beside the checkout, or POLYTOPE_SHARED).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build"))

from ansible_collections.polytope.core.plugins.module_utils._language import (  # noqa: E402
    TemplateError,
    describe_file,
    expand,
)

ESCAPES = {
    "clojure infinite loop": "'#pt-clj (loop [] (recur))'",
    "clojure deep recursion": "'#pt-clj ((fn f [n] (f (inc n))) 0)'",
    "clojure 10^7 elements": "'#pt-clj (vec (range 10000000))'",
    "clojure slurp": "'#pt-clj (slurp \"/etc/passwd\")'",
    "clojure System/exit": "'#pt-clj (System/exit 0)'",
    "clojure eval": "'#pt-clj (eval (quote (+ 1 2)))'",
    "javascript infinite loop": "'#pt-js while (true) {}'",
    "javascript deep recursion": "'#pt-js function f(n) { return f(n + 1) } f(0)'",
    "javascript 10^7 elements": "'#pt-js Array(10000000).fill(1)'",
    "javascript require": "'#pt-js require(\"fs\")'",
    "javascript process.exit": "'#pt-js process.exit()'",
    "javascript constructor escape": "'#pt-js this.constructor.constructor(\"return process\")()'",
}


def shared_dir(given: str | None) -> Path | None:
    for candidate in (given, os.environ.get("POLYTOPE_SHARED"), str(ROOT.parent / "shared")):
        if candidate and (Path(candidate) / "corpus").is_dir():
            return Path(candidate)
    return None


def inputs_of(text: str) -> tuple[dict[str, str], dict[str, str]]:
    names = re.findall(r"pt[./-](value|secret)[\s(\"']+([A-Za-z0-9_.-]+)", text)
    return (
        {name: "3000" for kind, name in names if kind == "value"},
        {name: f"secret-{name}" for kind, name in names if kind == "secret"},
    )


def timed(work: Callable[[], Any]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        work()
        outcome = "expands"
    except TemplateError as exc:
        outcome = "error: " + exc.problems[0][:90]
    return time.perf_counter() - start, outcome


def line(label: str, times: list[float], outcome: str) -> str:
    median = statistics.median(times)
    return f"  {label:<44} {median:7.3f}  (min {min(times):.3f}, max {max(times):.3f})  {outcome}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--shared")
    arguments = parser.parse_args()
    shared = shared_dir(arguments.shared)
    if shared is None:
        print("expansion bench: no ../shared corpus here (set POLYTOPE_SHARED); skipped")
        return 0
    files = sorted((shared / "corpus" / "polytope-yml").glob("*.yml"), key=lambda path: path.stat().st_size)
    largest = files[-1]
    text = largest.read_text(encoding="utf-8")
    values, secrets = inputs_of(text)
    names = describe_file(text, largest.name)
    names = names["templates"] + names["tools"]
    print(f"Expansion, seconds (median of {arguments.reps}):")
    print(f"  largest corpus file: {largest.name}, {len(text)} bytes, {len(names)} templates")
    first, outcome = timed(lambda: expand(text, str(largest), names[0], values=values, secrets=secrets))
    print(f"  {'first expansion in the process (' + names[0] + ')':<44} {first:7.3f}  {outcome}")
    for name in names:
        times = []
        for _rep in range(arguments.reps):
            seconds, outcome = timed(lambda name=name: expand(text, str(largest), name, values=values, secrets=secrets))
            times.append(seconds)
        print(line(f"template {name}", times, outcome))
    carbonbridge = shared / "corpus" / "polytope-projects" / "carbonbridge" / "polytope.yml"
    if carbonbridge.is_file():
        every = "".join(path.read_text(encoding="utf-8") for path in carbonbridge.parent.rglob("polytope.yml"))
        cb_values, cb_secrets = inputs_of(every)
        root_text = carbonbridge.read_text(encoding="utf-8")
        times = []
        for _rep in range(arguments.reps):
            seconds, outcome = timed(
                lambda: expand(root_text, str(carbonbridge), "stack", values=cb_values, secrets=cb_secrets)
            )
            times.append(seconds)
        print(line("carbonbridge stack (9 files)", times, outcome))
    print("Runaway and escaping code strings, seconds until the error:")
    for label, cmd in ESCAPES.items():
        document = (
            f"modules:\n  - {{id: app, module: polytope/container, args: {{image: busybox, cmd: {cmd}}}}}\n"
            "templates:\n  - {id: tpl, run: [app]}\n"
        )
        seconds, outcome = timed(lambda document=document: expand(document, "escape.yml", "tpl"))
        print(f"  {label:<44} {seconds:7.3f}  {outcome}")
    bomb = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
    bomb += [f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]" for level in range(1, 9)]
    bomb.append("modules: [{id: app, module: polytope/container, args: {image: busybox, cmd: *a8}}]")
    bomb.append("templates: [{id: tpl, run: [app]}]")
    seconds, outcome = timed(lambda: expand("\n".join(bomb), "bomb.yml", "tpl"))
    print(f"  {'YAML alias bomb (nine levels of ten)':<44} {seconds:7.3f}  {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
