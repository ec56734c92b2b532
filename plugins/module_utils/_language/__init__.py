# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The polytope.yml language: from a file (and what it includes) to an execution plan.

Pure Python on purpose: no Ansible and no Docker objects, so the lookup, the ``plan`` playbook
and the unit tests share one implementation and a plan is computed without touching an engine.

The flow, one module each: :mod:`.loading` (YAML 1.2, bounds, includes) -> :mod:`.types`
(the type language and params) -> :mod:`.code` (code strings, Clojure and JavaScript) ->
:mod:`.expansion` (modules, templates, tools) -> :mod:`.order` (checks and the plan) ->
:mod:`.masking` (secrets).  :mod:`.api` holds the entry points re-exported here.
"""

from __future__ import annotations

from ansible_collections.polytope.core.plugins.module_utils._language.api import expand
from ansible_collections.polytope.core.plugins.module_utils._language.errors import TemplateError
from ansible_collections.polytope.core.plugins.module_utils._language.loading import describe_file, load_yaml12
from ansible_collections.polytope.core.plugins.module_utils._language.masking import MASK, mask_secrets, masked

__all__ = ["MASK", "TemplateError", "describe_file", "expand", "load_yaml12", "mask_secrets", "masked"]
