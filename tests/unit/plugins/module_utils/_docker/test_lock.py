# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import socket
import time
from typing import Any, Optional

from ansible_collections.polytope.core.plugins.module_utils._docker.lock import (
    LABEL_LOCK_EXPIRES,
    LABEL_LOCK_FOR,
    LABEL_LOCK_HOLDER,
    EngineLock,
    Holder,
    is_stale,
    lock_body,
)

NOW = 1_800_000_000.0
ME = Holder(socket.gethostname(), os.getpid())


def labels(holder: str, expires: float) -> dict[str, str]:
    return {LABEL_LOCK_HOLDER: holder, LABEL_LOCK_EXPIRES: str(int(expires))}


def test_holder_label_round_trip() -> None:
    assert Holder.parse(Holder("build-7.example", 4242).label()) == Holder("build-7.example", 4242)


def test_holder_parse_rejects_garbage() -> None:
    assert Holder.parse("") is None
    assert Holder.parse("no-pid") is None
    assert Holder.parse("host/abc") is None


def test_expired_lock_is_stale() -> None:
    assert is_stale(labels("elsewhere/1", NOW - 1), NOW, ME)


def test_live_lock_of_another_machine_is_kept_until_it_expires() -> None:
    assert not is_stale(labels("elsewhere/1", NOW + 60), NOW, ME)


def test_lock_of_a_dead_process_on_this_machine_is_stale_at_once() -> None:
    dead_pid = 2**22 + 12345  # above the kernel's pid limit, so never a live process
    assert is_stale(labels(f"{ME.host}/{dead_pid}", NOW + 3600), NOW, ME)


def test_lock_of_a_live_process_on_this_machine_is_kept() -> None:
    assert not is_stale(labels(f"{ME.host}/1", NOW + 3600), NOW, ME)


def test_unreadable_labels_are_stale() -> None:
    assert is_stale({LABEL_LOCK_HOLDER: "x/1", LABEL_LOCK_EXPIRES: "soon"}, NOW, ME)
    assert is_stale({LABEL_LOCK_EXPIRES: str(int(NOW + 60))}, NOW, ME)


def test_lock_body_never_runs_and_names_its_owner() -> None:
    body = lock_body("sha256:abc", "shop/api", ME, NOW + 10)
    assert body["Image"] == "sha256:abc"
    assert body["HostConfig"] == {"NetworkMode": "none"}
    assert body["Labels"][LABEL_LOCK_FOR] == "shop/api"
    assert body["Labels"][LABEL_LOCK_HOLDER] == ME.label()
    assert body["Labels"][LABEL_LOCK_EXPIRES] == str(int(NOW + 10))
    # The owner labels of replicas are absent, so a lock is never taken for a replica.
    assert "polytope.id" not in body["Labels"]


class FakeEngine:
    """The engine calls EngineLock makes, over a dict of containers by name."""

    def __init__(self, containers: dict[str, dict[str, str]]):
        self.containers = {name: {"Id": f"id-{name}", "Config": {"Labels": lab}} for name, lab in containers.items()}
        self.removed: list[str] = []

    def inspect(self, name: str) -> Optional[dict[str, Any]]:
        return self.containers.get(name)

    def remove(self, container_id: str, name: str) -> None:
        self.removed.append(container_id)
        self.containers.pop(name, None)


def lock_of(engine: FakeEngine) -> EngineLock:
    return EngineLock(engine, "shop.api.lock", "shop/api", "", hold_seconds=60)  # type: ignore[arg-type]


DEAD = f"{ME.host}/{2**22 + 12345}"


def test_clear_stale_removes_the_lock_of_a_dead_holder_on_this_machine() -> None:
    # A run that changes nothing takes no lock; before, a killed run's lock stayed for good.
    engine = FakeEngine({"shop.api.lock": {LABEL_LOCK_FOR: "shop/api", **labels(DEAD, time.time() + 3600)}})
    assert lock_of(engine).clear_stale(check_mode=False) == DEAD
    assert engine.removed == ["id-shop.api.lock"] and not engine.containers


def test_clear_stale_in_check_mode_reports_but_keeps_it() -> None:
    engine = FakeEngine({"shop.api.lock": {LABEL_LOCK_FOR: "shop/api", **labels(DEAD, time.time() + 3600)}})
    assert lock_of(engine).clear_stale(check_mode=True) == DEAD
    assert engine.removed == []


def test_clear_stale_keeps_live_locks_foreign_containers_and_nothing() -> None:
    live = FakeEngine({"shop.api.lock": {LABEL_LOCK_FOR: "shop/api", **labels(ME.label(), time.time() + 3600)}})
    elsewhere = FakeEngine({"shop.api.lock": {LABEL_LOCK_FOR: "shop/api", **labels("far/1", time.time() + 3600)}})
    foreign = FakeEngine({"shop.api.lock": labels(DEAD, 0)})
    for engine in (live, elsewhere, foreign, FakeEngine({})):
        assert lock_of(engine).clear_stale(check_mode=False) is None
        assert engine.removed == []
