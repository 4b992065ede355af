"""Patient files written as FHIR R4 resources (for the property that both read alike).

`to_bundle` writes a patient file as a Bundle: the Patient (birthDate from the age, gender),
a Condition per problem (its text, active), a MedicationStatement per medicine (its text, and
an RxNorm or ATC coding where the dictionary knows the drug by that exact name; the start date
from `started_months_ago`), an Observation per lab (LOINC, valueQuantity with its UCUM code,
the CK's laboratory limit as referenceRange.high), the pregnancy status and gestation as
Observations, and the history (cramps, findings, lifestyle, dialysis) as a QuestionnaireResponse
to the project's Questionnaire. `fhir_equivalent` turns any patient file into the one a record
can hold (whole years of age, each medicine once, labs FHIR can code).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cramp_expert.fhir.mapping import FhirMap, fhir_map
from cramp_expert.fhir.questionnaire import QUESTIONNAIRE_URL, history_questions
from cramp_expert.kb.knowledge import Knowledge, normalise_name

TODAY = dt.date(2026, 6, 15)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


def fhir_equivalent(patient: dict[str, Any], knowledge: Knowledge) -> dict[str, Any]:
    """The patient file a FHIR record can express exactly."""
    fmap = fhir_map(knowledge)
    out = {k: v for k, v in patient.items() if k != "id"}
    if isinstance(out.get("age"), int | float):
        out["age"] = int(out["age"])
    if "medications" in out:
        seen: set[str] = set()
        kept = []
        for entry in out["medications"]:
            name = entry["name"] if isinstance(entry, dict) else entry
            if name not in seen:
                seen.add(name)
                kept.append(entry)
        out["medications"] = kept
    if "conditions" in out:
        out["conditions"] = list(dict.fromkeys(out["conditions"]))
    if "labs" in out:
        coded = set(fmap.loinc.values())
        out["labs"] = {k: v for k, v in out["labs"].items() if k in coded}
    return out


def _loinc(fmap: FhirMap, analyte: str) -> str:
    return next(code for code, name in fmap.loinc.items() if name == analyte)


def _ucum(fmap: FhirMap, unit: str) -> str | None:
    return next((code for code, name in fmap.ucum.items() if name == unit), None)


def _quantity(fmap: FhirMap, value: float, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit:
        quantity["unit"] = unit
        code = _ucum(fmap, unit)
        if code is not None:
            quantity.update(system="http://unitsofmeasure.org", code=code)
    return quantity


def _lab(
    fmap: FhirMap, analyte: str, raw: Any, ref: str, number: int, today: dt.date
) -> dict[str, Any]:
    uln = None
    value: Any
    if isinstance(raw, dict):
        value, unit, uln = raw.get("value"), raw.get("unit") or "", raw.get("uln")
    elif isinstance(raw, str):
        match = re.match(r"^\s*(\S+)\s*(.*?)\s*$", raw)
        assert match is not None
        value, unit = float(match.group(1)), match.group(2)
    else:
        value, unit = raw, ""
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"lab-{number}",
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
            "coding": [{"system": "http://loinc.org", "code": _loinc(fmap, analyte)}],
            "text": analyte,
        },
        "subject": {"reference": ref},
        "effectiveDateTime": f"{today.isoformat()}T08:{number % 60:02d}:00Z",
        "valueQuantity": _quantity(fmap, value, unit),
    }
    if uln is not None:
        observation["referenceRange"] = [{"high": _quantity(fmap, uln, unit or "U/L")}]
    return observation


def _answer(question: Any, value: Any) -> list[dict[str, Any]]:
    if question.kind == "bool":
        return [{"valueBoolean": bool(value)}]
    if question.kind == "number":
        if isinstance(value, int) and not isinstance(value, bool):
            return [{"valueInteger": value}]
        return [{"valueDecimal": value}]
    values = value if isinstance(value, list) else [value]
    return [{"valueCoding": {"code": str(v)}} for v in values]


def to_bundle(
    patient: dict[str, Any],
    knowledge: Knowledge,
    bundle_type: str = "collection",
    today: dt.date = TODAY,
) -> dict[str, Any]:
    """The FHIR R4 Bundle of a patient file (see the module's docstring)."""
    fmap = fhir_map(knowledge)
    pid = "example"
    ref = f"Patient/{pid}"
    resources: list[dict[str, Any]] = []
    person: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if "sex" in patient:
        person["gender"] = patient["sex"]
    if "age" in patient:
        person["birthDate"] = today.replace(year=today.year - int(patient["age"])).isoformat()
    resources.append(person)
    for number, text in enumerate(patient.get("conditions", [])):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"condition-{number}",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"text": text},
                "subject": {"reference": ref},
            }
        )
    none_system = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
    if patient.get("conditions") == []:
        resources.append(
            {
                "resourceType": "Condition",
                "id": "no-known-problems",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": none_system, "code": "no-known-problems"}]},
                "subject": {"reference": ref},
            }
        )
    if patient.get("medications") == []:
        resources.append(
            {
                "resourceType": "MedicationStatement",
                "id": "no-known-medications",
                "status": "active",
                "medicationCodeableConcept": {
                    "coding": [{"system": none_system, "code": "no-known-medications"}]
                },
                "subject": {"reference": ref},
            }
        )
    rxnorm = {normalise_name(name): code for code, name in fmap.rxnorm.items()}
    atc = {normalise_name(name): code for code, name in fmap.atc.items()}
    for number, listed in enumerate(patient.get("medications", [])):
        name = listed["name"] if isinstance(listed, dict) else listed
        concept: dict[str, Any] = {"text": name}
        folded = normalise_name(name)
        if folded in rxnorm:
            concept["coding"] = [{"system": RXNORM, "code": rxnorm[folded]}]
        elif folded in atc:
            concept["coding"] = [{"system": ATC, "code": atc[folded]}]
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": f"medication-{number}",
            "status": "active",
            "medicationCodeableConcept": concept,
            "subject": {"reference": ref},
        }
        if isinstance(listed, dict) and listed.get("started_months_ago") is not None:
            days = round(float(listed["started_months_ago"]) * 30.4375)
            statement["effectivePeriod"] = {"start": (today - dt.timedelta(days=days)).isoformat()}
        resources.append(statement)
    for number, (analyte, raw) in enumerate(patient.get("labs", {}).items()):
        resources.append(_lab(fmap, analyte, raw, ref, number, today))
    if "pregnant" in patient:
        resources.append(
            {
                "resourceType": "Observation",
                "id": "pregnancy-status",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
                "subject": {"reference": ref},
                "effectiveDateTime": today.isoformat(),
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "77386006" if patient["pregnant"] else "60001007",
                        }
                    ]
                },
            }
        )
    if "gestation_weeks" in patient:
        resources.append(
            {
                "resourceType": "Observation",
                "id": "gestation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "49051-6"}]},
                "subject": {"reference": ref},
                "effectiveDateTime": today.isoformat(),
                "valueQuantity": {
                    "value": patient["gestation_weeks"],
                    "unit": "wk",
                    "system": "http://unitsofmeasure.org",
                    "code": "wk",
                },
            }
        )
    items = []
    for question in history_questions(knowledge):
        if question.key in ("pregnant", "gestation_weeks"):
            continue
        section, _, key = question.key.partition(".")
        value = patient.get(section, {}).get(key) if key else patient.get(section)
        if value is None or (isinstance(value, list) and not value):
            continue
        items.append({"linkId": question.key, "answer": _answer(question, value)})
    if items:
        resources.append(
            {
                "resourceType": "QuestionnaireResponse",
                "id": "history",
                "questionnaire": QUESTIONNAIRE_URL,
                "status": "completed",
                "subject": {"reference": ref},
                "authored": f"{today.isoformat()}T09:00:00Z",
                "item": items,
            }
        )
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": f"urn:uuid:{resource['resourceType'].lower()}-{resource['id']}",
            "resource": resource,
        }
        if bundle_type == "transaction":
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
        if bundle_type == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


PREFETCH_KEYS = {
    "Patient": "patient",
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "Observation": "observations",
    "QuestionnaireResponse": "history",
}
"""The prefetch key of each resource type (the service's `prefetch_templates`)."""


def to_prefetch(patient: dict[str, Any], knowledge: Knowledge) -> dict[str, Any]:
    """The CDS Hooks prefetch a client would send for the patient file's record.

    The Patient resource, and a searchset Bundle (or null) for every other key.
    """
    out: dict[str, Any] = dict.fromkeys(PREFETCH_KEYS.values())
    for entry in to_bundle(patient, knowledge)["entry"]:
        resource = entry["resource"]
        key = PREFETCH_KEYS[resource["resourceType"]]
        if key == "patient":
            out[key] = resource
            continue
        if out[key] is None:
            out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        out[key]["entry"].append({"resource": resource, "search": {"mode": "match"}})
    return out


__all__ = ["PREFETCH_KEYS", "TODAY", "fhir_equivalent", "to_bundle", "to_prefetch"]
