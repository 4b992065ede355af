"""HL7's published FHIR R4 example resources (tests/data/hl7-fhir-r4-examples) through the reader."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cramp_expert.api import Consultant
from cramp_expert.fhir.read import facts_from_fhir, read_resources, validate
from cramp_expert.service.cards import contract

EXAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "hl7-fhir-r4-examples"
FILES = sorted(EXAMPLES.glob("*.json"))
CONSULTANT = Consultant()
K = CONSULTANT.kb.knowledge
TODAY = dt.date(2026, 6, 15)


def load(name):
    return json.loads((EXAMPLES / name).read_text())


def test_the_examples_are_there():
    assert len(FILES) >= 50


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_example_validates_and_is_read_or_listed_never_dropped(path):
    resources = validate(json.loads(path.read_text()), path.name)
    reading = read_resources(resources, K, TODAY)
    assert reading.read or reading.not_used, f"{path.name} left no trace in interpreted.fhir"


def test_what_the_examples_give():
    glucose = read_resources(validate(load("observation-example-f001-glucose.json"), "x"), K, TODAY)
    assert glucose.data == {"labs": {"glucose": "6.3 mmol/L"}}
    assert glucose.lab_sources["glucose"] == {
        "date": "2013-04-02T09:30:10+01:00",
        "source": "Observation/f001",
        "loinc": "15074-8",
    }
    patient = read_resources(validate(load("patient-example.json"), "x"), K, TODAY)
    assert patient.data == {"id": "example", "sex": "male", "age": 51}  # born 1974-12-25
    reasons = {
        name: read_resources(validate(load(name), "x"), K, TODAY).not_used[0]["reason"]
        for name in (
            "observation-example-f202-temperature.json",
            "observation-example-bloodpressure-cancel.json",
            "observation-example-f205-egfr.json",
            "observation-example-f204-creatinine.json",
            "Medication-med0301.json",
            "questionnaireresponse-example-gcs.json",
        )
    }
    assert (
        reasons
        == {
            "observation-example-f202-temperature.json": "status entered-in-error",
            "observation-example-bloodpressure-cancel.json": "status cancelled",
            "observation-example-f205-egfr.json": "no valueQuantity",
            "observation-example-f204-creatinine.json": "code not read by cramp-expert",  # a local lab code
            "Medication-med0301.json": "a Medication no MedicationRequest or MedicationStatement refers to",
            "questionnaireresponse-example-gcs.json": "answers another questionnaire (Questionnaire/gcs)",
        }
    )


def test_a_record_of_the_examples_about_patient_f001_is_consulted():
    record = [
        load(name)
        for name in (
            "patient-example-f001.json",
            "observation-example-f001-glucose.json",
            "observation-example-f204-creatinine.json",
            "observation-example-f205-egfr.json",
            "condition-example.json",  # about Patient/example: another patient
        )
    ]
    facts = facts_from_fhir(record, K, "<hl7>", today=TODAY)
    result = contract(CONSULTANT.consult_facts(facts, with_robustness=False))
    assert result["patient_id"] == "f001"
    assert result["interpreted"]["labs"]["glucose"]["value"] == 6.3
    notes = {n["resource"]: n["reason"] for n in result["interpreted"]["fhir"]["not_used"]}
    assert notes["Condition/example"] == "about another patient"
    assert "older_age" in {c["id"] for c in result["causes"]}
