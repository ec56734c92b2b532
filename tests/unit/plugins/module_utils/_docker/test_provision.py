# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioner against a fake engine: datasets stored once per run with the right outcome, volumes."""

from __future__ import annotations

import io
import json
import socket
import tarfile
import time
from typing import Any, Optional

import pytest
from ansible_collections.polytope.core.plugins.module_utils._docker import provision as _provision
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._engine import NameTaken
from ansible_collections.polytope.core.plugins.module_utils._ownership import datasets_label
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import MountPlan, MountResolver
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import (
    ProvisionError,
    Provisioner,
    run_outcome,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec


def engine_tar(top: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as out:
        info = tarfile.TarInfo(top)
        info.type = tarfile.DIRTYPE
        out.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeEngine:
    def __init__(self) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.files: dict[tuple[str, str], bytes] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.stopped: list[str] = []
        self.put: list[tuple[str, str, bytes]] = []
        self.removed_volumes: list[str] = []

    def add(
        self,
        cid: str,
        labels: dict[str, str],
        running: bool = False,
        exit_code: int = 0,
        started: str = "2024-01-01T00:00:00Z",
    ) -> None:
        self.containers[cid] = {
            "Id": cid,
            "Name": f"/{cid}",
            "Config": {"Labels": labels},
            "State": {
                "Running": running,
                "ExitCode": exit_code,
                "StartedAt": started,
                "FinishedAt": "0001-01-01T00:00:00Z" if running else "2024-01-01T00:01:00Z",
            },
        }

    def inspect(self, cid: str) -> Optional[dict[str, Any]]:
        return json.loads(json.dumps(self.containers[cid])) if cid in self.containers else None

    def stop(self, cid: str, name: str, timeout: int) -> None:
        self.stopped.append(cid)
        state = self.containers[cid]["State"]
        state.update(Running=False, ExitCode=143, FinishedAt="2024-01-01T00:02:00Z")

    def path_stat(self, cid: str, path: str) -> Optional[dict[str, Any]]:
        return {} if (cid, path) in self.files else None

    def get_archive(self, cid: str, path: str):
        data = self.files.get((cid, path))
        return None if data is None else iter([data[i : i + 100] for i in range(0, len(data), 100)])

    def volume(self, name: str) -> Optional[dict[str, Any]]:
        return self.volumes.get(name)

    def create_volume(self, name: str, labels: dict[str, str]) -> dict[str, Any]:
        return self.volumes.setdefault(name, {"Name": name, "Labels": labels})

    def remove_volume(self, name: str) -> bool:
        self.removed_volumes.append(name)
        return self.volumes.pop(name, None) is not None


def make(tmp_path, datasets=None, mounts=None, scaling: int = 1, keep: Optional[int] = None):
    spec = parse_spec(
        {
            "image": "busybox",
            "id": "job",
            "project": "pp",
            "datasets": datasets or [],
            "mounts": mounts or [],
            "scaling": scaling,
        }
    )
    store = DatasetStore(str(tmp_path / "store"))
    plan = MountResolver(spec, str(tmp_path), store, True, True).resolve() if mounts else MountPlan()
    engine = FakeEngine()
    return spec, store, engine, Provisioner(engine, spec, plan, store, keep)


def labels_of(spec, replica: int = 1) -> dict[str, str]:
    return {
        "polytope.project": "pp",
        "polytope.id": "job",
        "polytope.replica": str(replica),
        "polytope.datasets": datasets_label(spec),
    }


@pytest.mark.parametrize(
    "stopped, code, outcome",
    [(True, 0, "terminated"), (True, 137, "terminated"), (False, 0, "succeeded"), (False, 3, "failed")],
)
def test_outcomes(stopped, code, outcome) -> None:
    assert run_outcome({"ExitCode": code}, stopped) == outcome


def test_a_run_is_stored_exactly_once(tmp_path) -> None:
    spec, store, engine, provisioner = make(tmp_path, [{"path": "/out", "sink": "results"}])
    engine.add("c1", labels_of(spec))
    engine.files[("c1", "/out")] = engine_tar("out", {"a.txt": b"A"})
    provisioner.secure("c1", "job", 2)
    provisioner.secure("c1", "job", 2)
    assert [v.number for v in store.versions("results")] == [1]
    assert provisioner.stored[0]["outcome"] == "succeeded" and provisioner.stored[0]["replica"] == 1
    metadata = store.versions("results")[0].metadata
    assert metadata["source"] == {
        "project": "pp",
        "id": "job",
        "replica": 1,
        "container": "c1",
        "name": "c1",
        "exit_code": 0,
        "started_at": "2024-01-01T00:00:00Z",
        "finished_at": "2024-01-01T00:01:00Z",
    }
    assert metadata["container_path"] == "/out" and metadata["sink_path"] is None
    # the same container run again is another run
    engine.containers["c1"]["State"]["StartedAt"] = "2024-01-02T00:00:00Z"
    provisioner.secure("c1", "job", 2)
    assert [v.number for v in store.versions("results")] == [1, 2]


def test_a_running_container_is_stopped_first_and_terminated(tmp_path) -> None:
    spec, store, engine, provisioner = make(tmp_path, [{"path": "/out", "sink": "results"}])
    engine.add("c1", labels_of(spec), running=True)
    engine.files[("c1", "/out")] = engine_tar("out", {"a": b"A"})
    provisioner.secure("c1", "job", 2)
    assert engine.stopped == ["c1"]
    assert store.versions("results")[0].outcome == "terminated"


def test_a_container_that_never_started_stores_nothing(tmp_path) -> None:
    spec, store, engine, provisioner = make(tmp_path, [{"path": "/out", "sink": "results"}])
    engine.add("c1", labels_of(spec), started="0001-01-01T00:00:00Z")
    engine.files[("c1", "/out")] = engine_tar("out", {"a": b"A"})
    provisioner.secure("c1", "job", 2)
    assert store.versions("results") == []


def test_the_labels_decide_not_the_task(tmp_path) -> None:
    spec, store, engine, provisioner = make(tmp_path)  # the task gives no datasets (an ad hoc absent)
    produced = parse_spec(
        {"image": "busybox", "id": "job", "project": "pp", "datasets": [{"path": "/out", "sink": "results"}]}
    )
    engine.add("c1", labels_of(produced))
    engine.files[("c1", "/out")] = engine_tar("out", {"a": b"A"})
    provisioner.secure("c1", "job", 2)
    assert [v.number for v in store.versions("results")] == [1]


def test_sinks_of_one_dataset_make_one_version(tmp_path) -> None:
    sinks = [
        {"path": "/out/a", "sink": {"type": "dataset", "dataset": "both", "path": "left", "info": "L"}},
        {"path": "/out/b", "sink": {"type": "dataset", "dataset": "both", "path": "right"}},
        {"path": "/logs", "sink": "logs"},
    ]
    spec, store, engine, provisioner = make(tmp_path, sinks)
    engine.add("c1", labels_of(spec, replica=2))
    engine.files[("c1", "/out/a")] = engine_tar("a", {"x": b"X"})
    engine.files[("c1", "/out/b")] = engine_tar("b", {"y": b"Y"})
    provisioner.secure("c1", "job.2", 2)
    both = store.versions("both")[0]
    assert both.metadata["container_path"] == ["/out/a", "/out/b"]
    assert both.metadata["sink_path"] == ["left", "right"] and both.metadata["info"] == ["L", None]
    assert both.metadata["source"]["replica"] == 2
    with tarfile.open(both.archive) as tar:
        assert sorted(m.name for m in tar.getmembers() if m.isfile()) == ["left/x", "right/y"]
    assert store.versions("logs") == []
    assert any("/logs does not exist" in warning for warning in provisioner.warnings)


def test_dataset_keep_prunes_after_storing(tmp_path) -> None:
    spec, store, engine, provisioner = make(tmp_path, [{"path": "/out", "sink": "results"}], keep=2)
    engine.add("c1", labels_of(spec))
    engine.files[("c1", "/out")] = engine_tar("out", {"a": b"A"})
    for day in range(1, 5):
        engine.containers["c1"]["State"]["StartedAt"] = f"2024-01-0{day}T00:00:00Z"
        provisioner.secure("c1", "job", 2)
    assert [v.number for v in store.versions("results")] == [3, 4]


def test_a_failed_capture_raises_and_stores_nothing(tmp_path) -> None:
    spec, store, engine, provisioner = make(tmp_path, [{"path": "/out", "sink": "results"}])
    engine.add("c1", labels_of(spec))
    engine.files[("c1", "/out")] = b"this is not a tar archive" * 100
    with pytest.raises(ProvisionError, match="storing dataset results"):
        provisioner.secure("c1", "job", 2)
    assert store.versions("results") == []


# -- volumes -------------------------------------------------------------------------------------------------


def test_create_never_checks_every_replicas_volume(tmp_path) -> None:
    mounts = [{"path": "/data", "source": {"type": "volume", "create": "never"}}]
    _spec, _store, engine, provisioner = make(tmp_path, mounts=mounts, scaling=2)
    engine.volumes["pp.job.data"] = {"Name": "pp.job.data"}
    with pytest.raises(ProvisionError, match=r"volume pp\.job\.2\.data does not exist .* create: never"):
        provisioner.check()


def test_always_numbers_a_fresh_volume_and_keeps_it_across_replacements(tmp_path) -> None:
    mounts = [{"path": "/data", "source": {"type": "volume", "id": "cache", "create": "always"}}]
    _spec, _store, engine, provisioner = make(tmp_path, mounts=mounts)
    engine.volumes["pp.cache"] = {"Name": "pp.cache", "Labels": {}}
    body: dict[str, Any] = {"Labels": {}, "HostConfig": {"Mounts": []}}
    provisioner.prepare(1, "pp.job", body, None)
    assert body["HostConfig"]["Mounts"] == [
        {"Type": "volume", "Source": "pp.cache.2", "Target": "/data", "ReadOnly": False}
    ]
    recorded = json.loads(body["Labels"]["polytope.volumes"])
    assert recorded == {"/data": {"name": "pp.cache.2", "scope": "job", "create": "always"}}
    replacement: dict[str, Any] = {"Labels": {}, "HostConfig": {"Mounts": []}}
    provisioner.prepare(1, "pp.job", replacement, {"Config": {"Labels": body["Labels"]}})
    assert replacement["HostConfig"]["Mounts"][0]["Source"] == "pp.cache.2"
    fresh: dict[str, Any] = {"Labels": {}, "HostConfig": {"Mounts": []}}
    provisioner.prepare(1, "pp.job", fresh, None)
    assert fresh["HostConfig"]["Mounts"][0]["Source"] == "pp.cache.3"


def test_job_volumes_go_with_their_replica_project_volumes_stay(tmp_path) -> None:
    _spec, _store, engine, provisioner = make(tmp_path)
    engine.volumes["pp.a"] = {"Name": "pp.a", "Labels": {"polytope.managed-by": "polytope.core"}}
    engine.volumes["pp.b"] = {"Name": "pp.b", "Labels": {"polytope.managed-by": "polytope.core"}}
    engine.volumes["users"] = {"Name": "users", "Labels": {}}
    recorded = {
        "/a": {"name": "pp.a", "scope": "job", "create": "when-missing"},
        "/b": {"name": "pp.b", "scope": "project", "create": "when-missing"},
        "/c": {"name": "users", "scope": "job", "create": "never"},
    }
    provisioner.release_volumes({"polytope.volumes": json.dumps(recorded)})
    assert engine.removed_volumes == ["pp.a"]
    assert sorted(engine.volumes) == ["pp.b", "users"]


class FillingEngine(FakeEngine):
    """The fake engine with containers by name, for the volume-fill marker and helper."""

    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []
        self.removed: list[str] = []

    def create(self, body: dict[str, Any], name: str) -> str:
        if name in self.containers:
            raise NameTaken(f"creating container {name}: 409 Conflict: the name is already in use")
        self.created.append(name)
        self.containers[name] = {"Id": name, "Name": f"/{name}", "Config": {"Labels": dict(body.get("Labels") or {})}}
        return name

    def remove(self, cid: str, name: str) -> None:
        if self.containers.pop(cid, None) is not None:
            self.removed.append(cid)

    def put_archive(self, cid: str, path: str, data: Any) -> None:
        self.put.append((cid, path, data if isinstance(data, bytes) else data.read()))


def filling(tmp_path, create: str = "when-missing"):
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "index.html").write_text("hello")
    mounts = [
        {"path": "/srv", "source": {"type": "volume", "create": create, "source": {"type": "repo", "path": "html"}}}
    ]
    spec, store, _engine, _provisioner = make(tmp_path, mounts=mounts)
    engine = FillingEngine()
    plan = MountResolver(spec, str(tmp_path), store, True, True).resolve()
    return engine, Provisioner(engine, spec, plan, store)


def marker_labels(holder: str, expires: float) -> dict[str, str]:
    return {
        "polytope.managed-by": "polytope.core",
        "polytope.helper": "fill-marker",
        "polytope.lock-holder": holder,
        "polytope.lock-expires": str(int(expires)),
    }


def prepared_volume(provisioner: Provisioner) -> str:
    body: dict[str, Any] = {"Labels": {}, "HostConfig": {"Mounts": []}}
    provisioner.prepare(1, "pp.job", body, None)
    return body["HostConfig"]["Mounts"][0]["Source"]


def test_a_volume_is_filled_under_its_marker_made_before_it(tmp_path) -> None:
    engine, provisioner = filling(tmp_path)
    assert prepared_volume(provisioner) == "pp.job.srv"
    assert engine.created == ["pp.job.srv.fill", "pp.job.srv.filling"]
    assert sorted(engine.removed) == ["pp.job.srv.fill", "pp.job.srv.filling"]
    assert [(cid, path) for cid, path, _data in engine.put] == [("pp.job.srv.filling", "/polytope-volume")]
    assert "filled volume pp.job.srv from its repo source" in provisioner.actions


def test_a_volume_a_killed_run_only_partly_filled_is_made_anew(tmp_path) -> None:
    engine, provisioner = filling(tmp_path)
    engine.volumes["pp.job.srv"] = {"Name": "pp.job.srv", "Labels": {}}
    engine.create(
        {"Labels": marker_labels(f"{socket.gethostname()}/{2**22 + 7}", time.time() + 600)}, "pp.job.srv.fill"
    )
    engine.create({"Labels": {}}, "pp.job.srv.filling")
    engine.created.clear()
    assert prepared_volume(provisioner) == "pp.job.srv"
    assert "pp.job.srv" in engine.removed_volumes
    assert engine.created == ["pp.job.srv.fill", "pp.job.srv.filling"]
    assert "removed volume pp.job.srv: a run that was interrupted had only partly filled it" in provisioner.actions
    assert "filled volume pp.job.srv from its repo source" in provisioner.actions
    assert not engine.containers


def test_a_volume_another_run_fills_is_waited_for_then_used(tmp_path, monkeypatch) -> None:
    engine, provisioner = filling(tmp_path)
    engine.volumes["pp.job.srv"] = {"Name": "pp.job.srv", "Labels": {}}
    engine.create({"Labels": marker_labels("elsewhere/12", time.time() + 600)}, "pp.job.srv.fill")
    engine.created.clear()
    naps: list[float] = []

    def other_run_finishes(seconds: float) -> None:
        naps.append(seconds)
        engine.containers.pop("pp.job.srv.fill")

    monkeypatch.setattr(_provision.time, "sleep", other_run_finishes)
    assert prepared_volume(provisioner) == "pp.job.srv"
    assert len(naps) == 1
    assert engine.created == [] and engine.removed_volumes == []


def test_a_fill_marker_name_taken_by_another_container_is_an_error(tmp_path) -> None:
    engine, provisioner = filling(tmp_path)
    engine.volumes["pp.job.srv"] = {"Name": "pp.job.srv", "Labels": {}}
    engine.create({"Labels": {}}, "pp.job.srv.fill")
    with pytest.raises(
        ProvisionError, match=r"pp\.job\.srv\.fill is taken by a container that polytope\.core did not make"
    ):
        prepared_volume(provisioner)
    assert "pp.job.srv" in engine.volumes
