# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expansion of modules, templates and tools into raw steps (the plan is made in :mod:`order`)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from ansible_collections.polytope.core.plugins.module_utils._card_keys import rename_card_keys
from ansible_collections.polytope.core.plugins.module_utils._language.code import (
    Bindings,
    CodeError,
    Limits,
    split_code,
)
from ansible_collections.polytope.core.plugins.module_utils._language.code import evaluate as evaluate_code
from ansible_collections.polytope.core.plugins.module_utils._language.loading import Origin
from ansible_collections.polytope.core.plugins.module_utils._language.order import _Planning
from ansible_collections.polytope.core.plugins.module_utils._language.steps import (
    BUILD_IMAGE,
    CONTAINER,
    KIND_BUILD_IMAGE,
    KIND_CONTAINER,
    AFTER_CONDITIONS,
    _RawStep,
    _Resolved,
)
from ansible_collections.polytope.core.plugins.module_utils._language.types import (
    _BUILD_IMAGE_PARAMS,
    _BadType,
    _CONTAINER_PARAMS,
    _PASSED_PARAMS,
    _Mismatch,
    _Param,
    _at,
    _is_optional,
    conform,
    validate_type,
)
from ansible_collections.polytope.core.plugins.module_utils._language.values import (
    BROKEN,
    _Missing,
    _canonical,
    _contains_broken,
    _find_key,
    _missing,
    _missing_refs,
    _plain,
    _render_interpolated,
    _show,
    _type_text,
    _user_text,
    _value_kind,
)

# Whole-value references: the bare form (``pt.param x``) and the older one (``#pt-param x``).
_NAME = r"[A-Za-z0-9_.-]+"
_BARE_REF_RE = re.compile(rf"^\s*pt\.(param|input|value|secret)\s+({_NAME})\s*$")
_HASH_REF_RE = re.compile(rf"^\s*#pt-(param|input|value|secret)\s+({_NAME})\s*$")
_OTHER_HASH_RE = re.compile(r"^\s*#pt-([A-Za-z0-9_-]*)")
_OTHER_BARE_RE = re.compile(rf"^\s*pt\.([a-z]+)\s+({_NAME})\s*$")
# Interpolation inside a string; shell's ``${VAR}`` and JSON-pointer ``${/id}`` never match.
_INTERPOLATION_RE = re.compile(rf"\{{\s*pt\.(param|input|value|secret)\s+({_NAME})\s*\}}")


_MODULE_KEYS = ("id", "module", "params", "args", "info", "name", "default?")
_TEMPLATE_KEYS = ("id", "params", "run", "info", "name", "default?", "tool")
_PASSED_TO_CONTAINER = ("create", "unconfined", "await")
_TOOL_KEYS = ("info", "inputs", "params", "run", "await", "name", "description")
_STEP_KEYS = (
    "module",
    "template",
    "id",
    "args",
    "info",
    "run-when",
    "run_when",
    "after",
    "after-condition",
    "after_condition",
    "tool",
)


_MISSING_TEXT_RE = re.compile(r"<not given: pt\.(?:value|secret) ")


def _as_placeholders(value: Any) -> Any:
    """Code's result with each string built from a placeholder marked as one again, also inside a list
    or mapping: a standard library module computes whole mounts and env lists from its params."""
    if isinstance(value, dict):
        return {key: _as_placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_placeholders(item) for item in value]
    if isinstance(value, str) and _MISSING_TEXT_RE.search(value):
        return _Missing(value)
    return value


def _string_leaves(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_string_leaves(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_string_leaves(item) for item in value)) if value else set()
    return {value} if isinstance(value, str) and value else set()


# --------------------------------------------------------------------------------------------
# Standard library hook


def _load_library() -> dict:
    """The standard library document (plugins/module_utils/_stdlib/*.yml); tests put a stand-in here."""
    from ansible_collections.polytope.core.plugins.module_utils._stdlib import load_library

    return load_library()


class _Library:
    """Polytope's standard library: module definitions in polytope.yml form, looked up by reference.

    Loaded on first use and guarded, so a library that fails to load reads as a problem of each
    step that uses it (every library reference is then "not available"), never as a traceback.
    """

    def __init__(self) -> None:
        self.modules: dict[str, dict] = {}
        self.unavailable: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.load_problem: Optional[str] = None
        try:
            document = _load_library()
            for entry in document.get("modules") or ():
                self.modules[entry["id"]] = entry
            self.unavailable = dict(document.get("unavailable") or {})
            self.aliases = dict(document.get("aliases") or {})
        except Exception as exc:  # a broken library must read as a problem, never as a traceback
            self.modules, self.unavailable, self.aliases = {}, {}, {}
            self.load_problem = f"the standard library failed to load: {type(exc).__name__}: {exc}"

    def canonical(self, ref: str) -> str:
        """``polytope/x!<x's default variant>`` as ``polytope/x``; any other reference unchanged."""
        return self.aliases.get(ref, ref)

    def unavailable_reason(self, ref: str) -> Optional[str]:
        return self.unavailable.get(self.canonical(ref))

    def lookup(self, ref: str) -> Optional[dict]:
        """The library's definition of ``ref`` (a polytope.yml module mapping), or None."""
        return self.modules.get(self.canonical(ref))

    def unresolvable(self, ref: str, used_by: str) -> str:
        reason = self.unavailable_reason(ref)
        if reason is not None:
            return (
                f"module {ref!r}{used_by}: Polytope standard library module not available: {reason} "
                f"(to run it anyway, define a module with id {ref!r} in the file)"
            )
        why = f" ({self.load_problem})" if self.load_problem else ""
        return f"module {ref!r}{used_by}: Polytope standard library module not available in this collection{why}"


_LIBRARY: Optional[_Library] = None


def _library() -> _Library:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = _Library()
    return _LIBRARY


def _reset_library_cache() -> None:
    """For tests that install a stand-in standard library."""
    global _LIBRARY
    _LIBRARY = None


# --------------------------------------------------------------------------------------------
# Expansion


@dataclass
class _Scope:
    """Where ``pt.param`` names are looked up: a module's or a template's bound parameters."""

    owner: str
    params: dict[str, Any]
    # The repository of the file that defines the owner, as code sees it (None: the project's own).
    repo_ref: Optional[str] = None

    def find(self, name: str) -> Optional[str]:
        if name in self.params:
            return name
        for declared in self.params:
            if _canonical(declared) == _canonical(name):
                return declared
        return None


class _Frame:
    """Names where a problem is (template, step, module) while the expander is inside it."""

    def __init__(self, frames: list[str], label: str) -> None:
        self.frames = frames
        self.label = label

    def __enter__(self) -> None:
        self.frames.append(self.label)

    def __exit__(self, *exc_info: Any) -> None:
        self.frames.pop()


class _Expander(_Planning):
    def __init__(
        self,
        document: dict,
        file_name: str,
        values: Mapping[str, Any],
        secrets: Mapping[str, Any],
        teardown: bool = False,
        origins: Optional[Mapping[tuple[str, str], Origin]] = None,
        strict: bool = False,
    ) -> None:
        self.file_name = file_name
        self.origins = dict(origins or {})
        # An argument a library module does not declare: a warning (dropped), or with strict an error.
        self.strict = strict
        self.warnings: list[str] = []
        # Teardown: a value or secret that is not given becomes a placeholder, not a problem.
        self.teardown = teardown
        self.document = document
        self.values = dict(values)
        self.secrets = {key: _user_text(value) for key, value in secrets.items()}
        self.problems: list[str] = []
        self.frames: list[str] = []
        self.referenced_secrets: set[str] = set()
        self.step_uses_secret = False
        self.code_limits = Limits()
        self.modules = self._index("modules")
        self.templates = self._index("templates")
        self.tools = self._index_tools()

    # ---- reporting

    def problem(self, message: str) -> None:
        text = ", ".join(self.frames + [message])
        if text not in self.problems:
            self.problems.append(text)

    def frame(self, label: str) -> _Frame:
        return _Frame(self.frames, label)

    # ---- reading the document

    def _index(self, section: str) -> dict[str, dict]:
        entries = self.document.get(section)
        index: dict[str, dict] = {}
        if entries is None:
            return index
        if not isinstance(entries, list):
            self.problem(f"'{section}:' must be a list, got {_value_kind(entries)}")
            return index
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                self.problem(f"{section}[{position}] has no string 'id'")
                continue
            if entry["id"] in index:
                self.problem(f"{section[:-1]} id {entry['id']!r} is defined twice")
                continue
            index[entry["id"]] = entry
        return index

    def _index_tools(self) -> dict[str, dict]:
        """``tools:`` as templates: a tool has ``inputs`` (a map) or ``params`` (a list) and ``run``."""
        tools = self.document.get("tools") or {}
        index: dict[str, dict] = {}
        if not isinstance(tools, dict):
            self.problem(f"'tools:' must be a mapping of tool names, got {_value_kind(tools)}")
            return index
        for name, tool in tools.items():
            owner = f"tool {name!r}"
            if not isinstance(tool, dict):
                self.problem(f"{owner}: a tool is a mapping with 'run', got {_value_kind(tool)}")
                continue
            if name in self.templates:
                self.problem(f"{owner}: a template of the same name exists; rename one of them")
                continue
            unknown = sorted(str(key) for key in tool if key not in _TOOL_KEYS)
            if unknown:
                self.problem(f"{owner}: unknown key(s) {', '.join(map(repr, unknown))} in the tool definition")
            params: Any = tool.get("params")
            inputs = tool.get("inputs")
            if inputs is not None:
                if params is not None:
                    self.problem(f"{owner}: give 'inputs' or 'params', not both")
                if not isinstance(inputs, dict):
                    self.problem(f"{owner}: 'inputs:' must be a mapping of input names, got {_value_kind(inputs)}")
                    continue
                params = [
                    {"id": str(key), **(value if isinstance(value, dict) else {"type": value})}
                    for key, value in inputs.items()
                ]
                for declaration in params:
                    declaration.pop("name", None)
            index[str(name)] = {"id": str(name), "params": params, "run": tool.get("run"), "tool": True}
        return index

    def declarations(self, raw: Any, owner: str) -> Optional[tuple[_Param, ...]]:
        """A module's or template's ``params:`` list (null means none); None when unusable."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(f"{owner}: 'params:' must be a list of {{id, type}}, got {_value_kind(raw)}")
            return None
        result: list[_Param] = []
        seen: set[str] = set()
        usable = True
        for position, declaration in enumerate(raw):
            if not isinstance(declaration, dict) or not isinstance(declaration.get("id"), str):
                self.problem(f"{owner}: params[{position}] has no string 'id'")
                usable = False
                continue
            param_id = declaration["id"]
            if _canonical(param_id) in seen:
                self.problem(f"{owner}: param {param_id!r} is declared twice")
                usable = False
                continue
            seen.add(_canonical(param_id))
            if "type" not in declaration:
                self.problem(f"{owner}: param {param_id!r} has no type")
                usable = False
                continue
            try:
                validate_type(declaration["type"])
            except _BadType as exc:
                self.problem(f"{owner}: param {param_id!r}: {exc}")
                usable = False
                continue
            result.append(_Param(param_id, declaration["type"]))
        return tuple(result) if usable else None

    # ---- values

    def reference(self, kind: str, name: str, scope: _Scope, spelling: str) -> Any:
        if kind in ("param", "input"):
            declared = scope.find(name)
            if declared is None:
                known = ", ".join(scope.params) or "none"
                self.problem(f"{spelling} names undeclared param {name!r} of {scope.owner} (declared: {known})")
                return BROKEN
            return copy.deepcopy(scope.params[declared])
        source = self.values if kind == "value" else self.secrets
        key = _find_key(source, name)
        if key is None and self.teardown:
            if kind == "secret":
                self.step_uses_secret = True
            return _missing(kind, name)
        if key is None:
            self.problem(f"{spelling}: no {kind} {name!r} was given (pass it in template_{kind}s)")
            return BROKEN
        if kind == "secret":
            self.step_uses_secret = True
            text = source[key]
            if isinstance(text, str) and text:
                self.referenced_secrets.add(text)
            return copy.deepcopy(text)
        return copy.deepcopy(_user_text(source[key]))

    def evaluate(self, value: Any, scope: _Scope, path: str) -> Any:
        """Replace every reference in an ``args`` value; problems are reported, not raised."""
        if isinstance(value, dict):
            return {key: self.evaluate(item, scope, _at(path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.evaluate(item, scope, _at(path, index)) for index, item in enumerate(value)]
        if not isinstance(value, str):
            return value
        where = f"argument {path!r}" if path else "argument"
        code = split_code(value)
        if code is not None:
            return self.evaluate_code(code[0], code[1], scope, where)
        whole = _BARE_REF_RE.match(value) or _HASH_REF_RE.match(value)
        if whole:
            return self.reference(whole.group(1), whole.group(2), scope, f"{where}: {value.strip()}")
        other = _OTHER_HASH_RE.match(value)
        if other:
            self.problem(f"{where}: unknown directive '#pt-{other.group(1)}' (known: #pt-param, #pt-value, #pt-secret)")
            return BROKEN
        other_bare = _OTHER_BARE_RE.match(value)
        if other_bare:
            self.problem(
                f"{where}: unknown reference 'pt.{other_bare.group(1)}' (known: pt.param, pt.value, pt.secret)"
            )
            return BROKEN
        if "pt." not in value:
            return value
        broken = False
        missing = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal broken, missing
            spelling = f"{where}: {{pt.{match.group(1)} {match.group(2)}}}"
            resolved = self.reference(match.group(1), match.group(2), scope, spelling)
            if _contains_broken(resolved):
                broken = True
                return ""
            if self.teardown and _missing_refs(resolved):
                missing = True
            return _render_interpolated(resolved)

        text = _INTERPOLATION_RE.sub(substitute, value)
        if broken:
            return BROKEN
        # A string built from a placeholder is one too: its real value is unknown as a whole.
        return _Missing(text) if missing else text

    def evaluate_code(self, language: str, source: str, scope: _Scope, where: str) -> Any:
        """The value of a code string, with the scope's params bound; a failure is a reported problem."""
        if any(_contains_broken(value) for value in scope.params.values()):
            return BROKEN  # a param it reads already has a reported problem
        read_secret = False

        def lookup(kind: str) -> Any:
            def read(name: Any) -> Any:
                nonlocal read_secret
                if not isinstance(name, str):
                    raise CodeError(f"pt/{kind} takes a name (a string), got {_show(name)}")
                source_map = self.values if kind == "value" else self.secrets
                key = _find_key(source_map, name)
                if key is None:
                    if self.teardown:
                        if kind == "secret":
                            self.step_uses_secret = True
                        return str(_missing(kind, name))
                    raise CodeError(f"no {kind} {name!r} was given (pass it in template_{kind}s)")
                if kind == "secret":
                    read_secret = True
                    self.step_uses_secret = True
                    text = source_map[key]
                    if isinstance(text, str) and text:
                        self.referenced_secrets.add(text)
                    return copy.deepcopy(text)
                return copy.deepcopy(_user_text(source_map[key]))

            return read

        bindings = Bindings(
            params=_plain(scope.params),
            value=lookup("value"),
            secret=lookup("secret"),
            module_repo_ref=scope.repo_ref,
            module_project_ref=None,
        )
        try:
            result = evaluate_code(language, source, bindings, self.code_limits)
        except CodeError as exc:
            self.problem(f"{where}: {language} code: {exc.message}")
            return BROKEN
        if read_secret:
            # A value computed from a secret is as secret as the secret itself.
            self.referenced_secrets.update(_string_leaves(result))
        if self.teardown and _MISSING_TEXT_RE.search(json.dumps(result, default=str)):
            return _as_placeholders(result)
        return result

    # ---- binding arguments to parameters

    def bind(self, params: tuple[_Param, ...], args: dict, owner: str, supplied_only: bool = False) -> dict:
        """Check a call's arguments against the callee's params: unknown names, types, defaults."""
        by_canonical = {_canonical(param.id): param for param in params}
        given: dict[str, Any] = {}
        for key, value in args.items():
            param = by_canonical.get(_canonical(key))
            if param is None:
                known = ", ".join(param.id for param in params) or "none"
                self.problem(f"argument {str(key)!r}: {owner} has no param {str(key)!r} (declared: {known})")
                continue
            if param.id in given:
                self.problem(f"argument {str(key)!r}: given twice for {owner} (with - and _)")
                continue
            given[param.id] = value
        bound: dict[str, Any] = {}
        for param in params:
            value = given.get(param.id)
            if _contains_broken(value):
                bound[param.id] = BROKEN
                continue
            if supplied_only and value is None and _is_optional(param.type):
                continue  # the primitive's own defaults apply; the plan shows only what was given
            if value is None and not _is_optional(param.type):
                self.problem(
                    f"argument {param.id!r}: {owner} requires it ({_type_text(param.type)}) and it is not given"
                )
                bound[param.id] = BROKEN
                continue
            try:
                bound[param.id] = conform(value, param.type, param.id)
            except _Mismatch as exc:
                self.problem(f"argument {exc.path!r} of {owner}: {exc.message}")
                bound[param.id] = BROKEN
            except _BadType as exc:
                self.problem(f"param {param.id!r} of {owner}: {exc}")
                bound[param.id] = BROKEN
        return bound

    # ---- modules

    def call(self, ref: Any, args: dict, chain: list[str]) -> Optional[_Resolved]:
        """Resolve ``ref`` called with ``args`` down to a primitive; None when it cannot be."""
        if not isinstance(ref, str) or not ref:
            self.problem(f"module reference must be a string, got {_show(ref)}")
            return None
        if ref in chain:
            self.problem(f"reference cycle: {' -> '.join(chain + [ref])}")
            return None
        chain = chain + [ref]
        called_from = f" (from {chain[-2]!r})" if len(chain) > 1 else ""
        if ref in self.modules:
            return self.call_user_module(ref, args, chain)
        if ref == CONTAINER:
            with self.frame(f"module {CONTAINER!r}{called_from}"):
                awaits = self.take_await(args)
                bound = self.bind(_CONTAINER_PARAMS, args, f"module {CONTAINER!r}", supplied_only=True)
            return _Resolved(KIND_CONTAINER, chain, rename_card_keys(bound), awaits=awaits)
        if ref == BUILD_IMAGE:
            with self.frame(f"module {BUILD_IMAGE!r}{called_from}"):
                bound = self.bind(_BUILD_IMAGE_PARAMS, args, f"module {BUILD_IMAGE!r}")
                build_args = self.build_image_args(bound)
            return _Resolved(KIND_BUILD_IMAGE, chain, build_args, runs_to_completion=True)
        return self.call_library_module(ref, args, chain)

    def call_user_module(
        self, ref: str, args: dict, chain: list[str], module: Optional[dict] = None, frame: Optional[str] = None
    ) -> Optional[_Resolved]:
        """A module definition (the file's own, or ``module``: the standard library's) called with ``args``."""
        module = self.modules[ref] if module is None else module
        owner = f"module {ref!r}"
        with self.frame(frame or owner):
            if "code" in module and "module" not in module:
                code = split_code(module["code"])
                language = code[0] if code else "code"
                self.problem(
                    f"it is defined by {language} code ('code:'), which drives Polytope's runner; argument code "
                    "computes values only, so define the module with 'module:' and 'args:'"
                )
                return None
            unknown_keys = sorted(str(key) for key in module if key not in _MODULE_KEYS)
            if unknown_keys:
                self.problem(f"unknown key(s) {', '.join(map(repr, unknown_keys))} in the module definition")
            base = module.get("module")
            if not isinstance(base, str) or not base:
                self.problem("it has no 'module:' (the module it is built on)")
                return None
            params = self.declarations(module.get("params"), owner)
            module_args = module.get("args")
            if module_args is None:
                module_args = {}
            if not isinstance(module_args, dict):
                self.problem(f"'args:' must be a mapping, got {_value_kind(module_args)}")
                return None
            if params is None:
                return None
            bound = self.bind(params, args, owner)
            origin = self.origins.get(("modules", ref))
            evaluated = self.evaluate(module_args, _Scope(owner, bound, origin.repo if origin else None), "")
        return self.call(base, evaluated, chain)

    def call_library_module(self, ref: str, args: dict, chain: list[str]) -> Optional[_Resolved]:
        """A standard library module: its polytope.yml definition, expanded like the file's own modules."""
        library = _library()
        used_by = f" (used by {chain[-2]!r})" if len(chain) > 1 else ""
        definition = library.lookup(ref)
        if definition is None:
            if ref.startswith("polytope/") or library.unavailable_reason(ref) is not None:
                self.problem(library.unresolvable(ref, used_by))
            elif "/" in ref:
                self.problem(
                    f"module {ref!r}{used_by} belongs to another project ({ref.split('/', 1)[0]}); only modules "
                    f"defined in this file, {CONTAINER!r}, {BUILD_IMAGE!r} and the standard library resolve"
                )
            else:
                hint = f"; {ref!r} is a template: write {{template: {ref}}}" if ref in self.templates else ""
                self.problem(f"unknown module {ref!r}{used_by}: not defined in this file{hint}")
            return None
        owner = f"module {ref!r}"
        frame = owner + (f" (from {chain[-2]!r})" if len(chain) > 1 else "")
        with self.frame(frame):
            params = self.declarations(definition.get("params"), owner)
            if params is None:
                return None
            args, passed = self.library_arguments(ref, params, args)
        resolved = self.call_user_module(ref, args, chain, module=definition, frame=frame)
        if resolved is not None and resolved.kind == KIND_CONTAINER:
            if passed.get("await") is not None:
                resolved.awaits = passed["await"]
            resolved.args.update({key: value for key, value in passed.items() if key != "await"})
        return resolved

    def take_await(self, args: dict) -> Optional[bool]:
        """``await`` decides job or service: true runs to completion, false keeps running."""
        key = _find_key(args, "await")
        if key is None:
            return None
        value = args.pop(key)
        if value is None or isinstance(value, bool):
            return value
        if not _contains_broken(value):
            self.problem(f"argument 'await': expected a bool, got {_show(value)}")
        return None

    def library_arguments(self, ref: str, params: tuple[_Param, ...], args: dict) -> tuple[dict, dict]:
        """(what the library module declares, the container args it passes through to the container).

        ``create``, ``unconfined`` and ``await`` of the newer polytope/container reach the container of
        every library module built on it; another argument the module does not declare is dropped
        with a warning, or with ``strict`` is a problem.
        """
        declared = {_canonical(param.id) for param in params}
        kept: dict[str, Any] = {}
        passed: dict[str, Any] = {}
        for key, value in args.items():
            name = _canonical(key)
            if name in declared:
                kept[key] = value
            elif name in _PASSED_TO_CONTAINER:
                if name == "await":
                    passed["await"] = self.take_await({"await": value})
                else:
                    passed.update(self.bind(_PASSED_PARAMS, {name: value}, f"module {ref!r}", supplied_only=True))
            elif self.strict:
                self.problem(f"argument {str(key)!r}: module {ref!r} does not declare it (template_strict is on)")
            else:
                warning = f"module {ref!r} does not declare argument {str(key)!r}: dropped"
                if warning not in self.warnings:
                    self.warnings.append(warning)
        return kept, passed

    def build_image_args(self, bound: dict) -> dict:
        """polytope/build-image: one build context (a host or own-repo path at /) and its tags."""
        args: dict[str, Any] = {
            key: bound[key] for key in ("tags", "dockerfile", "labels", "target") if bound.get(key) is not None
        }
        sources = bound.get("sources")
        if isinstance(sources, list) and not _missing_refs(sources):
            contexts = [
                entry["source"].get("path") or "."
                for entry in sources
                if entry.get("path") == "/"
                and entry["source"].get("type") in ("host", "repo")
                and not entry["source"].get("repo")
            ]
            if len(sources) != 1 or len(contexts) != 1:
                self.problem(
                    "argument 'sources': only one source, a host path (or the project's own repo) at '/', "
                    "is supported as the build context"
                )
            else:
                args["context"] = contexts[0]
        if isinstance(args.get("tags"), list) and not args["tags"]:
            self.problem("argument 'tags': at least one tag is needed")
        return args

    # ---- templates

    def expand_template(self, template_id: str, args: dict, chain: list[str]) -> list[_RawStep]:
        if template_id in chain:
            self.problem(f"reference cycle: {' -> '.join(chain + [template_id])}")
            return []
        template = self.templates.get(template_id) or self.tools.get(template_id)
        if template is None:
            self.problem(self.unknown_template(template_id))
            return []
        chain = chain + [template_id]
        owner = f"{'tool' if template.get('tool') else 'template'} {template_id!r}"
        steps: list[_RawStep] = []
        with self.frame(owner):
            unknown_keys = sorted(str(key) for key in template if key not in _TEMPLATE_KEYS)
            if unknown_keys:
                self.problem(f"unknown key(s) {', '.join(map(repr, unknown_keys))} in the template definition")
            params = self.declarations(template.get("params"), owner)
            if params is None:
                return []
            bound = self.bind(params, args, owner)
            origin = self.origins.get(("tools" if template.get("tool") else "templates", template_id))
            scope = _Scope(owner, bound, origin.repo if origin else None)
            run = template.get("run")
            if not isinstance(run, list) or not run:
                self.problem("'run:' must be a non-empty list of steps")
                return []
            for position, item in enumerate(run):
                steps.extend(self.expand_step(item, position, scope, chain))
        return steps

    def unknown_template(self, template_id: str) -> str:
        known = ", ".join(list(self.templates) + list(self.tools)) or "none"
        return f"unknown template or tool {template_id!r} (defined: {known})"

    def expand_step(self, item: Any, position: int, scope: _Scope, chain: list[str]) -> list[_RawStep]:
        if isinstance(item, str):
            return [self.module_step(item, item, {}, None, f"run[{position}]", scope)]
        if not isinstance(item, dict):
            self.problem(f"run[{position}]: a step is a module id or a mapping, got {_value_kind(item)}")
            return []
        if "code" in item and "tool" not in item and "module" not in item:
            self.problem(
                f"run[{position}]: step {item.get('id', position)!r} is inline code ('code:'), which drives "
                "Polytope's runner API; this collection runs tools, modules and templates only"
            )
            return []
        if "tool" in item:
            return self.tool_step(item, position, scope, chain)
        unknown_keys = sorted(str(key) for key in item if key not in _STEP_KEYS)
        if unknown_keys:
            self.problem(f"run[{position}]: unknown step key(s) {', '.join(map(repr, unknown_keys))}")
        run_when = self.run_when(item, f"run[{position}]")
        raw_args = item.get("args")
        if raw_args is None:
            raw_args = {}
        if not isinstance(raw_args, dict):
            self.problem(f"run[{position}]: 'args:' must be a mapping, got {_value_kind(raw_args)}")
            raw_args = {}
        if "template" in item:
            nested = item["template"]
            if "module" in item:
                self.problem(f"run[{position}]: a step has either 'module:' or 'template:', not both")
            if not isinstance(nested, str):
                self.problem(f"run[{position}]: 'template:' must be a template id, got {_show(nested)}")
                return []
            with self.frame(f"run[{position}] (template {nested!r})"):
                args = self.evaluate(raw_args, scope, "")
            nested_steps = self.expand_template(nested, args, chain)
            if run_when is not None:
                for step in nested_steps:
                    self.merge_run_when(step, run_when)
            return nested_steps
        module = item.get("module")
        if not isinstance(module, str) or not module:
            self.problem(f"run[{position}]: a step needs 'module:' (or 'template:')")
            return []
        step_id = item.get("id", module)
        if not isinstance(step_id, str) or not step_id:
            self.problem(f"run[{position}]: step 'id' must be a string, got {_show(step_id)}")
            step_id = module
        return [self.module_step(step_id, module, raw_args, run_when, f"run[{position}]", scope)]

    def tool_step(self, item: dict, position: int, scope: _Scope, chain: list[str]) -> list[_RawStep]:
        """``{tool, id?, args?, after?}``: a tool expands like a template, anything else is a module."""
        where = f"run[{position}]"
        unknown_keys = sorted(str(key) for key in item if key not in _STEP_KEYS or key in ("module", "template"))
        if unknown_keys:
            self.problem(f"{where}: unknown step key(s) {', '.join(map(repr, unknown_keys))}")
        name = item["tool"]
        if not isinstance(name, str) or not name:
            self.problem(f"{where}: 'tool:' must be a tool or module name, got {_show(name)}")
            return []
        step_id = item.get("id", name)
        if not isinstance(step_id, str) or not step_id:
            self.problem(f"{where}: step 'id' must be a string, got {_show(step_id)}")
            step_id = name
        run_when = self.run_when(item, where)
        raw_args = item.get("args")
        if raw_args is None:
            raw_args = {}
        if not isinstance(raw_args, dict):
            self.problem(f"{where}: 'args:' must be a mapping, got {_value_kind(raw_args)}")
            raw_args = {}
        if name not in self.tools and name not in self.templates:
            return [self.module_step(step_id, name, raw_args, run_when, where, scope)]
        with self.frame(f"{where} (tool {name!r})"):
            args = self.evaluate(raw_args, scope, "")
        nested_steps = self.expand_template(name, args, chain)
        if len(nested_steps) == 1:
            # A tool that wraps one module call is that step: it takes the calling step's id.
            nested_steps[0].step = step_id
        if run_when is not None:
            for step in nested_steps:
                self.merge_run_when(step, run_when)
        return nested_steps

    def run_when(self, item: dict, where: str) -> Optional[tuple[list[str], str]]:
        """``run-when: {after, after-condition}`` and the older step-level ``after: {step: x}``."""
        spec = item.get("run-when", item.get("run_when"))
        after_values: list[Any] = []
        condition: Any = None
        if spec is not None:
            if not isinstance(spec, dict):
                self.problem(f"{where}: 'run-when' must be a mapping with 'after', got {_value_kind(spec)}")
            else:
                extra = sorted(str(key) for key in spec if _canonical(key) not in ("after", "after-condition"))
                if extra:
                    self.problem(f"{where}: unknown run-when key(s) {', '.join(map(repr, extra))}")
                if spec.get("after") is not None:
                    after_values.append(spec["after"])
                condition = spec.get("after-condition", spec.get("after_condition"))
        if item.get("after") is not None:
            after_values.append(item["after"])
        step_condition = item.get("after-condition", item.get("after_condition"))
        if step_condition is not None:
            condition = step_condition
        after: list[str] = []
        for value in after_values:
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict) and isinstance(entry.get("step"), str):
                    after.append(entry["step"])
                elif isinstance(entry, str) and entry:
                    after.append(entry)
                else:
                    self.problem(f"{where}: 'after' names a step id (or {{step: id}}), got {_show(entry)}")
        if condition is not None and condition not in AFTER_CONDITIONS:
            self.problem(
                f"{where}: after-condition must be one of {', '.join(AFTER_CONDITIONS)}, got {_show(condition)}"
            )
            condition = None
        if condition is not None and not after:
            self.problem(f"{where}: after-condition {condition!r} without 'after'")
        if not after:
            return None
        return list(dict.fromkeys(after)), condition or "success"

    def merge_run_when(self, step: _RawStep, run_when: tuple[list[str], str]) -> None:
        after, condition = run_when
        if step.run_when_given and step.condition != condition:
            self.problem(
                f"step {step.step!r}: waits with after-condition {step.condition!r} inside a template step "
                f"that waits with {condition!r}"
            )
        step.after = list(dict.fromkeys(after + step.after))
        step.condition = step.condition if step.run_when_given else condition
        step.run_when_given = True

    def module_step(
        self,
        step_id: str,
        module: str,
        raw_args: dict,
        run_when: Optional[tuple[list[str], str]],
        origin: str,
        scope: _Scope,
    ) -> _RawStep:
        self.step_uses_secret = False
        with self.frame(f"step {step_id!r}"):
            args = self.evaluate(raw_args, scope, "")
            container_id = None
            if "id" in args and not self.declares_id(module):
                # interface.md: a step's container id is its args.id when given, also for a module without an id param.
                container_id = args.pop("id")
            resolved = self.call(module, args, [])
        after, condition = run_when if run_when is not None else ([], "success")
        return _RawStep(
            step=step_id,
            module=module,
            resolved=resolved,
            container_id=container_id if isinstance(container_id, str) else None,
            after=after,
            condition=condition,
            run_when_given=run_when is not None,
            origin=origin,
            uses_secret=self.step_uses_secret,
        )

    def declares_id(self, ref: str) -> bool:
        """Whether calling ``ref`` with an ``id`` argument binds it to a declared param."""
        if ref == CONTAINER:
            return True
        if ref == BUILD_IMAGE:
            return False
        if ref in self.modules:
            params = self.modules[ref].get("params")
            return isinstance(params, list) and any(
                isinstance(param, dict) and param.get("id") == "id" for param in params
            )
        entry = _library().lookup(ref)
        params = entry.get("params") if entry is not None else None
        # an unknown reference keeps its id argument: its own problem is reported when it is resolved
        return entry is None or (
            isinstance(params, list) and any(isinstance(param, dict) and param.get("id") == "id" for param in params)
        )

    # ---- the plan
