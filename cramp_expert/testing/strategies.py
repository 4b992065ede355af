"""Hypothesis strategies that generate patient files from the knowledge base.

The patients are those of the one generator, `verify.sampler.Sampler` (the verifier's sampler,
and the seeded bulk patients of the benchmark and the tests): every entry may be absent
(unknown), so generated patients cover partial knowledge; values on both sides of every
threshold some rule tests, or anywhere in range on the fact's grid; labs in any accepted unit;
medicines under any of their names, with a dose, sometimes with a typing slip the dictionary
still reads. Here each of the generator's choices is drawn from hypothesis, so that a failing
patient shrinks.

Beside whole patients, strategies for the variants the properties compare a patient with: the
same file reordered, the same lab values in other units, the same medicines under other names,
and a fact moved in the direction a monotonicity declaration names.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from cramp_expert.kb.declarations import Monotone
from cramp_expert.kb.knowledge import Knowledge
from cramp_expert.kb.loader import KnowledgeBase
from cramp_expert.patient.medications import match_medication
from cramp_expert.patient.normalise import normalise_patient
from cramp_expert.verify.coverage import coverage
from cramp_expert.verify.domains import Domains, lab_text
from cramp_expert.verify.sampler import DOSES, Sampler, medication_names, misspellings, reads_as

T = TypeVar("T")


def thresholds(kb: KnowledgeBase) -> dict[str, list[float]]:
    """Fact id -> every number a rule compares it with (the edges of its conditions)."""
    domains = _domains(kb)
    return {f: edges for f in sorted(domains.variables) if (edges := domains.edges(f))}


class DrawnChoices:
    """The sampler's choices drawn from hypothesis (`verify.sampler.Choices`)."""

    def __init__(self, draw: st.DrawFn):
        self.draw = draw

    def coin(self) -> bool:
        """Yes or no (shrinks to no)."""
        return self.draw(st.booleans())

    def pick(self, options: Sequence[T]) -> T:
        """One of `options` (shrinks to the first)."""
        return self.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        """A whole number from `low` to `high`."""
        return self.draw(st.integers(low, high))

    def number(self, low: float, high: float, places: int) -> float:
        """A number from `low` to `high`, rounded to `places` decimals."""
        value = self.draw(st.floats(min_value=low, max_value=high, allow_nan=False))
        return min(high, max(low, round(value, places)))

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        """From `low` to `high` distinct members of `options`."""
        return self.draw(
            st.lists(st.sampled_from(options), min_size=low, max_size=high, unique=True)
        )


_SAMPLERS: dict[int, tuple[KnowledgeBase, Sampler]] = {}


def sampler(kb: KnowledgeBase) -> Sampler:
    """The knowledge base's sampler (its domains computed once)."""
    # The entry keeps the knowledge base alive, so that its id is never reused for another.
    if id(kb) not in _SAMPLERS:
        _SAMPLERS[id(kb)] = (kb, Sampler(Domains(kb)))
    return _SAMPLERS[id(kb)][1]


def _domains(kb: KnowledgeBase) -> Domains:
    return sampler(kb).domains


def fact_values(kb: KnowledgeBase, fact_id: str) -> st.SearchStrategy[Any]:
    """Values of an input fact as a patient file writes it (`Sampler.value`)."""
    return st.composite(lambda draw: sampler(kb).value(fact_id, DrawnChoices(draw)))()


def lab_values(kb: KnowledgeBase, name: str) -> st.SearchStrategy[Any]:
    """A lab as a patient file writes it (`Sampler.lab`): any accepted unit, text or mapping."""
    return st.composite(lambda draw: sampler(kb).lab(name, DrawnChoices(draw)))()


def medications(knowledge_base: KnowledgeBase) -> st.SearchStrategy[Any]:
    """A medicine as typed (`Sampler.medication`)."""
    return st.composite(lambda draw: sampler(knowledge_base).medication(DrawnChoices(draw)))()


def patient_files(
    kb: KnowledgeBase, seeds: Sequence[dict[str, Any]] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Patient files (dicts in the contract's shape) with any subset of entries known.

    With `seeds` (patient files, such as the verifier's witnesses that fire each rule), half
    the patients start from a seed and have random entries added where the seed has none: so
    rules that random patients rarely fire are exercised too.
    """
    random_patients = st.composite(lambda draw: sampler(kb).patient(DrawnChoices(draw)))()
    if not seeds:
        return random_patients

    @st.composite
    def seeded(draw: st.DrawFn) -> dict[str, Any]:
        seed = draw(st.sampled_from(list(seeds)))
        extra = draw(random_patients)
        return merge(seed, extra)

    return st.one_of(random_patients, seeded())


def seeds(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """A patient file for each rule that can fire, found by the verifier's search (`seeds=`)."""
    table = coverage(kb, samples=0)
    return [c.witness.patient for c in table.rules if c.source == "search" and c.witness]


def merge(seed: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`seed` with the entries of `extra` it does not have (sections merged key by key)."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in seed.items()}
    for key, value in extra.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            for inner, item in value.items():
                merged[key].setdefault(inner, item)
    if merged.get("sex") == "male":
        merged.pop("pregnant", None)
        merged.pop("gestation_weeks", None)
    if merged.get("pregnant") is False:
        merged.pop("gestation_weeks", None)
    cramps = merged.get("cramps")
    if isinstance(cramps, dict) and merged.get("dialysis") == "none":
        cramps.pop("during_dialysis", None)
    return merged


# --- variants of one patient ---------------------------------------------------------------------


def shuffled(patient: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same patient file with its keys, its sections' keys and its lists in another order."""
    rng = random.Random(seed)
    out = dict(rng.sample(list(patient.items()), len(patient)))
    for key, value in out.items():
        if isinstance(value, dict):
            out[key] = dict(rng.sample(list(value.items()), len(value)))
        elif isinstance(value, list):
            out[key] = rng.sample(value, len(value))
    return out


@st.composite
def in_other_units(draw: st.DrawFn, kb: KnowledgeBase, patient: dict[str, Any]) -> dict[str, Any]:
    """The same patient with each lab written in another accepted unit (same value).

    A value off the lab's reporting grid is left as it is: written in another unit, it would
    be rounded on the way back, as a laboratory rounds it.
    """
    knowledge = kb.knowledge
    labs = patient.get("labs")
    if not isinstance(labs, dict) or not labs:
        return patient
    facts = normalise_patient(patient, knowledge).values
    rewritten: dict[str, Any] = {}
    for name, raw in labs.items():
        analyte = knowledge.analytes[name]
        value = facts.get(f"labs.{name}")
        if value is None or round(value, analyte.decimals) != value:
            rewritten[name] = raw
            continue
        unit = draw(st.sampled_from([u.name for u in analyte.units]))
        text = lab_text(analyte, value, unit)
        if isinstance(raw, dict):
            number, _, unit_name = text.partition(" ")
            rewritten[name] = {**raw, "value": float(number), "unit": unit_name}
        else:
            rewritten[name] = text
    return {**patient, "labs": rewritten}


@st.composite
def under_other_names(
    draw: st.DrawFn, kb: KnowledgeBase, patient: dict[str, Any]
) -> dict[str, Any]:
    """The same patient with each medicine typed under another of its names.

    Generic, brand and alias names, and typing slips the dictionary still reads as the same
    drug; a dose or a start date stays as it was.
    """
    knowledge = kb.knowledge
    entries = patient.get("medications")
    if not isinstance(entries, list) or not entries:
        return patient
    renamed: list[Any] = []
    for entry in entries:
        typed = entry["name"] if isinstance(entry, dict) else entry
        match = match_medication(typed, knowledge)
        if len(match.drugs) != 1 or match.matched not in ("exact", "fuzzy"):
            renamed.append(entry)
            continue
        drug = match.drugs[0]
        names = medication_names(knowledge, drug)
        name = draw(st.sampled_from(names))
        slips = misspellings(name)
        if len(slips) > 0 and draw(st.booleans()):
            slip = draw(st.sampled_from(slips))
            name = slip if reads_as(knowledge, slip, drug) else name
        dose = draw(st.sampled_from(DOSES))
        renamed.append({**entry, "name": name + dose} if isinstance(entry, dict) else name + dose)
    return {**patient, "medications": renamed}


def set_fact(
    patient: dict[str, Any], knowledge: Knowledge, fact_id: str, value: Any
) -> dict[str, Any]:
    """A copy of `patient` with an input fact set (`None`: removed); a lab in its default unit."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in patient.items()}
    head, _, name = fact_id.partition(".")
    if head == "labs":
        labs = out.setdefault("labs", {})
        if value is None:
            labs.pop(name, None)
        else:
            labs[name] = lab_text(knowledge.analytes[name], value)
    elif name:
        section = out.setdefault(head, {})
        if value is None:
            section.pop(name, None)
        else:
            section[name] = value
    elif value is None:
        out.pop(fact_id, None)
    else:
        out[fact_id] = value
    return out


@st.composite
def monotone_changes(
    draw: st.DrawFn, kb: KnowledgeBase, declarations: Iterable[Monotone], patient: dict[str, Any]
) -> tuple[Monotone, str, dict[str, Any], dict[str, Any]]:
    """A declaration, a fact it covers, and the patient before and after the declared change.

    `decreasing`: the fact from one value to a lower one; `increasing`: to a higher one;
    `becomes_true`: from false or unknown to true.
    """
    knowledge = kb.knowledge
    declaration = draw(st.sampled_from(list(declarations)))
    fact_id = draw(st.sampled_from(declaration.facts(knowledge)))
    if declaration.direction == "becomes_true":
        before_value = draw(st.sampled_from([False, None]))
        return (
            declaration,
            fact_id,
            set_fact(patient, knowledge, fact_id, before_value),
            set_fact(patient, knowledge, fact_id, True),
        )
    values = fact_values(kb, fact_id)
    first, second = draw(values), draw(values)
    if first == second:
        fact = knowledge.facts[fact_id]
        low, high = fact.range or (0.0, 1000.0)
        step = _domains(kb).step(fact_id)
        second = min(high, first + step) if first + step <= high else max(low, first - step)
    low_value, high_value = sorted((first, second))
    before, after = (
        (high_value, low_value)
        if declaration.direction == "decreasing"
        else (low_value, high_value)
    )
    return (
        declaration,
        fact_id,
        set_fact(patient, knowledge, fact_id, before),
        set_fact(patient, knowledge, fact_id, after),
    )


__all__ = [
    "fact_values",
    "in_other_units",
    "lab_values",
    "medications",
    "merge",
    "monotone_changes",
    "patient_files",
    "seeds",
    "set_fact",
    "shuffled",
    "thresholds",
    "under_other_names",
]
