"""Fact conditions as total predicates, and a plain-Python evaluator of whole conditions.

experta runs a field test against every fact that has the field, so each predicate must accept
any value and answer False rather than raise. The same predicates back the experta patterns and
the reference evaluator used to explain which conditions held, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from cramp_expert.kb.model import ConcludedCondition, Condition, ConditionGroup, FactCondition

Predicate = Callable[[Any], bool]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_collection(value: Any) -> bool:
    return isinstance(value, Collection) and not isinstance(value, str | bytes | Mapping)


def predicate(condition: FactCondition) -> Predicate:
    """Return a total predicate implementing `condition` on one fact value."""
    op, ref = condition.op, condition.value
    if op == "known":
        return lambda value: True  # presence is tested by the pattern itself (a wildcard)
    if op == "is":
        if isinstance(ref, bool):
            return lambda value, ref=ref: isinstance(value, bool) and value is ref
        if isinstance(ref, float):
            return lambda value, ref=ref: _is_number(value) and float(value) == ref
        return lambda value, ref=ref: isinstance(value, str) and value == ref
    if op == "in":
        return lambda value, ref=ref: isinstance(value, str) and value in ref
    if op == "lt":
        return lambda value, ref=ref: _is_number(value) and value < ref
    if op == "le":
        return lambda value, ref=ref: _is_number(value) and value <= ref
    if op == "gt":
        return lambda value, ref=ref: _is_number(value) and value > ref
    if op == "ge":
        return lambda value, ref=ref: _is_number(value) and value >= ref
    if op == "between":
        low, high = ref
        return lambda value, low=low, high=high: _is_number(value) and low <= value <= high
    if op == "includes":
        return lambda value, ref=ref: _is_collection(value) and any(item in ref for item in value)
    if op == "only":
        return lambda value, ref=ref: _is_collection(value) and len(value) > 0 and all(item in ref for item in value)
    raise ValueError(f"unknown operator {op!r}")  # the loader admits only OPERATORS


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


def _group_holds(group: ConditionGroup, facts: Mapping[str, Any], concluded: Collection[str]) -> bool:
    return evaluate(group, facts, concluded)


__all__ = ["Predicate", "evaluate", "holds", "predicate"]
