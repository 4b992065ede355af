"""The narrowed close-match search gives difflib.get_close_matches' answer, name for name."""

from __future__ import annotations

import difflib

from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.patient.fuzzy import close_matches

CUTOFFS = (0.5, 0.6, 0.84, 0.85)
"""Every cutoff the medication and condition readers use."""


def _misspell(draw, name: str) -> str:
    # Typing slips: a letter dropped, doubled, swapped with the next or replaced; a suffix.
    chars = list(name)
    for _ in range(draw(st.integers(0, 3))):
        if not chars:
            break
        i = draw(st.integers(0, len(chars) - 1))
        kind = draw(st.sampled_from(("drop", "double", "swap", "replace")))
        if kind == "drop":
            del chars[i]
        elif kind == "double":
            chars.insert(i, chars[i])
        elif kind == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = draw(st.sampled_from("aeioulnrstyz -"))
    return "".join(chars) + draw(st.sampled_from(("", " 20 mg od", " inhaler bd", "e")))


@st.composite
def typed_names(draw, names: list[str]) -> str:
    if draw(st.booleans()):
        return _misspell(draw, draw(st.sampled_from(names)))
    return draw(st.text(alphabet="abcdeilmnoprstuxyz -/0123456789é", max_size=40))


def test_every_name_of_the_dictionary_and_its_slips_match_as_difflib_says(knowledge):
    names = list(knowledge.drug_names)
    synonyms = list(knowledge.condition_synonyms)

    @given(typed_names(names + synonyms), st.sampled_from(CUTOFFS), st.integers(1, 3))
    def check(word: str, cutoff: float, n: int) -> None:
        for pool in (names, synonyms):
            assert close_matches(word, pool, n, cutoff) == difflib.get_close_matches(
                word, pool, n, cutoff
            )

    check()


def test_a_dictionary_is_read_as_its_names_and_ties_break_as_in_difflib():
    # A mapping's keys are the names (rapidfuzz would compare a mapping's values); equal
    # scores come back in difflib's order whatever order the names are given in.
    names = {"amlodipine": 1, "amlodipinf": 2, "amlodipind": 3, "atenolol": 4}
    for pool in (names, list(reversed(list(names))), tuple(names)):
        assert close_matches("amlodipinx", pool, 3, 0.6) == difflib.get_close_matches(
            "amlodipinx", list(names), 3, 0.6
        )
    assert close_matches("amlodipinx", names, 3, 0.6)  # not a vacuous comparison
