# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finishing what an interrupted run left: a replacement that never took over, or an old replica set aside.

A rollout renames the old replica `<name>.prev` and the new one `<name>` (made as `<name>.next`); a run
killed at any step leaves some of these. The next run puts the old replica back when its replacement is
missing or, for a replica that should run, does not run: a killed run must not cost the working one. When
the replacement runs, the old one stays set aside until the replacement proves ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import PREVIOUS_SUFFIX, ReplicaPlan
from ansible_collections.polytope.core.plugins.module_utils._rollout.readiness import Readiness
from ansible_collections.polytope.core.plugins.module_utils._rollout.report import TaskFailed
from ansible_collections.polytope.core.plugins.module_utils._rollout.retire import retire

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.polytope.core.plugins.module_utils._rollout.context import RunContext

Leftover = tuple[int, str, dict[str, Any]]


def _running(inspect: dict[str, Any]) -> bool:
    return bool((inspect.get("State") or {}).get("Running"))


class Repair:
    def __init__(self, run: RunContext, readiness: Readiness):
        self.run = run
        self.readiness = readiness
        # Old replicas set aside while their replacements run, until those prove ready.
        self.set_aside: dict[int, dict[str, Any]] = {}

    def repair(self, primaries: dict[int, dict[str, Any]], leftovers: list[Leftover]) -> None:
        """Restore, set aside or remove each leftover; ``primaries`` is updated to what then stands."""
        run = self.run
        for number, suffix, inspect in sorted(leftovers, key=lambda item: item[1] != PREVIOUS_SUFFIX):
            name = inspect["Name"].lstrip("/")
            if suffix == PREVIOUS_SUFFIX and number > 0 and self._replacement_failed(primaries.get(number)):
                self.restore(number, inspect, primaries)
                continue
            if suffix == PREVIOUS_SUFFIX and number > 0 and run.runs_replicas:
                self.set_aside[number] = inspect
                run.report.note(
                    f"{name}: left by an interrupted run, removed once {run.spec.replica_name(number)} is ready"
                )
                continue
            run.report.note(f"{name}: removed, left by an interrupted run")
            if not run.options.check_mode:
                retire(run, inspect["Id"], name, _running(inspect))

    def _replacement_failed(self, replacement: Optional[dict[str, Any]]) -> bool:
        if replacement is None:
            return True
        return self.run.runs_replicas and not _running(replacement)

    def restore(self, number: int, previous: dict[str, Any], primaries: dict[int, dict[str, Any]]) -> None:
        run = self.run
        target = run.spec.replica_name(number)
        name = previous["Name"].lstrip("/")
        replacement = primaries.pop(number, None)
        if replacement is not None:
            run.report.note(f"{target}: removed, a replacement that an interrupted run left not running")
            if not run.options.check_mode:
                retire(run, replacement["Id"], target, _running(replacement))
        run.report.note(f"{target}: restored from {name} left by an interrupted run")
        if not run.options.check_mode:
            run.engine.rename(previous["Id"], target)
            if not _running(previous) and run.runs_replicas:
                run.start(previous["Id"], target)
            previous = run.engine.inspect(previous["Id"]) or previous
        primaries[number] = previous

    def decide_set_aside(self, plans: list[ReplicaPlan]) -> None:
        """An old replica set aside goes once its replacement is ready, or else comes back.

        A replacement that this run changes or removes is not waited for: its old replica goes first, so that
        the replacement can be set aside in its turn.
        """
        run = self.run
        unchanged = {plan.replica for plan in plans if not plan.changes}
        for number, previous in sorted(self.set_aside.items()):
            name = previous["Name"].lstrip("/")
            if number in unchanged:
                try:
                    self.readiness.wait_ready([number])
                except TaskFailed as exc:
                    self.restore(number, previous, run.current)
                    raise run.fail(
                        f"replica {number} ({run.spec.replica_name(number)}): the replacement that an interrupted run "
                        f"left did not become ready: {exc}. The previous container was put back."
                    ) from exc
            retire(run, previous["Id"], name, _running(previous))
        self.set_aside = {}
