"""The FHIR mapping of knowledge/fhir.yaml: code systems, statuses and code tables.

Read by the project's YAML reader (safe loader) and checked on load: every table must be a mapping of texts, and
every name it leads to must be one the knowledge base reads exactly (an analyte of units.yaml,
a unit of that analyte's, a condition synonym, a drug name); a mistake is a KnowledgeBaseError
naming the file and key, never a silently unread code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cramp_expert.errors import KnowledgeBaseError, Location, Problem
from cramp_expert.kb.knowledge import Knowledge, normalise_name, normalise_unit
from cramp_expert.source import load_file

FILE = "fhir.yaml"


@dataclass(frozen=True)
class FhirMap:
    """knowledge/fhir.yaml, checked against the knowledge base it belongs to."""

    systems: dict[str, frozenset[str]]
    """Kind (`loinc`, `snomed`, ...) -> the code system URLs that mean it."""
    status: dict[str, frozenset[str]]
    loinc: dict[str, str]
    ucum: dict[str, str]
    pregnancy: dict[str, frozenset[str]]
    snomed: dict[str, tuple[str, ...]]
    icd10: dict[str, tuple[str, ...]]
    rxnorm: dict[str, str]
    atc: dict[str, str]
    """ATC code -> drug name, from medications.yaml."""
    none_known: dict[str, frozenset[str]]
    """`systems`, `medications`, `conditions`: codes saying a list is known to be empty."""

    def kind(self, system: str | None) -> str | None:
        """`loinc`, `snomed`, ... for a code system URL, or None for one not declared."""
        if not system:
            return None
        for kind, urls in self.systems.items():
            if system in urls:
                return kind
        return None

    def icd10_texts(self, code: str) -> tuple[str, ...]:
        """The condition texts of an ICD-10 code: its longest declared prefix, or ()."""
        code = code.strip().upper()
        for end in range(len(code), 2, -1):
            found = self.icd10.get(code[:end])
            if found is not None:
                return found
        return ()


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError("must be a text or a list of texts")


def build_map(data: Any, knowledge: Knowledge, path: str) -> FhirMap:
    """Check the parsed file against `knowledge`; raise KnowledgeBaseError listing every problem."""
    problems: list[Problem] = []

    def fail(key: str, message: str, code: str = "K301") -> None:
        problems.append(Problem(code, message, Location(path, key=key)))

    if not isinstance(data, dict):
        raise KnowledgeBaseError(
            [Problem("K201", "knowledge/fhir.yaml must be a mapping of sections", Location(path))]
        )

    def section(name: str) -> dict[str, Any]:
        value = data.get(name)
        if not isinstance(value, dict):
            fail(name, f"section '{name}' must be a mapping", "K201")
            return {}
        return {str(k): v for k, v in value.items()}

    systems = {k: frozenset(_texts(v)) for k, v in section("systems").items()}
    status = {k: frozenset(_texts(v)) for k, v in section("status").items()}
    pregnancy = {k: frozenset(str(x) for x in _texts(v)) for k, v in section("pregnancy").items()}
    none_known = {k: frozenset(str(x) for x in _texts(v)) for k, v in section("none_known").items()}
    loinc = {k: str(v) for k, v in section("loinc").items()}
    for code, analyte in loinc.items():
        if analyte not in knowledge.analytes:
            fail(f"loinc.{code}", f"'{analyte}' is not an analyte of units.yaml")
    ucum = {k: str(v) for k, v in section("ucum").items()}
    known_units = {normalise_unit(u.name) for a in knowledge.analytes.values() for u in a.units}
    known_units |= {normalise_unit(alias) for alias in knowledge.unit_aliases}
    for code, unit in ucum.items():
        if normalise_unit(unit) not in known_units:
            fail(f"ucum.{code}", f"'{unit}' is not a unit of any analyte in units.yaml")
    synonyms = knowledge.condition_synonyms
    dialysis_words = ("dialysis", "haemodialysis", "peritoneal dialysis")
    snomed: dict[str, tuple[str, ...]] = {}
    icd10: dict[str, tuple[str, ...]] = {}
    for name, table in (("snomed", snomed), ("icd10", icd10)):
        for code, value in section(name).items():
            try:
                texts = _texts(value)
            except TypeError as exc:
                fail(f"{name}.{code}", str(exc), "K201")
                continue
            for text in texts:
                if normalise_name(text) not in synonyms and text not in dialysis_words:
                    fail(
                        f"{name}.{code}", f"'{text}' is not a condition synonym of conditions.yaml"
                    )
            table[code.upper() if name == "icd10" else code] = texts
    rxnorm = {k: str(v) for k, v in section("rxnorm").items()}
    for code, drug in rxnorm.items():
        if normalise_name(drug) not in knowledge.drug_names:
            fail(f"rxnorm.{code}", f"'{drug}' is not a name in medications.yaml")
    atc: dict[str, str] = {}
    for definition in knowledge.drugs.values():
        if definition.atc:
            atc.setdefault(definition.atc.upper(), definition.name)
    if problems:
        raise KnowledgeBaseError(problems)
    return FhirMap(systems, status, loinc, ucum, pregnancy, snomed, icd10, rxnorm, atc, none_known)


_CACHE: dict[tuple[str, str], FhirMap] = {}


def fhir_map(knowledge: Knowledge) -> FhirMap:
    """The mapping beside `knowledge` (its knowledge/ folder), read once per knowledge base."""
    key = (str(knowledge.root), knowledge.digest)
    if key not in _CACHE:
        _CACHE[key] = _read(Path(knowledge.root), knowledge)
    return _CACHE[key]


def _read(folder: Path, knowledge: Knowledge) -> FhirMap:
    # The project's one YAML reader (safe loader, limits, located problems).
    document = load_file(folder / FILE)
    return build_map(document.data, knowledge, f"knowledge/{FILE}")


__all__ = ["FILE", "FhirMap", "build_map", "fhir_map"]
