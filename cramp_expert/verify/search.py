"""Search for a patient that makes a condition hold, or prove that no patient does.

The search assigns facts one at a time, each a value from its domain or "unknown"
(`domains.ABSENT`), and evaluates the whole rule base after every assignment in three-valued
logic (`reasoning.partial`: an unassigned fact is open). A branch is dropped as soon as the
target is false whatever the open facts turn out to be, and ends as soon as it is true whatever
they turn out to be; only a fact on an undetermined path of the target (followed down the
`concluded:` chains) is assigned next, values that make its test go the way the target needs
first. Kleene evaluation is sound, so dropping a branch never loses a patient, and the domains
hold one value of each class the rules can tell apart, so a search that runs out of branches is
a proof that no patient makes the target hold.

A combination that makes the target hold is written as a patient file (`Domains.patient_file`),
normalised as any file is, and evaluated again with nothing open: only a patient that passes is
a witness. Combinations no file gives are dropped on the way (`Domains.consistent`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cramp_expert.compile.predicates import fact_test
from cramp_expert.errors import InputError, Location
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import ConcludedCondition, Condition, ConditionGroup, FactCondition
from cramp_expert.patient import normalise_patient
from cramp_expert.reasoning.partial import PartialEvaluator, PartialOutcome, compile_condition
from cramp_expert.verify.domains import ABSENT, Domains
from cramp_expert.verify.implication import conjuncts

DEFAULT_BUDGET = 3000
"""Assignments tried per search before giving up undecided (each evaluates the rule base)."""

Status = Literal["found", "impossible", "undecided"]


@dataclass(frozen=True)
class Witness:
    """A patient that makes a target hold: the patient file and its normalised facts."""

    patient: dict[str, Any]
    facts: dict[str, Any]


@dataclass(frozen=True)
class Search:
    """The outcome of one search."""

    status: Status
    """`found` (see `witness`), `impossible` (no patient: a proof) or `undecided` (budget)."""
    witness: Witness | None
    nodes: int
    logical: bool = False
    """For `impossible`: no combination of fact values at all makes the target hold, even one
    no patient file gives (the conditions themselves contradict each other)."""


def all_of(*parts: Condition) -> ConditionGroup:
    """A target made of several conditions that must all hold."""
    return ConditionGroup("all", tuple(parts), Location(""))


def any_of(*parts: Condition) -> ConditionGroup:
    """A target made of alternatives."""
    return ConditionGroup("any", tuple(parts), Location(""))


def none_of(*parts: Condition) -> ConditionGroup:
    """A target that holds when none of `parts` does."""
    return ConditionGroup("none", tuple(parts), Location(""))


def _never_open(fact_id: str) -> bool:
    return False


@dataclass
class _Node:
    assigned: dict[str, Any]
    outcome: PartialOutcome


@dataclass
class Solver:
    """Searches one knowledge base; build once and search for many targets."""

    kb: KnowledgeBase
    extra: tuple[Condition, ...] = ()
    """Conditions besides the rules' that targets test (declarations): their facts are searched."""
    budget: int = DEFAULT_BUDGET
    evaluator: PartialEvaluator = field(init=False)
    domains: Domains = field(init=False)

    def __post_init__(self) -> None:
        self.evaluator = PartialEvaluator(self.kb)
        self.domains = Domains(self.kb, self.extra)
        self._compiled: dict[int, tuple[Condition, Callable[[PartialOutcome], Any]]] = {}

    # --- evaluation ---------------------------------------------------------------------------
    def _truth(self, target: Condition) -> Callable[[PartialOutcome], Any]:
        key = id(target)
        if key not in self._compiled:
            # Keep the condition alive with its closure, so that its id is never reused.
            self._compiled[key] = (target, compile_condition(target))
        return self._compiled[key][1]

    def outcome(self, facts: Mapping[str, Any]) -> PartialOutcome:
        """The rule base evaluated on a finished patient's facts (nothing open)."""
        return self.evaluator.evaluate(facts, _never_open)

    def holds(self, target: Condition, facts: Mapping[str, Any]) -> bool:
        """Whether `target` holds for a finished patient's facts."""
        return self._truth(target)(self.outcome(facts)) is True

    def realise(self, assigned: Mapping[str, Any], target: Condition) -> Witness | None:
        """The patient file for an assignment, if it exists and really makes `target` hold."""
        patient = self.domains.patient_file(assigned)
        if patient is None:
            return None
        try:
            facts = normalise_patient(patient, self.kb.knowledge).values
        except InputError:
            return None
        return Witness(patient, facts) if self.holds(target, facts) else None

    # --- the search ---------------------------------------------------------------------------
    def find(self, target: Condition, budget: int | None = None) -> Search:
        """Search for a patient for whom `target` holds.

        The target is first split into cases at its top-level alternatives (`any`), and each
        case is first tried by assuming the conclusions it needs: if the case is false whatever
        the facts are, even with those conclusions granted, no patient can make it hold.
        """
        limit = self.budget if budget is None else budget
        self.domains.cover([target])
        nodes, undecided, logical = 0, False, True
        for case in _cases(target):
            if self._refuted(case):
                nodes += 1
                continue
            result = self._search(case, limit)
            nodes += result.nodes
            if result.status == "found":
                return Search("found", result.witness, nodes)
            undecided = undecided or result.status == "undecided"
            logical = logical and result.logical
        if undecided:
            return Search("undecided", None, nodes)
        return Search("impossible", None, nodes, logical=logical)

    def _refuted(self, case: Condition) -> bool:
        """Whether `case` is false for every patient, granted one of the conclusions it needs.

        Granting X means the rules that test X read it as concluded, whatever the facts: if
        the case is still false with every fact open, no patient with X concluded satisfies it,
        and X is needed. (Granting them all at once would grant the case itself.)
        """
        variables = self.domains.variables.__contains__
        truth = self._truth(case)
        for part in conjuncts(case):
            if isinstance(part, ConcludedCondition):
                granted = {part.conclusion: True}
                if truth(self.evaluator.evaluate({}, variables, granted)) is False:
                    return True
        return False

    def _search(self, target: Condition, limit: int) -> Search:
        truth = self._truth(target)
        variables = self.domains.variables
        root = self.evaluator.evaluate({}, variables.__contains__)
        stack = [_Node({}, root)]
        nodes = 0
        refused = False  # some branch was dropped as no patient file gives it
        while stack:
            node = stack.pop()
            nodes += 1
            if nodes > limit:
                return Search("undecided", None, nodes)
            value = truth(node.outcome)
            if value is False:
                continue
            if value is True:
                witness = self.realise(node.assigned, target)
                if witness is not None:
                    return Search("found", witness, nodes)
                refused = True
                continue
            choice = self._pick(node.outcome, target, True, {})
            if choice is None:
                continue  # undetermined through facts no search decides: nothing to try
            leaf, want = choice
            for option in reversed(self._ordered(leaf, want)):
                assigned = {**node.assigned, leaf.fact: option}
                if not self.domains.consistent(assigned):
                    refused = True
                    continue
                values = {f: v for f, v in assigned.items() if v is not ABSENT}

                def is_open(fact_id: str, _assigned: dict[str, Any] = assigned) -> bool:
                    return fact_id in variables and fact_id not in _assigned

                outcome = self.evaluator.reevaluate(node.outcome, values, is_open, [leaf.fact])
                stack.append(_Node(assigned, outcome))
        return Search("impossible", None, nodes, logical=not refused)

    def _ordered(self, leaf: FactCondition, want: bool) -> list[Any]:
        """The leaf's fact's values, those that give the leaf the wanted truth first.

        "Unknown" leads when the leaf must fail (the smallest patient), and trails otherwise.
        """
        options = [*self.domains.values(leaf.fact), ABSENT]
        _, check, absent = fact_test(leaf)

        def test(value: Any) -> bool:
            return absent if value is ABSENT else check(value)

        good = [v for v in options if test(v) is want]
        bad = [v for v in options if test(v) is not want]
        if ABSENT in good:
            good = [ABSENT, *[v for v in good if v is not ABSENT]]
        return good + bad

    def _pick(
        self,
        outcome: PartialOutcome,
        condition: Condition,
        want: bool,
        costs: dict[int, int],
    ) -> tuple[FactCondition, bool] | None:
        """An open fact test on an undetermined path of `condition`, and the truth it needs.

        The truth is the one the test should have for `condition` to become `want`. The cheapest undetermined part is followed first (fewest open tests behind it): a test
        the target needs directly is decided before a long chain, so a contradiction between
        the two shows after one assignment rather than after the whole chain.
        """
        if outcome.truth(condition) is not None:
            return None
        if isinstance(condition, FactCondition):
            return (condition, want) if outcome.is_open(condition.fact) else None
        steps: list[tuple[Condition, bool]]
        if isinstance(condition, ConcludedCondition):
            # Concluded = some rule concludes it and none excludes it.
            cid = condition.conclusion
            steps = [
                (rule.when, wanted)
                for rules, wanted in (
                    (self.evaluator.concluders(cid), want),
                    (self.evaluator.excluders(cid), not want),
                )
                for rule in rules
                if outcome.rule_truth[rule.id] is None
            ]
        else:
            inner = not want if condition.kind == "none" else want
            steps = [(item, inner) for item in condition.items]
        steps.sort(key=lambda step: self._cost(outcome, step[0], costs))
        for item, wanted in steps:
            found = self._pick(outcome, item, wanted, costs)
            if found is not None:
                return found
        return None

    def _cost(self, outcome: PartialOutcome, condition: Condition, costs: dict[int, int]) -> int:
        """How many open fact tests lie on the undetermined paths of `condition` (chains too)."""
        key = id(condition)
        if key in costs:
            return costs[key]
        costs[key] = 10**6  # a chain is never followed back into itself (strata forbid it)
        if outcome.truth(condition) is not None:
            cost = 0
        elif isinstance(condition, FactCondition):
            cost = 1
        elif isinstance(condition, ConcludedCondition):
            cid = condition.conclusion
            cost = sum(
                self._cost(outcome, rule.when, costs)
                for rule in (*self.evaluator.concluders(cid), *self.evaluator.excluders(cid))
                if outcome.rule_truth[rule.id] is None
            )
        else:
            cost = sum(self._cost(outcome, item, costs) for item in condition.items)
        costs[key] = cost
        return cost


MAX_CASES = 64
"""At most this many cases per target (alternatives beyond are searched together)."""


def _cases(target: Condition) -> list[Condition]:
    """`target` split at its top-level alternatives: it holds when one of the cases does."""
    cases = [target]
    while True:
        split: list[Condition] = []
        for case in cases:
            parts = conjuncts(case)
            index = next(
                (
                    i
                    for i, p in enumerate(parts)
                    if isinstance(p, ConditionGroup) and p.kind == "any" and p.items
                ),
                None,
            )
            if index is None:
                split.append(case)
                continue
            alternatives = parts[index].items  # type: ignore[union-attr]
            rest = parts[:index] + parts[index + 1 :]
            split.extend(all_of(*rest, alternative) for alternative in alternatives)
        if split == cases or len(split) > MAX_CASES:
            return cases
        cases = split


__all__ = ["DEFAULT_BUDGET", "Search", "Solver", "Witness", "all_of", "any_of", "none_of"]
