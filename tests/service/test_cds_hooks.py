"""The CDS Hooks 2.0 service: discovery, cards, orders, prefetch, bad input, size, CORS, logs."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlparse

import pytest

from cramp_expert.api import Consultant
from cramp_expert.fhir.read import facts_from_fhir
from cramp_expert.render.html import render_html
from cramp_expert.service.cards import SUMMARY_LIMIT
from tests.service.conftest import K, prefetch, request, validate

CONSULTANT = Consultant()

LIMB_ISCHAEMIA = {
    "age": 74,
    "sex": "male",
    "findings": {"sudden_severe_leg_pain": True, "absent_foot_pulses": True},
    "medications": ["simvastatin 40 mg"],
    "conditions": ["peripheral arterial disease"],
}
DVT = {
    "age": 58,
    "sex": "female",
    "findings": {"unilateral_leg_swelling": True, "calf_tenderness": True},
    "labs": {"potassium": "3.0 mmol/L"},
}


def test_discovery_lists_the_services_with_prefetch_and_validates(client):
    response = client.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    validate(body, "discovery")
    hooks = {s["id"]: s["hook"] for s in body["services"]}
    assert hooks == {
        "cramp-consult": "patient-view",
        "cramp-order-select": "order-select",
        "cramp-order-sign": "order-sign",
    }
    prefetch_keys = body["services"][0]["prefetch"]
    assert prefetch_keys["patient"] == "Patient/{{context.patientId}}"
    assert "http://loinc.org|2823-3" in prefetch_keys["observations"]
    assert "clinical-status=active,recurrence,relapse" in prefetch_keys["conditions"]


def test_emergency_red_flag_is_a_critical_card_with_the_how_chain_and_references(client):
    response = client.post("/cds-services/cramp-consult", json=request(LIMB_ISCHAEMIA))
    assert response.status_code == 200, response.text
    body = response.json()
    validate(body, "response")
    first = body["cards"][0]
    assert first["indicator"] == "critical"
    assert first["summary"].startswith(K.conclusions["rf_acute_limb_ischemia"].label)
    assert "**How this was concluded**" in first["detail"]
    assert "findings.absent_foot_pulses" in first["detail"]
    assert "**References**" in first["detail"]
    assert first["source"]["label"].startswith("cramp-expert") and first["source"][
        "url"
    ].startswith("http")
    (link,) = first["links"]
    report = client.get(urlparse(link["url"]).path)
    assert (
        report.status_code == 200 and K.conclusions["rf_acute_limb_ischemia"].label in report.text
    )
    # The report is issue 15's HTML report of the consultation, robustness included (left out
    # of the cards, computed when the link is opened).
    expected = CONSULTANT.consult_facts(
        facts_from_fhir(
            [v for v in prefetch(LIMB_ISCHAEMIA).values() if v is not None], K, "<prefetch>"
        )
    )
    assert expected.to_dict()["robustness"]
    assert render_html(expected, CONSULTANT.kb, standalone=False) in report.text


def test_urgent_red_flag_is_a_warning_and_causes_are_info(client):
    body = client.post("/cds-services/cramp-consult", json=request(DVT)).json()
    validate(body, "response")
    indicators = [(c["indicator"], c["summary"]) for c in body["cards"]]
    assert indicators[0][0] == "warning" and "thrombosis" in indicators[0][1].lower()
    info = [s for i, s in indicators if i == "info"]
    assert info and all(s.startswith("Possible cause of night cramps") for s in info)
    assert all(len(card["summary"]) <= SUMMARY_LIMIT for card in body["cards"])


def test_null_prefetch_values_mean_no_data(client):
    data = request({"age": 50})
    assert data["prefetch"]["conditions"] is None
    response = client.post("/cds-services/cramp-consult", json=data)
    assert response.status_code == 200
    validate(response.json(), "response")


def test_missing_prefetch_without_a_fhir_server_is_412(client):
    data = request({"age": 50})
    del data["prefetch"]["observations"]
    response = client.post("/cds-services/cramp-consult", json=data)
    assert response.status_code == 412
    assert "observations" in response.json()["error"]


class _FhirServer(BaseHTTPRequestHandler):
    answers: ClassVar[dict] = {}
    seen: ClassVar[list] = []

    def do_GET(self):
        _FhirServer.seen.append((self.path, self.headers.get("Authorization")))
        kind = self.path.split("?")[0].rstrip("/").split("/")[-1]
        body = self.answers.get(kind)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def fhir_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FhirServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FhirServer.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


def test_missing_prefetch_is_fetched_from_the_fhir_server_with_the_token(client, fhir_server):
    data = request(DVT)
    observations = data["prefetch"].pop("observations")
    _FhirServer.answers = {"Observation": observations}
    data["fhirServer"] = fhir_server
    data["fhirAuthorization"] = {
        "access_token": "secret-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cramp-expert",
    }
    response = client.post("/cds-services/cramp-consult", json=data)
    assert response.status_code == 200, response.text
    ((path, auth),) = _FhirServer.seen
    assert (
        path.startswith("/fhir/Observation?patient=example&code=") and auth == "Bearer secret-token"
    )
    assert "hypokalemia" in json.dumps(response.json())  # the fetched potassium was used
    _FhirServer.answers = {}
    response = client.post("/cds-services/cramp-consult", json=data)
    assert response.status_code == 412 and "could not give it" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (
            json.dumps(
                {"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p"}}
            ).encode(),
            "hook must be 'patient-view'",
        ),
        (
            json.dumps({"hook": "patient-view", "hookInstance": "x", "context": {}}).encode(),
            "context.patientId",
        ),
        (
            json.dumps(
                {
                    "hook": "patient-view",
                    "hookInstance": "x",
                    "context": {"patientId": "p"},
                    "fhirAuthorization": {"access_token": "t"},
                }
            ).encode(),
            "without fhirServer",
        ),
    ],
)
def test_malformed_requests_are_400_with_a_message(client, body, message):
    response = client.post(
        "/cds-services/cramp-consult", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_invalid_fhir_in_the_prefetch_is_400_naming_the_element(client):
    data = request({"age": 50})
    data["prefetch"]["patient"]["birthDate"] = "last tuesday"
    response = client.post("/cds-services/cramp-consult", json=data)
    assert response.status_code == 400
    assert "birthDate" in response.json()["error"]


def test_request_size_is_bounded(client):
    huge = b"{" + b" " * (9 * 1024 * 1024) + b"}"
    response = client.post(
        "/cds-services/cramp-consult", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_unknown_service_is_404(client):
    assert client.post("/cds-services/nothing", json={}).status_code == 404


def test_cors_preflight_and_response_headers(client):
    response = client.options(
        "/cds-services/cramp-consult",
        headers={
            "Origin": "https://ehr.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://ehr.example.org")
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    got = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert got.headers["access-control-allow-origin"] == "*"


def test_no_patient_data_in_the_logs(client, caplog):
    marker = {**DVT, "conditions": ["Zebrafish syndrome XYZZY"], "medications": ["Plughzole 5 mg"]}
    data = request(marker, patientId="example")
    with caplog.at_level(logging.DEBUG):
        client.post("/cds-services/cramp-consult", json=data)
        client.post(
            "/cds-services/cramp-consult",
            content=json.dumps(data)[:-5],
            headers={"Content-Type": "application/json"},
        )
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    for secret in ("XYZZY", "Plughzole", "example", "1968"):
        assert secret not in text


def _order(mid, code, display):
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/example"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": code,
                    "display": display,
                }
            ]
        },
    }


def _orders(*orders):
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }


def test_order_select_warns_on_quinine_and_suggests_removing_it(client):
    draft = _orders(_order("q1", "9071", "quinine"), _order("a1", "17767", "amlodipine"))
    data = request(
        {"age": 70, "medications": []},
        hook="order-select",
        selections=["MedicationRequest/q1", "MedicationRequest/a1"],
        draftOrders=draft,
    )
    response = client.post("/cds-services/cramp-order-select", json=data)
    assert response.status_code == 200, response.text
    body = response.json()
    validate(body, "response")
    (card,) = body["cards"]  # amlodipine alone brings no concern
    assert card["indicator"] == "warning" and "quinine" in card["summary"].lower()
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": suggestion["actions"][0]["description"],
            "resourceId": "MedicationRequest/q1",
        }
    ]
    assert "MHRA" in card["detail"] or "FDA" in card["detail"]


def test_order_sign_warns_on_a_statin_when_the_ck_already_points_to_myopathy(client):
    patient = {
        "age": 66,
        "sex": "male",
        "labs": {"ck": {"value": 4000, "unit": "U/L", "uln": 200}},
        "medications": [],
    }
    draft = _orders(_order("s1", "36567", "simvastatin"))
    data = request(patient, hook="order-sign", draftOrders=draft)
    body = client.post("/cds-services/cramp-order-sign", json=data).json()
    validate(body, "response")
    (card,) = body["cards"]
    assert (
        "simvastatin" in card["summary"]
        and card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/s1"
    )
    assert "rec_stop_statin_pending_review" in card["detail"] or "statin" in card["detail"].lower()
    # Without the raised CK the same order brings nothing to warn about.
    quiet = request(
        {"age": 66, "sex": "male", "medications": []}, hook="order-sign", draftOrders=draft
    )
    assert client.post("/cds-services/cramp-order-sign", json=quiet).json() == {"cards": []}


def test_order_select_warns_on_a_statin_interaction():
    if "rec_review_statin_interaction" not in K.conclusions:
        pytest.skip(
            "the knowledge base has no rec_review_statin_interaction yet (issue 11's rules)"
        )
    from starlette.testclient import TestClient

    from cramp_expert.service.app import Settings, create_app

    with TestClient(create_app(Settings())) as client:
        draft = _orders(_order("c1", "21212", "clarithromycin"))
        data = request(
            {"age": 70, "medications": ["simvastatin 80 mg"]},
            hook="order-select",
            selections=["MedicationRequest/c1"],
            draftOrders=draft,
        )
        body = client.post("/cds-services/cramp-order-select", json=data).json()
        validate(body, "response")
        assert any("clarithromycin" in c["summary"] for c in body["cards"])


def test_order_select_needs_selections_and_draft_orders(client):
    data = request({"age": 70}, hook="order-select", draftOrders=_orders())
    response = client.post("/cds-services/cramp-order-select", json=data)
    assert response.status_code == 400 and "selections" in response.json()["error"]
    data = request({"age": 70}, hook="order-sign")
    response = client.post("/cds-services/cramp-order-sign", json=data)
    assert response.status_code == 400 and "draftOrders" in response.json()["error"]


def test_prefetch_template_keys_match_the_prefetch_helper():
    assert set(prefetch({"age": 1})) == {
        "patient",
        "conditions",
        "medicationRequests",
        "medicationStatements",
        "observations",
        "history",
    }


def test_with_several_workers_any_worker_shows_a_report_from_the_shared_folder(tmp_path):
    from starlette.testclient import TestClient

    from cramp_expert.service.app import Settings, create_app

    settings = Settings(report_dir=str(tmp_path))
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        body = first.post("/cds-services/cramp-consult", json=request(LIMB_ISCHAEMIA)).json()
        link = urlparse(body["cards"][0]["links"][0]["url"]).path
        assert len(list(tmp_path.glob("*.json"))) == 1
        report = second.get(link)  # another process, the same folder
        assert report.status_code == 200
        assert K.conclusions["rf_acute_limb_ischemia"].label in report.text
        assert second.get("/report/not-a-token").status_code == 404
        assert second.get("/report/..%2f..%2fetc").status_code == 404
