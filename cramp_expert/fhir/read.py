"""Read FHIR R4 resources about one patient into a patient file, and say what was not used.

The resources (a Bundle of type searchset, collection or transaction; CDS Hooks prefetch; the
lines of Bulk Data NDJSON about one Patient) are first validated with the R4B models of
fhir.resources, then mapped through knowledge/fhir.yaml into the patient file's own entries,
which the patient-file validator then checks like any file. Every resource, coding or value
that is not used is listed in `interpreted.fhir.not_used` with the reason, never dropped
silently; each lab's date and source resource is added to `interpreted.labs`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cramp_expert.errors import Location, PatientFileError, Problem
from cramp_expert.fhir.mapping import FhirMap, fhir_map
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.patient import PatientFacts, normalise_patient
from cramp_expert.source import open_regular

MAX_FHIR_BYTES = 64 * 1024 * 1024
"""Largest FHIR JSON file read (a Synthea patient's full history is a few megabytes)."""
MAX_RESOURCES = 50_000
"""Most resources read for one patient."""
BUNDLE_TYPES = ("searchset", "collection", "transaction", "batch", "document")
_RXNORM_PREFIX = re.compile(
    r"^(?:\{[^}]*\}\s*)?(?:\d+(?:\.\d+)?\s+(?:HR|ML|ACTUAT|DAY|MG|UNT)\s+)+", re.IGNORECASE
)
"""What RxNorm puts before an ingredient's name in a clinical drug's name: a release time
("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"), a volume ("3 ML
liraglutide 6 MG/ML Pen Injector"), or a pack's braces."""
_SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|event)\)\s*$")


def is_fhir(data: Any) -> bool:
    """Whether parsed JSON is FHIR (a resource, or a list of resources) rather than a patient file."""
    if isinstance(data, dict):
        return isinstance(data.get("resourceType"), str)
    return (
        bool(data)
        and isinstance(data, list)
        and all(isinstance(x, dict) and "resourceType" in x for x in data)
    )


def looks_like_fhir(head: bytes) -> bool:
    """Whether the first bytes of a file are FHIR JSON (checked before the patient-file loader)."""
    text = head.lstrip()
    return text.startswith(b"{") and b'"resourceType"' in text


def load_fhir_bytes(name: str, raw: bytes) -> Any:
    """Parse FHIR JSON; PatientFileError naming the file on anything unreadable."""
    if len(raw) > MAX_FHIR_BYTES:
        raise _error(name, f"is {len(raw)} bytes; the limit for FHIR JSON is {MAX_FHIR_BYTES}")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", 0)
        column = getattr(exc, "colno", 0)
        raise PatientFileError(
            [Problem("P210", f"not valid FHIR JSON: {exc}", Location(name, line, column))]
        ) from None


def load_fhir_file(path: str | Path) -> Any:
    """Read and parse a FHIR JSON file."""
    name = str(path)
    try:
        with open_regular(path, name) as handle:  # refuses a FIFO or device without blocking
            raw = handle.read(MAX_FHIR_BYTES + 1)
    except OSError as exc:
        raise _error(name, f"cannot be read: {exc.strerror}") from None
    return load_fhir_bytes(name, raw)


def _error(name: str, message: str, key: str = "") -> PatientFileError:
    return PatientFileError([Problem("P210", message, Location(name, key=key))])


# --- validation ------------------------------------------------------------------------------
READ_TYPES = (
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",
    "Observation",
    "QuestionnaireResponse",
)
"""Resource types that are read, so validated in full; any other is counted and listed as not
used (a Synthea history holds thousands of Encounters and Claims that nothing here reads)."""


def validate(data: Any, name: str) -> list[dict[str, Any]]:
    """Validate with the R4B models; return the resources (a Bundle's entries, or the one).

    Raises PatientFileError listing the first problems with their path in the JSON.
    """
    # NOTE: imported here, on the FHIR paths only: fhir.resources and pydantic take ~0.5 s to
    # import, which a plain consultation must not pay.
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    problems: list[Problem] = []

    def check(item: Any, where: str) -> bool:
        kind = item.get("resourceType") if isinstance(item, dict) else None
        if not isinstance(kind, str):
            problems.append(
                Problem("P210", "not a FHIR resource (no resourceType)", Location(name, key=where))
            )
            return False
        try:
            model = get_fhir_model_class(kind)
        except (KeyError, ValueError):
            problems.append(
                Problem(
                    "P210",
                    f"'{kind}' is not a FHIR R4 resource type",
                    Location(name, key=f"{where}.resourceType".lstrip(".")),
                )
            )
            return False
        if kind == "Bundle":
            # The Bundle's own elements; its entries' resources are checked one by one below.
            item = {
                **item,
                "entry": [
                    {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                    for e in item.get("entry") or []
                ]
                or None,
            }
            item = {k: v for k, v in item.items() if v is not None}
        elif kind not in READ_TYPES:
            return True
        try:
            model.model_validate({k: v for k, v in item.items() if not k.startswith("_")})
        except ValidationError as exc:
            for error in exc.errors()[:10]:
                path = ".".join(str(part) for part in error["loc"] if part != "__root__")
                key = ".".join(p for p in (where, path) if p)
                problems.append(
                    Problem("P210", f"invalid FHIR {kind}: {error['msg']}", Location(name, key=key))
                )
            return False
        return True

    items = data if isinstance(data, list) else [data]
    resources: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"[{index}]" if isinstance(data, list) else ""
        if not check(item, where):
            continue
        if item["resourceType"] != "Bundle":
            resources.append(item)
            continue
        if item.get("type") not in BUNDLE_TYPES:
            problems.append(
                Problem(
                    "P210",
                    f"a Bundle of type '{item.get('type')}' is not read",
                    Location(name, key=f"{where}.type".lstrip(".")),
                    f"give a {', '.join(BUNDLE_TYPES[:3])} Bundle",
                )
            )
            continue
        entries = item.get("entry") or []
        if len(entries) > MAX_RESOURCES:
            raise _error(name, f"holds {len(entries)} resources; the limit is {MAX_RESOURCES}")
        for number, entry in enumerate(entries):
            resource = entry.get("resource")
            at = f"{where}.entry[{number}].resource".lstrip(".")
            if isinstance(resource, dict) and check(resource, at):
                if entry.get("fullUrl"):
                    resource = {**resource, "_fullUrl": entry["fullUrl"]}
                resources.append(resource)
            if len(problems) >= 20:
                break
    if problems:
        raise PatientFileError(problems)
    if len(resources) > MAX_RESOURCES:
        raise _error(name, f"holds {len(resources)} resources; the limit is {MAX_RESOURCES}")
    return resources


# --- mapping ---------------------------------------------------------------------------------
@dataclass
class FhirReading:
    """What the resources of one patient gave: a patient file and notes for `interpreted`."""

    data: dict[str, Any]
    read: list[dict[str, Any]] = field(default_factory=list)
    not_used: list[dict[str, Any]] = field(default_factory=list)
    lab_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: Counter[str] = field(default_factory=Counter)

    def notes(self) -> dict[str, Any]:
        """`interpreted.fhir`: resources by type, what each gave, what was not used and why."""
        return {
            "resources": dict(sorted(self.resources.items())),
            "read": self.read,
            "not_used": self.not_used,
        }


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _text(concept: Any) -> str | None:
    """The concept's text, else its first coding's display."""
    if not isinstance(concept, dict):
        return None
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    for coding in _codings(concept):
        if isinstance(coding.get("display"), str) and coding["display"].strip():
            return str(coding["display"]).strip()
    return None


def _code_label(concept: Any) -> str:
    codings = _codings(concept)
    if codings:
        first = codings[0]
        label = f"{first.get('system', '?')}|{first.get('code', '?')}"
        return f"{label} {first['display']}" if first.get("display") else label
    return _text(concept) or "(no code or text)"


def _ref(resource: Mapping[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '?')}"


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) == 4:
            return dt.date(int(value), 7, 1)
        if len(value) == 7:
            return dt.date(int(value[:4]), int(value[5:7]), 15)
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _when(resource: Mapping[str, Any]) -> str:
    """The clinically relevant date-time of an observation or statement, as written.

    The effective time first (when it was true of the patient), then when it was issued.
    """
    for key in ("effectiveDateTime", "effectiveInstant"):
        if isinstance(resource.get(key), str):
            return str(resource[key])
    period = resource.get("effectivePeriod")
    if isinstance(period, dict) and (period.get("end") or period.get("start")):
        return str(period.get("end") or period.get("start"))
    for key in ("issued", "authoredOn", "recordedDate"):
        if isinstance(resource.get(key), str):
            return str(resource[key])
    return ""


def months_between(start: dt.date, today: dt.date) -> float:
    """Whole and tenth months from `start` to `today` (30.44-day months), never negative."""
    return max(0.0, round((today - start).days / 30.4375, 1))


class _Reader:
    def __init__(self, knowledge: Knowledge, fmap: FhirMap, today: dt.date, name: str = "<fhir>"):
        self.name = name
        self.k = knowledge
        self.m = fmap
        self.today = today
        self.out = FhirReading({})
        self.patient_refs: set[str] = set()
        self.response_date = ""
        self.none_known: set[str] = set()
        self.referenced: set[str] = set()

    def not_used(self, resource: Mapping[str, Any], reason: str, what: Any = None) -> None:
        note: dict[str, Any] = {"resource": _ref(resource), "reason": reason}
        if what is not None:
            note["code"] = _code_label(what)
        self.out.not_used.append(note)

    def for_this_patient(self, resource: Mapping[str, Any]) -> bool:
        subject = resource.get("subject") or resource.get("patient")
        if not isinstance(subject, dict) or not self.patient_refs:
            return True
        reference = subject.get("reference")
        return not isinstance(reference, str) or reference in self.patient_refs

    def run(self, resources: list[dict[str, Any]]) -> FhirReading:
        patients = [r for r in resources if r.get("resourceType") == "Patient"]
        for resource in resources:
            self.out.resources[str(resource.get("resourceType"))] += 1
        if len(patients) > 1:
            ids = ", ".join(_ref(p) for p in patients[:5])
            raise PatientFileError(
                [
                    Problem(
                        "P211",
                        f"the resources are about {len(patients)} patients ({ids}); one is consulted at a time",
                        Location(self.name),
                        "give one patient's resources, or Bulk Data NDJSON to 'cramp-expert batch'",
                    )
                ]
            )
        if patients:
            self.patient(patients[0])
        handlers = {
            "Condition": self.condition,
            "MedicationRequest": self.medication,
            "MedicationStatement": self.medication,
            "Observation": self.observation,
            "QuestionnaireResponse": self.questionnaire_response,
        }
        self.medications: dict[str, dict[str, Any]] = {}
        self.first_ordered: dict[str, dt.date] = {}
        self.observations: dict[str, tuple[str, dict[str, Any]]] = {}
        self.media = {_ref(r): r for r in resources if r.get("resourceType") == "Medication"}
        for resource in resources:
            kind = resource.get("resourceType")
            if kind in ("Patient", "Medication", "OperationOutcome"):
                if kind == "OperationOutcome":
                    self.not_used(
                        resource, "the client could not fetch some data (OperationOutcome)"
                    )
                continue
            handler = handlers.get(str(kind))
            if handler is None:
                continue  # counted in `resources`; summarised below
            if not self.for_this_patient(resource):
                self.not_used(resource, "about another patient")
                continue
            handler(resource)
        self.finish_medications()
        self.finish_observations()
        for ref, medication in self.media.items():
            if ref not in self.referenced:
                self.not_used(
                    medication,
                    "a Medication no MedicationRequest or MedicationStatement refers to",
                    medication.get("code"),
                )
        unread = sorted(
            kind
            for kind in self.out.resources
            if kind not in (*handlers, "Patient", "Medication", "OperationOutcome")
        )
        for kind in unread:
            self.out.not_used.append(
                {
                    "resource": kind,
                    "count": self.out.resources[kind],
                    "reason": "resource type not read by cramp-expert",
                }
            )
        return self.out

    # --- Patient ---------------------------------------------------------------------------
    def patient(self, resource: dict[str, Any]) -> None:
        pid = resource.get("id")
        if isinstance(pid, str):
            self.out.data["id"] = pid
            self.patient_refs |= {f"Patient/{pid}", f"urn:uuid:{pid}"}
        if isinstance(resource.get("_fullUrl"), str):
            self.patient_refs.add(resource["_fullUrl"])
        gender = resource.get("gender")
        if gender in ("male", "female", "other", "unknown"):
            self.out.data["sex"] = gender
            self.out.read.append({"resource": _ref(resource), "as": "sex", "value": gender})
        elif gender is not None:
            self.not_used(resource, f"gender '{gender}' is not one of male, female, other, unknown")
        born = _date(resource.get("birthDate"))
        if born is not None:
            age = (
                self.today.year
                - born.year
                - ((self.today.month, self.today.day) < (born.month, born.day))
            )
            self.out.data["age"] = age
            self.out.read.append(
                {
                    "resource": _ref(resource),
                    "as": "age",
                    "value": age,
                    "date": resource.get("birthDate"),
                }
            )

    def says_none(self, resource: dict[str, Any], concept: Any, which: str) -> bool:
        """Whether the resource says the list is known to be empty ("no known medications")."""
        codes = {
            str(c.get("code"))
            for c in _codings(concept)
            if c.get("system") in self.m.none_known["systems"]
        }
        if codes & self.m.none_known[which]:
            self.none_known.add(which)
            self.out.read.append({"resource": _ref(resource), "as": which, "value": "none known"})
            return True
        return False

    # --- Condition -------------------------------------------------------------------------
    def condition(self, resource: dict[str, Any]) -> None:
        if self.says_none(resource, resource.get("code"), "conditions"):
            return
        clinical = {str(c.get("code")) for c in _codings(resource.get("clinicalStatus"))}
        verification = {str(c.get("code")) for c in _codings(resource.get("verificationStatus"))}
        refused = verification & self.m.status["condition_verification_refused"]
        if refused:
            self.not_used(
                resource, f"verificationStatus {', '.join(sorted(refused))}", resource.get("code")
            )
            return
        if verification & {"unconfirmed", "provisional", "differential"}:
            # A suspected diagnosis is not a fact the rules may use (as "?PAD" in a problem list).
            self.not_used(
                resource,
                f"verificationStatus {', '.join(sorted(verification))}",
                resource.get("code"),
            )
            return
        if not clinical & self.m.status["condition_clinical"]:
            status = ", ".join(sorted(str(c) for c in clinical if c)) or "absent"
            self.not_used(resource, f"clinicalStatus {status}", resource.get("code"))
            return
        concept = resource.get("code")
        texts: tuple[str, ...] = ()
        pregnancy = False
        how = ""
        for coding in _codings(concept):
            kind, code = self.m.kind(coding.get("system")), str(coding.get("code", ""))
            if kind == "snomed":
                if code in self.m.pregnancy["conditions_snomed"]:
                    pregnancy = True
                texts = texts or self.m.snomed.get(code, ())
            elif kind == "icd10":
                if any(
                    code.upper().startswith(p.upper()) for p in self.m.pregnancy["conditions_icd10"]
                ):
                    pregnancy = True
                texts = texts or self.m.icd10_texts(code)
            if (texts or pregnancy) and not how:
                how = f"{kind} {code}"
        if pregnancy:
            self.out.data["pregnant"] = True
            self.out.read.append(
                {"resource": _ref(resource), "as": "pregnant", "value": True, "by": how}
            )
            return
        if not texts:
            text = _text(concept)
            if text is None:
                self.not_used(resource, "no code known to cramp-expert and no text", concept)
                return
            # Read as typed: the condition dictionary decides (an unrecognised text is a warning).
            texts = (_SEMANTIC_TAG.sub("", text),)
            how = "text"
        for text in texts:
            self.out.data.setdefault("conditions", [])
            if text not in self.out.data["conditions"]:
                self.out.data["conditions"].append(text)
        self.out.read.append(
            {"resource": _ref(resource), "as": "conditions", "value": list(texts), "by": how}
        )

    # --- MedicationRequest / MedicationStatement -------------------------------------------
    def medication(self, resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        concept = resource.get("medicationCodeableConcept")
        reference = resource.get("medicationReference")
        if concept is None and isinstance(reference, dict):
            target = reference.get("reference")
            contained = {
                f"#{c.get('id')}": c for c in resource.get("contained") or [] if isinstance(c, dict)
            }
            medication = contained.get(str(target)) or self.media.get(str(target))
            self.referenced.add(str(target))
            concept = medication.get("code") if medication else None
            if concept is None and isinstance(reference.get("display"), str):
                concept = {"text": reference["display"]}
        if self.says_none(resource, concept, "medications"):
            return
        name, how = self.medication_name(concept)
        started = _date(
            resource.get("authoredOn")
            or (resource.get("effectivePeriod") or {}).get("start")
            or resource.get("effectiveDateTime")
        )
        if name is not None and started is not None:
            # The first order of a medicine dates it better than its latest renewal.
            first = self.first_ordered.get(name)
            self.first_ordered[name] = started if first is None else min(first, started)
        status = resource.get("status")
        allowed = self.m.status[
            "medication_request" if kind == "MedicationRequest" else "medication_statement"
        ]
        if status not in allowed:
            self.not_used(resource, f"status {status}", concept)
            return
        if kind == "MedicationRequest" and resource.get("intent") in ("proposal", "plan"):
            self.not_used(resource, f"intent {resource.get('intent')}", concept)
            return
        if name is None:
            self.not_used(resource, "no code known to cramp-expert and no text", concept)
            return
        entry = self.medications.setdefault(name, {"name": name})
        entry.setdefault("_refs", []).append(_ref(resource))
        entry["_by"] = how

    def medication_name(self, concept: Any) -> tuple[str | None, str]:
        for coding in _codings(concept):
            kind, code = self.m.kind(coding.get("system")), str(coding.get("code", ""))
            if kind == "rxnorm" and code in self.m.rxnorm:
                return self.m.rxnorm[code], f"rxnorm {code}"
            if kind == "atc" and code.upper() in self.m.atc:
                return self.m.atc[code.upper()], f"atc {code}"
        text = _text(concept)
        return (_RXNORM_PREFIX.sub("", text) or text, "text") if text else (None, "")

    def finish_medications(self) -> None:
        if "conditions" in self.none_known:
            self.out.data.setdefault("conditions", [])
        if not self.medications:
            if "medications" in self.none_known:
                self.out.data["medications"] = []
            return
        listed = []
        for name, entry in self.medications.items():
            item: dict[str, Any] = {"name": name}
            started = self.first_ordered.get(name)
            if started is not None:
                item["started_months_ago"] = months_between(started, self.today)
            listed.append(item if len(item) > 1 else name)
            self.out.read.append(
                {
                    "resource": ", ".join(entry["_refs"][:3]),
                    "as": "medications",
                    "value": name,
                    "by": entry["_by"],
                }
            )
        self.out.data["medications"] = listed

    # --- QuestionnaireResponse -------------------------------------------------------------
    def questionnaire_response(self, resource: dict[str, Any]) -> None:
        from cramp_expert.fhir.questionnaire import QUESTIONNAIRE_URL, answers

        if resource.get("status") not in ("completed", "amended"):
            self.not_used(resource, f"status {resource.get('status')}")
            return
        canonical = str(resource.get("questionnaire") or "")
        if canonical and canonical.split("|")[0] != QUESTIONNAIRE_URL:
            self.not_used(resource, f"answers another questionnaire ({canonical})")
            return
        when = str(resource.get("authored") or "")
        if self.response_date and when < self.response_date:
            self.not_used(resource, "a later QuestionnaireResponse is used")
            return
        self.response_date = when
        given, unread = answers(resource, self.k)
        for section, value in given.items():
            if isinstance(value, dict):
                self.out.data.setdefault(section, {}).update(value)
            else:
                self.out.data[section] = value
        self.out.read.append(
            {"resource": _ref(resource), "as": "history", "value": sorted(given), "date": when}
        )
        if unread:
            self.not_used(resource, f"linkIds not in the questionnaire: {', '.join(unread[:10])}")

    # --- Observation -----------------------------------------------------------------------
    def observation(self, resource: dict[str, Any]) -> None:
        concept = resource.get("code")
        if resource.get("status") not in self.m.status["observation"]:
            self.not_used(resource, f"status {resource.get('status')}", concept)
            return
        loinc = [
            str(c.get("code")) for c in _codings(concept) if self.m.kind(c.get("system")) == "loinc"
        ]
        target = next((f"labs.{self.m.loinc[c]}" for c in loinc if c in self.m.loinc), None)
        if target is None and any(c in self.m.pregnancy["status_loinc"] for c in loinc):
            target = "pregnant"
        if target is None and any(c in self.m.pregnancy["gestation_loinc"] for c in loinc):
            target = "gestation_weeks"
        if target is None:
            self.unknown_observation(resource)
            return
        when = _when(resource)
        previous = self.observations.get(target)
        # Latest of each: ISO 8601 date-times of one record compare as text.
        if previous is None or when > previous[0]:
            if previous is not None:
                self.not_used(previous[1], f"a later {target} is used", previous[1].get("code"))
            self.observations[target] = (when, resource)
        else:
            self.not_used(resource, f"a later {target} is used", concept)

    def unknown_observation(self, resource: dict[str, Any]) -> None:
        # Vital signs and the like come by the hundred: one note per code, with a count.
        label = _code_label(resource.get("code"))
        for note in self.out.not_used:
            if note.get("code") == label and note.get("reason") == "code not read by cramp-expert":
                note["count"] = note.get("count", 1) + 1
                return
        self.out.not_used.append(
            {
                "resource": "Observation",
                "code": label,
                "reason": "code not read by cramp-expert",
                "count": 1,
            }
        )

    def finish_observations(self) -> None:
        for target, (when, resource) in self.observations.items():
            if target == "pregnant":
                values = {c.get("code") for c in _codings(resource.get("valueCodeableConcept"))}
                if values & self.m.pregnancy["pregnant"]:
                    self.out.data["pregnant"] = True
                elif values & self.m.pregnancy["not_pregnant"]:
                    self.out.data.setdefault("pregnant", False)
                else:
                    self.not_used(
                        resource,
                        "pregnancy status value not read",
                        resource.get("valueCodeableConcept"),
                    )
                    continue
                self.out.read.append(
                    {
                        "resource": _ref(resource),
                        "as": "pregnant",
                        "value": self.out.data["pregnant"],
                        "date": when,
                    }
                )
                continue
            quantity = resource.get("valueQuantity")
            if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
                self.not_used(resource, "no valueQuantity", resource.get("code"))
                continue
            value = quantity["value"]
            unit_code = quantity.get("code")
            unit = self.m.ucum.get(str(unit_code)) if unit_code is not None else None
            unit = unit or (str(quantity["unit"]) if isinstance(quantity.get("unit"), str) else "")
            if target == "gestation_weeks":
                weeks = value / 7 if unit_code in ("d", "days") else value
                self.out.data["gestation_weeks"] = round(weeks, 1)
                self.out.read.append(
                    {"resource": _ref(resource), "as": target, "value": weeks, "date": when}
                )
                continue
            analyte = target.removeprefix("labs.")
            entry: Any = (
                f"{value:g} {unit}".strip()
                if isinstance(value, float)
                else f"{value} {unit}".strip()
            )
            high = next(
                (
                    r["high"]["value"]
                    for r in resource.get("referenceRange") or []
                    if isinstance(r, dict)
                    and isinstance(r.get("high"), dict)
                    and isinstance(r["high"].get("value"), int | float)
                ),
                None,
            )
            if analyte == "ck" and high:
                entry = (
                    {"value": value, "unit": unit, "uln": high}
                    if unit
                    else {"value": value, "uln": high}
                )
            self.out.data.setdefault("labs", {})[analyte] = entry
            loinc = next(
                (
                    str(c.get("code"))
                    for c in _codings(resource.get("code"))
                    if self.m.kind(c.get("system")) == "loinc"
                ),
                "",
            )
            self.out.lab_sources[analyte] = {"date": when, "source": _ref(resource), "loinc": loinc}
            self.out.read.append(
                {
                    "resource": _ref(resource),
                    "as": target,
                    "value": entry,
                    "date": when,
                    "by": f"loinc {loinc}",
                }
            )


def read_resources(
    resources: list[dict[str, Any]],
    knowledge: Knowledge,
    today: dt.date | None = None,
    name: str = "<fhir>",
) -> FhirReading:
    """Map validated resources about one patient to a patient file and notes."""
    reader = _Reader(knowledge, fhir_map(knowledge), today or dt.date.today(), name)
    return reader.run(resources)


def _drop(data: dict[str, Any], key: str) -> bool:
    """Remove the patient-file entry a problem names (`labs.potassium`, `age`); False if none."""
    parts = re.split(r"\.|\[", key)
    top = parts[0]
    if top not in data:
        return False
    if len(parts) > 1 and isinstance(data[top], dict) and parts[1] in data[top]:
        del data[top][parts[1]]
        return True
    if len(parts) > 1 and isinstance(data[top], list):
        index = parts[1].rstrip("]")
        if index.isdigit() and int(index) < len(data[top]):
            del data[top][int(index)]
            return True
    del data[top]
    return True


def facts_from_resources(
    resources: list[dict[str, Any]],
    knowledge: Knowledge,
    name: str = "<fhir>",
    today: dt.date | None = None,
) -> PatientFacts:
    """Normalise one patient's resources: the patient file they give, checked as any file.

    A value the patient-file validator refuses (a lab out of range, an age over 120) is not a
    reason to refuse the whole record: it is left out and listed in `interpreted.fhir.not_used`
    with the validator's message.
    """
    reading = read_resources(resources, knowledge, today, name)
    data = reading.data
    for _attempt in range(5):
        try:
            facts = normalise_patient(data, knowledge, name)
            break
        except PatientFileError as exc:
            dropped = False
            for problem in exc.problems:
                key = problem.location.key
                if key and _drop(data, key):
                    dropped = True
                    reading.not_used.append({"entry": key, "reason": problem.message})
                    if key.startswith("labs."):
                        reading.lab_sources.pop(key.split(".")[1], None)
            if not dropped:
                raise
    else:  # pragma: no cover - each pass removes at least one entry
        raise PatientFileError(
            [Problem("P211", "the FHIR resources give no usable patient", Location(name))]
        )
    for analyte, source in reading.lab_sources.items():
        if analyte in facts.labs:
            facts.labs[analyte].update(source)
    facts.extra_interpreted["fhir"] = reading.notes()
    return facts


def facts_from_fhir(
    data: Any, knowledge: Knowledge, name: str = "<fhir>", today: dt.date | None = None
) -> PatientFacts:
    """Validate parsed FHIR JSON (a Bundle, a resource, or a list) and normalise it."""
    return facts_from_resources(validate(data, name), knowledge, name, today)


def resources_in(values: Iterable[Any]) -> list[dict[str, Any]]:
    """Flatten CDS Hooks prefetch values (resources, searchset Bundles, null) into resources."""
    out: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            out.extend(
                {**e["resource"], **({"_fullUrl": e["fullUrl"]} if e.get("fullUrl") else {})}
                for e in value.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            )
        elif isinstance(value, dict) and "resourceType" in value:
            out.append(value)
    return out


__all__ = [
    "MAX_FHIR_BYTES",
    "FhirReading",
    "facts_from_fhir",
    "facts_from_resources",
    "is_fhir",
    "load_fhir_bytes",
    "load_fhir_file",
    "looks_like_fhir",
    "months_between",
    "read_resources",
    "resources_in",
    "validate",
]
