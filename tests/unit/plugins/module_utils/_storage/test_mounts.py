# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mount planning: names, what becomes a bind mount, a volume or content, and the fingerprint."""

from __future__ import annotations

import io
import os
import tarfile
from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import (
    Placement,
    canonical_spec,
    fingerprint,
)
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import (
    MountResolver,
    candidate_names,
    recorded_volumes,
    slug,
    volume_base_name,
    volumes_label,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import SpecError, parse_spec
from ansible_collections.polytope.core.plugins.module_utils._storage.trees import tree_digest


def spec(mounts: list[dict[str, Any]], **params: Any):
    return parse_spec({"image": "busybox", "id": "web", "project": "shop", "mounts": mounts, **params})


def resolve(tmp_path, mounts, shared: bool = True, local: bool = True, pending=frozenset(), **params):
    store = DatasetStore(str(tmp_path / "store"))
    return MountResolver(spec(mounts, **params), str(tmp_path / "project"), store, local, shared, pending).resolve()


def problems(tmp_path, mounts, **kwargs) -> str:
    with pytest.raises(SpecError) as caught:
        resolve(tmp_path, mounts, **kwargs)
    return str(caught.value)


@pytest.fixture
def project(tmp_path):
    directory = tmp_path / "project"
    (directory / "html").mkdir(parents=True)
    (directory / "html" / "index.html").write_text("hello")
    (directory / "app.conf").write_text("conf")
    return directory


def put_dataset(tmp_path, name: str, files: dict[str, bytes], outcome: str = "succeeded") -> None:
    def fill(out: Any) -> None:
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            for path, data in files.items():
                info = tarfile.TarInfo(path)
                if path.startswith("LINK:"):
                    info.name = path[5:]
                    info.type = tarfile.SYMTYPE
                    info.linkname = data.decode()
                    tar.addfile(info)
                    continue
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

    DatasetStore(str(tmp_path / "store")).store(name, fill, {"outcome": outcome})


# -- names ---------------------------------------------------------------------------------------------------


def test_volume_names_carry_the_project() -> None:
    assert volume_base_name("shop", "web", 1, "/data", "cache") == "shop.cache"
    assert volume_base_name(None, "web", 1, "/data", "cache") == "cache"
    assert volume_base_name("shop", "web", 1, "/var/lib/data", None) == "shop.web.var-lib-data"
    assert volume_base_name("shop", "web", 3, "/data", None) == "shop.web.3.data"
    assert volume_base_name(None, "web", 2, "/", None) == "web.2.root"


def test_always_tries_numbered_names_in_order() -> None:
    assert candidate_names("shop.cache", 4) == ["shop.cache", "shop.cache.2", "shop.cache.3", "shop.cache.4"]


def test_slug_keeps_names_engine_safe() -> None:
    assert slug("/a b/ü/c") == "a_b-_-c"


def test_recorded_volumes_round_trip_and_tolerate_junk() -> None:
    chosen = {"/data": {"name": "shop.cache.2", "scope": "job", "create": "always"}}
    assert recorded_volumes({"polytope.volumes": volumes_label(chosen)}) == chosen
    assert recorded_volumes({"polytope.volumes": "not json"}) == {}
    assert recorded_volumes({"polytope.volumes": "[1]"}) == {}
    assert recorded_volumes(None) == {}


# -- host and repo -------------------------------------------------------------------------------------------


def test_absolute_host_paths_are_bind_mounts_and_must_exist_on_a_local_engine(tmp_path, project) -> None:
    plan = resolve(tmp_path, [{"path": "/www", "source": {"type": "host", "path": str(project / "html")}}])
    assert plan.binds == [{"Type": "bind", "Source": str(project / "html"), "Target": "/www", "ReadOnly": False}]
    assert plan.descriptors == []
    assert "does not exist on the engine's machine" in problems(
        tmp_path, [{"path": "/x", "source": {"type": "host", "path": "/no/such/dir"}}]
    )
    # a remote engine's paths cannot be checked here
    assert resolve(tmp_path, [{"path": "/x", "source": {"type": "host", "path": "/no/such/dir"}}], local=False).binds


def test_relative_host_and_repo_paths_are_bind_mounts_on_a_shared_filesystem(tmp_path, project) -> None:
    plan = resolve(
        tmp_path,
        [
            {"path": "/www", "source": {"type": "host", "path": "html"}},
            {"path": "/src", "source": {"type": "repo"}},
            {"path": "/etc/app.conf", "source": {"type": "repo", "path": "/app.conf"}},
        ],
    )
    assert [b["Source"] for b in plan.binds] == [str(project / "html"), str(project), str(project / "app.conf")]


def test_project_paths_are_copied_content_on_a_remote_engine(tmp_path, project) -> None:
    plan = resolve(tmp_path, [{"path": "/www", "source": {"type": "host", "path": "html"}}], shared=False)
    assert plan.binds == []
    assert plan.placed[0].target == "/www" and plan.placed[0].content.kind == "tree"
    assert plan.descriptors == [
        {"path": "/www", "type": "host", "sha256": tree_digest(str(project / "html")), "file": False}
    ]


def test_project_path_errors(tmp_path, project) -> None:
    # a named repository is already refused when the spec is read
    assert "repository 'github.com/x/y' is not supported" in problems(
        tmp_path, [{"path": "/a", "source": {"type": "repo", "repo": "github.com/x/y"}}]
    )
    text = problems(
        tmp_path,
        [
            {"path": "/b", "source": {"type": "repo", "path": "../up"}},
            {"path": "/c", "source": {"type": "host", "path": "missing"}},
        ],
    )
    assert "'../up' leaves the project directory" in text
    assert "does not exist in the project directory" in text
    assert "revision is not supported" in problems(
        tmp_path, [{"path": "/a", "source": {"type": "repo", "revision": "main"}}]
    )


def test_relative_paths_need_a_project_dir(tmp_path) -> None:
    store = DatasetStore(str(tmp_path / "store"))
    with pytest.raises(SpecError, match="needs project_dir"):
        MountResolver(
            spec([{"path": "/a", "source": {"type": "host", "path": "x"}}]), None, store, True, True
        ).resolve()


def test_pending_copies_need_not_exist_in_check_mode(tmp_path) -> None:
    pending = frozenset({"/var/lib/polytope/copies/shop/web/www/" + "a" * 32})
    mounts = [
        {
            "path": "/www",
            "source": {"type": "host", "path": "/var/lib/polytope/copies/shop/web/www/" + "a" * 32 + "/index.html"},
        }
    ]
    assert resolve(tmp_path, mounts, pending=pending).binds


# -- string and dataset --------------------------------------------------------------------------------------


def test_string_content_enters_the_fingerprint_by_digest(tmp_path) -> None:
    def print_of(text: str) -> str:
        plan = resolve(tmp_path, [{"path": "/etc/motd", "source": {"type": "string", "data": text}}])
        assert plan.placed[0].content.is_file and plan.placed[0].content.data == text
        assert text not in str(plan.descriptors)
        return fingerprint(spec([]), Placement("polytope-shop", contents=tuple(plan.descriptors)))

    assert print_of("one") == print_of("one")
    assert print_of("one") != print_of("two")


def test_no_mount_contents_keeps_the_fingerprint_of_before() -> None:
    # Replicas without such mounts must keep their fingerprint (else an upgrade replaces them): the canonical
    # form has no mount_contents key at all, and the fingerprint is pinned.
    assert "mount_contents" not in canonical_spec(spec([]), Placement("polytope-shop"))
    assert fingerprint(spec([]), Placement("polytope-shop")) == "6ac095d7d772487524687eae838266d4"
    with_contents = Placement("polytope-shop", contents=({"path": "/a", "type": "string", "sha256": "0"},))
    assert fingerprint(spec([]), with_contents) != "6ac095d7d772487524687eae838266d4"


def test_dataset_mounts_take_the_newest_version_that_did_not_fail(tmp_path) -> None:
    put_dataset(tmp_path, "model", {"w.bin": b"1"})
    put_dataset(tmp_path, "model", {"w.bin": b"2"}, outcome="terminated")
    put_dataset(tmp_path, "model", {"w.bin": b"3"}, outcome="failed")
    plan = resolve(tmp_path, [{"path": "/model", "source": {"type": "dataset", "dataset": "model"}}])
    assert plan.descriptors[0]["version"] == 2 and plan.descriptors[0]["dataset"] == "model"
    plan = resolve(tmp_path, [{"path": "/model", "source": {"type": "dataset", "dataset": "model", "version": 3}}])
    assert plan.descriptors[0]["version"] == 3


def test_dataset_mount_of_one_file(tmp_path) -> None:
    put_dataset(tmp_path, "model", {"conf/app.ini": b"x", "conf/other": b"y"})
    plan = resolve(
        tmp_path, [{"path": "/etc/app.ini", "source": {"type": "dataset", "dataset": "model", "path": "conf/app.ini"}}]
    )
    assert plan.placed[0].content.is_file
    plan = resolve(tmp_path, [{"path": "/etc/conf", "source": {"type": "dataset", "dataset": "model", "path": "conf"}}])
    assert not plan.placed[0].content.is_file


def test_dataset_mount_errors(tmp_path) -> None:
    put_dataset(tmp_path, "evil", {"LINK:out": b"../../etc"})
    put_dataset(tmp_path, "model", {"a": b"1"})
    text = problems(
        tmp_path,
        [
            {"path": "/a", "source": {"type": "dataset", "dataset": "nothing"}},
            {"path": "/b", "source": {"type": "dataset", "dataset": "evil"}},
            {"path": "/c", "source": {"type": "dataset", "dataset": "model", "path": "zzz"}},
            {"path": "/d", "source": {"type": "dataset", "dataset": "model", "version": 7}},
        ],
    )
    assert "dataset nothing has no stored version" in text
    assert "refused entry 'out'" in text
    assert "'zzz' is not in dataset model" in text
    assert "no version 7" in text


# -- volumes -------------------------------------------------------------------------------------------------


def test_volume_descriptor_is_what_it_is_not_its_current_contents(tmp_path, project) -> None:
    mounts = [
        {
            "path": "/data",
            "source": {
                "type": "volume",
                "id": "cache",
                "scope": "project",
                "create": "always",
                "source": {"type": "host", "path": "html"},
            },
        }
    ]
    plan = resolve(tmp_path, mounts, shared=False)
    first = plan.descriptors
    assert plan.volumes[0].scope == "project" and plan.volumes[0].create == "always"
    assert plan.volumes[0].source.kind == "tree"
    (project / "html" / "index.html").write_text("changed")
    assert resolve(tmp_path, mounts, shared=False).descriptors == first


def test_volume_sources(tmp_path, project) -> None:
    put_dataset(tmp_path, "seed", {"a": b"1"})
    plan = resolve(
        tmp_path,
        [
            {"path": "/a", "source": {"type": "volume", "source": {"type": "host", "path": str(project)}}},
            {"path": "/b", "source": {"type": "volume", "source": {"type": "dataset", "dataset": "seed"}}},
            {"path": "/c", "source": {"type": "volume", "source": {"type": "repo", "path": "html"}}},
        ],
    )
    assert [v.source.kind for v in plan.volumes] == ["engine-path", "dataset", "tree"]
    assert [v.scope for v in plan.volumes] == ["job", "job", "job"]
    assert "a string source makes one file" in problems(
        tmp_path, [{"path": "/a", "source": {"type": "volume", "source": {"type": "string", "data": "x"}}}]
    )


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    text = problems(
        tmp_path,
        [
            {"path": "/a", "source": {"type": "host", "path": "/nope"}},
            {"path": "/b", "source": {"type": "dataset", "dataset": "none"}},
        ],
    )
    assert "mounts[0]" in text and "mounts[1]" in text


def test_tree_digest_ignores_times_but_not_contents_or_modes(tmp_path) -> None:
    root = tmp_path / "tree"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("x")
    os.symlink("d/f", root / "l")
    first = tree_digest(str(root))
    os.utime(root / "d" / "f", (1, 1))
    assert tree_digest(str(root)) == first
    os.chmod(root / "d" / "f", 0o600)
    second = tree_digest(str(root))
    assert second != first
    (root / "d" / "f").write_text("y")
    assert tree_digest(str(root)) != second
