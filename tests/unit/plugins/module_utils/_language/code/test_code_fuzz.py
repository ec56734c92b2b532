# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fuzz (property-based) tests of the code-string interpreters (Clojure; JavaScript with few examples).

Random token soups and mutations of the corpus's code strings: ``evaluate`` returns a plain value
(None, bool, int, float, str, list, dict with str keys) within the result limits, or raises
CodeError with a message, never anything else, and always within its time limit (plus slack for
the JavaScript helper).  The short profile runs with the unit tests; ``make fuzz`` runs the long one.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from pathlib import Path
from typing import Any, Optional

import pytest

hypothesis = pytest.importorskip(
    "hypothesis", reason="hypothesis is not installed (pip install -r requirements-dev.txt)"
)

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ansible_collections.polytope.core.plugins.module_utils._language.code import (
    CLOJURE,
    JAVASCRIPT,
    Bindings,
    CodeError,
    Limits,
    evaluate,
    split_code,
)

_COMMON = {
    "deadline": 5000,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("POLYTOPE_FUZZ", "ci"))
LONG = os.environ.get("POLYTOPE_FUZZ") == "long"
HAS_JS = importlib.util.find_spec("py_mini_racer") is not None

LIMITS = Limits(seconds=0.5, memory_bytes=64 * 1024 * 1024, depth=50, result_items=2000)
SLACK = {CLOJURE: 1.5, JAVASCRIPT: 3.0}
PARAMS = {"id": "web", "port": 3030, "cmd": "./bin/run", "packages": "httpx, rich", "env": [{"name": "A", "value": 1}]}


def _value(name: str) -> Any:
    if name == "region":
        return "eu-north-1"
    raise CodeError(f"no value was given for {name!r}")


def _secret(name: str) -> Any:
    if name == "token":
        return "s3cret"
    raise CodeError(f"no secret was given for {name!r}")


def bindings() -> Bindings:
    return Bindings(params=PARAMS, value=_value, secret=_secret, module_repo_ref=None, module_project_ref="gh:o/r")


def check_plain(value: Any, depth: int = 0) -> int:
    """The number of items of a plain value; fails on anything else."""
    assert depth <= LIMITS.depth + 2, "a result deeper than the depth limit"
    if value is None or isinstance(value, (bool, int, str)):
        return 1
    if isinstance(value, float):
        assert math.isfinite(value) or math.isinf(value) or math.isnan(value)
        return 1
    if isinstance(value, list):
        return 1 + sum(check_plain(item, depth + 1) for item in value)
    assert isinstance(value, dict), f"not a plain value: {type(value).__name__}"
    assert all(isinstance(key, str) for key in value), "a mapping with a key that is not a string"
    return 1 + sum(check_plain(item, depth + 1) for item in value.values())


def check_evaluate(language: str, source: str) -> None:
    start = time.monotonic()
    try:
        result = evaluate(language, source, bindings(), LIMITS)
    except CodeError as exc:
        assert isinstance(exc.message, str) and exc.message.strip(), "a CodeError without a message"
        assert len(exc.message) < 10 * len(source) + 20_000, "an error message out of proportion"
    else:
        assert check_plain(result) <= LIMITS.result_items + 1
        if isinstance(result, str):
            assert len(result) < LIMITS.memory_bytes
    assert time.monotonic() - start < LIMITS.seconds + SLACK[language], "past the time limit"


def shared_dir() -> Optional[Path]:
    configured = os.environ.get("POLYTOPE_SHARED")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    for ancestor in Path(__file__).resolve().parents:
        if (ancestor / "shared" / "corpus" / "polytope-yml").is_dir():
            return ancestor / "shared"
    return None


def corpus_code(language: str) -> list[str]:
    """The code strings of ``language`` in the corpus files (and the carbonbridge project)."""
    shared = shared_dir()
    if shared is None:
        return []
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        else:
            split = split_code(node)
            if split is not None and split[0] == language:
                found.add(split[1])

    for path in sorted((shared / "corpus").rglob("*.yml")):
        try:
            walk(yaml.safe_load(path.read_text(encoding="utf-8")))
        except yaml.YAMLError:
            continue
    return sorted(found)


CLJ_CORPUS = corpus_code(CLOJURE)
JS_CORPUS = corpus_code(JAVASCRIPT) if HAS_JS else []

CLJ_TOKENS = (
    "( ) [ ] { } #{ ' ` ~ ~@ @ ^ # #_ #( % %1 & . / : :: ; \\ \" nil true false 0 -1 1.5 1e308 1N 1/3 "
    '"s" \\a :k :params/x params pt/value pt/secret pt/fail pt/module-repo-ref pt/module-project-ref '
    '"region" "token" "nope" def defn fn fn* let loop recur if when cond case do quote try catch throw '
    "ex-info str get get-in assoc dissoc merge concat map filter reduce range repeat iterate into vec "
    "list hash-map keys vals count first rest nth apply partial comp identity inc + - * / mod = < "
    'clojure.string/join clojure.string/split clojure.string/replace re-pattern re-find re-seq #"a*" '
    "subs keyword name symbol? System/exit slurp eval resolve . new java.io.File Thread/sleep"
).split()
JS_TOKENS = (
    "( ) [ ] { } ; , . ? : => = == === + - * / % ! && || ?? ` ${ } ' \" 0 1 1e308 -1 NaN null undefined true "
    "false params params.id params.port params.packages pt pt.value pt.secret pt.fail 'region' 'token' 'nope' "
    "function return let const var if else for while ( ; ; ) new Array Object.keys JSON.stringify "
    "throw Error .map .filter .join .replace /a*/g .split .repeat (1e9) Math.max globalThis this eval "
    "require process Function"
).split()


def soup(tokens: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(tokens), st.text(max_size=3)), max_size=25).map(" ".join)


def mutated(corpus: list[str], tokens: list[str]) -> st.SearchStrategy[str]:
    """A corpus code string with a few characters deleted, tokens inserted or a prefix cut."""
    edit = st.tuples(st.sampled_from(["delete", "insert", "cut"]), st.integers(0, 10**6), st.sampled_from(tokens))

    def apply(source: str, edits: list[tuple[str, int, str]]) -> str:
        for kind, position, token in edits:
            where = position % (len(source) + 1)
            if kind == "delete":
                source = source[:where] + source[where + 1 :]
            elif kind == "insert":
                source = source[:where] + " " + token + " " + source[where:]
            else:
                source = source[:where]
        return source

    return st.builds(apply, st.sampled_from(corpus or [""]), st.lists(edit, min_size=1, max_size=4))


@given(soup(CLJ_TOKENS))
def test_clojure_token_soup(source: str) -> None:
    check_evaluate(CLOJURE, source)


@pytest.mark.skipif(not CLJ_CORPUS, reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
@given(mutated(CLJ_CORPUS, CLJ_TOKENS))
def test_clojure_mutated_corpus(source: str) -> None:
    check_evaluate(CLOJURE, source)


@given(st.text(max_size=40))
def test_clojure_random_text(source: str) -> None:
    check_evaluate(CLOJURE, source)


@given(st.integers(1, 5000), st.sampled_from(["(", "[", "{", "(fn [] ", "(inc "]))
def test_clojure_deep_nesting(depth: int, opener: str) -> None:
    check_evaluate(CLOJURE, opener * depth)


# Inputs the fuzzer once found raising RecursionError: quote, #_ and #{} now count towards the nesting bound.
@pytest.mark.parametrize("source", ["#{" * 1000, "'(" * 1000, "'" * 2000 + "1", "#_" * 2000 + "1"])
def test_deep_reader_macros_are_a_code_error(source: str) -> None:
    check_evaluate(CLOJURE, source)


needs_js = pytest.mark.skipif(not HAS_JS, reason="the Python package 'mini-racer' is not installed")


@needs_js
@settings(max_examples=100 if LONG else 6)
@given(soup(JS_TOKENS))
def test_javascript_token_soup(source: str) -> None:
    check_evaluate(JAVASCRIPT, source)


@needs_js
@pytest.mark.skipif(not JS_CORPUS, reason="the shared corpus (../shared or POLYTOPE_SHARED) is not available")
@settings(max_examples=100 if LONG else 6)
@given(mutated(JS_CORPUS, JS_TOKENS))
def test_javascript_mutated_corpus(source: str) -> None:
    check_evaluate(JAVASCRIPT, source)
