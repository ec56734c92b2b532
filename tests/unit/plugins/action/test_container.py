# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin: card keys, project_dir, and copies of controller directories for remote targets."""

from __future__ import annotations

import os
import tarfile
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
from ansible.plugins.action import ActionBase
from ansible_collections.polytope.core.plugins.action.container import (
    ActionModule,
    CopyPlan,
    ControllerPathError,
    InProcessModule,
    ModuleExit,
    project_path,
    run_in_process,
    target_is_controller,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.copies import (
    CopyError,
    clean_stale,
    install_copies,
    mount_dir,
    remove_all,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.trees import write_tree_targz


@pytest.fixture
def project(tmp_path):
    directory = tmp_path / "project"
    (directory / "html" / "css").mkdir(parents=True)
    (directory / "html" / "index.html").write_text("hello")
    (directory / "html" / "css" / "site.css").write_text("body{}")
    os.symlink("index.html", directory / "html" / "home.html")
    (directory / "nginx.conf").write_text("conf")
    return directory


def test_target_is_controller() -> None:
    assert target_is_controller("local")
    assert target_is_controller("ansible.builtin.local")
    assert not target_is_controller("ssh")
    assert not target_is_controller("community.docker.docker")
    assert not target_is_controller(None)


def test_project_path(tmp_path) -> None:
    base = str(tmp_path)
    assert project_path({"type": "host", "path": "html"}, base) == f"{base}/html"
    assert project_path({"type": "host", "path": "/abs"}, base) is None
    assert project_path({"type": "repo"}, base) == base
    assert project_path({"type": "repo", "path": "/sub/dir"}, base) == f"{base}/sub/dir"
    assert project_path({"type": "repo", "repo": "github.com/a/b"}, base) is None
    assert project_path({"type": "repo", "revision": "v1"}, base) is None
    assert project_path({"type": "string", "data": "x"}, base) is None


def test_copies_are_named_by_content(project) -> None:
    mounts = [
        {"path": "/www", "source": {"type": "host", "path": "html"}},
        {"path": "/etc/nginx.conf", "source": {"type": "repo", "path": "nginx.conf"}},
        {"path": "/abs", "source": {"type": "host", "path": "/srv"}},
        {"path": "/data", "source": {"type": "volume", "source": {"type": "host", "path": "html"}}},
    ]
    plan = CopyPlan("/copies", "shop", "web")
    rewritten = plan.rewrite_mounts(mounts, str(project))
    www = rewritten[0]["source"]["path"]
    assert www.startswith("/copies/shop/web/www/") and len(os.path.basename(www)) == 32
    assert rewritten[1]["source"]["path"].startswith("/copies/shop/web/etc-nginx.conf/")
    assert rewritten[1]["source"]["path"].endswith("/nginx.conf")
    assert rewritten[2] == mounts[2]
    assert rewritten[3]["source"]["source"]["path"].startswith("/copies/shop/web/data_source/")
    assert rewritten[3]["source"]["type"] == "volume"
    assert [copy["local"] for copy in plan.copies] == [
        str(project / "html"),
        str(project / "nginx.conf"),
        str(project / "html"),
    ]

    again = CopyPlan("/copies", "shop", "web").rewrite_mounts(mounts, str(project))
    assert again == rewritten
    (project / "html" / "index.html").write_text("changed")
    changed = CopyPlan("/copies", "shop", "web").rewrite_mounts(mounts, str(project))
    assert changed[0]["source"]["path"] != www
    assert changed[1] == rewritten[1]


def test_a_missing_controller_path_is_an_error(project) -> None:
    with pytest.raises(ControllerPathError, match=r"mounts\[0\].source: .*missing' does not exist on the controller"):
        CopyPlan("/c", None, "web").rewrite_mounts(
            [{"path": "/x", "source": {"type": "host", "path": "missing"}}], str(project)
        )


# -- the module side of copies --------------------------------------------------------------------------------


def archive_of(tmp_path, source) -> str:
    path = tmp_path / "transfer.tar.gz"
    with open(path, "wb") as handle:
        write_tree_targz(str(source), handle)
    return str(path)


def test_install_unpacks_missing_copies_and_clean_removes_stale_ones(tmp_path, project) -> None:
    copies_dir = tmp_path / "copies"
    plan = CopyPlan(str(copies_dir), "shop", "web")
    rewritten = plan.rewrite_mounts([{"path": "/www", "source": {"type": "host", "path": "html"}}], str(project))
    target = rewritten[0]["source"]["path"]
    copies = [{"path": target, "archive": archive_of(tmp_path, project / "html")}]

    pending, actions = install_copies(copies, check_mode=True)
    assert pending == {target} and not os.path.exists(target)
    pending, actions = install_copies(copies, check_mode=False)
    assert not pending and actions == [f"copied the controller's files to {target}"]
    assert open(os.path.join(target, "css", "site.css")).read() == "body{}"
    assert os.readlink(os.path.join(target, "home.html")) == "index.html"
    # an existing copy is used as it is, without an archive
    assert install_copies([{"path": target}], check_mode=False) == (frozenset(), [])

    stale = os.path.join(os.path.dirname(target), "f" * 32)
    os.makedirs(stale)
    unrelated = os.path.join(os.path.dirname(target), "notes")
    os.makedirs(unrelated)
    assert clean_stale([{"path": target}]) == [stale]
    assert os.path.isdir(target) and os.path.isdir(unrelated)
    assert remove_all(str(copies_dir), "shop", "web")
    assert not os.path.exists(mount_dir(str(copies_dir), "shop", "web", "/www"))


def test_install_refuses_paths_it_did_not_name(tmp_path) -> None:
    with pytest.raises(CopyError, match="not a copy path"):
        install_copies([{"path": "/etc"}], check_mode=False)
    with pytest.raises(CopyError, match="sent no archive"):
        install_copies([{"path": str(tmp_path / ("a" * 32))}], check_mode=False)


def test_a_transferred_archive_is_read_safely(tmp_path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../../escape")
        tar.addfile(info)
    with pytest.raises(CopyError, match="refused entry"):
        install_copies([{"path": str(tmp_path / "c" / ("b" * 32)), "archive": str(evil)}], check_mode=False)
    assert not os.path.exists(tmp_path.parent / "escape")


# -- the action plugin ----------------------------------------------------------------------------------------


def action(
    args: dict[str, Any], transport: str, basedir: str, check_mode: bool = False, async_val: int = 0
) -> ActionModule:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = async_val
    connection = MagicMock()
    connection.transport = transport
    connection.has_native_async = False
    connection._shell.tmpdir = "/remote/tmp"
    connection._shell.join_path = os.path.join
    loader = MagicMock()
    loader.get_basedir.return_value = basedir
    module = ActionModule(task, connection, MagicMock(), loader, MagicMock(), MagicMock())
    module._execute_module = MagicMock(return_value={"changed": False})
    module._execute_remote_stat = MagicMock(return_value={"exists": False})
    module._transfer_file = MagicMock()
    module._fixup_perms2 = MagicMock()
    module._remove_tmp_path = MagicMock()
    return module


def sent_args(module: ActionModule) -> dict[str, Any]:
    return module._execute_module.call_args.kwargs["module_args"]


@patch.object(ActionBase, "run", return_value={})
def test_local_target_mounts_in_place(_run, project) -> None:
    mounts = [{"path": "/www", "source": {"type": "host", "path": "html"}}]
    module = action({"image": "busybox", "mounts": mounts, "no-stdin": True}, "local", str(project))
    module.run(task_vars={})
    args = sent_args(module)
    assert args["mounts"] == mounts and args["project_dir"] == str(project) and args["no_stdin"] is True
    assert "controller_copies" not in args
    module._transfer_file.assert_not_called()


@patch.object(ActionBase, "run", return_value={})
def test_project_dir_given_wins(_run, project) -> None:
    module = action({"image": "busybox", "project_dir": "/elsewhere"}, "local", str(project))
    module.run(task_vars={})
    assert sent_args(module)["project_dir"] == "/elsewhere"


@patch.object(ActionBase, "run", return_value={})
def test_remote_target_gets_a_copy_once(_run, project) -> None:
    mounts = [{"path": "/www", "source": {"type": "host", "path": "html"}}]
    module = action({"image": "busybox", "id": "web", "mounts": mounts, "copy_dir": "/c"}, "ssh", str(project))
    module.run(task_vars={})
    args = sent_args(module)
    copy = args["controller_copies"][0]
    assert args["mounts"][0]["source"] == {"type": "host", "path": copy["path"]}
    assert copy["path"].startswith("/c/_/web/www/") and copy["archive"] == "/remote/tmp/polytope-copy-0.tar.gz"
    local_archive = module._transfer_file.call_args.args[0]
    assert module._transfer_file.call_args.args[1] == copy["archive"] and not os.path.exists(local_archive)
    module._remove_tmp_path.assert_called_once()

    again = action({"image": "busybox", "id": "web", "mounts": mounts, "copy_dir": "/c"}, "ssh", str(project))
    again._execute_remote_stat.return_value = {"exists": True, "isdir": True}
    again.run(task_vars={})
    assert sent_args(again)["controller_copies"] == [{"path": copy["path"]}]
    again._transfer_file.assert_not_called()


@patch.object(ActionBase, "run", return_value={})
def test_an_async_job_keeps_the_archives_it_reads(_run, project) -> None:
    mounts = [{"path": "/www", "source": {"type": "host", "path": "html"}}]
    module = action({"image": "busybox", "id": "web", "mounts": mounts}, "ssh", str(project), async_val=60)
    module.run(task_vars={})
    assert module._execute_module.call_args.kwargs["wrap_async"] is True
    assert sent_args(module)["controller_copies"][0]["archive"] == "/remote/tmp/polytope-copy-0.tar.gz"
    module._remove_tmp_path.assert_not_called()


@patch.object(ActionBase, "run", return_value={})
def test_an_async_job_on_the_controller_runs_the_module_process(_run, project) -> None:
    module = action({"image": "busybox", "id": "web"}, "local", str(project), async_val=60)
    module.run(task_vars={})
    assert module._execute_module.call_args.kwargs["wrap_async"] is True


@patch.object(ActionBase, "run", return_value={})
def test_check_mode_sends_nothing(_run, project) -> None:
    mounts = [{"path": "/www", "source": {"type": "repo", "path": "html"}}]
    module = action(
        {"image": "busybox", "id": "web", "mounts": mounts}, "community.docker.docker", str(project), check_mode=True
    )
    module.run(task_vars={})
    assert "archive" not in sent_args(module)["controller_copies"][0]
    module._transfer_file.assert_not_called()


@patch.object(ActionBase, "run", return_value={})
def test_missing_controller_path_fails_before_the_module(_run, project) -> None:
    module = action(
        {"image": "busybox", "mounts": [{"path": "/x", "source": {"type": "host", "path": "nope"}}]},
        "ssh",
        str(project),
    )
    result = module.run(task_vars={})
    assert result["failed"] and "does not exist on the controller" in result["msg"]
    module._execute_module.assert_not_called()


@patch.object(ActionBase, "run", return_value={})
def test_both_spellings_of_one_key_fail_before_the_module(_run, project) -> None:
    # The later key used to win silently: no_stdin false with no-stdin true ran with stdin open.
    module = action(
        {
            "image": "busybox",
            "no_stdin": False,
            "no-stdin": True,
            "restart": {"max_restarts": 1, "max-restarts": 5},
            "services": [{"id": "web", "ports": [{"port": 80, "protocol": "tcp", "expose_as": 1, "expose-as": 2}]}],
        },
        "local",
        str(project),
    )
    result = module.run(task_vars={})
    assert result == {
        "failed": True,
        "changed": False,
        "msg": (
            "Invalid options, nothing was changed: no_stdin: given in both spellings, no_stdin and no-stdin; give one; "
            "restart.max_restarts: given in both spellings, max_restarts and max-restarts; give one; "
            "services[0].ports[0].expose_as: given in both spellings, expose_as and expose-as; give one"
        ),
    }
    module._execute_module.assert_not_called()


def test_in_process_run_reports_bad_input_before_touching_an_engine() -> None:
    result = run_in_process(
        {"image": "polytope-test/busybox", "id": "a", "docker_host": "unix:///nonexistent.sock"}, False, False
    )
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"].startswith("Invalid options, nothing was changed: id: 'a' is not a valid id")


def test_in_process_run_refuses_unknown_options() -> None:
    result = run_in_process({"image": "polytope-test/busybox", "colour": "blue"}, False, False)
    assert result["failed"] is True
    assert "colour" in result["msg"]


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("create", "sometimes", "value of create must be one of: when-missing, always, never, got: sometimes"),
        ("unconfined", "perhaps", "unconfined"),
    ],
)
def test_in_process_run_refuses_bad_create_and_unconfined(option: str, value: str, expected: str) -> None:
    args = {"image": "polytope-test/busybox", "id": "web", "docker_host": "unix:///nonexistent.sock", option: value}
    result = run_in_process(args, False, False)
    assert result["failed"] is True
    assert expected in result["msg"]


def test_in_process_run_masks_secret_values() -> None:
    result = run_in_process(
        {
            "image": "polytope-test/busybox",
            "id": "a",
            "env": [{"name": "TOKEN", "value": "hunter2-in-process", "secret": True}],
        },
        False,
        False,
    )
    assert "hunter2-in-process" not in repr(result)
    # the mask Ansible itself puts where a no_log value was
    assert result["invocation"]["module_args"]["env"][0]["value"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_in_process_module_fail_json_carries_the_result() -> None:
    module = InProcessModule({}, check_mode=False, diff=False, no_log_values=set())
    try:
        module.fail_json(msg="broken", changed=True)
    except ModuleExit as exit_:
        assert exit_.result == {"failed": True, "msg": "broken", "changed": True}
    else:
        raise AssertionError("fail_json returned")
