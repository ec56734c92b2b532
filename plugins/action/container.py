# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of polytope.core.container.

- Accepts the card's hyphenated spellings (renamed to the module's underscores).
- Sets project_dir, the base of relative `host` and `repo` mount paths: the task's project_dir, else the
  playbook's directory.
- When the target is the controller, those paths are mounted in place (the module resolves them).
  When it is another host, each directory (or file) they name is copied to the target under
  `<copy_dir>/<project>/<id>/<mount path>/<digest of its contents>` and the mount is rewritten to that
  absolute path. A copy that is already there is not sent again; in check mode nothing is sent.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Optional

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.polytope.core.plugins.module_utils._card_keys import card_key_conflicts, rename_card_keys
from ansible_collections.polytope.core.plugins.module_utils._storage.copies import DEFAULT_COPY_DIR, copy_path
from ansible_collections.polytope.core.plugins.module_utils._spec import default_id_for_image
from ansible_collections.polytope.core.plugins.module_utils._storage.trees import tree_digest, write_tree_targz

MODULE = "polytope.core.container"
VOLUME_SOURCE_SUFFIX = "@source"
# Set to 0 to always run the module as a separate process, as Ansible does by default.
IN_PROCESS_VARIABLE = "POLYTOPE_CORE_IN_PROCESS"


class ModuleExit(Exception):
    def __init__(self, result: dict[str, Any]):
        super().__init__(result.get("msg", ""))
        self.result = result


class InProcessModule:
    """What the module's code uses of AnsibleModule, for a run inside the controller's worker process."""

    def __init__(self, params: dict[str, Any], check_mode: bool, diff: bool, no_log_values: set[str]):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set(no_log_values)
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def exit_json(self, **result: Any) -> None:
        raise ModuleExit(result)

    def fail_json(self, msg: str, **result: Any) -> None:
        raise ModuleExit({**result, "failed": True, "msg": msg})


def run_in_process(args: dict[str, Any], check_mode: bool, diff: bool) -> dict[str, Any]:
    """Validate the arguments and run the module's code here, returning what the module would return."""
    # Imported here: only a run on the controller needs the module's code and the Docker SDK in this process.
    from ansible_collections.polytope.core.plugins.module_utils._module import run_module
    from ansible_collections.polytope.core.plugins.modules.container import ARGUMENT_SPEC

    validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(args)
    no_log_values = set(validation._no_log_values)
    if validation.error_messages:
        return {"failed": True, "changed": False, "msg": "; ".join(validation.error_messages)}
    module = InProcessModule(validation.validated_parameters, check_mode, diff, no_log_values)
    try:
        run_module(module)
        result: dict[str, Any] = {"failed": True, "msg": "the module returned no result"}
    except ModuleExit as exit_:
        result = exit_.result
    result.setdefault("changed", False)
    if module.warnings:
        result["warnings"] = list(result.get("warnings") or []) + module.warnings
    result["invocation"] = {"module_args": validation.validated_parameters}
    return remove_values(result, module.no_log_values)


def docker_sdk_here() -> bool:
    try:
        import docker  # noqa: F401 pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        return False
    return True


class ControllerPathError(Exception):
    """A relative mount path that cannot be copied from the controller."""


def target_is_controller(transport: Optional[str]) -> bool:
    return (transport or "").rsplit(".", 1)[-1] == "local"


def project_path(source: dict[str, Any], project_dir: str) -> Optional[str]:
    """The controller path of a relative host or a repo source (None for any other source)."""
    if not isinstance(source, dict):
        return None
    kind = source.get("type")
    if kind == "host":
        path = source.get("path")
        if not isinstance(path, str) or not path or path.startswith("/"):
            return None
        return os.path.normpath(os.path.join(project_dir, path))
    if kind == "repo":
        # A named repository or a revision is refused by the module with a clear error: leave it to it.
        if source.get("repo") is not None or source.get("revision") is not None:
            return None
        relative = str(source.get("path") or ".").lstrip("/") or "."
        if ".." in relative.split("/"):
            return None
        return os.path.normpath(os.path.join(project_dir, relative))
    return None


class CopyPlan:
    """What the controller copies for one task: the rewritten mounts and the copies each needs."""

    def __init__(self, copy_dir: str, project: Optional[str], container_id: str):
        self.copy_dir = copy_dir
        self.project = project
        self.container_id = container_id
        self.copies: list[dict[str, Any]] = []  # {path, local, digest}

    def rewrite(self, source: dict[str, Any], mount_path: str, project_dir: str, option: str) -> dict[str, Any]:
        local = project_path(source, project_dir)
        if local is None:
            return source
        if not os.path.exists(local):
            raise ControllerPathError(f"{option}: {local!r} does not exist on the controller")
        digest = tree_digest(local)
        directory = copy_path(self.copy_dir, self.project, self.container_id, mount_path, digest)
        if all(copy["path"] != directory for copy in self.copies):
            self.copies.append({"path": directory, "local": local, "digest": digest})
        path = directory if os.path.isdir(local) else f"{directory}/{os.path.basename(local)}"
        return {"type": "host", "path": path}

    def rewrite_mounts(self, mounts: Any, project_dir: str) -> Any:
        if not isinstance(mounts, list):
            return mounts
        rewritten = []
        for index, item in enumerate(mounts):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("source"), dict)
                or not isinstance(item.get("path"), str)
            ):
                rewritten.append(item)
                continue
            source = dict(item["source"])
            option = f"mounts[{index}].source"
            if source.get("type") == "volume" and isinstance(source.get("source"), dict):
                source["source"] = self.rewrite(
                    source["source"], item["path"] + VOLUME_SOURCE_SUFFIX, project_dir, option + ".source"
                )
            else:
                source = self.rewrite(source, item["path"], project_dir, option)
            rewritten.append({**item, "source": source})
        return rewritten


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: Any = None, task_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        conflicts = card_key_conflicts(dict(self._task.args))
        if conflicts:
            result.update(
                failed=True, changed=False, msg=f"Invalid options, nothing was changed: {'; '.join(conflicts)}"
            )
            return result
        module_args = rename_card_keys(dict(self._task.args))
        if not module_args.get("project_dir"):
            # Relative host paths mean the project directory: the playbook's, as polytope.yml's is Polytope's.
            module_args["project_dir"] = self._loader.get_basedir()
        project_dir = str(module_args["project_dir"])
        # An async job outlives this method: the archives it reads stay in the temporary directory, which
        # Ansible's async wrapper removes when the job ends.
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        on_controller = target_is_controller(getattr(self._connection, "transport", None))
        if on_controller and self._may_run_in_process():
            result.update(run_in_process(module_args, bool(self._task.check_mode), bool(self._task.diff)))
            return result
        if on_controller or not module_args.get("mounts"):
            result.update(self._run_module(module_args, task_vars, wrap_async))
            return result

        image = module_args.get("image")
        container_id = module_args.get("id") or (default_id_for_image(image) if isinstance(image, str) else "")
        plan = CopyPlan(
            str(module_args.get("copy_dir") or DEFAULT_COPY_DIR), module_args.get("project"), str(container_id)
        )
        try:
            module_args["mounts"] = plan.rewrite_mounts(module_args.get("mounts"), project_dir)
        except ControllerPathError as exc:
            result.update(failed=True, changed=False, msg=f"Invalid options, nothing was changed: {exc}")
            return result
        try:
            module_args["controller_copies"] = self._send_copies(plan, task_vars or {})
            result.update(self._run_module(module_args, task_vars, wrap_async))
        finally:
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _run_module(self, module_args: dict[str, Any], task_vars: Optional[dict[str, Any]], wrap_async: bool) -> Any:
        return self._execute_module(
            module_name=MODULE, module_args=module_args, task_vars=task_vars, wrap_async=wrap_async
        )

    def _may_run_in_process(self) -> bool:
        """A task on the controller runs the module's code in this process, saving a Python start-up.

        Only where that cannot change what the module sees: no become (the module would run as another
        user), no task environment (DOCKER_HOST and friends would differ), no async, and the Docker SDK
        importable here.
        """
        if os.environ.get(IN_PROCESS_VARIABLE, "1") in ("0", "false", "no"):
            return False
        environment = self._task.environment or []
        if isinstance(environment, dict):
            environment = [environment]
        if self._play_context.become or any(environment) or self._task.async_val:
            return False
        return docker_sdk_here()

    def _send_copies(self, plan: CopyPlan, task_vars: dict[str, Any]) -> list[dict[str, Any]]:
        """The controller_copies argument: an archive for each copy missing on the target (none in check mode)."""
        copies = []
        for number, copy in enumerate(plan.copies):
            entry: dict[str, Any] = {"path": copy["path"]}
            copies.append(entry)
            found = self._execute_remote_stat(copy["path"], all_vars=task_vars, follow=False, checksum=False)
            if found.get("exists") and found.get("isdir"):
                continue
            if self._task.check_mode:
                continue
            if not self._connection._shell.tmpdir:
                self._make_tmp_path()
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, f"polytope-copy-{number}.tar.gz")
            with tempfile.NamedTemporaryFile(prefix="polytope-copy-", suffix=".tar.gz") as local:
                write_tree_targz(copy["local"], local)
                local.flush()
                try:
                    self._transfer_file(local.name, remote)
                except AnsibleError as exc:
                    raise AnsibleError(f"copying {copy['local']} to the target failed: {exc}") from exc
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            entry["archive"] = remote
        return copies
