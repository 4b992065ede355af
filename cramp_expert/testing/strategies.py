"""Hypothesis strategies that generate patient files from the knowledge base.

Every fact may be absent (unknown), so generated patients cover partial knowledge. Numbers are
drawn around every threshold that some rule tests, so both sides of each rule's conditions are
exercised; labs are written in any accepted unit; medicines are typed as generic names, brand
names, combinations or aliases (misspellings included).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import strategies as st

from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import FactCondition
from cramp_expert.patient.normalise import SECTIONS


def thresholds(kb: KnowledgeBase) -> dict[str, list[float]]:
    """Fact id -> every number a rule compares it with (the edges of its conditions)."""
    edges: dict[str, set[float]] = defaultdict(set)
    for rule in kb.rules:
        for condition in rule.fact_conditions():
            if isinstance(condition, FactCondition) and condition.op in (
                "lt",
                "le",
                "gt",
                "ge",
                "is",
                "between",
            ):
                values = condition.value if condition.op == "between" else (condition.value,)
                for value in values:
                    if isinstance(value, float):
                        edges[condition.fact].add(value)
    return {fact: sorted(values) for fact, values in edges.items()}


def _number(low: float, high: float, edges: list[float]) -> st.SearchStrategy[float]:
    near = [
        round(min(high, max(low, edge + delta)), 3)
        for edge in edges
        for delta in (-0.01 * max(1.0, abs(edge)), 0.0, 0.01 * max(1.0, abs(edge)))
    ]
    anywhere = st.floats(min_value=low, max_value=high, allow_nan=False).map(lambda v: round(v, 3))
    return st.one_of(st.sampled_from(near), anywhere) if near else anywhere


def _fact_value(
    knowledge: Knowledge, fact_id: str, edges: dict[str, list[float]]
) -> st.SearchStrategy[Any]:
    fact = knowledge.facts[fact_id]
    if fact.type == "bool":
        return st.booleans()
    if fact.type == "choice":
        return st.sampled_from(fact.values)
    if fact.type == "list":
        return st.lists(st.sampled_from(fact.values), min_size=1, max_size=3, unique=True)
    low, high = fact.range or (0.0, 1000.0)
    return _number(low, high, edges.get(fact_id, []))


def _lab(knowledge: Knowledge, name: str, edges: dict[str, list[float]]) -> st.SearchStrategy[Any]:
    analyte = knowledge.analytes[name]
    low, high = analyte.plausible

    def write(value: float, unit_index: int) -> Any:
        unit = analyte.units[unit_index]
        given = value / unit.factor + unit.offset
        return f"{given:.6g} {unit.name}"

    return st.tuples(
        _number(low, high, edges.get(f"labs.{name}", [])), st.integers(0, len(analyte.units) - 1)
    ).map(lambda pair: write(*pair))


def _medication_names(knowledge: Knowledge) -> list[str]:
    names: list[str] = []
    for drug in knowledge.drugs.values():
        names.append(drug.name)
        names.extend(drug.brands[:2])
        names.extend(drug.aliases[:2])
    names.extend(list(knowledge.combinations)[:200])
    return sorted(set(names))


@st.composite
def _medication(draw: st.DrawFn, names: list[str]) -> Any:
    name = draw(st.sampled_from(names))
    typed = name + draw(st.sampled_from(["", " 20 mg od", " 40mg", " 5 mg nocte", " inhaler bd"]))
    if draw(st.booleans()):
        return {"name": typed, "started_months_ago": draw(st.sampled_from([1, 6, 12, 13, 48]))}
    return typed


def patient_files(kb: KnowledgeBase) -> st.SearchStrategy[dict[str, Any]]:
    """Patient files (dicts in the contract's shape) with any subset of facts known."""
    knowledge = kb.knowledge
    edges = thresholds(kb)
    names = _medication_names(knowledge)
    conditions = sorted(knowledge.conditions)

    def section(prefix: str) -> st.SearchStrategy[dict[str, Any]]:
        keys = sorted(
            f.removeprefix(prefix + ".")
            for f, d in knowledge.facts.items()
            if f.startswith(prefix + ".") and not d.derived
        )
        return st.fixed_dictionaries(
            {}, optional={k: _fact_value(knowledge, f"{prefix}.{k}", edges) for k in keys}
        )

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        patient: dict[str, Any] = {}
        for key in ("age", "sex", "dialysis"):
            if draw(st.booleans()):
                patient[key] = draw(_fact_value(knowledge, key, edges))
        if patient.get("sex") in ("female", None) and draw(st.booleans()):
            patient["pregnant"] = draw(st.booleans())
            if patient["pregnant"] and draw(st.booleans()):
                patient["gestation_weeks"] = draw(_fact_value(knowledge, "gestation_weeks", edges))
        for name in SECTIONS:
            if draw(st.booleans()):
                patient[name] = draw(section(name))
        if draw(st.booleans()):
            patient["medications"] = draw(st.lists(_medication(names), max_size=6))
        if draw(st.booleans()):
            patient["conditions"] = [
                c.replace("_", " ")
                for c in draw(st.lists(st.sampled_from(conditions), max_size=3, unique=True))
            ]
        cramps = patient.get("cramps", {})
        if patient.get("dialysis") == "none" and cramps.get("during_dialysis") is True:
            del cramps["during_dialysis"]  # a contradiction is an input error, not a patient
        if draw(st.booleans()):
            labs = draw(
                st.lists(st.sampled_from(sorted(knowledge.analytes)), max_size=6, unique=True)
            )
            patient["labs"] = {name: draw(_lab(knowledge, name, edges)) for name in labs}
        return patient

    return build()
