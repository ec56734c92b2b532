# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading polytope.yml files: bounds on untrusted YAML, unique keys, and includes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ansible_collections.polytope.core.plugins.module_utils._language import TemplateError, expand, load_yaml12
from ansible_collections.polytope.core.plugins.module_utils._language.loading import (
    MAX_EXPANDED_NODES,
    MAX_NESTING,
    load_project,
)


def alias_bomb(levels: int, fan_out: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * fan_out) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan_out) + "]")
    return "\n".join(lines)


class TestBounds:
    def test_an_alias_bomb_is_refused_naming_the_file(self) -> None:
        text = alias_bomb(9) + "\nmodules: [{id: m, module: polytope/container, args: {image: busybox, cmd: *a8}}]\n"
        with pytest.raises(TemplateError) as caught:
            load_yaml12(text, "bomb.yml")
        assert str(caught.value).startswith("bomb.yml: reading the file: 1 problem")
        assert f"more than {MAX_EXPANDED_NODES} values once its aliases are expanded" in caught.value.problems[0]

    def test_aliases_below_the_bound_still_load(self) -> None:
        document = load_yaml12(alias_bomb(3) + "\nkept: *a2\n", "small.yml")
        assert len(document["kept"]) == 10 and document["kept"][0][0] == ["x"] * 10

    def test_deep_nesting_is_a_clear_error(self) -> None:
        with pytest.raises(TemplateError) as caught:
            load_yaml12("x: " + "[" * 50_000 + "]" * 50_000, "deep.yml")
        assert caught.value.file_name == "deep.yml"
        assert f"the limit is {MAX_NESTING}" in caught.value.problems[0]

    def test_nesting_past_the_bound_but_readable_is_refused_too(self) -> None:
        with pytest.raises(TemplateError) as caught:
            load_yaml12("x: " + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5), "deep.yml")
        assert "nested" in caught.value.problems[0]

    def test_duplicate_keys_name_the_key_and_both_lines(self) -> None:
        with pytest.raises(TemplateError) as caught:
            load_yaml12("modules:\n  - id: a\n    module: polytope/container\n    module: other\n", "dup.yml")
        assert caught.value.problems == ["invalid YAML at line 4, column 5: duplicate key 'module' (first at line 3)"]

    def test_merge_keys_are_not_duplicates(self) -> None:
        assert load_yaml12("a: &x {b: 1}\nc: {<<: *x, d: 2}\n", "merge.yml") == {"a": {"b": 1}, "c": {"b": 1, "d": 2}}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def plan_at(root: Path, name: str, **kwargs: object) -> dict:
    return expand(root.read_text(encoding="utf-8"), str(root), name, **kwargs)  # type: ignore[arg-type]


class TestIncludes:
    def test_directories_files_and_path_entries_share_one_namespace(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "polytope.yml",
            "include: [services, extra/more.yml, {path: third}]\ntemplates:\n  - {id: all, run: [api, more, {tool: third}]}\n",
        )
        write(tmp_path / "services" / "polytope.yml", "include: [api]\n")
        write(
            tmp_path / "services" / "api" / "polytope.yml",
            """\
            modules:
              - id: api
                module: polytope/container
                args:
                  image: busybox
                  mounts:
                    - {path: /app, source: {type: repo, path: .}}
                    - {path: /conf, source: {type: host, path: ./conf}}
                    - {path: /etc/x, source: {type: host, path: /etc/x}}
                    - {path: /clients, source: {type: repo, path: /clients}}
            """,
        )
        write(
            tmp_path / "extra" / "more.yml",
            "modules:\n  - {id: more, module: polytope/container, args: {image: busybox}}\n",
        )
        write(
            tmp_path / "third" / "polytope.yml",
            "tools:\n  third:\n    run: [{tool: polytope/container, args: {image: busybox, id: third}}]\n",
        )
        plan = plan_at(root, "all")
        assert [entry["step"] for entry in plan["steps"]] == ["api", "more", "third"]
        mounts = {mount["path"]: mount["source"] for mount in plan["steps"][0]["args"]["mounts"]}
        assert mounts == {
            "/app": {"type": "repo", "path": "services/api"},
            "/conf": {"type": "host", "path": "services/api/conf"},
            "/etc/x": {"type": "host", "path": "/etc/x"},
            "/clients": {"type": "repo", "path": "/clients"},
        }

    def test_the_including_file_wins_a_clash(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "polytope.yml",
            "include: [lib]\nmodules:\n  - {id: web, module: polytope/container, args: {image: mine}}\ntemplates:\n  - {id: tpl, run: [web]}\n",
        )
        write(
            tmp_path / "lib" / "polytope.yml",
            "modules:\n  - {id: web, module: polytope/container, args: {image: theirs}}\n",
        )
        assert plan_at(root, "tpl")["steps"][0]["args"]["image"] == "mine"

    def test_a_cycle_names_the_chain(self, tmp_path: Path) -> None:
        root = write(tmp_path / "polytope.yml", "include: [a]\ntemplates:\n  - {id: tpl, run: [polytope/container]}\n")
        write(tmp_path / "a" / "polytope.yml", "include: [../b]\n")
        write(tmp_path / "b" / "polytope.yml", "include: [../a]\n")
        with pytest.raises(TemplateError) as caught:
            plan_at(root, "tpl")
        assert (
            "include cycle: polytope.yml -> a/polytope.yml -> b/polytope.yml -> a/polytope.yml" in caught.value.problems
        )

    def test_a_missing_file_names_the_entry_and_the_includer(self, tmp_path: Path) -> None:
        root = write(tmp_path / "polytope.yml", "include: [lib]\n")
        write(tmp_path / "lib" / "polytope.yml", "include: [gone]\n")
        with pytest.raises(TemplateError) as caught:
            load_project(root.read_text(encoding="utf-8"), str(root))
        [problem] = caught.value.problems
        assert problem.startswith(f"{tmp_path / 'lib' / 'polytope.yml'} (included from ")
        assert f"include gone: {tmp_path / 'lib' / 'gone'} does not exist" in problem

    def test_a_repository_resolves_through_the_mapping(self, tmp_path: Path) -> None:
        checkout = tmp_path / "checkouts" / "shared-tools"
        write(
            checkout / "polytope.yml",
            "modules:\n  - {id: shared, module: polytope/container, args: {image: busybox, mounts: [{path: /s, source: {type: repo, path: ./scripts}}]}}\n",
        )
        root = write(
            tmp_path / "project" / "polytope.yml",
            "include: [gh:acme/shared-tools, {repo: 'gh:acme/shared-tools'}]\ntemplates:\n  - {id: tpl, run: [shared]}\n",
        )
        plan = plan_at(root, "tpl", repos={"gh:acme/shared-tools": str(checkout)})
        # a relative path in another repository is a path of its checkout
        assert plan["steps"][0]["args"]["mounts"] == [
            {"path": "/s", "source": {"type": "host", "path": str(checkout / "scripts")}}
        ]

    def test_an_unmapped_repository_names_it_and_the_variable(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "polytope.yml",
            "include: [gh:acme/shared-tools]\ntemplates:\n  - {id: tpl, run: [polytope/container]}\n",
        )
        with pytest.raises(TemplateError) as caught:
            plan_at(root, "tpl")
        assert (
            "repository gh:acme/shared-tools is not mapped to a local directory (give it in template_repos"
            in caught.value.problems[0]
        )

    def test_keys_that_describe_nothing_that_runs_are_ignored(self, tmp_path: Path) -> None:
        root = write(
            tmp_path / "polytope.yml",
            "instructions: be nice\nmcp: {only: [tpl]}\ntriggers: [{on: push}]\n"
            "tools:\n  tpl:\n    run: [{tool: polytope/container, args: {image: busybox, id: t1}}]\n",
        )
        project = load_project(root.read_text(encoding="utf-8"), str(root))
        assert project.ignored == ["instructions", "mcp", "triggers"]
        assert plan_at(root, "tpl")["steps"][0]["id"] == "t1"
