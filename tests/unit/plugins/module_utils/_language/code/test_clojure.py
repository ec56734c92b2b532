# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clojure code strings: special forms, bindings, results, the real corpus, refusals, limits."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import yaml

from ansible_collections.polytope.core.plugins.module_utils._language.code import (
    CLOJURE,
    Bindings,
    CodeError,
    Limits,
    evaluate,
    split_code,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code import clojure

SHARED = Path(__file__).resolve().parents[7] / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")


def _value(name: str) -> Any:
    if name == "region":
        return "eu-north-1"
    raise CodeError(f"no value was given for {name!r}")


def _secret(name: str) -> Any:
    if name == "token":
        return "s3cret"
    raise CodeError(f"no secret was given for {name!r}")


DEFAULT = Limits()


def ev(source: str, params: Optional[dict] = None, limits: Limits = DEFAULT, **refs: Any) -> Any:
    bindings = Bindings(params=params or {}, value=_value, secret=_secret, **refs)
    return clojure.evaluate(source, bindings, limits)


def fails(source: str, params: Optional[dict] = None, limits: Limits = DEFAULT) -> str:
    start = time.monotonic()
    with pytest.raises(CodeError) as raised:
        ev(source, params, limits)
    assert time.monotonic() - start < 2, "a failure must come within 2 s"
    return raised.value.message


SPECIAL_FORMS: list[tuple[str, Any]] = [
    ("(quote (a :b))", ["a", "b"]),
    ("'[x 1]", ["x", 1]),
    ("(do 1 2 3)", 3),
    ("(do)", None),
    ('[(if true 1 2) (if nil 1 2) (if false 1) (if 0 :zero :no) (if "" :empty :no)]', [1, 2, None, "zero", "empty"]),
    ("[(when true 1 2) (when false 1)]", [2, None]),
    ("[(when-not false 1) (when-not true 1)]", [1, None]),
    ("(let [a 1 b (+ a 1)] [a b])", [1, 2]),
    ("(let [a 1 f (fn [] a) a 2] [(f) a])", [1, 2]),
    ("(let [[a b & more] [1 2 3 4]] [a b more])", [1, 2, [3, 4]]),
    ("(let [[a [b c]] [1 [2 3]]] (+ a b c))", 6),
    ("(let [[a b :as all] [1]] [a b all])", [1, None, [1]]),
    ("(let [[_ & more] [1]] more)", None),
    ("(let [{:keys [a b] :or {b 5} :as m} {:a 1}] [a b m])", [1, 5, {"a": 1}]),
    ("(let [{a :a [x] :v} {:a 1 :v [9]}] [a x])", [1, 9]),
    ('(let [{:strs [a]} {"a" 1}] a)', 1),
    ("(let [{:keys [x/y]} {:x/y 3}] y)", 3),
    ("(let [{:keys [a]} nil] a)", None),
    ("(let [[{:keys [p]}] [{:p 1}]] p)", 1),
    ("[(when-let [x 1] (inc x)) (when-let [x nil] :no) (when-let [x false] :no)]", [2, None, None]),
    ("[(if-let [x 1] x :else) (if-let [x nil] x :else) (if-let [[a] [7]] a 0)]", [1, "else", 7]),
    ("[(when-some [x false] [x]) (when-some [x nil] x)]", [[False], None]),
    ("[(if-some [x false] :some :none) (if-some [x nil] :some :none)]", ["some", "none"]),
    ("(cond false 1 nil 2 :else 3)", 3),
    ("(cond (= 1 2) :a)", None),
    ("(condp = 2 1 :one 2 :two :other)", "two"),
    ("(condp = 5 1 :one :other)", "other"),
    ("(condp some [1 2] #{2} :>> inc 0)", 3),
    ('[(case 2 1 :a 2 :b :c) (case 9 1 :a :dflt) (case :k :k "kw") (case "s" "s" 1)]', ["b", "dflt", "kw", 1]),
    ("(case 3 (1 2) :low (3 4) :high)", "high"),
    ("(case [1 2] [1 2] :vec :no)", "vec"),
    ("(case nil nil :nil :other)", "nil"),
    ("[(and) (and 1 2) (and 1 nil 2) (and false 1)]", [True, 2, None, False]),
    ("[(or) (or nil 2) (or nil false) (or false nil 3 4)]", [None, 2, False, 3]),
    ("((fn [x] (* x x)) 4)", 16),
    ("((fn [& xs] xs) 1 2)", [1, 2]),
    ("((fn [& xs] xs))", None),
    ("((fn [a & xs] [a xs]) 1 2 3)", [1, [2, 3]]),
    ("((fn ([x] x) ([x y] (+ x y)) ([x y & z] (apply + x y z))) 1 2 3 4)", 10),
    ("(let [f (fn ([x] (f x 1)) ([x y] (+ x y)))] 1)", 1),
    ("((fn sum ([xs] (sum 0 xs)) ([acc xs] (if (empty? xs) acc (sum (+ acc (first xs)) (rest xs))))) [1 2 3])", 6),
    ('((fn [{:keys [id port]}] [id port]) {:id "a" :port 1})', ["a", 1]),
    ("((fn [[a b]] (+ a b)) [1 2])", 3),
    ("(map #(* % %) [1 2 3])", [1, 4, 9]),
    ("(#(vector %1 %2 %&) 1 2 3 4)", [1, 2, [3, 4]]),
    ("(loop [i 0 acc []] (if (< i 3) (recur (inc i) (conj acc i)) acc))", [0, 1, 2]),
    ("(loop [[x & more] [1 2 3] total 0] (if x (recur more (+ total x)) total))", 6),
    ("((fn [n acc] (if (zero? n) acc (recur (dec n) (* acc n)))) 5 1)", 120),
    ("(loop [i 0] (if (< i 10000) (recur (inc i)) i))", 10000),
    ("(-> 5 (- 2) (* 10) str)", "30"),
    ("(-> {:a {:b 1}} :a :b)", 1),
    ("(->> [1 2 3] (map inc) (filter odd?) (reduce +))", 3),
    ("(some-> {:a {:b 2}} :a :b inc)", 3),
    ("(some-> {:a nil} :a inc)", None),
    ("(some->> [1 2] (map inc) first)", 2),
    ("(some->> nil (map inc))", None),
    ("(cond-> 1 true inc false (* 100) (= 1 1) (* 10))", 20),
    ("(cond-> [] true (conj :a) nil (conj :b))", ["a"]),
    ("(cond->> [1 2] true (map inc) false (map dec))", [2, 3]),
    ("(as-> 1 x (+ x 1) (* x x) [x])", [4]),
    ("(for [x [1 2] y [:a :b]] [x y])", [[1, "a"], [1, "b"], [2, "a"], [2, "b"]]),
    ("(for [x (range 5) :when (odd? x)] x)", [1, 3]),
    ("(for [x (range 10) :while (< x 3)] x)", [0, 1, 2]),
    ("(for [x [1 2] :let [y (* x 10)]] y)", [10, 20]),
    ("(for [x [1 2 3] y [1 2 3] :while (< y x)] [x y])", [[2, 1], [3, 1], [3, 2]]),
    ("(for [[k v] {:a 1 :b 2}] (str (name k) v))", ["a1", "b2"]),
    ("(for [x nil] x)", []),
    ("(take 3 (for [x [1 2 3 4]] x))", [1, 2, 3]),
    ("(doseq [x [1 2]] (inc x))", None),
    ("(dotimes [i 3] i)", None),
    ('(try (throw (Exception. "boom")) (catch Exception e (ex-message e)))', "boom"),
    ('(try (throw (ex-info "bad" {:code 7})) (catch clojure.lang.ExceptionInfo e (:code (ex-data e))))', 7),
    ('(try (throw (Exception. "plain")) (catch ExceptionInfo e :info) (catch Exception e :plain))', "plain"),
    ("(try 1 (finally 2))", 1),
    ('(try (inc "a") (catch Exception e :caught))', "caught"),
    ('(try (inc "a") (catch Exception e (re-find #"not a number" (ex-message e))))', "not a number"),
    ("(try (nth [] 3) (catch Throwable e :t))", "t"),
    ("(try 1 (catch Exception e 2))", 1),
    (
        "(letfn [(ev? [n] (if (zero? n) true (od? (dec n)))) (od? [n] (if (zero? n) false (ev? (dec n))))] (ev? 10))",
        True,
    ),
    ("(comment (slurp-not-checked 1))", None),
    ("(let [str (fn [& _] :shadowed)] (str 1))", "shadowed"),
    ('(let [name "n" keys [1]] [name keys])', ["n", [1]]),
    ("1 2 (+ 1 2)", 3),
]


@pytest.mark.parametrize("source, expected", SPECIAL_FORMS, ids=[s[0][:60] for s in SPECIAL_FORMS])
def test_special_form(source: str, expected: Any) -> None:
    assert ev(source) == expected


BAD_FORMS = [
    ("(if)", "(if ...) has the wrong number of forms (0) at 1:2"),
    ("(if 1 2 3 4)", "wrong number of forms (4)"),
    ("(let [a] a)", "let needs a vector of name-value pairs"),
    ("(let (a 1) a)", "let needs a vector"),
    ("(when-let [a 1 b 2] a)", "needs a vector of one name and one value"),
    ("(cond 1)", "cond needs test-value pairs"),
    ("(case 5 1 :a)", "case: no clause matches 5"),
    ("(condp = 5 1 :a)", "condp: no clause matches 5"),
    ("(fn)", "fn needs a parameter vector"),
    ("(fn [a & b c] 1)", "exactly one parameter can follow &"),
    ("((fn [a] a))", "wrong number of arguments (0) passed to #function[fn]"),
    ("((fn f [a] a) 1 2)", "wrong number of arguments (2) passed to #function[f]"),
    ("(+ 1 (recur 2))", "recur can only be in tail position"),
    ("(loop [a 1] (recur))", "recur needs 1 values for this loop, got 0"),
    ("(loop [a 1] (try (recur 2) (catch Exception e 1)))", "recur cannot be used across try"),
    ("(let [a/b 1] a/b)", "cannot bind the qualified name 'a/b'"),
    ("(let [1 2] 1)", "cannot bind to 1"),
    ("(try 1 (catch Foo e 2))", "catch needs a known exception class"),
    ("(for [x] x)", "for needs a vector of name-collection pairs"),
    ("(for [:when true] 1)", "for: unexpected :when"),
    ('(throw "text")', "throw needs an exception"),
    ("(let [e Exception] e)", "'Exception' can only be named in (catch Exception e ...)"),
    ("undefined-name", "unknown symbol 'undefined-name' at 1:1"),
    ("(map undefined-fn [1])", "unknown symbol 'undefined-fn' at 1:6"),
    ("(xyz 1)", "unknown function 'xyz' at 1:2"),
    ("(clojure.walk/postwalk identity 1)", "only clojure.core, clojure.string and clojure.set are"),
    ("(str/no-such 1)", "unknown function 'str/no-such'"),
    ("", "has no Clojure form"),
]


@pytest.mark.parametrize("source, message", BAD_FORMS, ids=[b[0][:40] for b in BAD_FORMS])
def test_bad_form(source: str, message: str) -> None:
    assert message in fails(source)


def test_try_does_not_catch_refusals_or_limits() -> None:
    assert "unknown function 'nope'" in fails("(try (nope) (catch Exception e :caught))")
    limits = Limits(seconds=0.2)
    assert "time limit" in fails("(try (loop [] (recur)) (catch Exception e :caught))", limits=limits)
    assert "depth limit" in fails("(try ((fn f [n] (f n)) 1) (catch Throwable e :caught))")
    assert "pt/fail: stop" in fails('(try (pt/fail "stop") (catch Exception e :caught))')


def test_finally_runs_and_its_failure_wins() -> None:
    assert "thrown: from finally" in fails('(try 1 (finally (throw (Exception. "from finally"))))')


# ---- bindings ------------------------------------------------------------------------------------------

PARAMS = {
    "data-volume": {"type": "volume", "scope": "project", "id": "pg"},
    "mounts": [{"path": "/a", "source": {"type": "host", "path": "./a"}}],
    "cmd": ["run", "--fast"],
    "port": 8080,
    "ratio": 0.5,
    "debug": False,
    "nothing": None,
    "tags": {"b", "a"},
}


BINDING_CASES = [
    ("(:data-volume params)", {"type": "volume", "scope": "project", "id": "pg"}),
    ("(:id (:data-volume params))", "pg"),
    ("(get-in params [:mounts 0 :source :path])", "./a"),
    ("(map :path (:mounts inputs))", ["/a"]),
    ("(= params inputs)", True),
    ("(:cmd params)", ["run", "--fast"]),
    ("(vector? (:cmd params))", True),
    (
        "[(:port params) (:ratio params) (:debug params) (:nothing params) (:missing params)]",
        [8080, 0.5, False, None, None],
    ),
    ("(contains? params :nothing)", True),
    ("(:tags params)", ["a", "b"]),
    ("(keyword? (first (keys (:data-volume params))))", True),
    ('(pt/value "region")', "eu-north-1"),
    ("(pt/value :region)", "eu-north-1"),
    ('(str "Bearer " (pt/secret "token"))', "Bearer s3cret"),
    ("[pt/module-repo-ref pt/module-project-ref]", [None, None]),
]


@pytest.mark.parametrize("source, expected", BINDING_CASES, ids=[b[0][:50] for b in BINDING_CASES])
def test_bindings(source: str, expected: Any) -> None:
    assert ev(source, PARAMS) == expected


def test_module_refs() -> None:
    refs = {"module_repo_ref": "lib-repo", "module_project_ref": "project-repo"}
    assert ev("[pt/module-repo-ref pt/module-project-ref]", **refs) == ["lib-repo", "project-repo"]


def test_missing_value_is_not_catchable() -> None:
    assert "no value was given for 'other'" in fails('(try (pt/value "other") (catch Exception e :caught))')
    assert "no secret was given for 'k'" in fails('(pt/secret "k")')


def test_pt_fail() -> None:
    assert fails('(when (nil? (:image params)) (pt/fail "image is required: " 1))') == "pt/fail: image is required: 1"


def test_through_the_language_interface() -> None:
    language, source = split_code("#pt-clj (inc (:n params))")
    assert language == CLOJURE
    bindings = Bindings(params={"n": 1}, value=_value, secret=_secret)
    assert evaluate(language, source, bindings) == 2
    assert evaluate(*split_code("pt.clj (str :x)"), bindings) == ":x"


# ---- results -------------------------------------------------------------------------------------------

RESULTS = [
    ("nil", None),
    (":always", "always"),
    (":a/b", "a/b"),
    ("'sym", "sym"),
    ("\\x", "x"),
    ('{:a 1 "b" 2 3 4 :n/k 5}', {"a": 1, "b": 2, "3": 4, "n/k": 5}),
    ("{:nested {:deep [:x {:y nil}]}}", {"nested": {"deep": ["x", {"y": None}]}}),
    ("'(1 2)", [1, 2]),
    ("(map inc [1])", [2]),
    ("#{3 1 2}", [1, 2, 3]),
    ('#{"b" "a"}', ["a", "b"]),
    ("#{:b :a}", ["a", "b"]),
    ('#{1 "a"}', [1, "a"]),
    ("#{[2] [1]}", [[2], [1]]),
    ("1.5", 1.5),
    ("(/ 10 4)", 2.5),
    ("true", True),
]


@pytest.mark.parametrize("source, expected", RESULTS, ids=[r[0] for r in RESULTS])
def test_result(source: str, expected: Any) -> None:
    result = ev(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "source, message",
    [
        ("inc", "the result is a function"),
        ("#(inc %)", "the result is a function"),
        ('#"x"', "the result is a regex"),
        ('(ex-info "x" {})', "the result is an exception"),
        ("(range)", "the result is (range), which never ends"),
        ('{:a 1 "a" 2}', "two map keys that are both 'a'"),
        ("{[1] 2}", "keys must be keywords or strings"),
    ],
)
def test_result_refused(source: str, message: str) -> None:
    assert message in fails(source)


def test_uncaught_throw() -> None:
    assert fails('(throw (Exception. "no image"))') == "thrown: no image"
    assert fails('(throw (ex-info "bad port" {:port 0}))') == "thrown: bad port {:port 0}"


# ---- refusals ------------------------------------------------------------------------------------------

REFUSED = [
    '(pt/spawn {:image "x"})',
    '(pt/call-module "m" {})',
    '(pt/await-started "c")',
    "(pt/open-service 1)",
    '(pt/store-dataset "d" 1)',
    '(pt/http-request {:url "u"})',
    '(pt/read-repo-file "f")',
    '(pt/set-project-value "k" 1)',
    "(pt/anything-else)",
    '(slurp "/etc/passwd")',
    '(spit "/tmp/x" "y")',
    "(eval '(+ 1 2))",
    '(load-string "(+ 1 2)")',
    '(read-string "1")',
    "(require 'clojure.java.io)",
    "(import java.io.File)",
    "(System/exit 1)",
    "(Math/abs -1)",
    "(java.lang.Runtime/getRuntime)",
    '(.toUpperCase "a")',
    '(new java.io.File "x")',
    '(java.io.File. "x")',
    "(def x 1)",
    "(defn f [] 1)",
    "(atom 1)",
    "(swap! a inc)",
    "(reset! a 1)",
    "(future 1)",
    "(Thread/sleep 10000)",
    '(println "hi")',
    '(print "hi")',
    '(prn "hi")',
    "(rand-int 10)",
]


@pytest.mark.parametrize("source", REFUSED)
def test_refused(source: str) -> None:
    message = fails(source)
    name = re.match(r"\(([^\s()]+)", source).group(1)  # type: ignore[union-attr]
    assert f"'{name}'" in message
    assert "argument code computes values only (no I/O, no host interop, no effects)" in message


def test_refused_even_in_a_branch_not_taken() -> None:
    assert "'slurp' is not available" in fails('(if true 1 (slurp "x"))')
    assert "'pt/spawn' is not available" in fails("(when (:never params) (pt/spawn {}))")
    assert "at 1:13" in fails('(if true 1 (slurp "x"))')


def test_quoted_names_are_data() -> None:
    assert ev("'(slurp x)") == ["slurp", "x"]


# ---- limits --------------------------------------------------------------------------------------------


def test_time_limit() -> None:
    assert "time limit" in fails("(loop [] (recur))")
    assert "longer than 0.3 s (time limit)" in fails("(loop [i 0] (recur (inc (mod i 5))))", limits=Limits(seconds=0.3))
    assert "time limit" in fails("(count (for [x (range 100000) y (range 100000) :when (neg? x)] 1))")


def test_depth_limit() -> None:
    assert fails("((fn f [n] (f (inc n))) 0)") == "calls nested deeper than 200 (depth limit)"
    assert "deeper than 20 (depth limit)" in fails("((fn f [n] (f (inc n))) 0)", limits=Limits(depth=20))
    assert ev("((fn f [n] (if (zero? n) 0 (inc (f (dec n))))) 150)") == 150
    assert "depth limit" in fails("(letfn [(f [x] (map f [x]))] (f 1))")
    assert "depth limit" in fails("(reduce (fn f [a b] (reduce f a [b])) 0 [1])")


def test_depth_limit_restores_the_recursion_limit() -> None:
    before = sys.getrecursionlimit()
    fails("((fn f [n] (f (inc n))) 0)", limits=Limits(depth=2000))
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize(
    "call", ["(f (inc n))", "(first (map f [n]))", "(reduce (fn [a b] (f a)) 0 [1])", "(sort-by f [1 2])"]
)
def test_a_huge_depth_limit_is_capped_rather_than_crashing(call: str) -> None:
    message = fails(f"((fn f [n] {call}) 0)", limits=Limits(depth=1_000_000, seconds=5))
    assert f"calls nested deeper than {clojure.MAX_CALL_DEPTH} (depth limit)" in message


@pytest.mark.parametrize(
    "source, message",
    [
        ("(vec (range 10000000))", "(range 10000000) has more than 100000 items (result_items limit)"),
        ("(vec (range))", "(range) has more than 100000 items (result_items limit)"),
        ("(count (range))", "(range) has more than 100000 items"),
        ('(repeat 1e9 "a")', "(repeat 1000000000.0 ...) has more than 100000 items"),
        ('(apply str (repeat 10000000 "a"))', "result_items limit"),
        ("(reduce + (range))", "result_items limit"),
        ("(map inc (range))", "result_items limit"),
        ("(concat (range 60000) (range 60000))", "concat has more than 100000 items"),
        ("(for [x (range 1000) y (range 1000)] 1)", "for has more than 100000 items"),
        ("(into [] (concat (range 90000) (range 90000)))", "result_items limit"),
        ('(loop [s "ab"] (recur (str s s)))', "longer than 8388608 (memory limit)"),
        ('(let [s (apply str (repeat 100000 "x"))] (str/join (repeat 100000 s)))', "memory limit"),
        ('(let [s (apply str (repeat 90000 "x"))] (pr-str (vec (repeat 90000 s))))', "memory limit"),
        ('(format "%099999999d" 1)', "memory limit"),
        ("(loop [v [] n 0] (if (< n 40) (recur [v v] (inc n)) v))", "result_items limit"),
        ("(loop [v [] n 0] (if (< n 40) (recur [v v] (inc n)) (flatten v)))", "result_items limit"),
        ("(loop [v 1 n 0] (if (< n 2000) (recur [v] (inc n)) v))", "nested deeper than 400 levels (depth limit)"),
        ("(loop [x 2] (recur (* x x)))", "integer overflow"),
    ],
)
def test_size_limits(source: str, message: str) -> None:
    assert message in fails(source)


DOUBLING = "(fn [] (loop [v [] n 0] (if (< n 60) (recur [v v] (inc n)) v)))"


@pytest.mark.parametrize("use", ["(= (a) (a))", "(set [(a)])", "(distinct [(a) (a)])", "(frequencies [(a)])"])
def test_values_sharing_themselves_stay_on_the_clock(use: str) -> None:
    assert "time limit" in fails(f"(let [a {DOUBLING}] {use})", limits=Limits(seconds=0.3))


def test_take_of_unbounded_seqs() -> None:
    assert ev("(take 3 (range))") == [0, 1, 2]
    assert ev("(first (drop-while #(< % 10) (take 20 (range))))") == 10
    assert ev("(nth (iterate inc 0) 5)") == 5


# ---- speed ---------------------------------------------------------------------------------------------


def test_one_line_is_fast() -> None:
    source = '(concat (:mounts params) (when-let [code (:code params)] [{:path "/app", :source code}]))'
    ev(source, PARAMS)
    start = time.perf_counter()
    for _attempt in range(20):
        ev(source, {**PARAMS, "code": {"type": "host", "path": "."}})
    assert (time.perf_counter() - start) / 20 < 0.01


def test_no_state_between_evaluations() -> None:
    assert ev("(let [x 1] x)") == 1
    assert "unknown symbol 'x'" in fails("x")


# ---- the real code strings -----------------------------------------------------------------------------


def _code_strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _code_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _code_strings(item)
    else:
        code = split_code(value)
        if code and code[0] == CLOJURE:
            yield code[1]


def _corpus() -> dict[str, str]:
    """Each distinct Clojure code string of the shared corpus and stdlib reference, by where it is."""
    found: dict[str, str] = {}
    for path in sorted((SHARED / "corpus").rglob("*.y*ml")):
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError:
            continue
        for document in documents:
            for source in _code_strings(document):
                found.setdefault(source, path.name)
    for path in sorted((SHARED / "reference" / "stdlib").glob("*.md")):
        for block in re.findall(r"```ya?ml\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            try:
                document = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            for source in _code_strings(document):
                found.setdefault(source, path.name)
    return found


needs_corpus = pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason=f"no shared corpus at {SHARED}")

HOST = {"type": "host", "path": "./code"}
VOLUME = {"type": "volume", "scope": "project", "id": "data"}
MOUNT = {"path": "/m", "source": VOLUME}
ENV = [{"name": "A", "value": "1"}]
# (clojure.string/join coll) has no separator: the module's brokers run together
REDPANDA = (
    'kafka:\n  brokers: ["redpanda:9092other:9093"]\nserver:\n  listenPort: 8079\n'
    '  schemaRegistry:\n    enabled: true\n    urls: ["http://r:8081"]\n'
    "logger:\n  level: info\n"
)

# (a part of the code string, or "= " and the whole of it; params; the plain result)
CORPUS_CASES: list[tuple[str, dict, Any]] = [
    ("= pt/module-project-ref", {}, None),
    (
        '(->> ["psql"',
        {"hostname": "db", "username": "u", "database": "d"},
        ["psql", "--host=db", "--user=u", "--dbname=d"],
    ),
    (
        '(->> ["psql"',
        {"hostname": "db", "username": "u", "database": "d", "command": "\\dt"},
        ["psql", "--host=db", "--user=u", "--dbname=d", "--command=\\dt"],
    ),
    ("--authtoken=", {"authtoken": "tok"}, "http --log stdout --authtoken=tok ingest-api:4001"),
    ("--authtoken=", {}, "http --log stdout --authtoken= ingest-api:4001"),
    ("= (:image params)", {"image": "curity:9"}, "curity:9"),
    ("= (:id params)", {"id": "curity"}, "curity"),
    ("= (:id params)", {}, None),
    ("= (:restart params)", {"restart": {"policy": "always"}}, {"policy": "always"}),
    ("= (:cmd params)", {"cmd": ["a", "b"]}, ["a", "b"]),
    ("= (:container-id params)", {"container-id": "c1"}, "c1"),
    ("= (:port params)", {"port": 8080}, 8080),
    ("LOGGING_LEVEL", {"log-level": "DEBUG", "env": ENV}, [{"name": "LOGGING_LEVEL", "value": "DEBUG"}, *ENV]),
    # a nil item stays in the list; the expander drops nil items
    ("LOGGING_LEVEL", {"env": ENV}, [None, *ENV]),
    ("LOGGING_LEVEL", {}, [None]),
    (
        "config.xml",
        {"config-file": HOST, "mounts": [MOUNT]},
        [MOUNT, {"path": "/opt/idsvr/etc/init/config.xml", "source": HOST}],
    ),
    ("config.xml", {"mounts": [MOUNT]}, [MOUNT]),
    ("config.xml", {}, []),
    (
        "(concat (:mounts params) (when-let [code",
        {"mounts": [MOUNT], "code": HOST},
        [MOUNT, {"path": "/app", "source": HOST}],
    ),
    ("(concat (:mounts params) (when-let [code", {}, []),
    (
        "pip install",
        {"requirements": HOST, "cmd": "python app.py"},
        "sh -c 'pip install -r /requirements.txt; python app.py'",
    ),
    ("pip install", {"requirements": HOST}, "sh -c 'pip install -r /requirements.txt; python'"),
    (
        "pip install",
        {"requirements": HOST, "cmd": ["python", "-m", "app"]},
        "sh -c 'pip install -r /requirements.txt; python -m app'",
    ),
    ("pip install", {"cmd": "python app.py"}, "python app.py"),
    ("pip install", {}, None),
    (
        '"/requirements.txt", :source reqs}]) (:mounts',
        {"code": HOST, "requirements": VOLUME, "mounts": [MOUNT]},
        [{"path": "/app", "source": HOST}, {"path": "/requirements.txt", "source": VOLUME}, MOUNT],
    ),
    ('"/requirements.txt", :source reqs}]) (:mounts', {}, []),
    (
        ":protocol :http",
        {"services": [{"id": "web", "port": 80}]},
        [{"id": "web", "ports": [{"port": 80, "protocol": "http"}]}],
    ),
    (":protocol :http", {}, []),
    ('"/requirements", :source reqs}])))', {"code": HOST}, [{"path": "/app", "source": HOST}]),
    (
        "data-backup.sql",
        {"data-volume": VOLUME, "scripts": [HOST]},
        [
            {"path": "/var/lib/postgresql/data", "source": VOLUME},
            {"path": "/docker-entrypoint-initdb.d/data-backup.sql", "source": HOST},
        ],
    ),
    ("data-backup.sql", {}, []),
    ("= (empty? (:scripts params))", {}, True),
    ("= (empty? (:scripts params))", {"scripts": [HOST]}, False),
    ("npm install", {"package": HOST, "cmd": ["node", "x.js"]}, "sh -c 'npm install /package.json; node x.js'"),
    ("npm install", {"package": HOST}, "sh -c 'npm install /package.json; node'"),
    ("npm install", {"cmd": "node"}, "node"),
    (
        '"/package.json", :source reqs}])',
        {"package": HOST, "mounts": [MOUNT]},
        [{"path": "/package.json", "source": HOST}, MOUNT],
    ),
    ("/var/lib/redpanda/data", {"data-volume": VOLUME}, [{"path": "/var/lib/redpanda/data", "source": VOLUME}]),
    ("/var/lib/redpanda/data", {}, None),
    (
        "brokers (clojure.string/join",
        {
            "brokers": [{"host": "redpanda", "port": 9092}, {"host": "other", "port": 9093}],
            "port": 8079,
            "schema-registry-url": "http://r:8081",
            "log-level": "info",
        },
        REDPANDA,
    ),
]


def _case_for(source: str) -> list[tuple[dict, Any]]:
    """The cases written for this code string: by "= " and the whole of it, or by a part of it."""
    flat = " ".join(source.split())
    return [
        (params, expected)
        for part, params, expected in CORPUS_CASES
        if (part[2:] == flat if part.startswith("= ") else part in flat)
    ]


@needs_corpus
def test_every_corpus_code_string_has_cases() -> None:
    corpus = _corpus()
    assert len(corpus) >= 10
    missing = {where: " ".join(source.split())[:80] for source, where in corpus.items() if not _case_for(source)}
    assert missing == {}


@needs_corpus
def test_corpus_code_strings_evaluate() -> None:
    checked = 0
    for source, where in _corpus().items():
        for params, expected in _case_for(source):
            assert ev(source, params) == expected, f"{where}: {source.strip()[:60]} with {params}"
            checked += 1
    assert checked >= len(CORPUS_CASES)


@needs_corpus
def test_corpus_module_refs() -> None:
    [source] = [s for s in _corpus() if s.strip() == "pt/module-project-ref"]
    assert ev(source, module_project_ref="carbonbridge") == "carbonbridge"
