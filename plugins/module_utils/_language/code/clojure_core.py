# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allow-listed Clojure collection, sequence and number functions that ``#pt-clj`` code can call.

Sequences are eager: ``map``, ``filter``, ``concat`` ... build a List at once, capped at
``Limits.result_items``.  The unbounded producers ``(range)``, ``(repeat x)``, ``(iterate f x)`` and
``(cycle c)`` give an Infinite that ``take``, ``take-while``, ``first``, ``second``, ``nth``, ``some``,
``zipmap``, ``interleave`` and multi-collection ``map`` read only as far as they need; anything else
that reads one fails at the cap, so ``(take 3 (range))`` works and ``(vec (range))`` fails fast.
"""

from __future__ import annotations

# Exact type checks on purpose: bool is an int subclass and a Keyword must not pass for a str, so
# Clojure's types are told apart with type(x) is T, not isinstance.
# pylint: disable=unidiomatic-typecheck

import functools
import itertools
import math
from typing import Any, Callable, Iterable, Iterator

from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_runtime import (
    _MISSING,
    ExInfo,
    Infinite,
    _budget,
    _chain,
    _comparator,
    _int_div,
    _too_many,
    add,
    as_fn,
    build,
    call,
    compare,
    describe,
    div,
    equal,
    fail,
    get,
    items,
    iterate_items,
    long,
    mul,
    nth,
    num,
    sub,
    truthy,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code.reader import (
    Char,
    Keyword,
    LimitExceeded,
    List,
    Map,
    Pattern,
    Set,
    Symbol,
    Vector,
    pr_number,
    pr_str,
)

# ---- collections ---------------------------------------------------------------------------------------


def assoc(m: Any, k: Any, v: Any, *kvs: Any) -> Any:
    if len(kvs) % 2:
        raise fail("assoc expects an even number of keys and values")
    pairs = [(k, v)] + [(kvs[i], kvs[i + 1]) for i in range(0, len(kvs), 2)]
    if type(m) is Vector:
        out = list(m)
        for key, val in pairs:
            if type(key) is not int or not 0 <= key <= len(out):
                raise fail(f"assoc: index {pr_str(key)} is out of bounds for a vector of {len(out)}")
            out[key : key + 1] = [val]
        return Vector(out)
    if m is not None and type(m) is not Map:
        raise fail(f"assoc: cannot assoc on {describe(m)}")
    result = Map(m or ())
    for key, val in pairs:
        dict.__setitem__(result, key, val)
    return result


def dissoc(m: Any, *ks: Any) -> Any:
    if m is None:
        return None
    return Map((k, v) for k, v in m.items() if k not in ks)


def update(m: Any, k: Any, f: Any, *args: Any) -> Any:
    return assoc(m, k, call(f, get(m, k), *args))


def get_in(m: Any, ks: Any, default: Any = None) -> Any:
    for k in iterate_items(ks):
        m = get(m, k, _MISSING)
        if m is _MISSING:
            return default
    return m


def assoc_in(m: Any, ks: Any, v: Any) -> Any:
    k, rest = items(ks)[0], Vector(items(ks)[1:])
    return assoc(m, k, assoc_in(get(m, k), rest, v) if rest else v)


def update_in(m: Any, ks: Any, f: Any, *args: Any) -> Any:
    k, rest = items(ks)[0], Vector(items(ks)[1:])
    return assoc(m, k, update_in(get(m, k), rest, f, *args) if rest else call(f, get(m, k), *args))


def conj(*args: Any) -> Any:
    if not args:
        return Vector()
    coll, xs = args[0], args[1:]
    t = type(coll)
    if coll is None:
        return List(reversed(xs))
    if t is Vector:
        return build(itertools.chain(coll, xs), Vector, "a vector")
    if t is List:
        return build(itertools.chain(reversed(xs), coll), List, "a list")
    if t is Set:
        result = Set(coll)
        result.items.update(dict.fromkeys(xs))
        return result if len(result) <= _budget().max_items else _raise(_too_many("a set"))
    if t is Map:
        merged = Map(coll)
        for x in xs:
            if type(x) is Map:
                merged.update(x)
            elif type(x) is Vector and len(x) == 2:
                dict.__setitem__(merged, x[0], x[1])
            elif x is not None:
                raise fail(f"conj on a map needs [key value] or a map, not {describe(x)}")
        return merged if len(merged) <= _budget().max_items else _raise(_too_many("a map"))
    raise fail(f"conj: cannot add to {describe(coll)}")


def _raise(e: Exception) -> Any:
    raise e


def into(to: Any = None, *args: Any) -> Any:
    if not args:
        return to
    if len(args) > 1:
        raise fail("into with a transducer is not supported")
    return conj(to, *iterate_items(args[0])) if args[0] is not None else to


def empty(coll: Any) -> Any:
    return {Vector: Vector(), List: List(), Map: Map(), Set: Set()}.get(type(coll))


def seq(coll: Any) -> Any:
    if type(coll) is Infinite:
        return coll
    result = items(coll)
    return List(result) if result else None


def concat(*colls: Any) -> List:
    return build(itertools.chain.from_iterable(iterate_items(c) for c in colls), List, "concat")


def _map(f: Any, *colls: Any) -> Iterator[Any]:
    fn = as_fn(f)
    if len(colls) == 1:
        return map(fn, iterate_items(colls[0]))
    return itertools.starmap(fn, zip(*(_lazy(c) for c in colls)))


def _lazy(coll: Any) -> Iterable[Any]:
    return coll.make() if type(coll) is Infinite else iterate_items(coll)


def reduce(f: Any, *args: Any) -> Any:
    fn = as_fn(f)
    if len(args) == 1:
        seq_ = iter(iterate_items(args[0]))
        first = next(seq_, _MISSING)
        return fn() if first is _MISSING else functools.reduce(fn, seq_, first)
    init, coll = args
    return functools.reduce(fn, iterate_items(coll), init)


def merge(*maps: Any) -> Any:
    if all(m is None for m in maps):
        return None
    return conj(Map(), *(m for m in maps if m is not None))


def merge_with(f: Any, *maps: Any) -> Any:
    fn, result = as_fn(f), None
    for m in maps:
        if m is None:
            continue
        result = Map(result or ())
        for k, v in m.items():
            dict.__setitem__(result, k, fn(result[k], v) if k in result else v)
    return result


def range_(*args: Any) -> Any:
    if not args:
        return Infinite("(range)", itertools.count)
    start, end, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], args[2] if len(args) > 2 else 1)
    for x in (start, end, step):
        num(x, "range")
    if step == 0:
        return Infinite("(range with step 0)", lambda: itertools.repeat(start)) if start != end else List()
    n = max(0, math.ceil((end - start) / step))
    if n > _budget().max_items:
        raise _too_many(f"(range {' '.join(pr_number(a) for a in args)})")
    return List(start + i * step for i in range(n))


def repeat(*args: Any) -> Any:
    if len(args) == 1:
        return Infinite("(repeat x)", lambda: itertools.repeat(args[0]))
    n, x = args
    if num(n, "repeat") > _budget().max_items:
        raise _too_many(f"(repeat {pr_number(n)} ...)")
    return List(itertools.repeat(x, max(0, int(n))))


def take(n: Any, coll: Any) -> List:
    return build(itertools.islice(_lazy(coll), max(0, int(num(n, "take")))))


def take_while(pred: Any, coll: Any) -> List:
    return build(itertools.takewhile(lambda x: truthy(call(pred, x)), _lazy(coll)))


def some(pred: Any, coll: Any) -> Any:
    fn = as_fn(pred)
    for x in _lazy(coll):
        r = fn(x)
        if truthy(r):
            return r
    return None


def sort(*args: Any) -> List:
    cmp, coll = (compare, args[0]) if len(args) == 1 else (_comparator(args[0]), args[1])
    return List(sorted(items(coll), key=functools.cmp_to_key(cmp)))


def sort_by(keyfn: Any, *args: Any) -> List:
    cmp, coll = (compare, args[0]) if len(args) == 1 else (_comparator(args[0]), args[1])
    fn = as_fn(keyfn)
    keyed = [(fn(x), x) for x in items(coll)]

    def by_key(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
        return cmp(a[0], b[0])

    keyed.sort(key=functools.cmp_to_key(by_key))
    return List(x for _key, x in keyed)


def group_by(f: Any, coll: Any) -> Map:
    fn, groups = as_fn(f), Map()
    for x in iterate_items(coll):
        groups.setdefault(fn(x), []).append(x)
    return Map((k, Vector(v)) for k, v in groups.items())


def frequencies(coll: Any) -> Map:
    counts = Map()
    for x in iterate_items(coll):
        dict.__setitem__(counts, x, counts.get(x, 0) + 1)
    return counts


def partition(n: Any, *args: Any, all_: bool = False) -> List:
    step, pad, coll = (n, None, args[0]) if len(args) == 1 else (args[0], None, args[1]) if len(args) == 2 else args
    n, step, seq_, out = int(n), int(step), items(coll), []
    if n <= 0 or step <= 0:
        raise fail("partition needs a positive size and step")
    for i in range(0, len(seq_), step):
        chunk = seq_[i : i + n]
        if len(chunk) < n:
            if all_:
                out.append(List(chunk))
            elif pad is not None:
                out.append(List((tuple(chunk) + items(pad))[:n]))
            break
        out.append(List(chunk))
    return List(out)


def flatten(x: Any) -> List:
    out: list[Any] = []
    cap = _budget().max_items
    seen = [0]

    def walk(c: Any, depth: int) -> None:
        if depth > 400:
            raise LimitExceeded("flatten: a value nested deeper than 400 levels (depth limit)")
        for item in c:
            # every node counts: a value sharing itself can hold 2**40 empty vectors and no leaf
            seen[0] += 1
            if seen[0] > cap:
                raise _too_many("flatten")
            if type(item) in (Vector, List):
                walk(item, depth + 1)
            else:
                out.append(item)

    if type(x) in (Vector, List):
        walk(x, 0)
    return List(out)


def interleave(*colls: Any) -> List:
    return build(itertools.chain.from_iterable(zip(*(_lazy(c) for c in colls))))


def distinct(coll: Any) -> List:
    return List(dict.fromkeys(iterate_items(coll)))


def comp(*fs: Any) -> Callable[..., Any]:
    fns = [as_fn(f) for f in reversed(fs)]

    def composed(*args: Any) -> Any:
        if not fns:
            return args[0]
        r = fns[0](*args)
        for fn in fns[1:]:
            r = fn(r)
        return r

    return composed


def apply(f: Any, *args: Any) -> Any:
    if not args:
        raise fail("apply needs a function and a collection")
    spread = items(args[-1])
    if len(spread) > _budget().max_items:
        raise _too_many("apply's argument list")
    return call(f, *args[:-1], *spread)


def to_int(x: Any) -> int:
    if type(x) is Char:
        return ord(x.value)
    return int(num(x, "int"))


def _predicate(test: Callable[[Any], Any]) -> Callable[[Any], bool]:
    return lambda x: bool(test(x))


def _fn_q(x: Any) -> bool:
    return callable(x) and type(x) not in (Keyword, Map, Set, Vector, Pattern, Infinite, ExInfo)


_NUMBER = (int, float)
_SEQUENTIAL = (Vector, List)

CORE: dict[str, Any] = {
    "count": lambda c: len(c) if type(c) in (str, Vector, List, Map, Set) else len(items(c)),
    "concat": concat,
    "vec": lambda c: Vector(items(c)),
    "vector": lambda *xs: Vector(xs),
    "list": lambda *xs: List(xs),
    "list*": lambda *xs: concat(List(xs[:-1]), xs[-1]),
    "hash-map": lambda *kvs: assoc(None, *kvs) if kvs else Map(),
    "array-map": lambda *kvs: assoc(None, *kvs) if kvs else Map(),
    "hash-set": lambda *xs: Set(xs),
    "set": lambda c: Set(iterate_items(c)),
    "map": lambda f, *cs: build(_map(f, *cs)),
    "mapv": lambda f, *cs: build(_map(f, *cs), Vector),
    "mapcat": lambda f, *cs: concat(*_map(f, *cs)),
    "map-indexed": lambda f, c: build(itertools.starmap(as_fn(f), enumerate(iterate_items(c)))),
    "filter": lambda p, c: List(x for x in iterate_items(c) if truthy(call(p, x))),
    "filterv": lambda p, c: Vector(x for x in iterate_items(c) if truthy(call(p, x))),
    "remove": lambda p, c: List(x for x in iterate_items(c) if not truthy(call(p, x))),
    "keep": lambda f, c: List(r for r in map(as_fn(f), iterate_items(c)) if r is not None),
    "reduce": reduce,
    "merge": merge,
    "merge-with": merge_with,
    "assoc": assoc,
    "assoc-in": assoc_in,
    "dissoc": dissoc,
    "update": update,
    "update-in": update_in,
    "update-vals": lambda m, f: Map((k, call(f, v)) for k, v in (m or {}).items()),
    "update-keys": lambda m, f: Map((call(f, k), v) for k, v in (m or {}).items()),
    "get": get,
    "get-in": get_in,
    "contains?": lambda c, k: (type(c) in (Map, Set) and k in c)
    or (type(c) in (Vector, str) and get(c, k, _MISSING) is not _MISSING),
    "find": lambda m, k: Vector((k, m[k])) if type(m) is Map and k in m else None,
    "keys": lambda m: List(m.keys()) if m else None,
    "vals": lambda m: List(m.values()) if m else None,
    "key": lambda e: e[0],
    "val": lambda e: e[1],
    "select-keys": lambda m, ks: Map((k, m[k]) for k in iterate_items(ks) if m is not None and k in m),
    "zipmap": lambda ks, vs: Map(zip(_lazy(ks), _lazy(vs))),
    "into": into,
    "conj": conj,
    "cons": lambda x, c: build(itertools.chain((x,), iterate_items(c))),
    "first": lambda c: next(iter(_lazy(c)), None),
    "second": lambda c: next(itertools.islice(_lazy(c), 1, None), None),
    "last": lambda c: (items(c) or (None,))[-1],
    "butlast": lambda c: List(items(c)[:-1]) if len(items(c)) > 1 else None,
    "rest": lambda c: List(items(c)[1:]),
    "next": lambda c: List(items(c)[1:]) if len(items(c)) > 1 else None,
    "nth": nth,
    "take": take,
    "drop": lambda n, c: List(items(c)[max(0, int(num(n, "drop"))) :]),
    "take-while": take_while,
    "drop-while": lambda p, c: List(itertools.dropwhile(lambda x: truthy(call(p, x)), iterate_items(c))),
    "take-last": lambda n, c: List(items(c)[-int(n) :]) if int(n) > 0 and items(c) else None,
    "subvec": lambda v, start, end=None: Vector(v[start : len(v) if end is None else end]),
    "seq": seq,
    "empty?": lambda c: not items(c) if type(c) is not Infinite else False,
    "not-empty": lambda c: c if type(c) is Infinite or items(c) else None,
    "empty": empty,
    "some": some,
    "every?": lambda p, c: all(truthy(call(p, x)) for x in iterate_items(c)),
    "not-every?": lambda p, c: not all(truthy(call(p, x)) for x in iterate_items(c)),
    "not-any?": lambda p, c: not any(truthy(call(p, x)) for x in iterate_items(c)),
    "some?": lambda x: x is not None,
    "nil?": lambda x: x is None,
    "string?": lambda x: type(x) is str,
    "map?": lambda x: type(x) is Map,
    "vector?": lambda x: type(x) is Vector,
    "set?": lambda x: type(x) is Set,
    "seq?": lambda x: type(x) is List,
    "list?": lambda x: type(x) is List,
    "sequential?": lambda x: type(x) in _SEQUENTIAL,
    "coll?": lambda x: type(x) in (Vector, List, Map, Set, Infinite),
    "number?": lambda x: type(x) in _NUMBER,
    "int?": lambda x: type(x) is int,
    "integer?": lambda x: type(x) is int,
    "float?": lambda x: type(x) is float,
    "double?": lambda x: type(x) is float,
    "keyword?": lambda x: type(x) is Keyword,
    "symbol?": lambda x: type(x) is Symbol,
    "char?": lambda x: type(x) is Char,
    "boolean?": lambda x: type(x) is bool,
    "true?": lambda x: x is True,
    "false?": lambda x: x is False,
    "fn?": _fn_q,
    "ifn?": lambda x: callable(x) or type(x) in (Keyword, Map, Set, Vector),
    "range": range_,
    "repeat": repeat,
    "iterate": lambda f, x: Infinite(
        "(iterate f x)", lambda: itertools.accumulate(itertools.repeat(None), lambda a, _: call(f, a), initial=x)
    ),
    "cycle": lambda c: Infinite("(cycle coll)", lambda: itertools.cycle(items(c))) if items(c) else List(),
    "distinct": distinct,
    "sort": sort,
    "sort-by": sort_by,
    "compare": compare,
    "group-by": group_by,
    "frequencies": frequencies,
    "interpose": lambda sep, c: List(
        itertools.islice(itertools.chain.from_iterable((sep, x) for x in iterate_items(c)), 1, None)
    ),
    "interleave": interleave,
    "partition": partition,
    "partition-all": lambda n, *a: partition(n, *a, all_=True),
    "flatten": flatten,
    "reverse": lambda c: List(reversed(items(c))),
    "identity": lambda x: x,
    "fnil": lambda f, *ds: lambda *a: call(f, *(ds[i] if x is None and i < len(ds) else x for i, x in enumerate(a))),
    "constantly": lambda x: lambda *_: x,
    "comp": comp,
    "partial": lambda f, *a: lambda *b: call(f, *a, *b),
    "complement": lambda f: lambda *a: not truthy(call(f, *a)),
    "apply": apply,
    "juxt": lambda *fs: lambda *a: Vector(call(f, *a) for f in fs),
    "not": lambda x: not truthy(x),
    "=": lambda a, *bs: all(equal(a, b) for b in bs),
    "not=": lambda a, *bs: not all(equal(a, b) for b in bs),
    "==": _chain("==", lambda a, b: a == b),
    "<": _chain("<", lambda a, b: a < b),
    ">": _chain(">", lambda a, b: a > b),
    "<=": _chain("<=", lambda a, b: a <= b),
    ">=": _chain(">=", lambda a, b: a >= b),
    "+": add,
    "-": sub,
    "*": mul,
    "/": div,
    "quot": _int_div("quot"),
    "rem": _int_div("rem"),
    "mod": _int_div("mod"),
    "inc": lambda x: long(num(x, "inc") + 1),
    "dec": lambda x: long(num(x, "dec") - 1),
    "max": lambda x, *xs: max((num(y, "max") for y in (x, *xs))),
    "min": lambda x, *xs: min((num(y, "min") for y in (x, *xs))),
    "abs": lambda x: abs(num(x, "abs")),
    "zero?": lambda x: num(x, "zero?") == 0,
    "pos?": lambda x: num(x, "pos?") > 0,
    "neg?": lambda x: num(x, "neg?") < 0,
    "even?": lambda x: int(num(x, "even?")) % 2 == 0,
    "odd?": lambda x: int(num(x, "odd?")) % 2 == 1,
    "boolean": truthy,
    "int": to_int,
    "long": to_int,
    "double": lambda x: float(num(x, "double")),
    "char": lambda x: Char(chr(x)) if type(x) is int else x,
    "max-key": lambda f, *xs: functools.reduce(lambda a, b: b if call(f, b) >= call(f, a) else a, xs),
    "min-key": lambda f, *xs: functools.reduce(lambda a, b: b if call(f, b) <= call(f, a) else a, xs),
}
