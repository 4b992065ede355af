"""The one patient generator: seeded or driven by hypothesis, the same description of a patient."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from cramp_expert.patient import normalise_patient
from cramp_expert.testing import patient_files
from cramp_expert.testing.strategies import fact_values
from cramp_expert.verify.sampler import DOSES, Sampler


def test_the_same_seed_gives_the_same_patients(kb):
    assert Sampler.for_kb(kb, 5).patients(30) == Sampler.for_kb(kb, 5).patients(30)
    assert Sampler.for_kb(kb, 5).patients(30) != Sampler.for_kb(kb, 6).patients(30)


def test_seeded_patients_are_valid_files_that_cover_every_kind_of_entry(kb):
    knowledge = kb.knowledge
    seen: Counter[str] = Counter()
    for patient in Sampler.for_kb(kb, 1).patients(300):
        normalise_patient(patient, knowledge)  # raises on an invalid file
        seen.update(list(patient))
        for section in ("cramps", "findings", "lifestyle"):
            seen.update(f"{section}.{k}" for k in patient.get(section, {}))
        for name, lab in patient.get("labs", {}).items():
            seen[f"labs.{name}"] += 1
            seen["lab as text" if isinstance(lab, str) else "lab as mapping"] += 1
            seen["lab with its ULN"] += isinstance(lab, dict) and "uln" in lab
        for entry in patient.get("medications", []):
            seen["medication with a start" if isinstance(entry, dict) else "medication"] += 1
            typed = entry["name"] if isinstance(entry, dict) else entry
            seen["combination"] += any(typed.startswith(c) for c in knowledge.combinations)
    inputs = {f for f, d in knowledge.facts.items() if not d.derived}
    assert inputs <= set(seen), inputs - set(seen)
    for kind in (
        "lab as text",
        "lab as mapping",
        "lab with its ULN",
        "medication",
        "medication with a start",
        "combination",
        "conditions",
    ):
        assert seen[kind] > 0, kind


def test_numbers_fall_on_both_sides_of_the_thresholds(kb):
    sampler = Sampler.for_kb(kb, 2)
    values = {sampler.value("labs.potassium") for _ in range(400)}
    assert any(v < 3.5 for v in values) and any(v >= 3.5 for v in values)
    assert set(sampler.domains.values("labs.potassium")) & values


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_hypothesis_draws_the_same_patients(kb, data):
    # The strategies run the sampler with hypothesis making each choice: valid files, numbers
    # in range, medicines typed with one of the generator's doses.
    patient = data.draw(patient_files(kb))
    normalise_patient(patient, kb.knowledge)
    low, high = kb.knowledge.facts["labs.potassium"].range
    assert low <= data.draw(fact_values(kb, "labs.potassium")) <= high
    for entry in patient.get("medications", []):
        typed = entry["name"] if isinstance(entry, dict) else entry
        assert any(typed.endswith(dose) for dose in DOSES)
