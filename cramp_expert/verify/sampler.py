"""The one generator of patient files: the verifier's sampler, the seeds and the strategies.

A generated patient has any subset of entries known; its numbers are one value of each class
the rules tell apart (both sides of every threshold, from `Domains`) or anywhere in the fact's
range on its grid; labs are written in any accepted unit, as a text or a mapping (CK sometimes
with the laboratory's upper limit); medicines are typed under any of their names (generic,
brand, alias, combination), with a dose, sometimes with a start date or a typing slip the
dictionary still reads; conditions by name. Every patient it makes is a valid patient file.

Every choice goes through a `Choices`: `RandomChoices` (seeded, fast, no hypothesis) gives the
"generated patients" of `kb check` and `kb coverage`, the benchmark's and the tests' seeded
bulk patients (`Sampler.for_kb(kb, seed).patients(n)`); the hypothesis strategies of
`cramp_expert.testing` pass one that draws each choice from hypothesis, so that a failing
patient shrinks. One description of a patient, whichever drives it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.patient.medications import match_medication
from cramp_expert.patient.normalise import SECTIONS
from cramp_expert.verify.domains import Domains, lab_text

T = TypeVar("T")

DOSES = ("", " 20 mg od", " 40mg", " 5 mg nocte", " inhaler bd")
"""What follows a medicine's name as a clinician types it."""
STARTED = (1, 6, 12, 13, 48)
"""Months since a medicine was started: on both sides of the rules' 12 months."""
CK_ULN = (None, 170.0, 200.0, 320.0)
"""Upper limits of normal a laboratory may give with a CK (None: none given)."""


class Choices(Protocol):
    """Where a generator's choices come from (a seeded random source, or hypothesis)."""

    def coin(self) -> bool:
        """Yes or no, evenly."""
        ...

    def pick(self, options: Sequence[T]) -> T:
        """One of `options` (not empty)."""
        ...

    def integer(self, low: int, high: int) -> int:
        """A whole number from `low` to `high`, both included."""
        ...

    def number(self, low: float, high: float, places: int) -> float:
        """A number from `low` to `high`, rounded to `places` decimals."""
        ...

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        """From `low` to `high` distinct members of `options`, in any order."""
        ...


class RandomChoices:
    """Choices from a seeded `random.Random`: the same seed, the same patients."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def coin(self) -> bool:
        """Yes or no, evenly."""
        return self.rng.random() < 0.5

    def pick(self, options: Sequence[T]) -> T:
        """One of `options` (not empty)."""
        return self.rng.choice(options)

    def integer(self, low: int, high: int) -> int:
        """A whole number from `low` to `high`, both included."""
        return self.rng.randint(low, high)

    def number(self, low: float, high: float, places: int) -> float:
        """A number from `low` to `high`, rounded to `places` decimals."""
        return min(high, max(low, round(self.rng.uniform(low, high), places)))

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        """From `low` to `high` distinct members of `options`, in any order."""
        return self.rng.sample(list(options), self.rng.randint(low, min(high, len(options))))


class Sampler:
    """Patient files (dicts in the contract's shape) drawn from a knowledge base's domains."""

    def __init__(self, domains: Domains, seed: int = 0, choices: Choices | None = None):
        self.domains = domains
        self.knowledge = domains.knowledge
        self.choices: Choices = choices if choices is not None else RandomChoices(seed)
        self.drugs = sorted(self.knowledge.drugs)
        self.combinations = sorted(self.knowledge.combinations)
        self.conditions = sorted(self.knowledge.conditions)
        self.analytes = sorted(self.knowledge.analytes)

    @classmethod
    def for_kb(cls, kb: KnowledgeBase, seed: int = 0) -> Sampler:
        """A seeded sampler of a knowledge base's patients (benchmarks, bulk test inputs)."""
        return cls(Domains(kb), seed)

    # --- values -------------------------------------------------------------------------------
    def value(self, fact_id: str, choices: Choices | None = None) -> Any:
        """A value of an input fact as a patient file writes it."""
        c = choices or self.choices
        fact = self.knowledge.facts[fact_id]
        if fact.type == "bool":
            return c.coin()
        if fact.type == "choice":
            return c.pick(fact.values)
        if fact.type == "list":
            return c.subset(fact.values, 1, min(3, len(fact.values)))
        return self.number(fact_id, c)

    def number(self, fact_id: str, choices: Choices | None = None) -> float:
        """One value of each class the rules tell apart, or anywhere in range on the fact's grid."""
        c = choices or self.choices
        fact = self.knowledge.facts[fact_id]
        domains = self.domains
        if fact_id in domains.variables and domains.values(fact_id) and c.coin():
            return float(c.pick(domains.values(fact_id)))
        low, high = fact.range or (0.0, 1000.0)
        step = domains.step(fact_id)
        places = len(f"{step:.10f}".rstrip("0").split(".")[1])
        return c.number(low, high, places)

    def lab(self, name: str, choices: Choices | None = None) -> Any:
        """A lab as a patient file writes it, in any accepted unit, as a text or a mapping."""
        c = choices or self.choices
        analyte = self.knowledge.analytes[name]
        value = round(self.number(f"labs.{name}", c), analyte.decimals)
        text = lab_text(analyte, value, c.pick([u.name for u in analyte.units]))
        if c.coin():
            return text
        number, _, unit = text.partition(" ")
        mapping: dict[str, Any] = {"value": float(number), "unit": unit}
        if name == "ck":
            uln = c.pick(CK_ULN)
            if uln is not None:
                mapping["uln"] = uln
        return mapping

    def medication(self, choices: Choices | None = None) -> Any:
        """A medicine as typed, with a dose, and sometimes how many months ago it was started.

        The name is any of the drug's (generic, brand, alias), a typing slip still read as it,
        or a combination product's.
        """
        c = choices or self.choices
        if self.combinations and c.integer(0, 3) == 0:
            return c.pick(self.combinations) + c.pick(DOSES)
        drug = c.pick(self.drugs)
        name = c.pick(medication_names(self.knowledge, drug))
        slips = misspellings(name)
        if slips and c.integer(0, 9) == 0:
            # NOTE: a slip is checked against the dictionary (a fuzzy lookup, ~30 ms), so only
            # some names are mistyped; the dictionary's aliases hold common misspellings.
            slip = c.pick(slips)
            name = slip if reads_as(self.knowledge, slip, drug) else name
        typed = name + c.pick(DOSES)
        if c.coin():
            return {"name": typed, "started_months_ago": c.pick(STARTED)}
        return typed

    # --- patients -----------------------------------------------------------------------------
    def patient(self, choices: Choices | None = None) -> dict[str, Any]:
        """One patient file: every entry known or not."""
        c = choices or self.choices
        facts = self.knowledge.facts
        patient: dict[str, Any] = {}
        for key in ("age", "sex", "dialysis"):
            if key in facts and c.coin():
                patient[key] = self.value(key, c)
        if "pregnant" in facts and patient.get("sex") in ("female", None) and c.coin():
            patient["pregnant"] = c.coin()
            if patient["pregnant"] and "gestation_weeks" in facts and c.coin():
                patient["gestation_weeks"] = self.value("gestation_weeks", c)
        for section in SECTIONS:
            keys = self.knowledge.section_keys(section)
            if keys and c.coin():
                patient[section] = {k: self.value(f"{section}.{k}", c) for k in keys if c.coin()}
        if self.drugs and c.coin():
            patient["medications"] = [self.medication(c) for _ in range(c.integer(0, 6))]
        if self.conditions and c.coin():
            chosen = c.subset(self.conditions, 0, 3)
            patient["conditions"] = [name.replace("_", " ") for name in chosen]
        cramps = patient.get("cramps", {})
        if patient.get("dialysis") == "none" and cramps.get("during_dialysis") is True:
            del cramps["during_dialysis"]  # a contradiction is an input error, not a patient
        if self.analytes and c.coin():
            patient["labs"] = {
                name: self.lab(name, c)
                for name in c.subset(self.analytes, 0, 6)
                if f"labs.{name}" in facts
            }
        return patient

    def patients(self, count: int) -> list[dict[str, Any]]:
        """`count` patient files."""
        return [self.patient() for _ in range(count)]


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


__all__ = [
    "CK_ULN",
    "DOSES",
    "STARTED",
    "Choices",
    "RandomChoices",
    "Sampler",
    "medication_names",
    "misspellings",
    "reads_as",
]
