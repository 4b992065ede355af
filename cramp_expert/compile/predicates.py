"""Fact conditions as total predicates, and a plain-Python evaluator of whole conditions.

experta runs a field test against every fact that has the field, so each predicate must accept
any value and answer False rather than raise. The same predicates back the experta patterns and
the reference evaluator used to explain which conditions held, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import Any

from cramp_expert.kb.model import ConcludedCondition, Condition, FactCondition

Predicate = Callable[[Any], bool]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_collection(value: Any) -> bool:
    return isinstance(value, Collection) and not isinstance(value, str | bytes | Mapping)


def _always(value: Any) -> bool:
    return True


def _is_bool(ref: bool, value: Any) -> bool:
    return isinstance(value, bool) and value is ref


def _is_number_equal(ref: float, value: Any) -> bool:
    return _is_number(value) and float(value) == ref


def _is_text(ref: str, value: Any) -> bool:
    return isinstance(value, str) and value == ref


def _in(ref: tuple[str, ...], value: Any) -> bool:
    return isinstance(value, str) and value in ref


def _lt(ref: float, value: Any) -> bool:
    return _is_number(value) and value < ref


def _le(ref: float, value: Any) -> bool:
    return _is_number(value) and value <= ref


def _gt(ref: float, value: Any) -> bool:
    return _is_number(value) and value > ref


def _ge(ref: float, value: Any) -> bool:
    return _is_number(value) and value >= ref


def _between(ref: tuple[float, float], value: Any) -> bool:
    return _is_number(value) and ref[0] <= value <= ref[1]


def _includes(ref: frozenset[str], value: Any) -> bool:
    return _is_collection(value) and any(item in ref for item in value)


def _only(ref: frozenset[str], value: Any) -> bool:
    return _is_collection(value) and len(value) > 0 and all(item in ref for item in value)


_BY_OPERATOR: dict[str, Callable[[Any, Any], bool]] = {
    "in": _in,
    "lt": _lt,
    "le": _le,
    "gt": _gt,
    "ge": _ge,
    "between": _between,
    "includes": _includes,
    "only": _only,
}


def predicate(condition: FactCondition) -> Predicate:
    """Return a total predicate implementing `condition` on one fact value."""
    op, ref = condition.op, condition.value
    if op == "known":
        return _always  # presence is tested by the pattern itself (a wildcard)
    if op == "is":
        if isinstance(ref, bool):
            return partial(_is_bool, ref)
        if isinstance(ref, float):
            return partial(_is_number_equal, ref)
        return partial(_is_text, ref)
    return partial(_BY_OPERATOR[op], ref)


def holds(condition: FactCondition, facts: Mapping[str, Any]) -> bool:
    """Whether one fact condition holds on a patient's facts (an unknown fact never holds)."""
    if condition.op == "known":
        return (condition.fact in facts) is condition.value
    return condition.fact in facts and predicate(condition)(facts[condition.fact])


def evaluate(condition: Condition, facts: Mapping[str, Any], concluded: Collection[str]) -> bool:
    """Evaluate a condition tree in plain Python: the reference semantics the engine must match."""
    if isinstance(condition, FactCondition):
        return holds(condition, facts)
    if isinstance(condition, ConcludedCondition):
        return condition.conclusion in concluded
    results = (evaluate(item, facts, concluded) for item in condition.items)
    if condition.kind == "all":
        return all(results)
    if condition.kind == "any":
        return any(results)
    return not any(results)


__all__ = ["Predicate", "evaluate", "holds", "predicate"]
