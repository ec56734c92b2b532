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
    MAX_SCALING,
    Problems,
    check_id,
    is_valid_id,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.values import (
    IMAGE_PATTERN,
    default_id_for_image,
    is_absolute_path,
    normalize_image,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.services import (
    parse_services,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.options import (
    parse_command,
    parse_datasets,
    parse_env,
    parse_healthcheck,
    parse_mounts,
    parse_resources,
    parse_restart,
)


def _bool(problems: Problems, option: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.add(option, f"expected a boolean, got {value!r}")
        return default
    return value


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

    workdir = params.get("workdir")
    if workdir is not None and not is_absolute_path(workdir):
        problems.add("workdir", f"expected an absolute path, got {workdir!r}")

    user = params.get("user")
    if user is not None:
        if (
            isinstance(user, bool)
            or not isinstance(user, (int, str))
            or (isinstance(user, int) and user < 0)
            or user == ""
        ):
            problems.add("user", f"expected a user name or a UID, got {user!r}")
            user = None
        else:
            user = str(user)

    scaling = params.get("scaling")
    if scaling is None:
        scaling = 1
    elif isinstance(scaling, bool) or not isinstance(scaling, int) or not 0 <= scaling <= MAX_SCALING:
        problems.add("scaling", f"expected a whole number from 0 to {MAX_SCALING}, got {scaling!r}")
        scaling = 1

    instance_type = params.get("instance_type")
    if instance_type is not None:
        instance_type = check_id(problems, "instance_type", instance_type)

    env = parse_env(problems, params.get("env"))
    spec = ContainerSpec(
        image=image,
        id=container_id or "",
        project=project,
        cmd=parse_command(problems, "cmd", params.get("cmd")),
        entrypoint=parse_command(problems, "entrypoint", params.get("entrypoint")),
        env=env,
        workdir=workdir if is_absolute_path(workdir) else None,
        no_stdin=_bool(problems, "no_stdin", params.get("no_stdin"), False),
        tty=_bool(problems, "tty", params.get("tty"), True),
        user=user,
        restart=parse_restart(problems, params.get("restart")),
        resources=parse_resources(problems, params.get("resources")),
        services=parse_services(problems, params.get("services")),
        mounts=parse_mounts(problems, params.get("mounts")),
        datasets=parse_datasets(problems, params.get("datasets")),
        scaling=scaling,
        update_image=_bool(problems, "update_image", params.get("update_image"), False),
        instance_type=instance_type,
        unconfined=_bool(problems, "unconfined", params.get("unconfined"), False),
        healthcheck=parse_healthcheck(problems, params.get("healthcheck")),
        secrets=tuple(variable.value for variable in env if variable.secret and variable.value),
    )
    problems.raise_if_any()
    return spec
