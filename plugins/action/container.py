# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of polytope.core.container: accepts the card's spellings and sets the project directory."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.polytope.core.plugins.module_utils._card_keys import rename_card_keys


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        module_args = rename_card_keys(dict(self._task.args))
        if not module_args.get("project_dir"):
            # Relative host paths mean the project directory: the playbook's, as polytope.yml's is Polytope's.
            module_args["project_dir"] = self._loader.get_basedir()
        result.update(
            self._execute_module(
                module_name="polytope.core.container",
                module_args=module_args,
                task_vars=task_vars,
            )
        )
        return result
