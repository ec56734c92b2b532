# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of polytope.core.dataset: the transfer of state=fetched.

The module runs on the target as for every other state: it picks the version and checks its archive against
the sha256 in its metadata there. For state=fetched this plugin then copies the archive with
ansible.builtin.fetch's own action (so become, slurp and the connection's transfer work as they do for fetch),
checks the sha256 again on the controller, and writes the metadata text the module read. Both files are
written beside their destination and renamed into place, so a killed run leaves no partial file at it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any, Optional

from ansible.plugins.action import ActionBase

MODULE = "polytope.core.dataset"
CHUNK = 1024 * 1024
FILE_MODE = 0o600


def file_sha256(path: str) -> Optional[str]:
    """The sha256 of a local file, None when there is none."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def file_text(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def write_text(path: str, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=".incoming-", suffix=".json", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        outcome = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if args.get("state") != "fetched" or outcome.get("failed"):
            outcome.pop("metadata_text", None)
            result.update(outcome)
            return result
        text = outcome.pop("metadata_text")
        result.update(outcome)
        # The module checked dest's presence; the path is the controller's, relative to the playbook.
        dest = self._loader.path_dwim(os.path.expanduser(str(args["dest"])))
        number = outcome["version"]
        archive_dest = os.path.join(dest, f"v{number}.tar.gz")
        metadata_dest = os.path.join(dest, f"v{number}.json")
        before = file_sha256(archive_dest)
        send_archive = before != outcome["sha256"]
        write_metadata = file_text(metadata_dest) != text
        result.update(dest_archive=archive_dest, dest_metadata=metadata_dest, changed=send_archive or write_metadata)
        if self._task.diff:
            result["diff"] = {
                "before": {"archive": archive_dest, "sha256": before},
                "after": {"archive": archive_dest, "sha256": outcome["sha256"]},
            }
        what = f"dataset {outcome['name']} version {number}"
        if not result["changed"]:
            result["msg"] = f"{what} is at {dest} already, with sha256 {outcome['sha256']}"
            return result
        if self._task.check_mode:
            result["msg"] = f"would fetch {what} to {dest}"
            return result
        os.makedirs(dest, mode=0o700, exist_ok=True)
        if send_archive:
            failure = self._fetch(outcome["archive"], archive_dest, outcome["sha256"], task_vars)
            if failure:
                result.update(failed=True, changed=False, msg=f"fetching {what} failed: {failure}")
                return result
        if write_metadata:
            write_text(metadata_dest, text)
        result["msg"] = f"fetched {what} to {dest}"
        return result

    def _fetch(self, source: str, destination: str, sha256: str, task_vars: Optional[dict[str, Any]]) -> Optional[str]:
        """Copy one remote file to `destination` through ansible.builtin.fetch; the reason when it failed."""
        temporary = os.path.join(
            os.path.dirname(destination), f".incoming-{os.getpid()}-{os.path.basename(destination)}"
        )
        task = self._task.copy()
        task.args = {"src": source, "dest": temporary, "flat": True, "validate_checksum": True, "fail_on_missing": True}
        fetch = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.fetch",
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        try:
            fetched = fetch.run(task_vars=task_vars)
            if fetched.get("failed"):
                return str(fetched.get("msg") or "ansible.builtin.fetch failed")
            got = file_sha256(temporary)
            if got != sha256:
                return f"the copy on the controller has sha256 {got}, not {sha256} as its metadata says; it was removed"
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, destination)
            return None
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)
