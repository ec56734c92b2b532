# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of polytope.core.container_info: the spec is checked and completed as the container module's.

A spec is validated against polytope.core.container's own argument spec (its defaults filled in, the card's
hyphenated keys renamed) here on the controller, because a module cannot import another module's code on the
target. Relative host and repo mounts are rewritten to the copies the container action plugin would make on a
remote target, without sending anything, so the fingerprint compared is the one a real run would set.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.polytope.core.plugins.action.container import (
    ControllerPathError,
    CopyPlan,
    target_is_controller,
)
from ansible_collections.polytope.core.plugins.module_utils._card_keys import rename_card_keys
from ansible_collections.polytope.core.plugins.module_utils._connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.polytope.core.plugins.module_utils._storage.copies import DEFAULT_COPY_DIR
from ansible_collections.polytope.core.plugins.module_utils._spec import default_id_for_image
from ansible_collections.polytope.core.plugins.modules.container import ARGUMENT_SPEC as CONTAINER_ARGUMENT_SPEC

MODULE = "polytope.core.container_info"


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: Any = None, task_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        module_args = dict(self._task.args)
        if module_args.get("spec") is not None:
            spec, error = self._complete_spec(module_args["spec"])
            if error:
                result.update(failed=True, changed=False, msg=f"Invalid spec: {error}")
                return result
            module_args["spec"] = spec
        result.update(
            self._execute_module(
                module_name=MODULE,
                module_args=module_args,
                task_vars=task_vars,
                wrap_async=bool(self._task.async_val) and not self._connection.has_native_async,
            )
        )
        # This module never changes anything, whatever a module result says.
        result["changed"] = False
        return result

    def _complete_spec(self, spec: Any) -> tuple[dict[str, Any], Optional[str]]:
        if not isinstance(spec, dict):
            return {}, f"expected the options of a polytope.core.container task as a mapping, got {type(spec).__name__}"
        args = rename_card_keys(dict(spec))
        # The engine connection is container_info's own (module_defaults of the polytope group set it once).
        given = sorted(key for key in args if key in CONNECTION_ARGUMENT_SPEC)
        if given:
            return {}, f"{', '.join(given)}: set the connection as options of container_info, not in spec"
        if not args.get("project_dir"):
            args["project_dir"] = self._loader.get_basedir()
        validation = ArgumentSpecValidator(CONTAINER_ARGUMENT_SPEC).validate(args)
        if validation.error_messages:
            return {}, "; ".join(validation.error_messages)
        validated = dict(validation.validated_parameters)
        for key in CONNECTION_ARGUMENT_SPEC:
            validated.pop(key, None)
        if target_is_controller(getattr(self._connection, "transport", None)) or not validated.get("mounts"):
            return validated, None
        image = validated.get("image")
        container_id = validated.get("id") or (default_id_for_image(image) if isinstance(image, str) else "")
        plan = CopyPlan(str(validated.get("copy_dir") or DEFAULT_COPY_DIR), validated.get("project"), str(container_id))
        try:
            validated["mounts"] = plan.rewrite_mounts(validated["mounts"], str(validated["project_dir"]))
        except ControllerPathError as exc:
            return {}, str(exc)
        # Paths only: the module treats a copy that is not on the target yet as pending, as check mode does.
        validated["controller_copies"] = [{"path": copy["path"]} for copy in plan.copies]
        return validated, None
