# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expansion of modules into the primitive they are built on; templates and tools in :mod:`templates`,
argument values in :mod:`references`, the plan in :mod:`order`."""

from __future__ import annotations

from typing import Any, Mapping, Optional
from ansible_collections.polytope.core.plugins.module_utils._card_keys import rename_card_keys
from ansible_collections.polytope.core.plugins.module_utils._language.code import (
    Limits,
    split_code,
)
from ansible_collections.polytope.core.plugins.module_utils._language.references import _References, _Scope
from ansible_collections.polytope.core.plugins.module_utils._language.library import _library
from ansible_collections.polytope.core.plugins.module_utils._language.templates import _Templates
from ansible_collections.polytope.core.plugins.module_utils._language.loading import Origin
from ansible_collections.polytope.core.plugins.module_utils._language.order import _Planning
from ansible_collections.polytope.core.plugins.module_utils._language.steps import (
    BUILD_IMAGE,
    CONTAINER,
    KIND_BUILD_IMAGE,
    KIND_CONTAINER,
    _Resolved,
)
from ansible_collections.polytope.core.plugins.module_utils._language.types import (
    _BUILD_IMAGE_PARAMS,
    _BadType,
    _CONTAINER_PARAMS,
    _PASSED_PARAMS,
    _Mismatch,
    _Param,
    _is_optional,
    conform,
    validate_type,
)
from ansible_collections.polytope.core.plugins.module_utils._language.values import (
    BROKEN,
    _canonical,
    _contains_broken,
    _find_key,
    _missing_refs,
    _show,
    _type_text,
    _user_text,
    _value_kind,
)

_MODULE_KEYS = ("id", "module", "params", "args", "info", "name", "default?")
_PASSED_TO_CONTAINER = ("create", "unconfined", "await")
_TOOL_KEYS = ("info", "inputs", "params", "run", "await", "name", "description")


class _Expander(_References, _Templates, _Planning):
    def __init__(
        self,
        document: dict[str, Any],
        file_name: str,
        values: Mapping[str, Any],
        secrets: Mapping[str, Any],
        teardown: bool = False,
        origins: Optional[Mapping[tuple[str, str], Origin]] = None,
        strict: bool = False,
    ) -> None:
        self.file_name = file_name
        self.origins = dict(origins or {})
        self.strict = strict
        self.warnings = []
        self.teardown = teardown
        self.document = document
        self.values = dict(values)
        self.secrets = {key: _user_text(value) for key, value in secrets.items()}
        self.problems = []
        self.frames = []
        self.referenced_secrets = set()
        self.step_uses_secret = False
        self.code_limits = Limits()
        self.modules = self._index("modules")
        self.templates = self._index("templates")
        self.tools = self._index_tools()

    # ---- reading the document

    def _index(self, section: str) -> dict[str, dict[str, Any]]:
        entries = self.document.get(section)
        index: dict[str, dict[str, Any]] = {}
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

    def _index_tools(self) -> dict[str, dict[str, Any]]:
        """``tools:`` as templates: a tool has ``inputs`` (a map) or ``params`` (a list) and ``run``."""
        tools = self.document.get("tools") or {}
        index: dict[str, dict[str, Any]] = {}
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

    def bind(
        self, params: tuple[_Param, ...], args: dict[str, Any], owner: str, supplied_only: bool = False
    ) -> dict[str, Any]:
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

    def call(self, ref: Any, args: dict[str, Any], chain: list[str]) -> Optional[_Resolved]:
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
        self,
        ref: str,
        args: dict[str, Any],
        chain: list[str],
        module: Optional[dict[str, Any]] = None,
        frame: Optional[str] = None,
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

    def call_library_module(self, ref: str, args: dict[str, Any], chain: list[str]) -> Optional[_Resolved]:
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

    def take_await(self, args: dict[str, Any]) -> Optional[bool]:
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

    def library_arguments(
        self, ref: str, params: tuple[_Param, ...], args: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
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

    def build_image_args(self, bound: dict[str, Any]) -> dict[str, Any]:
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
