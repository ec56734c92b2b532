# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading polytope.yml files: YAML 1.2 scalars, bounded documents, includes."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Optional

from ansible_collections.polytope.core.plugins.module_utils._language.errors import TemplateError
from ansible_collections.polytope.core.plugins.module_utils._language.values import _value_kind

_YAML12_LOADER: Any = None


def _yaml12_loader() -> Any:
    """A PyYAML SafeLoader that resolves plain scalars with YAML 1.2 core schema rules.

    PyYAML implements YAML 1.1, where ``off``/``on``/``yes``/``no`` are booleans, ``010`` is
    octal, ``1:30`` is sexagesimal and ``2024-01-01`` a date.  Authors of polytope.yml files mean
    YAML 1.2 (a real file sets ``KONG_DATABASE: off``), so those stay strings here.
    Imported lazily: module_utils must import without PyYAML present.
    """
    global _YAML12_LOADER
    if _YAML12_LOADER is not None:
        return _YAML12_LOADER
    import yaml

    class Yaml12SafeLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
            # YAML 1.2 says mapping keys are unique; PyYAML would silently keep the last one.
            seen: dict[Any, int] = {}
            for key_node, _value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            f"duplicate key {key_node.value!r} (first at line {seen[key] + 1})",
                            key_node.start_mark,
                        )
                    seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

    replaced = {
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
        "tag:yaml.org,2002:value",
    }
    Yaml12SafeLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in replaced]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Yaml12SafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    # int before float: resolvers are tried in order and the float pattern also matches "1".
    Yaml12SafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    Yaml12SafeLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
        ),
        list("-+.0123456789"),
    )

    def construct_yaml12_int(loader: Any, node: Any) -> int:
        text = str(loader.construct_scalar(node))
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        except ValueError:
            raise yaml.constructor.ConstructorError(None, None, f"invalid integer {text!r}", node.start_mark) from None

    Yaml12SafeLoader.add_constructor("tag:yaml.org,2002:int", construct_yaml12_int)

    _YAML12_LOADER = Yaml12SafeLoader
    return Yaml12SafeLoader


# A document's size with every alias expanded, and its nesting: a few aliases can stand for billions
# of nodes (an "alias bomb"), and every later walk over the value would pay for all of them.
MAX_EXPANDED_NODES = 1_000_000
MAX_NESTING = 200


def _expanded_size(root: Any) -> tuple[int, int]:
    """(nodes with aliases expanded, deepest nesting) of a composed YAML node graph, without recursion."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            depths[id(node)] = 1 + max((depths[id(child)] for child in children), default=0)
            if sizes[id(node)] > MAX_EXPANDED_NODES:
                return sizes[id(node)], depths[id(node)]
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)], depths[id(root)]


def _children(node: Any) -> list[Any]:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    if value and isinstance(value[0], tuple):
        return [part for pair in value for part in pair]
    return list(value)


def load_yaml12(text: str, file_name: str) -> Any:
    """Parse ``text`` with YAML 1.2 scalar rules, within the size and nesting bounds.

    A syntax error, a duplicate key, an alias bomb or a document nested too deeply becomes a
    TemplateError naming the file (and the line where there is one).
    """
    try:
        import yaml
    except ImportError:
        raise TemplateError(file_name, "reading the file", ["PyYAML is required to read polytope.yml files"]) from None
    loader = None
    try:
        # The reader checks the characters as the loader is made: a control character is a YAMLError too.
        loader = _yaml12_loader()(text)
        node = loader.get_single_node()
        if node is None:
            return None
        size, depth = _expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            raise TemplateError(
                file_name,
                "reading the file",
                [
                    f"the document expands to more than {MAX_EXPANDED_NODES} values once its aliases are "
                    "expanded (an alias bomb?); refused"
                ],
            )
        if depth > MAX_NESTING:
            raise TemplateError(
                file_name, "reading the file", [f"values are nested {depth} levels deep (the limit is {MAX_NESTING})"]
            )
        return loader.construct_document(node)
    except RecursionError:
        raise TemplateError(
            file_name, "reading the file", [f"values are nested too deeply to read (the limit is {MAX_NESTING})"]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        what = " ".join(part for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
        raise TemplateError(file_name, "reading the file", [f"invalid YAML at {where}: {what or exc}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _load_document(text: str, file_name: str, subject: str) -> dict[str, Any]:
    document = load_yaml12(text, file_name)
    if document is None:
        return {}  # an empty file: every template is unknown
    if not isinstance(document, dict):
        raise TemplateError(file_name, subject, [f"the file must be a mapping, got {_value_kind(document)}"])
    return document


def describe_file(text: str, file_name: str) -> dict[str, Any]:
    """What a polytope.yml offers: its template ids, module ids and (unsupported) tool names."""
    document = _load_document(text, file_name, "reading the file")

    def ids(section: str) -> list[str]:
        entries = document.get(section)
        if not isinstance(entries, list):
            return []
        return [entry["id"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)]

    tools = document.get("tools")
    return {
        "templates": ids("templates"),
        "modules": ids("modules"),
        "tools": [str(name) for name in tools] if isinstance(tools, dict) else [],
    }


# --------------------------------------------------------------------------------------------
# Includes

SECTIONS = ("modules", "templates")
# Keys that describe nothing that runs (agent instructions, MCP exposure, triggers): accepted, ignored.
IGNORED_KEYS = ("instructions", "mcp", "triggers")
MAX_INCLUDED_FILES = 200
MAX_INCLUDED_BYTES = 4 * 1024 * 1024
_GH_RE = re.compile(r"^gh:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Origin:
    """Where a definition comes from: its file, and its directory relative to the project's root file.

    ``directory`` is None for a file outside the project (a ``gh:`` repository mapped to a local
    directory); ``absolute_directory`` is always set.  ``repo`` is that repository reference.
    """

    file: str
    directory: Optional[str]
    absolute_directory: str
    repo: Optional[str] = None


@dataclass
class Project:
    """A root polytope.yml and everything it includes, in one namespace."""

    document: dict[str, Any]
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def load_project(
    text: str,
    file_name: str,
    repos: Optional[Mapping[str, str]] = None,
    subject: str = "reading the file",
) -> Project:
    """Read ``file_name`` (whose text is ``text``) and every file it includes, recursively.

    Entries of ``include:`` are a directory (its ``polytope.yml``), a file, ``{path: ...}``,
    ``{repo: gh:owner/name}`` or a bare ``gh:owner/name`` (looked up in ``repos``, a mapping from
    repository reference to a local directory).  Paths are relative to the including file.  The
    including file wins a clash of names; a cycle or a missing file is an error naming the chain.
    Relative ``host`` and ``repo`` mount paths of an included file are rewritten to stay relative
    to that file's directory.
    """
    root_dir = os.path.dirname(os.path.abspath(file_name))
    project = Project(document={"modules": [], "templates": [], "tools": {}})
    problems: list[str] = []
    _read_into(project, text, file_name, [], root_dir, None, dict(repos or {}), problems, subject)
    if problems:
        raise TemplateError(file_name, subject, problems)
    return project


def _read_into(
    project: Project,
    text: str,
    file_name: str,
    chain: list[str],
    root_dir: str,
    repo: Optional[str],
    repos: dict[str, str],
    problems: list[str],
    subject: str,
) -> None:
    document = _load_document(text, file_name, subject)
    real = os.path.realpath(file_name)
    project.files.append(file_name)
    directory = os.path.dirname(os.path.abspath(file_name))
    relative = os.path.relpath(directory, root_dir) if repo is None else None
    origin = Origin(file_name, None if relative is None else ("" if relative == "." else relative), directory, repo)
    for key in IGNORED_KEYS:
        if key in document and key not in project.ignored:
            project.ignored.append(key)
    for section in SECTIONS:
        entries = document.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problems.append(f"{_shown(file_name, chain)}: '{section}:' must be a list, got {_value_kind(entries)}")
            continue
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                earlier = project.origins.get((section, entry["id"]))
                if earlier is not None and earlier.file != file_name:
                    continue  # the including file's definition wins
                project.origins.setdefault((section, entry["id"]), origin)
                entry = _rebased(entry, origin)
            project.document[section].append(entry)
    tools = document.get("tools")
    if tools is not None:
        if not isinstance(tools, dict):
            problems.append(
                f"{_shown(file_name, chain)}: 'tools:' must be a mapping of tool names, got {_value_kind(tools)}"
            )
        else:
            for name, tool in tools.items():
                if ("tools", str(name)) in project.origins:
                    continue
                project.origins[("tools", str(name))] = origin
                project.document["tools"][str(name)] = _rebased(tool, origin)
    includes = document.get("include")
    if includes is None:
        return
    if not isinstance(includes, list):
        includes = [includes]
    here = chain + [real]
    for entry in includes:
        target, target_repo, problem = _include_target(entry, directory, repos, repo)
        if problem is not None or target is None:
            problems.append(f"{_shown(file_name, chain)}: include {_entry_text(entry)}: {problem}")
            continue
        if os.path.realpath(target) in here:
            cycle = " -> ".join(
                [*(os.path.relpath(path, root_dir) for path in here), os.path.relpath(target, root_dir)]
            )
            problems.append(f"include cycle: {cycle}")
            continue
        if any(os.path.realpath(path) == os.path.realpath(target) for path in project.files):
            continue  # already read through another include (a diamond, not a cycle)
        if len(project.files) >= MAX_INCLUDED_FILES:
            problems.append(f"more than {MAX_INCLUDED_FILES} files are included; refused")
            return
        try:
            with open(target, encoding="utf-8") as handle:
                included = handle.read(MAX_INCLUDED_BYTES + 1)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{_shown(file_name, chain)}: include {_entry_text(entry)}: cannot read {target}: {exc}")
            continue
        if len(included) > MAX_INCLUDED_BYTES:
            problems.append(f"{target}: larger than {MAX_INCLUDED_BYTES // (1024 * 1024)} MiB; refused")
            continue
        try:
            _read_into(project, included, target, here, root_dir, target_repo, repos, problems, subject)
        except TemplateError as exc:
            problems.extend(f"{exc.file_name} (included from {_shown(file_name, chain)}): {p}" for p in exc.problems)


def _include_target(
    entry: Any, directory: str, repos: dict[str, str], repo: Optional[str]
) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(the file to read, its gh: repository or the includer's, a problem) for one include entry."""
    if isinstance(entry, dict):
        if "repo" in entry:
            entry = entry["repo"]
        elif "path" in entry:
            entry = entry["path"]
        else:
            return None, None, "an include entry is a path, {path: ...}, {repo: gh:owner/name} or gh:owner/name"
    if not isinstance(entry, str) or not entry:
        return None, None, "an include entry is a path, {path: ...}, {repo: gh:owner/name} or gh:owner/name"
    if entry.startswith("gh:"):
        if not _GH_RE.match(entry):
            return None, None, "a repository reference is gh:owner/name"
        local = repos.get(entry) or repos.get(entry[3:])
        if local is None:
            return (
                None,
                None,
                (
                    f"repository {entry} is not mapped to a local directory (give it in template_repos, "
                    f"or the lookup's repos option: {{'{entry}': '/path/to/checkout'}})"
                ),
            )
        return os.path.join(os.path.abspath(os.path.expanduser(local)), "polytope.yml"), entry, None
    path = os.path.normpath(os.path.join(directory, entry))
    if os.path.isdir(path):
        path = os.path.join(path, "polytope.yml")
    if not os.path.isfile(path):
        return None, None, f"{path} does not exist"
    return path, repo, None


def _entry_text(entry: Any) -> str:
    return repr(entry) if not isinstance(entry, str) else entry


def _shown(file_name: str, chain: list[str]) -> str:
    if not chain:
        return file_name
    return f"{file_name} (included from {' <- '.join(reversed(chain))})"


def _rebased(value: Any, origin: Origin) -> Any:
    """``value`` with its relative host and own-repo mount paths made relative to the project root."""
    if origin.directory == "" and origin.repo is None:
        return value
    if isinstance(value, list):
        return [_rebased(item, origin) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _rebased(item, origin) for key, item in value.items()}
    kind, path = result.get("type"), result.get("path")
    own_repo = kind == "repo" and (result.get("repo") is None or _is_code_or_ref(result.get("repo")))
    if (kind == "host" or own_repo) and isinstance(path, str) and path and not _is_code_or_ref(path):
        if kind == "host" and path.startswith("/"):
            return result
        if kind == "repo" and path.startswith("/"):
            if origin.directory is None:  # the root of another repository's checkout
                return {"type": "host", "path": os.path.normpath(origin.absolute_directory + path)}
            return result
        if origin.directory is None:
            return {**result, "type": "host", "path": os.path.normpath(os.path.join(origin.absolute_directory, path))}
        result["path"] = os.path.normpath(os.path.join(origin.directory, path))
        if kind == "repo":
            result.pop("repo", None)
    return result


def _is_code_or_ref(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"^\s*(?:#pt-|pt\.)", value))
