"""WHY NOT: why a conclusion was not reached, and the smallest change to the facts that would.

For each rule that could conclude the id, the first condition that failed is named with the
patient's value against the rule's threshold, in the normalised unit and, for a lab given in
another unit, in the patient's own unit; unknown facts are named as unknown. A `concluded: X`
that failed is followed down the chain (why X was not concluded). Exclusions by a measurement
are named too.

The smallest change is searched for, not guessed: from each rule's conditions the analysis
derives alternative sets of fact values that would satisfy it (and falsify whatever blocks it:
a `none:` part that held, an exclusion), ranks them by the number of facts changed (filling in
an unknown fact before contradicting a known one, then the smallest relative change) and keeps
the first one that, run through the engine, really concludes the id.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cramp_expert.compile.predicates import evaluate, holds
from cramp_expert.kb.knowledge import FactDef, Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import (
    ConcludedCondition,
    Condition,
    FactCondition,
    Rule,
)
from cramp_expert.kb.operators import operator
from cramp_expert.patient import PatientFacts
from cramp_expert.patient.inputs import settled_absent
from cramp_expert.patient.labs import find_unit
from cramp_expert.patient.normalise import format_value
from cramp_expert.result import Consultation

Changes = dict[str, Any]
"""Fact id -> the value it would need."""

Verifier = Callable[[dict[str, Any]], set[str]]
"""Runs the engine on fact values and returns the ids concluded."""

MAX_DEPTH = 4
"""How far down `concluded:` chains the analysis follows (the rule base has 6 strata)."""
MAX_ALTERNATIVES = 24
"""Alternatives kept per condition: enough to find a minimal change, bounded in cost."""
MAX_VERIFIED = 40
"""Engine runs spent checking candidate changes (about 10 ms each)."""


@dataclass(frozen=True)
class Situation:
    """What the analysis reads: the knowledge base, the patient and what was concluded."""

    kb: KnowledgeBase
    patient: PatientFacts
    concluded: frozenset[str]
    """Ids concluded (certainty at the threshold or above)."""
    asserted: frozenset[str]
    """Ids `concluded: X` saw as true: concluded by a rule that fired and excluded by none."""
    excluded: frozenset[str]
    fired: frozenset[str]

    @property
    def values(self) -> dict[str, Any]:
        """The patient's fact values."""
        return self.patient.values

    @property
    def knowledge(self) -> Knowledge:
        """The knowledge files."""
        return self.kb.knowledge


def situation(kb: KnowledgeBase, patient: PatientFacts, result: Consultation) -> Situation:
    """Read the situation of a consultation from its result."""
    excluded = frozenset(x for entry in result.trace for x in entry.excluded)
    return Situation(
        kb,
        patient,
        result.concluded,
        result.asserted,
        excluded,
        frozenset(result.rules_fired),
    )


# --- explaining the failure ---------------------------------------------------------------------


def _threshold_text(condition: FactCondition, knowledge: Knowledge, patient: PatientFacts) -> str:
    """The rule's requirement in the normalised unit, and in the patient's unit for a lab."""
    fact = knowledge.fact(condition.fact)
    unit = fact.unit if fact and fact.type == "number" else ""
    shows_unit = unit and not operator(condition.op).presence
    text = condition.describe() + (f" {unit}" if shows_unit else "")
    converted = _in_patient_unit(condition, knowledge, patient)
    return f"{text} (= {converted} as given)" if converted else text


def _in_patient_unit(
    condition: FactCondition, knowledge: Knowledge, patient: PatientFacts
) -> str | None:
    """`< 1.70 mg/dL` when the patient's lab was given in mg/dL; None in the default unit."""
    unit = _given_unit(condition.fact, knowledge, patient)
    op = operator(condition.op)
    if unit is None or op.symbol is None:
        return None
    name, factor, offset = unit
    shown = [f"{ref / factor + offset:.3g}" for ref in op.edges(condition.value)]
    joined = " and ".join(shown)
    return f"{op.symbol} {joined} {name}"


def _given_unit(
    fact_id: str, knowledge: Knowledge, patient: PatientFacts
) -> tuple[str, float, float] | None:
    if not fact_id.startswith("labs."):
        return None
    name = fact_id.removeprefix("labs.")
    lab, analyte = patient.labs.get(name), knowledge.analytes.get(name)
    if lab is None or analyte is None or not isinstance(lab.get("input"), str):
        return None
    text = lab["input"].strip()
    unit_text = text.lstrip("+-0123456789.eE").strip()
    unit = find_unit(analyte, unit_text, knowledge) if unit_text else None
    if unit is None or (unit.factor == 1 and unit.offset == 0):
        return None
    return unit.name, unit.factor, unit.offset


def _fact_failure(condition: FactCondition, situation: Situation) -> dict[str, Any]:
    patient, knowledge = situation.patient, situation.knowledge
    known = condition.fact in patient.values
    entry: dict[str, Any] = {
        "fact": condition.fact,
        "condition": condition.describe(),
        "needs": _threshold_text(condition, knowledge, patient),
        "value": _json_value(patient.values.get(condition.fact)),
        "shown": patient.show(condition.fact),
        "unknown": not known and not operator(condition.op).presence,
        "where": str(condition.location),
    }
    if entry["unknown"]:
        entry["text"] = f"{condition.fact} is unknown; the rule needs {entry['needs']}"
    else:
        entry["text"] = f"{condition.fact} = {entry['shown']}; the rule needs {entry['needs']}"
    return entry


def _json_value(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def first_failure(condition: Condition, situation: Situation, depth: int) -> dict[str, Any] | None:
    """The first part of `condition` that does not hold, explained; None when it holds."""
    values, asserted = situation.values, situation.asserted
    if evaluate(condition, values, asserted):
        return None
    if isinstance(condition, FactCondition):
        return _fact_failure(condition, situation)
    if isinstance(condition, ConcludedCondition):
        cid = condition.conclusion
        entry: dict[str, Any] = {
            "concluded": cid,
            "condition": condition.describe(),
            "where": str(condition.location),
        }
        if cid in situation.excluded:
            entry["text"] = f"{cid} was excluded by a measurement"
        else:
            entry["text"] = f"{cid} was not concluded"
        if depth < MAX_DEPTH:
            entry["because"] = _rule_failures(cid, situation, depth + 1)
        return entry
    if condition.kind == "all":
        for item in condition.items:
            failure = first_failure(item, situation, depth)
            if failure is not None:
                return failure
        return None  # pragma: no cover - an `all` that fails has a failing part
    if condition.kind == "any":
        branches = [first_failure(item, situation, depth) for item in condition.items]
        return {
            "condition": condition.describe(),
            "where": str(condition.location),
            "text": "none of the alternatives holds",
            "alternatives": [b for b in branches if b is not None],
        }
    held = next(item for item in condition.items if evaluate(item, values, asserted))
    return {
        "condition": condition.describe(),
        "where": str(condition.location),
        "text": f"it must not hold, but {_held_text(held, situation)}",
    }


def _held_text(condition: Condition, situation: Situation) -> str:
    if isinstance(condition, FactCondition):
        return (
            f"{condition.fact} = {situation.patient.show(condition.fact)} ({condition.describe()})"
        )
    if isinstance(condition, ConcludedCondition):
        return f"{condition.conclusion} was concluded"
    return condition.describe()


def unknown_facts(rule: Rule, situation: Situation) -> list[str]:
    """The facts a rule tests that the patient file does not give."""
    return sorted(
        {
            c.fact
            for c in rule.fact_conditions()
            if c.fact not in situation.values and not operator(c.op).presence
        }
    )


def _rule_failures(cid: str, situation: Situation, depth: int) -> list[dict[str, Any]]:
    out = []
    for rule in situation.kb.rules:
        if cid not in rule.then.conclude:
            continue
        failure = first_failure(rule.when, situation, depth)
        out.append(
            {
                "rule": rule.id,
                "title": rule.title,
                "where": str(rule.location),
                "fired": rule.id in situation.fired,
                "failed": failure,
                "unknown_facts": unknown_facts(rule, situation),
            }
        )
    return out


# --- the smallest change ------------------------------------------------------------------------


def _step(fact: FactDef, knowledge: Knowledge) -> float:
    """The smallest change of a number worth speaking of: the lab's reporting precision."""
    if fact.id.startswith("labs."):
        analyte = knowledge.analytes.get(fact.id.removeprefix("labs."))
        decimals = analyte.decimals if analyte else 2
        return float(10**-decimals)
    if fact.id.startswith("lifestyle.fluid"):
        return 0.1
    return 1.0


def _satisfying(condition: FactCondition, current: Any, situation: Situation) -> list[Any]:
    """Values of the fact that make `condition` hold, nearest to the current value first."""
    fact = situation.knowledge.fact(condition.fact)
    if fact is None:
        return []
    step = _step(fact, situation.knowledge)
    return operator(condition.op).satisfy(condition.value, current, fact, step)


def _falsifying(condition: FactCondition, current: Any, situation: Situation) -> list[Any]:
    """Values of the fact that make `condition` fail (a known fact cannot become unknown)."""
    fact = situation.knowledge.fact(condition.fact)
    if fact is None:
        return []
    step = _step(fact, situation.knowledge)
    return operator(condition.op).falsify(condition.value, current, fact, step)


def _merge(parts: Iterable[list[Changes]]) -> list[Changes]:
    """All consistent combinations of one alternative from each part, smallest first."""
    combined: list[Changes] = [{}]
    for alternatives in parts:
        if not alternatives:
            return []
        nxt: list[Changes] = []
        for left, right in itertools.product(combined, alternatives):
            if all(left[k] == v for k, v in right.items() if k in left):
                nxt.append({**left, **right})
        combined = sorted(nxt, key=len)[:MAX_ALTERNATIVES]
        if not combined:
            return []
    return combined


def make_true(condition: Condition, situation: Situation, depth: int) -> list[Changes]:
    """Alternative changes that would make `condition` hold (an empty change if it holds)."""
    values = situation.values
    if evaluate(condition, values, situation.asserted):
        return [{}]
    if depth > MAX_DEPTH:
        return []
    if isinstance(condition, FactCondition):
        current = values.get(condition.fact)
        return [{condition.fact: v} for v in _satisfying(condition, current, situation)]
    if isinstance(condition, ConcludedCondition):
        return conclude(condition.conclusion, situation, depth + 1)
    if condition.kind == "all":
        return _merge(make_true(item, situation, depth) for item in condition.items)
    if condition.kind == "any":
        out: list[Changes] = []
        for item in condition.items:
            out.extend(make_true(item, situation, depth))
        return sorted(out, key=len)[:MAX_ALTERNATIVES]
    return _merge(make_false(item, situation, depth) for item in condition.items)


def make_false(condition: Condition, situation: Situation, depth: int) -> list[Changes]:
    """Alternative changes that would make `condition` fail (an empty change if it fails)."""
    values = situation.values
    if not evaluate(condition, values, situation.asserted):
        return [{}]
    if depth > MAX_DEPTH:
        return []
    if isinstance(condition, FactCondition):
        current = values.get(condition.fact)
        return [{condition.fact: v} for v in _falsifying(condition, current, situation)]
    if isinstance(condition, ConcludedCondition):
        # Every rule that concluded it must fail.
        rules = [
            r
            for r in situation.kb.rules
            if condition.conclusion in r.then.conclude and r.id in situation.fired
        ]
        return _merge(make_false(r.when, situation, depth + 1) for r in rules)
    if condition.kind == "all":
        out: list[Changes] = []
        for item in condition.items:
            out.extend(make_false(item, situation, depth))
        return sorted(out, key=len)[:MAX_ALTERNATIVES]
    if condition.kind == "any":
        return _merge(make_false(item, situation, depth) for item in condition.items)
    out = []
    for item in condition.items:
        out.extend(make_true(item, situation, depth))
    return sorted(out, key=len)[:MAX_ALTERNATIVES]


def conclude(cid: str, situation: Situation, depth: int) -> list[Changes]:
    """Alternative changes under which some rule concludes `cid` and no rule excludes it."""
    if cid in situation.asserted:
        return [{}]
    unexclude = _merge(
        make_false(r.when, situation, depth)
        for r in situation.kb.rules
        if cid in r.then.exclude and r.id in situation.fired
    )
    out: list[Changes] = []
    for rule in situation.kb.rules:
        if cid in rule.then.conclude:
            out.extend(_merge([make_true(rule.when, situation, depth), unexclude]))
    return sorted(out, key=len)[:MAX_ALTERNATIVES]


def _cost(changes: Changes, values: Mapping[str, Any]) -> tuple[int, int, float]:
    """Fewest facts, then fewest known values contradicted, then the smallest relative change."""
    contradicted = sum(1 for fact in changes if fact in values)
    distance = 0.0
    for fact, new in changes.items():
        old = values.get(fact)
        if isinstance(old, int | float) and isinstance(new, int | float):
            distance += abs(new - old) / max(abs(old), 1e-9)
    return (len(changes), contradicted, distance)


def smallest_change(
    cid: str, situation: Situation, verify: Verifier
) -> tuple[Changes, set[str]] | None:
    """The smallest verified change that concludes `cid`, with what it then concludes."""
    unique: list[Changes] = []
    for candidate in conclude(cid, situation, 0):
        kept = {f: v for f, v in candidate.items() if f in _consistent(situation.values, candidate)}
        if kept and kept not in unique:
            unique.append(kept)
    for candidate in sorted(unique, key=lambda c: _cost(c, situation.values))[:MAX_VERIFIED]:
        concluded = verify(_consistent(situation.values, candidate))
        if cid in concluded:
            return candidate, concluded
    return None


def _consistent(values: Mapping[str, Any], changes: Changes) -> dict[str, Any]:
    """The patient after the change, as a possible patient.

    Taking someone off a drug class also forgets when it was started: a fact that would stay
    unknown is dropped.
    """
    trial = {**values, **changes}
    for fact in [f for f in trial if settled_absent(f, trial)]:
        del trial[fact]
    return trial


def _change_entry(fact_id: str, value: Any, situation: Situation) -> dict[str, Any]:
    knowledge, patient = situation.knowledge, situation.patient
    fact = knowledge.fact(fact_id)
    unit = fact.unit if fact and fact.type == "number" else ""
    to_text = format_value(value, unit)
    given = _given_unit(fact_id, knowledge, patient)
    if given is not None and isinstance(value, int | float):
        name, factor, offset = given
        to_text += f" (= {value / factor + offset:.3g} {name} as given)"
    before = patient.show(fact_id)
    return {
        "fact": fact_id,
        "from": _json_value(patient.values.get(fact_id)),
        "to": _json_value(value),
        "text": f"{fact_id}: {before} -> {to_text}",
    }


def why_not(
    kb: KnowledgeBase,
    patient: PatientFacts,
    result: Consultation,
    cid: str,
    verify: Verifier,
) -> dict[str, Any]:
    """Why `cid` was not concluded for this patient, and the smallest change that would."""
    where = situation(kb, patient, result)
    definition = kb.knowledge.conclusions[cid]
    out: dict[str, Any] = {"id": cid, "label": definition.label, "kind": definition.kind}
    if cid in where.concluded:
        out["status"] = "concluded"
        out["text"] = f"{cid} was concluded; ask how instead"
        return out
    out["status"] = "excluded" if cid in where.excluded else "not concluded"
    out["rules"] = _rule_failures(cid, where, 0)
    out["excluded_by"] = [
        {
            "rule": r.id,
            "title": r.title,
            "facts": [
                _fact_failure(c, where) | {"text": f"{c.fact} = {patient.show(c.fact)}"}
                for c in r.fact_conditions()
                if holds(c, patient.values)
            ],
        }
        for r in kb.rules
        if cid in r.then.exclude and r.id in where.fired
    ]
    found = smallest_change(cid, where, verify)
    if found is None:
        out["smallest_change"] = None
    else:
        changes, concluded = found
        reported = {c for c in concluded if kb.knowledge.conclusions[c].kind != "state"}
        out["smallest_change"] = {
            "changes": [_change_entry(f, v, where) for f, v in sorted(changes.items())],
            "verified": True,
            "also_concluded": sorted(reported - where.concluded - {cid}),
            "no_longer_concluded": sorted(where.concluded - reported),
        }
    return out


__all__ = ["Situation", "Verifier", "first_failure", "situation", "smallest_change", "why_not"]
