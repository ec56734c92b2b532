# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a process of this machine still runs: what makes a lock or an incoming file of a dead run stale."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while a process with this id exists here, also one of another user."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
