# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``orchestrator`` option every module of the polytope action group takes (documented in
plugins/doc_fragments/orchestrator.py), so that one ``module_defaults`` group entry sets it for all of them."""

from __future__ import annotations

from typing import Any

DOCKER = "docker"
SWARM = "swarm"

ORCHESTRATOR_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "orchestrator": {"type": "str", "default": DOCKER, "choices": [DOCKER, SWARM]},
}
