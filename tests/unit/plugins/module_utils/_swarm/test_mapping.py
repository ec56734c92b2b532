# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The normalised comparison of a desired and a stored service spec."""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._swarm import fields, mapping
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import SwarmOptions
from ansible_collections.polytope.core.tests.unit.plugins.module_utils._swarm.test_fields import spec_of

STORED: dict[str, Any] = {
    # What a 20.10 manager returns for a service this module created: defaults filled in, the empty parts gone.
    "Name": "itswarm-it-swarm-web",
    "Labels": {"polytope.id": "web", "polytope.managed-by": "polytope.core", "polytope.project": ""},
    "TaskTemplate": {
        "ContainerSpec": {
            "Image": "polytope-demo/httpd:latest",
            "Labels": {"polytope.id": "web", "polytope.managed-by": "polytope.core", "polytope.project": ""},
            "TTY": True,
            "OpenStdin": True,
            "StopGracePeriod": 10000000000,
            "DNSConfig": {},
            "Isolation": "default",
        },
        "Resources": {"Limits": {}, "Reservations": {}},
        "RestartPolicy": {"Condition": "none", "Delay": 5000000000, "MaxAttempts": 0},
        "Placement": {},
        "Networks": [{"Target": "net-id", "Aliases": ["web"]}],
        "ForceUpdate": 0,
        "Runtime": "container",
    },
    "Mode": {"Replicated": {"Replicas": 1}},
    "UpdateConfig": {
        "Parallelism": 1,
        "FailureAction": "rollback",
        "Monitor": 1000000000,
        "MaxFailureRatio": 0,
        "Order": "start-first",
    },
    "RollbackConfig": {
        "Parallelism": 1,
        "FailureAction": "pause",
        "Monitor": 1000000000,
        "MaxFailureRatio": 0,
        "Order": "start-first",
    },
    "EndpointSpec": {"Mode": "vip"},
}


def test_a_stored_spec_in_the_engines_form_is_in_sync() -> None:
    desired = fields.service_spec(spec_of(), SwarmOptions(), "net-id")
    stored = copy.deepcopy(STORED)
    stored["Name"] = desired["Name"]
    assert mapping.differences(desired, stored, compare_digest=True) == []


def test_differences_name_what_changed() -> None:
    stored = copy.deepcopy(STORED)
    stored["Name"] = "web"
    assert mapping.differences(fields.service_spec(spec_of(scaling=2), SwarmOptions(), "net-id"), stored, True) == [
        "Mode",
    ]
    changed = mapping.differences(fields.service_spec(spec_of(env={"A": "1"}), SwarmOptions(), "net-id"), stored, True)
    assert changed == ["ContainerSpec.Env"]
    # a healthcheck the desired spec no longer has is a difference too
    stored["TaskTemplate"]["ContainerSpec"]["Healthcheck"] = {"Test": ["NONE"]}
    assert mapping.differences(fields.service_spec(spec_of(), SwarmOptions(), "net-id"), stored, True) == [
        "ContainerSpec.Healthcheck"
    ]


def test_a_digest_counts_only_when_asked() -> None:
    stored = copy.deepcopy(STORED)
    stored["Name"] = "web"
    stored["TaskTemplate"]["ContainerSpec"]["Image"] = "polytope-demo/httpd:latest@sha256:" + "1" * 64
    desired = fields.service_spec(spec_of(), SwarmOptions(), "net-id")
    assert mapping.differences(desired, stored, compare_digest=False) == []
    assert mapping.differences(desired, stored, compare_digest=True) == ["ContainerSpec.Image"]
