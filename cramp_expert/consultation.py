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

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeAlias

from cramp_expert.compile.predicates import MISSING, evaluate, fact_test, holds
from cramp_expert.engine import Firing
from cramp_expert.kb.knowledge import URGENCIES, ConclusionDef
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import (
    EVIDENCE_GRADES,
    PLACEHOLDER,
    ConcludedCondition,
    Condition,
    ConditionGroup,
    FactCondition,
    Rule,
)
from cramp_expert.kb.operators import operator
from cramp_expert.patient import PatientFacts
from cramp_expert.patient.normalise import format_value
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


def planned_contributions(plans: Iterable[_RulePlan]) -> dict[str, list[Contribution]]:
    """`contributions()` of the rules these plans are of (each rule once, in firing order)."""
    by_id: dict[str, list[Contribution]] = {}
    for rule_plan in plans:
        for cid, contribution in rule_plan.contributions:
            contribs = by_id.get(cid)
            if contribs is None:
                by_id[cid] = [contribution]
            else:
                contribs.append(contribution)
    return by_id


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
    umbrellas = _plan(kb).umbrellas
    out: dict[str, float] = {}
    for cid, contribs in by_id.items():
        if cid not in umbrellas:
            # One rule's contribution is its certainty (combine(counted([c])) == c.certainty).
            single = contribs[0].certainty if len(contribs) == 1 else 0.0
            out[cid] = single if single != 0 else combine(counted(contribs))
    for cid, contribs in by_id.items():
        if cid in umbrellas:
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


_EMERGENCY = URGENCIES.index("emergency")


def planned_priority(
    plans: Mapping[str, _RulePlan],
    contribs: Iterable[Contribution],
    concluded: Set[str],
    conclusions: Mapping[str, ConclusionDef],
    cid: str,
    evidence: str,
    ranks: dict[str, int],
) -> tuple[int, int, int, str]:
    """`advice_priority`, on the plans of the rules that fired (`plan_of_rule`).

    Their red flags, lifting states and tiers are worked out once per rule. `contribs` are
    `cid`'s contributions; `ranks` keeps each red flag's urgency rank for one result (one set of
    `concluded` ids).
    """
    most = len(URGENCIES)
    tier: int | None = None
    for c in contribs:
        if c.certainty > 0:
            rule_plan = plans[c.rule.id]
            for flag in rule_plan.flags:
                if flag in concluded:
                    rank = ranks.get(flag)
                    if rank is None:
                        rank = ranks[flag] = URGENCIES.index(
                            urgency_of(conclusions[flag], concluded)
                        )
                    most = min(most, rank)
            for state in rule_plan.lifting:
                if state in concluded:
                    most = min(most, _EMERGENCY)
            tier = rule_plan.tier if tier is None else max(tier, rule_plan.tier)
    if tier is None:
        raise ValueError(f"{cid} is listed without a rule that concluded it")
    return (most, -tier, _grade_rank(evidence), cid)


def _grade_rank(grade: str) -> int:
    return EVIDENCE_GRADES.index(grade) if grade in EVIDENCE_GRADES else len(EVIDENCE_GRADES)


# --- What build_result reads of a knowledge base, worked out once per knowledge base ------------
# A rule's condition tree, its contributions, its reason template and its place in the ordering
# are fixed; only the patient's values change. The trace of a firing is made by closures built
# from each rule's tree once (never from generated source: nothing from YAML is code), and the
# trace entries of facts with few possible values (yes/no, a category, unknown) are made once per
# value and shared: the result is immutable, so equal entries may be one object.

_Emit: TypeAlias = Callable[[Mapping[str, Any], Mapping[str, str], Set[str], list[Match]], None]
"""Appends the entries of one condition of a fired rule: (values, shown, concluded, out)."""
_Test: TypeAlias = Callable[[Mapping[str, Any], Set[str]], bool]

_SHARED_CLASSES = frozenset((bool, int, float, str, frozenset))
"""Value types whose equal values show alike (but a float's 0.0 and -0.0, keyed apart): a fact
entry of such a value is made once per (value, shown) and shared by every result."""
SHARED_PER_CONDITION = 256
"""At most this many shared fact entries per condition (a lab has many values)."""
SHARED_PER_RULE = 256
"""At most this many shared trace entries per rule."""


def _compile_test(condition: Condition) -> _Test:
    """`evaluate(condition, values, concluded)` as a closure (the same predicates)."""
    if isinstance(condition, FactCondition):
        fact, test, absent = fact_test(condition)

        def fact_holds(values: Mapping[str, Any], concluded: Set[str]) -> bool:
            value = values.get(fact, MISSING)
            return absent if value is MISSING else test(value)

        return fact_holds
    if isinstance(condition, ConcludedCondition):
        conclusion = condition.conclusion
        return lambda values, concluded: conclusion in concluded
    tests = tuple(_compile_test(item) for item in condition.items)
    if condition.kind == "all":

        def all_hold(values: Mapping[str, Any], concluded: Set[str]) -> bool:
            # A loop, not all(generator): a generator per test is most of a small test's cost.
            for item in tests:  # noqa: SIM110
                if not item(values, concluded):
                    return False
            return True

        return all_hold

    def one_holds(values: Mapping[str, Any], concluded: Set[str]) -> bool:
        for item in tests:  # noqa: SIM110
            if item(values, concluded):
                return True
        return False

    if condition.kind == "any":
        return one_holds
    return lambda values, concluded: not one_holds(values, concluded)


def _fact_emitter(condition: FactCondition, negated: bool) -> _Emit:
    """`_fact_entry(condition, patient, holds(...), negated)` as a closure."""
    fact, test, absent = fact_test(condition)
    described = condition.describe()
    presence = operator(condition.op).presence
    shared: dict[tuple[Any, ...], FactMatch] = {}

    def make(value: Any, given: Any) -> FactMatch:
        present = value is not MISSING
        # PatientFacts.show, spelt out on the values and shown it reads.
        if given is not MISSING:
            shown = given
        elif present:
            shown = format_value(value)
        else:
            shown = "unknown"
        if negated:
            text = f"not ({described}): {fact} = {shown}"
        elif presence:
            text = f"{fact} is {'known: ' + shown if present else 'unknown'}"
        else:
            text = f"{fact} = {shown} ({described})"
        raw = value if present else None
        return FactMatch(
            fact=fact,
            value=freeze(sorted(raw) if isinstance(raw, frozenset) else raw),
            shown=shown,
            condition=described,
            holds=(test(value) if present else absent),
            text=text,
            negated=negated,
        )

    def emit(
        values: Mapping[str, Any], shown: Mapping[str, str], concluded: Set[str], out: list[Match]
    ) -> None:
        value = values.get(fact, MISSING)
        given = shown.get(fact, MISSING)
        kind = value.__class__
        if kind is float:
            # 0.0 == -0.0 (one key) but they show as 0 and -0: zero is keyed by its text.
            key = (kind, value if value else str(value), given)
        elif value is MISSING or kind in _SHARED_CLASSES:
            key = (kind, value, given)
        else:
            out.append(make(value, given))
            return
        entry = shared.get(key)
        if entry is None:
            entry = make(value, given)
            if len(shared) < SHARED_PER_CONDITION:
                shared[key] = entry
        out.append(entry)

    return emit


def _constant(entry: Match) -> _Emit:
    def emit(
        values: Mapping[str, Any], shown: Mapping[str, str], concluded: Set[str], out: list[Match]
    ) -> None:
        out.append(entry)

    return emit


def _compile_absent(condition: Condition) -> _Emit:
    """`_absent_entries` as a closure: a `none` item, checked and found not to hold."""
    if isinstance(condition, FactCondition):
        return _fact_emitter(condition, negated=True)
    if isinstance(condition, ConcludedCondition):
        c = condition.conclusion
        return _constant(ConclusionMatch(c, False, f"{c} was not concluded", negated=True))
    described = condition.describe()
    return _constant(GroupMatch(described, f"not {described}"))


def _parts(group: ConditionGroup) -> tuple[tuple[_Test | None, _Emit], ...]:
    """A group's items as (the test that shows it or None, what it shows), in order.

    An `all` shows every item and a `none` every item as absent, so a group inside an `all`
    shows its own parts in its place: nested groups are flattened into one loop.
    """
    if group.kind == "none":
        return tuple((None, _compile_absent(item)) for item in group.items)
    if group.kind == "any":  # only the items that hold are shown
        return tuple((_compile_test(item), _compile_trace(item)) for item in group.items)
    parts: list[tuple[_Test | None, _Emit]] = []
    for item in group.items:
        if isinstance(item, ConditionGroup):
            parts.extend(_parts(item))
        else:
            parts.append((None, _compile_trace(item)))
    return tuple(parts)


def _compile_trace(condition: Condition) -> _Emit:
    """`matched_facts(condition, ...)` as a closure appending the entries to a list."""
    if isinstance(condition, FactCondition):
        return _fact_emitter(condition, negated=False)
    if isinstance(condition, ConcludedCondition):
        c = condition.conclusion
        yes = ConclusionMatch(c, True, f"{c} was concluded")
        no = ConclusionMatch(c, False, f"{c} was concluded")

        def conclusion(
            values: Mapping[str, Any],
            shown: Mapping[str, str],
            concluded: Set[str],
            out: list[Match],
        ) -> None:
            out.append(yes if c in concluded else no)

        return conclusion
    parts = _parts(condition)

    def group(
        values: Mapping[str, Any], shown: Mapping[str, str], concluded: Set[str], out: list[Match]
    ) -> None:
        for test, emit in parts:
            if test is None or test(values, concluded):
                emit(values, shown, concluded, out)

    return group


class _Reason:
    """A rule's reason template split once: `PLACEHOLDER.sub` without the regex per patient."""

    __slots__ = ("parts", "text")

    def __init__(self, template: str):
        pieces = PLACEHOLDER.split(template)
        self.text = template if len(pieces) == 1 else None
        # Even places hold text, odd places the fact ids PLACEHOLDER's one group captured.
        self.parts = tuple(pieces)

    def render(self, patient: PatientFacts) -> str:
        if self.text is not None:
            return self.text
        parts = list(self.parts)
        for i in range(1, len(parts), 2):
            parts[i] = patient.show(parts[i])
        return "".join(parts)


class _RulePlan:
    """One rule as build_result reads it."""

    __slots__ = (
        "asserted",
        "certainty",
        "contributions",
        "emit",
        "entries",
        "evidence",
        "excluded",
        "fired_before",
        "flags",
        "holds_drug",
        "id",
        "lifting",
        "reason",
        "references",
        "rule",
        "tier",
        "title",
    )

    def __init__(self, rule: Rule, kb: KnowledgeBase, lifting: Set[str]):
        conclusions = kb.knowledge.conclusions
        then = rule.then
        self.rule = rule
        self.id = rule.id
        self.title = rule.title
        self.asserted = tuple(then.conclude)
        self.excluded = tuple(then.exclude)
        self.certainty = then.certainty
        self.evidence = rule.evidence
        self.references = tuple(rule.references)
        # contributions(): a rule's conclusions then its exclusions, in its own order.
        self.contributions = tuple(
            (cid, Contribution(rule, then.certainty)) for cid in then.conclude
        ) + tuple((cid, Contribution(rule, -1.0)) for cid in then.exclude)
        self.reason = _Reason(then.reason) if then.reason else None
        self.holds_drug = HELD_STATE in then.conclude
        self.tier = kb.knowledge.tiers.get(rule.tier, 0)
        # advice_priority(): the red flags this rule acts on and the states that lift one.
        self.flags = tuple(
            flag
            for flag in (*then.conclude, *rule.consumed_ids)
            if flag in conclusions and conclusions[flag].kind == "red_flag"
        )
        self.lifting = tuple(state for state in rule.consumed_ids if state in lifting)
        self.emit: _Emit | None = None
        self.fired_before = False
        self.entries: dict[tuple[tuple[int, ...], bool, tuple[str, ...]], TraceEntry] = {}
        """Trace entries shared by equal firings (see `_trace`)."""

    def compiled(self) -> _Emit:
        """The rule's trace builder, compiled from its condition tree."""
        if self.emit is None:
            self.emit = _compile_trace(self.rule.when)
        return self.emit

    def trace(self, patient: PatientFacts, concluded: Set[str]) -> list[Match]:
        """The entries of a firing of this rule: `matched_facts`, compiled from the second on.

        A rule's first firing in a process walks its tree: a single consultation (a plain
        consult) does not pay for compiling what it uses once.
        """
        if self.emit is None and not self.fired_before:
            self.fired_before = True
            return matched_facts(self.rule.when, patient, concluded)
        out: list[Match] = []
        self.compiled()(patient.values, patient.shown, concluded, out)
        return out


class _Plan:
    """A knowledge base as build_result reads it (made once; see `_plan`)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.lifting = emergency_states(kb)
        self.umbrellas = frozenset(
            cid for cid, d in kb.knowledge.conclusions.items() if d.combine == "strongest"
        )
        self.rules: dict[str, _RulePlan] = {}
        """Rule id -> its plan, made when the rule first fires (a single consultation compiles
        only the rules that fired: a plain consult must not pay for the whole rule base)."""
        self.references = {
            key: Reference(key, ref.citation) for key, ref in kb.knowledge.references.items()
        }
        self.info: dict[str, KnowledgeBaseInfo] = {}
        self.cited_by: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
        """(id, the rules that concluded it) -> the references its item lists."""

    def rule(self, rule_id: str) -> _RulePlan | None:
        """The plan of a rule of this knowledge base (None: no such rule)."""
        rule_plan = self.rules.get(rule_id)
        if rule_plan is None:
            rule = self.kb.rule(rule_id)
            if rule is None:
                return None
            rule_plan = self.rules[rule_id] = _RulePlan(rule, self.kb, self.lifting)
        return rule_plan

    def knowledge_base_info(self, engine_version: str) -> KnowledgeBaseInfo:
        info = self.info.get(engine_version)
        if info is None:
            kb = self.kb
            info = KnowledgeBaseInfo(
                kb.version,
                kb.digest,
                engine_version,
                len(kb.rules),
                kb.knowledge.certainty_threshold,
            )
            if len(self.info) < 8:
                self.info[engine_version] = info
        return info


_PLANS: dict[int, _Plan] = {}
"""id of a knowledge base -> its plan (the plan holds the knowledge base: the id stays its)."""


def _plan(kb: KnowledgeBase) -> _Plan:
    plan = _PLANS.get(id(kb))
    if plan is None or plan.kb is not kb:
        if len(_PLANS) > 16:  # bounded: tests and authoring tools load many knowledge bases
            _PLANS.clear()
        plan = _PLANS[id(kb)] = _Plan(kb)
    return plan


def plan_of_rule(kb: KnowledgeBase, rule_id: str) -> _RulePlan | None:
    """What build_result reads of one rule of `kb`, made once (None: no such rule)."""
    return _plan(kb).rule(rule_id)


def build_result(
    kb: KnowledgeBase, patient: PatientFacts, firings: list[Firing], engine_version: str
) -> Consultation:
    """Assemble the consultation result from the firings (without its robustness section)."""
    plan = _plan(kb)
    knowledge = kb.knowledge
    conclusions = knowledge.conclusions
    plans = plan.rules
    # fired_rules(): the distinct rules that fired, in the order they first fired.
    fired: dict[str, _RulePlan] = {}
    for firing in firings:
        rule_id = firing.rule_id
        if rule_id not in fired:
            rule_plan = plans.get(rule_id) or plan.rule(rule_id)
            if rule_plan is not None:
                fired[rule_id] = rule_plan
    by_id = planned_contributions(fired.values())
    certainty = certainties(kb, by_id)
    threshold = knowledge.certainty_threshold
    concluded = {cid for cid, cf in certainty.items() if cf >= threshold}
    # What `concluded: X` saw in the engine: concluded by some rule and excluded by none.
    asserted = {c for p in fired.values() for c in p.asserted} - {
        x for p in fired.values() for x in p.excluded
    }

    def because(cid: str, positive: bool = True) -> tuple[str, ...]:
        return tuple(c.rule.id for c in by_id.get(cid, ()) if (c.certainty > 0) is positive)

    def holds_drug(cid: str) -> bool:
        return any(c.certainty > 0 and fired[c.rule.id].holds_drug for c in by_id.get(cid, ()))

    # Not recursive on purpose: a closure that calls itself is a reference cycle, which keeps
    # this call's lists alive until the collector runs (a cost on every batch patient).
    def held(cid: str) -> bool:
        # A drug line says "held" when a rule that concluded it holds the drug (state_drug_held):
        # the reports then say so instead of the routine "never stop it" footnote (brief 8.2).
        if conclusions[cid].combine == "strongest":
            # An umbrella (the medication cause) is held only when every drug behind it is.
            rules_behind = set(because(cid))
            members = [
                m
                for m in concluded
                if conclusions[m].kind == "cause"
                and conclusions[m].combine != "strongest"
                and rules_behind & set(because(m))
            ]
            return bool(members) and all(holds_drug(m) for m in members)
        return holds_drug(cid)

    cited_by = plan.cited_by

    def references(cid: str) -> tuple[str, ...]:
        # The conclusion's references then its concluding rules': the same for the same rules.
        key = (cid, because(cid))
        refs = cited_by.get(key)
        if refs is None:
            found = dict.fromkeys(conclusions[cid].references)
            for rule_id in key[1]:
                found.update(dict.fromkeys(fired[rule_id].references))
            refs = tuple(found)
            if len(cited_by) < 4096:
                cited_by[key] = refs
        return refs

    def reasons(cid: str, positive: bool = True) -> str:
        texts: dict[str, None] = {}
        for c in by_id.get(cid, ()):
            if (c.certainty > 0) is positive:
                reason = fired[c.rule.id].reason
                if reason is not None:
                    texts[reason.render(patient)] = None
        return "; ".join(texts)

    def urgency(d: ConclusionDef) -> str:
        return urgency_of(d, concluded)

    red_flags: list[RedFlag] = []
    causes: list[Cause] = []
    differentials: list[Differential] = []
    recommendations: list[Recommendation] = []
    investigations: list[Investigation] = []
    for cid in sorted(concluded, key=lambda c: (-certainty[c], c)):
        d = conclusions[cid]
        kind = d.kind
        if kind == "red_flag":
            flag_urgency = urgency(d)
            red_flags.append(
                RedFlag(
                    cid, d.label, flag_urgency,
                    d.emergency_action if flag_urgency != d.urgency else d.action,
                    reasons(cid), d.evidence, because(cid), references(cid),
                )
            )  # fmt: skip
        elif kind == "cause":
            causes.append(
                Cause(
                    cid, d.label, round(certainty[cid], 2),
                    umbrella_grade(kb, cid, by_id, concluded), d.nature, reasons(cid),
                    because(cid), references(cid), held(cid),
                )
            )  # fmt: skip
        elif kind == "differential":
            differentials.append(
                Differential(
                    cid, d.label, reasons(cid), d.action, d.evidence, because(cid), references(cid)
                )
            )
        elif kind == "recommendation":
            recommendations.append(
                Recommendation(
                    cid, d.label, d.text or d.description, reasons(cid), d.evidence,
                    references(cid), because(cid),
                )
            )  # fmt: skip
        elif kind == "investigation":
            investigations.append(
                Investigation(
                    cid, d.label, reasons(cid) or d.text, d.text, d.evidence, references(cid),
                    because(cid),
                )
            )  # fmt: skip
    excluded = [
        Excluded(
            cid,
            conclusions[cid].label,
            reasons(cid, positive=False),
            because(cid, positive=False),
        )
        for cid, cf in sorted(certainty.items())
        if cf < 0 and conclusions[cid].kind == "cause"
    ]
    red_flags.sort(key=lambda f: red_flag_order(f.urgency, f.id))
    causes.sort(key=lambda c: cause_order(c.certainty, c.evidence, c.id))

    ranks: dict[str, int] = {}

    def priority(item: Differential | Recommendation | Investigation) -> tuple[int, int, int, str]:
        return planned_priority(
            fired, by_id[item.id], concluded, conclusions, item.id, item.evidence, ranks
        )

    differentials.sort(key=priority)
    recommendations.sort(key=priority)
    investigations.sort(key=priority)
    warnings = [Warning(w.code, w.message, w.where) for w in patient.warnings]
    # Only an id with two contributions or more can be both concluded and excluded.
    for cid, contribs in sorted(item for item in by_id.items() if len(item[1]) > 1):
        if any(c.certainty > 0 for c in contribs) and any(c.certainty < 0 for c in contribs):
            warnings.append(
                Warning(
                    "W100",
                    f"{cid} was both concluded ({', '.join(because(cid))}) and excluded ({', '.join(because(cid, False))})",
                    "rules",
                )
            )
    trace = _trace(fired, firings, patient, asserted)
    # A rule fired again cites nothing new: its references are the trace entries' in order.
    cited = dict.fromkeys(
        chain.from_iterable(
            [
                *(item.references for item in red_flags),
                *(item.references for item in causes),
                *(item.references for item in differentials),
                *(item.references for item in recommendations),
                *(item.references for item in investigations),
                *(rule_plan.references for rule_plan in fired.values()),
            ]
        )
    )
    bibliography = plan.references
    return Consultation(
        patient_id=patient.patient_id,
        knowledge_base=plan.knowledge_base_info(engine_version),
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
        references=tuple(bibliography[key] for key in cited if key in bibliography),
    )


def _trace(
    plans: Mapping[str, _RulePlan],
    firings: list[Firing],
    patient: PatientFacts,
    asserted: Set[str],
) -> tuple[TraceEntry, ...]:
    """The trace entry of every firing, in firing order.

    The patient is one immutable experta fact and every conclusion a rule tests was final
    before it fired (strata), so the facts a condition held on are read from the rule's own
    conditions (a rule fired again saw the same); `activation` is what experta itself handed
    to the rule.
    """
    seen: dict[str, tuple[tuple[Match, ...], tuple[int, ...]]] = {}
    trace = []
    for firing in firings:
        rule_plan = plans.get(firing.rule_id)
        assert rule_plan is not None  # every firing names a compiled rule of this knowledge base
        matched = seen.get(rule_plan.id)
        if matched is None:
            out = rule_plan.trace(patient, asserted)
            matched = seen[rule_plan.id] = (tuple(out), tuple(map(id, out)))
        facts, identities = matched
        conclusion_facts = tuple(firing.matched_conclusions)
        # Equal firings share one entry. Keyed by the identities of its fact entries: a shared
        # entry holds them, so while it is kept no other object can take their identities.
        key = (identities, firing.matched_patient, conclusion_facts)
        entry = rule_plan.entries.get(key)
        if entry is None:
            entry = TraceEntry(
                rule_plan.id,
                rule_plan.title,
                facts,
                firing.matched_patient,
                conclusion_facts,
                rule_plan.asserted,
                rule_plan.excluded,
                rule_plan.certainty,
                rule_plan.evidence,
                rule_plan.references,
            )
            if len(rule_plan.entries) < SHARED_PER_RULE:
                rule_plan.entries[key] = entry
        trace.append(entry)
    return tuple(trace)


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
    "plan_of_rule",
    "planned_contributions",
    "planned_priority",
    "red_flag_order",
    "render_reason",
    "umbrella_grade",
    "urgency_of",
]
