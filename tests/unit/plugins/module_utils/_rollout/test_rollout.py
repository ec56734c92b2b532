# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout against an engine in memory: batches, rollback, pause, failures inside a batch, repair."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._storage.mounts import MountPlan
from ansible_collections.polytope.core.plugins.module_utils._docker.provision import ProvisionError, Provisioner
from ansible_collections.polytope.core.plugins.module_utils._rollout.policy import parse_rollout
from ansible_collections.polytope.core.plugins.module_utils._rollout.run import ContainerRun, RunOptions, TaskFailed
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec
from ansible_collections.polytope.core.tests.unit.plugins.module_utils._rollout.fake_engine import (
    FakeEngine,
    Killed,
    exits_on_start,
)

BASE = "it-roll.web"


def names(scaling: int) -> list[str]:
    return [BASE] + [f"{BASE}.{n}" for n in range(2, scaling + 1)]


def run(
    engine: FakeEngine, generation: str, scaling: int = 6, state: str = "started", **rollout: Any
) -> dict[str, Any]:
    spec = parse_spec(
        {
            "image": "polytope-test/busybox:latest",
            "id": "web",
            "project": "it-roll",
            "scaling": scaling,
            "env": [{"name": "GEN", "value": generation}, {"name": "TOKEN", "value": "s3cr3t-value", "secret": True}],
            "cmd": "sleep 1000",
        }
    )
    rollout.setdefault("monitor", 0)
    options = RunOptions(state=state, wait_timeout=5, rollout=parse_rollout(rollout))
    provisioner = Provisioner(engine, spec, MountPlan(), DatasetStore("/nonexistent/polytope-store"))  # type: ignore[arg-type]
    return ContainerRun(engine, spec, options, (), provisioner).run()  # type: ignore[arg-type]


def converged(scaling: int = 6) -> tuple[FakeEngine, dict[str, str]]:
    """An engine running generation 1, and the container id of each replica."""
    engine = FakeEngine()
    result = run(engine, "1", scaling)
    engine.log.clear()
    return engine, {entry["name"]: entry["id"] for entry in result["containers"]}


def test_a_change_replaces_every_replica_in_batches() -> None:
    engine, first = converged()
    result = run(engine, "2", parallelism=2)
    assert result["changed"]
    assert engine.names() == {name: "2" for name in names(6)}
    assert engine.running() == set(names(6))
    assert not set(first.values()) & {entry["id"] for entry in result["containers"]}
    new_starts = [name for call, name in engine.log if call == "start"]
    assert new_starts == names(6)
    # Batch 2 starts only once batch 1 has taken the names: the third start follows both renames of replica 2.
    log = engine.log
    assert log.index(("start", f"{BASE}.3")) > log.index(("rename", f"{BASE}.2"))


def test_batches_follow_parallelism() -> None:
    engine, _first = converged()
    run(engine, "2", parallelism="50%")
    creates = [index for index, (call, name) in enumerate(engine.log) if call == "create" and name.endswith(".next")]
    starts = [index for index, (call, name) in enumerate(engine.log) if call == "start"]
    # The second batch of three is made only once the first has started.
    assert len(creates) == 6 and len(starts) == 6
    assert starts[2] < creates[3]


def test_a_rerun_changes_nothing() -> None:
    engine, first = converged()
    result = run(engine, "1")
    assert not result["changed"]
    assert engine.log == []
    assert {entry["name"]: entry["id"] for entry in result["containers"]} == first


def test_rollback_of_the_whole_rollout_when_the_third_batch_fails() -> None:
    engine, first = converged()
    exits_on_start(engine, "2", {f"{BASE}.5"})
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", parallelism=2)
    message = str(failure.value)
    assert f"replica 5 ({BASE}.5) could not be replaced" in message
    assert "exit code 3" in message
    assert "rollback" in message
    assert engine.names() == {name: "1" for name in names(6)}
    assert engine.running() == set(names(6))
    assert {entry["name"]: entry["id"] for entry in failure.value.result["containers"]} == first
    assert any("cannot start" in line for line in failure.value.result["logs"])
    # The first two batches had been replaced before the third failed.
    assert [name for call, name in engine.log if call == "start"][:4] == names(4)


def test_a_failure_in_the_middle_of_a_batch_rolls_the_batch_back() -> None:
    engine, first = converged()
    engine.fail_create = lambda name: name == f"{BASE}.4.next"
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", parallelism=3)
    assert "no space left on device" in str(failure.value)
    assert engine.names() == {name: "1" for name in names(6)}
    assert engine.running() == set(names(6))
    assert {entry["name"]: entry["id"] for entry in failure.value.result["containers"]} == first


def test_pause_keeps_what_was_replaced_and_leaves_the_rest() -> None:
    engine, first = converged()
    exits_on_start(engine, "2", {f"{BASE}.5"})
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", parallelism=2, failure_action="pause")
    message = str(failure.value)
    assert "pause" in message
    assert f"Replaced: {', '.join(names(4))}." in message
    assert f"Left as they were: {BASE}.5, {BASE}.6." in message
    assert engine.names() == {**{name: "2" for name in names(4)}, f"{BASE}.5": "1", f"{BASE}.6": "1"}
    assert engine.running() == set(names(6))
    assert {e["name"]: e["id"] for e in failure.value.result["containers"]}[f"{BASE}.6"] == first[f"{BASE}.6"]


def test_failures_within_max_failure_ratio_let_the_rollout_go_on() -> None:
    engine, first = converged()
    exits_on_start(engine, "2", {f"{BASE}.3"})
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", parallelism=2, max_failure_ratio=0.2)
    assert "1 of 6 replacements failed, within rollout.max_failure_ratio 0.2" in str(failure.value)
    assert engine.names() == {**{name: "2" for name in names(6)}, f"{BASE}.3": "1"}
    assert {e["name"]: e["id"] for e in failure.value.result["containers"]}[f"{BASE}.3"] == first[f"{BASE}.3"]


def test_a_replica_that_fails_inside_its_monitor_window_is_rolled_back() -> None:
    engine, first = converged(scaling=3)
    inspections: dict[str, int] = {}

    def crash_later(container: dict[str, Any]) -> None:
        env = dict(item.split("=", 1) for item in container["Config"]["Env"])
        if env["GEN"] == "2" and container["Name"] == f"/{BASE}":
            inspections[container["Id"]] = inspections.get(container["Id"], 0) + 1
            if inspections[container["Id"]] > 2:
                container["State"] = {**container["State"], "Status": "exited", "Running": False, "ExitCode": 7}

    engine.on_inspect = crash_later
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", scaling=3, parallelism=1, monitor=0.5)
    assert "did not stay ready for the 0.5s monitor window" in str(failure.value)
    assert engine.names() == {name: "1" for name in names(3)}
    assert engine.running() == set(names(3))
    assert {entry["name"]: entry["id"] for entry in failure.value.result["containers"]} == first


def test_a_replica_that_dies_while_the_next_batch_starts_slowly_is_not_proven_by_the_clock() -> None:
    engine, first = converged(scaling=2)

    def replica_1_dies_during_a_slow_start(container: dict[str, Any]) -> None:
        if container["Name"].startswith(f"/{BASE}.2") and "GEN=2" in container["Config"]["Env"]:
            for other in engine.by_id.values():
                if other is not container and "GEN=2" in (other["Config"]["Env"] or []):
                    other["State"] = {**other["State"], "Status": "exited", "Running": False, "ExitCode": 9}
            # The start outlasts replica 1's monitor window: no poll falls inside it.
            time.sleep(0.4)

    engine.on_start = replica_1_dies_during_a_slow_start
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", scaling=2, parallelism=1, monitor=0.2)
    assert "replica 1 (it-roll.web) did not stay ready for the 0.2s monitor window" in str(failure.value)
    assert engine.names() == {name: "1" for name in names(2)}
    assert {entry["name"]: entry["id"] for entry in failure.value.result["containers"]} == first


def test_old_replicas_stay_until_the_whole_rollout_succeeded() -> None:
    engine, _first = converged(scaling=4)
    run(engine, "2", scaling=4, parallelism=1)
    removes = [index for index, (call, name) in enumerate(engine.log) if call == "remove" and name.endswith(".prev")]
    last_start = max(index for index, (call, _name) in enumerate(engine.log) if call == "start")
    assert len(removes) == 4 and min(removes) > last_start


def test_stop_first_stops_the_old_replica_before_the_new_one_starts() -> None:
    engine, _first = converged(scaling=2)
    run(engine, "2", scaling=2, parallelism=1, order="stop-first")
    log = engine.log
    assert log.index(("stop", BASE)) < log.index(("start", BASE))
    assert log.index(("stop", f"{BASE}.2")) < log.index(("start", f"{BASE}.2"))


def test_a_stop_first_replacement_whose_old_data_cannot_be_stored_keeps_the_old_replica_running(monkeypatch) -> None:
    engine, first = converged(scaling=2)

    def full_store(_provisioner: Provisioner, container_id: str, name: str, *_args: Any, **_kwargs: Any) -> None:
        raise ProvisionError(f"storing the datasets of {name}: no space left on device")

    monkeypatch.setattr(Provisioner, "secure", full_store)
    with pytest.raises(TaskFailed) as failure:
        run(engine, "2", scaling=2, parallelism=1, order="stop-first")
    assert "was kept so that its data is not lost" in str(failure.value)
    assert engine.running() == set(names(2))
    assert engine.names() == {name: "1" for name in names(2)}
    assert {entry["name"]: entry["id"] for entry in failure.value.result["containers"]} == first


def test_restarted_rolls_in_batches() -> None:
    engine, first = converged(scaling=4)
    result = run(engine, "1", scaling=4, state="restarted", parallelism=2)
    assert result["changed"]
    assert [name for call, name in engine.log if call == "start"] == names(4)
    assert {entry["name"]: entry["id"] for entry in result["containers"]} == first


def test_job_logs_mask_secrets_and_come_from_every_replica() -> None:
    engine = FakeEngine()
    result = run(engine, "1", scaling=2, state="completed")
    assert result["exit_codes"] == [0, 0]
    assert [entry["logs"][0] for entry in result["containers"]] == [f"hello from {name}" for name in names(2)]
    assert result["logs"] == result["containers"][0]["logs"]
    assert all("s3cr3t-value" not in line for entry in result["containers"] for line in entry["logs"])
    assert any("TOKEN=********" in line for line in result["logs"])


def test_a_failed_job_shows_the_first_failing_replica_s_logs() -> None:
    engine = FakeEngine()
    exits_on_start(engine, "1", {f"{BASE}.2"}, code=4)
    with pytest.raises(TaskFailed) as failure:
        run(engine, "1", scaling=3, state="completed")
    assert failure.value.result["exit_codes"] == [0, 4, 0]
    assert failure.value.result["logs"][-1] == "fatal: generation 1 cannot start"


def _count_changes(scaling: int, generation: str, **rollout: Any) -> int:
    engine, _first = converged(scaling)
    run(engine, generation, scaling, **rollout)
    return len(engine.log)


ROLLOUT = {"parallelism": 2}
STEPS = _count_changes(3, "2", **ROLLOUT)


@pytest.mark.parametrize("step", range(STEPS))
def test_a_run_killed_at_any_step_is_repaired_by_the_next(step: int) -> None:
    engine, first = converged(scaling=3)
    engine.kill_at = step
    with pytest.raises(Killed):
        run(engine, "2", 3, **ROLLOUT)
    engine.kill_at = None
    engine.drop_locks()
    # Whatever the kill left, every replica still has a running container under its name.
    standing = engine.names()
    for name in names(3):
        assert name in engine.running() or f"{name}.prev" in engine.running() or name in standing
    result = run(engine, "2", 3, **ROLLOUT)
    assert engine.names() == {name: "2" for name in names(3)}
    assert engine.running() == set(names(3))
    assert len(result["containers"]) == 3
    assert not set(first.values()) & {entry["id"] for entry in result["containers"]}


@pytest.mark.parametrize("step", range(STEPS))
def test_a_killed_run_then_the_old_spec_again_restores_it(step: int) -> None:
    engine, _first = converged(scaling=3)
    engine.kill_at = step
    with pytest.raises(Killed):
        run(engine, "2", 3, **ROLLOUT)
    engine.kill_at = None
    engine.drop_locks()
    run(engine, "1", 3, **ROLLOUT)
    assert engine.names() == {name: "1" for name in names(3)}
    assert engine.running() == set(names(3))
