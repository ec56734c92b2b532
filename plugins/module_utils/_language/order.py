# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checking and ordering the expanded steps into the plan (a mixin of the expander)."""

from __future__ import annotations

import re
from typing import Any, Optional
from ansible_collections.polytope.core.plugins.module_utils._language.state import _ExpanderState
from ansible_collections.polytope.core.plugins.module_utils._language.steps import (
    KIND_CONTAINER,
    STATE_COMPLETED,
    STATE_STARTED,
    _RawStep,
    _Resolved,
)
from ansible_collections.polytope.core.plugins.module_utils._language.masking import _secret_paths
from ansible_collections.polytope.core.plugins.module_utils._language.values import (
    BROKEN,
    _Missing,
    _missing_refs,
    _plain,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import is_valid_id


class _Planning(_ExpanderState):
    def plan(self, template_id: str, params: dict[str, Any], project: str, jobs: list[str]) -> dict[str, Any]:
        if not is_valid_id(project):
            self.problem(f"project {project!r} is not a valid id (a-z, 0-9, _ and -, 2 to 63 characters)")
        raw_steps = self.expand_template(template_id, params, [])
        steps = self.check_steps(raw_steps, template_id)
        known = {step.step for step in steps}
        for job in jobs:
            if job not in known:
                self.problem(f"jobs: template {template_id!r} has no step {job!r} (steps: {', '.join(sorted(known))})")
        if self.problems:
            return {}
        order = self.order(steps)
        waited_by: dict[str, list[str]] = {step.step: [] for step in steps}
        for step in steps:
            for waited in step.after:
                if waited in waited_by and step.step not in waited_by[waited]:
                    waited_by[waited].append(step.step)
        planned = []
        for step in order:
            if step.resolved is None:  # unreachable: an unresolved step is a reported problem
                continue
            args = dict(step.resolved.args)
            args["project"] = project
            if step.resolved.kind == KIND_CONTAINER:
                args["id"] = step.container_id
            not_given = _missing_refs(args)
            args = _plain(args)
            masks = _secret_paths(args, self.referenced_secrets)
            entry = {
                "step": step.step,
                "id": step.container_id,
                "module": step.resolved.chain,
                "kind": step.resolved.kind,
                "state": self.state_of(step, step.resolved, waited_by[step.step], jobs),
                "run_when": {"after": step.after, "condition": step.condition} if step.after else None,
                "waited_by": waited_by[step.step],
                "args": args,
                "secret": bool(masks) or step.uses_secret,
                "secret_paths": masks,
            }
            if self.teardown:
                # What the spec lacks: such a step can be stopped or removed by its identity only.
                entry["missing"] = not_given
            planned.append(entry)
        plan: dict[str, Any] = {"file": self.file_name, "template": template_id, "project": project, "steps": planned}
        if self.teardown:
            plan["teardown"] = True
        return plan

    def state_of(self, step: _RawStep, resolved: _Resolved, waited_by: list[str], jobs: list[str]) -> str:
        if resolved.awaits is False:
            if waited_by:
                self.problem(
                    f"step {step.step!r} has await: false (it keeps running), but {', '.join(waited_by)} "
                    f"wait{'s' if len(waited_by) == 1 else ''} for it to finish"
                )
            return STATE_STARTED
        if resolved.awaits or waited_by or resolved.runs_to_completion or step.step in jobs:
            return STATE_COMPLETED
        return STATE_STARTED

    def check_steps(self, raw_steps: list[_RawStep], template_id: str) -> list[_RawStep]:
        by_id: dict[str, _RawStep] = {}
        containers: dict[str, str] = {}
        with self.frame(f"template {template_id!r}"):
            for step in raw_steps:
                if step.step in by_id:
                    self.problem(f"duplicate step id {step.step!r} (give one of them another 'id:')")
                    continue
                by_id[step.step] = step
            for step in by_id.values():
                if step.resolved is None:
                    continue
                if step.resolved.kind == KIND_CONTAINER:
                    step.container_id = self.container_id(step)
                    if step.container_id is None:
                        continue
                    if step.container_id in containers:
                        self.problem(
                            f"steps {containers[step.container_id]!r} and {step.step!r} both run container "
                            f"id {step.container_id!r} (give one of them another id)"
                        )
                    else:
                        containers[step.container_id] = step.step
                else:
                    step.container_id = step.step
            for step in by_id.values():
                for waited in step.after:
                    target = by_id.get(waited)
                    if target is None:
                        self.problem(f"step {step.step!r}: run-when names unknown step {waited!r}")
                    elif target.resolved is not None and target.resolved.kind == KIND_CONTAINER:
                        services = target.resolved.args.get("services")
                        if isinstance(services, list) and services:
                            names = ", ".join(
                                str(service.get("id")) for service in services if isinstance(service, dict)
                            )
                            self.problem(
                                f"step {step.step!r} waits after step {waited!r}, a service ({names}) that never "
                                f"finishes; wait after a job, or drop the run-when"
                            )
            self.find_cycles(by_id)
        return list(by_id.values())

    def container_id(self, step: _RawStep) -> Optional[str]:
        if step.resolved is None:
            return None
        given = step.container_id or step.resolved.args.get("id")
        if given is BROKEN:
            return None
        if isinstance(given, _Missing):
            not_given = _missing_refs(given)
            self.problem(
                f"step {step.step!r}: its container id comes from {', '.join(not_given)}, which "
                f"{'was' if len(not_given) == 1 else 'were'} not given; the teardown needs "
                f"{'it' if len(not_given) == 1 else 'them'} to find the step's containers"
            )
            return None
        if isinstance(given, str) and given:
            if not is_valid_id(given):
                self.problem(f"step {step.step!r}: container id {given!r} is not a valid id")
                return None
            return given
        candidate = step.step
        if not is_valid_id(candidate):
            # A step named by a library reference (polytope/redis!insight) gets redis-insight.
            candidate = re.sub(r"[^a-z0-9_-]+", "-", candidate.rsplit("/", 1)[-1].lower()).strip("-_")
        if not is_valid_id(candidate):
            self.problem(f"step {step.step!r}: no valid container id (set args.id)")
            return None
        return candidate

    def find_cycles(self, by_id: dict[str, _RawStep]) -> None:
        visiting: list[str] = []
        done: set[str] = set()
        reported: set[frozenset[str]] = set()

        def visit(step_id: str) -> None:
            if step_id in done or step_id not in by_id:
                return
            if step_id in visiting:
                cycle = visiting[visiting.index(step_id) :] + [step_id]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    self.problem(f"reference cycle in run-when: {' -> '.join(cycle)}")
                return
            visiting.append(step_id)
            for waited in by_id[step_id].after:
                visit(waited)
            visiting.pop()
            done.add(step_id)

        for step_id in by_id:
            visit(step_id)

    def order(self, steps: list[_RawStep]) -> list[_RawStep]:
        """Listed order, except that a step comes after every step it waits for."""
        placed: set[str] = set()
        known = {step.step for step in steps}
        remaining = list(steps)
        ordered: list[_RawStep] = []
        while remaining:
            for step in remaining:
                if all(waited in placed or waited not in known for waited in step.after):
                    break
            else:
                step = remaining[0]  # a cycle, already reported
            remaining.remove(step)
            placed.add(step.step)
            ordered.append(step)
        return ordered
