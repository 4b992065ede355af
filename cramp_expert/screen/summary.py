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
from typing import Any

from cramp_expert.consultation import certainties, contributions
from cramp_expert.kb.knowledge import URGENCIES
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import EVIDENCE_GRADES
from cramp_expert.patient import PatientFacts

FIELDS = ("red_flags", "causes", "recommendations", "investigations", "warnings")
"""The record's keys after `source` and `patient_id`, in order."""
SEVERE = frozenset({"emergency", "urgent"})
"""Red-flag urgencies whose patients the screening audit always re-runs through experta."""


def _grade_rank(grade: str) -> int:
    return EVIDENCE_GRADES.index(grade) if grade in EVIDENCE_GRADES else len(EVIDENCE_GRADES)


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
    """Screening records for one knowledge base: what is static per rule is worked out once."""

    def __init__(self, kb: KnowledgeBase):
        knowledge = kb.knowledge
        self.kb = kb
        self.threshold = knowledge.certainty_threshold
        self.conclusions = knowledge.conclusions
        urgency_rank = {
            cid: URGENCIES.index(c.urgency)
            for cid, c in knowledge.conclusions.items()
            if c.kind == "red_flag"
        }
        self._rules: dict[str, tuple[tuple[str, ...], tuple[str, ...], float, int, int]] = {}
        for rule in kb.rules:
            urgencies = [urgency_rank[c] for c in rule.then.conclude if c in urgency_rank]
            self._rules[rule.id] = (
                rule.then.conclude,
                rule.then.exclude,
                rule.then.certainty,
                min(urgencies, default=len(URGENCIES)),
                knowledge.tiers.get(rule.tier, 0),
            )
        self._grade = {cid: _grade_rank(c.evidence) for cid, c in knowledge.conclusions.items()}

    def summary(self, patient: PatientFacts, fired: Iterable[str]) -> dict[str, Any]:
        """The screening record of a patient on whom the rules `fired` fired (any order)."""
        rules = self._rules
        positive: dict[str, list[float]] = {}
        negative: dict[str, int] = {}
        # Per conclusion id: the most urgent red flag and the highest tier among the rules
        # that concluded it (the ordering of advice, as in build_result).
        urgency: dict[str, int] = {}
        tier: dict[str, int] = {}
        for rule_id in dict.fromkeys(fired):
            conclude, exclude, certainty, rule_urgency, rule_tier = rules[rule_id]
            for cid in conclude:
                positive.setdefault(cid, []).append(certainty)
                urgency[cid] = min(urgency.get(cid, rule_urgency), rule_urgency)
                tier[cid] = max(tier.get(cid, rule_tier), rule_tier)
            for cid in exclude:
                negative[cid] = negative.get(cid, 0) + 1
        conclusions = self.conclusions
        red_flags: list[tuple[int, str]] = []
        causes: list[tuple[float, int, str]] = []
        advice: dict[str, list[tuple[int, int, int, str]]] = {
            "recommendation": [],
            "investigation": [],
        }
        warnings: list[str] = [w.code for w in patient.warnings]
        # The contract's certainties (evidence families, umbrella causes), from the same code.
        by_id = contributions([self.kb.rule(r) for r in dict.fromkeys(fired)])  # type: ignore[misc]
        combined = certainties(self.kb, by_id)
        for cid in positive:
            if cid in negative:
                warnings.append("W100")  # concluded and excluded (build_result's warning)
            certainty = combined[cid]
            if certainty < self.threshold:
                continue
            definition = conclusions[cid]
            kind = definition.kind
            if kind == "red_flag":
                red_flags.append((URGENCIES.index(definition.urgency), cid))
            elif kind == "cause":
                causes.append((-round(certainty, 2), self._grade[cid], cid))
            elif kind in advice:
                advice[kind].append((urgency[cid], -tier[cid], self._grade[cid], cid))
        red_flags.sort()
        causes.sort()
        for items in advice.values():
            items.sort()
        return {
            "patient_id": patient.patient_id,
            "red_flags": [{"id": cid, "urgency": URGENCIES[rank]} for rank, cid in red_flags],
            "causes": [{"id": cid, "certainty": -rank} for rank, _, cid in causes],
            "recommendations": [item[3] for item in advice["recommendation"]],
            "investigations": [item[3] for item in advice["investigation"]],
            "warnings": list(dict.fromkeys(warnings)),
        }


__all__ = ["FIELDS", "SEVERE", "Summariser", "severe", "summary_of"]
