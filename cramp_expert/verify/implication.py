"""Whether one condition implies another, read off their structure (conservative, fast).

`implies(a, b)` is True only when every patient for whom `a` holds is seen, from the conditions
alone, to satisfy `b`: `b` is made of parts each implied by a part of `a` (`labs.potassium lt 3`
implies `lt 3.5`; `in [haemodialysis]` implies `in [haemodialysis, peritoneal]`; a `none` in `a`
implies the `none` in `b` of fewer of the same tests). False means "not shown", and the verifier
then searches for a patient instead. It proves in microseconds what a search would have to
exhaust: that a rule repeating another's conditions and adding some implies that other.

What values each operator accepts (an interval, single choices, list items) is read from its
entry in `kb.operators`.
"""

from __future__ import annotations

from cramp_expert.kb.model import Condition, ConditionGroup, FactCondition
from cramp_expert.kb.operators import Interval, intersect, is_empty, operator, within


def key(condition: Condition) -> str:
    """The condition's structure as text (locations aside): equal keys, equal conditions."""
    return condition.describe()


def conjuncts(condition: Condition) -> list[Condition]:
    """The parts of a condition that must all hold (nested `all`s opened)."""
    if isinstance(condition, ConditionGroup) and condition.kind == "all":
        return [part for item in condition.items for part in conjuncts(item)]
    return [condition]


def implies(a: Condition, b: Condition) -> bool:
    """True when `a` holding is seen to make `b` hold (False: not shown either way)."""
    if key(a) == key(b):
        return True
    if isinstance(a, ConditionGroup) and a.kind == "any":
        return all(implies(item, b) for item in a.items)
    if isinstance(b, ConditionGroup):
        if b.kind == "all":
            return all(implies(a, item) for item in b.items)
        if b.kind == "any" and any(implies(a, item) for item in b.items):
            return True
        if b.kind == "none":
            return all(_rules_out(a, item) for item in b.items)
    parts = conjuncts(a)
    if len(parts) > 1 or (parts and parts[0] is not a):
        return any(implies(part, b) for part in parts)
    if isinstance(a, FactCondition) and isinstance(b, FactCondition) and a.fact == b.fact:
        return _fact_implies(a, b)
    return False


def _rules_out(a: Condition, item: Condition) -> bool:
    """Whether `a` holding makes `item` fail: `a` requires `none` of it, or a value it excludes."""
    for part in conjuncts(a):
        if (
            isinstance(part, ConditionGroup)
            and part.kind == "none"
            and any(implies(item, inner) for inner in part.items)
        ):
            return True
        if (
            isinstance(part, FactCondition)
            and isinstance(item, FactCondition)
            and part.fact == item.fact
            and _disjoint(part, item)
        ):
            return True
    return False


def _interval(condition: FactCondition) -> Interval | None:
    """`(low, low_closed, high, high_closed)` of a number test, or None."""
    return operator(condition.op).interval(condition.value)


def _choices(condition: FactCondition) -> frozenset[object] | None:
    return operator(condition.op).choices(condition.value)


def _fact_implies(a: FactCondition, b: FactCondition) -> bool:
    op_a, op_b = operator(a.op), operator(b.op)
    if op_b.presence:
        # `a` makes the fact known unless it holds of an unknown fact (`known: false`).
        return bool(b.value) is not op_a.absent(a.value)
    if op_a.presence:
        return False
    interval_a, interval_b = _interval(a), _interval(b)
    if interval_a is not None and interval_b is not None:
        return within(interval_a, interval_b)
    choices_a, choices_b = _choices(a), _choices(b)
    if choices_a is not None and choices_b is not None:
        return choices_a <= choices_b
    meets_b, within_b = op_b.meets(b.value), op_b.within(b.value)
    # A list that meets A, or holds some items all within A, meets any B that contains A; a
    # list within A is within any B that contains A.
    meets_a, within_a = op_a.meets(a.value), op_a.within(a.value)
    accepted_a = meets_a if meets_a is not None else within_a
    if meets_b is not None and accepted_a is not None:
        return accepted_a <= meets_b
    if within_b is not None and within_a is not None:
        return within_a <= within_b
    return False


def _disjoint(a: FactCondition, b: FactCondition) -> bool:
    """Whether no value satisfies both tests of one fact."""
    op_a, op_b = operator(a.op), operator(b.op)
    if op_a.presence or op_b.presence:
        # Only "unknown" against a test of the value: "unknown" holds no other test.
        return (op_a.presence and op_a.absent(a.value) and not op_b.presence) or (
            op_b.presence and op_b.absent(b.value) and not op_a.presence
        )
    interval_a, interval_b = _interval(a), _interval(b)
    if interval_a is not None and interval_b is not None:
        return is_empty(intersect(interval_a, interval_b))
    choices_a, choices_b = _choices(a), _choices(b)
    if choices_a is not None and choices_b is not None:
        return not choices_a & choices_b
    return False


__all__ = ["conjuncts", "implies", "key"]
