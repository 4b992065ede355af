"""The interview's questions, built from knowledge/, and how a typed answer is read.

One question per entry a patient file can give (`knowledge/facts.yaml` facts that are not
derived, then the medication and problem lists), plus, once the medication list is known, one
follow-up per medicine asking when it was started. A question knows its text, help, unit and
allowed values from the knowledge files; reading an answer only turns text into the value a
patient file would hold, and the patient-file validator then checks it like any file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cramp_expert.errors import did_you_mean
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.numbers import MAX_VALUE_TEXT, NumberForm, split_number
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS, input_ids

YES = ("yes", "y", "true", "t")
NO = ("no", "n", "false", "f")
UNKNOWN_ANSWERS = ("", "unknown", "u", "not known", "dont know", "don't know")
"""Answers that leave the entry unknown (never false)."""
_ULN = re.compile(r"^(.*?)[,;\s]*\buln\b\s*[:=]?\s*([-+]?\d+(?:\.\d+)?)\s*$", re.IGNORECASE)


class AnswerError(ValueError):
    """An answer that cannot be read; the message says why and what to type."""


@dataclass(frozen=True)
class Question:
    """One question: the entry it fills, its text and how its answer is read."""

    key: str
    """What the prompt shows in brackets: a fact id, `medications`, `conditions`, or
    `medications.<n>.started_months_ago` for a follow-up."""
    text: str
    kind: str
    """number, bool, choice, list, lab, medications, conditions or started."""
    unit: str = ""
    values: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    help: str = ""
    entry: int | None = None
    """For a follow-up: the index of the medicine in the medication list."""

    @property
    def is_lab(self) -> bool:
        """Labs are asked after the history."""
        return self.kind == "lab"

    def prompt(self) -> str:
        """`Serum potassium (mmol/L) [labs.potassium]: `."""
        hint = self._hint()
        return f"{self.text}{f' ({hint})' if hint else ''} [{self.key}]: "

    def _hint(self) -> str:
        if self.kind == "bool":
            return "yes/no"
        if self.kind == "choice":
            return "/".join(self.values)
        if self.kind == "list":
            return ", ".join(self.values) + "; one or more"
        if self.kind in (MEDICATIONS, CONDITIONS):
            return "separate with ';', or 'none'"
        if self.unit and self.unit.lower() not in self.text.lower():
            return self.unit
        return ""

    def describe_help(self) -> str:
        """The help shown on `help`: what the question means and what may be typed."""
        lines = [self.help] if self.help else []
        if self.kind == "bool":
            lines.append(
                "Answer yes or no; Enter or 'unknown' if not assessed (never taken as no)."
            )
        elif self.kind == "number" and self.range:
            lines.append(f"A number from {self.range[0]:g} to {self.range[1]:g} {self.unit}.")
        elif self.kind == "lab":
            lines.append(
                f"A value with its unit, e.g. {' or '.join(repr(v) for v in self.values)}; a bare "
                f"number is read in {self.unit} when that is plausible (otherwise the unit is asked for)."
            )
        elif self.kind in ("choice", "list"):
            lines.append("Allowed: " + ", ".join(self.values) + ".")
        return " ".join(lines)

    def read(self, answer: str) -> Any:
        """The value a patient file would hold for this answer; AnswerError if unreadable."""
        text = answer.strip()
        if self.kind == "bool":
            if text.lower() in YES:
                return True
            if text.lower() in NO:
                return False
            raise AnswerError("answer yes or no")
        if self.kind in ("number", "started"):
            return _read_number(text, self.unit)
        if self.kind == "choice":
            return _read_choice(text, self.values)
        if self.kind == "list":
            parts = [p for p in re.split(r"[,;\s]+", text) if p]
            return list(dict.fromkeys(_read_choice(p, self.values) for p in parts))
        if self.kind == "lab":
            return _read_lab(text)
        # A medication or problem list: ';' separates entries when present (a medicine's name
        # may hold a comma: "Seretide 250/25, 2 puffs bd"), otherwise ','.
        if text.lower() in ("none", "nil", "no"):
            return []
        separator = ";" if ";" in text else ","
        return [p.strip() for p in text.split(separator) if p.strip()]


def _split(text: str) -> tuple[str, str] | None:
    """The number an answer starts with and the rest (linear; `070`, `1:30` refused)."""
    try:
        return split_number(text)
    except NumberForm as exc:
        raise AnswerError(str(exc)) from None


def _read_number(text: str, unit: str) -> float | int:
    split = _split(text)
    if not split or (split[1] and split[1].lower() not in _unit_words(unit)):
        raise AnswerError(f"type a number{f' in {unit}' if unit else ''}")
    number = float(split[0])
    return int(number) if number.is_integer() else number


def _unit_words(unit: str) -> set[str]:
    """Unit words an answer may repeat after a number: `71 years`, `3 nights`."""
    base = unit.lower()
    return {base, base.rstrip("s"), base + "s"} if base else set()


def _read_choice(text: str, values: tuple[str, ...]) -> str:
    lowered = text.lower()
    if lowered in values:
        return lowered
    starts = [v for v in values if v.startswith(lowered)] if lowered else []
    if len(starts) == 1:
        return starts[0]
    hint = did_you_mean(lowered, values)
    raise AnswerError(f"'{text}' is not one of {', '.join(values)}" + (f"; {hint}" if hint else ""))


def _read_lab(text: str) -> Any:
    """`3.4`, `1.4 mg/dL`, or for CK `420 U/L uln 200` (the lab's upper limit)."""
    if len(text) > MAX_VALUE_TEXT:  # before any pattern: none runs on a megabyte of spaces
        raise AnswerError(f"the answer is {len(text)} characters long; at most {MAX_VALUE_TEXT}")
    uln = _ULN.match(text)
    if uln:
        value = _split(uln.group(1))
        if not value:
            raise AnswerError("type the value, then 'uln' and the lab's upper limit")
        entry: dict[str, Any] = {"value": float(value[0]), "uln": float(uln.group(2))}
        if value[1]:
            entry["unit"] = value[1]
        return entry
    if not _split(text):
        raise AnswerError("type a number, optionally with its unit (e.g. '1.4 mg/dL')")
    return text


def questions(
    knowledge: Knowledge, thresholds: Mapping[str, list[float]] | None = None
) -> list[Question]:
    """Every question the interview may ask, in the patient file's order.

    `thresholds` (fact id -> values the rules compare it with) pick a telling example value for
    each lab's help.
    """
    thresholds = thresholds or {}
    out: list[Question] = []
    for key in input_ids(knowledge):
        if key == MEDICATIONS:
            out.append(
                Question(
                    MEDICATIONS,
                    "Regular medicines, as written on the chart",
                    MEDICATIONS,
                    help="Generic or brand names, doses allowed, e.g. 'Losec 20 mg od; "
                    "furosemide 40 mg'. Write 'stopped' after a medicine no longer taken. "
                    "The list is read as complete: a class not listed is taken as not used.",
                )
            )
            continue
        if key == CONDITIONS:
            out.append(
                Question(
                    CONDITIONS,
                    "Known conditions (problem list)",
                    CONDITIONS,
                    help="e.g. 'type 2 diabetes; CKD stage 4'. A condition not listed stays "
                    "unknown: problem lists are rarely complete.",
                )
            )
            continue
        fact = knowledge.facts[key]
        if key.startswith("labs."):
            analyte = knowledge.analytes[key.removeprefix("labs.")]
            edges = sorted(thresholds.get(key, ()))
            middle = edges[len(edges) // 2] if edges else analyte.plausible[0]
            # The same value in each accepted unit, so the example reads right in any of them.
            examples = tuple(
                f"{(middle / unit.factor) + unit.offset:.3g} {unit.name}"
                for unit in analyte.units
                if unit.name == analyte.unit or unit.factor != 1 or unit.offset != 0
            )
            out.append(
                Question(
                    key,
                    fact.question or fact.label,
                    "lab",
                    unit=analyte.unit,
                    values=examples,
                    help=(fact.help or "")
                    + f" Accepted units: {', '.join(u.name for u in analyte.units)}."
                    + (
                        " For CK, add the lab's limit: '420 U/L uln 170'."
                        if key == "labs.ck"
                        else ""
                    ),
                )
            )
            continue
        out.append(
            Question(
                key,
                fact.question or fact.label,
                fact.type,
                unit=fact.unit,
                values=fact.values,
                range=fact.range,
                help=fact.help,
            )
        )
    return out


def started_question(index: int, name: str) -> Question:
    """The follow-up asking when one listed medicine was started."""
    return Question(
        f"{MEDICATIONS}.{index}.started_months_ago",
        f"How many months ago was '{name}' started?",
        "started",
        unit="months",
        range=(0, 1200),
        help="A recent start (within about a year) can date the cramps to the medicine.",
        entry=index,
    )


__all__ = ["UNKNOWN_ANSWERS", "AnswerError", "Question", "questions", "started_question"]
