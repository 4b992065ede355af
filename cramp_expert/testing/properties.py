"""The properties every consultation must have, as functions a test (or an author) can call.

Each method takes a patient file (and, for the properties that compare two consultations, the
variant to compare with) and returns the violations it finds: an empty list when the property
holds. tests/property/ runs them on generated patients; tests/verify/ runs them on knowledge
bases with planted defects, to show that each can fail.

- `never`: no `never:` constraint of knowledge/properties.yaml is broken (forbidden conclusions,
  forbidden wording);
- `exclusive`: no two conclusions declared exclusive are reached together, and no cause is
  concluded and excluded at once;
- `faithful`: every rule the explanation names fired; every conclusion is explained down to the
  patient's facts; every fact cited was given or derived, with the value the rule saw; a reason
  cites only facts its rule looked at;
- `bounded`: the engine settled within its bound, each rule fired at most once a branch, every
  certainty lies between the threshold and 1;
- `differential`: what experta fired is exactly what the plain-Python evaluator of the same
  conditions says, and what the three-valued evaluator says with nothing open;
- `same_result`: two files that say the same thing (another order, other units, other names
  for the same medicines) give the same result;
- `monotone`: a change in a declared direction never removes a declared conclusion.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cramp_expert.api import Consultant
from cramp_expert.authoring.lint import facts_looked_at
from cramp_expert.compile import compile_knowledge_base
from cramp_expert.compile.predicates import evaluate
from cramp_expert.compile.to_experta import branches
from cramp_expert.consultation import build_result
from cramp_expert.engine import Engine
from cramp_expert.kb.declarations import Declarations, Monotone, load_declarations
from cramp_expert.kb.model import PLACEHOLDER
from cramp_expert.patient import PatientFacts, normalise_patient
from cramp_expert.reasoning import how
from cramp_expert.result import SECTIONS, Cause, Consultation, FactMatch, thaw
from cramp_expert.screen.compiled import CompiledRules


def _never_open(fact_id: str) -> bool:
    return False


class Properties:
    """The properties of one knowledge base (default: the bundled one)."""

    def __init__(self, root: Path | None = None, consultant: Consultant | None = None):
        self.consultant = consultant or Consultant(root)
        self.kb = self.consultant.kb
        self.knowledge = self.kb.knowledge
        self.declarations: Declarations = load_declarations(
            self.knowledge.root.parent, self.knowledge
        )
        self.looked_at = facts_looked_at(list(self.kb.rules))
        self._shuffled_engine: Engine | None = None
        self._screen: CompiledRules | None = None
        self._last: tuple[str, PatientFacts, Consultation] | None = None

    # --- consulting ---------------------------------------------------------------------------
    def consult(self, patient: dict[str, Any]) -> tuple[PatientFacts, Consultation]:
        """The patient's facts and result (robustness left out: it is tested on its own)."""
        key = json.dumps(patient, sort_keys=True, default=str)
        if self._last is None or self._last[0] != key:
            facts = normalise_patient(patient, self.knowledge)
            result = self.consultant.consult_facts(facts, with_robustness=False)
            self._last = (key, facts, result)
        return self._last[1], self._last[2]

    def with_rules_shuffled(self, patient: dict[str, Any]) -> Consultation:
        """The result of an engine whose rules were compiled in another order."""
        if self._shuffled_engine is None:
            rules = tuple(sorted(self.kb.rules, key=lambda r: r.id, reverse=True))
            self._shuffled_engine = Engine(compile_knowledge_base(replace(self.kb, rules=rules)))
        facts = normalise_patient(patient, self.knowledge)
        firings = self._shuffled_engine.run(dict(facts.values))
        return build_result(self.kb, facts, firings, "shuffled")

    # --- the never-rules ----------------------------------------------------------------------
    def never(self, patient: dict[str, Any]) -> list[str]:
        """The `never:` constraints of knowledge/properties.yaml this patient's result breaks."""
        facts, result = self.consult(patient)
        concluded = result.concluded
        seen = concluded | result.asserted
        problems: list[str] = []
        for rule in self.declarations.never:
            for forbid in rule.forbid:
                for cid in forbid.conclude:
                    if cid in concluded and evaluate(forbid.when, facts.values, seen):
                        problems.append(
                            f"never-rule {rule.id}: {cid} concluded while "
                            f"{forbid.when.describe()} (rules {', '.join(self._because(result, cid))})"
                        )
            for wording in rule.wording:
                for _, item in result.items():
                    kind = self.knowledge.conclusions[item.id].kind
                    if not wording.applies_to(item.id, kind):
                        continue
                    shown = item.to_dict()
                    text = " ".join(str(shown.get(f, "")) for f in ("label", "text", "action"))
                    for phrase in wording.said(text):
                        problems.append(f"never-rule {rule.id}: {item.id} says '{phrase}'")
        return problems

    def _because(self, result: Consultation, cid: str) -> list[str]:
        found = result.find(cid)
        return list(found[1].because) if found is not None and found[0] != "excluded" else []

    def exclusive(self, patient: dict[str, Any]) -> list[str]:
        """Conclusions declared exclusive reached together; causes concluded and excluded."""
        _, result = self.consult(patient)
        concluded = result.concluded
        problems = [
            f"{first} and {second} concluded together ({declared.why})"
            for first, second, declared in self.declarations.exclusive_pairs()
            if first in concluded and second in concluded
        ]
        problems += [w.message for w in result.warnings if w.code == "W100"]
        return problems

    # --- explanations -------------------------------------------------------------------------
    def faithful(self, patient: dict[str, Any]) -> list[str]:
        """Where the explanation says something that did not happen, or leaves a gap."""
        facts, result = self.consult(patient)
        values = facts.values
        seen = result.asserted
        fired = result.rules_fired
        problems: list[str] = []
        for rule_id in fired:
            rule = self.kb.rule(rule_id)
            if rule is None or not evaluate(rule.when, values, seen):
                problems.append(f"the trace names {rule_id}, whose conditions do not hold")
                continue
            for name in PLACEHOLDER.findall(rule.then.reason):
                if name not in self.looked_at[rule_id]:
                    problems.append(
                        f"{rule_id}'s reason cites {name}, which the rule never looks at"
                    )
        for entry in result.trace:
            for cited in entry.facts:
                if not isinstance(cited, FactMatch):
                    continue
                fact = cited.fact
                if fact not in self.knowledge.facts:
                    problems.append(f"{entry.rule} cites {fact}, which is no fact")
                elif cited.holds and not cited.negated and not _unknown(cited.to_dict()):
                    if fact not in values:
                        problems.append(
                            f"{entry.rule} cites {fact}, which was neither given nor derived"
                        )
                    elif thaw(cited.value) != _shown(values[fact]):
                        problems.append(
                            f"{entry.rule} cites {fact} = {thaw(cited.value)}, not {values[fact]}"
                        )
        listed: list[Any] = [item for _, item in result.items()] + list(result.excluded)
        for item in listed:
            if not item.because:
                problems.append(f"{item.id} is listed without a rule")
            for rule_id in item.because:
                if rule_id not in fired:
                    problems.append(f"{item.id} names {rule_id}, which did not fire")
            problems += self._explained(result, item.id, values)
        return problems

    def _explained(self, result: Consultation, cid: str, values: dict[str, Any]) -> list[str]:
        """Follow HOW from a conclusion down to the facts.

        Every step must be a fired rule, every chain explained, every fact the patient's.
        """
        fired = set(result.rules_fired)
        problems: list[str] = []

        def walk(step: dict[str, Any]) -> None:
            if step["rule"] not in fired:
                problems.append(f"HOW {cid} goes through {step['rule']}, which did not fire")
            for chain in step.get("chains", []):
                if not chain["rules"]:
                    problems.append(f"HOW {cid}: {chain['id']} is not explained by any rule")
                for inner in chain["rules"]:
                    walk(inner)
            for cited in step.get("facts", []):
                if (
                    "fact" in cited
                    and cited["holds"]
                    and not cited.get("negated")
                    and cited["fact"] not in values
                    and not _unknown(cited)
                ):
                    problems.append(f"HOW {cid} rests on {cited['fact']}, which is unknown")

        explanation = how(self.kb, result, cid)
        if not explanation.get("rules"):
            problems.append(f"HOW {cid} names no rule")
        for step in explanation.get("rules", []):
            walk(step)
        return problems

    # --- the engine ---------------------------------------------------------------------------
    def bounded(self, patient: dict[str, Any]) -> list[str]:
        """The engine settled within its bound; certainties stay between the threshold and 1."""
        _, result = self.consult(patient)
        problems: list[str] = []
        bound = self.consultant.engine.max_firings
        if len(result.trace) > bound:
            problems.append(f"{len(result.trace)} firings, beyond the bound {bound}")
        counts = Counter(entry.rule for entry in result.trace)
        for rule_id, count in counts.items():
            rule = self.kb.rule(rule_id)
            if rule is not None and count > branches(rule.when):
                problems.append(
                    f"{rule_id} fired {count} times, more than its {branches(rule.when)} branches"
                )
        threshold = self.knowledge.certainty_threshold
        for cause in result.causes:
            if not threshold <= cause.certainty <= 1:
                problems.append(f"{cause.id} has certainty {cause.certainty}")
        for entry in result.trace:
            if not threshold <= entry.certainty <= 1:
                problems.append(f"{entry.rule} concludes with certainty {entry.certainty}")
        return problems

    def differential(self, patient: dict[str, Any]) -> list[str]:
        """Where experta and the plain-Python evaluators disagree about which rules fire.

        The reference evaluator, the three-valued one with nothing open and the screening back
        end, each reading the operators' meaning from `kb.operators`.
        """
        facts, result = self.consult(patient)
        fired = set(result.rules_fired)
        seen = result.asserted
        problems = [
            f"{rule.id}: experta {'fired' if rule.id in fired else 'did not fire'} it, "
            "the reference evaluator says otherwise"
            for rule in self.kb.rules
            if evaluate(rule.when, facts.values, seen) != (rule.id in fired)
        ]
        outcome = self.consultant.evaluator.evaluate(facts.values, _never_open)
        three_valued = {r for r, truth in outcome.rule_truth.items() if truth}
        if three_valued != fired:
            problems.append(f"three-valued evaluation differs: {sorted(three_valued ^ fired)}")
        if self._screen is None:
            self._screen = CompiledRules(self.kb)
        screened = set(self._screen.fired(facts.values))
        if screened != fired:
            problems.append(f"the screening back end differs: {sorted(screened ^ fired)}")
        return problems

    # --- comparisons --------------------------------------------------------------------------
    def same_result(
        self, patient: dict[str, Any], variant: dict[str, Any], *, shuffled_rules: bool = False
    ) -> list[str]:
        """Where `variant` (the same patient said otherwise) gets another result."""
        _, first = self.consult(patient)
        second = self.with_rules_shuffled(variant) if shuffled_rules else self.consult(variant)[1]
        return [
            f"{key}: {_ids_of(getattr(first, key))} became {_ids_of(getattr(second, key))}"
            for key in (*SECTIONS, "excluded")
            if _outcome(getattr(first, key)) != _outcome(getattr(second, key))
        ]

    def monotone(
        self, declaration: Monotone, before: dict[str, Any], after: dict[str, Any]
    ) -> list[str]:
        """Conclusions `declaration` keeps that the change from `before` to `after` removed."""
        kept = self.declarations.kept(declaration, self.knowledge)
        _, first = self.consult(before)
        had = (first.concluded | first.asserted) & set(kept)
        _, second = self.consult(after)
        lost = had - (second.concluded | second.asserted)
        return [
            f"{declaration.fact} {declaration.direction}: {cid} was lost" for cid in sorted(lost)
        ]


def _unknown(cited: dict[str, Any]) -> bool:
    """Whether a cited condition is `known: false` (it holds on a fact that is not there)."""
    return str(cited.get("condition", "")).endswith(" is unknown")


def _shown(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def _outcome(items: Iterable[Any]) -> list[tuple[str, float | None]]:
    return [(item.id, item.certainty if isinstance(item, Cause) else None) for item in items]


def _ids_of(items: Iterable[Any]) -> list[str]:
    return [item.id for item in items]


__all__ = ["Properties"]
