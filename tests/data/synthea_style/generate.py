"""Generate a small Synthea-style FHIR R4 Bulk Data export (NDJSON), deterministically.

Synthea (github.com/synthetichealth/synthea) writes one Patient per person and the rest of the
record as Encounters, Conditions (SNOMED CT, with the semantic tag in the display), clinical-drug
MedicationRequests (RxNorm SCD codes, display only), Observations (LOINC, UCUM valueQuantity,
vital signs by the dozen), Procedures and Immunizations, every resource pointing at its Patient
by `urn:uuid:` or `Patient/` reference. This generator writes the same shapes for 12 people
with conditions and medicines that matter for night cramps, so that `cramp-expert batch` can be
tested on a Bulk Data folder without downloading one. The codes are those Synthea's modules use
(its public sample data); the people, dates and values are invented.

    python tests/data/synthea_style/generate.py tests/data/synthea_style/export
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

SEED = 16
TODAY = date(2026, 6, 15)
SNOMED, LOINC, RXNORM, UCUM = (
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://unitsofmeasure.org",
)
CONDITIONS = [
    ("59621000", "Essential hypertension (disorder)"),
    ("44054006", "Diabetes mellitus type 2 (disorder)"),
    ("433144002", "Chronic kidney disease stage 3 (disorder)"),
    ("88805009", "Chronic congestive heart failure (disorder)"),
    ("15777000", "Prediabetes (finding)"),
    ("40055000", "Chronic sinusitis (disorder)"),
    ("368581000119106", "Neuropathy due to type 2 diabetes mellitus (disorder)"),
]
MEDICINES = [
    ("314231", "Simvastatin 10 MG Oral Tablet"),
    ("259255", "Atorvastatin 80 MG Oral Tablet"),
    ("310798", "Hydrochlorothiazide 25 MG Oral Tablet"),
    ("197361", "Amlodipine 5 MG Oral Tablet"),
    ("314076", "Lisinopril 10 MG Oral Tablet"),
    ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
    ("313988", "Furosemide 40 MG Oral Tablet"),
    ("849574", "Naproxen sodium 220 MG Oral Tablet"),
]
LABS = [  # code, display, unit, low, high
    ("6298-4", "Potassium [Moles/volume] in Blood", "mmol/L", 2.8, 5.2),
    ("2947-0", "Sodium [Moles/volume] in Blood", "mmol/L", 128, 146),
    ("49765-1", "Calcium [Mass/volume] in Blood", "mg/dL", 7.9, 10.4),
    ("38483-4", "Creatinine [Mass/volume] in Blood", "mg/dL", 0.6, 2.4),
    (
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)",
        "mL/min/{1.73_m2}",
        25,
        95,
    ),
    ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 70, 190),
]
VITALS = [
    ("8302-2", "Body Height", "cm"),
    ("29463-7", "Body Weight", "kg"),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
]


def _ref(pid: str, rng: random.Random) -> dict[str, str]:
    # Synthea's bundles use urn:uuid: references; Bulk Data exports use Patient/<id>.
    return {"reference": f"urn:uuid:{pid}" if rng.random() < 0.5 else f"Patient/{pid}"}


def people(count: int = 12) -> dict[str, list[dict]]:
    rng = random.Random(SEED)
    files: dict[str, list[dict]] = {
        k: []
        for k in (
            "Patient",
            "Encounter",
            "Condition",
            "MedicationRequest",
            "Observation",
            "Procedure",
        )
    }
    for n in range(count):
        pid = str(uuid.UUID(int=rng.getrandbits(128)))
        born = TODAY - timedelta(days=rng.randint(40 * 365, 88 * 365))
        files["Patient"].append(
            {
                "resourceType": "Patient",
                "id": pid,
                "name": [{"use": "official", "family": f"Example{n}", "given": ["Pat"]}],
                "gender": rng.choice(["female", "male"]),
                "birthDate": born.isoformat(),
            }
        )
        eid = str(uuid.UUID(int=rng.getrandbits(128)))
        files["Encounter"].append(
            {
                "resourceType": "Encounter",
                "id": eid,
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": _ref(pid, rng),
                "period": {"start": "2026-05-01T09:00:00Z", "end": "2026-05-01T09:30:00Z"},
            }
        )
        for code, display in rng.sample(CONDITIONS, rng.randint(1, 3)):
            resolved = rng.random() < 0.2
            files["Condition"].append(
                {
                    "resourceType": "Condition",
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "resolved" if resolved else "active",
                            }
                        ]
                    },
                    "verificationStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                "code": "confirmed",
                            }
                        ]
                    },
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                    "code": "encounter-diagnosis",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [{"system": SNOMED, "code": code, "display": display}],
                        "text": display,
                    },
                    "subject": _ref(pid, rng),
                    "encounter": {"reference": f"urn:uuid:{eid}"},
                    "onsetDateTime": "2019-03-01T10:00:00Z",
                    "recordedDate": "2019-03-01T10:00:00Z",
                }
            )
        for code, display in rng.sample(MEDICINES, rng.randint(0, 3)):
            for renewal in range(rng.randint(1, 3)):  # Synthea renews: earlier ones are stopped
                last = renewal == 2 or rng.random() < 0.5
                files["MedicationRequest"].append(
                    {
                        "resourceType": "MedicationRequest",
                        "id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "status": "active" if last else "stopped",
                        "intent": "order",
                        "medicationCodeableConcept": {
                            "coding": [{"system": RXNORM, "code": code, "display": display}],
                            "text": display,
                        },
                        "subject": _ref(pid, rng),
                        "encounter": {"reference": f"urn:uuid:{eid}"},
                        "authoredOn": (TODAY - timedelta(days=400 - 120 * renewal)).isoformat()
                        + "T09:00:00Z",
                    }
                )
                if last:
                    break
        for code, display, unit, low, high in LABS:
            for when in ("2025-11-01T09:00:00Z", "2026-05-01T09:00:00Z"):
                files["Observation"].append(
                    {
                        "resourceType": "Observation",
                        "id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "status": "final",
                        "category": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                        "code": "laboratory",
                                    }
                                ]
                            }
                        ],
                        "code": {
                            "coding": [{"system": LOINC, "code": code, "display": display}],
                            "text": display,
                        },
                        "subject": _ref(pid, rng),
                        "effectiveDateTime": when,
                        "issued": when,
                        "valueQuantity": {
                            "value": round(rng.uniform(low, high), 1),
                            "unit": unit,
                            "system": UCUM,
                            "code": unit,
                        },
                    }
                )
        for code, display, unit in VITALS:
            files["Observation"].append(
                {
                    "resourceType": "Observation",
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [{"system": LOINC, "code": code, "display": display}],
                        "text": display,
                    },
                    "subject": _ref(pid, rng),
                    "effectiveDateTime": "2026-05-01T09:00:00Z",
                    "valueQuantity": {
                        "value": round(rng.uniform(20, 180), 1),
                        "unit": unit,
                        "system": UCUM,
                        "code": unit,
                    },
                }
            )
        files["Procedure"].append(
            {
                "resourceType": "Procedure",
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "status": "completed",
                "code": {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": "430193006",
                            "display": "Medication Reconciliation (procedure)",
                        }
                    ]
                },
                "subject": _ref(pid, rng),
                "performedDateTime": "2026-05-01T09:10:00Z",
            }
        )
    return files


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, resources in people().items():
        (folder / f"{kind}.ndjson").write_text(
            "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in resources)
        )


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "export")
