"""Validate a patient file against knowledge/facts.yaml and flatten it into fact ids.

Every problem in the file is collected (unknown keys with the nearest valid key, wrong types,
values out of range, unknown or implausible units), each with its line, column and key, and one
`PatientFileError` is raised so that a consultation never runs on a half-read patient.
Unrecognised medications and conditions are warnings in the result, not errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cramp_expert.errors import (
    InputError,
    Location,
    PatientFileError,
    ProblemCollector,
    did_you_mean,
)
from cramp_expert.kb.derived import apply_formulas, ck_times_uln
from cramp_expert.kb.knowledge import FactDef, Knowledge
from cramp_expert.patient.labs import LabError, LabReading, read_lab
from cramp_expert.patient.medications import (
    MedicationMatch,
    dialysis_mentioned,
    match_condition,
    match_medication,
)
from cramp_expert.problems import PATIENT_SHAPE, RULE_SHAPE, lookup
from cramp_expert.render.safe import unsafe_characters
from cramp_expert.source import Document, KeyPath, format_path
from cramp_expert.validate import Checker, coerce

TOP_LEVEL = (
    "id",
    "age",
    "sex",
    "pregnant",
    "gestation_weeks",
    "dialysis",
    "cramps",
    "medications",
    "conditions",
    "findings",
    "labs",
    "lifestyle",
)
SECTIONS = ("cramps", "findings", "lifestyle")
MEDICATION_KEYS = ("name", "started_months_ago", "dose", "note")
LAB_KEYS = ("value", "unit", "uln")
_MEDICATION_KEYS = frozenset(MEDICATION_KEYS)
_VIGNETTE_KEYS = frozenset(("patient", "expect"))
_ID_TYPES = (str, int, float)
"""What an id may be written as (a tuple: `str | int | float` makes a union on every patient)."""
MAX_ENTRIES = 100
"""Most medications, or conditions, one patient file may list. Each entry is matched against the
dictionaries (milliseconds each), so the limit also bounds the time a consultation takes."""
MAX_TEXT = 200
"""Longest text read as one medication, one condition or the patient id (a prescription line
with dose and instructions fits; a pasted letter does not)."""


@dataclass(frozen=True)
class InputWarning:
    """A non-fatal remark about the input (unrecognised medicine, fuzzy match)."""

    code: str
    """A code of the registry (`cramp_expert.problems`); any other is refused when made."""
    message: str
    where: str

    def __post_init__(self) -> None:
        lookup(self.code)

    def as_dict(self) -> dict[str, str]:
        """The contract's warning shape."""
        return {"code": self.code, "message": self.message, "where": self.where}


@dataclass
class PatientFacts:
    """A patient as the rules see it: fact id -> normalised value, plus how each was read."""

    patient_id: str | None
    values: dict[str, Any]
    shown: dict[str, str] = field(default_factory=dict)
    """Fact id -> the value for a clinician, as given and as normalised (`1.4 mg/dL = 0.58 mmol/L`)."""
    medications: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    labs: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[InputWarning] = field(default_factory=list)
    extra_interpreted: dict[str, Any] = field(default_factory=dict)
    """Keys the result's `interpreted` gains from a reader other than the patient file's
    (`fhir`: the FHIR resources read and not used; see cramp_expert/fhir)."""

    def show(self, fact_id: str) -> str:
        """The value of a fact for a clinician, or `unknown`."""
        if fact_id in self.shown:
            return self.shown[fact_id]
        if fact_id not in self.values:
            return "unknown"
        return format_value(self.values[fact_id])


def format_value(value: Any, unit: str = "") -> str:
    """Render a fact value: `true`, `3.1 mmol/L`, `[calf, foot]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        # Whole numbers from 1,000 up with a thousands separator, as a clinician writes them.
        text = f"{value:,.0f}" if abs(value) >= 1000 and value == int(value) else f"{value:g}"
    elif isinstance(value, frozenset | set | list | tuple):
        text = ", ".join(sorted(str(v) for v in value))
    else:
        text = str(value)
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class _Prepared:
    """What the normaliser looks up for every patient, worked out once per knowledge base."""

    top_level: frozenset[str]
    section_keys: dict[str, frozenset[str]]
    analytes: frozenset[str]
    classes: tuple[tuple[str, str, str, str], ...]
    """Per drug class, in the dictionary's order: id, `meds.<id>`, its start and its dose."""
    none_taken: dict[str, bool]
    """`meds.<id>: False` for every class, in that order: a list naming no class."""
    absent: tuple[tuple[str, bool], ...]
    """The same as pairs, to be sliced: the classes between two that a list names."""
    order: dict[str, int]
    """Drug class id -> its place in the dictionary."""
    lab_readings: dict[tuple[str, str], tuple[LabReading, str]] = field(default_factory=dict)
    """(analyte, lab value as written) -> its reading and how it is shown: a register repeats
    the same values (`4.1 mmol/L`) again and again, and reading one is a pure function of it."""


LABS_KEPT = 8192
"""Lab values as written whose readings a knowledge base keeps (`_Prepared.lab_readings`)."""


_PREPARED: dict[int, tuple[Knowledge, _Prepared]] = {}


def _prepared(knowledge: Knowledge) -> _Prepared:
    entry = _PREPARED.get(id(knowledge))
    if entry is not None and entry[0] is knowledge:
        return entry[1]
    classes = tuple(
        (cid, f"meds.{cid}", f"meds.{cid}.started_months_ago", f"meds.{cid}.dose_mg")
        for cid in knowledge.drug_classes
    )
    prepared = _Prepared(
        frozenset(TOP_LEVEL),
        {section: frozenset(knowledge.section_keys(section)) for section in SECTIONS},
        frozenset(knowledge.analytes),
        classes,
        {key: False for _, key, _, _ in classes},
        tuple((key, False) for _, key, _, _ in classes),
        {cid: index for index, (cid, _, _, _) in enumerate(classes)},
    )
    if len(_PREPARED) >= 16:  # knowledge bases built by tests come and go
        _PREPARED.clear()
    _PREPARED[id(knowledge)] = (knowledge, prepared)
    return prepared


def read_patient(document: Document, knowledge: Knowledge) -> PatientFacts:
    """Validate and normalise a parsed patient file; raise PatientFileError listing every problem."""
    problems = ProblemCollector()
    facts = _Normaliser(document, knowledge, problems).run()
    if problems:
        raise PatientFileError(problems.problems)
    return facts


def normalise_patient(
    data: dict[str, Any], knowledge: Knowledge, name: str = "<patient>"
) -> PatientFacts:
    """Normalise patient data held in memory (an example's `patient:` block, a test's dict)."""
    return read_patient(Document(name, data, {}), knowledge)


class _Normaliser:
    def __init__(self, document: Document, knowledge: Knowledge, problems: ProblemCollector):
        self.doc = document
        self.k = knowledge
        self.check = Checker(document, problems, PATIENT_SHAPE)
        self.known = _prepared(knowledge)
        self.values: dict[str, Any] = {}
        self.shown: dict[str, str] = {}
        self.result = PatientFacts(None, self.values, self.shown)

    def run(self) -> PatientFacts:
        data = self.doc.data
        if isinstance(data, list):
            self.check.fail(
                "P201",
                "the top level of a patient file must be a mapping of keys (age, sex, ...), not a list",
                (),
            )
            return self.result
        data = self.check.mapping(data, (), "the top level of a patient file")
        if data is None:
            return self.result
        if data.keys() == _VIGNETTE_KEYS:
            self.check.fail(
                "P201",
                "this is a vignette (patient: and expect:), not a patient file",
                (),
                "consult the mapping under 'patient:' on its own (examples/ holds them)",
            )
            return self.result
        if not (self.doc.printable or _printable(data)):
            self.control_characters(data, ())
        if not data.keys() <= self.known.top_level:
            self.check.keys(data, (), TOP_LEVEL, what="top-level key")
        if "id" in data and data["id"] is not None:
            if isinstance(data["id"], _ID_TYPES) and not isinstance(data["id"], bool):
                # As written: YAML would turn `012345` into 5349 and `12:30` into 750.
                patient_id = self.doc.raw.get(("id",), str(data["id"]))
                if self.short_text(patient_id, ("id",), "id"):
                    self.result.patient_id = patient_id
            else:
                self.check.fail("P201", "id must be a text or a number", ("id",))
        for key in ("age", "sex", "pregnant", "gestation_weeks", "dialysis"):
            # NOTE: .get: a knowledge base being written may not define them all yet.
            if data.get(key) is not None and key in self.k.facts:
                self.fact(self.k.facts[key], data[key], (key,))
        for section in SECTIONS:
            if data.get(section) is not None:
                self.section(section, data[section])
        if data.get("labs") is not None:
            self.labs(data["labs"])
        if data.get("medications") is not None:
            self.medications(data["medications"])
        if data.get("conditions") is not None:
            self.conditions(data["conditions"])
        self.consistency()
        self.dialysis_from_elsewhere([item["input"] for item in self.result.conditions])
        apply_derived(self.result)
        return self.result

    # --- plain facts --------------------------------------------------------------------------
    def fact(self, fact: FactDef, raw: Any, path: KeyPath) -> None:
        value = _valid(fact, raw)
        if value is None:  # not plainly valid: checked, and every problem said
            value = coerce(fact, raw, self.check, path, format_path(path))
        if value is not None:
            self.values[fact.id] = value
            if fact.unit and fact.type == "number":
                self.shown[fact.id] = format_value(value, fact.unit)

    def section(self, section: str, raw: Any) -> None:
        mapping = self.check.mapping(raw, (section,), section)
        if mapping is None:
            return
        if not mapping.keys() <= self.known.section_keys[section]:
            self.check.keys(
                mapping, (section,), self.k.section_keys(section), what=f"key of {section}"
            )
        for key, value in mapping.items():
            fact = self.k.facts.get(f"{section}.{key}")
            if fact is not None and value is not None:
                self.fact(fact, value, (section, key))

    # --- labs ---------------------------------------------------------------------------------
    def labs(self, raw: Any) -> None:
        mapping = self.check.mapping(raw, ("labs",), "labs")
        if mapping is None:
            return
        if not mapping.keys() <= self.known.analytes:
            self.check.keys(mapping, ("labs",), list(self.k.analytes), what="lab")
        for name, value in mapping.items():
            analyte = self.k.analytes.get(name)
            if analyte is None or value is None:
                continue
            path: KeyPath = ("labs", name)
            uln = None
            if isinstance(value, dict):
                known = LAB_KEYS if name == "ck" else LAB_KEYS[:2]
                if not ("value" in value and all(key in known for key in value)):
                    self.check.keys(value, path, known, ["value"], what=f"key of labs.{name}")
                if "uln" in value and name == "ck":
                    uln = self.check.number(value["uln"], (*path, "uln"), "uln", (1, 100000))
                if "value" not in value:
                    continue
                number = value["value"]
                if isinstance(number, bool) or not isinstance(number, int | float):
                    self.check.fail("P201", f"labs.{name}.value must be a number", (*path, "value"))
                    continue
                raw_value: Any = f"{number} {value['unit']}" if value.get("unit") else number
            else:
                raw_value = value
            # Text only: a bare number's reading shows it as written (`-0` is not `0`).
            key = (name, raw_value) if type(raw_value) is str else None
            readings = self.known.lab_readings
            known_reading = readings.get(key) if key is not None else None
            if known_reading is None:
                try:
                    reading = read_lab(analyte, raw_value, self.k)
                except LabError as exc:
                    self.check.fail("P205", f"labs.{name}: {exc}", path, exc.hint)
                    continue
                known_reading = (reading, reading.show())
                if key is not None:
                    if len(readings) >= LABS_KEPT:
                        readings.clear()
                    readings[key] = known_reading
            reading, shown = known_reading
            fact = self.k.facts.get(f"labs.{name}")
            if fact and fact.range and not fact.range[0] <= reading.value <= fact.range[1]:
                self.check.fail(
                    "P204",
                    f"labs.{name} {reading.value:g} {reading.unit} is out of range",
                    path,
                    f"allowed: {fact.range[0]:g} to {fact.range[1]:g} {fact.unit}",
                )
                continue
            self.store_lab(reading, value, shown)
            if name == "ck" and uln is not None:
                # The lab's own limit; without one, apply_derived uses the default ULN.
                self.values["labs.ck_xuln"], self.shown["labs.ck_xuln"] = ck_times_uln(
                    reading.value, uln
                )

    def store_lab(self, reading: LabReading, raw: Any, shown: str) -> None:
        fact_id = f"labs.{reading.analyte}"
        self.values[fact_id] = reading.value
        self.shown[fact_id] = shown
        shown_input = (
            raw
            if isinstance(raw, str)
            else (
                f"{raw.get('value')} {raw.get('unit') or ''}".strip()
                if isinstance(raw, dict)
                else f"{raw:g}"
            )
        )
        self.result.labs[reading.analyte] = {
            "input": shown_input,
            "value": reading.value,
            "unit": reading.unit,
        }

    # --- text -------------------------------------------------------------------------------
    def control_characters(self, value: Any, path: KeyPath) -> None:
        """Refuse control, escape, bidi and line-separator characters in every text and key.

        They have no place in a patient's id, medicines or answers, and printed they could
        rewrite the report (clear the screen, move the cursor, reverse a line). Refused, not
        dropped: the file is corrected at its source.
        """
        if isinstance(value, str):
            unsafe = [c for c in unsafe_characters(value) if not c.startswith("\\ud")]
            if unsafe:
                shown = ", ".join(unsafe)
                self.check.fail(
                    "P207",
                    f"the text holds control or formatting characters ({shown[:60]})",
                    path,
                    "write plain text: escape sequences, tabs, line breaks and bidi controls "
                    "are not allowed",
                )
        elif isinstance(value, dict):
            # Keys are checked against the known names; an unknown one is shown escaped.
            for key, item in value.items():
                self.control_characters(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.control_characters(item, (*path, index))

    # --- limits -------------------------------------------------------------------------------
    def short_text(self, text: str, path: KeyPath, what: str) -> bool:
        """Whether `text` is within MAX_TEXT characters; records a problem if not."""
        if len(text) <= MAX_TEXT:
            return True
        self.check.fail(
            "P204",
            f"{what} is {len(text)} characters long; the limit is {MAX_TEXT}",
            path,
            "" if path == ("id",) else "one entry per medicine or condition, without notes",
        )
        return False

    def few_entries(self, entries: list[Any], path: KeyPath, what: str) -> bool:
        """Whether a list holds at most MAX_ENTRIES entries; records a problem if not."""
        if len(entries) <= MAX_ENTRIES:
            return True
        self.check.fail(
            "P204", f"{what} lists {len(entries)} entries; the limit is {MAX_ENTRIES}", path
        )
        return False

    # --- medications --------------------------------------------------------------------------
    def medications(self, raw: Any) -> None:
        if not isinstance(raw, list):
            self.check.fail("P201", "medications must be a list", ("medications",))
            return
        if not self.few_entries(raw, ("medications",), "medications"):
            return
        found: dict[str, list[float | None]] = {}
        typed: dict[str, list[str]] = {}
        doses: dict[str, list[float]] = {}
        stopped: dict[str, list[str]] = {}
        unrecognised = False
        taken = 0
        for index, entry in enumerate(raw):
            path: KeyPath = ("medications", index)
            started: float | None = None
            if isinstance(entry, dict):
                if not (entry.keys() <= _MEDICATION_KEYS and "name" in entry):
                    self.check.keys(
                        entry, path, MEDICATION_KEYS, ["name"], what="key of a medication"
                    )
                name = (  # a missing name is reported once, by keys() above
                    self.check.string(entry["name"], (*path, "name"), "medication name")
                    if "name" in entry
                    else None
                )
                if entry.get("started_months_ago") is not None:
                    started = self.check.number(
                        entry["started_months_ago"],
                        (*path, "started_months_ago"),
                        "started_months_ago",
                        (0, 1200),
                    )
                if name is None or not self.short_text(name, (*path, "name"), "medication name"):
                    continue
            elif isinstance(entry, str) and entry.strip():
                name = entry
                if not self.short_text(name, path, "a medication"):
                    continue
            else:
                self.check.fail(
                    "P201",
                    "a medication must be a text ('furosemide 40 mg') or a mapping {name, started_months_ago}",
                    path,
                )
                continue
            match = match_medication(name, self.k)
            item: dict[str, Any] = {
                "input": name,
                "drug": (match.matched_name and " + ".join(match.drugs)) or None,
                "classes": list(match.classes),
            }
            if len(match.drugs) > 1:
                item["components"] = list(match.drugs)
            item["match"] = match.matched
            if started is not None:
                item["started_months_ago"] = started
            self.result.medications.append(item)
            if match.matched != "exact":  # the one reading that needs no word to the clinician
                warning = _medication_warning(match, format_path(path))
                if warning is not None:
                    self.result.warnings.append(warning)
            if match.matched == "not_taken":
                for class_id in match.classes:
                    stopped.setdefault(class_id, []).append(name)
                continue
            taken += 1
            if match.matched in ("unknown", "partial"):
                # The entry may belong to any class: classes not otherwise on the list stay
                # unknown rather than absent.
                unrecognised = True
            if match.matched == "unknown":
                continue
            strength: dict[str, float | None] | None = None
            for class_id in match.classes:
                found.setdefault(class_id, []).append(started)
                typed.setdefault(class_id, []).append(name)
                if self.k.drug_classes[class_id].dose:
                    if strength is None:
                        # The strength of each drug of the entry: one drug takes the entry's one
                        # "N mg" (or its mapping's dose); several take what the entry says for
                        # each (Inegy 10/40). Read only for a class whose dose rules test.
                        strength = {
                            drug: (_strength_mg(name, entry) if len(match.drugs) == 1 else None)
                            for drug in match.drugs
                        }
                        strength.update(match.strengths)
                    written = [
                        strength[drug]
                        for drug in match.drugs
                        if class_id in self.k.drugs[drug].classes
                    ]
                    if written and all(value is not None for value in written):
                        doses.setdefault(class_id, []).append(max(v for v in written if v))
        self.values["medications.count"] = float(taken)
        for class_id, entries in stopped.items():
            # Stopped or not taken now, yet listed: a recent exposure (quinine thrombocytopenia
            # recurs on re-exposure) is still a fact a rule may need.
            self.values[f"meds.{class_id}.stopped"] = True
            # Sorted: the report must not depend on the order the list was written in.
            self.shown[f"meds.{class_id}.stopped"] = "; ".join(sorted(entries))
        known = self.known
        values = self.values
        if not found and not unrecognised:
            # A medication list is read as complete: a class not on it is absent.
            values.update(known.none_taken)
            return
        # The classes listed, in the dictionary's order, each with the start and the dose known
        # of it. NOTE: the start of a class is only known when every medicine of it gives one;
        # otherwise a recent start could hide behind an undated entry. The dose is the highest
        # written strength: a dose limit is about the largest one.
        listed: dict[str, tuple[str, list[tuple[str, float]]]] = {}
        for index in sorted(known.order[class_id] for class_id in found):
            class_id, key, started_key, dose_key = known.classes[index]
            given = found[class_id]
            extra: list[tuple[str, float]] = []
            months = [m for m in given if m is not None]
            if months and len(months) == len(given):
                extra.append((started_key, min(months)))
            if class_id in doses and len(doses[class_id]) == len(given):
                extra.append((dose_key, max(doses[class_id])))
            listed[key] = (class_id, extra)
        if not unrecognised:
            # A class not on the list is absent: every class in the dictionary's order, those
            # listed True (with their start and dose right after them).
            if any(extra for _, extra in listed.values()):
                done = 0
                for key, (class_id, extra) in listed.items():  # in the dictionary's order
                    place = known.order[class_id]
                    values.update(known.absent[done:place])  # one C call for the run of them
                    self.listed_class(key, class_id, extra, typed)
                    done = place + 1
                values.update(known.absent[done:])
                return
            values.update(known.none_taken)  # those listed become True in their places
        # With an unrecognised entry a class not listed stays unknown (the entry may be of it).
        for key, (class_id, extra) in listed.items():
            self.listed_class(key, class_id, extra, typed)

    def listed_class(
        self, key: str, class_id: str, extra: list[tuple[str, float]], typed: dict[str, list[str]]
    ) -> None:
        """A drug class the medication list names: `meds.<class>`, as typed, start and dose."""
        self.values[key] = True
        self.shown[key] = "; ".join(sorted(typed[class_id]))
        self.values.update(extra)

    # --- conditions ---------------------------------------------------------------------------
    def conditions(self, raw: Any) -> None:
        entries = self.check.string_list(raw, ("conditions",), "conditions")
        if entries is None or not self.few_entries(entries, ("conditions",), "conditions"):
            return
        # A list, not a generator: every entry that is too long is reported, not only the first.
        if not all(
            [self.short_text(t, ("conditions", i), "a condition") for i, t in enumerate(entries)]
        ):
            return
        unrecognised = False
        for index, text in enumerate(entries):
            condition_ids, how, suggestions = match_condition(text, self.k)
            where = format_path(("conditions", index))
            if how == "fuzzy":
                # A spelling guess is never used as a fact (clinical brief 8.5): different
                # diseases share letters (hypoparathyroidism, hyperthyroidism, hypothyroidism),
                # so the guess is shown for the clinician to confirm and the entry stays unread.
                guess = ", ".join(condition_ids)
                self.result.conditions.append(
                    {"input": text, "conditions": [], "match": how, "suggestion": guess}
                )
                unrecognised = True
                self.result.warnings.append(
                    InputWarning(
                        "W004",
                        f"condition '{text}' was not read: did you mean '{suggestions[0]}' "
                        f"({guess})? please confirm; it is not used until written exactly",
                        where,
                    )
                )
                continue
            self.result.conditions.append(
                {"input": text, "conditions": list(condition_ids), "match": how}
            )
            if not condition_ids:
                unrecognised = True
                hint = f"; closest known: {', '.join(suggestions)}" if suggestions else ""
                self.result.warnings.append(
                    InputWarning("W003", f"condition '{text}' was not recognised{hint}", where)
                )
                continue
            if how == "partial":
                self.result.warnings.append(
                    InputWarning(
                        "W004",
                        f"condition '{text}' was read as {', '.join(condition_ids)}; please confirm",
                        where,
                    )
                )
            for condition_id in condition_ids:
                self.values[f"conditions.{condition_id}"] = True
        # Safety rules that withhold advice (fluids, diet) must not trust a problem list that
        # holds text nobody could read.
        self.values["conditions.unrecognised"] = unrecognised

    def dialysis_from_elsewhere(self, conditions: list[str]) -> None:
        """Dialysis said outside the `dialysis:` key is read as dialysis, with a warning.

        Clinicians write "ESRD on haemodialysis" in the problem list, or describe cramps during
        dialysis sessions, without the `dialysis:` key. Left unknown, dialysis would not
        withhold fluid advice, so it is read from there; a contradiction is an input error.
        """
        said = self.values.get("dialysis")
        during = self.values.get("cramps.during_dialysis") is True
        mentioned = [kind for text in conditions if (kind := dialysis_mentioned(text))]
        if said == "none" and (during or mentioned):
            where = ("cramps", "during_dialysis") if during else ("conditions",)
            self.check.fail(
                "P206",
                "dialysis is 'none' but the file says the patient has dialysis",
                where,
                "set dialysis: haemodialysis or peritoneal, or correct the other entry",
            )
            return
        if said is not None or not (during or mentioned):
            return
        kind = mentioned[0] if mentioned else "haemodialysis"
        self.values["dialysis"] = kind
        source = "the conditions list" if mentioned else "cramps.during_dialysis"
        self.result.warnings.append(
            InputWarning(
                "W007", f"dialysis was taken as {kind} from {source}; please confirm", "dialysis"
            )
        )

    def consistency(self) -> None:
        if "gestation_weeks" in self.values and "pregnant" not in self.values:
            # Weeks of gestation mean a pregnancy: pregnancy changes the red flags (DVT) and
            # forbids quinine, so it is not left unknown. Said back as a warning.
            self.values["pregnant"] = True
            self.result.warnings.append(
                InputWarning(
                    "W005",
                    "pregnant was taken as true because gestation_weeks is given",
                    "pregnant",
                )
            )
        if self.values.get("pregnant") is True and self.values.get("sex") == "male":
            self.check.fail("P206", "pregnant is true but sex is male", ("pregnant",))
        if "gestation_weeks" in self.values and self.values.get("pregnant") is False:
            self.check.fail(
                "P206", "gestation_weeks is given but pregnant is false", ("gestation_weeks",)
            )
        # What the interview would not ask, or would refuse (knowledge/interview.yaml), is read
        # as given but said back: pregnancy at 72 is more likely a slip than a fact.
        for fact_id, message in self.k.interview.file_remarks(self.values):
            self.result.warnings.append(InputWarning("W008", message, fact_id))


def _printable(value: Any) -> bool:
    """Whether every text in `value` is printable (no control, bidi or separator character).

    What `control_characters` refuses is never printable: a file whose texts all are has
    nothing to refuse and is not walked again with every key's path.
    """
    if isinstance(value, str):
        return value.isprintable()
    if isinstance(value, dict | list):
        # A loop, not all() of a generator: it runs on every value of every patient file.
        for item in value.values() if isinstance(value, dict) else value:
            if not _printable(item):
                return False
    return True


def _valid(fact: FactDef, raw: Any) -> Any:
    """`raw` as `coerce` normalises it when it is plainly valid for `fact`, else None.

    None sends the value through `coerce`, which checks it again and says what is wrong: this
    only spares a valid value the checker's messages' making (its path, its wording).
    """
    kind = fact.type
    if kind == "number":
        if type(raw) is float or type(raw) is int:
            bounds = fact.range
            # Within bounds of its exact value, a number is within them as a float too.
            if bounds is not None and bounds[0] <= raw <= bounds[1]:
                return float(raw)
        return None
    if kind == "bool":
        return raw if raw is True or raw is False else None
    if kind == "choice":
        return raw if type(raw) is str and raw in fact.values else None
    if type(raw) is list and all(type(item) is str and item in fact.values for item in raw):
        return frozenset(raw)
    return None


def _medication_warning(match: MedicationMatch, where: str) -> InputWarning | None:
    """The warning that tells the clinician how an entry was read, when it needs confirming."""
    name = match.input
    if match.matched == "not_taken":
        return InputWarning(
            "W006", f"medication '{name}' was read as not currently taken; please confirm", where
        )
    if match.matched == "unknown":
        hint = f"; closest known: {', '.join(match.suggestions)}" if match.suggestions else ""
        return InputWarning(
            "W001",
            f"medication '{name}' was not recognised, so its drug class is unknown{hint}",
            where,
        )
    if match.matched == "partial":
        missing = ", ".join(match.unrecognised)
        return InputWarning(
            "W001",
            f"medication '{name}' was read as {match.matched_name}, but '{missing}' was not recognised, so its class is unknown",
            where,
        )
    if match.matched == "fuzzy":
        drugs = " + ".join(match.drugs)
        return InputWarning(
            "W002",
            f"medication '{name}' was read as {match.matched_name} ({drugs}); please confirm",
            where,
        )
    return None


def apply_derived(patient: PatientFacts) -> None:
    """Add the facts the registry's formulas compute (kb/derived.py) and are not already known.

    Applied to every patient, whether its facts come from a patient file or from a rule
    example's `given:` block, so that the two never disagree about what the rules see.
    """
    for fact_id, computed in apply_formulas(patient.values):
        patient.shown[fact_id] = computed.shown
        if computed.lab_unit:
            patient.labs[fact_id.removeprefix("labs.")] = {
                "input": "calculated",
                "value": computed.value,
                "unit": computed.lab_unit,
            }


def facts_from_given(
    given: dict[str, Any], knowledge: Knowledge, location: Location
) -> PatientFacts:
    """Build facts from an example's `given:` block (fact ids with normalised values)."""
    problems = ProblemCollector()
    document = Document(location.path, given, {(): (location.line, location.column)})
    check = Checker(document, problems, RULE_SHAPE)
    values: dict[str, Any] = {}
    for fact_id, raw in given.items():
        fact = knowledge.fact(fact_id)
        if fact is None:
            problems.add(
                "R303",
                f"unknown fact '{fact_id}'",
                location,
                did_you_mean(fact_id, knowledge.facts),
            )
            continue
        value = coerce(fact, raw, check, (fact_id,), fact_id)
        if value is not None:
            values[fact_id] = value
    if problems:
        raise InputError(problems.problems)
    patient = PatientFacts(None, values)
    apply_derived(patient)
    return patient


__all__ = [
    "InputWarning",
    "PatientFacts",
    "apply_derived",
    "facts_from_given",
    "normalise_patient",
    "read_patient",
]


_STRENGTH = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*mg\b", re.IGNORECASE)


def _strength_mg(name: str, entry: Any) -> float | None:
    """The strength in mg written in a one-drug medication line ("simvastatin 80 mg nocte").

    Or in its mapping's `dose` ("80 mg", or a bare number of mg); None unless exactly one is
    written.
    """
    dose = entry.get("dose") if isinstance(entry, dict) else None
    if isinstance(dose, int | float) and not isinstance(dose, bool):
        return float(dose)
    texts = [name, dose] if isinstance(dose, str) else [name]
    found = {float(m.group(1)) for text in texts for m in _STRENGTH.finditer(text)}
    return found.pop() if len(found) == 1 else None
