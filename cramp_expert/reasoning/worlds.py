"""The rule base evaluated in every "world" of one patient at once, bit-parallel.

Robustness asks, for each open fact and each value it could take, which open conclusions that
value decides (`PartialEvaluator.decided_by`). Each such question is a *world*: the patient's
facts with that one open fact set to that value, every other open fact still open. This module
numbers the worlds once per knowledge base, bit 0 being the *base* world (every open fact open)
and one bit per (tested fact, distinct candidate value), and evaluates the rule base over all of
them in one pass, with Python ints as bit sets.

A three-valued truth over the worlds is two ints `(T, F)`: bit w of T is set when the condition
is True in world w, of F when it is False, neither when it is undetermined there. Kleene's
connectives become bit operations: `all` is (AND of the Ts, OR of the Fs), `any` is (OR of the
Ts, AND of the Fs), `none` is `any` with T and F swapped. A fact leaf is the only place a world
differs from another: on an open fact, its masks are fixed per knowledge base (True in the
worlds of the fact's values that pass its test, False in the others, undetermined in every
other world); on a known or settled-absent fact, it is True or False in every world.

Every condition tree is compiled once into closures over those masks (nothing from YAML is run
as code), and each closure also returns, for the base world, the open facts on its undetermined
paths (a bit set over the tested facts): what `PartialEvaluator.open_facts_by_conclusion`
collects. `reasoning.robustness` reads the whole robustness section from one evaluation; the
search it replaced stays as `robustness_reference`, and tests/reasoning holds the two equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, NamedTuple, TypeAlias
from weakref import WeakKeyDictionary

from cramp_expert.compile.predicates import MISSING, fact_test, predicate
from cramp_expert.kb.derived import entry
from cramp_expert.kb.knowledge import FactDef
from cramp_expert.kb.model import ConcludedCondition, Condition, ConditionGroup, FactCondition
from cramp_expert.reasoning.partial import PartialEvaluator

Masks: TypeAlias = tuple[int, int, int]
"""(worlds where True, worlds where False, the open facts on the undetermined paths of the base
world: read only where the base world is undetermined)."""

Closure: TypeAlias = Callable[["WorldState"], Masks]


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
    for condition in _conditions_on(evaluator).get(fact.id, ()):
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
_CONDITIONS: WeakKeyDictionary[PartialEvaluator, dict[str, list[FactCondition]]] = (
    WeakKeyDictionary()
)


def _conditions_on(evaluator: PartialEvaluator) -> dict[str, list[FactCondition]]:
    """Fact id -> every condition on it, rule by rule in firing order.

    One walk of the rules for every fact: the worlds need the candidates of each tested fact,
    and a single consultation pays for that walk.
    """
    found = _CONDITIONS.get(evaluator)
    if found is None:
        found = _CONDITIONS[evaluator] = {}
        for rule in evaluator.order:
            for condition in rule.fact_conditions():
                found.setdefault(condition.fact, []).append(condition)
    return found


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
            for condition in _conditions_on(evaluator).get(fact.id, ())
            if condition.op != "known"
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


COMBINATIONS_KEPT = 4096
"""At most this many sets of rule masks kept per conclusion id (see `Worlds.conclusion`)."""


class WorldState:
    """One patient's evaluation over every world: rule truths, conclusions, open facts."""

    __slots__ = ("concluded", "open", "open_bits", "truths", "values", "worlds")

    def __init__(self, worlds: Worlds, values: Mapping[str, Any], open_facts: frozenset[str]):
        self.worlds = worlds
        self.values = values
        self.open = open_facts
        self.open_bits = sum(map(worlds.fact_bit.__getitem__, open_facts))
        """The open facts as bits over the tested facts (`Worlds.fact_bit`)."""
        self.truths: list[Masks] = []
        """The masks of each rule's condition, in firing order."""
        self.concluded: dict[str, Masks] = {}
        """Conclusion id -> its `concluded` masks (worked out when first asked)."""

    def conclusion(self, cid: str) -> Masks:
        """Whether `cid` is concluded (some rule concludes it, none excludes it), per world.

        With the open facts its undetermined rules depend on, through the chain (bits): what
        `PartialEvaluator.open_facts_by_conclusion` gives for an id one of whose rules is
        undetermined in the base world.
        """
        found = self.concluded.get(cid)
        if found is None:
            found = self.concluded[cid] = self.worlds.conclusion(self, cid)
        return found


class _Leaf(NamedTuple):
    """A fact leaf compiled: its test, and its masks when the fact is open."""

    fact: str
    test: Callable[[Any], bool]
    absent: bool
    true: int
    false: int
    bit: int
    """The fact's bit among the tested facts."""


class _LeafPlan(NamedTuple):
    """A group's fact leaves for one set of open facts among them."""

    true: int
    false: int
    facts: int
    """The open leaves' masks, combined as the group combines them, and their facts' bits."""
    known: tuple[tuple[str, Callable[[Any], bool], bool], ...]
    """The other leaves (fact, test, absent), in order: tested on the patient's values."""


class _LeafPlans(dict[int, _LeafPlan]):
    """One group's `_LeafPlan` per set of open facts among its leaves (bits), made when first met.

    An open leaf's masks are fixed per knowledge base, so what the open leaves of a group give
    depends only on which of its facts are open: the same few sets come back patient after
    patient. Combining them (AND or OR is order-free) is done once per set; a known leaf that
    decides the group still decides it, tested in the leaves' order.
    """

    LIMIT = 1024
    """At most this many sets kept per group (one per set met; a group has a few leaves)."""

    def __init__(self, leaves: tuple[_Leaf, ...], conjunction: bool, everything: int):
        super().__init__()
        self.leaves = leaves
        self.conjunction = conjunction
        self.everything = everything

    def make(self, open_facts: int) -> _LeafPlan:
        """The plan for `open_facts` (the group's open leaf facts, as bits), kept for later."""
        if self.conjunction:  # `all`: True where every open leaf is, False where any is
            t, f = self.everything, 0
        else:  # `any`: True where any open leaf is, False where every one is
            t, f = 0, self.everything
        s = 0
        known = []
        for leaf in self.leaves:
            if leaf.bit & open_facts:
                if self.conjunction:
                    t &= leaf.true
                    f |= leaf.false
                else:
                    t |= leaf.true
                    f &= leaf.false
                s |= leaf.bit
            else:
                known.append((leaf.fact, leaf.test, leaf.absent))
        plan = _LeafPlan(t, f, s, tuple(known))
        if len(self) >= self.LIMIT:
            self.clear()
        self[open_facts] = plan
        return plan


_BITS = bytes.maketrans(b"01", b"\x00\x01")
"""`bin()`'s digits as bytes 0 and 1 (see `Worlds.fact_names`)."""


class Worlds:
    """The worlds of a knowledge base and its rules compiled over them; one per evaluator."""

    def __init__(self, evaluator: PartialEvaluator):
        knowledge = evaluator.kb.knowledge
        self.evaluator = evaluator
        self.facts: tuple[str, ...] = tuple(sorted(evaluator.facts_tested()))
        """The tested facts; fact i is bit i of an open-facts set (sorted: bits read in order)."""
        self.fact_bit = {fact: 1 << i for i, fact in enumerate(self.facts)}
        self.world_bits: dict[str, int] = {}
        """Fact id -> the bits of its worlds (one per distinct candidate value)."""
        self._values: dict[str, tuple[tuple[int, Any], ...]] = {}
        bit = 1  # bit 0: the base world
        for fact_id in self.facts:
            fact = knowledge.fact(fact_id)
            if fact is None:
                continue  # never tried (the reference search skips it): open in every world
            worlds = []
            for value in distinct_candidates(fact, evaluator):
                worlds.append((1 << bit, value))
                bit += 1
            self._values[fact_id] = tuple(worlds)
            self.world_bits[fact_id] = sum(b for b, _ in worlds)
        self.all = (1 << bit) - 1
        self._names: dict[int, tuple[str, ...]] = {}
        self.true: Masks = (self.all, 0, 0)
        self.false: Masks = (0, self.all, 0)
        # Which unknown facts are settled absent is asked per patient: the registry's test of
        # each fact is looked up here, once.
        settled = []
        for fact_id in self.facts:
            found = entry(fact_id)
            if found is not None and found.settled is not None:
                settled.append((fact_id, found.settled))
        self._settled = tuple(settled)
        self._plain = frozenset(self.facts) - {f for f, _ in settled}
        index = {rule.id: i for i, rule in enumerate(evaluator.order)}
        self._producers = {
            cid: (
                tuple(index[r.id] for r in evaluator.concluders(cid)),
                tuple(index[r.id] for r in evaluator.excluders(cid)),
            )
            for cid in {*evaluator._concluders, *evaluator._excluders}
        }
        """Conclusion id -> (its concluders, its excluders), as positions in firing order."""
        self._rows = {
            cid: itemgetter(*concluders, *excluders)
            for cid, (concluders, excluders) in self._producers.items()
            if len(concluders) + len(excluders) > 1
        }
        """Conclusion id -> its rules' masks as one tuple (for an id with two rules or more)."""
        self._combinations: dict[str, dict[tuple[Masks, ...], Masks]] = {
            cid: {} for cid in self._rows
        }
        """Conclusion id -> its rules' masks -> what `conclusion` answers for them."""
        self.single = {
            cid: concluders[0]
            for cid, (concluders, excluders) in self._producers.items()
            if len(concluders) == 1 and not excluders
        }
        """Conclusion id -> its one rule, for an id no other rule concludes or excludes: its
        masks are the rule's (the open facts the same too, where it is undetermined; where it
        is determined they are never read)."""
        self._rules = tuple(self._compile(rule.when) for rule in evaluator.order)

    def open_facts(self, values: Mapping[str, Any]) -> frozenset[str]:
        """The tested facts a finished patient file leaves open (as `file_is_open`)."""
        found = self._plain.difference(values)
        settled = [f for f, test in self._settled if f not in values and not test(f, values)]
        return found.union(settled) if settled else found

    def evaluate(self, values: Mapping[str, Any], open_facts: frozenset[str]) -> WorldState:
        """Every rule's masks, in firing order (conclusions are worked out when asked)."""
        state = WorldState(self, values, open_facts)
        append = state.truths.append
        for compiled in self._rules:
            append(compiled(state))
        return state

    def conclusion(self, state: WorldState, cid: str) -> Masks:
        """`PartialOutcome.concluded` in every world: a concluder fires and no excluder does."""
        truths = state.truths
        concluders, excluders = self._producers.get(cid, ((), ()))
        if len(concluders) == 1 and not excluders:
            return truths[concluders[0]]  # its one rule's masks (see `single`)
        rows = self._rows.get(cid)
        if rows is None:
            return self._combined(truths, concluders, excluders)
        # The id's rules' masks, picked in C: the same masks come back patient after patient
        # (a rule's masks depend on which of its facts are open and how its known ones test),
        # and what they combine to is kept per id.
        masks = rows(truths)
        known = self._combinations[cid]
        found = known.get(masks)
        if found is None:
            found = self._combined(truths, concluders, excluders)
            if len(known) >= COMBINATIONS_KEPT:  # bounded: one per set of masks met
                known.clear()
            known[masks] = found
        return found

    def _combined(
        self, truths: list[Masks], concluders: tuple[int, ...], excluders: tuple[int, ...]
    ) -> Masks:
        """What `conclusion` answers, worked out from the rules' masks."""
        # The open facts: those of each rule undetermined in the base world.
        positive_t, positive_f, facts = 0, self.all, 0
        for i in concluders:
            t, f, s = truths[i]
            positive_t |= t
            positive_f &= f
            if not (t | f) & 1:
                facts |= s
        if not excluders:
            return (positive_t, positive_f, facts)
        negative_t, negative_f = 0, self.all
        for i in excluders:
            t, f, s = truths[i]
            negative_t |= t
            negative_f &= f
            if not (t | f) & 1:
                facts |= s
        return (positive_t & negative_f, positive_f | negative_t, facts)

    def fact_names(self, bits: int) -> tuple[str, ...]:
        """The fact ids of a bit set over the tested facts, sorted."""
        names = self._names.get(bits)
        if names is None:
            # The bits as bytes 0/1, lowest first, select the facts (all in C: a first pass
            # over new patients meets thousands of sets, two dozen facts each).
            names = tuple(
                itertools.compress(self.facts, bin(bits)[:1:-1].encode().translate(_BITS))
            )
            if len(self._names) > 16384:  # bounded: one entry per set met
                self._names.clear()
            self._names[bits] = names
        return names

    def _leaf(self, condition: FactCondition) -> _Leaf:
        fact, test, absent = fact_test(condition)
        true = false = 0
        for bit, value in self._values.get(fact, ()):
            if test(value):
                true |= bit
            else:
                false |= bit
        return _Leaf(fact, test, absent, true, false, self.fact_bit.get(fact, 0))

    def _compile(self, condition: Condition) -> Closure:
        """One condition tree as a closure from a patient's state to its masks."""
        true, false = self.true, self.false
        if isinstance(condition, FactCondition):
            leaf = self._leaf(condition)
            fact, test, absent = leaf.fact, leaf.test, leaf.absent
            masks = (leaf.true, leaf.false, leaf.bit)

            def fact_leaf(state: WorldState) -> Masks:
                if fact in state.open:
                    return masks
                value = state.values.get(fact, MISSING)
                return true if (absent if value is MISSING else test(value)) else false

            return fact_leaf
        if isinstance(condition, ConcludedCondition):
            conclusion = condition.conclusion

            def concluded(state: WorldState) -> Masks:
                return state.conclusion(conclusion)

            return concluded
        items = _flat(condition)
        if condition.kind != "none" and len(items) == 1:
            return self._compile(items[0])  # `all` or `any` of one condition: that condition
        # A group's fact tests and `concluded` tests are made inline, the other parts through
        # their closures: a call less per leaf.
        leaves = tuple(self._leaf(item) for item in items if isinstance(item, FactCondition))
        conclusions = tuple(
            (item.conclusion, self.single.get(item.conclusion, -1))
            for item in items
            if isinstance(item, ConcludedCondition)
        )
        parts = tuple(
            self._compile(item)
            for item in items
            if not isinstance(item, FactCondition | ConcludedCondition)
        )
        everything = self.all
        # Every leaf tests a tested fact, so each has its bit (which `_LeafPlans` reads).
        assert all(leaf.bit for leaf in leaves)
        leaf_bits = sum({leaf.bit for leaf in leaves})
        plans = _LeafPlans(leaves, condition.kind == "all", everything)
        # `any_of` is `all_of` with True and False swapped (De Morgan), written out twice on
        # purpose: one shared body would swap the masks of every part on every call, and these
        # two closures are the inner loop of every robustness section.

        def all_of(state: WorldState) -> Masks:
            # The open leaves' masks, combined once per set of open facts among them (a
            # patient leaves most tested facts open); the known leaves are tested, in order.
            here = leaf_bits & state.open_bits
            t, f, s, tested = plans.get(here) or plans.make(here)
            if tested:
                values = state.values
                for fact, test, absent in tested:
                    value = values.get(fact, MISSING)
                    if not (absent if value is MISSING else test(value)):
                        return false
            if conclusions:
                known, truths = state.concluded, state.truths
                for cid, single in conclusions:
                    if single >= 0:
                        part_t, part_f, part_s = truths[single]
                    else:
                        part_t, part_f, part_s = known.get(cid) or state.conclusion(cid)
                    if part_f & 1:  # False in the base world, so in every world
                        return false
                    t &= part_t
                    f |= part_f
                    if not part_t & 1:
                        s |= part_s
            for part in parts:
                part_t, part_f, part_s = part(state)
                if part_f & 1:
                    return false
                t &= part_t
                f |= part_f
                if not part_t & 1:
                    s |= part_s
            return (t, f, s)

        def any_of(state: WorldState) -> Masks:
            here = leaf_bits & state.open_bits
            t, f, s, tested = plans.get(here) or plans.make(here)
            if tested:
                values = state.values
                for fact, test, absent in tested:
                    value = values.get(fact, MISSING)
                    if absent if value is MISSING else test(value):
                        return true
            if conclusions:
                known, truths = state.concluded, state.truths
                for cid, single in conclusions:
                    if single >= 0:
                        part_t, part_f, part_s = truths[single]
                    else:
                        part_t, part_f, part_s = known.get(cid) or state.conclusion(cid)
                    if part_t & 1:  # True in the base world, so in every world
                        return true
                    t |= part_t
                    f &= part_f
                    if not part_f & 1:
                        s |= part_s
            for part in parts:
                part_t, part_f, part_s = part(state)
                if part_t & 1:
                    return true
                t |= part_t
                f &= part_f
                if not part_f & 1:
                    s |= part_s
            return (t, f, s)

        if condition.kind == "all":
            return all_of
        if condition.kind == "any":
            return any_of

        def none_of(state: WorldState) -> Masks:
            t, f, s = any_of(state)
            return (f, t, s)

        return none_of


def _flat(group: ConditionGroup) -> list[Condition]:
    """A group's parts, a part of the same kind (`all` in `all`, `any` in `any`) by its parts.

    Kleene's `and` and `or` are associative, and the open facts on the undetermined paths are
    the same, so the group evaluates alike, with a call less per level.
    """
    items: list[Condition] = []
    for item in group.items:
        if isinstance(item, ConditionGroup) and item.kind == group.kind and item.kind != "none":
            items.extend(_flat(item))
        else:
            items.append(item)
    return items


_WORLDS: WeakKeyDictionary[PartialEvaluator, Worlds] = WeakKeyDictionary()


def worlds_of(evaluator: PartialEvaluator) -> Worlds:
    """The evaluator's worlds, compiled on first use (once per knowledge base)."""
    found = _WORLDS.get(evaluator)
    if found is None:
        found = _WORLDS[evaluator] = Worlds(evaluator)
    return found


__all__ = [
    "Masks",
    "WorldState",
    "Worlds",
    "candidate_values",
    "distinct_candidates",
    "worlds_of",
]
