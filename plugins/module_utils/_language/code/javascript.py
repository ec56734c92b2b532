# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JavaScript code strings (``#pt-js`` / ``pt.js``), evaluated by V8 through the ``mini-racer`` package.

Where V8 runs: in one helper process per controller process (this file run as a script), never in
the caller.  V8 ends the whole process on some allocations (``new Array(1e9).fill(0)`` dies with
"Fatal JavaScript out of memory: invalid table size" whatever the heap limit), and a long builtin
such as that ``fill`` does not notice mini-racer's timeout; in a helper the first costs a respawn
and the second a kill, and Ansible survives both.  The helper starts once (about 0.1 s) and makes
a new ``MiniRacer`` (a fresh isolate and context, about 2 ms) for every evaluation: no state passes
between strings and every memory limit starts from an empty heap, for a cost that no reuse scheme
would save enough of to matter.

What code sees: ``params`` and ``inputs`` (one object) with keys camelCased at every level;
``pt.param(name)`` (by declared or camelCased name: the same value as ``params[...]``, undefined
when unknown, like ``params.x``); ``pt.value(name)`` / ``pt.secret(name)``;
``pt.moduleRepoRef`` / ``pt.moduleProjectRef``; ``pt.fail(msg)``; ``pt.log(...)`` (does nothing).
V8 cannot call back into Python synchronously (mini-racer's Python callbacks are async and return
Promises), so values and secrets are looked up before the run, for every ``pt.value("...")`` /
``pt.secret('...')`` written with a literal name; any other call of them fails naming that rule.
Any other ``pt.x`` (``pt.spawn``, ``pt.callModule``, ...) fails naming the call, and so does the
whole evaluation once one was made, even when the code catches what it threw; ``pt.fail`` too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any, Dict, Optional, cast

if TYPE_CHECKING:
    from ansible_collections.polytope.core.plugins.module_utils._language.code import Bindings, Limits

MISSING = "JavaScript code strings need the Python package 'mini-racer' on the controller (pip install mini-racer)"
REFUSED = "is not available: argument code computes values only (no I/O, no effects)"
# names a Node.js or browser script would use; V8 alone has none of them
_HOST_NAMES = {"require", "process", "fetch", "module", "exports", "Buffer", "__dirname", "__filename", "window"}
_HOST_NAMES |= {"document", "navigator", "XMLHttpRequest", "Deno", "Bun", "setTimeout", "setInterval", "localStorage"}
_LOOKUP_RE = re.compile(r"\bpt\s*\.\s*(value|secret)\s*\(\s*(?:\"([^\"\\\n]*)\"|'([^'\\\n]*)'|`([^`\\$]*)`)\s*\)")
_CAMEL_RE = re.compile(r"(?<=[A-Za-z0-9])[-_]+([A-Za-z0-9])")
# the helper gets this much longer than the time limit to say so itself before it is killed
_GRACE_SECONDS = 1.0
_START_SECONDS = 30.0

_SETUP_JS = r"""(function (data) {
  "use strict";
  const stringify = JSON.stringify, keys = Object.keys, getProto = Object.getPrototypeOf;
  const isArray = Array.isArray, ObjProto = Object.prototype, PromiseC = Promise;
  let failure = null;
  const fail = (message) => { if (failure === null) failure = message; throw new Error(message); };
  const lookup = (kind, table) => (name) => {
    const entry = typeof name === "string" && Object.hasOwn(table, name) ? table[name] : null;
    if (entry === null)
      fail(`pt.${kind}(${stringify(name)}): the name must be a string literal in the code (${kind}s are looked up before it runs)`);
    if ("error" in entry) fail(entry.error);
    return entry.v;
  };
  const target = Object.freeze({
    param: (name) => Object.hasOwn(data.declared, name) ? data.params[data.declared[name]] : data.params[name],
    value: lookup("value", data.values),
    secret: lookup("secret", data.secrets),
    fail: (message) => fail("pt.fail: " + String(message)),
    log: () => undefined,
    moduleRepoRef: data.repoRef,
    moduleProjectRef: data.projectRef,
  });
  const pt = new Proxy(target, {
    get: (t, key) => (typeof key === "symbol" || key in t ? Reflect.get(t, key) : fail(`pt.${key} ${data.refused}`)),
  });
  // mini-racer's timers (declared with var, so they cannot be deleted): nothing may run after the value
  for (const name of ["setTimeout", "clearTimeout", "__timer_manager"]) globalThis[name] = undefined;
  const define = (name, value) => Object.defineProperty(globalThis, name, {value, configurable: true});
  define("params", data.params); define("inputs", data.params); define("pt", pt);

  // "J" + JSON text, or "E" + why the completion value is not a plain value or is too big
  const convert = (value) => {
    const out = [], path = [], open = new Set();
    let items = 0, chars = 0;
    const where = () => (path.length ? " (at result" + path.join("") + ")" : "");
    const notPlain = (what) => bad(`the result is not a plain value${where()}: ${what}`);
    const bad = (what) => { throw {bad: what}; };
    const emit = (text) => {
      chars += text.length;
      if (chars > data.maxChars) bad(`the result is larger than the result size limit (${data.maxChars} characters of JSON)`);
      out.push(text);
    };
    const walk = (v, depth) => {
      if (v === null || v === undefined) return emit("null");
      switch (typeof v) {
        case "boolean": return emit(v ? "true" : "false");
        case "number":
          if (!Number.isFinite(v)) notPlain(String(v));
          return emit(String(v));
        case "bigint": return emit(v.toString());
        case "string":
          if (v.length > data.maxChars) bad(`the result is larger than the result size limit (${data.maxChars} characters of JSON)`);
          return emit(stringify(v));
        case "symbol": case "function": notPlain(`a ${typeof v}`);
      }
      if (v instanceof PromiseC) notPlain("a Promise (code runs synchronously, nothing is awaited)");
      if (open.has(v)) bad(`the result refers to itself${where()}`);
      if (depth >= data.maxDepth) bad(`the result nests deeper than the depth limit (${data.maxDepth})${where()}`);
      if (!isArray(v) && typeof v.toJSON === "function") return walk(v.toJSON(), depth);
      const proto = getProto(v);
      if (!isArray(v) && proto !== ObjProto && proto !== null)
        notPlain(`an object of class ${(proto.constructor && proto.constructor.name) || "unknown"}`);
      const names = isArray(v) ? null : keys(v);
      items += names === null ? v.length : names.length;
      if (items > data.maxItems) bad(`the result has more items than the result items limit (${data.maxItems})`);
      open.add(v);
      emit(names === null ? "[" : "{");
      const count = names === null ? v.length : names.length;
      for (let i = 0, first = true; i < count; i++) {
        const key = names === null ? i : names[i], item = v[key];
        if (names !== null && item === undefined) continue;
        if (!first) emit(",");
        first = false;
        if (names !== null) emit(stringify(key) + ":");
        path.push(names === null ? `[${i}]` : `[${stringify(key)}]`);
        walk(item, depth + 1);
        path.pop();
      }
      emit(names === null ? "]" : "}");
      open.delete(v);
    };
    try { walk(value, 0); return "J" + out.join(""); }
    catch (e) { return "E" + (e && typeof e === "object" && "bad" in e ? e.bad : "the result could not be read: " + String(e)); }
  };
  // indirect eval: global code whose completion value is the script's, with V8's line and column on errors
  const evalGlobal = eval;
  return [() => failure, (source) => convert(evalGlobal(source))];
})"""


def camel_case(name: str) -> str:
    """``api-protocol-host-port`` and ``api_protocol_host_port`` -> ``apiProtocolHostPort``."""
    return _CAMEL_RE.sub(lambda match: match.group(1).upper(), name)


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel_case(str(key)): _camel_keys(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_camel_keys(item) for item in value]
    return value


def _looked_up(source: str, bindings: Bindings) -> Dict[str, Dict[str, Any]]:
    from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError

    found: Dict[str, Dict[str, Any]] = {"value": {}, "secret": {}}
    for match in _LOOKUP_RE.finditer(source):
        kind, name = match.group(1), next(group for group in match.groups()[1:] if group is not None)
        if name in found[kind]:
            continue
        try:
            found[kind][name] = {"v": (bindings.value if kind == "value" else bindings.secret)(name)}
        except CodeError as error:
            # kept for the call: the code may never reach it (a branch not taken)
            found[kind][name] = {"error": error.message}
    return found


def evaluate(source: str, bindings: Bindings, limits: Limits) -> Any:
    """The plain value of the JavaScript ``source``; raises CodeError."""
    from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError

    try:
        available = importlib.util.find_spec("py_mini_racer") is not None
    except (ImportError, ValueError):
        available = False
    if not available:
        raise CodeError(MISSING)
    looked_up = _looked_up(source, bindings)
    data = {
        "params": _camel_keys(dict(bindings.params)),
        "declared": {str(name): camel_case(str(name)) for name in bindings.params},
        "values": looked_up["value"],
        "secrets": looked_up["secret"],
        "repoRef": bindings.module_repo_ref,
        "projectRef": bindings.module_project_ref,
        "refused": REFUSED,
        "maxItems": limits.result_items,
        "maxDepth": limits.depth,
        # the result crosses a pipe and is parsed again; a 16th of the memory limit is plenty for a value
        "maxChars": max(1024, limits.memory_bytes // 16),
    }
    request: Dict[str, Any] = {"setup": _SETUP_JS + "(" + json.dumps(data, default=str) + ")", "source": source}
    request.update(seconds=limits.seconds, memory=limits.memory_bytes)
    with _lock:
        reply = _helper(limits.memory_bytes).ask(request, limits)
    if "error" in reply:
        raise CodeError(reply["error"])
    return json.loads(reply["value"], parse_float=_number)


def _number(text: str) -> Any:
    number = float(text)
    return int(number) if number.is_integer() else number


class _Helper:
    """The helper process, its pipes, and the process id that started it (a fork must not share it)."""

    def __init__(self, memory_bytes: int) -> None:
        from ansible_collections.polytope.core.plugins.module_utils._language.code import CodeError

        self.memory_bytes, self.owner = memory_bytes, os.getpid()
        # run_path instead of running the file: the script's directory must not shadow the standard library
        bootstrap = "import sys, runpy; sys.path.pop(0); runpy.run_path(sys.argv[1], run_name='__main__')"
        # Controller-side code with a long-lived pipe, not a module: AnsibleModule.run_command does not apply.
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with,ansible-bad-function
            [sys.executable, "-c", bootstrap, os.path.abspath(__file__), str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stdin, self.stdout = cast(IO[bytes], self.process.stdin), cast(IO[bytes], self.process.stdout)
        self.buffer = b""
        ready = self._read_line(_START_SECONDS)
        if ready is None or "ready" not in ready:
            self.kill()
            raise CodeError((ready or {}).get("error") or f"the JavaScript engine did not start: {self._stderr()}")

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        lines = self.process.stderr.read().decode("utf-8", "replace").splitlines()
        fatal = [line.strip("# ") for line in lines if "Fatal" in line or "Error" in line]
        return (fatal or lines or ["no message"])[0]

    def _read_line(self, seconds: float) -> Optional[Dict[str, Any]]:
        deadline = time.monotonic() + seconds
        fd = self.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        reply: Dict[str, Any] = json.loads(line)
        return reply

    def ask(self, request: Dict[str, Any], limits: Limits) -> Dict[str, Any]:
        try:
            self.stdin.write(json.dumps(request).encode() + b"\n")
            self.stdin.flush()
            reply = self._read_line(limits.seconds + _GRACE_SECONDS)
        except TimeoutError:
            self.kill()
            return {"error": f"the code ran past the time limit ({limits.seconds:g} s)"}
        except BrokenPipeError:
            reply = None
        if reply is None:
            self.process.wait()
            why = self._stderr()
            why = f"V8 ended its process ({why}); the usual cause is code going past the memory limit"
            return {"error": f"the JavaScript engine stopped: {why} ({limits.memory_bytes} bytes)"}
        return reply


_lock = threading.Lock()
_current: Optional[_Helper] = None


def _helper(memory_bytes: int) -> _Helper:
    global _current
    # V8's own heap ceiling is a process-wide flag, so a different memory limit needs another helper
    if _current is None or not _current.alive() or _current.memory_bytes != memory_bytes:
        if _current is not None and _current.owner == os.getpid():
            _current.kill()
        _current = _Helper(memory_bytes)
    return _current


# ----------------------------------------------------------------------------------- the helper --
def _position(text: str) -> str:
    """``line L, column C`` from V8's report: ``undefined:L: ...``, the source line, a caret under the column."""
    lines = text.split("\n")
    match = re.match(r"(?:<anonymous>|undefined):(\d+):", lines[0])
    if match is None:
        return ""
    caret = lines[2].find("^") if len(lines) > 2 else -1
    return f"line {match.group(1)}" + (f", column {caret + 1}" if caret >= 0 else "")


def _message(error: Exception, limits: Dict[str, Any]) -> str:
    from py_mini_racer import JSOOMException, JSTimeoutException

    if isinstance(error, JSTimeoutException):
        return f"the code ran past the time limit ({limits['seconds']:g} s)"
    if isinstance(error, JSOOMException):
        return f"the code went past the memory limit ({limits['memory']} bytes)"
    text = str(error)
    header = re.sub(r"^(?:<anonymous>|undefined):\d+: ", "", text.split("\n", 1)[0])
    where = _position(text)
    if header.startswith("SyntaxError"):
        hint = " (code strings are scripts: no import)" if "import" in header else ""
        return f"{header} at {where}{hint}" if where else header + hint
    if "Maximum call stack size exceeded" in header:
        return f"recursion too deep: JavaScript's call stack limit was reached ({header}) at {where}"
    name = re.match(r"ReferenceError: (\S+) is not defined", header)
    if name and name.group(1) in _HOST_NAMES:
        header += ": code strings run in a bare JavaScript engine, without Node.js or browser APIs (no I/O)"
    elif not header.startswith(("ReferenceError", "SyntaxError", "TypeError", "RangeError")):
        header = "thrown: " + header
    return f"{header} at {where}" if where else header


def _no_failure() -> None:
    return None


def _run(request: Dict[str, Any]) -> Dict[str, Any]:
    from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException, MiniRacer

    deadline = time.monotonic() + request["seconds"]
    with MiniRacer() as racer:
        limit = {"max_memory": request["memory"]}
        failure: Any = _no_failure  # until the setup has given its own
        try:
            # the setup evaluates to [failure, run], two JavaScript functions
            setup: Any = racer.eval(request["setup"], timeout_sec=request["seconds"], **limit)
            failure, run = setup
            # only a string crosses back: mini-racer hangs on values it cannot convert (a BigInt)
            text = run(request["source"], timeout_sec=max(deadline - time.monotonic(), 0.001))
        except JSEvalException as error:
            if racer.was_hard_memory_limit_reached():
                return {"error": _message(JSOOMException(), request)}
            message = _message(error, request)
            if not isinstance(error, JSTimeoutException):
                message = failure() or message
            return {"error": message}
        if failure():
            return {"error": failure()}
    return {"value": text[1:]} if text[0] == "J" else {"error": text[1:]}


def _say(reply: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def _serve(memory_bytes: int) -> None:
    try:
        from py_mini_racer import init_mini_racer

        # a heap well past the limit mini-racer enforces: runaway allocations end this helper, not the machine
        init_mini_racer(flags=["--single-threaded", f"--max-heap-size={2 * memory_bytes // 2**20 + 32}"])
    except ImportError:
        _say({"error": MISSING})
        return
    _say({"ready": True})
    for line in sys.stdin:
        try:
            reply = _run(json.loads(line))
        except Exception as error:  # pylint: disable=broad-except
            reply = {"error": f"the JavaScript engine failed: {type(error).__name__}: {error}"}
        _say(reply)


if __name__ == "__main__":
    _serve(int(sys.argv[-1]))
