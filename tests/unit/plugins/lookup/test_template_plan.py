# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The template_plan lookup: a thin layer over the expander (file, options, errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ansible")

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import lookup_loader  # noqa: E402

POLYTOPE_YML = """\
modules:
  - id: web
    module: polytope/container
    args:
      image: busybox
      env: [{name: TOKEN, value: "t-{pt.secret token}"}]
templates:
  - id: demo
    run: [web]
"""


PLUGIN_NAME = "polytope.core.template_plan"


@pytest.fixture
def lookup():
    plugin = lookup_loader.get(PLUGIN_NAME, loader=DataLoader(), templar=None)
    if plugin is not None:  # ansible-test units: the collection loader is installed
        return plugin
    # Plain pytest: load the class and register its documented options as the plugin loader would.
    import yaml
    from ansible import constants as C
    from ansible_collections.polytope.core.plugins.lookup import template_plan

    C.config.initialize_plugin_configuration_definitions(
        "lookup", PLUGIN_NAME, yaml.safe_load(template_plan.DOCUMENTATION)["options"]
    )
    plugin = template_plan.LookupModule(loader=DataLoader())
    plugin._load_name = PLUGIN_NAME
    return plugin


@pytest.fixture
def polytope_file(tmp_path: Path) -> Path:
    path = tmp_path / "polytope.yml"
    path.write_text(POLYTOPE_YML, encoding="utf-8")
    return path


def test_returns_the_plan(lookup, polytope_file: Path) -> None:
    [plan] = lookup.run([str(polytope_file)], {}, template="demo", secrets={"token": "abc"}, project="proj")
    assert plan["file"] == str(polytope_file)
    assert plan["project"] == "proj"
    assert plan["steps"][0]["args"]["env"] == [{"name": "TOKEN", "value": "t-abc", "secret": True}]


def test_masked_option(lookup, polytope_file: Path) -> None:
    [plan] = lookup.run([str(polytope_file)], {}, template="demo", secrets={"token": "abc"}, masked=True)
    assert plan["steps"][0]["args"]["env"][0]["value"] == "t-********"


def test_errors_are_lookup_errors_with_every_problem(lookup, polytope_file: Path) -> None:
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([str(polytope_file)], {}, template="demo", params={"nope": 1})
    message = str(caught.value)
    assert "template 'demo': 2 problems" in message
    assert "no secret 'token' was given" in message
    assert "has no param 'nope'" in message


def test_secret_values_stay_out_of_errors(lookup, polytope_file: Path) -> None:
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([str(polytope_file)], {}, template="demo", project="Bad Project!", secrets={"token": "abc-SENTINEL"})
    assert "abc-SENTINEL" not in str(caught.value)


def test_missing_file(lookup, tmp_path: Path) -> None:
    with pytest.raises(AnsibleLookupError, match="polytope.yml not found"):
        lookup.run([str(tmp_path / "absent.yml")], {}, template="demo")


def test_relative_path_falls_back_to_the_working_directory(
    lookup, polytope_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(polytope_file.parent)
    [plan] = lookup.run(["polytope.yml"], {}, template="demo", secrets={"token": "x"})
    assert plan["file"] == str(polytope_file)


def test_one_path_only(lookup, polytope_file: Path) -> None:
    with pytest.raises(AnsibleLookupError, match="exactly one"):
        lookup.run([str(polytope_file), str(polytope_file)], {}, template="demo")


def test_teardown_option_needs_no_secrets(lookup, polytope_file: Path) -> None:
    [plan] = lookup.run([str(polytope_file)], {}, template="demo", project="proj", teardown=True)
    assert plan["teardown"] is True
    [entry] = plan["steps"]
    assert (entry["args"]["project"], entry["id"], entry["kind"]) == ("proj", "web", "container")
    assert entry["missing"] == ["pt.secret token"]
    assert entry["args"]["env"][0]["value"] == "t-<not given: pt.secret token>"


def test_teardown_option_still_fails_on_structural_errors(lookup, polytope_file: Path) -> None:
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([str(polytope_file)], {}, template="nope", teardown=True)
    assert "unknown template or tool 'nope'" in str(caught.value)
