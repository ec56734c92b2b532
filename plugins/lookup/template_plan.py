# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: template_plan
author:
  - Polytope Core Maintainers (@polytope)
version_added: 0.1.0
short_description: Expand a template or tool of a polytope.yml into an execution plan
description:
  - Reads a C(polytope.yml) with YAML 1.2 rules, and the files it includes (C(include:)), and expands one of its
    templates (C(templates:)) or tools (C(tools:)) into the ordered steps that the M(polytope.core.container)
    module runs, without touching any engine.
  - Modules built on other modules are followed down to C(polytope/container) (or C(polytope/build-image)),
    parameters are type-checked with Polytope's type language and their defaults applied, and
    C(pt.param), C(pt.value) and C(pt.secret) references (also the older C(#pt-param) forms and
    C({pt.value x}) interpolation inside strings, and C(pt.input) of tools) are replaced.
  - Code strings (C(#pt-clj)/C(pt.clj) Clojure, C(#pt-js)/C(pt.js) JavaScript) are evaluated on the controller
    with the module's or tool's parameters bound. They compute values only (no I/O, no effects) and each is
    bounded in time, memory, depth and result size. JavaScript needs the Python package C(mini-racer) on the
    controller; C(#pt-py) is an error.
  - An argument that a standard library module does not declare is dropped with a warning (an error with
    O(strict=true)).
  - Every problem of the template is reported at once, in one error naming the file, the template, the step,
    the module and the argument. Secret values never appear in an error.
  - Each step of the plan has C(step) (its id), C(id) (the container id), C(module) (the chain of modules down
    to the primitive), C(kind) (C(container) or C(build_image)), C(state) (C(completed) for a step others
    wait for, else C(started)), C(run_when) (C(after) and C(condition), or null), C(waited_by), C(args) (the
    options of M(polytope.core.container), with C(project)), C(secret) (whether the step carries a secret)
    and C(secret_paths) (where, for masking).
options:
  _terms:
    description: Path of the C(polytope.yml). A relative path is looked up like other lookup files (the
      playbook's or role's C(files/) and directory), then in the current working directory.
    required: true
    type: path
  template:
    description: Id of the template or tool to expand.
    required: true
    type: str
  params:
    description: The template's parameters (its C(params:)).
    type: dict
    default: {}
  values:
    description: Values for C(pt.value) references.
    type: dict
    default: {}
  secrets:
    description: Secrets for C(pt.secret) references. They stay in the plan (the steps need them), so print
      a plan only with O(masked=true).
    type: dict
    default: {}
  project:
    description: The project every step runs in (C(project) of M(polytope.core.container)); defaults to the
      template id.
    type: str
  jobs:
    description:
      - Step ids to run as jobs (C(state=completed)) although no step waits for them. Polytope's file format
        cannot say that a step is a job; without this, a step that nobody waits for is expected to keep running.
    type: list
    elements: str
    default: []
  masked:
    description: Return the plan with every secret value replaced by C(********), for printing.
    type: bool
    default: false
  teardown:
    description:
      - >-
        Expand for stopping or removing the template, which needs only each step's identity (project,
        container id, kind and order). A C(pt.value) or C(pt.secret) that is not given is then no error: a
        placeholder (C(<not given: pt.secret token>)) stands in for it, each step lists the references it
        lacks in C(missing), and the plan has C(teardown=true). Never run a step whose C(missing) is not
        empty with its C(args); stop or remove it by its C(project) and C(id).
      - Every other problem (an unknown template or module, a cycle, duplicate steps or container ids, a
        param of the wrong type, ...) still fails, and so does a container id that comes from a value not given.
    type: bool
    default: false
  repos:
    description:
      - Local directories for repositories that C(include:) names (C(gh:owner/name) to a checkout of it).
        Without an entry such an include is an error naming the repository.
    type: dict
    default: {}
  strict:
    description: An argument that a standard library module does not declare is an error instead of a warning.
    type: bool
    default: false
notes:
  - C(instructions:), C(mcp:) and C(triggers:) describe nothing that runs; they are accepted and ignored.
  - Inline code steps (C({id, code})) drive Polytope's runner API and are reported as errors.
seealso:
  - module: polytope.core.container
"""

EXAMPLES = r"""
- name: Show the plan of the web-stack template, secrets masked
  ansible.builtin.debug:
    msg: "{{ lookup('polytope.core.template_plan', 'polytope.yml', template='web-stack', masked=true) }}"

- name: Expand with a value and a secret
  ansible.builtin.set_fact:
    plan: "{{ lookup('polytope.core.template_plan', playbook_dir ~ '/polytope.yml', template='stack',
              values={'api-port': '8080'}, secrets={'db-password': vault_db_password}, project='demo') }}"
  no_log: true

- name: Find the steps to tear down, without the values and secrets
  ansible.builtin.set_fact:
    plan: "{{ lookup('polytope.core.template_plan', 'polytope.yml', template='stack', teardown=true) }}"
"""

RETURN = r"""
_raw:
  description: One element, the plan.
  type: list
  elements: dict
  contains:
    file:
      description: The file name as given.
      type: str
    template:
      description: The template id.
      type: str
    project:
      description: The project of every step.
      type: str
    steps:
      description: The steps in the order they run (every step after the steps it waits for).
      type: list
      elements: dict
"""

import os
from typing import Any, Optional

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase

from ansible_collections.polytope.core.plugins.module_utils._language import TemplateError, expand, masked


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: Optional[dict[str, Any]] = None, **kwargs: Any) -> list[dict]:
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError(f"template_plan takes exactly one polytope.yml path, got {len(terms)}")
        path = self._polytope_file(str(terms[0]), variables or {})
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise AnsibleLookupError(f"cannot read {path}: {to_text(exc)}") from None
        try:
            plan = expand(
                text,
                path,
                self.get_option("template"),
                params=self.get_option("params"),
                values=self.get_option("values"),
                secrets=self.get_option("secrets"),
                project=self.get_option("project"),
                jobs=self.get_option("jobs"),
                teardown=self.get_option("teardown"),
                repos=self.get_option("repos"),
                strict=self.get_option("strict"),
            )
        except TemplateError as exc:
            raise AnsibleLookupError(str(exc)) from None
        for warning in plan.get("warnings") or []:
            self._display.warning(f"{path}: {warning}")
        return [masked(plan) if self.get_option("masked") else plan]

    def _polytope_file(self, term: str, variables: dict[str, Any]) -> str:
        if os.path.isabs(term):
            found = term
        else:
            # The usual lookup search path first, then where the user runs ansible-playbook (like Polytope's CLI).
            found = self.find_file_in_search_path(variables, "files", term, ignore_missing=True) or os.path.abspath(
                term
            )
        if not os.path.isfile(found):
            raise AnsibleLookupError(f"polytope.yml not found: {term}")
        return found
