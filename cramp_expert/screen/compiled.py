"""The screening back end: the rule base compiled to plain Python closures, for whole registers.

Each rule's `when:` becomes a tree of closures over the rule's own constants (fact ids,
operators' reference values), built from the validated model: nothing read from a YAML file is
ever evaluated as code, and no source text is generated. Rules run once each, in the loader's
chaining strata, so that a `concluded: X` test sees X's final state: concluded by some rule
that fired and excluded by none, as in the engine.

The semantics are those of `compile.predicates.evaluate` (the reference evaluator the engine is
held to): every fact test is its operator's test and its truth on an unknown fact, both from the
one table of operators (`kb.operators`), so a test of an unknown fact never holds, except
`known: false`. The property suite holds this back end to experta on generated patients, and every
screening run re-runs a share of its patients through experta (`screen.backend`).

experta stays the engine of every consultation, interview and explanation: this is used by
`batch --summary --engine compiled` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from cramp_expert.compile.predicates import MISSING as _MISSING
from cramp_expert.compile.predicates import fact_test
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import ConcludedCondition, Condition, ConditionGroup, FactCondition
from cramp_expert.kb.operators import operator

Test: TypeAlias = Callable[[Mapping[str, Any], set[str], set[str]], bool]
"""A compiled condition: (facts, ids concluded so far, ids excluded so far) -> holds."""


def _fact_test(condition: FactCondition) -> Test:
    # The operator's own tests (kb/operators.py), which check the exact type of the plain
    # values the normaliser makes first.
    fact, test, absent = fact_test(condition)

    def leaf(facts: Mapping[str, Any], concluded: set[str], excluded: set[str]) -> bool:
        value = facts.get(fact, _MISSING)
        return absent if value is _MISSING else test(value)

    return leaf


def required_facts(condition: Condition) -> frozenset[str]:
    """Facts without which `condition` cannot hold (a test of an unknown fact never holds)."""
    if isinstance(condition, FactCondition):
        holds_unknown = operator(condition.op).absent(condition.value)  # `known: false`
        return frozenset() if holds_unknown else frozenset((condition.fact,))
    if isinstance(condition, ConcludedCondition) or condition.kind == "none":
        return frozenset()
    parts = [required_facts(item) for item in condition.items]
    if condition.kind == "all":
        return frozenset().union(*parts)
    return frozenset.intersection(*parts) if parts else frozenset()


def compile_test(condition: Condition) -> Test:
    """The closure that decides `condition` as the reference evaluator does."""
    if isinstance(condition, FactCondition):
        return _fact_test(condition)
    if isinstance(condition, ConcludedCondition):
        cid = condition.conclusion
        return lambda facts, concluded, excluded: cid in concluded and cid not in excluded
    assert isinstance(condition, ConditionGroup)
    # A group's fact tests are run here, inline, rather than through their own closures: a
    # call less per test, on the hottest path of a screening run.
    tests = tuple(fact_test(item) for item in condition.items if isinstance(item, FactCondition))
    parts = tuple(
        compile_test(item) for item in condition.items if not isinstance(item, FactCondition)
    )
    if condition.kind == "all":
        if not tests and len(parts) == 1:
            return parts[0]

        def every(facts: Mapping[str, Any], concluded: set[str], excluded: set[str]) -> bool:
            for fact, test, absent in tests:
                value = facts.get(fact, _MISSING)
                if not (absent if value is _MISSING else test(value)):
                    return False
            for part in parts:  # noqa: SIM110 - a loop: all() of a generator is slower here
                if not part(facts, concluded, excluded):
                    return False
            return True

        return every

    def some(facts: Mapping[str, Any], concluded: set[str], excluded: set[str]) -> bool:
        for fact, test, absent in tests:
            value = facts.get(fact, _MISSING)
            if absent if value is _MISSING else test(value):
                return True
        for part in parts:  # noqa: SIM110 - a loop: any() of a generator is slower here
            if part(facts, concluded, excluded):
                return True
        return False

    if condition.kind == "any":
        return some
    return lambda facts, concluded, excluded: not some(facts, concluded, excluded)


class CompiledRules:
    """The knowledge base's rules as closures, in firing order; one per process, stateless."""

    def __init__(self, kb: KnowledgeBase):
        order = sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id))
        # A rule is tested only when the patient has every fact it requires: most rules test
        # facts a given patient lacks, and the check is one comparison of key sets.
        self._rules = tuple(
            (
                rule.id,
                required_facts(rule.when),
                compile_test(rule.when),
                rule.then.conclude,
                rule.then.exclude,
            )
            for rule in order
        )

    def fired(self, facts: Mapping[str, Any]) -> list[str]:
        """The ids of the rules that fire on a patient's normalised facts, in firing order."""
        concluded: set[str] = set()
        excluded: set[str] = set()
        out: list[str] = []
        present = facts.keys()
        for rule_id, required, test, conclude, exclude in self._rules:
            if present >= required and test(facts, concluded, excluded):
                out.append(rule_id)
                concluded.update(conclude)
                excluded.update(exclude)
        return out


__all__ = ["CompiledRules", "Test", "compile_test", "required_facts"]
