"""Robustness of a result to what is unknown: what holds regardless, what depends, what to ask.

Every fact the patient file does not give is open (it could turn out either way), except a fact
that stays unknown whatever is learnt (`patient.inputs.settled_absent`). The rule base is then
evaluated in three-valued logic (`reasoning.partial`):

- a concluded id whose truth is True holds whatever the unknown facts turn out to be;
- a concluded id whose truth is undetermined could be lost, a not-concluded one could be added,
  and each lists the open facts that could decide it;
- the most informative missing fact is the one that, known, decides the most open ids for every
  value it could take (values on both sides of every threshold the rules compare it with).

`robustness` answers all three from one evaluation of the rule base over every "world" (one
open fact set to one of its values), bit-parallel (`reasoning.worlds`); `robustness_reference`
is the first version, one trial evaluation per value, kept to test it against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Set
from itertools import chain, compress, repeat
from operator import eq
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.patient.inputs import CONDITIONS, MEDICATIONS, fact_inputs, settled_absent
from cramp_expert.reasoning.partial import IsOpen, PartialEvaluator, PartialOutcome
from cramp_expert.reasoning.worlds import (
    Worlds,
    WorldState,
    candidate_values,
    distinct_candidates,
    worlds_of,
)
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
    """The robustness section of a result for a patient whose known facts are `values`.

    One evaluation of the rule base over every world (`reasoning.worlds`) answers it all: what
    holds and what is open from the base world, the open facts of each open id from the same
    pass, and what each open fact decides from its worlds. `robustness_reference` computes the
    same section by trying values one at a time; tests/reasoning holds the two equal.
    """
    worlds = worlds_of(evaluator)
    state = worlds.evaluate(values, worlds.open_facts(values))
    return robustness_section(evaluator, state, concluded)


def robustness_section(
    evaluator: PartialEvaluator, state: WorldState, concluded: Set[str]
) -> Robustness:
    """The robustness section read from one patient's evaluation over every world."""
    static = _static(evaluator)
    conclusion = state.conclusion
    holds = sorted((c for c in concluded if conclusion(c)[0] & 1), key=static.order)
    open_ids: list[tuple[str, int, _Open]] = []
    known, truths = static.open_ids, state.truths
    for cid, single in static.reported_rules:
        # An id with one rule has that rule's masks (`Worlds.single`): read without a call.
        t, f, s = truths[single] if single >= 0 else conclusion(cid)
        if not (t | f) & 1:
            # Open: with the worlds it is determined in, and the open facts it depends on.
            key = (cid, s, cid in concluded)
            found = known.get(key)
            if found is None:
                found = static.open_id(state.worlds, *key)
            open_ids.append((cid, t | f, found))
    return Robustness(
        unknown_facts=len(state.open),
        holds_regardless=tuple(holds),
        depends_on_unknowns=tuple(found.dependence for _, _, found in open_ids),
        most_informative=_most_informative(static, state, open_ids),
    )


def robustness_reference(
    evaluator: PartialEvaluator, values: Mapping[str, Any], concluded: Set[str]
) -> Robustness:
    """`robustness` as first written: the reference the bit-parallel one is tested against.

    A three-valued evaluation, the open facts of each open id collected from it, then a search
    that tries each open fact's values one at a time (`most_informative_reference`).
    """
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
        most_informative=most_informative_reference(evaluator, outcome, facts_of),
    )


def _could(cid: str, concluded: Set[str]) -> str:
    return "be lost" if cid in concluded else "be added"


NOT_NEXT_WHEN_PRESSING = ("lifestyle.", "cramps.")
"""Questions never offered as the next step beside an emergency or urgent red flag."""


def most_informative_reference(
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
        trial = evaluator.trial(outcome, fact_id)
        for value in distinct_candidates(fact, evaluator):
            if decided <= sure[fact_id]:
                break
            unsure = frozenset(decided - sure[fact_id])
            decided = evaluator.decided_by(outcome, fact_id, value, unsure, trial) | sure[fact_id]
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
    return _next_step(knowledge, best[1], best[2], values)


def _next_step(
    knowledge: Knowledge, fact_id: str, decided_ids: list[str], values: Mapping[str, Any]
) -> NextStep:
    ask = [i for i in fact_inputs(fact_id) if i not in values] or [fact_id]
    action = describe_inputs(knowledge, fact_id, values)
    return NextStep(
        fact=fact_id,
        ask=tuple(ask),
        action=action,
        decides=tuple(decided_ids),
        text=f"{action} [{', '.join(ask)}]: it decides {', '.join(decided_ids)}",
    )


class _Static:
    """What the robustness section needs of a knowledge base, worked out once."""

    def __init__(self, evaluator: PartialEvaluator):
        knowledge = self.knowledge = evaluator.kb.knowledge
        self.rank = {cid: _kind_rank(knowledge, cid) for cid in knowledge.conclusions}
        self.reported = tuple(sorted(evaluator.reported, key=self.order))
        """The reported ids in the order a result lists them."""
        single = worlds_of(evaluator).single
        self.reported_rules = tuple((cid, single.get(cid, -1)) for cid in self.reported)
        """`reported`, each with its one rule's position (-1: several rules)."""
        self.weight = {cid: _WEIGHT.get(c.kind, 1) for cid, c in knowledge.conclusions.items()}
        """Conclusion id -> its part of a score (see `_WEIGHT`)."""
        self.flags = tuple(
            (flag.id, flag.urgency in ("emergency", "urgent"), flag.emergency_if)
            for flag in knowledge.conclusions_of("red_flag")
        )
        self.held_back: dict[Worlds, int] = {}
        """The bits of the facts never asked beside a pressing red flag (NOT_NEXT_WHEN_PRESSING)."""
        self.open_ids: dict[tuple[str, int, bool], _Open] = {}
        """(id, its open facts, concluded) -> `open_id`: the same sets come back patient after
        patient (9 times in 10 on generated patients), and a dependence entry is immutable."""

    def order(self, cid: str) -> tuple[int, str]:
        """A result's order of conclusion ids: by kind (red flags first), then id."""
        return (self.rank[cid], cid)

    def open_id(self, worlds: Worlds, cid: str, facts: int, concluded: bool) -> _Open:
        """What the section needs of an open id that depends on the open `facts` (bits)."""
        names = worlds.fact_names(facts)
        held = self.held_back.get(worlds)
        if held is None:
            held = self.held_back[worlds] = sum(
                worlds.fact_bit[f] for f in worlds.facts if f.startswith(NOT_NEXT_WHEN_PRESSING)
            )
        found = _Open(
            Dependence(cid, concluded, "be lost" if concluded else "be added", names),
            self.weight[cid],
            facts,
            len(names) == 1,
            (names, worlds.fact_names(facts & ~held) if facts & held else names),
            {},
        )
        if len(self.open_ids) > 65536:  # bounded: one entry per id and set of facts met
            self.open_ids.clear()
        self.open_ids[(cid, facts, concluded)] = found
        return found


class _Open(NamedTuple):
    """An open id's dependence entry, and what the search reads of it."""

    dependence: Dependence
    weight: int
    facts: int
    """The open facts the id depends on (bits over the tested facts)."""
    single: bool
    """The id depends on one open fact only: that fact surely decides it."""
    names: tuple[tuple[str, ...], tuple[str, ...]]
    """The names of `facts`, then of those asked beside a pressing red flag (indexed by whether
    one is pressing: NOT_NEXT_WHEN_PRESSING)."""
    decided: dict[int, tuple[tuple[str, ...], tuple[str, ...]]]
    """The worlds the id is determined in -> `names` less the facts that do not decide it
    (see `_decided`): the same worlds come back patient after patient."""


def _decided(
    entry: _Open, covered: int, world_bits: Mapping[str, int]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The open facts that decide `entry`'s id, among its names (both, see `_Open.names`).

    A fact decides the id when the id is determined (the worlds `covered`) in each of the
    fact's worlds. Kept on the entry: the same worlds come back patient after patient.
    """
    found = entry.decided.get(covered)
    if found is None:
        names, kept = entry.names
        # The facts whose worlds `covered` holds, picked in C: a first pass meets thousands of
        # new (id, worlds) pairs, some with dozens of open facts.
        mine = tuple(map(world_bits.get, names, repeat(0)))
        decide = tuple(compress(names, map(eq, map(covered.__and__, mine), mine)))
        found = (decide, decide if kept is names else tuple(f for f in decide if f in kept))
        if len(entry.decided) < 64:  # bounded: one per set of worlds met
            entry.decided[covered] = found
    return found


_FIELD = 1 << 20
_WEIGHT = {"red_flag": _FIELD * _FIELD + 1, "cause": _FIELD + 1}
"""The reference's score (red flags, then causes, then every id) as one int, the greater the
better: the sum of the ids' weights counts each in its own 20-bit field (a knowledge base has
far fewer than 2**20 conclusions)."""

_STATIC: WeakKeyDictionary[PartialEvaluator, _Static] = WeakKeyDictionary()


def _static(evaluator: PartialEvaluator) -> _Static:
    found = _STATIC.get(evaluator)
    if found is None:
        found = _STATIC[evaluator] = _Static(evaluator)
    return found


def _most_informative(
    static: _Static, state: WorldState, open_ids: list[tuple[str, int, _Open]]
) -> NextStep | None:
    """`most_informative_reference`, read from the evaluation over every world.

    A fact decides an open id when the id is determined in each of the fact's worlds (or when
    it is the id's only open fact, as the reference counts it). What each fact decides and
    bounds is added up in one sweep; the facts are then looked at in the reference's order with
    its stopping rules, so the answer is the reference's: the first fact, by (bound, fact id),
    with the best score.
    """
    conclusion = state.conclusion
    world_bits = state.worlds.world_bits
    # While an emergency or urgent red flag stands, the next step is never a lifestyle or
    # cramp-history question (clinical brief 8.7): the flag is the plan.
    pressing = any(
        conclusion(flag)[0] & 1 and (urgent or bool(also and conclusion(also)[0] & 1))
        for flag, urgent, also in static.flags
    )
    # A fact's bound: the weights of the ids that depend on it, summed; the facts are counted
    # per weight (an id's kind), by Counter over their names, and weighed below.
    by_weight: dict[int, list[tuple[str, ...]]] = {}
    decides: dict[str, int] = {}
    sure: dict[str, int] = {}
    for _, covered, entry in open_ids:
        weight = entry.weight
        names = entry.names[pressing]
        group = by_weight.get(weight)
        if group is None:
            by_weight[weight] = [names]
        else:
            group.append(names)
        if entry.single:
            # An id that depends on one open fact only is decided by it, whatever its value.
            for fact_id in names:
                sure[fact_id] = sure.get(fact_id, 0) + weight
                decides[fact_id] = decides.get(fact_id, 0) + weight
            continue
        # A fact decides the id when the id is determined in each of the fact's worlds.
        found = entry.decided.get(covered) or _decided(entry, covered, world_bits)
        for fact_id in found[pressing]:
            decides[fact_id] = decides.get(fact_id, 0) + weight
    # Only a fact that decides something can be the best, and the facts are looked at by
    # bound, greatest first: a fact that decides nothing would only have stopped the search
    # where the next fact that decides something stops it (bounds only fall, the best only
    # grows), so only those are ranked, and only their bounds are weighed.
    counted = [
        (weight, Counter(chain.from_iterable(groups))) for weight, groups in by_weight.items()
    ]
    ranked = []
    for fact_id in decides:
        most = 0
        for weight, counts in counted:
            most += weight * counts.get(fact_id, 0)
        ranked.append((-most, fact_id))
    ranked.sort()  # by bound, greatest first, then fact id
    surely = max(sure.values(), default=0)  # the best score is at least what a fact surely decides
    knowledge = static.knowledge
    best, best_score = "", 0
    for negative, fact_id in ranked:
        most = -negative
        if most <= best_score or most < surely:
            break  # a fact decides at most its bound: none left can beat the best
        if knowledge.fact(fact_id) is None:
            continue
        score = decides.get(fact_id, 0)
        if score > best_score:
            best, best_score = fact_id, score
    if not best:
        return None
    decided = []
    bit, worlds = state.worlds.fact_bit[best], world_bits.get(best, 0)
    for cid, covered, entry in open_ids:
        if entry.facts & bit and (entry.single or covered & worlds == worlds):
            decided.append(cid)
    return _next_step(knowledge, best, sorted(decided, key=static.order), state.values)


__all__ = [
    "candidate_values",
    "describe_inputs",
    "distinct_candidates",
    "file_is_open",
    "most_informative_reference",
    "robustness",
    "robustness_reference",
    "robustness_section",
]
