"""Real Synthea output (not the project's Synthea-style generator): Bulk Data NDJSON as SMART on
FHIR's sample-bulk-fhir-datasets publishes it, its transaction Bundles, and CDS Hooks prefetch.

The data are not committed here (the project's rule for fetched material: developers commit no
fetched data; see the closing note of issue 16). The tests read a folder of Synthea NDJSON from
$CRAMP_EXPERT_SYNTHEA, or tests/data/synthea-real/ when it is placed there (with its README of
provenance and licence: CC0), and skip, saying so, otherwise.

What they check: every active Condition whose SNOMED CT code knowledge/fhir.yaml declares is
read as its condition; every current MedicationRequest (RxNorm clinical drugs, which Synthea
writes) is read as a drug of the medicine dictionary where its name is one; the same resources
written as Synthea writes its own transaction Bundles (fullUrl `urn:uuid:`, references to
`urn:uuid:`, request POST) give the same result; and as CDS Hooks prefetch they give cards that
validate against the CDS Hooks 2.0 schema.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cramp_expert.api import Consultant
from cramp_expert.fhir.mapping import fhir_map
from cramp_expert.fhir.ndjson import patients
from cramp_expert.patient.medications import match_condition, match_medication
from cramp_expert.service.app import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [os.environ.get("CRAMP_EXPERT_SYNTHEA", ""), str(ROOT / "tests/data/synthea-real")]
FOLDER = next((Path(c) for c in CANDIDATES if c and any(Path(c).glob("*.ndjson"))), None)
pytestmark = pytest.mark.skipif(
    FOLDER is None,
    reason="no real Synthea NDJSON folder ($CRAMP_EXPERT_SYNTHEA or tests/data/synthea-real/)",
)
CONSULTANT = Consultant()
KNOWLEDGE = CONSULTANT.kb.knowledge
FMAP = fhir_map(KNOWLEDGE)
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def records() -> list[tuple[str, list[dict[str, Any]]]]:
    assert FOLDER is not None
    found, problems = patients(FOLDER)
    assert problems == []  # every resource joined to its Patient, whatever the file names
    return [(pid, resources) for pid, _line, resources in found]


def consult(resources: Any, name: str = "synthea") -> Any:
    return CONSULTANT.consult_bytes(name, json.dumps(resources).encode())


def current(resource: dict[str, Any]) -> bool:
    if resource["resourceType"] == "Condition":
        return resource["clinicalStatus"]["coding"][0]["code"] in ("active", "recurrence")
    if resource["resourceType"] == "MedicationRequest":
        return resource["status"] == "active" and resource["intent"] == "order"
    return False


def test_conditions_are_read_from_their_snomed_codes():
    checked = 0
    for pid, resources in records():
        read = consult(resources).to_dict()["interpreted"]["conditions"]
        found = {c for item in read for c in item["conditions"]}
        for resource in resources:
            if resource["resourceType"] != "Condition" or not current(resource):
                continue
            coding = resource["code"]["coding"][0]
            assert coding["system"] == SNOMED  # what Synthea writes
            texts = FMAP.snomed.get(coding["code"])
            if texts is None:
                continue
            checked += 1
            expected = {cid for text in texts for cid in match_condition(text, KNOWLEDGE)[0]}
            assert expected
            assert expected <= found, (pid, coding)
    assert checked >= 3  # diabetes, hypertension, chronic kidney disease in this sample


def test_medicines_are_read_from_their_rxnorm_clinical_drugs():
    read_any = set()
    for pid, resources in records():
        meds = consult(resources).to_dict()["interpreted"]["medications"]
        drugs = {m["drug"] for m in meds}
        for resource in resources:
            if resource["resourceType"] != "MedicationRequest" or not current(resource):
                continue
            coding = resource["medicationCodeableConcept"]["coding"][0]
            assert coding["system"] == RXNORM
            # RxNorm writes a duration or volume before the ingredient of some clinical drugs.
            name = re.sub(r"^\d+(?:\.\d+)? (?:HR|ML) ", "", coding["display"])
            match = match_medication(name, KNOWLEDGE)
            if match.drugs:
                assert set(match.drugs) & drugs, (pid, coding)
                read_any |= set(match.drugs)
        # Stopped orders (Synthea's renewals) are listed as not used, never read as current.
        stopped = [
            r
            for r in resources
            if r["resourceType"] == "MedicationRequest" and r["status"] == "stopped"
        ]
        assert len(meds) <= len(resources) - len(stopped)
    assert {"simvastatin", "metformin", "lisinopril"} <= read_any


def transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The resources as Synthea writes a patient's transaction Bundle (urn:uuid references)."""
    entries = []
    for resource in resources:
        resource = json.loads(json.dumps(resource))
        for key in ("subject", "patient"):
            ref = resource.get(key)
            if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
                ref["reference"] = "urn:uuid:" + ref["reference"].removeprefix("Patient/")
        resource.pop("encounter", None)  # not in the bundle: Synthea's would be, by urn:uuid
        entries.append(
            {
                "fullUrl": f"urn:uuid:{resource['id']}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def conclusions(result: Any) -> dict[str, Any]:
    data = result.to_dict()
    return {
        key: [(i["id"], i.get("certainty")) for i in data[key]]
        for key in ("causes", "red_flags", "recommendations", "investigations")
    }


def test_a_synthea_transaction_bundle_gives_the_same_result_as_its_ndjson():
    for _pid, resources in records():
        bundled = consult(transaction(resources), "bundle.json")
        assert conclusions(bundled) == conclusions(consult(resources))
        assert (
            bundled.to_dict()["interpreted"]["medications"]
            == (consult(resources).to_dict()["interpreted"]["medications"])
        )


def test_synthea_records_as_cds_hooks_prefetch_give_cards_that_validate():
    from tests.service.conftest import validate

    keys = {
        "Condition": "conditions",
        "MedicationRequest": "medicationRequests",
    }
    with TestClient(create_app(Settings())) as client:
        for pid, resources in records():
            prefetch: dict[str, Any] = {
                "patient": None,
                "conditions": None,
                "medicationRequests": None,
                "medicationStatements": None,
                "observations": None,
                "history": None,
            }
            for resource in resources:
                if resource["resourceType"] == "Patient":
                    prefetch["patient"] = resource
                    continue
                key = keys.get(resource["resourceType"])
                if key is None:
                    continue  # not asked for by the prefetch templates (AllergyIntolerance)
                if resource["resourceType"] == "Condition" and not current(resource):
                    continue  # the prefetch template asks for current conditions only
                prefetch[key] = prefetch[key] or {"resourceType": "Bundle", "type": "searchset"}
                prefetch[key].setdefault("entry", []).append({"resource": resource})
            request = {
                "hook": "patient-view",
                "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/1", "patientId": pid},
                "prefetch": prefetch,
            }
            answer = client.post("/cds-services/cramp-consult", json=request)
            assert answer.status_code == 200, answer.text
            validate(answer.json(), "response")
            ids = {c["summary"] for c in answer.json()["cards"]}
            expected = consult(resources).to_dict()
            assert len(answer.json()["cards"]) == len(expected["red_flags"]) + min(
                3, len(expected["causes"])
            ), ids
