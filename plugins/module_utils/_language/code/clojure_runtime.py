# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Clojure functions and the evaluator share: value helpers, errors and one evaluation's budget.

Numbers: ``/`` on two ints gives an int when exact and a float otherwise (Clojure gives a ratio);
``+ - * inc dec`` on ints fail past 64 bits like Clojure's longs, which also keeps big-int arithmetic
from running away.  ``=`` is Clojure's: ``(= 1 1.0)`` is false, ``(= [1] '(1))`` is true.
"""

from __future__ import annotations

# Exact type checks on purpose: bool is an int subclass and a Keyword must not pass for a str, so
# Clojure's types are told apart with type(x) is T, not isinstance.
# pylint: disable=unidiomatic-typecheck

import itertools
import math
import time
from typing import Any, Callable, Iterable, Iterator, cast, overload

from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError, Limits
from ansible_collections.polytope.core.plugins.module_utils._language.code.reader import (
    Char,
    Keyword,
    CURRENT,
    LimitExceeded,
    List,
    Map,
    Pattern,
    Set,
    Symbol,
    Vector,
    pr_str,
    tick,
)


class RuntimeFailure(CodeError):
    """A failing call (wrong type, bad index, ...): what ``(catch Exception e ...)`` catches."""


class Refused(CodeError):
    """An unknown, effectful or host call: not catchable, so code cannot probe around the allow-list."""


class ExInfo:
    """An exception value made by ``ex-info`` or ``(Exception. msg)``."""

    __slots__ = ("message", "data", "cause", "kind")

    def __init__(self, message: Any, data: Any = None, cause: Any = None, kind: str = "Exception") -> None:
        self.message, self.data, self.cause, self.kind = message, data, cause, kind

    def printed(self) -> str:
        return f"#error {{:message {pr_str(self.message)}, :data {pr_str(self.data)}}}"


class Thrown(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


class Infinite:
    __slots__ = ("what", "make")

    def __init__(self, what: str, make: Callable[[], Iterator[Any]]) -> None:
        self.what, self.make = what, make

    def printed(self) -> str:
        raise LimitExceeded(f"{self.what} is unbounded: it cannot be printed (result_items limit)")


class Budget:
    """One evaluation's limits and counters; lives only while that evaluation runs."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_items = limits.result_items
        self.max_chars = max(1024, min(limits.memory_bytes // 8, limits.result_items * 100))
        self.deadline = time.monotonic() + limits.seconds
        self.depth = 0
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if not self.steps & 1023:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"evaluation took longer than {self.limits.seconds:g} s (time limit)")


def _budget() -> Budget:
    return CURRENT.get()


def _too_many(what: str) -> LimitExceeded:
    return LimitExceeded(f"{what} has more than {_budget().max_items} items (result_items limit)")


def check_length(n: int) -> None:
    """Called before building a string of ``n`` characters."""
    if n > _budget().max_chars:
        raise LimitExceeded(f"a string of {n} characters is longer than {_budget().max_chars} (memory limit)")


def truthy(x: Any) -> bool:
    return x is not None and x is not False


def fail(message: str) -> RuntimeFailure:
    return RuntimeFailure(message)


def iterate_items(x: Any) -> Iterable[Any]:
    """The items of anything seqable, as Clojure's ``seq`` sees them."""
    t = type(x)
    if t is Vector or t is List or t is Set:
        return cast(Iterable[Any], x)
    if x is None:
        return ()
    if t is Map:
        return [Vector(kv) for kv in x.items()]
    if t is str:
        return [Char(c) for c in x]
    if t is Infinite:
        return _capped(x)
    raise fail(f"don't know how to create a seq from {describe(x)}")


def _capped(inf: Infinite) -> Iterator[Any]:
    cap = _budget().max_items
    for n, item in enumerate(inf.make()):
        if n >= cap:
            raise _too_many(inf.what)
        yield item


def items(x: Any) -> tuple[Any, ...]:
    t = type(x)
    if t is Vector or t is List:
        return cast(tuple[Any, ...], x)
    return tuple(iterate_items(x))


@overload
def build(it: Iterable[Any], kind: type[Vector], what: str = ...) -> Vector: ...


@overload
def build(it: Iterable[Any], kind: type[List] = ..., what: str = ...) -> List: ...


def build(it: Iterable[Any], kind: type[List] | type[Vector] = List, what: str = "a sequence") -> List | Vector:
    """A List/Vector of ``it``, failing as soon as it passes the item cap."""
    cap = _budget().max_items
    result = tuple(itertools.islice(it, cap + 1))
    if len(result) > cap:
        raise _too_many(what)
    return kind(result)


def describe(x: Any) -> str:
    names = {type(None): "nil", bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names.update({Keyword: "a keyword", Symbol: "a symbol", Char: "a char", Vector: "a vector", List: "a list"})
    names.update({Map: "a map", Set: "a set", Pattern: "a regex", Infinite: "an unbounded seq"})
    kind = names.get(type(x), "a function" if callable(x) else "an object")
    try:
        return f"{kind} {pr_str(x, max_chars=40)}" if kind not in ("a function", "an unbounded seq") else kind
    except LimitExceeded:
        return kind


def as_fn(f: Any) -> Callable[..., Any]:
    """A Python callable for anything Clojure can call: fns, keywords, maps, sets, vectors."""
    t = type(f)
    if t is Keyword:
        return lambda m, default=None: get(m, f, default)
    if t is Map:
        return lambda k, default=None: f.get(k, default)
    if t is Set:
        return lambda k, default=None: k if k in f else default
    if t is Vector:
        return lambda i: nth(f, i)
    if callable(f) and t not in (Pattern, Infinite, ExInfo):
        return f  # type: ignore[no-any-return]
    raise fail(f"{describe(f)} cannot be called as a function")


def call(f: Any, *args: Any) -> Any:
    return as_fn(f)(*args)


# ---- equality, comparison, numbers ---------------------------------------------------------------------


def equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return False
    if (ta is Vector or ta is List) and (tb is Vector or tb is List):
        tick()
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if ta is Map and tb is Map:
        tick()
        return len(a) == len(b) and all(k in b and equal(v, b[k]) for k, v in a.items())
    return ta is tb and a == b


def compare(a: Any, b: Any) -> int:
    if a is None or b is None:
        return (a is not None) - (b is not None)
    ta, tb = type(a), type(b)
    if ta in (int, float) and tb in (int, float):
        return (a > b) - (a < b)  # type: ignore[no-any-return]
    if ta is not tb:
        raise fail(f"cannot compare {describe(a)} with {describe(b)}")
    if ta is Vector:
        if len(a) != len(b):
            return (len(a) > len(b)) - (len(a) < len(b))
        for x, y in zip(a, b):
            c = compare(x, y)
            if c:
                return c
        return 0
    if ta is Keyword or ta is Symbol:
        return compare((a.ns or "", a.name), (b.ns or "", b.name)) if a.ns or b.ns else compare(a.name, b.name)
    if ta is Char:
        a, b = a.value, b.value
    elif ta is tuple:
        return (a > b) - (a < b)  # type: ignore[no-any-return]
    if ta in (str, bool, Char):
        return (a > b) - (a < b)  # type: ignore[no-any-return]
    raise fail(f"cannot compare {describe(a)}")


def _comparator(f: Any) -> Callable[[Any, Any], int]:
    fn = as_fn(f)

    def cmp(a: Any, b: Any) -> int:
        r = fn(a, b)
        if type(r) is bool or r is None:
            return -1 if r else (1 if truthy(fn(b, a)) else 0)
        return (r > 0) - (r < 0)  # type: ignore[no-any-return]

    return cmp


def num(x: Any, fname: str) -> Any:
    if type(x) is int or type(x) is float:
        return x
    raise fail(f"{fname}: {describe(x)} is not a number")


def long(x: Any) -> Any:
    if type(x) is int and not -(1 << 63) <= x < (1 << 63):
        raise fail("integer overflow")
    return x


def add(*xs: Any) -> Any:
    return long(sum(num(x, "+") for x in xs))


def sub(x: Any, *xs: Any) -> Any:
    return long(-num(x, "-") if not xs else num(x, "-") - sum(num(y, "-") for y in xs))


def mul(*xs: Any) -> Any:
    r: Any = 1
    for x in xs:
        r = long(r * num(x, "*"))
    return r


def div(x: Any, *xs: Any) -> Any:
    if not xs:
        x, xs = 1, (x,)
    r = num(x, "/")
    for y in xs:
        if num(y, "/") == 0 and type(y) is int and type(r) is int:
            raise fail("divide by zero")
        if type(r) is int and type(y) is int and r % y == 0:
            r = r // y
        else:
            r = r / y if y else math.copysign(math.inf, r) if r else math.nan
    return r


def _int_div(name: str) -> Callable[[Any, Any], Any]:
    def op(a: Any, b: Any) -> Any:
        num(a, name)
        if num(b, name) == 0:
            raise fail(f"{name}: divide by zero")
        if name == "mod":
            return a % b
        q = (
            math.trunc(a / b)
            if type(a) is float or type(b) is float
            else abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        )
        return q if name == "quot" else a - q * b

    return op


def _chain(name: str, op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def test(*xs: Any) -> bool:
        for x in xs:
            num(x, name)
        return all(op(a, b) for a, b in zip(xs, xs[1:]))

    return test


_MISSING = object()


def get(m: Any, k: Any, default: Any = None) -> Any:
    t = type(m)
    if t is Map:
        return m.get(k, default)
    if t is Vector or t is str:
        if type(k) is int and 0 <= k < len(m):
            return Char(m[k]) if t is str else m[k]
        return default
    if t is Set:
        return k if k in m else default
    return default


def nth(coll: Any, i: Any, *default: Any) -> Any:
    num(i, "nth")
    i = int(i)
    if type(coll) is Infinite:
        return next(itertools.islice(coll.make(), i, None)) if i >= 0 else nth(None, i, *default)
    seq = coll if type(coll) in (Vector, List) else items(coll) if coll is not None else ()
    if 0 <= i < len(seq):
        return seq[i]
    if default:
        return default[0]
    if coll is None:
        return None
    raise fail(f"nth: index {i} is out of bounds for {len(seq)} items")
