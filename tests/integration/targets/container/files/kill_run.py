# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill an ansible-playbook process and every process below it with SIGKILL, as a crash would.

Killing the process group is not enough: ansible-core runs each task's worker in a session of its own, and a
worker that survives its controller finishes the task.

The chaos suite (tests/chaos/rig.py) kills its runs with kill_tree from this file: ansible-test copies only
this target's own directory, so this file cannot import from there.
"""

from __future__ import annotations

import os
import signal
import sys


def process_tree(root: int) -> list[int]:
    """The process and every process below it, the root first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def kill_tree(root: int) -> tuple[list[int], int]:
    """SIGKILL the process and every process below it: the processes found, and how many of them were killed."""
    doomed = process_tree(root)
    killed = 0
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return doomed, killed


def main() -> int:
    doomed, killed = kill_tree(int(sys.argv[1]))
    print(f"killed {killed} of {len(doomed)} processes", file=sys.stderr)
    return 0 if killed else 1


if __name__ == "__main__":
    sys.exit(main())
