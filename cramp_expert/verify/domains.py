"""What each fact can be, as far as the rules can tell, and the patient file behind a combination.

Rules test facts with thresholds and sets, so a fact's values fall into a few classes that no
rule can tell apart: for `labs.potassium` tested with `lt 3.5`, `lt 2.5` and `ge 6.5`, any value
below 2.5 is like any other. `Domains.values` gives one value of each class (both sides of every
threshold, on the grid the value is computed on), plus "unknown" (`ABSENT`): a search over these
finite domains is exhaustive.

Some combinations of facts come from no patient file: a corrected calcium without a calcium, a
drug's start date without the drug, a pregnancy in a man. `Domains.consistent` says which partial
combinations are still possible (the normaliser's rules, held to it by a property test), and
`Domains.patient_file` writes the patient file that gives a combination, so that every finding
comes with a patient anyone can consult.

`Sampler` draws random patient files from the same values, labs in any accepted unit and
medicines under any of their names: the "generated patients" of `kb check` and `kb coverage`
(the hypothesis strategies of `cramp_expert.testing` draw from the same domains).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from cramp_expert.compile.predicates import predicate
from cramp_expert.kb.knowledge import Analyte, FactDef, Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import Condition, FactCondition, walk
from cramp_expert.patient.derive import DEFAULT_CK_ULN, ckd_epi_2021, corrected_calcium
from cramp_expert.patient.medications import match_medication
from cramp_expert.patient.normalise import SECTIONS


class _Absent:
    """The value of a fact that is unknown (absent from the patient's facts)."""

    def __repr__(self) -> str:
        return "unknown"


ABSENT: Any = _Absent()
"""An unknown fact, as a value a search can assign."""

GRIDS = {
    "labs.calcium_corrected": 0.01,
    "labs.ck_xuln": 0.001,
    "labs.egfr_calculated": 1.0,
    "medications.count": 1.0,
}
"""Derived facts and the precision the normaliser computes them with (patient/derive.py,
patient/normalise.py): a value off this grid comes from no patient file."""

UNRECOGNISED_MEDICINE = "xyzzy 10 mg"
"""A medication entry no dictionary knows: classes not otherwise listed stay unknown."""
UNRECOGNISED_CONDITION = "xyzzy syndrome"


def conditions_on(conditions: Iterable[Condition]) -> dict[str, list[FactCondition]]:
    """Fact id -> every fact condition on it, anywhere in `conditions`."""
    found: dict[str, list[FactCondition]] = defaultdict(list)
    for condition in conditions:
        for item in walk(condition):
            if isinstance(item, FactCondition):
                found[item.fact].append(item)
    return found


def _decimals(value: float) -> int:
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class Domains:
    """The facts a knowledge base tests, their values that matter, and the files behind them."""

    def __init__(self, kb: KnowledgeBase, extra: Iterable[Condition] = ()):
        self.kb = kb
        self.knowledge: Knowledge = kb.knowledge
        self.tests = conditions_on([*(r.when for r in kb.rules), *extra])
        self.variables: frozenset[str] = frozenset(
            f for f in self.tests if self.knowledge.fact(f) is not None
        )
        """Every fact some rule (or declaration) tests: the facts a search decides."""
        self._values: dict[str, tuple[Any, ...]] = {}
        self._drugs = _drugs_by_class(self.knowledge)
        tested_classes = {f.split(".")[1] for f in self.variables if f.startswith("meds.")}
        # A medicine whose classes no rule tests: it fills a list to the count a rule needs.
        self._filler = next(
            (
                d.name
                for d in sorted(self.knowledge.drugs.values(), key=lambda d: d.name)
                if d.classes and not set(d.classes) & tested_classes
            ),
            None,
        )

    def cover(self, conditions: Iterable[Condition]) -> None:
        """Make the domains tell apart what `conditions` test too (a target's own thresholds)."""
        for fact_id, tests in conditions_on(conditions).items():
            if self.knowledge.fact(fact_id) is None:
                continue
            known = {t.describe() for t in self.tests.get(fact_id, [])}
            new = [t for t in tests if t.describe() not in known]
            if new:
                self.tests.setdefault(fact_id, []).extend(new)
                self._values.pop(fact_id, None)
                self.variables = self.variables | {fact_id}

    # --- values -------------------------------------------------------------------------------
    def values(self, fact_id: str) -> tuple[Any, ...]:
        """One value of each class the rules can tell apart (`ABSENT` not included)."""
        if fact_id not in self._values:
            self._values[fact_id] = tuple(self._compute(fact_id))
        return self._values[fact_id]

    def _compute(self, fact_id: str) -> list[Any]:
        fact = self.knowledge.facts[fact_id]
        tests = [t for t in self.tests.get(fact_id, []) if t.op != "known"]
        if fact_id.startswith("conditions.") and fact_id != "conditions.unrecognised":
            return [True]  # a condition is listed (true) or not (unknown), never false
        if fact_id.startswith("meds.") and fact_id.endswith(".stopped"):
            return [True]  # a stopped entry is listed, or there is none
        if fact.type == "bool":
            raw: list[Any] = [True, False]
        elif fact.type == "choice":
            raw = list(fact.values)
        elif fact.type == "list":
            # Every subset, smallest first, when there are few values (cramps.sites has 7):
            # then every combination of `includes` and `only` tests that some set meets is met.
            members = sorted(fact.values)
            sizes = range(1, len(members) + 1) if len(members) <= 10 else (1, 2, len(members))
            raw = [frozenset(c) for n in sizes for c in itertools.combinations(members, n)]
            raw.append(frozenset())
        else:
            raw = self._numbers(fact, tests)
        return _one_per_signature(raw, tests)

    def step(self, fact_id: str) -> float:
        """The smallest difference between two values of a number fact worth trying."""
        if fact_id in GRIDS:
            return GRIDS[fact_id]
        edges = self._edges(fact_id)
        decimals = max((_decimals(e) for e in edges), default=0)
        analyte = self._analyte(fact_id)
        if analyte is not None:
            decimals = max(decimals, analyte.decimals)
        return float(10**-decimals)

    def _edges(self, fact_id: str) -> list[float]:
        edges: set[float] = set()
        for test in self.tests.get(fact_id, []):
            if test.op == "known":
                continue  # its value is a yes/no, not a threshold
            refs = test.value if test.op == "between" else (test.value,)
            edges.update(
                float(r) for r in refs if isinstance(r, int | float) and not isinstance(r, bool)
            )
        return sorted(edges)

    def _numbers(self, fact: FactDef, tests: list[FactCondition]) -> list[float]:
        edges = self._edges(fact.id)
        step = self.step(fact.id)
        low, high = fact.range or (min([0.0, *edges]), max([1.0, *edges]) * 2)
        raw = [e + d for e in edges for d in (-step, 0.0, step)]
        raw += [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        raw += [low, high]
        grid = GRIDS.get(fact.id)
        if grid is not None:
            raw = [f(v / grid) * grid for v in raw for f in (math.floor, math.ceil)]
        places = max(0, -math.floor(math.log10(step))) if step < 1 else 0
        values = {round(v, places + 2) for v in raw if low <= v <= high}
        # Nearest the thresholds first: the most telling value of each class.
        return sorted(values, key=lambda v: (min((abs(v - e) for e in edges), default=0), v))

    def _analyte(self, fact_id: str) -> Analyte | None:
        if not fact_id.startswith("labs."):
            return None
        return self.knowledge.analytes.get(fact_id.removeprefix("labs."))

    # --- realisability ------------------------------------------------------------------------
    def consistent(self, facts: Mapping[str, Any]) -> bool:
        """Whether a partial combination of facts (`ABSENT` for unknown) may come from a file.

        Only what the normaliser makes impossible is refused; a fact not in `facts` may still
        be anything. tests/verify/ checks every rule here against normalised generated patients.
        """

        def got(fact_id: str) -> Any:
            return facts.get(fact_id)

        def known(fact_id: str) -> bool:
            return fact_id in facts and facts[fact_id] is not ABSENT

        def absent(fact_id: str) -> bool:
            return facts.get(fact_id) is ABSENT

        # A pregnancy needs a patient who is not male; weeks of gestation mean a pregnancy.
        if got("pregnant") is True and got("sex") == "male":
            return False
        if known("gestation_weeks") and (got("pregnant") is False or absent("pregnant")):
            return False
        # Cramps during dialysis sessions mean dialysis.
        if got("cramps.during_dialysis") is True and (
            got("dialysis") == "none" or absent("dialysis")
        ):
            return False
        # A drug's start date only for a drug on the list; any class known means a list.
        listed = [f for f in facts if _is_medication_fact(f) and known(f)]
        for fact_id in listed:
            if fact_id.endswith((".started_months_ago", ".dose_mg")):
                klass = fact_id.rsplit(".", 1)[0]
                if got(klass) is False or absent(klass):
                    return False
        if listed and absent("medications.count"):
            return False
        if (
            known("medications.count")
            and got("medications.count") < 1
            and any(got(f) is True for f in listed if _is_class(f))
        ):
            return False
        # A class is false only beside a complete list, unknown only beside an unreadable one.
        classes = [f for f in facts if _is_class(f)]
        if any(got(f) is False for f in classes) and any(absent(f) for f in classes) and listed:
            return False
        # Conditions: listed (true) only with a problem list, which makes `unrecognised` known.
        if any(got(f) is True for f in facts if _is_condition(f)) and absent(
            "conditions.unrecognised"
        ):
            return False
        # Calcium corrected for albumin: known exactly when calcium (and albumin) are.
        if known("labs.calcium_corrected"):
            if absent("labs.calcium") or absent("labs.albumin"):
                return False
            if known("labs.calcium") and not self._albumin_for(
                got("labs.calcium"), got("labs.calcium_corrected")
            ):
                return False
        elif absent("labs.calcium_corrected") and known("labs.calcium") and known("labs.albumin"):
            return False
        # CK as a multiple of its upper limit: known exactly when CK is.
        if (known("labs.ck_xuln") and absent("labs.ck")) or (
            absent("labs.ck_xuln") and known("labs.ck")
        ):
            return False
        # eGFR from creatinine: only without a reported eGFR, for an adult female or male.
        if known("labs.egfr_calculated"):
            age, sex = got("age"), got("sex")
            if known("labs.egfr") or absent("labs.creatinine") or absent("age") or absent("sex"):
                return False
            if (isinstance(age, float) and age < 18) or (
                isinstance(sex, str) and sex not in ("female", "male")
            ):
                return False
        elif (
            absent("labs.egfr_calculated")
            and absent("labs.egfr")
            and all(known(f) for f in ("labs.creatinine", "age", "sex"))
            and got("age") >= 18
            and got("sex") in ("female", "male")
        ):
            return False
        return True

    def _albumin_for(self, calcium: float, corrected: float) -> float | None:
        """The albumin (g/L) that corrects `calcium` to `corrected`, if one is in range."""
        albumin = round(40.0 + (calcium - corrected) / 0.02, 6)
        fact = self.knowledge.fact("labs.albumin")
        low, high = fact.range if fact and fact.range else (5.0, 70.0)
        if not low <= albumin <= high or corrected_calcium(calcium, albumin) != round(corrected, 2):
            return None
        return albumin

    # --- the patient file ---------------------------------------------------------------------
    def patient_file(self, facts: Mapping[str, Any]) -> dict[str, Any] | None:
        """A patient file whose normalised facts are `facts` (unknown where `ABSENT`/missing).

        None when no file gives the combination. Facts not in `facts` are left out of the file
        (unknown), except where the normaliser always derives them.
        """
        values = {f: v for f, v in facts.items() if v is not ABSENT}
        data: dict[str, Any] = {}
        labs: dict[str, Any] = {}
        for fact_id, value in sorted(values.items()):
            head, _, name = fact_id.partition(".")
            fact = self.knowledge.fact(fact_id)
            if fact is None:
                return None
            if not fact.derived and not name:
                data[fact_id] = _plain(value)
            elif not fact.derived and head in SECTIONS:
                data.setdefault(head, {})[name] = _plain(value)
            elif not fact.derived and head == "labs" and name in self.knowledge.analytes:
                labs[name] = lab_text(self.knowledge.analytes[name], value)
        if not self._derived_labs(values, facts, data, labs):
            return None
        if labs:
            data["labs"] = labs
        medications = self._medications(facts)
        if medications is None:
            return None
        if medications is not False:
            data["medications"] = medications
        conditions = self._conditions(facts)
        if conditions is not False:
            data["conditions"] = conditions
        return data

    def _derived_labs(
        self,
        values: dict[str, Any],
        facts: Mapping[str, Any],
        data: dict[str, Any],
        labs: dict[str, Any],
    ) -> bool:
        analytes = self.knowledge.analytes
        if "labs.calcium_corrected" in values:
            corrected = values["labs.calcium_corrected"]
            calcium = values.get("labs.calcium", corrected)
            albumin = self._albumin_for(calcium, corrected)
            if albumin is None or "calcium" not in analytes or "albumin" not in analytes:
                return False
            labs["calcium"] = lab_text(analytes["calcium"], calcium)
            labs["albumin"] = lab_text(analytes["albumin"], albumin)
        if "labs.ck_xuln" in values and "ck" in analytes:
            multiple = values["labs.ck_xuln"]
            if multiple <= 0:
                labs["ck"] = lab_text(analytes["ck"], 0.0)
            else:
                ck = round(multiple * DEFAULT_CK_ULN, 6)
                fact = self.knowledge.fact("labs.ck")
                if fact and fact.range and not fact.range[0] <= ck <= fact.range[1]:
                    return False
                labs["ck"] = lab_text(analytes["ck"], ck)
        if "labs.egfr_calculated" in values and "creatinine" not in labs:
            if facts.get("age") is None:
                data["age"] = 50  # an adult: the equation applies from 18
            if facts.get("sex") is None:
                data["sex"] = "female"
            age, sex = data.get("age"), data.get("sex")
            if not isinstance(age, int | float) or sex not in ("female", "male"):
                return False
            creatinine = creatinine_for(values["labs.egfr_calculated"], float(age), str(sex))
            if creatinine is None or "creatinine" not in analytes:
                return False
            labs["creatinine"] = lab_text(analytes["creatinine"], creatinine)
        return True

    def _medications(self, facts: Mapping[str, Any]) -> list[Any] | bool | None:
        """The medication list (False: no list; None: no list gives these facts)."""
        meds = {f: v for f, v in facts.items() if _is_medication_fact(f)}
        given = [f for f, v in meds.items() if v is not ABSENT]
        if not given:
            return False
        entries: list[Any] = []
        on = {f.removeprefix("meds.") for f, v in meds.items() if _is_class(f) and v is True}
        # A start date is known only for a class on the list.
        on |= {
            f.split(".")[1]
            for f, v in meds.items()
            if f.endswith((".started_months_ago", ".dose_mg")) and v is not ABSENT
        }
        off = {f.removeprefix("meds.") for f, v in meds.items() if _is_class(f) and v is False}
        unknown = [f for f, v in meds.items() if _is_class(f) and v is ABSENT]
        for klass in sorted(on):
            drug = self._drug(klass, off)
            if drug is None:
                return None
            started = facts.get(f"meds.{klass}.started_months_ago", ABSENT)
            dose = facts.get(f"meds.{klass}.dose_mg", ABSENT)
            entry: Any = drug
            if started is not ABSENT or dose is not ABSENT:
                entry = {"name": drug}
                if started is not ABSENT:
                    entry["started_months_ago"] = _plain(started)
                if dose is not ABSENT:
                    entry["dose"] = _plain(dose)
            entries.append(entry)
        for fact_id, value in sorted(meds.items()):
            if fact_id.endswith(".stopped") and value is True:
                klass = fact_id.split(".")[1]
                drug = self._drug(klass, set())
                if drug is None:
                    return None
                entries.append(f"{drug} (stopped)")
        if unknown:
            if off:
                return None  # one list cannot leave a class unknown and rule another out
            entries.append(UNRECOGNISED_MEDICINE)
        count = facts.get("medications.count", ABSENT)
        taken = len(entries) - sum(1 for e in entries if isinstance(e, str) and "(stopped)" in e)
        if count is not ABSENT:
            wanted = round(count)
            if wanted < taken:
                return None
            filler = self._filler or (entries[0] if on else None)
            if wanted > taken and filler is None:
                return None
            entries.extend([filler] * (wanted - taken))
        return entries

    def _drug(self, klass: str, forbidden: set[str]) -> str | None:
        """A drug of `klass` (with as few other classes as possible) in no forbidden class."""
        for drug in self._drugs.get(klass, []):
            if not set(self.knowledge.drugs[drug].classes) & forbidden:
                return drug
        return None

    def _conditions(self, facts: Mapping[str, Any]) -> list[str] | bool:
        listed = sorted(
            f.removeprefix("conditions.")
            for f, v in facts.items()
            if _is_condition(f) and v is True
        )
        unrecognised = facts.get("conditions.unrecognised", ABSENT)
        if not listed and unrecognised is ABSENT:
            return False
        entries = [c.replace("_", " ") for c in listed]
        if unrecognised is True:
            entries.append(UNRECOGNISED_CONDITION)
        return entries


def _one_per_signature(raw: list[Any], tests: list[FactCondition]) -> list[Any]:
    seen: dict[tuple[bool, ...], Any] = {}
    predicates = [predicate(t) for t in tests]
    for value in raw:
        signature = tuple(p(value) for p in predicates)
        seen.setdefault(signature, value)
    return list(seen.values())


def _plain(value: Any) -> Any:
    """A fact value as a patient file writes it."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _is_medication_fact(fact_id: str) -> bool:
    return fact_id.startswith("meds.") or fact_id == "medications.count"


def _is_class(fact_id: str) -> bool:
    return fact_id.startswith("meds.") and fact_id.count(".") == 1


def _is_condition(fact_id: str) -> bool:
    return fact_id.startswith("conditions.") and fact_id != "conditions.unrecognised"


def _drugs_by_class(knowledge: Knowledge) -> dict[str, list[str]]:
    by_class: dict[str, list[str]] = defaultdict(list)
    for drug in sorted(knowledge.drugs.values(), key=lambda d: (len(d.classes), d.name)):
        for klass in drug.classes:
            by_class[klass].append(drug.name)
    return by_class


def lab_text(analyte: Analyte, value: float, unit: str | None = None) -> str:
    """`value` (in the analyte's default unit) written in `unit` (default: the default unit).

    Precise enough that reading it back gives `value` again, once rounded to the analyte's
    reporting precision (as the normaliser rounds a converted value).
    """
    chosen = next((u for u in analyte.units if u.name == (unit or analyte.unit)), None)
    if chosen is None:
        raise ValueError(f"{unit} is not a unit of {analyte.name}")
    given = value / chosen.factor + chosen.offset
    return f"{given:.12g} {chosen.name}"


def creatinine_for(egfr: float, age: float, sex: str) -> float | None:
    """A creatinine (umol/L) for which CKD-EPI 2021 gives exactly `egfr` (rounded), or None."""

    def first_at_or_below(target: float) -> float:
        low, high = 5.0, 3000.0  # the creatinine fact's range
        for _ in range(60):
            middle = (low + high) / 2
            if ckd_epi_2021(middle, age, sex) > target:
                low = middle
            else:
                high = middle
        return high

    start, end = first_at_or_below(egfr), first_at_or_below(egfr - 1)
    for candidate in (round((start + end) / 2, 2), round(start, 4), round(end - 1e-4, 4)):
        if 5.0 <= candidate <= 3000.0 and ckd_epi_2021(candidate, age, sex) == egfr:
            return candidate
    return None


# --- spellings ------------------------------------------------------------------------------------


def medication_names(knowledge: Knowledge, drug: str) -> list[str]:
    """Every name the dictionary gives `drug`: generic, brands and aliases (misspellings too)."""
    entry = knowledge.drugs[drug]
    return [entry.name, *entry.brands, *entry.aliases]


def misspellings(name: str) -> list[str]:
    """Typing slips of `name`: a letter dropped, doubled or swapped with the next one."""
    slips: list[str] = []
    for i in range(1, len(name) - 1):
        if not (name[i].isalpha() and name[i + 1].isalpha()):
            continue
        slips.append(name[:i] + name[i + 1] + name[i] + name[i + 2 :])
        slips.append(name[:i] + name[i + 1 :])
        slips.append(name[:i] + name[i] + name[i:])
    return [s for s in dict.fromkeys(slips) if s != name]


def reads_as(knowledge: Knowledge, name: str, drug: str) -> bool:
    """Whether the dictionary reads `name` as `drug` alone (exactly or by a close spelling)."""
    match = match_medication(name, knowledge)
    return match.drugs == (drug,) and match.matched in ("exact", "fuzzy")


class Sampler:
    """Random patient files drawn from the domains: the "generated patients" of `kb check`.

    Each entry of a patient file is present or not at random; values are drawn from the
    domains (both sides of every threshold) or anywhere in range; labs are written in a random
    accepted unit, medicines under a random name of theirs (a typing slip the dictionary still
    reads included). Seeded, so a run can be repeated.
    """

    def __init__(self, domains: Domains, seed: int = 0):
        self.domains = domains
        self.knowledge = domains.knowledge
        self.rng = random.Random(seed)
        self.drugs = sorted(self.knowledge.drugs)

    def value(self, fact_id: str) -> Any:
        """A random value of an input fact (from its domain, or anywhere in its range)."""
        fact = self.knowledge.facts[fact_id]
        rng = self.rng
        if fact.type == "number" and (rng.random() < 0.3 or fact_id not in self.domains.variables):
            low, high = fact.range or (0.0, 100.0)
            return round(rng.uniform(low, high), 2)
        if fact_id in self.domains.variables:
            return _plain(rng.choice(self.domains.values(fact_id)))
        if fact.type == "bool":
            return rng.random() < 0.5
        if fact.type == "choice":
            return rng.choice(fact.values)
        return sorted(rng.sample(fact.values, rng.randint(1, min(3, len(fact.values)))))

    def medication(self) -> Any:
        """A medicine as typed: any of its names, a typing slip, a dose; maybe a start date."""
        rng = self.rng
        drug = rng.choice(self.drugs)
        name = rng.choice(medication_names(self.knowledge, drug))
        slips = misspellings(name)
        if slips and rng.random() < 0.1:
            # NOTE: a slip is checked against the dictionary (a fuzzy lookup, ~30 ms), so
            # only some names are mistyped; the dictionary's aliases hold common misspellings.
            slip = rng.choice(slips)
            name = slip if reads_as(self.knowledge, slip, drug) else name
        typed = name + rng.choice(["", " 20 mg od", " 40mg", " 5 mg nocte"])
        if rng.random() < 0.5:
            return {"name": typed, "started_months_ago": rng.choice([1, 3, 6, 12, 13, 48])}
        return typed

    def patient(self) -> dict[str, Any]:
        """One random patient file."""
        rng, knowledge = self.rng, self.knowledge
        data: dict[str, Any] = {}
        for fact_id, fact in knowledge.facts.items():
            if fact.derived or fact_id.startswith("labs.") or rng.random() < 0.5:
                continue
            head, _, name = fact_id.partition(".")
            if name:
                data.setdefault(head, {})[name] = self.value(fact_id)
            else:
                data[fact_id] = self.value(fact_id)
        if data.get("sex") == "male":
            data.pop("pregnant", None)
        if data.get("pregnant") is not True:
            data.pop("gestation_weeks", None)
        if data.get("dialysis") == "none":
            data.get("cramps", {}).pop("during_dialysis", None)
        labs = [a for a in sorted(knowledge.analytes) if rng.random() < 0.4]
        if labs:
            data["labs"] = {
                name: lab_text(
                    knowledge.analytes[name],
                    self.value(f"labs.{name}"),
                    rng.choice(knowledge.analytes[name].units).name,
                )
                for name in labs
                if f"labs.{name}" in knowledge.facts
            }
        if rng.random() < 0.6:
            data["medications"] = [self.medication() for _ in range(rng.randint(0, 6))]
        if rng.random() < 0.5:
            data["conditions"] = [
                c.replace("_", " ")
                for c in rng.sample(
                    sorted(knowledge.conditions), rng.randint(0, min(3, len(knowledge.conditions)))
                )
            ]
        return data


__all__ = [
    "ABSENT",
    "GRIDS",
    "Domains",
    "Sampler",
    "conditions_on",
    "creatinine_for",
    "lab_text",
    "medication_names",
    "misspellings",
    "reads_as",
]
