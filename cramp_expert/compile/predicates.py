"""Fact conditions as total predicates, and the reference evaluator of whole conditions.

What each operator means is declared once, in `cramp_expert.kb.operators`: this module applies
that table to a condition. experta runs a field test against every fact that has the field, so
each predicate accepts any value and answers False rather than raise. The same predicates back
the experta patterns, the reference evaluator, the three-valued evaluator and the screening back
end, so none of them can disagree with another about an operator.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from cramp_expert.kb.model import ConcludedCondition, Condition, FactCondition
from cramp_expert.kb.operators import TABLE, Predicate

MISSING: Any = object()
"""An unknown fact's value, as `facts.get(fact, MISSING)` reads it."""


def predicate(condition: FactCondition) -> Predicate:
    """Return a total predicate implementing `condition` on one KNOWN fact value."""
    return TABLE[condition.op].test(condition.value)


def fact_test(condition: FactCondition) -> tuple[str, Predicate, bool]:
    """`(fact, test of a known value, truth when the fact is unknown)`: a condition compiled."""
    op = TABLE[condition.op]
    return condition.fact, op.test(condition.value), op.absent(condition.value)


def holds(condition: FactCondition, facts: Mapping[str, Any]) -> bool:
    """Whether one fact condition holds on a patient's facts.

    An unknown fact holds no test but `known: false` (its operator's `absent`).
    """
    op = TABLE[condition.op]
    value = facts.get(condition.fact, MISSING)
    if value is MISSING:
        return op.absent(condition.value)
    return op.test(condition.value)(value)


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


__all__ = ["MISSING", "Predicate", "evaluate", "fact_test", "holds", "predicate"]
