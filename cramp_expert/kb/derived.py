"""The registry of derived facts: for each, how it is computed and how a verifier undoes it.

The normaliser computes some facts from the patient file (corrected calcium from calcium and
albumin, `meds.<class>` from the medication list) and infers a few input facts from other
entries (a pregnancy from weeks of gestation). Several readers need the same knowledge of each:

- the normaliser: how to compute it (`apply_formulas`, `ck_times_uln`);
- the interview and the robustness analysis: which patient-file entries decide it
  (`fact_inputs`) and when an unknown one is settled, unknown whatever else is learnt
  (`settled_absent`);
- the verifier: which partial combinations of it and its inputs some patient file gives
  (`possible`), the grid its values lie on (`grid`), the inputs that give a value (`invert`),
  and the values a family member can take (`only_true`);
- the knowledge base's fact table, and through it the schemas: the type, unit, range and label
  of each family member (`meds.<class>.dose_mg` for every class with doses).

They all read the entries below. knowledge/facts.yaml documents the same facts for authors
(`derived:` and `families:`, each with its `inputs:`); tests/kb/test_derived_registry.py holds
the two equal, so the verifier's "no such patient" proofs rest on one definition.

The formulas are here whole (computed, settled, constrained and inverted). The facts read from
the medication and problem lists are computed by the list readers (patient/normalise.py) and
written back as lists by the verifier (`Domains.patient_file`, which picks the drugs); for them
this registry holds what the others need: ids, inputs, when settled, and the constraints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cramp_expert.numbers import shown_number

MEDICATIONS = "medications"
"""The patient file's medication list, as an input of the facts read from it."""
CONDITIONS = "conditions"
"""The patient file's problem list."""
MEDICATIONS_GIVEN = "medications.count"
"""Known exactly when the file has a medications list."""
DEFAULT_CK_ULN = 200.0
"""CK upper limit of normal (U/L) when the lab gives none (contract, vocabulary.yaml)."""


Values = Mapping[str, Any]
Ranges = Mapping[str, tuple[float, float] | None]


class Combination:
    """A partial combination of facts as a search holds it.

    Each fact is a value, `absent` (unknown: the marker the search uses) or not decided yet
    (not in the mapping: it may still be anything).
    """

    def __init__(self, facts: Mapping[str, Any], absent: Any, ranges: Ranges):
        self.facts = facts
        self._absent = absent
        self.ranges = ranges
        """Fact id -> its range (`labs.albumin`: the albumin a corrected calcium may need)."""

    def got(self, fact_id: str) -> Any:
        """The fact's value (`absent`, or None when not decided)."""
        return self.facts.get(fact_id)

    def known(self, fact_id: str) -> bool:
        """Whether the fact has a value."""
        return fact_id in self.facts and self.facts[fact_id] is not self._absent

    def absent(self, fact_id: str) -> bool:
        """Whether the fact is unknown (decided so, not merely undecided)."""
        return self.facts.get(fact_id) is self._absent


@dataclass(frozen=True)
class Computed:
    """A derived value as the normaliser stores it."""

    value: float
    shown: str
    lab_unit: str = ""
    """Listed among the result's labs (as `calculated`) in this unit; empty: not listed."""


@dataclass(frozen=True)
class Derived:
    """One derived fact (or family of facts), or an input fact the normaliser also infers."""

    id: str
    """The fact id, or a family's pattern (`meds.<class>.dose_mg`)."""
    type: str
    inputs: tuple[str, ...]
    """The patient-file entries that decide it (`<self>`: the fact's own entry, asked for)."""
    computed: str
    """How and where it is computed, for a reader."""
    unit: str = ""
    range: tuple[float, float] | None = None
    label: str = ""
    """A family member's label: `{label}` is the class's label in lower case."""
    family: str = ""
    """The entry of facts.yaml's `families:` (empty: a single fact)."""
    input_fact: bool = False
    """An input fact (facts.yaml `facts:`) the normaliser may also infer from other entries."""
    grid: float | None = None
    """The precision the value is computed with: a value off it comes from no patient file."""
    only_true: bool = False
    """Never false: the entry is listed (true) or not (unknown)."""
    compute: Callable[[Values], Computed | None] | None = None
    """The formula, on the facts read so far (None: read from a list, in patient/normalise.py)."""
    settled: Callable[[str, Values], bool] | None = None
    """Whether the unknown fact stays unknown whatever else is learnt about the patient."""
    possible: Callable[[Combination], bool] | None = None
    """Whether a partial combination (this fact and its inputs) comes from some patient file."""
    invert: Callable[[Values, Values, Ranges], dict[str, Any] | None] | None = None
    """The input facts (fact id -> value) a file gives for the fact's value in `values` (the
    known facts; `facts`: every fact with unknowns; fact ranges): `None` when none does."""

    def matches(self, fact_id: str) -> bool:
        """Whether `fact_id` is this fact, or a member of this family."""
        if not self.family:
            return fact_id == self.id
        parts, pattern = fact_id.split("."), self.id.split(".")
        return (
            len(parts) == len(pattern)
            and all(p == q or q.startswith("<") for p, q in zip(parts, pattern, strict=True))
            and fact_id not in SINGLE_IDS
        )

    def inputs_of(self, fact_id: str) -> tuple[str, ...]:
        """The entries that decide `fact_id` (a member of the family: `<self>` is its own)."""
        return tuple(fact_id if i == "<self>" else i for i in self.inputs)


# --- formulas -----------------------------------------------------------------------------------


def corrected_calcium(calcium: float, albumin: float) -> float:
    """Albumin-corrected calcium (mmol/L): calcium + 0.02 x (40 - albumin g/L) (brief 1.0)."""
    return round(calcium + 0.02 * (40.0 - albumin), 2)


def ckd_epi_2021(creatinine_umol: float, age: float, sex: str) -> float:
    """EGFR (mL/min/1.73 m2) by the race-free CKD-EPI 2021 creatinine equation."""
    kappa, alpha, factor = (0.7, -0.241, 1.012) if sex == "female" else (0.9, -0.302, 1.0)
    ratio = (creatinine_umol / 88.4) / kappa
    return float(
        round(142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age * factor)
    )


def ck_times_uln(ck: float, uln: float | None = None) -> tuple[float, str]:
    """CK as a multiple of the upper limit of normal (the lab's, else 200 U/L), and as shown."""
    if uln is None:
        multiple = round(ck / DEFAULT_CK_ULN, 3)
        return multiple, f"{shown_number(multiple)} x ULN, ULN {DEFAULT_CK_ULN:g} U/L"
    # NOTE: with the lab's own limit the text shows the ratio before rounding, as it always has
    # (the two differ only in the third significant figure of very small ratios).
    return round(ck / uln, 3), f"{shown_number(ck / uln)} x ULN, ULN {uln:g} U/L"


def _egfr_applies(age: Any, sex: Any) -> bool:
    return age is not None and age >= 18 and sex in ("female", "male")


def _calcium(values: Values) -> Computed | None:
    calcium, albumin = values.get("labs.calcium"), values.get("labs.albumin")
    if calcium is None or albumin is None:
        return None
    corrected = corrected_calcium(calcium, albumin)
    shown = f"{corrected:.3g} mmol/L (calcium {calcium:.3g} mmol/L, albumin {albumin:g} g/L)"
    return Computed(corrected, shown, "mmol/L")


def _ck(values: Values) -> Computed | None:
    ck = values.get("labs.ck")
    if ck is None:
        return None
    return Computed(*ck_times_uln(ck))


def _egfr(values: Values) -> Computed | None:
    creatinine, age, sex = values.get("labs.creatinine"), values.get("age"), values.get("sex")
    if "labs.egfr" in values or creatinine is None or age is None or not _egfr_applies(age, sex):
        return None
    egfr = ckd_epi_2021(creatinine, age, str(sex))
    shown = (
        f"{egfr:g} mL/min/1.73m2 (CKD-EPI 2021 from creatinine {creatinine:g} umol/L, "
        f"age {age:g}, {sex})"
    )
    return Computed(egfr, shown, "mL/min/1.73m2")


# --- inverses (the verifier) ----------------------------------------------------------------------


def albumin_for(
    calcium: float, corrected: float, albumin_range: tuple[float, float] | None
) -> float | None:
    """The albumin (g/L) that corrects `calcium` to `corrected`, if one is in range."""
    albumin = round(40.0 + (calcium - corrected) / 0.02, 6)
    low, high = albumin_range or (5.0, 70.0)
    if not low <= albumin <= high or corrected_calcium(calcium, albumin) != round(corrected, 2):
        return None
    return albumin


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


def _calcium_inputs(values: Values, facts: Values, ranges: Ranges) -> dict[str, float] | None:
    corrected = values["labs.calcium_corrected"]
    calcium = values.get("labs.calcium", corrected)
    albumin = albumin_for(calcium, corrected, ranges.get("labs.albumin"))
    if albumin is None:
        return None
    return {"labs.calcium": calcium, "labs.albumin": albumin}


def _ck_inputs(values: Values, facts: Values, ranges: Ranges) -> dict[str, float] | None:
    multiple = values["labs.ck_xuln"]
    if multiple <= 0:
        return {"labs.ck": 0.0}
    ck = round(multiple * DEFAULT_CK_ULN, 6)
    bounds = ranges.get("labs.ck")
    if bounds and not bounds[0] <= ck <= bounds[1]:
        return None
    return {"labs.ck": ck}


def _egfr_inputs(values: Values, facts: Values, ranges: Ranges) -> dict[str, Any] | None:
    if "labs.creatinine" in values:
        return {}
    written: dict[str, Any] = {}
    age, sex = values.get("age"), values.get("sex")
    if facts.get("age") is None:
        age = written["age"] = 50  # an adult: the equation applies from 18
    if facts.get("sex") is None:
        sex = written["sex"] = "female"
    if not isinstance(age, int | float) or sex not in ("female", "male"):
        return None
    creatinine = creatinine_for(values["labs.egfr_calculated"], float(age), str(sex))
    if creatinine is None:
        return None
    return {**written, "labs.creatinine": creatinine}


# --- when a combination comes from a file ---------------------------------------------------------


def _calcium_possible(c: Combination) -> bool:
    # Known exactly when calcium and albumin are, and then an albumin in range gives it.
    if c.known("labs.calcium_corrected"):
        if c.absent("labs.calcium") or c.absent("labs.albumin"):
            return False
        if c.known("labs.calcium") and (
            albumin_for(
                c.got("labs.calcium"), c.got("labs.calcium_corrected"), c.ranges.get("labs.albumin")
            )
            is None
        ):
            return False
    elif c.absent("labs.calcium_corrected") and c.known("labs.calcium") and c.known("labs.albumin"):
        return False
    return True


def _ck_possible(c: Combination) -> bool:
    # Known exactly when CK is.
    return not (
        (c.known("labs.ck_xuln") and c.absent("labs.ck"))
        or (c.absent("labs.ck_xuln") and c.known("labs.ck"))
    )


def _egfr_possible(c: Combination) -> bool:
    # Only without a reported eGFR, for an adult female or male.
    if c.known("labs.egfr_calculated"):
        age, sex = c.got("age"), c.got("sex")
        if (
            c.known("labs.egfr")
            or c.absent("labs.creatinine")
            or c.absent("age")
            or c.absent("sex")
        ):
            return False
        if (isinstance(age, float) and age < 18) or (
            isinstance(sex, str) and sex not in ("female", "male")
        ):
            return False
    elif (
        c.absent("labs.egfr_calculated")
        and c.absent("labs.egfr")
        and all(c.known(f) for f in ("labs.creatinine", "age", "sex"))
        and _egfr_applies(c.got("age"), c.got("sex"))
    ):
        return False
    return True


def _egfr_settled(fact_id: str, values: Values) -> bool:
    # Calculated only when no eGFR is given, for adults whose sex is female or male.
    age, sex = values.get("age"), values.get("sex")
    return (
        "labs.egfr" in values
        or (age is not None and age < 18)
        or (sex is not None and sex not in ("female", "male"))
    )


def is_medication_fact(fact_id: str) -> bool:
    """A fact read from the medication list (`meds.*`, `medications.count`)."""
    return fact_id.startswith("meds.") or fact_id == MEDICATIONS_GIVEN


def is_class(fact_id: str) -> bool:
    """`meds.<class>`: on a medicine of the class."""
    return fact_id.startswith("meds.") and fact_id.count(".") == 1


def is_condition(fact_id: str) -> bool:
    """`conditions.<condition>`: the problem list names it."""
    return fact_id.startswith("conditions.") and fact_id not in SINGLE_IDS


def _class_detail_possible(c: Combination) -> bool:
    # A start date or a strength only for a class on the list.
    for fact_id in c.facts:
        if (
            is_medication_fact(fact_id)
            and c.known(fact_id)
            and fact_id.endswith((".started_months_ago", ".dose_mg"))
        ):
            klass = fact_id.rsplit(".", 1)[0]
            if c.got(klass) is False or c.absent(klass):
                return False
    return True


def _listed(c: Combination) -> list[str]:
    return [f for f in c.facts if is_medication_fact(f) and c.known(f)]


def _count_possible(c: Combination) -> bool:
    # Any medication fact known means a list, and a class taken means a count of one or more.
    listed = _listed(c)
    if listed and c.absent(MEDICATIONS_GIVEN):
        return False
    return not (
        c.known(MEDICATIONS_GIVEN)
        and c.got(MEDICATIONS_GIVEN) < 1
        and any(c.got(f) is True for f in listed if is_class(f))
    )


def _classes_possible(c: Combination) -> bool:
    # A class is false only beside a complete list, unknown only beside an unreadable one.
    classes = [f for f in c.facts if is_class(f)]
    return not (
        any(c.got(f) is False for f in classes) and any(c.absent(f) for f in classes) and _listed(c)
    )


def _conditions_possible(c: Combination) -> bool:
    # Listed (true) only with a problem list, which makes `unrecognised` known.
    return not (
        any(c.got(f) is True for f in c.facts if is_condition(f))
        and c.absent("conditions.unrecognised")
    )


def _class_detail_settled(fact_id: str, values: Values) -> bool:
    # A start date or a strength matters only for a class the patient is on.
    return values.get(fact_id.rsplit(".", 1)[0]) is False


def _stopped_settled(fact_id: str, values: Values) -> bool:
    # With the list read as complete, a stopped medicine would have been written in it.
    return _class_detail_settled(fact_id, values) or MEDICATIONS_GIVEN in values


def _pregnancy_possible(c: Combination) -> bool:
    # A pregnancy needs a patient who is not male; weeks of gestation mean a pregnancy.
    if c.got("pregnant") is True and c.got("sex") == "male":
        return False
    return not (c.known("gestation_weeks") and (c.got("pregnant") is False or c.absent("pregnant")))


def _male_settled(fact_id: str, values: Values) -> bool:
    return values.get("sex") == "male"  # the normaliser refuses a pregnancy for a male patient


def _dialysis_possible(c: Combination) -> bool:
    # Cramps during dialysis sessions mean dialysis.
    return not (
        c.got("cramps.during_dialysis") is True
        and (c.got("dialysis") == "none" or c.absent("dialysis"))
    )


REGISTRY: tuple[Derived, ...] = (
    # Formulas, in the order the normaliser applies them.
    Derived(
        "labs.calcium_corrected",
        "number",
        ("labs.calcium", "labs.albumin"),
        "calcium + 0.02 x (40 - albumin g/L), rounded to 0.01 mmol/L",
        unit="mmol/L",
        grid=0.01,
        compute=_calcium,
        possible=_calcium_possible,
        invert=_calcium_inputs,
    ),
    Derived(
        "labs.ck_xuln",
        "number",
        ("labs.ck",),
        "CK / ULN (the lab's ULN, read with the CK; else 200 U/L), rounded to 0.001",
        unit="x ULN",
        grid=0.001,
        compute=_ck,
        possible=_ck_possible,
        invert=_ck_inputs,
    ),
    Derived(
        "labs.egfr_calculated",
        "number",
        ("labs.creatinine", "age", "sex", "labs.egfr"),
        "CKD-EPI 2021 from creatinine, age (18 or more) and sex (female or male), no eGFR given",
        unit="mL/min/1.73m2",
        grid=1.0,
        compute=_egfr,
        settled=_egfr_settled,
        possible=_egfr_possible,
        invert=_egfr_inputs,
    ),
    # Read from the lists (patient/normalise.py: medications, conditions).
    Derived(
        "medications.count",
        "number",
        (MEDICATIONS,),
        "the number of entries of the medication list taken now",
        unit="medicines",
        grid=1.0,
        possible=_count_possible,
    ),
    Derived(
        "conditions.unrecognised",
        "bool",
        (CONDITIONS,),
        "whether an entry of the conditions list matched no known condition",
    ),
    Derived(
        "meds.<class>",
        "bool",
        (MEDICATIONS,),
        "true when a listed medicine is of the class; false beside a list that is read in full",
        label="On {label}",
        family="meds",
        possible=_classes_possible,
    ),
    Derived(
        "meds.<class>.started_months_ago",
        "number",
        (MEDICATIONS, "<self>"),
        "the most recent start of the class's medicines, when every one of them gives one",
        unit="months",
        range=(0, 1200),
        label="Months since {label} was started",
        family="meds_started",
        settled=_class_detail_settled,
        possible=_class_detail_possible,
    ),
    Derived(
        "meds.<class>.dose_mg",
        "number",
        (MEDICATIONS,),
        "the highest strength (mg) written for a one-drug medicine of a class with doses",
        unit="mg",
        range=(0, 10000),
        label="Highest written strength of {label}",
        family="meds_dose",
        settled=_class_detail_settled,
    ),
    Derived(
        "meds.<class>.stopped",
        "bool",
        (MEDICATIONS,),
        "true when the list names a medicine of the class as stopped or not taken",
        label="A stopped or not-taken {label} is listed",
        family="meds_stopped",
        only_true=True,
        settled=_stopped_settled,
    ),
    Derived(
        "conditions.<condition>",
        "bool",
        (CONDITIONS,),
        "true when the conditions list names the condition (or a synonym)",
        family="conditions",
        only_true=True,
        possible=_conditions_possible,
    ),
    # Input facts the normaliser also infers from other entries (with a warning).
    Derived(
        "pregnant",
        "bool",
        ("pregnant", "gestation_weeks"),
        "given, or true when gestation_weeks is given (W005); refused for a male patient",
        input_fact=True,
        settled=_male_settled,
        possible=_pregnancy_possible,
    ),
    Derived(
        "gestation_weeks",
        "number",
        ("gestation_weeks",),
        "given; refused for a male patient or beside pregnant: false",
        unit="weeks",
        input_fact=True,
        settled=_male_settled,
    ),
    Derived(
        "dialysis",
        "choice",
        ("dialysis", CONDITIONS, "cramps.during_dialysis"),
        "given, or read from the conditions list or cramps during sessions (W007)",
        input_fact=True,
        possible=_dialysis_possible,
    ),
)

SINGLE_IDS = frozenset(d.id for d in REGISTRY if not d.family)
FORMULAS = tuple(d for d in REGISTRY if d.compute is not None)
BY_ID = {d.id: d for d in REGISTRY if not d.family}
FAMILIES = {d.family: d for d in REGISTRY if d.family}


@lru_cache(maxsize=4096)
def entry(fact_id: str) -> Derived | None:
    """The registry's entry for a fact (a family member's family), or None.

    Cached (the registry is fixed): `settled_absent` asks it for every unknown fact of every
    patient in an interview, and matching the families is a loop over patterns.
    """
    if fact_id in BY_ID:
        return BY_ID[fact_id]
    return next((d for d in FAMILIES.values() if d.matches(fact_id)), None)


def fact_inputs(fact_id: str) -> tuple[str, ...]:
    """The patient-file entries that decide `fact_id` (a fact id, `medications` or `conditions`)."""
    found = entry(fact_id)
    return found.inputs_of(fact_id) if found is not None else (fact_id,)


def settled_absent(fact_id: str, values: Values) -> bool:
    """Whether an unknown fact stays unknown whatever else is learnt about the patient."""
    found = entry(fact_id)
    return found is not None and found.settled is not None and found.settled(fact_id, values)


def possible(facts: Mapping[str, Any], absent: Any, ranges: Ranges) -> bool:
    """Whether a partial combination of facts (`absent` for unknown) may come from a file.

    Only what the normaliser makes impossible is refused; a fact not in `facts` may still be
    anything. tests/verify/ checks every rule here against normalised generated patients.
    """
    combination = Combination(facts, absent, ranges)
    return all(d.possible(combination) for d in REGISTRY if d.possible is not None)


def grid(fact_id: str) -> float | None:
    """The precision a derived number is computed with, or None."""
    found = entry(fact_id)
    return found.grid if found is not None else None


def apply_formulas(values: dict[str, Any]) -> list[tuple[str, Computed]]:
    """Add to `values` each formula's result that can be computed and is not already known."""
    added: list[tuple[str, Computed]] = []
    for derived in FORMULAS:
        if derived.id in values or derived.compute is None:
            continue
        computed = derived.compute(values)
        if computed is not None:
            values[derived.id] = computed.value
            added.append((derived.id, computed))
    return added


__all__ = [
    "CONDITIONS",
    "DEFAULT_CK_ULN",
    "FAMILIES",
    "FORMULAS",
    "MEDICATIONS",
    "MEDICATIONS_GIVEN",
    "REGISTRY",
    "Combination",
    "Computed",
    "Derived",
    "albumin_for",
    "apply_formulas",
    "ck_times_uln",
    "ckd_epi_2021",
    "corrected_calcium",
    "creatinine_for",
    "entry",
    "fact_inputs",
    "grid",
    "is_class",
    "is_condition",
    "is_medication_fact",
    "possible",
    "settled_absent",
]
