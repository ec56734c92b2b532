# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The language's entry points: expand a template or tool of a polytope.yml file into a plan."""

from __future__ import annotations

from typing import Any, Mapping, Optional
from ansible_collections.polytope.core.plugins.module_utils._language.errors import TemplateError
from ansible_collections.polytope.core.plugins.module_utils._language.expansion import _Expander
from ansible_collections.polytope.core.plugins.module_utils._language.loading import load_project
from ansible_collections.polytope.core.plugins.module_utils._language.masking import mask_text
from ansible_collections.polytope.core.plugins.module_utils._language.values import _show


def expand(
    text: str,
    file_name: str,
    template: str,
    params: Optional[Mapping[str, Any]] = None,
    values: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    project: Optional[str] = None,
    jobs: Optional[list[str]] = None,
    teardown: bool = False,
    repos: Optional[Mapping[str, str]] = None,
    strict: bool = False,
) -> dict[str, Any]:
    """The execution plan of ``template`` in the polytope.yml ``text`` (named ``file_name``).

    A step runs as a job (``state: completed``) when another step waits for it, when it is a
    library module that is a job by nature, or when ``jobs`` names it (Polytope has no way to say
    so in the file, and a job that nobody waits for would otherwise be expected to keep running).

    ``teardown=True`` expands for stopping or removing the template, which needs only each step's
    identity (project, container id, kind, order): a ``pt.value`` or ``pt.secret`` that is not
    given is no problem then.  A placeholder (``<not given: pt.secret token>``) stands in for it,
    each step lists the references it lacks in ``missing``, and the plan has ``teardown: true``.
    Every other problem still fails, and so does a container id that comes from a missing value.

    ``template`` names a template (``templates:``) or a tool (``tools:``) of the file or of a file
    it includes; ``repos`` maps ``gh:owner/name`` includes to local directories.  ``strict`` makes
    an argument that a standard library module does not declare an error instead of a warning
    (warnings are in the plan's ``warnings``).

    Raises TemplateError listing every problem of the template at once; its message never
    contains a secret value.
    """
    secrets = dict(secrets or {})
    subject = f"template {template!r}"
    try:
        loaded = load_project(text, file_name, repos, subject)
        expander = _Expander(
            loaded.document,
            file_name,
            values or {},
            secrets,
            teardown=bool(teardown),
            origins=loaded.origins,
            strict=bool(strict),
        )
        if not isinstance(template, str) or not template:
            raise TemplateError(
                file_name, "expansion", [f"template name must be a non-empty string, got {_show(template)}"]
            )
        plan = expander.plan(
            template, dict(params or {}), project if project is not None else template, list(jobs or [])
        )
    except TemplateError as exc:
        raise TemplateError(
            exc.file_name, exc.subject, [mask_text(problem, secrets) for problem in exc.problems]
        ) from None
    if expander.problems:
        raise TemplateError(file_name, subject, [mask_text(problem, secrets) for problem in expander.problems])
    if expander.warnings:
        plan["warnings"] = [mask_text(warning, secrets) for warning in expander.warnings]
    return plan
