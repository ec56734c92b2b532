# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clojure code strings (``#pt-clj`` / ``pt.clj``): a small interpreter of Clojure's pure core.

In the spirit of SCI, the interpreter Polytope itself uses: special forms and an allow-list of
pure functions (clojure_core, clojure_string), nothing else.  Code sees ``params`` and ``inputs``
(one keyword-keyed map), ``(pt/value k)``, ``(pt/secret k)``, ``pt/module-repo-ref``,
``pt/module-project-ref`` and ``(pt/fail msg)``.  Any effectful or host name (``slurp``,
``pt/spawn``, ``System/exit``, ``.method``, ``def``, ``atom``, ``println`` ...) is refused before
evaluation starts, wherever it is written; an unknown function fails when it is reached.

Not caught by the code's own ``try``: limits, refusals, ``pt/fail`` and errors from ``pt/value``;
``(catch Exception e ...)`` catches throws and failing calls.  Limits: wall time checked every few
hundred steps; interpreted call depth (``Limits.depth``, at most MAX_CALL_DEPTH, past which a call
made through a Python builtin could overflow the C stack); items in any built collection, characters
in any built string (``memory_bytes // 8``, at most ``result_items * 100``); nesting of the source.
Not bounded: a single ``re`` match that backtracks badly, and the
hashing of a value that shares itself exponentially (``(loop [v [] n 0] (recur [v v] ...))``).

The result: nil is None, keywords and symbols their name (``:always`` is "always"), chars str, maps
dicts with str keys, vectors, lists and seqs lists, sets lists (sorted when they can be).
"""

from __future__ import annotations

# Exact type checks on purpose: bool is an int subclass and a Keyword must not pass for a str, so
# Clojure's types are told apart with type(x) is T, not isinstance.
# pylint: disable=unidiomatic-typecheck

import sys
from typing import Any, Iterator, Mapping, Optional

from ansible_collections.polytope.core.plugins.module_utils._language.code import Bindings, CodeError, Limits
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_core import CORE
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_runtime import (
    _MISSING,
    Budget,
    ExInfo,
    Infinite,
    Refused,
    RuntimeFailure,
    Thrown,
    as_fn,
    describe,
    get,
    items,
    truthy,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_special import (
    _SPECIAL,
    EXCEPTION_CLASSES,
    Recur,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code.clojure_string import (
    SETS,
    STRING,
    TEXT,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code.reader import (
    CURRENT,
    MAX_NESTING,
    Char,
    Keyword,
    LimitExceeded,
    List,
    Map,
    Pattern,
    Set,
    Symbol,
    Vector,
    pr_str,
    read_all,
)

_FUNCTIONS: dict[str, Any] = {**CORE, **TEXT}
_NAMESPACES: dict[str, dict[str, Any]] = {
    "clojure.core": _FUNCTIONS,
    "clojure.string": STRING,
    "str": STRING,
    "string": STRING,
    "clojure.set": SETS,
    "set": SETS,
}
_NO_EFFECTS = "argument code computes values only (no I/O, no host interop, no effects)"
_REFUSED = set("""slurp spit eval load-string load-file load read-string read read-line require import use ns in-ns
    def defn defn- defmacro defonce defmulti defmethod defprotocol defrecord deftype definterface
    extend-type extend-protocol extend reify proxy gen-class gen-interface new . .. memfn bean
    atom swap! reset! swap-vals! reset-vals! compare-and-set! volatile! vswap! vreset! ref dosync alter
    commute ref-set agent send send-off await future future-call promise deliver deref realized? pmap
    pcalls pvalues locking println print prn pr printf newline flush with-out-str with-open binding
    with-redefs set! var intern resolve ns-resolve requiring-resolve find-ns create-ns alter-var-root
    alter-meta! shutdown-agents time rand rand-int rand-nth shuffle random-uuid random-sample tap>
    add-tap monitor-enter monitor-exit""".split())
MAX_CALL_DEPTH = 2000
_AMP = Symbol("&")
_AS = Keyword("as")
_OR = Keyword("or")
_QUOTE = Symbol("quote")


def refusal(sym: Symbol) -> Optional[str]:
    """Why ``sym`` can never be evaluated here, or None."""
    name = sym.name
    if sym.ns == "pt":
        if sym.short in ("value", "secret", "fail", "module-repo-ref", "module-project-ref"):
            return None
        return f"'{name}' is not available: {_NO_EFFECTS}"
    if name in _REFUSED:
        return f"'{name}' is not available: {_NO_EFFECTS}"
    host = name.startswith(".") or (name.endswith(".") and name[:-1] not in EXCEPTION_CLASSES)
    if sym.ns is not None and sym.ns not in _NAMESPACES:
        host = host or sym.ns[:1].isupper() or "." in sym.ns
        if sym.ns.startswith("clojure."):
            return f"'{name}' is not available: only clojure.core, clojure.string and clojure.set are"
    return f"'{name}' is host interop, which is not available: {_NO_EFFECTS}" if host else None


def _scan(form: Any, depth: int = 0) -> None:
    """Refuse effectful names anywhere in the code, taken branch or not, before anything runs."""
    t = type(form)
    if t is Symbol:
        why = refusal(form)
        if why:
            raise Refused(why + form.where())
    elif t is List:
        if form and form[0] == _QUOTE:
            return
        for x in form:
            _scan(x, depth + 1)
    elif t is Vector or t is Set:
        for x in form:
            _scan(x, depth + 1)
    elif t is Map:
        for k, v in form.items():
            _scan(k, depth + 1)
            _scan(v, depth + 1)


class Arity:
    __slots__ = ("params", "rest", "body")

    def __init__(self, params: list[Any], rest: Any, body: tuple[Any, ...]) -> None:
        self.params, self.rest, self.body = params, rest, body


class Fn:
    """A function written in the code; calling it from Python (``map``, ``sort-by`` ...) runs its body."""

    __slots__ = ("name", "fixed", "variadic", "env", "interp")

    def __init__(
        self, name: str, fixed: dict[int, Arity], variadic: Optional[Arity], env: dict[str, Any], interp: Interp
    ):
        self.name, self.fixed, self.variadic, self.env, self.interp = name, fixed, variadic, env, interp

    def __call__(self, *args: Any) -> Any:
        return self.interp.invoke(self, list(args))

    def printed(self) -> str:
        return f"#function[{self.name or 'fn'}]"


class Interp:
    def __init__(self, budget: Budget, pt: dict[str, Any]) -> None:
        self.budget = budget
        self.pt = pt
        # a call made through a Python builtin (map, sorted ...) also uses the C stack: past a few
        # thousand nested calls the process would crash instead of failing, whatever Limits says
        self.max_depth = min(budget.limits.depth, MAX_CALL_DEPTH)
        self.nesting = 0
        # Python frames per level of nesting stay below this; evaluate() raises the recursion limit to fit
        self.max_nesting = 4 * (self.max_depth + MAX_NESTING)

    # ---- evaluation -------------------------------------------------------------------------------------

    def ev(self, form: Any, env: dict[str, Any]) -> Any:
        """The value of ``form``; in tail position it may be a Recur for the enclosing loop or fn."""
        t = type(form)
        if t is Symbol:
            value = env.get(form.name, _MISSING)
            return self.resolve(form, False) if value is _MISSING else value
        if t is List:
            return self.ev_list(form, env) if form else form
        if t is Vector:
            return Vector([self.ev1(x, env) for x in form])
        if t is Map:
            return Map((self.ev1(k, env), self.ev1(v, env)) for k, v in form.items())
        if t is Set:
            return Set(self.ev1(x, env) for x in form)
        return form

    def ev1(self, form: Any, env: dict[str, Any]) -> Any:
        """The value of ``form`` where a recur cannot be."""
        value = self.ev(form, env)
        if type(value) is Recur:
            raise CodeError("recur can only be in tail position (the last form of a loop or fn)")
        return value

    def ev_body(self, body: Any, env: dict[str, Any]) -> Any:
        for form in body[:-1]:
            self.ev1(form, env)
        return self.ev(body[-1], env) if body else None

    def ev_list(self, form: List, env: dict[str, Any]) -> Any:
        budget = self.budget
        budget.steps += 1
        if not budget.steps & 255:
            budget.check_time()
        self.nesting += 1
        try:
            if self.nesting > self.max_nesting:
                raise LimitExceeded(f"evaluation nested deeper than {self.max_nesting} levels (depth limit)")
            head = form[0]
            if type(head) is Symbol:
                special = _SPECIAL.get(head.name)
                if special is not None:
                    return special(self, form, env)
                f = env.get(head.name, _MISSING)
                if f is _MISSING:
                    if head.name.endswith(".") and head.name[:-1] in EXCEPTION_CLASSES:
                        return self.construct(head, [self.ev1(a, env) for a in form[1:]])
                    f = self.resolve(head, True)
            else:
                f = self.ev1(head, env)
            return self.apply(f, [self.ev1(a, env) for a in form[1:]], head)
        finally:
            self.nesting -= 1

    def resolve(self, sym: Symbol, called: bool) -> Any:
        ns = sym.ns
        if ns is None:
            value = _FUNCTIONS.get(sym.name, _MISSING)
        elif ns == "pt":
            value = self.pt.get(sym.short, _MISSING)
        else:
            value = _NAMESPACES.get(ns, {}).get(sym.short, _MISSING)
        if value is not _MISSING:
            return value
        why = refusal(sym)
        if why:
            raise Refused(why + sym.where())
        if sym.name in EXCEPTION_CLASSES:
            raise CodeError(f"'{sym.name}' can only be named in (catch {sym.name} e ...){sym.where()}")
        raise Refused(f"unknown {'function' if called else 'symbol'} '{sym.name}'{sym.where()}")

    def apply(self, f: Any, args: list[Any], head: Any = None) -> Any:
        if type(f) is Fn:
            return self.invoke(f, args)
        try:
            return as_fn(f)(*args)
        except RuntimeFailure as e:
            raise _located(e, head) from None
        except (CodeError, Thrown):
            raise
        except RecursionError:
            raise LimitExceeded(f"calls nested too deep (depth limit {self.max_depth})") from None
        except MemoryError:
            raise LimitExceeded("out of memory (memory limit)") from None
        except (TypeError, ValueError, ArithmeticError, IndexError, KeyError, AttributeError) as e:
            text = str(e)
            if "positional argument" in text or "required" in text and "argument" in text:
                text = f"wrong number of arguments ({len(args)})"
            name = head.name if type(head) is Symbol else describe(f)
            raise _located(RuntimeFailure(f"{name}: {text}"), head) from None

    def invoke(self, fn: Fn, args: list[Any]) -> Any:
        budget = self.budget
        budget.depth += 1
        try:
            if budget.depth > self.max_depth:
                raise LimitExceeded(f"calls nested deeper than {self.max_depth} (depth limit)")
            while True:
                arity = fn.fixed.get(len(args))
                if arity is None:
                    arity = fn.variadic
                    if arity is None or len(args) < len(arity.params):
                        raise RuntimeFailure(f"wrong number of arguments ({len(args)}) passed to {fn.printed()}")
                env = dict(fn.env)
                if fn.name:
                    env[fn.name] = fn
                for param, arg in zip(arity.params, args):
                    self.bind(param, arg, env)
                if arity.rest is not None:
                    self.bind(arity.rest, List(args[len(arity.params) :]) or None, env)
                result = self.ev_body(arity.body, env)
                if type(result) is not Recur:
                    return result
                args = result.args
                if arity.rest is not None and len(args) == len(arity.params) + 1:
                    # recur in a variadic fn passes the rest as one seq
                    args = args[:-1] + list(items(args[-1]))
        finally:
            budget.depth -= 1

    def construct(self, head: Symbol, args: list[Any]) -> ExInfo:
        if not args or len(args) > 2:
            raise RuntimeFailure(f"({head.name} message) takes a message{head.where()}")
        return ExInfo(args[0], None, args[1] if len(args) > 1 else None, EXCEPTION_CLASSES[head.name[:-1]])

    # ---- bindings and destructuring -----------------------------------------------------------------------

    def bind(self, pattern: Any, value: Any, env: dict[str, Any]) -> None:
        t = type(pattern)
        if t is Symbol:
            if pattern.ns is not None:
                raise CodeError(f"cannot bind the qualified name '{pattern.name}'{pattern.where()}")
            env[pattern.name] = value
        elif t is Vector:
            seq = items(value) if value is not None else ()
            i = k = 0
            while k < len(pattern):
                p = pattern[k]
                if p == _AMP or p == _AS:
                    if k + 1 >= len(pattern):
                        raise CodeError(f"a binding vector ends after {pr_str(p)}")
                    self.bind(pattern[k + 1], value if p == _AS else (List(seq[i:]) or None), env)
                    k += 2
                    continue
                self.bind(p, seq[i] if i < len(seq) else None, env)
                i += 1
                k += 1
        elif t is Map:
            self.bind_map(pattern, value, env)
        else:
            raise CodeError(f"cannot bind to {pr_str(pattern)}: expected a name, a vector or a map")

    def bind_map(self, pattern: Map, value: Any, env: dict[str, Any]) -> None:
        if type(value) is List:
            value = Map(zip(value[::2], value[1::2]))
        defaults = pattern.get(_OR) or Map()
        if type(defaults) is not Map:
            raise CodeError("the :or of a map binding must be a map")
        defaults = {getattr(k, "name", k): v for k, v in defaults.items()}

        def lookup(local: str, key: Any) -> Any:
            found = get(value, key, _MISSING)
            if found is _MISSING:
                return self.ev1(defaults[local], env) if local in defaults else None
            return found

        for k, v in pattern.items():
            if k == _AS:
                self.bind(v, value, env)
            elif type(k) is Keyword and k.short in ("keys", "strs", "syms"):
                for s in items(v):
                    if type(s) not in (Symbol, Keyword):
                        raise CodeError(f"{pr_str(k)} takes names, not {pr_str(s)}")
                    short = s.short
                    ns = k.ns or s.ns
                    key = {"keys": Keyword(f"{ns}/{short}" if ns else short), "strs": short}.get(k.short)
                    env[short] = lookup(short, Symbol(s.name) if key is None else key)
            elif k != _OR:
                local = k.name if type(k) is Symbol else ""
                found = lookup(local, self.ev1(v, env))
                self.bind(k, found, env)

    def let_env(self, bindings: Any, env: dict[str, Any], what: str) -> dict[str, Any]:
        if type(bindings) is not Vector or len(bindings) % 2:
            raise CodeError(f"{what} needs a vector of name-value pairs")
        for i in range(0, len(bindings), 2):
            value = self.ev1(bindings[i + 1], env)
            env = dict(env)
            self.bind(bindings[i], value, env)
        return env

    def make_fn(self, form: List, env: dict[str, Any]) -> Fn:
        rest = list(form[1:])
        name = rest.pop(0).name if rest and type(rest[0]) is Symbol else ""
        if rest and type(rest[0]) is Vector:
            rest = [List(rest)]
        fixed: dict[int, Arity] = {}
        variadic = None
        if not rest:
            raise CodeError("fn needs a parameter vector, or (params body) lists, after its name")
        for clause in rest:
            if type(clause) is not List or not clause or type(clause[0]) is not Vector:
                raise CodeError("fn needs a parameter vector, or (params body) lists, after its name")
            params = list(clause[0])
            if _AMP in params:
                i = params.index(_AMP)
                if len(params) != i + 2:
                    raise CodeError("fn: exactly one parameter can follow &")
                variadic = Arity(params[:i], params[i + 1], tuple(clause[1:]))
            else:
                fixed[len(params)] = Arity(params, None, tuple(clause[1:]))
        return Fn(name, fixed, variadic, env, self)

    def iterate_for(self, bindings: Any, env: dict[str, Any], body: Any, what: str) -> Iterator[Any]:
        if type(bindings) is not Vector or len(bindings) % 2:
            raise CodeError(f"{what} needs a vector of name-collection pairs")
        groups: list[list[Any]] = []
        for i in range(0, len(bindings), 2):
            key, value = bindings[i], bindings[i + 1]
            if type(key) is Keyword:
                if not groups or key.name not in ("let", "when", "while"):
                    raise CodeError(f"{what}: unexpected {pr_str(key)}")
                groups[-1][2].append((key.name, value))
            else:
                groups.append([key, value, []])
        return self._for_level(groups, 0, env, body)

    def _for_level(self, groups: list[list[Any]], level: int, env: dict[str, Any], body: Any) -> Iterator[Any]:
        if level == len(groups):
            yield self.ev1(body, env)
            return
        pattern, coll_form, modifiers = groups[level]
        coll = self.ev1(coll_form, env)
        for item in coll.make() if type(coll) is Infinite else items(coll):
            inner = dict(env)
            self.bind(pattern, item, inner)
            ok = True
            for kind, form in modifiers:
                if kind == "let":
                    inner = self.let_env(form, inner, ":let")
                elif not truthy(self.ev1(form, inner)):
                    if kind == "while":
                        return
                    ok = False
                    break
            if ok:
                yield from self._for_level(groups, level + 1, inner, body)


def _located(e: RuntimeFailure, head: Any) -> RuntimeFailure:
    if getattr(e, "located", False) or type(head) is not Symbol or not head.line:
        return e
    located = RuntimeFailure(f"{e.message} (in ({head.name} ...){head.where()})")
    located.located = True  # type: ignore[attr-defined]
    return located


_DEFAULT_LIMITS = Limits()


# ---- values in and out ---------------------------------------------------------------------------------


def to_clojure(value: Any, depth: int = 0) -> Any:
    """A parameter's plain value as Clojure sees it: every string key of a dict becomes a keyword."""
    if depth > MAX_NESTING:
        raise CodeError(f"a parameter value is nested deeper than {MAX_NESTING} levels")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return Map(
            (Keyword(k) if isinstance(k, str) else to_clojure(k, depth + 1), to_clojure(v, depth + 1))
            for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return Vector(to_clojure(v, depth + 1) for v in value)
    if isinstance(value, (set, frozenset)):
        return Set(to_clojure(v, depth + 1) for v in value)
    raise CodeError(f"a parameter value of type {type(value).__name__} cannot be given to Clojure code")


class _Result:
    def __init__(self, budget: Budget) -> None:
        self.left = budget.max_items

    def plain(self, x: Any, depth: int) -> Any:
        if depth > MAX_NESTING:
            raise LimitExceeded(f"the result is nested deeper than {MAX_NESTING} levels (depth limit)")
        t = type(x)
        if x is None or t in (str, bool, int, float):
            return x
        if t is Keyword or t is Symbol:
            return x.name
        if t is Vector or t is List or t is Set or t is Map:
            self.left -= len(x)
            if self.left < 0:
                raise LimitExceeded("the result has more items than the result_items limit")
            if t is Map:
                return self.plain_map(x, depth)
            out = [self.plain(i, depth + 1) for i in x]
            if t is Set:
                kinds = {type(i) for i in out}
                if kinds <= {int, float} or kinds == {str}:
                    out.sort()
            return out
        if t is Char:
            return x.value
        if t is Infinite:
            raise LimitExceeded(f"the result is {x.what}, which never ends (result_items limit)")
        kind = {Pattern: "a regex", ExInfo: "an exception"}.get(t, "a function" if callable(x) else t.__name__)
        raise CodeError(f"the result is {kind}, which is not a value an argument can take")

    def plain_map(self, m: Map, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in m.items():
            if type(k) is str:
                key = k
            elif type(k) is Keyword or type(k) is Symbol:
                key = k.name
            elif type(k) in (int, float, bool):
                key = pr_str(k)
            else:
                raise CodeError(f"the result has a map key {pr_str(k, max_chars=60)}: keys must be keywords or strings")
            if key in out:
                raise CodeError(f"the result has two map keys that are both {key!r} as text")
            out[key] = self.plain(v, depth + 1)
        return out


def evaluate(source: str, bindings: Bindings, limits: Limits = _DEFAULT_LIMITS) -> Any:
    """The plain value of the Clojure ``source`` (its last form); raises CodeError."""
    forms = read_all(source)
    if not forms:
        raise CodeError("the code string has no Clojure form")
    for form in forms:
        _scan(form)
    params = Map((Keyword(str(k)), to_clojure(v)) for k, v in bindings.params.items())

    def pt_fail(*message: Any) -> Any:
        raise CodeError("pt/fail: " + "".join(TEXT["str"](m) for m in message))

    pt = {
        "value": lambda k: to_clojure(bindings.value(TEXT["name"](k))),
        "secret": lambda k: to_clojure(bindings.secret(TEXT["name"](k))),
        "fail": pt_fail,
        "module-repo-ref": bindings.module_repo_ref,
        "module-project-ref": bindings.module_project_ref,
    }
    budget = Budget(limits)
    interp = Interp(budget, pt)
    token = CURRENT.set(budget)
    old_limit = sys.getrecursionlimit()
    # a few Python frames per level of interpreted nesting, with the caller's frames beneath
    sys.setrecursionlimit(max(old_limit, 8 * interp.max_nesting + 2000))
    try:
        env = {"params": params, "inputs": params}
        result = None
        for form in forms:
            result = interp.ev1(form, env)
        return _Result(budget).plain(result, 0)
    except Thrown as e:
        value = e.value
        data = f" {pr_str(value.data, max_chars=500)}" if value.data else ""
        raise CodeError(f"thrown: {TEXT['str'](value.message)}{data}") from None
    except RecursionError:
        raise LimitExceeded(f"evaluation nested too deep (depth limit {limits.depth})") from None
    except MemoryError:
        raise LimitExceeded("out of memory (memory limit)") from None
    except CodeError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError) as e:
        raise CodeError(f"evaluation failed: {type(e).__name__}: {e}") from None
    finally:
        sys.setrecursionlimit(old_limit)
        CURRENT.reset(token)
