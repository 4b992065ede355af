"""Read YAML and JSON source files safely, keeping the line and column of every value.

Nothing read here is ever evaluated: documents are composed with PyYAML's safe loader into a node
tree and turned into plain dicts, lists and scalars by this module itself, so a tag that asks for
a Python object is rejected rather than built. The node tree also gives the position of every
key and value, which lets every later error name `file:line:col`. PyYAML silently keeps the last
of two equal keys; this module reports the duplicate instead. JSON is read by the json module and
located by a small scanner of its own (`_JsonScanner`), which also finds duplicate keys.

Limits (documented in README.md, "Limits"; tests check the numbers agree): a file is read up to
`MAX_BYTES` and refused beyond; nesting deeper than `MAX_DEPTH` and documents that expand to more
than `MAX_NODES` values (aliases are counted each time they are used, which stops a "billion
laughs" alias bomb) are refused with the place where the limit was crossed. A number Python
cannot convert (an integer of thousands of digits), NaN, infinity and a text holding an unpaired
UTF-16 surrogate are refused where they stand. Every refusal is an `InputError` with one problem
per place, never another exception.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from cramp_expert.errors import InputError, Location, Problem
from cramp_expert.numbers import DECIMAL, misread_number

MAX_BYTES = 2 * 1024 * 1024
"""Largest source file read (2 MiB): a patient file is a few hundred bytes, a rule a few KiB."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted."""
MAX_NODES = 100_000
"""Most values a document may expand to, every use of an alias counted: stops alias bombs."""

# NOTE: a file this short cannot hold MAX_NODES values (each takes at least half a character), so
# it is composed directly; a longer one is first counted on the event stream, which stops a 2 MiB
# list of 1,000,000 items in a fraction of a second instead of composing it all (seconds).
_COUNT_EVENTS_ABOVE = MAX_NODES // 2
_SURROGATE = re.compile("[\ud800-\udfff]")

KeyPath = tuple[str | int, ...]

# libyaml's safe loader composes about 10x faster than the pure-Python one, with the same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
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
    printable: bool = False
    """Every text in `data` is known printable (its reader saw no character that is not), so
    the patient reader need not look for control characters again."""

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
        self._built: set[int] = set()
        """Collection nodes already built: meeting one again means an alias repeats it."""
        self._stack: list[tuple[KeyPath, yaml.Node, bool]] = []
        """The nodes being built, outermost first, each with whether an alias repeats it."""
        self._constructor = yaml.SafeLoader("")  # only used to construct plain scalars

    def _fail(
        self,
        node: yaml.Node,
        message: str,
        code: str = "E103",
        key_path: KeyPath = (),
        hint: str = "",
    ) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(
                code,
                message,
                Location(self.path, mark.line + 1, mark.column + 1, format_path(key_path)),
                hint,
            )
        )

    def build(self, node: yaml.Node, key_path: KeyPath, depth: int) -> Any:
        self.nodes += 1
        repeated = False
        if isinstance(node, yaml.CollectionNode):
            repeated = id(node) in self._built
            self._built.add(id(node))
        self._stack.append((key_path, node, repeated))
        if self.nodes > MAX_NODES:
            raise self._too_many()
        if depth > MAX_DEPTH:
            raise _TooLarge(
                f"nesting deeper than {MAX_DEPTH} levels",
                Location(
                    self.path,
                    node.start_mark.line + 1,
                    node.start_mark.column + 1,
                    format_path(key_path),
                ),
            )
        value = self._build(node, key_path, depth)
        self._stack.pop()
        return value

    def _too_many(self) -> _TooLarge:
        """The limit error, placed where the outermost alias that repeats a collection is used."""
        for index, (key_path, _node, repeated) in enumerate(self._stack):
            if repeated and index > 0:
                # A mapping key's own position is where `key: *alias` is written; a list item
                # repeated by an alias has only the anchor's position, so its list is named.
                if key_path and isinstance(key_path[-1], str):
                    line, column = self.positions[key_path]
                else:
                    mark = self._stack[index - 1][1].start_mark
                    line, column = mark.line + 1, mark.column + 1
                return _TooLarge(
                    f"{format_path(key_path)} repeats an alias, and the document expands to more "
                    f"than {MAX_NODES} values (an alias bomb?)",
                    Location(self.path, line, column, format_path(key_path)),
                )
        key_path, node, _ = self._stack[-1]
        return _TooLarge(
            _too_many_values(),
            Location(
                self.path,
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                format_path(key_path),
            ),
        )

    def _build(self, node: yaml.Node, key_path: KeyPath, depth: int) -> Any:
        self.positions.setdefault(key_path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                self._fail(node, _tag_refused(node.tag), key_path=key_path)
                return None
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._fail(
                        key_node,
                        "YAML merge keys ('<<') are not supported",
                        key_path=(*key_path, "<<"),
                        hint="write the keys out in full",
                    )
                    continue
                key = self.build(key_node, key_path, depth + 1)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self._fail(key_node, "a mapping key must be a plain name", key_path=key_path)
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
                self._fail(node, _tag_refused(node.tag), key_path=key_path)
                return None
            return [
                self.build(item, (*key_path, i), depth + 1) for i, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == _STR:
            # Most values are texts, already built by the composer: PyYAML's constructor
            # would only hand back node.value, at a tenth of the whole load's time. An explicit
            # `!!str` only keeps a value as text, which every check then sees as text.
            return node.value
        plain = not node.style
        implicit = self._constructor.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, node.value, (plain, not plain)
        )
        # NOTE: an explicit tag that changes what a plain value means (`!!null 70`, `!!bool
        # maybe`, `!!float ""`) is refused: it would silently misread the value, or make PyYAML
        # raise.
        if node.tag not in _SCALAR_TAGS or node.tag != implicit:
            self._fail(node, _tag_refused(node.tag, str(node.value)), key_path=key_path)
            return None
        if node.tag == "tag:yaml.org,2002:timestamp":
            # Dates are kept as text (nothing here needs a datetime), and are not constructed:
            # `2001-02-30` looks like a date but would raise.
            return str(node.value)
        if (
            node.tag in _NUMBER_TAGS
            and not DECIMAL.fullmatch(node.value)
            and node.value.lower().lstrip("+-") not in (".inf", ".nan")  # E105 below
            # An identifier (`id: 012345`, a record number with its leading zero) is not a
            # number: readers take its source text (`Document.raw`), as written.
            and key_path != ("id",)
        ):
            # YAML 1.1 reads `0140` as octal 96, `1:30` as 90 (base 60), `0b11` as 3 and
            # `1_000` as 1000: a clinician means none of these, so none is read.
            written = str(node.value)
            why = misread_number(written) or f"'{written}' is not written as a plain decimal number"
            self._fail(node, why, "E106", key_path)
            return None
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError):
            # An integer of more digits than Python converts (4300): no value is that large.
            self._fail(node, _unreadable_number(str(node.value)), "E105", key_path)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            raise _NotFinite(key_path, value)
        return value


class _TooLarge(Exception):
    """A limit was crossed; carries the message and where it was crossed."""

    def __init__(self, message: str, location: Location):
        super().__init__(message)
        self.problem = Problem("E104", message, location)


def _tag_refused(tag: str, value: str | None = None) -> str:
    # NOTE: `!!python/...` tags are how YAML asks a loader to import and call Python code; they are
    # refused like any other tag, and named, since they are the dangerous ones.
    shown = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag
    if tag in _SCALAR_TAGS and value is not None:
        short = value if len(value) <= 20 else value[:17] + "..."
        return f"YAML tag '{shown}' does not fit '{short}': write plain data, without tags"
    danger = " (it asks for Python code to run)" if "python/" in tag else ""
    return f"YAML tag '{shown}' is not allowed{danger}: plain data only"


def _too_many_values() -> str:
    return f"the document holds more than {MAX_NODES} values"


def _unreadable_number(text: str) -> str:
    digits = sum(c.isdigit() for c in text)
    return f"the number {text[:12]}... has {digits} digits: it is not a value that can be used"


def read_limited(stream: BinaryIO) -> bytes:
    """Read at most one byte more than MAX_BYTES, so that an endless stream cannot hang a run."""
    return stream.read(MAX_BYTES + 1)


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
                    f"file is larger than {MAX_BYTES} bytes (2 MiB), the limit for a source file",
                    Location(path),
                    "a patient file is a few hundred bytes and a rule a few KiB: is it the right file?",
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

    A text that starts like JSON is read with the json module, so its numbers and strings mean
    what JSON says (YAML 1.1 would read `7e1` as text). If it is not valid JSON and the file is not
    named `.json`, it may still be a YAML flow mapping (`{age: 70}`): it is read as YAML, and only
    if that fails too is the JSON error reported.

    With `keep_going`, duplicate keys do not stop the reading: they are returned in
    `Document.problems` (the first value is kept), so that a validator can go on to report the
    file's other problems in the same run. Everything else is still raised.
    """
    if not text.strip():
        raise InputError([Problem("E101", "file is empty", Location(path))])
    if text.lstrip().startswith(("{", "[")):
        try:
            return _parse_json(path, text, keep_going=keep_going)
        except InputError as exc:
            if path.lower().endswith(".json") or exc.problems[0].code != "E101":
                raise
            try:
                return _parse_yaml(path, text, keep_going=keep_going)
            except InputError:
                raise exc from None
    return _parse_yaml(path, text, keep_going=keep_going)


def _parse_yaml(path: str, text: str, *, keep_going: bool = False) -> Document:
    try:
        if len(text) > _COUNT_EVENTS_ABOVE:
            _count_events(path, text)
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except _TooLarge as exc:
        raise InputError([exc.problem]) from None
    except yaml.MarkedYAMLError as exc:
        raise InputError([_syntax_problem(path, text, exc)]) from None
    except yaml.reader.ReaderError as exc:
        raise InputError([_reader_problem(path, text, exc)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error is one of the above
        message = " ".join(str(exc).split())
        raise InputError([Problem("E101", f"YAML error: {message}", Location(path))]) from None
    except RecursionError:  # pragma: no cover - only PyYAML's pure-Python composer recurses
        raise InputError(
            [Problem("E104", f"nesting deeper than {MAX_DEPTH} levels", Location(path))]
        ) from None
    if not nodes or nodes[0] is None:
        raise InputError([Problem("E101", "file holds no data", Location(path))])
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise InputError(
            [
                Problem(
                    "E101",
                    "file holds several YAML documents; this is where the second starts",
                    Location(path, mark.line + 1, mark.column + 1),
                    "one patient or rule per file",
                )
            ]
        )
    builder = _Builder(path)
    try:
        data = builder.build(nodes[0], (), 0)
    except _TooLarge as exc:
        raise InputError([exc.problem]) from None
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


def _count_events(path: str, text: str) -> None:
    """Raise _TooLarge at the first value beyond MAX_NODES, before anything is composed."""
    nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(
            event,
            yaml.ScalarEvent | yaml.AliasEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent,
        ):
            nodes += 1
            if nodes > MAX_NODES:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
                raise _TooLarge(_too_many_values(), Location(path, line, column))


def _syntax_problem(path: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = " ".join((exc.problem or str(exc)).split())
    if what == "exceeded maximum nesting depth":  # libyaml's own limit (1000 levels)
        return Problem(
            "E104", f"nesting deeper than {MAX_DEPTH} levels", Location(path, line, column)
        )
    hint = "tabs cannot indent YAML; use spaces" if _tab_indented(text, line) else ""
    return Problem("E101", f"YAML syntax error: {what}", Location(path, line, column), hint)


def _tab_indented(text: str, line: int) -> bool:
    """Whether line `line` (1-based), or the one before it, is indented with a tab."""
    lines = text.splitlines()[max(0, line - 2) : line]
    return any("\t" in row[: len(row) - len(row.lstrip())] for row in lines)


def _reader_problem(path: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML refuses (a control character): located at its first occurrence."""
    character = exc.character if isinstance(exc.character, int) else 0
    offset = text.find(chr(character)) if character else -1
    line, column = _line_column(text, offset) if offset >= 0 else (0, 0)
    return Problem(
        "E101",
        f"character U+{character:04X} is not allowed in YAML ({exc.reason})",
        Location(path, line, column),
        "remove it: control characters have no place in a patient or rule file",
    )


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Unreadable:
    """A JSON number that is no usable value, refused where it stands (with what was written)."""

    def __init__(self, message: str):
        self.message = message


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose duplicate keys keep their first value, as the YAML reader does."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _json_int(text: str) -> int | _Unreadable:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return _Unreadable(_unreadable_number(text))


def _json_float(text: str) -> float | _Unreadable:
    value = float(text)
    if math.isfinite(value):
        return value
    return _Unreadable(f"{text} is too large to be a number that can be used (it reads as {value})")


def _parse_json(path: str, text: str, *, keep_going: bool = False) -> Document:
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    "E101", f"JSON syntax error: {exc.msg}", Location(path, exc.lineno, exc.colno)
                )
            ]
        ) from None
    except RecursionError:
        # Deeper than the json module can go: the scanner names where MAX_DEPTH was crossed.
        scanner = _JsonScanner(path, text)
        try:
            scanner.scan()
        except _TooLarge as exc:
            raise InputError([exc.problem]) from None
        raise InputError(  # pragma: no cover - the scanner always finds the depth first
            [Problem("E104", f"nesting deeper than {MAX_DEPTH} levels", Location(path))]
        ) from None
    scanner = _JsonScanner(path, text)
    try:
        scanner.scan()
    except _TooLarge as exc:
        raise InputError([exc.problem]) from None
    # Only duplicate keys can be found here; with keep_going they are returned, as for YAML.
    if scanner.problems and not keep_going:
        raise InputError(scanner.problems)
    _check_values(path, data, scanner.positions)
    return Document(path, data, scanner.positions, problems=list(scanner.problems))


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


@dataclass
class _Frame:
    path: KeyPath
    is_object: bool
    index: int = 0
    key: str = ""
    expecting_key: bool = True
    seen: dict[str, int] = field(default_factory=dict)


class _JsonScanner:
    """Locates every key and value of a JSON text; finds duplicate keys and crossed limits.

    The json module gives values but no positions. This scanner walks the tokens once and
    records, like the YAML reader, the position of each mapping key (or list item) under its key
    path. It never raises on malformed text: it runs on text json.loads accepted, or to find
    where a text too deep for json.loads crossed MAX_DEPTH.
    """

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def _where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def _tokens(self) -> Iterator[tuple[int, str]]:
        for match in _JSON_TOKEN.finditer(self.text):
            yield match.start(), match.group()

    def scan(self) -> None:
        """Walk the text; raise _TooLarge where a limit is crossed."""
        stack: list[_Frame] = []
        nodes = 0
        for offset, token in self._tokens():
            top = stack[-1] if stack else None
            if token in ("}", "]"):
                if stack:
                    stack.pop()
                continue
            if token == ":":
                if top is not None and top.is_object:
                    top.expecting_key = False
                continue
            if token == ",":
                if top is not None:
                    top.index += 1
                    top.expecting_key = top.is_object
                continue
            if top is not None and top.is_object and top.expecting_key and token[0] == '"':
                self._key(top, offset, token)
                continue
            # A value starts here: an object, a list, a text, a number or a literal.
            nodes += 1
            if top is None:
                value_path: KeyPath = ()
            elif top.is_object:
                value_path = (*top.path, top.key)
            else:
                value_path = (*top.path, top.index)
            line, column = self._where(offset)
            self.positions.setdefault(value_path, (line, column))
            if nodes > MAX_NODES:
                raise _TooLarge(
                    _too_many_values(),
                    Location(self.path, line, column, format_path(value_path)),
                )
            if token in ("{", "["):
                if len(stack) >= MAX_DEPTH:
                    raise _TooLarge(
                        f"nesting deeper than {MAX_DEPTH} levels",
                        Location(self.path, line, column, format_path(value_path)),
                    )
                stack.append(_Frame(value_path, token == "{"))

    def _key(self, frame: _Frame, offset: int, token: str) -> None:
        try:
            key = json.loads(token)
        except ValueError:
            key = token.strip('"')
        key = str(key)
        line, column = self._where(offset)
        frame.key = key
        if key in frame.seen:
            self.problems.append(
                Problem(
                    "E102",
                    f"duplicate key '{key}' (first at line {frame.seen[key]}); "
                    "a JSON reader would silently keep only the last one",
                    Location(self.path, line, column, format_path((*frame.path, key))),
                )
            )
            return
        frame.seen[key] = line
        self.positions[(*frame.path, key)] = (line, column)


def _check_values(path: str, data: Any, positions: dict[KeyPath, tuple[int, int]]) -> None:
    """Refuse values no clinical file holds, each where it stands; raise once with them all."""
    problems: list[Problem] = []

    def where(key_path: KeyPath) -> Location:
        probe = key_path
        while probe and probe not in positions:
            probe = probe[:-1]
        line, column = positions.get(probe, (0, 0))
        return Location(path, line, column, format_path(key_path))

    def visit(value: Any, key_path: KeyPath) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(
                Problem("E105", f"{value} is not a number that can be used", where(key_path))
            )
        elif isinstance(value, _Unreadable):
            problems.append(Problem("E105", value.message, where(key_path)))
        elif isinstance(value, str) and _SURROGATE.search(value):
            problems.append(
                Problem(
                    "E100",
                    "text holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)",
                    where(key_path),
                    "write the character itself, or a valid surrogate pair",
                )
            )
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    problems.append(
                        Problem(
                            "E100",
                            "key holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)",
                            where(key_path),
                        )
                    )
                    continue
                visit(item, (*key_path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, (*key_path, index))

    visit(data, ())
    if problems:
        raise InputError(problems)


def load_file(path: Path | str, display: str | None = None) -> Document:
    """Read and parse a file from disk; problems name it as `display` (default: the path)."""
    name = display or str(path)
    return parse(name, read_text(name, read_file(path, name)))


def read_file(path: Path | str, display: str | None = None, *, within: Path | None = None) -> bytes:
    """Read a file's bytes, at most one more than MAX_BYTES; raise InputError if it cannot be read.

    Reading stops at the limit, so a huge file, or a device that never ends (`/dev/zero`), is
    refused without being read whole; a FIFO, a device or a socket is refused before a byte is
    read (`open_regular`). With `within`, a file whose real path (symbolic links followed) is
    outside that folder is refused unread: a knowledge base never reads `/etc/passwd` through
    a link in `rules/`.
    """
    name = display or str(path)
    if within is not None:
        try:
            real = Path(path).resolve()
            inside = real.is_relative_to(within.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:
            raise InputError(
                [
                    Problem(
                        "E100",
                        f"is a symbolic link to a file outside {within}: it is not read",
                        Location(name),
                        "copy the file into the folder instead of linking to it",
                    )
                ]
            )
    with open_regular(path, name) as handle:
        try:
            return read_limited(handle)
        except OSError as exc:
            raise InputError(
                [Problem("E100", f"cannot read: {exc.strerror}", Location(name))]
            ) from None


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: Path | str, display: str | None = None) -> BinaryIO:
    """Open a regular file for reading in binary; raise InputError for anything else.

    Opened without blocking and checked on the open descriptor (no race with a rename): a FIFO
    would otherwise block the open until a writer comes, which may be never.
    """
    name = display or str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError([Problem("E100", "no such file", Location(name))]) from None
    except IsADirectoryError:
        raise InputError([Problem("E100", "is a directory, not a file", Location(name))]) from None
    except OSError as exc:
        raise InputError(
            [Problem("E100", f"cannot read: {exc.strerror}", Location(name))]
        ) from None
    mode = os.fstat(descriptor).st_mode
    if stat.S_ISDIR(mode):
        os.close(descriptor)
        raise InputError([Problem("E100", "is a directory, not a file", Location(name))])
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise InputError(
            [Problem("E100", f"is {_special(mode)}, not a file: it is not read", Location(name))]
        )
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


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
