# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the polytope.core.template role: its services summary and failure reports (logic in module_utils)."""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.polytope.core.plugins.module_utils._template import (
    mask_secrets,
    service_lines,
    unopened_services,
)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mask_secrets": mask_secrets, "service_lines": service_lines, "unopened_services": unopened_services}
