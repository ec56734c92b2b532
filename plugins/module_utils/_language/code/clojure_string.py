# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allow-listed Clojure text functions: ``str``, ``format``, regexes, names and ``clojure.string``.

Regexes are Python ``re`` patterns translated from Java syntax (see reader.java_regex); ``split`` and
``replace`` keep Java's rules (trailing empty strings dropped, ``$1`` group references).
"""

from __future__ import annotations

# Exact type checks on purpose: bool is an int subclass and a Keyword must not pass for a str, so
# Clojure's types are told apart with type(x) is T, not isinstance.
# pylint: disable=unidiomatic-typecheck

import re
from typing import Any

from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_runtime import (
    _MISSING,
    ExInfo,
    _budget,
    as_fn,
    build,
    check_length,
    describe,
    fail,
    iterate_items,
    num,
    truthy,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code.reader import (
    Char,
    Keyword,
    List,
    Map,
    Pattern,
    Set,
    Symbol,
    Vector,
    pr_str,
)


def keyword(a: Any, b: Any = _MISSING) -> Any:
    if b is not _MISSING:
        return Keyword(f"{a}/{b}" if a is not None else name(b))
    if type(a) is Keyword or a is None:
        return a
    return Keyword(name(a))


def name(x: Any) -> str:
    if type(x) is str:
        return x
    if type(x) in (Keyword, Symbol):
        return x.short  # type: ignore[no-any-return]
    raise fail(f"name: {describe(x)} has no name")


def namespace(x: Any) -> Any:
    if type(x) in (Keyword, Symbol):
        return x.ns
    raise fail(f"namespace: {describe(x)} has no namespace")


def str_(*xs: Any) -> str:
    parts = []
    for x in xs:
        t = type(x)
        if t is str:
            parts.append(x)
        elif x is None:
            continue
        elif t is Char:
            parts.append(x.value)
        else:
            parts.append(pr_str(x, max_chars=_budget().max_chars))
    check_length(sum(map(len, parts)))
    return "".join(parts)


def ex_info(msg: Any, data: Any, cause: Any = None) -> ExInfo:
    if type(data) is not Map and data is not None:
        raise fail("ex-info: the data must be a map")
    return ExInfo(msg, data if data is not None else Map(), cause, "ExceptionInfo")


def parse_long(s: Any) -> Any:
    if type(s) is not str:
        raise fail(f"parse-long: expected a string, got {describe(s)}")
    return int(s) if re.fullmatch(r"[+-]?[0-9]+", s) else None


def parse_double(s: Any) -> Any:
    if type(s) is not str:
        raise fail(f"parse-double: expected a string, got {describe(s)}")
    if re.fullmatch(r"\s*[+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)[dDfF]?\s*", s):
        return float(s.strip().rstrip("dDfF").replace("Infinity", "inf"))
    return None


def _text(x: Any, fname: str) -> str:
    if type(x) is str:
        return x
    raise fail(f"{fname}: expected a string, got {describe(x)}")


def _regex(p: Any, fname: str) -> "re.Pattern[str]":
    if type(p) is Pattern:
        return p.regex
    raise fail(f"{fname}: expected a regex, got {describe(p)}")


def _match_value(m: "re.Match[str]") -> Any:
    if not m.re.groups:
        return m.group(0)
    return Vector((m.group(0), *m.groups()))


def re_find(p: Any, s: Any) -> Any:
    m = _regex(p, "re-find").search(_text(s, "re-find"))
    return _match_value(m) if m else None


def re_matches(p: Any, s: Any) -> Any:
    m = _regex(p, "re-matches").fullmatch(_text(s, "re-matches"))
    return _match_value(m) if m else None


def re_seq(p: Any, s: Any) -> Any:
    found = build(map(_match_value, _regex(p, "re-seq").finditer(_text(s, "re-seq"))), List, "re-seq")
    return found or None


def join(*args: Any) -> str:
    sep, coll = ("", args[0]) if len(args) == 1 else (str_(args[0]), args[1])
    parts = [str_(x) for x in iterate_items(coll)]
    check_length(sum(map(len, parts)) + len(sep) * max(0, len(parts) - 1))
    return sep.join(parts)


def split(s: Any, p: Any, limit: Any = 0) -> Vector:
    text = _text(s, "split")
    regex = re.compile(re.escape(p)) if type(p) is str else _regex(p, "split")
    parts: list[str] = []
    pos = 0
    for m in regex.finditer(text):
        if 0 < limit <= len(parts) + 1:
            break
        if m.end() == 0:
            continue  # Java: a zero-width match at the start gives no leading empty string
        parts.append(text[pos : m.start()])
        pos = m.end()
    if not parts:
        return Vector((text,))
    parts.append(text[pos:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return Vector(parts)


def _java_replacement(rep: str, m: "re.Match[str]") -> str:
    out, i = [], 0
    while i < len(rep):
        ch = rep[i]
        if ch == "\\" and i + 1 < len(rep):
            out.append(rep[i + 1])
            i += 2
        elif ch == "$" and i + 1 < len(rep) and rep[i + 1] == "{":
            end = rep.find("}", i)
            if end < 0:
                raise fail("replace: unclosed ${ in the replacement")
            out.append(m.group(rep[i + 2 : end]) or "")
            i = end + 1
        elif ch == "$":
            j = i + 1
            while j < len(rep) and rep[j].isdigit() and int(rep[i + 1 : j + 1]) <= m.re.groups:
                j += 1
            if j == i + 1:
                raise fail(f"replace: illegal group reference in {pr_str(rep)}")
            out.append(m.group(int(rep[i + 1 : j])) or "")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _replace(s: Any, match: Any, rep: Any, count: int, fname: str) -> str:
    text = _text(s, fname)
    if type(match) is Char and type(rep) is Char:
        match, rep = match.value, rep.value
    if type(match) is str:
        check_length(len(text) + text.count(match) * (len(_text(rep, fname)) - len(match)) if match else len(text))
        return text.replace(match, rep, count or -1)
    regex = _regex(match, fname)

    def replacement(found: "re.Match[str]") -> str:
        if type(rep) is str:
            return _java_replacement(rep, found)
        return str_(rep(_match_value(found)))

    out = regex.sub(replacement, text, count=count)
    check_length(len(out))
    return out


_FORMAT_RE = re.compile(r"%(?:(\d+)\$)?([-#+ 0,(]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def format_(fmt: Any, *args: Any) -> str:
    fmt = _text(fmt, "format")
    out, pos, nxt = [], 0, 0
    for m in _FORMAT_RE.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        index, flags, width, precision, conv = m.groups()
        if conv in "%n":
            out.append("%" if conv == "%" else "\n")
            continue
        if index:
            arg_i = int(index) - 1
        else:
            arg_i, nxt = nxt, nxt + 1
        if arg_i >= len(args):
            raise fail(f"format: no argument for {m.group(0)}")
        check_length(int(width or 0))
        out.append(_format_one(args[arg_i], flags, width, precision, conv, m.group(0)))
    out.append(fmt[pos:])
    check_length(sum(map(len, out)))
    return "".join(out)


def _format_one(arg: Any, flags: str, width: Any, precision: Any, conv: str, spec: str) -> str:
    py_flags = "".join(f for f in flags if f in "-+ 0#")
    prec = f".{precision}" if precision is not None else ""
    w = width or ""
    if conv in "sS":
        text = ("%" + py_flags.replace("0", "") + w + prec + "s") % ("null" if arg is None else str_(arg))
        return text.upper() if conv == "S" else text
    if conv in "bB":
        return ("%" + py_flags + w + "s") % ("true" if truthy(arg) else "false")
    if conv == "c":
        return ("%" + py_flags + w + "s") % (arg.value if type(arg) is Char else chr(num(arg, "format")))
    if conv in "dxXo":
        if type(arg) is not int:
            raise fail(f"format: {spec} needs an integer, got {describe(arg)}")
        text = ("%" + py_flags + w + conv) % arg
        return f"{arg:,}" if "," in flags and conv == "d" and not w else text
    if conv in "feEgG":
        return ("%" + py_flags + w + (prec or ".6") + conv) % float(num(arg, "format"))
    raise fail(f"format: unsupported conversion {spec}")


def _set(x: Any, fname: str) -> Set:
    if type(x) is Set:
        return x
    if x is None:
        return Set()
    raise fail(f"{fname}: expected a set, got {describe(x)}")


def _index_of(s: Any, value: Any, start: Any = None, last: bool = False) -> Any:
    s = _text(s, "index-of")
    v = value.value if type(value) is Char else _text(value, "index-of")
    if last:
        i = s.rfind(v, 0, None if start is None else int(start) + len(v))
    else:
        i = s.find(v, 0 if start is None else int(start))
    return i if i >= 0 else None


def subs(s: Any, start: Any, end: Any = None) -> str:
    text = _text(s, "subs")
    end = len(text) if end is None else end
    if type(start) is not int or type(end) is not int or not 0 <= start <= end <= len(text):
        raise fail(f"subs: {pr_str(start)}..{pr_str(end)} is out of bounds for a string of {len(text)}")
    return text[start:end]


def _escape(s: Any, cmap: Any) -> str:
    out = []
    for c in _text(s, "escape"):
        replacement = as_fn(cmap)(Char(c))
        out.append(c if replacement is None else str_(replacement))
    return "".join(out)


def _capitalize(s: Any) -> str:
    text = str_(s)
    return text[:1].upper() + text[1:].lower()


def _split_lines(s: Any) -> Vector:
    return split(s, Pattern(r"\r?\n"))


TEXT: dict[str, Any] = {
    "str": str_,
    "pr-str": lambda *xs: " ".join(pr_str(x, max_chars=_budget().max_chars) for x in xs),
    "prn-str": lambda *xs: " ".join(pr_str(x, max_chars=_budget().max_chars) for x in xs) + "\n",
    "keyword": keyword,
    "name": name,
    "namespace": namespace,
    "symbol": lambda a, b=None: Symbol(name(a) if b is None else f"{a}/{b}"),
    "parse-long": parse_long,
    "parse-double": parse_double,
    "parse-boolean": {"true": True, "false": False}.get,
    "ex-info": ex_info,
    "ex-message": lambda e: e.message if type(e) is ExInfo else None,
    "ex-data": lambda e: e.data if type(e) is ExInfo else None,
    "ex-cause": lambda e: e.cause if type(e) is ExInfo else None,
    "subs": subs,
    "format": format_,
    "re-find": re_find,
    "re-matches": re_matches,
    "re-seq": re_seq,
    "re-pattern": lambda s: s if type(s) is Pattern else Pattern(_text(s, "re-pattern")),
    "re-quote-replacement": lambda s: _text(s, "re-quote-replacement").replace("\\", "\\\\").replace("$", "\\$"),
}

# clojure.string, reached as clojure.string/x, str/x and string/x
STRING: dict[str, Any] = {
    "join": join,
    "split": split,
    "replace": lambda s, m, r: _replace(s, m, r, 0, "replace"),
    "replace-first": lambda s, m, r: _replace(s, m, r, 1, "replace-first"),
    "upper-case": lambda s: str_(s).upper(),
    "lower-case": lambda s: str_(s).lower(),
    "capitalize": _capitalize,
    "trim": lambda s: _text(s, "trim").strip(),
    "triml": lambda s: _text(s, "triml").lstrip(),
    "trimr": lambda s: _text(s, "trimr").rstrip(),
    "trim-newline": lambda s: _text(s, "trim-newline").rstrip("\r\n"),
    "blank?": lambda s: s is None or not _text(s, "blank?").strip(),
    "starts-with?": lambda s, p: _text(s, "starts-with?").startswith(_text(p, "starts-with?")),
    "ends-with?": lambda s, p: _text(s, "ends-with?").endswith(_text(p, "ends-with?")),
    "includes?": lambda s, p: (p.value if type(p) is Char else _text(p, "includes?")) in _text(s, "includes?"),
    "split-lines": _split_lines,
    "index-of": _index_of,
    "last-index-of": lambda s, v, start=None: _index_of(s, v, start, last=True),
    "reverse": lambda s: _text(s, "reverse")[::-1],
    "escape": _escape,
}

# clojure.set, reached as clojure.set/x and set/x
SETS: dict[str, Any] = {
    "union": lambda *ss: Set(x for s in ss for x in _set(s, "union")),
    "intersection": lambda s, *ss: Set(
        x for x in _set(s, "intersection") if all(x in _set(o, "intersection") for o in ss)
    ),
    "difference": lambda s, *ss: Set(
        x for x in _set(s, "difference") if not any(x in _set(o, "difference") for o in ss)
    ),
    "subset?": lambda a, b: all(x in _set(b, "subset?") for x in _set(a, "subset?")),
    "superset?": lambda a, b: all(x in _set(a, "superset?") for x in _set(b, "superset?")),
}
