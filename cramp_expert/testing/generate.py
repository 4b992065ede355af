"""A seeded generator of patient files, for benchmarks and reproducible bulk inputs.

It draws what `strategies.patient_files` draws (every part optional, numbers around the rules'
thresholds, labs in any accepted unit, medicines typed as generics, brands, combinations or
aliases, conditions by name) from a `random.Random`, so that thousands of patients come quickly,
without hypothesis, and the same seed gives the same patients. Every patient it makes is a valid
patient file.
"""

from __future__ import annotations

import random
from typing import Any

from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.patient.normalise import SECTIONS
from cramp_expert.testing.strategies import DOSES, thresholds

STARTED = (1, 6, 12, 13, 48)


def typed_names(knowledge: Knowledge) -> list[str]:
    """Names a clinician may type: each generic, two brands and two aliases, combinations."""
    names: list[str] = []
    for drug in knowledge.drugs.values():
        names.append(drug.name)
        names.extend(drug.brands[:2])
        names.extend(drug.aliases[:2])
    names.extend(list(knowledge.combinations)[:200])
    return sorted(set(names))


class PatientGenerator:
    """Patient files (dicts in the contract's shape), one per call of `patient()`."""

    def __init__(self, kb: KnowledgeBase, seed: int = 0):
        self.knowledge = kb.knowledge
        self.random = random.Random(seed)
        self.edges = thresholds(kb)
        self.names = typed_names(self.knowledge)
        self.conditions = sorted(self.knowledge.conditions)
        self.analytes = sorted(self.knowledge.analytes)

    def number(self, fact_id: str, low: float, high: float) -> float:
        """Near one of the fact's thresholds (just below, on, just above), or anywhere."""
        edges = self.edges.get(fact_id, [])
        pick = self.random
        if edges and pick.random() < 0.5:
            edge = pick.choice(edges)
            delta = pick.choice((-0.01, 0.0, 0.01)) * max(1.0, abs(edge))
            return round(min(high, max(low, edge + delta)), 3)
        return round(pick.uniform(low, high), 3)

    def value(self, fact_id: str) -> Any:
        """A value of the fact's type and domain."""
        fact = self.knowledge.facts[fact_id]
        pick = self.random
        if fact.type == "bool":
            return pick.random() < 0.5
        if fact.type == "choice":
            return pick.choice(fact.values)
        if fact.type == "list":
            return pick.sample(fact.values, pick.randint(1, min(3, len(fact.values))))
        low, high = fact.range or (0.0, 1000.0)
        return self.number(fact_id, low, high)

    def lab(self, name: str) -> str:
        """A reading written in one of the analyte's units: `3.1 mmol/L`."""
        analyte = self.knowledge.analytes[name]
        low, high = analyte.plausible
        value = self.number(f"labs.{name}", low, high)
        unit = self.random.choice(analyte.units)
        return f"{value / unit.factor + unit.offset:.6g} {unit.name}"

    def medication(self) -> Any:
        """A medicine as typed, sometimes with its start date."""
        pick = self.random
        typed = pick.choice(self.names) + pick.choice(DOSES)
        if pick.random() < 0.5:
            return {"name": typed, "started_months_ago": pick.choice(STARTED)}
        return typed

    def patient(self) -> dict[str, Any]:
        """One patient file."""
        pick = self.random

        def maybe() -> bool:
            return pick.random() < 0.5

        patient: dict[str, Any] = {}
        for key in ("age", "sex", "dialysis"):
            if maybe():
                patient[key] = self.value(key)
        if patient.get("sex") in ("female", None) and maybe():
            patient["pregnant"] = maybe()
            if patient["pregnant"] and maybe():
                patient["gestation_weeks"] = self.value("gestation_weeks")
        for section in SECTIONS:
            if maybe():
                patient[section] = {
                    key: self.value(f"{section}.{key}")
                    for key in self.knowledge.section_keys(section)
                    if maybe()
                }
        if maybe():
            patient["medications"] = [self.medication() for _ in range(pick.randint(0, 6))]
        if maybe():
            chosen = pick.sample(self.conditions, pick.randint(0, 3))
            patient["conditions"] = [c.replace("_", " ") for c in chosen]
        cramps = patient.get("cramps", {})
        if patient.get("dialysis") == "none" and cramps.get("during_dialysis") is True:
            del cramps["during_dialysis"]  # a contradiction is an input error, not a patient
        if maybe():
            labs = pick.sample(self.analytes, pick.randint(0, min(6, len(self.analytes))))
            patient["labs"] = {name: self.lab(name) for name in labs}
        return patient

    def patients(self, count: int) -> list[dict[str, Any]]:
        """`count` patient files."""
        return [self.patient() for _ in range(count)]


__all__ = ["PatientGenerator"]
