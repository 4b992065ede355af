"""Validators over `Document` data: types, known keys, allowed values; each failure is a Problem.

Shared by every reader of YAML data (knowledge files, rule files, patient files), so that the
same mistake gets the same message, location and hint wherever it is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cramp_expert.errors import ProblemCollector, allowed, closest, did_you_mean
from cramp_expert.problems import Shape
from cramp_expert.source import Document, KeyPath

if TYPE_CHECKING:
    from cramp_expert.kb.knowledge import FactDef


class Checker:
    """Validates parts of one document and collects problems located at the offending key.

    `shape` names the codes of the shared checks (wrong type, unknown key, missing key, value
    not allowed) for the kind of file being read (`problems.RULE_SHAPE`, ...).
    """

    def __init__(self, document: Document, problems: ProblemCollector, shape: Shape):
        self.document = document
        self.problems = problems
        self.shape = shape

    def fail(self, code: str, message: str, path: KeyPath, hint: str = "") -> None:
        """Record a problem with the registered `code` (`"R303"`) at `path`."""
        self.problems.add(code, message, self.document.location(path), hint)

    def mapping(self, value: Any, path: KeyPath, what: str) -> dict[str, Any] | None:
        """Return `value` if it is a mapping, else record a type problem."""
        if isinstance(value, dict):
            return value
        self.fail(self.shape.wrong_type, f"{what} must be a mapping, not {describe(value)}", path)
        return None

    def keys(
        self,
        value: dict[str, Any],
        path: KeyPath,
        known: Iterable[str],
        required: Iterable[str] = (),
        what: str = "key",
    ) -> None:
        """Report unknown keys (with the nearest valid one) and missing required keys."""
        known_set = set(known)
        misspelt: set[str] = set()
        for key in value:
            if key not in known_set:
                self.fail(
                    self.shape.unknown_key,
                    f"unknown {what} '{key}'",
                    (*path, key),
                    did_you_mean(key, known_set) or allowed(sorted(known_set)),
                )
                nearest = closest(key, known_set)
                if len(nearest) == 1:
                    misspelt.add(nearest[0])
        for key in required:
            # A misspelt required key is one mistake: its "did you mean" already names the fix.
            if key not in value and key not in misspelt:
                self.fail(self.shape.missing_key, f"missing required key '{key}'", path)

    def string(self, value: Any, path: KeyPath, what: str) -> str | None:
        """Return a non-empty string or record a problem."""
        if isinstance(value, str) and value.strip():
            return value
        self.fail(
            self.shape.wrong_type, f"{what} must be a non-empty text, not {describe(value)}", path
        )
        return None

    def number(
        self, value: Any, path: KeyPath, what: str, bounds: tuple[float, float] | None = None
    ) -> float | None:
        """Return a finite number (bools are not numbers) within `bounds`, or record a problem."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(
                self.shape.wrong_type, f"{what} must be a number, not {describe(value)}", path
            )
            return None
        try:
            number = float(value)
        except OverflowError:  # a Python int with hundreds of digits
            self.fail(self.shape.not_allowed, f"{what} is too large to be a value", path)
            return None
        if bounds is not None and not bounds[0] <= number <= bounds[1]:
            self.fail(
                self.shape.not_allowed,
                f"{what} {number:g} is out of range",
                path,
                f"allowed: {bounds[0]:g} to {bounds[1]:g}",
            )
            return None
        return number

    def pair(self, value: Any, path: KeyPath, what: str) -> tuple[float, float] | None:
        """Return `[low, high]` as a tuple of two numbers with low <= high, or record a problem."""
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            and value[0] <= value[1]
        ):
            try:
                return (float(value[0]), float(value[1]))
            except OverflowError:  # an integer of hundreds of digits (found by fuzzing)
                self.fail(
                    self.shape.not_allowed, f"{what} holds a number too large to be a value", path
                )
                return None
        self.fail(
            self.shape.wrong_type, f"{what} must be [low, high] (two numbers, low <= high)", path
        )
        return None

    def boolean(self, value: Any, path: KeyPath, what: str) -> bool | None:
        """Return a bool or record a problem."""
        if isinstance(value, bool):
            return value
        self.fail(
            self.shape.wrong_type, f"{what} must be true or false, not {describe(value)}", path
        )
        return None

    def choice(self, value: Any, path: KeyPath, what: str, values: Iterable[str]) -> str | None:
        """Return one of `values` or record a problem with the nearest."""
        options = list(values)
        if isinstance(value, str) and value in options:
            return value
        if isinstance(value, str):
            self.fail(
                self.shape.not_allowed,
                f"{what} '{value}' is not allowed",
                path,
                did_you_mean(value, options) or allowed(options),
            )
        else:
            self.fail(
                self.shape.wrong_type,
                f"{what} must be one of {', '.join(options)}, not {describe(value)}",
                path,
            )
        return None

    def string_list(self, value: Any, path: KeyPath, what: str) -> list[str] | None:
        """Return a list of strings (a lone string counts as a list of one) or record a problem."""
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.fail(
            self.shape.wrong_type, f"{what} must be a list of texts, not {describe(value)}", path
        )
        return None


def describe(value: Any) -> str:
    """Describe a value's type for an error message ("the text 'abc'", "a list")."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {float(value):g}" if abs(value) < 1e300 else "a very large number"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def coerce(fact: FactDef, raw: Any, check: Checker, path: KeyPath, what: str = "") -> Any:
    """Check one raw value against a fact definition; return the normalised value or None.

    Numbers come back as floats within the fact's range, yes/no facts as bools, choices as one
    allowed text, lists as a frozenset of allowed texts. Every failure is recorded on `check`.
    """
    what = what or fact.id
    if fact.type == "number":
        return check.number(raw, path, what, fact.range)
    if fact.type == "bool":
        return check.boolean(raw, path, what)
    if fact.type == "choice":
        return check.choice(raw, path, what, fact.values)
    items = check.string_list(raw, path, what)
    if items is None:
        return None
    bad = [v for v in items if v not in fact.values]
    for value in bad:
        check.fail(
            check.shape.not_allowed,
            f"{what}: '{value}' is not allowed",
            path,
            did_you_mean(value, fact.values) or allowed(fact.values),
        )
    return None if bad else frozenset(items)
