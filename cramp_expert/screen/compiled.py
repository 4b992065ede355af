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
from heapq import heappop, heappush
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
    # A group's fact tests and `concluded` tests are run here, inline, rather than through their
    # own closures: a call less per test, on the hottest path of a screening run. So are those of
    # an `all` inside an `all` (a rule's `all:` beside its `none:`): it holds when they all do.
    items = condition.conjuncts() if condition.kind == "all" else condition.items
    tests = tuple(fact_test(item) for item in items if isinstance(item, FactCondition))
    ids = tuple(item.conclusion for item in items if isinstance(item, ConcludedCondition))
    parts = tuple(
        compile_test(item)
        for item in items
        if not isinstance(item, FactCondition | ConcludedCondition)
    )
    if condition.kind == "all":
        if not tests and not ids and len(parts) == 1:
            return parts[0]

        def every(facts: Mapping[str, Any], concluded: set[str], excluded: set[str]) -> bool:
            for fact, test, absent in tests:
                value = facts.get(fact, _MISSING)
                if not (absent if value is _MISSING else test(value)):
                    return False
            for cid in ids:
                if cid not in concluded or cid in excluded:
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
        for cid in ids:
            if cid in concluded and cid not in excluded:
                return True
        for part in parts:  # noqa: SIM110 - a loop: any() of a generator is slower here
            if part(facts, concluded, excluded):
                return True
        return False

    if condition.kind == "any":
        return some
    return lambda facts, concluded, excluded: not some(facts, concluded, excluded)


Need: TypeAlias = tuple[frozenset[str], frozenset[str], frozenset[str]]
"""What a condition cannot hold without: (facts known, facts known and not False, ids
concluded). `needs` gives alternatives, at least one of which every patient it holds on meets."""
_NOTHING: Need = (frozenset(), frozenset(), frozenset())
ALTERNATIVES = 16
"""Most alternatives kept for one condition; beyond, they are merged into what all share."""


def needs(condition: Condition) -> tuple[Need, ...]:
    """Alternatives, one of which holds on every patient (and run) on whom `condition` holds.

    A fact test whose truth on an unknown fact is false needs its fact known, and, when its
    test of `False` fails (`is true`, `< 3.5`), known and not False: a medication list makes
    every class it does not name `False`, so this is what tells most rules apart. A `concluded`
    test needs its id concluded. Only ever a necessary condition: a rule is still decided by its
    test, the needs only skip the rules that cannot fire.
    """
    if isinstance(condition, FactCondition):
        fact, test, absent = fact_test(condition)
        if absent:  # `known: false`
            return (_NOTHING,)
        known = frozenset((fact,))
        return ((known, frozenset() if test(False) else known, frozenset()),)
    if isinstance(condition, ConcludedCondition):
        return ((frozenset(), frozenset(), frozenset((condition.conclusion,))),)
    if condition.kind == "none":
        return (_NOTHING,)
    parts = [needs(item) for item in condition.items]
    if condition.kind == "any":
        merged = [need for part in parts for need in part]
    else:
        merged = [_NOTHING]
        for part in parts:
            merged = [_union(a, b) for a in merged for b in part]
            if len(merged) > ALTERNATIVES:
                merged = [_shared(merged)]
    if not merged:  # `any` of nothing never holds; nothing simpler to say of it
        return (_NOTHING,)
    # Only the weakest alternatives count: one met whenever a stronger one is, says nothing.
    unique = list(dict.fromkeys(merged))
    return tuple(a for a in unique if not any(b != a and _weaker(b, a) for b in unique))


def _union(a: Need, b: Need) -> Need:
    return (a[0] | b[0], a[1] | b[1], a[2] | b[2])


def _shared(alternatives: list[Need]) -> Need:
    return (
        frozenset.intersection(*(a[0] for a in alternatives)),
        frozenset.intersection(*(a[1] for a in alternatives)),
        frozenset.intersection(*(a[2] for a in alternatives)),
    )


def _weaker(b: Need, a: Need) -> bool:
    return b[0] <= a[0] and b[1] <= a[1] and b[2] <= a[2]


class CompiledRules:
    """The knowledge base's rules as closures, in firing order; one per process, stateless.

    Most rules test facts a given patient lacks, or has as `False` (every drug class its
    medication list does not name), or build on a conclusion no rule reached: a rule is looked
    at only when something it needs is there. Each of its `needs` is indexed under one fact or
    one concluded id (`_anchor`); a patient's run starts from the rules indexed under the facts
    it has (not False), and a rule that fires adds the later rules indexed under what it
    concludes.
    """

    def __init__(self, kb: KnowledgeBase):
        order = sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id))
        alternatives = [needs(rule.when) for rule in order]
        always: list[int] = []
        by_fact: dict[str, list[int]] = {}
        by_known: dict[str, list[int]] = {}
        by_conclusion: dict[str, list[int]] = {}
        for index, options in enumerate(alternatives):
            for need in options:
                kind, key = _anchor(need)
                if kind == "fact":
                    by_fact.setdefault(key, []).append(index)
                elif kind == "present":
                    by_known.setdefault(key, []).append(index)
                elif kind == "concluded":
                    by_conclusion.setdefault(key, []).append(index)
                else:
                    always.append(index)
        self._rules = tuple(
            (
                rule.id,
                compile_test(rule.when),
                rule.then.conclude,
                rule.then.exclude,
                # The later rules that a conclusion of this one may let fire. (A rule testing
                # `concluded: X` comes after every rule concluding X, in its stratum; an earlier
                # one could not have seen X anyway.)
                tuple(
                    sorted(
                        {
                            later
                            for cid in rule.then.conclude
                            for later in by_conclusion.get(cid, ())
                            if later > index
                        }
                    )
                ),
            )
            for index, rule in enumerate(order)
        )
        self._always = frozenset(always)
        self._by_fact = {fact: tuple(rules) for fact, rules in by_fact.items()}
        self._by_known = {fact: tuple(rules) for fact, rules in by_known.items()}

    def fired(self, facts: Mapping[str, Any]) -> list[str]:
        """The ids of the rules that fire on a patient's normalised facts, in firing order."""
        concluded: set[str] = set()
        excluded: set[str] = set()
        out: list[str] = []
        seen = set(self._always)
        by_fact = self._by_fact
        for fact, value in facts.items():
            if value is not False and fact in by_fact:
                seen.update(by_fact[fact])
        for fact, indexed in self._by_known.items():  # a few facts: fewer than the patient's
            if fact in facts:
                seen.update(indexed)
        queue = sorted(seen)  # a sorted list is a heap: rules come out in firing order
        rules = self._rules
        while queue:
            # NOTE: a rule looked at is tested at once. Checking its other needs first (every
            # fact and id of one alternative) cost more than the tests it spared: most rules
            # looked at meet them, and a test that cannot hold fails on its first fact.
            rule_id, test, conclude, exclude, wakes = rules[heappop(queue)]
            if test(facts, concluded, excluded):
                out.append(rule_id)
                concluded.update(conclude)
                excluded.update(exclude)
                for later in wakes:
                    if later not in seen:
                        seen.add(later)
                        heappush(queue, later)
        return out


COMMON = frozenset(("age", "sex", "dialysis", "pregnant", "medications.count"))
"""Facts almost every register gives: a need is indexed under anything else it names first."""


def _anchor(need: Need) -> tuple[str, str]:
    """What to index a need under: `fact` (known, not False), `concluded`, `present`, or none.

    The one of its facts or concluded ids a patient seldom has, as far as can be told: a fact
    other than the few every register gives, then an id some rule must conclude, then those.
    """
    known, active, ids = need
    rare = sorted(active - COMMON)
    if rare:
        return "fact", rare[0]
    if ids:
        return "concluded", min(ids)
    if active:
        return "fact", min(active)
    if known:
        return "present", min(known, key=lambda fact: (fact in COMMON, fact))
    return "always", ""


__all__ = ["CompiledRules", "Need", "Test", "compile_test", "needs", "required_facts"]
