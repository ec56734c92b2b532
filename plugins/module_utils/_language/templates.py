# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templates and tools: their steps, ``tool:`` calls, run-when and after (a mixin of the expander)."""

from __future__ import annotations

from typing import Any, Optional
from ansible_collections.polytope.core.plugins.module_utils._language.state import _ExpanderState
from ansible_collections.polytope.core.plugins.module_utils._language.references import _Scope
from ansible_collections.polytope.core.plugins.module_utils._language.steps import (
    AFTER_CONDITIONS,
    _RawStep,
)
from ansible_collections.polytope.core.plugins.module_utils._language.values import (
    _canonical,
    _show,
    _value_kind,
)

_TEMPLATE_KEYS = ("id", "params", "run", "info", "name", "default?", "tool")
_STEP_KEYS = (
    "module",
    "template",
    "id",
    "args",
    "info",
    "run-when",
    "run_when",
    "after",
    "after-condition",
    "after_condition",
    "tool",
)


class _Templates(_ExpanderState):
    """Expanding templates and tools into raw steps (mixed into the expander)."""

    def expand_template(self, template_id: str, args: dict[str, Any], chain: list[str]) -> list[_RawStep]:
        if template_id in chain:
            self.problem(f"reference cycle: {' -> '.join(chain + [template_id])}")
            return []
        template = self.templates.get(template_id) or self.tools.get(template_id)
        if template is None:
            self.problem(self.unknown_template(template_id))
            return []
        chain = chain + [template_id]
        owner = f"{'tool' if template.get('tool') else 'template'} {template_id!r}"
        steps: list[_RawStep] = []
        with self.frame(owner):
            unknown_keys = sorted(str(key) for key in template if key not in _TEMPLATE_KEYS)
            if unknown_keys:
                self.problem(f"unknown key(s) {', '.join(map(repr, unknown_keys))} in the template definition")
            params = self.declarations(template.get("params"), owner)
            if params is None:
                return []
            bound = self.bind(params, args, owner)
            origin = self.origins.get(("tools" if template.get("tool") else "templates", template_id))
            scope = _Scope(owner, bound, origin.repo if origin else None)
            run = template.get("run")
            if not isinstance(run, list) or not run:
                self.problem("'run:' must be a non-empty list of steps")
                return []
            for position, item in enumerate(run):
                steps.extend(self.expand_step(item, position, scope, chain))
        return steps

    def unknown_template(self, template_id: str) -> str:
        known = ", ".join(list(self.templates) + list(self.tools)) or "none"
        return f"unknown template or tool {template_id!r} (defined: {known})"

    def expand_step(self, item: Any, position: int, scope: _Scope, chain: list[str]) -> list[_RawStep]:
        if isinstance(item, str):
            return [self.module_step(item, item, {}, None, f"run[{position}]", scope)]
        if not isinstance(item, dict):
            self.problem(f"run[{position}]: a step is a module id or a mapping, got {_value_kind(item)}")
            return []
        if "code" in item and "tool" not in item and "module" not in item:
            self.problem(
                f"run[{position}]: step {item.get('id', position)!r} is inline code ('code:'), which drives "
                "Polytope's runner API; this collection runs tools, modules and templates only"
            )
            return []
        where = f"run[{position}]"
        kind = "tool" if "tool" in item else "template" if "template" in item else "module"
        others = [key for key in ("tool", "template", "module") if key != kind and key in item]
        if others:
            self.problem(
                f"{where}: a step has one of 'module:', 'template:' or 'tool:', not {kind!r} and {others[0]!r}"
            )
        unknown_keys = sorted(str(key) for key in item if key not in _STEP_KEYS)
        if unknown_keys:
            self.problem(f"{where}: unknown step key(s) {', '.join(map(repr, unknown_keys))}")
        name = item.get(kind)
        if not isinstance(name, str) or not name:
            self.problem(f"{where}: a step needs '{kind}:' naming a {kind}, got {_show(name)}")
            return []
        step_id = item.get("id", name)
        if not isinstance(step_id, str) or not step_id:
            self.problem(f"{where}: step 'id' must be a string, got {_show(step_id)}")
            step_id = name
        run_when = self.run_when(item, where)
        raw_args = item.get("args")
        if raw_args is None:
            raw_args = {}
        if not isinstance(raw_args, dict):
            self.problem(f"{where}: 'args:' must be a mapping, got {_value_kind(raw_args)}")
            raw_args = {}
        # A tool step names a tool or template, or else a module, like a module step.
        if kind == "module" or (kind == "tool" and name not in self.tools and name not in self.templates):
            return [self.module_step(step_id, name, raw_args, run_when, where, scope)]
        with self.frame(f"{where} ({kind} {name!r})"):
            args = self.evaluate(raw_args, scope, "")
        nested_steps = self.expand_template(name, args, chain)
        if kind == "tool" and len(nested_steps) == 1:
            # A tool that wraps one module call is that step: it takes the calling step's id.
            nested_steps[0].step = step_id
        if run_when is not None:
            for step in nested_steps:
                self.merge_run_when(step, run_when)
        return nested_steps

    def run_when(self, item: dict[str, Any], where: str) -> Optional[tuple[list[str], str]]:
        """``run-when: {after, after-condition}`` and the older step-level ``after: {step: x}``."""
        spec = item.get("run-when", item.get("run_when"))
        after_values: list[Any] = []
        condition: Any = None
        if spec is not None:
            if not isinstance(spec, dict):
                self.problem(f"{where}: 'run-when' must be a mapping with 'after', got {_value_kind(spec)}")
            else:
                extra = sorted(str(key) for key in spec if _canonical(key) not in ("after", "after-condition"))
                if extra:
                    self.problem(f"{where}: unknown run-when key(s) {', '.join(map(repr, extra))}")
                if spec.get("after") is not None:
                    after_values.append(spec["after"])
                condition = spec.get("after-condition", spec.get("after_condition"))
        if item.get("after") is not None:
            after_values.append(item["after"])
        step_condition = item.get("after-condition", item.get("after_condition"))
        if step_condition is not None:
            condition = step_condition
        after: list[str] = []
        for value in after_values:
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict) and isinstance(entry.get("step"), str):
                    after.append(entry["step"])
                elif isinstance(entry, str) and entry:
                    after.append(entry)
                else:
                    self.problem(f"{where}: 'after' names a step id (or {{step: id}}), got {_show(entry)}")
        if condition is not None and condition not in AFTER_CONDITIONS:
            self.problem(
                f"{where}: after-condition must be one of {', '.join(AFTER_CONDITIONS)}, got {_show(condition)}"
            )
            condition = None
        if condition is not None and not after:
            self.problem(f"{where}: after-condition {condition!r} without 'after'")
        if not after:
            return None
        return list(dict.fromkeys(after)), condition or "success"

    def merge_run_when(self, step: _RawStep, run_when: tuple[list[str], str]) -> None:
        after, condition = run_when
        if step.run_when_given and step.condition != condition:
            self.problem(
                f"step {step.step!r}: waits with after-condition {step.condition!r} inside a template step "
                f"that waits with {condition!r}"
            )
        step.after = list(dict.fromkeys(after + step.after))
        step.condition = step.condition if step.run_when_given else condition
        step.run_when_given = True

    def module_step(
        self,
        step_id: str,
        module: str,
        raw_args: dict[str, Any],
        run_when: Optional[tuple[list[str], str]],
        origin: str,
        scope: _Scope,
    ) -> _RawStep:
        self.step_uses_secret = False
        with self.frame(f"step {step_id!r}"):
            args = self.evaluate(raw_args, scope, "")
            container_id = None
            if "id" in args and not self.declares_id(module):
                # interface.md: a step's container id is its args.id when given, also for a module without an id param.
                container_id = args.pop("id")
            resolved = self.call(module, args, [])
        after, condition = run_when if run_when is not None else ([], "success")
        return _RawStep(
            step=step_id,
            module=module,
            resolved=resolved,
            container_id=container_id if isinstance(container_id, str) else None,
            after=after,
            condition=condition,
            run_when_given=run_when is not None,
            origin=origin,
            uses_secret=self.step_uses_secret,
        )
