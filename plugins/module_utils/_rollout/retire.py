# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way a container goes: its datasets stored, stopped, removed, its job-scoped volumes released.

Every stop or removal the run makes (replaced, scaled away, absent, stopped, rolled back, left by an
interrupted run) comes here, so the datasets of a container's run are stored exactly once before it goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ansible_collections.polytope.core.plugins.module_utils._docker.provision import ProvisionError

if TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.polytope.core.plugins.module_utils._rollout.context import RunContext


def retire(
    run: RunContext, container_id: str, name: str, running: bool, remove: bool = True, warn_only: bool = False
) -> None:
    """Stop a container when ``running``, store its datasets, then (``remove``) remove it with its job volumes.

    A dataset that cannot be stored keeps the container and fails the task, unless ``warn_only`` (a
    container the run is undoing anyway): then the failure is a warning and the container still goes.
    """
    if running:
        run.engine.stop(container_id, name, run.options.stop_timeout)
        run.report.made_change()
    try:
        labels = run.provisioner.secure(container_id, name, run.options.stop_timeout, stopped_by_module=running)
    except ProvisionError as exc:
        run.take_notes()
        failure = f"{exc}; {name} was kept so that its data is not lost"
        if not warn_only:
            raise run.fail(failure) from exc
        run.report.warnings.append(failure)
        labels = {}
    run.take_notes()
    if not remove:
        return
    run.engine.remove(container_id, name)
    run.report.made_change()
    run.provisioner.release_volumes(labels)
    run.take_notes()
