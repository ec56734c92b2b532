# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Clojure reader for ``#pt-clj`` code strings, and the values it reads into.

Why not a package from PyPI: ``edn_format`` (the maintained EDN reader) reads lists, vectors, maps,
sets, keywords, symbols, strings, numbers, ratios, chars and ``#_``, but stops with "Illegal
character" at ``#(...)``, ``#"regex"`` and ``'quote`` (none of them is EDN), reads a char as a
plain str (so ``\\a`` and ``"a"`` cannot be told apart), reports offsets rather than line:column, and
brings ply, pyRFC3339 and pytz along.  Code strings are short, so this reader is a small
recursive-descent one over the whole source.

Values: nil, true and false are None, True and False; numbers are int and float (a ratio literal
``1/2`` reads as the float 0.5); strings are str.  The other types below are immutable so that any
value can be a map key or a set member.
"""

from __future__ import annotations

# Exact type checks on purpose: bool is an int subclass and a Keyword must not pass for a str, so
# Clojure's types are told apart with type(x) is T, not isinstance.
# pylint: disable=unidiomatic-typecheck

import contextvars
import math
import re
import sys
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError

if TYPE_CHECKING:
    from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_runtime import Budget

# Deeper source nesting than any real code string; it also keeps the evaluator off Python's stack limit.
MAX_NESTING = 400


# The running evaluation's budget, set only while one runs.
CURRENT: contextvars.ContextVar[Budget] = contextvars.ContextVar("clojure_budget")


def tick() -> None:
    """Count one step of work against the running evaluation's time limit."""
    budget = CURRENT.get(None)
    if budget is not None:
        budget.tick()


class Symbol:
    __slots__ = ("name", "ns", "short", "line", "col")

    def __init__(self, name: str, line: int = 0, col: int = 0) -> None:
        self.name = name
        # "/" alone is the division function; "a/b/c" keeps its first part as the namespace, like Clojure
        ns, sep, short = name.partition("/")
        if sep and ns and short:
            self.ns: Optional[str] = ns
            self.short = short
        else:
            self.ns = None
            self.short = name
        self.line = line
        self.col = col

    def __eq__(self, other: object) -> bool:
        return type(other) is Symbol and other.name == self.name

    def __hash__(self) -> int:
        return hash(("sym", self.name))

    def __repr__(self) -> str:
        return self.name

    def where(self) -> str:
        return f" at {self.line}:{self.col}" if self.line else ""


class Keyword:
    __slots__ = ("name", "ns")

    def __init__(self, name: str) -> None:
        self.name = name
        ns, sep, short = name.partition("/")
        self.ns = ns if sep and ns and short else None

    def __eq__(self, other: object) -> bool:
        return type(other) is Keyword and other.name == self.name

    def __hash__(self) -> int:
        return hash(("kw", self.name))

    def __repr__(self) -> str:
        return ":" + self.name

    @property
    def short(self) -> str:
        return self.name.rpartition("/")[2] if self.ns else self.name


class Char:
    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Char and other.value == self.value

    def __hash__(self) -> int:
        return hash(("char", self.value))

    def __repr__(self) -> str:
        return "\\" + _CHAR_NAMES_BACK.get(self.value, self.value)


class Vector(tuple[Any, ...]):
    """A Clojure vector; equal to a List with the same items, as in Clojure."""

    __slots__ = ()

    def __hash__(self) -> int:
        # a value that contains itself many times over hashes in exponential time: keep it on the clock
        tick()
        return tuple.__hash__(self)


class List(tuple[Any, ...]):
    """A Clojure list or (realized) seq; code forms are Lists too."""

    __slots__ = ()

    def __hash__(self) -> int:
        tick()
        return tuple.__hash__(self)


class Map(dict[Any, Any]):
    """A Clojure map.  Never mutated after it is built: every change builds a new Map."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        tick()
        return hash(frozenset(self.items()))


class Set:
    """A Clojure set that remembers insertion order, so results come out the same on every run."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items = dict.fromkeys(items)

    def __contains__(self, x: object) -> bool:
        return x in self.items

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        return type(other) is Set and self.items.keys() == other.items.keys()

    def __hash__(self) -> int:
        tick()
        return hash(frozenset(self.items))

    def __repr__(self) -> str:
        return "#{" + " ".join(map(repr, self.items)) + "}"


class Pattern:
    __slots__ = ("source", "regex")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.regex = re.compile(java_regex(source))
        except re.error as e:
            raise CodeError(f"bad regex #{pr_string(source)}: {e}") from None

    def __repr__(self) -> str:
        return '#"' + self.source + '"'


def java_regex(source: str) -> str:
    """Java regex syntax in Python's: named groups differ, \\Q...\\E and \\z do not exist in ``re``."""
    out = re.sub(r"\(\?<([A-Za-z][A-Za-z0-9]*)>", r"(?P<\1>", source)
    out = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), out, flags=re.S)
    return re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", out)


_CHAR_NAMES = {
    "newline": "\n",
    "space": " ",
    "tab": "\t",
    "return": "\r",
    "backspace": "\b",
    "formfeed": "\f",
}
_CHAR_NAMES_BACK = {v: k for k, v in _CHAR_NAMES.items()}
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_DELIMS = set('()[]{}";,') | set(" \t\r\n\f\v")
_INT_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)N?")
_FLOAT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?M?")
_RATIO_RE = re.compile(r"([+-]?[0-9]+)/([0-9]+)")
_SYMBOL_RE = re.compile(r"[^0-9:#'\s][^\s]*|/")


class _Reader:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.line = 1
        self.col = 1
        self.depth = 0
        # one entry per #( being read: the highest %N seen and whether %& was
        self.anon: list[list[Any]] = []

    def error(self, message: str, line: int = 0, col: int = 0) -> CodeError:
        return CodeError(f"syntax error at {line or self.line}:{col or self.col}: {message}")

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def next(self) -> str:
        ch = self.src[self.pos]
        self.pos += 1
        if ch == "\n":
            self.line += 1
            self.col = 1
        else:
            self.col += 1
        return ch

    def skip_space(self) -> None:
        src = self.src
        while self.pos < len(src):
            ch = src[self.pos]
            if ch in " \t\r\n\f\v,":
                self.next()
            elif ch == ";":
                while self.pos < len(src) and src[self.pos] != "\n":
                    self.next()
            else:
                return

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.src) and self.src[self.pos] not in _DELIMS:
            self.next()
        return self.src[start : self.pos]

    def read_all(self) -> list[Any]:
        forms: list[Any] = []
        while True:
            self.skip_space()
            if self.pos >= len(self.src):
                return forms
            form = self.read()
            if form is not _DISCARDED:
                forms.append(form)

    def read(self) -> Any:
        """One form; the caller has skipped whitespace and is not at the end."""
        # Every form counts, so quotes, #_ and #{} nest within the bound as lists do; no helper frame,
        # so the bound stays below Python's recursion limit.
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"forms nested deeper than {MAX_NESTING} levels")
        try:
            line, col = self.line, self.col
            ch = self.peek()
            if ch in "([{":
                self.next()
                items = self.read_seq({"(": ")", "[": "]", "{": "}"}[ch], line, col)
                if ch == "(":
                    return List(items)
                if ch == "[":
                    return Vector(items)
                return self.make_map(items, line, col)
            if ch in ")]}":
                raise self.error(f"unmatched '{ch}'")
            if ch == '"':
                self.next()
                return self.read_string(line, col)
            if ch == "\\":
                self.next()
                return self.read_char(line, col)
            if ch == ":":
                self.next()
                name = self.token()
                if not name or name.startswith(":"):
                    what = "auto-resolved keywords (::k)" if name.startswith(":") else "an empty keyword"
                    raise self.error(f"{what} cannot be read", line, col)
                return Keyword(name)
            if ch == "'":
                self.next()
                return List((Symbol("quote", line, col), self.read_next(line, col, "'")))
            if ch == "#":
                self.next()
                return self.read_dispatch(line, col)
            if ch in "`~@^":
                raise self.error(
                    {"`": "syntax quote", "~": "unquote", "@": "deref (@)", "^": "metadata (^)"}[ch]
                    + " is not supported in code strings"
                )
            return self.read_atom(line, col)

        finally:
            self.depth -= 1

    def read_next(self, line: int, col: int, after: str) -> Any:
        while True:
            self.skip_space()
            if self.pos >= len(self.src) or self.peek() in ")]}":
                raise self.error(f"nothing to read after {after}", line, col)
            form = self.read()
            if form is not _DISCARDED:
                return form

    def read_seq(self, close: str, line: int, col: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip_space()
            ch = self.peek()
            if not ch:
                opening = {")": "(", "]": "[", "}": "{"}[close]
                raise self.error(f"'{opening}' is never closed", line, col)
            if ch == close:
                self.next()
                return items
            if ch in ")]}":
                raise self.error(f"'{ch}' closes nothing here: expected '{close}'")
            form = self.read()
            if form is not _DISCARDED:
                items.append(form)

    def make_map(self, items: list[Any], line: int, col: int) -> Map:
        if len(items) % 2:
            raise self.error("a map literal needs an even number of forms", line, col)
        result = Map()
        for i in range(0, len(items), 2):
            if items[i] in result:
                raise self.error(f"duplicate key {pr_str(items[i])} in a map literal", line, col)
            dict.__setitem__(result, items[i], items[i + 1])
        return result

    def read_string(self, line: int, col: int) -> str:
        out: list[str] = []
        while True:
            if self.pos >= len(self.src):
                raise self.error("a string is never closed", line, col)
            at = (self.line, self.col)
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch != "\\":
                out.append(ch)
                continue
            if self.pos >= len(self.src):
                raise self.error("a string is never closed", line, col)
            esc = self.next()
            if esc in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[esc])
            elif esc == "u":
                digits = self.src[self.pos : self.pos + 4]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    raise self.error("\\u needs four hex digits", *at)
                for _digit in range(4):
                    self.next()
                out.append(chr(int(digits, 16)))
            elif esc in "01234567":
                digits = esc
                while len(digits) < 3 and self.peek() in tuple("01234567"):
                    digits += self.next()
                out.append(chr(int(digits, 8)))
            else:
                raise self.error(f"unsupported escape character \\{esc}", *at)

    def read_char(self, line: int, col: int) -> Char:
        if self.pos >= len(self.src):
            raise self.error("a char literal needs a character after \\", line, col)
        first = self.next()
        rest = self.token() if first.isalnum() else ""
        if not rest:
            return Char(first)
        name = first + rest
        if name in _CHAR_NAMES:
            return Char(_CHAR_NAMES[name])
        if re.fullmatch(r"u[0-9a-fA-F]{4}", name):
            return Char(chr(int(name[1:], 16)))
        if re.fullmatch(r"o[0-7]{1,3}", name):
            return Char(chr(int(name[1:], 8)))
        raise self.error(f"unsupported character \\{name}", line, col)

    def read_dispatch(self, line: int, col: int) -> Any:
        ch = self.peek()
        if ch == "{":
            self.next()
            items = self.read_seq("}", line, col)
            result = Set(items)
            if len(result) != len(items):
                raise self.error("duplicate item in a set literal", line, col)
            return result
        if ch == '"':
            self.next()
            # a regex literal keeps its backslashes: the reader does not unescape it
            start = self.pos
            while True:
                if self.pos >= len(self.src):
                    raise self.error("a regex is never closed", line, col)
                c = self.next()
                if c == "\\" and self.pos < len(self.src):
                    self.next()
                elif c == '"':
                    return Pattern(self.src[start : self.pos - 1])
        if ch == "(":
            if self.anon:
                raise self.error("#() cannot be nested inside another #()", line, col)
            self.anon.append([0, False])
            self.next()
            body = self.read_seq(")", line, col)
            highest, rest = self.anon.pop()
            params: list[Any] = [Symbol(f"%{i}", line, col) for i in range(1, highest + 1)]
            if rest:
                params += [Symbol("&"), Symbol("%&", line, col)]
            return List((Symbol("fn*", line, col), Vector(params), List(body)))
        if ch == "_":
            self.next()
            self.read_next(line, col, "#_")
            return _DISCARDED
        if ch == "'":
            raise self.error("var quote (#') is not supported in code strings", line, col)
        if ch == "?":
            raise self.error("reader conditionals (#?) are not supported in code strings", line, col)
        raise self.error(f"unsupported dispatch #{ch}", line, col)

    def read_atom(self, line: int, col: int) -> Any:
        text = self.token()
        if not text:
            raise self.error(f"unexpected character {self.peek()!r}")
        if text == "nil":
            return None
        if text == "true":
            return True
        if text == "false":
            return False
        first = text[0]
        if first.isdigit() or (first in "+-" and len(text) > 1 and text[1].isdigit()):
            return self.number(text, line, col)
        if first == "%" and self.anon:
            return self.anon_arg(text, line, col)
        if not _SYMBOL_RE.fullmatch(text) or text.endswith("/") and text != "/" or "//" in text:
            raise self.error(f"invalid token {text!r}", line, col)
        return Symbol(text, line, col)

    def anon_arg(self, text: str, line: int, col: int) -> Symbol:
        frame = self.anon[-1]
        if text == "%&":
            frame[1] = True
            return Symbol("%&", line, col)
        if text == "%":
            text = "%1"
        if not re.fullmatch(r"%[1-9][0-9]?", text):
            raise self.error(f"invalid argument {text!r} in #()", line, col)
        frame[0] = max(frame[0], int(text[1:]))
        return Symbol(text, line, col)

    def number(self, text: str, line: int, col: int) -> Any:
        if _INT_RE.fullmatch(text):
            digits = text.rstrip("N")
            sign = -1 if digits.startswith("-") else 1
            digits = digits.lstrip("+-")
            return sign * (int(digits[2:], 16) if digits[:2] in ("0x", "0X") else int(digits, 10))
        if _FLOAT_RE.fullmatch(text):
            return float(text.rstrip("M"))
        ratio = _RATIO_RE.fullmatch(text)
        if ratio and int(ratio.group(2)):
            num, den = int(ratio.group(1)), int(ratio.group(2))
            return num // den if num % den == 0 else num / den
        raise self.error(f"invalid number {text!r}", line, col)


_DISCARDED = object()


def read_all(source: str) -> list[Any]:
    """Every top-level form of ``source``; a syntax error is a CodeError with its line:column."""
    # A nested form costs the reader up to three Python frames: room for MAX_NESTING of them.
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 4 * MAX_NESTING + 500))
    try:
        return _Reader(source).read_all()
    finally:
        sys.setrecursionlimit(old_limit)


def read_one(source: str) -> Any:
    forms = read_all(source)
    if len(forms) != 1:
        raise CodeError(f"expected one form, read {len(forms)}")
    return forms[0]


# ---- printing (pr-str and str share it) -------------------------------------------------------------


def pr_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def pr_number(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "##NaN"
        if x in (float("inf"), float("-inf")):
            return "##Inf" if x > 0 else "##-Inf"
        text = repr(x)
        if "e" in text:
            mantissa, exp = text.split("e")
            text = (mantissa if "." in mantissa else mantissa + ".0") + "E" + str(int(exp))
        return text
    return str(x)


class LimitExceeded(CodeError):
    """Going past one of the Limits: never caught by a code string's own try/catch."""


def pr_str(x: Any, readably: bool = True, max_chars: int = 1 << 62) -> str:
    """The printed form of a value, as ``pr-str`` (readably) or as ``str`` prints a collection."""
    out: list[str] = []
    _Printer(out, readably, max_chars).write(x, 0)
    return "".join(out)


class _Printer:
    def __init__(self, out: list[str], readably: bool, max_chars: int) -> None:
        self.out = out
        self.readably = readably
        self.left = max_chars

    def put(self, text: str) -> None:
        # a value that shares one big string many times must not print into gigabytes
        self.left -= len(text)
        if self.left < 0:
            raise LimitExceeded("a printed value is too long (memory limit)")
        self.out.append(text)

    def write(self, x: Any, depth: int) -> None:
        if depth > MAX_NESTING:
            raise LimitExceeded(f"cannot print a value nested deeper than {MAX_NESTING} levels (depth limit)")
        t = type(x)
        if x is None or x is True or x is False:
            self.put("nil" if x is None else "true" if x else "false")
        elif t is str:
            self.put(pr_string(x) if self.readably else x)
        elif t is int or t is float:
            self.put(pr_number(x))
        elif t is Keyword:
            self.put(":" + x.name)
        elif t is Symbol:
            self.put(x.name)
        elif t is Char:
            self.put(repr(x) if self.readably else x.value)
        elif t is Vector or t is List or t is Set:
            self.put("[" if t is Vector else "(" if t is List else "#{")
            for i, item in enumerate(x):
                if i:
                    self.put(" ")
                self.write(item, depth + 1)
            self.put("]" if t is Vector else ")" if t is List else "}")
        elif t is Map:
            self.put("{")
            for i, (k, v) in enumerate(x.items()):
                if i:
                    self.put(", ")
                self.write(k, depth + 1)
                self.put(" ")
                self.write(v, depth + 1)
            self.put("}")
        elif t is Pattern:
            self.put(repr(x))
        else:
            printed = getattr(x, "printed", None)
            self.put(printed() if printed is not None else f"#object[{t.__name__}]")
