"""Turn the engine's firings into a consultation result: certainties, lists, trace, explanations.

Certainty follows MYCIN's certainty factors. Each rule that concludes an id contributes its
certainty once (an `any` rule that fires once per branch still counts once); an exclusion by a
measurement contributes -1. Contributions combine pairwise, in any order with the same result:

- both positive:  cf = a + b x (1 - a)
- both negative:  cf = a + b x (1 + a)
- mixed signs:    cf = (a + b) / (1 - min(|a|, |b|))   (an exclusion of -1 always wins)

Evidence is counted once (clinical brief 8.8): rules of one `family` restate one piece of
evidence, so for each id only the family's strongest fired member counts, and families combine.
An umbrella cause (`combine: strongest` in conclusions.yaml, the medication cause) takes its
strongest contribution and is graded no better than its best-supported concluded member.

An id is concluded when its combined certainty reaches the knowledge base's threshold
(knowledge/settings.yaml). Causes with a negative certainty are listed as excluded, with the
measurement that excluded them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from cramp_expert.compile.predicates import evaluate, holds
from cramp_expert.engine import Firing
from cramp_expert.kb.knowledge import URGENCIES, ConclusionDef
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import (
    EVIDENCE_GRADES,
    PLACEHOLDER,
    ConcludedCondition,
    Condition,
    FactCondition,
    Rule,
)
from cramp_expert.kb.operators import operator
from cramp_expert.patient import PatientFacts
from cramp_expert.result import (
    Cause,
    ConclusionMatch,
    Consultation,
    Differential,
    Excluded,
    FactMatch,
    GroupMatch,
    Interpreted,
    Investigation,
    KnowledgeBaseInfo,
    Match,
    Recommendation,
    RedFlag,
    Reference,
    TraceEntry,
    Warning,
    freeze,
)

HELD_STATE = "state_drug_held"
"""Concluded by the rules whose drug line says the drug is held (knowledge/states.yaml)."""


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


def counted(contribs: Iterable[Contribution], strongest: bool = False) -> list[float]:
    """The certainties that count: one per rule family (its strongest member), exclusions all.

    With `strongest` (an umbrella cause) only the strongest positive contribution counts.
    """
    best: dict[str, float] = {}
    negatives: list[float] = []
    for c in contribs:
        if c.certainty < 0:
            negatives.append(c.certainty)
        else:
            family = "" if strongest else c.rule.evidence_family
            best[family] = max(best.get(family, 0.0), c.certainty)
    return [best[f] for f in sorted(best)] + negatives


def certainties(kb: KnowledgeBase, by_id: Mapping[str, list[Contribution]]) -> dict[str, float]:
    """Each id's combined certainty, evidence counted once (families; umbrella causes).

    An umbrella cause (`combine: strongest`) is as certain as its most certain member (the other
    causes the same rules concluded) or its strongest single contribution, never more: listing
    more drugs does not raise it (clinical brief 8.8).
    """
    conclusions = kb.knowledge.conclusions

    def umbrella(cid: str) -> bool:
        return cid in conclusions and conclusions[cid].combine == "strongest"

    out = {
        cid: combine(counted(contribs, umbrella(cid)))
        for cid, contribs in by_id.items()
        if not umbrella(cid)
    }
    for cid, contribs in by_id.items():
        if umbrella(cid):
            own = combine(counted(contribs, strongest=True))
            members = [out.get(m, 0.0) for m in _members(kb, cid, contribs)]
            out[cid] = own if own < 0 else max([own, *members])
    return out


def _members(kb: KnowledgeBase, cid: str, contribs: Iterable[Contribution]) -> set[str]:
    """The causes concluded by the rules that concluded umbrella `cid`."""
    conclusions = kb.knowledge.conclusions
    return {
        other
        for c in contribs
        if c.certainty > 0
        for other in c.rule.then.conclude
        if other != cid and other in conclusions and conclusions[other].kind == "cause"
    }


def matched_facts(condition: Condition, patient: PatientFacts, concluded: Set[str]) -> list[Match]:
    """The facts a fired rule's condition held on, as the rule saw them, for the trace."""
    facts = patient.values
    if isinstance(condition, FactCondition):
        return [_fact_entry(condition, patient, holds(condition, facts))]
    if isinstance(condition, ConcludedCondition):
        return [
            ConclusionMatch(
                condition.conclusion,
                condition.conclusion in concluded,
                f"{condition.conclusion} was concluded",
            )
        ]
    entries: list[Match] = []
    for item in condition.items:
        item_holds = evaluate(item, facts, concluded)
        if condition.kind == "any" and not item_holds:
            continue
        if condition.kind == "none":
            entries.extend(_absent_entries(item, patient, concluded))
        else:
            entries.extend(matched_facts(item, patient, concluded))
    return entries


def _fact_entry(
    condition: FactCondition, patient: PatientFacts, held: bool, negated: bool = False
) -> FactMatch:
    value = patient.values.get(condition.fact)
    shown = patient.show(condition.fact)
    if negated:
        text = f"not ({condition.describe()}): {condition.fact} = {shown}"
    elif operator(condition.op).presence:
        text = f"{condition.fact} is {'known: ' + shown if condition.fact in patient.values else 'unknown'}"
    else:
        text = f"{condition.fact} = {shown} ({condition.describe()})"
    return FactMatch(
        fact=condition.fact,
        value=freeze(sorted(value) if isinstance(value, frozenset) else value),
        shown=shown,
        condition=condition.describe(),
        holds=held,
        text=text,
        negated=negated,
    )


def _absent_entries(
    condition: Condition, patient: PatientFacts, concluded: Set[str]
) -> list[Match]:
    """Entries for a `none` item: what was checked and found not to hold."""
    if isinstance(condition, FactCondition):
        return [_fact_entry(condition, patient, holds(condition, patient.values), negated=True)]
    if isinstance(condition, ConcludedCondition):
        return [
            ConclusionMatch(
                condition.conclusion,
                False,
                f"{condition.conclusion} was not concluded",
                negated=True,
            )
        ]
    return [GroupMatch(condition.describe(), f"not {condition.describe()}")]


def urgency_of(definition: ConclusionDef, concluded: Set[str]) -> str:
    """A red flag's urgency in this result (clinical brief 8.1).

    Its listed (least) tier, or `emergency` when the state its `emergency_if` names is concluded.
    """
    if definition.emergency_if and definition.emergency_if in concluded:
        return "emergency"
    return definition.urgency


def umbrella_grade(
    kb: KnowledgeBase,
    cid: str,
    by_id: Mapping[str, list[Contribution]],
    concluded: set[str],
) -> str:
    """An umbrella cause's grade: no better than its best-supported member (brief 8.8).

    Nor better than its own grade.
    """
    definition = kb.knowledge.conclusions[cid]
    if definition.combine != "strongest":
        return definition.evidence
    members = _members(kb, cid, by_id.get(cid, [])) & concluded
    grades = [kb.knowledge.conclusions[m].evidence for m in members] or [definition.evidence]
    best = min(grades, key=_grade_rank)
    return max(best, definition.evidence, key=_grade_rank)


def red_flag_order(urgency: str, cid: str) -> tuple[int, str]:
    """A red flag's place in the result: most urgent first (its urgency in this result)."""
    return (URGENCIES.index(urgency), cid)


def cause_order(certainty: float, evidence: str, cid: str) -> tuple[float, int, str]:
    """A cause's place: most certain first (rounded as shown), then the better graded."""
    return (-certainty, _grade_rank(evidence), cid)


def emergency_states(kb: KnowledgeBase) -> set[str]:
    """The states whose conclusion lifts a red flag to an emergency (`emergency_if`).

    `advice_priority` takes them from its caller when it ranks many items of one result.
    """
    return {c.emergency_if for c in kb.knowledge.conclusions_of("red_flag") if c.emergency_if}


def advice_priority(
    kb: KnowledgeBase,
    by_id: Mapping[str, list[Contribution]],
    concluded: Set[str],
    cid: str,
    evidence: str,
    lifting: Set[str] | None = None,
) -> tuple[int, int, int, str]:
    """The place of a differential, recommendation or investigation `cid` in the result.

    Actions concluded with the most urgent red flag first, then by tier (safety first), then
    stronger evidence first. A rule that acts on a red flag (concludes or tests it, or tests the
    state that lifts it to an emergency) ranks its actions by that flag's urgency in this result.
    """
    knowledge = kb.knowledge
    if lifting is None:
        lifting = emergency_states(kb)
    rules = [c.rule for c in by_id[cid] if c.certainty > 0]
    urgencies = [
        URGENCIES.index(urgency_of(knowledge.conclusions[flag], concluded))
        for rule in rules
        for flag in (*rule.then.conclude, *rule.consumed_ids)
        if knowledge.conclusions[flag].kind == "red_flag" and flag in concluded
    ] + [
        URGENCIES.index("emergency")
        for rule in rules
        for state in rule.consumed_ids
        if state in lifting and state in concluded
    ]
    tier = max(knowledge.tiers.get(rule.tier, 0) for rule in rules)
    return (min(urgencies, default=len(URGENCIES)), -tier, _grade_rank(evidence), cid)


def _grade_rank(grade: str) -> int:
    return EVIDENCE_GRADES.index(grade) if grade in EVIDENCE_GRADES else len(EVIDENCE_GRADES)


def _references(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ref for group in groups for ref in group))


def build_result(
    kb: KnowledgeBase, patient: PatientFacts, firings: list[Firing], engine_version: str
) -> Consultation:
    """Assemble the consultation result from the firings (without its robustness section)."""
    knowledge = kb.knowledge
    rules = fired_rules(kb, firings)
    by_id = contributions(rules)
    certainty = certainties(kb, by_id)
    threshold = knowledge.certainty_threshold
    concluded = {cid for cid, cf in certainty.items() if cf >= threshold}
    # What `concluded: X` saw in the engine: concluded by some rule and excluded by none.
    asserted = {c for rule in rules for c in rule.then.conclude} - {
        x for rule in rules for x in rule.then.exclude
    }

    def because(cid: str, positive: bool = True) -> tuple[str, ...]:
        return tuple(c.rule.id for c in by_id.get(cid, []) if (c.certainty > 0) is positive)

    def held(cid: str) -> bool:
        # A drug line says "held" when a rule that concluded it holds the drug (state_drug_held):
        # the reports then say so instead of the routine "never stop it" footnote (brief 8.2).
        if knowledge.conclusions[cid].combine == "strongest":
            # An umbrella (the medication cause) is held only when every drug behind it is.
            rules_behind = set(because(cid))
            members = [
                m
                for m in concluded
                if knowledge.conclusions[m].kind == "cause"
                and knowledge.conclusions[m].combine != "strongest"
                and rules_behind & set(because(m))
            ]
            return bool(members) and all(held(m) for m in members)
        return any(
            c.certainty > 0 and HELD_STATE in c.rule.then.conclude for c in by_id.get(cid, [])
        )

    def references(cid: str) -> tuple[str, ...]:
        rule_refs = (
            ref for c in by_id.get(cid, []) if c.certainty > 0 for ref in c.rule.references
        )
        return _references(knowledge.conclusions[cid].references, rule_refs)

    def reasons(cid: str, positive: bool = True) -> str:
        texts = [
            render_reason(c.rule.then.reason, patient)
            for c in by_id.get(cid, [])
            if (c.certainty > 0) is positive and c.rule.then.reason
        ]
        return "; ".join(dict.fromkeys(texts))

    red_flags: list[RedFlag] = []
    causes: list[Cause] = []
    differentials: list[Differential] = []
    recommendations: list[Recommendation] = []
    investigations: list[Investigation] = []
    for cid in sorted(concluded, key=lambda c: (-certainty[c], c)):
        d = knowledge.conclusions[cid]
        if d.kind == "red_flag":
            red_flags.append(
                RedFlag(
                    cid, d.label, urgency_of(d, concluded),
                    d.emergency_action if urgency_of(d, concluded) != d.urgency else d.action,
                    reasons(cid), d.evidence, because(cid), references(cid),
                )
            )  # fmt: skip
        elif d.kind == "cause":
            causes.append(
                Cause(
                    cid, d.label, round(certainty[cid], 2),
                    umbrella_grade(kb, cid, by_id, concluded), d.nature, reasons(cid),
                    because(cid), references(cid), held(cid),
                )
            )  # fmt: skip
        elif d.kind == "differential":
            differentials.append(
                Differential(
                    cid, d.label, reasons(cid), d.action, d.evidence, because(cid), references(cid)
                )
            )
        elif d.kind == "recommendation":
            recommendations.append(
                Recommendation(
                    cid, d.label, d.text or d.description, reasons(cid), d.evidence,
                    references(cid), because(cid),
                )
            )  # fmt: skip
        elif d.kind == "investigation":
            investigations.append(
                Investigation(
                    cid, d.label, reasons(cid) or d.text, d.text, d.evidence, references(cid),
                    because(cid),
                )
            )  # fmt: skip
    excluded = [
        Excluded(
            cid,
            knowledge.conclusions[cid].label,
            reasons(cid, positive=False),
            because(cid, positive=False),
        )
        for cid, cf in sorted(certainty.items())
        if cf < 0 and knowledge.conclusions[cid].kind == "cause"
    ]
    red_flags.sort(key=lambda f: red_flag_order(f.urgency, f.id))
    causes.sort(key=lambda c: cause_order(c.certainty, c.evidence, c.id))

    lifting = emergency_states(kb)

    def priority(item: Differential | Recommendation | Investigation) -> tuple[int, int, int, str]:
        return advice_priority(kb, by_id, concluded, item.id, item.evidence, lifting)

    differentials.sort(key=priority)
    recommendations.sort(key=priority)
    investigations.sort(key=priority)
    warnings = [Warning(w.code, w.message, w.where) for w in patient.warnings]
    for cid, contribs in sorted(by_id.items()):
        if any(c.certainty > 0 for c in contribs) and any(c.certainty < 0 for c in contribs):
            warnings.append(
                Warning(
                    "W100",
                    f"{cid} was both concluded ({', '.join(because(cid))}) and excluded ({', '.join(because(cid, False))})",
                    "rules",
                )
            )
    trace = tuple(_trace_entry(kb, firing, patient, asserted) for firing in firings)
    cited = (
        *(item.references for item in red_flags),
        *(item.references for item in causes),
        *(item.references for item in differentials),
        *(item.references for item in recommendations),
        *(item.references for item in investigations),
        *(entry.references for entry in trace),
    )
    return Consultation(
        patient_id=patient.patient_id,
        knowledge_base=KnowledgeBaseInfo(
            kb.version, kb.digest, engine_version, len(kb.rules), threshold
        ),
        red_flags=tuple(red_flags),
        causes=tuple(causes),
        excluded=tuple(excluded),
        differentials=tuple(differentials),
        recommendations=tuple(recommendations),
        investigations=tuple(investigations),
        interpreted=Interpreted(
            freeze(patient.medications),
            freeze(patient.conditions),
            freeze(patient.labs),
            freeze(patient.extra_interpreted),
        ),
        warnings=tuple(warnings),
        trace=trace,
        references=_bibliography(kb, cited),
    )


def _trace_entry(
    kb: KnowledgeBase, firing: Firing, patient: PatientFacts, asserted: Set[str]
) -> TraceEntry:
    rule = kb.rule(firing.rule_id)
    assert rule is not None  # every firing names a compiled rule of this knowledge base
    # The patient is one immutable experta fact and every conclusion a rule tests was final
    # before it fired (strata), so the facts a condition held on are read from the rule's own
    # conditions; `activation` is what experta itself handed to the rule.
    return TraceEntry(
        rule=rule.id,
        title=rule.title,
        facts=tuple(matched_facts(rule.when, patient, asserted)),
        patient_fact=firing.matched_patient,
        conclusion_facts=tuple(firing.matched_conclusions),
        asserted=tuple(rule.then.conclude),
        excluded=tuple(rule.then.exclude),
        certainty=rule.then.certainty,
        evidence=rule.evidence,
        references=tuple(rule.references),
    )


def _bibliography(kb: KnowledgeBase, cited: Iterable[Iterable[str]]) -> tuple[Reference, ...]:
    references = kb.knowledge.references
    keys = dict.fromkeys(key for group in cited for key in group)
    return tuple(Reference(key, references[key].citation) for key in keys if key in references)


__all__ = [
    "advice_priority",
    "build_result",
    "cause_order",
    "certainties",
    "combine",
    "contributions",
    "counted",
    "emergency_states",
    "fired_rules",
    "matched_facts",
    "red_flag_order",
    "render_reason",
    "umbrella_grade",
    "urgency_of",
]
