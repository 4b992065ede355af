"""FHIR R4 input: a Bundle, CDS Hooks prefetch or Bulk Data NDJSON read as a patient file.

Validation uses the models of fhir.resources 8 (pydantic 2), from its `R4B` subpackage:
fhir.resources 7 and later ship R5 (default), R4B and STU3, and no R4 (4.0.1) subpackage; the
releases that did (6.x and older) are built on pydantic 1, which no longer installs cleanly on
current Pythons. R4B (4.3.0) changed none of what is read here: Patient, Observation and Bundle
are normative and unchanged from R4, and Condition, MedicationRequest, MedicationStatement and
QuestionnaireResponse took no breaking change (R4B's changes are in medication definition,
evidence and subscription resources), so every valid R4 resource of these types validates.
fhir.resources is imported only inside `read.validate`, on these paths: `--help` and a plain
consultation never load it.

The mapping from codes to the project's names is knowledge/fhir.yaml (see `mapping`).
"""

from cramp_expert.fhir.read import (
    facts_from_fhir,
    facts_from_resources,
    is_fhir,
    load_fhir_file,
    looks_like_fhir,
    read_resources,
    resources_in,
)

__all__ = [
    "facts_from_fhir",
    "facts_from_resources",
    "is_fhir",
    "load_fhir_file",
    "looks_like_fhir",
    "read_resources",
    "resources_in",
]
