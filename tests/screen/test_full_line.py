"""batch --full's line, written from the typed result with the shared parts' JSON spliced in
(`LineFormat.consultation_line`), is byte for byte the line of the contract's dict.

The oracle is the plain way batch wrote a line before: `result_line(source, result.to_dict())`
(msgspec over the whole contract dict); the line also reads back as `source` + `to_dict()`.
Results are made twice over the same patients, so that the second lines are written from the
JSON the first kept on the shared parts (trace entries, fact entries, references, dependences).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings

from cramp_expert.kb import load_knowledge_base
from cramp_expert.patient import normalise_patient
from cramp_expert.screen.records import LineFormat
from cramp_expert.testing import patient_files, seeds
from cramp_expert.verify.sampler import Sampler

ROOT = Path(__file__).resolve().parents[2]
KB = load_knowledge_base()
PATIENTS = patient_files(KB, seeds=seeds(KB))
SOURCE = {"input": "patients.jsonl", "record": 7, "line": 9}


def vignettes() -> list[dict]:
    found = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "examples").glob("*.yaml"))]
    for path in sorted((ROOT / "tests/acceptance/vignettes").rglob("*.yaml")):
        found.append(yaml.safe_load(path.read_text())["patient"])
    return found


def check_lines(lines: LineFormat, result) -> None:
    plain = lines.result_line(SOURCE, result.to_dict())
    spliced = lines.consultation_line(SOURCE, result)
    assert spliced == plain
    assert json.loads(spliced) == {"source": SOURCE, **result.to_dict()}


def test_every_example_and_vignette_gives_the_contract_dicts_line(consultant):
    lines = LineFormat()
    patients = vignettes()
    assert len(patients) > 40
    for _ in range(2):  # the second pass is written from the JSON kept on shared parts
        for data in patients:
            check_lines(lines, consultant.consult_data(data))


def test_generated_patients_give_the_contract_dicts_line(consultant):
    lines = LineFormat()
    generated = Sampler.for_kb(consultant.kb, 3).patients(150)
    shared = 0
    for _ in range(2):
        for data in generated:
            result = consultant.consult_facts(normalise_patient(data, consultant.kb.knowledge))
            shared += sum(1 for entry in result.trace if "_encoded_json" in vars(entry))
            check_lines(lines, result)
    assert shared > 0  # the second pass did splice kept JSON


@settings(max_examples=60)
@given(PATIENTS)
def test_hypothesis_patients_give_the_contract_dicts_line(consultant, patient):
    lines = LineFormat()
    result = consultant.consult_data(patient)
    check_lines(lines, result)
    check_lines(lines, consultant.consult_data(patient))  # shared parts now carry their JSON


def test_a_part_with_its_json_kept_is_the_same_value(consultant):
    lines = LineFormat()
    result = consultant.consult_data(vignettes()[0])
    entry = result.trace[0]
    before = entry.to_dict()
    lines.consultation_line(SOURCE, result)
    assert "_encoded_json" in vars(entry)
    assert entry.to_dict() == before  # a fresh plain dict, as before
    assert entry.to_dict() is not entry.to_dict()
    copy = replace(entry)
    assert copy == entry and hash(copy) == hash(entry)
    assert "_encoded_json" not in vars(copy)


def test_what_msgspec_refuses_is_written_the_plain_way(consultant):
    # A lone surrogate (never from a patient file: the readers refuse it) in a shared part and in
    # the result's own fields: the spliced line fails exactly as the plain one does.
    lines = LineFormat()
    result = consultant.consult_data(vignettes()[0])
    odd = replace(result.trace[0], title="bad \ud800")
    broken = [replace(result, patient_id="id \ud800"), replace(result, trace=(odd,))]
    for item in broken:
        with pytest.raises(UnicodeEncodeError):
            lines.result_line(SOURCE, item.to_dict())
        with pytest.raises(UnicodeEncodeError):
            lines.consultation_line(SOURCE, item)
