# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""parse_spec: the module's options to a validated, frozen ContainerSpec, every problem reported at once.

Pure logic: no Ansible and no Docker objects, so every rule is unit-tested directly.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._spec.model import (
    ContainerSpec,
    ID_EXPECTED,
    Problems,
    check_id,
    is_valid_id,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.table import SPEC, SPEC_OPTIONS
from ansible_collections.polytope.core.plugins.module_utils._spec.values import (
    IMAGE_PATTERN,
    default_id_for_image,
    normalize_image,
)


def parse_spec(params: dict[str, Any]) -> ContainerSpec:
    """Validate every spec option and return the normalized spec, or raise SpecError listing all problems."""
    problems = Problems()
    state = params.get("state") or "started"
    image = params.get("image")
    if image is None:
        # Without an image, stopped stops the replicas that exist (by their identity) and makes nothing.
        if state not in ("absent", "stopped"):
            problems.add("image", "is required unless state is absent or stopped")
    elif not isinstance(image, str) or not IMAGE_PATTERN.fullmatch(image):
        problems.add(
            "image", f"{image!r} is not a valid image reference; expected [registry[:port]/]name[:tag][@digest]"
        )
        image = None
    else:
        image = normalize_image(image)

    container_id = params.get("id")
    if container_id is None:
        if isinstance(image, str):
            container_id = default_id_for_image(image)
            if not is_valid_id(container_id):
                problems.add(
                    "id",
                    f"the default taken from the image, {container_id!r}, is not a valid id; set id ({ID_EXPECTED})",
                )
                container_id = None
        elif state in ("absent", "stopped"):
            problems.add("id", "is required when image is not given")
    else:
        container_id = check_id(problems, "id", container_id)

    project = params.get("project")
    if project is not None:
        project = check_id(problems, "project", project)

    parsed = {
        option.name: option.parse(problems, params.get(option.name))
        for option in SPEC_OPTIONS
        if option.kind == SPEC and option.parse is not None
    }
    spec = ContainerSpec(
        image=image,
        id=container_id or "",
        project=project,
        secrets=tuple(variable.value for variable in parsed["env"] if variable.secret and variable.value),
        **parsed,
    )
    problems.raise_if_any()
    return spec
