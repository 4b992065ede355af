"""Which entries of a patient file decide which facts, and when an absent fact is settled.

The interview asks for patient-file entries (`labs.potassium`, `medications`), while rules test
facts, some of them derived (a corrected calcium from calcium and albumin, `meds.<class>` from
the medication list). Reasoning about what is still unknown needs the link both ways, and needs
to know when a fact is absent for good (a calculated eGFR beside a reported one). Both come from
the registry of derived facts (kb/derived.py); this module adds the order in which a patient
file (and the interview) gives its entries.
"""

from __future__ import annotations

from cramp_expert.kb.derived import (
    CONDITIONS,
    MEDICATIONS,
    MEDICATIONS_GIVEN,
    fact_inputs,
    settled_absent,
)
from cramp_expert.kb.knowledge import Knowledge


def input_ids(knowledge: Knowledge) -> list[str]:
    """Every entry a patient file (or an interview) can give, in the file's order."""
    entries = [fact_id for fact_id, fact in knowledge.facts.items() if not fact.derived]
    # The lists go after the patient's own history and before the findings, as a clinician asks.
    position = next(i for i, f in enumerate(entries) if f.startswith("findings."))
    return [*entries[:position], MEDICATIONS, CONDITIONS, *entries[position:]]


__all__ = [
    "CONDITIONS",
    "MEDICATIONS",
    "MEDICATIONS_GIVEN",
    "fact_inputs",
    "input_ids",
    "settled_absent",
]
