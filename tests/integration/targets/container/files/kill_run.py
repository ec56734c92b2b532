# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill an ansible-playbook process and every process below it with SIGKILL, as a crash would.

Killing the process group is not enough: ansible-core runs each task's worker in a session of its own, and a
worker that survives its controller finishes the task.
"""

from __future__ import annotations

import os
import signal
import sys


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def main() -> int:
    root = int(sys.argv[1])
    tree = children()
    doomed, pending = [], [root]
    while pending:
        pid = pending.pop()
        doomed.append(pid)
        pending.extend(tree.get(pid, []))
    killed = 0
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    print(f"killed {killed} of {len(doomed)} processes", file=sys.stderr)
    return 0 if killed else 1


if __name__ == "__main__":
    sys.exit(main())
