"""How batch writes each record: the full result or the screening record, JSON Lines or CSV.

A `LineFormat` turns a record's source and result (or error) into one output line, and an output
line back into what the run's summary counts, so that `--resume` can recount a partial file:

- `full` (`batch --full`, the default): the contract result with `source`, as JSON Lines;
- `summary` (`batch --summary`): the screening record (`screen.summary`) with `source`, as JSON
  Lines, or as CSV when OUTPUT ends in `.csv` (`csv_header` first, then one row per record).

JSON is encoded with msgspec (several times faster than `json.dumps` on a full result; imported
here only, on batch's path), falling back to `json` for what msgspec refuses (a lone surrogate in
an input string). Both give compact JSON with non-ASCII characters as they are.

A full result's line is written from the typed result (`LineFormat.consultation_line`): the
parts results share (trace entries and their fact entries, references, dependences: most of a
line's bytes and of its containers) are encoded once per object, the JSON kept on the object
(immutable, like a `cached_property`) and spliced into every line that holds it
(`msgspec.Raw`). The line is byte for byte `result_line(source, result.to_dict())`: the same
encoder, and JSON has one compact text for a value wherever it sits.

CSV cells are written through `render.visible`: an input string's control characters and line
breaks appear as escapes, so every record is one physical line (which `--resume` relies on) and
a spreadsheet shows no control character from a patient file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cramp_expert.render import visible
from cramp_expert.result import Consultation, TraceEntry

CSV_COLUMNS = (
    "input",
    "record",
    "line",
    "file",
    "patient_id",
    "red_flags",
    "causes",
    "recommendations",
    "investigations",
    "warnings",
    "audited",
    "error_codes",
    "error",
)
"""The CSV's header. Lists are `;`-separated; a red flag is `id:urgency`, a cause `id:certainty`."""


def _json_encoder() -> Callable[[Any], str]:
    import msgspec

    encoder = msgspec.json.Encoder()

    def encode(value: Any) -> str:
        try:
            return encoder.encode(value).decode("utf-8")
        except (TypeError, ValueError):  # what msgspec refuses: json's answer, or its ValueError
            line = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            line.encode("utf-8")  # an unpaired surrogate fails here, not when written
            return line

    return encode


_ENCODED = "_encoded_json"
"""The instance attribute that keeps a shared part's encoded JSON (see the module's docstring)."""


def _shared_json() -> tuple[Callable[[Any], Any], Callable[[Any], bytes]]:
    """(the `shared` of `Consultation.to_dict` that gives a part's JSON, the encoder to use).

    A part's JSON is encoded once and kept in its instance dict, as `functools.cached_property`
    keeps a value (the parts are frozen dataclasses; their fields, equality and hash are
    untouched). msgspec refusing a part raises, and the line is then written the plain way.
    """
    import msgspec

    encode = msgspec.json.Encoder().encode
    raw = msgspec.Raw

    def shared(part: Any) -> Any:
        memo = part.__dict__
        found = memo.get(_ENCODED)
        if found is None:
            made = part.to_dict(shared) if type(part) is TraceEntry else part.to_dict()
            found = memo[_ENCODED] = raw(encode(made))
        return found

    return shared, encode


@dataclass(frozen=True)
class Counted:
    """What the run's summary counts of one output line."""

    causes: tuple[str, ...] = ()
    red_flags: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


class LineFormat:
    """One output line per record, as JSON Lines (the full result or the screening record)."""

    name = "jsonl"
    header: str | None = None
    """A first line before the records (CSV's header), or None."""

    def __init__(self) -> None:
        self.encode = _json_encoder()
        self._shared: tuple[Callable[[Any], Any], Callable[[Any], bytes]] | None = None

    def result_line(self, source: Mapping[str, Any], result: Mapping[str, Any]) -> str:
        """The line of a record consulted."""
        return self.encode({"source": source, **result})

    def consultation_line(self, source: Mapping[str, Any], result: Consultation) -> str:
        """`result_line(source, result.to_dict())`, byte for byte, the shared parts spliced in."""
        if self._shared is None:
            self._shared = _shared_json()
        shared, encode = self._shared
        try:
            return encode({"source": source, **result.to_dict(shared)}).decode("utf-8")
        except (TypeError, ValueError):  # what msgspec refuses: the plain way decides
            return self.result_line(source, result.to_dict())

    def error_line(self, source: Mapping[str, Any], error: Mapping[str, Any]) -> str:
        """The line of a record that could not be consulted (`error`: codes, problems)."""
        return self.encode({"source": source, "error": error})

    def source_of(self, line: str) -> Mapping[str, Any]:
        """The `source` of a line already written (raises ValueError if it is not one)."""
        entry = json.loads(line)
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), dict):
            raise ValueError("not an output line")
        return entry["source"]  # type: ignore[no-any-return]

    def counted(self, line: str) -> Counted:
        """What the summary counts of a line already written (a resumed run recounts)."""
        entry = json.loads(line)
        if "error" in entry:
            return Counted(errors=tuple(entry["error"].get("codes", ["error"])))
        return Counted(
            causes=tuple(item["id"] for item in entry.get("causes", [])),
            red_flags=tuple(item["id"] for item in entry.get("red_flags", [])),
        )


def _cell(items: list[str]) -> str:
    return ";".join(items)


class CsvFormat(LineFormat):
    """Screening records as CSV rows, one physical line each (see `CSV_COLUMNS`)."""

    name = "csv"
    header = ",".join(CSV_COLUMNS)

    def _row(self, cells: list[str]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow([visible(cell) for cell in cells])
        return out.getvalue()

    def _where(self, source: Mapping[str, Any]) -> list[str]:
        return [
            str(source["input"]),
            str(source["record"]),
            str(source.get("line", "")),
            str(source.get("file", "")),
        ]

    def result_line(self, source: Mapping[str, Any], result: Mapping[str, Any]) -> str:
        """The row of a record screened."""
        patient_id = result.get("patient_id")
        return self._row(
            [
                *self._where(source),
                "" if patient_id is None else str(patient_id),
                _cell([f"{f['id']}:{f['urgency']}" for f in result["red_flags"]]),
                _cell([f"{c['id']}:{c['certainty']}" for c in result["causes"]]),
                _cell(list(result["recommendations"])),
                _cell(list(result["investigations"])),
                _cell(list(result["warnings"])),
                "true" if result.get("audited") else "",
                "",
                "",
            ]
        )

    def error_line(self, source: Mapping[str, Any], error: Mapping[str, Any]) -> str:
        """The row of a record that could not be screened."""
        problems = error.get("problems") or [error.get("internal", "")]
        return self._row(
            [
                *self._where(source),
                *([""] * 7),
                _cell(list(error["codes"])),
                " | ".join(problems),
            ]
        )

    def _cells(self, line: str) -> dict[str, str]:
        row = next(csv.reader([line]))
        if len(row) != len(CSV_COLUMNS):
            raise ValueError("not an output row")
        return dict(zip(CSV_COLUMNS, row, strict=True))

    def source_of(self, line: str) -> Mapping[str, Any]:
        """The source of a row already written (raises ValueError if it is not one)."""
        cells = self._cells(line)
        return {"input": cells["input"], "record": int(cells["record"])}

    def counted(self, line: str) -> Counted:
        """What the summary counts of a row already written."""
        cells = self._cells(line)
        if cells["error_codes"]:
            return Counted(errors=tuple(cells["error_codes"].split(";")))

        def ids(cell: str) -> tuple[str, ...]:
            return tuple(item.rsplit(":", 1)[0] for item in cell.split(";") if item)

        return Counted(causes=ids(cells["causes"]), red_flags=ids(cells["red_flags"]))


@dataclass(frozen=True)
class Mode:
    """What a batch run writes per record (picklable: it goes to each worker)."""

    summary: bool = False
    """The screening record (`--summary`) instead of the full result (`--full`)."""
    engine: str = "experta"
    """`experta`, or `compiled` (screening only, audited against experta)."""
    csv: bool = False
    """Screening records as CSV rows instead of JSON Lines."""

    def line_format(self) -> LineFormat:
        """The format of this mode's lines."""
        return CsvFormat() if self.summary and self.csv else LineFormat()


__all__ = ["CSV_COLUMNS", "Counted", "CsvFormat", "LineFormat", "Mode"]
