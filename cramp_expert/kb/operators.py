"""What each operator of the rule language means: one table that every evaluator reads.

A fact condition is `{fact: <id>, <op>: <operand>}`. Each operator is declared once here, with
every part of its meaning the system needs:

- `test`: the two-valued meaning, a total predicate on a KNOWN value (it answers False, never
  raises, on a value of the wrong type: experta runs it on whatever the field holds);
- `absent`: its truth when the fact is unknown and will stay so. With `test`, that is the
  reference semantics (`holds`), the engine's (compile/to_experta.py wraps `test` in experta's
  `P(...)`, or tests the field's presence where `presence` is set) and the screening back end's.
  The three-valued meaning follows from the two, the same for every operator: a test of a fact
  that is still open is undetermined (`truth`, reasoning/partial.py);
- `satisfy` / `falsify`: the values of the fact that make the test hold / fail, nearest to the
  current value first (why-not's smallest change); `symbol`: how its threshold reads in the
  patient's own unit, None where it has no numeric threshold;
- `interval`, `choices`, `meets`, `within`: the set of values it accepts, as the verifier reads
  it to prove one condition implies, or rules out, another (verify/implication.py);
- `edges`: the numbers it compares a value with (the thresholds candidate values straddle);
- `operand`: what its operand is in a rule file (loader, JSON schema); `types`: the fact types
  it fits; `text`: how a condition reads to a clinician.

Every part is a required field, so an operator declared without one fails at import, and
`tests/unit/test_operators.py` holds each consumer to every operator of the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import partial
from operator import is_
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from cramp_expert.kb.knowledge import FactDef

Predicate: TypeAlias = Callable[[Any], bool]
"""A total test of one known value."""
Interval: TypeAlias = tuple[float, bool, float, bool]
"""`(low, low_closed, high, high_closed)`: the numbers a test accepts."""
Values: TypeAlias = Callable[[Any, Any, "FactDef", float], list[Any]]
"""(operand, current value or None, the fact, the smallest step worth speaking of) -> values."""


@dataclass(frozen=True)
class Operator:
    """One operator: its meaning for every part of the system (see the module's docstring)."""

    name: str
    text: str
    """How a condition reads: `labs.potassium < 3.5`, `sex is one of [...]`."""
    types: tuple[str, ...]
    """The fact types it may test."""
    operand: str
    """`flag` (yes/no), `number`, `pair` (two numbers), `value` (of the fact's own type),
    `members` (values of a choice, kept in order) or `set` (values of a list)."""
    test: Callable[[Any], Predicate]
    """Operand -> the two-valued test of a known value."""
    absent: Callable[[Any], bool]
    """Operand -> the test's truth when the fact is unknown (and stays so)."""
    presence: bool
    """The test is of whether the fact is known at all (experta: a wildcard pattern, negated
    when the operand is false) rather than of its value (experta: `P(test)`)."""
    satisfy: Values
    falsify: Values
    symbol: str | None
    """The comparison as it reads beside a threshold in another unit (`<`), or None."""
    edges: Callable[[Any], tuple[float, ...]]
    """Operand -> the numbers it compares a value with."""
    interval: Callable[[Any], Interval | None]
    """Operand -> the numbers it accepts as one interval, or None (not a number test)."""
    choices: Callable[[Any], frozenset[Any] | None]
    """Operand -> the single values it accepts (yes/no, choices), or None."""
    meets: Callable[[Any], frozenset[str] | None]
    """Operand -> a list value is accepted when it shares an item with this set, or None."""
    within: Callable[[Any], frozenset[str] | None]
    """Operand -> a list value is accepted when it is not empty and inside this set, or None."""


# --- the values a test reads ------------------------------------------------------------------


def is_number(value: Any) -> bool:
    """An int or float that is not a yes/no (True is no number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_collection(value: Any) -> bool:
    return isinstance(value, Collection) and not isinstance(value, str | bytes | Mapping)


def _none(_: Any) -> None:
    return None


def _no_edges(_: Any) -> tuple[float, ...]:
    return ()


def _never(_: Any) -> bool:
    return False


def _always(value: Any) -> bool:
    return True


def _nothing(_: Any, __: Any, ___: FactDef, ____: float) -> list[Any]:
    return []


# --- comparisons of a number with a threshold -------------------------------------------------
# Each test checks the value's exact type first: the values the normaliser makes are plain ints
# and floats, and `type(v) is float` is a fraction of the cost of the general isinstance tests
# that follow for anything else (a subclass, a yes/no, a text). A comparison of two such numbers is
# a bool already (no `bool(...)` around it: a call less per test).


def _lt(ref: float) -> Predicate:
    def lt(value: Any) -> bool:
        kind = type(value)
        if kind is float or kind is int:
            held: bool = value < ref
            return held
        return is_number(value) and value < ref

    return lt


def _le(ref: float) -> Predicate:
    def le(value: Any) -> bool:
        kind = type(value)
        if kind is float or kind is int:
            held: bool = value <= ref
            return held
        return is_number(value) and value <= ref

    return le


def _gt(ref: float) -> Predicate:
    def gt(value: Any) -> bool:
        kind = type(value)
        if kind is float or kind is int:
            held: bool = value > ref
            return held
        return is_number(value) and value > ref

    return gt


def _ge(ref: float) -> Predicate:
    def ge(value: Any) -> bool:
        kind = type(value)
        if kind is float or kind is int:
            held: bool = value >= ref
            return held
        return is_number(value) and value >= ref

    return ge


def _between(ref: tuple[float, float]) -> Predicate:
    low, high = ref

    def between(value: Any) -> bool:
        kind = type(value)
        if kind is float or kind is int:
            held: bool = low <= value <= high
            return held
        return is_number(value) and low <= value <= high

    return between


def _threshold(ref: float) -> tuple[float, ...]:
    return (float(ref),)


def _pair(ref: tuple[float, float]) -> tuple[float, ...]:
    return (float(ref[0]), float(ref[1]))


def _below(closed: bool) -> Callable[[Any], Interval]:
    return lambda ref: (-math.inf, False, float(ref), closed)


def _above(closed: bool) -> Callable[[Any], Interval]:
    return lambda ref: (float(ref), closed, math.inf, False)


def _just_below(ref: float, current: Any, fact: FactDef, step: float) -> list[Any]:
    return [round(ref - step, 6)]


def _just_above(ref: float, current: Any, fact: FactDef, step: float) -> list[Any]:
    return [round(ref + step, 6)]


def _at(ref: float, current: Any, fact: FactDef, step: float) -> list[Any]:
    return [ref]


def _between_satisfy(
    ref: tuple[float, float], current: Any, fact: FactDef, step: float
) -> list[Any]:
    low, high = ref
    if is_number(current) and current > high:
        return [high, low]
    return [low, high]


def _between_falsify(
    ref: tuple[float, float], current: Any, fact: FactDef, step: float
) -> list[Any]:
    low, high = ref
    return [round(low - step, 6), round(high + step, 6)]


# --- `is`: one value of a yes/no, number or choice fact ---------------------------------------


def _is(ref: Any) -> Predicate:
    if isinstance(ref, bool):
        # `ref is value`: only the bool itself (1 is not true). A C callable, no Python frame:
        # yes/no tests are the most frequent of all (the engine, robustness and the trace).
        return partial(is_, ref)
    if isinstance(ref, float):

        def is_number_equal(value: Any) -> bool:
            return is_number(value) and float(value) == ref

        return is_number_equal

    def is_text(value: Any) -> bool:
        return isinstance(value, str) and value == ref

    return is_text


def _is_falsify(ref: Any, current: Any, fact: FactDef, step: float) -> list[Any]:
    if fact.type == "bool":
        return [not ref]
    if fact.type == "choice":
        return [v for v in fact.values if v != ref]
    return [ref + step, ref - step]


def _is_edges(ref: Any) -> tuple[float, ...]:
    return (float(ref),) if is_number(ref) else ()


def _is_interval(ref: Any) -> Interval | None:
    return (float(ref), True, float(ref), True) if isinstance(ref, float) else None


def _is_choices(ref: Any) -> frozenset[Any] | None:
    return None if isinstance(ref, float) else frozenset((ref,))


# --- `in`: one of several values of a choice fact ---------------------------------------------


def _in(ref: tuple[str, ...]) -> Predicate:
    def one_of(value: Any) -> bool:
        return isinstance(value, str) and value in ref

    return one_of


def _in_satisfy(ref: tuple[str, ...], current: Any, fact: FactDef, step: float) -> list[Any]:
    return list(ref)


def _in_falsify(ref: tuple[str, ...], current: Any, fact: FactDef, step: float) -> list[Any]:
    return [v for v in fact.values if v not in set(ref)]


# --- `includes` / `only`: a list fact's items -------------------------------------------------


def _includes(ref: frozenset[str]) -> Predicate:
    def includes(value: Any) -> bool:
        if type(value) is frozenset:
            return not ref.isdisjoint(value)
        return _is_collection(value) and any(item in ref for item in value)

    return includes


def _only(ref: frozenset[str]) -> Predicate:
    def only(value: Any) -> bool:
        return _is_collection(value) and len(value) > 0 and all(item in ref for item in value)

    return only


def _current_items(current: Any) -> frozenset[str]:
    return current if isinstance(current, frozenset) else frozenset()


def _includes_satisfy(ref: frozenset[str], current: Any, fact: FactDef, step: float) -> list[Any]:
    return [_current_items(current) | {item} for item in sorted(ref)]


def _includes_falsify(ref: frozenset[str], current: Any, fact: FactDef, step: float) -> list[Any]:
    return [_current_items(current) - ref]


def _only_satisfy(ref: frozenset[str], current: Any, fact: FactDef, step: float) -> list[Any]:
    return [frozenset({item}) for item in sorted(ref)]


def _only_falsify(ref: frozenset[str], current: Any, fact: FactDef, step: float) -> list[Any]:
    return [_current_items(current) | {v} for v in fact.values if v not in ref][:1]


def _items(ref: frozenset[str]) -> frozenset[str]:
    return frozenset(ref)


# --- `known`: whether the fact is known at all ------------------------------------------------


def _known(ref: bool) -> Predicate:
    # A known value: `known: true` holds, `known: false` does not, whatever the value.
    return _always if ref else _never


def _unknown_holds(ref: bool) -> bool:
    return not ref


def any_value(fact: FactDef) -> list[Any]:
    """A value of the fact, any (what makes `known: true` hold)."""
    if fact.type == "bool":
        return [True, False]
    if fact.type == "choice":
        return list(fact.values[:1])
    if fact.type == "list":
        return [frozenset(fact.values[:1])]
    low, high = fact.range or (0.0, 1.0)
    return [round((low + high) / 2, 2)]


def _known_satisfy(ref: bool, current: Any, fact: FactDef, step: float) -> list[Any]:
    return any_value(fact) if ref else []  # a fact cannot be made unknown


_NUMBER = dict(
    types=("number",),
    operand="number",
    absent=_never,
    presence=False,
    edges=_threshold,
    choices=_none,
    meets=_none,
    within=_none,
)

TABLE: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator(
            name="is",
            text="is",
            types=("number", "bool", "choice"),
            operand="value",
            test=_is,
            absent=_never,
            presence=False,
            satisfy=_at,
            falsify=_is_falsify,
            symbol="=",
            edges=_is_edges,
            interval=_is_interval,
            choices=_is_choices,
            meets=_none,
            within=_none,
        ),
        Operator(
            name="in",
            text="is one of",
            types=("choice",),
            operand="members",
            test=_in,
            absent=_never,
            presence=False,
            satisfy=_in_satisfy,
            falsify=_in_falsify,
            symbol=None,
            edges=_no_edges,
            interval=_none,
            choices=frozenset,
            meets=_none,
            within=_none,
        ),
        Operator(
            name="lt",
            text="<",
            test=_lt,
            satisfy=_just_below,
            falsify=_at,
            symbol="<",
            interval=_below(False),
            **_NUMBER,  # type: ignore[arg-type]
        ),
        Operator(
            name="le",
            text="<=",
            test=_le,
            satisfy=_at,
            falsify=_just_above,
            symbol="<=",
            interval=_below(True),
            **_NUMBER,  # type: ignore[arg-type]
        ),
        Operator(
            name="gt",
            text=">",
            test=_gt,
            satisfy=_just_above,
            falsify=_at,
            symbol=">",
            interval=_above(False),
            **_NUMBER,  # type: ignore[arg-type]
        ),
        Operator(
            name="ge",
            text=">=",
            test=_ge,
            satisfy=_at,
            falsify=_just_below,
            symbol=">=",
            interval=_above(True),
            **_NUMBER,  # type: ignore[arg-type]
        ),
        Operator(
            name="between",
            text="is between",
            types=("number",),
            operand="pair",
            test=_between,
            absent=_never,
            presence=False,
            satisfy=_between_satisfy,
            falsify=_between_falsify,
            symbol="between",
            edges=_pair,
            interval=lambda ref: (float(ref[0]), True, float(ref[1]), True),
            choices=_none,
            meets=_none,
            within=_none,
        ),
        Operator(
            name="includes",
            text="includes any of",
            types=("list",),
            operand="set",
            test=_includes,
            absent=_never,
            presence=False,
            satisfy=_includes_satisfy,
            falsify=_includes_falsify,
            symbol=None,
            edges=_no_edges,
            interval=_none,
            choices=_none,
            meets=_items,
            within=_none,
        ),
        Operator(
            name="only",
            text="includes only",
            types=("list",),
            operand="set",
            test=_only,
            absent=_never,
            presence=False,
            satisfy=_only_satisfy,
            falsify=_only_falsify,
            symbol=None,
            edges=_no_edges,
            interval=_none,
            choices=_none,
            meets=_none,
            within=_items,
        ),
        Operator(
            name="known",
            text="is known",
            types=("number", "bool", "choice", "list"),
            operand="flag",
            test=_known,
            absent=_unknown_holds,
            presence=True,
            satisfy=_known_satisfy,
            falsify=_nothing,  # a known fact cannot become unknown
            symbol=None,
            edges=_no_edges,
            interval=_none,
            choices=_none,
            meets=_none,
            within=_none,
        ),
    )
}
"""Every operator of the rule language, by name."""

FACT_TYPES = ("number", "bool", "choice", "list")

EVERY_NUMBER: Interval = (-math.inf, False, math.inf, False)


def intersect(a: Interval, b: Interval) -> Interval:
    """The numbers both intervals accept (possibly none: see `is_empty`)."""
    if a[0] != b[0]:
        low, low_closed = (a[0], a[1]) if a[0] > b[0] else (b[0], b[1])
    else:
        low, low_closed = a[0], a[1] and b[1]
    if a[2] != b[2]:
        high, high_closed = (a[2], a[3]) if a[2] < b[2] else (b[2], b[3])
    else:
        high, high_closed = a[2], a[3] and b[3]
    return (low, low_closed, high, high_closed)


def is_empty(interval: Interval) -> bool:
    """Whether no number lies in the interval."""
    low, low_closed, high, high_closed = interval
    return not (low < high or (low == high and low_closed and high_closed))


def within(inner: Interval, outer: Interval) -> bool:
    """Whether every number of `inner` lies in `outer`."""
    low, low_closed, high, high_closed = inner
    o_low, o_low_closed, o_high, o_high_closed = outer
    low_ok = low > o_low or (low == o_low and (o_low_closed or not low_closed))
    high_ok = high < o_high or (high == o_high and (o_high_closed or not high_closed))
    return low_ok and high_ok


def operator(name: str) -> Operator:
    """The operator called `name` (the loader lets no other name through)."""
    return TABLE[name]


__all__ = [
    "EVERY_NUMBER",
    "FACT_TYPES",
    "TABLE",
    "Interval",
    "Operator",
    "Predicate",
    "any_value",
    "intersect",
    "is_empty",
    "is_number",
    "operator",
    "within",
]
