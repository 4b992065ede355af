"""Close matches for misspelt names: difflib's answer, looked for among far fewer names.

`difflib.get_close_matches` scores every possibility with a SequenceMatcher in Python: about
half a millisecond for one misspelt medication against the dictionary's 2,000+ names, most of a
screened patient's CPU whenever the names typed are new to the batch. Its ratio, 2*M/T, counts
the characters of matching blocks, and those blocks are a common subsequence of the two texts;
rapidfuzz's `fuzz.ratio` is 2*LCS/T on the longest common subsequence, so it is never lower. A
name difflib would return therefore scores at least the cutoff in rapidfuzz too: rapidfuzz
(C++) narrows the names, and difflib decides among the few left, giving the same answer as over
all of them (`tests/unit/test_fuzzy.py` holds the two together).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MARGIN = 1e-6
"""Both ratios are computed in floating point: a name on the cutoff is never lost to rounding."""


def close_matches(
    word: str, possibilities: Iterable[str], n: int = 3, cutoff: float = 0.6
) -> list[str]:
    """`difflib.get_close_matches(word, possibilities, n, cutoff)`, the same list, faster."""
    from rapidfuzz import fuzz, process  # only when a name is not in the dictionary

    names = possibilities if isinstance(possibilities, list | tuple) else list(possibilities)
    narrowed = [
        name
        for name, _score, _index in process.extract(
            word,
            names,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=100 * cutoff - MARGIN,
            limit=None,
        )
    ]
    return difflib.get_close_matches(word, narrowed, n=n, cutoff=cutoff)


__all__ = ["close_matches"]
