# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JavaScript code strings: bindings, completion values, the real corpus, refusals, limits, errors."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import yaml
from ansible_collections.polytope.core.plugins.module_utils._language.code import (
    JAVASCRIPT,
    Bindings,
    CodeError,
    Limits,
    evaluate,
    split_code,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code import javascript

needs_engine = pytest.mark.skipif(
    importlib.util.find_spec("py_mini_racer") is None,
    reason="the Python package 'mini-racer' is not installed (pip install mini-racer==0.14.1)",
)

DEFAULT = Limits()
PARAMS = {
    "api-protocol-host-port": "http://localhost:4000",
    "curity-base-url": "https://curity:8443",
    "web-app-url": "http://localhost:3000",
    "api-client-graphql-url": "http://localhost:11001",
    "api-client-rest-url": "http://localhost:11002",
    "cmd": "./bin/run",
    "port": 8000,
    "packages": "requests,  httpx\tpydantic",
    "max_iterations": 3,
    "nested-map": {"inner_key": [{"deep-er": True}], "plain": None},
}


def values(name: str) -> str:
    if name == "absent":
        raise CodeError("no value 'absent' was given")
    return f"value of {name}"


def bindings(**params: Any) -> Bindings:
    return Bindings(
        params=params or PARAMS,
        value=values,
        secret=lambda name: f"secret {name}",
        module_repo_ref="gh:acme/lib",
    )


def js(source: str, limits: Limits = DEFAULT, **params: Any) -> Any:
    return evaluate(JAVASCRIPT, source, bindings(**params), limits)


def error(source: str, limits: Limits = DEFAULT, **params: Any) -> str:
    with pytest.raises(CodeError) as raised:
        js(source, limits, **params)
    return raised.value.message


def test_camel_case() -> None:
    assert javascript.camel_case("api-protocol-host-port") == "apiProtocolHostPort"
    assert javascript.camel_case("max_iterations") == "maxIterations"
    assert javascript.camel_case("already") == "already"
    assert javascript.camel_case("_private") == "_private"


def test_missing_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "py_mini_racer", None)
    message = error("1")
    assert message == javascript.MISSING
    assert "pip install mini-racer" in message


# ------------------------------------------------------------------------------------ bindings --
@needs_engine
def test_params_are_camel_cased_at_every_level() -> None:
    assert js("params['apiProtocolHostPort']") == "http://localhost:4000"
    assert js("params.maxIterations") == 3
    assert js("params.nestedMap") == {"innerKey": [{"deepEr": True}], "plain": None}
    assert js("inputs.cmd") == "./bin/run"
    assert js("params['api-protocol-host-port'] === undefined") is True


@needs_engine
def test_pt_param_value_secret_and_refs() -> None:
    assert js("pt.param('api-protocol-host-port')") == "http://localhost:4000"
    assert js("pt.param('nested-map').innerKey[0].deepEr") is True
    assert js("pt.param('apiProtocolHostPort')") == "http://localhost:4000"
    assert js("pt.param('no-such-param')") is None
    assert js('pt.value("couchbase-host") + ":" + pt.secret(\'password\')') == "value of couchbase-host:secret password"
    assert js("pt.value(`tpl`)") == "value of tpl"
    assert js("[pt.moduleRepoRef, pt.moduleProjectRef]") == ["gh:acme/lib", None]


@needs_engine
def test_values_are_looked_up_by_literal_name_only() -> None:
    assert js("false ? pt.value('absent') : 'fine'") == "fine"
    assert error("pt.value('absent')") == "no value 'absent' was given"
    message = error("const name = 'host'; pt.value(name)")
    assert 'pt.value("host")' in message and "string literal" in message


# --------------------------------------------------------------------------- completion values --
@needs_engine
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 1", 2),
        ("'a' + 'b';", "ab"),
        ("params.cmd === './bin/run'\n  ? [{id: 'api'}]\n  : null;", [{"id": "api"}]),
        ("({a: 1, 'b-c': [true, false]});", {"a": 1, "b-c": [True, False]}),
        ("const x = 2;\nlet y = x * 3;\ny", 6),
        ("if (params.port > 1) { 'big' } else { 'small' }", "big"),
        ("", None),
        ("undefined", None),
        ("null", None),
        ("2.0", 2),
        ("2.5", 2.5),
        ("1e21", 10**21),
        ("10n ** 30n", 10**30),
        ("({a: undefined, b: null})", {"b": None}),
        ("[undefined, 1]", [None, 1]),
        ("`port ${params.port}`", "port 8000"),
        ("[1, 2, 3].map((n) => n * 2)", [2, 4, 6]),
        ("new Date(0)", "1970-01-01T00:00:00.000Z"),
        ("Object.create(null)", {}),
    ],
)
def test_completion_value(source: str, expected: Any) -> None:
    result = js(source)
    assert result == expected and type(result) is type(expected)


@needs_engine
@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("() => 1", "a function"),
        ("({f() {}})", "a function"),
        ("Symbol('s')", "a symbol"),
        ("new Map()", "class Map"),
        ("NaN", "NaN"),
        ("[1 / 0]", "(at result[0]): Infinity"),
        ("Promise.resolve(1)", "a Promise"),
        ("let a = {}; a.self = a; a", 'refers to itself (at result["self"])'),
    ],
)
def test_results_that_are_not_plain_values(source: str, named: str) -> None:
    assert named in error(source)


# ------------------------------------------------------------------------------- the corpus --
def shared_dir() -> Optional[Path]:
    configured = os.environ.get("POLYTOPE_SHARED")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    for ancestor in Path(__file__).resolve().parents:
        if (ancestor / "shared" / "corpus").is_dir():
            return ancestor / "shared"
    return None


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for item in node.values():
            yield from strings(item)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def corpus_code_strings() -> list[Any]:
    shared = shared_dir()
    if shared is None:
        return []
    found = []
    for path in sorted((shared / "corpus").rglob("*.yml")):
        for text in strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            code = split_code(text)
            if code is not None and code[0] == JAVASCRIPT:
                found.append(pytest.param(code[1], id=f"{path.name}:{code[1].strip()[:40]}"))
    return found


CORPUS = corpus_code_strings()
CONCATENATION = re.compile(r"^\s*params\['(\w+)'\] \+ '([^']*)'\s*$")


@needs_engine
@pytest.mark.skipif(
    not CORPUS, reason="no JavaScript code strings: /work/shared/corpus is absent (set POLYTOPE_SHARED)"
)
@pytest.mark.parametrize("source", CORPUS)
def test_corpus_code_string(source: str) -> None:
    camel = {javascript.camel_case(name): value for name, value in PARAMS.items()}
    concatenation = CONCATENATION.match(source)
    if concatenation:
        assert js(source) == camel[concatenation.group(1)] + concatenation.group(2)
    elif "params.packages.replace" in source:
        prefix = re.match(r'\s*"([^"]*)"', source).group(1)  # type: ignore[union-attr]
        assert js(source) == prefix + "requests httpx pydantic"
    elif 'params.cmd === "./bin/run"' in source:
        services = js(source)
        assert len(services) == 1 and services[0]["ports"] == [{"protocol": "http", "port": 8000, "expose-as": 8000}]
        assert js(source, **{**PARAMS, "cmd": "./bin/add-dependencies x"}) is None
    else:
        pytest.fail(f"a JavaScript code string of a new shape; say what it means here: {source!r}")


def test_corpus_has_the_known_shapes() -> None:
    if not CORPUS:
        pytest.skip("/work/shared/corpus is absent (set POLYTOPE_SHARED)")
    sources = [case.values[0] for case in CORPUS]
    assert any("packages.replace" in source for source in sources)
    assert any("params.cmd ===" in source for source in sources)
    assert any(CONCATENATION.match(source) for source in sources)


# ----------------------------------------------------------------------------------- refusals --
@needs_engine
@pytest.mark.parametrize(
    "call",
    ["callModule", "spawn", "awaitStarted", "openService", "storeDataset", "httpRequest", "readRepoFile"]
    + ["setProjectValue", "somethingNew"],
)
def test_effectful_calls_are_refused(call: str) -> None:
    assert error(f"pt.{call}('x')") == f"pt.{call} {javascript.REFUSED}"
    # catching the refusal does not make the value right
    assert error(f"try {{ pt.{call}('x') }} catch (e) {{}}\n'done'") == f"pt.{call} {javascript.REFUSED}"


@needs_engine
def test_fail_and_log() -> None:
    assert error("pt.fail('no port given')") == "pt.fail: no port given"
    assert error("try { pt.fail('x') } catch (e) {} 1") == "pt.fail: x"
    assert js("pt.log('hello', params); 7") == 7


@needs_engine
@pytest.mark.parametrize("name", ["require", "process", "fetch"])
def test_host_apis_are_named(name: str) -> None:
    message = error(f"{name}('x')")
    assert message.startswith(f"ReferenceError: {name} is not defined: code strings run in a bare JavaScript engine")


@needs_engine
def test_imports_and_the_global_object() -> None:
    assert "no import" in error("import fs from 'fs'")
    assert "a Promise" in error("import('fs')")
    # the Function constructor reaches only this evaluation's own global object
    assert "not a plain value" in error("this.constructor.constructor('return this')()")
    found = js("const g = Function('return this')(); [typeof g.require, typeof g.process, typeof g.fetch]")
    assert found == ["undefined", "undefined", "undefined"]
    assert js("eval('1 + 1')") == 2


@needs_engine
def test_no_state_between_strings() -> None:
    assert js("globalThis.leak = 1; Object.prototype.polluted = 1; 0") == 0
    assert js("[typeof leak, typeof ({}).polluted]") == ["undefined", "undefined"]


# ------------------------------------------------------------------------------------- limits --
def timed(source: str, limits: Limits = DEFAULT) -> str:
    started = time.monotonic()
    message = error(source, limits)
    assert time.monotonic() - started < 2.0, message
    return message


@needs_engine
def test_time_limit() -> None:
    assert timed("while (true) {}") == "the code ran past the time limit (1 s)"


@needs_engine
def test_time_limit_in_a_builtin_that_ignores_it() -> None:
    # V8 cannot interrupt this fill: the helper process is killed, and the next string gets a new one
    assert timed("new Array(1e9).fill(0).length", Limits(seconds=0.3)) == "the code ran past the time limit (0.3 s)"
    assert js("1") == 1


@needs_engine
def test_recursion_depth() -> None:
    message = timed("function f(n) { return f(n + 1) }\nf(0)")
    assert message.startswith("recursion too deep: JavaScript's call stack limit was reached")
    assert "line 1" in message


@needs_engine
def test_result_limits() -> None:
    assert "result items limit (100000)" in timed("Array(1e7).fill(1)")
    assert "result items limit (3)" in timed("[1, 2, 3, 4]", Limits(result_items=3))
    assert "result size limit" in timed("'x'.repeat(1e8)")
    assert "depth limit (5)" in timed("let v = 1; for (let i = 0; i < 9; i++) v = [v]; v", Limits(depth=5))


@needs_engine
def test_memory_limit() -> None:
    assert timed("let a = []; while (true) a.push(new Array(1e6).fill(1))").startswith(
        "the code went past the memory limit (67108864 bytes)"
    )
    assert js("'still here'") == "still here"


@needs_engine
def test_a_helper_that_dies_is_replaced() -> None:
    js("1")
    helper = javascript._current
    assert helper is not None
    threading.Timer(0.3, helper.process.kill).start()
    assert error("while (true) {}", Limits(seconds=5)).startswith("the JavaScript engine stopped: V8 ended its process")
    assert js("2") == 2 and javascript._current is not helper


@needs_engine
def test_a_forked_process_starts_its_own_helper() -> None:
    js("1")
    inherited = javascript._current
    assert inherited is not None
    inherited.owner = -1
    try:
        assert js("3") == 3 and javascript._current is not inherited
    finally:
        inherited.kill()


# ------------------------------------------------------------------------------------- errors --
@needs_engine
def test_error_messages_and_positions() -> None:
    assert error("let x = 1;\nx = ;") == "SyntaxError: Unexpected token ';' at line 2, column 5"
    assert error("throw new Error('x')") == "thrown: Error: x at line 1, column 1"
    assert error("throw 'plain'") == "thrown: plain at line 1, column 1"
    assert error("1;\n  nothing.here") == "ReferenceError: nothing is not defined at line 2, column 3"
    assert error("null.x").startswith("TypeError: Cannot read properties of null")
