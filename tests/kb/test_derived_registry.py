"""knowledge/facts.yaml and the registry of derived facts (kb/derived.py) cannot disagree.

The verifier's "no patient file gives this" proofs, the normaliser, the interview's questions
and the schemas all read the registry; facts.yaml is what an author reads. Every derived fact
and family of facts.yaml has an entry with the same type, unit and inputs, and every entry of
the registry is in facts.yaml; every derived fact of the loaded knowledge base belongs to one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cramp_expert.kb import derived
from cramp_expert.kb.loader import load_knowledge_base
from cramp_expert.patient.normalise import normalise_patient

FACTS_YAML = Path(__file__).parents[2] / "knowledge" / "facts.yaml"
KB = load_knowledge_base()


def disagreements(table: dict[str, Any]) -> list[str]:
    """Where a parsed facts.yaml and the registry differ (empty: they agree)."""
    found: list[str] = []
    singles = table.get("derived") or {}
    families = table.get("families") or {}
    inputs = table.get("facts") or {}
    for entry in derived.REGISTRY:
        if entry.family:
            written = families.get(entry.family)
            name = f"families.{entry.family}"
            if written is not None and written.get("pattern") != entry.id:
                found.append(f"{name}: pattern {written.get('pattern')!r}, registry {entry.id!r}")
        elif entry.input_fact:
            written, name = inputs.get(entry.id), f"facts.{entry.id}"
        else:
            written, name = singles.get(entry.id), f"derived.{entry.id}"
        if written is None:
            found.append(f"{name}: in the registry, not in facts.yaml")
            continue
        if written.get("type") != entry.type:
            found.append(f"{name}: type {written.get('type')!r}, registry {entry.type!r}")
        if (written.get("unit") or "") != entry.unit:
            found.append(f"{name}: unit {written.get('unit')!r}, registry {entry.unit!r}")
        if not entry.input_fact and tuple(written.get("inputs") or ()) != entry.inputs:
            found.append(f"{name}: inputs {written.get('inputs')}, registry {list(entry.inputs)}")
    registered = {e.id for e in derived.REGISTRY if not e.family}
    found += [f"derived.{f}: not in the registry" for f in singles if f not in registered]
    found += [f"families.{f}: not in the registry" for f in families if f not in derived.FAMILIES]
    return found


def test_facts_yaml_and_the_registry_agree():
    table = yaml.safe_load(FACTS_YAML.read_text())
    assert disagreements(table) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t["derived"]["labs.ck_xuln"].update(unit="U/L"),
        lambda t: t["derived"]["labs.calcium_corrected"].update(inputs=["labs.calcium"]),
        lambda t: t["derived"].pop("labs.egfr_calculated"),
        lambda t: t["derived"].update({"labs.anion_gap": {"type": "number", "inputs": []}}),
        lambda t: t["families"].pop("meds_dose"),
        lambda t: t["families"]["meds_started"].update(type="bool"),
        lambda t: t["facts"]["pregnant"].update(type="choice"),
    ],
    ids=["unit", "inputs", "missing", "unregistered", "family", "family-type", "input-fact"],
)
def test_a_disagreement_is_found(change):
    table = copy.deepcopy(yaml.safe_load(FACTS_YAML.read_text()))
    change(table)
    assert len(disagreements(table)) == 1


def test_every_derived_fact_of_the_knowledge_base_has_one_entry():
    for fact_id, fact in KB.knowledge.facts.items():
        if not fact.derived:
            continue
        entries = [e for e in derived.REGISTRY if e.matches(fact_id)]
        assert len(entries) == 1, fact_id
        assert (fact.type, fact.unit) == (entries[0].type, entries[0].unit), fact_id
        if entries[0].family:
            assert fact.range == entries[0].range, fact_id


def test_every_input_is_an_entry_of_a_patient_file():
    entries = {f for f, d in KB.knowledge.facts.items() if not d.derived}
    entries |= {derived.MEDICATIONS, derived.CONDITIONS, "<self>"}
    for entry in derived.REGISTRY:
        assert set(entry.inputs) <= entries, entry.id


def test_the_formulas_compute_what_the_normaliser_stores_and_invert_it():
    patient = {
        "age": 70,
        "sex": "female",
        "labs": {"calcium": "2.1 mmol/L", "albumin": "30 g/L", "ck": "900 U/L", "creatinine": 140},
    }
    values = normalise_patient(patient, KB.knowledge).values
    assert values["labs.calcium_corrected"] == 2.3
    assert values["labs.ck_xuln"] == 4.5
    assert values["labs.egfr_calculated"] == derived.ckd_epi_2021(140, 70, "female")
    ranges = {f: d.range for f, d in KB.knowledge.facts.items() if d.range}
    for formula in derived.FORMULAS:
        assert formula.invert is not None and formula.grid is not None
        given = {f: v for f, v in values.items() if f in formula.inputs or f == formula.id}
        known = {formula.id: values[formula.id], "age": 70.0, "sex": "female"}
        written = formula.invert(known, known, ranges)
        assert written is not None, formula.id
        again = {**given, **written}
        again.pop(formula.id)
        assert derived.apply_formulas(again) == [(formula.id, formula.compute(again))]
        assert again[formula.id] == values[formula.id]
        assert round(values[formula.id] / formula.grid, 6).is_integer()


@pytest.mark.parametrize(
    ("fact_id", "inputs"),
    [
        ("labs.calcium_corrected", ("labs.calcium", "labs.albumin")),
        ("meds.med_statin", ("medications",)),
        (
            "meds.med_statin.started_months_ago",
            ("medications", "meds.med_statin.started_months_ago"),
        ),
        ("meds.med_statin.stopped", ("medications",)),
        ("conditions.cirrhosis", ("conditions",)),
        ("conditions.unrecognised", ("conditions",)),
        ("labs.potassium", ("labs.potassium",)),
    ],
)
def test_inputs_of_a_fact(fact_id, inputs):
    assert derived.fact_inputs(fact_id) == inputs


def test_when_an_unknown_fact_is_settled():
    assert derived.settled_absent("labs.egfr_calculated", {"labs.egfr": 50.0})
    assert derived.settled_absent("labs.egfr_calculated", {"age": 12.0})
    assert not derived.settled_absent("labs.egfr_calculated", {"age": 40.0, "sex": "male"})
    assert derived.settled_absent("meds.med_statin.dose_mg", {"meds.med_statin": False})
    assert not derived.settled_absent("meds.med_statin.dose_mg", {"meds.med_statin": True})
    assert derived.settled_absent("meds.med_quinine.stopped", {"medications.count": 2.0})
    assert derived.settled_absent("gestation_weeks", {"sex": "male"})
    assert not derived.settled_absent("labs.calcium_corrected", {})
