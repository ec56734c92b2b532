# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replica planning: every state against every replica condition, scaling, and replica names."""

from __future__ import annotations

import pytest
from ansible_collections.polytope.core.plugins.module_utils._docker.mapping import Drift
from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import (
    AWAIT_EXIT,
    CREATE,
    REMOVE,
    REPLACE,
    RESTART,
    START,
    STOP,
    UPDATE,
    Observed,
    ReplicaPlan,
    missing_replicas,
    observed_from_inspect,
    plan_replica,
    plan_replicas,
    replica_name,
    split_name,
    summarize,
)

NAME = "shop.web"
UPDATE_DRIFT = {"Memory": 1024, "MemorySwap": 1024}


def observed(
    status: str = "running",
    exit_code: int = 0,
    replace: list | None = None,
    update: dict | None = None,
    replica: int = 1,
) -> Observed:
    return Observed(
        replica=replica,
        name=replica_name(NAME, replica),
        container_id=f"c{replica}" * 8,
        status=status,
        exit_code=exit_code,
        drift=Drift(replace=list(replace or []), update=dict(update or {})),
    )


# Conditions of one replica as the engine reports it: (observed or None, recreate).
CONDITIONS = {
    "missing": (None, False),
    "running in sync": (observed("running"), False),
    "exited 0": (observed("exited", 0), False),
    "exited 3": (observed("exited", 3), False),
    "created": (observed("created"), False),
    "drift replace": (observed("running", replace=["the spec changed"]), False),
    "drift update": (observed("running", update=UPDATE_DRIFT), False),
    "drift update exited 0": (observed("exited", 0, update=UPDATE_DRIFT), False),
    "recreate": (observed("running"), True),
}

# The expected actions of every state for every condition.
EXPECTED = {
    "started": {
        "missing": [CREATE, START],
        "running in sync": [],
        "exited 0": [START],
        "exited 3": [START],
        "created": [START],
        "drift replace": [REPLACE],
        "drift update": [UPDATE],
        "drift update exited 0": [UPDATE, START],
        "recreate": [REPLACE],
    },
    "restarted": {
        "missing": [CREATE, START],
        "running in sync": [RESTART],
        "exited 0": [START],
        "exited 3": [START],
        "created": [START],
        "drift replace": [REPLACE],
        "drift update": [UPDATE, RESTART],
        "drift update exited 0": [UPDATE, START],
        "recreate": [REPLACE],
    },
    "completed": {
        "missing": [CREATE, START, AWAIT_EXIT],
        "running in sync": [AWAIT_EXIT],
        "exited 0": [],
        "exited 3": [REPLACE, AWAIT_EXIT],
        "created": [START, AWAIT_EXIT],
        "drift replace": [REPLACE, AWAIT_EXIT],
        "drift update": [UPDATE, AWAIT_EXIT],
        "drift update exited 0": [UPDATE],
        "recreate": [REPLACE, AWAIT_EXIT],
    },
    "stopped": {
        "missing": [CREATE],
        "running in sync": [STOP],
        "exited 0": [],
        "exited 3": [],
        "created": [],
        "drift replace": [REPLACE],
        "drift update": [UPDATE, STOP],
        "drift update exited 0": [UPDATE],
        "recreate": [REPLACE],
    },
}


@pytest.mark.parametrize("state", sorted(EXPECTED))
@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_plan_replica_matrix(state: str, condition: str) -> None:
    current, recreate = CONDITIONS[condition]
    plan = plan_replica(state, 1, NAME, current, recreate)
    assert plan.actions == EXPECTED[state][condition]
    assert plan.replica == 1 and plan.name == NAME and plan.current is current
    assert plan.changes == any(action != AWAIT_EXIT for action in EXPECTED[state][condition])


def test_matrix_is_complete() -> None:
    for state, row in EXPECTED.items():
        assert set(row) == set(CONDITIONS), state


# With create=when-missing and create=never an existing replica keeps its spec; only the state applies.
EXPECTED_KEEPING = {
    "started": {
        "missing": [CREATE, START],
        "running in sync": [],
        "exited 0": [START],
        "exited 3": [START],
        "created": [START],
        "drift replace": [],
        "drift update": [],
        "drift update exited 0": [START],
        "recreate": [REPLACE],
    },
    "restarted": {
        "missing": [CREATE, START],
        "running in sync": [RESTART],
        "exited 0": [START],
        "exited 3": [START],
        "created": [START],
        "drift replace": [RESTART],
        "drift update": [RESTART],
        "drift update exited 0": [START],
        "recreate": [REPLACE],
    },
    "completed": {
        "missing": [CREATE, START, AWAIT_EXIT],
        "running in sync": [AWAIT_EXIT],
        "exited 0": [],
        "exited 3": [START, AWAIT_EXIT],
        "created": [START, AWAIT_EXIT],
        "drift replace": [AWAIT_EXIT],
        "drift update": [AWAIT_EXIT],
        "drift update exited 0": [],
        "recreate": [REPLACE, AWAIT_EXIT],
    },
}


@pytest.mark.parametrize("create", ["when-missing", "never"])
@pytest.mark.parametrize("state", sorted(EXPECTED_KEEPING))
@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_plan_replica_keeping_matrix(create: str, state: str, condition: str) -> None:
    current, recreate = CONDITIONS[condition]
    assert plan_replica(state, 1, NAME, current, recreate, create).actions == EXPECTED_KEEPING[state][condition]


@pytest.mark.parametrize("state", ["started", "restarted", "completed"])
@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_plan_replica_create_always_replaces_every_existing_replica(state: str, condition: str) -> None:
    current, recreate = CONDITIONS[condition]
    plan = plan_replica(state, 1, NAME, current, recreate, "always")
    made = [CREATE, START] if current is None else [REPLACE]
    assert plan.actions == made + ([AWAIT_EXIT] if state == "completed" else [])
    assert plan.changes
    if current is not None and not recreate:
        assert "create=always makes a fresh container every run" in plan.reasons


def test_keeping_lists_what_it_left_alone() -> None:
    current = observed("running", replace=["the spec changed", "cmd differs"], update=UPDATE_DRIFT)
    plan = plan_replica("started", 1, NAME, current, False, "when-missing")
    assert plan.actions == [] and not plan.changes
    assert plan.kept == ["the spec changed", "cmd differs", "resources or restart policy differ: Memory, MemorySwap"]
    assert plan_replica("started", 1, NAME, current, False).kept == []
    assert plan_replica("started", 1, NAME, current, True, "never").kept == []


def test_keeping_a_failed_job_starts_it_again() -> None:
    plan = plan_replica("completed", 1, NAME, observed("exited", 3), False, "when-missing")
    assert plan.actions == [START, AWAIT_EXIT]
    assert plan.reasons == ["the last run exited with code 3; create=when-missing keeps the container"]


@pytest.mark.parametrize("create", ["when-missing", "always", "never"])
@pytest.mark.parametrize("state", ["stopped", "absent"])
def test_create_has_no_effect_on_stopped_and_absent(create: str, state: str) -> None:
    current = {
        1: observed("running", replace=["the spec changed"]),
        2: observed("running", replica=2),
        4: observed("exited", replica=4),
    }
    assert plan_replicas(state, 3, NAME, current, create=create) == plan_replicas(state, 3, NAME, current)


def test_create_keeps_scaling() -> None:
    current = {n: observed("running", replace=["the spec changed"], replica=n) for n in (1, 2, 3)}
    plans, removals = plan_replicas("started", 2, NAME, current, create="when-missing")
    assert [p.actions for p in plans] == [[], []]
    assert [o.replica for o in removals] == [3]
    plans, removals = plan_replicas("started", 4, NAME, current, create="when-missing")
    assert [p.actions for p in plans] == [[], [], [], [CREATE, START]]
    assert removals == []


def test_missing_replicas() -> None:
    assert missing_replicas("started", 3, "never", {1, 3}) == [2]
    assert missing_replicas("completed", 2, "never", set()) == [1, 2]
    assert missing_replicas("restarted", 2, "never", {1, 2, 5}) == []
    assert missing_replicas("started", 0, "never", set()) == []
    for create in (None, "when-missing", "always"):
        assert missing_replicas("started", 3, create, set()) == []
    for state in ("stopped", "absent"):
        assert missing_replicas(state, 3, "never", set()) == []


def test_running_job_awaited_is_not_a_change() -> None:
    plan = plan_replica("completed", 1, NAME, observed("running"), False)
    assert plan.actions == [AWAIT_EXIT]
    assert not plan.changes


@pytest.mark.parametrize("status", ["restarting", "paused"])
def test_restarting_and_paused_count_as_running(status: str) -> None:
    current = observed(status)
    assert current.running
    assert plan_replica("started", 1, NAME, current, False).actions == []
    assert plan_replica("stopped", 1, NAME, current, False).actions == [STOP]
    assert plan_replica("restarted", 1, NAME, current, False).actions == [RESTART]


@pytest.mark.parametrize("status", ["created", "exited", "dead"])
def test_not_running_statuses(status: str) -> None:
    assert not observed(status).running


def test_reasons() -> None:
    assert plan_replica("started", 1, NAME, None, False).reasons == ["missing"]
    assert plan_replica("started", 1, NAME, observed("exited", 3), False).reasons == ["was exited"]
    assert plan_replica("completed", 1, NAME, observed("exited", 3), False).reasons == [
        "the last run exited with code 3"
    ]
    assert plan_replica("completed", 1, NAME, observed("dead", 137), False).reasons == [
        "the last run exited with code 137"
    ]
    drift = observed("running", replace=["cmd differs", "env differs"])
    assert plan_replica("started", 1, NAME, drift, True).reasons == [
        "cmd differs",
        "env differs",
        "recreate requested",
    ]
    assert plan_replica("started", 1, NAME, observed("running"), True).reasons == ["recreate requested"]
    update = plan_replica(
        "started",
        1,
        NAME,
        observed("running", update={"RestartPolicy": {}, "Memory": 1}),
        False,
    )
    assert update.reasons == ["resources or restart policy changed: Memory, RestartPolicy"]


def test_failed_job_with_drift_reports_drift_reason_only() -> None:
    plan = plan_replica("completed", 1, NAME, observed("exited", 2, replace=["the spec changed"]), False)
    assert plan.actions == [REPLACE, AWAIT_EXIT]
    assert plan.reasons == ["the spec changed"]


def test_replace_takes_precedence_over_update() -> None:
    current = observed("running", replace=["the spec changed"], update=UPDATE_DRIFT)
    assert plan_replica("started", 1, NAME, current, False).actions == [REPLACE]


# --- plan_replicas -------------------------------------------------------------------------------


def test_plan_replicas_scale_up_and_in_sync() -> None:
    plans, removals = plan_replicas("started", 3, NAME, {1: observed("running")})
    assert [(p.replica, p.name, p.actions) for p in plans] == [
        (1, "shop.web", []),
        (2, "shop.web.2", [CREATE, START]),
        (3, "shop.web.3", [CREATE, START]),
    ]
    assert removals == []


def test_plan_replicas_scale_down_removes_highest_first() -> None:
    current = {n: observed("running", replica=n) for n in (1, 2, 3, 4, 5)}
    plans, removals = plan_replicas("started", 2, NAME, current)
    assert [p.replica for p in plans] == [1, 2]
    assert all(p.actions == [] for p in plans)
    assert [o.replica for o in removals] == [5, 4, 3]
    assert [o.name for o in removals] == ["shop.web.5", "shop.web.4", "shop.web.3"]


def test_plan_replicas_removal_order_independent_of_dict_order() -> None:
    current = {n: observed("exited", replica=n) for n in (3, 10, 2, 7)}
    _plans, removals = plan_replicas("stopped", 1, NAME, current)
    assert [o.replica for o in removals] == [10, 7, 3, 2]


@pytest.mark.parametrize("state", ["started", "stopped", "restarted", "completed", "absent"])
def test_scaling_zero_removes_every_replica(state: str) -> None:
    current = {n: observed("running", replica=n) for n in (1, 2, 3)}
    plans, removals = plan_replicas(state, 0, NAME, current)
    assert plans == []
    assert [o.replica for o in removals] == [3, 2, 1]


def test_absent_removes_everything_regardless_of_scaling() -> None:
    current = {1: observed("running"), 2: observed("exited", replica=2)}
    plans, removals = plan_replicas("absent", 3, NAME, current)
    assert plans == []
    assert [o.replica for o in removals] == [2, 1]


def test_absent_with_nothing() -> None:
    assert plan_replicas("absent", 1, NAME, {}) == ([], [])


def test_plan_replicas_recreate_and_gap() -> None:
    current = {1: observed("running"), 3: observed("running", replica=3)}
    plans, removals = plan_replicas("started", 3, NAME, current, recreate=True)
    assert [p.actions for p in plans] == [[REPLACE], [CREATE, START], [REPLACE]]
    assert plans[1].current is None and plans[2].current is current[3]
    assert removals == []


def test_plan_replicas_completed_mixed_exit_codes() -> None:
    current = {1: observed("exited", 0), 2: observed("exited", 1, replica=2)}
    plans, _removals = plan_replicas("completed", 2, "web", current)
    assert [p.actions for p in plans] == [[], [REPLACE, AWAIT_EXIT]]
    assert [p.name for p in plans] == ["web", "web.2"]


# --- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, base, expected",
    [
        ("web", "web", (1, "")),
        ("/web", "web", (1, "")),
        ("web.2", "web", (2, "")),
        ("web.9", "web", (9, "")),
        ("web.10", "web", (10, "")),
        ("web.123", "web", (123, "")),
        ("web.next", "web", (1, ".next")),
        ("web.prev", "web", (1, ".prev")),
        ("web.2.next", "web", (2, ".next")),
        ("/web.12.prev", "web", (12, ".prev")),
        ("shop.web", "shop.web", (1, "")),
        ("shop.web.2", "shop.web", (2, "")),
        ("shop.web.3.next", "shop.web", (3, ".next")),
        ("shop.web.prev", "shop.web", (1, ".prev")),
        ("my-proj.api_v2.4", "my-proj.api_v2", (4, "")),
    ],
)
def test_split_name(name: str, base: str, expected: tuple) -> None:
    assert split_name(name, base) == expected


@pytest.mark.parametrize(
    "name, base",
    [
        ("web.1", "web"),  # replica 1 has no number
        ("web.0", "web"),
        ("web.02", "web"),
        ("webx", "web"),
        ("web-2", "web"),
        ("web.2x", "web"),
        ("web.next.next", "web"),
        ("web.prev.2", "web"),
        ("web.old", "web"),
        ("web.", "web"),
        ("xweb", "web"),
        ("shop.web", "web"),  # another project's replica
        ("web", "shop.web"),
        ("shopxweb", "shop.web"),  # the dot in the base is literal
        ("shop.web.2", "shop.we"),
    ],
)
def test_split_name_non_matching(name: str, base: str) -> None:
    assert split_name(name, base) is None


def test_replica_name() -> None:
    assert replica_name("web", 1) == "web"
    assert replica_name("web", 2) == "web.2"
    assert replica_name("shop.web", 11) == "shop.web.11"
    for number in (1, 2, 17):
        assert split_name(replica_name("shop.web", number), "shop.web") == (number, "")


def test_summarize() -> None:
    plan = plan_replica("started", 2, "web.2", None, False)
    assert summarize(plan) == "web.2: create, start (missing)"
    assert summarize(ReplicaPlan(1, "web")) == "web: "
    assert summarize(ReplicaPlan(1, "web", actions=[REMOVE])) == "web: remove"


def test_observed_from_inspect() -> None:
    drift = Drift(replace=["x"])
    result = observed_from_inspect(
        2,
        {
            "Id": "abc",
            "Name": "/shop.web.2",
            "State": {"Status": "exited", "ExitCode": 137},
        },
        drift,
    )
    assert result == Observed(2, "shop.web.2", "abc", "exited", 137, drift)
    bare = observed_from_inspect(1, {"Id": "def"}, Drift())
    assert (bare.name, bare.status, bare.exit_code) == ("", "unknown", 0)
    assert not bare.running
    nulls = observed_from_inspect(
        1,
        {"Id": "x", "Name": "/w", "State": {"Status": "running", "ExitCode": None}},
        Drift(),
    )
    assert nulls.exit_code == 0 and nulls.running


# --- stopped without a spec ------------------------------------------------------------------------


def test_stop_existing_stops_what_runs_and_makes_nothing() -> None:
    from ansible_collections.polytope.core.plugins.module_utils._docker.replicas import plan_stop_existing

    current = {
        3: observed("running", replica=3, replace=["the spec changed"]),
        1: observed("running", update=UPDATE_DRIFT),
        2: observed("exited", 3, replica=2),
    }
    plans = plan_stop_existing(NAME, current)
    assert [(p.replica, p.name, p.actions) for p in plans] == [
        (1, "shop.web", [STOP]),
        (2, "shop.web.2", []),
        (3, "shop.web.3", [STOP]),
    ]
    assert [p.current for p in plans] == [current[1], current[2], current[3]]
    assert plan_stop_existing(NAME, {}) == []
