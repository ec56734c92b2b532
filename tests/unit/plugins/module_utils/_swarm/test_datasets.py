# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dataset mounts on Swarm: every file of the version is a config; what Swarm cannot hold is named first."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.polytope.core.plugins.module_utils._storage.datasets import DatasetStore
from ansible_collections.polytope.core.plugins.module_utils._spec import SpecError, parse_spec
from ansible_collections.polytope.core.plugins.module_utils._swarm import fields, mapping
from ansible_collections.polytope.core.plugins.module_utils._swarm.datasets import dataset_configs
from ansible_collections.polytope.core.plugins.module_utils._swarm.mapping import MAX_CONFIG_SIZE, SwarmOptions
from ansible_collections.polytope.core.tests.unit.plugins.module_utils.archive_helpers import member, tar_bytes


def stored(store: DatasetStore, entries: list[tuple]) -> None:
    data = tar_bytes(entries, gz=True)

    def fill(out: Any) -> None:
        out.write(data)

    store.store("model", fill, {"outcome": "succeeded", "run": {}})


def spec_with(**source: Any) -> Any:
    mount = {"path": "/model", "source": {"type": "dataset", "dataset": "model", **source}}
    return parse_spec({"image": "busybox", "id": "web", "project": "shop", "mounts": [mount]})


def test_each_file_is_a_config_at_its_path_and_the_same_content_is_one_config(tmp_path: Any) -> None:
    store = DatasetStore(str(tmp_path))
    stored(
        store,
        [member("a.txt", data=b"one"), member("bin", "dir"), member("bin/run", data=b"one", mode=0o755)],
    )
    spec = spec_with()
    configs = dataset_configs(spec, store)
    assert [(config.path, config.data, config.mode) for config in configs] == [
        ("/model/a.txt", b"one", 0o444),
        ("/model/bin/run", b"one", 0o555),
    ]
    assert configs[0].name == configs[1].name == mapping.config_name("shop-web", b"one")
    options = SwarmOptions(dataset_configs=configs)
    fields.check(spec, options)
    refs = fields.service_spec(spec, options, "n")["TaskTemplate"]["ContainerSpec"]["Configs"]
    assert [ref["File"]["Name"] for ref in refs] == ["/model/a.txt", "/model/bin/run"]
    one = dataset_configs(spec_with(path="bin/run"), store)
    assert [(config.path, config.data) for config in one] == [("/model", b"one")]


def test_a_file_above_swarms_limit_a_link_or_a_missing_dataset_names_the_mount(tmp_path: Any) -> None:
    store = DatasetStore(str(tmp_path))
    with pytest.raises(SpecError, match=r"mounts\[0\]\.source"):
        dataset_configs(spec_with(), store)
    stored(store, [member("big", data=b"x" * (MAX_CONFIG_SIZE + 1)), member("link", "symlink", link="big")])
    with pytest.raises(SpecError) as raised:
        dataset_configs(spec_with(), store)
    message = str(raised.value)
    assert "mounts[0].source" in message
    assert f"the file /model/big of dataset model version 1 is {MAX_CONFIG_SIZE + 1} bytes" in message
    assert "500 KiB" in message and "/model/link of dataset model version 1 is not a regular file" in message


def test_a_string_above_the_limit_names_its_mount() -> None:
    spec = parse_spec(
        {
            "image": "busybox",
            "id": "web",
            "mounts": [{"path": "/etc/big", "source": {"type": "string", "data": "x" * (MAX_CONFIG_SIZE + 1)}}],
        }
    )
    with pytest.raises(SpecError, match=r"mounts\[0\]: the string at /etc/big is 512001 bytes, above Swarm's limit"):
        fields.check(spec, SwarmOptions())
