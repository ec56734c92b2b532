# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real polytope.yml files of ../shared/corpus: every template and tool expands, or fails naming a
defect of the file itself; the carbonbridge project expands fully.  Skipped where ../shared is absent."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Optional

import pytest

from ansible_collections.polytope.core.plugins.module_utils._language import (
    TemplateError,
    describe_file,
    expand,
    masked,
)


def identities(plan: dict) -> list[tuple]:
    return [(entry["step"], entry["id"], entry["kind"], entry["args"]["project"]) for entry in plan["steps"]]


def step(plan: dict, step_id: str) -> dict:
    return next(entry for entry in plan["steps"] if entry["step"] == step_id)


def shared_dir() -> Optional[Path]:
    """``../shared`` beside the repository root, or POLYTOPE_SHARED.

    ansible-test runs a copy of the checkout deeper in the tree (build/test/ansible_collections/...),
    so every ancestor's ``shared`` is tried, nearest first.
    """
    configured = os.environ.get("POLYTOPE_SHARED")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    for ancestor in Path(__file__).resolve().parents:
        candidate = ancestor / "shared"
        if (candidate / "corpus" / "polytope-yml").is_dir():
            return candidate
    return None


def corpus_files() -> list[Path]:
    shared = shared_dir()
    if shared is None:
        return []
    return sorted((shared / "corpus" / "polytope-yml").glob("*.yml"))


def corpus_cases() -> list[Any]:
    cases = []
    for path in corpus_files():
        text = path.read_text(encoding="utf-8")
        summary = describe_file(text, path.name)
        names = summary["templates"] + summary["tools"]
        if not summary["templates"] and not summary["tools"]:
            # Module-only files: plan each module through a one-step template added here.
            names = [f"module:{module}" for module in summary["modules"]]
        for name in names:
            cases.append(pytest.param(path, name, id=f"{path.stem}:{name}"))
    return cases


# What a clear corpus error names: something missing or unsupported.
CLEAR_REASONS = re.compile(
    "|".join(
        [
            r"Polytope standard library module not available",
            r"(Clojure|JavaScript) code:",
            r"include [^:]+: .* does not exist",
            r"no (value|secret) '[^']+' was given",
            r"names undeclared param '[^']+'",
            r"has no param '[^']+'",
            r"unknown module '[^']+'",
            r"belongs to another project",
            r"requires it .* and it is not given",
            r"expected .*, got",
            r"cannot build its arguments",
        ]
    )
)


def corpus_case_text(path: Path, name: str) -> tuple[str, str]:
    """The file's text and the template to expand; a `module:` case gets a one-step template added."""
    text = path.read_text(encoding="utf-8")
    if not name.startswith("module:"):
        return text, name
    module = name.split(":", 1)[1]
    return text + f"\ntemplates:\n  - id: corpus-check\n    run: [{json.dumps(module)}]\n", "corpus-check"


def corpus_inputs(text: str) -> tuple[dict, dict]:
    names = re.findall(r"pt[.-](value|secret)\s+([A-Za-z0-9_.-]+)", text)
    values = {name: "3000" for kind, name in names if kind == "value"}
    secrets = {name: f"SENTINEL-{name}-4d1b" for kind, name in names if kind == "secret"}
    return values, secrets


@pytest.mark.skipif(not corpus_files(), reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
@pytest.mark.parametrize(("path", "name"), corpus_cases())
def test_corpus_template_plans_or_fails_clearly(path: Path, name: str) -> None:
    text, name = corpus_case_text(path, name)
    values, secrets = corpus_inputs(text)
    sentinels = list(secrets.values())
    try:
        plan = expand(text, path.name, name, values=values, secrets=secrets)
    except TemplateError as exc:
        message = str(exc)
        assert message.startswith(f"{path.name}: ")
        assert exc.problems
        for problem in exc.problems:
            assert CLEAR_REASONS.search(problem), problem
        assert not any(sentinel in message for sentinel in sentinels)
        return
    shown = json.dumps(masked(plan))
    assert not any(sentinel in shown for sentinel in sentinels)
    assert plan["steps"]
    for entry in plan["steps"]:
        assert entry["module"][-1] in ("polytope/container", "polytope/build-image")
        assert entry["args"]["project"] == plan["project"]


@pytest.mark.skipif(not corpus_files(), reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
@pytest.mark.parametrize(("path", "name"), corpus_cases())
def test_corpus_without_values_names_what_is_missing(path: Path, name: str) -> None:
    """With no values and no secrets, the errors are still clear and nothing else is raised."""
    text, name = corpus_case_text(path, name)
    try:
        expand(text, path.name, name)
    except TemplateError as exc:
        for problem in exc.problems:
            assert CLEAR_REASONS.search(problem), problem


@pytest.mark.skipif(not corpus_files(), reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
def test_corpus_known_outcomes() -> None:
    """Pin a few outcomes the corpus MANIFEST documents, so a regression shows up by name."""
    by_name = {path.name: path.read_text(encoding="utf-8") for path in corpus_files()}
    orange = by_name.get("orangem4__webapp-template-test.yml")
    if orange is not None:
        plan = expand(orange, "orangem4", "ci-review")
        assert [entry["step"] for entry in plan["steps"]] == ["lint", "test", "app", "postgres"]
        assert step(plan, "lint")["state"] == "completed"
    vladimir = by_name.get("VladimirB3__team-hackathon2911.yml")
    if vladimir is not None:
        with pytest.raises(TemplateError) as caught:
            expand(vladimir, "vladimir", "stack-graphql-vm")
        problems = "\n".join(caught.value.problems)
        assert "unknown module 'web-app-graphql'" in problems
        assert "undeclared param 'curity-base-rest-url'" in problems


@pytest.mark.skipif(not corpus_files(), reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
@pytest.mark.parametrize(("path", "name"), corpus_cases())
def test_corpus_teardown_needs_no_values(path: Path, name: str) -> None:
    """Teardown of every corpus template: a plan, or clear errors none of which is a missing value or secret."""
    text, name = corpus_case_text(path, name)
    values, secrets = corpus_inputs(text)
    try:
        plan = expand(text, path.name, name, teardown=True)
    except TemplateError as exc:
        for problem in exc.problems:
            assert CLEAR_REASONS.search(problem) or "the teardown needs" in problem, problem
            assert not re.search(r"no (value|secret) '[^']+' was given", problem), problem
        return
    json.dumps(plan)
    for entry in plan["steps"]:
        assert entry["args"]["project"] == plan["project"]
    # the same identities as a full expansion, when that one succeeds
    try:
        full = expand(text, path.name, name, values=values, secrets=secrets)
    except TemplateError:
        return
    assert identities(plan) == identities(full)


# Per template or tool of the corpus: None when it expands, else a defect of the file itself that the
# error must name.  A new corpus file, or a template that starts or stops expanding, fails here by name.
EXPECTED = {
    # web-app passes image to its base module web-app-base, which does not declare it
    "Cillers-com__create-cillers-system:stack": "module 'web-app-base' has no param 'image'",
    "VladimirB3__team-hackathon2911:stack-rest-local": None,
    "VladimirB3__team-hackathon2911:stack-graphql-local": None,
    # the file never defines web-app-graphql, and passes a param curity-base-rest-url it does not declare
    "VladimirB3__team-hackathon2911:stack-graphql-vm": "unknown module 'web-app-graphql': not defined in this file",
    "VladimirB3__team-hackathon2911:stack-local-low-memory": None,
    "VladimirB3__team-hackathon2911:stack-local-without-redpanda": None,
    "aeriksson__hackaping-template-employee-scheduling:stack": None,
    "doctorstal__kong-ai-gateway-hackathon:stack": None,
    "jachana__bluetext:stack": None,
    # the corpus holds the root file only; its included services/ directory is not in the collected set
    "jellevlieshout__carbonbridge:stack": "include services: ",
    "jellevlieshout__carbonbridge:prod": "include services: ",
    "jellevlieshout__carbonbridge:initialize_session": "include services: ",
    "orangem4__webapp-template-test:ci": None,
    "orangem4__webapp-template-test:stack": None,
    "orangem4__webapp-template-test:ci-review": None,
    "pederbl__bluetext-playground:stack": None,
    "potocpav__scrive-hackathon:stack": None,
    "potocpav__scrive-hackathon:stack-fast": None,
    "potocpav__scrive-hackathon:stack-light": None,
    "shrimpsizemoose__evaporating-images-polytope:stack": None,
    "skiarn__bearingsweeper:bearingsweeper": None,
}


@pytest.mark.skipif(not corpus_files(), reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
def test_every_corpus_template_is_pinned() -> None:
    cases = {case.id for case in corpus_cases() if not case.id.split(":", 1)[1].startswith("module:")}
    assert cases == set(EXPECTED)


@pytest.mark.skipif(not corpus_files(), reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
@pytest.mark.parametrize(("path", "name"), [case for case in corpus_cases() if case.id in EXPECTED])
def test_corpus_template_expands_or_names_its_defect(path: Path, name: str) -> None:
    text = path.read_text(encoding="utf-8")
    values, secrets = corpus_inputs(text)
    expected = EXPECTED[f"{path.stem}:{name}"]
    if expected is None:
        plan = expand(text, str(path), name, values=values, secrets=secrets)
        assert plan["steps"], "a plan with no steps"
        for entry in plan["steps"]:
            assert entry["module"][-1] in ("polytope/container", "polytope/build-image")
        shown = json.dumps(masked(plan))
        assert not any(secret in shown for secret in secrets.values())
        return
    with pytest.raises(TemplateError) as caught:
        expand(text, str(path), name, values=values, secrets=secrets)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def carbonbridge_dir() -> Optional[Path]:
    shared = shared_dir()
    directory = shared / "corpus" / "polytope-projects" / "carbonbridge" if shared else None
    return directory if directory is not None and (directory / "polytope.yml").is_file() else None


def carbonbridge_inputs() -> tuple[dict, dict]:
    directory = carbonbridge_dir()
    assert directory is not None
    text = "".join(path.read_text(encoding="utf-8") for path in sorted(directory.rglob("polytope.yml")))
    names = re.findall(r"pt[./-](value|secret)[\s(\"']+([A-Za-z0-9_.-]+)", text)
    values = {name: f"value-of-{name}" for kind, name in names if kind == "value"}
    secrets = {name: f"SENTINEL-{name}-77" for kind, name in names if kind == "secret"}
    return values, secrets


@pytest.mark.skipif(carbonbridge_dir() is None, reason="the shared corpus's carbonbridge project is not available")
@pytest.mark.parametrize("tool", ["stack", "prod"])
def test_carbonbridge_expands_through_its_includes(tool: str) -> None:
    directory = carbonbridge_dir()
    assert directory is not None
    values, secrets = carbonbridge_inputs()
    root = directory / "polytope.yml"
    plan = expand(root.read_text(encoding="utf-8"), str(root), tool, values=values, secrets=secrets)
    assert [(entry["step"], entry["id"], entry["state"]) for entry in plan["steps"]] == [
        ("api", "api", "started"),
        ("config-manager", "config-manager", "started"),
        ("couchbase", "couchbase", "started"),
        ("curity", "curity-idsvr", "started"),
        ("postgres", "postgres", "started"),
        ("pgweb", "pgweb", "started"),
        ("web-app", "web-app", "started"),
        ("kong", "kong", "started"),
        ("tigerbeetle", "tigerbeetle", "started"),
    ]
    api = step(plan, "api")["args"]
    assert step(plan, "api")["module"] == ["polytope/python", "polytope/container"]
    assert api["image"] == "astral/uv:python3.13-bookworm-slim"
    assert api["unconfined"] is True
    # the JavaScript services ternary, with the port param's default
    assert api["services"] == [{"id": "api", "ports": [{"protocol": "http", "port": 3030, "expose_as": 3030}]}]
    # code mounted from the api directory (rebased from its own file), the project's repo by pt/module-project-ref
    mounts = {mount["path"]: mount["source"] for mount in api["mounts"]}
    assert mounts["/app"] == {"type": "repo", "path": "services/api"}
    assert mounts["/clients/python"] == {"type": "repo", "path": "/clients/python"}
    env = {entry["name"]: entry for entry in api["env"]}
    assert env["COUCHBASE_PASSWORD"]["value"] == secrets["couchbase-password"]
    assert env["COUCHBASE_PASSWORD"].get("secret") is True
    assert env["HTTP_PORT"]["value"] == 3030
    shown = json.dumps(masked(plan))
    assert not any(secret in shown for secret in secrets.values())
    tigerbeetle = step(plan, "tigerbeetle")["args"]
    assert tigerbeetle["unconfined"] is True
    kong = step(plan, "kong")
    assert kong["module"][0] == "polytope/kong!simple"


@pytest.mark.skipif(carbonbridge_dir() is None, reason="the shared corpus's carbonbridge project is not available")
def test_carbonbridge_tool_calling_a_tool_with_javascript() -> None:
    directory = carbonbridge_dir()
    assert directory is not None
    values, secrets = carbonbridge_inputs()
    root = directory / "polytope.yml"
    plan = expand(
        root.read_text(encoding="utf-8"),
        str(root),
        "api-add",
        params={"packages": "httpx, pydantic  rich"},
        values=values,
        secrets=secrets,
    )
    [entry] = plan["steps"]
    assert (entry["step"], entry["id"]) == ("api", "api-add")
    assert entry["args"]["cmd"] == "./bin/add-dependencies httpx pydantic rich"
    # api declares a create param but never passes it on: the container converges as usual
    assert "create" not in entry["args"]
    assert entry["args"]["restart"] == {"policy": "never"}
    # cmd is not ./bin/run, so the JavaScript ternary gives null: no services
    assert "services" not in entry["args"]
