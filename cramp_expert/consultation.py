"""Turn the engine's firings into a consultation result: certainties, lists, trace, explanations.

Certainty follows MYCIN's certainty factors. Each rule that concludes an id contributes its
certainty once (an `any` rule that fires once per branch still counts once); an exclusion by a
measurement contributes -1. Contributions combine pairwise, in any order with the same result:

- both positive:  cf = a + b x (1 - a)
- both negative:  cf = a + b x (1 + a)
- mixed signs:    cf = (a + b) / (1 - min(|a|, |b|))   (an exclusion of -1 always wins)

An id is concluded when its combined certainty reaches the knowledge base's threshold
(knowledge/settings.yaml). Causes with a negative certainty are listed as excluded, with the
measurement that excluded them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cramp_expert.compile.predicates import evaluate, holds
from cramp_expert.engine import Firing
from cramp_expert.kb.knowledge import URGENCIES
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import (
    EVIDENCE_GRADES,
    PLACEHOLDER,
    ConcludedCondition,
    Condition,
    FactCondition,
    Rule,
)
from cramp_expert.patient import PatientFacts


def combine(certainties: Iterable[float]) -> float:
    """Combine certainty factors MYCIN-style.

    On what rules can contribute (certainties in (0, 1] and exclusions of exactly -1) the result
    does not depend on the order; MYCIN's mixed-sign formula is not associative in general.
    """
    total = 0.0
    first = True
    for cf in certainties:
        if first:
            total, first = cf, False
        elif total >= 0 and cf >= 0:
            total = total + cf * (1 - total)
        elif total < 0 and cf < 0:
            total = total + cf * (1 + total)
        elif -1.0 in (total, cf):
            total = -1.0
        else:
            total = (total + cf) / (1 - min(abs(total), abs(cf)))
    return total


@dataclass(frozen=True)
class Contribution:
    """One rule's contribution to one conclusion."""

    rule: Rule
    certainty: float


def render_reason(template: str, patient: PatientFacts) -> str:
    """Fill `{labs.potassium}` placeholders with the patient's values as a clinician reads them."""
    return PLACEHOLDER.sub(lambda m: patient.show(m.group(1)), template)


def fired_rules(kb: KnowledgeBase, firings: list[Firing]) -> list[Rule]:
    """The distinct rules that fired, in the order they first fired."""
    seen: dict[str, Rule] = {}
    for firing in firings:
        rule = kb.rule(firing.rule_id)
        if rule is not None and rule.id not in seen:
            seen[rule.id] = rule
    return list(seen.values())


def contributions(rules: list[Rule]) -> dict[str, list[Contribution]]:
    """Conclusion id -> the contributions of every rule that concluded or excluded it."""
    out: dict[str, list[Contribution]] = {}
    for rule in rules:
        for conclusion in rule.then.conclude:
            out.setdefault(conclusion, []).append(Contribution(rule, rule.then.certainty))
        for excluded in rule.then.exclude:
            out.setdefault(excluded, []).append(Contribution(rule, -1.0))
    return out


def matched_facts(
    condition: Condition, patient: PatientFacts, concluded: set[str]
) -> list[dict[str, Any]]:
    """The facts a fired rule's condition held on, as the rule saw them, for the trace."""
    facts = patient.values
    if isinstance(condition, FactCondition):
        return [_fact_entry(condition, patient, holds(condition, facts))]
    if isinstance(condition, ConcludedCondition):
        return [
            {
                "concluded": condition.conclusion,
                "holds": condition.conclusion in concluded,
                "text": f"{condition.conclusion} was concluded",
            }
        ]
    entries: list[dict[str, Any]] = []
    for item in condition.items:
        item_holds = evaluate(item, facts, concluded)
        if condition.kind == "any" and not item_holds:
            continue
        if condition.kind == "none":
            entries.extend(_absent_entries(item, patient, concluded))
        else:
            entries.extend(matched_facts(item, patient, concluded))
    return entries


def _fact_entry(condition: FactCondition, patient: PatientFacts, held: bool) -> dict[str, Any]:
    value = patient.values.get(condition.fact)
    shown = patient.show(condition.fact)
    entry: dict[str, Any] = {
        "fact": condition.fact,
        "value": sorted(value) if isinstance(value, frozenset) else value,
        "shown": shown,
        "condition": condition.describe(),
        "holds": held,
    }
    if condition.op == "known":
        entry["text"] = (
            f"{condition.fact} is {'known: ' + shown if condition.fact in patient.values else 'unknown'}"
        )
    else:
        entry["text"] = f"{condition.fact} = {shown} ({condition.describe()})"
    return entry


def _absent_entries(
    condition: Condition, patient: PatientFacts, concluded: set[str]
) -> list[dict[str, Any]]:
    """Entries for a `none` item: what was checked and found not to hold."""
    if isinstance(condition, FactCondition):
        entry = _fact_entry(condition, patient, holds(condition, patient.values))
        entry["text"] = (
            f"not ({condition.describe()}): {condition.fact} = {patient.show(condition.fact)}"
        )
        entry["negated"] = True
        return [entry]
    if isinstance(condition, ConcludedCondition):
        return [
            {
                "concluded": condition.conclusion,
                "holds": False,
                "negated": True,
                "text": f"{condition.conclusion} was not concluded",
            }
        ]
    return [
        {
            "condition": condition.describe(),
            "holds": False,
            "negated": True,
            "text": f"not {condition.describe()}",
        }
    ]


def _grade_rank(grade: str) -> int:
    return EVIDENCE_GRADES.index(grade) if grade in EVIDENCE_GRADES else len(EVIDENCE_GRADES)


def _references(*groups: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ref for group in groups for ref in group))


def build_result(
    kb: KnowledgeBase, patient: PatientFacts, firings: list[Firing], engine_version: str
) -> dict[str, Any]:
    """Assemble the contract's consultation result from the firings."""
    knowledge = kb.knowledge
    rules = fired_rules(kb, firings)
    by_id = contributions(rules)
    certainty = {cid: combine(c.certainty for c in contribs) for cid, contribs in by_id.items()}
    threshold = knowledge.certainty_threshold
    concluded = {cid for cid, cf in certainty.items() if cf >= threshold}
    # What `concluded: X` saw in the engine: concluded by some rule and excluded by none.
    asserted = {c for rule in rules for c in rule.then.conclude} - {
        x for rule in rules for x in rule.then.exclude
    }

    def because(cid: str, positive: bool = True) -> list[str]:
        return [c.rule.id for c in by_id.get(cid, []) if (c.certainty > 0) is positive]

    def rule_refs(cid: str) -> list[str]:
        return [ref for c in by_id.get(cid, []) if c.certainty > 0 for ref in c.rule.references]

    def reasons(cid: str, positive: bool = True) -> str:
        texts = [
            render_reason(c.rule.then.reason, patient)
            for c in by_id.get(cid, [])
            if (c.certainty > 0) is positive and c.rule.then.reason
        ]
        return "; ".join(dict.fromkeys(texts))

    result: dict[str, Any] = {
        "patient_id": patient.patient_id,
        "knowledge_base": {
            "version": kb.version,
            "digest": kb.digest,
            "engine": engine_version,
            "rules": len(kb.rules),
            "certainty_threshold": threshold,
        },
        "red_flags": [],
        "causes": [],
        "excluded": [],
        "differentials": [],
        "recommendations": [],
        "investigations": [],
    }
    for cid in sorted(concluded, key=lambda c: (-certainty[c], c)):
        definition = knowledge.conclusions[cid]
        base = {"id": cid, "label": definition.label}
        if definition.kind == "red_flag":
            result["red_flags"].append(
                base
                | {
                    "urgency": definition.urgency,
                    "action": definition.action,
                    "reason": reasons(cid),
                    "evidence": definition.evidence,
                    "because": because(cid),
                    "references": _references(definition.references, rule_refs(cid)),
                }
            )
        elif definition.kind == "cause":
            result["causes"].append(
                base
                | {
                    "certainty": round(certainty[cid], 2),
                    "evidence": definition.evidence,
                    "nature": definition.nature,
                    "reason": reasons(cid),
                    "because": because(cid),
                    "references": _references(definition.references, rule_refs(cid)),
                }
            )
        elif definition.kind == "differential":
            result["differentials"].append(
                base
                | {
                    "reason": reasons(cid),
                    "action": definition.action,
                    "evidence": definition.evidence,
                    "because": because(cid),
                    "references": _references(definition.references, rule_refs(cid)),
                }
            )
        elif definition.kind == "recommendation":
            result["recommendations"].append(
                base
                | {
                    "text": definition.text or definition.description,
                    "reason": reasons(cid),
                    "evidence": definition.evidence,
                    "references": _references(definition.references, rule_refs(cid)),
                    "because": because(cid),
                }
            )
        elif definition.kind == "investigation":
            result["investigations"].append(
                base
                | {
                    "reason": reasons(cid) or definition.text,
                    "text": definition.text,
                    "evidence": definition.evidence,
                    "references": _references(definition.references, rule_refs(cid)),
                    "because": because(cid),
                }
            )
    for cid, cf in sorted(certainty.items()):
        if cf < 0 and knowledge.conclusions[cid].kind == "cause":
            result["excluded"].append(
                {
                    "id": cid,
                    "label": knowledge.conclusions[cid].label,
                    "reason": reasons(cid, positive=False),
                    "because": because(cid, positive=False),
                }
            )
    result["red_flags"].sort(key=lambda f: (URGENCIES.index(f["urgency"]), f["id"]))
    result["causes"].sort(key=lambda c: (-c["certainty"], _grade_rank(c["evidence"]), c["id"]))

    def priority(item: dict[str, Any]) -> tuple[int, int, int, str]:
        # Actions concluded with the most urgent red flag first, then by tier (safety first),
        # then stronger evidence first.
        rules = [c.rule for c in by_id[item["id"]] if c.certainty > 0]
        urgencies = [
            URGENCIES.index(knowledge.conclusions[cid].urgency)
            for rule in rules
            for cid in rule.then.conclude
            if knowledge.conclusions[cid].kind == "red_flag"
        ]
        tier = max(knowledge.tiers.get(rule.tier, 0) for rule in rules)
        return (
            min(urgencies, default=len(URGENCIES)),
            -tier,
            _grade_rank(item.get("evidence", "")),
            item["id"],
        )

    for key in ("differentials", "recommendations", "investigations"):
        result[key].sort(key=priority)
    result["interpreted"] = {
        "medications": patient.medications,
        "conditions": patient.conditions,
        "labs": patient.labs,
        **patient.extra_interpreted,
    }
    result["warnings"] = [w.as_dict() for w in patient.warnings]
    for cid, contribs in sorted(by_id.items()):
        if any(c.certainty > 0 for c in contribs) and any(c.certainty < 0 for c in contribs):
            result["warnings"].append(
                {
                    "code": "W100",
                    "message": f"{cid} was both concluded ({', '.join(because(cid))}) and excluded ({', '.join(because(cid, False))})",
                    "where": "rules",
                }
            )
    result["trace"] = [_trace_entry(kb, firing, patient, asserted) for firing in firings]
    result["references"] = _bibliography(kb, result)
    return result


def _trace_entry(
    kb: KnowledgeBase, firing: Firing, patient: PatientFacts, asserted: set[str]
) -> dict[str, Any]:
    rule = kb.rule(firing.rule_id)
    assert rule is not None  # every firing names a compiled rule of this knowledge base
    # The patient is one immutable experta fact and every conclusion a rule tests was final
    # before it fired (strata), so the facts a condition held on are read from the rule's own
    # conditions; `activation` is what experta itself handed to the rule.
    facts = matched_facts(rule.when, patient, asserted)
    return {
        "rule": rule.id,
        "title": rule.title,
        "matched": [entry["text"] for entry in facts],
        "facts": facts,
        "activation": {
            "patient_fact": firing.matched_patient,
            "conclusion_facts": list(firing.matched_conclusions),
        },
        "asserted": list(rule.then.conclude),
        "excluded": list(rule.then.exclude),
        "certainty": rule.then.certainty,
        "evidence": rule.evidence,
        "references": list(rule.references),
    }


def _bibliography(kb: KnowledgeBase, result: Mapping[str, Any]) -> list[dict[str, str]]:
    keys: list[str] = []
    for section in ("red_flags", "causes", "differentials", "recommendations", "investigations"):
        for item in result[section]:
            keys.extend(item.get("references", []))
    for entry in result["trace"]:
        keys.extend(entry["references"])
    references = kb.knowledge.references
    return [
        {"key": key, "citation": references[key].citation}
        for key in dict.fromkeys(keys)
        if key in references
    ]


__all__ = [
    "build_result",
    "combine",
    "contributions",
    "fired_rules",
    "matched_facts",
    "render_reason",
]
