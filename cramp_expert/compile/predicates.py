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


_COMPILED: dict[int, tuple[FactCondition, str, Predicate, bool]] = {}
"""id of a condition -> (the condition, kept so that its id is not reused; its fact; its test;
its truth on an unknown fact). Each condition is compiled once: the reference evaluator asks
the same conditions again for every patient (why-not, the trace of the rules that fired)."""


def _compile(condition: FactCondition) -> tuple[FactCondition, str, Predicate, bool]:
    op = TABLE[condition.op]
    if len(_COMPILED) > 65536:  # bounded: conditions built on the fly come and go
        _COMPILED.clear()
    entry = _COMPILED[id(condition)] = (
        condition,
        condition.fact,
        op.test(condition.value),
        op.absent(condition.value),
    )
    return entry


def fact_test(condition: FactCondition) -> tuple[str, Predicate, bool]:
    """`(fact, test of a known value, truth when the fact is unknown)`: a condition compiled."""
    entry = _COMPILED.get(id(condition))
    if entry is None or entry[0] is not condition:
        entry = _compile(condition)
    return entry[1], entry[2], entry[3]


def predicate(condition: FactCondition) -> Predicate:
    """Return a total predicate implementing `condition` on one KNOWN fact value."""
    return fact_test(condition)[1]


def holds(condition: FactCondition, facts: Mapping[str, Any]) -> bool:
    """Whether one fact condition holds on a patient's facts.

    An unknown fact holds no test but `known: false` (its operator's `absent`).
    """
    # fact_test(condition), spelt out: the reference evaluator asks this of every condition.
    entry = _COMPILED.get(id(condition))
    if entry is None or entry[0] is not condition:
        entry = _compile(condition)
    value = facts.get(condition.fact, MISSING)
    return entry[3] if value is MISSING else entry[2](value)


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
