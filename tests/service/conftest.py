"""Fixtures of the CDS Hooks service tests: the app in process, prefetch built from patient files."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from cramp_expert.api import Consultant
from cramp_expert.service.app import Settings, create_app
from cramp_expert.testing.fhir import to_prefetch

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads(
    (ROOT / "tests" / "data" / "cds-hooks" / "cds-hooks-2.0.schema.json").read_text()
)
K = Consultant().kb.knowledge


def validate(instance: Any, definition: str) -> None:
    """Validate against the CDS Hooks 2.0 schema's `definition` (discovery or response)."""
    schema = {**SCHEMA, "$ref": f"#/$defs/{definition}"}
    jsonschema.validate(instance, schema, format_checker=jsonschema.FormatChecker())


def prefetch(patient: dict[str, Any]) -> dict[str, Any]:
    """The prefetch a CDS client would send for the patient file's record."""
    return to_prefetch(patient, K)


def request(patient: dict[str, Any], hook: str = "patient-view", **context: Any) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "example", **context},
        "prefetch": prefetch(patient),
    }


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings())) as test_client:
        yield test_client
