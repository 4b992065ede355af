"""The screening record: one compact summary of a consultation, for whole registers.

A register's screen asks, per patient, what needs acting on: the red flags with their urgency,
the causes with their certainty, the recommendation and investigation ids, and the input's
warnings. `Summariser.summary` makes that record from the rules that fired, without the trace,
the explanations or robustness (the full result stays `batch --full`); `summary_of` makes the same
record from a full contract result, and the two are held equal by the tests, so the screening
record is always a projection of what `consult --format json` says.

Certainty, the threshold and every ordering are those of `consultation.build_result`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from cramp_expert.consultation import (
    cause_order,
    certainties,
    plan_of_rule,
    planned_contributions,
    planned_priority,
    red_flag_order,
    umbrella_grade,
    urgency_of,
)
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.patient import PatientFacts

FIELDS = ("red_flags", "causes", "recommendations", "investigations", "warnings")
"""The record's keys after `source` and `patient_id`, in order."""
SEVERE = frozenset({"emergency", "urgent"})
"""Red-flag urgencies whose patients the screening audit always re-runs through experta."""
CACHE = 4096
"""Sets of fired rules whose decisions a `Summariser` keeps (a few hundred bytes each)."""

_Decided: TypeAlias = tuple[
    tuple[tuple[str, str], ...],
    tuple[tuple[str, float], ...],
    tuple[str, ...],
    tuple[str, ...],
    bool,
]
"""What a set of fired rules decides: red flags (id, urgency), causes (id, certainty),
recommendation ids, investigation ids, and whether W100 is raised."""
_Keyed: TypeAlias = tuple[
    list[tuple[tuple[int, str], str]],
    list[tuple[tuple[float, int, str], float]],
    list[tuple[tuple[int, int, int, str], str]],
    list[tuple[tuple[int, int, int, str], str]],
    bool,
]
"""The same, each item beside its place in the result (build_result's sort key), unsorted."""
_Own: TypeAlias = tuple[Any, frozenset[str], frozenset[str]]
"""One rule's plan (`consultation.plan_of_rule`: its contributions, red flags, lifting states and
tier, as build_result reads them), the ids it gives a positive certainty and a negative one."""


def summary_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """The screening record of a full contract result (what `Summariser.summary` must give)."""
    return {
        "patient_id": result["patient_id"],
        "red_flags": [{"id": f["id"], "urgency": f["urgency"]} for f in result["red_flags"]],
        "causes": [{"id": c["id"], "certainty": c["certainty"]} for c in result["causes"]],
        "recommendations": [r["id"] for r in result["recommendations"]],
        "investigations": [i["id"] for i in result["investigations"]],
        "warnings": list(dict.fromkeys(w["code"] for w in result["warnings"])),
    }


def severe(record: Mapping[str, Any]) -> bool:
    """Whether a record has an emergency or urgent red flag."""
    return any(flag["urgency"] in SEVERE for flag in record.get("red_flags", ()))


class Summariser:
    """Screening records for one knowledge base.

    Every certainty, urgency and ordering comes from `consultation`'s own functions (those
    `build_result` uses), never a copy of them: the record cannot drift from the full result.
    """

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.threshold = kb.knowledge.certainty_threshold
        self.conclusions = kb.knowledge.conclusions
        self._decided: dict[frozenset[str], _Decided] = {}
        self._parts: dict[frozenset[str], _Keyed] = {}
        self._own: dict[str, _Own | None] = {}
        self._linked = linked_rules(kb)
        self._alone = {rule_id: frozenset((rule_id,)) for rule_id in self._linked}

    def summary(self, patient: PatientFacts, fired: Iterable[str]) -> dict[str, Any]:
        """The screening record of a patient on whom the rules `fired` fired (any order).

        What the rules decide (red flags, causes, advice, W100) depends only on which rules
        fired, and a register repeats the same few sets of fired rules again and again: it is
        worked out once per set (`CACHE` sets kept) and copied into each record. A set not seen
        before is put together from its independent parts (`linked_rules`), each worked out
        once: a register's first patients bring many new sets made of few parts.
        """
        key = frozenset(fired)
        decided = self._decided.get(key)
        if decided is None:
            if len(self._decided) >= CACHE:
                self._decided.clear()  # a bound, not an LRU: a register's sets are few
            decided = self._decided[key] = self._assembled(key)
        return self._record(patient, decided)

    def fresh_summary(self, patient: PatientFacts, fired: Iterable[str]) -> dict[str, Any]:
        """`summary` worked out afresh from the whole set: what the audit compares against."""
        return self._record(patient, self._decide(fired))

    def _assembled(self, fired: frozenset[str]) -> _Decided:
        """`_decide(fired)`, from the decisions of the parts of `fired` (`parts`), each made once."""
        red_flags: list[tuple[tuple[int, str], str]] = []
        causes: list[tuple[tuple[float, int, str], float]] = []
        recommendations: list[tuple[tuple[int, int, int, str], str]] = []
        investigations: list[tuple[tuple[int, int, int, str], str]] = []
        w100 = False
        known = self._parts
        for part in self.parts(fired):
            keyed = known.get(part)
            if keyed is None:
                if len(known) >= CACHE:
                    known.clear()
                keyed = known[part] = self._keyed(part)
            red_flags += keyed[0]
            causes += keyed[1]
            recommendations += keyed[2]
            investigations += keyed[3]
            w100 = w100 or keyed[4]
        # Each id is decided in one part (its rules are linked), and each sort key ends in the
        # id: sorting the parts' items together gives the order of the whole.
        return _in_order((red_flags, causes, recommendations, investigations, w100))

    def parts(self, fired: Iterable[str]) -> list[frozenset[str]]:
        """The rules of `fired` in groups that decide independently (`linked_rules`).

        An id that names no rule decides nothing and is in no group.
        """
        linked = self._linked
        left = {rule_id for rule_id in fired if rule_id in linked}
        groups = []
        while left:
            first = left.pop()
            if linked[first].isdisjoint(left):  # most rules: alone
                groups.append(self._alone[first])
                continue
            group = [first]
            for rule_id in group:  # grows as it is walked
                near = left & linked[rule_id]
                if near:
                    left -= near
                    group.extend(near)
            groups.append(frozenset(group))
        return groups

    @staticmethod
    def _record(patient: PatientFacts, decided: _Decided) -> dict[str, Any]:
        red_flags, causes, recommendations, investigations, w100 = decided
        warnings = [w.code for w in patient.warnings]
        if w100:
            warnings.append("W100")
        return {
            "patient_id": patient.patient_id,
            "red_flags": [{"id": cid, "urgency": urgency} for cid, urgency in red_flags],
            "causes": [{"id": cid, "certainty": shown} for cid, shown in causes],
            "recommendations": list(recommendations),
            "investigations": list(investigations),
            "warnings": list(dict.fromkeys(warnings)),
        }

    def _contributed(self, rule_id: str) -> _Own | None:
        """What one rule contributes (None for an id that names no rule), worked out once."""
        if rule_id in self._own:
            return self._own[rule_id]
        plan = plan_of_rule(self.kb, rule_id)
        own: _Own | None = None
        if plan is not None:
            own = (
                plan,
                frozenset(cid for cid, c in plan.contributions if c.certainty > 0),
                frozenset(cid for cid, c in plan.contributions if c.certainty < 0),
            )
        self._own[rule_id] = own
        return own

    def _decide(self, fired: Iterable[str]) -> _Decided:
        """What the rules `fired` decide, in the result's order (no patient data in it)."""
        return _in_order(self._keyed(fired))

    def _keyed(self, fired: Iterable[str]) -> _Keyed:
        """What the rules `fired` decide, each item with its place in the result."""
        kb = self.kb
        # As build_result reads the rules that fired: contributions() of the rules in firing
        # order from each rule's plan, and each advice item ranked on the plans.
        plans: dict[str, Any] = {}
        positive: set[str] = set()
        negative: set[str] = set()
        for rule_id in dict.fromkeys(fired):
            own = self._own[rule_id] if rule_id in self._own else self._contributed(rule_id)
            if own is None:
                continue
            plans[rule_id] = own[0]
            positive |= own[1]
            negative |= own[2]
        by_id = planned_contributions(plans.values())
        certainty = certainties(kb, by_id)
        concluded = {cid for cid, cf in certainty.items() if cf >= self.threshold}
        red_flags: list[tuple[tuple[int, str], str]] = []
        causes: list[tuple[tuple[float, int, str], float]] = []
        advice: dict[str, list[tuple[tuple[int, int, int, str], str]]] = {
            "recommendation": [],
            "investigation": [],
        }
        conclusions = self.conclusions
        ranks: dict[str, int] = {}
        for cid in concluded:
            definition = conclusions[cid]
            kind = definition.kind
            if kind == "red_flag":
                urgency = urgency_of(definition, concluded)
                red_flags.append((red_flag_order(urgency, cid), urgency))
            elif kind == "cause":
                shown = round(certainty[cid], 2)
                grade = umbrella_grade(kb, cid, by_id, concluded)
                causes.append((cause_order(shown, grade, cid), shown))
            elif kind in advice:
                priority = planned_priority(
                    plans, by_id[cid], concluded, conclusions, cid, definition.evidence, ranks
                )
                advice[kind].append((priority, cid))
        # build_result's W100: an id both concluded and excluded by the rules that fired.
        w100 = not positive.isdisjoint(negative)
        return red_flags, causes, advice["recommendation"], advice["investigation"], w100


def _in_order(keyed: _Keyed) -> _Decided:
    red_flags, causes, recommendations, investigations, w100 = keyed
    return (
        tuple((order[1], urgency) for order, urgency in sorted(red_flags)),
        tuple((order[2], shown) for order, shown in sorted(causes)),
        tuple(cid for _, cid in sorted(recommendations)),
        tuple(cid for _, cid in sorted(investigations)),
        w100,
    )


def linked_rules(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    """Rule id -> the other rules whose decisions in a record may depend on it, and it on them.

    A rule writes the ids it concludes or excludes. What `_keyed` reads of an id it writes (its
    certainty, whether it is concluded, W100) comes from every rule writing that id; an umbrella
    cause reads its members, which the same rule concludes; a red flag reads the state that
    lifts it (`emergency_if`); an action reads the red flags its rule acts on and the states
    that lift them (the rule's plan: `flags`, `lifting`). Two rules are linked when one writes
    what the other reads: rules not linked, even through others, decide apart, and what a set
    of them decides is what its groups decide, put together.
    """
    conclusions = kb.knowledge.conclusions
    writes: dict[str, frozenset[str]] = {}
    reads: dict[str, set[str]] = {}
    for rule in kb.rules:
        plan = plan_of_rule(kb, rule.id)
        written = frozenset((*rule.then.conclude, *rule.then.exclude))
        read = set(written)
        if plan is not None:
            read.update(plan.flags, plan.lifting)
        read.update(
            lifts
            for cid in tuple(read)
            if cid in conclusions and (lifts := conclusions[cid].emergency_if)
        )
        writes[rule.id], reads[rule.id] = written, read
    writers: dict[str, set[str]] = {}
    readers: dict[str, set[str]] = {}
    for rule_id, written in writes.items():
        for cid in written:
            writers.setdefault(cid, set()).add(rule_id)
        for cid in reads[rule_id]:
            readers.setdefault(cid, set()).add(rule_id)
    return {
        rule_id: frozenset(
            {other for cid in reads[rule_id] for other in writers.get(cid, ())}
            | {other for cid in written for other in readers.get(cid, ())}
        )
        - {rule_id}
        for rule_id, written in writes.items()
    }


__all__ = ["CACHE", "FIELDS", "SEVERE", "Summariser", "linked_rules", "severe", "summary_of"]
