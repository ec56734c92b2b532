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
from ansible.plugins.action import ActionBase

from ansible_collections.polytope.core.plugins.module_utils._card_keys import rename_card_keys
from ansible_collections.polytope.core.plugins.module_utils._copies import DEFAULT_COPY_DIR, copy_path
from ansible_collections.polytope.core.plugins.module_utils._spec import default_id_for_image
from ansible_collections.polytope.core.plugins.module_utils._trees import tree_digest, write_tree_targz

MODULE = "polytope.core.container"
VOLUME_SOURCE_SUFFIX = "@source"


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
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        module_args = rename_card_keys(dict(self._task.args))
        if not module_args.get("project_dir"):
            # Relative host paths mean the project directory: the playbook's, as polytope.yml's is Polytope's.
            module_args["project_dir"] = self._loader.get_basedir()
        project_dir = str(module_args["project_dir"])
        if target_is_controller(getattr(self._connection, "transport", None)) or not module_args.get("mounts"):
            result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
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
            result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

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
