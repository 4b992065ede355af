"""Recognise medications and conditions as a clinician types them.

A typed medication ("Lasix 80 mg mane", "losartan/HCTZ 50/12.5", "Symbicort 200/6 inhaler",
"furosemide 40 mg and spironolactone 25 mg") is folded (case, accents, punctuation) and split
at "/", "+", "&", "and" or "with" into parts; dose fragments ("12.5 mg") are skipped and, in each
part, the longest known name at its start is taken, so dose and frequency are ignored. A name
within a small edit distance of a known one is accepted with a warning asking the clinician to
confirm; a part nobody knows leaves the entry (partly) unrecognised, a warning with the closest
known names, never an error. An entry that says the medicine is not taken ("stopped",
"allergic", "never") is not read as taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cramp_expert.kb.knowledge import Knowledge, normalise_name
from cramp_expert.patient.fuzzy import Names, close_matches

_SPLIT = re.compile(r"\s*(?:/|\+|&|\band\b|\bwith\b)\s*")


def split_parts(text: str) -> list[str]:
    """`_SPLIT.split(text)`: the regex runs only on a text holding one of its separators.

    It tries its pattern at every character, the dearest step of reading a typed medication,
    and most entries name one medicine.
    """
    if "/" in text or "+" in text or "&" in text or "and" in text or "with" in text:
        return _SPLIT.split(text)
    return [text]


_NOT_TAKEN = re.compile(
    r"\b(stopped|discontinued|ceased|previously|formerly|allerg\w*|intoleran\w*|never|"
    r"not taking|not taken|held|withheld|declined|refused)\b"
)

DrugNames = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class MedicationMatch:
    """How one typed medication was read."""

    input: str
    drugs: tuple[str, ...]
    """Generic drugs recognised (the components, for a combination)."""
    classes: tuple[str, ...]
    matched: str
    """`exact`; `fuzzy` (a close spelling: confirm); `partial` (some part not recognised);
    `unknown`; or `not_taken` (the entry says the medicine is not taken now: stopped,
    allergic; its drugs and classes are still given, as a recent exposure can matter)."""
    matched_name: str = ""
    suggestions: tuple[str, ...] = ()
    unrecognised: tuple[str, ...] = ()
    """Parts of the entry that matched no known name."""
    strengths: tuple[tuple[str, float], ...] = ()
    """The strength in mg written for each drug of a several-drug entry, where it can be told:
    "ezetimibe/simvastatin 10/40 mg" and "Inegy 10/40" (strengths in the order of the names, or
    of a combination's components in the dictionary), "simvastatin 40 mg and amlodipine 5 mg"."""


def _longest_prefix(words: list[str], names: DrugNames) -> tuple[str, tuple[str, ...]] | None:
    for end in range(len(words), 0, -1):
        candidate = " ".join(words[:end])
        if candidate in names:
            return candidate, names[candidate]
    return None


def _fuzzy(
    words: list[str], names: DrugNames, searched: Names
) -> tuple[str, tuple[str, ...]] | None:
    for end in range(min(len(words), 3), 0, -1):
        candidate = " ".join(words[:end])
        if len(candidate) < 5:
            continue
        close = close_matches(candidate, searched, n=1, cutoff=0.84)
        if close:
            return close[0], names[close[0]]
    return None


def _is_dose(part: str) -> bool:
    return part[0].isdigit() or part[0] == "."


_NUMBER = r"\d+(?:\.\d+)?"
_MG = re.compile(rf"(?<![\w.])({_NUMBER})\s*mg\b", re.IGNORECASE)
_SLASHED = re.compile(
    rf"(?<![\w./])({_NUMBER}(?:\s*mg)?(?:\s*/\s*{_NUMBER}(?:\s*mg)?)+)"
    r"(?!\s*(?:mcg|micrograms?|ug|µg|ml|units?|%|/))",
    re.IGNORECASE,
)


def _strengths(
    text: str, found: list[tuple[str, tuple[str, ...]]]
) -> tuple[tuple[str, float], ...]:
    """The mg strength of each drug of a several-drug entry, where the entry says it.

    One slashed group of as many numbers as drugs ("10/40 mg", "10mg/40mg") gives them in
    order: the order the names were typed in, or a combination's components in the dictionary
    (written in the order of the strengths on the pack). Otherwise each typed part that names
    one drug and one "N mg" gives that drug's strength. A strength that cannot be told is left
    out: a dose limit is then not judged rather than judged on a guess.
    """
    drugs = [d for _, components in found for d in components]
    groups = [m.group(1) for m in _SLASHED.finditer(text)]
    if len(groups) == 1:
        numbers = [float(n) for n in re.findall(_NUMBER, groups[0])]
        if len(numbers) == len(drugs) == len(set(drugs)):
            return tuple(zip(drugs, numbers, strict=True))
        return ()
    result: list[tuple[str, float]] = []
    names = sorted({name for name, _ in found}, key=len, reverse=True)
    for part in split_parts(text.lower()):
        folded = normalise_name(part)
        hit = next((n for n in names if folded.startswith(n)), None)
        mg = {float(m.group(1)) for m in _MG.finditer(part)}
        components = dict(found).get(hit, ()) if hit else ()
        if len(components) == 1 and len(mg) == 1:
            result.append((components[0], mg.pop()))
    return tuple(result)


MATCHES_KEPT = 8192
"""Typed medications whose reading a knowledge base keeps (`Knowledge.medication_matches`)."""


def match_medication(text: str, knowledge: Knowledge) -> MedicationMatch:
    """Read one typed medication (a pure function of the text: each text is read once)."""
    cache = knowledge.medication_matches
    found = cache.get(text)
    if found is None:
        if len(cache) >= MATCHES_KEPT:
            cache.clear()
        found = cache[text] = _match_medication(text, knowledge)
    return found


_SEARCHED: dict[tuple[int, str], tuple[Knowledge, Names]] = {}


def _searched(knowledge: Knowledge, table: str) -> Names:
    """A knowledge base's `drug_names` or `condition_synonyms`, indexed for close matches once."""
    entry = _SEARCHED.get((id(knowledge), table))
    if entry is None or entry[0] is not knowledge:
        if len(_SEARCHED) >= 32:  # knowledge bases built by tests come and go
            _SEARCHED.clear()
        names = knowledge.drug_names if table == "drugs" else knowledge.condition_synonyms
        entry = _SEARCHED[(id(knowledge), table)] = (knowledge, Names(names))
    return entry[1]


def _match_medication(text: str, knowledge: Knowledge) -> MedicationMatch:
    not_taken = bool(_NOT_TAKEN.search(text.lower()))
    names = knowledge.drug_names
    folded = normalise_name(text)
    whole = _longest_prefix(folded.split(), names)
    parts = [p for p in split_parts(folded) if p and not _is_dose(p)]
    # A known name that spans a separator ("co-codamol 30/500" has none, but a combination
    # written "fluticasone/salmeterol" may be a dictionary name itself) is taken whole.
    found: list[tuple[str, tuple[str, ...]]] = []
    missing: list[str] = []
    fuzzy_used = False
    if whole and (len(parts) <= 1 or _SPLIT.search(whole[0])):
        found.append(whole)
    else:
        for part in parts:
            words = part.split()
            hit = _longest_prefix(words, names)
            if hit is None:
                hit = _fuzzy(words, names, _searched(knowledge, "drugs"))
                fuzzy_used = fuzzy_used or hit is not None
            if hit is None:
                missing.append(part)
            else:
                found.append(hit)
    if not found and not not_taken:
        guess = parts[0] if parts else folded
        suggestions = tuple(close_matches(guess, _searched(knowledge, "drugs"), n=3, cutoff=0.6))
        return MedicationMatch(text, (), (), "unknown", "", suggestions, tuple(missing))
    # Most entries name one medicine of one drug: read without a generator, the same tuples.
    drugs = tuple(
        dict.fromkeys(
            found[0][1] if len(found) == 1 else (d for _, components in found for d in components)
        )
    )
    classes = tuple(
        dict.fromkeys(
            knowledge.drugs[drugs[0]].classes
            if len(drugs) == 1
            else (c for d in drugs for c in knowledge.drugs[d].classes)
        )
    )
    how = "partial" if missing else ("fuzzy" if fuzzy_used else "exact")
    if not_taken:
        how = "not_taken"
    shown = found[0][0] if len(found) == 1 else " + ".join(name for name, _ in found)
    strengths = _strengths(text, found) if len(drugs) > 1 else ()
    return MedicationMatch(text, drugs, classes, how, shown, (), tuple(missing), strengths)


_DOUBT = re.compile(
    r"\b(no|not|without|denies|denied|excluded|ruled out|query|possible|possibly|suspected|"
    r"probable|likely|family history|fh)\b"
)


def match_condition(
    text: str, knowledge: Knowledge
) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """Read one typed condition.

    Returns (condition ids, how, suggestions) where `how` is `exact`, `fuzzy` (a close
    spelling: confirm), `partial` (known names found inside a longer text such as "ESRF on
    haemodialysis" or "heart failure (NYHA III)": confirm) or `unknown`. A name that the text
    negates or doubts ("no diabetes", "?PAD", "suspected cirrhosis", "family history of
    diabetes", "CKD 3 (not on dialysis)" for dialysis) is never read as present: a question
    mark doubts the whole entry, a doubting word the names after it.
    """
    synonyms = knowledge.condition_synonyms
    if "?" in text:
        return (), "unknown", ()
    folded = normalise_name(text)
    if folded in synonyms and not _DOUBT.search(folded):
        return (synonyms[folded],), "exact", ()
    words = folded.split()
    found: list[str] = []
    doubted = False
    start = gap_start = 0
    while start < len(words):
        # Longest known name starting at this word; words that start no name are skipped.
        for end in range(len(words), start, -1):
            candidate = " ".join(words[start:end])
            if candidate in synonyms:
                doubted = doubted or bool(_DOUBT.search(" ".join(words[gap_start:start])))
                if not doubted:
                    found.append(synonyms[candidate])
                start = gap_start = end
                break
        else:
            start += 1
    if found:
        return tuple(dict.fromkeys(found)), "partial", ()
    if doubted or _DOUBT.search(folded):
        return (), "unknown", ()
    searched = _searched(knowledge, "conditions")
    close = close_matches(folded, searched, n=1, cutoff=0.85)
    if close:
        return (synonyms[close[0]],), "fuzzy", (close[0],)
    return (), "unknown", tuple(close_matches(folded, searched, n=3, cutoff=0.5))


# "PD" and "HD" are left out: in a problem list they as often mean Parkinson's or Huntington's.
_DIALYSIS = re.compile(r"\b(ha?emodialysis|peritoneal dialysis|capd|apd|dialysis|dialysed)\b")
_NOT_YET = re.compile(
    r"\b(planned|plan|awaiting|pre|predialysis|future|considered|discussed|declined|stopped)\b"
)


def dialysis_mentioned(text: str) -> str | None:
    """`haemodialysis` or `peritoneal` when a problem-list entry says the patient has dialysis.

    Not when the entry doubts it ("not on dialysis", "?dialysis") or puts it in the past or
    future ("dialysis planned", "pre-dialysis", "stopped dialysis").
    """
    if not isinstance(text, str) or "?" in text:
        return None
    folded = normalise_name(text)
    found = _DIALYSIS.search(folded)
    if found is None or _DOUBT.search(folded[: found.start()]) or _NOT_YET.search(folded):
        return None
    return (
        "peritoneal"
        if found.group(1) in ("peritoneal dialysis", "capd", "apd")
        else "haemodialysis"
    )
