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

The one generator of random patient files (`verify.sampler`) draws its values from here: the
"generated patients" of `kb check` and `kb coverage`, and those of the tests and benchmarks.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from cramp_expert.compile.predicates import predicate
from cramp_expert.kb import derived
from cramp_expert.kb.derived import creatinine_for, is_class, is_condition, is_medication_fact
from cramp_expert.kb.knowledge import Analyte, FactDef, Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.kb.model import Condition, FactCondition, walk
from cramp_expert.patient.normalise import SECTIONS


class _Absent:
    """The value of a fact that is unknown (absent from the patient's facts)."""

    def __repr__(self) -> str:
        return "unknown"


ABSENT: Any = _Absent()
"""An unknown fact, as a value a search can assign."""

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
        self._ranges = {f: d.range for f, d in self.knowledge.facts.items() if d.range}
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
        entry = derived.entry(fact_id)
        if entry is not None and entry.only_true:
            return [True]  # a condition, a stopped medicine: listed (true) or not (unknown)
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
        grid = derived.grid(fact_id)
        if grid is not None:
            return grid
        edges = self.edges(fact_id)
        decimals = max((_decimals(e) for e in edges), default=0)
        analyte = self._analyte(fact_id)
        if analyte is not None:
            decimals = max(decimals, analyte.decimals)
        return float(10**-decimals)

    def edges(self, fact_id: str) -> list[float]:
        """Every number a test of the fact compares it with, ascending."""
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
        edges = self.edges(fact.id)
        step = self.step(fact.id)
        low, high = fact.range or (min([0.0, *edges]), max([1.0, *edges]) * 2)
        raw = [e + d for e in edges for d in (-step, 0.0, step)]
        raw += [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        raw += [low, high]
        grid = derived.grid(fact.id)
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

        The registry of derived facts says what the normaliser makes impossible
        (kb/derived.py); a fact not in `facts` may still be anything.
        """
        return derived.possible(facts, ABSENT, self._ranges)

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
        """Write the inputs each formula's inverse gives (False: no file gives the values)."""
        analytes = self.knowledge.analytes
        for formula in derived.FORMULAS:
            if formula.id not in values or formula.invert is None:
                continue
            inputs = formula.invert(values, facts, self._ranges)
            if inputs is None:
                return False
            for fact_id, value in inputs.items():
                head, _, name = fact_id.partition(".")
                if head != "labs":
                    data[fact_id] = value
                elif name in analytes:
                    labs[name] = lab_text(analytes[name], value)
                else:
                    return False
        return True

    def _medications(self, facts: Mapping[str, Any]) -> list[Any] | bool | None:
        """The medication list (False: no list; None: no list gives these facts)."""
        meds = {f: v for f, v in facts.items() if is_medication_fact(f)}
        given = [f for f, v in meds.items() if v is not ABSENT]
        if not given:
            return False
        entries: list[Any] = []
        on = {f.removeprefix("meds.") for f, v in meds.items() if is_class(f) and v is True}
        # A start date is known only for a class on the list.
        on |= {
            f.split(".")[1]
            for f, v in meds.items()
            if f.endswith((".started_months_ago", ".dose_mg")) and v is not ABSENT
        }
        off = {f.removeprefix("meds.") for f, v in meds.items() if is_class(f) and v is False}
        unknown = [f for f, v in meds.items() if is_class(f) and v is ABSENT]
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
        count = facts.get(derived.MEDICATIONS_GIVEN, ABSENT)
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
            f.removeprefix("conditions.") for f, v in facts.items() if is_condition(f) and v is True
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


__all__ = [
    "ABSENT",
    "Domains",
    "conditions_on",
    "creatinine_for",
    "lab_text",
]
