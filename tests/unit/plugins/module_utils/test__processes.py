# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import time

from ansible_collections.polytope.core.plugins.module_utils._processes import process_alive


def test_this_process_is_alive() -> None:
    assert process_alive(os.getpid())


def test_init_is_alive() -> None:
    assert process_alive(1)


def test_a_pid_above_linux_largest_is_not() -> None:
    assert not process_alive(2**22 + 13)


def test_a_zombie_is_not_alive() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        assert not process_alive(pid)
    finally:
        os.waitpid(pid, 0)
