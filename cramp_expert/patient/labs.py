"""Read lab values in any common unit and convert them to the analyte's default unit.

Accepted forms: `"1.4 mg/dL"`, a bare number in the default unit, or a mapping
`{value: 420, unit: U/L, uln: 200}`. A bare number is read in the default unit only when that
reading is plausible (knowledge/units.yaml); otherwise the unit is asked for. Nothing is guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cramp_expert.kb.knowledge import Analyte, Knowledge, UnitDef, normalise_unit
from cramp_expert.numbers import NumberForm, split_number
from cramp_expert.numbers import shown_number as number

MAX_LAB_VALUE = 1e7
"""No lab value in any accepted unit is larger (CK in U/L stays below a million)."""


class LabError(ValueError):
    """A lab value that cannot be read; the message says why and the hint what to write."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class LabReading:
    """One lab value as given and as normalised."""

    analyte: str
    input: str
    value: float
    unit: str
    given_value: float
    given_unit: str

    def show(self) -> str:
        """`1.4 mg/dL = 0.58 mmol/L`, or `3.1 mmol/L` when given in the default unit."""
        normalised = quantity(self.value, self.unit)
        if normalise_unit(self.given_unit) == normalise_unit(self.unit):
            return normalised
        return f"{quantity(self.given_value, self.given_unit)} = {normalised}"


UNIT_SHOWN = {"10^9/L": "x10^9/L", "ratio": ""}
"""Units as a clinician writes them: `1 x10^9/L`, and a ratio with no unit (`ABI 0.35`)."""


def quantity(value: float, unit: str) -> str:
    """`12,400 U/L`, `1 x10^9/L`, `0.35` (ratio)."""
    shown = UNIT_SHOWN.get(unit, unit)
    return f"{number(value)} {shown}".rstrip()


def find_unit(analyte: Analyte, text: str, knowledge: Knowledge) -> UnitDef | None:
    """Return the analyte's unit that `text` spells, or None."""
    folded = normalise_unit(text)
    canonical = knowledge.unit_aliases.get(folded)
    for unit in analyte.units:
        name = normalise_unit(unit.name)
        if folded == name or (canonical is not None and normalise_unit(canonical) == name):
            return unit
    return None


def _accepted(analyte: Analyte) -> str:
    """The units an analyte is accepted in, for a message (worked out only for one)."""
    return ", ".join(u.name for u in analyte.units)


def read_lab(analyte: Analyte, raw: Any, knowledge: Knowledge) -> LabReading:
    """Parse and convert one lab value; raise LabError with a hint on anything doubtful."""
    if isinstance(raw, bool) or raw is None:
        raise LabError(
            "must be a number with its unit", f"e.g. '{analyte.plausible[0]:g} {analyte.unit}'"
        )
    if isinstance(raw, int) and abs(raw) > MAX_LAB_VALUE:
        # Checked before float(), which raises on an integer of a few hundred digits.
        raise LabError(
            f"a {len(str(abs(raw)))}-digit number is not a value any lab reports",
            "check the number and its unit",
        )
    if isinstance(raw, int | float):
        number, unit_text, shown = float(raw), "", f"{raw:g}"
    elif isinstance(raw, str):
        try:
            split = split_number(raw)
        except NumberForm as exc:
            hint = f"write it as '<number> <unit>'; accepted units: {_accepted(analyte)}"
            raise LabError(str(exc), hint) from None
        if split is None:
            raise LabError(
                f"cannot read '{raw}' as a number with a unit",
                f"write it as '<number> <unit>'; accepted units: {_accepted(analyte)}",
            )
        number, unit_text, shown = float(split[0]), split[1], raw.strip()
    else:
        raise LabError("must be a number, a text like '3.4 mmol/L', or a mapping {value, unit}")
    if not math.isfinite(number) or abs(number) > MAX_LAB_VALUE:
        raise LabError(f"{shown} is not a value any lab reports", "check the number and its unit")
    if not unit_text:
        if not analyte.plausible[0] <= number <= analyte.plausible[1]:
            other = [
                u.name
                for u in analyte.units
                if u.name != analyte.unit and _plausible_in(analyte, u, number)
            ]
            hint = (
                f"give the unit: '{number:g} {other[0]}'?"
                if other
                else f"give the unit; accepted units: {_accepted(analyte)}"
            )
            raise LabError(f"a bare {number:g} is not plausible in {analyte.unit}", hint)
        unit = next(u for u in analyte.units if u.name == analyte.unit)
    else:
        found = find_unit(analyte, unit_text, knowledge)
        if found is None:
            # A unit of another analyte (U/L given for sodium) most likely means the value was
            # typed under the wrong name: say so rather than only that the unit is unknown.
            owners = [
                other.name
                for other in knowledge.analytes.values()
                if other.name != analyte.name and find_unit(other, unit_text, knowledge)
            ]
            if owners:
                named = ", ".join(owners[:3]) + (", ..." if len(owners) > 3 else "")
                raise LabError(
                    f"'{unit_text}' is a unit of {named}, not of {analyte.name}",
                    f"is the value under the right name? accepted units: {_accepted(analyte)}",
                )
            raise LabError(
                f"unknown unit '{unit_text}' for {analyte.name}",
                f"accepted units: {_accepted(analyte)}",
            )
        unit = found
    value = number
    if unit.factor != 1 or unit.offset != 0:
        # Round a converted value to the precision the default unit is reported in, so that a
        # value at a threshold in one unit is at the same threshold in the other (1.70 mg/dL of
        # magnesium is 0.70 mmol/L, not 0.6995). A value given in the default unit is kept.
        exact = Decimal(repr((number - unit.offset) * unit.factor))
        value = float(exact.quantize(Decimal(1).scaleb(-analyte.decimals), rounding=ROUND_HALF_UP))
    return LabReading(analyte.name, shown, value, analyte.unit, number, unit.name)


def _plausible_in(analyte: Analyte, unit: UnitDef, number: float) -> bool:
    value = (number - unit.offset) * unit.factor
    return analyte.plausible[0] <= value <= analyte.plausible[1]
