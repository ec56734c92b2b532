# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The special forms of the Clojure interpreter (clojure.py): each takes the interpreter, the form, the env.

The threading macros rewrite their forms and evaluate the result; ``some->`` and ``cond->`` evaluate
step by step and pass each value on quoted.  Forms in tail position are evaluated with ``Interp.ev``
so that a ``recur`` there reaches its loop or fn as a :class:`Recur`; everywhere else ``Interp.ev1``
refuses one.
"""

from __future__ import annotations

# Exact type checks on purpose: bool is an int subclass and a Keyword must not pass for a str, so
# Clojure's types are told apart with type(x) is T, not isinstance.
# pylint: disable=unidiomatic-typecheck

from typing import TYPE_CHECKING, Any, Callable

from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_runtime import (
    ExInfo,
    RuntimeFailure,
    Thrown,
    build,
    describe,
    equal,
    truthy,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code.reader import (
    Keyword,
    List,
    Symbol,
    Vector,
    pr_str,
)

if TYPE_CHECKING:
    from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure import Interp

_QUOTE = Symbol("quote")

# (Exception. "msg") and the names a catch clause can give, to the kind of exception each catches
EXCEPTION_CLASSES = {
    name: "ExceptionInfo" if name.endswith("ExceptionInfo") else "Exception"
    for name in """Exception java.lang.Exception Throwable java.lang.Throwable RuntimeException
    java.lang.RuntimeException IllegalArgumentException IllegalStateException ArithmeticException
    ExceptionInfo clojure.lang.ExceptionInfo""".split()
}


class Recur:
    __slots__ = ("args",)

    def __init__(self, args: list[Any]) -> None:
        self.args = args


def _need(form: List, low: int, high: int = 1 << 30) -> None:
    if not low <= len(form) - 1 <= high:
        head = form[0]
        raise CodeError(f"({head.name} ...) has the wrong number of forms ({len(form) - 1}){head.where()}")


def _thread(form: Any, x: Any, last: bool) -> List:
    if type(form) is List and form:
        return List((*form, x)) if last else List((form[0], x, *form[1:]))
    return List((form, x))


def _quoted(value: Any) -> List:
    return List((_QUOTE, value))


# ---- special forms -------------------------------------------------------------------------------------


def _if(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 2, 3)
    if truthy(it.ev1(form[1], env)):
        return it.ev(form[2], env)
    return it.ev(form[3], env) if len(form) > 3 else None


def _when(negate: bool) -> Callable[["Interp", List, dict[str, Any]], Any]:
    def special(it: "Interp", form: List, env: dict[str, Any]) -> Any:
        _need(form, 1)
        return it.ev_body(form[2:], env) if truthy(it.ev1(form[1], env)) != negate else None

    return special


def _let(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1)
    return it.ev_body(form[2:], it.let_env(form[1], env, "let"))


def _if_let(some: bool, with_else: bool) -> Callable[["Interp", List, dict[str, Any]], Any]:
    def special(it: "Interp", form: List, env: dict[str, Any]) -> Any:
        _need(form, 2, 3) if with_else else _need(form, 1)
        bindings = form[1]
        if type(bindings) is not Vector or len(bindings) != 2:
            raise CodeError(f"{form[0].name} needs a vector of one name and one value{form[0].where()}")
        value = it.ev1(bindings[1], env)
        if value is not None if some else truthy(value):
            inner = dict(env)
            it.bind(bindings[0], value, inner)
            return it.ev(form[2], inner) if with_else else it.ev_body(form[2:], inner)
        return it.ev(form[3], env) if with_else and len(form) > 3 else None

    return special


def _loop(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1)
    bindings = form[1]
    inner = it.let_env(bindings, env, "loop")
    patterns = bindings[::2]
    while True:
        result = it.ev_body(form[2:], inner)
        if type(result) is not Recur:
            return result
        if len(result.args) != len(patterns):
            raise CodeError(f"recur needs {len(patterns)} values for this loop, got {len(result.args)}")
        inner = dict(env)
        for pattern, value in zip(patterns, result.args):
            it.bind(pattern, value, inner)


def _cond(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    if len(form) % 2 == 0:
        raise CodeError(f"cond needs test-value pairs{form[0].where()}")
    for i in range(1, len(form), 2):
        if truthy(it.ev1(form[i], env)):
            return it.ev(form[i + 1], env)
    return None


def _condp(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 2)
    pred, expr = it.ev1(form[1], env), it.ev1(form[2], env)
    clauses, i = form[3:], 0
    while i + 1 < len(clauses):
        test = it.ev1(clauses[i], env)
        if clauses[i + 1] == Keyword(">>") and i + 2 < len(clauses):
            result = it.apply(pred, [test, expr])
            if truthy(result):
                return it.apply(it.ev1(clauses[i + 2], env), [result])
            i += 3
            continue
        if truthy(it.apply(pred, [test, expr])):
            return it.ev(clauses[i + 1], env)
        i += 2
    if i < len(clauses):
        return it.ev(clauses[i], env)
    raise RuntimeFailure(f"condp: no clause matches {pr_str(expr)}{form[0].where()}")


def _case(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1)
    value = it.ev1(form[1], env)
    clauses = form[2:]
    for i in range(0, len(clauses) - 1, 2):
        test = clauses[i]
        options = test if type(test) is List else (test,)
        if any(equal(value, option) for option in options):
            return it.ev(clauses[i + 1], env)
    if len(clauses) % 2:
        return it.ev(clauses[-1], env)
    raise RuntimeFailure(f"case: no clause matches {pr_str(value)}{form[0].where()}")


def _and(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    value: Any = True
    for i, x in enumerate(form[1:], 2):
        value = it.ev(x, env) if i == len(form) else it.ev1(x, env)
        if not truthy(value):
            return value
    return value


def _or(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    value = None
    for i, x in enumerate(form[1:], 2):
        value = it.ev(x, env) if i == len(form) else it.ev1(x, env)
        if truthy(value):
            return value
    return value


def _arrow(last: bool, some: bool) -> Callable[["Interp", List, dict[str, Any]], Any]:
    def special(it: "Interp", form: List, env: dict[str, Any]) -> Any:
        _need(form, 1)
        if not some:
            x = form[1]
            for step in form[2:]:
                x = _thread(step, x, last)
            return it.ev(x, env)
        value = it.ev1(form[1], env)
        for step in form[2:]:
            if value is None:
                return None
            value = it.ev1(_thread(step, _quoted(value), last), env)
        return value

    return special


def _cond_arrow(last: bool) -> Callable[["Interp", List, dict[str, Any]], Any]:
    def special(it: "Interp", form: List, env: dict[str, Any]) -> Any:
        if len(form) % 2:
            raise CodeError(f"{form[0].name} needs an expression and test-form pairs{form[0].where()}")
        value = it.ev1(form[1], env)
        for i in range(2, len(form), 2):
            if truthy(it.ev1(form[i], env)):
                value = it.ev1(_thread(form[i + 1], _quoted(value), last), env)
        return value

    return special


def _as_arrow(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 2)
    if type(form[2]) is not Symbol:
        raise CodeError(f"as-> needs a name after the expression{form[0].where()}")
    value = it.ev1(form[1], env)
    for step in form[3:]:
        value = it.ev1(step, {**env, form[2].name: value})
    return value


def _for(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 2, 2)
    return build(it.iterate_for(form[1], env, form[2], "for"), List, "for")


def _doseq(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1)
    for _item in it.iterate_for(form[1], env, List((Symbol("do"), *form[2:])), "doseq"):
        pass
    return None


def _dotimes(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1)
    bindings = form[1]
    if type(bindings) is not Vector or len(bindings) != 2:
        raise CodeError(f"dotimes needs [name count]{form[0].where()}")
    for i in range(int(it.ev1(bindings[1], env))):
        it.ev_body(form[2:], {**env, bindings[0].name: i})
    return None


def _try(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    body, catches, final = [], [], None
    for x in form[1:]:
        head = x[0] if type(x) is List and x else None
        if head == Symbol("catch"):
            if (
                len(x) < 3
                or type(x[2]) is not Symbol
                or (x[1] != Keyword("default") and x[1].name not in EXCEPTION_CLASSES)
            ):
                raise CodeError(f"catch needs a known exception class and a name: {pr_str(x, max_chars=60)}")
            catches.append(x)
        elif head == Symbol("finally"):
            final = x[1:]
        elif catches or final is not None:
            raise CodeError("try: only catch and finally can follow the catch clauses")
        else:
            body.append(x)
    try:
        try:
            result = it.ev_body(body, env)
        except (Thrown, RuntimeFailure) as e:
            value = e.value if isinstance(e, Thrown) else ExInfo(e.message)
            kind = value.kind if type(value) is ExInfo else "Exception"
            for clause in catches:
                wanted = "Exception" if type(clause[1]) is Keyword else EXCEPTION_CLASSES[clause[1].name]
                if wanted == "Exception" or wanted == kind:
                    result = it.ev_body(clause[3:], {**env, clause[2].name: value})
                    break
            else:
                raise
        if type(result) is Recur:
            raise CodeError("recur cannot be used across try")
        return result
    finally:
        if final:
            it.ev_body(final, env)


def _throw(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1, 1)
    value = it.ev1(form[1], env)
    if type(value) is not ExInfo:
        raise RuntimeFailure(f"throw needs an exception, (ex-info msg data) or (Exception. msg), not {describe(value)}")
    raise Thrown(value)


def _letfn(it: "Interp", form: List, env: dict[str, Any]) -> Any:
    _need(form, 1)
    inner = dict(env)
    for spec in form[1]:
        if type(spec) is not List or not spec or type(spec[0]) is not Symbol:
            raise CodeError("letfn needs (name [params] body) specs")
        inner[spec[0].name] = it.make_fn(List((Symbol("fn"), *spec)), inner)
    return it.ev_body(form[2:], inner)


_SPECIAL: dict[str, Callable[["Interp", List, dict[str, Any]], Any]] = {
    "quote": lambda it, form, env: form[1] if len(form) == 2 else _need(form, 1, 1),
    "do": lambda it, form, env: it.ev_body(form[1:], env),
    "if": _if,
    "when": _when(False),
    "when-not": _when(True),
    "let": _let,
    "let*": _let,
    "when-let": _if_let(False, False),
    "if-let": _if_let(False, True),
    "when-some": _if_let(True, False),
    "if-some": _if_let(True, True),
    "fn": lambda it, form, env: it.make_fn(form, env),
    "fn*": lambda it, form, env: it.make_fn(form, env),
    "loop": _loop,
    "recur": lambda it, form, env: Recur([it.ev1(x, env) for x in form[1:]]),
    "cond": _cond,
    "condp": _condp,
    "case": _case,
    "and": _and,
    "or": _or,
    "->": _arrow(False, False),
    "->>": _arrow(True, False),
    "some->": _arrow(False, True),
    "some->>": _arrow(True, True),
    "cond->": _cond_arrow(False),
    "cond->>": _cond_arrow(True),
    "as->": _as_arrow,
    "for": _for,
    "doseq": _doseq,
    "dotimes": _dotimes,
    "try": _try,
    "throw": _throw,
    "letfn": _letfn,
    "comment": lambda it, form, env: None,
}
