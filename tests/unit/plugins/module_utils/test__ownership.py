# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership labels, shared by both backends."""

from __future__ import annotations

from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._ownership import (
    is_owned,
    owner_filters,
    owner_labels,
)
from ansible_collections.polytope.core.plugins.module_utils._spec import parse_spec


def spec_of(**params: Any) -> Any:
    return parse_spec({"image": "polytope-demo/httpd", "id": "web", **params})


def test_owned_by_labels() -> None:
    spec = spec_of(project="shop")
    assert is_owned(owner_labels(spec), spec)
    assert not is_owned({"polytope.managed-by": "polytope.core", "polytope.id": "web"}, spec)
    assert not is_owned(None, spec)


def test_owner_filters_select_by_the_same_labels() -> None:
    spec = spec_of(project="shop")
    assert owner_filters(spec) == {
        "label": ["polytope.managed-by=polytope.core", "polytope.project=shop", "polytope.id=web"]
    }
    assert owner_labels(spec_of())["polytope.project"] == ""
