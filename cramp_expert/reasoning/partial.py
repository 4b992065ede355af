"""Three-valued evaluation of the whole rule base on partial knowledge, and what is still open.

The engine sees a fact as known or absent. Reasoning about a consultation that is not finished
(an interview, or "what if the unknown facts were measured?") needs a third state: a fact is
*known* (a value), *settled unknown* (it will stay absent, so the engine's semantics apply), or
*open* (it may still become known). Conditions are evaluated in Kleene's three-valued logic: a
test of an open fact is undetermined (None), `all` is False as soon as one part is False, `any`
True as soon as one part is True, `none` negates `any`. Rules are evaluated stratum by stratum,
as the engine fires them, so `concluded: X` sees X's final state.

A fact test reads its operator's meaning from `kb.operators` (through `compile.predicates.fact_test`):
with no open fact, this is exactly the reference semantics of `compile.predicates.evaluate`
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

from cramp_expert.compile.predicates import MISSING as _MISSING
from cramp_expert.compile.predicates import fact_test, holds
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import ConcludedCondition, Condition, FactCondition, Rule

Truth: TypeAlias = bool | None
"""True, False, or None for "not determined yet"."""

IsOpen: TypeAlias = Callable[[str], bool]
Compiled: TypeAlias = Callable[["PartialOutcome"], Truth]
Plan: TypeAlias = tuple[tuple[str, Compiled, frozenset[str], bool], ...]
"""Rules to evaluate again, in firing order: (id, closure, rules it reads, tests the fact)."""


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


@dataclass(frozen=True)
class Trial:
    """How to try values of one open fact on one outcome (`PartialEvaluator.trial`)."""

    plan: Plan
    """The undetermined rules a value of the fact can reach, in firing order."""
    is_open: IsOpen
    """The outcome's open facts less this one."""


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
        return _any_true(self.rule_truth, self.evaluator.concluder_ids(conclusion))

    def negative(self, conclusion: str) -> Truth:
        """Whether some rule that excludes `conclusion` fires."""
        return _any_true(self.rule_truth, self.evaluator.excluder_ids(conclusion))

    def concluded(self, conclusion: str) -> Truth:
        """Whether `conclusion` is concluded: some rule concludes it and none excludes it.

        Every rule's certainty reaches the threshold (the loader checks it), so one firing rule
        concludes, and an exclusion (-1) always wins; this is also what `concluded: X` sees.
        """
        asserted = self._asserted
        if conclusion in asserted:
            return asserted[conclusion]
        # kleene_and(positive, kleene_not(negative)), spelt out: this runs for every
        # `concluded:` test of every evaluation.
        evaluator = self.evaluator
        positive = _any_true(self.rule_truth, evaluator.concluder_ids(conclusion))
        if positive is False:
            value: Truth = False
        else:
            negative = _any_true(self.rule_truth, evaluator.excluder_ids(conclusion))
            if negative is True:
                value = False
            elif positive is None or negative is None:
                value = None
            else:
                value = True
        asserted[conclusion] = value
        return value

    def truth(self, condition: Condition) -> Truth:
        """Three-valued truth of a condition tree (its conclusions must already be evaluated)."""
        compiled = self.evaluator.compiled_condition(condition)
        if compiled is not None:
            return compiled(self)
        if isinstance(condition, FactCondition):
            # Kleene's logic for every operator: a test of an open fact is undetermined.
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
    ) -> list[tuple[FactCondition | ConcludedCondition, bool]]:
        """Like `open_leaves`, with whether each leaf sits under a `none` (must not hold)."""
        found: list[tuple[FactCondition | ConcludedCondition, bool]] = []
        if self.truth(condition) is None:
            collect = self.evaluator.compiled_collector(condition)
            if collect is not None:
                collect(self, negated, found)
            else:
                self._collect_open(condition, negated, found)
        return found

    def _collect_open(
        self,
        condition: Condition,
        negated: bool,
        found: list[tuple[FactCondition | ConcludedCondition, bool]],
    ) -> None:
        # `condition` is undetermined: collect its undetermined leaves.
        if isinstance(condition, FactCondition | ConcludedCondition):
            found.append((condition, negated))
            return
        inner = not negated if condition.kind == "none" else negated
        for item in condition.items:
            if self.truth(item) is None:
                self._collect_open(item, inner, found)


def _any_true(truths: Mapping[str, Truth], rule_ids: tuple[str, ...]) -> Truth:
    """kleene_or of the truths of `rule_ids`."""
    result: Truth = False
    for rule_id in rule_ids:
        value = truths[rule_id]
        if value is True:
            return True
        if value is None:
            result = None
    return result


def compile_condition(
    condition: Condition, closures: dict[int, Compiled] | None = None
) -> Compiled:
    """The three-valued truth of a condition as one closure (as `PartialOutcome.truth`).

    With `closures`, the closure of every node of the tree is also recorded there by the node's
    id, so that the truth of a part can be asked for without walking the tree.

    The connectives are written out as loops rather than `kleene_and(generator)`: robustness
    evaluates the rule base once per candidate value of every open fact, and the generators
    were most of its time.
    """
    if isinstance(condition, FactCondition):
        # The operator's own tests (kb/operators.py); an open fact leaves any test undetermined.
        fact, test, absent = fact_test(condition)

        def fact_leaf(outcome: PartialOutcome) -> Truth:
            if outcome.is_open(fact):
                return None
            value = outcome.values.get(fact, _MISSING)
            return absent if value is _MISSING else test(value)

        return _record(closures, condition, fact_leaf)
    if isinstance(condition, ConcludedCondition):
        conclusion = condition.conclusion

        def concluded(outcome: PartialOutcome) -> Truth:
            return outcome.concluded(conclusion)

        return _record(closures, condition, concluded)
    parts = tuple(compile_condition(item, closures) for item in condition.items)
    # The group's fact tests are made here, inline, rather than through their own closures
    # (which are compiled all the same, for the tree's other users): a call less per test.
    tests = tuple(fact_test(item) for item in condition.items if isinstance(item, FactCondition))
    others = tuple(
        part
        for item, part in zip(condition.items, parts, strict=True)
        if not isinstance(item, FactCondition)
    )

    def connective(decides: bool) -> Compiled:
        """`any` (one True part decides it) or `all` (one False part does), in Kleene logic."""

        def combine(outcome: PartialOutcome) -> Truth:
            is_open, values = outcome.is_open, outcome.values
            result: Truth = not decides
            for fact, test, absent in tests:
                if is_open(fact):
                    result = None
                else:
                    value = values.get(fact, _MISSING)
                    if (absent if value is _MISSING else test(value)) is decides:
                        return decides
            for part in others:
                value = part(outcome)
                if value is decides:
                    return decides
                if value is None:
                    result = None
            return result

        return combine

    if condition.kind == "all":
        return _record(closures, condition, connective(False))
    any_of = connective(True)
    if condition.kind == "any":
        return _record(closures, condition, any_of)

    def none_of(outcome: PartialOutcome) -> Truth:
        value = any_of(outcome)
        return None if value is None else not value

    return _record(closures, condition, none_of)


Leaves: TypeAlias = list[tuple[FactCondition | ConcludedCondition, bool]]
Collector: TypeAlias = Callable[["PartialOutcome", bool, Leaves], None]


def compile_collector(
    condition: Condition, closures: dict[int, Compiled], collectors: dict[int, Collector]
) -> Collector:
    """`PartialOutcome._collect_open` for one condition tree, as closures (recorded by node id).

    A collector is called on an undetermined node; it adds the node if it is a leaf, or goes
    into each undetermined part (a `none` flips the sign of what is below it).
    """
    if isinstance(condition, FactCondition | ConcludedCondition):
        leaf = condition

        def collect_leaf(outcome: PartialOutcome, negated: bool, found: Leaves) -> None:
            found.append((leaf, negated))

        collectors[id(condition)] = collect_leaf
        return collect_leaf
    # A fact leaf is undetermined exactly when its fact is open, and a `concluded` leaf when
    # the conclusion is: both are tested here, without calling their closures.
    entries: list[tuple[int, Any, Any]] = []
    for item in condition.items:
        collect = compile_collector(item, closures, collectors)
        if isinstance(item, FactCondition):
            entries.append((0, item.fact, item))
        elif isinstance(item, ConcludedCondition):
            entries.append((1, item.conclusion, item))
        else:
            entries.append((2, closures[id(item)], collect))
    flips = condition.kind == "none"

    def collect_group(outcome: PartialOutcome, negated: bool, found: Leaves) -> None:
        inner = not negated if flips else negated
        is_open = outcome.is_open
        for kind, key, item in entries:
            if kind == 0:
                if is_open(key):
                    found.append((item, inner))
            elif kind == 1:
                if outcome.concluded(key) is None:
                    found.append((item, inner))
            elif key(outcome) is None:
                item(outcome, inner, found)

    collectors[id(condition)] = collect_group
    return collect_group


def _record(
    closures: dict[int, Compiled] | None, condition: Condition, compiled: Compiled
) -> Compiled:
    if closures is not None:
        closures[id(condition)] = compiled
    return compiled


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
        self._concluder_ids = {
            c: tuple(r.id for r in rules) for c, rules in self._concluders.items()
        }
        self._excluder_ids = {c: tuple(r.id for r in rules) for c, rules in self._excluders.items()}
        self._produced: dict[str, tuple[str, ...]] = {
            rule.id: tuple(sorted(rule.produced())) for rule in self.order
        }
        self._downstream: dict[frozenset[str], tuple[Rule, ...]] = {}
        self._direct: dict[frozenset[str], frozenset[str]] = {}
        self._closures: dict[int, Compiled] = {}
        self._compiled = {
            rule.id: compile_condition(rule.when, self._closures) for rule in self.order
        }
        self._collectors: dict[int, Collector] = {}
        for rule in self.order:
            compile_collector(rule.when, self._closures, self._collectors)
        self._ancestors: dict[frozenset[str], frozenset[str]] = {}
        self._own_ancestors: dict[str, frozenset[str]] = {}
        self._plans: dict[str, Plan] = {}
        self._depends_on: dict[str, frozenset[str]] = {
            rule.id: frozenset(
                producer.id
                for cid in rule.consumed()
                for producer in (*self.concluders(cid), *self.excluders(cid))
            )
            for rule in self.order
        }
        """Rule id -> the rules whose truth it reads through `concluded:`."""

    def compiled_condition(self, condition: Condition) -> Compiled | None:
        """The closure of a condition of one of this knowledge base's rules (None for others)."""
        return self._closures.get(id(condition))

    def compiled_collector(self, condition: Condition) -> Collector | None:
        """The open-leaf collector of a condition of one of this knowledge base's rules."""
        return self._collectors.get(id(condition))

    def concluders(self, conclusion: str) -> list[Rule]:
        """Rules that conclude `conclusion`, in firing order."""
        return self._concluders.get(conclusion, [])

    def concluder_ids(self, conclusion: str) -> tuple[str, ...]:
        """Ids of the rules that conclude `conclusion`, in firing order."""
        return self._concluder_ids.get(conclusion, ())

    def excluder_ids(self, conclusion: str) -> tuple[str, ...]:
        """Ids of the rules that exclude `conclusion`, in firing order."""
        return self._excluder_ids.get(conclusion, ())

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
        targets: Iterable[str] | None = None,
    ) -> PartialOutcome:
        """Evaluate again after the facts in `changed` changed: only the rules they can reach.

        A rule is evaluated again when it tests a changed fact or when a rule it depends on
        (through `concluded:`) changed its truth; the rest keep the base outcome's truth. With
        `targets`, only the rules that can change those conclusion ids are evaluated again: the
        outcome then answers for them (and the rules they depend on) only.
        """
        needed = None if targets is None else self._ancestors_of(frozenset(targets))
        facts = frozenset(changed)
        direct = self._direct.get(facts)
        if direct is None:
            direct = frozenset(r for fact in facts for r in self._by_fact.get(fact, ()))
            self._direct[facts] = direct
        truths = dict(base.rule_truth)
        outcome = PartialOutcome(self, values, is_open, truths, dict(base._asserted))
        asserted = outcome._asserted
        moved: set[str] = set()
        compiled = self._compiled
        for rule in self._affected(facts):
            rule_id = rule.id
            if needed is not None and rule_id not in needed:
                continue
            if rule_id not in direct and not (moved and self._depends_on[rule_id] & moved):
                continue
            truth = compiled[rule_id](outcome)
            if truth != truths[rule_id]:
                truths[rule_id] = truth
                moved.add(rule_id)
                for cid in self._produced[rule_id]:
                    asserted.pop(cid, None)
        return outcome

    def decided_by(
        self,
        outcome: PartialOutcome,
        fact_id: str,
        value: Any,
        ids: frozenset[str],
        trial: Trial | None = None,
    ) -> set[str]:
        """Of the conclusion `ids` (all undetermined), those determined once `fact_id` is `value`.

        What `reevaluate` followed by `concluded` gives, without copying the outcome: only the
        rules that test the fact or are chained after it, and can change one of `ids`, are
        evaluated, in place, and `outcome` is put back as it was before returning. Robustness
        asks this for every candidate value of every open fact, and copying the outcome was
        most of the cost of each question. `trial`, from `trial(outcome, fact_id)`, saves
        working out again, for each value tried, which rules can change and what stays open.
        """
        needed = self._ancestors_of(ids)
        truths = outcome.rule_truth
        values, is_open, asserted = outcome.values, outcome.is_open, outcome._asserted
        if trial is None:
            trial = self.trial(outcome, fact_id)
        outcome.is_open = trial.is_open
        outcome.values = {**values, fact_id: value}
        before: dict[str, Truth] = {}
        forgotten: dict[str, Truth] = {}
        produced = self._produced
        try:
            for rule_id, compiled, depends_on, direct in trial.plan:
                if rule_id not in needed:
                    continue
                if not direct and before.keys().isdisjoint(depends_on):
                    continue
                truth = compiled(outcome)
                if truth != truths[rule_id]:
                    before[rule_id] = truths[rule_id]
                    truths[rule_id] = truth
                    # What this rule produces is worked out again when asked. Rules run in
                    # strata, so nothing asked for it yet in this trial: what is dropped here
                    # is the outcome's own.
                    for cid in produced[rule_id]:
                        if cid in asserted:
                            forgotten.setdefault(cid, asserted.pop(cid))
            if not before:
                return set()  # no rule changed: every id is as open as it was
            return {cid for cid in ids if outcome.concluded(cid) is not None}
        finally:
            truths.update(before)
            # Conclusions worked out in the trial stay cached only where no rule producing
            # them changed (they hold for the outcome too).
            for rule_id in before:
                for cid in produced[rule_id]:
                    asserted.pop(cid, None)
            asserted.update(forgotten)
            outcome.values, outcome.is_open = values, is_open

    def trial(self, outcome: PartialOutcome, fact_id: str) -> Trial:
        """What `decided_by` needs to try values of `fact_id` in `outcome`, worked out once.

        Knowing a fact only settles what was undetermined (three-valued logic is monotone in
        what is known): a rule already True or False in the outcome stays so, and of the rules
        a change of the fact can reach, usually only a few are undetermined.
        """
        truths = outcome.rule_truth
        plan = tuple(step for step in self._plan(fact_id) if truths[step[0]] is None)
        is_open = outcome.is_open
        open_set = getattr(is_open, "__self__", None)
        if isinstance(open_set, frozenset):
            # A set's own membership test, not a function around it: it runs for every leaf.
            return Trial(plan, (open_set - {fact_id}).__contains__)

        def still_open(fact: str) -> bool:
            return fact != fact_id and is_open(fact)

        return Trial(plan, still_open)

    def _plan(self, fact_id: str) -> Plan:
        """The rules a change of one fact can reach, in order, with what `decided_by` needs."""
        plan = self._plans.get(fact_id)
        if plan is None:
            direct = self._by_fact.get(fact_id, set())
            plan = tuple(
                (rule.id, self._compiled[rule.id], self._depends_on[rule.id], rule.id in direct)
                for rule in self._affected(frozenset((fact_id,)))
            )
            self._plans[fact_id] = plan
        return plan

    def _ancestors_of(self, targets: frozenset[str]) -> frozenset[str]:
        """The rules that conclude or exclude one of `targets`, and every rule they depend on."""
        found = self._ancestors.get(targets)
        if found is None:
            # The union of each target's own (worked out once per conclusion): robustness asks
            # about many different sets of the same few ids.
            own = self._own_ancestors
            parts = []
            for cid in targets:
                part = own.get(cid)
                if part is None:
                    part = own[cid] = self._walk_ancestors(cid)
                parts.append(part)
            found = frozenset().union(*parts)
            if len(self._ancestors) > 4096:  # bounded: one entry per set of targets asked about
                self._ancestors.clear()
            self._ancestors[targets] = found
        return found

    def _walk_ancestors(self, cid: str) -> frozenset[str]:
        ids: set[str] = set()
        frontier = [*self.concluder_ids(cid), *self.excluder_ids(cid)]
        while frontier:
            rule_id = frontier.pop()
            if rule_id not in ids:
                ids.add(rule_id)
                frontier.extend(self._depends_on[rule_id])
        return frozenset(ids)

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
        truths = outcome.rule_truth
        for rule in self.order:
            if truths[rule.id] is not None:
                continue
            facts: set[str] = set()
            leaves: Leaves = []
            self._collectors[id(rule.when)](outcome, False, leaves)  # the rule is undetermined
            for leaf, _ in leaves:
                if isinstance(leaf, FactCondition):
                    facts.add(leaf.fact)
                elif leaf.conclusion in by_id:
                    facts |= by_id[leaf.conclusion]
            for cid in self._produced[rule.id]:
                by_id.setdefault(cid, set()).update(facts)
        return {
            cid: frozenset(facts) for cid, facts in by_id.items() if self._open_id(outcome, cid)
        }

    def _open_id(self, outcome: PartialOutcome, cid: str) -> bool:
        if outcome.negative(cid) is True:
            return False
        truths = outcome.rule_truth
        return any(truths[r] is None for r in self.concluder_ids(cid)) or any(
            truths[r] is None for r in self.excluder_ids(cid)
        )


__all__ = [
    "IsOpen",
    "Liveness",
    "PartialEvaluator",
    "PartialOutcome",
    "Plan",
    "Trial",
    "Truth",
    "kleene_and",
    "kleene_not",
    "kleene_or",
]
