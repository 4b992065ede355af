"""Close matches for misspelt names: difflib's answer, looked for among far fewer names.

`difflib.get_close_matches` scores every possibility with a SequenceMatcher in Python: about
half a millisecond for one misspelt medication against the dictionary's 2,000+ names, most of a
screened patient's CPU whenever the names typed are new to the batch. difflib itself skips a
name unless two quick upper bounds of its ratio reach the cutoff, and only then computes the
ratio. Here the names are narrowed by the same bounds, or a tighter one, before difflib decides
among the few left, giving the same answer as over all of them (`tests/unit/test_fuzzy.py`
holds the two together):

- `real_quick_ratio` (2 * the shorter length / both lengths) depends on the two lengths only;
- `quick_ratio` (2 * the characters the two texts share, counted with repeats / both lengths).
  `Names` indexes a dictionary searched again and again once: per length, and per character
  and count (which names hold at least k of that character, as one integer's bits). A word's
  bounds against every name then take a few dozen operations on those integers: the names of
  a length whose ratio can reach the cutoff and that miss at most as many of the word's
  characters as that length allows;
- difflib's ratio, 2*M/T, counts the characters of matching blocks, and those blocks are a
  common subsequence of the two texts; rapidfuzz's `fuzz.ratio` is 2*LCS/T on the longest
  common subsequence, so it is never lower. Where many names pass the quick bounds (a low
  cutoff, or a plain list of names), rapidfuzz (C++) keeps only those that reach the cutoff.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MARGIN = 1e-6
"""Both ratios are computed in floating point: a name on the cutoff is never lost to rounding."""
BOUNDS_KEPT = 1024
"""(length, cutoff) pairs whose bounds a `Names` keeps (a word's length is at most a few hundred)."""
DIFFLIB_ALONE = 16
"""At most this many names left by the quick bounds go to difflib as they are (a misspelt
drug name leaves about one); more are narrowed by rapidfuzz first, imported only then."""


def _ratio(matches: int, length: int) -> float:
    """Any of difflib's ratios, computed as its `_calculate_ratio` computes them."""
    return 2.0 * matches / length if length else 1.0


class Names:
    """A dictionary's names, searched for many misspelt words: indexed once (see the module)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self.lengths = sorted({len(name) for name in self.names})
        # Bit i stands for the i-th name by (length, place): a length is a run of bits.
        order = sorted(range(len(self.names)), key=lambda i: (len(self.names[i]), i))
        self._by_bit = [(i, self.names[i]) for i in order]
        size = (len(order) + 8) // 8
        groups: dict[int, bytearray] = {}
        holding: dict[tuple[str, int], bytearray] = {}
        for bit, (_, name) in enumerate(self._by_bit):
            byte, flag = bit >> 3, 1 << (bit & 7)
            groups.setdefault(len(name), bytearray(size))[byte] |= flag
            for key in _counted(name):
                holding.setdefault(key, bytearray(size))[byte] |= flag
        self._group = {length: int.from_bytes(b, "little") for length, b in groups.items()}
        self._holding = {key: int.from_bytes(b, "little") for key, b in holding.items()}
        self._bounds: dict[tuple[int, float], tuple[int, tuple[tuple[int, int], ...], int]] = {}

    def _bounds_for(
        self, length: int, cutoff: float
    ) -> tuple[int, tuple[tuple[int, int], ...], int]:
        """What a word of `length` is compared with at `cutoff`, worked out once.

        The names whose length can reach the cutoff (bits); per such length, those names and
        how many of the word's characters they may miss (quick_ratio); the most of those.
        """
        key = (length, cutoff)
        found = self._bounds.get(key)
        if found is None:
            compared = 0
            misses: list[tuple[int, int]] = []
            for other in self.lengths:
                total = length + other
                # The fewest shared characters whose quick_ratio reaches the cutoff (none
                # reaches it beyond the shorter length: real_quick_ratio's bound).
                fewest = next(
                    (m for m in range(min(length, other) + 1) if _ratio(m, total) >= cutoff),
                    None,
                )
                if fewest is not None:
                    compared |= self._group[other]
                    misses.append((self._group[other], length - fewest))
            most = max((allowed for _, allowed in misses), default=0)
            found = (compared, tuple(misses), most)
            if len(self._bounds) >= BOUNDS_KEPT:
                self._bounds.clear()
            self._bounds[key] = found
        return found

    def candidates(self, word: str, cutoff: float) -> list[str]:
        """The only names, in order, that difflib would score for `word` at `cutoff`.

        Those whose `real_quick_ratio` and `quick_ratio` with `word` (as difflib computes them)
        reach the cutoff.
        """
        compared, misses, most = self._bounds_for(len(word), cutoff)
        if not compared:
            return []
        # missed[j]: the names that miss more than j of the word's characters (counted with
        # repeats: the k-th `a` of the word is missed by a name holding fewer than k).
        missed = [0] * (most + 1)
        holding = self._holding
        for key in _counted(word):
            miss = compared & ~holding.get(key, 0)
            if miss:
                for j in range(most, 0, -1):
                    missed[j] |= missed[j - 1] & miss
                missed[0] |= miss
        kept = 0
        for group, allowed in misses:
            kept |= group & ~missed[allowed]
        found: list[tuple[int, str]] = []
        by_bit = self._by_bit
        while kept:
            lowest = kept & -kept
            found.append(by_bit[lowest.bit_length() - 1])
            kept ^= lowest
        return [name for _, name in sorted(found)]


def _counted(text: str) -> list[tuple[str, int]]:
    """Each character of `text` with its repeat: `aba` gives (a, 1), (b, 1), (a, 2)."""
    seen: dict[str, int] = {}
    out = []
    for char in text:
        seen[char] = k = seen.get(char, 0) + 1
        out.append((char, k))
    return out


def close_matches(
    word: str, possibilities: Iterable[str] | Names, n: int = 3, cutoff: float = 0.6
) -> list[str]:
    """`difflib.get_close_matches(word, possibilities, n, cutoff)`, the same list, faster."""
    names: Iterable[str]
    if isinstance(possibilities, Names):
        left = possibilities.candidates(word, cutoff)
        if not left and n > 0 and 0.0 <= cutoff <= 1.0:
            return []  # what difflib answers for no names (it refuses a bad n or cutoff)
        if len(left) <= DIFFLIB_ALONE:
            return difflib.get_close_matches(word, left, n=n, cutoff=cutoff)
        names = left
    elif isinstance(possibilities, list | tuple):
        names = possibilities
    else:
        names = list(possibilities)
    from rapidfuzz import fuzz, process  # only when many names are left

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
