"""Robustness of a result to what is unknown: what holds regardless, what depends, what to ask.

Every fact the patient file does not give is open (it could turn out either way), except a fact
that stays unknown whatever is learnt (`patient.inputs.settled_absent`). The rule base is then
evaluated in three-valued logic (`reasoning.partial`):

- a concluded id whose truth is True holds whatever the unknown facts turn out to be;
- a concluded id whose truth is undetermined could be lost, a not-concluded one could be added,
  and each lists the open facts that could decide it;
- the most informative missing fact is the one that, known, decides the most open ids for every
  value it could take (values on both sides of every threshold the rules compare it with).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Set
from typing import Any
from weakref import WeakKeyDictionary

from cramp_expert.compile.predicates import predicate
from cramp_expert.kb.knowledge import FactDef, Knowledge
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS, fact_inputs, settled_absent
from cramp_expert.reasoning.partial import IsOpen, PartialEvaluator, PartialOutcome
from cramp_expert.result import Dependence, NextStep, Robustness

KIND_ORDER = ("red_flag", "cause", "differential", "recommendation", "investigation")


def file_is_open(values: Mapping[str, Any], facts: Iterable[str] | None = None) -> IsOpen:
    """Open facts of a finished patient file: every unknown fact that could still be learnt.

    Given the facts that matter (those the rules test), the answer is computed once for each.
    """
    if facts is not None:
        return frozenset(
            f for f in facts if f not in values and not settled_absent(f, values)
        ).__contains__

    def is_open(fact_id: str) -> bool:
        return fact_id not in values and not settled_absent(fact_id, values)

    return is_open


def candidate_values(fact: FactDef, evaluator: PartialEvaluator) -> list[Any]:
    """Values a fact could take that cover every outcome of the rules' tests on it.

    Numbers: each threshold a rule compares the fact with, a point between each two, one beyond
    the outermost, and the range's ends. Yes/no: both. Choices: each. Lists: none, each value
    alone, and all of them.
    """
    if fact.type == "bool":
        return [True, False]
    if fact.type == "choice":
        return list(fact.values)
    if fact.type == "list":
        return [frozenset(), *(frozenset({v}) for v in fact.values), frozenset(fact.values)]
    edges: set[float] = set()
    for rule in evaluator.rules_testing(fact.id):
        for condition in rule.fact_conditions():
            if condition.fact != fact.id:
                continue
            refs = condition.value if condition.op == "between" else (condition.value,)
            edges.update(float(v) for v in refs if isinstance(v, int | float))
    low, high = fact.range or (min(edges, default=0.0), max(edges, default=1.0))
    ordered = sorted(edges)
    # Every outcome of `<`, `<=`, `>`, `>=` and `between` on these edges is reached by an edge
    # itself or a point strictly between two edges (or beyond the outermost ones).
    points: set[float] = {low, high, *ordered}
    points.update((a + b) / 2 for a, b in itertools.pairwise(ordered))
    if ordered:
        step = 0.001 * max(1.0, abs(ordered[0]), abs(ordered[-1]))
        points.update({ordered[0] - step, ordered[-1] + step})
    return sorted(p for p in points if low <= p <= high)


_DISTINCT: WeakKeyDictionary[PartialEvaluator, dict[str, list[Any]]] = WeakKeyDictionary()


def distinct_candidates(fact: FactDef, evaluator: PartialEvaluator) -> list[Any]:
    """`candidate_values`, less the values every rule's test of the fact treats alike.

    Two values on which each condition on the fact holds or fails alike give the same
    evaluation of the whole rule base, so one of them is enough (edges, the range's ends and
    the points beyond the outermost edges often coincide in this way). Computed once per fact
    and knowledge base.
    """
    known = _DISTINCT.setdefault(evaluator, {})
    if fact.id not in known:
        tests = [
            predicate(condition)
            for rule in evaluator.rules_testing(fact.id)
            for condition in rule.fact_conditions()
            if condition.fact == fact.id and condition.op != "known"
        ]
        seen: set[tuple[bool, ...]] = set()
        distinct = []
        for value in candidate_values(fact, evaluator):
            signature = tuple(bool(test(value)) for test in tests)
            if signature not in seen:
                seen.add(signature)
                distinct.append(value)
        known[fact.id] = distinct
    return known[fact.id]


def _kind_rank(knowledge: Knowledge, cid: str) -> int:
    kind = knowledge.conclusions[cid].kind
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def describe_inputs(knowledge: Knowledge, fact_id: str, values: Mapping[str, Any]) -> str:
    """What to do to learn a fact: `measure Serum magnesium`, `find out Low back pain?`."""
    inputs = [i for i in fact_inputs(fact_id) if i not in values]
    if not inputs:
        inputs = [fact_id]
    names = []
    for entry in inputs:
        if entry == MEDICATIONS:
            names.append("the medication list")
        elif entry == CONDITIONS:
            names.append("the problem list")
        else:
            fact = knowledge.fact(entry)
            names.append(fact.label if fact else entry)
    verb = "measure" if all(i.startswith("labs.") for i in inputs) else "find out"
    return f"{verb} {' and '.join(names)}"


def robustness(
    evaluator: PartialEvaluator, values: Mapping[str, Any], concluded: Set[str]
) -> Robustness:
    """The robustness section of a result for a patient whose known facts are `values`."""
    knowledge = evaluator.kb.knowledge
    tested = evaluator.facts_tested()
    is_open = file_is_open(values, tested)
    outcome = evaluator.evaluate(values, is_open)

    def order(cid: str) -> tuple[int, str]:
        return (_kind_rank(knowledge, cid), cid)

    holds = sorted((c for c in concluded if outcome.concluded(c) is True), key=order)
    open_ids = sorted(
        (c for c in evaluator.reported if outcome.concluded(c) is None),
        key=order,
    )
    facts_of = evaluator.open_facts_by_conclusion(outcome)
    depends = tuple(
        Dependence(
            cid, cid in concluded, _could(cid, concluded), tuple(sorted(facts_of.get(cid, ())))
        )
        for cid in open_ids
    )
    return Robustness(
        unknown_facts=sum(1 for f in tested if is_open(f)),
        holds_regardless=tuple(holds),
        depends_on_unknowns=depends,
        most_informative=most_informative(evaluator, outcome, facts_of),
    )


def _could(cid: str, concluded: Set[str]) -> str:
    return "be lost" if cid in concluded else "be added"


NOT_NEXT_WHEN_PRESSING = ("lifestyle.", "cramps.")
"""Questions never offered as the next step beside an emergency or urgent red flag."""


def most_informative(
    evaluator: PartialEvaluator,
    outcome: PartialOutcome,
    facts_of: Mapping[str, frozenset[str]],
) -> NextStep | None:
    """The open fact that, once known, decides the most open ids whatever its value.

    "Most" counts red flags first, then causes, then every id. An id can be decided by a fact
    only if it depends on it, which bounds each fact's score, and an id that depends on one open
    fact only is surely decided by it. Facts are tried best bound first; the search stops when
    no remaining bound can beat the best score found (or reach what some fact surely decides),
    and a fact's values stop being tried as soon as what it still decides cannot beat it.
    """
    knowledge = evaluator.kb.knowledge
    values = outcome.values

    def score(ids: Iterable[str]) -> tuple[int, int, int]:
        kinds = [knowledge.conclusions[c].kind for c in ids]
        return (-kinds.count("red_flag"), -kinds.count("cause"), -len(kinds))

    # While an emergency or urgent red flag stands, the next step is never a lifestyle or
    # cramp-history question (clinical brief 8.7): the flag is the plan.
    pressing = any(
        outcome.concluded(flag.id) is True
        and (
            flag.urgency in ("emergency", "urgent")
            or (flag.emergency_if and outcome.concluded(flag.emergency_if) is True)
        )
        for flag in knowledge.conclusions_of("red_flag")
    )
    dependents: dict[str, list[str]] = {}
    for cid, facts in facts_of.items():
        definition = knowledge.conclusions.get(cid)
        if definition is not None and definition.kind != "state" and outcome.concluded(cid) is None:
            for fact_id in facts:
                if pressing and fact_id.startswith(NOT_NEXT_WHEN_PRESSING):
                    continue
                dependents.setdefault(fact_id, []).append(cid)
    bound = {fact_id: score(ids) for fact_id, ids in dependents.items()}
    # An id that depends on one open fact only is decided by it, whatever its value: no trial
    # is needed for it, and what a fact surely decides bounds the best score from the start.
    sure = {
        fact_id: {cid for cid in ids if facts_of[cid] == {fact_id}}
        for fact_id, ids in dependents.items()
    }
    surely = min((score(ids) for ids in sure.values() if ids), default=(0, 0, 0))
    ranked = sorted(dependents, key=lambda f: (bound[f], f))
    best: tuple[tuple[int, int, int], str, list[str]] | None = None
    for fact_id in ranked:
        # A fact decides at most its dependents, so it can beat the best only with a better
        # bound (a tie keeps the fact found first), and it can be the best only if its bound
        # reaches what some fact surely decides.
        if (best is not None and bound[fact_id] >= best[0]) or bound[fact_id] > surely:
            break
        fact = knowledge.fact(fact_id)
        if fact is None:
            continue
        decided = set(dependents[fact_id])
        for value in distinct_candidates(fact, evaluator):
            if decided <= sure[fact_id]:
                break
            unsure = frozenset(decided - sure[fact_id])
            decided = evaluator.decided_by(outcome, fact_id, value, unsure) | sure[fact_id]
            if not decided or (best is not None and score(decided) >= best[0]):
                break  # what is left cannot beat the best any more
        if decided and (best is None or score(decided) < best[0]):
            best = (
                score(decided),
                fact_id,
                sorted(decided, key=lambda c: (_kind_rank(knowledge, c), c)),
            )
    if best is None:
        return None
    _, fact_id, decided_ids = best
    ask = [i for i in fact_inputs(fact_id) if i not in values] or [fact_id]
    action = describe_inputs(knowledge, fact_id, values)
    return NextStep(
        fact=fact_id,
        ask=tuple(ask),
        action=action,
        decides=tuple(decided_ids),
        text=f"{action} [{', '.join(ask)}]: it decides {', '.join(decided_ids)}",
    )


__all__ = [
    "candidate_values",
    "describe_inputs",
    "distinct_candidates",
    "file_is_open",
    "most_informative",
    "robustness",
]
