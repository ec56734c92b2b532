# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a process of this machine still runs: what makes a lock or an incoming file of a dead run stale."""

from __future__ import annotations

import os

# /proc/<pid>/stat states of a process that has ended: a zombie waits only for its parent to read its exit status
_ENDED_STATES = ("Z", "X", "x")


def process_alive(pid: int) -> bool:
    """True while a process with this id runs here, also one of another user; a zombie has ended.

    A run killed with its parent leaves zombies until init reaps them, which can take seconds (or never happen
    in a container whose first process does not reap): the signal check alone would call them alive.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux), or it went meanwhile: the signal check has answered
    return state not in _ENDED_STATES
