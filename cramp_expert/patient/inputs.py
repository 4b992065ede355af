"""Which entries of a patient file decide which facts, and when an absent fact is settled.

The interview asks for patient-file entries (`labs.potassium`, `medications`), while rules test
facts, some of them derived (`labs.calcium_corrected` from calcium and albumin, `meds.<class>`
from the medication list). Reasoning about what is still unknown needs the link both ways, and
needs to know when a fact is absent for good: `labs.egfr_calculated` is never computed when the
file gives an eGFR, and a drug class the complete medication list does not name is false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cramp_expert.kb.knowledge import Knowledge

MEDICATIONS = "medications"
CONDITIONS = "conditions"

_DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "labs.calcium_corrected": ("labs.calcium", "labs.albumin"),
    "labs.ck_xuln": ("labs.ck",),
    "labs.egfr_calculated": ("labs.creatinine", "age", "sex", "labs.egfr"),
    "medications.count": (MEDICATIONS,),
    "conditions.unrecognised": (CONDITIONS,),
    # gestation implies a pregnancy (W005); dialysis may be read from the problem list or from
    # cramps during sessions (W007).
    "pregnant": ("pregnant", "gestation_weeks"),
    "dialysis": ("dialysis", CONDITIONS, "cramps.during_dialysis"),
}


def fact_inputs(fact_id: str) -> tuple[str, ...]:
    """The patient-file entries that decide `fact_id` (a fact id, `medications` or `conditions`)."""
    if fact_id in _DERIVED_FROM:
        return _DERIVED_FROM[fact_id]
    if fact_id.startswith("meds."):
        if fact_id.endswith(".started_months_ago"):
            return (MEDICATIONS, fact_id)
        return (MEDICATIONS,)
    if fact_id.startswith("conditions."):
        return (CONDITIONS,)
    return (fact_id,)


def input_ids(knowledge: Knowledge) -> list[str]:
    """Every entry a patient file (or an interview) can give, in the file's order."""
    entries = [fact_id for fact_id, fact in knowledge.facts.items() if not fact.derived]
    # The lists go after the patient's own history and before the findings, as a clinician asks.
    position = next(i for i, f in enumerate(entries) if f.startswith("findings."))
    return [*entries[:position], MEDICATIONS, CONDITIONS, *entries[position:]]


def settled_absent(fact_id: str, values: Mapping[str, Any]) -> bool:
    """Whether an unknown fact stays unknown whatever else is learnt about the patient."""
    if fact_id == "labs.egfr_calculated":
        # Calculated only when no eGFR is given, for adults whose sex is female or male.
        age, sex = values.get("age"), values.get("sex")
        return (
            "labs.egfr" in values
            or (age is not None and age < 18)
            or (sex is not None and sex not in ("female", "male"))
        )
    if fact_id in ("pregnant", "gestation_weeks") and values.get("sex") == "male":
        return True  # the normaliser refuses a pregnancy for a male patient
    if fact_id.startswith("meds.") and fact_id.count(".") == 2:
        # A start date or a stop matters only for a class the patient is on; with the list read
        # as complete, a stopped medicine would have been written in it.
        klass = fact_id.rsplit(".", 1)[0]
        if values.get(klass) is False:
            return True
        return fact_id.endswith(".stopped") and MEDICATIONS_GIVEN in values
    return False


MEDICATIONS_GIVEN = "medications.count"
"""Known exactly when the file has a medications list."""


__all__ = [
    "CONDITIONS",
    "MEDICATIONS",
    "fact_inputs",
    "input_ids",
    "settled_absent",
]
