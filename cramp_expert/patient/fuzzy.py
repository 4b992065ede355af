"""Close matches for misspelt names: difflib's answer, looked for among far fewer names.

`difflib.get_close_matches` scores every possibility with a SequenceMatcher in Python: about
half a millisecond for one misspelt medication against the dictionary's 2,000+ names, most of a
screened patient's CPU whenever the names typed are new to the batch. Two bounds narrow the
names before difflib decides among the few left, giving the same answer as over all of them
(`tests/unit/test_fuzzy.py` holds the two together):

- difflib's own first bound, `real_quick_ratio` (2 * shorter length / both lengths), depends on
  the two lengths only: `Names` groups a dictionary searched again and again by length once, and
  a word is compared only with the names of the lengths difflib would not skip;
- difflib's ratio, 2*M/T, counts the characters of matching blocks, and those blocks are a
  common subsequence of the two texts; rapidfuzz's `fuzz.ratio` is 2*LCS/T on the longest
  common subsequence, so it is never lower. A name difflib would return therefore scores at
  least the cutoff in rapidfuzz too, and rapidfuzz (C++) keeps only those.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MARGIN = 1e-6
"""Both ratios are computed in floating point: a name on the cutoff is never lost to rounding."""
WINDOWS_KEPT = 1024
"""(length, cutoff) pairs whose names a `Names` keeps (a word's length is at most a few hundred)."""


def _real_quick_ratio(length: int, other: int) -> float:
    """`difflib.SequenceMatcher.real_quick_ratio` of two texts of these lengths, as it computes it."""
    total = length + other
    return 2.0 * min(length, other) / total if total else 1.0


class Names:
    """A dictionary's names, searched for many misspelt words: grouped by length once."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self.lengths = sorted({len(name) for name in self.names})
        self._windows: dict[tuple[int, float], list[str]] = {}

    def within(self, length: int, cutoff: float) -> list[str]:
        """The names, in order, that difflib compares with a word of `length` at `cutoff`.

        difflib skips a name whose `real_quick_ratio` is below the cutoff, and that ratio
        depends on the two lengths only.
        """
        key = (length, cutoff)
        window = self._windows.get(key)
        if window is None:
            kept = {n for n in self.lengths if _real_quick_ratio(length, n) >= cutoff}
            window = [name for name in self.names if len(name) in kept]
            if len(self._windows) >= WINDOWS_KEPT:
                self._windows.clear()
            self._windows[key] = window
        return window


def close_matches(
    word: str, possibilities: Iterable[str] | Names, n: int = 3, cutoff: float = 0.6
) -> list[str]:
    """`difflib.get_close_matches(word, possibilities, n, cutoff)`, the same list, faster."""
    from rapidfuzz import fuzz, process  # only when a name is not in the dictionary

    if isinstance(possibilities, Names):
        names: Iterable[str] = possibilities.within(len(word), cutoff)
    elif isinstance(possibilities, list | tuple):
        names = possibilities
    else:
        names = list(possibilities)
    narrowed = [
        name
        for name, _score, _index in process.extract(
            word,
            names,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=max(0.0, 100 * cutoff - MARGIN),
            limit=None,
        )
    ]
    return difflib.get_close_matches(word, narrowed, n=n, cutoff=cutoff)


__all__ = ["Names", "close_matches"]
