"""The published JSON Schemas (schemas/) match the code, and accept every real file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from cramp_expert.authoring import schema

ROOT = Path(__file__).resolve().parent.parent
RULE_FILES = sorted((ROOT / "rules").rglob("*.yaml"))
PATIENT_FILES = sorted((ROOT / "examples").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "acceptance" / "vignettes").glob("*.yaml")
)


def committed(kind: str) -> dict:
    return json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())


@pytest.fixture(scope="module")
def rule_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(committed("rule"))


@pytest.fixture(scope="module")
def patient_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(committed("patient"))


@pytest.mark.parametrize("kind", schema.KINDS)
def test_the_committed_schema_is_generated_from_the_code(kb, kind):
    text = (ROOT / "schemas" / f"{kind}.schema.json").read_text()
    assert text == schema.render(schema.build(kind, kb)), (
        f"schemas/{kind}.schema.json is stale: run `make docs`"
    )
    jsonschema.Draft7Validator.check_schema(json.loads(text))


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.stem for p in RULE_FILES])
def test_every_rule_file_is_valid(rule_validator, path):
    errors = [e.message for e in rule_validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors, errors


@pytest.mark.parametrize(
    "path", PATIENT_FILES, ids=[p.parent.name + "/" + p.stem for p in PATIENT_FILES]
)
def test_every_example_patient_is_valid(patient_validator, path):
    data = yaml.safe_load(path.read_text())
    data = data["patient"] if "expect" in data else data
    errors = [e.message for e in patient_validator.iter_errors(data)]
    assert not errors, errors


RULE = (ROOT / "rules" / "electrolytes" / "hypokalemia-measured.yaml").read_text()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("labs.potassium, lt", "labs.potasium, lt"),  # unknown fact
        ("{fact: labs.potassium, lt: 3.5}", "{fact: findings.calf_tenderness, lt: 3.5}"),  # op
        ("{fact: labs.potassium, lt: 3.5}", "{fact: labs.potassium, lt: 3.5, gt: 1}"),  # two ops
        ("conclude: [hypokalemia", "conclude: [hypokalaemia"),  # unknown conclusion
        ("references: [AK12", "references: [AK21"),  # unknown reference
        ("tier: cause", "teir: cause"),  # unknown key, missing key
        ("evidence: LOW", "evidence: MEDIUM"),
        ("given: {labs.potassium: 4.2}", "given: {labs.potassium: high}"),
        ("given: {labs.potassium: 4.2}", "given: {labs.potasium: 4.2}"),
        ("fires: true", "fires: yes please"),
    ],
)
def test_the_rule_schema_rejects_what_the_loader_rejects(rule_validator, old, new):
    assert old in RULE
    assert list(rule_validator.iter_errors(yaml.safe_load(RULE.replace(old, new, 1))))


@pytest.mark.parametrize(
    "patient",
    [
        {"agee": 70},
        {"age": 300},
        {"sex": "mael"},
        {"findings": {"calf_tendernes": True}},
        {"labs": {"potasium": 3.1}},
        {"medications": [{"dose": "40 mg"}]},
        {"cramps": {"sites": ["shin"]}},
    ],
)
def test_the_patient_schema_rejects_what_the_reader_rejects(patient_validator, patient):
    assert list(patient_validator.iter_errors(patient))


@pytest.mark.parametrize(
    "patient",
    [
        {"medications": ["furosemide 40 mg"] * 101},
        {"conditions": ["diabetes"] * 101},
        {"conditions": ["heart failure " * 15]},
        {"medications": [{"name": "x" * 201}]},
        {"id": "X" * 201},
    ],
    ids=["101 medications", "101 conditions", "a long condition", "a long name", "a long id"],
)
def test_the_patient_schema_and_the_loader_share_their_limits(
    patient, consultant, patient_validator
):
    from cramp_expert.errors import PatientFileError

    # Just over a limit of patient.normalise (MAX_ENTRIES, MAX_TEXT): refused by both.
    assert list(patient_validator.iter_errors(patient)), "the schema accepts it"
    with pytest.raises(PatientFileError, match="the limit is"):
        consultant.consult_data(patient)
