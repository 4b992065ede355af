"""Recognise medications as a clinician types them: generic, brand, misspelt, combinations.

A typed entry ("Lasix 80 mg mane", "losartan/HCTZ 50/12.5", "Symbicort 200/6 inhaler") is folded
(case, accents, punctuation), its dose and frequency are ignored, and the longest known name at
its start is taken. Combinations written with "/", "+", "and" or "with" are split into their
parts. A name within a small edit distance of a known one is accepted with a warning asking the
clinician to confirm; an unknown name is a warning with the closest known names, never an error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from cramp_expert.kb.knowledge import Knowledge, normalise_name

_SPLIT = re.compile(r"\s*(?:/|\+|\band\b|\bwith\b|&)\s*")


@dataclass(frozen=True)
class MedicationMatch:
    """How one typed medication was read."""

    input: str
    drugs: tuple[str, ...]
    """Generic drugs (components, for a combination); empty when not recognised."""
    classes: tuple[str, ...]
    matched: str
    """`exact`, `fuzzy` (confirm) or `unknown`."""
    matched_name: str = ""
    suggestions: tuple[str, ...] = ()


def _name_part(folded: str) -> str:
    """The leading words before the first token that starts with a digit (the dose)."""
    words: list[str] = []
    for token in folded.split():
        if token[0].isdigit() or token[0] == ".":
            break
        words.append(token)
    return " ".join(words)


def _longest_prefix(
    words: list[str], names: dict[str, tuple[str, ...]]
) -> tuple[str, tuple[str, ...]] | None:
    for end in range(len(words), 0, -1):
        candidate = " ".join(words[:end])
        if candidate in names:
            return candidate, names[candidate]
    return None


def _fuzzy(
    words: list[str], names: dict[str, tuple[str, ...]]
) -> tuple[str, tuple[str, ...]] | None:
    for end in range(min(len(words), 3), 0, -1):
        candidate = " ".join(words[:end])
        if len(candidate) < 5:
            continue
        close = difflib.get_close_matches(candidate, names, n=1, cutoff=0.84)
        if close:
            return close[0], names[close[0]]
    return None


def match_medication(text: str, knowledge: Knowledge) -> MedicationMatch:
    """Read one typed medication."""
    names = knowledge.drug_names
    folded = normalise_name(text)
    words = folded.split()
    exact = _longest_prefix(words, names)
    matched = "exact"
    drugs: list[str] = []
    shown: list[str] = []
    if exact:
        shown.append(exact[0])
        drugs.extend(exact[1])
    else:
        parts = [p for p in _SPLIT.split(_name_part(folded)) if p]
        fuzzy_used = False
        for part in parts if len(parts) > 1 else [folded]:
            part_words = part.split()
            found = _longest_prefix(part_words, names)
            if found is None:
                found = _fuzzy(part_words, names)
                fuzzy_used = fuzzy_used or found is not None
            if found is None:
                drugs = []
                break
            shown.append(found[0])
            drugs.extend(found[1])
        matched = "fuzzy" if fuzzy_used and drugs else "exact"
    if not drugs:
        guess = _name_part(folded) or folded
        suggestions = tuple(difflib.get_close_matches(guess, names, n=3, cutoff=0.6))
        return MedicationMatch(text, (), (), "unknown", "", suggestions)
    unique = tuple(dict.fromkeys(drugs))
    classes = tuple(dict.fromkeys(c for d in unique for c in knowledge.drugs[d].classes))
    return MedicationMatch(text, unique, classes, matched, " + ".join(shown))


_NEGATION = re.compile(
    r"\b(no|not|without|denies|denied|excluded|ruled out|query|possible|suspected|"
    r"probable|history of no|family history|fh)\b|\?"
)


def match_condition(
    text: str, knowledge: Knowledge
) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """Read one typed condition.

    Returns (condition ids, how, suggestions) where `how` is `exact`, `fuzzy` (a close
    spelling: confirm), `partial` (known names found inside a longer text such as "ESRF on
    haemodialysis" or "heart failure (NYHA III)": confirm) or `unknown`. Text that negates or
    doubts ("no diabetes", "?PAD", "suspected cirrhosis", "family history of ...") is never read
    as the condition: it stays unknown, with a warning.
    """
    if _NEGATION.search(text.lower()):
        return (), "unknown", ()
    folded = normalise_name(text)
    synonyms = knowledge.condition_synonyms
    if folded in synonyms:
        return (synonyms[folded],), "exact", ()
    close = difflib.get_close_matches(folded, synonyms, n=1, cutoff=0.85)
    if close:
        return (synonyms[close[0]],), "fuzzy", (close[0],)
    words = folded.split()
    found: list[str] = []
    start = 0
    while start < len(words):
        # Longest known name starting at this word; words that start no name are skipped.
        for end in range(len(words), start, -1):
            candidate = " ".join(words[start:end])
            if candidate in synonyms:
                found.append(synonyms[candidate])
                start = end
                break
        else:
            start += 1
    if found:
        return tuple(dict.fromkeys(found)), "partial", ()
    return (), "unknown", tuple(difflib.get_close_matches(folded, synonyms, n=3, cutoff=0.5))
