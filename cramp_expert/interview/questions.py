"""The interview's questions, built from knowledge/, and how a typed answer is read.

One question per entry a patient file can give (`knowledge/facts.yaml` facts that are not
derived, then the medication and problem lists), plus, once the medication list is known, one
follow-up per medicine asking when it was started. A question knows its text, help, unit and
allowed values from the knowledge files, and the words a clinician may type for a value from
knowledge/interview.yaml. Reading an answer turns natural text (`yes`, `n`, `calves`, `5 min`,
`2 years`, `woman`) into the value a patient file would hold; the patient-file validator then
checks it like any file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cramp_expert.errors import did_you_mean
from cramp_expert.kb.interview import Refusal
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.numbers import MAX_VALUE_TEXT, NumberForm, split_number
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS, input_ids

YES = ("yes", "y", "true", "t", "present", "yes present")
NO = ("no", "n", "false", "none", "nil", "absent", "not present")
UNKNOWN_ANSWERS = ("", "unknown", "u", "?", "not known", "dont know", "don't know", "n/k", "nk")
"""Answers that leave the entry unknown (never false)."""
MAX_ANSWER = 2000
"""Longest answer read (a pasted letter is refused, not parsed)."""
_ULN = re.compile(r"^(.*?)[,;\s]*\buln\b\s*[:=]?\s*([-+]?\d+(?:\.\d+)?)\s*$", re.IGNORECASE)

_DAY = 1.0
TIME_UNITS: dict[str, float] = {}
"""Spelling of a time unit -> its length in days."""
for _names, _days in (
    (("s", "sec", "secs", "second", "seconds"), 1 / 86400),
    (("min", "mins", "minute", "minutes", "mn"), 1 / 1440),
    (("h", "hr", "hrs", "hour", "hours"), 1 / 24),
    (("d", "day", "days"), _DAY),
    (("w", "wk", "wks", "week", "weeks"), 7.0),
    (("mo", "mth", "mths", "month", "months"), 365.25 / 12),
    (("y", "yr", "yrs", "year", "years", "yo", "years old", "y/o"), 365.25),
):
    for _name in _names:
        TIME_UNITS[_name] = _days
_RATE = re.compile(
    r"\s*(?:(?:a|per|each|every|/)\s*(?:day|d|night|week|wk|w)|daily|nightly|weekly)\s*$"
)
_VOLUME = {"l": 1.0, "litre": 1.0, "litres": 1.0, "liter": 1.0, "liters": 1.0, "ml": 0.001}


class AnswerError(ValueError):
    """An answer that cannot be read; the message says why and what to type."""


@dataclass(frozen=True)
class Question:
    """One entry of the patient file: its key, text and how its answer is read."""

    key: str
    """A fact id, `medications`, `conditions`, or `medications.<n>.started_months_ago`."""
    text: str
    kind: str
    """number, bool, choice, list, lab, medications, conditions or started."""
    unit: str = ""
    values: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    help: str = ""
    entry: int | None = None
    """For a follow-up: the index of the medicine in the medication list."""
    words: Mapping[str, Any] = field(default_factory=dict)
    """Typed word (lower case) -> the value it stands for (None: known, nothing written)."""
    refusals: tuple[Refusal, ...] = ()
    label: str = ""
    """A short name for read-backs (the fact's label)."""

    @property
    def is_lab(self) -> bool:
        """Labs are asked on the labs line."""
        return self.kind == "lab"

    def hint(self) -> str:
        """What may be typed, briefly: `yes/no`, `left/right/both`, `minutes`."""
        if self.kind == "bool":
            return "yes/no"
        if self.kind == "choice":
            return "/".join(self.values)
        if self.kind == "list":
            return ", ".join(self.values) + "; one or more"
        if self.kind in (MEDICATIONS, CONDITIONS):
            return "separate with ';', or 'none'"
        if self.kind == "started":
            return "e.g. '6 months' or '2 years'"
        if self.unit and self.unit.lower() not in self.text.lower():
            return self.unit
        return ""

    def prompt(self) -> str:
        """`Serum potassium (mmol/L) [labs.potassium]: `."""
        hint = self.hint()
        return f"{self.text}{f' ({hint})' if hint else ''} [{self.key}]: "

    def example(self) -> str:
        """A valid answer, for a refusal's message."""
        if self.kind == "bool":
            return "yes"
        if self.kind in ("choice", "list"):
            return self.values[0] if self.values else "unknown"
        if self.kind == "lab":
            return self.values[0] if self.values else "3.4"
        if self.kind in (MEDICATIONS, CONDITIONS):
            return "furosemide 40 mg; omeprazole 20 mg" if self.kind == MEDICATIONS else "CKD 4"
        if self.kind == "started":
            return "6 months"
        if self.range:
            middle = (self.range[0] + self.range[1]) / 2
            if self.unit in ("minutes",):
                return "5 min"
            if self.unit == "months":
                return "2 years"
            return f"{min(max(round(middle), self.range[0]), self.range[1]):g} {self.unit}".strip()
        return "3"

    def describe_help(self) -> str:
        """The help shown on `help`: what the question means and what may be typed."""
        lines = [self.help] if self.help else []
        if self.kind == "bool":
            lines.append("Answer yes/y or no/n; Enter or 'unknown' if not assessed (never no).")
        elif self.kind in ("number", "started") and self.range:
            lines.append(
                f"A number from {self.range[0]:g} to {self.range[1]:g} {self.unit}"
                + (
                    ", or with a time unit ('5 min', '30 s', '2 years')"
                    if _is_time(self.unit)
                    else ""
                )
                + "."
            )
        elif self.kind == "lab":
            lines.append(
                f"A value with its unit, e.g. {' or '.join(repr(v) for v in self.values)}; a bare "
                f"number is read in {self.unit} when that is plausible (otherwise the unit is "
                "asked for)."
            )
        elif self.kind in ("choice", "list"):
            lines.append("Allowed: " + ", ".join(self.values) + ".")
        if self.words:
            shown = ", ".join(
                f"{word} ({value if value is not None else 'nothing'})"
                for word, value in list(self.words.items())[:8]
            )
            lines.append(f"Also understood: {shown}.")
        return " ".join(lines)

    def read(self, answer: str) -> Any:
        """The value a patient file would hold for this answer (None: nothing to write).

        Raises AnswerError with the reason and an example when the answer cannot be read.
        """
        if len(answer) > MAX_ANSWER:  # before any pattern runs
            raise AnswerError(f"an answer of {len(answer)} characters is too long")
        text = " ".join(answer.split())
        lowered = text.lower()
        if lowered in self.words and self.kind != "list":
            return self.words[lowered]
        if self.kind == "bool":
            if lowered in YES:
                return True
            if lowered in NO:
                return False
            raise AnswerError(f"'{text}' is not yes or no; e.g. 'yes', 'n'")
        if self.kind in ("number", "started"):
            value = read_number(text, self.unit)
            self._check_range(value)
            for refusal in self.refusals:
                if refusal.refuses(value):
                    raise AnswerError(refusal.message)
            return value
        if self.kind == "choice":
            return self._choice(lowered, text)
        if self.kind == "list":
            parts = [p for p in re.split(r"[,;/+&\s]+|\band\b", lowered) if p and p != "and"]
            if not parts:
                raise AnswerError(f"name one or more of {', '.join(self.values)}")
            return sorted(dict.fromkeys(self._choice(p, p) for p in parts))
        if self.kind == "lab":
            return read_lab_text(text)
        # A medication or problem list: ';' separates entries when present (a medicine's name
        # may hold a comma: "Seretide 250/25, 2 puffs bd"), otherwise ','.
        if lowered in ("none", "nil", "no", "n", "nothing"):
            return []
        separator = ";" if ";" in text else ","
        return [p.strip() for p in text.split(separator) if p.strip()]

    def _check_range(self, value: float) -> None:
        if self.range and not self.range[0] <= value <= self.range[1]:
            raise AnswerError(
                f"{value:g} is outside {self.range[0]:g}-{self.range[1]:g} {self.unit}; "
                f"e.g. '{self.example()}'"
            )

    def _choice(self, lowered: str, text: str) -> str:
        if lowered in self.words and self.words[lowered] is not None:
            return str(self.words[lowered])
        if lowered in self.values:
            return lowered
        singular = _singular(lowered)
        for candidate in singular:
            if candidate in self.words and self.words[candidate] is not None:
                return str(self.words[candidate])
            if candidate in self.values:
                return candidate
        starts = [v for v in self.values if v.startswith(lowered)] if lowered else []
        if len(starts) == 1:
            return starts[0]
        hint = did_you_mean(lowered, [*self.values, *self.words])
        raise AnswerError(
            f"'{text}' is not one of {', '.join(self.values)}"
            + (f"; {hint}" if hint else f"; e.g. '{self.example()}'")
        )


def _singular(word: str) -> list[str]:
    """Singular forms a plural may stand for: calves -> calf, thighs -> thigh, feet -> foot."""
    out = []
    if word.endswith("ves"):
        out.append(word[:-3] + "f")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s"):
        out.append(word[:-1])
    return out


def _is_time(unit: str) -> bool:
    return unit.lower() in TIME_UNITS and unit.lower() not in ("s", "d", "w", "y", "h")


def read_number(text: str, unit: str) -> float | int:
    """A number, with the fact's unit or another that converts to it (`5 min`, `2 years`)."""
    split = _split(text)
    if not split:
        raise AnswerError(
            f"'{text}' is not a number{f' of {unit}' if unit else ''}; e.g. "
            f"'{_number_example(unit)}'"
        )
    number = float(split[0])
    said = split[1].strip().lower()
    base = unit.lower()
    # "3 nights a week", "1.5 L/day", "10 units per week": the rate is the fact's own.
    rate_free = _RATE.sub("", said).strip() if _RATE.search(said) else said
    if rate_free and rate_free not in _unit_words(base):
        if _is_time(base) and rate_free in TIME_UNITS:
            number = number * TIME_UNITS[rate_free] / TIME_UNITS[base]
            number = round(number, 2)
        elif base.startswith("l/") and rate_free in _VOLUME:
            number = round(number * _VOLUME[rate_free], 3)
        else:
            raise AnswerError(
                f"'{said}' is not a unit of {unit or 'this number'}; e.g. '{_number_example(unit)}'"
            )
    return int(number) if number.is_integer() else number


def _number_example(unit: str) -> str:
    if unit == "minutes":
        return "5 min"
    if unit == "months":
        return "2 years"
    if unit == "years":
        return "72"
    return f"3 {unit}".strip()


def _unit_words(unit: str) -> set[str]:
    """Unit words an answer may repeat after a number: `71 years`, `3 nights`, `1.5 L`."""
    if not unit:
        return set()
    words = {unit, unit.rstrip("s"), unit + "s"}
    head = unit.split("/")[0]
    words |= {head, head.rstrip("s"), head + "s"}
    if unit in TIME_UNITS:
        words |= {name for name, days in TIME_UNITS.items() if days == TIME_UNITS[unit]}
    return words


def _split(text: str) -> tuple[str, str] | None:
    """The number an answer starts with and the rest (linear; `070`, `1:30` refused)."""
    try:
        return split_number(text)
    except NumberForm as exc:
        raise AnswerError(str(exc)) from None


def read_lab_text(text: str) -> Any:
    """`3.4`, `1.4 mg/dL`, or for CK `420 U/L uln 200` (the lab's upper limit)."""
    if len(text) > MAX_VALUE_TEXT:  # before any pattern: none runs on a megabyte of spaces
        raise AnswerError(f"the answer is {len(text)} characters long; at most {MAX_VALUE_TEXT}")
    uln = _ULN.match(text)
    if uln:
        value = _split(uln.group(1))
        if not value:
            raise AnswerError("type the value, then 'uln' and the lab's upper limit")
        entry: dict[str, Any] = {"value": float(value[0]), "uln": float(uln.group(2))}
        if value[1].strip():
            entry["unit"] = value[1].strip()
        return entry
    if not _split(text):
        raise AnswerError(f"'{text}' is not a number with an optional unit; e.g. '1.4 mg/dL'")
    return text


def questions(
    knowledge: Knowledge, thresholds: Mapping[str, list[float]] | None = None
) -> list[Question]:
    """Every question the interview may ask, in the patient file's order.

    `thresholds` (fact id -> values the rules compare it with) pick a telling example value for
    each lab's help.
    """
    thresholds = thresholds or {}
    plan = knowledge.interview
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
                    label="medicines",
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
                    label="conditions",
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
                    label=fact.label,
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
                words=dict(plan.words.get(key, {})),
                refusals=tuple(plan.refuse.get(key, ())),
                label=fact.label,
            )
        )
    return out


def started_question(index: int, name: str) -> Question:
    """The follow-up asking when one listed medicine was started."""
    return Question(
        f"{MEDICATIONS}.{index}.started_months_ago",
        f"How long ago was '{name}' started?",
        "started",
        unit="months",
        range=(0, 1200),
        help="A recent start (within about a year) can date the cramps to the medicine.",
        entry=index,
        label=name,
    )


__all__ = [
    "UNKNOWN_ANSWERS",
    "AnswerError",
    "Question",
    "questions",
    "read_lab_text",
    "read_number",
    "started_question",
]
