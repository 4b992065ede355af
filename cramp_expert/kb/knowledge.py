"""Load knowledge/: facts, conclusions, states, medications, conditions, units, references, settings.

Everything is validated (types, known keys, cross references) and every problem is collected with
its `file:line:col` before one `KnowledgeBaseError` is raised. The result is a `Knowledge` value
that the rule loader, the patient normaliser, the compiler and the renderers share.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cramp_expert.errors import (
    InputError,
    KnowledgeBaseError,
    Location,
    ProblemCollector,
    did_you_mean,
)
from cramp_expert.kb.cache import DocumentCache
from cramp_expert.kb.derived import FAMILIES
from cramp_expert.kb.interview import FILE as INTERVIEW_FILE
from cramp_expert.kb.interview import InterviewPlan, read_interview_plan
from cramp_expert.kb.model import EVIDENCE_GRADES
from cramp_expert.problems import KNOWLEDGE_SHAPE
from cramp_expert.source import Document, load_bytes, read_file
from cramp_expert.validate import Checker

KNOWLEDGE_FILES = (
    "settings.yaml",
    "facts.yaml",
    "units.yaml",
    "conclusions.yaml",
    "states.yaml",
    "medications.yaml",
    "conditions.yaml",
    "references.yaml",
)

CONCLUSION_SECTIONS = {
    "causes": "cause",
    "red_flags": "red_flag",
    "differentials": "differential",
    "recommendations": "recommendation",
    "investigations": "investigation",
}
"""Sections of conclusions.yaml and the kind of conclusion each holds (the result's lists)."""

URGENCIES = ("emergency", "urgent", "soon", "routine")
"""Red-flag urgencies, most urgent first."""

HANDOUT_SECTIONS = ("causes", "try", "do", "avoid", "doctor", "help")
"""Where a conclusion's words for the patient go in the handout (`patient: {section: ...}`):
beside the causes, things to try (shown with how well they are supported), things to do, things
not to do, what the doctor may do or arrange, or with the red flags under "when to get help"."""

DEFAULT_HANDOUT_SECTION = {
    "cause": "causes",
    "differential": "causes",
    "red_flag": "help",
    "investigation": "doctor",
}
"""The handout section of each kind of conclusion; a recommendation names its own."""

FACT_TYPES = ("number", "bool", "choice", "list")
FACT_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*(\.[a-z][a-z0-9]*(_[a-z0-9]+)*)*$")
"""Dotted lower_snake names; experta treats `__` in a field name as nested access."""


@dataclass(frozen=True)
class FactDef:
    """One input fact: id, type, domain, unit and the text shown to a clinician."""

    id: str
    type: str
    label: str
    unit: str = ""
    range: tuple[float, float] | None = None
    values: tuple[str, ...] = ()
    question: str = ""
    help: str = ""
    references: tuple[str, ...] = ()
    derived: bool = False


@dataclass(frozen=True)
class LayWording:
    """A conclusion's words for the patient (the handout): plain words, no clinical jargon."""

    text: str
    section: str
    avoid: str = ""
    """A line for the handout's "what not to do" (older age: magnesium pills do not help)."""
    locations: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)
    """Where `text` and `avoid` are written (for problems about them)."""


@dataclass(frozen=True)
class ConclusionDef:
    """One conclusion a rule may reach: a cause, red flag, differential, advice, test or state."""

    id: str
    kind: str
    label: str
    description: str = ""
    evidence: str = ""
    evidence_note: str = ""
    references: tuple[str, ...] = ()
    nature: str = ""
    urgency: str = ""
    action: str = ""
    text: str = ""
    patient: LayWording | None = None
    """The words the patient's handout uses (`patient:`); None when the author wrote none."""
    emergency_if: str = ""
    """A red flag's urgency is decided per result: when this state is concluded the flag is an
    emergency (its listed urgency is the least tier; clinical brief 8.1)."""
    emergency_action: str = ""
    """The action shown when the flag is lifted to an emergency."""
    combine: str = "all"
    """`all`: every rule family's certainty combines (MYCIN); `strongest`: an umbrella cause
    takes its strongest contribution and is graded no better than its best-supported member
    (clinical brief 8.8: the number of drugs listed does not raise it)."""
    location: Location = field(default=Location(""), compare=False)
    """Where the conclusion is defined (for problems about it)."""


@dataclass(frozen=True)
class UnitDef:
    """A unit of one analyte: default-unit value = (value - offset) x factor."""

    name: str
    factor: float
    offset: float = 0.0


@dataclass(frozen=True)
class Analyte:
    """A lab analyte: its default unit, accepted units and the plausible range of a bare number."""

    name: str
    unit: str
    units: tuple[UnitDef, ...]
    plausible: tuple[float, float]
    decimals: int = 2
    """Precision of a converted value, as a lab reporting in the default unit would give it."""


@dataclass(frozen=True)
class DrugClass:
    """A drug class of the medication dictionary; `cause` classes are also cause ids."""

    id: str
    label: str
    cause: bool
    hazard: bool
    atc: tuple[str, ...]
    references: tuple[str, ...]
    dose: bool = False
    """Rules may test the written strength (`meds.<class>.dose_mg`, a dose limit)."""


@dataclass(frozen=True)
class Drug:
    """A generic drug with its classes, ATC code, brands and aliases."""

    name: str
    classes: tuple[str, ...]
    atc: str
    brands: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    """A bibliography entry (clinical brief section 6)."""

    key: str
    citation: str
    kind: str = ""
    year: int | None = None
    pmid: str = ""
    doi: str = ""
    note: str = ""


@dataclass
class Knowledge:
    """Everything under knowledge/, validated and indexed."""

    root: Path
    version: str
    digest: str
    certainty_threshold: float
    tiers: dict[str, int]
    facts: dict[str, FactDef]
    conclusions: dict[str, ConclusionDef]
    analytes: dict[str, Analyte]
    unit_aliases: dict[str, str]
    drug_classes: dict[str, DrugClass]
    drugs: dict[str, Drug]
    combinations: dict[str, tuple[str, ...]]
    conditions: dict[str, ConclusionDef]
    condition_synonyms: dict[str, str]
    references: dict[str, Reference]
    drug_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Normalised name (generic, brand, alias, combination) -> generic drug names it stands for."""
    interview: InterviewPlan = field(default_factory=InterviewPlan)
    """How the interview asks (knowledge/interview.yaml; optional)."""
    incomplete: frozenset[str] = frozenset()
    """Tables (`facts`, `conclusions`, `references`, `tiers`) that could not be read in full:
    a name missing from one of them may exist, so it is not reported as unknown."""
    _section_keys: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    medication_matches: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Typed medication text -> how it was read (`patient.medications.match_medication`): a
    register repeats the same few hundred entries, each read once."""

    def fact(self, fact_id: str) -> FactDef | None:
        """Return a fact's definition, derived families included, or None."""
        return self.facts.get(fact_id)

    def section_keys(self, section: str) -> tuple[str, ...]:
        """The keys a patient file may use under `section:` (`cramps`, `findings`, ...)."""
        cache = self._section_keys
        if section not in cache:
            prefix = section + "."
            cache[section] = tuple(
                fact_id.removeprefix(prefix)
                for fact_id, fact in self.facts.items()
                if fact_id.startswith(prefix) and not fact.derived
            )
        return cache[section]

    def conclusions_of(self, kind: str) -> list[ConclusionDef]:
        """Every conclusion of one kind, in file order."""
        return [c for c in self.conclusions.values() if c.kind == kind]


_APOSTROPHES = re.compile("[\u2019'`]")
_NOT_IN_NAMES = re.compile(r"[^a-z0-9%+/.-]+")


@lru_cache(maxsize=8192)
def normalise_name(text: str) -> str:
    """Fold a typed name for lookup: lower case, no accents, punctuation and spaces collapsed."""
    # ASCII text is its own NFKD form and keeps every character through the ASCII encoding.
    folded = (
        text
        if text.isascii()
        else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ).lower()
    folded = _APOSTROPHES.sub("", folded)  # apostrophes: "Parkinson's" == "Parkinsons"
    return _NOT_IN_NAMES.sub(" ", folded).strip()


@lru_cache(maxsize=1024)
def normalise_unit(text: str) -> str:
    """Fold a unit for comparison: `µmol/l`, `umol/L` and `micromol / L` are one unit."""
    folded = (
        text.replace("µ", "u")
        .replace("μ", "u")
        .replace("²", "2")
        .replace("\u00d7", "x")
        .replace("micro", "u")
    )
    return re.sub(r"\s+", "", folded).lower()


FILE_TABLES = {
    "settings.yaml": ("tiers",),
    "facts.yaml": ("facts",),
    "units.yaml": (),
    "conclusions.yaml": ("conclusions",),
    "states.yaml": ("conclusions",),
    "medications.yaml": ("facts",),
    "conditions.yaml": ("facts",),
    "references.yaml": ("references",),
}
"""The tables a rule looks names up in, by the knowledge file that defines them: when a file
cannot be read, names in its tables are not reported as unknown (that would bury the real
problem under one false report per rule)."""


def load_knowledge(root: Path) -> Knowledge:
    """Read and validate every file in `root` (the knowledge/ folder); raise on any problem."""
    problems = ProblemCollector()
    knowledge = read_knowledge(root, problems)
    if problems:
        raise KnowledgeBaseError(problems.problems)
    return knowledge


def read_knowledge(
    root: Path, problems: ProblemCollector, cache: DocumentCache | None = None
) -> Knowledge:
    """Read every file in `root` as far as it can be read, recording each problem on `problems`.

    Never raises for bad content: a file that cannot be parsed counts as empty, and the tables
    it defines are listed in `Knowledge.incomplete` so that readers of the rules can tell an
    unknown name from a name they cannot check. Files are parsed through `cache` when given.
    """
    documents: dict[str, Document] = {}
    unreadable: set[str] = set()
    digest = hashlib.sha256()
    for name in KNOWLEDGE_FILES:
        display = f"{root.name}/{name}"
        if not (root / name).exists():
            problems.add(
                "E100", "no such file (every knowledge file is required)", Location(display)
            )
        else:
            try:
                raw = read_file(root / name, display, within=root)
                documents[name] = (
                    cache.load(display, raw) if cache else load_bytes(display, raw, keep_going=True)
                )
                problems.problems.extend(documents[name].problems)
                digest.update(name.encode() + b"\0" + raw + b"\0")
            except InputError as exc:
                problems.problems.extend(exc.problems)
        if name not in documents:
            unreadable.add(name)
            documents[name] = Document(display, {}, {})
    # interview.yaml is optional: without it the interview asks every entry on its own.
    interview_document = None
    if (root / INTERVIEW_FILE).exists():
        display = f"{root.name}/{INTERVIEW_FILE}"
        try:
            raw = read_file(root / INTERVIEW_FILE, display)
            interview_document = (
                cache.load(display, raw) if cache else load_bytes(display, raw, keep_going=True)
            )
            problems.problems.extend(interview_document.problems)
            digest.update(INTERVIEW_FILE.encode() + b"\0" + raw + b"\0")
        except InputError as exc:
            problems.problems.extend(exc.problems)
    builder = _KnowledgeBuilder(root, documents, problems, unreadable)
    knowledge = builder.build(digest)
    if interview_document is not None and "facts.yaml" not in unreadable:
        knowledge.interview = read_interview_plan(interview_document, knowledge.facts, problems)
    return knowledge


class _KnowledgeBuilder:
    def __init__(
        self,
        root: Path,
        documents: dict[str, Document],
        problems: ProblemCollector,
        unreadable: set[str],
    ):
        self.root = root
        self.documents = documents
        self.problems = problems
        self.analytes_seen: list[str] = []
        self.unreadable = unreadable
        """Files that could not be parsed, or whose sections are missing: their names are
        unknown, so nothing is reported as missing from them."""

    def checker(self, name: str) -> Checker:
        return Checker(self.documents[name], self.problems, KNOWLEDGE_SHAPE)

    def section(self, name: str, key: str) -> dict[str, Any]:
        if name in self.unreadable and not self.documents[name].positions:
            return {}  # the parse error is reported; an empty section would only echo it
        check = self.checker(name)
        data = check.mapping(self.documents[name].data, (), name)
        if data is None:
            self.unreadable.add(name)
            return {}
        value = data.get(key)
        if value is None:
            check.fail("K203", f"missing required key '{key}'", ())
            self.unreadable.add(name)
            return {}
        section = check.mapping(value, (key,), key)
        if section is None:
            self.unreadable.add(name)
        return section or {}

    def build(self, digest: Any) -> Knowledge:
        threshold, tiers, version = self._settings()
        references = self._references()
        analytes, unit_aliases = self._units()
        self.analytes_seen = list(analytes)
        classes, drugs, combinations, drug_names = self._medications(references)
        conditions, synonyms = self._conditions(references)
        conclusions = self._conclusions(references)
        facts = self._facts(references, classes, conditions)
        incomplete = {table for name in self.unreadable for table in FILE_TABLES[name]}
        return Knowledge(
            root=self.root,
            version=version,
            digest="sha256:" + digest.hexdigest(),
            certainty_threshold=threshold,
            tiers=tiers,
            facts=facts,
            conclusions=conclusions,
            analytes=analytes,
            unit_aliases=unit_aliases,
            drug_classes=classes,
            drugs=drugs,
            combinations=combinations,
            conditions=conditions,
            condition_synonyms=synonyms,
            references=references,
            drug_names=drug_names,
            incomplete=frozenset(incomplete),
        )

    # --- settings ---------------------------------------------------------------------------
    def _settings(self) -> tuple[float, dict[str, int], str]:
        if "settings.yaml" in self.unreadable:
            return 0.0, {}, ""
        check = self.checker("settings.yaml")
        settings = check.mapping(self.documents["settings.yaml"].data, (), "settings")
        if settings is None:
            self.unreadable.add("settings.yaml")
            return 0.0, {}, ""
        check.keys(
            settings,
            (),
            ["version", "certainty_threshold", "tiers"],
            ["version", "certainty_threshold", "tiers"],
        )
        # NOTE: a missing key is reported once (K203), not again as a value of the wrong type.
        threshold = (
            check.number(
                settings["certainty_threshold"],
                ("certainty_threshold",),
                "certainty_threshold",
                (0, 1),
            )
            if "certainty_threshold" in settings
            else None
        )
        tiers_raw = (
            check.mapping(settings["tiers"], ("tiers",), "tiers") if "tiers" in settings else None
        )
        if tiers_raw is None:
            self.unreadable.add("settings.yaml")
        tiers: dict[str, int] = {}
        for name, value in (tiers_raw or {}).items():
            # Salience is stratum x 1000 + tier, so a tier must stay below 1000 to never
            # outrank chaining order.
            number = check.number(value, ("tiers", name), f"tier {name}", (0, 999))
            if number is not None:
                tiers[name] = int(number)
        return threshold or 0.0, tiers, str(settings.get("version", ""))

    # --- references -------------------------------------------------------------------------
    def _references(self) -> dict[str, Reference]:
        check = self.checker("references.yaml")
        out: dict[str, Reference] = {}
        for key, entry in self.section("references.yaml", "references").items():
            path = ("references", key)
            entry = check.mapping(entry, path, f"reference {key}")
            if entry is None:
                continue
            check.keys(
                entry, path, ["citation", "kind", "year", "pmid", "doi", "note"], ["citation"]
            )
            year = entry.get("year")
            out[key] = Reference(
                key=key,
                citation=str(entry.get("citation", "")),
                kind=str(entry.get("kind", "")),
                year=year if isinstance(year, int) else None,
                pmid=str(entry.get("pmid", "") or ""),
                doi=str(entry.get("doi", "") or ""),
                note=str(entry.get("note", "") or ""),
            )
        return out

    def _check_refs(
        self, check: Checker, value: Any, path: tuple[Any, ...], references: dict[str, Reference]
    ) -> tuple[str, ...]:
        refs = check.string_list(value if value is not None else [], path, "references") or []
        for index, ref in enumerate(refs):
            if ref not in references and "references.yaml" not in self.unreadable:
                check.fail(
                    "K301",
                    f"unknown reference '{ref}'",
                    (*path, index),
                    did_you_mean(ref, references),
                )
        return tuple(refs)

    # --- units ------------------------------------------------------------------------------
    def _units(self) -> tuple[dict[str, Analyte], dict[str, str]]:
        check = self.checker("units.yaml")
        analytes: dict[str, Analyte] = {}
        for name, entry in self.section("units.yaml", "analytes").items():
            path = ("analytes", name)
            entry = check.mapping(entry, path, f"analyte {name}")
            if entry is None:
                continue
            check.keys(
                entry,
                path,
                ["unit", "units", "plausible", "decimals"],
                ["unit", "units", "plausible"],
            )
            units: list[UnitDef] = []
            for unit, conversion in (
                check.mapping(entry.get("units"), (*path, "units"), "units") or {}
            ).items():
                where = (*path, "units", unit)
                if isinstance(conversion, dict):
                    check.keys(conversion, where, ["factor", "offset"], ["factor"])
                    factor = check.number(conversion.get("factor"), (*where, "factor"), "factor")
                    offset = check.number(conversion.get("offset", 0), (*where, "offset"), "offset")
                    if factor is not None and offset is not None:
                        units.append(UnitDef(unit, factor, offset))
                elif (
                    check.number(conversion, (*path, "units", unit), f"factor of {unit}")
                    is not None
                ):
                    units.append(UnitDef(unit, float(conversion)))
            plausible = check.pair(entry.get("plausible"), (*path, "plausible"), "plausible") or (
                0.0,
                float("inf"),
            )
            if str(entry.get("unit")) not in {u.name for u in units}:
                check.fail(
                    "K302",
                    f"default unit {entry.get('unit')} is not among the units",
                    (*path, "unit"),
                )
            decimals = check.number(
                entry.get("decimals", 2), (*path, "decimals"), "decimals", (0, 6)
            )
            analytes[name] = Analyte(
                name,
                str(entry.get("unit")),
                tuple(units),
                plausible,
                int(decimals if decimals is not None else 2),
            )
        aliases: dict[str, str] = {}
        data = self.documents["units.yaml"].data
        raw_aliases = data.get("unit_aliases", {}) if isinstance(data, dict) else {}
        for unit, spellings in (
            check.mapping(raw_aliases, ("unit_aliases",), "unit_aliases") or {}
        ).items():
            listed = check.string_list(
                spellings or [], ("unit_aliases", unit), f"spellings of {unit}"
            )
            for spelling in [unit, *(listed or [])]:
                aliases[normalise_unit(str(spelling))] = str(unit)
        return analytes, aliases

    # --- medications ------------------------------------------------------------------------
    def _medications(
        self, references: dict[str, Reference]
    ) -> tuple[
        dict[str, DrugClass],
        dict[str, Drug],
        dict[str, tuple[str, ...]],
        dict[str, tuple[str, ...]],
    ]:
        name = "medications.yaml"
        check = self.checker(name)
        classes: dict[str, DrugClass] = {}
        for class_id, entry in self.section(name, "classes").items():
            path = ("classes", class_id)
            entry = check.mapping(entry, path, f"class {class_id}")
            if entry is None:
                continue
            check.keys(
                entry,
                path,
                ["label", "cause", "hazard", "atc", "references", "note", "dose"],
                ["label"],
            )
            classes[class_id] = DrugClass(
                id=class_id,
                label=str(entry.get("label", class_id)),
                cause=bool(entry.get("cause", False)),
                hazard=bool(entry.get("hazard", False)),
                dose=bool(entry.get("dose", False)),
                atc=tuple(check.string_list(entry.get("atc") or [], (*path, "atc"), "atc") or ()),
                references=self._check_refs(
                    check, entry.get("references"), (*path, "references"), references
                ),
            )
        drugs: dict[str, Drug] = {}
        names: dict[str, tuple[str, ...]] = {}
        origin: dict[str, tuple[str, ...]] = {}

        def claim(spelling: str, target: tuple[str, ...], path: tuple[Any, ...]) -> None:
            key = normalise_name(spelling)
            if key in names and names[key] != target:
                check.fail(
                    "K303", f"name '{spelling}' already stands for {', '.join(names[key])}", path
                )
                return
            names[key] = target
            origin[key] = path

        for drug_name, entry in self.section(name, "drugs").items():
            path = ("drugs", drug_name)
            entry = check.mapping(entry, path, f"drug {drug_name}")
            if entry is None:
                continue
            check.keys(entry, path, ["classes", "atc", "brands", "aliases", "note"], ["classes"])
            drug_classes = tuple(
                check.string_list(entry.get("classes"), (*path, "classes"), "classes") or []
            )
            for index, class_id in enumerate(drug_classes):
                if class_id not in classes:
                    check.fail(
                        "K301",
                        f"unknown drug class '{class_id}'",
                        (*path, "classes", index),
                        did_you_mean(class_id, classes),
                    )
            drug = Drug(
                name=drug_name,
                classes=drug_classes,
                atc=str(entry.get("atc", "") or ""),
                # NOTE: a lone text is one name (`brands: Lasix`), never a list of its letters.
                brands=tuple(
                    check.string_list(entry.get("brands") or [], (*path, "brands"), "brands") or ()
                ),
                aliases=tuple(
                    check.string_list(entry.get("aliases") or [], (*path, "aliases"), "aliases")
                    or ()
                ),
            )
            drugs[drug_name] = drug
            for spelling in (drug_name, *drug.brands, *drug.aliases):
                claim(spelling, (drug_name,), path)
        combinations: dict[str, tuple[str, ...]] = {}
        for combo, parts in self.section(name, "combinations").items():
            path = ("combinations", combo)
            components = tuple(check.string_list(parts, path, "components") or [])
            for index, part in enumerate(components):
                if part not in drugs:
                    check.fail(
                        "K301",
                        f"unknown component '{part}'",
                        (*path, index),
                        did_you_mean(part, drugs),
                    )
            combinations[combo] = components
            claim(combo, components, path)
        return classes, drugs, combinations, names

    # --- conditions -------------------------------------------------------------------------
    def _conditions(
        self, references: dict[str, Reference]
    ) -> tuple[dict[str, ConclusionDef], dict[str, str]]:
        name = "conditions.yaml"
        check = self.checker(name)
        conditions: dict[str, ConclusionDef] = {}
        synonyms: dict[str, str] = {}
        for condition_id, entry in self.section(name, "conditions").items():
            path = ("conditions", condition_id)
            entry = check.mapping(entry, path, f"condition {condition_id}")
            if entry is None:
                continue
            check.keys(
                entry, path, ["label", "synonyms", "references", "note"], ["label", "synonyms"]
            )
            conditions[condition_id] = ConclusionDef(
                id=condition_id,
                kind="condition",
                label=str(entry.get("label", condition_id)),
                references=self._check_refs(
                    check, entry.get("references"), (*path, "references"), references
                ),
            )
            for index, synonym in enumerate(
                [
                    condition_id.replace("_", " "),
                    *(
                        check.string_list(
                            entry.get("synonyms") or [], (*path, "synonyms"), "synonyms"
                        )
                        or []
                    ),
                ]
            ):
                key = normalise_name(str(synonym))
                if key in synonyms and synonyms[key] != condition_id:
                    check.fail(
                        "K303",
                        f"synonym '{synonym}' already stands for {synonyms[key]}",
                        (*path, "synonyms", index),
                    )
                synonyms[key] = condition_id
        return conditions, synonyms

    # --- conclusions and states -------------------------------------------------------------
    def _conclusions(self, references: dict[str, Reference]) -> dict[str, ConclusionDef]:
        out: dict[str, ConclusionDef] = {}
        fields = [
            "label",
            "description",
            "evidence",
            "evidence_note",
            "references",
            "nature",
            "urgency",
            "action",
            "text",
            "patient",
            "emergency_if",
            "emergency_action",
            "combine",
        ]
        sources = [
            ("conclusions.yaml", section, kind) for section, kind in CONCLUSION_SECTIONS.items()
        ]
        sources.append(("states.yaml", "states", "state"))
        for file_name, section, kind in sources:
            check = self.checker(file_name)
            for conclusion_id, entry in self.section(file_name, section).items():
                path = (section, conclusion_id)
                entry = check.mapping(entry, path, f"{kind} {conclusion_id}")
                if entry is None:
                    continue
                check.keys(entry, path, fields, ["label"])
                if conclusion_id in out:
                    check.fail(
                        "K304",
                        f"id '{conclusion_id}' is defined twice (first at {out[conclusion_id].location})",
                        path,
                        "conclusions and states share one set of ids: rename one",
                    )
                evidence = str(entry.get("evidence", "") or "")
                if kind != "state":
                    check.choice(evidence, (*path, "evidence"), "evidence", EVIDENCE_GRADES)
                urgency = str(entry.get("urgency", "") or "")
                if kind == "red_flag":
                    check.choice(urgency, (*path, "urgency"), "urgency", URGENCIES)
                    check.string(entry.get("action"), (*path, "action"), "action")
                    if "emergency_if" in entry:
                        check.string(entry["emergency_if"], (*path, "emergency_if"), "emergency_if")
                        check.string(
                            entry.get("emergency_action"),
                            (*path, "emergency_action"),
                            "emergency_action",
                        )
                combine = str(entry.get("combine", "all") or "all")
                if "combine" in entry:
                    check.choice(combine, (*path, "combine"), "combine", ["all", "strongest"])
                out[conclusion_id] = ConclusionDef(
                    id=conclusion_id,
                    kind=kind,
                    label=str(entry.get("label", "")),
                    description=_text(entry.get("description")),
                    evidence=evidence,
                    evidence_note=_text(entry.get("evidence_note")),
                    references=self._check_refs(
                        check, entry.get("references"), (*path, "references"), references
                    ),
                    nature=str(entry.get("nature", "") or ""),
                    urgency=urgency,
                    action=_text(entry.get("action")),
                    text=_text(entry.get("text")),
                    patient=self._lay_wording(check, entry.get("patient"), path, kind),
                    emergency_if=str(entry.get("emergency_if", "") or ""),
                    emergency_action=_text(entry.get("emergency_action")),
                    combine=combine,
                    location=check.document.location(path),
                )
        check = self.checker("conclusions.yaml")
        for conclusion in out.values():
            state = out.get(conclusion.emergency_if)
            if conclusion.emergency_if and (state is None or state.kind != "state"):
                check.fail(
                    "K301",
                    f"unknown state '{conclusion.emergency_if}'",
                    ("red_flags", conclusion.id, "emergency_if"),
                    did_you_mean(
                        conclusion.emergency_if, [c.id for c in out.values() if c.kind == "state"]
                    ),
                )
        return out

    def _lay_wording(
        self, check: Checker, value: Any, path: tuple[Any, ...], kind: str
    ) -> LayWording | None:
        """`patient:` of a conclusion: `text`, and `section` (recommendations), `avoid`."""
        if value is None:
            return None
        where = (*path, "patient")
        entry = check.mapping(value, where, "patient")
        if entry is None:
            return None
        if kind == "state":
            check.fail(
                "K202", "a state is never shown to a patient: it has no 'patient' words", where
            )
            return None
        required = ["text", "section"] if kind == "recommendation" else ["text"]
        check.keys(entry, where, ["text", "section", "avoid"], required)
        section = DEFAULT_HANDOUT_SECTION.get(kind, "")
        if "section" in entry:
            section = (
                check.choice(entry["section"], (*where, "section"), "section", HANDOUT_SECTIONS)
                or section
            )
        text = check.string(entry["text"], (*where, "text"), "text") if "text" in entry else ""
        avoid = check.string(entry["avoid"], (*where, "avoid"), "avoid") if "avoid" in entry else ""
        locations: dict[str, Location] = {
            key: check.document.location((*where, key)) for key in ("text", "avoid") if key in entry
        }
        return LayWording(_text(text), section, _text(avoid), locations)

    # --- facts ------------------------------------------------------------------------------
    def _facts(
        self,
        references: dict[str, Reference],
        classes: dict[str, DrugClass],
        conditions: dict[str, ConclusionDef],
    ) -> dict[str, FactDef]:
        name = "facts.yaml"
        check = self.checker(name)
        facts: dict[str, FactDef] = {}
        known = ["type", "unit", "range", "values", "label", "question", "help", "references"]
        for section, derived in (("facts", False), ("derived", True)):
            for fact_id, entry in self.section(name, section).items():
                path = (section, fact_id)
                entry = check.mapping(entry, path, f"fact {fact_id}")
                if entry is None:
                    continue
                # A derived fact names the entries that decide it (held equal to the registry of
                # derived facts, kb/derived.py, by a test).
                check.keys(entry, path, [*known, "inputs"] if derived else known, ["type", "label"])
                fact_type = (
                    check.choice(entry.get("type"), (*path, "type"), "type", FACT_TYPES) or "bool"
                )
                if not FACT_ID.match(fact_id):
                    check.fail(
                        "K305",
                        f"fact id '{fact_id}' must be dotted lower_snake names (no '__')",
                        path,
                    )
                    continue
                bounds = (
                    check.pair(entry["range"], (*path, "range"), "range")
                    if "range" in entry
                    else None
                )
                values = check.string_list(entry.get("values") or [], (*path, "values"), "values")
                facts[fact_id] = FactDef(
                    id=fact_id,
                    type=fact_type,
                    label=str(entry.get("label", fact_id)),
                    unit=str(entry.get("unit", "") or ""),
                    range=bounds,
                    values=tuple(values or ()),
                    question=str(entry.get("question", "") or ""),
                    help=_text(entry.get("help")),
                    references=self._check_refs(
                        check, entry.get("references"), (*path, "references"), references
                    ),
                    derived=derived,
                )
        for analyte in self.analytes_seen:
            if f"labs.{analyte}" not in facts and "facts.yaml" not in self.unreadable:
                check.fail(
                    "K306",
                    f"analyte '{analyte}' of units.yaml has no fact 'labs.{analyte}'",
                    ("facts",),
                )
        # The families' members, as the registry of derived facts describes them (kb/derived.py).
        for class_id, drug_class in classes.items():
            label = drug_class.label.lower()
            facts[f"meds.{class_id}"] = _member("meds", class_id, label, drug_class.references)
            facts[f"meds.{class_id}.started_months_ago"] = _member("meds_started", class_id, label)
        for class_id, drug_class in classes.items():
            if drug_class.dose:
                facts[f"meds.{class_id}.dose_mg"] = _member(
                    "meds_dose", class_id, drug_class.label.lower()
                )
        for class_id, drug_class in classes.items():
            facts[f"meds.{class_id}.stopped"] = _member(
                "meds_stopped", class_id, drug_class.label.lower()
            )
        for condition_id, condition in conditions.items():
            facts[f"conditions.{condition_id}"] = _member(
                "conditions", condition_id, condition.label, condition.references, literal=True
            )
        return facts


def _member(
    family: str,
    name: str,
    label: str,
    references: tuple[str, ...] = (),
    *,
    literal: bool = False,
) -> FactDef:
    """The fact of one member of a family of derived facts (`meds.<class>.dose_mg`)."""
    entry = FAMILIES[family]
    fact_id = entry.id.replace(entry.id[entry.id.index("<") : entry.id.index(">") + 1], name)
    return FactDef(
        id=fact_id,
        type=entry.type,
        label=label if literal else entry.label.format(label=label),
        unit=entry.unit,
        range=entry.range,
        references=references,
        derived=True,
    )


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""
