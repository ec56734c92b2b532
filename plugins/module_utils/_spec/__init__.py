# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Polytope container spec: parsing and validation of the module's options into a frozen ContainerSpec.

model (the frozen data, limits, problems) <- values (images, sizes, durations, paths) <- scalars, services and
options (the parsers) <- table (each option declared once) <- parse (parse_spec). Callers import from this
package; every problem in the input is collected and reported at once, each naming its option.
"""

from __future__ import annotations

from ansible_collections.polytope.core.plugins.module_utils._spec.model import (
    ContainerSpec,
    DatasetSpec,
    EnvVar,
    HEALTHCHECK_FIELDS,
    HEALTHCHECK_TEST_KINDS,
    Healthcheck,
    ID_EXPECTED,
    ID_PATTERN,
    MAX_SCALING,
    MIN_HEALTHCHECK_DURATION,
    MIN_MEMORY,
    MOUNT_SOURCE_FIELDS,
    Mount,
    PROTOCOLS,
    PortSpec,
    Problems,
    RESTART_POLICIES,
    Resources,
    RestartPolicy,
    Service,
    SpecError,
    VOLUME_CREATE,
    VOLUME_SCOPES,
    check_id,
    is_valid_id,
    list_items,
    replica_name,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.values import (
    IMAGE_PATTERN,
    default_id_for_image,
    is_absolute_path,
    normalize_container_path,
    normalize_image,
    parse_data_size,
    parse_duration,
    parse_image_reference,
    parse_port_range,
    render_env_value,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.services import (
    parse_services,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.options import (
    MAX_INT64,
    parse_command,
    parse_datasets,
    parse_env,
    parse_healthcheck,
    parse_mounts,
    parse_resources,
    parse_restart,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.parse import (
    parse_spec,
)
from ansible_collections.polytope.core.plugins.module_utils._spec.table import (
    CARD_OPTIONS,
    SPEC_FIELDS,
    SPEC_OPTIONS,
    SpecOption,
    argument_spec,
    card_keys,
    card_params,
)

__all__ = [
    "CARD_OPTIONS",
    "ContainerSpec",
    "DatasetSpec",
    "EnvVar",
    "HEALTHCHECK_FIELDS",
    "HEALTHCHECK_TEST_KINDS",
    "Healthcheck",
    "ID_EXPECTED",
    "ID_PATTERN",
    "IMAGE_PATTERN",
    "MAX_INT64",
    "MAX_SCALING",
    "MIN_HEALTHCHECK_DURATION",
    "MIN_MEMORY",
    "MOUNT_SOURCE_FIELDS",
    "Mount",
    "PROTOCOLS",
    "PortSpec",
    "Problems",
    "RESTART_POLICIES",
    "Resources",
    "RestartPolicy",
    "SPEC_FIELDS",
    "SPEC_OPTIONS",
    "Service",
    "SpecError",
    "SpecOption",
    "VOLUME_CREATE",
    "VOLUME_SCOPES",
    "check_id",
    "argument_spec",
    "card_keys",
    "card_params",
    "default_id_for_image",
    "is_absolute_path",
    "is_valid_id",
    "list_items",
    "normalize_container_path",
    "normalize_image",
    "parse_command",
    "parse_data_size",
    "parse_datasets",
    "parse_duration",
    "parse_env",
    "parse_healthcheck",
    "parse_image_reference",
    "parse_mounts",
    "parse_port_range",
    "parse_resources",
    "parse_restart",
    "parse_services",
    "parse_spec",
    "render_env_value",
    "replica_name",
]
