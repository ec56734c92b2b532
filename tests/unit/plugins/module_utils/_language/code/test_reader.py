# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Clojure reader: every form a code string can hold, and syntax errors with their line:column."""

from __future__ import annotations

# The reader's values are told apart by exact type (a Keyword is not a str).
# pylint: disable=unidiomatic-typecheck

import re
from typing import Any

import pytest

from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError
from ansible_collections.polytope.core.plugins.module_utils._language.code.reader import (
    Char,
    Keyword,
    List,
    Map,
    Pattern,
    Set,
    Symbol,
    Vector,
    java_regex,
    pr_str,
    read_all,
    read_one,
)

# source -> how it prints back after reading
PRINTED = [
    ("(a b c)", "(a b c)"),
    ("[1, 2,3]", "[1 2 3]"),
    ("{:a 1, :b [2]}", "{:a 1, :b [2]}"),
    ("#{:x}", "#{:x}"),
    ("()", "()"),
    ("[[] {} #{}]", "[[] {} #{}]"),
    (":a", ":a"),
    (":a/b", ":a/b"),
    (":kebab-case?", ":kebab-case?"),
    ("sym", "sym"),
    ("ns/name", "ns/name"),
    ("clojure.string/join", "clojure.string/join"),
    ("str/join", "str/join"),
    ("Exception.", "Exception."),
    (".method", ".method"),
    ("/", "/"),
    ("-", "-"),
    ("->>", "->>"),
    ("a'", "a'"),
    ("nil", "nil"),
    ("true", "true"),
    ("false", "false"),
    ("42", "42"),
    ("-7", "-7"),
    ("+3", "3"),
    ("0x1F", "31"),
    ("12N", "12"),
    ("1.5", "1.5"),
    ("-0.25", "-0.25"),
    ("1e3", "1000.0"),
    ("2.5M", "2.5"),
    ("1/2", "0.5"),
    ("4/2", "2"),
    ('"plain"', '"plain"'),
    ('"tab\\there\\nnl \\"q\\" \\\\ \\u0041 \\101"', '"tab\\there\\nnl \\"q\\" \\\\ A A"'),
    ("\\a", "\\a"),
    ("\\newline", "\\newline"),
    ("\\space", "\\space"),
    ("\\tab", "\\tab"),
    ("\\:", "\\:"),
    ("\\u0041", "\\A"),
    ("'x", "(quote x)"),
    ("'(1 2)", "(quote (1 2))"),
    ("#(inc %)", "(fn* [%1] (inc %1))"),
    ("#(+ %1 %2)", "(fn* [%1 %2] (+ %1 %2))"),
    ("#(apply + %&)", "(fn* [& %&] (apply + %&))"),
    ("#(vector %2)", "(fn* [%1 %2] (vector %2))"),
    ("#(str % %&)", "(fn* [%1 & %&] (str %1 %&))"),
    ("(a #_ (b c) d)", "(a d)"),
    ("(a #_ #_ b c d)", "(a d)"),
    ("(a ; a comment\n b)", "(a b)"),
    ('#"a\\d+"', '#"a\\d+"'),
]


@pytest.mark.parametrize("source, printed", PRINTED, ids=[p[0] for p in PRINTED])
def test_reads(source: str, printed: str) -> None:
    assert pr_str(read_one(source)) == printed


def test_types() -> None:
    form = read_one('(f :k "s" 1 1.0 \\c [v] {:m 1} #{s} #"r" nil true)')
    assert type(form) is List
    kinds = [type(x) for x in form]
    assert kinds == [Symbol, Keyword, str, int, float, Char, Vector, Map, Set, Pattern, type(None), bool]
    assert read_one(":a/b").ns == "a" and read_one(":a/b").short == "b"
    sym = read_one("clojure.string/join")
    assert (sym.ns, sym.short) == ("clojure.string", "join")
    assert read_one("/").ns is None


def test_symbol_positions() -> None:
    forms = read_all("(a\n  (b c))")
    inner = forms[0][1]
    assert (inner[0].line, inner[0].col) == (2, 4)


def test_several_forms_and_empty() -> None:
    assert [pr_str(f) for f in read_all("1 2 ; three")] == ["1", "2"]
    assert read_all("  ; nothing\n") == []


def test_map_and_set_values_are_hashable() -> None:
    forms = read_one("#{[1 2] {:a 1} #{3}}")
    assert len(forms) == 3
    assert hash(read_one("{:a [1]}")) == hash(read_one("{:a [1]}"))


JAVA_REGEXES = [
    (r"(?<name>\w+)-(\d)", r"(?P<name>\w+)-(\d)", "ab-1", "ab-1"),
    (r"\Qa.b\E+", r"a\.b+", "a.bbb", "a.bbb"),
    (r"end\z", r"end\Z", "the end", "end"),
    (r"[\s,]+", r"[\s,]+", "a, b", ", "),
]


@pytest.mark.parametrize("java, python, text, found", JAVA_REGEXES)
def test_java_regex(java: str, python: str, text: str, found: str) -> None:
    assert java_regex(java) == python
    match = re.search(java_regex(java), text)
    assert match is not None and match.group(0) == found


SYNTAX_ERRORS = [
    ("(a b", "1:1", "never closed"),
    ("[1 2\n (3)", "1:1", "'[' is never closed"),
    ("(a))", "1:4", "unmatched ')'"),
    ("(a]", "1:3", "expected ')'"),
    ("{:a}", "1:1", "even number"),
    ("{:a 1 :a 2}", "1:1", "duplicate key :a"),
    ("#{1 1}", "1:1", "duplicate item"),
    ('"abc', "1:1", "string is never closed"),
    ('"a\\qb"', "1:3", "unsupported escape character \\q"),
    ('"\\u12"', "1:2", "\\u needs four hex digits"),
    ("\\foo", "1:1", "unsupported character \\foo"),
    ("(x\n  \\", "2:3", "needs a character"),
    ("::auto", "1:1", "auto-resolved keywords"),
    (":", "1:1", "an empty keyword"),
    ("#(+ #(inc %) 1)", "1:5", "cannot be nested"),
    ("#(%x)", "1:3", "invalid argument '%x'"),
    ("#'var", "1:1", "var quote"),
    ("#?(:clj 1)", "1:1", "reader conditionals"),
    ('#inst "2020"', "1:1", "unsupported dispatch #i"),
    ("`(a ~b)", "1:1", "syntax quote"),
    ("@x", "1:1", "deref"),
    ("^:meta x", "1:1", "metadata"),
    ("(a\n 1.2.3)", "2:2", "invalid number '1.2.3'"),
    ("1/0", "1:1", "invalid number"),
    ("'", "1:1", "nothing to read after '"),
    ("(#_)", "1:2", "nothing to read after #_"),
    ('#"a(b"', "1:1", "bad regex"),
    ('#"abc', "1:1", "regex is never closed"),
    ("a//b", "1:1", "invalid token"),
    ("(" * 500 + ")" * 500, "1:401", "nested deeper than 400"),
]


@pytest.mark.parametrize("source, where, message", SYNTAX_ERRORS, ids=[e[0][:20] for e in SYNTAX_ERRORS])
def test_syntax_error(source: str, where: str, message: str) -> None:
    with pytest.raises(CodeError) as raised:
        read_all(source)
    text = raised.value.message
    assert message in text
    if "regex" not in message:
        assert text.startswith(f"syntax error at {where}:"), text


def test_printing_stops_at_the_limit() -> None:
    value: Any = read_one('["' + "x" * 100 + '"]')
    assert pr_str(value, max_chars=200).startswith('["x')
    with pytest.raises(CodeError, match="memory limit"):
        pr_str(value, max_chars=50)
