# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the parts of the expander share: its state, its reporting, and the calls one part makes into another.

The expander (:class:`.expansion._Expander`) is one object built from parts, a module each
(:mod:`.references`, :mod:`.templates`, :mod:`.order`); each part derives from this class, so what it
uses of the others is declared, and type-checked, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ansible_collections.polytope.core.plugins.module_utils._language.code import Limits
    from ansible_collections.polytope.core.plugins.module_utils._language.loading import Origin
    from ansible_collections.polytope.core.plugins.module_utils._language.references import _Scope
    from ansible_collections.polytope.core.plugins.module_utils._language.steps import _RawStep, _Resolved
    from ansible_collections.polytope.core.plugins.module_utils._language.types import _Param


class _Frame:
    """Names where a problem is (template, step, module) while the expander is inside it."""

    def __init__(self, frames: list[str], label: str) -> None:
        self.frames = frames
        self.label = label

    def __enter__(self) -> None:
        self.frames.append(self.label)

    def __exit__(self, *exc_info: Any) -> None:
        self.frames.pop()


class _ExpanderState:
    """The expander's state (set by :class:`.expansion._Expander`) and its reporting."""

    file_name: str
    document: dict[str, Any]
    origins: dict[tuple[str, str], Origin]
    # An argument a library module does not declare: a warning (dropped), or with strict an error.
    strict: bool
    warnings: list[str]
    # Teardown: a value or secret that is not given becomes a placeholder, not a problem.
    teardown: bool
    values: dict[str, Any]
    secrets: dict[str, Any]
    problems: list[str]
    frames: list[str]
    referenced_secrets: set[str]
    step_uses_secret: bool
    code_limits: Limits
    modules: dict[str, dict[str, Any]]
    templates: dict[str, dict[str, Any]]
    tools: dict[str, dict[str, Any]]

    def problem(self, message: str) -> None:
        text = ", ".join(self.frames + [message])
        if text not in self.problems:
            self.problems.append(text)

    def frame(self, label: str) -> _Frame:
        return _Frame(self.frames, label)

    if TYPE_CHECKING:
        # defined by one part, called by another

        def expand_template(self, template_id: str, args: dict[str, Any], chain: list[str]) -> list[_RawStep]: ...

        def evaluate(self, value: Any, scope: _Scope, path: str) -> Any: ...

        def declarations(self, raw: Any, owner: str) -> Optional[tuple[_Param, ...]]: ...

        def bind(
            self, params: tuple[_Param, ...], args: dict[str, Any], owner: str, supplied_only: bool = False
        ) -> dict[str, Any]: ...

        def call(self, ref: Any, args: dict[str, Any], chain: list[str]) -> Optional[_Resolved]: ...

        def declares_id(self, ref: str) -> bool: ...
