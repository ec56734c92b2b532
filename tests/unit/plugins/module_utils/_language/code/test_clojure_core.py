# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clojure code strings: every allow-listed function against what it means in Clojure."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.polytope.core.plugins.module_utils._language.code import Bindings, CodeError, Limits
from ansible_collections.polytope.core.plugins.module_utils._language.code import clojure
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_core import CORE
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_string import SETS, STRING, TEXT


def _missing(name: str) -> Any:
    raise CodeError(f"no value {name!r}")


def ev(source: str, **params: Any) -> Any:
    return clojure.evaluate(source, Bindings(params=params, value=_missing, secret=_missing), Limits())


# expression -> plain result; Clojure's own result in a comment where conversion changes its look
CASES: list[tuple[str, Any]] = [
    # text
    ('(str "a" 1 nil :k \\c 1.5 [1 "x"] {:a nil})', 'a1:kc1.5[1 "x"]{:a nil}'),
    ("(str)", ""),
    ('(subs "hello" 1)', "ello"),
    ('(subs "hello" 1 3)', "el"),
    ('(pr-str "a" :b [1 "c"] nil \\x)', '"a" :b [1 "c"] nil \\x'),
    ('(prn-str "a" 1)', '"a" 1\n'),
    ('(format "%s is %d, %5.2f%% %-4s|%03d %x" "x" 42 3.14159 "ab" 7 255)', "x is 42,  3.14% ab  |007 ff"),
    ('(format "%2$s %1$s" "a" "b")', "b a"),
    ('(re-find #"\\d+" "ab12cd34")', "12"),
    ('(re-find #"(\\w)(\\d)?" "a")', ["a", "a", None]),
    ('(re-find #"x" "abc")', None),
    ('(re-matches #"a(b+)" "abbb")', ["abbb", "bbb"]),
    ('(re-matches #"a" "ab")', None),
    ('(re-seq #"\\d" "a1b2c3")', ["1", "2", "3"]),
    ('(re-seq #"\\d" "abc")', None),
    ('(re-find (re-pattern "a.c") "xabcx")', "abc"),
    ('(re-find #"(?<year>\\d{4})" "in 2024")', ["2024", "2024"]),
    ('(re-find #"(?i)ABC" "xabc")', "abc"),
    # clojure.string, by all three names
    ('(clojure.string/join ", " [1 "b" :c])', "1, b, :c"),
    ('(str/join ["a" "b"])', "ab"),
    ('(string/join "-" (range 3))', "0-1-2"),
    ('(str/split "a,b,,c,," #",")', ["a", "b", "", "c"]),
    ('(str/split "a1b22c" #"\\d+" 2)', ["a", "b22c"]),
    ('(str/split "abc" #"")', ["a", "b", "c"]),
    ('(str/split "" #",")', [""]),
    ('(str/split " a  b " #"\\s+")', ["", "a", "b"]),
    ('(str/replace "a.b.c" "." "-")', "a-b-c"),
    ('(str/replace "a-b-c" #"-(\\w)" "[$1]")', "a[b][c]"),
    ('(str/replace "abc" #"b" "\\\\$")', "a$c"),
    ('(str/replace "ab" #"(a)(b)" "$0$2$1")', "abba"),
    ('(str/replace "hello world" #"o" (fn [m] (str/upper-case m)))', "hellO wOrld"),
    ('(str/replace "x1y2" #"(\\w)(\\d)" (fn [[_ l d]] (str d l)))', "1x2y"),
    ('(str/replace "abc" \\b \\x)', "axc"),
    ('(clojure.string/replace "pkg1, pkg2  pkg3" #"[\\s,]+" " ")', "pkg1 pkg2 pkg3"),
    ('(str/replace-first "aaa" "a" "b")', "baa"),
    ('(str/replace-first "a1b2" #"\\d" "_")', "a_b2"),
    ('(str/upper-case "abC")', "ABC"),
    ('(str/lower-case "AbC")', "abc"),
    ('(str/capitalize "hELLO")', "Hello"),
    ('(str/trim "  a b \\n")', "a b"),
    ('(str/triml "  a ")', "a "),
    ('(str/trimr "  a ")', "  a"),
    ('(str/trim-newline "a\\r\\n")', "a"),
    ('[(str/blank? "  ") (str/blank? nil) (str/blank? " a")]', [True, True, False]),
    ('[(str/starts-with? "abc" "ab") (str/starts-with? "abc" "b")]', [True, False]),
    ('[(str/ends-with? "abc" "bc") (str/ends-with? "abc" "b")]', [True, False]),
    ('[(str/includes? "abc" "b") (str/includes? "abc" "d")]', [True, False]),
    ('(str/split-lines "a\\nb\\r\\nc\\n")', ["a", "b", "c"]),
    ('[(str/index-of "abcb" "b") (str/index-of "abcb" "b" 2) (str/index-of "abc" "x")]', [1, 3, None]),
    ('(str/last-index-of "abcb" "b")', 3),
    ('(str/reverse "abc")', "cba"),
    ("(clojure.core/reverse [1 2 3])", [3, 2, 1]),
    ("(reverse nil)", []),
    # names
    ('[(keyword "a") (keyword "ns" "b") (keyword :c)]', ["a", "ns/b", "c"]),
    ('[(name :a/b) (name "s") (name (quote x))]', ["b", "s", "x"]),
    ("[(namespace :a/b) (namespace :c)]", ["a", None]),
    ('(symbol "abc")', "abc"),
    ('[(keyword? :a) (keyword? "a")]', [True, False]),
    # collections
    ('[(count [1 2]) (count {:a 1}) (count "abc") (count nil) (count #{1})]', [2, 1, 3, 0, 1]),
    ("(concat [1] '(2) nil #{3})", [1, 2, 3]),
    ("(concat)", []),
    ('(vec "ab")', ["a", "b"]),
    ("(vec {:a 1})", [["a", 1]]),
    ("(vector 1 2)", [1, 2]),
    ("(list 1 2)", [1, 2]),
    ("(hash-map :a 1 :b 2)", {"a": 1, "b": 2}),
    ("(hash-set 2 1 2)", [1, 2]),
    ("(set [3 1 1])", [1, 3]),
    ("(map inc [1 2 3])", [2, 3, 4]),
    ("(map + [1 2 3] [10 20])", [11, 22]),
    ("(map vector [:a :b] (range))", [["a", 0], ["b", 1]]),
    ("(mapv str [1 2])", ["1", "2"]),
    ("(mapcat (fn [x] [x x]) [1 2])", [1, 1, 2, 2]),
    ("(map-indexed vector [:a :b])", [[0, "a"], [1, "b"]]),
    ("(filter odd? [1 2 3 4 5])", [1, 3, 5]),
    ("(filterv even? [1 2 3 4])", [2, 4]),
    ("(remove nil? [1 nil 2 false])", [1, 2, False]),
    ("(keep :a [{:a 1} {:b 2} {:a false}])", [1, False]),
    ("(reduce + [1 2 3])", 6),
    ("(reduce + 10 [1 2 3])", 16),
    ("(reduce + [])", 0),
    ("(reduce conj [] '(1 2))", [1, 2]),
    ("(reduce (fn [m [k v]] (assoc m v k)) {} {:a 1 :b 2})", {"1": "a", "2": "b"}),
    ("(merge {:a 1 :b 2} {:b 3} nil {:c 4})", {"a": 1, "b": 3, "c": 4}),
    ("(merge nil nil)", None),
    ("(merge-with + {:a 1 :b 2} {:a 10})", {"a": 11, "b": 2}),
    ("(assoc {:a 1} :b 2 :c 3)", {"a": 1, "b": 2, "c": 3}),
    ("(assoc nil :a 1)", {"a": 1}),
    ("(assoc [1 2] 0 :x 2 :y)", ["x", 2, "y"]),
    ("(assoc-in {} [:a :b] 1)", {"a": {"b": 1}}),
    ("(assoc-in {:a {:c 2}} [:a :b] 1)", {"a": {"c": 2, "b": 1}}),
    ("(dissoc {:a 1 :b 2 :c 3} :a :c)", {"b": 2}),
    ("(update {:a 1} :a inc)", {"a": 2}),
    ("(update {:a 1} :a + 10 20)", {"a": 31}),
    ("(update-in {:a {:b 1}} [:a :b] * 5)", {"a": {"b": 5}}),
    ("(get {:a 1} :a)", 1),
    ("(get {:a 1} :b :dflt)", "dflt"),
    ("(get [10 20] 1)", 20),
    ("(get [10 20] 5)", None),
    ("(get nil :a)", None),
    ('(get "abc" 1)', "b"),
    ("(get #{:a} :a)", "a"),
    ("(get-in {:a {:b [1 2]}} [:a :b 1])", 2),
    ("(get-in {:a 1} [:x :y] :none)", "none"),
    (
        "[(contains? {:a nil} :a) (contains? {:a 1} :b) (contains? [1 2] 1) (contains? [1 2] 2) (contains? #{1} 1)]",
        [True, False, True, False, True],
    ),
    ("(keys {:a 1 :b 2})", ["a", "b"]),
    ("(keys {})", None),
    ("(vals {:a 1 :b 2})", [1, 2]),
    ("(select-keys {:a 1 :b 2 :c 3} [:a :c :d])", {"a": 1, "c": 3}),
    ("(into [] '(1 2))", [1, 2]),
    ("(into '() [1 2])", [2, 1]),
    ("(into {} [[:a 1] [:b 2]])", {"a": 1, "b": 2}),
    ("(into {:a 1} {:b 2})", {"a": 1, "b": 2}),
    ("(into #{} [1 1 2])", [1, 2]),
    ("(into [1] nil)", [1]),
    ("(conj [1] 2 3)", [1, 2, 3]),
    ("(conj '(1) 2 3)", [3, 2, 1]),
    ("(conj nil 1)", [1]),
    ("(conj {:a 1} [:b 2])", {"a": 1, "b": 2}),
    ("(conj #{1} 2)", [1, 2]),
    ("(cons 0 [1 2])", [0, 1, 2]),
    (
        "[(first [1 2]) (first nil) (first []) (second [1 2]) (second [1]) (last [1 2 3]) (last [])]",
        [1, None, None, 2, None, 3, None],
    ),
    ("[(rest [1 2]) (rest []) (rest nil)]", [[2], [], []]),
    ("[(next [1 2]) (next [1])]", [[2], None]),
    ("[(nth [1 2 3] 1) (nth [1] 5 :d) (nth '(1 2) 0)]", [2, "d", 1]),
    ("(take 2 [1 2 3])", [1, 2]),
    ("(take 5 [1])", [1]),
    ("(drop 2 [1 2 3])", [3]),
    ("(take-while pos? [1 2 -1 3])", [1, 2]),
    ("(drop-while pos? [1 2 -1 3])", [-1, 3]),
    ('[(seq []) (seq [1]) (seq nil) (seq {:a 1}) (seq "ab")]', [None, [1], None, [["a", 1]], ["a", "b"]]),
    ('[(empty? []) (empty? nil) (empty? "") (empty? [1]) (empty? {})]', [True, True, True, False, True]),
    ('[(not-empty []) (not-empty [1]) (not-empty "")]', [None, [1], None]),
    ("[(empty [1]) (empty {:a 1}) (empty nil)]", [[], {}, None]),
    ("[(some even? [1 2 3]) (some even? [1 3]) (some #{3} [1 3])]", [True, None, 3]),
    ("[(every? odd? [1 3]) (every? odd? [1 2]) (every? odd? [])]", [True, False, True]),
    ("[(some? nil) (some? false) (nil? nil) (nil? false)]", [False, True, True, False]),
    (
        '[(string? "a") (string? :a) (map? {}) (map? []) (vector? []) (vector? (list))]',
        [True, False, True, False, True, False],
    ),
    (
        '[(seq? \'(1)) (seq? [1]) (seq? (map inc [1])) (coll? []) (coll? {}) (coll? "a")]',
        [True, False, True, True, True, False],
    ),
    (
        '[(number? 1) (number? 1.5) (number? "1") (int? 1) (int? 1.0) (integer? 2) (integer? true)]',
        [True, True, False, True, False, True, False],
    ),
    (
        "[(boolean? false) (boolean? nil) (true? true) (true? 1) (false? false) (false? nil)]",
        [True, False, True, False, True, False],
    ),
    ("[(fn? inc) (fn? #(+ 1 %)) (fn? :a) (fn? {})]", [True, True, False, False]),
    ("(range 3)", [0, 1, 2]),
    ("(range 1 4)", [1, 2, 3]),
    ("(range 10 0 -3)", [10, 7, 4, 1]),
    ("(range 0 1 0.25)", [0, 0.25, 0.5, 0.75]),
    ("(take 3 (range))", [0, 1, 2]),
    ("(repeat 3 :x)", ["x", "x", "x"]),
    ("(take 2 (repeat 1))", [1, 1]),
    ("(take 4 (iterate #(* 2 %) 1))", [1, 2, 4, 8]),
    ("(take 5 (cycle [1 2]))", [1, 2, 1, 2, 1]),
    ("(distinct [1 2 1 3 2])", [1, 2, 3]),
    ("(sort [3 1 2])", [1, 2, 3]),
    ('(sort ["b" "a" "c"])', ["a", "b", "c"]),
    ("(sort > [3 1 2])", [3, 2, 1]),
    ("(sort [[2 1] [1 2] [1 1]])", [[1, 1], [1, 2], [2, 1]]),
    ("(sort [:b :a])", ["a", "b"]),
    ("(sort-by :n [{:n 2} {:n 1}])", [{"n": 1}, {"n": 2}]),
    ('(sort-by count > ["a" "abc" "ab"])', ["abc", "ab", "a"]),
    ("(sort-by first [[2 :a] [1 :b] [2 :c]])", [[1, "b"], [2, "a"], [2, "c"]]),
    ("(group-by odd? [1 2 3])", {"true": [1, 3], "false": [2]}),
    (
        "(group-by :k [{:k :a :v 1} {:k :b :v 2} {:k :a :v 3}])",
        {"a": [{"k": "a", "v": 1}, {"k": "a", "v": 3}], "b": [{"k": "b", "v": 2}]},
    ),
    ("(frequencies [:a :b :a])", {"a": 2, "b": 1}),
    ('(interpose ", " ["a" "b" "c"])', ["a", ", ", "b", ", ", "c"]),
    ("(interleave [1 2 3] [:a :b])", [1, "a", 2, "b"]),
    ("(partition 2 [1 2 3 4 5])", [[1, 2], [3, 4]]),
    ("(partition 2 1 [1 2 3])", [[1, 2], [2, 3]]),
    ("(partition 2 2 [:pad] [1 2 3])", [[1, 2], [3, "pad"]]),
    ("(partition-all 2 [1 2 3])", [[1, 2], [3]]),
    ("(flatten [1 [2 [3 '(4)]] 5])", [1, 2, 3, 4, 5]),
    ("(flatten nil)", []),
    ("(zipmap [:a :b] [1 2 3])", {"a": 1, "b": 2}),
    ("(identity 5)", 5),
    ("(update {} :n (fnil inc 0))", {"n": 1}),
    ('(format "%s|%5s" nil "ab")', "null|   ab"),
    ("((constantly 7) 1 2)", 7),
    ("((comp inc #(* 2 %)) 5)", 11),
    ("((comp) 3)", 3),
    ("((partial + 1 2) 3)", 6),
    ("((complement nil?) 1)", True),
    ("(apply + 1 [2 3])", 6),
    ('(apply str ["a" "b"])', "ab"),
    ("(apply max [3 9 2])", 9),
    ("((juxt :a :b) {:a 1 :b 2})", [1, 2]),
    # logic and comparison
    ("[(not nil) (not 0) (not false)]", [True, False, True]),
    (
        '[(= 1 1) (= [1 2] \'(1 2)) (= {:a [1]} {:a \'(1)}) (= 1 1.0) (= "a" "a" "a") (= nil false) (= 1 true)]',
        [True, True, True, False, True, False, False],
    ),
    ("[(not= 1 2) (not= [1] [1])]", [True, False]),
    ("[(< 1 2 3) (< 1 3 2) (> 3 2) (<= 1 1 2) (>= 2 2 1)]", [True, False, True, True, True]),
    # numbers
    ("[(+) (+ 1 2 3) (- 5) (- 10 1 2) (*) (* 2 3 4)]", [0, 6, -5, 7, 1, 24]),
    ("[(/ 6 3) (/ 1 2) (/ 2) (/ 1.0 4)]", [2, 0.5, 0.5, 0.25]),
    ("[(quot 7 2) (quot -7 2) (rem 7 2) (rem -7 2) (mod -7 2) (mod 7 -2)]", [3, -3, 1, -1, 1, -1]),
    ("[(inc 1) (dec 1) (inc 1.5)]", [2, 0, 2.5]),
    ("[(max 1 5 3) (min 4 2 8) (abs -3) (abs 2.5)]", [5, 2, 3, 2.5]),
    ("[(zero? 0) (zero? 1) (pos? 1) (pos? 0) (neg? -1) (neg? 0)]", [True, False, True, False, True, False]),
    ("[(even? 2) (even? 3) (odd? 3) (odd? -3)]", [True, False, True, True]),
    ('[(parse-long "42") (parse-long "-7") (parse-long "4.2") (parse-long "x")]', [42, -7, None, None]),
    ('[(parse-double "4.5") (parse-double "1e3") (parse-double "x")]', [4.5, 1000.0, None]),
    ('[(boolean nil) (boolean false) (boolean 0) (boolean "")]', [False, False, True, True]),
    ("[(int 3.9) (int -3.9) (int \\a)]", [3, -3, 97]),
    # exceptions as values
    ('(ex-message (ex-info "m" {:a 1}))', "m"),
    ('(ex-data (ex-info "m" {:a 1}))', {"a": 1}),
    ('(ex-data (Exception. "m"))', None),
    ('(ex-message (Exception. "m"))', "m"),
    # clojure.set
    ("(clojure.set/union #{1 2} #{2 3})", [1, 2, 3]),
    ("(clojure.set/intersection #{1 2} #{2 3})", [2]),
    ("(clojure.set/difference #{1 2} #{2 3})", [1]),
    # keywords, maps, sets and vectors as functions
    ("(:a {:a 1})", 1),
    ("(:b {:a 1} :dflt)", "dflt"),
    ("(:a nil)", None),
    ("({:a 1} :a)", 1),
    ("({:a 1} :b 2)", 2),
    ("(#{1 2} 2)", 2),
    ("(#{1 2} 3)", None),
    ("([:x :y] 1)", "y"),
    ('(map :path [{:path "/a"} {:path "/b"}])', ["/a", "/b"]),
    ("(filter #{:a} [:a :b :a])", ["a", "a"]),
]


@pytest.mark.parametrize("source, expected", CASES, ids=[c[0][:60] for c in CASES])
def test_function(source: str, expected: Any) -> None:
    assert ev(source) == expected


def test_every_listed_function_has_a_case() -> None:
    written = " ".join(source for source, _expected in CASES)
    untested = [
        name
        for name in list(CORE) + list(TEXT) + [f"str/{n}" for n in STRING] + [f"clojure.set/{n}" for n in SETS]
        if not any(
            f"({name} " in written
            or f"({name})" in written
            or f" {name} " in written
            or f"({prefix}{name.split('/')[-1]} " in written
            for prefix in ("str/", "clojure.string/", "string/", "clojure.set/")
        )
    ]
    # functions whose behaviour is covered by test_clojure.py or too small to need their own case
    covered_elsewhere = {
        "list*",
        "array-map",
        "update-vals",
        "update-keys",
        "find",
        "key",
        "val",
        "butlast",
        "take-last",
        "subvec",
        "not-every?",
        "not-any?",
        "set?",
        "list?",
        "sequential?",
        "float?",
        "double?",
        "symbol?",
        "char?",
        "ifn?",
        "compare",
        "==",
        "parse-boolean",
        "long",
        "double",
        "char",
        "ex-cause",
        "max-key",
        "min-key",
        "re-quote-replacement",
        "str/escape",
        "clojure.set/subset?",
        "clojure.set/superset?",
    }
    assert sorted(set(untested) - covered_elsewhere) == []


EXTRA_CASES: list[tuple[str, Any]] = [
    ("(list* 1 2 [3 4])", [1, 2, 3, 4]),
    ("(array-map :a 1)", {"a": 1}),
    ("(update-vals {:a 1 :b 2} inc)", {"a": 2, "b": 3}),
    ("(update-keys {:a 1} name)", {"a": 1}),
    ("[(find {:a 1} :a) (find {:a 1} :b)]", [["a", 1], None]),
    ("(map key {:a 1})", ["a"]),
    ("(map val {:a 1})", [1]),
    ("[(butlast [1 2 3]) (butlast [1])]", [[1, 2], None]),
    ("(take-last 2 [1 2 3])", [2, 3]),
    ("(subvec [1 2 3 4] 1 3)", [2, 3]),
    ("[(not-every? odd? [1 2]) (not-any? odd? [2 4])]", [True, True]),
    (
        "[(set? #{}) (list? '()) (sequential? []) (sequential? {}) (float? 1.0) (double? 1) (symbol? 'a) (char? \\a) (ifn? :a)]",
        [True, True, True, False, True, False, True, True, True],
    ),
    ('[(compare 1 2) (compare "b" "a") (compare nil 1) (compare [1 2] [1 2])]', [-1, 1, -1, 0]),
    ("[(== 1 1.0) (== 1 2)]", [True, False]),
    ('[(parse-boolean "true") (parse-boolean "no")]', [True, None]),
    ("[(long 2.5) (double 2) (char 97)]", [2, 2.0, "a"]),
    ('(ex-message (ex-cause (ex-info "outer" {} (ex-info "inner" {}))))', "inner"),
    ('[(max-key count "a" "abc" "ab") (min-key count "aa" "b")]', ["abc", "b"]),
    ('(str/replace "a.b" #"\\." (re-quote-replacement "$1"))', "a$1b"),
    ('(str/replace "a.b" "." "$1")', "a$1b"),
    ('(str/escape "a<b" {\\< "&lt;"})', "a&lt;b"),
    ("[(clojure.set/subset? #{1} #{1 2}) (clojure.set/superset? #{1} #{1 2})]", [True, False]),
]


@pytest.mark.parametrize("source, expected", EXTRA_CASES, ids=[c[0][:60] for c in EXTRA_CASES])
def test_smaller_function(source: str, expected: Any) -> None:
    assert ev(source) == expected


FAILING_CALLS: list[tuple[str, str]] = [
    ('(inc "a")', 'inc: a string "a" is not a number'),
    ("(+ 1 true)", "is not a number"),
    ("(< 1 :a)", "is not a number"),
    ("(/ 1 0)", "divide by zero"),
    ("(nth [1 2] 5)", "index 5 is out of bounds"),
    ("(* 9223372036854775807 2)", "integer overflow"),
    ("(inc 9223372036854775807)", "integer overflow"),
    ("(first 5)", "don't know how to create a seq from a number 5"),
    ("(sort [1 :a])", "cannot compare"),
    ('(subs "abc" 1 0)', "subs"),
    ('(format "%d" "x")', "needs an integer"),
    ("(inc)", "wrong number of arguments (0)"),
    ("(assoc {} :a)", "wrong number of arguments"),
    ('(re-find "x" "y")', "expected a regex"),
    ("(str/upper-case)", "wrong number of arguments"),
    ("(clojure.core/fnil-typo inc 0)", "unknown function 'clojure.core/fnil-typo'"),
    ("(5 1)", "cannot be called as a function"),
]


@pytest.mark.parametrize("source, message", FAILING_CALLS, ids=[c[0] for c in FAILING_CALLS])
def test_failing_call(source: str, message: str) -> None:
    with pytest.raises(CodeError) as raised:
        ev(source)
    assert message in raised.value.message
