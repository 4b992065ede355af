"""FHIR R4 input: Bundles, statuses, codes, latest labs, what is not used, and bad input."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cramp_expert.api import Consultant
from cramp_expert.cli import cli
from cramp_expert.errors import KnowledgeBaseError, PatientFileError
from cramp_expert.fhir.mapping import build_map
from cramp_expert.fhir.questionnaire import QUESTIONNAIRE_URL, questionnaire
from cramp_expert.fhir.read import facts_from_fhir
from cramp_expert.patient import normalise_patient
from cramp_expert.service.app import concluded as concluded_ids
from cramp_expert.service.cards import contract
from cramp_expert.testing.fhir import TODAY, fhir_equivalent, to_bundle

ROOT = Path(__file__).resolve().parents[2]
CONSULTANT = Consultant()
K = CONSULTANT.kb.knowledge
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def bundle(*resources, kind="collection"):
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-06-20"}
SUBJECT = {"reference": "Patient/p1"}


def condition(
    cid, code, system="http://snomed.info/sct", status="active", verification=None, text=None
):
    resource = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": SUBJECT,
    }
    if verification:
        resource["verificationStatus"] = {
            "coding": [{"system": VERIFICATION, "code": verification}]
        }
    if text:
        resource["code"]["text"] = text
    return resource


def med(mid, coding=None, text=None, status="active", kind="MedicationRequest", authored=None):
    concept = {}
    if coding:
        concept["coding"] = [coding]
    if text:
        concept["text"] = text
    resource = {
        "resourceType": kind,
        "id": mid,
        "status": status,
        "medicationCodeableConcept": concept,
        "subject": SUBJECT,
    }
    if kind == "MedicationRequest":
        resource["intent"] = "order"
        if authored:
            resource["authoredOn"] = authored
    return resource


def lab(oid, loinc, value, unit_code, unit=None, when="2026-05-01T08:00:00Z", status="final"):
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": SUBJECT,
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit or unit_code,
            "system": "http://unitsofmeasure.org",
            "code": unit_code,
        },
    }


def consult(data):
    facts = facts_from_fhir(data, K, "<test>", today=TODAY)
    return contract(CONSULTANT.consult_facts(facts, with_robustness=False))


def test_patient_conditions_medicines_and_labs_are_read_from_their_codes():
    result = consult(
        bundle(
            PATIENT,
            condition("c1", "84114007"),  # SNOMED heart failure
            condition("c2", "E11.9", "http://hl7.org/fhir/sid/icd-10-cm"),  # ICD-10 diabetes
            med("m1", {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36567"}),
            med(
                "m2",
                {"system": "http://www.whocc.no/atc", "code": "A02BC01"},
                kind="MedicationStatement",
            ),
            lab("o1", "2823-3", 2.9, "mmol/L"),
            lab("o2", "19123-9", 1.4, "mg/dL"),
        )
    )
    interpreted = result["interpreted"]
    assert {c["conditions"][0] for c in interpreted["conditions"]} == {"heart_failure", "diabetes"}
    assert {m["drug"] for m in interpreted["medications"]} == {"simvastatin", "omeprazole"}
    assert interpreted["labs"]["magnesium"]["value"] == 0.58  # 1.4 mg/dL converted
    reads = {(r["as"], r.get("by")) for r in interpreted["fhir"]["read"]}
    assert ("medications", "rxnorm 36567") in reads and ("medications", "atc A02BC01") in reads
    assert ("conditions", "snomed 84114007") in reads and ("conditions", "icd10 E11.9") in reads
    assert "hypokalemia" in concluded_ids(result) and "hypomagnesemia" in concluded_ids(result)


@pytest.mark.parametrize(
    ("status", "verification"),
    [
        ("resolved", None),
        ("inactive", None),
        ("remission", None),
        ("active", "entered-in-error"),
        ("active", "refuted"),
    ],
)
def test_conditions_not_current_or_refused_are_listed_not_used(status, verification):
    result = consult(
        bundle(PATIENT, condition("c1", "84114007", status=status, verification=verification))
    )
    assert result["interpreted"]["conditions"] == []
    (note,) = [
        n for n in result["interpreted"]["fhir"]["not_used"] if n["resource"] == "Condition/c1"
    ]
    assert (verification or status) in note["reason"]


@pytest.mark.parametrize("status", ["active", "recurrence", "relapse"])
def test_active_recurrence_and_relapse_are_read(status):
    result = consult(bundle(PATIENT, condition("c1", "84114007", status=status)))
    assert result["interpreted"]["conditions"][0]["conditions"] == ["heart_failure"]


def test_uncoded_medicine_and_condition_go_through_the_dictionaries_by_text():
    result = consult(
        bundle(
            PATIENT,
            condition("c1", "999999999", text="Chronic kidney disease stage 3 (disorder)"),
            med(
                "m1",
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "313988",
                    "display": "Furosemide 40 MG Oral Tablet",
                },
            ),
            med("m2", text="Madeupazole 10 mg"),
        )
    )
    meds = {m["input"]: m for m in result["interpreted"]["medications"]}
    assert meds["Furosemide 40 MG Oral Tablet"]["drug"] == "furosemide"
    assert meds["Madeupazole 10 mg"]["match"] == "unknown"  # a warning, as for a typed entry
    assert any(w["message"].startswith("medication 'Madeupazole") for w in result["warnings"])
    assert result["interpreted"]["conditions"][0]["conditions"] == ["chronic_kidney_disease"]


def test_stopped_medicines_and_unread_resources_are_listed_never_dropped():
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": SUBJECT,
    }
    result = consult(
        bundle(
            PATIENT,
            med(
                "m1",
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "9071"},
                status="stopped",
            ),
            lab("o1", "8302-2", 170, "cm"),
            lab("o2", "8302-2", 171, "cm"),
            encounter,
        )
    )
    notes = result["interpreted"]["fhir"]["not_used"]
    assert {
        "resource": "MedicationRequest/m1",
        "reason": "status stopped",
        "code": "http://www.nlm.nih.gov/research/umls/rxnorm|9071",
    } in notes
    assert {
        "resource": "Observation",
        "code": "http://loinc.org|8302-2",
        "reason": "code not read by cramp-expert",
        "count": 2,
    } in notes
    assert {
        "resource": "Encounter",
        "count": 1,
        "reason": "resource type not read by cramp-expert",
    } in notes
    assert result["interpreted"]["medications"] == []
    assert result["interpreted"]["fhir"]["resources"] == {
        "Encounter": 1,
        "MedicationRequest": 1,
        "Observation": 2,
        "Patient": 1,
    }


def test_the_latest_observation_is_used_and_its_date_shown():
    result = consult(
        bundle(
            PATIENT,
            lab("old", "2823-3", 4.1, "mmol/L", when="2025-01-01"),
            lab("new", "6298-4", 3.1, "meq/L", unit="mEq/L", when="2026-05-02T10:00:00Z"),
            lab("error", "2823-3", 1.0, "mmol/L", when="2026-06-01", status="entered-in-error"),
        )
    )
    potassium = result["interpreted"]["labs"]["potassium"]
    assert potassium["value"] == 3.1 and potassium["date"] == "2026-05-02T10:00:00Z"
    assert potassium["source"] == "Observation/new" and potassium["loinc"] == "6298-4"
    reasons = {n["resource"]: n["reason"] for n in result["interpreted"]["fhir"]["not_used"]}
    assert reasons["Observation/old"] == "a later labs.potassium is used"
    assert reasons["Observation/error"] == "status entered-in-error"


def test_a_value_the_patient_file_refuses_is_left_out_with_the_reason():
    result = consult(bundle(PATIENT, lab("o1", "2823-3", 45, "mmol/L")))
    assert "potassium" not in result["interpreted"]["labs"]
    (note,) = [
        n for n in result["interpreted"]["fhir"]["not_used"] if n.get("entry") == "labs.potassium"
    ]
    assert "out of range" in note["reason"]


def test_pregnancy_status_and_gestation():
    status = {
        "resourceType": "Observation",
        "id": "preg",
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]
        },
    }
    gestation = lab("ga", "49051-6", 30, "wk")
    facts = facts_from_fhir(bundle(PATIENT, status, gestation), K, today=TODAY)
    assert facts.values["pregnant"] is True and facts.values["gestation_weeks"] == 30
    assert "pregnancy" in concluded_ids(CONSULTANT.consult_facts(facts, with_robustness=False))


@pytest.mark.parametrize("kind", ["searchset", "collection", "transaction"])
def test_every_readable_bundle_type_gives_the_file_s_conclusions(kind):
    patient = fhir_equivalent(yaml.safe_load((ROOT / "examples" / "V16.yaml").read_text()), K)
    expected = contract(
        CONSULTANT.consult_facts(normalise_patient(patient, K), with_robustness=False)
    )
    result = consult(to_bundle(patient, K, kind))
    assert concluded_ids(result) == concluded_ids(expected)
    assert [c["certainty"] for c in result["causes"]] == [
        c["certainty"] for c in expected["causes"]
    ]


def test_questionnaire_response_gives_the_cramp_history():
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr",
        "status": "completed",
        "questionnaire": QUESTIONNAIRE_URL,
        "subject": SUBJECT,
        "authored": "2026-06-01",
        "item": [
            {
                "linkId": "cramps",
                "item": [
                    {"linkId": "cramps.nights_per_week", "answer": [{"valueInteger": 5}]},
                    {
                        "linkId": "cramps.sites",
                        "answer": [
                            {"valueCoding": {"code": "calf"}},
                            {"valueCoding": {"code": "foot"}},
                        ],
                    },
                    {"linkId": "not.a.question", "answer": [{"valueString": "x"}]},
                ],
            }
        ],
    }
    facts = facts_from_fhir(bundle(PATIENT, response), K, today=TODAY)
    assert facts.values["cramps.nights_per_week"] == 5
    assert set(facts.values["cramps.sites"]) == {"calf", "foot"}
    notes = facts.extra_interpreted["fhir"]["not_used"]
    assert any("not.a.question" in n["reason"] for n in notes)


def test_the_questionnaire_is_a_valid_r4_questionnaire_of_the_interview_questions():
    from fhir.resources.R4B.questionnaire import Questionnaire

    exported = questionnaire(K)
    Questionnaire.model_validate(exported)
    links = {i["linkId"] for group in exported["item"] for i in group["item"]}
    assert {
        "cramps.nights_per_week",
        "findings.unilateral_leg_swelling",
        "lifestyle.activity",
        "dialysis",
    } <= links
    assert not any(link.startswith("labs.") for link in links)


def test_cli_consult_reads_a_bundle_and_questionnaire_exports(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(PATIENT, lab("o1", "2823-3", 2.9, "mmol/L"))))
    result = CliRunner().invoke(cli, ["consult", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert (
        json.loads(result.output)["interpreted"]["labs"]["potassium"]["source"] == "Observation/o1"
    )
    out = tmp_path / "q.json"
    result = CliRunner().invoke(cli, ["questionnaire", "-o", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["url"] == QUESTIONNAIRE_URL


def test_invalid_fhir_is_one_clear_message_per_problem_and_exit_1(tmp_path):
    bad = bundle({**PATIENT, "birthDate": "1950-13-01"}, {"resourceType": "Nonsense", "id": "x"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = CliRunner().invoke(cli, ["consult", str(path)])
    assert result.exit_code == 1
    assert (
        "P210 invalid FHIR Patient" in result.output
        and "[entry[0].resource.birthDate]" in result.output
    )
    assert "'Nonsense' is not a FHIR R4 resource type" in result.output
    assert "Traceback" not in result.output


def test_a_bundle_about_two_patients_is_refused():
    with pytest.raises(PatientFileError, match="2 patients"):
        facts_from_fhir(bundle(PATIENT, {**PATIENT, "id": "p2"}), K)


def test_a_history_bundle_is_refused_with_the_types_read():
    with pytest.raises(PatientFileError, match="type 'history' is not read"):
        facts_from_fhir(bundle(PATIENT, kind="history"), K)


def test_the_mapping_names_only_what_the_knowledge_base_reads():
    data = yaml.safe_load((ROOT / "knowledge" / "fhir.yaml").read_text())
    build_map(data, K, "knowledge/fhir.yaml")  # the shipped mapping holds
    planted = copy.deepcopy(data)
    planted["loinc"]["2823-3"] = "potasium"
    planted["snomed"]["84114007"] = ["heart failur"]
    planted["rxnorm"]["36567"] = "simvastatine-x"
    with pytest.raises(KnowledgeBaseError) as caught:
        build_map(planted, K, "knowledge/fhir.yaml")
    keys = {p.location.key for p in caught.value.problems}
    assert keys == {"loinc.2823-3", "snomed.84114007", "rxnorm.36567"}
    assert {p.code for p in caught.value.problems} == {"K301"}


def test_a_plain_consultation_never_imports_the_fhir_or_service_libraries():
    code = "import sys, cramp_expert.cli, cramp_expert.api; print(sorted(m for m in sys.modules if m.split('.')[0] in ('fhir', 'pydantic', 'starlette', 'uvicorn', 'jwt')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cramp_expert.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "fhir.resources" not in timing.stderr and "starlette" not in timing.stderr


def test_a_bundle_on_standard_input_and_a_yaml_file_without_the_fhir_libraries():
    stdin = json.dumps(bundle(PATIENT, lab("o1", "2823-3", 2.9, "mmol/L")))
    result = CliRunner().invoke(cli, ["consult", "-", "--format", "json"], input=stdin)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["interpreted"]["labs"]["potassium"]["value"] == 2.9
    code = (
        "import sys; from cramp_expert.api import Consultant; "
        f"Consultant().consult_path({str(ROOT / 'examples' / 'V16.yaml')!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fhir', 'pydantic', 'starlette')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
