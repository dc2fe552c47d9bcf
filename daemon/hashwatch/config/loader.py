"""Read a YAML config file into plain data, remembering where every key stands.

Why: a config error must name the key path *and* the file line, and ``${ENV}`` references and
``*_file`` secrets must be resolved before validation without ever echoing the secret itself.

Config, rule and web-config files are untrusted input in size and shape (issue: a 1 KB file of
nested anchors exhausted memory). So a file is read only if it is a regular file of at most
:data:`MAX_FILE_BYTES`; anchors and aliases (``&x``/``*x``, merge keys ``<<: *x``) are allowed,
but the document *with every alias expanded* may hold at most :data:`MAX_EXPANDED_NODES`
values, nested at most :data:`MAX_DEPTH` deep, and may not refer to itself. The check runs on
the composed node graph (where an alias is a shared node, so it costs memory linear in the
file) before anything is expanded. A refused file is one ``ConfigError`` line, exit 2.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .envsubst import expand

Loc = tuple[Any, ...]
MAX_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 200_000
MAX_DEPTH = 64


class ConfigError(Exception):
    """One or more problems in a config or rules file; ``str()`` gives one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def format_loc(loc: Loc) -> str:
    """``("nodes", 0, "url")`` -> ``nodes[0].url``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


class LineMap:
    """Maps key paths to 1-based line numbers of one YAML document."""

    def __init__(self, path: Path, lines: dict[Loc, int]):
        self.path = path
        self.lines = lines

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest known prefix of ``loc`` (an unknown key's parent, for example)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            lines[loc + (k,)] = key.start_mark.line + 1
            _walk(value, loc + (k,), lines)
            lines[loc + (k,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, loc + (i,), lines)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *defaults``: overriding is fine
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    A FIFO or a device is refused without blocking: it is opened non-blocking and checked
    with ``fstat`` on the opened descriptor (no window between the check and the read).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read {what} file: {type(exc).__name__}"]) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError([f"{path}: cannot read {what} file: IsADirectoryError"])
        if not stat.S_ISREG(mode):
            raise ConfigError([f"{path}: {what} file is not a regular file (a FIFO, socket or "
                               "device); point to a plain file"])
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read {what} file: {type(exc).__name__}"]) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError([f"{path}: {what} file is larger than {limit} bytes; "
                           "is this the right file?"])
    return data


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse alias bombs: count the values the document would have with aliases expanded."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def refuse(node: yaml.Node, why: str) -> ConfigError:
        return ConfigError([f"{path}:{node.start_mark.line + 1}: YAML refused: {why}"])

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise refuse(node, "an alias refers to the collection that contains it")
        if depth > MAX_DEPTH:
            raise refuse(node, f"nested more than {MAX_DEPTH} levels deep")
        total = 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            active.add(key)
            children = (
                [c for pair in node.value for c in pair]
                if isinstance(node, yaml.MappingNode)
                else node.value
            )
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_EXPANDED_NODES:
                    raise refuse(child, f"anchors and aliases expand it to more than "
                                 f"{MAX_EXPANDED_NODES} values (an alias bomb?); write the "
                                 "values out or use fewer aliases")
            active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def load_yaml(path: Path, *, what: str = "config") -> tuple[Any, LineMap]:
    """Parse ``path``; raise :class:`ConfigError` naming the file and line on any problem."""
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES, what)
    except FileNotFoundError:
        fix = "create it or pass --config" if what == "config" else "check the path in the config"
        raise ConfigError([f"{path}: {what} file not found; {fix}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: cannot read {what} file: UnicodeDecodeError"]) from None
    try:
        loader = _UniqueKeyLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_expansion(node, path)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([f"{path}{line}: YAML syntax error: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: YAML syntax error: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: YAML refused: nested more than {MAX_DEPTH} levels "
                           "deep"]) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineMap(path, lines)


def interpolate_env(data: Any, lines: LineMap, env: Mapping[str, str] | None = None) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; unset without default fails.

    Defaults may nest (``${A:-${B:-x}}``) and ``$${`` is a literal ``${`` (see
    :mod:`.envsubst`); a malformed reference is an error naming the key, never left as text.
    """
    env = os.environ if env is None else env
    problems: list[str] = []

    def sub(value: Any, loc: Loc) -> Any:
        if isinstance(value, dict):
            return {k: sub(v, loc + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v, loc + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            try:
                return expand(value, env)
            except ValueError as exc:
                problems.append(f"{lines.where(loc)}: {format_loc(loc)}: {exc}")
                return ""
        return value

    out = sub(data, ())
    if problems:
        raise ConfigError(problems)
    return out
