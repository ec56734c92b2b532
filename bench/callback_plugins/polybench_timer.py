# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark callback: each task's wall time and outcome, written as JSON to $POLYBENCH_TIMER_OUT.

Enabled only by bench/run.py (ANSIBLE_CALLBACKS_ENABLED=polybench_timer); never part of the collection.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: polybench_timer
type: aggregate
short_description: Task wall times for bench/run.py
description: Writes each task's start, duration, changed and failed flags to the file named by POLYBENCH_TIMER_OUT.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=polybench_timer
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "polybench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.started = time.time()
        self.tasks: list[dict] = []
        self.current: dict | None = None

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self.current = {
            "name": task.get_name(),
            "start": time.time(),
            "end": None,
            "changed": False,
            "failed": False,
            "items": 0,
        }
        self.tasks.append(self.current)

    def _done(self, result, failed: bool = False, skipped: bool = False) -> None:
        if self.current is None:
            return
        self.current["end"] = time.time()
        self.current["changed"] = bool(result._result.get("changed"))
        self.current["failed"] = failed
        self.current["skipped"] = skipped
        if failed:
            self.current["msg"] = str(result._result.get("msg", ""))[:2000]

    def v2_runner_item_on_ok(self, result) -> None:
        if self.current is not None:
            self.current["items"] += 1

    v2_runner_item_on_failed = v2_runner_item_on_ok

    def v2_runner_on_ok(self, result) -> None:
        self._done(result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._done(result, failed=True)

    def v2_runner_on_skipped(self, result) -> None:
        self._done(result, skipped=True)

    def v2_runner_on_unreachable(self, result) -> None:
        self._done(result, failed=True)

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("POLYBENCH_TIMER_OUT")
        if not path:
            return
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"started": self.started, "finished": time.time(), "tasks": self.tasks}, handle)
