"""Read YAML and JSON source files safely, keeping the line and column of every value.

Nothing read here is ever evaluated: documents are composed with PyYAML's safe loader into a node
tree and turned into plain dicts, lists and scalars by this module itself, so a tag that asks for
a Python object is rejected rather than built. The node tree also gives the position of every
key and value, which lets every later error name `file:line:col`. PyYAML silently keeps the last
of two equal keys; this module reports the duplicate instead. Size, depth and alias-expansion
limits stop hostile files (a "billion laughs" alias bomb, deeply nested data) early.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cramp_expert.errors import InputError, Location, Problem

MAX_BYTES = 2 * 1024 * 1024
"""Largest source file read (2 MiB): a patient file is a few hundred bytes, a rule a few KiB."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted."""
MAX_NODES = 100_000
"""Most values a document may expand to (aliases included): stops alias bombs."""

KeyPath = tuple[str | int, ...]

# libyaml's safe loader composes about 10x faster than the pure-Python one, with the same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


def format_path(path: KeyPath) -> str:
    """Render a key path as `labs.potassium` or `medications[2]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """A parsed source file: its data and the 1-based position of every key and value."""

    path: str
    data: Any
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    raw: dict[KeyPath, str] = field(default_factory=dict)
    """The source text of plain scalar values, keyed by path (YAML 1.1 reads `012345` as an
    octal number and `12:30` as 750; an identifier must be echoed as written)."""
    problems: list[Problem] = field(default_factory=list)
    """Problems that did not stop the reading (duplicate keys, the first value kept), found
    only when the caller asked to keep going; otherwise they are raised."""

    def location(self, path: KeyPath) -> Location:
        """Return the location of the value at `path`, or of its nearest ancestor."""
        probe = tuple(path)
        while probe and probe not in self.positions:
            probe = probe[:-1]
        line, column = self.positions.get(probe, (0, 0))
        return Location(self.path, line, column, format_path(path))


class _Builder:
    """Turns a composed YAML node tree into plain Python data, recording positions."""

    def __init__(self, path: str):
        self.path = path
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.raw: dict[KeyPath, str] = {}
        self.nodes = 0
        self._constructor = yaml.SafeLoader("")  # only used to construct plain scalars

    def _fail(self, node: yaml.Node, message: str, code: str = "E103") -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(code, message, Location(self.path, mark.line + 1, mark.column + 1))
        )

    def build(self, node: yaml.Node, key_path: KeyPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooLarge(f"the document expands to more than {MAX_NODES} values (alias bomb?)")
        if depth > MAX_DEPTH:
            raise _TooLarge(f"nesting deeper than {MAX_DEPTH} levels")
        self.positions.setdefault(key_path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                self._fail(node, f"YAML tag {node.tag!r} is not allowed (plain data only)")
                return None
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._fail(key_node, "YAML merge keys ('<<') are not supported")
                    continue
                key = self.build(key_node, key_path, depth + 1)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self._fail(key_node, "a mapping key must be a plain name")
                    continue
                key = str(key).lower() if isinstance(key, bool) else str(key)
                if key in result:
                    mark = key_node.start_mark
                    first = self.positions.get((*key_path, key), (0, 0))
                    self.problems.append(
                        Problem(
                            "E102",
                            f"duplicate key '{key}' (first at line {first[0]}); "
                            "YAML would silently keep only the last one",
                            Location(
                                self.path,
                                mark.line + 1,
                                mark.column + 1,
                                format_path((*key_path, key)),
                            ),
                        )
                    )
                    continue
                self.positions[(*key_path, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                if isinstance(value_node, yaml.ScalarNode):
                    self.raw[(*key_path, key)] = str(value_node.value)
                result[key] = self.build(value_node, (*key_path, key), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self._fail(node, f"YAML tag {node.tag!r} is not allowed (plain data only)")
                return None
            return [
                self.build(item, (*key_path, i), depth + 1) for i, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == "tag:yaml.org,2002:str":
            # Most values are texts, already built by the composer: PyYAML's constructor
            # would only hand back node.value, at a tenth of the whole load's time.
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._fail(node, f"YAML tag {node.tag!r} is not allowed (plain data only)")
            return None
        value = self._constructor.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            raise _NotFinite(key_path, value)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)  # dates are kept as text; nothing here needs a datetime
        return value


class _TooLarge(Exception):
    pass


class _NotFinite(Exception):
    def __init__(self, key_path: KeyPath, value: float):
        super().__init__(key_path, value)
        self.key_path = key_path
        self.value = value


def read_text(path: str, raw: bytes) -> str:
    """Decode `raw` as UTF-8 (a BOM is allowed), or raise an InputError naming the byte offset."""
    if len(raw) > MAX_BYTES:
        raise InputError(
            [
                Problem(
                    "E100",
                    f"file is {len(raw)} bytes; the limit is {MAX_BYTES} bytes",
                    Location(path),
                )
            ]
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError([Problem("E100", "file is UTF-16 text; save it as UTF-8", Location(path))])
    if b"\x00" in raw:
        raise InputError(
            [
                Problem(
                    "E100",
                    "file contains NUL bytes: it is binary, not YAML or JSON",
                    Location(path),
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            [
                Problem(
                    "E100",
                    f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    Location(path, line, column),
                )
            ]
        ) from None


def parse(path: str, text: str, *, keep_going: bool = False) -> Document:
    """Parse YAML or JSON into a `Document`; raise InputError on any problem.

    JSON is read with the json module, so its numbers and strings mean what JSON says (YAML 1.1
    would read `7e1` as text); the YAML composer still supplies line numbers and duplicate-key
    checks when it can read the file.

    With `keep_going`, duplicate keys in YAML do not stop the reading: they are returned in
    `Document.problems` (the first value is kept), so that a validator can go on to report the
    file's other problems in the same run. Everything else is still raised.
    """
    if not text.strip():
        raise InputError([Problem("E101", "file is empty", Location(path))])
    if text.lstrip().startswith(("{", "[")):
        return _parse_json(path, text)
    return _parse_yaml(path, text, keep_going=keep_going)


def _parse_yaml(path: str, text: str, *, keep_going: bool = False) -> Document:
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = exc.problem or str(exc)
        if "\t" in text and "tab" not in what and "'\\t'" in str(exc):
            what += " (tabs cannot indent YAML; use spaces)"
        raise InputError(
            [Problem("E101", f"YAML syntax error: {what}", Location(path, line, column))]
        ) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem("E101", f"YAML error: {exc}", Location(path))]) from None
    except RecursionError:
        raise InputError(
            [Problem("E104", f"nesting deeper than {MAX_DEPTH} levels", Location(path))]
        ) from None
    if len(nodes) != 1 or nodes[0] is None:
        message = (
            "file holds no data"
            if not nodes or nodes[0] is None
            else "file holds several YAML documents"
        )
        raise InputError([Problem("E101", message, Location(path))])
    builder = _Builder(path)
    try:
        data = builder.build(nodes[0], (), 0)
    except _TooLarge as exc:
        raise InputError([Problem("E104", str(exc), Location(path))]) from None
    except _NotFinite as exc:
        # NaN and infinity are never clinical values (checked while building: one pass).
        line, column = builder.positions.get(exc.key_path, (0, 0))
        where = Location(path, line, column, format_path(exc.key_path))
        raise InputError(
            [Problem("E105", f"{exc.value} is not a number that can be used", where)]
        ) from None
    recoverable = keep_going and all(problem.code == "E102" for problem in builder.problems)
    if builder.problems and not recoverable:
        raise InputError(builder.problems)
    return Document(path, data, builder.positions, builder.raw, list(builder.problems))


def _parse_json(path: str, text: str) -> Document:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    "E101", f"JSON syntax error: {exc.msg}", Location(path, exc.lineno, exc.colno)
                )
            ]
        ) from None
    except RecursionError:
        raise InputError(
            [Problem("E104", f"nesting deeper than {MAX_DEPTH} levels", Location(path))]
        ) from None
    try:
        # Positions (and duplicate keys with their lines) from the YAML composer, which reads
        # most JSON; JSON it cannot read (tab indentation) simply has no line numbers.
        located = _parse_yaml(path, text)
    except InputError as exc:
        if any(problem.code in ("E102", "E104") for problem in exc.problems):
            raise
        located = Document(path, None, {})
    if duplicates:
        raise InputError(
            [Problem("E102", f"duplicate key '{duplicates[0]}'", Location(path, key=duplicates[0]))]
        )
    _reject_non_finite(path, data, (), located.positions)
    return Document(path, data, located.positions)


def _reject_non_finite(
    path: str, data: Any, key_path: KeyPath, positions: dict[KeyPath, tuple[int, int]]
) -> None:
    """NaN and infinity are never clinical values: refuse them wherever they appear."""
    if isinstance(data, float) and not math.isfinite(data):
        line, column = positions.get(key_path, (0, 0))
        raise InputError(
            [
                Problem(
                    "E105",
                    f"{data} is not a number that can be used",
                    Location(path, line, column, format_path(key_path)),
                )
            ]
        )
    if isinstance(data, dict):
        for key, value in data.items():
            _reject_non_finite(path, value, (*key_path, key), positions)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _reject_non_finite(path, value, (*key_path, index), positions)


def load_file(path: Path | str, display: str | None = None) -> Document:
    """Read and parse a file from disk; problems name it as `display` (default: the path)."""
    name = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError([Problem("E100", "no such file", Location(name))]) from None
    except IsADirectoryError:
        raise InputError([Problem("E100", "is a directory, not a file", Location(name))]) from None
    except OSError as exc:
        raise InputError(
            [Problem("E100", f"cannot read: {exc.strerror}", Location(name))]
        ) from None
    return parse(name, read_text(name, raw))


def load_bytes(name: str, raw: bytes, *, keep_going: bool = False) -> Document:
    """Parse bytes already read (standard input, or a file a loader has read for its digest)."""
    return parse(name, read_text(name, raw), keep_going=keep_going)


def dump_yaml(data: Any, header: str = "") -> str:
    """Write plain data (mappings, lists, text, numbers, booleans) as YAML a person can edit.

    Only safe_dump is used, so nothing but plain YAML comes out; reading it back goes through
    the same checks as any other file.
    """
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + body
