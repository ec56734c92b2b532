# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fuzz (property-based) tests of the template expander and the YAML 1.2 reader.

Random text, generated templates and mutations of the real corpus (../shared/corpus, skipped
where it is absent): ``load_yaml12`` and ``expand`` return a value or raise TemplateError naming
the file, never anything else; a planted secret never shows in an error or in a masked plan; each
case is bounded in time and in the size of its result.  The short profile runs with the unit
tests; ``make fuzz`` runs the long one (POLYTOPE_FUZZ=long).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

hypothesis = pytest.importorskip(
    "hypothesis", reason="hypothesis is not installed (pip install -r requirements-dev.txt)"
)

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ansible_collections.polytope.core.plugins.module_utils._language import (
    TemplateError,
    describe_file,
    expand,
    load_yaml12,
    masked,
)

_COMMON = {
    "deadline": 5000,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    # no explain phase: it reruns a failing case hundreds of times
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("POLYTOPE_FUZZ", "ci"))
LONG = os.environ.get("POLYTOPE_FUZZ") == "long"

SENTINEL = "SENTINEL-fuzz-secret-5e1a"
SECONDS = 10.0
HAS_JS = importlib.util.find_spec("py_mini_racer") is not None


def shared_dir() -> Optional[Path]:
    """``../shared`` beside the checkout (any ancestor's, nearest first), or POLYTOPE_SHARED."""
    configured = os.environ.get("POLYTOPE_SHARED")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    for ancestor in Path(__file__).resolve().parents:
        if (ancestor / "shared" / "corpus" / "polytope-yml").is_dir():
            return ancestor / "shared"
    return None


SHARED = shared_dir()
CORPUS = sorted((SHARED / "corpus" / "polytope-yml").glob("*.yml")) if SHARED else []
CARBONBRIDGE = SHARED / "corpus" / "polytope-projects" / "carbonbridge" if SHARED else None
if CARBONBRIDGE is not None and not (CARBONBRIDGE / "polytope.yml").is_file():
    CARBONBRIDGE = None
needs_corpus = pytest.mark.skipif(
    not CORPUS, reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available"
)
needs_carbonbridge = pytest.mark.skipif(
    CARBONBRIDGE is None, reason="the shared corpus's carbonbridge project (../shared) is not available"
)


def corpus_inputs(text: str) -> tuple[dict, dict]:
    """A value for every ``pt.value`` and a sentinel secret for every ``pt.secret`` the text names."""
    names = re.findall(r"pt[./-](value|secret)[\s(\"']+([A-Za-z0-9_.-]+)", text)
    values = {name: "3000" for kind, name in names if kind == "value"}
    secrets = {name: f"{SENTINEL}-{name}" for kind, name in names if kind == "secret"}
    secrets["token"] = SENTINEL
    values["region"] = "eu-north-1"
    return values, secrets


def corpus_cases() -> list[tuple[str, str, str]]:
    """(file name, text, template or tool) of every corpus file; module-only files get a template."""
    cases = []
    for path in CORPUS:
        text = path.read_text(encoding="utf-8")
        summary = describe_file(text, path.name)
        names = summary["templates"] + summary["tools"]
        if not names and summary["modules"]:
            text += f"\ntemplates:\n  - id: corpus-check\n    run: [{json.dumps(summary['modules'][0])}]\n"
            names = ["corpus-check"]
        cases.extend((str(path), text, name) for name in names)
    return cases


CASES = corpus_cases()

# Tokens the mutations insert: YAML structure, references, code strings (with the secret) and odd scalars.
TOKENS = [
    "pt.secret token",
    "{pt.secret token}",
    "x-{pt.secret token}-y",
    "pt.value region",
    "{pt.value missing}",
    "pt.param id",
    '#pt-clj (pt/secret "token")',
    '#pt-clj (str "x" (pt/secret "token"))',
    '#pt-clj (throw (ex-info (pt/secret "token") {}))',
    '#pt-clj (pt/fail "boom " (pt/secret "token"))',
    "#pt-clj (loop [] (recur))",
    "#pt-clj (range)",
    "#pt-clj ((",
    "#pt-py 1",
    "&a [1]",
    "*a",
    "*nope",
    "null",
    "[]",
    "{}",
    "- ",
    ": ",
    ":",
    "'",
    '"',
    "\t",
    "#",
    "!!str",
    "!custom",
    "0x1F",
    "0o17",
    "1e999",
    "-.inf",
    "~",
    "  ",
    "\n",
    "\n  - ",
    "id: dup",
    "module: polytope/container",
    "run: [x]",
    "include: [no-such-dir]",
    "\ufeff",
]
if HAS_JS:
    TOKENS += ['#pt-js pt.secret("token")', "#pt-js throw new Error(pt.secret('token'))", "#pt-js ("]

mutation = st.tuples(
    st.sampled_from(["delete", "duplicate", "insert", "replace-value", "swap", "truncate", "drop-char"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)),
)
mutations = st.lists(mutation, min_size=1, max_size=4)


def mutate(text: str, steps: list[tuple[str, int, int, str]]) -> str:
    """``text`` after each mutation (kind, position, other position, token), line-wise."""
    for kind, first, second, token in steps:
        lines = text.splitlines(keepends=True) or [""]
        index, other = first % len(lines), second % len(lines)
        line = lines[index]
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(other, line)
        elif kind == "insert":
            column = second % (len(line) + 1)
            lines[index] = line[:column] + token + line[column:]
        elif kind == "replace-value":
            head, colon, _tail = line.partition(": ")
            lines[index] = f"{head}{colon or ': '}{token}\n"
        elif kind == "swap":
            lines[index], lines[other] = lines[other], lines[index]
        elif kind == "truncate":
            text = "".join(lines)
            text = text[: first % (len(text) + 1)]
            continue
        elif kind == "drop-char" and line:
            column = second % len(line)
            lines[index] = line[:column] + line[column + 1 :]
        text = "".join(lines)
    return text


# The bug this suite found: a character YAML does not allow (a control character such as \x1f, \x00,
# \ufffe) escapes load_yaml12 (and expand, describe_file) as yaml.reader.ReaderError, a traceback
# instead of a TemplateError naming the file: the loader is built, which checks the text, before the
# `try` that turns YAMLError into TemplateError (loading.py, load_yaml12).
# Inputs the fuzzer once found raising yaml.reader.ReaderError instead of a TemplateError.
@pytest.mark.parametrize("text", ["\x1f", "a: \x00\n", "\ufffe"])
def test_a_non_printable_character_is_a_template_error(text: str) -> None:
    check_load(text)


def test_a_non_printable_character_in_expand_is_a_template_error() -> None:
    check_expand("templates: []\n# \x1f\n", "f.yml", "t")


def assert_no_secret(shown: str, secrets: dict) -> None:
    for secret in secrets.values():
        assert secret not in shown, "a secret in the output"


def check_expand(text: str, file_name: str, template: Any, **kwargs: Any) -> Optional[dict]:
    """The properties of one ``expand`` call: a plan, or a TemplateError naming the file; no secret shown."""
    secrets = kwargs.get("secrets") or {}
    start = time.monotonic()
    try:
        plan = expand(text, file_name, template, **kwargs)
    except TemplateError as exc:
        message = str(exc)
        assert message.startswith(f"{exc.file_name}: "), message[:200]
        assert exc.file_name, "an error that names no file"
        assert exc.subject, "an error that names no template or section"
        assert exc.problems and all(isinstance(problem, str) and problem.strip() for problem in exc.problems)
        assert_no_secret(message, secrets)
        assert len(message) < 100 * len(text) + 100_000
        plan = None
    else:
        assert isinstance(plan, dict) and isinstance(plan.get("steps"), list)
        shown = json.dumps(masked(plan))
        assert_no_secret(shown, secrets)
        assert len(shown) < 200 * len(text) + 1_000_000, "a plan out of proportion to its file"
    assert time.monotonic() - start < SECONDS
    return plan


# --- load_yaml12 ---------------------------------------------------------------------------------

yaml_text = st.lists(st.sampled_from(list("ab01 :-[]{},'\"&*!#|>?%@`\n\t.~\\") + TOKENS), max_size=40).map("".join)


def check_load(text: str) -> None:
    start = time.monotonic()
    try:
        load_yaml12(text, "fuzz.yml")
    except TemplateError as exc:
        assert str(exc).startswith("fuzz.yml: reading the file: "), str(exc)[:200]
        assert exc.problems
    assert time.monotonic() - start < SECONDS


@given(yaml_text)
def test_load_yaml12_random_text(text: str) -> None:
    check_load(text)


@settings(max_examples=200 if LONG else 40)
@given(st.integers(1, 1200), st.sampled_from(["[", "{a: ", "- ", "a:\n  "]))
def test_load_yaml12_deep_nesting(depth: int, opener: str) -> None:
    check_load(opener * depth)


@given(st.integers(1, 12), st.integers(2, 12))
def test_load_yaml12_alias_bombs(levels: int, width: int) -> None:
    lines = ["a0: &a0 [x]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    check_load("\n".join(lines) + "\n")


@needs_corpus
@given(st.sampled_from(CORPUS or [Path("none")]), mutations)
def test_load_yaml12_mutated_corpus(path: Path, steps: list) -> None:
    check_load(mutate(path.read_text(encoding="utf-8"), steps))


# --- expand ---------------------------------------------------------------------------------------


@needs_corpus
@settings(max_examples=400 if LONG else 20)
@given(st.sampled_from(CASES or [("none", "", "none")]), mutations, st.booleans())
def test_expand_mutated_corpus(case: tuple[str, str, str], steps: list, teardown: bool) -> None:
    file_name, text, template = case
    text = mutate(text, steps)
    values, secrets = corpus_inputs(text)
    check_expand(text, file_name, template, values=values, secrets=secrets, teardown=teardown)


@needs_corpus
@settings(max_examples=200 if LONG else 10)
@given(st.sampled_from(CASES or [("none", "", "none")]), st.sampled_from(["values", "secrets", "neither"]))
def test_expand_corpus_with_inputs_missing(case: tuple[str, str, str], dropped: str) -> None:
    file_name, text, template = case
    values, secrets = corpus_inputs(text)
    if dropped in ("values", "neither"):
        values = {}
    if dropped in ("secrets", "neither"):
        secrets = {"token": SENTINEL}
    check_expand(text, file_name, template, values=values, secrets=secrets)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
        st.sampled_from(TOKENS[:12]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["name", "value", "secret", "id", "x"]), children, max_size=3),
    ),
    max_leaves=12,
)
ARG_NAMES = [
    "image",
    "id",
    "cmd",
    "env",
    "restart",
    "services",
    "mounts",
    "user",
    "workdir",
    "scaling",
    "no-stdin",
    "bogus",
]


@given(
    st.dictionaries(st.sampled_from(ARG_NAMES), json_values, max_size=5),
    st.lists(st.sampled_from(TOKENS[:12]), max_size=3),
    st.booleans(),
)
def test_expand_generated_container(args: dict, env_values: list, strict: bool) -> None:
    """A one-module file with random args and secret-carrying env entries."""
    args.setdefault("image", "busybox")
    args["env"] = [{"name": f"V{index}", "value": value} for index, value in enumerate(env_values)] + (
        args["env"] if isinstance(args.get("env"), list) else []
    )
    text = (
        "modules:\n  - id: app\n    module: polytope/container\n"
        f"    args: {json.dumps(args)}\n"
        "templates:\n  - id: tpl\n    run: [app]\n"
    )
    secrets = {"token": SENTINEL}
    check_expand(text, "gen/polytope.yml", "tpl", values={"region": "eu"}, secrets=secrets, strict=strict)


@given(
    st.one_of(st.none(), json_values),
    st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
)
def test_expand_odd_arguments(template: Any, params: Any) -> None:
    """Odd template names and params are named errors, never a traceback."""
    text = "templates:\n  - id: tpl\n    run: [{module: polytope/container, args: {image: busybox}}]\n"
    try:
        check_expand(text, "odd.yml", template, params=params, secrets={"token": SENTINEL})
    except TypeError as exc:  # pragma: no cover - reported as a failure below
        pytest.fail(f"expand({template!r}, params={params!r}) raised TypeError: {exc}")


# --- carbonbridge: a project with includes ------------------------------------------------------


@pytest.fixture(scope="module")
def carbonbridge_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if CARBONBRIDGE is None:
        pytest.skip("the shared corpus's carbonbridge project (../shared) is not available")
    target = tmp_path_factory.mktemp("fuzz") / "carbonbridge"
    shutil.copytree(CARBONBRIDGE, target)
    yield target


@needs_carbonbridge
@settings(max_examples=100 if LONG else 4)
@given(st.data(), mutations, st.sampled_from(["stack", "prod"]))
def test_expand_mutated_carbonbridge(carbonbridge_copy: Path, data: st.DataObject, steps: list, tool: str) -> None:
    files = sorted(carbonbridge_copy.rglob("polytope.yml"))
    target = data.draw(st.sampled_from(files), label="mutated file")
    original = target.read_text(encoding="utf-8")
    mutated = mutate(original, steps)
    root = carbonbridge_copy / "polytope.yml"
    inputs_text = "".join(path.read_text(encoding="utf-8") for path in files) + mutated
    values, secrets = corpus_inputs(inputs_text)
    target.write_text(mutated, encoding="utf-8")
    try:
        check_expand(root.read_text(encoding="utf-8"), str(root), tool, values=values, secrets=secrets)
    finally:
        target.write_text(original, encoding="utf-8")
