"""Patient files: read, validate and normalise into the flat facts the rules test.

`read_patient` turns a YAML/JSON patient file into a `PatientFacts`: every value keyed by its
fact id (`labs.potassium`), labs in their default unit, medications mapped to drug classes,
conditions mapped to condition ids, plus what was interpreted and any warnings.
"""

from cramp_expert.patient.normalise import (
    PatientFacts,
    facts_from_given,
    normalise_patient,
    read_patient,
)

__all__ = ["PatientFacts", "facts_from_given", "normalise_patient", "read_patient"]
