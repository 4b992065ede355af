"""Batch screening: many patients through one knowledge base, one JSON line per patient.

Inputs, one patient per record:

- JSON Lines (any file not ending in `.csv`): each non-blank line is a patient file as one JSON
  object. Records are numbered by their line in the file.
- CSV (`.csv`, UTF-8, comma-separated, a header row): each row is a patient, each column a key
  of the patient file (`cramp-expert batch --help` and the README give the mapping: `age`,
  `cramps.nights_per_week`, `labs.potassium`, `medications` as `;`-separated names, ...).
  Records are numbered by the line their row starts on.
- A folder: every `*.yaml`, `*.yml` and `*.json` file directly in it, by name, is a patient file.

The output is JSON Lines in input order: for each record, the result `consult --format json`
gives, with `source` added (the input, the record's number from 1, and its line or file); for a
record that cannot be consulted, `source` and `error` (each problem as one `file:line:col: ...`
line, the line being the input's own). Every line is a whole JSON object, written whole, so a
later run can resume after the last complete line. The output goes to a hidden partial file next
to it (`partial_path`) and replaces it only when every record is done: an interrupted run leaves
the previous output (or none), never half of one, and `--resume` carries on from the partial
file's last whole line.

With several workers, each is a process (spawned, so nothing but the knowledge base's folder is
shared) that builds its own consultant once; records go to them in chunks and come back in
order. experta engines are not thread-safe, and processes scale on cores where threads would not.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

from cramp_expert.api import Consultant
from cramp_expert.errors import (
    CrampExpertError,
    InputError,
    Location,
    Problem,
    did_you_mean,
)
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.patient.normalise import SECTIONS
from cramp_expert.source import MAX_DEPTH, Document, parse

PATIENT_SUFFIXES = (".yaml", ".yml", ".json")
LIST_SEPARATOR = ";"
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")
CHUNK = 32
"""Records sent to a worker at a time: enough to make the hand-over cheap, few enough to keep
the progress bar moving."""


class BatchInputError(CrampExpertError):
    """The input as a whole cannot be read (no such file, a CSV header naming no key)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


@dataclass(frozen=True)
class Record:
    """One patient of the input, as read, before anything is checked."""

    kind: str
    """`jsonl`, `csv` or `file`."""
    number: int
    """1-based position among the input's records."""
    line: int
    """The line it starts on (0 for a file of a folder)."""
    text: str = ""
    """JSON Lines: the line."""
    cells: tuple[tuple[str, str], ...] = ()
    """CSV: (column, cell) pairs."""
    misfit: str = ""
    """CSV: why the row does not fit the header (its number of cells)."""
    path: str = ""
    """Folder: the patient file."""


@dataclass(frozen=True)
class Outcome:
    """What consulting one record gave: its output line and what the summary counts."""

    line: str
    causes: tuple[str, ...] = ()
    red_flags: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    """Problem codes of a record that could not be consulted (`internal` for a bug)."""


@dataclass
class Summary:
    """Counts over a whole run."""

    records: int = 0
    consulted: int = 0
    failed: int = 0
    internal: int = 0
    causes: Counter[str] = field(default_factory=Counter)
    red_flags: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    """Problem code -> records with at least one problem of that code."""

    def add(self, outcome: Outcome) -> None:
        """Count one record."""
        self.records += 1
        if outcome.errors:
            self.failed += 1
            self.internal += "internal" in outcome.errors
            self.errors.update(set(outcome.errors))
        else:
            self.consulted += 1
            self.causes.update(outcome.causes)
            self.red_flags.update(outcome.red_flags)

    def render(self, output: str) -> str:
        """The summary for a person: counts, then red flags, causes and errors by frequency."""
        lines = [f"{self.records} records: {self.consulted} consulted, {self.failed} with errors"]
        if self.failed:
            lines[0] += f" (their 'error' lines in {output} say why)"
        sections = (
            ("Red flags (patients)", self.red_flags),
            ("Causes (patients)", self.causes),
            ("Errors (records)", self.errors),
        )
        for title, counts in sections:
            if counts:
                lines.append(f"{title}:")
                width = max(len(key) for key in counts)
                for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                    lines.append(f"  {key:<{width}}  {count:>6}")
        return "\n".join(lines) + "\n"


# --- reading the input --------------------------------------------------------------------------
def input_kind(path: Path) -> str:
    """`folder`, `csv` or `jsonl`."""
    if path.is_dir():
        return "folder"
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def _unreadable(name: str, exc: OSError) -> BatchInputError:
    what = "no such file" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc.strerror}"
    return BatchInputError([Problem("E100", what, Location(name))])


@contextmanager
def _open_text(path: Path, name: str) -> Iterator[TextIO]:
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise _unreadable(name, exc) from None
    try:
        yield stream
    except UnicodeDecodeError as exc:
        problem = Problem("E100", f"file is not UTF-8 text ({exc.reason})", Location(name))
        raise BatchInputError([problem]) from None
    finally:
        stream.close()


def read_records(path: Path, knowledge: Knowledge) -> Iterator[Record]:
    """The input's records in order (raises BatchInputError if the input cannot be read)."""
    name = str(path)
    kind = input_kind(path)
    if kind == "folder":
        try:
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in PATIENT_SUFFIXES)
        except OSError as exc:
            raise _unreadable(name, exc) from None
        for number, file in enumerate(files, 1):
            yield Record("file", number, 0, path=str(file))
        return
    with _open_text(path, name) as stream:
        if kind == "jsonl":
            number = 0
            for line_number, line in enumerate(stream, 1):
                if line.strip():
                    number += 1
                    yield Record("jsonl", number, line_number, text=line.rstrip("\r\n"))
            return
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise BatchInputError([Problem("E101", "the CSV file is empty", Location(name))])
        columns = check_columns(header, knowledge, name)
        start = reader.line_num + 1
        number = 0
        for row in reader:
            if any(cell.strip() for cell in row):
                number += 1
                if len(row) == len(columns):
                    yield Record("csv", number, start, cells=tuple(zip(columns, row, strict=True)))
                else:
                    misfit = f"the row has {len(row)} cells; the header has {len(columns)}"
                    yield Record("csv", number, start, misfit=misfit)
            start = reader.line_num + 1


def count_records(path: Path, knowledge: Knowledge) -> int:
    """How many records `read_records` will give (read once more, for the progress bar)."""
    return sum(1 for _ in read_records(path, knowledge))


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


def _cell_value(column: str, text: str, knowledge: Knowledge) -> Any:
    """A cell as the patient file's value: a number, yes/no or list where the key takes one.

    A cell that does not read as its key's type is passed on as text, so that the patient
    file's own checks report it with its key.
    """
    if column in ("medications", "conditions"):
        return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]
    fact = knowledge.fact(column)
    if fact is None:
        return text  # id and labs are read as written
    if fact.type == "number":
        for number in (int, float):
            try:
                return number(text)
            except ValueError:
                continue
        return text
    if fact.type == "bool":
        word = text.lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text
    if fact.type == "list":
        return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]
    return text


def csv_document(record: Record, knowledge: Knowledge, name: str) -> Document:
    """A CSV row as a patient-file document whose positions are the row's line."""
    if record.misfit:
        raise InputError([Problem("B203", record.misfit, Location(name, record.line))])
    data: dict[str, Any] = {}
    positions: dict[tuple[str | int, ...], tuple[int, int]] = {(): (record.line, 0)}
    for column, cell in record.cells:
        text = cell.strip()
        if not text:
            continue
        section, _, key = column.partition(".")
        path: tuple[str, ...] = (section, key) if key else (column,)
        value = _cell_value(column, text, knowledge)
        if key:
            data.setdefault(section, {})[key] = value
            positions[(section,)] = (record.line, 0)
        else:
            data[column] = value
        positions[path] = (record.line, 0)
    return Document(name, data, positions)


# --- consulting one record ----------------------------------------------------------------------
def _no_constant(text: str) -> Any:
    raise ValueError(text)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise ValueError("duplicate key")
    return mapping


FAST_LINE = 64 * 1024
"""Lines up to this size are read with json alone (a patient is a few hundred bytes): too few
values to reach the parser's node limit. Longer lines go through the full parser's limits."""


def _plain(value: Any, depth: int) -> bool:
    """Whether `value` nests at most `depth` levels and holds only finite numbers."""
    if isinstance(value, float):
        return value - value == 0.0  # false for infinity (1e999 reads as one)
    if isinstance(value, dict | list):
        if depth <= 0:
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(_plain(item, depth - 1) for item in items)
    return True


def jsonl_document(record: Record, name: str) -> Document:
    """A JSON line as a patient-file document whose positions are the input file's lines.

    Read first with json alone (duplicate keys, NaN and deep nesting refused, as the parser
    does); the full parser, which also finds every value's position, reads the line again only
    when that fails or the patient file turns out to be invalid, to name the place.
    """
    if len(record.text) <= FAST_LINE:
        try:
            data = json.loads(
                record.text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant
            )
            if isinstance(data, dict) and _plain(data, MAX_DEPTH - 1):
                return Document(name, data, {})
        except (ValueError, RecursionError):
            pass
    return located_jsonl_document(record, name)


def located_jsonl_document(record: Record, name: str) -> Document:
    """The line through the full parser, every position on the input's own lines.

    The line is parsed after as many empty lines as precede it in the input, so that every
    line number, including those inside messages ("first at line 12"), is the input's.
    """
    return parse(name, "\n" * (record.line - 1) + record.text)


class RecordConsultant:
    """Consults the records of one input with one consultant (one per process)."""

    def __init__(self, consultant: Consultant, input_name: str):
        self.consultant = consultant
        self.name = input_name

    def source(self, record: Record) -> dict[str, Any]:
        """The `source` of an output line."""
        where: dict[str, Any] = {"input": self.name, "record": record.number}
        if record.kind == "file":
            where["file"] = record.path
        else:
            where["line"] = record.line
        return where

    def patient(self, record: Record) -> Any:
        """The record's patient, read, validated and normalised (raises InputError)."""
        consultant = self.consultant
        if record.kind == "file":
            return consultant.read_path(record.path)
        if record.kind == "csv":
            return consultant.read(csv_document(record, consultant.kb.knowledge, self.name))
        document = jsonl_document(record, self.name)
        try:
            return consultant.read(document)
        except InputError:
            if document.positions:
                raise
            return consultant.read(located_jsonl_document(record, self.name))

    def consult(self, record: Record) -> Outcome:
        """One record's output line and what the summary counts of it."""
        source = self.source(record)
        try:
            result = self.consultant.consult_facts(self.patient(record))
        except InputError as exc:
            problems = [problem.render() for problem in exc.problems]
            codes = list(dict.fromkeys(p.code for p in exc.problems))
            line = _dumps({"source": source, "error": {"codes": codes, "problems": problems}})
            return Outcome(line, errors=tuple(codes))
        except Exception as exc:  # a bug: recorded, and the run goes on
            message = f"internal error: {type(exc).__name__}: {exc} (please report it)"
            error = {"codes": ["internal"], "internal": message}
            return Outcome(_dumps({"source": source, "error": error}), errors=("internal",))
        return Outcome(
            _dumps({"source": source, **result}),
            causes=tuple(item["id"] for item in result["causes"]),
            red_flags=tuple(item["id"] for item in result["red_flags"]),
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- workers ------------------------------------------------------------------------------------
_WORKER: RecordConsultant | None = None


def _start_worker(kb_root: Path | None, input_name: str) -> None:
    global _WORKER
    # The parent handles Ctrl-C and stops the workers; a worker interrupted mid-record would
    # only add a traceback to the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = RecordConsultant(Consultant(kb_root), input_name)


def _consult_chunk(records: list[Record]) -> list[Outcome]:
    assert _WORKER is not None  # set by the pool's initializer
    return [_WORKER.consult(record) for record in records]


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(islice(records, size)):
        yield chunk


def outcomes(
    records: Iterator[Record],
    input_name: str,
    workers: int,
    kb_root: Path | None,
    consultant: Consultant | None,
) -> Iterator[list[Outcome]]:
    """Consult every record, in chunks, in input order.

    With one worker, in this process (with `consultant`, or one built for `kb_root`); with
    more, in that many processes, each with a consultant of its own for `kb_root`.
    """
    if workers <= 1:
        here = RecordConsultant(consultant or Consultant(kb_root), input_name)
        for chunk in _chunks(records, CHUNK):
            yield [here.consult(record) for record in chunk]
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, _start_worker, (kb_root, input_name)) as pool:
        yield from pool.imap(_consult_chunk, _chunks(records, CHUNK))


# --- the run ------------------------------------------------------------------------------------
@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C does: whole lines flushed, the partial file kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def partial_path(output_path: Path) -> Path:
    """Where a run writes its lines until it ends: beside OUTPUT, hidden, one per OUTPUT.

    Its name is fixed (not random) so that `--resume` finds the lines of an interrupted run.
    """
    return output_path.parent / f".{output_path.name}.partial"


def outcome_of_line(line: str) -> Outcome:
    """What the summary counts of an output line already written (a resumed run recounts)."""
    entry = json.loads(line)
    if "error" in entry:
        return Outcome(line, errors=tuple(entry["error"].get("codes", ["error"])))
    return Outcome(
        line,
        causes=tuple(item["id"] for item in entry.get("causes", [])),
        red_flags=tuple(item["id"] for item in entry.get("red_flags", [])),
    )


def _completed(partial: Path, input_name: str) -> tuple[list[Outcome], int]:
    """The records an interrupted run finished, and the length of the file that holds them.

    A record counts only when its line is whole (ends with a newline), is JSON, belongs to this
    input and comes in order (record 1, 2, ...): a line cut by the interruption is dropped and
    its record consulted again.
    """
    done: list[Outcome] = []
    length = 0
    with partial.open("rb") as stream:
        for raw in stream:
            if not raw.endswith(b"\n"):
                break
            try:
                line = raw.decode("utf-8").rstrip("\n")
                source = json.loads(line)["source"]
            except (UnicodeDecodeError, ValueError, KeyError, TypeError):
                break
            if source.get("input") != input_name or source.get("record") != len(done) + 1:
                break
            done.append(outcome_of_line(line))
            length += len(raw)
    return done, length


def run_batch(
    input_path: Path,
    output_path: Path,
    *,
    knowledge: Knowledge,
    workers: int = 1,
    kb_root: Path | None = None,
    consultant: Consultant | None = None,
    progress: Callable[[int], None] | None = None,
    resume: bool = False,
) -> Summary:
    """Consult every record of `input_path` and write the JSON lines to `output_path`.

    `knowledge` reads the input (CSV columns); `consultant`, if given, consults in this process
    when `workers` is 1. Raises BatchInputError when the input cannot be read and OSError when
    the output cannot be written.

    Lines go to `partial_path(output_path)`, flushed a chunk of whole lines at a time, and the
    file replaces OUTPUT only when every record is done: OUTPUT is only ever the previous output
    (or absent) or the complete new one. An interrupted run leaves its partial file; with
    `resume`, a run keeps the records it finished and consults the rest (without `resume`, it
    starts afresh).
    """
    name = str(input_path)
    records = read_records(input_path, knowledge)
    first = next(records, None)  # an unreadable input fails here, before any output exists
    if first is not None:
        records = chain([first], records)
    summary = Summary()
    partial = partial_path(output_path)
    done: list[Outcome] = []
    if resume and partial.is_file():
        done, length = _completed(partial, name)
        with partial.open("r+b") as stream:
            stream.truncate(length)  # drop a line the interruption cut short
    for outcome in done:
        summary.add(outcome)
    if progress is not None and done:
        progress(len(done))
    records = islice(records, len(done), None)
    with _terminate_as_exit(), partial.open("a" if done else "w", encoding="utf-8") as stream:
        for chunk in outcomes(records, name, workers, kb_root, consultant):
            stream.write("".join(outcome.line + "\n" for outcome in chunk))
            stream.flush()  # whole lines only: a resumed run can trust every line it finds
            for outcome in chunk:
                summary.add(outcome)
            if progress is not None:
                progress(len(chunk))
        os.fsync(stream.fileno())
    os.replace(partial, output_path)
    return summary


__all__ = [
    "BatchInputError",
    "Outcome",
    "Record",
    "RecordConsultant",
    "Summary",
    "check_columns",
    "count_records",
    "csv_columns",
    "input_kind",
    "outcome_of_line",
    "partial_path",
    "read_records",
    "run_batch",
]
