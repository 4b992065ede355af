"""Consulting one batch record: its patient file read, the rules run, one output line made.

Whatever happens to one record ends as its output line: the result, or an `error` with every
problem located on the input's own lines, or (a bug) an `internal` error. `RecordConsultant.consult`
never raises for a record, so a worker process only ever sends back plain values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.batch.readers import Record
from cramp_expert.errors import InputError, Location, Problem
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.numbers import plain_number
from cramp_expert.screen.records import LineFormat, Mode
from cramp_expert.source import MAX_DEPTH, Document, parse

LIST_SEPARATOR = ";"
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")


@dataclass(frozen=True)
class Outcome:
    """What consulting one record gave: its output line and what the summary counts."""

    line: str
    causes: tuple[str, ...] = ()
    red_flags: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    """Problem codes of a record that could not be consulted (`internal` for a bug)."""


# --- CSV rows -----------------------------------------------------------------------------------
def _cell_value(column: str, text: str, knowledge: Knowledge) -> Any:
    """A cell as the patient file's value: a number, yes/no or list where the key takes one.

    A cell that does not read as its key's type is passed on as text, so that the patient
    file's own checks report it with its key. A number is read only as a clinician writes it
    (`70`, `3.5`, `-1`): `070`, `1_000`, `0x46` and `1:30` stay text and are refused there.
    """
    if column in ("medications", "conditions"):
        return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]
    fact = knowledge.fact(column)
    if fact is None:
        return text  # id and labs are read as written
    if fact.type == "number":
        number = plain_number(text)
        return text if number is None else number
    if fact.type == "bool":
        word = text.lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text
    if fact.type == "list":
        return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]
    return text


def csv_document(record: Record, knowledge: Knowledge, name: str) -> Document:
    """A CSV row as a patient-file document whose positions are the row's line."""
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


# --- JSON lines ---------------------------------------------------------------------------------
def _no_constant(text: str) -> Any:
    raise ValueError(text)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise ValueError("duplicate key")
    return mapping


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
"""json's reader with duplicate keys and NaN refused, made once: `json.loads` with these hooks
makes a decoder (and its scanner) for every line. Shared like json's own default decoder."""

FAST_LINE = 64 * 1024
"""Lines up to this size are read with json alone (a patient is a few hundred bytes): too few
values to reach the parser's node limit. Longer lines go through the full parser's limits."""


def _plain(value: Any, depth: int) -> bool:
    """Whether `value` nests at most `depth` levels, with finite numbers and encodable text.

    The full parser locates whatever else it finds (infinity, unpaired surrogates).
    """
    if isinstance(value, float):
        return value - value == 0.0  # false for infinity (1e999 reads as one)
    if isinstance(value, str):
        return value.isprintable() or _encodable(value)
    if isinstance(value, dict | list):
        if depth <= 0:
            return False
        if isinstance(value, dict) and not all(_encodable(key) for key in value):
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(_plain(item, depth - 1) for item in items)
    return True


def _escape_free(text: str) -> bool:
    """Whether the texts and depth json reads from `text` are bound to be plain (`_plain`).

    ASCII without a backslash holds no escape, so no unpaired surrogate (json refuses raw
    control characters), and fewer brackets than `MAX_DEPTH` cannot nest deeper: only the
    numbers are left to look at (`_finite`).
    """
    return text.isascii() and "\\" not in text and text.count("{") + text.count("[") < MAX_DEPTH


def _all_printable(text: str) -> bool:
    """Whether every text json reads from the line `text` is printable (`str.isprintable`).

    ASCII without a backslash holds no escape, json refuses raw control characters in a
    string, and of the rest of ASCII only DEL is not printable.
    """
    return text.isascii() and "\\" not in text and "\x7f" not in text


def _finite(value: Any) -> bool:
    """Whether every number in `value` is finite (json reads `1e999` as infinity)."""
    kind = type(value)
    if kind is dict or kind is list:
        # A loop, not all() of a generator: it runs on every value of every record.
        for item in value.values() if kind is dict else value:  # noqa: SIM110
            if not _finite(item):
                return False
        return True
    if kind is float:
        return value - value == 0.0  # type: ignore[no-any-return]
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def jsonl_document(record: Record, name: str) -> Document:
    """A JSON line as a patient-file document whose positions are the input file's lines.

    Read first with json alone (duplicate keys, NaN and deep nesting refused, as the parser
    does); the full parser, which also finds every value's position, reads the line again only
    when that fails or the patient file turns out to be invalid, to name the place.
    """
    if len(record.text) <= FAST_LINE:
        try:
            data = _DECODER.decode(record.text)
            if isinstance(data, dict) and (
                _finite(data) if _escape_free(record.text) else _plain(data, MAX_DEPTH - 1)
            ):
                return Document(name, data, {}, printable=_all_printable(record.text))
        except (ValueError, RecursionError):
            pass
    return located_jsonl_document(record, name)


def located_jsonl_document(record: Record, name: str) -> Document:
    """The line through the full parser, every position on the input's own lines.

    The line is parsed after as many empty lines as precede it in the input, so that every
    line number, including those inside messages ("first at line 12"), is the input's.
    """
    return parse(name, "\n" * (record.line - 1) + record.text)


# --- one record ---------------------------------------------------------------------------------
class RecordConsultant:
    """Consults the records of one input with one consultant (one per process).

    `mode` says what each line holds: the full result, or the screening record on the engine
    chosen (`screen.backend`), as JSON Lines or CSV (`screen.records`).
    """

    def __init__(self, consultant: Consultant, input_name: str, mode: Mode | None = None):
        self.consultant = consultant
        self.name = input_name
        self.mode = mode or Mode()
        self.format: LineFormat = self.mode.line_format()
        self.screener: Any = None
        if self.mode.summary:
            from cramp_expert.screen.backend import Screener

            self.screener = Screener(consultant, self.mode.engine)

    def source(self, record: Record) -> dict[str, Any]:
        """The `source` of an output line."""
        where: dict[str, Any] = {"input": self.name, "record": record.number}
        if record.kind == "file":
            where["file"] = record.path
        elif record.kind == "fhir":
            where["file"], where["line"] = record.path, record.line
        else:
            where["line"] = record.line
        return where

    def patient(self, record: Record) -> Any:
        """The record's patient, read, validated and normalised (raises InputError)."""
        if record.problems:
            raise InputError(record.problems)
        consultant = self.consultant
        if record.kind == "file":
            return consultant.read_path(record.path)
        if record.kind == "fhir":
            from cramp_expert.fhir.read import facts_from_fhir

            name = f"{record.path}:{record.line}"
            return facts_from_fhir(json.loads(record.text), consultant.kb.knowledge, name)
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
        """One record's output line and what the summary counts of it (never raises)."""
        source = self.source(record)
        lines = self.format
        try:
            patient = self.patient(record)
            if self.screener is not None:
                result = self.screener.screen(patient, record.number)
                line = lines.result_line(source, result)
                causes = tuple([item["id"] for item in result["causes"]])
                red_flags = tuple([item["id"] for item in result["red_flags"]])
            else:
                consultation = self.consultant.consult_facts(patient)
                line = lines.consultation_line(source, consultation)
                causes = tuple([item.id for item in consultation.causes])
                red_flags = tuple([item.id for item in consultation.red_flags])
        except InputError as exc:
            return error_outcome(source, exc.problems, lines)
        except (MemoryError, RecursionError) as exc:
            problem = Problem(
                "E100",
                f"the record is too large to consult ({type(exc).__name__})",
                Location(self.name, record.line),
            )
            return error_outcome(source, [problem], lines)
        except Exception as exc:  # a bug (or an audit's disagreement): recorded, the run goes on
            if type(exc).__name__ == "AuditDisagreement":
                audit = {"codes": ["audit"], "problems": [str(exc)]}
                return Outcome(lines.error_line(source, audit), errors=("audit",))
            return internal_outcome(source, exc, lines)
        return Outcome(line, causes=causes, red_flags=red_flags)


def error_outcome(
    source: dict[str, Any], problems: Any, lines: LineFormat | None = None
) -> Outcome:
    """The error line of a record that cannot be consulted, with every problem."""
    rendered = [problem.render() for problem in problems]
    codes = list(dict.fromkeys(p.code for p in problems))
    error = {"codes": codes, "problems": rendered}
    line = lines.error_line(source, error) if lines else dumps({"source": source, "error": error})
    return Outcome(line, errors=tuple(codes))


def internal_outcome(
    source: dict[str, Any], exc: BaseException, lines: LineFormat | None = None
) -> Outcome:
    """The error line of a record that met a bug."""
    message = f"internal error: {type(exc).__name__}: {exc} (please report it)"
    error = {"codes": ["internal"], "internal": message}
    line = lines.error_line(source, error) if lines else dumps({"source": source, "error": error})
    return Outcome(line, errors=("internal",))


def dumps(value: Any) -> str:
    """One output line: compact JSON, text as UTF-8 (raises ValueError for unencodable text)."""
    line = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not line.isascii():
        line.encode("utf-8")  # an unpaired surrogate fails here, not when the line is written
    return line


__all__ = [
    "FAST_LINE",
    "Outcome",
    "RecordConsultant",
    "csv_document",
    "dumps",
    "error_outcome",
    "internal_outcome",
    "jsonl_document",
    "located_jsonl_document",
]
