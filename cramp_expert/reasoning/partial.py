"""Three-valued evaluation of the whole rule base on partial knowledge, and what is still open.

The engine sees a fact as known or absent. Reasoning about a consultation that is not finished
(an interview, or "what if the unknown facts were measured?") needs a third state: a fact is
*known* (a value), *settled unknown* (it will stay absent, so the engine's semantics apply), or
*open* (it may still become known). Conditions are evaluated in Kleene's three-valued logic: a
test of an open fact is undetermined (None), `all` is False as soon as one part is False, `any`
True as soon as one part is True, `none` negates `any`. Rules are evaluated stratum by stratum,
as the engine fires them, so `concluded: X` sees X's final state.

With no open fact, this is exactly the reference semantics of `compile.predicates.evaluate`
(and so of the engine): a property test holds the two together.

From an evaluation, `live()` finds what can still change a reported conclusion: the rules whose
outcome is undetermined and matters, and the open facts on their undetermined paths. That is how
the interview chooses questions, how WHY is answered, and how a result says which conclusions
hold whatever the unknown facts turn out to be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from cramp_expert.compile.predicates import holds, predicate
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import ConcludedCondition, Condition, FactCondition, Rule

Truth: TypeAlias = bool | None
"""True, False, or None for "not determined yet"."""

IsOpen: TypeAlias = Callable[[str], bool]
Compiled: TypeAlias = Callable[["PartialOutcome"], Truth]
_MISSING = object()


def kleene_and(values: Iterable[Truth]) -> Truth:
    """False if any is False, True if all are True, otherwise undetermined."""
    result: Truth = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def kleene_or(values: Iterable[Truth]) -> Truth:
    """True if any is True, False if all are False, otherwise undetermined."""
    result: Truth = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def kleene_not(value: Truth) -> Truth:
    """Negation; undetermined stays undetermined."""
    return None if value is None else not value


@dataclass
class PartialOutcome:
    """The three-valued state of every rule and conclusion for one state of knowledge."""

    evaluator: PartialEvaluator
    values: Mapping[str, Any]
    is_open: IsOpen
    rule_truth: dict[str, Truth]
    _asserted: dict[str, Truth] = field(default_factory=dict)

    def positive(self, conclusion: str) -> Truth:
        """Whether some rule that concludes `conclusion` fires."""
        return kleene_or(self.rule_truth[r.id] for r in self.evaluator.concluders(conclusion))

    def negative(self, conclusion: str) -> Truth:
        """Whether some rule that excludes `conclusion` fires."""
        return kleene_or(self.rule_truth[r.id] for r in self.evaluator.excluders(conclusion))

    def concluded(self, conclusion: str) -> Truth:
        """Whether `conclusion` is concluded: some rule concludes it and none excludes it.

        Every rule's certainty reaches the threshold (the loader checks it), so one firing rule
        concludes, and an exclusion (-1) always wins; this is also what `concluded: X` sees.
        """
        if conclusion in self._asserted:
            return self._asserted[conclusion]
        value = kleene_and((self.positive(conclusion), kleene_not(self.negative(conclusion))))
        self._asserted[conclusion] = value
        return value

    def truth(self, condition: Condition) -> Truth:
        """Three-valued truth of a condition tree (its conclusions must already be evaluated)."""
        if isinstance(condition, FactCondition):
            if self.is_open(condition.fact):
                return None
            return holds(condition, self.values)
        if isinstance(condition, ConcludedCondition):
            return self.concluded(condition.conclusion)
        parts = (self.truth(item) for item in condition.items)
        if condition.kind == "all":
            return kleene_and(parts)
        if condition.kind == "any":
            return kleene_or(parts)
        return kleene_not(kleene_or(parts))

    def open_leaves(self, condition: Condition) -> Iterator[FactCondition | ConcludedCondition]:
        """The undetermined leaves on undetermined paths: what could still decide `condition`."""
        for leaf, _ in self.open_leaves_signed(condition):
            yield leaf

    def open_leaves_signed(
        self, condition: Condition, negated: bool = False
    ) -> Iterator[tuple[FactCondition | ConcludedCondition, bool]]:
        """Like `open_leaves`, with whether each leaf sits under a `none` (must not hold)."""
        if self.truth(condition) is not None:
            return
        if isinstance(condition, FactCondition | ConcludedCondition):
            yield condition, negated
            return
        inner = not negated if condition.kind == "none" else negated
        for item in condition.items:
            yield from self.open_leaves_signed(item, inner)


def compile_condition(condition: Condition) -> Compiled:
    """The three-valued truth of a condition as one closure (as `PartialOutcome.truth`)."""
    if isinstance(condition, FactCondition):
        fact = condition.fact
        if condition.op == "known":
            wanted = bool(condition.value)

            def known(outcome: PartialOutcome) -> Truth:
                return None if outcome.is_open(fact) else (fact in outcome.values) is wanted

            return known
        test = predicate(condition)

        def leaf(outcome: PartialOutcome) -> Truth:
            if outcome.is_open(fact):
                return None
            value = outcome.values.get(fact, _MISSING)
            return value is not _MISSING and test(value)

        return leaf
    if isinstance(condition, ConcludedCondition):
        conclusion = condition.conclusion
        return lambda outcome: outcome.concluded(conclusion)
    parts = tuple(compile_condition(item) for item in condition.items)
    if condition.kind == "all":
        return lambda outcome: kleene_and(part(outcome) for part in parts)
    if condition.kind == "any":
        return lambda outcome: kleene_or(part(outcome) for part in parts)
    return lambda outcome: kleene_not(kleene_or(part(outcome) for part in parts))


@dataclass(frozen=True)
class Liveness:
    """What can still change the reported conclusions, given what is known now."""

    rules: tuple[Rule, ...]
    """Undetermined rules whose outcome matters, highest stratum first."""
    facts: dict[str, list[tuple[Rule, FactCondition, bool]]]
    """Open fact id -> the (rule, condition, negated) it could decide; `negated` when the
    condition sits under a `none` (the rule needs it not to hold)."""
    needed: frozenset[str]
    """Conclusion ids (reported or intermediate) whose outcome is still open and matters."""


class PartialEvaluator:
    """Evaluates a knowledge base's rules in three-valued logic; built once per knowledge base."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.order: tuple[Rule, ...] = tuple(
            sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id))
        )
        self._concluders: dict[str, list[Rule]] = {}
        self._excluders: dict[str, list[Rule]] = {}
        self._by_fact: dict[str, set[str]] = {}
        self._consumers: dict[str, set[str]] = {}
        for rule in self.order:
            for cid in rule.then.conclude:
                self._concluders.setdefault(cid, []).append(rule)
            for cid in rule.then.exclude:
                self._excluders.setdefault(cid, []).append(rule)
            for condition in rule.fact_conditions():
                self._by_fact.setdefault(condition.fact, set()).add(rule.id)
            for cid in rule.consumed():
                self._consumers.setdefault(cid, set()).add(rule.id)
        conclusions = kb.knowledge.conclusions
        self.reported: tuple[str, ...] = tuple(
            sorted(cid for cid, c in conclusions.items() if c.kind != "state")
        )
        self._downstream: dict[frozenset[str], tuple[Rule, ...]] = {}
        self._compiled = {rule.id: compile_condition(rule.when) for rule in self.order}
        self._depends_on: dict[str, frozenset[str]] = {
            rule.id: frozenset(
                producer.id
                for cid in rule.consumed()
                for producer in (*self.concluders(cid), *self.excluders(cid))
            )
            for rule in self.order
        }
        """Rule id -> the rules whose truth it reads through `concluded:`."""

    def concluders(self, conclusion: str) -> list[Rule]:
        """Rules that conclude `conclusion`, in firing order."""
        return self._concluders.get(conclusion, [])

    def excluders(self, conclusion: str) -> list[Rule]:
        """Rules that exclude `conclusion`, in firing order."""
        return self._excluders.get(conclusion, [])

    def consumers(self, conclusion: str) -> list[Rule]:
        """Rules that test `concluded: conclusion`."""
        ids = self._consumers.get(conclusion, set())
        return [r for r in self.order if r.id in ids]

    def rules_testing(self, fact_id: str) -> list[Rule]:
        """Rules with a condition on `fact_id`."""
        ids = self._by_fact.get(fact_id, set())
        return [r for r in self.order if r.id in ids]

    def facts_tested(self) -> set[str]:
        """Every fact some rule tests."""
        return set(self._by_fact)

    def evaluate(
        self,
        values: Mapping[str, Any],
        is_open: IsOpen,
        assumed: Mapping[str, Truth] | None = None,
    ) -> PartialOutcome:
        """Evaluate every rule, stratum by stratum.

        `assumed` fixes the truth of some conclusions instead of computing it: the rules that
        test them read the assumption (the verifier asks "could X and Y both hold?" by assuming
        X and finding Y false whatever the open facts are).
        """
        outcome = PartialOutcome(self, values, is_open, {}, dict(assumed or {}))
        for rule in self.order:
            outcome.rule_truth[rule.id] = self._compiled[rule.id](outcome)
        return outcome

    def reevaluate(
        self,
        base: PartialOutcome,
        values: Mapping[str, Any],
        is_open: IsOpen,
        changed: Iterable[str],
    ) -> PartialOutcome:
        """Evaluate again after the facts in `changed` changed: only the rules they can reach.

        A rule is evaluated again when it tests a changed fact or when a rule it depends on
        (through `concluded:`) changed its truth; the rest keep the base outcome's truth.
        """
        facts = frozenset(changed)
        direct: set[str] = set()
        for fact in facts:
            direct |= self._by_fact.get(fact, set())
        truths = dict(base.rule_truth)
        outcome = PartialOutcome(self, values, is_open, truths, dict(base._asserted))
        moved: set[str] = set()
        for rule in self._affected(facts):
            if rule.id not in direct and not (self._depends_on[rule.id] & moved):
                continue
            truth = self._compiled[rule.id](outcome)
            if truth != truths[rule.id]:
                truths[rule.id] = truth
                moved.add(rule.id)
                for cid in rule.produced():
                    outcome._asserted.pop(cid, None)
        return outcome

    def _affected(self, facts: frozenset[str]) -> tuple[Rule, ...]:
        """The rules that test one of `facts`, and every rule chained after them, in order."""
        if facts not in self._downstream:
            ids: set[str] = set()
            for fact in facts:
                ids |= self._by_fact.get(fact, set())
            frontier = list(ids)
            while frontier:
                rule = self.kb.rule(frontier.pop())
                assert rule is not None
                for cid in rule.produced():
                    for consumer in self._consumers.get(cid, set()):
                        if consumer not in ids:
                            ids.add(consumer)
                            frontier.append(consumer)
            self._downstream[facts] = tuple(r for r in self.order if r.id in ids)
        return self._downstream[facts]

    def live(self, outcome: PartialOutcome, targets: Iterable[str] | None = None) -> Liveness:
        """What could still change the outcome of `targets` (default: every reported conclusion).

        A reported conclusion is open while it is not excluded for certain and one of its rules
        is undetermined (that rule could add it, remove it, or change its certainty). An
        undetermined rule matters when it concludes or excludes an open id; the open facts and
        the conclusions on its undetermined paths then matter too, down the chain.
        """
        needed: set[str] = set()
        for cid in self.reported if targets is None else targets:
            if self._open_id(outcome, cid):
                needed.add(cid)
        facts: dict[str, list[tuple[Rule, FactCondition, bool]]] = {}
        rules: list[Rule] = []
        for rule in reversed(self.order):  # consumers before the rules they depend on
            if outcome.rule_truth[rule.id] is not None:
                continue
            if not any(cid in needed for cid in rule.produced()):
                continue
            rules.append(rule)
            for leaf, negated in outcome.open_leaves_signed(rule.when):
                if isinstance(leaf, FactCondition):
                    facts.setdefault(leaf.fact, []).append((rule, leaf, negated))
                elif self._open_id(outcome, leaf.conclusion):
                    needed.add(leaf.conclusion)
        return Liveness(tuple(rules), facts, frozenset(needed))

    def open_facts_by_conclusion(self, outcome: PartialOutcome) -> dict[str, frozenset[str]]:
        """Conclusion id -> the open facts that could decide it, through the whole chain.

        One pass in firing order: an undetermined rule depends on the open facts on its
        undetermined paths and on whatever the open conclusions it tests depend on.
        """
        by_id: dict[str, set[str]] = {}
        for rule in self.order:
            if outcome.rule_truth[rule.id] is not None:
                continue
            facts: set[str] = set()
            for leaf in outcome.open_leaves(rule.when):
                if isinstance(leaf, FactCondition):
                    facts.add(leaf.fact)
                else:
                    facts |= by_id.get(leaf.conclusion, set())
            for cid in rule.produced():
                by_id.setdefault(cid, set()).update(facts)
        return {
            cid: frozenset(facts) for cid, facts in by_id.items() if self._open_id(outcome, cid)
        }

    def _open_id(self, outcome: PartialOutcome, cid: str) -> bool:
        if outcome.negative(cid) is True:
            return False
        return any(
            outcome.rule_truth[r.id] is None for r in (*self.concluders(cid), *self.excluders(cid))
        )


__all__ = [
    "IsOpen",
    "Liveness",
    "PartialEvaluator",
    "PartialOutcome",
    "Truth",
    "kleene_and",
    "kleene_not",
    "kleene_or",
]
