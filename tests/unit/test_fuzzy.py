"""The narrowed close-match search gives difflib.get_close_matches' answer, name for name."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cramp_expert.patient.fuzzy import Names, close_matches

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
    grouped = {id(names): Names(names), id(synonyms): Names(synonyms)}

    @given(typed_names(names + synonyms), st.sampled_from(CUTOFFS), st.integers(1, 3))
    def check(word: str, cutoff: float, n: int) -> None:
        for pool in (names, synonyms):
            expected = difflib.get_close_matches(word, pool, n, cutoff)
            assert close_matches(word, pool, n, cutoff) == expected
            # Grouped by length (searched again and again, the windows kept): the same.
            assert close_matches(word, grouped[id(pool)], n, cutoff) == expected

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


def _scored_by_difflib(word: str, pool: list[str], cutoff: float) -> list[str]:
    # The names difflib.get_close_matches goes on to score: both quick bounds reach the cutoff.
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    kept = []
    for name in pool:
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            kept.append(name)
    return kept


def test_the_names_left_are_those_difflib_scores_for_every_length_and_repeat():
    # Lengths 0 to 12, repeated letters, and words of every length up to 12 sharing some.
    pool = ["a" * length for length in range(13)] + ["ab", "ba", "abcdefghij", "aab", "", "ab"]
    grouped = Names(pool)
    words = ["", "a", "b", "aa", "ab", "aab", "abb", "bbbb", "aaaaaab", "abcdefghik", "a" * 12]
    for cutoff in (*CUTOFFS, 0.0, 0.3, 1.0):
        for word in words:
            assert grouped.candidates(word, cutoff) == _scored_by_difflib(word, pool, cutoff)
            assert close_matches(word, grouped, 3, cutoff) == difflib.get_close_matches(
                word, pool, 3, cutoff
            )
    # Of "abcdefghij" only the `a` is in a run of `a`s. "aaaaaaaaab" shares its 9 `a`s at most:
    # 2 * 8 / 18 = 0.89 and 2 * 9 / 21 = 0.86 pass 0.84; 2 * 7 / 17 and 2 * 9 / 22 = 0.82 do not.
    assert grouped.candidates("abcdefghij", 0.84) == ["abcdefghij"]
    assert grouped.candidates("aaaaaaaaab", 0.84) == ["a" * n for n in range(8, 12)]


@given(st.text(alphabet="abcdeilmnoprstuxyz -/0123456789é", max_size=30), st.sampled_from(CUTOFFS))
def test_the_names_left_are_those_difflib_scores(knowledge, word, cutoff):
    names = list(knowledge.drug_names)
    assert _DRUGS.setdefault(id(knowledge), Names(names)).candidates(
        word, cutoff
    ) == _scored_by_difflib(word, names, cutoff)


_DRUGS: dict[int, Names] = {}


def test_a_misspelt_medication_reads_as_before_the_names_were_grouped(knowledge):
    # Through the reader: the windowed search finds the drug a plain difflib search finds.
    from cramp_expert.patient.medications import _match_medication

    for typed, drug in (("furosemdie 40 mg", "furosemide"), ("amlodipnie", "amlodipine")):
        match = _match_medication(typed, knowledge)
        assert (match.matched, match.drugs) == ("fuzzy", (drug,))
    unknown = _match_medication("zzqxw 5 mg", knowledge)
    assert unknown.matched == "unknown"
    assert unknown.suggestions == tuple(
        difflib.get_close_matches("zzqxw 5 mg", list(knowledge.drug_names), 3, 0.6)
    )


def test_typed_medications_and_conditions_read_as_with_difflib_over_every_name(
    knowledge, monkeypatch
):
    # The reference: the readers with difflib.get_close_matches over the whole dictionary.
    from cramp_expert.patient import medications

    names = list(knowledge.drug_names)
    synonyms = list(knowledge.condition_synonyms)

    def reference(word, possibilities, n=3, cutoff=0.6):
        pool = possibilities.names if isinstance(possibilities, Names) else list(possibilities)
        return difflib.get_close_matches(word, pool, n, cutoff)

    @given(
        st.one_of(typed_names(names), typed_names(synonyms)),
        st.sampled_from(("", "stopped ", " and ", "/")),
        st.one_of(st.just(""), typed_names(names)),
    )
    def check(first: str, joint: str, second: str) -> None:
        text = f"{joint}{first}" if joint == "stopped " else f"{first}{joint}{second}"
        medicine = medications._match_medication(text, knowledge)
        condition = medications.match_condition(text, knowledge)
        with monkeypatch.context() as patched:
            patched.setattr(medications, "close_matches", reference)
            assert medications._match_medication(text, knowledge) == medicine
            assert medications.match_condition(text, knowledge) == condition

    check()


def test_a_bad_count_or_cutoff_is_refused_as_difflib_refuses_it():
    grouped = Names(["amlodipine"])
    for n, cutoff in ((0, 0.6), (3, 1.5), (3, -0.1)):
        for word in ("zzzzzz", "amlodipine"):  # no name left, and one
            with pytest.raises(ValueError) as expected:
                difflib.get_close_matches(word, ["amlodipine"], n, cutoff)
            with pytest.raises(ValueError) as raised:
                close_matches(word, grouped, n, cutoff)
            assert str(raised.value) == str(expected.value)


@given(st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127))))
def test_a_typed_name_folds_as_its_nfkd_ascii_form_does(text):
    # ASCII text skips the Unicode folding: the same key as through it.
    import re
    import unicodedata

    from cramp_expert.kb.knowledge import normalise_name

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    folded = re.sub(r"[^a-z0-9%+/.-]+", " ", re.sub("[\u2019'`]", "", folded)).strip()
    assert normalise_name(text) == folded
    assert normalise_name("Parkinson\u2019s  Disease") == normalise_name("parkinsons disease")
    assert normalise_name("Ézétimibe/Simvastatine") == "ezetimibe/simvastatine"
