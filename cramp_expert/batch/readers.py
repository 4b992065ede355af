"""Reading a batch input into records: JSON Lines, CSV or a folder, decided by the content.

The kind of an input is decided by what it holds, not by its name: a folder is a folder; a file
whose first non-blank character is `{` is JSON Lines; a file whose first line is a header of
patient-file keys (names such as `id`, `labs.potassium`) is CSV; anything else (a YAML patient
file, a JSON array, a binary file) is refused before any output exists.

Everything that can go wrong with one record is a value, not an exception: a line that is not
UTF-8, a record longer than `MAX_RECORD` bytes, a CSV row with the wrong number of cells become
the record's `problems`, which the run writes as that record's error line before going on. Only
what concerns the input as a whole (no such file, not a known kind, a CSV header naming no key)
raises `BatchInputError`, before the first record.

Lines are read with a bound (`readline(limit)`), so a line of a gigabyte costs its reading time
and never its size in memory. Non-regular files (a FIFO, a device, a socket) are refused before
they are opened for reading: opening a FIFO blocks until a writer comes, forever.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from cramp_expert.errors import CrampExpertError, InputError, Location, Problem, did_you_mean
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.patient.normalise import SECTIONS
from cramp_expert.source import MAX_BYTES, open_regular

PATIENT_SUFFIXES = (".yaml", ".yml", ".json")
MAX_RECORD = MAX_BYTES
"""Largest record (a JSON line, a CSV row, a file of a folder): a patient file's own limit,
2 MiB, whatever form the patient comes in."""
_SNIFF = 64 * 1024
"""Bytes looked at to decide an input's kind: a CSV header or the start of a JSON object."""
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,99}")
BOM = b"\xef\xbb\xbf"
"""UTF-8's byte order mark, allowed at the start of an input."""
_UNDECODED = re.compile("[\udc80-\udcff]")
"""Bytes that are not UTF-8, as `surrogateescape` decoding keeps them."""


class BatchInputError(CrampExpertError):
    """The input as a whole cannot be read (no such file, a CSV header naming no key)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))

    def __reduce__(self) -> tuple[type[BatchInputError], tuple[list[Problem]]]:
        # Rebuilt from its problems when it crosses a process boundary (the default would pass
        # the message, a str, where a list belongs).
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class Record:
    """One patient of the input, as read, before anything is checked."""

    kind: str
    """`jsonl`, `csv`, `file` or `fhir` (one Patient of FHIR Bulk Data: its resources as a
    JSON list in `text`, `path` the NDJSON file)."""
    number: int
    """1-based position among the input's records."""
    line: int
    """The line it starts on (0 for a file of a folder)."""
    text: str = ""
    """JSON Lines: the line."""
    cells: tuple[tuple[str, str], ...] = ()
    """CSV: (column, cell) pairs."""
    path: str = ""
    """Folder: the patient file."""
    problems: tuple[Problem, ...] = ()
    """Why the record cannot be read at all (not UTF-8, too long, cells not fitting the
    header): written as its error line without consulting."""


def _unreadable(name: str, exc: OSError) -> BatchInputError:
    what = "no such file" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc.strerror}"
    return BatchInputError([Problem("E100", what, Location(name))])


@contextmanager
def _open_binary(path: Path, name: str) -> Iterator[BinaryIO]:
    try:
        stream = open_regular(path, name)  # a FIFO or a device refused, never waited on
    except InputError as exc:
        raise BatchInputError(list(exc.problems)) from None
    try:
        yield stream
    finally:
        stream.close()


def input_kind(path: Path, name: str | None = None) -> str:
    """`fhir`, `folder`, `csv`, `jsonl` or `empty` (raises BatchInputError for any other content).

    `name`: what messages call the input (default: its path; `<stdin>` for standard input). A
    folder holding `*.ndjson` files is FHIR Bulk Data (cramp_expert/fhir/ndjson.py).
    """
    name = name or str(path)
    if path.is_dir():
        from cramp_expert.fhir.ndjson import is_bulk_folder

        return "fhir" if is_bulk_folder(path) else "folder"
    with _open_binary(path, name) as stream:
        head = stream.read(_SNIFF)
    text = head.decode("utf-8", "replace").removeprefix("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        return "empty"
    if stripped.startswith("{"):
        return "jsonl"
    first = text.split("\n", 1)[0].rstrip("\r")
    cells = next(csv.reader([first]), [])
    if cells and all(_KEY_NAME.fullmatch(cell.strip()) for cell in cells):
        return "csv"
    what = (
        "a JSON array, not JSON Lines (one object per line)"
        if stripped.startswith("[")
        else "neither JSON Lines (a JSON object per line) nor CSV (a header row of patient-file "
        "keys) nor a folder"
    )
    hint = "a single patient file is consulted with `cramp-expert consult FILE`"
    raise BatchInputError([Problem("B200", f"the input is {what}", Location(name, 1, 1), hint)])


def _lines(stream: BinaryIO, limit: int, first: int = 1) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line without its newline, whether it was longer than `limit` bytes).

    Numbered from `first` (the stream's first line). A line longer than the limit is read past
    in pieces, never held whole.
    """
    number = first - 1
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            _read_past(stream)
            yield number, b"", True
            continue
        yield number, line.rstrip(b"\n").rstrip(b"\r"), False


def _read_past(stream: BinaryIO) -> None:
    """Read the rest of an over-long line, through its newline, in pieces."""
    while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
        pass


def _too_long(name: str, line: int) -> Problem:
    return Problem(
        "E100",
        f"the record is longer than {MAX_RECORD} bytes (2 MiB), the limit for one patient",
        Location(name, line),
    )


def _not_utf8(name: str, line: int, raw: bytes, start: int) -> Problem:
    return Problem(
        "E100",
        f"the record is not UTF-8 text (byte 0x{raw[start]:02x})",
        Location(name, line, start + 1),
    )


def read_records(
    path: Path, knowledge: Knowledge, name: str | None = None
) -> Generator[Record, None, None]:
    """The input's records in order (raises BatchInputError if the input cannot be read)."""
    name = name or str(path)
    kind = input_kind(path, name)
    if kind == "fhir":
        yield from _bulk_records(path)
        return
    if kind == "folder":
        try:
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in PATIENT_SUFFIXES)
        except OSError as exc:
            raise _unreadable(name, exc) from None
        for number, file in enumerate(files, 1):
            # A FIFO among them is refused when its record is read (`source.open_regular`).
            yield Record("file", number, 0, path=str(file))
        return
    if kind == "empty":
        return
    with _open_binary(path, name) as stream:
        if kind == "jsonl":
            yield from _jsonl_records(_lines(stream, MAX_RECORD), name)
        else:
            yield from _csv_records(stream, name, knowledge)


def _bulk_records(path: Path) -> Iterator[Record]:
    """One record per Patient of a Bulk Data folder (its resources as a JSON list in `text`).

    Lines that cannot be read and resources naming no Patient become error records, so that
    nothing of the input goes unreported.
    """
    from cramp_expert.fhir.ndjson import patients

    try:
        found, problems = patients(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BatchInputError(
            [Problem("E100", f"cannot read: {reason}", Location(str(path)))]
        ) from None
    patient_file = str(path / "Patient.ndjson")
    number = 0
    for _pid, line, resources in found:
        number += 1
        yield Record("fhir", number, line, text=json.dumps(resources), path=patient_file)
    for problem in problems:
        number += 1
        where = problem.location
        yield Record("fhir", number, where.line, path=where.path, problems=(problem,))


def _jsonl_records(
    lines: Iterable[tuple[int, bytes, bool]], name: str, number: int = 0
) -> Iterator[Record]:
    """The records of JSON Lines (`_lines`), numbered on from `number` (the records before).

    Line 1 may start with a byte order mark; blank lines are no record; a line longer than
    `MAX_RECORD` or not UTF-8 is one that carries its problem.
    """
    for line_number, raw, too_long in lines:
        if line_number == 1:
            raw = raw.removeprefix(BOM)
        if not too_long and not raw.strip():
            continue
        number += 1
        if too_long:
            yield Record("jsonl", number, line_number, problems=(_too_long(name, line_number),))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = _not_utf8(name, line_number, raw, exc.start)
            yield Record("jsonl", number, line_number, problems=(problem,))
            continue
        yield Record("jsonl", number, line_number, text=text)


# --- JSON Lines in blocks (`batch --cluster dask`) ---------------------------------------------
@dataclass(frozen=True)
class Block:
    """Whole lines of a JSON Lines input, as read, and where they stand in it.

    `block_records` turns it into the very records `read_records` gives for those lines.
    """

    data: bytes
    """Whole lines (the input's last may lack its newline), each at most `MAX_RECORD` bytes."""
    line: int
    """The first line's number in the input."""
    number: int
    """The number of the block's first record (the records before it, plus one)."""
    records: int
    """How many records its lines hold (blank lines hold none)."""
    long: bool = False
    """A line longer than `MAX_RECORD` follows `data` (read past, not held): one more record,
    its error."""


def block_records(block: Block, name: str) -> Iterator[Record]:
    """The records of a block's lines, numbered as `read_records` numbers them in the input."""
    lines: Iterable[tuple[int, bytes, bool]] = _lines(
        io.BytesIO(block.data), MAX_RECORD, block.line
    )
    if block.long:
        after = block.line + _line_count(block.data)
        lines = chain(lines, [(after, b"", True)])
    return _jsonl_records(lines, name, block.number - 1)


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))


_BLANK = re.compile(rb"\n(?=[ \t\r\x0b\x0c]*\n)")
"""A newline followed by a blank line (only the whitespace `bytes.strip` strips) and its newline:
one match per such line, found from each newline, never by a loop per line."""


class JsonlBlocks:
    """A JSON Lines input read in blocks of whole lines (`Block`), each numbered as it goes.

    Each block's first line and first record are worked out from the block's bytes as a whole
    (newlines counted, blank lines found by `_BLANK`, a byte order mark on line 1): the lines
    are read one at a time only by `block_records`, wherever the block is consulted.
    """

    def __init__(self, stream: BinaryIO, name: str):
        self.stream = stream
        self.name = name
        self.line = 1
        """The next block's first line."""
        self.number = 1
        """The next block's first record."""

    def skip(self, count: int) -> None:
        """Read past the first `count` records (those an interrupted run finished), line by line."""
        if count <= 0:
            return
        lines = _lines(self.stream, MAX_RECORD, self.line)
        for record in _jsonl_records(lines, self.name, self.number - 1):
            self.line, self.number = record.line + 1, record.number + 1
            if record.number >= count:
                return

    def left(self) -> int:
        """About how many bytes are left to read (the file's size now, less what was read)."""
        return max(0, os.fstat(self.stream.fileno()).st_size - self.stream.tell())

    def next(self, size: int) -> Block | None:
        """The next block: `size` bytes (at most `MAX_RECORD`) and the rest of their last line.

        None at the input's end. A last line longer than `MAX_RECORD` is read past (`Block.long`).
        """
        stream = self.stream
        data = stream.read(max(1, min(size, MAX_RECORD)))
        if not data:
            return None
        long = False
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            # The last line goes on: read to its end as `_lines` reads a line, to at most
            # MAX_RECORD + 1 bytes from its start.
            tail = len(data) - cut
            rest = stream.readline(MAX_RECORD + 1 - tail)
            if tail + len(rest) > MAX_RECORD and not rest.endswith(b"\n"):
                _read_past(stream)
                data, long = data[:cut], True
            else:
                data += rest
        lines = _line_count(data)
        body = data.removeprefix(BOM) if self.line == 1 else data
        blank = len(_BLANK.findall(b"\n" + body))
        if lines and not data.endswith(b"\n") and not body[body.rfind(b"\n") + 1 :].strip():
            blank += 1  # the input's last line, blank, without its newline
        block = Block(data, self.line, self.number, lines - blank + long, long)
        self.line += lines + long
        self.number += block.records
        return block


@contextmanager
def jsonl_blocks(path: Path, name: str | None = None) -> Iterator[JsonlBlocks]:
    """A JSON Lines input, open to be read in blocks (raises BatchInputError if it cannot be)."""
    name = name or str(path)
    with _open_binary(path, name) as stream:
        yield JsonlBlocks(stream, name)


class _RowTooLong(Exception):
    """A CSV row crossed MAX_RECORD (raised from inside the csv reader's line source)."""


class _CsvLines:
    """The decoded lines the csv module reads, counted, each row's length bounded."""

    def __init__(self, stream: BinaryIO):
        self._lines = _lines(stream, MAX_RECORD)
        self.number = 0
        """The last line handed out."""
        self.row_bytes = 0
        """Bytes of the current row so far (reset by the reader at each row's start)."""

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        number, raw, too_long = next(self._lines)
        if number == 1:
            raw = raw.removeprefix(BOM)
        self.number = number
        self.row_bytes += len(raw) + 1
        if too_long or self.row_bytes > MAX_RECORD:
            raise _RowTooLong
        # Bytes that are not UTF-8 are kept as surrogate escapes and refused per row.
        return raw.decode("utf-8", "surrogateescape") + "\n"


def _csv_records(stream: BinaryIO, name: str, knowledge: Knowledge) -> Iterator[Record]:
    lines = _CsvLines(stream)
    # The csv module's own field limit (128 KiB) would end the whole run; rows are bounded by
    # _CsvLines instead, to MAX_RECORD, and a longer one is one record's error.
    csv.field_size_limit(MAX_RECORD + 1)
    try:
        header = next(csv.reader(lines), None)
    except _RowTooLong:
        raise BatchInputError([_too_long(name, 1)]) from None
    if header is None:
        return
    header_text = ",".join(header)
    if _UNDECODED.search(header_text):
        raise BatchInputError([Problem("E100", "the header is not UTF-8 text", Location(name, 1))])
    columns = check_columns(header, knowledge, name)
    number = 0
    while True:
        reader = csv.reader(lines)
        start = lines.number + 1
        lines.row_bytes = 0
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    number += 1
                    yield _csv_record(name, number, start, columns, row)
                start = lines.number + 1
                lines.row_bytes = 0
            return
        except _RowTooLong:
            # The rest of the oversized row's line was read past; reading starts afresh at the
            # next line (a new csv reader: the old one is in the middle of a field).
            number += 1
            yield Record("csv", number, start, problems=(_too_long(name, start),))
        except csv.Error as exc:
            number += 1
            problem = Problem(
                "B203", f"the row cannot be read as CSV: {exc}", Location(name, start)
            )
            yield Record("csv", number, start, problems=(problem,))


def _csv_record(name: str, number: int, start: int, columns: list[str], row: list[str]) -> Record:
    if len(row) != len(columns):
        misfit = f"the row has {len(row)} cells; the header has {len(columns)}"
        return Record(
            "csv", number, start, problems=(Problem("B203", misfit, Location(name, start)),)
        )
    for column, cell in zip(columns, row, strict=True):
        found = _UNDECODED.search(cell)
        if found:
            byte = ord(found.group()) - 0xDC00
            problem = Problem(
                "E100",
                f"the cell is not UTF-8 text (byte 0x{byte:02x})",
                Location(name, start, 0, column),
            )
            return Record("csv", number, start, problems=(problem,))
    return Record("csv", number, start, cells=tuple(zip(columns, row, strict=True)))


def count_records(path: Path, knowledge: Knowledge, name: str | None = None) -> int:
    """How many records `read_records` will give (read once more, for the progress bar)."""
    return sum(1 for _ in read_records(path, knowledge, name))


# --- CSV columns --------------------------------------------------------------------------------
def csv_columns(knowledge: Knowledge) -> list[str]:
    """Every column a CSV input may have."""
    columns = ["id", "medications", "conditions"]
    columns += [
        fact_id
        for fact_id, fact in knowledge.facts.items()
        if not fact.derived and (fact_id.split(".")[0] in SECTIONS or "." not in fact_id)
    ]
    columns += [f"labs.{name}" for name in knowledge.analytes]
    return columns


def check_columns(header: list[str], knowledge: Knowledge, name: str) -> list[str]:
    """The header's columns, each checked to name a patient-file key."""
    known = set(csv_columns(knowledge))
    problems: list[Problem] = []
    seen: set[str] = set()
    columns = [column.strip() for column in header]
    for index, column in enumerate(columns, 1):
        where = Location(name, 1, 0, column)
        if column not in known:
            hint = did_you_mean(column, known) or "see `cramp-expert batch --help` for the columns"
            problems.append(
                Problem("B201", f"column {index} '{column}' is not a patient-file key", where, hint)
            )
        elif column in seen:
            problems.append(Problem("B202", f"column '{column}' appears twice", where))
        seen.add(column)
    if problems:
        raise BatchInputError(problems)
    return columns


__all__ = [
    "MAX_RECORD",
    "PATIENT_SUFFIXES",
    "BatchInputError",
    "Block",
    "JsonlBlocks",
    "Record",
    "block_records",
    "check_columns",
    "count_records",
    "csv_columns",
    "input_kind",
    "jsonl_blocks",
    "read_records",
]
