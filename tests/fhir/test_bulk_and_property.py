"""Bulk Data NDJSON through `batch`, and the property: a Bundle concludes what its file does."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cramp_expert.api import Consultant
from cramp_expert.cli import cli
from cramp_expert.errors import InputError
from cramp_expert.fhir.ndjson import patients
from cramp_expert.fhir.read import facts_from_fhir
from cramp_expert.patient import normalise_patient
from cramp_expert.service.cards import contract
from cramp_expert.testing import patient_files
from cramp_expert.testing.fhir import TODAY, fhir_equivalent, to_bundle

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "tests" / "data" / "synthea_style" / "export"
CONSULTANT = Consultant()
K = CONSULTANT.kb.knowledge
LISTS = ("causes", "red_flags", "differentials", "recommendations", "investigations")


def _generator():
    spec = importlib.util.spec_from_file_location("generate", EXPORT.parent / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_export_is_what_the_generator_writes(tmp_path):
    _generator().write(tmp_path)
    for path in sorted(EXPORT.glob("*.ndjson")):
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name


def test_batch_reads_a_bulk_data_folder_one_patient_per_record(tmp_path):
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(EXPORT), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    patients = [json.loads(line) for line in (EXPORT / "Patient.ndjson").read_text().splitlines()]
    assert [r["patient_id"] for r in lines] == [p["id"] for p in patients]
    assert all("error" not in r for r in lines)
    drugs = {m["drug"] for r in lines for m in r["interpreted"]["medications"]}
    # RxNorm clinical drugs read through their names, the extended-release prefix included.
    assert {"simvastatin", "atorvastatin", "metformin", "furosemide", "amlodipine"} <= drugs
    conditions = {
        c for r in lines for item in r["interpreted"]["conditions"] for c in item["conditions"]
    }
    assert {"hypertension", "diabetes", "chronic_kidney_disease", "heart_failure"} <= conditions
    for record in lines:
        fhir = record["interpreted"]["fhir"]
        # Encounters and Procedures are counted and listed as not used, never dropped.
        assert {n["resource"] for n in fhir["not_used"]} >= {"Encounter", "Procedure"}
        assert all(
            lab["date"] == "2026-05-01T09:00:00Z" for lab in record["interpreted"]["labs"].values()
        )


def _conclusions(result):
    return {(x["id"], x.get("certainty"), x.get("urgency")) for key in LISTS for x in result[key]}


@settings(max_examples=60)
@given(patient_files(CONSULTANT.kb), st.sampled_from(["collection", "searchset", "transaction"]))
def test_a_bundle_gives_the_conclusions_of_the_equivalent_patient_file(patient, kind):
    patient = fhir_equivalent(patient, K)
    try:
        expected = contract(
            CONSULTANT.consult_facts(normalise_patient(patient, K), with_robustness=False)
        )
    except InputError:
        # An invalid file is refused; its Bundle is read with the refused entries left out.
        return
    facts = facts_from_fhir(to_bundle(patient, K, kind), K, today=TODAY)
    assert facts.extra_interpreted["fhir"]["not_used"] == []
    result = contract(CONSULTANT.consult_facts(facts, with_robustness=False))
    assert _conclusions(result) == _conclusions(expected)
    assert [e["id"] for e in result["excluded"]] == [e["id"] for e in expected["excluded"]]


def test_unreadable_lines_and_resources_of_no_patient_are_error_records(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text('{"resourceType":"Patient","id":"a","gender":"male"}\n')
    (folder / "Observation.ndjson").write_text(
        '{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/zzz"}}\n'
        "{not json\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(folder), "-o", str(out)])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert result.exit_code == 1  # some records were not consulted
    assert lines[0]["patient_id"] == "a"
    errors = [problem for line in lines[1:] for problem in line["error"]["problems"]]
    assert any("P210 not valid JSON" in p and "Observation.ndjson:2" in p for p in errors)
    assert any("W210 1 resources name no Patient" in p for p in errors)


def test_files_named_as_exports_name_them_are_joined_by_resource_type(tmp_path):
    # Synthea through SMART's bulk tools writes Patient.000.ndjson, others 1.Patient.ndjson: a
    # Patient is known by its resourceType, and resources join it whatever the files' order.
    names = {"Patient.ndjson": "Patient.000.ndjson", "Condition.ndjson": "0.Condition.ndjson"}
    for path in sorted(EXPORT.glob("*.ndjson")):
        (tmp_path / names.get(path.name, path.name.replace(".ndjson", ".001.ndjson"))).write_text(
            path.read_text()
        )
    renamed, renamed_problems = patients(tmp_path)
    original, problems = patients(EXPORT)
    assert renamed_problems == problems == []
    assert [(pid, sorted(r["id"] for r in rs)) for pid, _, rs in renamed] == [
        (pid, sorted(r["id"] for r in rs)) for pid, _, rs in original
    ]
